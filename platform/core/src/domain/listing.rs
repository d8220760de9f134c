//! The tenant admin's lists (SPEC §12): one page at a time, in a stable order, with an
//! opaque cursor that says where the next page starts.
//!
//! Pages are keyset pages (`WHERE key > cursor ORDER BY key`), never offsets: a row added
//! or removed while an admin pages on neither repeats nor skips another. A cursor names
//! the list it came from, so one list's cursor passed to another is refused instead of
//! silently starting somewhere odd.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::cart::CartStatus;
use super::checkout::{CheckoutId, CheckoutStatus, OrderId};
use super::event::Subject;
use super::ids::{CartId, LineId};
use super::line_key::Sku;
use super::view::CartView;
use crate::error::CoreError;

/// Rows a page carries when the caller does not say.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// Most rows one page may carry.
pub const MAX_PAGE_LIMIT: u32 = 200;

/// What a caller asks for, as it arrived (a query string, a console form): checked by
/// [`PageRequest::keyset`], so every caller gets the same rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// 1–[`MAX_PAGE_LIMIT`]; `None` → [`DEFAULT_PAGE_LIMIT`].
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; `None` (or empty) → the first page.
    pub cursor: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Which list a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    CatalogItems,
    Inventory,
    Carts,
    Checkouts,
    Orders,
    Events,
}

impl ListKind {
    fn tag(self) -> &'static str {
        match self {
            Self::CatalogItems => "items",
            Self::Inventory => "inventory",
            Self::Carts => "carts",
            Self::Checkouts => "checkouts",
            Self::Orders => "orders",
            Self::Events => "events",
        }
    }
}

/// A list's sort key, as a cursor carries it.
pub trait CursorKey: Sized {
    fn encode(&self) -> String;
    fn decode(text: &str) -> Option<Self>;
}

impl CursorKey for Sku {
    fn encode(&self) -> String {
        self.as_str().to_owned()
    }
    fn decode(text: &str) -> Option<Self> {
        Sku::parse(text).ok()
    }
}

impl CursorKey for Uuid {
    fn encode(&self) -> String {
        self.to_string()
    }
    fn decode(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok()
    }
}

impl CursorKey for i64 {
    fn encode(&self) -> String {
        self.to_string()
    }
    fn decode(text: &str) -> Option<Self> {
        text.parse().ok().filter(|n: &i64| *n >= 0)
    }
}

/// What the repository is asked: rows after `after` in the list's order, at most `take`
/// (one more than the page, which tells whether another page follows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset<K> {
    pub after: Option<K>,
    pub take: u64,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self {
            limit: Some(limit),
            cursor: None,
        }
    }

    /// The checked limit and the decoded cursor of `kind`'s list.
    pub fn keyset<K: CursorKey>(&self, kind: ListKind) -> Result<(u32, Keyset<K>), CoreError> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
            return Err(CoreError::PageLimitOutOfRange {
                limit,
                max: MAX_PAGE_LIMIT,
            });
        }
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => Some(decode_cursor(kind, cursor).ok_or(CoreError::InvalidCursor)?),
        };
        Ok((
            limit,
            Keyset {
                after,
                take: u64::from(limit) + 1,
            },
        ))
    }
}

fn decode_cursor<K: CursorKey>(kind: ListKind, cursor: &str) -> Option<K> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (tag, key) = text.split_once(':')?;
    (tag == kind.tag()).then_some(())?;
    K::decode(key)
}

fn encode_cursor<K: CursorKey>(kind: ListKind, key: &K) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.tag(), key.encode()))
}

impl<T> Page<T> {
    /// The page of `rows` (fetched with [`Keyset::take`] = `limit + 1`): the cursor points
    /// after its last row when another row followed.
    pub fn of<K: CursorKey>(
        kind: ListKind,
        mut rows: Vec<T>,
        limit: u32,
        key: impl Fn(&T) -> K,
    ) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().map(|row| encode_cursor(kind, &key(row)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

/// Longest text filter: a search box, not a document.
pub const MAX_FILTER_LEN: usize = 200;

/// `GET /v1/admin/catalog/items`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogFilter {
    /// Case-insensitive: the sku starts with it, or the title contains it.
    pub q: Option<String>,
    pub category: Option<String>,
    pub seller: Option<String>,
}

/// `GET /v1/admin/inventory`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryFilter {
    /// Case-insensitive sku prefix.
    pub q: Option<String>,
    /// Only skus with fewer than this many units available (on hand − reserved).
    pub available_below: Option<i64>,
}

/// `GET /v1/admin/carts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CartFilter {
    pub status: Option<CartStatus>,
    pub customer_id: Option<String>,
    pub order_type: Option<String>,
}

