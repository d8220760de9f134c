//! An `Idempotency-Key` bound to the write it guards (SPEC §2).
//!
//! The record that remembers a key is written by the same database transaction as the
//! change it guards, so whatever crashes when, a key is either unused (the change never
//! committed: a retry runs it) or bound to a committed change (a retry replays it) — never
//! "changed but forgotten", which would apply a retried request twice.

use chrono::{DateTime, Utc};

use crate::domain::{CartId, CheckoutId};

/// The key a request came with, in its caller's scope, and what makes two requests "the
/// same" (its fingerprint).
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The tenant and caller the key belongs to (`<tenant>:customer:<id>`, …): two
    /// shoppers' keys never collide.
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    /// When the request arrived.
    pub at: DateTime<Utc>,
}

/// The key is chosen by the client; the scope may carry a hashed credential. Neither is
/// secret, but a log line needs only the key.
impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receipt").field("key", &self.key).finish()
    }
}

/// How a retry re-renders an answer that its first request committed but never stored (the
/// node died between the commit and storing the response).
#[derive(Clone, PartialEq, Eq)]
pub enum Replay {
    /// The cart, as it is when the retry comes: a line mutation, clear or context change
    /// answers with the whole cart.
    Cart(CartId),
    /// A guest cart just created, with its token: the token is shown only in this answer,
    /// so the record keeps it until the answer itself is stored.
    CreatedCart { cart: CartId, token: String },
    /// The checkout snapshot the change started.
    Checkout(CheckoutId),
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Replay::Cart(id) => write!(f, "Cart({id})"),
            Replay::CreatedCart { cart, .. } => write!(f, "CreatedCart({cart}, <token>)"),
            Replay::Checkout(id) => write!(f, "Checkout({id})"),
        }
    }
}

impl Replay {
    /// The stored form: `cart:<id>`, `created_cart:<id>`, `checkout:<id>`, with the secret
    /// (a guest token) beside it.
    pub fn to_stored(&self) -> (String, Option<String>) {
        match self {
            Replay::Cart(id) => (format!("cart:{id}"), None),
            Replay::CreatedCart { cart, token } => {
                (format!("created_cart:{cart}"), Some(token.clone()))
            }
            Replay::Checkout(id) => (format!("checkout:{id}"), None),
        }
    }

    /// The inverse of [`Self::to_stored`]; `None` for anything it did not write.
    pub fn from_stored(kind: &str, secret: Option<String>) -> Option<Self> {
        let (what, id) = kind.split_once(':')?;
        let id = uuid::Uuid::parse_str(id).ok()?;
        match (what, secret) {
            ("cart", _) => Some(Replay::Cart(CartId(id))),
            ("created_cart", Some(token)) => Some(Replay::CreatedCart {
                cart: CartId(id),
                token,
            }),
            ("checkout", _) => Some(Replay::Checkout(CheckoutId(id))),
            _ => None,
        }
    }
}

/// What a write transaction records beside its change: the key, and how to answer a retry.
#[derive(Debug, Clone, Copy)]
pub struct Seal<'a> {
    pub receipt: &'a Receipt,
    pub replay: &'a Replay,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_survive_their_stored_form() {
        let id = uuid::Uuid::now_v7();
        for replay in [
            Replay::Cart(CartId(id)),
            Replay::CreatedCart {
                cart: CartId(id),
                token: "tct_secret".into(),
            },
            Replay::Checkout(CheckoutId(id)),
        ] {
            let (kind, secret) = replay.to_stored();
            assert_eq!(Replay::from_stored(&kind, secret), Some(replay));
        }
        assert_eq!(Replay::from_stored("created_cart:x", None), None);
        assert_eq!(Replay::from_stored("order:not-a-uuid", None), None);
        assert_eq!(
            Replay::from_stored(&format!("created_cart:{id}"), None),
            None
        );
    }

    #[test]
    fn debug_never_shows_the_guest_token() {
        let replay = Replay::CreatedCart {
            cart: CartId(uuid::Uuid::now_v7()),
            token: "tct_secret".into(),
        };
        assert!(!format!("{replay:?}").contains("tct_secret"));
    }
}
