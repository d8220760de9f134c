//! [`ConsoleSessionRepository`]: console sign-in sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use trolley_core::StoreError;
use trolley_core::ports::{ConsolePrincipal, ConsoleSession, ConsoleSessionRepository};

use crate::convert::{from_millis, to_millis};
use crate::entity::console_sessions;
use crate::error::db_err;
use crate::write_turns::write_turn;

#[derive(Debug, Clone)]
pub struct SqlConsoleSessionRepository {
    db: DatabaseConnection,
}

impl SqlConsoleSessionRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn session_of(row: console_sessions::Model) -> Result<ConsoleSession, StoreError> {
    Ok(ConsoleSession {
        principal: ConsolePrincipal::parse(&row.principal).ok_or_else(|| {
            StoreError::Internal(format!(
                "console_sessions.principal holds {:?}",
                row.principal
            ))
        })?,
        created_at: from_millis(row.created_at, "console_sessions.created_at")?,
        expires_at: from_millis(row.expires_at, "console_sessions.expires_at")?,
        token_hash: row.token_hash,
        credential_hash: row.credential_hash,
        csrf_token: row.csrf_token,
    })
}

#[async_trait]
impl ConsoleSessionRepository for SqlConsoleSessionRepository {
    #[tracing::instrument(name = "db.console_sessions.insert", level = "debug", skip_all)]
    async fn insert(&self, session: &ConsoleSession) -> Result<(), StoreError> {
        let _turn = write_turn(&self.db).await?;
        // Sessions nobody signed out of would pile up: each sign-in sweeps the expired ones.
        console_sessions::Entity::delete_many()
            .filter(console_sessions::Column::ExpiresAt.lte(to_millis(session.created_at)))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        console_sessions::Entity::insert(console_sessions::ActiveModel {
            token_hash: Set(session.token_hash.clone()),
            principal: Set(session.principal.as_str().to_owned()),
            credential_hash: Set(session.credential_hash.clone()),
            csrf_token: Set(session.csrf_token.clone()),
            created_at: Set(to_millis(session.created_at)),
            expires_at: Set(to_millis(session.expires_at)),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    #[tracing::instrument(name = "db.console_sessions.find", level = "debug", skip_all)]
    async fn find(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        console_sessions::Entity::find_by_id(token_hash.to_owned())
            .filter(console_sessions::Column::ExpiresAt.gt(to_millis(now)))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(session_of)
            .transpose()
    }

    #[tracing::instrument(name = "db.console_sessions.delete", level = "debug", skip_all)]
    async fn delete(&self, token_hash: &str) -> Result<(), StoreError> {
        let _turn = write_turn(&self.db).await?;
        console_sessions::Entity::delete_by_id(token_hash.to_owned())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
