//! What cart reads price with: the catalog items and stock levels this node read recently.
//!
//! A cart read needs the catalog rows and stock levels of its skus. Reading them on every
//! read cost two database queries even when the cart itself came from the cache, and they
//! were most of a hot read's cost (BENCHMARKS.md). Commercial truth ages in minutes and
//! allocation in milliseconds (SPEC §1), so a *read* reuses what this node read within
//! [`CATALOG_TTL_MS`] and [`STOCK_TTL_MS`].
//!
//! Nothing binding comes from here: writes (the stock check of a growing line, holds) and
//! checkout read the database, and refresh these entries as they do. A change made through
//! this node forgets its skus at once; a change made on another node shows here within the
//! TTL. A read that raced a change never stores what it read before the change: every
//! forget bumps a generation, and a read only remembers if the generation it started with
//! is still current.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::domain::{CatalogItem, Sku, StockLevel, TenantId};
use crate::error::StoreError;
use crate::ports::{CatalogRepository, Clock, InventoryRepository};

/// How long a read may price with a catalog item this node read earlier.
pub const CATALOG_TTL_MS: i64 = 1000;
/// How long a read may decorate with a stock level this node read earlier.
pub const STOCK_TTL_MS: i64 = 250;
/// Past this many entries (all tenants together), every entry is dropped and reads start
/// over: a bound on memory (an entry is a few hundred bytes) that costs one round of
/// database reads.
const MAX_ENTRIES: usize = 200_000;

pub struct RecentInputs {
    clock: Arc<dyn Clock>,
    catalog: Memo<CatalogItem>,
    stock: Memo<StockLevel>,
}

impl RecentInputs {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            catalog: Memo::new(CATALOG_TTL_MS),
            stock: Memo::new(STOCK_TTL_MS),
        }
    }

    /// The catalog items of `skus` (those that exist), from this node's recent reads where
    /// they are fresh enough, else from `repo`.
    pub async fn catalog_items(
        &self,
        repo: &dyn CatalogRepository,
        tenant: TenantId,
        skus: &[Sku],
    ) -> Result<Vec<CatalogItem>, StoreError> {
        let now = self.clock.now();
        let (mut found, missing, generation) = self.catalog.recall(tenant, skus, now);
        if !missing.is_empty() {
            let read = repo.get_many(tenant, &missing).await?;
            self.catalog
                .remember(tenant, &missing, &read, |i| &i.sku, now, generation);
            found.extend(read);
        }
        Ok(found)
    }

    /// The stock levels of `skus` (those tracked), like [`Self::catalog_items`].
    pub async fn stock_levels(
        &self,
        repo: &dyn InventoryRepository,
        tenant: TenantId,
        skus: &[Sku],
    ) -> Result<Vec<StockLevel>, StoreError> {
        let now = self.clock.now();
        let (mut found, missing, generation) = self.stock.recall(tenant, skus, now);
        if !missing.is_empty() {
            let read = repo.get_many(tenant, &missing).await?;
            self.stock
                .remember(tenant, &missing, &read, |l| &l.sku, now, generation);
            found.extend(read);
        }
        Ok(found)
    }

    /// Taken before a write or a checkout reads catalog and stock from the database, so
    /// [`Self::refresh`] can tell whether this node changed any of it meanwhile.
    pub fn before_read(&self) -> ReadStart {
        ReadStart {
            at: self.clock.now(),
            catalog: self.catalog.generation(),
            stock: self.stock.generation(),
        }
    }

    /// Records what a write or a checkout just read from the database, unless this node
    /// changed catalog or stock since `start`.
    pub fn refresh(
        &self,
        start: ReadStart,
        tenant: TenantId,
        asked: &[Sku],
        items: &[CatalogItem],
        levels: &[StockLevel],
    ) {
        self.catalog
            .remember(tenant, asked, items, |i| &i.sku, start.at, start.catalog);
        self.stock
            .remember(tenant, asked, levels, |l| &l.sku, start.at, start.stock);
    }

    /// The catalog items of `skus` changed (or may have).
    pub fn forget_catalog<'a>(&self, tenant: TenantId, skus: impl IntoIterator<Item = &'a Sku>) {
        self.catalog.forget(tenant, skus);
    }

    /// The stock of `skus` changed (or may have): on-hand set, held, released or sold.
    pub fn forget_stock<'a>(&self, tenant: TenantId, skus: impl IntoIterator<Item = &'a Sku>) {
        self.stock.forget(tenant, skus);
    }
}

