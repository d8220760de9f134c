//! Inventory: tracked stock by sku (on hand, reserved, available, a low-stock badge) with a
//! set-on-hand form per row and one to start tracking a sku. Writes go through
//! `InventoryService::set_on_hand`, as `PUT /v1/admin/inventory/{sku}` does.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use trolley_api::AppState;
use trolley_core::domain::inventory::MAX_ON_HAND;
use trolley_core::domain::listing::InventoryFilter;
use trolley_core::domain::{Sku, StockLevel};
use trolley_core::error::CoreError;

use super::lists::{list_base, page_request, problem_box, query_fields, refused, search_form};
use crate::error::ConsoleError;
use crate::page::{self, Nav, Notice, Page, csrf_input, field_error, next_page};
use crate::session::{Admin, Fields, Posted, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/inventory", web::get().to(list))
        .route("/inventory", web::post().to(track))
        // Skus may hold `/` and `:`, so the sku is the rest of the path.
        .route("/inventory/{sku:.+}", web::post().to(adjust));
}

/// A set-on-hand form refused: which sku, what was typed, why. `row` says whether it came
/// from a table row (else from the "start tracking" form).
struct Refused {
    sku: String,
    value: String,
    why: String,
    row: bool,
}

/// The list's filters, as the page and its forms carry them.
struct Filters<'a> {
    q: Option<&'a str>,
    cursor: Option<&'a str>,
    low: bool,
}

impl<'a> Filters<'a> {
    fn of(fields: &'a Fields) -> Self {
        Self {
            q: fields.non_empty("q"),
            cursor: fields.non_empty("cursor"),
            low: fields.non_empty("low").is_some(),
        }
    }

    /// The list without its cursor: where "next page" links start.
    fn base(&self) -> String {
        list_base(
            "/console/inventory",
            &[("q", self.q), ("low", self.low.then_some("1"))],
        )
    }

    /// Hidden inputs that bring a form's answer back to this same page.
    fn hidden(&self) -> Markup {
        html! {
            @if let Some(q) = self.q { input type="hidden" name="q" value=(q); }
            @if let Some(c) = self.cursor { input type="hidden" name="cursor" value=(c); }
            @if self.low { input type="hidden" name="low" value="1"; }
        }
    }
}

/// Available at or under the tenant's threshold is low (the `inventory.low_stock` event's
/// rule); none at all is out.
fn badge(level: &StockLevel, threshold: u32) -> Markup {
    let available = level.available();
    html! {
        @if available == 0 {
            span.badge.bad { "out of stock" }
        } @else if available <= i64::from(threshold) {
            span.badge.warn { "low stock" }
        }
    }
}

/// `GET /console/inventory?q=&low=&cursor=`
async fn list(
    req: HttpRequest,
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let fields = query_fields(&req);
    let notice = fields
        .non_empty("saved")
        .map(|sku| Notice::Success(format!("Saved the on-hand count of {sku}.")));
    render(&admin, &state, &fields, None, notice).await
}

