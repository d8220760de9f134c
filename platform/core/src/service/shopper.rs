//! Who is asking: the authenticated storefront caller, what they may touch, and the
//! version a write of theirs insists on.

use std::sync::Arc;

use crate::domain::secret;
use crate::domain::{Cart, CartOwner, Receipt, Replay, Seal, Tenant};
use crate::error::CoreError;

/// The authenticated caller of a storefront request.
#[derive(Clone)]
pub struct Shopper {
    pub tenant: Arc<Tenant>,
    /// Subject of a verified customer token.
    pub customer_id: Option<String>,
    /// A presented guest cart token (`X-Cart-Token`).
    pub cart_token: Option<String>,
    /// The request's `Idempotency-Key`, written by the same transaction as the change.
    pub receipt: Option<Arc<Receipt>>,
}

/// The cart token is a bearer secret: `Debug` says whether one was presented, never what.
impl std::fmt::Debug for Shopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shopper")
            .field("tenant_id", &self.tenant.id)
            .field("customer_id", &self.customer_id)
            .field(
                "cart_token",
                &self.cart_token.as_ref().map(|_| "<redacted>"),
            )
            .field("receipt", &self.receipt)
            .finish()
    }
}

impl Shopper {
    /// The seal a write for this request records beside its change.
    pub(crate) fn seal<'a>(&'a self, replay: &'a Replay) -> Option<Seal<'a>> {
        self.receipt
            .as_deref()
            .map(|receipt| Seal { receipt, replay })
    }

    /// A customer may touch their own carts; a guest only the cart whose token they hold.
    pub(crate) fn authorize(&self, cart: &Cart) -> Result<(), CoreError> {
        self.authorize_owner(&cart.owner, Owned::Cart)
    }

    /// [`Self::authorize`] for what a cart's owner owns (its checkouts and orders too);
    /// `what` names it in the refusal.
    pub(crate) fn authorize_owner(&self, owner: &CartOwner, what: Owned) -> Result<(), CoreError> {
        let what = what.noun();
        match owner {
            CartOwner::Customer(owner) => match &self.customer_id {
                Some(me) if me == owner => Ok(()),
                Some(_) => Err(CoreError::Forbidden(format!(
                    "this {what} belongs to another customer"
                ))),
                None if self.cart_token.is_some() => Err(CoreError::Forbidden(format!(
                    "this {what} belongs to a customer: send their customer token (Authorization: Bearer), not an X-Cart-Token"
                ))),
                None => Err(CoreError::Unauthenticated(
                    "this belongs to a customer: send their customer token as Authorization: Bearer <JWT>",
                )),
            },
            CartOwner::Guest { token_hash } => match &self.cart_token {
                Some(token) if secret::verify(token, token_hash) => Ok(()),
                Some(_) => Err(CoreError::Forbidden(match what {
                    "cart" => "the X-Cart-Token is not this cart's token".to_owned(),
                    _ => format!("the X-Cart-Token is not the token of this {what}'s cart"),
                })),
                None if self.customer_id.is_some() => Err(CoreError::Forbidden(format!(
                    "this {what} is a guest's: send the guest cart's X-Cart-Token (a customer token cannot open it; merge the guest cart to adopt it)"
                ))),
                None => Err(CoreError::Unauthenticated(
                    "this belongs to a guest cart: send its X-Cart-Token (from the answer that created the cart)",
                )),
            },
        }
    }
}

/// What a shopper is asking to touch, as refusals name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owned {
    Cart,
    Checkout,
    Order,
}

impl Owned {
    fn noun(self) -> &'static str {
        match self {
            Owned::Cart => "cart",
            Owned::Checkout => "checkout",
            Owned::Order => "order",
        }
    }
}

/// The version a mutation insists on (`If-Match`), if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct Precondition {
    pub if_match: Option<i64>,
}
