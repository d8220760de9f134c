//! Read assembly: a cart priced against the catalog, decorated with stock, and judged by
//! its order type. Reads take this node's recent catalog and stock reads; writes and
//! checkout take the database's, and keep what the view was made from to decide with.

use std::collections::HashMap;

use super::CartService;
use crate::domain::claim::claim_of;
use chrono::{DateTime, Utc};

use crate::domain::{
    Cart, CartId, CartStatus, CartView, CatalogItem, ClaimPolicy, Judged, Sku, StockLevel,
    StockView, Tenant, TenantId, WantedHold,
};
use crate::error::CoreError;
use crate::ports::LineHold;
use crate::service::recent::ReadStart;

/// A cart as a read assembles it, with what went into it.
pub(crate) struct Priced {
    pub view: CartView,
    /// The plugin's new answer, to keep beside the cached cart.
    pub fresh: Option<Judged>,
    pub catalog: HashMap<Sku, CatalogItem>,
    pub stock: StockView,
}

/// Where pricing reads the catalog and stock from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Inputs<'a> {
    /// This node's recent reads: for showing a cart.
    Recent,
    /// The database: for deciding (writes, checkout).
    Fresh,
    /// Rows this write already read from the database: a sku is never read twice in one
    /// request.
    Read(&'a Rows),
}

/// The catalog items and stock levels of some skus, as one write read them from the
/// database, and the stock the cart it read them with holds.
#[derive(Debug)]
pub(crate) struct Rows {
    /// The skus asked for, sorted: a sku here without an item is not in the catalog.
    skus: Vec<Sku>,
    items: Vec<CatalogItem>,
    levels: Vec<StockLevel>,
    /// What one cart held when these rows were read with it; `None` when they were read
    /// without a cart ([`CartService::read_rows`]).
    held: Option<Held>,
}

/// The stock one cart holds, as read with it.
#[derive(Debug)]
pub(crate) struct Held {
    pub cart: CartId,
    pub line_holds: Vec<LineHold>,
    pub checkout_holds: Vec<(Sku, u32)>,
}

impl Rows {
    /// The catalog item of `sku`, if it was read and exists.
    pub fn item(&self, sku: &Sku) -> Option<&CatalogItem> {
        self.items.iter().find(|item| &item.sku == sku)
    }

    /// What `cart` holds, if these rows were read with it.
    fn held_by(&self, cart: CartId) -> Option<&Held> {
        self.held.as_ref().filter(|held| held.cart == cart)
    }

    /// These rows as they will be once `cart`'s line holds are `wanted`, expiring at `until`
    /// (a save that moves holds writes exactly that or nothing): each tracked sku's
    /// `reserved` moves by how much more or less of it the cart holds, and the cart holds
    /// the wanted units of its tracked skus. `None` when the rows were not read with `cart`.
    pub fn after_holds(
        &self,
        cart: CartId,
        wanted: &[WantedHold],
        until: DateTime<Utc>,
    ) -> Option<Rows> {
        let held = self.held_by(cart)?;
        let tracked = |sku: &Sku| self.levels.iter().any(|l| &l.sku == sku);
        let mut line_holds: Vec<LineHold> = Vec::new();
        for w in wanted.iter().filter(|w| w.quantity > 0 && tracked(&w.sku)) {
            match line_holds.iter_mut().find(|h| h.line_id == w.line_id) {
                Some(hold) => hold.quantity += w.quantity,
                None => line_holds.push(LineHold {
                    line_id: w.line_id,
                    sku: w.sku.clone(),
                    quantity: w.quantity,
                    expires_at: until,
                }),
            }
        }
        let units = |holds: &[LineHold], sku: &Sku| -> i64 {
            holds
                .iter()
                .filter(|h| &h.sku == sku)
                .map(|h| i64::from(h.quantity))
                .sum()
        };
        let levels = self
            .levels
            .iter()
            .map(|level| StockLevel {
                reserved: level.reserved + units(&line_holds, &level.sku)
                    - units(&held.line_holds, &level.sku),
                ..level.clone()
            })
            .collect();
        Some(Rows {
            skus: self.skus.clone(),
            items: self.items.clone(),
            levels,
            held: Some(Held {
                cart,
                line_holds,
                checkout_holds: held.checkout_holds.clone(),
            }),
        })
    }

    fn covers(&self, skus: &[Sku]) -> bool {
        skus.iter().all(|sku| self.skus.binary_search(sku).is_ok())
    }

