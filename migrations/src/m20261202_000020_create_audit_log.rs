use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    AuditId,
    TenantId,
    Actor,
    Action,
    Target,
    Before,
    After,
    At,
}

/// Every admin (and operator) change to a tenant, written by the same store call as the
/// change. Rows are only ever inserted.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    // UUID v7: ordering by it is ordering by time, which is what the
                    // newest-first pages walk.
                    .col(
                        ColumnDef::new(AuditLog::AuditId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditLog::TenantId).uuid().not_null())
                    // The api_keys id of the key that made the change, or 'operator'.
                    .col(ColumnDef::new(AuditLog::Actor).text().not_null())
                    // 'config.patch', 'catalog.upsert', …
                    .col(ColumnDef::new(AuditLog::Action).text().not_null())
                    // A sku, an order type, a plugin id, 'config', the tenant id.
                    .col(ColumnDef::new(AuditLog::Target).text().not_null())
                    // serde_json snapshots; NULL when the thing did not exist before
                    // (or no longer exists after).
                    .col(ColumnDef::new(AuditLog::Before).text().null())
                    .col(ColumnDef::new(AuditLog::After).text().null())
                    .col(ColumnDef::new(AuditLog::At).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_log_tenant_id")
                            .from(AuditLog::Table, AuditLog::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A page is `WHERE tenant_id = ? AND audit_id < ? ORDER BY audit_id DESC LIMIT n`.
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_tenant_id_audit_id")
                    .table(AuditLog::Table)
                    .col(AuditLog::TenantId)
                    .col(AuditLog::AuditId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
