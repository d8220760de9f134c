//! API keys and customer-token secrets (`CredentialRepository`), on both backends through
//! `on_both_backends!` in `store.rs`.

use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use trolley_core::domain::{Actor, CustomerTokenSecret, KeyKind};
use trolley_core::ports::{
    ApiKeyRecord, CredentialRepository, KeyRevocation, SecretDeletion, TenantRepository,
};
use trolley_store::Database;
use trolley_store::entity::{audit_log, tenants};

use crate::common::*;

fn record(kind: KeyKind, name: &str) -> ApiKeyRecord {
    let id = uuid::Uuid::now_v7();
    ApiKeyRecord {
        id,
        kind,
        name: name.into(),
        key_hash: format!("hash-{id}"),
    }
}

async fn actions(db: &Database, tenant: trolley_core::domain::TenantId) -> Vec<String> {
    audit_log::Entity::find()
        .filter(audit_log::Column::TenantId.eq(tenant.0))
        .all(db.connection())
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            // No snapshot ever holds a secret or a key hash.
            for doc in [&e.before, &e.after].into_iter().flatten() {
                assert!(!doc.contains("tcs_") && !doc.contains("hash-"), "{doc}");
            }
            e.action
        })
        .collect()
}

pub async fn api_keys_are_created_listed_and_revoked_with_audit(db: &Database) {
    let repo = db.tenants();
    let a = create_tenant(db, "Alpha").await;
    let b = create_tenant(db, "Beta").await;
    let actor = Actor::Operator;

    let listed = repo.api_keys(a.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        ["initial storefront key", "initial admin key"]
    );
    let second = record(KeyKind::Storefront, "mobile");
    let info = repo
        .create_api_key(a.id, &second, &actor, t(10))
        .await
        .unwrap();
    assert_eq!((info.name.as_str(), info.created_at), ("mobile", t(10)));
    assert_eq!(repo.api_keys(a.id).await.unwrap().len(), 3);
    assert_eq!(
        repo.find_by_key(KeyKind::Storefront, &second.key_hash)
            .await
            .unwrap()
            .map(|o| (o.tenant.id, o.key_id)),
        Some((a.id, second.id))
    );

    // Another tenant's key is not found; nothing changes.
    assert_eq!(
        repo.revoke_api_key(b.id, second.id, &actor, t(20))
            .await
            .unwrap(),
        KeyRevocation::NotFound
    );
    let KeyRevocation::Revoked(revoked) = repo
        .revoke_api_key(a.id, second.id, &actor, t(20))
        .await
        .unwrap()
    else {
        panic!("not revoked")
    };
    assert_eq!(revoked.revoked_at, Some(t(20)));
    assert!(
        repo.find_by_key(KeyKind::Storefront, &second.key_hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        repo.revoke_api_key(a.id, second.id, &actor, t(30))
            .await
            .unwrap(),
        KeyRevocation::AlreadyRevoked(k) if k.revoked_at == Some(t(20))
    ));

    // The last admin key stays.
    let admin = repo
        .api_keys(a.id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kind == KeyKind::Admin)
        .unwrap();
    assert_eq!(
        repo.revoke_api_key(a.id, admin.id, &actor, t(40))
            .await
            .unwrap(),
        KeyRevocation::LastAdminKey
    );
    let actions = actions(db, a.id).await;
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("api_key.")).count(),
        2,
        "{actions:?}"
    );
}

