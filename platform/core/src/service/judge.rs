//! Asks a cart's order-type plugin for its judgement: violations, fees and fulfillment rules.
//!
//! The activation serving an order type is cached per node. The node that makes a change
//! drops its entry at once and tells the others through the [`ActivationNotifier`] (Redis
//! pub/sub), which drop theirs on the notice. While this node is not receiving notices, an
//! entry is trusted for [`ACTIVATION_TTL_MS`] only: the periodic database check that bounds
//! how long any node serves a replaced plugin. Each request resolves the activation once,
//! so it finishes on the version it started with.

use chrono::Duration;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use crate::domain::{
    Activation, CallReport, Cart, CartView, CatalogItem, Judged, Judgement, PluginCall, PluginCart,
    PluginError, PluginFailMode, PluginLimits, PluginLine, PricedBy, Question, RunPlugin,
    RunTrigger, Sku, Tenant, TenantId,
};
use crate::error::CoreError;
use crate::ports::{
    ActivationNotifier, Clock, Metrics, NoMetrics, NoNotifier, PluginCallOutcome, PluginRepository,
    PluginRuntime,
};
use crate::service::plugin_runs::RunRecorder;

/// How long a node trusts its cached view of which plugin serves an order type when it is
/// not receiving change notices.
pub const ACTIVATION_TTL_MS: i64 = 1000;
/// The same while notices arrive: they, not the timer, keep the view fresh.
pub const ACTIVATION_TTL_LIVE_MS: i64 = 30_000;

type ActivationKey = (TenantId, String);
/// When an activation was read, and what it was (`None`: no plugin serves the order type).
type CachedActivation = (chrono::DateTime<chrono::Utc>, Option<Activation>);

/// A judged cart view, and the plugin's answer to keep beside the cached cart when the
/// plugin was asked for it (`None`: no plugin, a failure, or the kept answer was reused).
#[derive(Debug)]
pub struct Verdict {
    pub view: CartView,
    pub fresh: Option<Judged>,
}

pub struct OrderTypeJudge {
    plugins: Arc<dyn PluginRepository>,
    runtime: Arc<dyn PluginRuntime>,
    clock: Arc<dyn Clock>,
    limits: PluginLimits,
    activations: RwLock<HashMap<ActivationKey, CachedActivation>>,
    notifier: Arc<dyn ActivationNotifier>,
    metrics: Arc<dyn Metrics>,
    runs: Option<Arc<RunRecorder>>,
}

impl OrderTypeJudge {
    pub fn new(
        plugins: Arc<dyn PluginRepository>,
        runtime: Arc<dyn PluginRuntime>,
        clock: Arc<dyn Clock>,
        limits: PluginLimits,
    ) -> Self {
        Self {
            plugins,
            runtime,
            clock,
            limits,
            activations: RwLock::new(HashMap::new()),
            notifier: Arc::new(NoNotifier),
            metrics: Arc::new(NoMetrics),
            runs: None,
        }
    }

    /// Records failed calls and a sample of successful ones with `runs`.
    pub fn with_runs(mut self, runs: Arc<RunRecorder>) -> Self {
        self.runs = Some(runs);
        self
    }

    /// Shares activation changes with other nodes through `notifier`.
    pub fn with_notifier(mut self, notifier: Arc<dyn ActivationNotifier>) -> Self {
        self.notifier = notifier;
        self
    }

    /// Reports plugin call latency and failures to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The activation serving `order_type`, from this node's short-lived cache.
    pub async fn activation(
        &self,
        tenant: TenantId,
        order_type: &str,
    ) -> Result<Option<Activation>, CoreError> {
        let key = (tenant, order_type.to_owned());
        let now = self.clock.now();
        let ttl = if self.notifier.is_live() {
            ACTIVATION_TTL_LIVE_MS
        } else {
            ACTIVATION_TTL_MS
        };
        if let Ok(cache) = self.activations.read()
            && let Some((at, activation)) = cache.get(&key)
            && now - *at < Duration::milliseconds(ttl)
        {
            return Ok(activation.clone());
        }
        let activation = self.plugins.active(tenant, order_type).await?;
        if let Ok(mut cache) = self.activations.write() {
            cache.insert(key, (now, activation.clone()));
        }
        Ok(activation)
    }

    /// Forgets this node's cached activation (on another node's notice).
    pub fn forget(&self, tenant: TenantId, order_type: &str) {
        if let Ok(mut cache) = self.activations.write() {
            cache.remove(&(tenant, order_type.to_owned()));
        }
    }

    /// Forgets every cached activation: notices may have been missed (a reconnect).
    pub fn forget_all(&self) {
        if let Ok(mut cache) = self.activations.write() {
            cache.clear();
        }
    }

    /// An activation or rollback on this node: forget it here, then tell the others.
    pub async fn changed(&self, tenant: TenantId, order_type: &str) {
        self.forget(tenant, order_type);
        self.notifier.activation_changed(tenant, order_type).await;
    }