    /// The items and levels of `skus` (all covered).
    fn of(&self, skus: &[Sku]) -> (Vec<CatalogItem>, Vec<StockLevel>) {
        let wanted = |sku: &Sku| skus.binary_search(sku).is_ok();
        (
            self.items
                .iter()
                .filter(|i| wanted(&i.sku))
                .cloned()
                .collect(),
            self.levels
                .iter()
                .filter(|l| wanted(&l.sku))
                .cloned()
                .collect(),
        )
    }
}

impl CartService {
    /// Prices the cart against the catalog, decorates it with stock, then lets its order
    /// type judge it: what a read shows, from this node's recent catalog and stock reads
    /// ([`RecentInputs`](crate::service::RecentInputs)).
    pub(super) async fn assemble(
        &self,
        tenant: &Tenant,
        cart: &Cart,
    ) -> Result<CartView, CoreError> {
        Ok(self
            .price_with(tenant, cart, Inputs::Recent, None)
            .await?
            .view)
    }

    /// [`Self::assemble`] from the database, keeping the catalog items and stock it was made
    /// from: what writes and checkout decide with. One query for the catalog, one for stock
    /// levels, one for holds when a line reserves.
    pub(crate) async fn price(&self, tenant: &Tenant, cart: &Cart) -> Result<Priced, CoreError> {
        self.price_with(tenant, cart, Inputs::Fresh, None).await
    }

    /// [`Self::price`] from rows this request already read ([`Self::read_rows`]); what they
    /// do not cover is read from the database.
    pub(crate) async fn price_from(
        &self,
        tenant: &Tenant,
        cart: &Cart,
        rows: &Rows,
    ) -> Result<Priced, CoreError> {
        self.price_with(tenant, cart, Inputs::Read(rows), None)
            .await
    }

    /// The catalog items and stock levels of `skus` from the database, one query each, to
    /// price a write and decide with ([`Self::price_from`]).
    pub(crate) async fn read_rows(
        &self,
        tenant: TenantId,
        skus: Vec<Sku>,
    ) -> Result<Rows, CoreError> {
        let start = self.recent.before_read();
        let items = self.catalog.get_many(tenant, &skus).await?;
        let levels = self.inventory.get_many(tenant, &skus).await?;
        Ok(self.rows_read(start, tenant, skus, items, levels, None))
    }

    /// The [`Rows`] of `skus` (all of them, those without an item or a level too) as just
    /// read from the database by a read that began at `start`, with what the cart read with
    /// them holds; this node's recent reads are refreshed with them.
    pub(crate) fn rows_read(
        &self,
        start: ReadStart,
        tenant: TenantId,
        mut skus: Vec<Sku>,
        items: Vec<CatalogItem>,
        levels: Vec<StockLevel>,
        held: Option<Held>,
    ) -> Rows {
        skus.sort();
        skus.dedup();
        self.recent.refresh(start, tenant, &skus, &items, &levels);
        Rows {
            skus,
            items,
            levels,
            held,
        }
    }

    /// Prices and judges `cart`; `remembered` is the order type's answer kept beside the
    /// cached cart, used if it answers the same question.
    pub(super) async fn price_with(
        &self,
        tenant: &Tenant,
        cart: &Cart,
        inputs: Inputs<'_>,
        remembered: Option<&Judged>,
    ) -> Result<Priced, CoreError> {
        let (view, catalog, stock) = self.unjudged(tenant, cart, inputs).await?;
        let verdict = self
            .judge
            .judge(tenant, cart, view, &catalog, remembered)
            .await?;
        Ok(Priced {
            view: verdict.view,
            fresh: verdict.fresh,
            catalog,
            stock,
        })
    }

