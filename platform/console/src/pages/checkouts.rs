//! Checkouts: find checkouts by status or cart (or one by id), and one checkout as its
//! snapshot bound it: where it stands, its lines and totals, its fees, the fulfillment rules
//! and the plugin version that priced it, the stock it held, and its events while they are
//! kept. Read through `AdminLists` and `CheckoutService::checkout_for_tenant`, scoped to the
//! signed-in tenant: another tenant's checkout id is simply not found.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use trolley_api::AppState;
use trolley_core::domain::checkout::{SnapshotFulfillment, SnapshotPlugin};
use trolley_core::domain::listing::{
    CheckoutFilter, CheckoutSummary, EventFilter, MAX_PAGE_LIMIT, Page as ListPage, PageRequest,
};
use trolley_core::domain::{
    CartId, Checkout, CheckoutId, CheckoutSnapshot, CheckoutStatus, Subject,
};
use trolley_core::error::CoreError;

use super::lists::{
    find_form, find_id, list_base, list_status, page_request, problem_box, query_fields, refused,
    search_form, status_badge, timeline,
};
use crate::error::ConsoleError;
use crate::page::{self, Nav, Page, next_page, short_id, time};
use crate::session::{Admin, Fields, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/checkouts", web::get().to(list))
        .route("/checkouts/{checkout_id}", web::get().to(show));
}

const STATUSES: [CheckoutStatus; 4] = [
    CheckoutStatus::Pending,
    CheckoutStatus::Completed,
    CheckoutStatus::Cancelled,
    CheckoutStatus::Expired,
];

/// `GET /console/checkouts?status=&cart_id=&cursor=` (and `?id=`).
async fn list(
    req: HttpRequest,
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let fields = query_fields(&req);
    let status = fields.non_empty("status");
    let cart = fields.non_empty("cart_id");
    if let Some(raw) = fields.non_empty("id") {
        match find_id::<CheckoutId>(raw, "checkout") {
            Ok(id) => return Ok(page::see_other(&format!("/console/checkouts/{id}"))),
            Err(why) => return render(&admin, &fields, None, Some(why)),
        }
    }
    let filter = (|| {
        let status = match status {
            None => None,
            Some(s) => Some(CheckoutStatus::parse(s).ok_or_else(|| {
                format!("“{s}” is not a checkout status: pending, completed, cancelled or expired.")
            })?),
        };
        let cart_id = cart.map(|c| find_id::<CartId>(c, "cart")).transpose()?;
        Ok::<_, String>(CheckoutFilter { status, cart_id })
    })();
    let (page, problem) = match filter {
        Err(why) => (None, Some(why)),
        Ok(filter) => match state
            .lists
            .checkouts(&admin.tenant, filter, &page_request(&fields))
            .await
        {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(refused(e)?)),
        },
    };
    render(&admin, &fields, page, problem)
}

fn render(
    admin: &Admin,
    fields: &Fields,
    page: Option<ListPage<CheckoutSummary>>,
    problem: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let status = fields.non_empty("status");
    let cart = fields.non_empty("cart_id");
    let filters = [("status", status), ("cart_id", cart)];
    let filtered = filters.iter().any(|(_, v)| v.is_some());
    let body = html! {
        (find_form("checkout", "/console/checkouts", fields.non_empty("id")))
        (search_form("checkout-search", "/console/checkouts", filtered, html! {
            div.field {
                label for="checkout-status" { "Status" }
                select #checkout-status name="status" {
                    option value="" { "any" }
                    @for s in STATUSES { option value=(s.as_str()) selected[status == Some(s.as_str())] { (s.as_str()) } }
                }
            }
            div.field {
                label for="checkout-cart" { "Cart id" }
                input #checkout-cart type="search" name="cart_id" value=[cart];
            }
        }))
        (problem_box(problem.as_deref()))
        @if let Some(page) = &page {
            @if page.items.is_empty() {
                (page::empty(if filtered {
                    "No checkout matches these filters."
                } else {
                    "No checkouts yet: one is taken when a shopper starts checking out a cart."
                }))
            } @else {
                div.table-wrap { table data-testid="checkouts-table" {
                    thead { tr { th { "Checkout" } th { "Status" } th { "Cart" } th.num { "Total" } th { "Order" } th { "Created" } th { "Expires" } } }
                    tbody { @for c in &page.items { (row(c)) } }
                } }
                (next_page(&list_base("/console/checkouts", &filters), page.next_cursor.as_deref()))
            }
        }
    };
    Ok(Page {
        admin,
        nav: Nav::Checkouts,
        title: "Checkouts".into(),
        notice: None,
        body,
    }
    .render_with(list_status(problem.as_deref(), StatusCode::OK)))
}

