//! Read assembly: a cart priced against the catalog, decorated with stock, and judged by
//! its order type. Reads take this node's recent catalog and stock reads; writes and
//! checkout take the database's, and keep what the view was made from to decide with.

use std::collections::HashMap;

use super::CartService;
use crate::domain::claim::claim_of;
use crate::domain::{
    Cart, CartStatus, CartView, CatalogItem, ClaimPolicy, Judged, Sku, StockLevel, StockView,
    Tenant, TenantId,
};
use crate::error::CoreError;
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
/// database.
#[derive(Debug)]
pub(crate) struct Rows {
    /// The skus asked for, sorted: a sku here without an item is not in the catalog.
    skus: Vec<Sku>,
    items: Vec<CatalogItem>,
    levels: Vec<StockLevel>,
}

impl Rows {
    /// The catalog item of `sku`, if it was read and exists.
    pub fn item(&self, sku: &Sku) -> Option<&CatalogItem> {
        self.items.iter().find(|item| &item.sku == sku)
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
        Ok(self.rows_read(start, tenant, skus, items, levels))
    }

    /// The [`Rows`] of `skus` (all of them, those without an item or a level too) as just
    /// read from the database by a read that began at `start`; this node's recent reads
    /// are refreshed with them.
    pub(crate) fn rows_read(
        &self,
        start: ReadStart,
        tenant: TenantId,
        mut skus: Vec<Sku>,
        items: Vec<CatalogItem>,
        levels: Vec<StockLevel>,
    ) -> Rows {
        skus.sort();
        skus.dedup();
        self.recent.refresh(start, tenant, &skus, &items, &levels);
        Rows {
            skus,
            items,
            levels,
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
        let reserves = cart
            .lines
            .iter()
            .any(|l| claim_of(l.sku(), &catalog, stock.default_claim) == ClaimPolicy::Reserve);
        if reserves {
            stock.holds = self
                .inventory
                .line_holds(cart.tenant_id, cart.id)
                .await?
                .into_iter()
                .map(|h| (h.line_id, (h.quantity, h.expires_at)))
                .collect();
        }
        if cart.status == CartStatus::CheckingOut && !stock.levels.is_empty() {
            for (sku, quantity) in self
                .inventory
                .checkout_holds(cart.tenant_id, cart.id)
                .await?
            {
                *stock.checkout_holds.entry(sku).or_default() += quantity;
            }
        }
        let view = CartView::assemble(cart, &catalog).with_stock(&stock, &catalog);
        Ok((view, catalog, stock))
    }
}
