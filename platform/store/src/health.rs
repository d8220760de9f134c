//! Readiness of the database.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use trolley_core::ports::HealthCheck;

/// Runs `SELECT 1` on a pooled connection.
#[derive(Debug, Clone)]
pub struct DatabaseHealth {
    db: DatabaseConnection,
}

impl DatabaseHealth {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl HealthCheck for DatabaseHealth {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> Result<(), String> {
        let backend = self.db.get_database_backend();
        self.db
            .query_one_raw(Statement::from_string(backend, "SELECT 1"))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
