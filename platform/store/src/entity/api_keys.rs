use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `storefront` | `admin`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    /// SHA-256 hex of the key.
    #[sea_orm(column_type = "Text", unique)]
    pub key_hash: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// What the admin calls it (1–100 characters).
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// Written at most once a minute per key (`LAST_USED_RESOLUTION`).
    pub last_used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::TenantId",
        to = "super::tenants::Column::Id",
        on_delete = "Cascade"
    )]
    Tenant,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
