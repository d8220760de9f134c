//! Request rate limits for storefront traffic: one bucket per tenant and one per shopper
//! (customer, guest cart, or anonymous caller's address), taken together. The tenant's
//! config sets both shapes within the operator's maxima.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _};
use std::sync::Arc;

use trolley_core::domain::{RateDecision, RateLimit, Tenant, secret};
use trolley_core::ports::{Metrics, RateLimiter};

use crate::error::{ApiError, Code};

/// Who a storefront request is counted against, besides its tenant.
pub enum ShopperKey<'a> {
    Customer(&'a str),
    CartToken(&'a str),
    Address(String),
}

pub struct RateLimits {
    limiter: Arc<dyn RateLimiter>,
    tenant_max: RateLimit,
    shopper_max: RateLimit,
    metrics: Arc<dyn Metrics>,
}

impl RateLimits {
    pub fn new(
        limiter: Arc<dyn RateLimiter>,
        tenant_max: RateLimit,
        shopper_max: RateLimit,
        metrics: Arc<dyn Metrics>,
    ) -> Self {
        Self {
            limiter,
            tenant_max,
            shopper_max,
            metrics,
        }
    }

    /// Takes a token from the tenant's and the shopper's bucket; a refusal is `429
    /// rate_limited` with `Retry-After`. The decision is returned either way so the
    /// response can carry the `RateLimit-*` headers.
    pub async fn check(
        &self,
        tenant: &Tenant,
        shopper: ShopperKey<'_>,
    ) -> Result<RateDecision, ApiError> {
        // Customer ids and tokens are hashed: bucket keys never carry a credential.
        let who = match shopper {
            ShopperKey::Customer(id) => format!("c:{}", secret::hash(id)),
            ShopperKey::CartToken(token) => format!("g:{}", secret::hash(token)),
            ShopperKey::Address(addr) => format!("a:{addr}"),
        };
        let buckets = [
            (
                format!("{}:tenant", tenant.id),
                tenant.config.rate_limit.within(self.tenant_max),
            ),
            (
                format!("{}:{who}", tenant.id),
                tenant.config.shopper_rate_limit.within(self.shopper_max),
            ),
        ];
        let decision = self.limiter.take(&buckets).await;
        if decision.allowed {
            Ok(decision)
        } else {
            self.metrics.rate_limited("storefront");
            Err(refusal(&decision))
        }
    }
}

fn refusal(decision: &RateDecision) -> ApiError {
    let retry = decision.retry_after_secs();
    let mut error = ApiError::new(
        Code::RateLimited,
        format!("too many requests; retry in {retry} s"),
    )
    .with("retry_after_seconds", retry)
    .with("retry_after", retry)
    .with_header(actix_web::http::header::RETRY_AFTER, retry.to_string());
    for (name, value) in headers(decision) {
        error = error.with_header(name, value);
    }
    error
}

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (IETF draft names).
pub fn headers(decision: &RateDecision) -> [(HeaderName, String); 3] {
    [
        (
            HeaderName::from_static("ratelimit-limit"),
            decision.limit.to_string(),
        ),
        (
            HeaderName::from_static("ratelimit-remaining"),
            decision.remaining.to_string(),
        ),
        (
            HeaderName::from_static("ratelimit-reset"),
            decision.reset_secs().to_string(),
        ),
    ]
}

/// Copies the decision the `Storefront` extractor left in the request onto a successful
/// response (a refusal carries its own headers).
pub async fn rate_limit_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut res = next.call(req).await?;
    let decision = res.request().extensions().get::<RateDecision>().copied();
    if let Some(decision) = decision {
        for (name, value) in headers(&decision) {
            if let Ok(value) = HeaderValue::from_str(&value)
                && !res.headers().contains_key(&name)
            {
                res.headers_mut().insert(name, value);
            }
        }
    }
    Ok(res)
}
