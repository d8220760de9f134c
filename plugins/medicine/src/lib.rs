//! The `medicine` order type (SPEC §5): pharmacy orders.
//!
//! - **Prescriptions** (`medicine.prescription_required`, `reject`): a line whose catalog
//!   item has `rx_required=true` needs a non-blank line attribute `prescription_ref`.
//! - **Age check** (`medicine.age_verification_required`, `block_checkout`): a line whose
//!   catalog item has `age_restricted=true` needs the request context `age_verified=true`
//!   before checkout.
//! - **Quantity cap per SKU** (`medicine.quantity_cap`, `reject`): the units of one SKU
//!   (summed over its lines) may not exceed its cap, from `sku_limits` or else
//!   `max_quantity_per_sku`. The violation names the SKU's last line, the one most
//!   recently added.
//! - **Pharmacist-handling fee** (`medicine.pharmacist`): once per cart holding any
//!   prescription item.
//!
//! Fulfillment requires `prescription` when a prescription item is present and
//! `age_check` when an age-restricted one is. Catalog flags and `age_verified` read
//! `true`, `yes` or `1` (any case) as yes.

use trolley_plugin_sdk::prelude::*;

/// Catalog item attribute: the item is sold on prescription only.
pub const RX_REQUIRED: &str = "rx_required";
/// Catalog item attribute: the buyer's age must be verified.
pub const AGE_RESTRICTED: &str = "age_restricted";
/// Line attribute: the prescription the line is dispensed against.
pub const PRESCRIPTION_REF: &str = "prescription_ref";
/// Request context key: the storefront verified the shopper's age.
pub const AGE_VERIFIED: &str = "age_verified";

/// Tenant configuration of the medicine order type. Every field is optional: an empty
/// configuration takes the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Most units of one SKU per order, for SKUs not in `sku_limits`; `null` means no cap.
    #[schemars(range(min = 1))]
    pub max_quantity_per_sku: Option<u32>,
    /// Caps for particular SKUs (SKU → most units per order), overriding
    /// `max_quantity_per_sku`.
    pub sku_limits: BTreeMap<String, u32>,
    /// Pharmacist-handling fee charged once when the cart holds a prescription item
    /// (decimal string; "0" turns it off).
    pub pharmacist_fee: Decimal,
    /// Fulfillment modes a medicine cart may use; empty means any.
    pub allowed_modes: Vec<String>,
    /// Minimum minutes between checkout and fulfillment, if any.
    pub lead_time_minutes: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_quantity_per_sku: Some(10),
            sku_limits: BTreeMap::new(),
            pharmacist_fee: Decimal::new(250, 2),
            allowed_modes: vec!["delivery".to_owned(), "pickup".to_owned()],
            lead_time_minutes: Some(60),
        }
    }
}

impl Config {
    fn cap_of(&self, sku: &str) -> Option<u32> {
        self.sku_limits
            .get(sku)
            .copied()
            .or(self.max_quantity_per_sku)
    }
}

/// The medicine order type.
pub struct Medicine;

impl OrderType for Medicine {
    type Config = Config;

    fn describe() -> PluginInfo {
        PluginInfo::new("medicine", env!("CARGO_PKG_VERSION")).name("Pharmacy")
    }

    fn validate(cart: &Cart, config: &Config) -> Vec<Violation> {
        let mut violations = Vec::new();
        for line in cart.lines() {
            if line.item_flag(RX_REQUIRED) && !has_prescription(line) {
                violations.push(
                    Violation::reject(
                        "medicine.prescription_required",
                        format!(
                            "{} is sold on prescription: add a prescription reference",
                            line.sku()
                        ),
                    )
                    .for_line(line.line_id())
                    .line_attribute(PRESCRIPTION_REF),
                );
            }
        }
        if !cart.context_flag(AGE_VERIFIED) {
            for line in cart.lines().filter(|line| line.item_flag(AGE_RESTRICTED)) {
                violations.push(
                    Violation::block_checkout(
                        "medicine.age_verification_required",
                        format!(
                            "{} is age-restricted: verify your age before checkout",
                            line.sku()
                        ),
                    )
                    .for_line(line.line_id())
                    .context_key(AGE_VERIFIED),
                );
            }
        }
        for sku in skus(cart) {
            let Some(cap) = config.cap_of(sku.sku) else {
                continue;
            };
            if sku.quantity > u64::from(cap) {
                violations.push(
                    Violation::reject(
                        "medicine.quantity_cap",
                        format!(
                            "at most {cap} of {} per order (this one has {})",
                            sku.sku, sku.quantity
                        ),
                    )
                    .for_line(sku.last_line_id)
                    .field("quantity"),
                );
            }
        }
        violations
    }

    fn calculate_fees(cart: &Cart, config: &Config) -> Vec<Fee> {
        let fee = cart.round_money(config.pharmacist_fee);
        if has_rx(cart) && fee > Decimal::ZERO {
            Fee::new("medicine.pharmacist", "Pharmacist handling", fee)
                .into_iter()
                .collect()
        } else {
            Vec::new()
        }
    }

    fn fulfillment_rules(cart: &Cart, config: &Config) -> FulfillmentRules {
        let mut rules = FulfillmentRules::new();
        for mode in &config.allowed_modes {
            rules.add_allowed_mode(mode.as_str());
        }
        if let Some(minutes) = config.lead_time_minutes {
            rules.set_lead_time_minutes(minutes);
        }
        if has_rx(cart) {
            rules
                .add_requirement("prescription")
                .add_note("a pharmacist checks the prescriptions before dispatch");
        }
        if cart.lines().any(|line| line.item_flag(AGE_RESTRICTED)) {
            rules
                .add_requirement("age_check")
                .add_note("the recipient's age is checked on handover");
        }
        rules
    }
}

export_order_type!(Medicine, schema = "config.schema.json");

fn has_prescription(line: &Line) -> bool {
    line.line_attribute(PRESCRIPTION_REF)
        .is_some_and(|reference| !reference.trim().is_empty())
}

fn has_rx(cart: &Cart) -> bool {
    cart.lines().any(|line| line.item_flag(RX_REQUIRED))
}

/// Units of one SKU over all its lines.
struct SkuTotal<'a> {
    sku: &'a str,
    quantity: u64,
    last_line_id: &'a str,
}

/// The SKUs of the cart in order of first appearance.
fn skus(cart: &Cart) -> Vec<SkuTotal<'_>> {
    let mut totals: Vec<SkuTotal<'_>> = Vec::new();
    for line in cart.lines() {
        match totals.iter_mut().find(|total| total.sku == line.sku()) {
            Some(total) => {
                total.quantity += u64::from(line.quantity());
                total.last_line_id = line.line_id();
            }
            None => totals.push(SkuTotal {
                sku: line.sku(),
                quantity: u64::from(line.quantity()),
                last_line_id: line.line_id(),
            }),
        }
    }
    totals
}

#[cfg(test)]
mod tests;
