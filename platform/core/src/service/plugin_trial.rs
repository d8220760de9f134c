//! Trying a plugin version before it serves anyone: the dry run an admin asks for, and the
//! smoke check every activation runs (SPEC §14).
//!
//! A trial evaluates real carts of the tenant — named ones, or the most recently changed
//! active carts of the order type — with the candidate version and config and, beside it,
//! with the version serving the order type now. Every call is recorded as a run, so a
//! failure can be read and replayed. Nothing about the carts changes.

use std::sync::Arc;

use crate::domain::{
    Activation, Actor, CartId, DryRun, PluginCart, PluginId, PluginRecord, RunFailure, RunPlugin,
    RunTrigger, Tenant, TrialCart, TrialFailure, TrialOutcome,
};
use crate::error::CoreError;
use crate::service::assemble::Inputs;
use crate::service::judge::plugin_cart;
use crate::service::{CartService, OrderTypeJudge, PluginService, RunRecorder};

/// Most carts one dry run may name.
pub const MAX_TRIAL_CARTS: usize = 20;
/// Carts a dry run samples when it names none.
pub const DRY_RUN_SAMPLE: u32 = 10;
/// Carts an activation's smoke check samples.
pub const ACTIVATION_CHECK_SAMPLE: u32 = 5;

pub struct PluginTrial {
    carts: CartService,
    plugins: PluginService,
    judge: Arc<OrderTypeJudge>,
    runs: Arc<RunRecorder>,
}

/// Which carts a trial evaluates.
#[derive(Debug, Clone, Copy)]
enum Carts<'a> {
    Named(&'a [CartId]),
    Recent(u32),
}

impl PluginTrial {
    pub fn new(
        carts: CartService,
        plugins: PluginService,
        judge: Arc<OrderTypeJudge>,
        runs: Arc<RunRecorder>,
    ) -> Self {
        Self {
            carts,
            plugins,
            judge,
            runs,
        }
    }

    /// Evaluates version `plugin_id` with `config` (or the config the order type is served
    /// with now) on `cart_ids` (or a sample of recent carts), beside the active version.
    #[tracing::instrument(skip(self, tenant, config, cart_ids), fields(tenant_id = %tenant.id))]
    pub async fn dry_run(
        &self,
        tenant: &Tenant,
        order_type: &str,
        plugin_id: PluginId,
        config: Option<serde_json::Value>,
        cart_ids: Option<&[CartId]>,
    ) -> Result<DryRun, CoreError> {
        let plugin = self
            .plugins
            .candidate(tenant, order_type, plugin_id)
            .await?;
        let active = self.plugins.active(tenant, order_type).await?;
        let config = self
            .plugins
            .config_for(&plugin, order_type, config, active.as_ref())?;
        let carts = match cart_ids {
            Some(ids) => {
                if ids.is_empty() || ids.len() > MAX_TRIAL_CARTS {
                    return Err(CoreError::InvalidInput(format!(
                        "cart_ids names 1-{MAX_TRIAL_CARTS} carts (or leave it out to try recent carts)"
                    )));
                }
                Carts::Named(ids)
            }
            None => Carts::Recent(DRY_RUN_SAMPLE),
        };
        let candidate = candidate_plugin(&plugin, config, active.as_ref());
        let carts = self
            .try_carts(
                tenant,
                order_type,
                &candidate,
                active.as_ref(),
                carts,
                RunTrigger::DryRun,
            )
            .await?;
        Ok(DryRun {
            order_type: order_type.to_owned(),
            candidate,
            active: active.as_ref().map(RunPlugin::active),
            carts,
        })
    }

    /// Activates like [`PluginService::activate`], after trying the version on a few recent
    /// carts: refused with the reasons if it fails on a cart the active version judges
    /// (`force` skips the check).
    pub async fn activate(
        &self,
        tenant: &Tenant,
        order_type: &str,
        plugin_id: PluginId,
        config: Option<serde_json::Value>,
        force: bool,
        actor: &Actor,
    ) -> Result<Activation, CoreError> {
        if !force {
            let plugin = self
                .plugins
                .candidate(tenant, order_type, plugin_id)
                .await?;
            let active = self.plugins.active(tenant, order_type).await?;
            let resolved =
                self.plugins
                    .config_for(&plugin, order_type, config.clone(), active.as_ref())?;
            let candidate = candidate_plugin(&plugin, resolved, active.as_ref());
            let tried = self
                .try_carts(
                    tenant,
                    order_type,
                    &candidate,
                    active.as_ref(),
                    Carts::Recent(ACTIVATION_CHECK_SAMPLE),
                    RunTrigger::ActivationCheck,
                )
                .await?;
            let failures: Vec<TrialFailure> = tried
                .into_iter()
                .filter(TrialCart::regressed)
                .filter_map(|cart| {
                    let run_id = cart.candidate.run_id;
                    cart.candidate.result.err().map(|failure| TrialFailure {
                        cart_id: cart.cart_id,
                        failure,
                        run_id,
                    })
                })
                .collect();
            if !failures.is_empty() {
                return Err(CoreError::ActivationCheckFailed {
                    version: plugin.info.version,
                    failures,
                });
            }
        }
        self.plugins
            .activate(tenant, order_type, plugin_id, config, actor)
            .await
    }

