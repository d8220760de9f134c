//! Every error the API answers, in one registry: code → HTTP status → title. Responses are
//! RFC 9457 `application/problem+json` with a stable `code` clients can switch on.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use trolley_core::{CoreError, StoreError};
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($variant:ident => ($status:ident, $code:literal, $title:literal),)*) => {
        /// The stable machine-readable error codes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn status(self) -> StatusCode {
                match self { $(Code::$variant => StatusCode::$status,)* }
            }

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

error_codes! {
    MalformedJson => (BAD_REQUEST, "malformed_json", "The body is not valid JSON"),
    InvalidRequest => (BAD_REQUEST, "invalid_request", "The request does not have the expected shape"),
    Unauthorized => (UNAUTHORIZED, "unauthorized", "Missing or unknown credentials"),
    InvalidToken => (UNAUTHORIZED, "invalid_token", "The customer token is not valid for this tenant"),
    TokenExpired => (UNAUTHORIZED, "token_expired", "The customer token has expired"),
    Forbidden => (FORBIDDEN, "forbidden", "Not allowed"),
    TenantSuspended => (FORBIDDEN, "tenant_suspended", "The tenant is suspended"),
    OriginNotAllowed => (FORBIDDEN, "origin_not_allowed", "This browser origin may not call the API"),
    NotFound => (NOT_FOUND, "not_found", "No such resource"),
    MethodNotAllowed => (METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed"),
    CartNotFound => (NOT_FOUND, "cart_not_found", "Cart not found"),
    ApiKeyNotFound => (NOT_FOUND, "api_key_not_found", "API key not found"),
    CustomerTokenSecretNotFound => (NOT_FOUND, "customer_token_secret_not_found", "Customer-token secret not found"),
    CannotRevokeOwnKey => (CONFLICT, "cannot_revoke_own_key", "A request cannot revoke the key it is authenticated with"),
    LastAdminKey => (CONFLICT, "last_admin_key", "The tenant's last active admin key cannot be revoked"),
    LastCustomerTokenSecret => (CONFLICT, "last_customer_token_secret", "The tenant's only customer-token secret cannot be deleted"),
    LineNotFound => (NOT_FOUND, "line_not_found", "Line not found"),
    TenantNotFound => (NOT_FOUND, "tenant_not_found", "Tenant not found"),
    ItemNotFound => (NOT_FOUND, "item_not_found", "Catalog item not found"),
    PluginNotFound => (NOT_FOUND, "plugin_not_found", "Plugin not found"),
    WebhookNotFound => (NOT_FOUND, "webhook_not_found", "Webhook endpoint not found"),
    DeliveryNotFound => (NOT_FOUND, "delivery_not_found", "Webhook delivery not found"),
    PluginRunNotFound => (NOT_FOUND, "plugin_run_not_found", "Plugin run not found"),
    NotTracked => (NOT_FOUND, "not_tracked", "The sku has no inventory record"),
    CheckoutNotFound => (NOT_FOUND, "checkout_not_found", "Checkout not found"),
    OrderNotFound => (NOT_FOUND, "order_not_found", "Order not found"),
    InsufficientStock => (CONFLICT, "insufficient_stock", "Not enough stock"),
    PriceChanged => (CONFLICT, "price_changed", "Prices changed since the lines were added"),
    ReviewRequired => (CONFLICT, "review_required", "Merge conflicts must be resolved first"),
    OnHandBelowReserved => (CONFLICT, "on_hand_below_reserved", "On hand cannot go below what is held"),
    CheckoutClosed => (CONFLICT, "checkout_closed", "The checkout is no longer pending"),
    CheckoutExpired => (GONE, "checkout_expired", "The checkout expired"),
    CartExpired => (GONE, "cart_expired", "The cart expired"),
    CartEmpty => (UNPROCESSABLE_ENTITY, "cart_empty", "The cart is empty"),
    IdempotencyKeyRequired => (BAD_REQUEST, "idempotency_key_required", "This call needs an Idempotency-Key"),
    NothingToRollBack => (CONFLICT, "nothing_to_roll_back", "No earlier activation to roll back to"),
    PluginVersionExists => (CONFLICT, "plugin_version_exists", "This plugin version was uploaded with other bytes"),
    ActivationCheckFailed => (CONFLICT, "activation_check_failed", "The plugin version fails on carts the active version judges"),
    LineConflict => (CONFLICT, "line_conflict", "The line changed since you read it"),
    CartFrozen => (CONFLICT, "cart_frozen", "The cart is checking out"),
    CartMerged => (CONFLICT, "cart_merged", "The cart was merged into another cart"),
    CartClosed => (CONFLICT, "cart_closed", "The cart can no longer change"),
    IncompatibleOrderType => (CONFLICT, "incompatible_order_type", "The item belongs to another order type"),
    IdempotencyKeyInUse => (CONFLICT, "idempotency_key_in_use", "A request with this idempotency key is still running"),
    ConcurrentUpdate => (CONFLICT, "concurrent_update", "The cart kept changing under this request"),
    PreconditionFailed => (PRECONDITION_FAILED, "precondition_failed", "The resource changed since the version in If-Match"),
    PreconditionRequired => (PRECONDITION_REQUIRED, "precondition_required", "This change needs If-Match with the current ETag"),
    PayloadTooLarge => (PAYLOAD_TOO_LARGE, "payload_too_large", "The body is too large"),
    UnsupportedMediaType => (UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Unsupported content type"),
    InvalidInput => (UNPROCESSABLE_ENTITY, "invalid_input", "A field has an invalid value"),
    QuantityOutOfRange => (UNPROCESSABLE_ENTITY, "quantity_out_of_range", "Quantity out of range"),
    TooManyLines => (UNPROCESSABLE_ENTITY, "too_many_lines", "The cart has too many lines"),
    UnknownSku => (UNPROCESSABLE_ENTITY, "unknown_sku", "Unknown sku"),
    InvalidPrice => (UNPROCESSABLE_ENTITY, "invalid_price", "Invalid price"),
    UnsupportedCurrency => (UNPROCESSABLE_ENTITY, "unsupported_currency", "Unsupported currency"),
    IdempotencyKeyReused => (UNPROCESSABLE_ENTITY, "idempotency_key_reused", "The idempotency key was used for a different request"),
    InvalidPlugin => (UNPROCESSABLE_ENTITY, "invalid_plugin", "The module is not a valid order-type plugin"),
    InvalidConfig => (UNPROCESSABLE_ENTITY, "invalid_config", "The config does not match the plugin's schema"),
    ValidationFailed => (UNPROCESSABLE_ENTITY, "validation_failed", "The order type refused the cart"),
    RateLimited => (TOO_MANY_REQUESTS, "rate_limited", "Too many requests"),
    TooManyStreams => (TOO_MANY_REQUESTS, "too_many_streams", "Too many open cart streams"),
    Internal => (INTERNAL_SERVER_ERROR, "internal_error", "Internal error"),
    Unavailable => (SERVICE_UNAVAILABLE, "service_unavailable", "A backing service is unavailable"),
    DatabaseUnavailable => (SERVICE_UNAVAILABLE, "database_unavailable", "The database is unavailable"),
    InsufficientStorage => (INSUFFICIENT_STORAGE, "insufficient_storage", "The database has no space left"),
    PluginFailed => (SERVICE_UNAVAILABLE, "plugin_failed", "The order-type plugin failed"),
    PluginError => (BAD_GATEWAY, "plugin_error", "The order-type plugin fails on this cart"),
}

/// An RFC 9457 problem document, as documented in the OpenAPI spec. Every answer of 400 and
/// above is one; the members after `code` appear only with the codes they name.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    #[schema(example = "https://trolley.dev/problems/line_conflict")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What happened and what to do about it, for a developer.
    pub detail: String,
    /// Stable machine-readable code to switch on (the OpenAPI document lists every one).
    #[schema(example = "line_conflict")]
    pub code: String,
    /// For `precondition_failed` on a cart: the cart's current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// For `precondition_failed` on the tenant config: its current revision (the `ETag`
    /// the response also carries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_revision: Option<i64>,
    /// For `line_conflict`: the line as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_line: Option<crate::dto::carts::CurrentLine>,
    /// For `validation_failed`: the order type's violations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<crate::dto::carts::ViolationResponse>>,
    /// For `invalid_request` on a config patch: the member that cannot be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `invalid_config`: each failing field and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
    /// For `insufficient_stock`: each short sku, what was asked and what is available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortages: Option<Vec<ShortageProblem>>,
    /// For `price_changed`: each line's old and new price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<PriceChangeProblem>>,
    /// For `review_required`: the lines a merge left for the shopper to resolve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_ids: Option<Vec<uuid::Uuid>>,
    /// For `cart_merged`: the cart it was merged into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// For `plugin_failed` and `plugin_error`: the order type whose plugin failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_type: Option<String>,
    /// For `plugin_failed` and `plugin_error`: how it failed (`deadline_exceeded`,
    /// `unavailable`, `trapped`, `bad_output`, `out_of_memory`, `output_too_large`,
    /// `config_rejected`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_kind: Option<String>,
    /// For `plugin_failed` and `plugin_error`: the run record of the failure, which the
    /// tenant admin reads at `GET /v1/admin/order-types/{order_type}/runs/{run_id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<uuid::Uuid>,
    /// For `activation_check_failed`: each cart the new version fails on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<TrialFailureProblem>>,
    /// For `quantity_out_of_range`: the most one line may hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_quantity: Option<u32>,
    /// For `too_many_lines`: the most lines a cart may hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_lines: Option<u32>,
    /// For `payload_too_large` on a plugin upload: the operator's maximum module size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// For `plugin_version_exists`: the upload that has this version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin_id: Option<uuid::Uuid>,
    /// For `on_hand_below_reserved`: the units currently held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved: Option<i64>,
    /// For the retryable codes (`rate_limited`, `too_many_streams`, `plugin_failed`,
    /// `database_unavailable`, `service_unavailable`): seconds to wait, as in `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// For `rate_limited`: the same as `retry_after_seconds` (kept for earlier clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    pub retry_after: Option<u64>,
}

/// One cart `activation_check_failed` names.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialFailureProblem {
    pub cart_id: uuid::Uuid,
    pub kind: String,
    pub message: String,
    pub transient: bool,
    pub run_id: Option<uuid::Uuid>,
}

