//! Storefront: a cart's changes as they happen (Server-Sent Events), for a shopper's other
//! devices.

use actix_web::http::header::{CACHE_CONTROL, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, get, web};
use uuid::Uuid;

use trolley_core::domain::CartId;

use crate::auth::Storefront;
use crate::error::{ApiError, Code, Problem, Result};
use crate::live::CartStream;
use crate::state::AppState;

/// How long a client turned away at the stream limit should wait.
const FULL_RETRY_SECS: u64 = 5;

/// The cart as it changes, as `text/event-stream`. First the cart now (skipped when
/// `Last-Event-ID` already names its version), then an event `cart` for every new
/// version made on any node, within a second: `id` is the cart version, `data` the cart
/// exactly as `GET /v1/carts/{cart_id}` shows it. Idle streams get a comment every 15 s.
/// The stream ends after the cart's last state when it is converted, merged or expired.
/// Same credentials as a read (send them as headers: browsers' `EventSource` cannot, so
/// use `fetch`, as the TypeScript client does). A tenant may hold a bounded number of
/// open streams per node (`429 too_many_streams`).
#[utoipa::path(tag = "carts",
    security(("storefront_key" = [], "customer_token" = []), ("storefront_key" = [], "cart_token" = [])),
    params(
        ("cart_id" = Uuid, Path),
        ("Last-Event-ID" = Option<i64>, Header, description = "The last cart version this client received: the stream resumes after it"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", body = String,
            description = "Events `cart` (`id` = cart version, `data` = the cart as JSON) and `:` heartbeat comments",
            example = json!("retry: 1000\n\nevent: cart\nid: 3\ndata: {\"cart_id\":\"…\",\"version\":3,…}\n\n")),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "rate_limited, or too_many_streams: the tenant's open streams on this node are at their limit"),
    ))]
#[get("/carts/{cart_id}/stream")]
pub async fn stream_cart(
    Storefront(shopper): Storefront,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let cart = CartId(path.into_inner());
    let last_event_id = match req.headers().get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    ApiError::new(
                        Code::InvalidRequest,
                        "Last-Event-ID must be the id (a cart version) of an earlier `cart` event",
                    )
                })?,
        ),
    };
    let tenant = shopper.tenant.id;
    let max = state.stream_settings.max_per_tenant;
    let slot = state.streams.open(tenant, max).ok_or_else(|| {
        ApiError::new(
            Code::TooManyStreams,
            format!("this tenant already has {max} cart streams open on this node; close one or retry later"),
        )
        .with("retry_after_seconds", FULL_RETRY_SECS)
        .with_header(RETRY_AFTER, FULL_RETRY_SECS.to_string())
    })?;
    // Watching starts before the first read: a change between the two still wakes it.
    let watch = state.watchers.watch(tenant, cart);
    let first = state.carts.get(&shopper, cart).await?;
    let events = CartStream {
        carts: state.carts.clone(),
        shopper,
        cart,
        watch,
        slot,
        heartbeat: state.stream_settings.heartbeat,
        last_event_id,
    }
    .events(first);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((CACHE_CONTROL, "no-cache"))
        // Proxies that buffer (nginx) would hold events back.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(events))
}
