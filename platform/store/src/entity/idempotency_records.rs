use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub scope: String,
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub idem_key: String,
    pub tenant_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub fingerprint: String,
    /// `committed` (written by the change's transaction, answer not stored yet) |
    /// `completed` (answer stored) | `in_progress` (a claim of an older release).
    #[sea_orm(column_type = "Text")]
    pub state: String,
    pub status_code: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub content_type: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub etag: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub location: Option<String>,
    #[sea_orm(column_type = "Blob", nullable)]
    pub body: Option<Vec<u8>>,
    pub created_at: i64,
    /// How to re-render a `committed` record's answer (`cart:<id>`, …).
    #[sea_orm(column_type = "Text", nullable)]
    pub replay: Option<String>,
    /// A new guest cart's token, for that re-rendering.
    #[sea_orm(column_type = "Text", nullable)]
    pub replay_secret: Option<String>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
