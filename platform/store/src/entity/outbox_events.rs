use sea_orm::entity::prelude::*;

/// One event of the outbox, written in the transaction of the change that raised it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_events")]
pub struct Model {
    /// UUID v7: the envelope's `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub event_type: String,
    /// `kind:id`.
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    pub sequence: i64,
    pub occurred_at: i64,
    pub schema_version: i32,
    /// The payload (`data`), serde_json.
    #[sea_orm(column_type = "Text")]
    pub data: String,
    pub dispatched_at: Option<i64>,
    pub published_at: Option<i64>,
    pub publish_claimed_until: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
