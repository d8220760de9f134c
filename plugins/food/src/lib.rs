//! The `food` order type (SPEC §5): restaurant orders.
//!
//! - **One outlet** (`food.one_outlet`, `reject`): every line comes from one outlet (the
//!   line's `seller`). The first seller in the cart is the outlet; a line from another one
//!   is rejected, and the violation names that line. Lines without a seller are not judged.
//! - **Minimum order** (`food.min_order`, `block_checkout`): a non-empty cart below
//!   `min_order` cannot check out.
//! - **Delivery fee** (`food.delivery`) by the `distance_km` request context, from the
//!   first band (sorted by `max_km`) whose `max_km` is at least the distance. A delivered
//!   cart cannot check out (`block_checkout`) when the distance is:
//!   - missing (`food.distance_required`): the fee is unknown until the storefront says
//!     where the order goes, so no delivery fee is listed yet;
//!   - not a non-negative decimal (`food.distance_invalid`);
//!   - beyond the last band (`food.out_of_range`).
//!
//!   A cart is picked up, not delivered, when every line asks for `pickup`; it needs no
//!   distance and pays no delivery fee. With no bands configured delivery is free and has
//!   no range limit.
//! - **Service fee** (`food.service`): `service_fee_percent` of the subtotal, capped at
//!   `service_fee_cap`, rounded half away from zero to the currency's minor units (cents;
//!   none for JPY, VND …). Delivery fees are rounded the same way.
//! - **Opening hours** (`food.outlet_closed`, `block_checkout`): when the storefront sends
//!   `local_time` (`HH:MM`, the outlet's local time), an outlet outside its hours
//!   (`outlet_hours` for that seller, else `opening_hours`) cannot take the order. Without
//!   `local_time` the hours are not checked; a malformed one blocks checkout
//!   (`food.local_time_invalid`), since whether the outlet is open cannot be told.
//!
//! Fulfillment: the configured modes and lead time; the maximum distance is the last
//! band's `max_km`. Fees of zero are not listed. An empty cart has no violations and no fees.

mod hours;

use trolley_plugin_sdk::prelude::*;

pub use hours::{ClockTime, OpeningHours};

/// Request context key: the delivery distance in kilometres, a decimal string.
pub const DISTANCE_KM: &str = "distance_km";
/// Request context key: the outlet's local time of day, `HH:MM`.
pub const LOCAL_TIME: &str = "local_time";
/// The line fulfillment mode that needs no delivery.
pub const PICKUP: &str = "pickup";

/// Tenant configuration of the food order type. Every field is optional: an empty
/// configuration takes the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Smallest subtotal that can check out (decimal string; "0" turns it off).
    pub min_order: Decimal,
    /// Delivery fee by distance: the first band (by ascending `max_km`) whose `max_km` is
    /// at least the cart's `distance_km` applies; beyond the last band the cart cannot be
    /// delivered. Empty: free delivery at any distance.
    pub delivery_bands: Vec<DeliveryBand>,
    /// Service fee as a percentage of the subtotal (decimal string, "5" = 5 %; "0" turns it
    /// off).
    pub service_fee_percent: Decimal,
    /// Most the service fee can be (decimal string); `null` means no cap.
    pub service_fee_cap: Option<Decimal>,
    /// Opening hours of outlets not listed in `outlet_hours`.
    pub opening_hours: OpeningHours,
    /// Opening hours per outlet (keyed by the line's `seller`).
    pub outlet_hours: BTreeMap<String, OpeningHours>,
    /// Fulfillment modes a food cart may use; empty means any.
    pub allowed_modes: Vec<String>,
    /// Minimum minutes between checkout and delivery or pickup, if any.
    pub lead_time_minutes: Option<u32>,
}

/// One delivery distance band.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryBand {
    /// Farthest distance of the band, in kilometres (decimal string), included.
    pub max_km: Decimal,
    /// Delivery fee within the band (decimal string).
    pub fee: Decimal,
}

