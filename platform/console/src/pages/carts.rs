//! Carts: find carts by status, customer or order type (or go straight to one by id), and
//! one cart as support needs it to explain why it looks the way it does: the storefront's
//! own view of it (lines, prices, availability, the order type's verdicts), its stock holds,
//! its checkouts and its event timeline. Read through `AdminLists`, scoped to the signed-in
//! tenant: another tenant's cart id is simply not found.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use trolley_api::AppState;
use trolley_core::domain::listing::{
    CartDetail, CartFilter, CheckoutFilter, EventFilter, MAX_PAGE_LIMIT, PageRequest,
};
use trolley_core::domain::view::{Availability, Judgement, LineView, Severity};
use trolley_core::domain::{CartId, CartStatus, Subject};
use trolley_core::error::CoreError;

use super::lists::{
    find_form, find_id, list_base, list_status, page_request, problem_box, query_fields, refused,
    search_form, status_badge, timeline,
};
use crate::error::ConsoleError;
use crate::page::{self, Nav, Page, next_page, short_id, time};
use crate::session::{Admin, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/carts", web::get().to(list))
        .route("/carts/{cart_id}", web::get().to(show));
}

const STATUSES: [CartStatus; 5] = [
    CartStatus::Active,
    CartStatus::CheckingOut,
    CartStatus::Converted,
    CartStatus::Merged,
    CartStatus::Expired,
];

/// `GET /console/carts?status=&customer_id=&order_type=&cursor=` (and `?id=`: that cart).
async fn list(
    req: HttpRequest,
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let fields = query_fields(&req);
    let mut problem = None;
    if let Some(raw) = fields.non_empty("id") {
        match find_id::<CartId>(raw, "cart") {
            Ok(id) => return Ok(page::see_other(&format!("/console/carts/{id}"))),
            Err(why) => problem = Some(why),
        }
    }
    let status = fields.non_empty("status");
    let customer = fields.non_empty("customer_id");
    let order_type = fields.non_empty("order_type");
    let parsed = match status.map(|s| CartStatus::parse(s).ok_or(s)) {
        Some(Err(s)) => Err(format!(
            "“{s}” is not a cart status: active, checking_out, converted, merged or expired."
        )),
        Some(Ok(s)) => Ok(Some(s)),
        None => Ok(None),
    };
    let mut page = None;
    match (&problem, parsed) {
        (Some(_), _) => {}
        (None, Err(why)) => problem = Some(why),
        (None, Ok(status)) => {
            let filter = CartFilter {
                status,
                customer_id: customer.map(str::to_owned),
                order_type: order_type.map(str::to_owned),
            };
            match state
                .lists
                .carts(&admin.tenant, filter, &page_request(&fields))
                .await
            {
                Ok(p) => page = Some(p),
                Err(e) => problem = Some(refused(e)?),
            }
        }
    }
    let filters = [
        ("status", status),
        ("customer_id", customer),
        ("order_type", order_type),
    ];
    let filtered = filters.iter().any(|(_, v)| v.is_some());
    let body = html! {
        (find_form("cart", "/console/carts", fields.non_empty("id")))
        (search_form("cart-search", "/console/carts", filtered, html! {
            div.field {
                label for="cart-status" { "Status" }
                select #cart-status name="status" {
                    option value="" { "any" }
                    @for s in STATUSES { option value=(s.as_str()) selected[status == Some(s.as_str())] { (s.as_str()) } }
                }
            }
            div.field {
                label for="cart-customer" { "Customer id" }
                input #cart-customer type="search" name="customer_id" value=[customer];
            }
            div.field {
                label for="cart-order-type" { "Order type" }
                input #cart-order-type type="search" name="order_type" value=[order_type];
            }
        }))
        (problem_box(problem.as_deref()))
        @if let Some(page) = &page {
            @if page.items.is_empty() {
                (page::empty(if filtered {
                    "No cart matches these filters: customer id and order type must match exactly. Guest carts have no customer."
                } else {
                    "No carts yet: they appear here as soon as a storefront creates one (POST /v1/carts)."
                }))
            } @else {
                div.table-wrap { table data-testid="carts-table" {
                    thead { tr { th { "Cart" } th { "Status" } th { "Order type" } th { "Customer" } th.num { "Lines" } th.num { "Version" } th { "Created" } th { "Updated" } th { "Expires" } } }
                    tbody { @for c in &page.items {
                        tr {
                            td { a href=(format!("/console/carts/{}", c.cart_id)) { (short_id(&c.cart_id.to_string())) } }
                            td { (status_badge(c.status.as_str()))
                                @if let Some(into) = c.merged_into { " → " a href=(format!("/console/carts/{into}")) { (short_id(&into.to_string())) } } }
                            td { (c.order_type.as_deref().unwrap_or("–")) }
                            td { @match &c.customer_id { Some(id) => (id), None => span.muted { "guest" } } }
                            td.num { (c.line_count) }
                            td.num { (c.version) }
                            td { (time(c.created_at)) }
                            td { (time(c.updated_at)) }
                            td { (time(c.expires_at)) }
                        }
                    } }
                } }
                (next_page(&list_base("/console/carts", &filters), page.next_cursor.as_deref()))
            }
        }
    };
    Ok(Page {
        admin: &admin,
        nav: Nav::Carts,
        title: "Carts".into(),
        notice: None,
        body,
    }
    .render_with(list_status(problem.as_deref(), StatusCode::OK)))
}

