//! An order type's answer kept beside a cached cart, with the question it answered.
//!
//! A plugin imports nothing (no clock, randomness, files or network: `order-type.wit`), so
//! its answer is a function of the module, its configuration, the sandbox limits and the
//! cart it is shown: the lines, the catalog's prices, categories and attributes of their
//! skus, and the request's context. [`Question::digest`] hashes exactly those, so a read
//! that would ask the very same question reuses the answer kept in the cache (on any node)
//! instead of calling the plugin, and anything that changes an input (a price, an
//! activation, a rollback, a config, a context) asks again. A kept answer is never trusted
//! for another question, so it needs no invalidation of its own.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::plugin::{Evaluation, PluginCart, PluginLimits};

/// An evaluation and the digest of the question it answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    /// [`Question::digest`] of what the plugin was shown.
    pub question: String,
    pub evaluation: Evaluation,
}

impl Judged {
    /// The evaluation, if it answers `question`. The fuel was spent by the call that
    /// answered, not by this read.
    pub fn answer(&self, question: &str) -> Option<Evaluation> {
        (self.question == question).then(|| Evaluation {
            fuel_used: None,
            ..self.evaluation.clone()
        })
    }
}

/// Everything a plugin's answer depends on.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// The module's SHA-256.
    pub module: &'a str,
    pub config: &'a serde_json::Value,
    pub limits: &'a PluginLimits,
    pub cart: &'a PluginCart,
}

impl Question<'_> {
    /// A SHA-256 of every input, each length-prefixed so no two questions feed the same
    /// bytes.
    pub fn digest(&self) -> String {
        let mut feed = Feed(Sha256::new());
        feed.text(self.module);
        feed.text(&self.config.to_string());
        let limits = self.limits;
        feed.number(limits.deadline_ms);
        feed.number(limits.memory_bytes as u64);
        feed.number(limits.output_bytes as u64);
        feed.number(limits.fuel.map_or(u64::MAX, |fuel| fuel));
        let cart = self.cart;
        feed.text(&cart.cart_id);
        feed.text(&cart.currency);
        feed.text(&cart.subtotal.to_string());
        feed.number(cart.lines.len() as u64);
        for line in &cart.lines {
            feed.text(&line.line_id);
            feed.text(&line.sku);
            feed.number(u64::from(line.quantity));
            feed.text(&line.unit_price.to_string());
            feed.text(&line.category);
            feed.optional(line.seller.as_deref());
            feed.optional(line.fulfillment.as_deref());
            feed.pairs(&line.item_attributes);
            feed.pairs(&line.line_attributes);
        }
        feed.pairs(&cart.context);
        hex::encode(feed.0.finalize())
    }
}

struct Feed(Sha256);

impl Feed {
    fn number(&mut self, n: u64) {
        self.0.update(n.to_le_bytes());
    }

    fn text(&mut self, s: &str) {
        self.number(s.len() as u64);
        self.0.update(s.as_bytes());
    }

    fn optional(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.0.update([1]);
                self.text(s);
            }
            None => self.0.update([0]),
        }
    }

    fn pairs(&mut self, pairs: &std::collections::BTreeMap<String, String>) {
        self.number(pairs.len() as u64);
        for (key, value) in pairs {
            self.text(key);
            self.text(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PluginLine;
    use std::collections::BTreeMap;

    fn cart() -> PluginCart {
        PluginCart {
            cart_id: "c1".into(),
            currency: "EUR".into(),
            subtotal: "8.20".parse().unwrap(),
            lines: vec![PluginLine {
                line_id: "l1".into(),
                sku: "milk".into(),
                quantity: 2,
                unit_price: "4.10".parse().unwrap(),
                category: "dairy".into(),
                seller: None,
                fulfillment: None,
                item_attributes: BTreeMap::new(),
                line_attributes: BTreeMap::new(),
            }],
            context: BTreeMap::new(),
        }
    }

    fn digest(cart: &PluginCart, module: &str, config: serde_json::Value) -> String {
        Question {
            module,
            config: &config,
            limits: &PluginLimits::default(),
            cart,
        }
        .digest()
    }

    #[test]
    fn every_input_changes_the_question() {
        let base = digest(&cart(), "m1", serde_json::json!({}));
        assert_eq!(base, digest(&cart(), "m1", serde_json::json!({})));
        assert_ne!(base, digest(&cart(), "m2", serde_json::json!({})));
        assert_ne!(base, digest(&cart(), "m1", serde_json::json!({"fee": "1"})));
        let mut priced = cart();
        priced.lines[0].unit_price = "4.20".parse().unwrap();
        assert_ne!(base, digest(&priced, "m1", serde_json::json!({})));
        let mut context = cart();
        context.context.insert("distance_km".into(), "3".into());
        assert_ne!(base, digest(&context, "m1", serde_json::json!({})));
        let mut seller = cart();
        seller.lines[0].seller = Some(String::new());
        assert_ne!(base, digest(&seller, "m1", serde_json::json!({})));
        let limits = PluginLimits {
            deadline_ms: 7,
            ..PluginLimits::default()
        };
        let other = Question {
            module: "m1",
            config: &serde_json::json!({}),
            limits: &limits,
            cart: &cart(),
        }
        .digest();
        assert_ne!(base, other);
    }

    #[test]
    fn an_answer_is_only_given_to_its_own_question() {
        let judged = Judged {
            question: "q1".into(),
            evaluation: Evaluation {
                fuel_used: Some(9),
                ..Evaluation::default()
            },
        };
        assert_eq!(judged.answer("q2"), None);
        assert_eq!(judged.answer("q1").unwrap().fuel_used, None);
    }
}
