//! The overview: what the tenant's shop is doing now, from the same counts and counters the
//! admin API and `/metrics` show.

use actix_web::{HttpResponse, web};
use maud::html;
use trolley_api::AppState;

use crate::error::ConsoleError;
use crate::page::{Nav, Page, time};
use crate::session::{Admin, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // `/console` and `/console/`.
    cfg.route("", web::get().to(show))
        .route("/", web::get().to(show));
}

fn ratio(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

async fn show(
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let tenant = &admin.tenant;
    // "Today" is the UTC day: the console shows times in UTC throughout.
    let now = state.clock.now();
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |t| t.and_utc());
    let counts = state.lists.overview_counts(tenant, midnight).await?;
    let active = state.plugins.order_types(tenant).await?;
    let (hits, misses, fallbacks) = state.metrics.cache_counts();
    let lookups = hits + misses + fallbacks;
    let body = html! {
        div.grid {
            a.stat href="/console/carts?status=active" { span.value data-testid="active-carts" { (counts.active_carts) } span.label { "active carts" } }
            a.stat href="/console/checkouts?status=pending" { span.value data-testid="open-checkouts" { (counts.open_checkouts) } span.label { "open checkouts" } }
            a.stat href="/console/orders" { span.value data-testid="orders-today" { (counts.orders_since) } span.label { "orders today (UTC)" } }
            div.stat { span.value data-testid="cache-hit-ratio" { (ratio(hits, lookups)) } span.label { "cart cache hits (" (lookups) " lookups)" } }
        }
        h2 { "Plugins" }
        @if active.is_empty() {
            p.empty { "No order type runs a plugin yet. " a href="/console/order-types" { "Upload one" } "." }
        } @else {
            div.table-wrap { table {
                thead { tr { th { "Order type" } th { "Version" } th { "Since" } th.num { "Calls" } th.num { "Failed" } th.num { "Failure rate" } } }
                tbody { @for a in &active {
                    @let (ok, failed) = state.metrics.plugin_call_counts(tenant.id, &a.order_type);
                    tr {
                        td { a href=(format!("/console/plugins/{}", a.plugin.id)) { (a.order_type) } }
                        td { (a.plugin.info.version) }
                        td { (time(a.activated_at)) }
                        td.num { (ok + failed) }
                        td.num { (failed) }
                        td.num { (ratio(failed, ok + failed)) }
                    }
                } }
            } }
        }
        p.hint { "Calls and cache figures are this node's since it started, as on " code { "/metrics" } "." }
    };
    Ok(Page {
        admin: &admin,
        nav: Nav::Overview,
        title: "Overview".into(),
        notice: None,
        body,
    }
    .render())
}
