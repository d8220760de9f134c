//! Events that leave the building (SPEC §11): what a committed change tells consumers.
//!
//! A change builds its [`NewEvent`]s before it is written, and the store appends them to the
//! outbox in the change's own transaction, giving each its id and its `sequence` (gap-free
//! per subject). The relay then delivers [`Event`]s, the envelope consumers see.
//!
//! Decisions:
//! - `data` carries the change and the state a consumer needs without calling back: a cart
//!   event carries the cart's lines, totals and version after the change; `order.placed`
//!   the whole order. No cart tokens, API keys or secrets are ever in it.
//! - A guest cart merged into a customer's raises `cart.merged` on the target cart (naming
//!   the source); the source's own stream ends with that merge, it raises nothing else.
//! - Changes with no listed type (the request context, a cart adopted by its customer)
//!   raise nothing: the next event's cart state shows them.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::cart::{CartEvent, Replaced};
use super::checkout::{CheckoutSnapshot, Order};
use super::ids::{CartId, TenantId};
use super::line_key::Sku;
use super::plugin::PluginRecord;
use super::view::CartView;
use super::{CheckoutId, MergePolicy};

/// The version of every payload's shape; bumped when a payload changes incompatibly.
pub const SCHEMA_VERSION: i32 = 1;

/// Every event type (SPEC §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    CartCreated,
    CartLineAdded,
    CartLineChanged,
    CartLineRemoved,
    CartCleared,
    CartMerged,
    CartExpired,
    CheckoutStarted,
    CheckoutCompleted,
    CheckoutCancelled,
    CheckoutExpired,
    OrderPlaced,
    ReservationExpired,
    InventoryLowStock,
    PluginActivated,
    PluginRolledBack,
}

impl EventType {
    pub const ALL: [EventType; 16] = [
        Self::CartCreated,
        Self::CartLineAdded,
        Self::CartLineChanged,
        Self::CartLineRemoved,
        Self::CartCleared,
        Self::CartMerged,
        Self::CartExpired,
        Self::CheckoutStarted,
        Self::CheckoutCompleted,
        Self::CheckoutCancelled,
        Self::CheckoutExpired,
        Self::OrderPlaced,
        Self::ReservationExpired,
        Self::InventoryLowStock,
        Self::PluginActivated,
        Self::PluginRolledBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CartCreated => "cart.created",
            Self::CartLineAdded => "cart.line_added",
            Self::CartLineChanged => "cart.line_changed",
            Self::CartLineRemoved => "cart.line_removed",
            Self::CartCleared => "cart.cleared",
            Self::CartMerged => "cart.merged",
            Self::CartExpired => "cart.expired",
            Self::CheckoutStarted => "checkout.started",
            Self::CheckoutCompleted => "checkout.completed",
            Self::CheckoutCancelled => "checkout.cancelled",
            Self::CheckoutExpired => "checkout.expired",
            Self::OrderPlaced => "order.placed",
            Self::ReservationExpired => "reservation.expired",
            Self::InventoryLowStock => "inventory.low_stock",
            Self::PluginActivated => "plugin.activated",
            Self::PluginRolledBack => "plugin.rolled_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Cart,
    Checkout,
    Order,
    Plugin,
    Inventory,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cart => "cart",
            Self::Checkout => "checkout",
            Self::Order => "order",
            Self::Plugin => "plugin",
            Self::Inventory => "inventory",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Cart,
            Self::Checkout,
            Self::Order,
            Self::Plugin,
            Self::Inventory,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The thing an event is about: its `sequence` counts per subject. A plugin subject is its
/// order type (activations and rollbacks of one order type are one history); an inventory
/// subject is a sku.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: String,
}

impl Subject {
    pub fn cart(id: CartId) -> Self {
        Self {
            kind: SubjectKind::Cart,
            id: id.to_string(),
        }
    }

    pub fn checkout(id: CheckoutId) -> Self {
        Self {
            kind: SubjectKind::Checkout,
            id: id.to_string(),
        }
    }
}

/// An event a change raises, before the outbox gives it an id and a sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: EventType,
    pub subject: Subject,
    pub data: Value,
}

impl NewEvent {
    fn new(event_type: EventType, subject: Subject, data: Value) -> Self {
        Self {
            event_type,
            subject,
            data,
        }
    }
}

/// An event as stored in the outbox and delivered: the envelope of SPEC §11.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: uuid::Uuid,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub tenant_id: TenantId,
    pub subject: Subject,
    pub sequence: i64,
    pub occurred_at: DateTime<Utc>,
    pub schema_version: i32,
    pub data: Value,
}

