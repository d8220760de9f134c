//! Orders: find orders by customer or placing time (or one by id), and one order as it was
//! placed: its lines and prices as bound at checkout, its fees, the context it was judged
//! with, and its events. Read through `AdminLists` and `CheckoutService::order_for_tenant`
//! (what `GET /v1/orders/{id}` uses for an admin), scoped to the signed-in tenant.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use trolley_api::AppState;
use trolley_core::domain::listing::{EventFilter, MAX_PAGE_LIMIT, OrderFilter, PageRequest};
use trolley_core::domain::{Order, OrderId, Subject, SubjectKind};
use trolley_core::error::CoreError;

use super::lists::{
    find_form, find_id, list_base, list_status, page_request, problem_box, query_fields, refused,
    search_form, status_badge, timeline,
};
use crate::error::ConsoleError;
use crate::page::{self, Nav, Page, next_page, short_id, time};
use crate::session::{Admin, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/orders", web::get().to(list))
        .route("/orders/{order_id}", web::get().to(show));
}

/// `placed_since` as typed: a date (a date input's `YYYY-MM-DD`, midnight UTC) or an RFC 3339
/// time, as the API takes it.
fn read_since(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            format!("“{raw}” is not a date: use YYYY-MM-DD, or an RFC 3339 time such as 2024-05-01T09:00:00Z.")
        })
}

/// `GET /console/orders?status=&customer_id=&placed_since=&cursor=` (and `?id=`).
async fn list(
    req: HttpRequest,
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let fields = query_fields(&req);
    let status = fields.non_empty("status");
    let customer = fields.non_empty("customer_id");
    let since = fields.non_empty("placed_since");
    let mut problem = None;
    let mut page = None;
    if let Some(raw) = fields.non_empty("id") {
        match find_id::<OrderId>(raw, "order") {
            Ok(id) => return Ok(page::see_other(&format!("/console/orders/{id}"))),
            Err(why) => problem = Some(why),
        }
    }
    if problem.is_none() {
        match since.map(read_since).transpose() {
            Err(why) => problem = Some(why),
            Ok(placed_since) => {
                // The service refuses a status other than `placed` itself, with the API's words.
                let filter = OrderFilter {
                    status: status.map(str::to_owned),
                    customer_id: customer.map(str::to_owned),
                    placed_since,
                };
                match state
                    .lists
                    .orders(&admin.tenant, filter, &page_request(&fields))
                    .await
                {
                    Ok(p) => page = Some(p),
                    Err(e) => problem = Some(refused(e)?),
                }
            }
        }
    }
    let filters = [
        ("status", status),
        ("customer_id", customer),
        ("placed_since", since),
    ];
    let filtered = filters.iter().any(|(_, v)| v.is_some());
    let body = html! {
        (find_form("order", "/console/orders", fields.non_empty("id")))
        (search_form("order-search", "/console/orders", filtered, html! {
            div.field {
                label for="order-status" { "Status" }
                select #order-status name="status" {
                    option value="" { "any" }
                    option value="placed" selected[status == Some("placed")] { "placed" }
                }
            }
            div.field {
                label for="order-customer" { "Customer id" }
                input #order-customer type="search" name="customer_id" value=[customer];
            }
            div.field {
                label for="order-since" { "Placed since" }
                input #order-since type="text" name="placed_since" value=[since] placeholder="YYYY-MM-DD";
            }
        }))
        (problem_box(problem.as_deref()))
        @if let Some(page) = &page {
            @if page.items.is_empty() {
                (page::empty(if filtered {
                    "No order matches these filters: the customer id must match exactly, and guests' orders have none."
                } else {
                    "No orders yet: an order is placed when a shopper completes a checkout."
                }))
            } @else {
                div.table-wrap { table data-testid="orders-table" {
                    thead { tr { th { "Order" } th { "Status" } th { "Customer" } th.num { "Total" } th { "Cart" } th { "Checkout" } th { "Placed" } } }
                    tbody { @for o in &page.items {
                        tr {
                            td { a href=(format!("/console/orders/{}", o.order_id)) { (short_id(&o.order_id.to_string())) } }
                            td { (status_badge(&o.status)) }
                            td { @match &o.customer_id { Some(c) => (c), None => span.muted { "guest" } } }
                            td.num { (o.total) " " (o.currency) }
                            td { a href=(format!("/console/carts/{}", o.cart_id)) { (short_id(&o.cart_id.to_string())) } }
                            td { a href=(format!("/console/checkouts/{}", o.checkout_id)) { (short_id(&o.checkout_id.to_string())) } }
                            td { (time(o.placed_at)) }
                        }
                    } }
                } }
                (next_page(&list_base("/console/orders", &filters), page.next_cursor.as_deref()))
            }
        }
    };
    Ok(Page {
        admin: &admin,
        nav: Nav::Orders,
        title: "Orders".into(),
        notice: None,
        body,
    }
    .render_with(list_status(problem.as_deref(), StatusCode::OK)))
}

