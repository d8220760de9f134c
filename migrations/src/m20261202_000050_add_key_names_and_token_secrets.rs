use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    CustomerTokenSecret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Kind,
    Name,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum CustomerTokenSecrets {
    Table,
    Id,
    TenantId,
    Secret,
    CreatedAt,
}

/// Several named keys per kind (issue 13): `api_keys` gains `name` and `last_used_at`;
/// existing keys, which were created with their tenant, are named "initial storefront key"
/// and "initial admin key".
///
/// Customer-token secrets move to `customer_token_secrets`, so a tenant can hold several
/// while storefronts move to a new one. Each tenant's existing secret becomes its first
/// row, with the tenant's id as the secret's id (already a unique UUID, and the same SQL on
/// both databases). `tenants.customer_token_secret` stays, always holding the newest
/// secret: nodes of the previous release, still running during a rolling upgrade, read it,
/// and a deleted secret must not live on there.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite takes no more.
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .add_column(ColumnDef::new(ApiKeys::Name).text().not_null().default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .add_column(ColumnDef::new(ApiKeys::LastUsedAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        for kind in ["storefront", "admin"] {
            manager
                .execute(
                    Query::update()
                        .table(ApiKeys::Table)
                        .value(ApiKeys::Name, format!("initial {kind} key"))
                        .and_where(Expr::col(ApiKeys::Kind).eq(kind))
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(CustomerTokenSecrets::Table)
                    .col(
                        ColumnDef::new(CustomerTokenSecrets::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CustomerTokenSecrets::TenantId)
                            .uuid()
                            .not_null(),
                    )
                    // The HS256 key itself: verifying an HMAC needs it, so it cannot be
                    // hashed like the API keys.
                    .col(
                        ColumnDef::new(CustomerTokenSecrets::Secret)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerTokenSecrets::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_customer_token_secrets_tenant_id")
                            .from(CustomerTokenSecrets::Table, CustomerTokenSecrets::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_customer_token_secrets_tenant_id")
                    .table(CustomerTokenSecrets::Table)
                    .col(CustomerTokenSecrets::TenantId)
                    .to_owned(),
            )
            .await?;
        manager
            .execute(
                Query::insert()
                    .into_table(CustomerTokenSecrets::Table)
                    .columns([
                        CustomerTokenSecrets::Id,
                        CustomerTokenSecrets::TenantId,
                        CustomerTokenSecrets::Secret,
                        CustomerTokenSecrets::CreatedAt,
                    ])
                    .select_from(
                        Query::select()
                            .from(Tenants::Table)
                            .columns([
                                Tenants::Id,
                                Tenants::Id,
                                Tenants::CustomerTokenSecret,
                                Tenants::CreatedAt,
                            ])
                            .to_owned(),
                    )
                    .map_err(|e| DbErr::Migration(e.to_string()))?
                    .to_owned(),
            )
            .await
    }

    /// Keeps each tenant's newest secret (already in `tenants.customer_token_secret`); the
    /// others, and key names and last uses, are lost.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CustomerTokenSecrets::Table).to_owned())
            .await?;
        for column in [ApiKeys::LastUsedAt, ApiKeys::Name] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiKeys::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
