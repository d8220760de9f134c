//! How a cart can be fulfilled.

use crate::Decimal;

/// Fulfillment rules for a cart, built up step by step:
///
/// ```
/// use trolley_plugin_sdk::{Decimal, FulfillmentRules};
/// let mut rules = FulfillmentRules::new()
///     .allow_mode("delivery")
///     .allow_mode("pickup")
///     .lead_time_minutes(30)
///     .require("age_check")
///     .note("ID is checked at the door");
/// // A distance cannot be negative: the setter refuses one.
/// rules.set_max_distance_km(Decimal::new(7, 0)).unwrap();
/// assert!(rules.set_max_distance_km(Decimal::new(-1, 0)).is_err());
/// assert!(rules.requires("age_check"));
/// ```
///
/// Every builder method also has a `&mut self` twin (`add_requirement`, `add_note` …) for
/// rules that grow in loops.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FulfillmentRules {
    allowed_modes: Vec<String>,
    lead_time_minutes: Option<u32>,
    requirements: Vec<String>,
    max_distance_km: Option<Decimal>,
    notes: Vec<String>,
}

impl FulfillmentRules {
    /// No constraint: any mode, no lead time, no requirement.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows one more fulfillment mode (`delivery`, `pickup` …). No allowed mode at all
    /// means any mode. Duplicates are ignored.
    #[must_use]
    pub fn allow_mode(mut self, mode: impl Into<String>) -> Self {
        self.add_allowed_mode(mode);
        self
    }

    /// [`allow_mode`](Self::allow_mode) in place.
    pub fn add_allowed_mode(&mut self, mode: impl Into<String>) -> &mut Self {
        push_unique(&mut self.allowed_modes, mode.into());
        self
    }

    /// The minimum time between checkout and fulfillment.
    #[must_use]
    pub fn lead_time_minutes(mut self, minutes: u32) -> Self {
        self.set_lead_time_minutes(minutes);
        self
    }

    /// [`lead_time_minutes`](Self::lead_time_minutes) in place; keeps the longer of two.
    pub fn set_lead_time_minutes(&mut self, minutes: u32) -> &mut Self {
        self.lead_time_minutes = Some(self.lead_time_minutes.map_or(minutes, |m| m.max(minutes)));
        self
    }

    /// Adds a requirement (`cold_chain`, `age_check`, `prescription`, `delivery_slot` …).
    /// Duplicates are ignored.
    #[must_use]
    pub fn require(mut self, requirement: impl Into<String>) -> Self {
        self.add_requirement(requirement);
        self
    }

    /// [`require`](Self::require) in place.
    pub fn add_requirement(&mut self, requirement: impl Into<String>) -> &mut Self {
        push_unique(&mut self.requirements, requirement.into());
        self
    }

    /// The farthest the cart can be delivered, in kilometres.
    ///
    /// # Errors
    /// [`NegativeAmount`](crate::NegativeAmount) for a negative distance, which the host
    /// refuses.
    pub fn max_distance_km(mut self, km: Decimal) -> Result<Self, crate::NegativeAmount> {
        self.set_max_distance_km(km)?;
        Ok(self)
    }

    /// [`max_distance_km`](Self::max_distance_km) in place.
    ///
    /// # Errors
    /// [`NegativeAmount`](crate::NegativeAmount) for a negative distance (nothing changes).
    pub fn set_max_distance_km(&mut self, km: Decimal) -> Result<&mut Self, crate::NegativeAmount> {
        if km.is_sign_negative() && !km.is_zero() {
            return Err(crate::NegativeAmount(km));
        }
        self.max_distance_km = Some(km);
        Ok(self)
    }

    /// Adds a note for the shopper or the fulfiller.
    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.add_note(note);
        self
    }

    /// [`note`](Self::note) in place.
    pub fn add_note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    /// The allowed modes; empty means any.
    pub fn allowed_modes(&self) -> &[String] {
        &self.allowed_modes
    }

    /// The lead time, if any.
    pub fn lead_time(&self) -> Option<u32> {
        self.lead_time_minutes
    }

    /// The requirements, in the order they were added.
    pub fn requirements(&self) -> &[String] {
        &self.requirements
    }

    /// `true` when the rules carry this requirement.
    pub fn requires(&self, requirement: &str) -> bool {
        self.requirements.iter().any(|r| r == requirement)
    }

    /// The maximum delivery distance in kilometres, if any.
    pub fn max_distance(&self) -> Option<Decimal> {
        self.max_distance_km
    }

    /// The notes.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}
