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

/// Answers per generation. When the current generation is full it becomes the previous
/// one and the one before is dropped, so at most twice this many carts are kept (an entry
/// is about a kilobyte for a 5-line cart), and a cart asked about in either generation
/// stays: a working set up to this size is never asked again wholesale, as it was when a
/// full map was simply cleared.
const MAX_CARTS: usize = 10_000;

type Key = (TenantId, String);

#[derive(Default)]
pub(crate) struct Answers {
    /// By tenant and cart id (as the plugin sees it).
    carts: RwLock<Generations>,
}

#[derive(Default)]
struct Generations {
    current: HashMap<Key, Answer>,
    previous: HashMap<Key, Answer>,
}

impl Generations {
    fn insert(&mut self, key: Key, answer: Answer) {
        self.previous.remove(&key);
        if self.current.len() >= MAX_CARTS && !self.current.contains_key(&key) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, answer);
    }
}

/// One question and its answer.
struct Answer {
    sha256: String,
    config: serde_json::Value,
    limits: PluginLimits,
    input: PluginCart,
    evaluation: Evaluation,
}

impl Answer {
    fn answers(
        &self,
        activation: &Activation,
        input: &PluginCart,
        limits: &PluginLimits,
    ) -> Option<Evaluation> {
        let same = self.sha256 == activation.plugin.sha256
            && self.limits == *limits
            && self.input == *input
            && self.config == activation.config;
        same.then(|| Evaluation {
            // The fuel was spent by the call that answered, not by this read.
            fuel_used: None,
            ..self.evaluation.clone()
        })
    }
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
        let key = (tenant, input.cart_id.clone());
        {
            let carts = self.carts.read().ok()?;
            if let Some(answer) = carts.current.get(&key) {
                return answer.answers(activation, input, limits);
            }
            if !carts.previous.contains_key(&key) {
                return None;
            }
        }
        // Asked about again: the answer moves to the current generation.
        let mut carts = self.carts.write().ok()?;
        let answer = carts.previous.remove(&key)?;
        let evaluation = answer.answers(activation, input, limits);
        if evaluation.is_some() {
            carts.insert(key, answer);
        }
        evaluation
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

    fn cart_named(id: usize) -> PluginCart {
        PluginCart {
            cart_id: format!("c{id}"),
            ..cart(1)
        }
    }

    #[test]
    fn answers_asked_about_survive_a_full_generation_and_the_rest_go() {
        let answers = Answers::default();
        let tenant = TenantId::new();
        let v1 = activation("aaa", serde_json::json!({}));
        let limits = PluginLimits::default();
        for id in 0..MAX_CARTS {
            answers.remember(tenant, &v1, cart_named(id), limits, &answer());
        }
        // The generation is full: the next cart starts a new one.
        answers.remember(tenant, &v1, cart_named(MAX_CARTS), limits, &answer());
        // Cart 0 is asked about again (and moves to the current generation)...
        assert!(
            answers
                .recall(tenant, &v1, &cart_named(0), &limits)
                .is_some()
        );
        for id in MAX_CARTS + 1..2 * MAX_CARTS {
            answers.remember(tenant, &v1, cart_named(id), limits, &answer());
        }
        // ...so when the current generation turns over again, it is still kept, while
        // cart 1, never asked about since, went with its generation.
        answers.remember(tenant, &v1, cart_named(2 * MAX_CARTS), limits, &answer());
        assert!(
            answers
                .recall(tenant, &v1, &cart_named(0), &limits)
                .is_some()
        );
        assert_eq!(answers.recall(tenant, &v1, &cart_named(1), &limits), None);
        let kept = answers.carts.read().unwrap();
        assert!(kept.current.len() + kept.previous.len() <= 2 * MAX_CARTS);
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
        for id in 0..=3 * MAX_CARTS {
            answers.remember(
                tenant,
                &v1,
                cart_named(id),
                PluginLimits::default(),
                &answer(),
            );
        }
        let carts = answers.carts.read().unwrap();
        let held = carts.current.len() + carts.previous.len();
        assert!(held <= 2 * MAX_CARTS, "{held}");
    }
}