/// `GET /console/carts/{cart_id}?events_cursor=`
async fn show(
    req: HttpRequest,
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    // A malformed id names no cart: the same 404 as an unknown or foreign one.
    let id: CartId = path.parse().map_err(|_| CoreError::CartNotFound)?;
    let tenant = &admin.tenant;
    let detail = state.lists.cart_detail(tenant, id).await?;
    let fields = query_fields(&req);
    let events_page = PageRequest {
        limit: Some(MAX_PAGE_LIMIT),
        cursor: fields.non_empty("events_cursor").map(str::to_owned),
    };
    let subject = EventFilter {
        subject: Subject::cart(id),
    };
    let (events, problem) = match state.lists.events(tenant, &subject, &events_page).await {
        Ok(events) => (Some(events), None),
        Err(e) => (None, Some(refused(e)?)),
    };
    let checkouts = state
        .lists
        .checkouts(
            tenant,
            CheckoutFilter {
                status: None,
                cart_id: Some(id),
            },
            &PageRequest::first(MAX_PAGE_LIMIT),
        )
        .await?;
    let body = html! {
        (facts(&detail))
        (lines(&detail))
        (verdicts(&detail))
        (holds(&detail, &checkouts.items))
        section.card aria-labelledby="events-title" {
            h2 #events-title { "Event timeline" }
            (problem_box(problem.as_deref()))
            @if let Some(events) = &events {
                @if events.items.is_empty() {
                    (page::empty("No events kept for this cart: events are raised by changes since events exist, and the retention sweep purges old ones."))
                } @else {
                    (timeline("cart-events", &events.items))
                    @if let Some(next) = &events.next_cursor {
                        nav.pager aria-label="Events" {
                            a.button href=(format!("/console/carts/{id}?events_cursor={}", page::form_urlencode(next))) { "Later events →" }
                        }
                    }
                }
            }
        }
    };
    Ok(Page {
        admin: &admin,
        nav: Nav::Carts,
        title: format!("Cart {}", short(&id.to_string())),
        notice: None,
        body,
    }
    .render_with(list_status(problem.as_deref(), StatusCode::OK)))
}

fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

