//! Who is calling, as extractors: a handler that takes `Operator`, `TenantAdmin` or
//! `Storefront` cannot run for anyone else (SPEC §6).

use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::future::{Ready, ready};
use std::sync::Arc;

use trolley_core::domain::{Actor, CartId, Receipt, Tenant, secret};
use trolley_core::ports::KeyKind;
use trolley_core::service::Shopper;

use crate::cors::CorsOrigins;
use crate::error::{ApiError, Code};
use crate::rate_limit::ShopperKey;
use crate::state::AppState;

pub const API_KEY: &str = "x-api-key";
pub const CART_TOKEN: &str = "x-cart-token";

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::new(Code::Internal, "application state missing"))
}

fn header(
    headers: &HeaderMap,
    name: impl actix_web::http::header::AsHeaderName,
) -> Result<Option<&str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| ApiError::new(Code::Unauthorized, "credential headers must be ASCII")),
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match header(headers, AUTHORIZATION)? {
        None => Ok(None),
        Some(value) => match value.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Ok(Some(token.trim()))
            }
            _ => Err(ApiError::new(
                Code::Unauthorized,
                "Authorization must be `Bearer <token>`",
            )),
        },
    }
}

/// The platform operator (token from server configuration).
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequest for Operator {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let check = || {
            req.extensions_mut().insert(CorsOrigins::none());
            let state = state(req)?;
            let token = bearer(req.headers())?
                .ok_or_else(|| ApiError::new(Code::Unauthorized, "operator token required"))?;
            if secret::verify(token, &state.operator_token_hash) {
                Ok(Operator)
            } else {
                Err(ApiError::new(Code::Unauthorized, "unknown operator token"))
            }
        };
        ready(check())
    }
}

/// A tenant admin, by `Authorization: Bearer <admin key>`, and which key it used (what the
/// audit log records for its changes).
#[derive(Debug, Clone)]
pub struct TenantAdmin(pub Arc<Tenant>, pub Actor);

impl FromRequest for TenantAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            let key = bearer(req.headers())?.ok_or_else(|| {
                ApiError::new(
                    Code::Unauthorized,
                    "the admin API needs the tenant's admin key as Authorization: Bearer tak_…",
                )
            })?;
            // The admin API is for consoles and back ends, never a storefront's page.
            req.extensions_mut().insert(CorsOrigins::none());
            let (tenant, actor) = state.tenants.authenticate_key(KeyKind::Admin, key).await?;
            Ok(TenantAdmin(Arc::new(tenant), actor))
        })
    }
}

#[derive(Debug, Deserialize)]
struct CustomerClaims {
    sub: String,
}

/// A storefront (`X-Api-Key`) acting for a customer (`Authorization: Bearer <JWT>`) or a
/// guest (`X-Cart-Token`).
#[derive(Debug, Clone)]
pub struct Storefront(pub Shopper);

