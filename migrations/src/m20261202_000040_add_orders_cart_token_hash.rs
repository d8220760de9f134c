use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    CartTokenHash,
}

/// Who may read an order, kept with the order: a guest's order carries its cart's token
/// hash (a customer's order names the customer in its body), so the order stays readable
/// by its shopper after retention deletes the cart. Existing orders take it from their
/// cart, which no retention has deleted yet.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(ColumnDef::new(Orders::CartTokenHash).text().null())
                    .to_owned(),
            )
            .await?;
        // A correlated subquery is plain SQL, the same on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE orders SET cart_token_hash = \
                 (SELECT carts.cart_token_hash FROM carts WHERE carts.id = orders.cart_id) \
                 WHERE cart_token_hash IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::CartTokenHash)
                    .to_owned(),
            )
            .await
    }
}
