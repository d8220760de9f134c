use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Unique: one order per checkout.
    pub checkout_id: Uuid,
    pub cart_id: Uuid,
    /// serde_json of the `Order`.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub created_at: i64,
    /// SHA-256 of the guest cart token that placed it (`None` for a customer's order,
    /// whose body names the customer): who may read the order once its cart is gone.
    #[sea_orm(column_type = "Text", nullable)]
    pub cart_token_hash: Option<String>,
    /// The body's `customer_id`, as a column so the admin's order list can filter on it.
    #[sea_orm(column_type = "Text", nullable)]
    pub customer_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
