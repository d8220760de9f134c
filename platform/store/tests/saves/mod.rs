//! A cart's save with its events and idempotency seal: on PostgreSQL one statement
//! (`one_statement.rs`), on SQLite a transaction; the same outcomes on both.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use trolley_core::StoreError;
use trolley_core::domain::{EventType, NewEvent, Receipt, Replay, Seal, Subject, SubjectKind};
use trolley_core::ports::CartRepository;
use trolley_store::Database;
use trolley_store::entity::{event_sequences, idempotency_records, outbox_events};

use crate::common::*;

fn changed(cart: &trolley_core::domain::Cart, what: &str) -> NewEvent {
    NewEvent {
        event_type: EventType::CartLineAdded,
        subject: Subject {
            kind: SubjectKind::Cart,
            id: cart.id.to_string(),
        },
        data: json!({ "what": what }),
    }
}

async fn sequences(db: &Database, cart: &trolley_core::domain::Cart) -> Vec<(i64, String)> {
    outbox_events::Entity::find()
        .filter(outbox_events::Column::Subject.eq(format!("cart:{}", cart.id)))
        .order_by_asc(outbox_events::Column::Sequence)
        .all(db.connection())
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.sequence, row.data))
        .collect()
}

/// Events are numbered on from the subject's last number, in order; a stale save and a
/// save whose key is taken write no event, no number, no line and no record.
pub async fn a_save_numbers_its_events_or_writes_nothing(db: &Database) {
    let tenant = create_tenant(db, "Saves").await;
    let repo = db.carts();
    let cart = customer_cart(tenant.id, "c1");
    repo.insert(&cart, None).await.unwrap();

    // An added line with two events.
    let mut v2 = bumped(cart.clone(), 1);
    v2.lines.push(line("A", "1.00", 1, 1));
    repo.save_emitting(&v2, &cart, None, &[changed(&v2, "a"), changed(&v2, "b")])
        .await
        .unwrap();
    // A changed line with one, sealed by a key.
    let mut v3 = bumped(v2.clone(), 2);
    v3.lines[0].line_version += 1;
    let key = Receipt {
        scope: format!("{}:customer:c1", tenant.id),
        key: "k1".into(),
        fingerprint: "fp".into(),
        at: t(2),
    };
    let replay = Replay::Cart(cart.id);
    let seal = Seal {
        receipt: &key,
        replay: &replay,
    };
    repo.save_emitting(&v3, &v2, Some(seal), &[changed(&v3, "c")])
        .await
        .unwrap();
    assert_eq!(
        repo.load(tenant.id, cart.id).await.unwrap(),
        Some(v3.clone())
    );
    let numbered = sequences(db, &cart).await;
    assert_eq!(
        numbered.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(numbered[0].1.contains("\"a\"") && numbered[2].1.contains("\"c\""));

    // Stale: nothing at all is written.
    let mut stale = bumped(v2.clone(), 3);
    stale.lines.clear();
    let err = repo
        .save_emitting(&stale, &v2, None, &[changed(&stale, "stale")])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err:?}");
    // The key taken: refused, and the cart, its lines and the outbox are as they were.
    let mut v4 = bumped(v3.clone(), 4);
    v4.lines.push(line("B", "2.00", 1, 4));
    let err = repo
        .save_emitting(&v4, &v3, Some(seal), &[changed(&v4, "taken")])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyTaken), "{err:?}");
    assert_eq!(
        repo.load(tenant.id, cart.id).await.unwrap(),
        Some(v3.clone())
    );
    assert_eq!(sequences(db, &cart).await.len(), 3);
    let last = event_sequences::Entity::find()
        .filter(event_sequences::Column::Subject.eq(format!("cart:{}", cart.id)))
        .one(db.connection())
        .await
        .unwrap()
        .unwrap()
        .last_sequence;
    assert_eq!(last, 3, "a refused save takes no number");
    let records = idempotency_records::Entity::find()
        .filter(idempotency_records::Column::TenantId.eq(tenant.id.0))
        .all(db.connection())
        .await
        .unwrap();
    assert_eq!(records.len(), 1);

    // A removal alone, then a removal beside a new line (the transaction's shape on
    // PostgreSQL): both land whole, numbered on.
    let mut v5 = bumped(v3.clone(), 5);
    v5.lines.clear();
    repo.save_emitting(&v5, &v3, None, &[changed(&v5, "removed")])
        .await
        .unwrap();
    let mut v6 = bumped(v5.clone(), 6);
    v6.lines.push(line("C", "3.00", 2, 6));
    repo.save_emitting(&v6, &v5, None, &[changed(&v6, "c")])
        .await
        .unwrap();
    let mut v7 = bumped(v6.clone(), 7);
    v7.lines = vec![line("D", "4.00", 1, 7)];
    repo.save_emitting(&v7, &v6, None, &[changed(&v7, "swap")])
        .await
        .unwrap();
    assert_eq!(repo.load(tenant.id, cart.id).await.unwrap(), Some(v7));
    assert_eq!(
        sequences(db, &cart)
            .await
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
}

