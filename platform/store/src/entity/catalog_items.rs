use sea_orm::entity::prelude::*;

// `Deserialize`: a write's reads come back from PostgreSQL as JSON rows (`write_reads.rs`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "catalog_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub sku: String,
    /// Integer minor units of `currency`.
    pub price_minor: i64,
    #[sea_orm(column_type = "Text")]
    pub currency: String,
    pub price_revision: i64,
    #[sea_orm(column_type = "Text")]
    pub category: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub seller: Option<String>,
    /// serde_json object of string pairs.
    #[sea_orm(column_type = "Text")]
    pub attributes: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub claim_policy: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub title: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
