use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    TenantId,
    Id,
    CustomerId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Carts {
    Table,
    TenantId,
    Id,
}

#[derive(DeriveIden)]
enum Checkouts {
    Table,
    TenantId,
    Id,
}

/// The tenant admin's lists (SPEC §12) page newest first by id within a tenant, and the
/// order list filters on the customer: an order's customer gets a column (it was only in
/// the body), filled for existing orders from their bodies.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(ColumnDef::new(Orders::CustomerId).text().null())
                    .to_owned(),
            )
            .await?;
        let backfill = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE orders SET customer_id = (body::json ->> 'customer_id') \
                 WHERE customer_id IS NULL"
            }
            _ => {
                "UPDATE orders SET customer_id = json_extract(body, '$.customer_id') \
                 WHERE customer_id IS NULL"
            }
        };
        manager
            .get_connection()
            .execute_unprepared(backfill)
            .await?;
        for (name, table, cols) in [
            (
                "ix_carts_tenant_id_id",
                Carts::Table.into_iden(),
                vec![Carts::TenantId.into_iden(), Carts::Id.into_iden()],
            ),
            (
                "ix_checkouts_tenant_id_id",
                Checkouts::Table.into_iden(),
                vec![Checkouts::TenantId.into_iden(), Checkouts::Id.into_iden()],
            ),
            (
                "ix_orders_tenant_id_id",
                Orders::Table.into_iden(),
                vec![Orders::TenantId.into_iden(), Orders::Id.into_iden()],
            ),
            (
                "ix_orders_tenant_customer_id",
                Orders::Table.into_iden(),
                vec![
                    Orders::TenantId.into_iden(),
                    Orders::CustomerId.into_iden(),
                    Orders::Id.into_iden(),
                ],
            ),
            (
                "ix_orders_tenant_created_at",
                Orders::Table.into_iden(),
                vec![Orders::TenantId.into_iden(), Orders::CreatedAt.into_iden()],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_orders_tenant_created_at", Orders::Table.into_iden()),
            ("ix_orders_tenant_customer_id", Orders::Table.into_iden()),
            ("ix_orders_tenant_id_id", Orders::Table.into_iden()),
            ("ix_checkouts_tenant_id_id", Checkouts::Table.into_iden()),
            ("ix_carts_tenant_id_id", Carts::Table.into_iden()),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::CustomerId)
                    .to_owned(),
            )
            .await
    }
}
