//! The plugin seam: the sandbox that runs order-type plugins, where their modules and
//! activations live, and how nodes tell each other an activation changed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Activation, Actor, Evaluation, PluginCall, PluginCart, PluginError, PluginId, PluginInfo,
    PluginLimits, PluginRecord, PluginRun, PluginRunId, RunQuery, TenantId,
};
use crate::error::StoreError;

/// A compiled, checked plugin module: its content address and what it says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectedPlugin {
    pub sha256: String,
    pub info: PluginInfo,
    /// The contract version the component implements, e.g. `1.1.0`.
    pub contract_version: String,
    /// The functions it exports, as the contract names them.
    pub exports: Vec<String>,
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

    /// One full round (violations, fees, fulfillment) in a fresh sandboxed instance, with
    /// what the runtime saw of it (duration, fuel, memory, the plugin's logs).
    async fn run(
        &self,
        sha256: &str,
        cart: &PluginCart,
        config: &serde_json::Value,
        limits: &PluginLimits,
    ) -> PluginCall;

    /// [`Self::run`]'s answer alone.
    async fn evaluate(
        &self,
        sha256: &str,
        cart: &PluginCart,
        config: &serde_json::Value,
        limits: &PluginLimits,
    ) -> Result<Evaluation, PluginError> {
        self.run(sha256, cart, config, limits).await.result
    }
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
    /// The tenant's upload of plugin `name` at `version`, if any (the first, should an
    /// older release have stored two).
    async fn find_version(
        &self,
        tenant: TenantId,
        name: &str,
        version: &str,
    ) -> Result<Option<PluginRecord>, StoreError>;
    /// The current activation of one order type.
    async fn active(
        &self,
        tenant: TenantId,
        order_type: &str,
    ) -> Result<Option<Activation>, StoreError>;
    /// The current activation of every order type of the tenant, ordered by order type.
    async fn active_all(&self, tenant: TenantId) -> Result<Vec<Activation>, StoreError>;
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

/// Where run records live, bounded per tenant.
#[async_trait]
pub trait PluginRunRepository: Send + Sync {
    /// Stores `run`, then forgets the tenant's oldest runs past `keep` failed and `keep`
    /// successful ones, in one transaction.
    async fn record(&self, run: &PluginRun, keep: u32) -> Result<(), StoreError>;
    /// The tenant's runs of `order_type`, newest first.
    async fn list(
        &self,
        tenant: TenantId,
        order_type: &str,
        query: RunQuery,
    ) -> Result<Vec<PluginRun>, StoreError>;
    async fn get(
        &self,
        tenant: TenantId,
        order_type: &str,
        id: PluginRunId,
    ) -> Result<Option<PluginRun>, StoreError>;
}
