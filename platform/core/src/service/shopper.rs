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
        self.authorize_owner(&cart.owner)
    }

    /// [`Self::authorize`] for what a cart's owner owns (its orders too).
    pub(crate) fn authorize_owner(&self, owner: &CartOwner) -> Result<(), CoreError> {
        match owner {
            CartOwner::Customer(owner) => match &self.customer_id {
                Some(me) if me == owner => Ok(()),
                Some(_) => Err(CoreError::Forbidden(
                    "this cart belongs to another customer",
                )),
                None if self.cart_token.is_some() => {
                    Err(CoreError::Forbidden("this cart belongs to a customer"))
                }
                None => Err(CoreError::Unauthenticated),
            },
            CartOwner::Guest { token_hash } => match &self.cart_token {
                Some(token) if secret::verify(token, token_hash) => Ok(()),
                Some(_) => Err(CoreError::Forbidden(
                    "the cart token does not match this cart",
                )),
                None if self.customer_id.is_some() => {
                    Err(CoreError::Forbidden("a guest cart needs its X-Cart-Token"))
                }
                None => Err(CoreError::Unauthenticated),
            },
        }
    }
}

/// The version a mutation insists on (`If-Match`), if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct Precondition {
    pub if_match: Option<i64>,
}
