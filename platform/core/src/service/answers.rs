//! The last answer each cart got from its order-type plugin, per node.
//!
//! A plugin imports nothing (no clock, randomness, files or network: `order-type.wit`), so
//! its answer is a function of the module, its configuration, the sandbox limits and the
//! cart it is shown. A cart read that would show the plugin exactly what it was shown last
//! time gets the last answer back instead of a new sandboxed call, which was the largest
//! cost of a cached read after its database queries (BENCHMARKS.md). Every input is
//! compared in full, so an answer is only reused for the very same question: a new line,
//! quantity, price, context, activation or limit asks the plugin again. Failures are never
//! remembered.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::domain::{Activation, Evaluation, PluginCart, PluginLimits, TenantId};

/// Past this many carts, every answer is dropped and plugins are asked again: a bound on
/// memory (an entry is about a kilobyte for a 5-line cart).
const MAX_CARTS: usize = 10_000;

#[derive(Default)]
pub(crate) struct Answers {
    /// By tenant and cart id (as the plugin sees it).
    carts: RwLock<HashMap<(TenantId, String), Answer>>,
}

/// One question and its answer.
struct Answer {
    sha256: String,
    config: serde_json::Value,
    limits: PluginLimits,
    input: PluginCart,
    evaluation: Evaluation,
}

impl Answers {
    /// The answer to exactly this question, if this node has it.
    pub(crate) fn recall(
        &self,
        tenant: TenantId,
        activation: &Activation,
        input: &PluginCart,
        limits: &PluginLimits,
    ) -> Option<Evaluation> {
        let carts = self.carts.read().ok()?;
        let answer = carts.get(&(tenant, input.cart_id.clone()))?;
        let same = answer.sha256 == activation.plugin.sha256
            && answer.limits == *limits
            && answer.input == *input
            && answer.config == activation.config;
        same.then(|| Evaluation {
            // The fuel was spent by the call that answered, not by this read.
            fuel_used: None,
            ..answer.evaluation.clone()
        })
    }

    /// Keeps a successful answer, replacing the cart's previous one.
    pub(crate) fn remember(
        &self,
        tenant: TenantId,
        activation: &Activation,
        input: PluginCart,
        limits: PluginLimits,
        evaluation: &Evaluation,
    ) {
        let Ok(mut carts) = self.carts.write() else {
            return;
        };
        let key = (tenant, input.cart_id.clone());
        if carts.len() >= MAX_CARTS && !carts.contains_key(&key) {
            carts.clear();
        }
        carts.insert(
            key,
            Answer {
                sha256: activation.plugin.sha256.clone(),
                config: activation.config.clone(),
                limits,
                input,
                evaluation: evaluation.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PluginId, PluginInfo, PluginLine, PluginRecord, Violation};
    use rust_decimal::Decimal;

    fn activation(sha: &str, config: serde_json::Value) -> Activation {
        Activation {
            order_type: "grocery".into(),
            plugin: PluginRecord {
                id: PluginId::new(),
                tenant_id: TenantId::new(),
                sha256: sha.into(),
                info: PluginInfo {
                    order_type: "grocery".into(),
                    name: "grocery".into(),
                    version: "1.0.0".into(),
                    config_schema: serde_json::json!({}),
                },
                size_bytes: 1,
                created_at: chrono::Utc::now(),
            },
            config,
            activated_at: chrono::Utc::now(),
        }
    }

    fn cart(quantity: u32) -> PluginCart {
        PluginCart {
            cart_id: "c1".into(),
            currency: "EUR".into(),
            subtotal: Decimal::new(250 * i64::from(quantity), 2),
            lines: vec![PluginLine {
                line_id: "l1".into(),
                sku: "MILK".into(),
                quantity,
                unit_price: Decimal::new(250, 2),
                category: "dairy".into(),
                seller: None,
                fulfillment: None,
                item_attributes: Default::default(),
                line_attributes: Default::default(),
            }],
            context: Default::default(),
        }
    }

    fn answer() -> Evaluation {
        Evaluation {
            violations: vec![Violation {
                code: "minimum_order".into(),
                message: "below the minimum".into(),
                line_id: None,
                severity: crate::domain::Severity::Reject,
            }],
            fuel_used: Some(1234),
            ..Evaluation::default()
        }
    }

    #[test]
    fn the_same_question_gets_the_same_answer_and_any_change_asks_again() {
        let answers = Answers::default();
        let tenant = TenantId::new();
        let v1 = activation("aaa", serde_json::json!({"min": 10}));
        let limits = PluginLimits::default();
        assert_eq!(answers.recall(tenant, &v1, &cart(1), &limits), None);
        answers.remember(tenant, &v1, cart(1), limits, &answer());

        let recalled = answers.recall(tenant, &v1, &cart(1), &limits);
        assert_eq!(
            recalled,
            Some(Evaluation {
                fuel_used: None,
                ..answer()
            }),
            "same answer; the fuel was spent by the first call"
        );

        assert_eq!(
            answers.recall(tenant, &v1, &cart(2), &limits),
            None,
            "quantity"
        );
        let v2 = activation("bbb", serde_json::json!({"min": 10}));
        assert_eq!(
            answers.recall(tenant, &v2, &cart(1), &limits),
            None,
            "module"
        );
        let reconfigured = activation("aaa", serde_json::json!({"min": 20}));
        assert_eq!(
            answers.recall(tenant, &reconfigured, &cart(1), &limits),
            None,
            "config"
        );
        let tighter = PluginLimits {
            deadline_ms: limits.deadline_ms / 2,
            ..limits
        };
        assert_eq!(
            answers.recall(tenant, &v1, &cart(1), &tighter),
            None,
            "limits"
        );
        assert_eq!(
            answers.recall(TenantId::new(), &v1, &cart(1), &limits),
            None,
            "tenant"
        );

        // A new answer for the cart replaces the old one.
        answers.remember(tenant, &v1, cart(2), limits, &Evaluation::default());
        assert_eq!(answers.recall(tenant, &v1, &cart(1), &limits), None);
        assert!(answers.recall(tenant, &v1, &cart(2), &limits).is_some());
    }

    #[test]
    fn the_number_of_carts_is_bounded() {
        let answers = Answers::default();
        let tenant = TenantId::new();
        let v1 = activation("aaa", serde_json::json!({}));
        for i in 0..=MAX_CARTS {
            let mut input = cart(1);
            input.cart_id = format!("c{i}");
            answers.remember(tenant, &v1, input, PluginLimits::default(), &answer());
        }
        let held = answers.carts.read().map(|c| c.len()).unwrap_or(usize::MAX);
        assert!(held <= MAX_CARTS, "{held}");
    }
}
