use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    TenantId,
    EventType,
    Subject,
    Sequence,
    OccurredAt,
    SchemaVersion,
    Data,
    DispatchedAt,
    PublishedAt,
    PublishClaimedUntil,
}

#[derive(DeriveIden)]
enum EventSequences {
    Table,
    TenantId,
    Subject,
    LastSequence,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    TenantId,
    Url,
    EventTypes,
    Description,
    Enabled,
    PausedReason,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    TenantId,
    WebhookId,
    EventId,
    EventType,
    Subject,
    Sequence,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    At,
    StatusCode,
    LatencyMs,
    Error,
    ResponseExcerpt,
}

/// Events leave the building (SPEC §11): the outbox every change writes in its own
/// transaction, the per-subject sequence counters, tenants' webhook endpoints, and one
/// delivery (with its attempts) per event and endpoint.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    // UUID v7, the envelope's `id`.
                    .col(
                        ColumnDef::new(OutboxEvents::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(OutboxEvents::TenantId).uuid().not_null())
                    .col(ColumnDef::new(OutboxEvents::EventType).text().not_null())
                    // `kind:id`, e.g. `cart:0193…`.
                    .col(ColumnDef::new(OutboxEvents::Subject).text().not_null())
                    .col(
                        ColumnDef::new(OutboxEvents::Sequence)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutboxEvents::OccurredAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutboxEvents::SchemaVersion)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OutboxEvents::Data).text().not_null())
                    // Fanned out into webhook deliveries (NULL: not yet).
                    .col(
                        ColumnDef::new(OutboxEvents::DispatchedAt)
                            .big_integer()
                            .null(),
                    )
                    // Acknowledged by JetStream (NULL: not yet, or no JetStream).
                    .col(
                        ColumnDef::new(OutboxEvents::PublishedAt)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OutboxEvents::PublishClaimedUntil)
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_outbox_events_dispatched_at_occurred_at",
                vec![OutboxEvents::DispatchedAt, OutboxEvents::OccurredAt],
            ),
            (
                "ix_outbox_events_published_at_occurred_at",
                vec![OutboxEvents::PublishedAt, OutboxEvents::OccurredAt],
            ),
            (
                "ux_outbox_events_tenant_id_subject_sequence",
                vec![
                    OutboxEvents::TenantId,
                    OutboxEvents::Subject,
                    OutboxEvents::Sequence,
                ],
            ),
            (
                "ix_outbox_events_occurred_at",
                vec![OutboxEvents::OccurredAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(OutboxEvents::Table);
            if name.starts_with("ux_") {
                // Gap-free per subject is also duplicate-free: a second writer of the same
                // sequence fails instead of forking the history.
                index.unique();
            }
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(EventSequences::Table)
                    .col(ColumnDef::new(EventSequences::TenantId).uuid().not_null())
                    .col(ColumnDef::new(EventSequences::Subject).text().not_null())
                    .col(
                        ColumnDef::new(EventSequences::LastSequence)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(EventSequences::TenantId)
                            .col(EventSequences::Subject),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(
                        ColumnDef::new(WebhookEndpoints::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(WebhookEndpoints::TenantId).uuid().not_null())
                    .col(ColumnDef::new(WebhookEndpoints::Url).text().not_null())
                    // JSON array of type names; NULL: every type.
                    .col(ColumnDef::new(WebhookEndpoints::EventTypes).text().null())
                    .col(ColumnDef::new(WebhookEndpoints::Description).text().null())
                    .col(
                        ColumnDef::new(WebhookEndpoints::Enabled)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookEndpoints::PausedReason).text().null())
                    // The signing key must be readable to sign with (an HMAC, unlike an API
                    // key, cannot be checked against a hash).
                    .col(ColumnDef::new(WebhookEndpoints::Secret).text().not_null())
                    .col(
                        ColumnDef::new(WebhookEndpoints::PreviousSecret)
                            .text()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookEndpoints::PreviousSecretUntil)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookEndpoints::FailingSince)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookEndpoints::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookEndpoints::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_endpoints_tenant_id")
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::TenantId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(
                        ColumnDef::new(WebhookDeliveries::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::TenantId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::WebhookId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookDeliveries::EventId).uuid().not_null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::EventType)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookDeliveries::Subject).text().not_null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::Sequence)
                            .big_integer()
                            .not_null(),
                    )
                    // pending | delivered | dead
                    .col(ColumnDef::new(WebhookDeliveries::Status).text().not_null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::Attempts)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::NextAttemptAt)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::ClaimedUntil)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::DeliveredAt)
                            .big_integer()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_webhook_id")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // The claim: due pending deliveries.
            (
                "ix_webhook_deliveries_status_next_attempt_at",
                vec![WebhookDeliveries::Status, WebhookDeliveries::NextAttemptAt],
            ),
            // The order rule: earlier pending deliveries of a subject to an endpoint.
            (
                "ix_webhook_deliveries_webhook_id_subject_sequence",
                vec![
                    WebhookDeliveries::WebhookId,
                    WebhookDeliveries::Subject,
                    WebhookDeliveries::Sequence,
                ],
            ),
            // The delivery log, newest first.
            (
                "ix_webhook_deliveries_webhook_id_id",
                vec![WebhookDeliveries::WebhookId, WebhookDeliveries::Id],
            ),
            (
                "ix_webhook_deliveries_event_id",
                vec![WebhookDeliveries::EventId],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(WebhookDeliveries::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(
                        ColumnDef::new(WebhookAttempts::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::DeliveryId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookAttempts::At).big_integer().not_null())
                    .col(ColumnDef::new(WebhookAttempts::StatusCode).integer().null())
                    .col(
                        ColumnDef::new(WebhookAttempts::LatencyMs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookAttempts::Error).text().null())
                    .col(
                        ColumnDef::new(WebhookAttempts::ResponseExcerpt)
                            .text()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_attempts_delivery_id")
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_attempts_delivery_id")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::DeliveryId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
            EventSequences::Table.into_iden(),
            OutboxEvents::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