/// `GET /console/orders/{order_id}`
async fn show(
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    // A malformed id names no order: the same 404 as an unknown or foreign one.
    let id: OrderId = path.parse().map_err(|_| CoreError::OrderNotFound)?;
    let tenant = &admin.tenant;
    let order = state.checkouts.order_for_tenant(tenant, id).await?;
    let subject = EventFilter {
        subject: Subject {
            kind: SubjectKind::Order,
            id: id.to_string(),
        },
    };
    let events = state
        .lists
        .events(tenant, &subject, &PageRequest::first(MAX_PAGE_LIMIT))
        .await?;
    let body = html! {
        (facts(&order))
        (lines(&order))
        section.card aria-labelledby="events-title" {
            h2 #events-title { "Events" }
            @if events.items.is_empty() {
                (page::empty("No events kept for this order: the retention sweep purges old ones."))
            } @else {
                (timeline("order-events", &events.items))
            }
        }
    };
    Ok(Page {
        admin: &admin,
        nav: Nav::Orders,
        title: format!(
            "Order {}",
            id.to_string().chars().take(8).collect::<String>()
        ),
        notice: None,
        body,
    }
    .render())
}

fn facts(o: &Order) -> Markup {
    html! {
        section.card { dl.facts {
            dt { "Id" } dd { code { (o.order_id) } }
            dt { "Status" } dd { (status_badge(&o.status)) }
            dt { "Placed" } dd { (time(o.created_at)) }
            dt { "Customer" } dd { @match &o.customer_id {
                Some(c) => { (c) " " a href=(format!("/console/orders?customer_id={}", page::form_urlencode(c))) { "their orders" } },
                None => span.muted { "guest" },
            } }
            dt { "Cart" } dd { a href=(format!("/console/carts/{}", o.cart_id)) { code { (o.cart_id) } } }
            dt { "Checkout" } dd { a href=(format!("/console/checkouts/{}", o.checkout_id)) { code { (o.checkout_id) } } }
            dt { "Context" } dd {
                @if o.context.is_empty() { span.muted { "none" } }
                @for (k, v) in &o.context { code { (k) "=" (v) } " " }
            }
        } }
    }
}

fn lines(o: &Order) -> Markup {
    html! {
        section.card aria-labelledby="lines-title" {
            h2 #lines-title { "Lines" }
            div.table-wrap { table data-testid="order-lines" {
                thead { tr { th { "SKU" } th { "Title" } th.num { "Qty" } th.num { "Unit price" } th.num { "Price revision" } th.num { "Line total" } th { "Attributes" } } }
                tbody { @for l in &o.lines {
                    tr {
                        td { code { (l.sku) } }
                        td { (l.title.as_deref().unwrap_or("")) }
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
                dt { "Subtotal" } dd { (o.subtotal) " " (o.currency) }
                @for fee in &o.fees { dt { (fee.label) " " span.muted { "(" (fee.code) ")" } } dd { (fee.amount) " " (o.currency) } }
                dt { "Total" } dd { strong { (o.total) " " (o.currency) } }
            }
            p.hint { "Prices as bound when the checkout was taken: later catalog changes do not touch an order." }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placed_since_takes_a_date_or_a_time() {
        let day = read_since("2024-05-01").unwrap();
        assert_eq!(day.to_rfc3339(), "2024-05-01T00:00:00+00:00");
        let at = read_since("2024-05-01T09:30:00+02:00").unwrap();
        assert_eq!(at.to_rfc3339(), "2024-05-01T07:30:00+00:00");
        for bad in ["yesterday", "2024-13-01", "01/05/2024"] {
            assert!(read_since(bad).unwrap_err().contains(bad), "{bad}");
        }
    }
}