impl Storefront {
    /// The customer a token names, when one of the tenant's current customer-token secrets
    /// signed it (newest first: that is the one storefronts sign new tokens with, so it
    /// usually matches at the first try).
    pub(crate) fn verify_customer(tenant: &Tenant, token: &str) -> Result<String, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let invalid = || {
            ApiError::new(
                Code::InvalidToken,
                "the customer token is not signed by any of this tenant's customer-token secrets",
            )
        };
        let mut verified = None;
        for secret in &tenant.customer_token_secrets {
            let key = DecodingKey::from_secret(secret.secret.as_bytes());
            match jsonwebtoken::decode::<CustomerClaims>(token, &key, &validation) {
                Ok(data) => {
                    verified = Some(data);
                    break;
                }
                // Another secret may have signed it.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                // The signature is checked before the claims, so this secret signed it.
                Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                    return Err(ApiError::new(
                        Code::TokenExpired,
                        "the customer token has expired",
                    ));
                }
                // Signed by this secret, but a claim we require is absent.
                Err(e) if matches!(e.kind(), ErrorKind::MissingRequiredClaim(_)) => {
                    let claim = match e.kind() {
                        ErrorKind::MissingRequiredClaim(claim) => claim.as_str(),
                        _ => "",
                    };
                    return Err(ApiError::new(
                        Code::InvalidToken,
                        format!(
                            "the customer token has no `{claim}` claim: tokens must carry `sub` (the customer id) and `exp` (when it expires, Unix seconds)"
                        ),
                    ));
                }
                Err(e) if matches!(e.kind(), ErrorKind::InvalidAlgorithm) => {
                    return Err(ApiError::new(
                        Code::InvalidToken,
                        "the customer token must be signed with HS256 and the tenant's customer-token secret",
                    ));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::InvalidToken
                            | ErrorKind::Base64(_)
                            | ErrorKind::Json(_)
                            | ErrorKind::Utf8(_)
                    ) =>
                {
                    return Err(ApiError::new(
                        Code::InvalidToken,
                        "the customer token is not a JWT (header.payload.signature, base64url)",
                    ));
                }
                // Anything else about the claims: no secret will change that.
                Err(_) => return Err(invalid()),
            }
        }
        let sub = verified.ok_or_else(invalid)?.claims.sub;
        if sub.is_empty() || sub.len() > 128 {
            return Err(ApiError::new(
                Code::InvalidToken,
                "the token's sub must be 1-128 characters",
            ));
        }
        Ok(sub)
    }
}

impl FromRequest for Storefront {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            let headers = req.headers();
            let key = header(headers, API_KEY)?.ok_or_else(|| {
                ApiError::new(
                    Code::Unauthorized,
                    "storefront calls need the tenant's storefront key as X-Api-Key: tsk_…",
                )
            })?;
            let tenant = state.tenants.authenticate(KeyKind::Storefront, key).await?;
            // Which browser origins may read this answer (see `cors`).
            req.extensions_mut()
                .insert(CorsOrigins::of(&tenant.config.cors_allowed_origins));
            let customer_id = match bearer(headers)? {
                Some(token) => Some(Self::verify_customer(&tenant, token)?),
                None => None,
            };
            let cart_token = header(headers, CART_TOKEN)?
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            let who = match (&customer_id, &cart_token) {
                (Some(customer), _) => ShopperKey::Customer(customer),
                (None, Some(token)) => ShopperKey::CartToken(token),
                // An anonymous caller (creating a guest cart) is counted by its address:
                // the forwarded one when a trusted proxy (a storefront backend, a load
                // balancer) sent the request, else its peer's.
                (None, None) => ShopperKey::Address(
                    state
                        .trusted_proxies
                        .client(&req)
                        .map(|ip| ip.to_string())
                        .unwrap_or_default(),
                ),
            };
            // A cart read asks the shared cache for the cart while the rate limit is
            // checked: both go out together, one round trip instead of two. The copy is
            // used only once the handler has authorized the shopper.
            let decision = match cart_read(&req) {
                Some(cart_id) => {
                    let (decision, prefetched) = futures_util::future::join(
                        state.rate_limits.check(&tenant, who),
                        state.carts.prefetch(tenant.id, cart_id),
                    )
                    .await;
                    req.extensions_mut().insert(prefetched);
                    decision?
                }
                None => state.rate_limits.check(&tenant, who).await?,
            };
            req.extensions_mut().insert(decision);
            // Set by the idempotency middleware: the write seals it in its transaction.
            let receipt = req.extensions().get::<Arc<Receipt>>().cloned();
            Ok(Storefront(Shopper {
                tenant: Arc::new(tenant),
                customer_id,
                cart_token,
                receipt,
            }))
        })
    }
}

/// The cart a `GET /v1/carts/{cart_id}` reads, if this request is one.
fn cart_read(req: &HttpRequest) -> Option<CartId> {
    if req.method() != actix_web::http::Method::GET
        || req.match_pattern().as_deref() != Some("/v1/carts/{cart_id}")
    {
        return None;
    }
    let id = req.match_info().get("cart_id")?;
    uuid::Uuid::parse_str(id).ok().map(CartId)
}
