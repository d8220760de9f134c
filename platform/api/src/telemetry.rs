//! Per-request telemetry, as the outermost middleware: a request id, a `tracing` span the
//! whole request runs in, one log line, and the latency histogram.
//!
//! The request id is the caller's `X-Request-Id` when it is a plain token (at most 128 of
//! `A-Z a-z 0-9 . _ : -`), else the trace id of a valid W3C `traceparent`, else a fresh
//! UUID v7. It is echoed in `X-Request-Id` on every response, errors included, and a valid
//! `traceparent` is echoed back as received. Handlers can read it as [`RequestId`] from the
//! request extensions.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use tracing::Instrument;

use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The target of the one line logged per request, apart from the request span's own
/// (`trolley_api::telemetry`), so an operator can drop the per-request lines and keep the
/// request id on every other line: `RUST_LOG=info,trolley::access=warn` logs only the
/// requests that failed with a 5xx. With the log thread writing, a line per request costs a
/// few percent of a cached read's throughput (BENCHMARKS.md); the latency histogram in
/// `/metrics` counts every request either way.
pub const ACCESS_LOG: &str = "trolley::access";

/// The longest caller-chosen request id kept.
const MAX_REQUEST_ID: usize = 128;

/// This request's id, in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The middleware: wrap the whole app with it, outside every other wrap, so that what the
/// inner layers answer (problem+json rewrites included) is what gets counted and tagged.
/// An error that escapes the inner layers is counted and logged with its status and goes
/// on as an error that renders its response with the headers (see [`Tagged`]).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let trace = req
        .headers()
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| trace_id(v).map(|id| (v.to_owned(), id.to_owned())));
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_request_id(v))
        .map(str::to_owned)
        .or_else(|| trace.as_ref().map(|(_, id)| id.clone()))
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| trolley_metrics::UNMATCHED_ROUTE.to_owned());
    let method = req.method().clone();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    req.extensions_mut().insert(RequestId(request_id.clone()));

    let span = tracing::info_span!(
        "http.request",
        method = %method,
        route = %route,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
    );
    if let Some((_, trace_id)) = &trace {
        span.record("trace_id", trace_id.as_str());
    }
    let result = async { next.call(req).await }
        .instrument(span.clone())
        .await;

    let elapsed = started.elapsed();
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    span.in_scope(|| {
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::warn!(target: ACCESS_LOG, status = status.as_u16(), latency_ms, "request finished");
        } else {
            tracing::info!(target: ACCESS_LOG, status = status.as_u16(), latency_ms, "request finished");
        }
    });
    if let Some(metrics) = metrics {
        metrics.http_request(method.as_str(), &route, status.as_u16(), elapsed);
    }
    let traceparent = trace.map(|(traceparent, _)| traceparent);
    match result {
        Ok(mut res) => {
            tag(res.headers_mut(), &request_id, traceparent.as_deref());
            Ok(res)
        }
        // No response to tag yet (and the request, which building one needs, went with
        // the call): the server renders this error later, headers included.
        Err(inner) => Err(Tagged {
            inner,
            request_id,
            traceparent,
        }
        .into()),
    }
}

fn tag(headers: &mut HeaderMap, request_id: &str, traceparent: Option<&str>) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, value);
    }
    if let Some(traceparent) = traceparent
        && let Ok(value) = HeaderValue::from_str(traceparent)
    {
        headers.insert(TRACEPARENT, value);
    }
}

/// An error that escaped the inner layers, carrying the request's headers into the
/// response the server renders from it.
struct Tagged {
    inner: actix_web::Error,
    request_id: String,
    traceparent: Option<String>,
}

impl std::fmt::Debug for Tagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.inner, f)
    }
}

impl std::fmt::Display for Tagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.inner, f)
    }
}

impl ResponseError for Tagged {
    fn status_code(&self) -> StatusCode {
        self.inner.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut res = self.inner.error_response();
        tag(
            res.headers_mut(),
            &self.request_id,
            self.traceparent.as_deref(),
        );
        res
    }
}

/// A caller's request id worth keeping: short, and safe in logs and headers.
fn is_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= MAX_REQUEST_ID
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The trace id of a W3C `traceparent` of version `00`:
/// `00-<32 lowercase hex, not all zero>-<16 lowercase hex, not all zero>-<2 lowercase hex>`.
fn trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    (parts.next().is_none()
        && version == "00"
        && hex(trace, 32)
        && !zero(trace)
        && hex(parent, 16)
        && !zero(parent)
        && hex(flags, 2))
    .then_some(trace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::test::{TestRequest, call_service, init_service, read_body, try_call_service};
    use actix_web::{App, HttpResponse};

    use crate::error::{ApiError, Code};

    /// An inner layer that fails instead of answering, as middleware may.
    async fn refuse(
        _: ServiceRequest,
        _: Next<impl MessageBody + 'static>,
    ) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
        Err(ApiError::new(Code::Unavailable, "down for a moment").into())
    }

    #[actix_web::test]
    async fn errors_from_inner_layers_render_tagged_problem_responses() {
        let app = init_service(
            App::new()
                .wrap(from_fn(refuse))
                .wrap(from_fn(observe))
                .route("/", web::get().to(HttpResponse::Ok)),
        )
        .await;
        let req = TestRequest::get()
            .uri("/")
            .insert_header(("x-request-id", "abc"))
            .to_request();
        let Err(e) = try_call_service(&app, req).await else {
            panic!("the error must reach the server");
        };
        // What the server answers for it.
        let res = e.error_response();
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers().get("x-request-id").unwrap(), "abc");
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
    }

    #[actix_web::test]
    async fn the_request_id_reaches_handlers() {
        let app = init_service(App::new().wrap(from_fn(observe)).route(
            "/",
            web::get().to(|req: actix_web::HttpRequest| async move {
                let id = req.extensions().get::<RequestId>().cloned();
                HttpResponse::Ok().body(id.map(|RequestId(id)| id).unwrap_or_default())
            }),
        ))
        .await;
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let req = TestRequest::get()
            .uri("/")
            .insert_header(("traceparent", traceparent))
            .to_request();
        let res = call_service(&app, req).await;
        assert_eq!(res.headers().get("traceparent").unwrap(), traceparent);
        let body = read_body(res).await;
        assert_eq!(body, "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn request_ids_are_short_plain_tokens() {
        assert!(is_request_id("abc-123_x.y:z"));
        assert!(is_request_id(&"a".repeat(128)));
        assert!(!is_request_id(&"a".repeat(129)));
        assert!(!is_request_id(""));
        assert!(!is_request_id("has space"));
        assert!(!is_request_id("new\nline"));
        assert!(!is_request_id("quote\"d"));
        assert!(!is_request_id("é"));
    }

    #[test]
    fn only_valid_traceparents_give_a_trace_id() {
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(
            trace_id(&format!("00-{trace}-00f067aa0ba902b7-01")),
            Some(trace)
        );
        for bad in [
            format!("01-{trace}-00f067aa0ba902b7-01"),
            format!("00-{}-00f067aa0ba902b7-01", trace.to_uppercase()),
            format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)),
            format!("00-{trace}-0000000000000000-01"),
            format!("00-{trace}-00f067aa0ba902b7-1"),
            format!("00-{trace}-00f067aa0ba902b7-01-extra"),
            format!("00-{trace}-00f067aa0ba902b7"),
            format!("00-{}-00f067aa0ba902b7-01", &trace[1..]),
            String::new(),
        ] {
            assert_eq!(trace_id(&bad), None, "{bad}");
        }
    }
}