    async fn try_carts(
        &self,
        tenant: &Tenant,
        order_type: &str,
        candidate: &RunPlugin,
        active: Option<&Activation>,
        carts: Carts<'_>,
        trigger: RunTrigger,
    ) -> Result<Vec<TrialCart>, CoreError> {
        let inputs = self.inputs(tenant, order_type, carts).await?;
        let mut tried = Vec::with_capacity(inputs.len());
        for (cart_id, input) in inputs {
            let candidate_outcome = self
                .evaluate(tenant, order_type, candidate.clone(), &input, trigger)
                .await;
            let active_outcome = match active {
                Some(active) => Some(
                    self.evaluate(
                        tenant,
                        order_type,
                        RunPlugin::active(active),
                        &input,
                        trigger,
                    )
                    .await,
                ),
                None => None,
            };
            tried.push(TrialCart {
                cart_id,
                candidate: candidate_outcome,
                active: active_outcome,
            });
        }
        Ok(tried)
    }

    async fn evaluate(
        &self,
        tenant: &Tenant,
        order_type: &str,
        plugin: RunPlugin,
        input: &PluginCart,
        trigger: RunTrigger,
    ) -> TrialOutcome {
        let call = self
            .judge
            .call(
                &plugin.sha256,
                input,
                &plugin.config,
                &self.judge.limits(tenant),
            )
            .await;
        let run_id = self
            .runs
            .observe(tenant.id, order_type, plugin, trigger, input, &call)
            .await;
        TrialOutcome {
            result: call.result.map_err(|e| RunFailure::from(&e)),
            run_id,
        }
    }

    /// The carts as the plugin would see them now.
    async fn inputs(
        &self,
        tenant: &Tenant,
        order_type: &str,
        carts: Carts<'_>,
    ) -> Result<Vec<(CartId, PluginCart)>, CoreError> {
        let found = match carts {
            Carts::Recent(limit) => {
                self.carts
                    .carts
                    .recent_of_order_type(tenant.id, order_type, limit)
                    .await?
            }
            Carts::Named(ids) => {
                let mut found = Vec::with_capacity(ids.len());
                for id in ids {
                    let cart = self
                        .carts
                        .carts
                        .load(tenant.id, *id)
                        .await?
                        .ok_or_else(|| {
                            CoreError::InvalidInput(format!("no cart of this tenant has id {id}"))
                        })?;
                    if cart.order_type.as_deref() != Some(order_type) {
                        return Err(CoreError::InvalidInput(format!(
                            "cart {id} is {}, not a `{order_type}` cart",
                            cart.order_type
                                .as_deref()
                                .map_or("without an order type".to_owned(), |t| format!(
                                    "a `{t}` cart"
                                ))
                        )));
                    }
                    found.push(cart);
                }
                found
            }
        };
        let mut inputs = Vec::with_capacity(found.len());
        for cart in found {
            let (view, catalog, _) = self.carts.unjudged(tenant, &cart, Inputs::Recent).await?;
            inputs.push((cart.id, plugin_cart(&cart, &view, &catalog)));
        }
        Ok(inputs)
    }
}

/// The version on trial with the config it would be served with.
fn candidate_plugin(
    plugin: &PluginRecord,
    config: serde_json::Value,
    active: Option<&Activation>,
) -> RunPlugin {
    let serving = active.filter(|a| a.plugin.id == plugin.id && a.config == config);
    RunPlugin {
        plugin_id: plugin.id,
        version: plugin.info.version.clone(),
        sha256: plugin.sha256.clone(),
        config,
        config_activated_at: serving.map(|a| a.activated_at),
    }
}