/// One sku `insufficient_stock` names.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShortageProblem {
    pub sku: String,
    pub requested: i64,
    pub available: i64,
    pub line_ids: Vec<uuid::Uuid>,
}

/// One line `price_changed` names.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceChangeProblem {
    pub line_id: uuid::Uuid,
    pub sku: String,
    #[schema(value_type = String, example = "1.99")]
    pub was: String,
    #[schema(value_type = String, example = "2.19")]
    pub now: String,
}

/// An error on its way to becoming a problem+json response.
#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub detail: String,
    extra: Map<String, Value>,
    /// Headers the answer carries besides the problem document (`Retry-After`, …).
    headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            extra: Map::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert(
            "type".into(),
            format!("https://trolley.dev/problems/{}", self.code.as_str()).into(),
        );
        body.insert("title".into(), self.code.title().into());
        body.insert("status".into(), self.code.status().as_u16().into());
        body.insert("detail".into(), self.detail.clone().into());
        body.insert("code".into(), self.code.as_str().into());
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if self.code == Code::PluginFailed {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
        }
        if matches!(
            self.code,
            Code::DatabaseUnavailable | Code::Unavailable | Code::IdempotencyKeyInUse
        ) {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        if self.code == Code::Unauthorized {
            res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        for (name, value) in &self.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                res.insert_header((name.clone(), value));
            }
        }
        res.body(self.body().to_string())
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        let detail = err.to_string();
        match err {
            CoreError::InvalidInput(_) => ApiError::new(Code::InvalidInput, detail),
            CoreError::QuantityOutOfRange { max, .. } => {
                ApiError::new(Code::QuantityOutOfRange, detail).with("max_quantity", max)
            }
            CoreError::TooManyLines { max } => {
                ApiError::new(Code::TooManyLines, detail).with("max_lines", max)
            }
            CoreError::UnknownSku(_) => ApiError::new(Code::UnknownSku, detail),
            CoreError::InvalidPrice(_) => ApiError::new(Code::InvalidPrice, detail),
            CoreError::UnsupportedCurrency(_) => ApiError::new(Code::UnsupportedCurrency, detail),
            CoreError::Unauthenticated(_) => ApiError::new(Code::Unauthorized, detail),
            CoreError::Forbidden(_) => ApiError::new(Code::Forbidden, detail),
            CoreError::TenantSuspended => ApiError::new(Code::TenantSuspended, detail),
            CoreError::CartNotFound => ApiError::new(Code::CartNotFound, detail),
            CoreError::ApiKeyNotFound => ApiError::new(Code::ApiKeyNotFound, detail),
            CoreError::CustomerTokenSecretNotFound => {
                ApiError::new(Code::CustomerTokenSecretNotFound, detail)
            }
            CoreError::CannotRevokeOwnKey => ApiError::new(Code::CannotRevokeOwnKey, detail),
            CoreError::LastAdminKey => ApiError::new(Code::LastAdminKey, detail),
            CoreError::LastCustomerTokenSecret => {
                ApiError::new(Code::LastCustomerTokenSecret, detail)
            }
            CoreError::LineNotFound => ApiError::new(Code::LineNotFound, detail),
            CoreError::TenantNotFound => ApiError::new(Code::TenantNotFound, detail),
            CoreError::ItemNotFound(_) => ApiError::new(Code::ItemNotFound, detail),
            CoreError::PreconditionFailed { current_version } => {
                ApiError::new(Code::PreconditionFailed, detail)
                    .with("current_version", current_version)
            }
            CoreError::ConfigChanged { current_revision } => {
                ApiError::new(Code::PreconditionFailed, detail)
                    .with("current_revision", current_revision)
                    .with_header(header::ETAG, crate::extract::etag(current_revision))
            }
            CoreError::LineConflict { current, .. } => {
                let line = serde_json::to_value(crate::dto::carts::CurrentLine::from(&*current))
                    .unwrap_or(Value::Null);
                ApiError::new(Code::LineConflict, detail).with("current_line", line)
            }
            CoreError::CartFrozen => ApiError::new(Code::CartFrozen, detail),
            CoreError::CartMerged { into } => {
                ApiError::new(Code::CartMerged, detail).with("merged_into", into.to_string())
            }
            CoreError::CartClosed {
                status: trolley_core::domain::CartStatus::Expired,
            } => ApiError::new(Code::CartExpired, detail),
            CoreError::CartClosed { .. } => ApiError::new(Code::CartClosed, detail),
            CoreError::IncompatibleOrderType { .. } => {
                ApiError::new(Code::IncompatibleOrderType, detail)
            }
            CoreError::Contention => ApiError::new(Code::ConcurrentUpdate, detail),
            CoreError::PluginNotFound => ApiError::new(Code::PluginNotFound, detail),
            CoreError::WebhookNotFound => ApiError::new(Code::WebhookNotFound, detail),
            CoreError::DeliveryNotFound => ApiError::new(Code::DeliveryNotFound, detail),
            CoreError::InvalidPlugin(_) => ApiError::new(Code::InvalidPlugin, detail),
            CoreError::PluginTooLarge { max, .. } => {
                ApiError::new(Code::PayloadTooLarge, detail).with("max_bytes", max)
            }
            CoreError::PluginVersionTaken { existing, .. } => {
                ApiError::new(Code::PluginVersionExists, detail)
                    .with("plugin_id", existing.to_string())
            }
            CoreError::InvalidConfig(errors) => {
                ApiError::new(Code::InvalidConfig, detail).with("errors", errors)
            }
            CoreError::NothingToRollBack { .. } => ApiError::new(Code::NothingToRollBack, detail),
            CoreError::PluginFailed {
                order_type,
                source,
                run_id,
            } => {
                // What failed is the tenant's plugin, not the platform: say which order type
                // and how, and point the tenant at the run record; the plugin's own words
                // (a panic message, its logs) are for the tenant admin, in the record.
                tracing::warn!(%order_type, error = %source, "plugin call failed");
                let record = run_id.map_or_else(String::new, |id| {
                    format!(
                        "; the tenant can read run {id} at GET /v1/admin/order-types/{order_type}/runs/{id}"
                    )
                });
                let error = if source.is_transient() {
                    ApiError::new(
                        Code::PluginFailed,
                        format!(
                            "the `{order_type}` order type is overloaded ({}); retry later{record}",
                            source.kind()
                        ),
                    )
                    .with("retry_after_seconds", 5)
                } else {
                    ApiError::new(
                        Code::PluginError,
                        format!(
                            "the `{order_type}` order type's plugin fails on this cart ({}); retrying will not help until the tenant fixes or rolls back the plugin{record}",
                            source.kind()
                        ),
                    )
                };
                let error = error
                    .with("order_type", order_type)
                    .with("failure_kind", source.kind());
                match run_id {
                    Some(id) => error.with("run_id", id.to_string()),
                    None => error,
                }
            }
            CoreError::PluginRunNotFound => ApiError::new(Code::PluginRunNotFound, detail),
            CoreError::ActivationCheckFailed { failures, .. } => {
                let list: Vec<Value> = failures
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "cart_id": f.cart_id.0,
                            "kind": f.failure.kind,
                            "message": f.failure.message,
                            "transient": f.failure.transient,
                            "run_id": f.run_id.map(|id| id.0),
                        })
                    })
                    .collect();
                ApiError::new(
                    Code::ActivationCheckFailed,
                    format!("{detail}, which the active version judges; fix the plugin or its config, or send force: true to activate anyway"),
                )
                .with("failures", list)
            }
            CoreError::ValidationFailed { violations } => {
                let list: Vec<Value> = violations
                    .iter()
                    .map(|v| {
                        serde_json::to_value(crate::dto::carts::ViolationResponse::from(v))
                            .unwrap_or(Value::Null)
                    })
                    .collect();
                ApiError::new(Code::ValidationFailed, detail).with("violations", list)
            }
            CoreError::NotTracked(_) => ApiError::new(Code::NotTracked, detail),
            CoreError::CheckoutNotFound => ApiError::new(Code::CheckoutNotFound, detail),
            CoreError::OrderNotFound => ApiError::new(Code::OrderNotFound, detail),
            CoreError::InsufficientStock { shortages } => {
                let lines: Vec<Value> = shortages
                    .iter()
                    .map(|s| {
                        serde_json::to_value(ShortageProblem {
                            sku: s.sku.to_string(),
                            requested: i64::from(s.requested),
                            available: s.available,
                            line_ids: s.line_ids.iter().map(|l| l.0).collect(),
                        })
                        .unwrap_or(Value::Null)
                    })
                    .collect();
                ApiError::new(Code::InsufficientStock, detail).with("shortages", lines)
            }
            CoreError::PriceChanged { changes } => {
                let lines: Vec<Value> = changes
                    .iter()
                    .map(|c| {
                        serde_json::to_value(PriceChangeProblem {
                            line_id: c.line_id.0,
                            sku: c.sku.to_string(),
                            was: c.was.to_string(),
                            now: c.now.to_string(),
                        })
                        .unwrap_or(Value::Null)
                    })
                    .collect();
                ApiError::new(Code::PriceChanged, detail).with("changes", lines)
            }
            CoreError::ReviewRequired { line_ids } => ApiError::new(Code::ReviewRequired, detail)
                .with(
                    "line_ids",
                    line_ids.iter().map(|l| l.to_string()).collect::<Vec<_>>(),
                ),
            CoreError::CartEmpty => ApiError::new(Code::CartEmpty, detail),
            CoreError::OnHandBelowReserved { reserved } => {
                ApiError::new(Code::OnHandBelowReserved, detail).with("reserved", reserved)
            }
            CoreError::CheckoutExpired => ApiError::new(Code::CheckoutExpired, detail),
            CoreError::CheckoutCancelled | CoreError::CheckoutCompleted => {
                ApiError::new(Code::CheckoutClosed, detail)
            }
            CoreError::PageLimitOutOfRange { .. }
            | CoreError::InvalidCursor
            | CoreError::InvalidFilter(_) => ApiError::new(Code::InvalidRequest, detail),
            CoreError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        // The cause goes to the log, never to the client.
        match err {
            StoreError::Unreachable(cause) => {
                tracing::error!(%cause, "database unreachable");
                ApiError::new(
                    Code::DatabaseUnavailable,
                    "the database cannot be reached; retry shortly (with the same Idempotency-Key a retry never applies a change twice)",
                )
                .with("retry_after_seconds", 1)
            }
            StoreError::StorageFull(cause) => {
                tracing::error!(%cause, "database full: writes are refused until space is freed");
                ApiError::new(
                    Code::InsufficientStorage,
                    "the database has no space left; nothing was changed (reads still work) until an operator frees space",
                )
            }
            StoreError::Unavailable(cause) => {
                tracing::error!(%cause, "storage unavailable");
                ApiError::new(
                    Code::Unavailable,
                    "the database is busy; retry shortly (with the same Idempotency-Key a retry never applies a change twice)",
                )
                .with("retry_after_seconds", 1)
            }
            // Another request with this key committed (or is committing) its change first.
            StoreError::IdempotencyKeyTaken => ApiError::new(
                Code::IdempotencyKeyInUse,
                "another request with this Idempotency-Key got there first; retry to get its answer",
            ),
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::new(Code::Internal, "an internal error occurred")
            }
        }
    }
}