fn row(c: &CheckoutSummary) -> Markup {
    html! {
        tr {
            td { a href=(format!("/console/checkouts/{}", c.checkout_id)) { (short_id(&c.checkout_id.to_string())) } }
            td { (status_badge(c.status.as_str())) }
            td { a href=(format!("/console/carts/{}", c.cart_id)) { (short_id(&c.cart_id.to_string())) } }
            td.num { (c.total) " " (c.currency) }
            td { @if let Some(o) = c.order_id { a href=(format!("/console/orders/{o}")) { (short_id(&o.to_string())) } } }
            td { (time(c.created_at)) }
            td { (time(c.expires_at)) }
        }
    }
}

/// `GET /console/checkouts/{checkout_id}`
async fn show(
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    // A malformed id names no checkout: the same 404 as an unknown or foreign one.
    let id: CheckoutId = path.parse().map_err(|_| CoreError::CheckoutNotFound)?;
    let tenant = &admin.tenant;
    let checkout = state.checkouts.checkout_for_tenant(tenant, id).await?;
    let subject = EventFilter {
        subject: Subject::checkout(id),
    };
    let events = state
        .lists
        .events(tenant, &subject, &PageRequest::first(MAX_PAGE_LIMIT))
        .await?
        .items;
    let body = html! {
        (facts(&checkout))
        (lines(&checkout.snapshot))
        (holds(&checkout))
        section.card aria-labelledby="events-title" {
            h2 #events-title { "Events" }
            @if events.is_empty() {
                (page::empty("No events kept for this checkout: the retention sweep purges old ones."))
            } @else {
                (timeline("checkout-events", &events))
            }
        }
    };
    Ok(Page {
        admin: &admin,
        nav: Nav::Checkouts,
        title: format!(
            "Checkout {}",
            id.to_string().chars().take(8).collect::<String>()
        ),
        notice: None,
        body,
    }
    .render())
}

fn facts(c: &Checkout) -> Markup {
    let snap = &c.snapshot;
    html! {
        section.card { dl.facts {
            dt { "Id" } dd { code { (snap.checkout_id) } }
            dt { "Status" } dd { (status_badge(c.status.as_str())) }
            dt { "Cart" } dd { a href=(format!("/console/carts/{}", snap.cart_id)) { code { (snap.cart_id) } } " at version " (snap.cart_version) }
            dt { "Customer" } dd { @match &snap.customer_id { Some(id) => (id), None => span.muted { "guest" } } }
            dt { "Validated" } dd { (time(snap.validated_at)) }
            dt { "Expires" } dd { (time(snap.expires_at))
                @if c.status == CheckoutStatus::Pending { span.muted { " (its stock goes back unless completed by then)" } } }
            @if let Some(o) = c.order_id {
                dt { "Order" } dd { a href=(format!("/console/orders/{o}")) { code { (o) } } }
            }
            dt { "Priced by" } dd { (plugin(snap.plugin.as_ref())) }
            dt { "Fulfillment" } dd { (fulfillment(snap.fulfillment.as_ref())) }
            dt { "Context" } dd {
                @if snap.context.is_empty() { span.muted { "none" } }
                @for (k, v) in &snap.context { code { (k) "=" (v) } " " }
            }
        } }
    }
}

/// The plugin version that priced and judged the snapshot, pinned by its hash.
fn plugin(p: Option<&SnapshotPlugin>) -> Markup {
    html! {
        @match p {
            None => span.muted { "no plugin: no order type, or no plugin active for it" },
            Some(p) => {
                (p.order_type) " version " strong data-testid="checkout-plugin-version" { (p.version) }
                " · plugin " a href=(format!("/console/plugins/{}", p.plugin_id)) { code { (p.plugin_id) } }
                br; span.muted { "sha256 " } code { (p.sha256) }
            },
        }
    }
}

fn fulfillment(f: Option<&SnapshotFulfillment>) -> Markup {
    html! {
        @match f {
            None => span.muted { "no rules" },
            Some(f) => {
                "modes: " (if f.allowed_modes.is_empty() { "any".to_owned() } else { f.allowed_modes.join(", ") })
                @if let Some(m) = f.lead_time_minutes { " · lead time " (m) " min" }
                @if let Some(km) = f.max_distance_km { " · within " (km) " km" }
                @if !f.requirements.is_empty() { " · requires " (f.requirements.join(", ")) }
                @for n in &f.notes { br; span.muted { (n) } }
            },
        }
    }
}

