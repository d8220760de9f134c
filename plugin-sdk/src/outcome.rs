//! What a plugin answers about a cart: violations, fees, and the whole evaluation.

use rust_decimal::Decimal;

use crate::FulfillmentRules;

/// How hard a [`Violation`] bites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Refuses the mutation that caused it (the line is not added, the quantity not set).
    Reject,
    /// The cart may exist but cannot check out.
    BlockCheckout,
    /// Shown to the shopper only.
    Warning,
}

/// A rule the cart breaks, with a stable machine-readable code (`food.one_outlet`) and a
/// message for people.
///
/// ```
/// use trolley_plugin_sdk::{Severity, Violation};
/// let v = Violation::reject("medicine.prescription_required", "a prescription is needed")
///     .for_line("line-1");
/// assert_eq!(v.severity(), Severity::Reject);
/// assert_eq!(v.line_id(), Some("line-1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    code: String,
    message: String,
    line_id: Option<String>,
    severity: Severity,
}

impl Violation {
    /// A violation of any severity.
    pub fn new(severity: Severity, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            line_id: None,
            severity,
        }
    }

    /// Refuses the mutation that caused it. Name the line at fault with
    /// [`Violation::for_line`] when there is one: the host then refuses only growing that
    /// line (or a mutation that makes the violation appear), while a line-less `reject`
    /// refuses every addition to the cart as long as it stands.
    pub fn reject(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Reject, code, message)
    }

    /// Lets the cart exist but refuses checkout.
    pub fn block_checkout(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::BlockCheckout, code, message)
    }

    /// Shown only.
    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    /// Ties the violation to one line (use [`Line::line_id`](crate::Line::line_id)).
    #[must_use]
    pub fn for_line(mut self, line_id: impl Into<String>) -> Self {
        self.line_id = Some(line_id.into());
        self
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The line it is about, if any.
    pub fn line_id(&self) -> Option<&str> {
        self.line_id.as_deref()
    }

    /// How hard it bites.
    pub fn severity(&self) -> Severity {
        self.severity
    }
}

/// A fee the cart carries, in the cart's currency: `Fee::new("grocery.bag", "Bags", amount)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    code: String,
    label: String,
    amount: Decimal,
    /// Sent instead of `amount` when set: only for fixtures that test how the host treats
    /// malformed plugin output.
    raw_amount: Option<String>,
}

impl Fee {
    /// A fee with a stable code, a label for people and an exact amount.
    pub fn new(code: impl Into<String>, label: impl Into<String>, amount: Decimal) -> Self {
        Self {
            code: code.into(),
            label: label.into(),
            amount,
            raw_amount: None,
        }
    }

    /// A fee whose amount is sent as this exact string, decimal or not. Exists so test
    /// fixtures can send the host malformed money; a real plugin has no use for it.
    #[doc(hidden)]
    pub fn __unchecked_raw_amount(
        code: impl Into<String>,
        label: impl Into<String>,
        raw_amount: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            label: label.into(),
            amount: Decimal::ZERO,
            raw_amount: Some(raw_amount.into()),
        }
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The label shown to the shopper.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The amount as it crosses the boundary.
    pub(crate) fn wire_amount(&self) -> String {
        match &self.raw_amount {
            Some(raw) => raw.clone(),
            None => self.amount.to_string(),
        }
    }
}

/// Everything an order type says about one cart: what the host's `evaluate` answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evaluation {
    /// The rules the cart breaks.
    pub violations: Vec<Violation>,
    /// The fees it carries.
    pub fees: Vec<Fee>,
    /// How it can be fulfilled.
    pub fulfillment: FulfillmentRules,
}

impl Evaluation {
    /// The first violation with this code.
    pub fn violation(&self, code: &str) -> Option<&Violation> {
        self.violations.iter().find(|v| v.code == code)
    }

    /// `true` when some violation has this code.
    pub fn has_violation(&self, code: &str) -> bool {
        self.violation(code).is_some()
    }

    /// The codes of all violations, in order.
    pub fn violation_codes(&self) -> Vec<&str> {
        self.violations.iter().map(Violation::code).collect()
    }

    /// The first fee with this code.
    pub fn fee(&self, code: &str) -> Option<&Fee> {
        self.fees.iter().find(|f| f.code == code)
    }

    /// The amount of the first fee with this code.
    pub fn fee_amount(&self, code: &str) -> Option<Decimal> {
        self.fee(code).map(Fee::amount)
    }

    /// The sum of all fees.
    pub fn total_fees(&self) -> Decimal {
        self.fees.iter().map(Fee::amount).sum()
    }

    /// `true` when no violation rejects the cart's last mutation.
    pub fn is_accepted(&self) -> bool {
        !self
            .violations
            .iter()
            .any(|v| v.severity == Severity::Reject)
    }

    /// `true` when no violation rejects or blocks checkout.
    pub fn can_check_out(&self) -> bool {
        self.violations
            .iter()
            .all(|v| v.severity == Severity::Warning)
    }
}