/// The error responses every documented operation may answer.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Makes every error response problem+json, including the ones actix-web produces before a
/// handler runs (an oversized raw body, a method no route takes): a client never has to
/// parse two error formats.
pub fn problem_json_errors<B: actix_web::body::MessageBody + 'static>()
-> actix_web::middleware::ErrorHandlers<B> {
    use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
    ErrorHandlers::new().default_handler(|res: actix_web::dev::ServiceResponse<B>| {
        // Problem documents, JSON a handler chose to answer with (`/ready`'s 503 says
        // which service is down) and the console's HTML pages pass as they are: only the
        // framework's own plain-text errors (unknown route, bad method, …) are rewritten.
        let already = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
            let v = v.as_bytes();
            v.starts_with(b"application/problem+json")
                || v.starts_with(b"application/json")
                || v.starts_with(b"text/html")
        });
        if already {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let status = res.status();
        let code = match status {
            StatusCode::NOT_FOUND => Code::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
            StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
            s if s.is_server_error() => Code::Internal,
            _ => Code::InvalidRequest,
        };
        let mut body = ApiError::new(code, status.canonical_reason().unwrap_or("error")).body();
        body["status"] = status.as_u16().into();
        let (req, _) = res.into_parts();
        let mut response = HttpResponse::build(status);
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        let res = actix_web::dev::ServiceResponse::new(req, response.body(body.to_string()));
        Ok(ErrorHandlerResponse::Response(res.map_into_right_body()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            assert!(
                seen.insert(code.as_str()),
                "duplicate code {}",
                code.as_str()
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    /// Storage faults answer with what a client can do about them, never a bare 500.
    #[test]
    fn storage_faults_say_what_happened() {
        let cases = [
            (
                StoreError::Unreachable("refused".into()),
                503,
                "database_unavailable",
                true,
            ),
            (
                StoreError::Unavailable("locked".into()),
                503,
                "service_unavailable",
                true,
            ),
            (
                StoreError::StorageFull("full".into()),
                507,
                "insufficient_storage",
                false,
            ),
            (
                StoreError::IdempotencyKeyTaken,
                409,
                "idempotency_key_in_use",
                true,
            ),
        ];
        for (err, status, code, retry) in cases {
            let api = ApiError::from(err);
            assert_eq!(api.code.as_str(), code);
            let res = api.error_response();
            assert_eq!(res.status().as_u16(), status, "{code}");
            assert_eq!(
                res.headers().contains_key(header::RETRY_AFTER),
                retry,
                "{code}"
            );
        }
    }
}
