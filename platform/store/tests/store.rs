//! Every repository behaviour, run against a fresh SQLite file AND a fresh PostgreSQL
//! database (`TROLLEY_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`).
//! PostgreSQL being unreachable fails the tests.

// Scenario functions are shared by the sqlite and postgres tests, so clippy does not see
// them as tests; unwrapping is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod credentials;
mod holding;
mod retention;
mod saves;
mod stock;
mod write_reads;

use std::time::Duration as StdDuration;

use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};
use trolley_core::StoreError;
use trolley_core::domain::{
    Activation, Actor, AuditAction, CartId, CartStatus, Currency, PluginId, PluginRecord, Price,
    Receipt, Replay, Seal, TenantId, TenantStatus,
};
use trolley_core::ports::{
    CartRepository, CatalogRepository, ConfigWrite, HealthCheck, IdempotencyLookup,
    IdempotencyStore, KeyKind, PluginRepository, StoredResponse, TenantRepository,
};
use trolley_migrations::{Migrator, MigratorTrait};
use trolley_store::entity::{
    api_keys, carts, idempotency_records, order_type_activations, plugin_modules, plugins,
};
use trolley_store::{Database, DatabaseOptions};

use common::*;
use credentials::*;
use holding::*;
use retention::*;
use saves::*;
use stock::*;
use write_reads::*;

/// One test per scenario and backend: `sqlite::<scenario>` and `postgres::<scenario>`.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    let test_db = super::TestDb::sqlite().await;
                    super::$scenario(&test_db.db).await;
                    test_db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    let test_db = super::TestDb::postgres().await;
                    super::$scenario(&test_db.db).await;
                    test_db.cleanup().await;
                }
            )*
        }
    };
}

on_both_backends!(
    health_check_answers,
    migrations_go_down_and_up_again,
    tenants_round_trip_and_resolve_keys,
    duplicate_key_hash_is_a_unique_violation,
    money_round_trips_exactly,
    price_revision_increments_only_on_price_change,
    get_many_returns_only_existing_items_of_the_tenant,
    cart_round_trips_with_lines_in_order,
    stale_save_is_a_conflict_and_writes_nothing,
    a_save_numbers_its_events_or_writes_nothing,
    concurrent_saves_with_one_key_commit_once,
    a_save_is_one_statement_on_postgres,
    concurrent_saves_from_one_version_have_one_winner,
    second_live_cart_for_a_customer_is_a_unique_violation,
    carts_are_invisible_to_other_tenants,
    load_with_rows_reads_the_cart_and_its_skus_rows_of_its_tenant,
    load_with_rows_is_one_statement_on_postgres,
    load_with_rows_reads_what_the_cart_holds,
    a_save_holding_writes_the_cart_and_its_holds_or_nothing,
    reserve_writes_and_checkouts_stay_few_statements,
    count_active_counts_active_carts_of_every_tenant,
    corrupt_rows_are_internal_errors,
    idempotency_records_commit_with_their_change,
    idempotency_concurrent_seals_commit_once,
    idempotency_legacy_claims_and_purge,
    plugin_insert_is_idempotent_per_tenant_and_content_addressed,
    concurrent_identical_uploads_store_one_record,
    plugins_are_scoped_by_tenant,
    plugin_bytes_round_trip_exactly,
    activation_lifecycle_with_rollback,
    rollback_walks_back_through_the_history,
    activating_another_tenants_plugin_fails,
    concurrent_activations_leave_one_active,
    active_all_lists_every_order_type,
    activation_config_round_trips_exactly,
    stock_levels_track_holds_and_refuse_on_hand_below_reserved,
    sync_line_holds_follows_the_lines,
    sync_line_holds_is_all_or_nothing,
    concurrent_holds_never_oversell,
    begin_with_a_short_sku_holds_nothing,
    begin_then_complete_commits_stock_and_converts_the_cart,
    concurrent_completes_make_one_order,
    cancel_releases_and_unfreezes,
    expired_checkout_answers_expired_and_releases,
    sweep_releases_expires_and_reports,
    concurrent_sweeps_release_each_hold_once,
    snapshot_and_order_round_trip_exactly,
    retention_deletes_old_ended_carts_with_lines_holds_and_merges,
    retention_batches_are_bounded_and_leave_pending_checkouts,
    concurrent_retention_sweeps_delete_each_row_once,
    renew_expiry_moves_only_the_deadline_once,
    orders_stay_readable_by_their_owner_after_retention,
    api_keys_are_created_listed_and_revoked_with_audit,
    concurrent_admin_key_revocations_keep_one_admin_key,
    last_use_is_recorded_at_most_once_a_minute,
    customer_token_secrets_rotate_and_mirror_the_newest,
    migration_moves_secrets_and_names_existing_keys,
);

// ---- infrastructure ---------------------------------------------------------------------

async fn health_check_answers(db: &Database) {
    let health = db.health();
    assert_eq!(health.name(), "database");
    health.check().await.unwrap();
}

async fn migrations_go_down_and_up_again(db: &Database) {
    Migrator::down(db.connection(), None).await.unwrap();
    Migrator::up(db.connection(), None).await.unwrap();
    // Idempotent: nothing pending.
    db.migrate().await.unwrap();
    let tenant = create_tenant(db, "after re-migration").await;
    assert!(db.tenants().get(tenant.id).await.unwrap().is_some());
}

// ---- tenants ----------------------------------------------------------------------------

