use sea_orm::entity::prelude::*;

/// A module as uploaded by one tenant; unique on (`tenant_id`, `sha256`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub sha256: String,
    #[sea_orm(column_type = "Text")]
    pub order_type: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub version: String,
    /// serde_json: the JSON Schema of the tenant configuration.
    #[sea_orm(column_type = "Text")]
    pub config_schema: String,
    pub size_bytes: i64,
    pub created_at: i64,
    /// The contract version; null for modules uploaded before it was recorded.
    pub contract_version: Option<String>,
    /// serde_json list of the module's exports; null like `contract_version`.
    pub exports: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::plugin_modules::Entity",
        from = "Column::Sha256",
        to = "super::plugin_modules::Column::Sha256"
    )]
    Module,
    #[sea_orm(has_many = "super::order_type_activations::Entity")]
    Activations,
}

impl Related<super::plugin_modules::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Module.def()
    }
}

impl Related<super::order_type_activations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Activations.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