/// When a database read began, and the generations it began under.
#[derive(Debug, Clone, Copy)]
pub struct ReadStart {
    at: DateTime<Utc>,
    catalog: u64,
    stock: u64,
}

/// When an entry was read and what it was (`None`: the sku has no row).
type Entry<T> = (DateTime<Utc>, Option<T>);

/// Every tenant's entries, and how many there are in all.
struct Entries<T> {
    tenants: HashMap<TenantId, HashMap<Sku, Entry<T>>>,
    count: usize,
}

struct Memo<T> {
    ttl: Duration,
    /// Bumped by every forget; a read remembers only under the generation it started with.
    generation: AtomicU64,
    entries: RwLock<Entries<T>>,
}

impl<T: Clone> Memo<T> {
    fn new(ttl_ms: i64) -> Self {
        Self {
            ttl: Duration::milliseconds(ttl_ms),
            generation: AtomicU64::new(0),
            entries: RwLock::new(Entries {
                tenants: HashMap::new(),
                count: 0,
            }),
        }
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The fresh values among `skus`, the skus that must be read, and the generation to
    /// remember them under.
    fn recall(
        &self,
        tenant: TenantId,
        skus: &[Sku],
        now: DateTime<Utc>,
    ) -> (Vec<T>, Vec<Sku>, u64) {
        // Taken before the lookup: a forget after it makes this read's result unwanted.
        let generation = self.generation();
        let mut found = Vec::with_capacity(skus.len());
        let mut missing = Vec::new();
        let all = self.entries.read().ok();
        let entries = all.as_ref().and_then(|all| all.tenants.get(&tenant));
        for sku in skus {
            match entries.and_then(|e| e.get(sku)) {
                // A clock that stepped back does not keep an entry alive.
                Some((at, value)) if now >= *at && now - *at < self.ttl => {
                    found.extend(value.iter().cloned());
                }
                _ => missing.push(sku.clone()),
            }
        }
        (found, missing, generation)
    }

    /// Stores what a read of `asked` found (`read`; the rest have no row), unless something
    /// was forgotten since `generation` was taken.
    fn remember(
        &self,
        tenant: TenantId,
        asked: &[Sku],
        read: &[T],
        sku_of: impl Fn(&T) -> &Sku,
        at: DateTime<Utc>,
        generation: u64,
    ) {
        let Ok(mut all) = self.entries.write() else {
            return;
        };
        // Checked under the lock that `forget` also takes, so the two cannot interleave.
        if self.generation() != generation {
            return;
        }
        if all.count + asked.len() > MAX_ENTRIES {
            all.tenants.clear();
            all.count = 0;
        }
        let Entries { tenants, count } = &mut *all;
        let entries = tenants.entry(tenant).or_default();
        for sku in asked {
            if entries.insert(sku.clone(), (at, None)).is_none() {
                *count += 1;
            }
        }
        // Every read value was asked for, so these only replace the `None`s above.
        for value in read {
            entries.insert(sku_of(value).clone(), (at, Some(value.clone())));
        }
    }

    fn forget<'a>(&self, tenant: TenantId, skus: impl IntoIterator<Item = &'a Sku>) {
        let Ok(mut all) = self.entries.write() else {
            return;
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        let Entries { tenants, count } = &mut *all;
        if let Some(entries) = tenants.get_mut(&tenant) {
            for sku in skus {
                if entries.remove(sku).is_some() {
                    *count -= 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(s: &str) -> Sku {
        Sku::parse(s).expect("valid sku")
    }

    fn level(s: &str, on_hand: i64) -> StockLevel {
        StockLevel {
            sku: sku(s),
            on_hand,
            reserved: 0,
        }
    }

    #[test]
    fn fresh_entries_are_recalled_and_absent_rows_too() {
        let memo = Memo::<StockLevel>::new(250);
        let tenant = TenantId::new();
        let t0 = Utc::now();
        let asked = [sku("a"), sku("b")];
        let (found, missing, generation) = memo.recall(tenant, &asked, t0);
        assert!(found.is_empty());
        assert_eq!(missing, asked.to_vec());
        memo.remember(
            tenant,
            &missing,
            &[level("a", 3)],
            |l| &l.sku,
            t0,
            generation,
        );

        let (found, missing, _) = memo.recall(tenant, &asked, t0 + Duration::milliseconds(100));
        assert_eq!(found, vec![level("a", 3)], "b is remembered as untracked");
        assert!(missing.is_empty());

        let (found, missing, _) = memo.recall(tenant, &asked, t0 + Duration::milliseconds(250));
        assert!(found.is_empty(), "expired at the TTL");
        assert_eq!(missing.len(), 2);

        let (_, missing, _) = memo.recall(TenantId::new(), &asked, t0);
        assert_eq!(missing.len(), 2, "another tenant sees nothing");
    }

    #[test]
    fn a_forget_drops_the_sku_and_wins_over_a_racing_read() {
        let memo = Memo::<StockLevel>::new(250);
        let tenant = TenantId::new();
        let now = Utc::now();
        let asked = [sku("a")];
        let (_, missing, generation) = memo.recall(tenant, &asked, now);
        memo.remember(
            tenant,
            &missing,
            &[level("a", 3)],
            |l| &l.sku,
            now,
            generation,
        );

        // A read starts, a write forgets, then the read (of the old value) tries to store.
        let (_, _, racing) = memo.recall(tenant, &[sku("b")], now);
        memo.forget(tenant, &asked);
        let (_, missing, _) = memo.recall(tenant, &asked, now);
        assert_eq!(missing, asked.to_vec(), "forgotten");
        memo.remember(tenant, &asked, &[level("a", 3)], |l| &l.sku, now, racing);
        let (_, missing, _) = memo.recall(tenant, &asked, now);
        assert_eq!(
            missing,
            asked.to_vec(),
            "the racing read's old value was not stored"
        );
    }

    #[test]
    fn the_entries_of_all_tenants_are_bounded() {
        let memo = Memo::<StockLevel>::new(250);
        let now = Utc::now();
        let batch: Vec<Sku> = (0..1000).map(|i| sku(&format!("s{i}"))).collect();
        for _ in 0..=(MAX_ENTRIES / batch.len()) {
            memo.remember(TenantId::new(), &batch, &[], |l| &l.sku, now, 0);
            let count = memo.entries.read().map(|e| e.count).unwrap_or(usize::MAX);
            assert!(count <= MAX_ENTRIES, "{count}");
        }
        let tenant = TenantId::new();
        memo.remember(tenant, &batch, &[], |l| &l.sku, now, 0);
        memo.forget(tenant, &batch[..10]);
        let (_, missing, _) = memo.recall(tenant, &batch, now);
        assert_eq!(missing.len(), 10, "only the forgotten skus are missing");
    }

    #[test]
    fn a_clock_that_steps_back_does_not_keep_entries() {
        let memo = Memo::<StockLevel>::new(250);
        let tenant = TenantId::new();
        let now = Utc::now();
        let asked = [sku("a")];
        memo.remember(tenant, &asked, &[level("a", 1)], |l| &l.sku, now, 0);
        let (_, missing, _) = memo.recall(tenant, &asked, now - Duration::seconds(1));
        assert_eq!(missing.len(), 1);
    }
}
