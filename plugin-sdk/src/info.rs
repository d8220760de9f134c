//! Who a plugin is.

/// The identity a plugin declares in `describe`: `PluginInfo::new("grocery", "1.2.0")`.
///
/// The SDK adds the JSON Schema of the plugin's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    order_type: String,
    name: Option<String>,
    version: String,
}

impl PluginInfo {
    /// The order type id (`grocery`) and the plugin's semantic version; pass
    /// `env!("CARGO_PKG_VERSION")` to use the crate's.
    pub fn new(order_type: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            order_type: order_type.into(),
            name: None,
            version: version.into(),
        }
    }

    /// A human-readable name; without one, the order type id is the name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The order type id.
    pub fn order_type(&self) -> &str {
        &self.order_type
    }

    /// The human-readable name (the order type id when none was given).
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.order_type)
    }

    /// The semantic version.
    pub fn version(&self) -> &str {
        &self.version
    }
}
