//! Which `reject` violations refuse a mutation (SPEC §5: "`reject` refuses the mutation
//! that caused it").
//!
//! A cart can hold a `reject` violation without any mutation of the shopper's having made
//! it: a merge joins two carts and is re-validated afterwards (a guest's second restaurant
//! in a food cart), an admin changes a plugin's config or activates a stricter version. If
//! every later growing mutation were refused while one remains, the shopper could only
//! remove lines, and could not even add to the outlet they mean to keep. So a mutation
//! that grows the cart (adds a line or raises a quantity) is refused only by the
//! violations it is to blame for:
//!
//! 1. a violation naming a line the mutation grew: that growth is what is refused, even if
//!    the line was already in violation (raising a line over its cap further is still
//!    refused);
//! 2. a violation naming no line: a cart-wide rule cannot say which line is at fault, and
//!    the mutation grew the whole (a grocery cart over its maximum quantity must not take
//!    more, whoever put it over); plugins that can blame a line should, so the rest of the
//!    cart stays editable;
//! 3. a violation naming another line that the cart did not have before the mutation
//!    (compared by code and line): the mutation made it appear, whatever line the plugin
//!    blames.
//!
//! Violations the cart already had on lines the mutation did not grow are left to the
//! shopper to fix (removals and decreases are never refused) and keep blocking checkout.

use super::ids::LineId;
use super::view::Violation;

/// Whether deciding needs the cart's rejections from before the mutation: only rule 3
/// does, so the common case (no rejection, or only ones on grown lines or the whole cart)
/// is decided without judging the old cart again.
pub fn needs_prior(after: &[Violation], grown: &[LineId]) -> bool {
    after
        .iter()
        .any(|v| v.line_id.is_some_and(|line| !grown.contains(&line)))
}

/// The rejections (of `after`, the `reject` violations of the cart as the mutation would
/// leave it) that refuse a mutation growing `grown`, given `prior`, the cart's `reject`
/// violations before it. Empty: the mutation may be stored.
pub fn refusing(after: &[Violation], prior: &[Violation], grown: &[LineId]) -> Vec<Violation> {
    after
        .iter()
        .filter(|v| match v.line_id {
            None => true,
            Some(line) if grown.contains(&line) => true,
            Some(line) => !prior
                .iter()
                .any(|p| p.code == v.code && p.line_id == Some(line)),
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::view::Severity;

    fn reject(code: &str, line: Option<LineId>) -> Violation {
        Violation {
            code: code.into(),
            message: format!("{code} says no"),
            line_id: line,
            severity: Severity::Reject,
            field: None,
        }
    }

    #[test]
    fn a_violation_on_a_grown_line_refuses_even_if_it_was_there_before() {
        let line = LineId::new();
        let after = [reject("medicine.quantity_cap", Some(line))];
        assert!(!needs_prior(&after, &[line]));
        assert_eq!(refusing(&after, &after, &[line]), after);
    }

    #[test]
    fn a_cart_wide_violation_refuses_any_growth() {
        let (a, b) = (LineId::new(), LineId::new());
        let after = [reject("grocery.max_quantity", None)];
        assert!(!needs_prior(&after, &[b]));
        // Over the maximum before the add as well (a merge put it there): still refused.
        assert_eq!(refusing(&after, &after, &[b]), after);
        assert_eq!(refusing(&after, &[], &[a]), after);
    }

    #[test]
    fn an_old_violation_on_another_line_does_not_refuse() {
        // A merge left a second outlet on line `b`; the shopper adds to outlet `a`.
        let (a, b) = (LineId::new(), LineId::new());
        let after = [reject("food.one_outlet", Some(b))];
        assert!(needs_prior(&after, &[a]));
        assert!(refusing(&after, &after, &[a]).is_empty());
    }

    #[test]
    fn a_new_violation_on_another_line_refuses() {
        // The plugin blames an earlier line for what the added one caused.
        let (a, b) = (LineId::new(), LineId::new());
        let after = [reject("food.one_outlet", Some(b))];
        assert_eq!(refusing(&after, &[], &[a]), after);
        // Same line, another code: a new finding.
        let prior = [reject("medicine.prescription_required", Some(b))];
        assert_eq!(refusing(&after, &prior, &[a]), after);
    }

    #[test]
    fn only_the_violations_to_blame_are_reported() {
        let (a, b, c) = (LineId::new(), LineId::new(), LineId::new());
        let old = reject("food.one_outlet", Some(b));
        let new = reject("food.one_outlet", Some(c));
        let after = [old.clone(), new.clone()];
        assert_eq!(refusing(&after, &[old], &[a, c]), vec![new]);
    }
}
