//! Login as a convergence event (SPEC §3): a guest cart's lines meet a customer cart's,
//! matched on line keys (never on sku alone), under a policy. Every line of either cart gets
//! an outcome class, so the answer alone explains what the merge did to what the shopper
//! asked for.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

use super::cart::{Cart, CartEvent, Changed, Line, ReviewSide, Rules};
use super::catalog::CatalogItem;
use super::ids::LineId;
use super::line_key::Sku;
use super::quantity::Quantity;
use super::tenant::MergePolicy;
use crate::error::CoreError;

/// What happened to one line key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Only the guest cart had it: added.
    Added,
    /// Both had it: quantities added (`sum`).
    Summed,
    /// The customer cart's line stands (only it had the key, or its version won).
    KeptTarget,
    /// The guest cart's version of a shared key won.
    KeptSource,
    /// Both versions are kept side by side, flagged `needs_review` (`review`).
    ConflictSurfaced,
    /// Cut to the quantity or line limit; `quantity` says what is left (0: not added).
    Capped,
    /// The sku left the catalog: not added.
    DroppedUnavailable,
    /// Not moved: the guest line stays in the guest cart, which stays active (its order
    /// type differs from the customer cart's, `reason` says so). Nothing is lost: the
    /// shopper can still see, change or check out that cart with its token.
    LeftInSource,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Added => "added",
            Outcome::Summed => "summed",
            Outcome::KeptTarget => "kept_target",
            Outcome::KeptSource => "kept_source",
            Outcome::ConflictSurfaced => "conflict_surfaced",
            Outcome::Capped => "capped",
            Outcome::DroppedUnavailable => "dropped_unavailable",
            Outcome::LeftInSource => "left_in_source",
        }
    }
}

/// The outcome for one line key, with the quantities before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineOutcome {
    /// Canonical line key.
    pub line_key: String,
    pub sku: String,
    /// The resulting line in the customer cart (none when nothing was added).
    pub line_id: Option<LineId>,
    pub outcome: Outcome,
    pub target_quantity: Option<u32>,
    pub source_quantity: Option<u32>,
    /// The quantity in the merged cart (0 when nothing was added).
    pub quantity: u32,
    /// Why, when the class alone does not say (`max_quantity`, `max_lines`,
    /// `incompatible_order_type`, `not_in_catalog`).
    pub reason: Option<String>,
}

/// A merge's result: the merged customer cart and every line's outcome.
#[derive(Debug, Clone)]
pub struct Merged {
    pub changed: Changed,
    pub outcomes: Vec<LineOutcome>,
    /// Whether the guest cart was absorbed (it becomes `merged`). When false, nothing
    /// moved: the customer cart is unchanged (no events), the guest cart stays as it is.
    pub absorbed: bool,
}

/// Counts per outcome class, for the event and for metrics.
pub fn counts(outcomes: &[LineOutcome]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for o in outcomes {
        *counts.entry(o.outcome.as_str().to_owned()).or_insert(0) += 1;
    }
    counts
}

