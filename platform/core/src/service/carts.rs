//! Cart use cases. Reads assemble the view (durable lines + current catalog); writes load,
//! apply a pure mutation and save with a conditional update, retrying a lost race unless
//! the caller pinned a version with `If-Match` (that pipeline is `carts/mutation.rs`).

use chrono::Duration;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::domain::cart::{AddLine, Rules};
use crate::domain::lifecycle::read_renewal;
use crate::domain::secret;
use crate::domain::{
    Attributes, Cart, CartEvent, CartId, CartOwner, CartView, CatalogItem, Judged, LineId, LineKey,
    Receipt, Replaced, Replay, Seal, Sku, Tenant,
};
use crate::domain::{ClaimPolicy, StockView};
use crate::error::{CoreError, StoreError};
use crate::ports::{
    CachedCart, CartCache, CartRepository, CatalogRepository, Clock, InventoryRepository, Metrics,
    NoMetrics,
};
use crate::service::judge::OrderTypeJudge;
use crate::service::recent::RecentInputs;

mod mutation;

pub(crate) use mutation::wanted_holds;

/// How many times a mutation re-reads and re-applies after losing a race. Every lost race
/// means another writer won, so the cart always makes progress; the bound only stops a
/// pathological storm from holding a worker forever.
pub(super) const MAX_ATTEMPTS: usize = 100;

/// How long the count of active carts is reused, so a `/metrics` scrape costs at most one
/// counting query every few seconds however often it comes.
const ACTIVE_CARTS_TTL_SECS: i64 = 5;

/// The last count of active carts and when it was read.
type ActiveCount = (chrono::DateTime<chrono::Utc>, u64);

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

/// A request to add a line, as parsed at the boundary.
#[derive(Debug, Clone)]
pub struct AddLineRequest {
    pub sku: Sku,
    pub quantity: i64,
    pub attributes: Attributes,
    pub seller: Option<String>,
    pub fulfillment: Option<String>,
    pub replace_incompatible: bool,
}

/// An add's answer: the cart, and what the add emptied out of it when it had to replace
/// lines of another order type (`replace_incompatible`).
#[derive(Debug, Clone)]
pub struct AddedLine {
    pub view: CartView,
    pub replaced: Option<Replaced>,
}

/// A cart just created, with its guest token when it has one (shown once).
#[derive(Debug, Clone)]
pub struct CreatedCart {
    pub view: CartView,
    pub cart_token: Option<String>,
    /// False when a customer's existing live cart was returned instead.
    pub created: bool,
}

#[derive(Clone)]
pub struct CartService {
    pub(super) carts: Arc<dyn CartRepository>,
    pub(super) catalog: Arc<dyn CatalogRepository>,
    pub(super) inventory: Arc<dyn InventoryRepository>,
    pub(super) cache: Arc<dyn CartCache>,
    pub(super) judge: Arc<OrderTypeJudge>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) recent: Arc<RecentInputs>,
    pub(super) metrics: Arc<dyn Metrics>,
    active_count: Arc<std::sync::Mutex<Option<ActiveCount>>>,
}

/// A cart as a read assembles it, with what went into it.
pub(crate) struct Priced {
    pub view: CartView,
    /// The plugin's new answer, to keep beside the cached cart.
    pub fresh: Option<Judged>,
    pub catalog: HashMap<Sku, CatalogItem>,
    pub stock: StockView,
}

impl CartService {
    pub fn new(
        carts: Arc<dyn CartRepository>,
        catalog: Arc<dyn CatalogRepository>,
        inventory: Arc<dyn InventoryRepository>,
        cache: Arc<dyn CartCache>,
        judge: Arc<OrderTypeJudge>,
        clock: Arc<dyn Clock>,
        recent: Arc<RecentInputs>,
    ) -> Self {
        Self {
            carts,
            catalog,
            inventory,
            cache,
            judge,
            clock,
            recent,
            metrics: Arc::new(NoMetrics),
            active_count: Arc::default(),
        }
    }

