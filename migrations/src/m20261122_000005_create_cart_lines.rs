use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Carts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CartLines {
    Table,
    Id,
    CartId,
    TenantId,
    LineKey,
    Sku,
    Attributes,
    Seller,
    Fulfillment,
    Quantity,
    LineVersion,
    UnitPriceMinor,
    PriceRevision,
    Category,
    Title,
    Review,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CartLines::Table)
                    .col(
                        ColumnDef::new(CartLines::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CartLines::CartId).uuid().not_null())
                    .col(ColumnDef::new(CartLines::TenantId).uuid().not_null())
                    // LineKey::canonical(): what makes two lines the same line.
                    .col(ColumnDef::new(CartLines::LineKey).text().not_null())
                    .col(ColumnDef::new(CartLines::Sku).text().not_null())
                    .col(ColumnDef::new(CartLines::Attributes).text().not_null())
                    .col(ColumnDef::new(CartLines::Seller).text().null())
                    .col(ColumnDef::new(CartLines::Fulfillment).text().null())
                    .col(ColumnDef::new(CartLines::Quantity).big_integer().not_null())
                    .col(
                        ColumnDef::new(CartLines::LineVersion)
                            .big_integer()
                            .not_null(),
                    )
                    // Integer minor units of the cart's currency.
                    .col(
                        ColumnDef::new(CartLines::UnitPriceMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CartLines::PriceRevision)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CartLines::Category).text().not_null())
                    .col(ColumnDef::new(CartLines::Title).text().null())
                    // 'target' | 'source' while the line is one side of an unresolved merge
                    // conflict (`review` policy), else NULL.
                    .col(ColumnDef::new(CartLines::Review).text().null())
                    // Order of the line within its cart.
                    .col(ColumnDef::new(CartLines::Position).integer().not_null())
                    .col(
                        ColumnDef::new(CartLines::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CartLines::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cart_lines_cart_id")
                            .from(CartLines::Table, CartLines::CartId)
                            .to(Carts::Table, Carts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_cart_lines_cart_line_key")
                    .table(CartLines::Table)
                    .col(CartLines::CartId)
                    .col(CartLines::LineKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_cart_lines_tenant_cart")
                    .table(CartLines::Table)
                    .col(CartLines::TenantId)
                    .col(CartLines::CartId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CartLines::Table).to_owned())
            .await
    }
}
