//! The traits adapters implement. Core depends on these, never on a database, cache or
//! runtime crate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Activation, Actor, AuditAction, AuditEntry, Cart, CartId, CartOwner, CatalogItem,
    CatalogItemInput, Checkout, CheckoutId, CheckoutSnapshot, Evaluation, Judged, LineId, Order,
    OrderId, PluginCart, PluginError, PluginId, PluginInfo, PluginLimits, PluginRecord,
    RateDecision, RateLimit, Receipt, Replay, Seal, Shortage, Sku, StockLevel, Tenant,
    TenantConfig, TenantId,
};
use crate::error::StoreError;

mod retention;
pub use retention::RetentionRepository;

/// A clock that only moves when told to: tests use it to expire holds, checkouts and carts
/// without sleeping.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(std::sync::Mutex::new(start))
    }

    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .map(|now| *now)
            .unwrap_or_else(|e| *e.into_inner())
    }
}

/// Wall-clock time, so tests can move it instead of sleeping.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// `now`, at the millisecond precision storage keeps, so a value written and read back
    /// compares equal to the one just answered.
    fn now_millis(&self) -> DateTime<Utc> {
        use chrono::SubsecRound;
        self.now().trunc_subsecs(3)
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

mod credentials;
pub use credentials::{
    ApiKeyRecord, CredentialRepository, KeyKind, KeyOwner, KeyRevocation, SecretDeletion,
};

/// What a conditional config write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigWrite {
    /// Written; the config is now at this revision.
    Written { revision: i64 },
    /// The config was no longer at the expected revision: nothing was written.
    Stale { current: i64 },
}