    /// Judges `view` (the assembled `cart`) with its order type's active plugin. A plugin
    /// failure is `PluginFailed` when the tenant fails closed, and an `Unavailable`
    /// judgement when it fails open.
    ///
    /// `remembered` is the answer kept beside the cached cart: when it answers the very
    /// question this judgement would ask ([`Question`]), it is used and no plugin runs. The
    /// verdict carries a new answer to keep when the plugin was asked.
    pub async fn judge(
        &self,
        tenant: &Tenant,
        cart: &Cart,
        view: CartView,
        catalog: &HashMap<Sku, CatalogItem>,
        remembered: Option<&Judged>,
    ) -> Result<Verdict, CoreError> {
        let unjudged = |view| Verdict { view, fresh: None };
        let Some(order_type) = cart.order_type.as_deref() else {
            return Ok(unjudged(view));
        };
        let Some(activation) = self.activation(tenant.id, order_type).await? else {
            return Ok(unjudged(view));
        };
        let input = plugin_cart(cart, &view, catalog);
        let limits = self.limits(tenant);
        let question = Question {
            module: &activation.plugin.sha256,
            config: &activation.config,
            limits: &limits,
            cart: &input,
        }
        .digest();
        let mut fresh = None;
        let mut run_id = None;
        let result = match remembered.and_then(|judged| judged.answer(&question)) {
            Some(evaluation) => Ok(evaluation),
            None => {
                let started = std::time::Instant::now();
                let call = self
                    .call(
                        &activation.plugin.sha256,
                        &input,
                        &activation.config,
                        &limits,
                    )
                    .await;
                let (outcome, fuel_used) = match &call.result {
                    Ok(evaluation) => (PluginCallOutcome::Ok, evaluation.fuel_used),
                    Err(_) => (PluginCallOutcome::Failed, None),
                };
                self.metrics.plugin_call(
                    tenant.id,
                    order_type,
                    started.elapsed(),
                    outcome,
                    fuel_used,
                );
                if let Some(runs) = &self.runs {
                    run_id = runs
                        .observe(
                            tenant.id,
                            order_type,
                            RunPlugin::active(&activation),
                            RunTrigger::Cart,
                            &input,
                            &call,
                        )
                        .await;
                }
                // Failures are never kept: the next read asks again.
                if let Ok(evaluation) = &call.result {
                    fresh = Some(Judged {
                        question,
                        evaluation: evaluation.clone(),
                    });
                }
                call.result
            }
        };
        match result {
            Ok(evaluation) => {
                let by = PricedBy {
                    order_type: order_type.to_owned(),
                    plugin_id: activation.plugin.id,
                    version: activation.plugin.info.version.clone(),
                    sha256: activation.plugin.sha256.clone(),
                };
                Ok(Verdict {
                    view: view.judged(evaluation, by),
                    fresh,
                })
            }
            Err(source) => {
                tracing::warn!(
                    tenant_id = %tenant.id,
                    cart_id = %cart.id,
                    order_type,
                    plugin_version = %activation.plugin.info.version,
                    error = %source,
                    run_id = run_id.map(|id| id.to_string()),
                    "order-type plugin failed"
                );
                match tenant.config.plugin_fail_mode {
                    PluginFailMode::Closed => Err(CoreError::PluginFailed {
                        order_type: order_type.to_owned(),
                        source,
                        run_id,
                    }),
                    PluginFailMode::Open => {
                        let mut view = view;
                        view.judgement = Judgement::Unavailable {
                            order_type: order_type.to_owned(),
                            failure: source,
                            run_id,
                        };
                        Ok(unjudged(view))
                    }
                }
            }
        }
    }

    /// One call of module `sha`, loading it first if this node has not yet.
    pub(crate) async fn call(
        &self,
        sha: &str,
        input: &PluginCart,
        config: &serde_json::Value,
        limits: &PluginLimits,
    ) -> PluginCall {
        if let Err(e) = self.ensure_loaded(sha).await {
            return PluginCall {
                result: Err(e),
                report: CallReport::default(),
            };
        }
        self.runtime.run(sha, input, config, limits).await
    }

    async fn ensure_loaded(&self, sha: &str) -> Result<(), PluginError> {
        if self.runtime.is_loaded(sha) {
            return Ok(());
        }
        let wasm = self
            .plugins
            .wasm(sha)
            .await
            .map_err(|e| PluginError::Unavailable(e.to_string()))?
            .ok_or_else(|| PluginError::Unavailable(format!("module {sha} is not stored")))?;
        self.runtime.load(sha, &wasm).await
    }

    /// The limits a call for `tenant` runs under.
    pub(crate) fn limits(&self, tenant: &Tenant) -> PluginLimits {
        tenant.config.plugin_limits(self.limits)
    }
}

/// The read-only view a plugin judges: current prices, catalog attributes kept apart from
/// the line's own.
pub(crate) fn plugin_cart(
    cart: &Cart,
    view: &CartView,
    catalog: &HashMap<Sku, CatalogItem>,
) -> PluginCart {
    let lines = cart
        .lines
        .iter()
        .zip(&view.lines)
        .map(|(line, shown)| PluginLine {
            line_id: line.id.to_string(),
            sku: line.key.sku.to_string(),
            quantity: line.quantity.get(),
            unit_price: shown.unit_price,
            category: line.category.clone(),
            seller: line.key.seller.clone(),
            fulfillment: line.key.fulfillment.clone(),
            item_attributes: catalog
                .get(line.sku())
                .map(|item| item.attributes.as_map().clone())
                .unwrap_or_default(),
            line_attributes: line.key.attributes.as_map().clone(),
        })
        .collect();
    PluginCart {
        cart_id: cart.id.to_string(),
        currency: cart.currency.code().to_owned(),
        subtotal: view.subtotal,
        lines,
        context: cart
            .context
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    }
}