    /// Reports merge outcomes and reservations to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub(crate) fn metrics(&self) -> &Arc<dyn Metrics> {
        &self.metrics
    }

    /// How many carts are `active` across tenants, read at most every
    /// [`ACTIVE_CARTS_TTL_SECS`] (by the clock) and reused in between.
    pub async fn active_carts(&self) -> Result<u64, CoreError> {
        use std::sync::PoisonError;
        let now = self.clock.now();
        let cached = *self
            .active_count
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((at, n)) = cached {
            let age = now - at;
            // A clock that stepped back does not keep a count forever.
            if age >= Duration::zero() && age < Duration::seconds(ACTIVE_CARTS_TTL_SECS) {
                return Ok(n);
            }
        }
        let n = self.carts.count_active().await?;
        *self
            .active_count
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((now, n));
        Ok(n)
    }

    pub(crate) fn repository(&self) -> &Arc<dyn CartRepository> {
        &self.carts
    }

    pub(crate) fn cache(&self) -> &Arc<dyn CartCache> {
        &self.cache
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn recent(&self) -> &RecentInputs {
        &self.recent
    }

    fn idle_ttl(tenant: &Tenant, owner: &CartOwner) -> Duration {
        let days = match owner {
            CartOwner::Customer(_) => tenant.config.customer_ttl_days,
            CartOwner::Guest { .. } => tenant.config.guest_ttl_days,
        };
        Duration::days(i64::from(days))
    }

    pub(super) fn rules(&self, tenant: &Tenant, cart: &Cart) -> Rules {
        Rules {
            now: self.clock.now_millis(),
            limits: tenant.config.limits(),
            idle_ttl: Self::idle_ttl(tenant, &cart.owner),
        }
    }

    /// Creates a cart. A customer has one live cart per tenant: if it exists it is returned
    /// (`created: false`) rather than a second one made.
    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id))]
    pub async fn create(&self, shopper: &Shopper) -> Result<CreatedCart, CoreError> {
        let tenant = &shopper.tenant;
        let now = self.clock.now_millis();
        let (owner, token) = match &shopper.customer_id {
            Some(customer) => {
                if let Some(existing) = self
                    .carts
                    .find_live_for_customer(tenant.id, customer)
                    .await?
                {
                    return Ok(CreatedCart {
                        view: self.assemble(tenant, &existing).await?,
                        cart_token: None,
                        created: false,
                    });
                }
                (CartOwner::Customer(customer.clone()), None)
            }
            None => {
                let token = secret::generate("tct_");
                let owner = CartOwner::Guest {
                    token_hash: secret::hash(&token),
                };
                (owner, Some(token))
            }
        };
        let ttl = Self::idle_ttl(tenant, &owner);
        let (cart, event) = Cart::new(tenant.id, owner, tenant.currency, now, ttl);
        // A guest's token is shown only in this answer: the idempotency record keeps it
        // until the answer is stored, so a retry after a crash still gets it. A customer's
        // retry finds the cart it made and needs no seal.
        let replay = token.as_ref().map(|token| Replay::CreatedCart {
            cart: cart.id,
            token: token.clone(),
        });
        let seal = replay.as_ref().and_then(|r| shopper.seal(r));
        match self.carts.insert(&cart, seal).await {
            Ok(()) => {}
            // Two devices created the customer's cart at once: the other one won; use it.
            Err(StoreError::UniqueViolation(_)) if shopper.customer_id.is_some() => {
                let customer = shopper.customer_id.as_deref().unwrap_or_default();
                let existing = self
                    .carts
                    .find_live_for_customer(tenant.id, customer)
                    .await?
                    .ok_or(CoreError::Contention)?;
                return Ok(CreatedCart {
                    view: self.assemble(tenant, &existing).await?,
                    cart_token: None,
                    created: false,
                });
            }
            Err(e) => return Err(e.into()),
        }
        emit(&cart, &[event]);
        self.cache.put(&cart, None).await;
        Ok(CreatedCart {
            view: self.assemble(tenant, &cart).await?,
            cart_token: token,
            created: true,
        })
    }

    /// The assembled cart.
    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, cart_id = %id))]
    pub async fn get(&self, shopper: &Shopper, id: CartId) -> Result<CartView, CoreError> {
        let CachedCart { cart, judged } = self.load_cached(shopper, id).await?;
        shopper.authorize(&cart)?;
        let cart = self.renew_on_read(&shopper.tenant, cart).await;
        let priced = self
            .price_with(&shopper.tenant, &cart, Inputs::Recent, judged.as_ref())
            .await?;
        // A new answer is kept beside the cart, so the next read of it, on any node, asks
        // no plugin.
        if priced.fresh.is_some() {
            self.cache.put(&cart, priced.fresh.as_ref()).await;
        }
        Ok(priced.view)
    }

    /// The signed-in customer's live cart, from any device.
    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id))]
    pub async fn get_for_customer(&self, shopper: &Shopper) -> Result<CartView, CoreError> {
        let customer = shopper
            .customer_id
            .as_deref()
            .ok_or(CoreError::Unauthenticated)?;
        let cart = self
            .carts
            .find_live_for_customer(shopper.tenant.id, customer)
            .await?
            .ok_or(CoreError::CartNotFound)?;
        let cart = self.renew_on_read(&shopper.tenant, cart).await;
        self.assemble(&shopper.tenant, &cart).await
    }

    /// A shopper who keeps reading a cart keeps it alive: when the cart's idle deadline is
    /// due for renewal ([`read_renewal`], at most once a day) it is pushed out by one
    /// conditional UPDATE of `expires_at` alone — no version bump, the ETag stays. The
    /// common read finds nothing due and writes nothing. A failed renewal never fails the
    /// read: the next read (or a write) renews.
    async fn renew_on_read(&self, tenant: &Tenant, mut cart: Cart) -> Cart {
        let ttl = Self::idle_ttl(tenant, &cart.owner);
        let Some(renewal) = read_renewal(&cart, self.clock.now_millis(), ttl) else {
            return cart;
        };
        match self.carts.renew_expiry(tenant.id, cart.id, &renewal).await {
            Ok(true) => {
                cart.expires_at = renewal.until;
                // Same version: the cache takes it unless a write has put a newer one.
                self.cache.put(&cart, None).await;
            }
            Ok(false) => {
                // Renewed elsewhere or changed since it was read: the cached copy is behind
                // the database, so the next read loads the truth.
                self.cache.invalidate(tenant.id, cart.id).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, cart_id = %cart.id, "could not renew a read cart's deadline")
            }
        }
        cart
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, cart_id = %id, sku = %req.sku))]
    pub async fn add_line(
        &self,
        shopper: &Shopper,
        id: CartId,
        req: AddLineRequest,
        pre: Precondition,
    ) -> Result<AddedLine, CoreError> {
        let tenant = &shopper.tenant;
        // The cart is read (and the caller authorized) before the catalog, so a foreign or
        // missing cart answers 404 whatever the sku; that first read also serves the first
        // attempt of the write.
        let cart = self.load_for_write(shopper, id, pre).await?;
        let item = self
            .catalog
            .get(tenant.id, &req.sku)
            .await?
            .ok_or_else(|| CoreError::UnknownSku(req.sku.to_string()))?;
        // The line's seller defaults to the catalog's; the client may name one explicitly
        // (a marketplace sku sold by several outlets).
        let seller = req.seller.clone().or_else(|| item.seller.clone());
        let key = LineKey::parse(
            req.sku.clone(),
            req.attributes.clone(),
            seller,
            req.fulfillment.clone(),
        )?;
        let order_type = tenant
            .config
            .category_order_types
            .get(&item.category)
            .cloned();
        let (view, events) = self
            .mutate_from(shopper, id, pre, Some(cart), |cart, rules| {
                cart.add_line(
                    AddLine {
                        key: key.clone(),
                        quantity: req.quantity,
                        item: &item,
                        order_type: order_type.clone(),
                        replace_incompatible: req.replace_incompatible,
                    },
                    rules,
                )
            })
            .await?;
        let replaced = events.into_iter().find_map(|e| match e {
            CartEvent::CartReplaced(replaced) => Some(replaced),
            _ => None,
        });
        Ok(AddedLine { view, replaced })
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, cart_id = %id, line_id = %line))]
    pub async fn set_quantity(
        &self,
        shopper: &Shopper,
        id: CartId,
        line: LineId,
        quantity: i64,
        expected_line_version: Option<i64>,
        pre: Precondition,
    ) -> Result<CartView, CoreError> {
        self.mutate(shopper, id, pre, |cart, rules| {
            cart.set_quantity(line, quantity, expected_line_version, rules)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, cart_id = %id, line_id = %line))]
    pub async fn remove_line(
        &self,
        shopper: &Shopper,
        id: CartId,
        line: LineId,
        expected_line_version: Option<i64>,
        pre: Precondition,
    ) -> Result<CartView, CoreError> {
        self.mutate(shopper, id, pre, |cart, rules| {
            cart.remove_line(line, expected_line_version, rules)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, cart_id = %id))]
    pub async fn clear(
        &self,
        shopper: &Shopper,
        id: CartId,
        pre: Precondition,
    ) -> Result<CartView, CoreError> {
        self.mutate(shopper, id, pre, |cart, rules| cart.clear(rules))
            .await
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, cart_id = %id))]
    pub async fn set_context(
        &self,
        shopper: &Shopper,
        id: CartId,
        context: BTreeMap<String, String>,
        pre: Precondition,
    ) -> Result<CartView, CoreError> {
        self.mutate(shopper, id, pre, |cart, rules| {
            cart.set_context(context.clone(), rules)
        })
        .await
    }

    async fn load_cached(&self, shopper: &Shopper, id: CartId) -> Result<CachedCart, CoreError> {
        let tenant = shopper.tenant.id;
        if let Some(cached) = self.cache.get(tenant, id).await {
            return Ok(cached);
        }
        let cart = self
            .carts
            .load(tenant, id)
            .await?
            .ok_or(CoreError::CartNotFound)?;
        self.cache.put(&cart, None).await;
        Ok(CachedCart { cart, judged: None })
    }

    /// Prices the cart against the catalog, decorates it with stock, then lets its order
    /// type judge it: what a read shows, from this node's recent catalog and stock reads
    /// ([`RecentInputs`]).
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

    /// Prices and judges `cart`; `remembered` is the order type's answer kept beside the
    /// cached cart, used if it answers the same question.
    async fn price_with(
        &self,
        tenant: &Tenant,
        cart: &Cart,
        inputs: Inputs,
        remembered: Option<&Judged>,
    ) -> Result<Priced, CoreError> {
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
            let (items, levels) = match inputs {
                Inputs::Recent => (
                    self.recent
                        .catalog_items(self.catalog.as_ref(), cart.tenant_id, &skus)
                        .await?,
                    self.recent
                        .stock_levels(self.inventory.as_ref(), cart.tenant_id, &skus)
                        .await?,
                ),
                Inputs::Fresh => {
                    let start = self.recent.before_read();
                    let items = self.catalog.get_many(cart.tenant_id, &skus).await?;
                    let levels = self.inventory.get_many(cart.tenant_id, &skus).await?;
                    self.recent
                        .refresh(start, cart.tenant_id, &skus, &items, &levels);
                    (items, levels)
                }
            };
            stock.levels = levels.into_iter().map(|l| (l.sku.clone(), l)).collect();
            items.into_iter().map(|i| (i.sku.clone(), i)).collect()
        };
        let reserves = cart
            .lines
            .iter()
            .any(|l| claim_of(l.sku(), &catalog, &stock) == ClaimPolicy::Reserve);
        if reserves {
            stock.holds = self
                .inventory
                .line_holds(cart.tenant_id, cart.id)
                .await?
                .into_iter()
                .map(|h| (h.line_id, (h.quantity, h.expires_at)))
                .collect();
        }
        let view = CartView::assemble(cart, &catalog).with_stock(&stock, &catalog);
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
}

/// Where pricing reads the catalog and stock from.
#[derive(Debug, Clone, Copy)]
enum Inputs {
    /// This node's recent reads: for showing a cart.
    Recent,
    /// The database: for deciding (writes, checkout).
    Fresh,
}

fn claim_of(sku: &Sku, catalog: &HashMap<Sku, CatalogItem>, stock: &StockView) -> ClaimPolicy {
    catalog
        .get(sku)
        .and_then(|i| i.claim_policy)
        .unwrap_or(stock.default_claim)
}

/// Domain events go to the structured log for now; metrics and an outbox read them later.
pub(super) fn emit(cart: &Cart, events: &[CartEvent]) {
    for event in events {
        tracing::info!(
            tenant_id = %cart.tenant_id,
            cart_id = %cart.id,
            version = cart.version,
            event = ?event,
            "cart event"
        );
    }
}