impl Event {
    /// The body every sink sends: the envelope as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // An envelope of strings, numbers and a JSON value always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A cart as a consumer needs it: after the change, priced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CartState {
    pub cart_id: CartId,
    pub version: i64,
    pub status: &'static str,
    pub order_type: Option<String>,
    pub currency: String,
    pub customer_id: Option<String>,
    pub lines: Vec<CartStateLine>,
    pub subtotal: Decimal,
    pub fees_total: Decimal,
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CartStateLine {
    pub line_id: super::LineId,
    pub sku: Sku,
    pub title: Option<String>,
    pub quantity: u32,
    pub unit_price: Decimal,
}

impl CartState {
    pub fn of(view: &CartView) -> Self {
        Self {
            cart_id: view.cart_id,
            version: view.version,
            status: view.status.as_str(),
            order_type: view.order_type.clone(),
            currency: view.currency.to_string(),
            customer_id: view.customer_id.clone(),
            lines: view
                .lines
                .iter()
                .map(|l| CartStateLine {
                    line_id: l.line_id,
                    sku: l.sku.clone(),
                    title: l.title.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                })
                .collect(),
            subtotal: view.subtotal,
            fees_total: view.fees.iter().map(|f| f.amount).sum(),
            total: view.total,
        }
    }
}

fn cart_event(event_type: EventType, view: &CartView, change: Value) -> NewEvent {
    NewEvent::new(
        event_type,
        Subject::cart(view.cart_id),
        json!({ "change": change, "cart": CartState::of(view) }),
    )
}

/// `cart.created` for a cart just made (`view` as it was created).
pub fn cart_created(view: &CartView) -> NewEvent {
    cart_event(EventType::CartCreated, view, json!({}))
}

/// The events of one cart mutation, in the order they happened; `view` is the cart after
/// it, priced.
pub fn cart_changed(view: &CartView, events: &[CartEvent]) -> Vec<NewEvent> {
    events
        .iter()
        .filter_map(|event| {
            let (event_type, change) = match event {
                CartEvent::CartCreated { .. } => (EventType::CartCreated, json!({})),
                CartEvent::LineAdded {
                    line_id,
                    sku,
                    quantity,
                } => (
                    EventType::CartLineAdded,
                    json!({ "line_id": line_id, "sku": sku, "quantity": quantity }),
                ),
                CartEvent::LineQuantityChanged { line_id, from, to } => (
                    EventType::CartLineChanged,
                    json!({ "line_id": line_id, "from_quantity": from, "to_quantity": to }),
                ),
                CartEvent::LineRemoved { line_id, sku } => (
                    EventType::CartLineRemoved,
                    json!({ "line_id": line_id, "sku": sku }),
                ),
                CartEvent::ReviewResolved { removed, .. } => (
                    EventType::CartLineRemoved,
                    json!({ "line_id": removed, "sku": null }),
                ),
                CartEvent::CartCleared { removed_lines } => (
                    EventType::CartCleared,
                    json!({ "removed_lines": removed_lines, "reason": "cleared" }),
                ),
                CartEvent::CartReplaced(Replaced {
                    previous_order_type,
                    removed_lines,
                    ..
                }) => (
                    EventType::CartCleared,
                    json!({
                        "removed_lines": removed_lines.len(),
                        "reason": "replaced",
                        "previous_order_type": previous_order_type,
                    }),
                ),
                CartEvent::CartMerged {
                    source,
                    policy,
                    counts,
                } => (
                    EventType::CartMerged,
                    merged_change(*source, *policy, counts),
                ),
                CartEvent::ContextReplaced { .. }
                | CartEvent::CartAdopted { .. }
                | CartEvent::CartMergedInto { .. } => return None,
            };
            Some(cart_event(event_type, view, change))
        })
        .collect()
}

fn merged_change(source: CartId, policy: MergePolicy, counts: &BTreeMap<String, usize>) -> Value {
    json!({ "source_cart_id": source, "policy": policy.as_str(), "outcome_counts": counts })
}

/// `cart.expired`: an idle cart reached its TTL (the sweep; no pricing there, so the state
/// is the cart's identity and version).
pub fn cart_expired(cart: CartId, version: i64, customer_id: Option<&str>) -> NewEvent {
    NewEvent::new(
        EventType::CartExpired,
        Subject::cart(cart),
        json!({ "cart_id": cart, "version": version, "customer_id": customer_id }),
    )
}

/// `reservation.expired`: a cart's `reserve` line holds ran out and went back to stock.
pub fn reservation_expired(cart: CartId, released: &[(Sku, i64)]) -> NewEvent {
    let released: Vec<Value> = released
        .iter()
        .map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity }))
        .collect();
    NewEvent::new(
        EventType::ReservationExpired,
        Subject::cart(cart),
        json!({ "cart_id": cart, "released": released }),
    )
}

