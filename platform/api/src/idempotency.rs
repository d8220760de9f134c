//! `Idempotency-Key` for every mutating call (SPEC §2), as middleware so handlers never see
//! it: the same key with the same request replays the first answer
//! (`Idempotent-Replayed: true`); with a different request it answers
//! `422 idempotency_key_reused`; while the first is still running, `409
//! idempotency_key_in_use`.
//!
//! Exactly-once lives in the database, not here: the write a request makes records its key
//! in the same transaction (the [`Receipt`] reaches it through the `Storefront` extractor),
//! so a key is either unused or bound to a committed change, whatever crashes when. This
//! middleware looks the key up, runs the request, and stores its answer. If the node died
//! between the commit and storing the answer, a retry re-renders it from what the change
//! left (the cart, the new guest cart with its token, the checkout) — at once, with no
//! stale window to wait out.
//!
//! Keys are scoped by tenant and caller, as the IETF Idempotency-Key draft asks: a
//! customer's keys, a guest cart's, an admin key's and an anonymous address's never meet.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpResponse, ResponseError, web};
use sha2::{Digest, Sha256};

use trolley_core::domain::{Receipt, Replay, secret};
use trolley_core::ports::{IdempotencyLookup, KeyKind, StoredResponse};

use crate::auth::{API_KEY, CART_TOKEN, Storefront, bearer};
use crate::error::{ApiError, Code};
use crate::state::AppState;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

/// How long a key is remembered (SPEC §2: at least 24 h); the sweep purges older ones.
pub use trolley_core::service::sweep::IDEMPOTENCY_RETENTION_HOURS as RETENTION_HOURS;

/// An in-progress claim written by an earlier release still counts as running for this
/// long (a node of that release may be working on it); after that it was abandoned.
const LEGACY_CLAIM_STALE_AFTER_SECONDS: i64 = 60;

/// Keys whose requests are running on this node. A double click that lands on the same node
/// is told `409 idempotency_key_in_use` at once; two copies on different nodes both run and
/// the database lets one commit (the other answers the same 409, or the first's answer).
/// Process memory only: a crash forgets it, and nothing waits for a stale window.
#[derive(Debug, Default)]
pub struct InFlightKeys(Mutex<HashSet<(String, String)>>);

/// Holds a key in [`InFlightKeys`] until dropped (also when the request future is dropped
/// because the client went away).
struct InFlight<'a> {
    keys: &'a InFlightKeys,
    entry: (String, String),
}

impl InFlightKeys {
    fn enter(&self, receipt: &Receipt) -> Option<InFlight<'_>> {
        let entry = (receipt.scope.clone(), receipt.key.clone());
        let entered = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(entry.clone());
        // Built only once the lock is released, and only for the entry this call added:
        // its drop takes the lock and removes the entry.
        entered.then(|| InFlight { keys: self, entry })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.keys
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.entry);
    }
}

fn finish(res: ServiceResponse<impl MessageBody + 'static>) -> ServiceResponse<BoxBody> {
    res.map_into_boxed_body()
}

fn short_hash(value: &str) -> String {
    secret::hash(value).chars().take(32).collect()
}

/// The tenant and caller a key belongs to, or `None` when the caller is not authenticated
/// (the handler answers 401 and nothing is remembered).
async fn scope(req: &ServiceRequest, state: &AppState) -> Option<String> {
    let headers = req.headers();
    if let Some(key) = headers.get(API_KEY).and_then(|v| v.to_str().ok()) {
        let tenant = state
            .tenants
            .authenticate(KeyKind::Storefront, key.trim())
            .await
            .ok()?;
        let caller = match bearer(headers).ok()? {
            // The verified customer, not the token: a refreshed token is the same caller.
            Some(token) => format!(
                "customer:{}",
                Storefront::verify_customer(&tenant, token).ok()?
            ),
            None => match headers.get(CART_TOKEN).and_then(|v| v.to_str().ok()) {
                Some(token) if !token.trim().is_empty() => {
                    format!("guest:{}", short_hash(token.trim()))
                }
                // Anonymous (creating a guest cart): keyed by address, so two shoppers'
                // simple keys never hand one the other's new cart and token.
                _ => format!(
                    "address:{}",
                    state
                        .trusted_proxies
                        .client(req.request())
                        .map(|ip| ip.to_string())
                        .unwrap_or_default()
                ),
            },
        };
        return Some(format!("{}:{caller}", tenant.id));
    }
    let token = bearer(headers).ok().flatten()?;
    if req.path().starts_with("/v1/admin/") {
        let tenant = state
            .tenants
            .authenticate(KeyKind::Admin, token)
            .await
            .ok()?;
        return Some(format!("{}:admin:{}", tenant.id, short_hash(token)));
    }
    if req.path().starts_with("/v1/platform/") && secret::verify(token, &state.operator_token_hash)
    {
        return Some("platform".to_owned());
    }
    None
}

