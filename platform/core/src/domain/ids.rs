//! Typed identifiers. All are UUID v7 so they sort by creation time in indexes.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// A tenant: one marketplace or storefront.
    TenantId
);
id_type!(
    /// A cart.
    CartId
);
id_type!(
    /// A line within a cart; stable for the line's whole life.
    LineId
);
id_type!(
    /// An uploaded order-type plugin module.
    PluginId
);
id_type!(
    /// A checkout snapshot.
    CheckoutId
);
id_type!(
    /// An order.
    OrderId
);
id_type!(
    /// A tenant's webhook endpoint.
    WebhookId
);
id_type!(
    /// One event's delivery to one webhook endpoint.
    DeliveryId
);
id_type!(
    /// One recorded plugin call (a run record).
    PluginRunId
);
