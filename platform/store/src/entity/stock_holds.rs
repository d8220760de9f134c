use sea_orm::entity::prelude::*;

// `Deserialize`: a write's reads come back from PostgreSQL as JSON rows (`write_reads.rs`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "stock_holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub sku: String,
    pub quantity: i64,
    /// `line` (a reserve line's hold) | `checkout` (a pending checkout's reservation).
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub cart_id: Uuid,
    /// Line holds only.
    pub line_id: Option<Uuid>,
    /// Checkout holds only.
    pub checkout_id: Option<Uuid>,
    pub expires_at: i64,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