impl Cart {
    /// Absorbs `source` (a guest cart) into this customer cart under `policy`.
    /// `catalog` holds the current items of the source's skus; a sku missing from it has
    /// left the catalog. `stock` caps the units a merged line may reach for skus whose
    /// stock is checked (`soft`/`reserve`); a line the merge would raise above it is capped
    /// (never below what the customer cart already had), a new line with no stock at all is
    /// dropped. The source cart itself is not changed here.
    pub fn absorb(
        mut self,
        source: &Cart,
        policy: MergePolicy,
        catalog: &HashMap<Sku, CatalogItem>,
        stock: &HashMap<Sku, i64>,
        rules: &Rules,
    ) -> Result<Merged, CoreError> {
        self.ensure_active()?;
        source.ensure_active()?;
        let limits = rules.limits;
        let mut outcomes = Vec::new();
        // Lines of the target first: each is kept unless the source changes it below.
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for (i, line) in self.lines.iter().enumerate() {
            by_key.entry(line.key.canonical()).or_insert(i);
        }
        let incompatible = !self.lines.is_empty()
            && !source.lines.is_empty()
            && self.order_type != source.order_type;
        if incompatible {
            return Ok(self.left_apart(source));
        }
        if self.lines.is_empty() {
            self.order_type = source.order_type.clone();
        }
        let mut touched_target: Vec<bool> = vec![false; self.lines.len()];

        for s in &source.lines {
            let key = s.key.canonical();
            let mut outcome = LineOutcome {
                line_key: key.clone(),
                sku: s.key.sku.to_string(),
                line_id: None,
                outcome: Outcome::Added,
                target_quantity: None,
                source_quantity: Some(s.quantity.get()),
                quantity: 0,
                reason: None,
            };
            if !catalog.contains_key(s.sku()) {
                outcome.outcome = Outcome::DroppedUnavailable;
                outcome.reason = Some("not_in_catalog".into());
                outcomes.push(outcome);
                continue;
            }
            match by_key.get(&key).copied() {
                None => {
                    if self.lines.len() >= limits.max_lines as usize {
                        outcome.outcome = Outcome::Capped;
                        outcome.reason = Some("max_lines".into());
                        outcomes.push(outcome);
                        continue;
                    }
                    let mut line = copied(s, rules, None);
                    if let Some(&available) = stock.get(s.sku())
                        && i64::from(line.quantity.get()) > available
                    {
                        if available <= 0 {
                            outcome.outcome = Outcome::DroppedUnavailable;
                            outcome.reason = Some("out_of_stock".into());
                            outcomes.push(outcome);
                            continue;
                        }
                        line.quantity =
                            Quantity::from_stored(u32::try_from(available).unwrap_or(u32::MAX));
                        outcome.outcome = Outcome::Capped;
                        outcome.reason = Some("stock".into());
                    }
                    outcome.line_id = Some(line.id);
                    outcome.quantity = line.quantity.get();
                    by_key.insert(key, self.lines.len());
                    self.lines.push(line);
                    touched_target.push(true);
                }
                Some(i) => {
                    touched_target[i] = true;
                    let t_qty = self.lines[i].quantity.get();
                    outcome.target_quantity = Some(t_qty);
                    outcome.line_id = Some(self.lines[i].id);
                    let s_qty = s.quantity.get();
                    let (mut qty, mut class) = match policy {
                        MergePolicy::Sum => {
                            let wanted = t_qty.saturating_add(s_qty);
                            if wanted > limits.max_quantity {
                                outcome.reason = Some("max_quantity".into());
                                (limits.max_quantity, Outcome::Capped)
                            } else {
                                (wanted, Outcome::Summed)
                            }
                        }
                        MergePolicy::Latest => {
                            if s.updated_at > self.lines[i].updated_at {
                                (s_qty, Outcome::KeptSource)
                            } else {
                                (t_qty, Outcome::KeptTarget)
                            }
                        }
                        MergePolicy::KeepTarget => (t_qty, Outcome::KeptTarget),
                        MergePolicy::KeepSource => (s_qty, Outcome::KeptSource),
                        MergePolicy::Review if s_qty == t_qty => (t_qty, Outcome::KeptTarget),
                        MergePolicy::Review => (t_qty, Outcome::ConflictSurfaced),
                    };
                    // Stock caps what the merge raises, never what the customer had.
                    if let Some(&available) = stock.get(s.sku()) {
                        let ceiling = u32::try_from(available.max(0))
                            .unwrap_or(u32::MAX)
                            .max(t_qty);
                        if qty > ceiling {
                            qty = ceiling;
                            class = Outcome::Capped;
                            outcome.reason = Some("stock".into());
                        }
                    }
                    if class == Outcome::ConflictSurfaced {
                        self.lines[i].review = Some(ReviewSide::Target);
                        self.lines[i].line_version += 1;
                        let twin = copied(s, rules, Some(ReviewSide::Source));
                        outcome.quantity = t_qty;
                        self.lines.push(twin);
                        touched_target.push(true);
                    } else {
                        let line = &mut self.lines[i];
                        if line.quantity.get() != qty {
                            line.quantity = Quantity::from_stored(qty);
                            line.line_version += 1;
                            line.updated_at = rules.now;
                        }
                        outcome.quantity = qty;
                    }
                    outcome.outcome = class;
                }
            }
            outcomes.push(outcome);
        }
        // Target lines the source did not have are kept as they were.
        for (i, line) in self.lines.iter().enumerate() {
            if !touched_target.get(i).copied().unwrap_or(true) {
                outcomes.push(LineOutcome {
                    line_key: line.key.canonical(),
                    sku: line.key.sku.to_string(),
                    line_id: Some(line.id),
                    outcome: Outcome::KeptTarget,
                    target_quantity: Some(line.quantity.get()),
                    source_quantity: None,
                    quantity: line.quantity.get(),
                    reason: None,
                });
            }
        }
        let event = CartEvent::CartMerged {
            source: source.id,
            policy,
            counts: counts(&outcomes),
        };
        let changed = self.touched(rules, vec![event]);
        Ok(Merged {
            changed,
            outcomes,
            absorbed: true,
        })
    }

    /// The answer when the guest cart's order type differs from this (non-empty) one's.
    /// A cart has one order type, so no guest line could join; dropping them would lose
    /// the shopper's intent, and emptying the customer's cart would lose theirs. So
    /// nothing moves: every guest line is `left_in_source` in a guest cart that stays
    /// active, and every customer line is `kept_target`. Nothing is written, so asking
    /// again answers the same until one of the carts changes (then it may merge).
    fn left_apart(self, source: &Cart) -> Merged {
        let left = source.lines.iter().map(|s| LineOutcome {
            line_key: s.key.canonical(),
            sku: s.key.sku.to_string(),
            line_id: None,
            outcome: Outcome::LeftInSource,
            target_quantity: None,
            source_quantity: Some(s.quantity.get()),
            quantity: 0,
            reason: Some("incompatible_order_type".into()),
        });
        let kept = self.lines.iter().map(|t| LineOutcome {
            line_key: t.key.canonical(),
            sku: t.key.sku.to_string(),
            line_id: Some(t.id),
            outcome: Outcome::KeptTarget,
            target_quantity: Some(t.quantity.get()),
            source_quantity: None,
            quantity: t.quantity.get(),
            reason: None,
        });
        let outcomes = left.chain(kept).collect();
        Merged {
            changed: Changed::unchanged(self),
            outcomes,
            absorbed: false,
        }
    }
}

/// The guest's line as a new line of the customer cart (a new id: the guest cart keeps its
/// own lines as history).
fn copied(source: &Line, rules: &Rules, review: Option<ReviewSide>) -> Line {
    Line {
        id: LineId::new(),
        key: source.key.clone(),
        quantity: source.quantity,
        line_version: 1,
        unit_price: source.unit_price,
        price_revision: source.price_revision,
        category: source.category.clone(),
        title: source.title.clone(),
        review,
        created_at: rules.now,
        // The line's logical clock carries over: a later `latest` merge compares shopper
        // mutations, not merge times.
        updated_at: source.updated_at,
    }
}

#[cfg(test)]
mod tests;
