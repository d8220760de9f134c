//! Cart use cases: create, read, and the shopper's changes to lines and context. Reads
//! assemble the view (`assemble.rs`: durable lines + current catalog); writes go through
//! the pipeline in `mutate.rs` (load, apply a pure mutation, save with a conditional
//! update, retrying a lost race unless the caller pinned a version with `If-Match`). Who
//! may do what is `shopper.rs`; login merges are `merge.rs`.

use chrono::Duration;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::assemble::Inputs;
use super::mutate::emit;
use super::{Precondition, Shopper};
use crate::domain::cart::{AddLine, Rules};
use crate::domain::lifecycle::read_renewal;
use crate::domain::{
    Attributes, Cart, CartEvent, CartId, CartOwner, CartView, LineId, LineKey, Replaced, Replay,
    Sku, Tenant, TenantId,
};
use crate::domain::{event, secret};
use crate::error::{CoreError, StoreError};
use crate::ports::{
    CachedCart, CartCache, CartChangeBus, CartRepository, CatalogRepository, Clock,
    InventoryRepository, Metrics, NoMetrics,
};
use crate::service::judge::OrderTypeJudge;
use crate::service::recent::RecentInputs;
use crate::service::watchers::CartWatchers;

/// How long the count of active carts is reused, so a `/metrics` scrape costs at most one
/// counting query every few seconds however often it comes.
const ACTIVE_CARTS_TTL_SECS: i64 = 5;

/// The last count of active carts and when it was read.
type ActiveCount = (chrono::DateTime<chrono::Utc>, u64);

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
    /// Where committed changes are announced (live streams on every node).
    pub(super) changes: Arc<dyn CartChangeBus>,
    active_count: Arc<std::sync::Mutex<Option<ActiveCount>>>,
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
            changes: Arc::new(CartWatchers::default()),
            active_count: Arc::default(),
        }
    }

    /// Reports merge outcomes to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Announces committed changes on `changes` (by default only to this service's own
    /// watchers, which nobody reads).
    pub fn with_changes(mut self, changes: Arc<dyn CartChangeBus>) -> Self {
        self.changes = changes;
        self
    }

    /// Tells every node's streams of the cart that it changed.
    pub(crate) fn announce(&self, tenant: TenantId, cart: CartId, version: i64) {
        self.changes.announce(tenant, cart, version);
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
        let view = self.assemble(tenant, &cart).await?;
        let created = [event::cart_created(&view)];
        match self.carts.insert_emitting(&cart, seal, &created).await {
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
        self.announce(tenant.id, cart.id, cart.version);
        Ok(CreatedCart {
            view,
            cart_token: token,
            created: true,
        })
    }

    /// The assembled cart.
    pub async fn get(&self, shopper: &Shopper, id: CartId) -> Result<CartView, CoreError> {
        self.get_at_least(shopper, id, 0).await
    }

    /// Reads the cached copy of a cart before the caller is authorized: issued together
    /// with the caller's rate-limit check, both share one round trip to the shared cache.
    /// Nothing read here reaches anyone until [`Self::get_prefetched`] has authorized them.
    pub async fn prefetch(&self, tenant: TenantId, id: CartId) -> Prefetched {
        Prefetched {
            tenant,
            id,
            cached: self.cache.get(tenant, id).await,
        }
    }

    /// [`Self::get`], starting from what [`Self::prefetch`] read (`None`: ask the cache now).
    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, cart_id = %id))]
    pub async fn get_prefetched(
        &self,
        shopper: &Shopper,
        id: CartId,
        prefetched: Option<Prefetched>,
    ) -> Result<CartView, CoreError> {
        let prefetched = prefetched.filter(|p| p.tenant == shopper.tenant.id && p.id == id);
        let cached = match prefetched {
            Some(Prefetched { cached, .. }) => self.cached_or_stored(shopper, id, cached).await?,
            None => self.load_cached(shopper, id, 0).await?,
        };
        self.answer_read(shopper, cached).await
    }

    /// [`Self::get`], but never older than `version`: a cached copy behind it (another
    /// node's cache write timed out after its commit) is passed over for the database.
    /// Live streams read this way after a change notice that named the version.
    #[tracing::instrument(skip_all, fields(tenant_id = %shopper.tenant.id, cart_id = %id))]
    pub async fn get_at_least(
        &self,
        shopper: &Shopper,
        id: CartId,
        version: i64,
    ) -> Result<CartView, CoreError> {
        let cached = self.load_cached(shopper, id, version).await?;
        self.answer_read(shopper, cached).await
    }

    /// The view of a cart just read, for its shopper (who is authorized here).
    async fn answer_read(
        &self,
        shopper: &Shopper,
        CachedCart { cart, judged }: CachedCart,
    ) -> Result<CartView, CoreError> {
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
            .ok_or(CoreError::Unauthenticated(
                "/customers/me/cart needs the customer's token as Authorization: Bearer <JWT>",
            ))?;
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
        // The added sku's rows are read with the cart and its skus' (one statement on
        // PostgreSQL), and the same rows price the first attempt of the write. The caller
        // is authorized before the sku is looked at, so a foreign or missing cart answers
        // 404 whatever the sku.
        let adds = std::slice::from_ref(&req.sku);
        let (cart, rows) = self
            .load_for_write_with_rows(shopper, id, pre, adds)
            .await?;
        let item = rows
            .item(&req.sku)
            .cloned()
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
            .mutate_from(shopper, id, pre, adds, Some((cart, rows)), |cart, rules| {
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

    async fn load_cached(
        &self,
        shopper: &Shopper,
        id: CartId,
        at_least: i64,
    ) -> Result<CachedCart, CoreError> {
        let cached = self
            .cache
            .get(shopper.tenant.id, id)
            .await
            .filter(|c| c.cart.version >= at_least);
        self.cached_or_stored(shopper, id, cached).await
    }

    /// `cached`, or on a miss the cart as stored (then cached).
    async fn cached_or_stored(
        &self,
        shopper: &Shopper,
        id: CartId,
        cached: Option<CachedCart>,
    ) -> Result<CachedCart, CoreError> {
        if let Some(cached) = cached {
            return Ok(cached);
        }
        let tenant = shopper.tenant.id;
        let cart = self
            .carts
            .load(tenant, id)
            .await?
            .ok_or(CoreError::CartNotFound)?;
        self.cache.put(&cart, None).await;
        Ok(CachedCart { cart, judged: None })
    }
}

/// A cart's cached copy read ahead of its request's authorization ([`CartService::prefetch`]).
#[derive(Debug, Clone)]
pub struct Prefetched {
    tenant: TenantId,
    id: CartId,
    cached: Option<CachedCart>,
}
