use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

use trolley_core::domain::{
    ClaimPolicy, MergePolicy, PluginFailMode, RateLimit, Tenant, TenantConfig, TenantStatus,
};

use crate::error::{ApiError, Code};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    pub name: String,
    /// ISO 4217 code: USD, EUR, GBP, SGD, MYR, THB, PHP, IDR, VND or JPY.
    pub currency: String,
}

/// A new tenant and its secrets. The keys and the customer-token secret are shown only
/// here; Trolley keeps API keys hashed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantCreatedResponse {
    pub tenant_id: Uuid,
    pub name: String,
    pub currency: String,
    pub storefront_key: String,
    pub admin_key: String,
    pub customer_token_secret: String,
    /// The storefront key's id.
    pub storefront_key_id: Uuid,
    /// The admin key's id: the `actor` the audit log names for the changes it makes.
    pub admin_key_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantResponse {
    pub tenant_id: Uuid,
    pub name: String,
    pub currency: String,
    /// `active` or `suspended`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<&Tenant> for TenantResponse {
    fn from(t: &Tenant) -> Self {
        Self {
            tenant_id: t.id.0,
            name: t.name.clone(),
            currency: t.currency.code().to_owned(),
            status: t.status.as_str().to_owned(),
            created_at: t.created_at,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatusDto {
    Active,
    Suspended,
}

impl From<TenantStatusDto> for TenantStatus {
    fn from(s: TenantStatusDto) -> Self {
        match s {
            TenantStatusDto::Active => TenantStatus::Active,
            TenantStatusDto::Suspended => TenantStatus::Suspended,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTenantRequest {
    pub name: Option<String>,
    pub status: Option<TenantStatusDto>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum MergePolicyDto {
    Sum,
    Latest,
    KeepTarget,
    KeepSource,
    Review,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum PluginFailModeDto {
    /// A failing plugin answers 503 `plugin_failed`.
    Closed,
    /// Reads serve the cart without plugin output.
    Open,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ClaimPolicyDto {
    Interest,
    Soft,
    Reserve,
}

impl From<ClaimPolicyDto> for ClaimPolicy {
    fn from(p: ClaimPolicyDto) -> Self {
        match p {
            ClaimPolicyDto::Interest => ClaimPolicy::Interest,
            ClaimPolicyDto::Soft => ClaimPolicy::Soft,
            ClaimPolicyDto::Reserve => ClaimPolicy::Reserve,
        }
    }
}

impl From<ClaimPolicy> for ClaimPolicyDto {
    fn from(p: ClaimPolicy) -> Self {
        match p {
            ClaimPolicy::Interest => ClaimPolicyDto::Interest,
            ClaimPolicy::Soft => ClaimPolicyDto::Soft,
            ClaimPolicy::Reserve => ClaimPolicyDto::Reserve,
        }
    }
}

/// A tenant's configuration. `PUT` replaces it whole (a field left out takes its default);
/// `PATCH` merges a JSON merge patch into it (a field left out keeps its value).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantConfigDto {
    /// Catalog category → order type. A category absent here gives carts no order type.
    #[serde(default)]
    pub category_order_types: BTreeMap<String, String>,
    #[serde(default = "defaults::merge_policy")]
    pub merge_policy: MergePolicyDto,
    /// Days a guest cart lives without activity (1–365).
    #[serde(default = "defaults::guest_ttl_days")]
    #[schema(minimum = 1, maximum = 365, default = defaults::guest_ttl_days)]
    pub guest_ttl_days: u32,
    /// Days a customer's cart lives without activity (1–365).
    #[serde(default = "defaults::customer_ttl_days")]
    #[schema(minimum = 1, maximum = 365, default = defaults::customer_ttl_days)]
    pub customer_ttl_days: u32,
    /// Minutes a checkout holds its reservations before it expires (1–1440).
    #[serde(default = "defaults::checkout_ttl_minutes")]
    #[schema(minimum = 1, maximum = 1440, default = defaults::checkout_ttl_minutes)]
    pub checkout_ttl_minutes: u32,
    /// Most lines one cart may hold (1–500).
    #[serde(default = "defaults::max_lines")]
    #[schema(minimum = 1, maximum = 500, default = defaults::max_lines)]
    pub max_lines: u32,
    /// Most units one line may hold (1–100000).
    #[serde(default = "defaults::max_quantity")]
    #[schema(minimum = 1, maximum = 100000, default = defaults::max_quantity)]
    pub max_quantity: u32,
    #[serde(default = "defaults::plugin_fail_mode")]
    pub plugin_fail_mode: PluginFailModeDto,
    #[serde(default = "defaults::claim_policy")]
    pub default_claim_policy: ClaimPolicyDto,
    /// A line shows `low_stock` when fewer than this many units would be left after it.
    #[serde(default = "defaults::low_stock_threshold")]
    #[schema(minimum = 0, maximum = 1000000, default = defaults::low_stock_threshold)]
    pub low_stock_threshold: u32,
    /// How long a `reserve` line holds its stock without cart activity, in minutes (1–1440).
    #[serde(default = "defaults::reserve_ttl_minutes")]
    #[schema(minimum = 1, maximum = 1440, default = defaults::reserve_ttl_minutes)]
    pub reserve_ttl_minutes: u32,
    /// Wall-clock deadline of one plugin call in ms (1–10000; the operator's maximum, 1 s by
    /// default, still applies).
    #[serde(default = "defaults::plugin_deadline_ms")]
    #[schema(minimum = 1, maximum = 10000, default = defaults::plugin_deadline_ms)]
    pub plugin_deadline_ms: u32,
    /// Memory one plugin call may use in MiB (1–4096; the operator's maximum, 64 MiB by
    /// default, still applies).
    #[serde(default = "defaults::plugin_memory_mib")]
    #[schema(minimum = 1, maximum = 4096, default = defaults::plugin_memory_mib)]
    pub plugin_memory_mib: u32,
    /// Storefront requests per second for the whole tenant, shared by every node (the
    /// operator's maximum still applies).
    #[serde(default = "defaults::rate_limit")]
    pub rate_limit: RateLimitDto,
    /// Storefront requests per second for one customer, guest cart or anonymous address
    /// (the operator's maximum still applies).
    #[serde(default = "defaults::shopper_rate_limit")]
    pub shopper_rate_limit: RateLimitDto,
    /// Days an ended cart (expired, merged, converted) or an ended checkout (completed,
    /// cancelled, expired) is kept before the sweeper deletes it, counted from when it
    /// ended (1–3650, default 30). Orders are kept forever and stay readable.
    #[serde(default = "defaults::cart_retention_days")]
    #[schema(minimum = 1, maximum = 3650)]
    pub cart_retention_days: u32,
    /// Days an event that reached every webhook endpoint (and JetStream) it goes to is kept,
    /// so a replay can send it again, before it is purged (1–90, default 7).
    #[serde(default = "defaults::event_retention_days")]
    #[schema(minimum = 1, maximum = 90)]
    pub event_retention_days: u32,
    /// Browser origins whose pages may call the storefront API (CORS), exactly as browsers
    /// send them: `https://shop.example`, `http://localhost:3000`. No `*`, no paths; at
    /// most 50.
    #[serde(default)]
    #[schema(example = json!(["https://shop.example"]))]
    pub cors_allowed_origins: Vec<String>,
}

/// A token bucket: `burst` requests at once, refilled at `per_second` (each 1–10000000).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitDto {
    pub per_second: u32,
    pub burst: u32,
}

impl From<RateLimit> for RateLimitDto {
    fn from(l: RateLimit) -> Self {
        Self {
            per_second: l.per_second,
            burst: l.burst,
        }
    }
}

impl From<RateLimitDto> for RateLimit {
    fn from(l: RateLimitDto) -> Self {
        Self {
            per_second: l.per_second,
            burst: l.burst,
        }
    }
}

mod defaults {
    use super::*;

    fn d() -> TenantConfigDto {
        TenantConfigDto::from(&TenantConfig::default())
    }
    pub fn merge_policy() -> MergePolicyDto {
        d().merge_policy
    }
    pub fn guest_ttl_days() -> u32 {
        d().guest_ttl_days
    }
    pub fn customer_ttl_days() -> u32 {
        d().customer_ttl_days
    }
    pub fn checkout_ttl_minutes() -> u32 {
        d().checkout_ttl_minutes
    }
    pub fn max_lines() -> u32 {
        d().max_lines
    }
    pub fn max_quantity() -> u32 {
        d().max_quantity
    }
    pub fn plugin_fail_mode() -> PluginFailModeDto {
        d().plugin_fail_mode
    }
    pub fn claim_policy() -> ClaimPolicyDto {
        d().default_claim_policy
    }
    pub fn low_stock_threshold() -> u32 {
        d().low_stock_threshold
    }
    pub fn reserve_ttl_minutes() -> u32 {
        d().reserve_ttl_minutes
    }
    pub fn plugin_deadline_ms() -> u32 {
        d().plugin_deadline_ms
    }
    pub fn plugin_memory_mib() -> u32 {
        d().plugin_memory_mib
    }
    pub fn rate_limit() -> RateLimitDto {
        d().rate_limit
    }
    pub fn shopper_rate_limit() -> RateLimitDto {
        d().shopper_rate_limit
    }
    pub fn cart_retention_days() -> u32 {
        d().cart_retention_days
    }
    pub fn event_retention_days() -> u32 {
        d().event_retention_days
    }
}

impl From<MergePolicyDto> for MergePolicy {
    fn from(p: MergePolicyDto) -> Self {
        match p {
            MergePolicyDto::Sum => MergePolicy::Sum,
            MergePolicyDto::Latest => MergePolicy::Latest,
            MergePolicyDto::KeepTarget => MergePolicy::KeepTarget,
            MergePolicyDto::KeepSource => MergePolicy::KeepSource,
            MergePolicyDto::Review => MergePolicy::Review,
        }
    }
}

impl From<&TenantConfig> for TenantConfigDto {
    fn from(c: &TenantConfig) -> Self {
        Self {
            category_order_types: c.category_order_types.clone(),
            merge_policy: match c.merge_policy {
                MergePolicy::Sum => MergePolicyDto::Sum,
                MergePolicy::Latest => MergePolicyDto::Latest,
                MergePolicy::KeepTarget => MergePolicyDto::KeepTarget,
                MergePolicy::KeepSource => MergePolicyDto::KeepSource,
                MergePolicy::Review => MergePolicyDto::Review,
            },
            guest_ttl_days: c.guest_ttl_days,
            customer_ttl_days: c.customer_ttl_days,
            checkout_ttl_minutes: c.checkout_ttl_minutes,
            max_lines: c.max_lines,
            max_quantity: c.max_quantity,
            plugin_fail_mode: match c.plugin_fail_mode {
                PluginFailMode::Closed => PluginFailModeDto::Closed,
                PluginFailMode::Open => PluginFailModeDto::Open,
            },
            default_claim_policy: c.default_claim_policy.into(),
            low_stock_threshold: c.low_stock_threshold,
            reserve_ttl_minutes: c.reserve_ttl_minutes,
            plugin_deadline_ms: c.plugin_deadline_ms,
            plugin_memory_mib: c.plugin_memory_mib,
            rate_limit: c.rate_limit.into(),
            shopper_rate_limit: c.shopper_rate_limit.into(),
            cart_retention_days: c.cart_retention_days,
            event_retention_days: c.event_retention_days,
            cors_allowed_origins: c.cors_allowed_origins.clone(),
        }
    }
}

impl From<TenantConfigDto> for TenantConfig {
    fn from(d: TenantConfigDto) -> Self {
        Self {
            category_order_types: d.category_order_types,
            merge_policy: d.merge_policy.into(),
            guest_ttl_days: d.guest_ttl_days,
            customer_ttl_days: d.customer_ttl_days,
            checkout_ttl_minutes: d.checkout_ttl_minutes,
            max_lines: d.max_lines,
            max_quantity: d.max_quantity,
            plugin_fail_mode: match d.plugin_fail_mode {
                PluginFailModeDto::Closed => PluginFailMode::Closed,
                PluginFailModeDto::Open => PluginFailMode::Open,
            },
            default_claim_policy: d.default_claim_policy.into(),
            low_stock_threshold: d.low_stock_threshold,
            reserve_ttl_minutes: d.reserve_ttl_minutes,
            plugin_deadline_ms: d.plugin_deadline_ms,
            plugin_memory_mib: d.plugin_memory_mib,
            rate_limit: d.rate_limit.into(),
            shopper_rate_limit: d.shopper_rate_limit.into(),
            cart_retention_days: d.cart_retention_days,
            event_retention_days: d.event_retention_days,
            cors_allowed_origins: d.cors_allowed_origins,
        }
    }
}

/// Applies a JSON merge patch (RFC 7396) to `target`: members of `patch` replace those of
/// `target`, objects merge recursively, and `null` removes a member.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

impl TenantConfigDto {
    /// `current`, as `GET /v1/admin/config` shows it, with `patch` merged in, read back
    /// exactly as a `PUT` body would be: a member the patch removes (`null`) takes its
    /// default, and a bad member is refused by name.
    pub fn patched(current: &TenantConfig, patch: &Value) -> Result<TenantConfig, ApiError> {
        if !patch.is_object() {
            return Err(ApiError::new(
                Code::InvalidRequest,
                "a merge patch of the config must be a JSON object",
            ));
        }
        let mut doc = serde_json::to_value(TenantConfigDto::from(current)).map_err(|e| {
            ApiError::new(Code::Internal, format!("config does not serialize: {e}"))
        })?;
        merge_patch(&mut doc, patch);
        match serde_json::from_value::<TenantConfigDto>(doc.clone()) {
            Ok(dto) => Ok(dto.into()),
            Err(e) => Err(match bad_member(&doc) {
                Some((field, why)) => {
                    ApiError::new(Code::InvalidRequest, format!("{field}: {why}"))
                        .with("field", field)
                }
                None => ApiError::new(Code::InvalidRequest, e.to_string()),
            }),
        }
    }
}

/// The first member of `doc` that cannot be read on its own, and why. serde_json's
/// errors from a `Value` do not say where they are, and a client fixing a patch needs to
/// know which field to fix.
fn bad_member(doc: &Value) -> Option<(String, String)> {
    doc.as_object()?.iter().find_map(|(key, value)| {
        let alone = Value::Object(Map::from_iter([(key.clone(), value.clone())]));
        serde_json::from_value::<TenantConfigDto>(alone)
            .err()
            .map(|e| (key.clone(), e.to_string()))
    })
}