async fn render(
    admin: &Admin,
    state: &AppState,
    fields: &Fields,
    refusal: Option<Refused>,
    notice: Option<Notice>,
) -> Result<HttpResponse, ConsoleError> {
    let tenant = &admin.tenant;
    let threshold = tenant.config.low_stock_threshold;
    let filters = Filters::of(fields);
    let filter = InventoryFilter {
        q: filters.q.map(str::to_owned),
        // "Below threshold + 1" is "at or under the threshold", the badge's rule.
        available_below: filters.low.then(|| i64::from(threshold) + 1),
    };
    let (page, problem) = match state
        .lists
        .inventory(tenant, filter, &page_request(fields))
        .await
    {
        Ok(page) => (Some(page), None),
        Err(e) => (None, Some(refused(e)?)),
    };
    let row_error = |sku: &str| refusal.as_ref().filter(|r| r.row && r.sku == sku);
    let tracking = refusal.as_ref().filter(|r| !r.row);
    let filtered = filters.q.is_some() || filters.low;
    let body = html! {
        (search_form("inventory-search", "/console/inventory", filtered, html! {
            div.field {
                label for="inventory-q" { "SKU starts with" }
                input #inventory-q type="search" name="q" value=[filters.q];
            }
            label.check for="inventory-low" {
                input #inventory-low type="checkbox" name="low" value="1" checked[filters.low];
                "Low stock only (" (threshold) " or fewer available)"
            }
        }))
        (problem_box(problem.as_deref()))
        @if let Some(page) = &page {
            @if page.items.is_empty() {
                @if filtered {
                    (page::empty("No tracked SKU matches: q matches the start of a SKU."))
                } @else {
                    (page::empty("No stock is tracked yet: a SKU is untracked (always available) until its first count. Start tracking one below."))
                }
            } @else {
                div.table-wrap { table data-testid="inventory-table" {
                    thead { tr { th { "SKU" } th.num { "On hand" } th.num { "Reserved" } th.num { "Available" } th {} th { "Set on hand" } } }
                    tbody { @for (i, level) in page.items.iter().enumerate() {
                        @let id = format!("on-hand-{i}");
                        @let error = row_error(level.sku.as_str());
                        tr {
                            td { a href=(format!("/console/catalog/{}", level.sku)) { code { (level.sku) } } }
                            td.num { (level.on_hand) }
                            td.num { (level.reserved) }
                            td.num { (level.available()) }
                            td { (badge(level, threshold)) }
                            td {
                                form.inline method="post" action=(format!("/console/inventory/{}", level.sku)) {
                                    (csrf_input(&admin.csrf))
                                    (filters.hidden())
                                    label for=(id) { "On hand for " (level.sku) }
                                    input id=(id) type="number" name="on_hand" min="0" max=(MAX_ON_HAND) step="1" required
                                        value=(error.map_or_else(|| level.on_hand.to_string(), |r| r.value.clone()))
                                        aria-invalid=[error.map(|_| "true")]
                                        aria-describedby=[error.map(|_| format!("{id}-error"))];
                                    button.secondary type="submit" { "Set" }
                                    (field_error(&id, error.map(|r| r.why.as_str())))
                                }
                            }
                        }
                    } }
                } }
                (next_page(&filters.base(), page.next_cursor.as_deref()))
            }
        }
        section.card aria-labelledby="track-title" {
            h2 #track-title { "Start tracking a SKU" }
            p.hint { "Or count one that is not on this page. Reserved units are held by reserve lines and pending checkouts; on hand cannot go below them." }
            form #inventory-track .inline method="post" action="/console/inventory" {
                (csrf_input(&admin.csrf))
                (filters.hidden())
                div.field {
                    label for="track-sku" { "SKU" }
                    input #track-sku type="text" name="sku" required maxlength="64"
                        value=[tracking.map(|r| r.sku.as_str())];
                }
                div.field {
                    label for="track-on-hand" { "On hand" }
                    input #track-on-hand type="number" name="on_hand" min="0" max=(MAX_ON_HAND) step="1" required
                        value=[tracking.map(|r| r.value.as_str())]
                        aria-invalid=[tracking.map(|_| "true")]
                        aria-describedby=[tracking.map(|_| "track-on-hand-error")];
                    (field_error("track-on-hand", tracking.map(|r| r.why.as_str())))
                }
                button type="submit" { "Set on hand" }
            }
        }
    };
    let status = match (&problem, &refusal) {
        (Some(_), _) => StatusCode::BAD_REQUEST,
        (None, Some(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        (None, None) => StatusCode::OK,
    };
    Ok(Page {
        admin,
        nav: Nav::Inventory,
        title: "Inventory".into(),
        notice,
        body,
    }
    .render_with(status))
}

/// The typed count, or why it is not one.
fn read_on_hand(raw: Option<&str>) -> Result<i64, String> {
    let raw = raw.unwrap_or_default();
    match raw.parse::<i64>() {
        Ok(n) if (0..=MAX_ON_HAND).contains(&n) => Ok(n),
        _ if raw.is_empty() => Err("Enter how many units are on hand.".into()),
        _ => Err(format!(
            "“{raw}” is not a count: enter a whole number from 0 to {MAX_ON_HAND}."
        )),
    }
}

/// `POST /console/inventory/{sku}`: a row's form.
async fn adjust(
    form: Posted<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    set(form, state, path.into_inner(), true).await
}

/// `POST /console/inventory`: the "start tracking" form.
async fn track(
    form: Posted<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let sku = form.fields.get("sku").unwrap_or_default().to_owned();
    set(form, state, sku, false).await
}

async fn set(
    form: Posted<Admin>,
    state: web::Data<AppState>,
    raw_sku: String,
    row: bool,
) -> Result<HttpResponse, ConsoleError> {
    let admin = &form.user;
    let value = form.fields.get("on_hand").unwrap_or_default().to_owned();
    let outcome = match (Sku::parse(&raw_sku), read_on_hand(Some(&value))) {
        (Err(e), _) => Err(e.to_string()),
        (_, Err(why)) => Err(why),
        (Ok(sku), Ok(on_hand)) => match state
            .inventory
            .set_on_hand(&admin.tenant, &sku, on_hand, &admin.actor)
            .await
        {
            Ok(_) => Ok(()),
            Err(e @ (CoreError::InvalidInput(_) | CoreError::OnHandBelowReserved { .. })) => {
                Err(e.to_string())
            }
            Err(other) => return Err(other.into()),
        },
    };
    match outcome {
        Ok(()) => {
            let back = Filters::of(&form.fields);
            let mut to = back.base();
            if let Some(cursor) = back.cursor {
                to.push_str(&format!("cursor={}&", page::form_urlencode(cursor)));
            }
            to.push_str(&format!("saved={}", page::form_urlencode(&raw_sku)));
            Ok(page::see_other(&to))
        }
        Err(why) => {
            let refusal = Refused {
                sku: raw_sku,
                value,
                why,
                row,
            };
            render(admin, &state, &form.fields, Some(refusal), None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_and_in_range() {
        assert_eq!(read_on_hand(Some("12")), Ok(12));
        assert_eq!(read_on_hand(Some("0")), Ok(0));
        for bad in ["-1", "1.5", "lots", "1000000001"] {
            assert!(read_on_hand(Some(bad)).unwrap_err().contains(bad), "{bad}");
        }
        assert!(read_on_hand(None).is_err());
    }

    #[test]
    fn the_badge_follows_the_threshold() {
        let level = |on_hand, reserved| StockLevel {
            sku: Sku::parse("milk").unwrap(),
            on_hand,
            reserved,
        };
        assert!(
            badge(&level(5, 5), 3)
                .into_string()
                .contains("out of stock")
        );
        assert!(badge(&level(5, 2), 3).into_string().contains("low stock"));
        assert!(badge(&level(10, 2), 3).into_string().is_empty());
    }

    #[test]
    fn forms_come_back_to_the_same_page() {
        let fields = Fields(vec![
            ("q".into(), "mi".into()),
            ("low".into(), "1".into()),
            ("cursor".into(), "abc".into()),
        ]);
        let filters = Filters::of(&fields);
        assert_eq!(filters.base(), "/console/inventory?q=mi&low=1&");
        let hidden = filters.hidden().into_string();
        assert!(hidden.contains(r#"name="cursor" value="abc""#), "{hidden}");
    }
}