/// What makes two requests "the same": method, path and query, and the exact body. The
/// caller is the scope's business.
fn fingerprint(req: &ServiceRequest, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update([0]);
    h.update(req.uri().path_and_query().map_or("", |p| p.as_str()));
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

fn replay(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, stored.content_type));
    res.insert_header((
        HeaderName::from_static(REPLAYED),
        HeaderValue::from_static("true"),
    ));
    if let Some(etag) = stored.etag {
        res.insert_header((header::ETAG, etag));
    }
    if let Some(location) = stored.location {
        res.insert_header((header::LOCATION, location));
    }
    res.body(stored.body)
}

/// Responses worth remembering: the answer to the request itself. Server errors and
/// throttling say nothing about the request and must not be replayed.
fn storable(status: StatusCode) -> bool {
    !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
}

fn problem(req: ServiceRequest, err: ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(err.error_response())
}

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mutating = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let key = match req.headers().get(IDEMPOTENCY_KEY) {
        Some(v) if mutating => v.to_str().map(str::to_owned).ok(),
        _ => return next.call(req).await.map(finish),
    };
    let Some(key) = key.filter(|k| !k.is_empty() && k.len() <= 255) else {
        let err = ApiError::new(
            Code::InvalidRequest,
            "Idempotency-Key must be 1-255 visible ASCII characters",
        );
        return Ok(problem(req, err));
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(finish);
    };
    let Some(scope) = scope(&req, &state).await else {
        return next.call(req).await.map(finish);
    };

    let body = match req.extract::<web::Bytes>().await {
        Ok(body) => body,
        Err(_) => {
            let err = ApiError::new(Code::PayloadTooLarge, "the body is too large");
            return Ok(problem(req, err));
        }
    };
    let receipt = Arc::new(Receipt {
        scope,
        key,
        fingerprint: fingerprint(&req, &body),
        at: state.clock.now(),
    });
    let Some(_running) = state.in_flight.enter(&receipt) else {
        return Ok(problem(req, in_use()));
    };
    let found = state
        .idempotency
        .lookup(
            &receipt.scope,
            &receipt.key,
            &receipt.fingerprint,
            receipt.at,
            chrono::Duration::seconds(LEGACY_CLAIM_STALE_AFTER_SECONDS),
        )
        .await;
    match found {
        Err(e) => return Ok(problem(req, ApiError::from(e))),
        Ok(IdempotencyLookup::Mismatch) => {
            let err = ApiError::new(
                Code::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request",
            );
            return Ok(problem(req, err));
        }
        Ok(IdempotencyLookup::InProgress) => return Ok(problem(req, in_use())),
        Ok(IdempotencyLookup::Completed(stored)) => {
            return Ok(req.into_response(replay(stored)));
        }
        Ok(IdempotencyLookup::Committed(what)) => {
            return rerender(req, next, &state, &receipt, what).await;
        }
        Ok(IdempotencyLookup::Unused) => {}
    }

    req.extensions_mut().insert(receipt.clone());
    req.set_payload(Payload::from(body));
    let res = next.call(req).await?;
    // The write found the key already bound: another request with it committed first.
    let lost_race = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .is_some_and(|e| e.code == Code::IdempotencyKeyInUse);
    answer(res, &state, &receipt, lost_race, None).await
}

fn in_use() -> ApiError {
    ApiError::new(
        Code::IdempotencyKeyInUse,
        "the first request with this Idempotency-Key is still running; retry shortly",
    )
}