async fn tenants_round_trip_and_resolve_keys(db: &Database) {
    let repo = db.tenants();
    let a = create_tenant(db, "Alpha").await;
    let b = create_tenant(db, "Beta").await;

    assert_eq!(repo.get(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(repo.get(TenantId::new()).await.unwrap(), None);
    let listed = repo.list().await.unwrap();
    assert!(listed.contains(&a) && listed.contains(&b));

    // Keys resolve to their tenant, only for their kind.
    let sf = format!("sf-{}", a.id);
    assert_eq!(
        repo.find_by_key(KeyKind::Storefront, &sf)
            .await
            .unwrap()
            .map(|owner| owner.tenant),
        Some(a.clone())
    );
    assert_eq!(repo.find_by_key(KeyKind::Admin, &sf).await.unwrap(), None);
    assert_eq!(
        repo.find_by_key(KeyKind::Admin, &format!("ad-{}", b.id))
            .await
            .unwrap()
            .map(|owner| owner.tenant.id),
        Some(b.id)
    );
    assert_eq!(
        repo.find_by_key(KeyKind::Storefront, "nope").await.unwrap(),
        None
    );

    // A revoked key no longer resolves.
    api_keys::Entity::update_many()
        .col_expr(api_keys::Column::RevokedAt, Expr::value(Some(1_i64)))
        .filter(api_keys::Column::KeyHash.eq(sf.clone()))
        .exec(db.connection())
        .await
        .unwrap();
    assert_eq!(
        repo.find_by_key(KeyKind::Storefront, &sf).await.unwrap(),
        None
    );

    // update writes name and status.
    let mut changed = a.clone();
    changed.name = "Alpha Prime".into();
    changed.status = TenantStatus::Suspended;
    repo.update(&changed, t(1)).await.unwrap();
    assert_eq!(repo.get(a.id).await.unwrap(), Some(changed.clone()));

    // The config changes only through update_config, and only at the revision it names.
    let mut config = changed.config.clone();
    config.max_lines = 7;
    config.guest_ttl_days = 2;
    let write = |expected| {
        let repo = repo.clone();
        let config = config.clone();
        async move {
            repo.update_config(
                a.id,
                &config,
                expected,
                &Actor::Operator,
                AuditAction::ConfigPut,
                t(1),
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(write(2).await, ConfigWrite::Stale { current: 1 });
    assert_eq!(
        repo.config(a.id).await.unwrap(),
        Some((a.config.clone(), 1))
    );
    assert_eq!(write(1).await, ConfigWrite::Written { revision: 2 });
    assert_eq!(write(1).await, ConfigWrite::Stale { current: 2 });
    assert_eq!(repo.config(a.id).await.unwrap(), Some((config.clone(), 2)));
    changed.config = config;
    assert_eq!(repo.get(a.id).await.unwrap(), Some(changed));

    // Each change left its audit entry, newest first, in this tenant's log only.
    let log = repo.audit_log(a.id, None, 10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["config.put", "tenant.update", "tenant.create"]);
    assert_eq!(
        log[0].before.as_ref().unwrap()["max_lines"],
        a.config.max_lines
    );
    assert_eq!(log[0].after.as_ref().unwrap()["max_lines"], 7);
    let older = repo.audit_log(a.id, Some(log[0].id), 10).await.unwrap();
    assert_eq!(older, log[1..].to_vec());
    let theirs = repo.audit_log(b.id, None, 10).await.unwrap();
    assert!(theirs.iter().all(|e| e.tenant_id == b.id));

    let mut ghost = tenant("ghost");
    ghost.name = "never created".into();
    assert!(matches!(
        repo.update(&ghost, t(1)).await,
        Err(StoreError::Internal(_))
    ));
}

async fn duplicate_key_hash_is_a_unique_violation(db: &Database) {
    let a = create_tenant(db, "Alpha").await;
    let repo = db.tenants();
    let b = tenant("Beta");
    let keys = [trolley_core::ports::ApiKeyRecord {
        id: uuid::Uuid::now_v7(),
        kind: KeyKind::Storefront,
        name: "copy".into(),
        key_hash: format!("sf-{}", a.id),
    }];
    let err = repo.create(&b, &keys).await.unwrap_err();
    assert!(matches!(err, StoreError::UniqueViolation(_)), "{err:?}");
    // Atomic: the tenant row was not left behind.
    assert_eq!(repo.get(b.id).await.unwrap(), None);
}

// ---- catalog ----------------------------------------------------------------------------

async fn money_round_trips_exactly(db: &Database) {
    let tenant = create_tenant(db, "Money").await;
    let catalog = db.catalog();
    let stored = catalog
        .upsert(
            tenant.id,
            &[item("MILK-1", "100.50")],
            t(1),
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert_eq!(stored[0].price.amount(), dec("100.50"));

    let read = catalog
        .get(tenant.id, &sku("MILK-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.price.amount(), dec("100.50"));
    assert_eq!(read.price.amount().to_string(), "100.50");
    assert_eq!(read.price.currency(), Currency::Usd);
    assert_eq!(read.price.minor_units(), 10050);

    // A cart line keeps its unit price exactly too, and a zero-exponent currency works.
    let mut cart = customer_cart(tenant.id, "money");
    cart.lines.push(line("MILK-1", "100.50", 3, 2));
    carts_repo_insert(db, &cart).await;
    let loaded = db.carts().load(tenant.id, cart.id).await.unwrap().unwrap();
    assert_eq!(loaded.lines[0].unit_price.amount().to_string(), "100.50");
    assert_eq!(loaded.lines[0].total(), dec("301.50"));

    let yen = Price::parse(dec("1200"), Currency::Jpy).unwrap();
    let mut jpy = item("YEN-1", "0");
    jpy.price = yen;
    let stored = catalog
        .upsert(tenant.id, &[jpy], t(3), &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(stored[0].price, yen);
}

async fn carts_repo_insert(db: &Database, cart: &trolley_core::domain::Cart) {
    db.carts().insert(cart, None).await.unwrap();
}

async fn price_revision_increments_only_on_price_change(db: &Database) {
    let tenant = create_tenant(db, "Revisions").await;
    let catalog = db.catalog();

    let first = catalog
        .upsert(
            tenant.id,
            &[item("A", "10.00"), item("B", "5.00")],
            t(1),
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|i| i.price_revision).collect::<Vec<_>>(),
        [1, 1]
    );
    assert_eq!(first[0].sku, sku("A"));
    assert_eq!(first[1].sku, sku("B"));
    assert_eq!(first[0].updated_at, t(1));

    // Same price, other fields change: revision stays, fields update.
    let mut retitled = item("A", "10.0");
    retitled.title = Some("Renamed".into());
    retitled.claim_policy = None;
    retitled.seller = None;
    let second = catalog
        .upsert(tenant.id, &[retitled], t(2), &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(second[0].price_revision, 1);
    assert_eq!(second[0].title.as_deref(), Some("Renamed"));
    assert_eq!(second[0].claim_policy, None);
    assert_eq!(second[0].seller, None);
    assert_eq!(second[0].updated_at, t(2));

    // Price changes: +1 each time; a batch mixing changed, unchanged and new items.
    let third = catalog
        .upsert(
            tenant.id,
            &[item("B", "5.00"), item("A", "12.00"), item("C", "1.00")],
            t(3),
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert_eq!(
        third
            .iter()
            .map(|i| (i.sku.as_str().to_owned(), i.price_revision))
            .collect::<Vec<_>>(),
        [("B".into(), 1), ("A".into(), 2), ("C".into(), 1)]
    );
    let fourth = catalog
        .upsert(tenant.id, &[item("A", "12.00")], t(4), &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(fourth[0].price_revision, 2);
    let fifth = catalog
        .upsert(tenant.id, &[item("A", "9.99")], t(5), &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(fifth[0].price_revision, 3);
    assert_eq!(fifth[0].price.amount(), dec("9.99"));

    // Concurrent upserts of different prices: every change counted exactly once.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let catalog = db.catalog();
        let tenant_id = tenant.id;
        tasks.push(tokio::spawn(async move {
            catalog
                .upsert(
                    tenant_id,
                    &[item("A", &format!("{}.00", 20 + i))],
                    t(6),
                    &Actor::Operator,
                )
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let a = catalog.get(tenant.id, &sku("A")).await.unwrap().unwrap();
    assert_eq!(a.price_revision, 3 + 8);

    // The same sku in another tenant is another item.
    let other = create_tenant(db, "Other").await;
    let theirs = catalog
        .upsert(other.id, &[item("A", "1.00")], t(7), &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(theirs[0].price_revision, 1);
}

async fn get_many_returns_only_existing_items_of_the_tenant(db: &Database) {
    let a = create_tenant(db, "A").await;
    let b = create_tenant(db, "B").await;
    let catalog = db.catalog();
    catalog
        .upsert(
            a.id,
            &[item("X", "1.00"), item("Y", "2.00")],
            t(1),
            &Actor::Operator,
        )
        .await
        .unwrap();
    catalog
        .upsert(b.id, &[item("Z", "3.00")], t(1), &Actor::Operator)
        .await
        .unwrap();

    let found = catalog
        .get_many(a.id, &[sku("Y"), sku("Z"), sku("X"), sku("NOPE")])
        .await
        .unwrap();
    let skus: Vec<&str> = found.iter().map(|i| i.sku.as_str()).collect();
    assert_eq!(skus, ["Y", "X"]);
    assert_eq!(found[0].attributes, attrs(&[("origin", "NZ")]));
    assert!(catalog.get_many(a.id, &[]).await.unwrap().is_empty());
    assert!(catalog.get(b.id, &sku("X")).await.unwrap().is_none());
}

// ---- carts ------------------------------------------------------------------------------

async fn cart_round_trips_with_lines_in_order(db: &Database) {
    let tenant = create_tenant(db, "Carts").await;
    let repo = db.carts();

    let mut cart = guest_cart(tenant.id);
    cart.order_type = Some("delivery".into());
    cart.context.insert("distance_km".into(), "3.5".into());
    cart.lines.push(line("ZED", "2.00", 1, 1));
    cart.lines.push(line("ALPHA", "0.99", 5, 2));
    let mut plain = line("MID", "10.00", 2, 3);
    plain.key.attributes = attrs(&[]);
    plain.key.seller = None;
    plain.key.fulfillment = None;
    plain.title = None;
    cart.lines.push(plain);
    repo.insert(&cart, None).await.unwrap();
    assert_eq!(
        repo.load(tenant.id, cart.id).await.unwrap(),
        Some(cart.clone())
    );

    // Save: reorder/remove/add lines and change every column that can change.
    let mut next = bumped(cart.clone(), 10);
    next.lines.remove(0);
    next.lines.push(line("NEW", "7.25", 4, 10));
    next.lines[0].quantity = trolley_core::domain::Quantity::from_stored(9);
    next.lines[0].line_version = 2;
    next.context.clear();
    next.order_type = None;
    next.status = CartStatus::Merged;
    next.merged_into = Some(CartId::new());
    repo.save(&next, &cart, None).await.unwrap();
    assert_eq!(
        repo.load(tenant.id, cart.id).await.unwrap(),
        Some(next.clone())
    );

    // Emptying the cart.
    let mut empty = bumped(next.clone(), 20);
    empty.lines.clear();
    repo.save(&empty, &next, None).await.unwrap();
    assert_eq!(repo.load(tenant.id, cart.id).await.unwrap(), Some(empty));

    assert_eq!(repo.load(tenant.id, CartId::new()).await.unwrap(), None);
}

async fn stale_save_is_a_conflict_and_writes_nothing(db: &Database) {
    let tenant = create_tenant(db, "Stale").await;
    let repo = db.carts();
    let mut cart = customer_cart(tenant.id, "c1");
    cart.lines.push(line("A", "1.00", 1, 1));
    repo.insert(&cart, None).await.unwrap();

    let mut v2 = bumped(cart.clone(), 5);
    v2.lines.push(line("B", "2.00", 2, 5));
    repo.save(&v2, &cart, None).await.unwrap();

    // A writer that still holds version 1.
    let mut stale = bumped(cart.clone(), 6);
    stale.lines.clear();
    stale.status = CartStatus::Converted;
    let err = repo.save(&stale, &cart, None).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err:?}");
    assert_eq!(
        repo.load(tenant.id, cart.id).await.unwrap(),
        Some(v2.clone())
    );

    // Expecting a version from the future is a conflict too; so is an unknown cart.
    assert!(matches!(
        repo.save(&bumped(v2.clone(), 7), &at_version(&v2, 99), None)
            .await,
        Err(StoreError::VersionConflict)
    ));
    let ghost = customer_cart(tenant.id, "ghost");
    assert!(matches!(
        repo.save(&ghost, &ghost, None).await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(repo.load(tenant.id, cart.id).await.unwrap(), Some(v2));
}

async fn concurrent_saves_from_one_version_have_one_winner(db: &Database) {
    let tenant = create_tenant(db, "Race").await;
    for round in 0..5_i64 {
        let repo = db.carts();
        let cart = guest_cart(tenant.id);
        repo.insert(&cart, None).await.unwrap();
        let loaded = repo.load(tenant.id, cart.id).await.unwrap().unwrap();

        let writers = 6;
        let mut tasks = Vec::new();
        for w in 0..writers {
            let repo = db.carts();
            let mut mine = bumped(loaded.clone(), 100 + round);
            mine.lines.push(line(&format!("W{w}"), "1.00", 1, 100));
            let stored = loaded.clone();
            tasks.push(tokio::spawn(async move {
                (repo.save(&mine, &stored, None).await, mine)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (Ok(()), cart) => winners.push(cart),
                (Err(StoreError::VersionConflict), _) => {}
                (Err(e), _) => panic!("unexpected error: {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one save must win");
        let stored = repo.load(tenant.id, cart.id).await.unwrap().unwrap();
        assert_eq!(stored, winners[0]);
        assert_eq!(stored.version, loaded.version + 1);
    }
}

async fn second_live_cart_for_a_customer_is_a_unique_violation(db: &Database) {
    let tenant = create_tenant(db, "Unique").await;
    let other = create_tenant(db, "Other").await;
    let repo = db.carts();

    let first = customer_cart(tenant.id, "alice");
    repo.insert(&first, None).await.unwrap();
    let err = repo
        .insert(&customer_cart(tenant.id, "alice"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UniqueViolation(_)), "{err:?}");

    // Checking out is still live.
    let mut checking_out = bumped(first.clone(), 1);
    checking_out.status = CartStatus::CheckingOut;
    repo.save(&checking_out, &first, None).await.unwrap();
    assert!(matches!(
        repo.insert(&customer_cart(tenant.id, "alice"), None).await,
        Err(StoreError::UniqueViolation(_))
    ));
    assert_eq!(
        repo.find_live_for_customer(tenant.id, "alice")
            .await
            .unwrap()
            .map(|c| c.id),
        Some(first.id)
    );

    // Other customers, guests and other tenants are unaffected.
    repo.insert(&customer_cart(tenant.id, "bob"), None)
        .await
        .unwrap();
    repo.insert(&guest_cart(tenant.id), None).await.unwrap();
    repo.insert(&guest_cart(tenant.id), None).await.unwrap();
    repo.insert(&customer_cart(other.id, "alice"), None)
        .await
        .unwrap();

    // Once converted, the slot is free again.
    let mut converted = bumped(checking_out.clone(), 2);
    converted.status = CartStatus::Converted;
    repo.save(&converted, &checking_out, None).await.unwrap();
    assert_eq!(
        repo.find_live_for_customer(tenant.id, "alice")
            .await
            .unwrap(),
        None
    );
    let second = customer_cart(tenant.id, "alice");
    repo.insert(&second, None).await.unwrap();
    assert_eq!(
        repo.find_live_for_customer(tenant.id, "alice")
            .await
            .unwrap(),
        Some(second)
    );
    // The old cart still loads, not live.
    assert_eq!(
        repo.load(tenant.id, first.id)
            .await
            .unwrap()
            .map(|c| c.status),
        Some(CartStatus::Converted)
    );

    // Reviving the old cart while another is live is refused, and nothing is written.
    let mut revived = bumped(converted.clone(), 3);
    revived.status = CartStatus::Active;
    let err = repo.save(&revived, &converted, None).await.unwrap_err();
    assert!(matches!(err, StoreError::UniqueViolation(_)), "{err:?}");
    assert_eq!(
        repo.load(tenant.id, first.id).await.unwrap(),
        Some(converted)
    );

    // Two devices creating the customer's cart at once: one wins, one is told why.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let repo = db.carts();
        let cart = customer_cart(tenant.id, "carol");
        tasks.push(tokio::spawn(async move { repo.insert(&cart, None).await }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::UniqueViolation(_)) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

async fn carts_are_invisible_to_other_tenants(db: &Database) {
    let a = create_tenant(db, "A").await;
    let b = create_tenant(db, "B").await;
    let repo = db.carts();
    let mut cart = customer_cart(a.id, "dave");
    cart.lines.push(line("A", "1.00", 1, 1));
    repo.insert(&cart, None).await.unwrap();

    assert_eq!(repo.load(b.id, cart.id).await.unwrap(), None);
    assert_eq!(
        repo.find_live_for_customer(b.id, "dave").await.unwrap(),
        None
    );
    assert!(
        repo.find_live_for_customer(a.id, "dave")
            .await
            .unwrap()
            .is_some()
    );

    // A save through the wrong tenant matches no row.
    let mut hijack = bumped(cart.clone(), 2);
    hijack.tenant_id = b.id;
    hijack.lines.clear();
    assert!(matches!(
        repo.save(&hijack, &cart, None).await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(repo.load(a.id, cart.id).await.unwrap(), Some(cart));
}

async fn count_active_counts_active_carts_of_every_tenant(db: &Database) {
    let a = create_tenant(db, "A").await;
    let b = create_tenant(db, "B").await;
    let repo = db.carts();
    assert_eq!(repo.count_active().await.unwrap(), 0);
    let shopping = customer_cart(a.id, "erin");
    let checking_out = guest_cart(a.id);
    for cart in [&shopping, &checking_out, &guest_cart(b.id)] {
        repo.insert(cart, None).await.unwrap();
    }
    assert_eq!(repo.count_active().await.unwrap(), 3);
    // Only `active` counts: a cart checking out is not shopping any more.
    let mut frozen = bumped(checking_out.clone(), 1);
    frozen.status = CartStatus::CheckingOut;
    repo.save(&frozen, &checking_out, None).await.unwrap();
    assert_eq!(repo.count_active().await.unwrap(), 2);
}

async fn corrupt_rows_are_internal_errors(db: &Database) {
    let tenant = create_tenant(db, "Corrupt").await;
    let repo = db.carts();
    let cart = customer_cart(tenant.id, "erin");
    repo.insert(&cart, None).await.unwrap();

    let set = |column: carts::Column, value: &'static str| {
        carts::Entity::update_many()
            .col_expr(column, Expr::value(value))
            .filter(carts::Column::Id.eq(cart.id.0))
            .exec(db.connection())
    };
    set(carts::Column::Status, "teleported").await.unwrap();
    let err = repo.load(tenant.id, cart.id).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Internal(m) if m.contains("teleported")),
        "{err:?}"
    );

    set(carts::Column::Status, "active").await.unwrap();
    set(carts::Column::Context, "{not json").await.unwrap();
    assert!(matches!(
        repo.load(tenant.id, cart.id).await,
        Err(StoreError::Internal(_))
    ));

    set(carts::Column::Context, "{}").await.unwrap();
    set(carts::Column::Currency, "XXX").await.unwrap();
    assert!(matches!(
        repo.load(tenant.id, cart.id).await,
        Err(StoreError::Internal(_))
    ));
}

// ---- idempotency ------------------------------------------------------------------------

fn response() -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        etag: Some("\"3\"".into()),
        location: Some("/v1/carts/abc".into()),
        body: vec![0, 159, 146, 150, b'{', b'}'],
    }
}

fn receipt(scope: &str, key: &str, fingerprint: &str) -> Receipt {
    Receipt {
        scope: scope.to_owned(),
        key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
        at: t(0),
    }
}

/// A key is bound by the transaction of the change it guards: committed together, or not
/// at all; a second change sealed with a bound key writes nothing.
async fn idempotency_records_commit_with_their_change(db: &Database) {
    let store = db.idempotency();
    let stale = Duration::seconds(60);
    let tenant = create_tenant(db, "Idem").await;
    let scope = format!("{}:customer:ann", tenant.id);
    let cart = guest_cart(tenant.id);
    db.carts().insert(&cart, None).await.unwrap();

    let first = receipt(&scope, "k1", "fp1");
    let replay = Replay::Cart(cart.id);
    let seal = Seal {
        receipt: &first,
        replay: &replay,
    };
    db.carts()
        .save(&bumped(cart.clone(), 1), &cart, Some(seal))
        .await
        .unwrap();
    assert_eq!(
        store
            .lookup(&scope, "k1", "fp1", t(10), stale)
            .await
            .unwrap(),
        IdempotencyLookup::Committed(Replay::Cart(cart.id))
    );
    let row = idempotency_records::Entity::find_by_id((scope.clone(), "k1".to_owned()))
        .one(db.connection())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.tenant_id, Some(tenant.id.0));
    assert_eq!(row.state, "committed");

    // The same key again: refused, and the cart is not written.
    let again = db
        .carts()
        .save(
            &bumped(bumped(cart.clone(), 1), 2),
            &bumped(cart.clone(), 1),
            Some(seal),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::IdempotencyKeyTaken),
        "{again:?}"
    );
    assert_eq!(
        db.carts()
            .load(tenant.id, cart.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );

    // A change that does not commit binds nothing.
    let lost = receipt(&scope, "k2", "fp2");
    let stale_save = db
        .carts()
        .save(
            &bumped(cart.clone(), 1),
            &cart,
            Some(Seal {
                receipt: &lost,
                replay: &replay,
            }),
        )
        .await
        .unwrap_err();
    assert!(matches!(stale_save, StoreError::VersionConflict));
    assert_eq!(
        store
            .lookup(&scope, "k2", "fp2", t(10), stale)
            .await
            .unwrap(),
        IdempotencyLookup::Unused
    );

    // The answer fills the committed record; a different request is a mismatch.
    assert_eq!(
        store.complete(&first, &response(), t(20)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .lookup(&scope, "k1", "fp1", t(30), stale)
            .await
            .unwrap(),
        IdempotencyLookup::Completed(response())
    );
    assert_eq!(
        store
            .lookup(&scope, "k1", "other", t(30), stale)
            .await
            .unwrap(),
        IdempotencyLookup::Mismatch
    );
    // A second answer for the key does not replace the first: the first is returned.
    let bare = StoredResponse {
        status: 204,
        content_type: String::new(),
        etag: None,
        location: None,
        body: Vec::new(),
    };
    assert_eq!(
        store.complete(&first, &bare, t(40)).await.unwrap(),
        Some(response())
    );

    // A request that changed nothing (a 4xx) is recorded by its answer alone; empty
    // bodies and absent headers round-trip; scopes without a tenant are global.
    let global = receipt("platform", "k3", "fp3");
    assert_eq!(store.complete(&global, &bare, t(50)).await.unwrap(), None);
    assert_eq!(
        store
            .lookup("platform", "k3", "fp3", t(60), stale)
            .await
            .unwrap(),
        IdempotencyLookup::Completed(bare)
    );

    // A new guest cart keeps its token in the record until the answer is stored.
    let created = guest_cart(tenant.id);
    let guest = receipt(&format!("{}:address:127.0.0.1", tenant.id), "new", "fp");
    let with_token = Replay::CreatedCart {
        cart: created.id,
        token: "tct_shown_once".into(),
    };
    db.carts()
        .insert(
            &created,
            Some(Seal {
                receipt: &guest,
                replay: &with_token,
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .lookup(&guest.scope, "new", "fp", t(1), stale)
            .await
            .unwrap(),
        IdempotencyLookup::Committed(with_token)
    );
    store.complete(&guest, &response(), t(2)).await.unwrap();
    let row = idempotency_records::Entity::find_by_id((guest.scope.clone(), "new".to_owned()))
        .one(db.connection())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.replay_secret, None, "the answer holds the token now");
}

/// Many writers with one key at once: exactly one change commits.
async fn idempotency_concurrent_seals_commit_once(db: &Database) {
    let tenant = create_tenant(db, "Race").await;
    let key = receipt(&format!("{}:address:10.0.0.1", tenant.id), "race", "fp");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (db, key) = (db.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let cart = guest_cart(key_tenant(&key));
            let replay = Replay::CreatedCart {
                cart: cart.id,
                token: "t".into(),
            };
            db.carts()
                .insert(
                    &cart,
                    Some(Seal {
                        receipt: &key,
                        replay: &replay,
                    }),
                )
                .await
        }));
    }
    let mut committed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => committed += 1,
            Err(StoreError::IdempotencyKeyTaken) => {}
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(committed, 1);
    let carts = carts::Entity::find()
        .filter(carts::Column::TenantId.eq(tenant.id.0))
        .count(db.connection())
        .await
        .unwrap();
    assert_eq!(carts, 1, "only the committed change's cart exists");
}

fn key_tenant(receipt: &Receipt) -> TenantId {
    TenantId(uuid::Uuid::parse_str(receipt.scope.split(':').next().unwrap()).unwrap())
}

/// Claims of an earlier release count as running until stale, then are forgotten; old
/// records are purged in bounded batches.
async fn idempotency_legacy_claims_and_purge(db: &Database) {
    let store = db.idempotency();
    let stale = Duration::seconds(30);
    let legacy = idempotency_records::Model {
        scope: "s".into(),
        idem_key: "k".into(),
        tenant_id: None,
        fingerprint: "fp".into(),
        state: "in_progress".into(),
        status_code: None,
        content_type: None,
        etag: None,
        location: None,
        body: None,
        created_at: t(0).timestamp_millis(),
        updated_at: t(0).timestamp_millis(),
        replay: None,
        replay_secret: None,
    };
    idempotency_records::Entity::insert(legacy.into_active_model())
        .exec(db.connection())
        .await
        .unwrap();
    assert_eq!(
        store
            .lookup("s", "k", "fp", t(30_000), stale)
            .await
            .unwrap(),
        IdempotencyLookup::InProgress
    );
    assert_eq!(
        store
            .lookup("s", "k", "fp", t(31_000), stale)
            .await
            .unwrap(),
        IdempotencyLookup::Unused
    );
    assert_eq!(
        store
            .lookup("s", "k", "fp", t(31_000), stale)
            .await
            .unwrap(),
        IdempotencyLookup::Unused,
        "the abandoned claim is gone"
    );

    for i in 0..5 {
        let old = Receipt {
            at: t(i),
            ..receipt("p", &format!("old{i}"), "fp")
        };
        store.complete(&old, &response(), t(i)).await.unwrap();
    }
    let fresh = Receipt {
        at: t(100_000),
        ..receipt("p", "fresh", "fp")
    };
    store
        .complete(&fresh, &response(), t(100_000))
        .await
        .unwrap();
    assert_eq!(store.purge(t(50_000), 3).await.unwrap(), 3);
    assert_eq!(store.purge(t(50_000), 3).await.unwrap(), 2);
    assert_eq!(store.purge(t(50_000), 3).await.unwrap(), 0);
    assert!(matches!(
        store
            .lookup("p", "fresh", "fp", t(100_001), stale)
            .await
            .unwrap(),
        IdempotencyLookup::Completed(_)
    ));
    assert_eq!(
        store
            .lookup("p", "old0", "fp", t(100_001), stale)
            .await
            .unwrap(),
        IdempotencyLookup::Unused
    );
}

// ---- plugins ----------------------------------------------------------------------------

/// Uploads `wasm` for `tenant` as a fresh plugin and returns its record.
async fn upload(
    db: &Database,
    tenant: TenantId,
    wasm: &[u8],
    order_type: &str,
    version: &str,
    at: i64,
) -> PluginRecord {
    let record = plugin_record(tenant, wasm, order_type, version, at);
    let (stored, created) = db
        .plugins()
        .insert(&record, wasm, &Actor::Operator)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(stored, record);
    stored
}

/// `(state, active_order_type, retired_at)` of every activation of the order type, oldest
/// first.
async fn history(
    db: &Database,
    tenant: TenantId,
    order_type: &str,
) -> Vec<(uuid::Uuid, String, Option<String>, Option<i64>)> {
    order_type_activations::Entity::find()
        .filter(order_type_activations::Column::TenantId.eq(tenant.0))
        .filter(order_type_activations::Column::OrderType.eq(order_type))
        .order_by_asc(order_type_activations::Column::Id)
        .all(db.connection())
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.plugin_id, r.state, r.active_order_type, r.retired_at))
        .collect()
}

fn states(history: &[(uuid::Uuid, String, Option<String>, Option<i64>)]) -> Vec<&str> {
    history.iter().map(|(_, s, _, _)| s.as_str()).collect()
}

async fn plugin_insert_is_idempotent_per_tenant_and_content_addressed(db: &Database) {
    let a = create_tenant(db, "A").await;
    let b = create_tenant(db, "B").await;
    let repo = db.plugins();
    let wasm = module_bytes(1);

    let first = upload(db, a.id, &wasm, "grocery", "1.0.0", 1).await;

    // The same bytes again (a new id, a later time): the existing record, no new row.
    let again = plugin_record(a.id, &wasm, "grocery", "1.0.0", 2);
    assert_ne!(again.id, first.id);
    assert_eq!(
        repo.insert(&again, &wasm, &Actor::Operator).await.unwrap(),
        (first.clone(), false)
    );
    assert_eq!(repo.get(a.id, again.id).await.unwrap(), None);

    // Another tenant uploading the same bytes gets its own record; the bytes are stored once.
    let theirs = upload(db, b.id, &wasm, "grocery", "1.0.0", 3).await;
    assert_ne!(theirs.id, first.id);
    assert_eq!(theirs.sha256, first.sha256);
    let count_plugins = plugins::Entity::find()
        .filter(plugins::Column::Sha256.eq(first.sha256.clone()))
        .count(db.connection())
        .await
        .unwrap();
    assert_eq!(count_plugins, 2);
    assert_eq!(
        plugin_modules::Entity::find()
            .count(db.connection())
            .await
            .unwrap(),
        1
    );
    let module = plugin_modules::Entity::find_by_id(first.sha256.clone())
        .one(db.connection())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(module.size_bytes, i64::try_from(wasm.len()).unwrap());
    assert_eq!(module.wasm, wasm);

    // Other bytes are another module.
    let other = module_bytes(2);
    upload(db, a.id, &other, "grocery", "1.1.0", 4).await;
    assert_eq!(
        plugin_modules::Entity::find()
            .count(db.connection())
            .await
            .unwrap(),
        2
    );
    assert_eq!(repo.list(a.id).await.unwrap().len(), 2);
}

async fn concurrent_identical_uploads_store_one_record(db: &Database) {
    let tenant = create_tenant(db, "Racers").await;
    let other = create_tenant(db, "Other racers").await;
    let wasm = module_bytes(9);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let repo = db.plugins();
        // Half for each tenant, each upload with its own id.
        let owner = if i % 2 == 0 { tenant.id } else { other.id };
        let record = plugin_record(owner, &wasm, "grocery", "1.0.0", i);
        let wasm = wasm.clone();
        tasks.push(tokio::spawn(async move {
            repo.insert(&record, &wasm, &Actor::Operator).await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().unwrap());
    }
    for owner in [tenant.id, other.id] {
        let mine: Vec<_> = results
            .iter()
            .filter(|(r, _)| r.tenant_id == owner)
            .collect();
        assert_eq!(mine.len(), 4);
        assert_eq!(mine.iter().filter(|(_, created)| *created).count(), 1);
        assert!(mine.iter().all(|(r, _)| *r == mine[0].0));
        assert_eq!(db.plugins().list(owner).await.unwrap(), [mine[0].0.clone()]);
    }
    assert_eq!(
        plugin_modules::Entity::find()
            .count(db.connection())
            .await
            .unwrap(),
        1
    );
}

async fn plugins_are_scoped_by_tenant(db: &Database) {
    let a = create_tenant(db, "A").await;
    let b = create_tenant(db, "B").await;
    let repo = db.plugins();

    // Listed by created_at, then id: uploaded out of order here.
    let late = upload(db, a.id, &module_bytes(1), "grocery", "2.0.0", 20).await;
    let early = upload(db, a.id, &module_bytes(2), "food", "1.0.0", 10).await;
    let mut tie = [
        upload(db, a.id, &module_bytes(3), "grocery", "3.0.0", 30).await,
        upload(db, a.id, &module_bytes(4), "grocery", "3.0.1", 30).await,
    ];
    tie.sort_by_key(|r| r.id);
    let theirs = upload(db, b.id, &module_bytes(5), "grocery", "1.0.0", 5).await;

    assert_eq!(
        repo.list(a.id).await.unwrap(),
        [early.clone(), late.clone(), tie[0].clone(), tie[1].clone()]
    );
    assert_eq!(
        repo.list(b.id).await.unwrap(),
        std::slice::from_ref(&theirs)
    );
    assert!(repo.list(TenantId::new()).await.unwrap().is_empty());

    assert_eq!(repo.get(a.id, late.id).await.unwrap(), Some(late.clone()));
    assert_eq!(repo.get(b.id, late.id).await.unwrap(), None);
    assert_eq!(repo.get(a.id, theirs.id).await.unwrap(), None);
    assert_eq!(repo.get(a.id, PluginId::new()).await.unwrap(), None);

    // Bytes are addressed by content only.
    assert_eq!(
        repo.wasm(&theirs.sha256).await.unwrap(),
        Some(module_bytes(5))
    );
    assert_eq!(repo.wasm("0000").await.unwrap(), None);
}

async fn plugin_bytes_round_trip_exactly(db: &Database) {
    let tenant = create_tenant(db, "Bytes").await;
    let repo = db.plugins();
    // ~1 MiB covering every byte value, runs of 0x00 and 0xFF, and a non-repeating tail.
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend((0..=255_u8).cycle().take(512 * 1024));
    wasm.extend(std::iter::repeat_n(0x00, 64 * 1024));
    wasm.extend(std::iter::repeat_n(0xFF, 64 * 1024));
    let mut x: u32 = 0x9E37_79B9;
    wasm.extend((0..400 * 1024).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x.to_le_bytes()[0]
    }));
    wasm.extend([0x00, 0xFF, 0x00]);
    assert!(wasm.len() > 1_000_000);

    let record = upload(db, tenant.id, &wasm, "grocery", "1.0.0", 1).await;
    let read = repo.wasm(&record.sha256).await.unwrap().unwrap();
    assert_eq!(read.len(), wasm.len());
    assert!(
        read == wasm,
        "the module bytes changed on the way through storage"
    );
    assert_eq!(record.size_bytes, i64::try_from(wasm.len()).unwrap());

    // The column is a real binary type: `bytea` on PostgreSQL, `blob` on SQLite.
    let sql = match db.backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT data_type FROM information_schema.columns \
             WHERE table_name = 'plugin_modules' AND column_name = 'wasm'"
        }
        _ => "SELECT type FROM pragma_table_info('plugin_modules') WHERE name = 'wasm'",
    };
    let row = sea_orm::ConnectionTrait::query_one_raw(
        db.connection(),
        sea_orm::Statement::from_string(db.backend(), sql),
    )
    .await
    .unwrap()
    .unwrap();
    let column_type: String = row.try_get_by_index(0).unwrap();
    let expected = match db.backend() {
        sea_orm::DbBackend::Postgres => "bytea",
        _ => "blob",
    };
    assert_eq!(column_type.to_lowercase(), expected);

    // Tiny and all-zero modules too.
    for bytes in [vec![0x00], vec![0xFF], vec![0_u8; 4096]] {
        let record = plugin_record(tenant.id, &bytes, "grocery", "0.0.1", 2);
        repo.insert(&record, &bytes, &Actor::Operator)
            .await
            .unwrap();
        assert_eq!(repo.wasm(&record.sha256).await.unwrap(), Some(bytes));
    }
}

async fn activation_lifecycle_with_rollback(db: &Database) {
    let tenant = create_tenant(db, "Lifecycle").await;
    let repo = db.plugins();
    let v1 = upload(db, tenant.id, &module_bytes(1), "grocery", "1.0.0", 1).await;
    let v2 = upload(db, tenant.id, &module_bytes(2), "grocery", "2.0.0", 2).await;
    let v3 = upload(db, tenant.id, &module_bytes(3), "grocery", "3.0.0", 3).await;
    let config1 = serde_json::json!({ "max_items": 10 });
    let config2 = serde_json::json!({ "max_items": 20 });

    // Nothing active yet: nothing to roll back to.
    assert_eq!(repo.active(tenant.id, "grocery").await.unwrap(), None);
    assert_eq!(
        repo.rollback(tenant.id, "grocery", t(5), &Actor::Operator)
            .await
            .unwrap(),
        None
    );

    let a1 = repo
        .activate(
            tenant.id,
            "grocery",
            v1.id,
            &config1,
            t(10),
            &Actor::Operator,
        )
        .await
        .unwrap();
    let expected1 = Activation {
        order_type: "grocery".into(),
        plugin: v1.clone(),
        config: config1.clone(),
        activated_at: t(10),
    };
    assert_eq!(a1, expected1);
    assert_eq!(
        repo.active(tenant.id, "grocery").await.unwrap(),
        Some(expected1.clone())
    );
    // One activation and no history: rollback has nothing to go back to.
    assert_eq!(
        repo.rollback(tenant.id, "grocery", t(11), &Actor::Operator)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        repo.active(tenant.id, "grocery").await.unwrap(),
        Some(expected1.clone())
    );

    // v2 supersedes v1.
    let a2 = repo
        .activate(
            tenant.id,
            "grocery",
            v2.id,
            &config2,
            t(20),
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert_eq!(a2.plugin, v2);
    assert_eq!(a2.config, config2);
    assert_eq!(repo.active(tenant.id, "grocery").await.unwrap(), Some(a2));
    let h = history(db, tenant.id, "grocery").await;
    assert_eq!(states(&h), ["superseded", "active"]);
    assert_eq!(
        h[0],
        (
            v1.id.0,
            "superseded".into(),
            None,
            Some(t(20).timestamp_millis())
        )
    );
    assert_eq!(
        h[1],
        (v2.id.0, "active".into(), Some("grocery".into()), None)
    );

    // Rollback: v1 again, with its own config; v2 is rolled back.
    let back = repo
        .rollback(tenant.id, "grocery", t(30), &Actor::Operator)
        .await
        .unwrap()
        .unwrap();
    let expected_back = Activation {
        activated_at: t(30),
        ..expected1.clone()
    };
    assert_eq!(back, expected_back);
    assert_eq!(
        repo.active(tenant.id, "grocery").await.unwrap(),
        Some(expected_back.clone())
    );
    let h = history(db, tenant.id, "grocery").await;
    assert_eq!(states(&h), ["active", "rolled_back"]);
    assert_eq!(
        h[0],
        (v1.id.0, "active".into(), Some("grocery".into()), None)
    );
    assert_eq!(h[1].3, Some(t(30).timestamp_millis()));

    // No more history: None, and nothing changes (v2, rolled back, is never reinstated).
    assert_eq!(
        repo.rollback(tenant.id, "grocery", t(40), &Actor::Operator)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        repo.active(tenant.id, "grocery").await.unwrap(),
        Some(expected_back.clone())
    );
    assert_eq!(
        states(&history(db, tenant.id, "grocery").await),
        ["active", "rolled_back"]
    );

    // Activating after a rollback; rolling that back returns to v1 again.
    let a3 = repo
        .activate(
            tenant.id,
            "grocery",
            v3.id,
            &config2,
            t(50),
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert_eq!(a3.plugin, v3);
    assert_eq!(repo.active(tenant.id, "grocery").await.unwrap(), Some(a3));
    assert_eq!(
        states(&history(db, tenant.id, "grocery").await),
        ["superseded", "rolled_back", "active"]
    );
    let back = repo
        .rollback(tenant.id, "grocery", t(60), &Actor::Operator)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.plugin, v1);
    assert_eq!(back.config, config1);
    assert_eq!(
        states(&history(db, tenant.id, "grocery").await),
        ["active", "rolled_back", "rolled_back"]
    );

    // Re-activating the plugin that is already active makes a new activation (a config
    // change); the old one is history.
    let config3 = serde_json::json!({ "max_items": 30 });
    let again = repo
        .activate(
            tenant.id,
            "grocery",
            v1.id,
            &config3,
            t(70),
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert_eq!(again.config, config3);
    let back = repo
        .rollback(tenant.id, "grocery", t(80), &Actor::Operator)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((back.plugin.id, back.config), (v1.id, config1));
}

async fn rollback_walks_back_through_the_history(db: &Database) {
    let tenant = create_tenant(db, "Stack").await;
    let repo = db.plugins();
    let mut versions = Vec::new();
    for i in 0..4_u8 {
        let v = upload(
            db,
            tenant.id,
            &module_bytes(i),
            "food",
            &format!("{i}.0.0"),
            1,
        )
        .await;
        let config = serde_json::json!({ "v": i });
        repo.activate(
            tenant.id,
            "food",
            v.id,
            &config,
            t(10 * i64::from(i)),
            &Actor::Operator,
        )
        .await
        .unwrap();
        versions.push(v);
    }
    // Back from v3 to v2, v1, v0, then nothing.
    for i in (0..3_u8).rev() {
        let back = repo
            .rollback(tenant.id, "food", t(100), &Actor::Operator)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.plugin, versions[usize::from(i)]);
        assert_eq!(back.config, serde_json::json!({ "v": i }));
        assert_eq!(repo.active(tenant.id, "food").await.unwrap(), Some(back));
    }
    assert_eq!(
        repo.rollback(tenant.id, "food", t(200), &Actor::Operator)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        repo.active(tenant.id, "food")
            .await
            .unwrap()
            .map(|a| a.plugin.id),
        Some(versions[0].id)
    );
    assert_eq!(
        states(&history(db, tenant.id, "food").await),
        ["active", "rolled_back", "rolled_back", "rolled_back"]
    );
}

async fn activating_another_tenants_plugin_fails(db: &Database) {
    let a = create_tenant(db, "A").await;
    let b = create_tenant(db, "B").await;
    let repo = db.plugins();
    let theirs = upload(db, b.id, &module_bytes(1), "grocery", "1.0.0", 1).await;
    let config = serde_json::json!({});
    for plugin in [theirs.id, PluginId::new()] {
        let err = repo
            .activate(a.id, "grocery", plugin, &config, t(2), &Actor::Operator)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Internal(m) if m.contains("plugin not found")),
            "{err:?}"
        );
    }
    assert_eq!(repo.active(a.id, "grocery").await.unwrap(), None);
    assert!(history(db, a.id, "grocery").await.is_empty());

    // A's activations are invisible to B and the other way round.
    let mine = upload(db, a.id, &module_bytes(1), "grocery", "1.0.0", 1).await;
    repo.activate(a.id, "grocery", mine.id, &config, t(3), &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(repo.active(b.id, "grocery").await.unwrap(), None);
    assert!(repo.active_all(b.id).await.unwrap().is_empty());
    assert_eq!(
        repo.rollback(b.id, "grocery", t(4), &Actor::Operator)
            .await
            .unwrap(),
        None
    );
    assert!(repo.active(a.id, "grocery").await.unwrap().is_some());
}

async fn concurrent_activations_leave_one_active(db: &Database) {
    let tenant = create_tenant(db, "Concurrent").await;
    let mut plugins_ = Vec::new();
    for i in 0..10_u8 {
        plugins_.push(
            upload(
                db,
                tenant.id,
                &module_bytes(i),
                "grocery",
                &format!("{i}.0.0"),
                1,
            )
            .await,
        );
    }
    let mut tasks = Vec::new();
    for (i, plugin) in plugins_.iter().enumerate() {
        let repo = db.plugins();
        let (tenant_id, plugin_id) = (tenant.id, plugin.id);
        tasks.push(tokio::spawn(async move {
            let config = serde_json::json!({ "writer": i });
            repo.activate(
                tenant_id,
                "grocery",
                plugin_id,
                &config,
                t(10),
                &Actor::Operator,
            )
            .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let active_rows = order_type_activations::Entity::find()
        .filter(order_type_activations::Column::TenantId.eq(tenant.id.0))
        .filter(order_type_activations::Column::State.eq("active"))
        .count(db.connection())
        .await
        .unwrap();
    assert_eq!(active_rows, 1);
    let h = history(db, tenant.id, "grocery").await;
    assert_eq!(h.len(), 10);
    assert_eq!(states(&h).iter().filter(|s| **s == "superseded").count(), 9);
    // The newest activation (by id) is the active one.
    assert_eq!(h[9].1, "active");
    let active = repo_active(db, tenant.id, "grocery").await.unwrap();
    assert!(plugins_.contains(&active.plugin));
    assert_eq!(active.plugin.id.0, h[9].0);

    // Concurrent rollbacks each step back once; one activation stays active.
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let repo = db.plugins();
        let tenant_id = tenant.id;
        tasks.push(tokio::spawn(async move {
            repo.rollback(tenant_id, "grocery", t(20), &Actor::Operator)
                .await
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap().unwrap().is_some());
    }
    let h = history(db, tenant.id, "grocery").await;
    assert_eq!(
        states(&h),
        [
            "superseded",
            "superseded",
            "superseded",
            "superseded",
            "superseded",
            "superseded",
            "active",
            "rolled_back",
            "rolled_back",
            "rolled_back"
        ]
    );
    assert_eq!(
        repo_active(db, tenant.id, "grocery")
            .await
            .unwrap()
            .plugin
            .id
            .0,
        h[6].0
    );
}

async fn repo_active(db: &Database, tenant: TenantId, order_type: &str) -> Option<Activation> {
    db.plugins().active(tenant, order_type).await.unwrap()
}

async fn active_all_lists_every_order_type(db: &Database) {
    let tenant = create_tenant(db, "All").await;
    let other = create_tenant(db, "Other").await;
    let repo = db.plugins();
    assert!(repo.active_all(tenant.id).await.unwrap().is_empty());

    let grocery = upload(db, tenant.id, &module_bytes(1), "grocery", "1.0.0", 1).await;
    let grocery2 = upload(db, tenant.id, &module_bytes(2), "grocery", "2.0.0", 2).await;
    let food = upload(db, tenant.id, &module_bytes(3), "food", "1.0.0", 3).await;
    let theirs = upload(db, other.id, &module_bytes(3), "food", "1.0.0", 3).await;

    // Activated out of alphabetical order; superseded rows are not listed.
    let g1 = serde_json::json!({ "max_items": 1 });
    let g2 = serde_json::json!({ "max_items": 2 });
    let f = serde_json::json!({ "hot": true });
    repo.activate(
        tenant.id,
        "grocery",
        grocery.id,
        &g1,
        t(10),
        &Actor::Operator,
    )
    .await
    .unwrap();
    let active_grocery = repo
        .activate(
            tenant.id,
            "grocery",
            grocery2.id,
            &g2,
            t(11),
            &Actor::Operator,
        )
        .await
        .unwrap();
    let active_food = repo
        .activate(tenant.id, "food", food.id, &f, t(12), &Actor::Operator)
        .await
        .unwrap();
    repo.activate(other.id, "food", theirs.id, &f, t(13), &Actor::Operator)
        .await
        .unwrap();

    let all = repo.active_all(tenant.id).await.unwrap();
    assert_eq!(all, [active_food.clone(), active_grocery.clone()]);
    assert_eq!(all[0].plugin, food);
    assert_eq!(all[1].plugin, grocery2);
    assert_eq!(repo.active_all(other.id).await.unwrap().len(), 1);

    // Rolling one order type back leaves the other alone.
    repo.rollback(tenant.id, "grocery", t(20), &Actor::Operator)
        .await
        .unwrap()
        .unwrap();
    let all = repo.active_all(tenant.id).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], active_food);
    assert_eq!(all[1].plugin, grocery);
    assert_eq!(all[1].config, g1);
}

async fn activation_config_round_trips_exactly(db: &Database) {
    let tenant = create_tenant(db, "Config").await;
    let repo = db.plugins();
    let plugin = upload(db, tenant.id, &module_bytes(1), "grocery", "1.0.0", 1).await;

    // Floats that need all 17 significant digits, from a fixed pseudo-random sequence.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let floats: Vec<f64> = (0..500)
        .filter_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = f64::from_bits(x);
            f.is_finite().then_some(f)
        })
        .collect();
    let config = serde_json::json!({
        "text": "ünïcödé \u{1F6D2} \"quoted\" \\ back\\slash \n newline \u{0} nul",
        "numbers": [0, -1, 1.5, 0.1, 0.30000000000000004, 1e-300, 2.2250738585072014e-308,
                    1.7976931348623157e308, -0.0, u64::MAX, i64::MIN],
        "floats": floats,
        "nested": { "z": [true, false, null, {}, []], "a": { "deep": { "er": "est" } } },
        "empty_string": "",
    });
    let activation = repo
        .activate(
            tenant.id,
            "grocery",
            plugin.id,
            &config,
            t(2),
            &Actor::Operator,
        )
        .await
        .unwrap();
    assert_eq!(activation.config, config);
    let read = repo.active(tenant.id, "grocery").await.unwrap().unwrap();
    assert!(
        read.config == config,
        "the config changed on the way through storage"
    );
    assert_eq!(read.plugin.info.config_schema, plugin.info.config_schema);

    // Scalars and arrays are configs too.
    for config in [
        serde_json::json!(null),
        serde_json::json!([1, "two"]),
        serde_json::json!(3),
    ] {
        repo.activate(
            tenant.id,
            "grocery",
            plugin.id,
            &config,
            t(3),
            &Actor::Operator,
        )
        .await
        .unwrap();
        assert_eq!(
            repo.active(tenant.id, "grocery")
                .await
                .unwrap()
                .unwrap()
                .config,
            config
        );
    }
}

// ---- SQLite-specific ----------------------------------------------------------------------

/// A writer that cannot get SQLite's write lock within `busy_timeout` gets `Unavailable`,
/// and its save writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_database_is_unavailable() {
    let test_db = TestDb::sqlite_with(DatabaseOptions {
        sqlite_busy_timeout: StdDuration::from_millis(200),
        ..DatabaseOptions::default()
    })
    .await;
    let db = &test_db.db;
    let tenant = create_tenant(db, "Locked").await;
    let cart = guest_cart(tenant.id);
    db.carts().insert(&cart, None).await.unwrap();

    // Another connection holds the write lock.
    let holder = db
        .connection()
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await
        .unwrap();
    let err = db
        .carts()
        .save(&bumped(cart.clone(), 1), &cart, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    holder.rollback().await.unwrap();

    assert_eq!(
        db.carts().load(tenant.id, cart.id).await.unwrap(),
        Some(cart.clone())
    );
    db.carts()
        .save(&bumped(cart.clone(), 1), &cart, None)
        .await
        .unwrap();
    test_db.cleanup().await;
}

/// The SQLite connections really run with the pragmas we asked for.
#[tokio::test]
async fn sqlite_pragmas_are_applied() {
    use sea_orm::{ConnectionTrait, Statement};
    let test_db = TestDb::sqlite().await;
    let conn = test_db.db.connection();
    let pragma = |name: &'static str| async move {
        let row = conn
            .query_one_raw(Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                format!("PRAGMA {name}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
            .unwrap()
    };
    assert_eq!(pragma("journal_mode").await.to_lowercase(), "wal");
    assert_eq!(pragma("busy_timeout").await, "5000");
    assert_eq!(pragma("synchronous").await, "1"); // NORMAL
    assert_eq!(pragma("foreign_keys").await, "1");
    test_db.cleanup().await;
}

/// Unknown URLs are refused with an error, not a panic.
#[tokio::test]
async fn unsupported_urls_are_refused() {
    assert!(matches!(
        Database::connect("mysql://localhost/x").await,
        Err(StoreError::Internal(_))
    ));
}

/// An unreachable PostgreSQL is `Unreachable`.
#[tokio::test]
async fn unreachable_postgres_is_unavailable() {
    let err = Database::connect_with(
        "postgres://postgres@127.0.0.1:1/postgres",
        DatabaseOptions {
            acquire_timeout: StdDuration::from_secs(2),
            ..DatabaseOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Unreachable(_)), "{err:?}");
}

/// A SQLite database that cannot grow (a full disk; here its page limit, which fails with
/// the same `SQLITE_FULL`) refuses writes with `StorageFull`: the refused write leaves
/// nothing, what was written before stays, and the file passes an integrity check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sqlite_database_refuses_writes_and_stays_whole() {
    // One connection, so the page limit set on it applies to every write below.
    let test_db = TestDb::sqlite_with(DatabaseOptions {
        max_connections: Some(1),
        ..DatabaseOptions::default()
    })
    .await;
    let db = &test_db.db;
    let tenant = create_tenant(db, "Full").await;
    let kept = guest_cart(tenant.id);
    db.carts().insert(&kept, None).await.unwrap();
    let conn = db.connection();
    let pages = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA page_count",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    conn.execute_unprepared(&format!("PRAGMA max_page_count = {}", pages + 1))
        .await
        .unwrap();

    let mut refused = None;
    let mut written = Vec::new();
    for _ in 0..2_000 {
        let mut cart = guest_cart(tenant.id);
        // Big rows fill the last page quickly.
        cart.context = (0..20)
            .map(|i| (format!("k{i}"), "x".repeat(200)))
            .collect();
        match db.carts().insert(&cart, None).await {
            Ok(()) => written.push(cart.id),
            Err(e) => {
                refused = Some((e, cart.id));
                break;
            }
        }
    }
    let (err, refused_id) = refused.expect("the database never filled up");
    assert!(matches!(err, StoreError::StorageFull(_)), "{err:?}");
    assert!(
        db.carts()
            .load(tenant.id, refused_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.carts().load(tenant.id, kept.id).await.unwrap().is_some());
    for id in written {
        assert!(db.carts().load(tenant.id, id).await.unwrap().is_some());
    }
    let check = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap();
    assert_eq!(check, "ok");
}
