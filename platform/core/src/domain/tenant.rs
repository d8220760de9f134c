//! Tenants and their configuration.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::catalog::ClaimPolicy;
use super::credentials::CustomerTokenSecret;
use super::ids::TenantId;
use super::money::Currency;
use super::quantity::CartLimits;
use super::rate_limit::RateLimit;

/// The largest rate or burst a tenant may ask for (the operator's maxima are usually lower).
const MAX_RATE: u32 = 10_000_000;
use crate::error::CoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(TenantStatus::Active),
            "suspended" => Some(TenantStatus::Suspended),
            _ => None,
        }
    }
}

/// How a guest cart's lines meet a customer cart's at login (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MergePolicy {
    #[default]
    Sum,
    Latest,
    KeepTarget,
    KeepSource,
    Review,
}

impl MergePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            MergePolicy::Sum => "sum",
            MergePolicy::Latest => "latest",
            MergePolicy::KeepTarget => "keep_target",
            MergePolicy::KeepSource => "keep_source",
            MergePolicy::Review => "review",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            MergePolicy::Sum,
            MergePolicy::Latest,
            MergePolicy::KeepTarget,
            MergePolicy::KeepSource,
            MergePolicy::Review,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// What a cart read does when the order-type plugin fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PluginFailMode {
    /// Answer 503 `plugin_failed`.
    #[default]
    Closed,
    /// Serve the cart without plugin output, flagged as such.
    Open,
}

/// A tenant's settings. Every field has a default so a partial document is a valid update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantConfig {
    /// Catalog category → order type. A category absent here gives carts no order type.
    pub category_order_types: BTreeMap<String, String>,
    pub merge_policy: MergePolicy,
    pub guest_ttl_days: u32,
    pub customer_ttl_days: u32,
    pub checkout_ttl_minutes: u32,
    pub max_lines: u32,
    pub max_quantity: u32,
    pub plugin_fail_mode: PluginFailMode,
    /// Claim strength of items whose catalog entry does not set one.
    pub default_claim_policy: ClaimPolicy,
    /// A line shows `low_stock` when fewer than this many units would be left after it.
    pub low_stock_threshold: u32,
    /// How long a `reserve` line holds its stock without cart activity.
    pub reserve_ttl_minutes: u32,
    /// Wall-clock deadline of one plugin call, in milliseconds (the operator's maximum
    /// still applies).
    pub plugin_deadline_ms: u32,
    /// Memory one plugin call may use, in MiB (the operator's maximum still applies).
    pub plugin_memory_mib: u32,
    /// Requests per second the whole tenant may make, shared by every node (the operator's
    /// maximum still applies).
    pub rate_limit: RateLimit,
    /// Requests per second one customer or guest cart may make (the operator's maximum
    /// still applies).
    pub shopper_rate_limit: RateLimit,
    /// How long an ended cart (expired, merged, converted) or an ended checkout (completed,
    /// cancelled, expired) is kept before the sweeper deletes it. Orders are kept forever.
    pub cart_retention_days: u32,
    /// How long an event that went everywhere it goes is kept (for webhook replays) before
    /// it is purged.
    pub event_retention_days: u32,
    /// Browser origins (`https://shop.example`) whose pages may call the storefront API
    /// (CORS). Exact origins only: no `*`, no paths.
    pub cors_allowed_origins: Vec<String>,
}

impl Default for TenantConfig {
    fn default() -> Self {
        let limits = CartLimits::default();
        Self {
            category_order_types: BTreeMap::new(),
            merge_policy: MergePolicy::default(),
            guest_ttl_days: 7,
            customer_ttl_days: 30,
            checkout_ttl_minutes: 15,
            max_lines: limits.max_lines,
            max_quantity: limits.max_quantity,
            plugin_fail_mode: PluginFailMode::default(),
            default_claim_policy: ClaimPolicy::Soft,
            low_stock_threshold: 5,
            reserve_ttl_minutes: 15,
            plugin_deadline_ms: 100,
            plugin_memory_mib: 32,
            rate_limit: RateLimit {
                per_second: 2_000,
                burst: 4_000,
            },
            shopper_rate_limit: RateLimit {
                per_second: 50,
                burst: 100,
            },
            cart_retention_days: 30,
            event_retention_days: 7,
            cors_allowed_origins: Vec::new(),
        }
    }
}

