//! What a plugin answers about a cart: violations, fees, and the whole evaluation.

use crate::Decimal;

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
///
/// // Name what the shopper changes to fix it: the storefront can point at that field.
/// let v = v.line_attribute("prescription_ref");
/// assert_eq!(v.field_name(), Some("attributes.prescription_ref"));
/// let v = Violation::block_checkout("snacks.age", "confirm your age").context_key("age_verified");
/// assert_eq!(v.field_name(), Some("context.age_verified"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    code: String,
    message: String,
    line_id: Option<String>,
    severity: Severity,
    field: Option<String>,
}

impl Violation {
    /// A violation of any severity.
    pub fn new(severity: Severity, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            line_id: None,
            severity,
            field: None,
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

    /// Names what the shopper changes to fix it: `quantity`, `seller` or `fulfillment` (of the
    /// line named with [`Violation::for_line`]), `attributes.<key>` (an attribute of that
    /// line) or `context.<key>` (a request context key). `<key>` is made of
    /// `[A-Za-z0-9_.:-]`. Anything else makes the host refuse the answer; the test harness
    /// refuses it too. Prefer [`Violation::line_attribute`] and [`Violation::context_key`].
    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// `.field("attributes.<key>")`: the line attribute that fixes it (name the line with
    /// [`Violation::for_line`] too).
    #[must_use]
    pub fn line_attribute(self, key: &str) -> Self {
        self.field(format!("attributes.{key}"))
    }

    /// `.field("context.<key>")`: the request context key that fixes it
    /// (`delivery_slot`, `age_verified` …).
    #[must_use]
    pub fn context_key(self, key: &str) -> Self {
        self.field(format!("context.{key}"))
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// What the shopper changes to fix it, if named.
    pub fn field_name(&self) -> Option<&str> {
        self.field.as_deref()
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

/// A negative fee amount or distance, which the host refuses: a discount is not a fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NegativeAmount(pub Decimal);

impl std::fmt::Display for NegativeAmount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is negative (fees and distances cannot be)", self.0)
    }
}

impl std::error::Error for NegativeAmount {}

/// A fee the cart carries, in the cart's currency:
/// `Fee::new("grocery.bag", "Bags", amount)?`.
///
/// The amount cannot be negative (the host refuses negative fees: a discount is not a fee),
/// so [`Fee::new`] returns a `Result`. When the amount comes from a computation that cannot be
/// negative, or a negative one means "no fee", keep the fees that exist:
///
/// ```
/// use trolley_plugin_sdk::{Decimal, Fee};
/// let mut fees = Vec::new();
/// fees.extend(Fee::new("shop.bags", "Bags", Decimal::new(30, 2)).ok());
/// assert!(Fee::new("shop.refund", "Refund", Decimal::new(-5, 0)).is_err());
/// assert_eq!(fees.len(), 1);
/// ```
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
    /// A fee with a stable code, a label for people and an exact, non-negative amount.
    ///
    /// # Errors
    /// [`NegativeAmount`] when `amount` is below zero (`-0` is zero).
    pub fn new(
        code: impl Into<String>,
        label: impl Into<String>,
        amount: Decimal,
    ) -> Result<Self, NegativeAmount> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(NegativeAmount(amount));
        }
        Ok(Self {
            code: code.into(),
            label: label.into(),
            amount,
            raw_amount: None,
        })
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
            None => self.amount.to_plain_string(),
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