/// `GET /v1/admin/checkouts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckoutFilter {
    pub status: Option<CheckoutStatus>,
    pub cart_id: Option<CartId>,
}

/// `GET /v1/admin/orders`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// Every order is `placed` (the only order status there is): the service refuses any
    /// other value and the repository has no status to filter on.
    pub status: Option<String>,
    pub customer_id: Option<String>,
    /// Only orders placed at or after this time.
    pub placed_since: Option<DateTime<Utc>>,
}

/// A cart in a list: what it is without pricing it.
#[derive(Debug, Clone, PartialEq)]
pub struct CartSummary {
    pub cart_id: CartId,
    pub status: CartStatus,
    pub order_type: Option<String>,
    /// `None` for a guest's cart.
    pub customer_id: Option<String>,
    pub line_count: u64,
    pub version: i64,
    pub currency: String,
    pub merged_into: Option<CartId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A checkout in a list.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckoutSummary {
    pub checkout_id: CheckoutId,
    pub cart_id: CartId,
    pub status: CheckoutStatus,
    pub total: Decimal,
    pub currency: String,
    pub order_id: Option<OrderId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An order in a list.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderSummary {
    pub order_id: OrderId,
    pub checkout_id: CheckoutId,
    pub cart_id: CartId,
    pub customer_id: Option<String>,
    pub status: String,
    pub total: Decimal,
    pub currency: String,
    pub placed_at: DateTime<Utc>,
}

/// Stock one cart holds: a reserve line's hold, or a pending checkout's reservation.
#[derive(Debug, Clone, PartialEq)]
pub struct CartHold {
    pub sku: Sku,
    pub quantity: i64,
    /// `line` or `checkout`.
    pub kind: String,
    pub line_id: Option<LineId>,
    pub checkout_id: Option<CheckoutId>,
    pub expires_at: DateTime<Utc>,
}

/// What support sees of one cart, without its token.
#[derive(Debug, Clone, PartialEq)]
pub struct CartDetail {
    /// Exactly what the storefront's `GET /v1/carts/{id}` shows.
    pub view: CartView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub merged_into: Option<CartId>,
    pub holds: Vec<CartHold>,
}

/// Which subject's events (`GET /v1/admin/events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    pub subject: Subject,
}

/// The console's overview of one tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OverviewCounts {
    /// Carts that are `active` or `checking_out`.
    pub active_carts: u64,
    /// Checkouts still `pending`.
    pub open_checkouts: u64,
    /// Orders placed at or after the given time.
    pub orders_since: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(limit: Option<u32>, cursor: Option<&str>) -> PageRequest {
        PageRequest {
            limit,
            cursor: cursor.map(str::to_owned),
        }
    }

    #[test]
    fn limits_outside_one_to_max_are_refused() {
        for limit in [0, MAX_PAGE_LIMIT + 1] {
            let err = request(Some(limit), None).keyset::<Sku>(ListKind::Inventory);
            assert!(matches!(err, Err(CoreError::PageLimitOutOfRange { .. })));
        }
        let (limit, keyset) = request(None, None)
            .keyset::<Sku>(ListKind::Inventory)
            .unwrap();
        assert_eq!((limit, keyset.take), (DEFAULT_PAGE_LIMIT, 51));
    }

    #[test]
    fn a_cursor_round_trips_and_only_in_its_own_list() {
        let rows: Vec<i64> = (1..=4).collect();
        let page = Page::of(ListKind::Events, rows, 3, |n| *n);
        assert_eq!(page.items, vec![1, 2, 3]);
        let cursor = page.next_cursor.unwrap();
        let (_, keyset) = request(Some(3), Some(&cursor))
            .keyset::<i64>(ListKind::Events)
            .unwrap();
        assert_eq!(keyset.after, Some(3));
        let other = request(Some(3), Some(&cursor)).keyset::<i64>(ListKind::Orders);
        assert!(matches!(other, Err(CoreError::InvalidCursor)));
        for forged in ["garbage!", "bm9wZQ", &URL_SAFE_NO_PAD.encode("events:-5")] {
            let err = request(None, Some(forged)).keyset::<i64>(ListKind::Events);
            assert!(matches!(err, Err(CoreError::InvalidCursor)), "{forged}");
        }
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let page = Page::of(ListKind::Events, vec![1_i64, 2], 2, |n| *n);
        assert_eq!(page.next_cursor, None);
    }
}
