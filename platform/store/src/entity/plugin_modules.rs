use sea_orm::entity::prelude::*;

/// Module bytes, content addressed: one row per SHA-256 whoever uploaded it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugin_modules")]
pub struct Model {
    /// Hex SHA-256 of `wasm`.
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub sha256: String,
    #[sea_orm(column_type = "Blob")]
    pub wasm: Vec<u8>,
    pub size_bytes: i64,
    /// When the bytes were first uploaded (by anyone).
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::plugins::Entity")]
    Plugins,
}

impl Related<super::plugins::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Plugins.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
