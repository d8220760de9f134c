//! Checkouts: find checkouts by status or cart (or one by id), and one checkout: where it
//! stands, its lines and totals as bound, its fees, the stock it holds, its events.
//!
//! There is no tenant-scoped "checkout by id" use case yet (`CheckoutService::get` is the
//! shopper's, and needs the cart's token), so the page is put together from tenant-scoped
//! reads only: the checkout's `checkout.started` event names its cart and carries its bound
//! lines and totals; the checkout list filtered by that cart gives its status and order; a
//! completed checkout's order carries its fees exactly; a pending one's holds come from its
//! cart. Another tenant's id finds no event, so it is not found.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use rust_decimal::Decimal;
use serde::Deserialize;
use trolley_api::AppState;
use trolley_core::domain::listing::{
    CartHold, CheckoutFilter, CheckoutSummary, EventFilter, MAX_PAGE_LIMIT, Page as ListPage,
    PageRequest,
};
use trolley_core::domain::{
    CartId, CheckoutId, CheckoutStatus, Event, EventType, LineId, Order, Subject,
};
use trolley_core::error::CoreError;

use super::carts::{find_id, status_badge, timeline};
use super::catalog::{list_base, page_request, problem_box, query_fields, refused};
use crate::error::ConsoleError;
use crate::page::{self, Nav, Page, next_page, short_id, time};
use crate::session::{Admin, Fields, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/checkouts", web::get().to(list))
        .route("/console/checkouts/{checkout_id}", web::get().to(show));
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
        form #checkout-find .inline method="get" action="/console/checkouts" {
            div.field {
                label for="checkout-id" { "Checkout id" }
                input #checkout-id type="search" name="id" value=[fields.non_empty("id")] placeholder="paste a checkout id";
            }
            button type="submit" { "Open" }
        }
        form #checkout-search .inline method="get" action="/console/checkouts" role="search" {
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
            button type="submit" { "Search" }
            @if filtered { a.button.secondary href="/console/checkouts" { "Clear" } }
        }
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
    .render_with(if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }))
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

/// What `checkout.started` carries (SPEC §11): the snapshot's binding numbers.
#[derive(Debug, Deserialize)]
struct Started {
    cart_id: CartId,
    cart_version: i64,
    customer_id: Option<String>,
    currency: String,
    lines: Vec<StartedLine>,
    subtotal: Decimal,
    total: Decimal,
}

#[derive(Debug, Deserialize)]
struct StartedLine {
    line_id: LineId,
    sku: String,
    title: Option<String>,
    quantity: u32,
    unit_price: Decimal,
    line_total: Decimal,
}