    /// The cart priced and decorated with stock, before its order type judges it.
    pub(crate) async fn unjudged(
        &self,
        tenant: &Tenant,
        cart: &Cart,
        inputs: Inputs<'_>,
    ) -> Result<(CartView, HashMap<Sku, CatalogItem>, StockView), CoreError> {
        let mut stock = StockView {
            default_claim: tenant.config.default_claim_policy,
            low_stock_threshold: tenant.config.low_stock_threshold,
            ..StockView::default()
        };
        let catalog: HashMap<Sku, CatalogItem> = if cart.lines.is_empty() {
            HashMap::new()
        } else {
            let mut skus: Vec<Sku> = cart.lines.iter().map(|l| l.sku().clone()).collect();
            skus.sort();
            skus.dedup();
            let inputs = match inputs {
                Inputs::Read(rows) if !rows.covers(&skus) => Inputs::Fresh,
                inputs => inputs,
            };
            let (items, levels) = match inputs {
                Inputs::Recent => (
                    self.recent
                        .catalog_items(self.catalog.as_ref(), cart.tenant_id, &skus)
                        .await?,
                    self.recent
                        .stock_levels(self.inventory.as_ref(), cart.tenant_id, &skus)
                        .await?,
                ),
                Inputs::Read(rows) => rows.of(&skus),
                Inputs::Fresh => {
                    let rows = self.read_rows(cart.tenant_id, skus.clone()).await?;
                    (rows.items, rows.levels)
                }
            };
            stock.levels = levels.into_iter().map(|l| (l.sku.clone(), l)).collect();
            items.into_iter().map(|i| (i.sku.clone(), i)).collect()
        };
        // Holds read with the cart are used as read; otherwise (reads, a re-price after the
        // holds moved) they are read now, and only when they can matter.
        let held = match inputs {
            Inputs::Read(rows) => rows.held_by(cart.id),
            _ => None,
        };
        let reserves = cart
            .lines
            .iter()
            .any(|l| claim_of(l.sku(), &catalog, stock.default_claim) == ClaimPolicy::Reserve);
        if reserves {
            let line_holds = match held {
                Some(held) => held.line_holds.clone(),
                None => self.inventory.line_holds(cart.tenant_id, cart.id).await?,
            };
            stock.holds = line_holds
                .into_iter()
                .map(|h| (h.line_id, (h.quantity, h.expires_at)))
                .collect();
        }
        if cart.status == CartStatus::CheckingOut && !stock.levels.is_empty() {
            let checkout_holds = match held {
                Some(held) => held.checkout_holds.clone(),
                None => {
                    self.inventory
                        .checkout_holds(cart.tenant_id, cart.id)
                        .await?
                }
            };
            for (sku, quantity) in checkout_holds {
                *stock.checkout_holds.entry(sku).or_default() += quantity;
            }
        }
        let view = CartView::assemble(cart, &catalog).with_stock(&stock, &catalog);
        Ok((view, catalog, stock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LineId;

    fn sku(s: &str) -> Sku {
        Sku::parse(s).unwrap()
    }

    fn level(s: &str, on_hand: i64, reserved: i64) -> StockLevel {
        StockLevel {
            sku: sku(s),
            on_hand,
            reserved,
        }
    }

    fn hold(line: LineId, s: &str, quantity: u32, at: i64) -> LineHold {
        LineHold {
            line_id: line,
            sku: sku(s),
            quantity,
            expires_at: DateTime::from_timestamp(at, 0).unwrap(),
        }
    }

    fn want(line: LineId, s: &str, quantity: u32) -> WantedHold {
        WantedHold {
            line_id: line,
            sku: sku(s),
            quantity,
        }
    }

    /// What a reserve write shows is what its save leaves: `reserved` moved by the change
    /// in the cart's own holds, the holds the wanted ones (tracked skus only), the checkout
    /// holds untouched.
    #[test]
    fn rows_after_holds_move_by_the_difference() {
        let cart = CartId::new();
        let (a, b, c, u) = (LineId::new(), LineId::new(), LineId::new(), LineId::new());
        let rows = Rows {
            skus: vec![sku("A"), sku("B"), sku("C"), sku("U")],
            items: Vec::new(),
            // A: 2 of the 5 reserved are this cart's; B: 1 of 1; C: none of 4.
            levels: vec![level("A", 10, 5), level("B", 3, 1), level("C", 9, 4)],
            held: Some(Held {
                cart,
                line_holds: vec![hold(a, "A", 2, 100), hold(b, "B", 1, 100)],
                checkout_holds: vec![(sku("C"), 4)],
            }),
        };
        let until = DateTime::from_timestamp(500, 0).unwrap();
        // A grows to 3 (asked twice for one line: 1 + 2), B is dropped, C is new, U is
        // untracked (no level, so no hold).
        let wanted = [
            want(a, "A", 1),
            want(a, "A", 2),
            want(c, "C", 2),
            want(u, "U", 7),
        ];
        let after = rows.after_holds(cart, &wanted, until).unwrap();
        let reserved: Vec<(String, i64)> = after
            .levels
            .iter()
            .map(|l| (l.sku.to_string(), l.reserved))
            .collect();
        assert_eq!(
            reserved,
            [("A".into(), 6), ("B".into(), 0), ("C".into(), 6)]
        );
        let held = after.held_by(cart).unwrap();
        assert_eq!(
            held.line_holds,
            [hold(a, "A", 3, 500), hold(c, "C", 2, 500)]
        );
        assert_eq!(held.checkout_holds, [(sku("C"), 4)]);
        assert_eq!(after.skus, rows.skus);

        // Rows read with another cart (or with none) say nothing of this one's holds.
        assert!(rows.after_holds(CartId::new(), &wanted, until).is_none());
    }
}
