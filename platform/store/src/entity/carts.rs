use sea_orm::entity::prelude::*;

// `Deserialize`: a write's reads come back from PostgreSQL as JSON rows (`write_reads.rs`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "carts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[sea_orm(column_type = "Text", nullable)]
    pub customer_id: Option<String>,
    /// `customer_id` while the cart is live (`active` | `checking_out`), else NULL; unique
    /// with `tenant_id`.
    #[sea_orm(column_type = "Text", nullable)]
    pub active_customer_id: Option<String>,
    /// Guest carts: SHA-256 hex of the cart token.
    #[sea_orm(column_type = "Text", nullable)]
    pub cart_token_hash: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub order_type: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub currency: String,
    pub version: i64,
    /// serde_json object of string pairs.
    #[sea_orm(column_type = "Text")]
    pub context: String,
    pub merged_into: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::cart_lines::Entity")]
    Lines,
}

impl Related<super::cart_lines::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Lines.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
