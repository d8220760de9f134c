//! What the console's list pages (catalog, inventory, carts, checkouts, orders) share, and
//! the detail pages behind them: filters and the page read from the query string, the URLs
//! "next page" links follow, the "find by id" and filter forms, a refused filter shown above
//! the table (and the 400 it answers with), status badges, and an event timeline.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use maud::{Markup, html};
use trolley_core::domain::Event;
use trolley_core::domain::listing::PageRequest;
use trolley_core::error::CoreError;

use crate::error::ConsoleError;
use crate::page::{self, json_block, time};
use crate::session::Fields;

/// The query string as form fields: a list page reads only the parameters it knows, and a
/// query it cannot read at all is no filter rather than a crash.
pub(super) fn query_fields(req: &HttpRequest) -> Fields {
    Fields::parse(req.query_string().as_bytes()).unwrap_or_default()
}

/// The page a list asks for: the server's default size, from `cursor`.
pub(super) fn page_request(fields: &Fields) -> PageRequest {
    PageRequest {
        limit: None,
        cursor: fields.non_empty("cursor").map(str::to_owned),
    }
}

/// A filter or cursor the list refused is the admin's to fix: its message is shown above
/// the table (400). Anything else fails the page.
pub(super) fn refused(e: CoreError) -> Result<String, ConsoleError> {
    match e {
        CoreError::InvalidFilter(_)
        | CoreError::InvalidCursor
        | CoreError::PageLimitOutOfRange { .. } => Ok(e.to_string()),
        other => Err(other.into()),
    }
}

/// A page showing a refused filter answers 400; otherwise `status`.
pub(super) fn list_status(problem: Option<&str>, status: StatusCode) -> StatusCode {
    if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        status
    }
}

/// A list's path with its filters, ending so `cursor=…` can follow (what `next_page` needs).
pub(super) fn list_base(path: &str, filters: &[(&str, Option<&str>)]) -> String {
    let mut base = format!("{path}?");
    for (name, value) in filters {
        if let Some(value) = value {
            base.push_str(name);
            base.push('=');
            base.push_str(&page::form_urlencode(value));
            base.push('&');
        }
    }
    base
}

/// Why a list shows no table, above where the table would be.
pub(super) fn problem_box(problem: Option<&str>) -> Markup {
    html! {
        @if let Some(why) = problem {
            p.notice.error role="alert" data-testid="filter-error" { (why) }
        }
    }
}

/// A list's filter form (`id`), submitted to the list at `action` itself: the page's
/// `fields`, a search button, and a way back to the unfiltered list when `filtered`.
pub(super) fn search_form(id: &str, action: &str, filtered: bool, fields: Markup) -> Markup {
    html! {
        form #(id) .inline method="get" action=(action) role="search" {
            (fields)
            button type="submit" { "Search" }
            @if filtered { a.button.secondary href=(action) { "Clear" } }
        }
    }
}

/// A "find by id" box for one `what` (`cart`, `checkout`, `order`): its `id` parameter goes
/// to the list at `action`, which opens that one (see [`find_id`]).
pub(super) fn find_form(what: &str, action: &str, value: Option<&str>) -> Markup {
    let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    let mut label = what.to_owned();
    if let Some(first) = label.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    html! {
        form #(format!("{what}-find")) .inline method="get" action=(action) {
            div.field {
                label for=(format!("{what}-id")) { (label) " id" }
                input #(format!("{what}-id")) type="search" name="id" value=[value] placeholder=(format!("paste {article} {what} id"));
            }
            button type="submit" { "Open" }
        }
    }
}

/// A "find by id" box's value: the id, or why it is not one.
pub(super) fn find_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, String> {
    raw.parse().map_err(|_| {
        format!("“{raw}” is not a {what} id: paste the whole id, e.g. 0190f5c2-7a1b-7c3d-8e4f-5a6b7c8d9e0f.")
    })
}

pub(super) fn status_badge(status: &str) -> Markup {
    html! {
        @match status {
            "active" | "completed" | "placed" => span.badge.ok { (status) },
            "checking_out" | "pending" => span.badge.warn { (status) },
            _ => span.badge { (status) },
        }
    }
}

/// Events in sequence order, each with its data folded away.
pub(super) fn timeline(testid: &str, events: &[Event]) -> Markup {
    html! {
        div.table-wrap { table data-testid=(testid) {
            thead { tr { th.num { "#" } th { "Type" } th { "When" } th { "Data" } } }
            tbody { @for e in events {
                tr {
                    td.num { (e.sequence) }
                    td { code { (e.event_type.as_str()) } }
                    td { (time(e.occurred_at)) }
                    td { details { summary { "data" } (json_block(&e.data)) } }
                }
            } }
        } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trolley_core::domain::CartId;

    #[test]
    fn a_list_base_keeps_only_the_filters_in_use() {
        assert_eq!(
            list_base(
                "/console/catalog",
                &[("q", Some("a b&c")), ("category", None)]
            ),
            "/console/catalog?q=a+b%26c&"
        );
        assert_eq!(list_base("/console/orders", &[]), "/console/orders?");
    }

    #[test]
    fn only_filter_refusals_stay_on_the_page() {
        assert!(refused(CoreError::InvalidCursor).is_ok());
        assert!(refused(CoreError::InvalidFilter("status".into())).is_ok());
        assert!(refused(CoreError::CartNotFound).is_err());
    }

    #[test]
    fn a_find_box_takes_a_whole_id_only() {
        let id = CartId::new();
        assert_eq!(find_id::<CartId>(&id.to_string(), "cart"), Ok(id));
        let why = find_id::<CartId>("0190f5c2", "cart").unwrap_err();
        assert!(why.contains("not a cart id"), "{why}");
    }

    #[test]
    fn find_boxes_are_named_for_what_they_find() {
        let cart = find_form("cart", "/console/carts", Some("x")).into_string();
        assert_eq!(
            cart,
            concat!(
                r#"<form class="inline" id="cart-find" method="get" action="/console/carts">"#,
                r#"<div class="field"><label for="cart-id">Cart id</label>"#,
                r#"<input id="cart-id" type="search" name="id" value="x" placeholder="paste a cart id"></div>"#,
                r#"<button type="submit">Open</button></form>"#,
            )
        );
        let order = find_form("order", "/console/orders", None).into_string();
        assert!(order.contains(">Order id<"), "{order}");
        assert!(
            order.contains(r#"placeholder="paste an order id""#),
            "{order}"
        );
        assert!(!order.contains("value="), "{order}");
    }

    #[test]
    fn a_search_form_clears_only_when_filtered() {
        let form =
            |filtered| search_form("x-search", "/console/x", filtered, html! { "f" }).into_string();
        assert_eq!(
            form(false),
            r#"<form class="inline" id="x-search" method="get" action="/console/x" role="search">f<button type="submit">Search</button></form>"#
        );
        assert!(form(true).contains(r#"<a class="button secondary" href="/console/x">Clear</a>"#));
    }

    #[test]
    fn a_refused_filter_answers_400() {
        assert_eq!(
            list_status(Some("bad"), StatusCode::OK),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            list_status(None, StatusCode::UNPROCESSABLE_ENTITY),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn statuses_get_their_badges() {
        assert!(status_badge("active").into_string().contains("badge ok"));
        assert!(status_badge("pending").into_string().contains("badge warn"));
        assert!(status_badge("<b>").into_string().contains("&lt;b&gt;"));
    }
}
