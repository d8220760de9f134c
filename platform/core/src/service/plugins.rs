//! Tenant admins upload plugin modules and choose which version, with which config, serves
//! each order type (SPEC §5 lifecycle).

use std::sync::Arc;

use crate::domain::{
    Activation, Actor, PluginContract, PluginError, PluginId, PluginRecord, Tenant,
};
use crate::error::CoreError;
use crate::ports::{Clock, PluginRepository, PluginRuntime};
use crate::service::judge::OrderTypeJudge;

/// Largest module accepted at upload.
pub const MAX_PLUGIN_BYTES: usize = 8 * 1024 * 1024;

const WASM_MAGIC: &[u8] = b"\0asm";

#[derive(Clone)]
pub struct PluginService {
    plugins: Arc<dyn PluginRepository>,
    runtime: Arc<dyn PluginRuntime>,
    judge: Arc<OrderTypeJudge>,
    clock: Arc<dyn Clock>,
}

pub(crate) fn check_order_type(order_type: &str) -> Result<(), CoreError> {
    let ok = !order_type.is_empty()
        && order_type.len() <= 64
        && order_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::InvalidInput(
            "an order type is 1-64 characters of a-z, 0-9, _ and -".into(),
        ))
    }
}

impl PluginService {
    pub fn new(
        plugins: Arc<dyn PluginRepository>,
        runtime: Arc<dyn PluginRuntime>,
        judge: Arc<OrderTypeJudge>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            plugins,
            runtime,
            judge,
            clock,
        }
    }

    /// Checks and stores a module. Compiling and checking it against the world happens
    /// before anything is stored, so a refused module leaves no trace. Uploading the same
    /// bytes again answers the existing record (`false`).
    #[tracing::instrument(skip_all, fields(tenant_id = %tenant.id, size = wasm.len()))]
    pub async fn upload(
        &self,
        tenant: &Tenant,
        wasm: &[u8],
        actor: &Actor,
    ) -> Result<(PluginRecord, bool), CoreError> {
        if wasm.len() > MAX_PLUGIN_BYTES {
            return Err(CoreError::PluginTooLarge {
                size: wasm.len(),
                max: MAX_PLUGIN_BYTES,
            });
        }
        if !wasm.starts_with(WASM_MAGIC) {
            return Err(CoreError::InvalidPlugin(
                "the body is not WebAssembly (it must start with \\0asm)".into(),
            ));
        }
        let inspected = self.runtime.inspect(wasm).await.map_err(|e| match e {
            PluginError::Invalid(msg) => CoreError::InvalidPlugin(msg),
            PluginError::Unavailable(msg) => CoreError::PluginFailed {
                order_type: "(upload)".into(),
                source: PluginError::Unavailable(msg),
                run_id: None,
            },
            other => CoreError::InvalidPlugin(format!("describe failed: {other}")),
        })?;
        // A version names one build: the same bytes again are the same upload (answered
        // below), other bytes under a released version would make two "1.0.0"s.
        let info = &inspected.info;
        if let Some(existing) = self
            .plugins
            .find_version(tenant.id, &info.name, &info.version)
            .await?
            && existing.sha256 != inspected.sha256
        {
            return Err(CoreError::PluginVersionTaken {
                name: info.name.clone(),
                version: info.version.clone(),
                existing: existing.id,
            });
        }
        let record = PluginRecord {
            id: PluginId::new(),
            tenant_id: tenant.id,
            sha256: inspected.sha256,
            info: inspected.info,
            size_bytes: i64::try_from(wasm.len()).unwrap_or(i64::MAX),
            created_at: self.clock.now_millis(),
            contract: Some(PluginContract {
                version: inspected.contract_version,
                exports: inspected.exports,
            }),
        };
        let (record, created) = self.plugins.insert(&record, wasm, actor).await?;
        tracing::info!(plugin_id = %record.id, sha256 = %record.sha256, order_type = %record.info.order_type, version = %record.info.version, created, "plugin uploaded");
        Ok((record, created))
    }

    pub async fn list(&self, tenant: &Tenant) -> Result<Vec<PluginRecord>, CoreError> {
        Ok(self.plugins.list(tenant.id).await?)
    }

    pub async fn get(&self, tenant: &Tenant, id: PluginId) -> Result<PluginRecord, CoreError> {
        self.plugins
            .get(tenant.id, id)
            .await?
            .ok_or(CoreError::PluginNotFound)
    }

    /// Makes a plugin version with `config` serve `order_type`. The plugin must implement
    /// that order type, and the config must satisfy the plugin's JSON Schema. Without
    /// `config`, the order type keeps the config it is served with now (a new version is
    /// not a reason to lose settings); `{}` when it has none yet.
    #[tracing::instrument(skip(self, tenant, config), fields(tenant_id = %tenant.id))]
    pub async fn activate(
        &self,
        tenant: &Tenant,
        order_type: &str,
        plugin_id: PluginId,
        config: Option<serde_json::Value>,
        actor: &Actor,
    ) -> Result<Activation, CoreError> {
        let plugin = self.candidate(tenant, order_type, plugin_id).await?;
        let active = self.active(tenant, order_type).await?;
        let config = self.config_for(&plugin, order_type, config, active.as_ref())?;
        let activation = self
            .plugins
            .activate(
                tenant.id,
                order_type,
                plugin_id,
                &config,
                self.clock.now_millis(),
                actor,
            )
            .await?;
        self.judge.changed(tenant.id, order_type).await;
        tracing::info!(order_type, plugin_id = %plugin_id, version = %activation.plugin.info.version, "order type activated");
        Ok(activation)
    }

    /// The plugin `plugin_id`, checked to implement `order_type`.
    pub(crate) async fn candidate(
        &self,
        tenant: &Tenant,
        order_type: &str,
        plugin_id: PluginId,
    ) -> Result<PluginRecord, CoreError> {
        check_order_type(order_type)?;
        let plugin = self.get(tenant, plugin_id).await?;
        if plugin.info.order_type != order_type {
            return Err(CoreError::InvalidInput(format!(
                "plugin {plugin_id} implements order type `{}`, not `{order_type}`",
                plugin.info.order_type
            )));
        }
        Ok(plugin)
    }

    /// The activation serving `order_type` now, read from the database.
    pub async fn active(
        &self,
        tenant: &Tenant,
        order_type: &str,
    ) -> Result<Option<Activation>, CoreError> {
        check_order_type(order_type)?;
        Ok(self.plugins.active(tenant.id, order_type).await?)
    }

    /// The config `plugin` would serve `order_type` with: `config`, or without one the
    /// config `active` serves it with (`{}` when none), checked against the plugin's schema.
    pub(crate) fn config_for(
        &self,
        plugin: &PluginRecord,
        order_type: &str,
        config: Option<serde_json::Value>,
        active: Option<&Activation>,
    ) -> Result<serde_json::Value, CoreError> {
        let kept = config.is_none();
        let config = match config {
            Some(config) => config,
            None => active.map_or_else(|| serde_json::json!({}), |current| current.config.clone()),
        };
        self.runtime
            .check_config(&plugin.info, &config)
            .map_err(|e| {
                let mut errors = match e {
                    PluginError::InvalidConfig(errors) => errors,
                    other => vec![other.to_string()],
                };
                if kept {
                    errors.push(format!(
                        "(the config `{order_type}` is served with now, kept because the request sent none, does not fit version {}: send `config`)",
                        plugin.info.version
                    ));
                }
                CoreError::InvalidConfig(errors)
            })?;
        Ok(config)
    }

    /// Goes back to the activation the current one superseded.
    #[tracing::instrument(skip(self, tenant), fields(tenant_id = %tenant.id))]
    pub async fn rollback(
        &self,
        tenant: &Tenant,
        order_type: &str,
        actor: &Actor,
    ) -> Result<Activation, CoreError> {
        check_order_type(order_type)?;
        let activation = self
            .plugins
            .rollback(tenant.id, order_type, self.clock.now_millis(), actor)
            .await?
            .ok_or_else(|| CoreError::NothingToRollBack {
                order_type: order_type.to_owned(),
            })?;
        self.judge.changed(tenant.id, order_type).await;
        tracing::info!(order_type, version = %activation.plugin.info.version, "order type rolled back");
        Ok(activation)
    }

    /// Which plugin version and config serves each order type.
    pub async fn order_types(&self, tenant: &Tenant) -> Result<Vec<Activation>, CoreError> {
        Ok(self.plugins.active_all(tenant.id).await?)
    }
}