fn facts(d: &CartDetail) -> Markup {
    let v = &d.view;
    html! {
        section.card { dl.facts {
            dt { "Id" } dd { code { (v.cart_id) } }
            dt { "Status" } dd { (status_badge(v.status.as_str())) }
            dt { "Order type" } dd { (v.order_type.as_deref().unwrap_or("none")) }
            dt { "Customer" } dd { @match &v.customer_id {
                Some(c) => { (c) " " a href=(format!("/console/carts?customer_id={}", page::form_urlencode(c))) { "their carts" } },
                None => span.muted { "guest (cart token)" },
            } }
            dt { "Version" } dd { (v.version) }
            dt { "Created" } dd { (time(d.created_at)) }
            dt { "Updated" } dd { (time(d.updated_at)) }
            dt { "Expires" } dd { (time(v.expires_at)) span.muted { " if left idle" } }
            @if let Some(into) = d.merged_into {
                dt { "Merged into" } dd { a href=(format!("/console/carts/{into}")) { code { (into) } } }
            }
            dt { "Context" } dd {
                @if v.context.is_empty() { span.muted { "none" } }
                @for (k, val) in &v.context { code { (k) "=" (val) } " " }
            }
            dt { "Plugin" } dd { @match &v.judgement {
                Judgement::NotJudged => span.muted { "none: no order type, or no plugin active for it" },
                Judgement::Judged(by) => {
                    span.badge.ok { "ok" } " judged by "
                    a href=(format!("/console/plugins/{}", by.plugin_id)) { (by.order_type) " " (by.version) }
                },
                Judgement::Unavailable { order_type, failure, run_id } => {
                    span.badge.bad { "unavailable" } " " (order_type) " failed: "
                    code { (failure.kind()) } " — " (failure)
                    @if failure.is_transient() { span.muted { " (transient)" } }
                    @if let Some(run) = run_id { " · run " code { (run.0) } }
                    p.hint { "The tenant fails open: the cart shows without fees, violations or fulfillment rules." }
                },
            } }
            @if let Some(f) = &v.fulfillment {
                dt { "Fulfillment" } dd {
                    "modes: " (if f.allowed_modes.is_empty() { "any".to_owned() } else { f.allowed_modes.join(", ") })
                    @if let Some(m) = f.lead_time_minutes { " · lead time " (m) " min" }
                    @if let Some(km) = f.max_distance_km { " · within " (km) " km" }
                    @if !f.requirements.is_empty() { " · requires " (f.requirements.join(", ")) }
                    @for n in &f.notes { br; span.muted { (n) } }
                }
            }
        } }
    }
}

fn availability(a: Availability) -> Markup {
    html! {
        @match a {
            Availability::InStock => span.badge.ok { (a.as_str()) },
            Availability::LowStock => span.badge.warn { (a.as_str()) },
            Availability::OutOfStock | Availability::Unavailable => span.badge.bad { (a.as_str()) },
            Availability::Untracked | Availability::NotChecked => span.badge { (a.as_str()) },
        }
    }
}

fn line_row(l: &LineView) -> Markup {
    html! {
        tr {
            td { a href=(format!("/console/catalog/{}", l.sku)) { code { (l.sku) } } br; span.muted { (l.title.as_deref().unwrap_or("")) } }
            td { (short_id(&l.line_id.to_string())) }
            td.num { (l.quantity) }
            td.num { (l.line_version) }
            td.num { (l.unit_price) @if l.price_changed { br; span.muted { "added at " (l.added_unit_price) } } }
            td.num { (l.line_total) }
            td { (availability(l.availability)) " " span.muted { (l.claim.as_str()) }
                @if let Some(until) = l.held_until { br; "held until " (time(until)) } }
            td {
                @if l.price_changed { span.badge.warn { "price_changed" } " " }
                @if l.needs_review { span.badge.bad { "needs_review" } }
            }
            td {
                @for (k, v) in l.attributes.as_map() { code { (k) "=" (v) } " " }
                @if let Some(s) = &l.seller { span.muted { "seller " (s) } " " }
                @if let Some(f) = &l.fulfillment { span.muted { "fulfillment " (f) } }
            }
        }
    }
}