fn started(events: &[Event]) -> Option<Started> {
    events
        .iter()
        .find(|e| e.event_type == EventType::CheckoutStarted)
        .and_then(|e| serde_json::from_value(e.data.clone()).ok())
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
    let subject = EventFilter {
        subject: Subject::checkout(id),
    };
    let events = state
        .lists
        .events(tenant, &subject, &PageRequest::first(MAX_PAGE_LIMIT))
        .await?
        .items;
    let start = started(&events).ok_or(CoreError::CheckoutNotFound)?;
    let of_cart = CheckoutFilter {
        status: None,
        cart_id: Some(start.cart_id),
    };
    let summary = state
        .lists
        .checkouts(tenant, of_cart, &PageRequest::first(MAX_PAGE_LIMIT))
        .await?
        .items
        .into_iter()
        .find(|c| c.checkout_id == id)
        .ok_or(CoreError::CheckoutNotFound)?;
    let order = match summary.order_id {
        Some(order_id) => Some(state.checkouts.order_for_tenant(tenant, order_id).await?),
        None => None,
    };
    // Only a pending checkout holds stock; its cart may be gone (retention), then it holds none.
    let holds: Vec<CartHold> = if summary.status == CheckoutStatus::Pending {
        match state.lists.cart_detail(tenant, start.cart_id).await {
            Ok(d) => d
                .holds
                .into_iter()
                .filter(|h| h.checkout_id == Some(id))
                .collect(),
            Err(CoreError::CartNotFound) => Vec::new(),
            Err(other) => return Err(other.into()),
        }
    } else {
        Vec::new()
    };
    let body = html! {
        section.card { dl.facts {
            dt { "Id" } dd { code { (id) } }
            dt { "Status" } dd { (status_badge(summary.status.as_str())) }
            dt { "Cart" } dd { a href=(format!("/console/carts/{}", start.cart_id)) { code { (start.cart_id) } } " at version " (start.cart_version) }
            dt { "Customer" } dd { @match &start.customer_id { Some(c) => (c), None => span.muted { "guest" } } }
            dt { "Created" } dd { (time(summary.created_at)) }
            dt { "Expires" } dd { (time(summary.expires_at))
                @if summary.status == CheckoutStatus::Pending { span.muted { " (its stock goes back unless completed by then)" } } }
            @if let Some(o) = summary.order_id {
                dt { "Order" } dd { a href=(format!("/console/orders/{o}")) { code { (o) } } }
            }
        } }
        (lines(&start, order.as_ref()))
        section.card aria-labelledby="holds-title" {
            h2 #holds-title { "Stock held" }
            @if holds.is_empty() {
                (page::empty(if summary.status == CheckoutStatus::Pending {
                    "Holds nothing: its skus are untracked (always available)."
                } else {
                    "Holds nothing: only a pending checkout holds stock (a completed one sold it, a cancelled or expired one gave it back)."
                }))
            } @else {
                div.table-wrap { table data-testid="checkout-holds" {
                    thead { tr { th { "SKU" } th.num { "Qty" } th { "Until" } } }
                    tbody { @for h in &holds { tr { td { code { (h.sku) } } td.num { (h.quantity) } td { (time(h.expires_at)) } } } }
                } }
            }
        }
        section.card aria-labelledby="events-title" {
            h2 #events-title { "Events" }
            (timeline("checkout-events", &events))
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

/// The bound lines and totals. A completed checkout's order has them all, fees itemized;
/// otherwise the started event has the lines and totals, and fees only as their sum.
fn lines(start: &Started, order: Option<&Order>) -> Markup {
    let currency = &start.currency;
    html! {
        section.card aria-labelledby="lines-title" {
            h2 #lines-title { "Lines as bound" }
            div.table-wrap { table data-testid="checkout-lines" {
                thead { tr { th { "SKU" } th { "Title" } th { "Line" } th.num { "Qty" } th.num { "Unit price" } th.num { "Line total" } } }
                tbody { @for l in &start.lines {
                    tr {
                        td { code { (l.sku) } }
                        td { (l.title.as_deref().unwrap_or("")) }
                        td { (short_id(&l.line_id.to_string())) }
                        td.num { (l.quantity) }
                        td.num { (l.unit_price) }
                        td.num { (l.line_total) }
                    }
                } }
            } }
            dl.facts {
                dt { "Subtotal" } dd { (start.subtotal) " " (currency) }
                @match order {
                    Some(o) => { @for fee in &o.fees { dt { (fee.label) " " span.muted { "(" (fee.code) ")" } } dd { (fee.amount) " " (currency) } } },
                    None => { dt { "Fees" } dd { (start.total - start.subtotal) " " (currency) span.muted { " in all" } } },
                }
                dt { "Total" } dd { strong { (start.total) " " (currency) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use trolley_core::domain::TenantId;

    fn event(event_type: EventType, data: serde_json::Value) -> Event {
        Event {
            id: uuid::Uuid::now_v7(),
            event_type,
            tenant_id: TenantId::new(),
            subject: Subject::checkout(CheckoutId::new()),
            sequence: 1,
            occurred_at: Utc::now(),
            schema_version: 1,
            data,
        }
    }

    #[test]
    fn the_started_event_is_read_as_the_domain_writes_it() {
        let cart = CartId::new();
        let data = serde_json::json!({
            "checkout_id": CheckoutId::new(), "cart_id": cart, "cart_version": 4,
            "customer_id": null, "currency": "USD",
            "lines": [{ "line_id": LineId::new(), "sku": "milk", "title": null, "quantity": 2,
                        "unit_price": Decimal::new(150, 2), "line_total": Decimal::new(300, 2) }],
            "subtotal": Decimal::new(300, 2), "total": Decimal::new(350, 2),
            "expires_at": Utc::now(),
        });
        let events = [
            event(EventType::CheckoutCancelled, serde_json::json!({})),
            event(EventType::CheckoutStarted, data),
        ];
        let start = started(&events).unwrap();
        assert_eq!(start.cart_id, cart);
        assert_eq!(start.total - start.subtotal, Decimal::new(50, 2));
        assert!(started(&events[..1]).is_none());
    }

    #[test]
    fn fees_are_their_sum_until_an_order_itemizes_them() {
        let start = Started {
            cart_id: CartId::new(),
            cart_version: 1,
            customer_id: None,
            currency: "USD".into(),
            lines: Vec::new(),
            subtotal: Decimal::new(300, 2),
            total: Decimal::new(350, 2),
        };
        let html = lines(&start, None).into_string();
        assert!(html.contains("0.50 USD"), "{html}");
    }
}
