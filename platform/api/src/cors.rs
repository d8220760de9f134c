//! CORS for browser storefronts: a page on a tenant's allowed origin (tenant config
//! `cors_allowed_origins`, exact origins) may call the storefront API and read its answers,
//! including the headers a client needs (`ETag`, `RateLimit-*`, …). Nothing else may.
//!
//! A preflight carries no key, so it cannot say which tenant it is for: it is answered for
//! an origin some active tenant allows. The actual request then carries the storefront key,
//! and its answer is readable only by an origin *that* tenant allows. The admin and
//! operator APIs are never opened to browsers on other origins. No `*`, and no credentials
//! mode: storefront calls authenticate with headers, never cookies.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpResponse, ResponseError as _, web};

use trolley_core::service::TenantService;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// Request headers a storefront may send.
pub const ALLOWED_HEADERS: &str = "content-type, authorization, x-api-key, x-cart-token, idempotency-key, if-match, if-none-match, last-event-id, x-request-id, traceparent";
/// Response headers a storefront's script may read.
pub const EXPOSED_HEADERS: &str = "ETag, Location, Idempotent-Replayed, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, X-Request-Id";
const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
/// How long a browser may reuse a preflight answer.
const PREFLIGHT_MAX_AGE_SECS: &str = "600";

/// Which origins may read the answer to this request, set by the auth extractors: a
/// storefront call takes its tenant's list; admin and operator calls none.
#[derive(Debug, Clone)]
pub struct CorsOrigins(Vec<String>);

impl CorsOrigins {
    pub fn of(origins: &[String]) -> Self {
        Self(origins.to_vec())
    }

    pub fn none() -> Self {
        Self(Vec::new())
    }

    fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o == origin)
    }
}

/// The origins some active tenant allows, read at most every few seconds per node: one
/// query per node per period whatever the preflights carry (an origin nobody allows, sent
/// a million times, costs nothing more).
pub struct KnownOrigins {
    tenants: TenantService,
    known: RwLock<Option<(Instant, Arc<HashSet<String>>)>>,
    /// One reader at a time refreshes; the others wait for its answer.
    refreshing: tokio::sync::Mutex<()>,
}

impl KnownOrigins {
    /// How old a read may be: a tenant's new origin is preflighted everywhere after this.
    const TTL: Duration = Duration::from_secs(10);

    pub fn new(tenants: TenantService) -> Self {
        Self {
            tenants,
            known: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<Arc<HashSet<String>>> {
        self.known
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, origins)| origins.clone())
    }

    async fn allowed(&self, origin: &str) -> bool {
        if let Some(origins) = self.fresh() {
            return origins.contains(origin);
        }
        let _refreshing = self.refreshing.lock().await;
        if let Some(origins) = self.fresh() {
            return origins.contains(origin);
        }
        let origins = match self.tenants.allowed_origins().await {
            Ok(origins) => Arc::new(origins.into_iter().collect::<HashSet<_>>()),
            Err(e) => {
                // The last list read (if any) is better than none; asked again next time.
                tracing::warn!(error = %e, "could not read the CORS origins; using the last list");
                let stale = self.known.read().unwrap_or_else(PoisonError::into_inner);
                return stale.as_ref().is_some_and(|(_, o)| o.contains(origin));
            }
        };
        let allowed = origins.contains(origin);
        *self.known.write().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), origins));
        allowed
    }
}

fn origin_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The `/v1` middleware: answers preflights, and marks the answers an allowed origin may
/// read.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(origin) = origin_of(req.headers()) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let allowed = match &state {
            Some(state) => state.known_origins.allowed(&origin).await,
            None => false,
        };
        let res = if allowed {
            preflight_answer(&origin)
        } else {
            ApiError::new(
                Code::OriginNotAllowed,
                format!("{origin} is not in any tenant's cors_allowed_origins (set it with PATCH /v1/admin/config)"),
            )
            .error_response()
        };
        return Ok(req.into_response(res));
    }
    // (No clone of the request is kept across the call: inner layers need it unshared.)
    let mut res = next.call(req).await?.map_into_boxed_body();
    let marked = res.request().extensions().get::<CorsOrigins>().cloned();
    let allowed = match marked {
        Some(origins) => origins.allows(&origin),
        // No credential was accepted (a bad key, an unknown path): an origin some tenant
        // allows may read why, so a storefront developer sees the real error.
        None => match &state {
            Some(state) => state.known_origins.allowed(&origin).await,
            None => false,
        },
    };
    let headers = res.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if allowed && let Ok(value) = HeaderValue::from_str(&origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    Ok(res)
}

fn preflight_answer(origin: &str) -> HttpResponse {
    let mut res = HttpResponse::build(StatusCode::NO_CONTENT);
    if let Ok(value) = HeaderValue::from_str(origin) {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, value));
    }
    res.insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE_SECS))
        .insert_header((
            header::VARY,
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        ))
        .finish()
}
