use sea_orm::entity::prelude::*;

/// One activation of a plugin for a tenant's order type, current or past.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_type_activations")]
pub struct Model {
    /// UUID v7: ids of one tenant and order type sort by creation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub order_type: String,
    pub plugin_id: Uuid,
    /// serde_json: the tenant's configuration.
    #[sea_orm(column_type = "Text")]
    pub config: String,
    /// `active` | `superseded` | `rolled_back`.
    #[sea_orm(column_type = "Text")]
    pub state: String,
    /// `order_type` while `active`, else NULL; unique with `tenant_id`.
    #[sea_orm(column_type = "Text", nullable)]
    pub active_order_type: Option<String>,
    pub activated_at: i64,
    pub retired_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::plugins::Entity",
        from = "Column::PluginId",
        to = "super::plugins::Column::Id"
    )]
    Plugin,
}

impl Related<super::plugins::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Plugin.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
