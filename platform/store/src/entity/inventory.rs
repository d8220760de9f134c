use sea_orm::entity::prelude::*;

// `Deserialize`: a write's reads come back from PostgreSQL as JSON rows (`write_reads.rs`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "inventory")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub sku: String,
    pub on_hand: i64,
    /// Held by reserve lines and pending checkouts: the sum of the sku's `stock_holds`.
    pub reserved: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