pub async fn concurrent_admin_key_revocations_keep_one_admin_key(db: &Database) {
    let repo = db.tenants();
    let a = create_tenant(db, "Alpha").await;
    let mut ids = Vec::new();
    for name in ["one", "two", "three"] {
        let key = record(KeyKind::Admin, name);
        repo.create_api_key(a.id, &key, &Actor::Operator, t(1))
            .await
            .unwrap();
        ids.push(key.id);
    }
    let initial = repo
        .api_keys(a.id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kind == KeyKind::Admin && !ids.contains(&k.id))
        .unwrap();
    ids.push(initial.id);
    // Four admin keys, each revoked by another at the same moment: one must survive.
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let repo = repo.clone();
            let id = *id;
            let actor = Actor::ApiKey(ids[(i + 1) % ids.len()]);
            tokio::spawn(async move { repo.revoke_api_key(a.id, id, &actor, t(2)).await })
        })
        .collect();
    let mut last = 0;
    for task in tasks {
        let task = task.await;
        match task.unwrap().unwrap() {
            KeyRevocation::Revoked(_) => {}
            KeyRevocation::LastAdminKey => last += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(last, 1);
    let active = repo
        .api_keys(a.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.kind == KeyKind::Admin && k.revoked_at.is_none())
        .count();
    assert_eq!(active, 1);
}

pub async fn last_use_is_recorded_at_most_once_a_minute(db: &Database) {
    let repo = db.tenants();
    let a = create_tenant(db, "Alpha").await;
    let sf = format!("sf-{}", a.id);
    let key_id = repo
        .find_by_key(KeyKind::Storefront, &sf)
        .await
        .unwrap()
        .unwrap()
        .key_id;
    let last_used = || async {
        repo.find_by_key(KeyKind::Storefront, &sf)
            .await
            .unwrap()
            .unwrap()
            .last_used_at
    };
    assert_eq!(last_used().await, None);
    repo.touch_api_key(key_id, t(100)).await.unwrap();
    assert_eq!(last_used().await, Some(t(100)));
    // Within the minute: unchanged.
    repo.touch_api_key(key_id, t(100) + Duration::seconds(59))
        .await
        .unwrap();
    assert_eq!(last_used().await, Some(t(100)));
    repo.touch_api_key(key_id, t(100) + Duration::seconds(61))
        .await
        .unwrap();
    assert_eq!(last_used().await, Some(t(100) + Duration::seconds(61)));
}

pub async fn customer_token_secrets_rotate_and_mirror_the_newest(db: &Database) {
    let repo = db.tenants();
    let a = create_tenant(db, "Alpha").await;
    let b = create_tenant(db, "Beta").await;
    let first = a.customer_token_secrets[0].clone();
    let mirror = || async {
        tenants::Entity::find_by_id(a.id.0)
            .one(db.connection())
            .await
            .unwrap()
            .unwrap()
            .customer_token_secret
    };
    assert_eq!(
        repo.customer_token_secrets(a.id).await.unwrap(),
        std::slice::from_ref(&first)
    );
    assert_eq!(mirror().await, first.secret);

    let second = CustomerTokenSecret::generate(t(50));
    repo.add_customer_token_secret(a.id, &second, &Actor::Operator)
        .await
        .unwrap();
    assert_eq!(
        repo.customer_token_secrets(a.id).await.unwrap(),
        [second.clone(), first.clone()]
    );
    assert_eq!(
        repo.get(a.id)
            .await
            .unwrap()
            .unwrap()
            .customer_token_secrets,
        [second.clone(), first.clone()]
    );
    assert_eq!(mirror().await, second.secret);

    // Deleting the newest makes the older one the mirror again.
    assert_eq!(
        repo.delete_customer_token_secret(b.id, second.id, &Actor::Operator, t(60))
            .await
            .unwrap(),
        SecretDeletion::NotFound
    );
    assert_eq!(
        repo.delete_customer_token_secret(a.id, second.id, &Actor::Operator, t(60))
            .await
            .unwrap(),
        SecretDeletion::Deleted
    );
    assert_eq!(mirror().await, first.secret);
    assert_eq!(
        repo.delete_customer_token_secret(a.id, first.id, &Actor::Operator, t(70))
            .await
            .unwrap(),
        SecretDeletion::LastSecret
    );
    assert_eq!(repo.customer_token_secrets(a.id).await.unwrap(), [first]);
    let actions = actions(db, a.id).await;
    assert!(
        actions.contains(&"customer_token_secret.create".to_owned())
            && actions.contains(&"customer_token_secret.delete".to_owned()),
        "{actions:?}"
    );
}

/// A database from before `m20261202_000050`: its tenant's secret becomes the first row of
/// `customer_token_secrets` (the tenant's id as its id) and its keys get their names.
pub async fn migration_moves_secrets_and_names_existing_keys(db: &Database) {
    use sea_orm::sea_query::{Alias, Query};
    use sea_orm::{ConnectionTrait, IntoActiveModel};
    use trolley_migrations::{Migrator, MigratorTrait};

    let conn = db.connection();
    // Back to just before `m20261202_000050`: every migration after it goes down first.
    let after: usize = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .skip_while(|name| name != "m20261202_000050_add_key_names_and_token_secrets")
        .count();
    assert!(after > 0, "m20261202_000050 is not in the migrations");
    Migrator::down(conn, Some(u32::try_from(after).unwrap()))
        .await
        .unwrap();
    let tenant = uuid::Uuid::now_v7();
    tenants::Entity::insert(
        tenants::Model {
            id: tenant,
            name: "Old".into(),
            currency: "USD".into(),
            status: "active".into(),
            customer_token_secret: "tcs_old".into(),
            config: "{}".into(),
            created_at: t(0).timestamp_millis(),
            config_revision: 1,
        }
        .into_active_model(),
    )
    .exec_without_returning(conn)
    .await
    .unwrap();
    for (kind, hash) in [("storefront", "old-sf"), ("admin", "old-ad")] {
        let insert = Query::insert()
            .into_table(Alias::new("api_keys"))
            .columns(["id", "tenant_id", "kind", "key_hash", "created_at"].map(Alias::new))
            .values_panic([
                uuid::Uuid::now_v7().into(),
                tenant.into(),
                kind.into(),
                hash.into(),
                t(0).timestamp_millis().into(),
            ])
            .to_owned();
        conn.execute(&insert).await.unwrap();
    }
    Migrator::up(conn, None).await.unwrap();

    let repo = db.tenants();
    let id = trolley_core::domain::TenantId(tenant);
    let secrets = repo.get(id).await.unwrap().unwrap().customer_token_secrets;
    assert_eq!(
        secrets,
        [CustomerTokenSecret {
            id: tenant,
            secret: "tcs_old".into(),
            created_at: t(0),
        }]
    );
    let names: Vec<_> = repo
        .api_keys(id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kind, k.name, k.last_used_at))
        .collect();
    assert!(names.contains(&(KeyKind::Storefront, "initial storefront key".into(), None)));
    assert!(names.contains(&(KeyKind::Admin, "initial admin key".into(), None)));
    let owner = repo
        .find_by_key(KeyKind::Admin, "old-ad")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.tenant.customer_token_secrets, secrets);
}
