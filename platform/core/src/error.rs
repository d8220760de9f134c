//! The errors a use case can answer. The HTTP layer maps each variant to a status and a
//! stable `code` in one table (`trolley-api`'s error registry).

use crate::domain::{CartId, CartStatus, Line, LineId, PluginError, Shortage, Violation};

/// A line whose catalog price moved since it was added.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceChange {
    pub line_id: LineId,
    pub sku: String,
    pub was: rust_decimal::Decimal,
    pub now: rust_decimal::Decimal,
}

/// A failure of a storage or cache adapter, already translated from the driver's terms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional update found another version: someone else wrote first.
    #[error("the row changed since it was read")]
    VersionConflict,
    /// A unique constraint refused the write.
    #[error("a unique constraint refused the write: {0}")]
    UniqueViolation(String),
    /// The idempotency key a write was sealed with is already bound to another request's
    /// committed change (or claimed by one in flight).
    #[error("the idempotency key is already bound")]
    IdempotencyKeyTaken,
    /// The database cannot be reached: connections refused or broken, the pool found none
    /// in time. An outage, as opposed to a busy moment.
    #[error("storage unreachable: {0}")]
    Unreachable(String),
    /// The database has no space left for the write (SQLite `SQLITE_FULL`, PostgreSQL
    /// `disk_full`): nothing was written, and retrying will not help until space is freed.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// The database is there but could not do this now (locked past its busy timeout, a
    /// serialization failure, too many connections): a retry may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupt data.
    #[error("storage failure: {0}")]
    Internal(String),
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("quantity {requested} is out of range: it must be between 1 and {max}")]
    QuantityOutOfRange { requested: i64, max: u32 },
    #[error("a cart holds at most {max} lines")]
    TooManyLines { max: u32 },
    #[error("no catalog item has sku `{0}`")]
    UnknownSku(String),
    #[error("invalid price: {0}")]
    InvalidPrice(String),
    #[error("currency `{0}` is not supported")]
    UnsupportedCurrency(String),

    /// Which credential is missing, in words a developer can act on.
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("this tenant is suspended")]
    TenantSuspended,

    #[error("no API key of this tenant has this id")]
    ApiKeyNotFound,
    #[error("no customer-token secret of this tenant has this id")]
    CustomerTokenSecretNotFound,
    #[error(
        "a request cannot revoke the admin key it is authenticated with; use another admin key"
    )]
    CannotRevokeOwnKey,
    #[error(
        "this is the tenant's last active admin key; create another admin key before revoking it"
    )]
    LastAdminKey,
    #[error("this is the tenant's only customer-token secret; add another before deleting it")]
    LastCustomerTokenSecret,

    #[error("cart not found")]
    CartNotFound,
    #[error("line not found")]
    LineNotFound,
    #[error("tenant not found")]
    TenantNotFound,
    #[error("no catalog item has sku `{0}`")]
    ItemNotFound(String),

    #[error("the cart is at version {current_version}, not the one in If-Match")]
    PreconditionFailed { current_version: i64 },
    #[error("the config is at revision {current_revision}, not the one in If-Match")]
    ConfigChanged { current_revision: i64 },
    #[error("the line is at version {}, not version {expected} as expected: it changed since you read it", current.line_version)]
    LineConflict { expected: i64, current: Box<Line> },
    #[error("the cart is checking out; cancel or complete the checkout to change it")]
    CartFrozen,
    #[error("the cart was merged into cart {into}")]
    CartMerged { into: CartId },
    #[error("the cart is {status} and can no longer change")]
    CartClosed { status: CartStatus },
    #[error(
        "the cart is a `{cart}` order and this item is `{item}`; send replace_incompatible: true to empty the cart and start a `{item}` order"
    )]
    IncompatibleOrderType { cart: String, item: String },
    #[error("the cart kept changing under this request; retry")]
    Contention,

    #[error("no plugin has this id")]
    PluginNotFound,
    #[error("no webhook endpoint has this id")]
    WebhookNotFound,
    #[error("this webhook endpoint has no delivery with this id")]
    DeliveryNotFound,
    #[error("the plugin is refused: {0}")]
    InvalidPlugin(String),
    #[error("the plugin module is {size} bytes or more; the operator's maximum is {max} bytes")]
    PluginTooLarge { size: usize, max: usize },
    #[error(
        "{name} {version} was uploaded before with other bytes (plugin {existing}): give this build a new version"
    )]
    PluginVersionTaken {
        name: String,
        version: String,
        existing: crate::domain::PluginId,
    },
    #[error("the config does not match the plugin's schema: {}", .0.join("; "))]
    InvalidConfig(Vec<String>),
    #[error("order type `{order_type}` has no earlier activation to roll back to")]
    NothingToRollBack { order_type: String },
    /// A plugin call failed and the tenant fails closed. `source.is_transient()` tells a
    /// retry that may work from a failure that repeats until the plugin is fixed.
    #[error("the `{order_type}` plugin failed: {source}")]
    PluginFailed {
        order_type: String,
        source: PluginError,
        /// The run record of the failure, when one was kept.
        run_id: Option<crate::domain::PluginRunId>,
    },
    #[error("no run of this order type has this id")]
    PluginRunNotFound,
    /// The smoke evaluation of an activation: the new version fails on carts the active
    /// one judges.
    #[error("version {version} fails on {} of the carts it was tried on", .failures.len())]
    ActivationCheckFailed {
        version: String,
        failures: Vec<crate::domain::TrialFailure>,
    },
    #[error("the order type refused this change: {}", .violations.iter().map(|v| v.message.as_str()).collect::<Vec<_>>().join("; "))]
    ValidationFailed { violations: Vec<Violation> },

    #[error("not enough stock for {}", .shortages.iter().map(|s| s.sku.to_string()).collect::<Vec<_>>().join(", "))]
    InsufficientStock { shortages: Vec<Shortage> },
    #[error(
        "prices changed since the lines were added; check out with accept_price_changes: true to accept them"
    )]
    PriceChanged { changes: Vec<PriceChange> },
    #[error("some lines are merge conflicts the shopper must resolve first")]
    ReviewRequired { line_ids: Vec<LineId> },
    #[error("the cart is empty")]
    CartEmpty,
    #[error("on hand cannot go below the {reserved} units currently held")]
    OnHandBelowReserved { reserved: i64 },
    #[error("sku `{0}` has no inventory record: it is untracked (always available)")]
    NotTracked(String),
    #[error("checkout not found")]
    CheckoutNotFound,
    #[error("order not found")]
    OrderNotFound,
    #[error("the checkout expired; its stock was released — start a new checkout")]
    CheckoutExpired,
    #[error("the checkout was cancelled")]
    CheckoutCancelled,
    #[error("the checkout is already completed")]
    CheckoutCompleted,

    /// A list's `limit` outside 1–`max`.
    #[error("limit {limit} is out of range: it must be between 1 and {max}")]
    PageLimitOutOfRange { limit: u32, max: u32 },
    /// A list's `cursor` that this list did not give (garbled, edited, or another list's).
    #[error("cursor is not one this list gave: pass `next_cursor` of the previous page as it is")]
    InvalidCursor,
    /// A list's filter with a value it cannot take (an unknown status …).
    #[error("{0}")]
    InvalidFilter(String),

    #[error(transparent)]
    Store(#[from] StoreError),
}
