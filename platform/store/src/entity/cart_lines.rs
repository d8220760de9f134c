use sea_orm::entity::prelude::*;

// `Deserialize`: a write's reads come back from PostgreSQL as JSON rows (`write_reads.rs`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "cart_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub cart_id: Uuid,
    pub tenant_id: Uuid,
    /// `LineKey::canonical()`; unique with `cart_id`.
    #[sea_orm(column_type = "Text")]
    pub line_key: String,
    #[sea_orm(column_type = "Text")]
    pub sku: String,
    /// serde_json object of string pairs.
    #[sea_orm(column_type = "Text")]
    pub attributes: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub seller: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub fulfillment: Option<String>,
    pub quantity: i64,
    pub line_version: i64,
    /// Integer minor units of the cart's currency.
    pub unit_price_minor: i64,
    pub price_revision: i64,
    #[sea_orm(column_type = "Text")]
    pub category: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub title: Option<String>,
    /// `target` | `source` while the line is one side of an unresolved merge conflict.
    #[sea_orm(column_type = "Text", nullable)]
    pub review: Option<String>,
    /// Order of the line within its cart.
    pub position: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::carts::Entity",
        from = "Column::CartId",
        to = "super::carts::Column::Id",
        on_delete = "Cascade"
    )]
    Cart,
}

impl Related<super::carts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cart.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
