use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cart_merges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_cart_id: Uuid,
    pub tenant_id: Uuid,
    pub target_cart_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub policy: String,
    /// serde_json array of per-line outcomes.
    #[sea_orm(column_type = "Text")]
    pub outcomes: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