impl TenantConfig {
    /// Checks the bounds a stored config must respect.
    pub fn validate(&self) -> Result<(), CoreError> {
        let bad = |msg: &str| Err(CoreError::InvalidInput(msg.to_owned()));
        if !(1..=CartLimits::CEILING_QUANTITY).contains(&self.max_quantity) {
            return bad("max_quantity must be between 1 and 100000");
        }
        if !(1..=CartLimits::CEILING_LINES).contains(&self.max_lines) {
            return bad("max_lines must be between 1 and 500");
        }
        if !(1..=365).contains(&self.guest_ttl_days) {
            return bad("guest_ttl_days must be between 1 and 365");
        }
        if !(1..=365).contains(&self.customer_ttl_days) {
            return bad("customer_ttl_days must be between 1 and 365");
        }
        if !(1..=3650).contains(&self.cart_retention_days) {
            return bad("cart_retention_days must be between 1 and 3650");
        }
        if !(1..=90).contains(&self.event_retention_days) {
            return bad("event_retention_days must be between 1 and 90");
        }
        if !(1..=1440).contains(&self.checkout_ttl_minutes) {
            return bad("checkout_ttl_minutes must be between 1 and 1440");
        }
        if !(1..=1440).contains(&self.reserve_ttl_minutes) {
            return bad("reserve_ttl_minutes must be between 1 and 1440");
        }
        if !(1..=10_000).contains(&self.plugin_deadline_ms) {
            return bad("plugin_deadline_ms must be between 1 and 10000");
        }
        if !(1..=4096).contains(&self.plugin_memory_mib) {
            return bad("plugin_memory_mib must be between 1 and 4096");
        }
        if self.low_stock_threshold > 1_000_000 {
            return bad("low_stock_threshold must be at most 1000000");
        }
        for (name, limit) in [
            ("rate_limit", self.rate_limit),
            ("shopper_rate_limit", self.shopper_rate_limit),
        ] {
            if !(1..=MAX_RATE).contains(&limit.per_second) || !(1..=MAX_RATE).contains(&limit.burst)
            {
                return Err(CoreError::InvalidInput(format!(
                    "{name}.per_second and {name}.burst must be between 1 and {MAX_RATE}"
                )));
            }
        }
        if self.category_order_types.len() > 1000 {
            return bad("at most 1000 category mappings");
        }
        if self.cors_allowed_origins.len() > MAX_CORS_ORIGINS {
            return Err(CoreError::InvalidInput(format!(
                "cors_allowed_origins: at most {MAX_CORS_ORIGINS} origins"
            )));
        }
        for origin in &self.cors_allowed_origins {
            check_origin(origin).map_err(|why| {
                CoreError::InvalidInput(format!("cors_allowed_origins: `{origin}` {why}"))
            })?;
        }
        Ok(())
    }

    pub fn limits(&self) -> CartLimits {
        CartLimits {
            max_quantity: self.max_quantity,
            max_lines: self.max_lines,
        }
    }
}

/// Most origins one tenant may allow.
pub const MAX_CORS_ORIGINS: usize = 50;

/// Whether `origin` is written exactly as a browser sends it in `Origin`
/// (`scheme://host[:port]`, lower case, no path, no default port), so a plain string
/// comparison decides a request. Says what is wrong otherwise.
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" || origin.contains('*') {
        return Err("is a wildcard: list exact origins such as https://shop.example".into());
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(
            "is not an origin: write scheme://host[:port], e.g. https://shop.example".into(),
        );
    };
    if scheme != "https" && scheme != "http" {
        return Err("must start with https:// or http://".into());
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(
            "must be scheme://host[:port] with no path, query or user (no trailing /)".into(),
        );
    }
    if origin.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("must be lower case, as browsers send it".into());
    }
    let (host, port) = match rest.rsplit_once(':') {
        // An IPv6 literal (`[::1]`) has colons of its own.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (rest, None),
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    if let Some(port) = port {
        let default = if scheme == "https" { "443" } else { "80" };
        match port.parse::<u16>() {
            Ok(0) | Err(_) => return Err("has an invalid port".into()),
            Ok(_) if port == default => {
                return Err(format!(
                    "names the default port: browsers send it without `:{port}`"
                ));
            }
            Ok(_) if port.starts_with('0') => return Err("has an invalid port".into()),
            Ok(_) => {}
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub currency: Currency,
    pub status: TenantStatus,
    /// HS256 keys that verify customer tokens, newest first (never empty). Unlike API keys
    /// they cannot be stored hashed: verifying an HMAC needs the key itself.
    pub customer_token_secrets: Vec<CustomerTokenSecret>,
    pub config: TenantConfig,
    pub created_at: DateTime<Utc>,
}

impl TenantConfig {
    /// The sandbox limits this tenant asks for; the plugin runtime clamps them to the
    /// operator's maxima, so a tenant can only lower them.
    pub fn plugin_limits(&self, base: crate::domain::PluginLimits) -> crate::domain::PluginLimits {
        crate::domain::PluginLimits {
            deadline_ms: u64::from(self.plugin_deadline_ms),
            memory_bytes: usize::try_from(self.plugin_memory_mib)
                .unwrap_or(usize::MAX)
                .saturating_mul(1024 * 1024),
            ..base
        }
    }
}

#[cfg(test)]
mod origin_tests {
    use super::check_origin;

    #[test]
    fn origins_are_exact_and_as_browsers_send_them() {
        for good in [
            "https://shop.example",
            "http://localhost:3000",
            "http://127.0.0.1:8081",
            "https://[::1]:8443",
        ] {
            assert_eq!(check_origin(good), Ok(()), "{good}");
        }
        for bad in [
            "*",
            "https://*.shop.example",
            "shop.example",
            "ftp://shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "https://Shop.example",
            "https://shop.example:443",
            "http://shop.example:80",
            "https://shop.example:0",
            "https://shop.example:99999",
            "https://user@shop.example",
            "https://",
        ] {
            assert!(check_origin(bad).is_err(), "{bad} was accepted");
        }
    }
}