const TEN: ClockTime = match ClockTime::new(10, 0) {
    Some(time) => time,
    None => panic!("10:00 is a time of day"),
};
const TWENTY_TWO: ClockTime = match ClockTime::new(22, 0) {
    Some(time) => time,
    None => panic!("22:00 is a time of day"),
};

impl Default for Config {
    fn default() -> Self {
        Self {
            min_order: Decimal::new(1000, 2),
            delivery_bands: vec![
                DeliveryBand {
                    max_km: Decimal::from(3),
                    fee: Decimal::new(199, 2),
                },
                DeliveryBand {
                    max_km: Decimal::from(7),
                    fee: Decimal::new(399, 2),
                },
            ],
            service_fee_percent: Decimal::from(5),
            service_fee_cap: Some(Decimal::new(400, 2)),
            opening_hours: OpeningHours {
                open: TEN,
                close: TWENTY_TWO,
            },
            outlet_hours: BTreeMap::new(),
            allowed_modes: vec!["delivery".to_owned(), PICKUP.to_owned()],
            lead_time_minutes: Some(30),
        }
    }
}

impl Config {
    /// The bands sorted by distance.
    fn bands(&self) -> Vec<&DeliveryBand> {
        let mut bands: Vec<_> = self.delivery_bands.iter().collect();
        bands.sort_by_key(|band| band.max_km);
        bands
    }

    /// The hours of one outlet (`None`: a line without seller).
    fn hours_of(&self, outlet: Option<&str>) -> &OpeningHours {
        outlet
            .and_then(|outlet| self.outlet_hours.get(outlet))
            .unwrap_or(&self.opening_hours)
    }
}

/// The food order type.
pub struct Food;

impl OrderType for Food {
    type Config = Config;

    fn describe() -> PluginInfo {
        PluginInfo::new("food", env!("CARGO_PKG_VERSION")).name("Food delivery")
    }

    fn validate(cart: &Cart, config: &Config) -> Vec<Violation> {
        if cart.is_empty() {
            return Vec::new();
        }
        let mut violations = one_outlet(cart);
        if cart.subtotal() < config.min_order {
            violations.push(Violation::block_checkout(
                "food.min_order",
                format!(
                    "the minimum order is {} {} (this one is {})",
                    config.min_order,
                    cart.currency(),
                    cart.subtotal()
                ),
            ));
        }
        match delivery(cart, config) {
            Delivery::NotNeeded | Delivery::Fee(_) => {}
            Delivery::DistanceMissing => violations.push(
                Violation::block_checkout(
                    "food.distance_required",
                    "tell us where to deliver: the delivery distance is needed before checkout",
                )
                .context_key(DISTANCE_KM),
            ),
            Delivery::DistanceInvalid(text) => violations.push(
                Violation::block_checkout(
                    "food.distance_invalid",
                    format!("the delivery distance `{text}` is not a number of kilometres"),
                )
                .context_key(DISTANCE_KM),
            ),
            Delivery::OutOfRange { distance, max_km } => {
                violations.push(
                    Violation::block_checkout(
                        "food.out_of_range",
                        format!("{distance} km is too far: this outlet delivers up to {max_km} km"),
                    )
                    .context_key(DISTANCE_KM),
                );
            }
        }
        violations.extend(closed_outlets(cart, config));
        violations
    }

