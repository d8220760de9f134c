//! The cart aggregate. Every mutation consumes the cart and returns the new state plus the
//! events it produced; a mutation that changes nothing returns no events and the same
//! version, so callers can skip the write.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use super::catalog::CatalogItem;
use super::ids::{CartId, LineId, TenantId};
use super::line_key::{LineKey, Sku};
use super::money::{Currency, Price};
use super::quantity::{CartLimits, Quantity};
use crate::error::CoreError;

mod events;
pub use events::{CartEvent, RemovedLine, Replaced};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CartStatus {
    Active,
    CheckingOut,
    Converted,
    Merged,
    Expired,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CartStatus::Active => "active",
            CartStatus::CheckingOut => "checking_out",
            CartStatus::Converted => "converted",
            CartStatus::Merged => "merged",
            CartStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(CartStatus::Active),
            "checking_out" => Some(CartStatus::CheckingOut),
            "converted" => Some(CartStatus::Converted),
            "merged" => Some(CartStatus::Merged),
            "expired" => Some(CartStatus::Expired),
            _ => None,
        }
    }

    /// Live carts still belong to their customer's "one cart" slot.
    pub fn is_live(self) -> bool {
        matches!(self, CartStatus::Active | CartStatus::CheckingOut)
    }
}

impl fmt::Display for CartStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may touch a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CartOwner {
    /// A signed-in customer, proven by a customer token.
    Customer(String),
    /// A guest, proven by the cart's own token; only its hash is kept.
    Guest { token_hash: String },
}

impl CartOwner {
    pub fn customer_id(&self) -> Option<&str> {
        match self {
            CartOwner::Customer(id) => Some(id),
            CartOwner::Guest { .. } => None,
        }
    }
}

/// Which side of a merge conflict a line is, while the shopper has not resolved it
/// (`review` merge policy). Both sides share one line key; the next mutation of either
/// resolves the conflict in its favour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewSide {
    /// The line the customer's cart already had.
    Target,
    /// The guest cart's version of the same line.
    Source,
}

impl ReviewSide {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewSide::Target => "target",
            ReviewSide::Source => "source",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "target" => Some(ReviewSide::Target),
            "source" => Some(ReviewSide::Source),
            _ => None,
        }
    }
}

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub id: LineId,
    pub key: LineKey,
    pub quantity: Quantity,
    /// Increments on every change to this line; the per-line logical clock.
    pub line_version: i64,
    /// The catalog price when the line was added, and that price's revision.
    pub unit_price: Price,
    pub price_revision: i64,
    pub category: String,
    pub title: Option<String>,
    /// Set while the line is one side of an unresolved merge conflict.
    pub review: Option<ReviewSide>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Line {
    pub fn sku(&self) -> &Sku {
        &self.key.sku
    }

    pub fn needs_review(&self) -> bool {
        self.review.is_some()
    }

    /// The key the line is stored under: unique within its cart. The source side of a
    /// review conflict shares its line key with the target side, so it is told apart.
    pub fn storage_key(&self) -> String {
        match self.review {
            Some(ReviewSide::Source) => format!("{}#review-source", self.key.canonical()),
            _ => self.key.canonical(),
        }
    }

    /// Unit price × quantity, rounded to the currency.
    pub fn total(&self) -> rust_decimal::Decimal {
        line_total(self.unit_price, self.quantity)
    }
}

/// Unit price × quantity, rounded to the currency's minor unit.
pub fn line_total(unit_price: Price, quantity: Quantity) -> rust_decimal::Decimal {
    let currency = unit_price.currency();
    currency.round(unit_price.amount() * rust_decimal::Decimal::from(quantity.get()))
}

/// The outcome of a mutation.
#[derive(Debug, Clone)]
pub struct Changed {
    pub cart: Cart,
    pub events: Vec<CartEvent>,
}

impl Changed {
    pub(crate) fn unchanged(cart: Cart) -> Self {
        Self {
            cart,
            events: Vec::new(),
        }
    }
}

/// What a mutation needs to know besides its own arguments.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub now: DateTime<Utc>,
    pub limits: CartLimits,
    /// How long the cart lives without activity, for its owner kind.
    pub idle_ttl: Duration,
}

/// A request to add a line.
#[derive(Debug, Clone)]
pub struct AddLine<'a> {
    pub key: LineKey,
    pub quantity: i64,
    pub item: &'a CatalogItem,
    /// The order type the item's category maps to, if any.
    pub order_type: Option<String>,
    /// Empty the cart first if its order type differs.
    pub replace_incompatible: bool,
}

/// Request context passed to order-type plugins (`distance_km`, `age_verified`, …).
pub type Context = BTreeMap<String, String>;

pub const MAX_CONTEXT_ENTRIES: usize = 32;

