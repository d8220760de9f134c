//! What makes two lines the same line: sku + canonical variant attributes + seller +
//! fulfillment mode. Attributes live in a `BTreeMap`, so their order in a request can never
//! make two lines out of one.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use crate::error::CoreError;

/// A stock keeping unit: 1–64 characters of `A-Z a-z 0-9 . _ - : /`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sku(String);

impl Sku {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/')
            });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(CoreError::InvalidInput(format!(
                "sku must be 1-{} characters of letters, digits and . _ - : /",
                Self::MAX_LEN
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// String pairs attached to a line (variant: colour, size) or a catalog item. Sorted by key,
/// which is what makes line keys canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Attributes(BTreeMap<String, String>);

impl Attributes {
    pub const MAX_ENTRIES: usize = 32;
    pub const MAX_KEY_LEN: usize = 64;
    pub const MAX_VALUE_LEN: usize = 512;

    pub fn parse(pairs: BTreeMap<String, String>) -> Result<Self, CoreError> {
        if pairs.len() > Self::MAX_ENTRIES {
            return Err(CoreError::InvalidInput(format!(
                "at most {} attributes",
                Self::MAX_ENTRIES
            )));
        }
        for (k, v) in &pairs {
            if k.is_empty() || k.len() > Self::MAX_KEY_LEN {
                return Err(CoreError::InvalidInput(format!(
                    "attribute names must be 1-{} characters",
                    Self::MAX_KEY_LEN
                )));
            }
            if v.len() > Self::MAX_VALUE_LEN {
                return Err(CoreError::InvalidInput(format!(
                    "attribute `{k}` is longer than {} characters",
                    Self::MAX_VALUE_LEN
                )));
            }
        }
        Ok(Self(pairs))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

/// A short token naming a seller/outlet or a fulfillment mode (`delivery`, `pickup`, …).
fn parse_token(what: &str, raw: Option<String>) -> Result<Option<String>, CoreError> {
    match raw {
        None => Ok(None),
        Some(s) if !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control) => {
            Ok(Some(s))
        }
        Some(_) => Err(CoreError::InvalidInput(format!(
            "{what} must be 1-64 printable characters"
        ))),
    }
}

/// The identity of a line within a cart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineKey {
    pub sku: Sku,
    pub attributes: Attributes,
    pub seller: Option<String>,
    pub fulfillment: Option<String>,
}

impl LineKey {
    pub fn parse(
        sku: Sku,
        attributes: Attributes,
        seller: Option<String>,
        fulfillment: Option<String>,
    ) -> Result<Self, CoreError> {
        Ok(Self {
            sku,
            attributes,
            seller: parse_token("seller", seller)?,
            fulfillment: parse_token("fulfillment", fulfillment)?,
        })
    }

    /// The canonical text form, stable across processes and releases: it is what the
    /// database's unique index on `(cart_id, line_key)` compares, and what merges match on.
    pub fn canonical(&self) -> String {
        // serde_json writes BTreeMap keys in order and escapes every separator, so two keys
        // are equal exactly when their canonical strings are.
        serde_json::json!([
            self.sku.as_str(),
            self.attributes.as_map(),
            self.seller,
            self.fulfillment
        ])
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_checked() {
        assert!(Sku::parse("APPLE-1").is_ok());
        assert!(Sku::parse("").is_err());
        assert!(Sku::parse("has space").is_err());
        assert!(Sku::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn canonical_key_ignores_attribute_order() {
        let a: BTreeMap<_, _> = [("size", "M"), ("colour", "red")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let b: BTreeMap<_, _> = [("colour", "red"), ("size", "M")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let key = |m| {
            LineKey::parse(
                Sku::parse("A").unwrap(),
                Attributes::parse(m).unwrap(),
                None,
                None,
            )
            .unwrap()
            .canonical()
        };
        assert_eq!(key(a), key(b));
    }
}