fn snapshot_lines(lines: &[super::checkout::SnapshotLine]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            json!({
                "line_id": l.line_id,
                "sku": l.sku,
                "title": l.title,
                "quantity": l.quantity,
                "unit_price": l.unit_price,
                "line_total": l.line_total,
            })
        })
        .collect()
}

/// `checkout.started`: the snapshot that now holds the stock.
pub fn checkout_started(snapshot: &CheckoutSnapshot) -> NewEvent {
    NewEvent::new(
        EventType::CheckoutStarted,
        Subject::checkout(snapshot.checkout_id),
        json!({
            "checkout_id": snapshot.checkout_id,
            "cart_id": snapshot.cart_id,
            "cart_version": snapshot.cart_version,
            "customer_id": snapshot.customer_id,
            "currency": snapshot.currency,
            "lines": snapshot_lines(&snapshot.lines),
            "subtotal": snapshot.subtotal,
            "total": snapshot.total,
            "expires_at": snapshot.expires_at,
        }),
    )
}

/// `checkout.completed` and `order.placed`, raised together by the completion that made
/// the order.
pub fn checkout_completed(order: &Order) -> [NewEvent; 2] {
    [
        NewEvent::new(
            EventType::CheckoutCompleted,
            Subject::checkout(order.checkout_id),
            json!({
                "checkout_id": order.checkout_id,
                "cart_id": order.cart_id,
                "order_id": order.order_id,
                "total": order.total,
                "currency": order.currency,
            }),
        ),
        NewEvent::new(
            EventType::OrderPlaced,
            Subject {
                kind: SubjectKind::Order,
                id: order.order_id.to_string(),
            },
            json!({
                "order_id": order.order_id,
                "checkout_id": order.checkout_id,
                "cart_id": order.cart_id,
                "customer_id": order.customer_id,
                "status": order.status,
                "currency": order.currency,
                "lines": snapshot_lines(&order.lines),
                "fees": order.fees.iter().map(|f| json!({"code": f.code, "label": f.label, "amount": f.amount})).collect::<Vec<_>>(),
                "subtotal": order.subtotal,
                "total": order.total,
                "created_at": order.created_at,
            }),
        ),
    ]
}

/// `checkout.cancelled`: the holds went back and the cart is active again at `cart_version`.
pub fn checkout_cancelled(checkout: CheckoutId, cart: CartId, cart_version: i64) -> NewEvent {
    NewEvent::new(
        EventType::CheckoutCancelled,
        Subject::checkout(checkout),
        json!({ "checkout_id": checkout, "cart_id": cart, "cart_version": cart_version }),
    )
}

/// `checkout.expired`: not completed in time; its holds went back to stock.
pub fn checkout_expired(checkout: CheckoutId, cart: CartId) -> NewEvent {
    NewEvent::new(
        EventType::CheckoutExpired,
        Subject::checkout(checkout),
        json!({ "checkout_id": checkout, "cart_id": cart }),
    )
}

/// `inventory.low_stock`: a sku's available stock fell to `threshold` or below.
pub fn low_stock(sku: &Sku, on_hand: i64, reserved: i64, threshold: i64) -> NewEvent {
    NewEvent::new(
        EventType::InventoryLowStock,
        Subject {
            kind: SubjectKind::Inventory,
            id: sku.to_string(),
        },
        json!({
            "sku": sku,
            "on_hand": on_hand,
            "reserved": reserved,
            "available": on_hand - reserved,
            "threshold": threshold,
        }),
    )
}

/// `plugin.activated` or `plugin.rolled_back`: what now serves `order_type`, and what did.
pub fn plugin_switched(
    event_type: EventType,
    order_type: &str,
    now: &PluginRecord,
    previous: Option<&PluginRecord>,
) -> NewEvent {
    let plugin = |p: &PluginRecord| {
        json!({
            "plugin_id": p.id.to_string(),
            "name": p.info.name,
            "version": p.info.version,
            "sha256": p.sha256,
        })
    };
    NewEvent::new(
        event_type,
        Subject {
            kind: SubjectKind::Plugin,
            id: order_type.to_owned(),
        },
        json!({
            "order_type": order_type,
            "plugin": plugin(now),
            "previous_plugin": previous.map(plugin),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("cart.exploded"), None);
    }
}