/// Buffers the response, stores it as the key's answer and sends it — or, when another
/// request with the key stored its answer first, sends that one instead, so every caller
/// of a key is told the same thing.
async fn answer(
    res: ServiceResponse<impl MessageBody + 'static>,
    state: &AppState,
    receipt: &Receipt,
    lost_race: bool,
    rerendered: Option<(StatusCode, Option<String>)>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (http_req, res) = res.into_parts();
    let (mut res, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body).await else {
        let err = ApiError::new(Code::Internal, "could not buffer the response");
        return Ok(ServiceResponse::new(http_req, err.error_response()));
    };
    let text_header = |res: &HttpResponse<()>, name: header::HeaderName| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut status = res.status();
    if let Some((original, location)) = &rerendered {
        if !status.is_success() {
            // The resource is gone or no longer this caller's: say so, remember nothing.
            return Ok(ServiceResponse::new(
                http_req,
                res.set_body(BoxBody::new(bytes)),
            ));
        }
        status = *original;
        *res.status_mut() = status;
        res.headers_mut().insert(
            HeaderName::from_static(REPLAYED),
            HeaderValue::from_static("true"),
        );
        if let Some(location) = location
            .as_deref()
            .and_then(|l| HeaderValue::from_str(l).ok())
        {
            res.headers_mut().insert(header::LOCATION, location);
        }
    }
    if lost_race {
        // Another request with the key committed first: its answer, once stored, is ours.
        if let Ok(IdempotencyLookup::Completed(stored)) = state
            .idempotency
            .lookup(
                &receipt.scope,
                &receipt.key,
                &receipt.fingerprint,
                state.clock.now(),
                chrono::Duration::seconds(LEGACY_CLAIM_STALE_AFTER_SECONDS),
            )
            .await
        {
            return Ok(ServiceResponse::new(http_req, replay(stored)));
        }
    }
    if storable(status) {
        let stored = StoredResponse {
            status: status.as_u16(),
            content_type: text_header(&res, header::CONTENT_TYPE)
                .unwrap_or_else(|| "application/json".to_owned()),
            etag: text_header(&res, header::ETAG),
            location: text_header(&res, header::LOCATION),
            body: bytes.to_vec(),
        };
        match state
            .idempotency
            .complete(receipt, &stored, state.clock.now())
            .await
        {
            Ok(None) => {}
            Ok(Some(first)) => return Ok(ServiceResponse::new(http_req, replay(first))),
            // The change (if any) committed with its key; a retry re-renders the answer.
            Err(e) => tracing::warn!(error = %e, "could not store an idempotent answer"),
        }
    }
    let res = res.set_body(BoxBody::new(bytes));
    Ok(ServiceResponse::new(http_req, res))
}

/// Answers a retry whose first request committed but died before storing its answer: the
/// same request becomes a read of what the change left, answered with the original status.
async fn rerender(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: &AppState,
    receipt: &Receipt,
    what: Replay,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (path, status, token) = match &what {
        Replay::Cart(id) => (format!("/v1/carts/{id}"), StatusCode::OK, None),
        Replay::CreatedCart { cart, token } => (
            format!("/v1/carts/{cart}"),
            StatusCode::CREATED,
            Some(token.clone()),
        ),
        Replay::Checkout(id) => (format!("/v1/checkouts/{id}"), StatusCode::CREATED, None),
    };
    let Ok(uri) = Uri::from_str(&path) else {
        return Ok(problem(
            req,
            ApiError::new(Code::Internal, "bad replay path"),
        ));
    };
    req.match_info_mut().get_mut().update(&uri);
    let head = req.head_mut();
    head.method = Method::GET;
    head.uri = uri;
    if let Some(token) = &token
        && let Ok(value) = HeaderValue::from_str(token)
    {
        head.headers
            .insert(HeaderName::from_static(CART_TOKEN), value);
    }
    req.set_payload(Payload::None);
    let location = match &what {
        Replay::Cart(_) => None,
        _ => Some(path.clone()),
    };
    let res = next.call(req).await?;
    let Some(token) = token else {
        return answer(res, state, receipt, false, Some((status, location))).await;
    };
    // The guest's token is in the creation answer only: put it back into the cart.
    let (http_req, res) = res.into_parts();
    let (res, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body).await else {
        let err = ApiError::new(Code::Internal, "could not buffer the response");
        return Ok(ServiceResponse::new(http_req, err.error_response()));
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut cart)) if res.status().is_success() => {
            cart.insert("cart_token".into(), serde_json::Value::String(token));
            serde_json::to_vec(&cart).unwrap_or_else(|_| bytes.to_vec())
        }
        _ => bytes.to_vec(),
    };
    let res = ServiceResponse::new(http_req, res.set_body(BoxBody::new(body)));
    answer(res, state, receipt, false, Some((status, location))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(key: &str) -> Receipt {
        Receipt {
            scope: "t:customer:ann".into(),
            key: key.into(),
            fingerprint: "fp".into(),
            at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_key_runs_once_per_node_at_a_time() {
        let keys = InFlightKeys::default();
        let first = keys.enter(&receipt("k")).expect("the first enters");
        // A second attempt is refused and does not evict the first.
        assert!(keys.enter(&receipt("k")).is_none());
        assert!(keys.enter(&receipt("k")).is_none());
        assert!(keys.enter(&receipt("other")).is_some());
        drop(first);
        assert!(keys.enter(&receipt("k")).is_some(), "released on drop");
    }
}