/// Many savers of different carts with one key at once: exactly one change lands; the
/// other carts keep their version.
pub async fn concurrent_saves_with_one_key_commit_once(db: &Database) {
    let tenant = create_tenant(db, "SealRace").await;
    let key = Receipt {
        scope: format!("{}:address:10.0.0.2", tenant.id),
        key: "race".into(),
        fingerprint: "fp".into(),
        at: t(0),
    };
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (db, key) = (db.clone(), key.clone());
        let cart = guest_cart(tenant.id);
        db.carts().insert(&cart, None).await.unwrap();
        tasks.push(tokio::spawn(async move {
            let mut next = bumped(cart.clone(), 1);
            next.lines.push(line("A", "1.00", 1, 1));
            let replay = Replay::Cart(cart.id);
            let saved = db
                .carts()
                .save_emitting(
                    &next,
                    &cart,
                    Some(Seal {
                        receipt: &key,
                        replay: &replay,
                    }),
                    &[changed(&next, "race")],
                )
                .await;
            let version = db
                .carts()
                .load(cart.tenant_id, cart.id)
                .await
                .unwrap()
                .unwrap()
                .version;
            (saved, version, cart.version)
        }));
    }
    let mut committed = 0;
    for task in tasks {
        let (saved, version, before) = task.await.unwrap();
        match saved {
            Ok(()) => {
                committed += 1;
                assert_eq!(version, before + 1);
            }
            Err(StoreError::IdempotencyKeyTaken) => assert_eq!(version, before),
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(committed, 1);
}

/// An add line's save (a sealed key, a new line, its event) is one statement on
/// PostgreSQL; on SQLite, five inside a transaction (seal, update, line, number, event).
pub async fn a_save_is_one_statement_on_postgres(db: &Database) {
    use std::sync::atomic::Ordering;

    let tenant = create_tenant(db, "CountedSave").await;
    let cart = guest_cart(tenant.id);
    db.carts().insert(&cart, None).await.unwrap();
    let (counted, statements) = counting_connection(db);
    let mut next = bumped(cart.clone(), 1);
    next.lines.push(line("A", "1.00", 1, 1));
    let key = Receipt {
        scope: format!("{}:address:10.0.0.3", tenant.id),
        key: "counted".into(),
        fingerprint: "fp".into(),
        at: t(1),
    };
    let replay = Replay::Cart(cart.id);
    trolley_store::SqlCartRepository::new(counted)
        .save_emitting(
            &next,
            &cart,
            Some(Seal {
                receipt: &key,
                replay: &replay,
            }),
            &[changed(&next, "a")],
        )
        .await
        .unwrap();
    assert_eq!(
        db.carts().load(tenant.id, cart.id).await.unwrap(),
        Some(next)
    );
    let expected = match db.backend() {
        sea_orm::DbBackend::Postgres => 1,
        _ => 5,
    };
    assert_eq!(statements.load(Ordering::SeqCst), expected);
}