fn lines(d: &CartDetail) -> Markup {
    let v = &d.view;
    html! {
        section.card aria-labelledby="lines-title" {
            h2 #lines-title { "Lines" }
            @if v.lines.is_empty() {
                (page::empty("The cart has no lines."))
            } @else {
                div.table-wrap { table data-testid="cart-lines" {
                    thead { tr { th { "SKU" } th { "Line" } th.num { "Qty" } th.num { "Line version" } th.num { "Unit price" } th.num { "Line total" } th { "Availability" } th { "Flags" } th { "Attributes" } } }
                    tbody { @for l in &v.lines { (line_row(l)) } }
                } }
            }
            dl.facts {
                dt { "Subtotal" } dd { (v.subtotal) " " (v.currency) }
                @for fee in &v.fees { dt { (fee.label) " " span.muted { "(" (fee.code) ")" } } dd { (fee.amount) " " (v.currency) } }
                dt { "Total" } dd { strong { (v.total) " " (v.currency) } }
            }
            p.hint { "Prices are the catalog's current ones (as the shopper sees them now); availability is as of this read." }
        }
    }
}

fn verdicts(d: &CartDetail) -> Markup {
    let v = &d.view;
    let sku_of = |line| v.lines.iter().find(|l| Some(l.line_id) == line);
    html! {
        section.card aria-labelledby="verdicts-title" {
            h2 #verdicts-title { "Plugin verdicts" }
            @if v.violations.is_empty() {
                (page::empty(match v.judgement {
                    Judgement::Judged(_) => "The order type found nothing wrong with this cart.",
                    _ => "No verdicts: no plugin judged this cart (see Plugin above).",
                }))
            } @else {
                div.table-wrap { table data-testid="cart-violations" {
                    thead { tr { th { "Severity" } th { "Code" } th { "Message" } th { "Line" } th { "Field" } } }
                    tbody { @for x in &v.violations {
                        tr {
                            td { @match x.severity {
                                Severity::Warning => span.badge.warn { (x.severity.as_str()) },
                                _ => span.badge.bad { (x.severity.as_str()) },
                            } }
                            td { code { (x.code) } }
                            td { (x.message) }
                            td { @if let Some(l) = sku_of(x.line_id) { code { (l.sku) } } }
                            td { @if let Some(f) = &x.field { code { (f) } } }
                        }
                    } }
                } }
            }
        }
    }
}

fn holds(d: &CartDetail, checkouts: &[trolley_core::domain::listing::CheckoutSummary]) -> Markup {
    html! {
        section.card aria-labelledby="holds-title" {
            h2 #holds-title { "Stock held and checkouts" }
            @if d.holds.is_empty() {
                (page::empty("This cart holds no stock: only reserve lines and pending checkouts hold it."))
            } @else {
                div.table-wrap { table data-testid="cart-holds" {
                    thead { tr { th { "SKU" } th.num { "Qty" } th { "Held by" } th { "Until" } } }
                    tbody { @for h in &d.holds {
                        tr {
                            td { code { (h.sku) } }
                            td.num { (h.quantity) }
                            td { (h.kind) " "
                                @if let Some(l) = h.line_id { (short_id(&l.to_string())) }
                                @if let Some(c) = h.checkout_id { a href=(format!("/console/checkouts/{c}")) { (short_id(&c.to_string())) } } }
                            td { (time(h.expires_at)) }
                        }
                    } }
                } }
            }
            @if !checkouts.is_empty() {
                h3 { "Checkouts of this cart" }
                ul { @for c in checkouts {
                    li { a href=(format!("/console/checkouts/{}", c.checkout_id)) { (short_id(&c.checkout_id.to_string())) }
                        " " (status_badge(c.status.as_str())) " " (c.total) " " (c.currency) " · " (time(c.created_at)) }
                } }
            }
        }
    }
}
