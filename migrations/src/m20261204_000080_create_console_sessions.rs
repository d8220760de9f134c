use sea_orm_migration::prelude::*;

/// Console sign-in sessions (SPEC §12): the browser holds a random token, this table its
/// hash and the hash of the credential it signed in with.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConsoleSessions {
    Table,
    TokenHash,
    Principal,
    CredentialHash,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConsoleSessions::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(ConsoleSessions::TokenHash)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ConsoleSessions::Principal).text().not_null())
                    .col(
                        ColumnDef::new(ConsoleSessions::CredentialHash)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConsoleSessions::CsrfToken).text().not_null())
                    .col(
                        ColumnDef::new(ConsoleSessions::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConsoleSessions::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Sign-in forgets expired sessions.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_console_sessions_expires_at")
                    .table(ConsoleSessions::Table)
                    .col(ConsoleSessions::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConsoleSessions::Table).to_owned())
            .await
    }
}