/// Tenants, their keys, their configuration (with its revision) and their audit trail.
/// Every change made here (creation, name/status, config) writes its audit entry in the
/// same transaction.
#[async_trait]
pub trait TenantRepository: CredentialRepository {
    /// Inserts a tenant with its first keys, atomically. Only the platform operator creates
    /// tenants, so the entry names the operator.
    async fn create(&self, tenant: &Tenant, keys: &[ApiKeyRecord]) -> Result<(), StoreError>;
    async fn list(&self) -> Result<Vec<Tenant>, StoreError>;
    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError>;
    /// Writes name and status (the operator's changes; config goes through
    /// [`TenantRepository::update_config`]).
    async fn update(&self, tenant: &Tenant, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// The tenant a live (unrevoked) key of this kind belongs to, and the key.
    async fn find_by_key(
        &self,
        kind: KeyKind,
        key_hash: &str,
    ) -> Result<Option<KeyOwner>, StoreError>;
    /// The tenant's config as stored now and its revision (`None`: no such tenant).
    async fn config(&self, id: TenantId) -> Result<Option<(TenantConfig, i64)>, StoreError>;
    /// Replaces the config only if it is still at `expected_revision` (one conditional
    /// UPDATE, so of two writers holding the same revision exactly one wins), bumping the
    /// revision and recording `action` by `actor` with the config before and after.
    async fn update_config(
        &self,
        id: TenantId,
        config: &TenantConfig,
        expected_revision: i64,
        actor: &Actor,
        action: AuditAction,
        now: DateTime<Utc>,
    ) -> Result<ConfigWrite, StoreError>;
    /// The tenant's audit entries, newest first, older than `before` when given.
    async fn audit_log(
        &self,
        id: TenantId,
        before: Option<uuid::Uuid>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

#[async_trait]
pub trait CatalogRepository: Send + Sync {
    /// Inserts or updates items in one transaction, incrementing each item's price revision
    /// when its price changes. Returns the stored items in input order.
    /// Each item's change is recorded in the audit log (by `actor`) in that transaction.
    async fn upsert(
        &self,
        tenant: TenantId,
        items: &[CatalogItemInput],
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Vec<CatalogItem>, StoreError>;
    async fn get(&self, tenant: TenantId, sku: &Sku) -> Result<Option<CatalogItem>, StoreError>;
    /// Discontinues an item. Carts that hold it keep their lines, shown as unavailable.
    /// `false` if there was no such item. A deletion is recorded in the audit log.
    async fn delete(
        &self,
        tenant: TenantId,
        sku: &Sku,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<bool, StoreError>;
    /// The items among `skus` that exist.
    async fn get_many(
        &self,
        tenant: TenantId,
        skus: &[Sku],
    ) -> Result<Vec<CatalogItem>, StoreError>;
}

#[async_trait]
pub trait CartRepository: Send + Sync {
    /// Inserts a new cart (with `seal`'s idempotency record, in the same transaction). A
    /// customer who already has a live cart gets [`StoreError::UniqueViolation`]; a sealed
    /// key already bound gets [`StoreError::IdempotencyKeyTaken`].
    async fn insert(&self, cart: &Cart, seal: Option<Seal<'_>>) -> Result<(), StoreError>;
    async fn load(&self, tenant: TenantId, id: CartId) -> Result<Option<Cart>, StoreError>;
    /// The customer's live (active or checking out) cart.
    async fn find_live_for_customer(
        &self,
        tenant: TenantId,
        customer_id: &str,
    ) -> Result<Option<Cart>, StoreError>;
    /// Writes `cart` (and `seal`'s idempotency record, in the same transaction) if the
    /// stored version is still `stored.version`, else [`StoreError::VersionConflict`]
    /// and nothing is written. `stored` is the cart as it was read: its lines are what the
    /// database holds at that version, so only the difference is written, without reading
    /// the lines again.
    async fn save(
        &self,
        cart: &Cart,
        stored: &Cart,
        seal: Option<Seal<'_>>,
    ) -> Result<(), StoreError>;

    /// Writes a merge in one transaction: the target and the (now merged) source, each only
    /// if still at its expected version, and the merge record. Either version moved →
    /// [`StoreError::VersionConflict`] and nothing is written.
    async fn save_merge(
        &self,
        target: &Cart,
        target_stored: &Cart,
        source: &Cart,
        source_stored: &Cart,
        record: &MergeRecord,
    ) -> Result<(), StoreError>;

    /// The merge that absorbed `source`, if any.
    async fn merge_record(
        &self,
        tenant: TenantId,
        source: CartId,
    ) -> Result<Option<MergeRecord>, StoreError>;

    /// How many carts are `active`, across every tenant (for the active-carts gauge).
    async fn count_active(&self) -> Result<u64, StoreError>;

    /// A read's renewal of an active cart's idle deadline: one conditional UPDATE of
    /// `expires_at` only (`… WHERE status = 'active' AND expires_at < due_before AND
    /// expires_at > now`); the version, `updated_at` and the lines are untouched, so ETags
    /// and caches stay valid. `false` when it was not due any more (renewed or changed by
    /// someone else).
    async fn renew_expiry(
        &self,
        tenant: TenantId,
        id: CartId,
        renewal: &crate::domain::lifecycle::Renewal,
    ) -> Result<bool, StoreError>;
}

/// A merge as remembered, so merging the same source again answers the first result.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeRecord {
    pub tenant_id: TenantId,
    pub source_cart_id: CartId,
    pub target_cart_id: CartId,
    pub policy: crate::domain::MergePolicy,
    pub outcomes: Vec<crate::domain::merge::LineOutcome>,
    pub created_at: DateTime<Utc>,
}

/// A cached cart, and the order type's last answer about it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedCart {
    pub cart: Cart,
    /// Used only for the very question it answers ([`Judged::answer`]).
    pub judged: Option<Judged>,
}

/// Cache-aside storage for the durable part of carts, with the order type's last answer
/// beside each. A miss or an error is never fatal: callers fall back to the repository.
#[async_trait]
pub trait CartCache: Send + Sync {
    async fn get(&self, tenant: TenantId, id: CartId) -> Option<CachedCart>;
    /// Stores `cart` unless a newer version of it is cached. With `judged`, that answer is
    /// kept beside it; without, whatever answer is kept stays (an answer is only ever used
    /// for its own question, so an old one is never wrong, only useless).
    async fn put(&self, cart: &Cart, judged: Option<&Judged>);
    async fn invalidate(&self, tenant: TenantId, id: CartId);
}

/// The response remembered for an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// What an idempotency key is bound to when a request arrives with it.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyLookup {
    /// Never used (or purged): run the request.
    Unused,
    /// A request with this key is running right now (an in-progress claim of an older
    /// node that has not gone stale).
    InProgress,
    /// The key was used for a different request.
    Mismatch,
    /// The first request finished: replay its response.
    Completed(StoredResponse),
    /// The first request's change committed but its answer was never stored (its node died
    /// in between): re-render the answer from what the change left.
    Committed(Replay),
}

/// `Idempotency-Key` records. The change and its record are written by one transaction
/// (the repositories take a [`Seal`]); [`IdempotencyStore::complete`] then stores the
/// answer, or records one for a request that changed nothing.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// What `key` in `scope` is bound to, for a request with this fingerprint. An old
    /// node's in-progress claim untouched for `stale_after` is forgotten.
    async fn lookup(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
    ) -> Result<IdempotencyLookup, StoreError>;
    /// Stores the answer for `key`: fills in a record its change committed, or records a
    /// request that committed nothing. When another request with the key got there first,
    /// nothing changes and that request's stored answer is returned, so every caller of
    /// one key is told the same thing.
    async fn complete(
        &self,
        receipt: &Receipt,
        response: &StoredResponse,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredResponse>, StoreError>;
    /// Deletes up to `limit` records created before `before`; how many it deleted.
    async fn purge(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError>;
}

/// Readiness of a backing service, for `/ready`.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    fn name(&self) -> &'static str;
    async fn check(&self) -> Result<(), String>;

    /// Whether the node cannot serve without it. A failing non-essential service (the
    /// shared cache) makes the node `degraded`, still ready; an essential one, unavailable.
    fn essential(&self) -> bool {
        true
    }
}

/// A compiled, checked plugin module: its content address and what it says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectedPlugin {
    pub sha256: String,
    pub info: PluginInfo,
}

/// Runs order-type plugins in a sandbox. Modules are addressed by their SHA-256; the runtime
/// keeps compiled modules so a module is compiled once per process (or loaded from its own
/// on-disk artifact cache).
#[async_trait]
pub trait PluginRuntime: Send + Sync {
    /// Compiles `wasm`, checks it against the order-type world (exports, allowed imports),
    /// calls `describe` and keeps the compiled module. Nothing is stored anywhere else.
    async fn inspect(&self, wasm: &[u8]) -> Result<InspectedPlugin, PluginError>;

    /// Whether the module with this hash is compiled and ready in this process.
    fn is_loaded(&self, sha256: &str) -> bool;

    /// Makes a module known to the runtime (after a restart, or on another node).
    async fn load(&self, sha256: &str, wasm: &[u8]) -> Result<(), PluginError>;

    /// Checks a tenant configuration against the plugin's JSON Schema; each error names
    /// the offending field.
    fn check_config(
        &self,
        info: &PluginInfo,
        config: &serde_json::Value,
    ) -> Result<(), PluginError>;

    /// One full round (violations, fees, fulfillment) in a fresh sandboxed instance.
    async fn evaluate(
        &self,
        sha256: &str,
        cart: &PluginCart,
        config: &serde_json::Value,
        limits: &PluginLimits,
    ) -> Result<Evaluation, PluginError>;
}

/// Where plugin modules, their metadata and each tenant's activations live.
#[async_trait]
pub trait PluginRepository: Send + Sync {
    /// Stores a module for a tenant. Idempotent on `(tenant, sha256)`: uploading the same
    /// bytes again returns the existing record and `false`. The bytes are stored once per
    /// sha256 whoever uploads them (content addressed). A new record is audited.
    async fn insert(
        &self,
        record: &PluginRecord,
        wasm: &[u8],
        actor: &Actor,
    ) -> Result<(PluginRecord, bool), StoreError>;
    async fn list(&self, tenant: TenantId) -> Result<Vec<PluginRecord>, StoreError>;
    async fn get(&self, tenant: TenantId, id: PluginId)
    -> Result<Option<PluginRecord>, StoreError>;
    /// The module bytes with this content address.
    async fn wasm(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Makes `plugin` with `config` serve `order_type` for `tenant`, atomically; the
    /// previous activation is kept in the history (superseded), so it can be rolled back to.
    /// Audited with the previous activation as `before`.
    async fn activate(
        &self,
        tenant: TenantId,
        order_type: &str,
        plugin: PluginId,
        config: &serde_json::Value,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Activation, StoreError>;
    /// Retires the current activation of `order_type` and reinstates the one it superseded,
    /// atomically. `None` when there is nothing to go back to (nothing changes then).
    /// Audited with the retired activation as `before`, the reinstated one as `after`.
    async fn rollback(
        &self,
        tenant: TenantId,
        order_type: &str,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<Activation>, StoreError>;
    /// The current activation of one order type.
    async fn active(
        &self,
        tenant: TenantId,
        order_type: &str,
    ) -> Result<Option<Activation>, StoreError>;
    /// The current activation of every order type of the tenant, ordered by order type.
    async fn active_all(&self, tenant: TenantId) -> Result<Vec<Activation>, StoreError>;
}

/// A reserve line's hold, as the cart read shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LineHold {
    pub line_id: LineId,
    pub sku: Sku,
    pub quantity: u32,
    pub expires_at: DateTime<Utc>,
}

/// What a reserve line's hold should be after a mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct WantedHold {
    pub line_id: LineId,
    pub sku: Sku,
    pub quantity: u32,
}

/// Stock per tenant and sku, and the holds on it. Every change is atomic in the database
/// (`UPDATE … SET reserved = reserved + q WHERE on_hand - reserved >= q`), never a
/// read-then-write, so it is correct across nodes.
#[async_trait]
pub trait InventoryRepository: Send + Sync {
    /// Sets a sku's on-hand count, creating its record (tracking starts). Refused with
    /// `Err(reserved)` inside `Ok` when `on_hand` is below what is currently held. A set
    /// count is audited (`before` null when the sku was untracked).
    async fn set_on_hand(
        &self,
        tenant: TenantId,
        sku: &Sku,
        on_hand: i64,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Result<StockLevel, i64>, StoreError>;
    async fn get(&self, tenant: TenantId, sku: &Sku) -> Result<Option<StockLevel>, StoreError>;
    /// The tracked skus among `skus`, in one query.
    async fn get_many(&self, tenant: TenantId, skus: &[Sku])
    -> Result<Vec<StockLevel>, StoreError>;

    /// Makes the cart's reserve-line holds exactly `wanted` (lines not listed release theirs),
    /// all expiring at `expires_at`, in one transaction: either every hold fits the available
    /// stock or nothing changes and the shortages are returned. Untracked skus hold nothing.
    async fn sync_line_holds(
        &self,
        tenant: TenantId,
        cart: CartId,
        wanted: &[WantedHold],
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<Shortage>, StoreError>;
    /// The cart's current line holds.
    async fn line_holds(&self, tenant: TenantId, cart: CartId)
    -> Result<Vec<LineHold>, StoreError>;
}

/// The outcome of starting a checkout.
// Made once per checkout and matched at once: boxing the snapshot would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum BeginCheckout {
    /// The snapshot as stored, its `reservations` filled with what was actually held
    /// (untracked skus hold nothing).
    Started(CheckoutSnapshot),
    /// Nothing was held and nothing changed.
    Shortages(Vec<Shortage>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompleteCheckout {
    /// This call made the order.
    Completed(Order),
    /// An earlier call made it; here it is again.
    AlreadyCompleted(Order),
    /// The snapshot expired (its holds are released now if they were not already).
    Expired,
    Cancelled,
    NotFound,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CancelCheckout {
    /// Holds released, cart unfrozen (at this version).
    Cancelled {
        cart_version: i64,
    },
    AlreadyCancelled,
    Completed,
    Expired,
    NotFound,
}

/// What one sweep did: expiry (by the [`CheckoutRepository`]) and retention (by the
/// sweep use case).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    /// Reserve-line holds past their expiry, released.
    pub holds_released: u64,
    /// Pending checkouts past their expiry: holds released, carts unfrozen.
    pub checkouts_expired: u64,
    /// Idle carts past their TTL: expired, holds released.
    pub carts_expired: u64,
    /// Ended carts past their tenant's retention, deleted with their lines.
    pub carts_deleted: u64,
    /// Ended checkouts past their tenant's retention, deleted (orders stay).
    pub checkouts_deleted: u64,
    /// Idempotency records past their 24 h, deleted.
    pub idempotency_records_purged: u64,
    /// Every cart whose stored state changed (for cache invalidation).
    pub carts_touched: Vec<(TenantId, CartId)>,
}

/// Checkout snapshots, their reservations, and orders.
#[async_trait]
pub trait CheckoutRepository: Send + Sync {
    /// One transaction: `cart` (status `checking_out`, next version) written if `stored` (the
    /// cart as read) is still the stored version; the cart's line holds released; every tracked sku in `wanted`
    /// (sku, quantity, the lines asking) reserved until `snapshot.expires_at`, all or nothing;
    /// the snapshot stored `pending`; `seal`'s idempotency record written beside them. A
    /// moved version → `VersionConflict`.
    async fn begin(
        &self,
        tenant: TenantId,
        cart: &Cart,
        stored: &Cart,
        snapshot: &CheckoutSnapshot,
        wanted: &[(Sku, u32, Vec<LineId>)],
        seal: Option<Seal<'_>>,
    ) -> Result<BeginCheckout, StoreError>;
    async fn get(&self, tenant: TenantId, id: CheckoutId) -> Result<Option<Checkout>, StoreError>;
    /// Exactly once, in one transaction: a pending, unexpired checkout becomes `completed`,
    /// its reservations become stock decrements (`on_hand -= q, reserved -= q`), `order` is
    /// stored and the cart becomes `converted`. A pending checkout past its expiry is
    /// expired instead (holds released, cart unfrozen).
    async fn complete(
        &self,
        tenant: TenantId,
        id: CheckoutId,
        order: &Order,
        now: DateTime<Utc>,
    ) -> Result<CompleteCheckout, StoreError>;
    /// Releases the holds and unfreezes the cart (back to `active`, version + 1).
    async fn cancel(
        &self,
        tenant: TenantId,
        id: CheckoutId,
        now: DateTime<Utc>,
    ) -> Result<CancelCheckout, StoreError>;
    /// The order, and who may read it: the owner of its cart when it was placed, kept
    /// with the order so it outlives the cart (`None` only for an order whose owner was
    /// never recorded: its cart is then the proof).
    async fn order(
        &self,
        tenant: TenantId,
        id: OrderId,
    ) -> Result<Option<(Order, Option<CartOwner>)>, StoreError>;
    /// Releases expired line holds, expires pending checkouts past their expiry (holds
    /// released, carts back to `active`), and expires idle `active` carts past their
    /// `expires_at` (holds released). Every step is a conditional update, so sweeps on
    /// several nodes at once never release anything twice.
    async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepReport, StoreError>;
}

/// Shared token buckets. `take` never fails: an adapter whose backing store is away falls
/// back to a bucket of its own (per node) rather than refusing or waving traffic through.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one token from every bucket in `buckets` (key, shape) together: allowed only
    /// if each has one, and then each loses one.
    async fn take(&self, buckets: &[(String, RateLimit)]) -> RateDecision;
}

/// Tells every node that the plugin serving an order type changed, so none keeps pricing
/// with the previous one.
#[async_trait]
pub trait ActivationNotifier: Send + Sync {
    async fn activation_changed(&self, tenant: TenantId, order_type: &str);

    /// Whether this node is receiving other nodes' notices right now. While it is not,
    /// cached activations must be re-read from the database every second.
    fn is_live(&self) -> bool;
}

/// Nodes that do not share notices (the embedded single-node default): never live, so
/// activations are re-read every second.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoNotifier;

#[async_trait]
impl ActivationNotifier for NoNotifier {
    async fn activation_changed(&self, _tenant: TenantId, _order_type: &str) {}

    fn is_live(&self) -> bool {
        false
    }
}

/// How a plugin call ended, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginCallOutcome {
    Ok,
    Failed,
}

/// What happened to a checkout's reservation (or a reserve line's hold), for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationEvent {
    /// A checkout reserved its stock.
    Held,
    /// A checkout was cancelled: its stock went back.
    Released,
    /// A checkout was completed: its reserved stock was sold.
    Sold,
    /// A checkout expired unpaid: its stock went back.
    Expired,
    /// A reserve line's hold ran out without cart activity.
    LineHoldExpired,
}

impl ReservationEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationEvent::Held => "held",
            ReservationEvent::Released => "released",
            ReservationEvent::Sold => "sold",
            ReservationEvent::Expired => "expired",
            ReservationEvent::LineHoldExpired => "line_hold_expired",
        }
    }
}