/// Serializable so a shared cache can hold it; the database stays the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub id: CartId,
    pub tenant_id: TenantId,
    pub owner: CartOwner,
    pub status: CartStatus,
    pub order_type: Option<String>,
    pub currency: Currency,
    /// Increments on every mutation; the ETag.
    pub version: i64,
    /// Lines in the order they were first added.
    pub lines: Vec<Line>,
    pub context: Context,
    pub merged_into: Option<CartId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Cart {
    /// A new, empty, active cart at version 1.
    pub fn new(
        tenant_id: TenantId,
        owner: CartOwner,
        currency: Currency,
        now: DateTime<Utc>,
        idle_ttl: Duration,
    ) -> (Self, CartEvent) {
        let id = CartId::new();
        let cart = Self {
            id,
            tenant_id,
            owner,
            status: CartStatus::Active,
            order_type: None,
            currency,
            version: 1,
            lines: Vec::new(),
            context: Context::new(),
            merged_into: None,
            created_at: now,
            updated_at: now,
            expires_at: now + idle_ttl,
        };
        (cart, CartEvent::CartCreated { cart_id: id })
    }

    pub fn line(&self, id: LineId) -> Option<&Line> {
        self.lines.iter().find(|l| l.id == id)
    }

    /// Sum of the rounded line totals.
    pub fn subtotal(&self) -> rust_decimal::Decimal {
        self.lines.iter().map(Line::total).sum()
    }

    /// Refuses a cart that cannot change (frozen, merged, converted, expired).
    pub fn ensure_active(&self) -> Result<(), CoreError> {
        match self.status {
            CartStatus::Active => Ok(()),
            CartStatus::CheckingOut => Err(CoreError::CartFrozen),
            CartStatus::Merged => Err(match self.merged_into {
                Some(into) => CoreError::CartMerged { into },
                None => CoreError::CartClosed {
                    status: self.status,
                },
            }),
            status => Err(CoreError::CartClosed { status }),
        }
    }

    fn line_index(&self, id: LineId, expected_version: Option<i64>) -> Result<usize, CoreError> {
        let index = self
            .lines
            .iter()
            .position(|l| l.id == id)
            .ok_or(CoreError::LineNotFound)?;
        if let Some(expected) = expected_version {
            let line = &self.lines[index];
            if line.line_version != expected {
                return Err(CoreError::LineConflict {
                    expected,
                    current: Box::new(line.clone()),
                });
            }
        }
        Ok(index)
    }

    /// Resolves a review conflict in favour of the line at `index`: its flag is cleared
    /// and its twin (the other side of the same key) removed. Returns the event, and the
    /// index of the kept line after the removal.
    fn resolve_review(&mut self, index: usize) -> (Option<CartEvent>, usize) {
        let Some(side) = self.lines[index].review else {
            return (None, index);
        };
        let key = self.lines[index].key.clone();
        let kept = self.lines[index].id;
        self.lines[index].review = None;
        let twin = self
            .lines
            .iter()
            .position(|l| l.key == key && l.review.is_some_and(|s| s != side));
        match twin {
            Some(t) => {
                let removed = self.lines.remove(t).id;
                let index = if t < index { index - 1 } else { index };
                (Some(CartEvent::ReviewResolved { kept, removed }), index)
            }
            None => (None, index),
        }
    }

    /// The cart after its owner changed to a customer (adoption at login).
    pub fn adopted(self, rules: &Rules) -> Changed {
        let customer = self.owner.customer_id().map(str::to_owned);
        let event = CartEvent::CartAdopted {
            customer_id: customer.unwrap_or_default(),
        };
        self.touched(rules, vec![event])
    }

    /// The guest cart after a merge absorbed it into `target`: `merged`, pointing at the
    /// cart that took its lines, at the next version. Its lines and idle deadline stay as
    /// they were (a merged cart is ended; retention deletes it later), so the merge record
    /// and a replayed merge still describe what it held.
    pub fn merged_into(mut self, target: CartId, now: DateTime<Utc>) -> Changed {
        self.status = CartStatus::Merged;
        self.merged_into = Some(target);
        self.version += 1;
        self.updated_at = now;
        Changed {
            cart: self,
            events: vec![CartEvent::CartMergedInto { target }],
        }
    }

    /// Records a mutation: bumps the version and the idle deadline.
    pub(crate) fn touched(mut self, rules: &Rules, events: Vec<CartEvent>) -> Changed {
        self.version += 1;
        self.updated_at = rules.now;
        self.expires_at = rules.now + rules.idle_ttl;
        if self.lines.is_empty() {
            self.order_type = None;
        }
        Changed { cart: self, events }
    }

    /// Adds `quantity` of a line key: a new line, or more of the line with the same key.
    pub fn add_line(mut self, add: AddLine<'_>, rules: &Rules) -> Result<Changed, CoreError> {
        self.ensure_active()?;
        let quantity = Quantity::parse(add.quantity, &rules.limits)?;
        let mut events = Vec::new();

        if !self.lines.is_empty() && self.order_type != add.order_type {
            if !add.replace_incompatible {
                return Err(CoreError::IncompatibleOrderType {
                    cart: self.order_type.clone().unwrap_or_else(|| "none".into()),
                    item: add.order_type.clone().unwrap_or_else(|| "none".into()),
                });
            }
            // Emptied, never silently: the event carries what went, for the answer.
            let removed_lines = self.lines.drain(..).map(|l| RemovedLine::of(&l)).collect();
            events.push(CartEvent::CartReplaced(Replaced {
                previous_order_type: self.order_type.clone(),
                order_type: add.order_type.clone(),
                removed_lines,
            }));
        }

        if let Some(found) = self.lines.iter().position(|l| l.key == add.key) {
            let (resolved, index) = self.resolve_review(found);
            events.extend(resolved);
            let line = &mut self.lines[index];
            let from = line.quantity.get();
            let wanted = i64::from(from) + add.quantity;
            let to = Quantity::parse(wanted, &rules.limits)?;
            line.quantity = to;
            line.line_version += 1;
            line.updated_at = rules.now;
            events.push(CartEvent::LineQuantityChanged {
                line_id: line.id,
                from,
                to: to.get(),
            });
        } else {
            let max = rules.limits.max_lines;
            if self.lines.len() >= max as usize {
                return Err(CoreError::TooManyLines { max });
            }
            let line = Line {
                id: LineId::new(),
                key: add.key,
                quantity,
                line_version: 1,
                unit_price: add.item.price,
                price_revision: add.item.price_revision,
                category: add.item.category.clone(),
                title: add.item.title.clone(),
                review: None,
                created_at: rules.now,
                updated_at: rules.now,
            };
            events.push(CartEvent::LineAdded {
                line_id: line.id,
                sku: line.key.sku.clone(),
                quantity: quantity.get(),
            });
            self.lines.push(line);
        }
        self.order_type = add.order_type;
        Ok(self.touched(rules, events))
    }

    /// Sets a line's quantity.
    pub fn set_quantity(
        mut self,
        line_id: LineId,
        quantity: i64,
        expected_line_version: Option<i64>,
        rules: &Rules,
    ) -> Result<Changed, CoreError> {
        self.ensure_active()?;
        let index = self.line_index(line_id, expected_line_version)?;
        let quantity = Quantity::parse(quantity, &rules.limits)?;
        // Touching either side of a merge conflict resolves it in that side's favour.
        let (resolved, index) = self.resolve_review(index);
        let mut events: Vec<CartEvent> = resolved.into_iter().collect();
        let line = &mut self.lines[index];
        if line.quantity == quantity && events.is_empty() {
            return Ok(Changed::unchanged(self));
        }
        let from = line.quantity.get();
        line.quantity = quantity;
        line.line_version += 1;
        line.updated_at = rules.now;
        events.push(CartEvent::LineQuantityChanged {
            line_id,
            from,
            to: quantity.get(),
        });
        Ok(self.touched(rules, events))
    }

    /// Removes a line.
    pub fn remove_line(
        mut self,
        line_id: LineId,
        expected_line_version: Option<i64>,
        rules: &Rules,
    ) -> Result<Changed, CoreError> {
        self.ensure_active()?;
        let index = self.line_index(line_id, expected_line_version)?;
        let line = self.lines.remove(index);
        // Removing one side of a merge conflict leaves the other side, no longer in doubt.
        if let Some(side) = line.review
            && let Some(twin) = self
                .lines
                .iter_mut()
                .find(|l| l.key == line.key && l.review.is_some_and(|s| s != side))
        {
            twin.review = None;
        }
        let event = CartEvent::LineRemoved {
            line_id,
            sku: line.key.sku,
        };
        Ok(self.touched(rules, vec![event]))
    }

    /// Removes every line.
    pub fn clear(mut self, rules: &Rules) -> Result<Changed, CoreError> {
        self.ensure_active()?;
        if self.lines.is_empty() {
            return Ok(Changed::unchanged(self));
        }
        let removed_lines = self.lines.len();
        self.lines.clear();
        Ok(self.touched(rules, vec![CartEvent::CartCleared { removed_lines }]))
    }

    /// Replaces the request context.
    pub fn set_context(mut self, context: Context, rules: &Rules) -> Result<Changed, CoreError> {
        self.ensure_active()?;
        validate_context(&context)?;
        if self.context == context {
            return Ok(Changed::unchanged(self));
        }
        let keys = context.len();
        self.context = context;
        Ok(self.touched(rules, vec![CartEvent::ContextReplaced { keys }]))
    }
}

fn validate_context(context: &Context) -> Result<(), CoreError> {
    if context.len() > MAX_CONTEXT_ENTRIES {
        return Err(CoreError::InvalidInput(format!(
            "the context holds at most {MAX_CONTEXT_ENTRIES} entries"
        )));
    }
    for (k, v) in context {
        let key_ok = !k.is_empty()
            && k.len() <= 64
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !key_ok {
            return Err(CoreError::InvalidInput(format!(
                "context key `{k}` must be 1-64 characters of letters, digits and _ . -"
            )));
        }
        if v.len() > 256 {
            return Err(CoreError::InvalidInput(format!(
                "context value for `{k}` is longer than 256 characters"
            )));
        }
    }
    Ok(())
}

mod freeze;
#[cfg(test)]
mod tests;