    fn calculate_fees(cart: &Cart, config: &Config) -> Vec<Fee> {
        if cart.is_empty() {
            return Vec::new();
        }
        let mut fees = Vec::new();
        if let Delivery::Fee(fee) = delivery(cart, config) {
            let fee = cart.round_money(fee);
            if fee > Decimal::ZERO {
                fees.extend(Fee::new("food.delivery", "Delivery", fee).ok());
            }
        }
        let service = service_fee(cart, config);
        if service > Decimal::ZERO {
            fees.extend(Fee::new("food.service", "Service fee", service).ok());
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
        if let Some(outlet) = outlets(cart).first() {
            rules.add_note(format!(
                "{outlet} takes orders {}",
                config.hours_of(Some(outlet))
            ));
        }
        if let Some(last) = config.bands().last() {
            // A negative band limit is refused (the rules keep no distance then).
            let _ = rules.set_max_distance_km(last.max_km);
        }
        rules
    }
}

export_order_type!(Food, schema = "config.schema.json");

/// The distinct sellers, in cart order.
fn outlets(cart: &Cart) -> Vec<&str> {
    let mut outlets: Vec<&str> = Vec::new();
    for seller in cart.lines().filter_map(Line::seller) {
        if !outlets.contains(&seller) {
            outlets.push(seller);
        }
    }
    outlets
}

/// The first seller is the cart's outlet; every line from another one is rejected.
fn one_outlet(cart: &Cart) -> Vec<Violation> {
    let Some(outlet) = outlets(cart).first().copied() else {
        return Vec::new();
    };
    cart.lines()
        .filter(|line| line.seller().is_some_and(|seller| seller != outlet))
        .map(|line| {
            Violation::reject(
                "food.one_outlet",
                format!(
                    "one restaurant per order: this cart is from {outlet}, {} is another",
                    line.seller().unwrap_or_default()
                ),
            )
            .for_line(line.line_id())
            .field("seller")
        })
        .collect()
}

/// What delivering the cart costs, or why that cannot be told.
enum Delivery {
    NotNeeded,
    Fee(Decimal),
    DistanceMissing,
    DistanceInvalid(String),
    OutOfRange { distance: Decimal, max_km: Decimal },
}

fn delivery(cart: &Cart, config: &Config) -> Delivery {
    let bands = config.bands();
    let Some(last) = bands.last() else {
        return Delivery::NotNeeded;
    };
    if is_pickup(cart) {
        return Delivery::NotNeeded;
    }
    let Some(text) = cart.context(DISTANCE_KM) else {
        return Delivery::DistanceMissing;
    };
    let distance = match Decimal::from_str_exact(text.trim()) {
        Ok(distance) if distance >= Decimal::ZERO => distance,
        _ => return Delivery::DistanceInvalid(text.to_owned()),
    };
    match bands.iter().find(|band| distance <= band.max_km) {
        Some(band) => Delivery::Fee(band.fee),
        None => Delivery::OutOfRange {
            distance,
            max_km: last.max_km,
        },
    }
}

fn is_pickup(cart: &Cart) -> bool {
    !cart.is_empty() && cart.lines().all(|line| line.fulfillment() == Some(PICKUP))
}

/// `percent` of the subtotal, capped, then rounded to the currency.
fn service_fee(cart: &Cart, config: &Config) -> Decimal {
    if config.service_fee_percent <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    let raw = cart.subtotal() * config.service_fee_percent / Decimal::ONE_HUNDRED;
    let capped = match config.service_fee_cap {
        Some(cap) => raw.min(cap),
        None => raw,
    };
    cart.round_money(capped)
}

fn closed_outlets(cart: &Cart, config: &Config) -> Vec<Violation> {
    let Some(text) = cart.context(LOCAL_TIME) else {
        return Vec::new();
    };
    let Some(now) = ClockTime::parse(text) else {
        return vec![
            Violation::block_checkout(
                "food.local_time_invalid",
                format!("the local time `{text}` is not a time of day (HH:MM)"),
            )
            .context_key(LOCAL_TIME),
        ];
    };
    let outlets = outlets(cart);
    let judged: Vec<Option<&str>> = if outlets.is_empty() {
        vec![None]
    } else {
        outlets.into_iter().map(Some).collect()
    };
    judged
        .into_iter()
        .filter_map(|outlet| {
            let hours = config.hours_of(outlet);
            (!hours.is_open_at(now)).then(|| {
                Violation::block_checkout(
                    "food.outlet_closed",
                    format!(
                        "{} is closed at {now}: it takes orders {hours}",
                        outlet.unwrap_or("the restaurant")
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
