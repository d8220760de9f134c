//! `Idempotency-Key` for every mutating call (SPEC §2), as middleware so handlers never see
//! it: the first request with a key runs and its response is stored; the same key with the
//! same request replays that response (`Idempotent-Replayed: true`); with a different
//! request it answers `422 idempotency_key_reused`; while the first is still running,
//! `409 idempotency_key_in_use`. The claim is an atomic insert in the database, so this
//! holds across nodes and double clicks alike.

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use sha2::{Digest, Sha256};

use trolley_core::domain::secret;
use trolley_core::ports::{IdempotencyClaim, KeyKind, StoredResponse};

use crate::auth::{API_KEY, CART_TOKEN, bearer};
use crate::error::{ApiError, Code};
use crate::state::AppState;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

/// A claim still "in progress" after this long belongs to a request that died with its node.
const STALE_AFTER_SECONDS: i64 = 60;

fn finish(res: ServiceResponse<impl MessageBody + 'static>) -> ServiceResponse<BoxBody> {
    res.map_into_boxed_body()
}

/// The tenant-scoped namespace a key lives in, or `None` when the caller is not
/// authenticated (the handler will answer 401 and nothing is remembered).
async fn scope(req: &ServiceRequest, state: &AppState) -> Option<String> {
    let headers = req.headers();
    if let Some(key) = headers.get(API_KEY).and_then(|v| v.to_str().ok()) {
        let tenant = state
            .tenants
            .authenticate(KeyKind::Storefront, key.trim())
            .await
            .ok()?;
        return Some(format!("{}:storefront", tenant.id));
    }
    let token = bearer(headers).ok().flatten()?;
    if req.path().starts_with("/v1/admin/") {
        let tenant = state
            .tenants
            .authenticate(KeyKind::Admin, token)
            .await
            .ok()?;
        return Some(format!("{}:admin", tenant.id));
    }
    if req.path().starts_with("/v1/platform/") && secret::verify(token, &state.operator_token_hash)
    {
        return Some("platform".to_owned());
    }
    None
}

/// What makes two requests "the same": method, path and query, the acting principal and
/// the exact body.
fn fingerprint(req: &ServiceRequest, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update([0]);
    h.update(req.uri().path_and_query().map_or("", |p| p.as_str()));
    h.update([0]);
    for name in [header::AUTHORIZATION.as_str(), CART_TOKEN] {
        if let Some(v) = req.headers().get(name) {
            h.update(v.as_bytes());
        }
        h.update([0]);
    }
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
        return Ok(req.into_response(err.error_response()));
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
            return Ok(req.into_response(err.error_response()));
        }
    };
    let fingerprint = fingerprint(&req, &body);
    let now = state.clock.now();
    let claim = state
        .idempotency
        .claim(
            &scope,
            &key,
            &fingerprint,
            now,
            chrono::Duration::seconds(STALE_AFTER_SECONDS),
        )
        .await;
    match claim {
        Err(e) => {
            let err = ApiError::from(e);
            return Ok(req.into_response(err.error_response()));
        }
        Ok(IdempotencyClaim::Mismatch) => {
            let err = ApiError::new(
                Code::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request",
            );
            return Ok(req.into_response(err.error_response()));
        }
        Ok(IdempotencyClaim::InProgress) => {
            let err = ApiError::new(
                Code::IdempotencyKeyInUse,
                "the first request with this Idempotency-Key is still running; retry shortly",
            );
            let mut res = err.error_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Ok(req.into_response(res));
        }
        Ok(IdempotencyClaim::Completed(stored)) => {
            return Ok(req.into_response(replay(stored)));
        }
        Ok(IdempotencyClaim::Claimed) => {}
    }

    req.set_payload(Payload::from(body));
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            // The claim must not outlive a request that never produced a response.
            if let Err(release) = state.idempotency.release(&scope, &key).await {
                tracing::warn!(error = %release, "could not release an idempotency claim");
            }
            return Err(e);
        }
    };
    let (http_req, res) = res.into_parts();
    let (res, body) = res.into_parts();
    let bytes = match to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let _ = state.idempotency.release(&scope, &key).await;
            let err = ApiError::new(Code::Internal, "could not buffer the response");
            return Ok(ServiceResponse::new(http_req, err.error_response()));
        }
    };
    let status = res.status();
    let text_header = |name: header::HeaderName| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let outcome = if storable(status) {
        let stored = StoredResponse {
            status: status.as_u16(),
            content_type: text_header(header::CONTENT_TYPE)
                .unwrap_or_else(|| "application/json".to_owned()),
            etag: text_header(header::ETAG),
            location: text_header(header::LOCATION),
            body: bytes.to_vec(),
        };
        state.idempotency.complete(&scope, &key, &stored).await
    } else {
        state.idempotency.release(&scope, &key).await
    };
    if let Err(e) = outcome {
        // The mutation happened; failing to remember it only weakens a later replay.
        tracing::warn!(error = %e, "could not record an idempotent response");
    }
    let res = res.set_body(BoxBody::new(bytes));
    Ok(ServiceResponse::new(http_req, res))
}