/// A cache lookup's result, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheEvent {
    Hit,
    Miss,
    /// The shared cache was unreachable (or its breaker open): served from the database.
    Fallback,
}

impl CacheEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheEvent::Hit => "hit",
            CacheEvent::Miss => "miss",
            CacheEvent::Fallback => "fallback",
        }
    }
}

/// What a sweep removed, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweptKind {
    CartsDeleted,
    CheckoutsDeleted,
    IdempotencyRecordsPurged,
}

impl SweptKind {
    pub const ALL: [SweptKind; 3] = [
        SweptKind::CartsDeleted,
        SweptKind::CheckoutsDeleted,
        SweptKind::IdempotencyRecordsPurged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SweptKind::CartsDeleted => "carts_deleted",
            SweptKind::CheckoutsDeleted => "checkouts_deleted",
            SweptKind::IdempotencyRecordsPurged => "idempotency_records_purged",
        }
    }
}

/// Business and adapter metrics the use cases and adapters report. The implementation
/// (Prometheus) lives outside core; [`NoMetrics`] drops everything.
pub trait Metrics: Send + Sync {
    /// One plugin evaluation. `fuel_used` is the instruction fuel it consumed, known only
    /// for a successful call while fuel metering is on.
    fn plugin_call(
        &self,
        tenant: TenantId,
        order_type: &str,
        elapsed: std::time::Duration,
        outcome: PluginCallOutcome,
        fuel_used: Option<u64>,
    );
    /// One merge: how many line keys ended in each outcome class.
    fn merge_outcomes(&self, policy: &str, counts: &std::collections::BTreeMap<String, usize>);
    fn reservations(&self, event: ReservationEvent, units: u64);
    fn cache(&self, event: CacheEvent);
    fn rate_limited(&self, scope: &'static str);
    /// Rows a sweep removed (on this node), by kind.
    fn swept(&self, kind: SweptKind, count: u64);
}

#[derive(Debug, Default, Clone, Copy)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn plugin_call(
        &self,
        _: TenantId,
        _: &str,
        _: std::time::Duration,
        _: PluginCallOutcome,
        _: Option<u64>,
    ) {
    }
    fn merge_outcomes(&self, _: &str, _: &std::collections::BTreeMap<String, usize>) {}
    fn reservations(&self, _: ReservationEvent, _: u64) {}
    fn cache(&self, _: CacheEvent) {}
    fn rate_limited(&self, _: &'static str) {}
    fn swept(&self, _: SweptKind, _: u64) {}
}
