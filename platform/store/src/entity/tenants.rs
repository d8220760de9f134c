use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// ISO 4217 code.
    #[sea_orm(column_type = "Text")]
    pub currency: String,
    /// `active` | `suspended`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    /// The newest of `customer_token_secrets`, kept in step with that table for nodes of
    /// the release before it, which read only this column. This release reads it only for a
    /// tenant with no row there (one such a node created during the upgrade).
    #[sea_orm(column_type = "Text")]
    pub customer_token_secret: String,
    /// serde_json of `TenantConfig`.
    #[sea_orm(column_type = "Text")]
    pub config: String,
    pub created_at: i64,
    /// Bumped by every config write; what the config's `ETag` names.
    pub config_revision: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::api_keys::Entity")]
    ApiKeys,
}

impl Related<super::api_keys::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiKeys.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
