//! The `grocery` order type (SPEC §5).
//!
//! - **Quantity cap**: the total quantity of a cart (all lines) may not exceed
//!   `max_total_quantity` → `reject` (`grocery.max_quantity`).
//! - **Cold chain**: a line whose catalog item has `cold_chain=true` needs a
//!   `delivery_slot` in the request context before checkout → `block_checkout`
//!   (`grocery.delivery_slot_required`, one per such line); the cart's fulfillment then
//!   requires `cold_chain` and `delivery_slot`.
//! - **Small-basket fee** (`grocery.small_basket`): a non-empty cart whose subtotal is below
//!   `small_basket_threshold` pays `small_basket_fee`.
//! - **Bag fee** (`grocery.bags`): `bag_fee` per *started* group of `items_per_bag` items,
//!   counted by total quantity (11 items at 5 per bag → 3 bags).
//!
//! Fees are rounded to the cart currency's minor units; fees of zero are not listed. Every
//! threshold and amount comes from the tenant configuration ([`Config`]); money is a decimal
//! string there.

use trolley_plugin_sdk::prelude::*;

/// Catalog item attribute marking goods that must stay cold.
pub const COLD_CHAIN: &str = "cold_chain";
/// Request context key of the chosen delivery slot.
pub const DELIVERY_SLOT: &str = "delivery_slot";

/// Tenant configuration of the grocery order type. Every field is optional: an empty
/// configuration takes the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Most units (sum of all line quantities) one cart may hold; adding beyond it is
    /// rejected. `null` means no limit.
    #[schemars(range(min = 1))]
    pub max_total_quantity: Option<u32>,
    /// A non-empty cart whose subtotal is below this amount pays the small-basket fee
    /// (decimal string; "0" turns the fee off).
    pub small_basket_threshold: Decimal,
    /// The small-basket fee (decimal string).
    pub small_basket_fee: Decimal,
    /// Fee per started group of `items_per_bag` items (decimal string; "0" turns it off).
    pub bag_fee: Decimal,
    /// How many items fit in one bag; 0 turns the bag fee off.
    pub items_per_bag: u32,
    /// Fulfillment modes a grocery cart may use; empty means any.
    pub allowed_modes: Vec<String>,
    /// Minimum minutes between checkout and fulfillment, if any.
    pub lead_time_minutes: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_total_quantity: Some(50),
            small_basket_threshold: Decimal::new(1500, 2),
            small_basket_fee: Decimal::new(299, 2),
            bag_fee: Decimal::new(10, 2),
            items_per_bag: 5,
            allowed_modes: vec!["delivery".to_owned(), "pickup".to_owned()],
            lead_time_minutes: Some(60),
        }
    }
}

/// The grocery order type.
pub struct Grocery;

impl OrderType for Grocery {
    type Config = Config;

    fn describe() -> PluginInfo {
        PluginInfo::new("grocery", env!("CARGO_PKG_VERSION")).name("Grocery")
    }

    fn validate(cart: &Cart, config: &Config) -> Vec<Violation> {
        let mut violations = Vec::new();
        let total = cart.total_quantity();
        if let Some(max) = config.max_total_quantity
            && total > u64::from(max)
        {
            violations.push(Violation::reject(
                "grocery.max_quantity",
                format!("a grocery order holds at most {max} items (this one has {total})"),
            ));
        }
        if !has_delivery_slot(cart) {
            for line in cold_chain_lines(cart) {
                violations.push(
                    Violation::block_checkout(
                        "grocery.delivery_slot_required",
                        format!(
                            "{} must stay cold: choose a delivery slot before checkout",
                            line.sku()
                        ),
                    )
                    .for_line(line.line_id())
                    .context_key(DELIVERY_SLOT),
                );
            }
        }
        violations
    }

    fn calculate_fees(cart: &Cart, config: &Config) -> Vec<Fee> {
        if cart.is_empty() {
            return Vec::new();
        }
        let mut fees = Vec::new();
        let small_basket_fee = cart.round_money(config.small_basket_fee);
        if cart.subtotal() < config.small_basket_threshold && small_basket_fee > Decimal::ZERO {
            fees.extend(
                Fee::new(
                    "grocery.small_basket",
                    format!("Small basket (under {})", config.small_basket_threshold),
                    small_basket_fee,
                )
                .ok(),
            );
        }
        let bags = bags_needed(cart.total_quantity(), config.items_per_bag);
        let bag_fee = cart.round_money(config.bag_fee * Decimal::from(bags));
        if bag_fee > Decimal::ZERO {
            let label = if bags == 1 {
                "Bag".to_owned()
            } else {
                format!("Bags ({bags})")
            };
            fees.extend(Fee::new("grocery.bags", label, bag_fee).ok());
        }
        fees
    }

    fn fulfillment_rules(cart: &Cart, config: &Config) -> FulfillmentRules {
        let mut rules = FulfillmentRules::new();
        for mode in &config.allowed_modes {
            rules.add_allowed_mode(mode.as_str());
        }
        if let Some(minutes) = config.lead_time_minutes {
            rules.set_lead_time_minutes(minutes);
        }
        if cold_chain_lines(cart).next().is_some() {
            rules
                .add_requirement("cold_chain")
                .add_requirement("delivery_slot")
                .add_note("contains chilled or frozen items");
        }
        rules
    }
}

export_order_type!(Grocery, schema = "config.schema.json");

fn cold_chain_lines(cart: &Cart) -> impl Iterator<Item = &Line> {
    cart.lines().filter(|line| line.item_flag(COLD_CHAIN))
}

fn has_delivery_slot(cart: &Cart) -> bool {
    cart.context(DELIVERY_SLOT)
        .is_some_and(|slot| !slot.trim().is_empty())
}

/// Started bags: `ceil(items / per_bag)`; none when bags are off.
fn bags_needed(items: u64, per_bag: u32) -> u64 {
    if per_bag == 0 {
        0
    } else {
        items.div_ceil(u64::from(per_bag))
    }
}

#[cfg(test)]
mod tests;