/// The lines and totals as bound, fees itemized.
fn lines(snap: &CheckoutSnapshot) -> Markup {
    let currency = &snap.currency;
    html! {
        section.card aria-labelledby="lines-title" {
            h2 #lines-title { "Lines as bound" }
            div.table-wrap { table data-testid="checkout-lines" {
                thead { tr { th { "SKU" } th { "Title" } th { "Line" } th.num { "Qty" } th.num { "Unit price" } th.num { "Price revision" } th.num { "Line total" } th { "Attributes" } } }
                tbody { @for l in &snap.lines {
                    tr {
                        td { code { (l.sku) } }
                        td { (l.title.as_deref().unwrap_or("")) }
                        td { (short_id(&l.line_id.to_string())) }
                        td.num { (l.quantity) }
                        td.num { (l.unit_price) }
                        td.num { (l.price_revision) }
                        td.num { (l.line_total) }
                        td {
                            @for (k, v) in &l.attributes { code { (k) "=" (v) } " " }
                            @if let Some(s) = &l.seller { span.muted { "seller " (s) } " " }
                            @if let Some(f) = &l.fulfillment { span.muted { "fulfillment " (f) } }
                        }
                    }
                } }
            } }
            dl.facts {
                dt { "Subtotal" } dd { (snap.subtotal) " " (currency) }
                @for fee in &snap.fees { dt { (fee.label) " " span.muted { "(" (fee.code) ")" } } dd { (fee.amount) " " (currency) } }
                dt { "Total" } dd { strong { (snap.total) " " (currency) } }
            }
        }
    }
}

/// The stock the snapshot reserved, and what became of it.
fn holds(c: &Checkout) -> Markup {
    let reserved = &c.snapshot.reservations;
    html! {
        section.card aria-labelledby="holds-title" {
            h2 #holds-title { "Stock held" }
            @if reserved.is_empty() {
                (page::empty("Held nothing: its skus are untracked (always available)."))
            } @else {
                div.table-wrap { table data-testid="checkout-holds" {
                    thead { tr { th { "SKU" } th.num { "Qty" } } }
                    tbody { @for r in reserved { tr { td { code { (r.sku) } } td.num { (r.quantity) } } } }
                } }
                p.hint { (match c.status {
                    CheckoutStatus::Pending => "Held until the checkout expires, unless completed or cancelled first.",
                    CheckoutStatus::Completed => "Sold: completing the checkout took this stock.",
                    CheckoutStatus::Cancelled | CheckoutStatus::Expired => "Given back: a cancelled or expired checkout holds nothing.",
                }) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use trolley_core::domain::checkout::{SnapshotFee, SnapshotReservation};
    use trolley_core::domain::{Sku, TenantId};

    fn checkout(status: CheckoutStatus) -> Checkout {
        let at = chrono::Utc::now();
        Checkout {
            tenant_id: TenantId::new(),
            snapshot: CheckoutSnapshot {
                checkout_id: CheckoutId::new(),
                cart_id: CartId::new(),
                cart_version: 4,
                currency: "USD".into(),
                lines: Vec::new(),
                fees: vec![SnapshotFee {
                    code: "delivery".into(),
                    label: "Delivery".into(),
                    amount: Decimal::new(50, 2),
                }],
                subtotal: Decimal::new(300, 2),
                total: Decimal::new(350, 2),
                fulfillment: None,
                plugin: Some(SnapshotPlugin {
                    order_type: "grocery".into(),
                    plugin_id: uuid::Uuid::now_v7(),
                    version: "1.4.2".into(),
                    sha256: "ab".repeat(32),
                }),
                reservations: vec![SnapshotReservation {
                    sku: Sku::parse("milk").unwrap(),
                    quantity: 2,
                }],
                customer_id: None,
                context: Default::default(),
                validated_at: at,
                expires_at: at,
            },
            status,
            order_id: None,
        }
    }

    #[test]
    fn fees_are_itemized() {
        let html = lines(&checkout(CheckoutStatus::Pending).snapshot).into_string();
        assert!(html.contains("Delivery"), "{html}");
        assert!(html.contains("0.50 USD"), "{html}");
        assert!(html.contains("3.50 USD"), "{html}");
    }

    #[test]
    fn the_pricing_plugin_is_named_with_its_version_and_hash() {
        let c = checkout(CheckoutStatus::Completed);
        let p = c.snapshot.plugin.as_ref().unwrap();
        let html = facts(&c).into_string();
        assert!(html.contains("1.4.2"), "{html}");
        assert!(html.contains(&p.sha256), "{html}");
        assert!(html.contains(&format!("/console/plugins/{}", p.plugin_id)));
        assert!(plugin(None).into_string().contains("no plugin"));
    }

    #[test]
    fn reservations_say_what_became_of_them() {
        let held = holds(&checkout(CheckoutStatus::Pending)).into_string();
        assert!(held.contains("checkout-holds") && held.contains("Held until"));
        let sold = holds(&checkout(CheckoutStatus::Completed)).into_string();
        assert!(sold.contains("Sold"), "{sold}");
    }
}
