//! Connecting, pool sizing, SQLite pragmas and migrations.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, DatabaseConnection, DbBackend};
use trolley_core::StoreError;
use trolley_migrations::{Migrator, MigratorTrait};

use crate::error::db_err;
use crate::{
    DatabaseHealth, SqlCartRepository, SqlCatalogRepository, SqlCheckoutRepository,
    SqlIdempotencyStore, SqlInventoryRepository, SqlPluginRepository, SqlRetentionRepository,
    SqlTenantRepository,
};

/// A pooled connection idle for longer than this is pinged before it is handed out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(5);

/// Pool and driver settings. [`Default`] suits a server: up to 8 SQLite connections (one
/// writer at a time anyway) or 32 PostgreSQL connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseOptions {
    /// Largest pool size; `None` picks the backend default (SQLite 8, PostgreSQL 32).
    pub max_connections: Option<u32>,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// How long a query waits for a free pooled connection (and a new connection to open)
    /// before failing with [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
    /// SQLite only: how long a writer waits for the write lock before `database is locked`.
    pub sqlite_busy_timeout: Duration,
}

impl DatabaseOptions {
    pub const SQLITE_MAX_CONNECTIONS: u32 = 8;
    pub const POSTGRES_MAX_CONNECTIONS: u32 = 32;
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_millis(5000),
        }
    }
}

/// A connection pool to SQLite or PostgreSQL. Cheap to clone (the pool is reference
/// counted); hand out repositories with [`Database::tenants`] and friends.
#[derive(Debug, Clone)]
pub struct Database {
    conn: DatabaseConnection,
}

impl Database {
    /// Connects with [`DatabaseOptions::default`].
    ///
    /// `url` is `sqlite://path/to/file.db?mode=rwc` (WAL journal, `synchronous=NORMAL`,
    /// `busy_timeout` 5 s and foreign keys are set on every connection) or
    /// `postgres://user@host:port/db`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, DatabaseOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: DatabaseOptions) -> Result<Self, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            DbBackend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DbBackend::Postgres
        } else {
            return Err(StoreError::Internal(
                "unsupported database url: expected sqlite:… or postgres://…".into(),
            ));
        };

        let mut opts = ConnectOptions::new(url.to_owned());
        opts.acquire_timeout(options.acquire_timeout)
            .connect_timeout(options.acquire_timeout)
            .min_connections(options.min_connections)
            // sqlx pings every pooled connection before handing it out by default: one
            // extra round trip per query (7.5% of a cached cart read's CPU, BENCHMARKS.md).
            // A connection in steady use has just proven itself; only one that sat idle
            // long enough for the server or a proxy to have dropped it is checked first.
            .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
            .sqlx_logging(false);

        match backend {
            DbBackend::Sqlite => {
                // An in-memory database lives in one connection: a pool of several would
                // see several databases, and recycling the connection would lose it.
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let max = if in_memory {
                    1
                } else {
                    options
                        .max_connections
                        .unwrap_or(DatabaseOptions::SQLITE_MAX_CONNECTIONS)
                };
                opts.max_connections(max);
                if in_memory {
                    opts.min_connections(1)
                        .idle_timeout(None::<Duration>)
                        .max_lifetime(None::<Duration>);
                }
                let busy = options.sqlite_busy_timeout;
                opts.map_sqlx_sqlite_opts(move |o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(busy)
                        .foreign_keys(true)
                });
            }
            _ => {
                opts.max_connections(
                    options
                        .max_connections
                        .unwrap_or(DatabaseOptions::POSTGRES_MAX_CONNECTIONS),
                );
                opts.set_application_name("trolley");
            }
        }

        let conn = sea_orm::Database::connect(opts).await.map_err(db_err)?;
        if backend == DbBackend::Sqlite {
            let file = conn.get_sqlite_connection_pool().connect_options();
            crate::write_turns::register(file.get_filename(), options.sqlite_busy_timeout);
        }
        Ok(Self { conn })
    }

    /// Wraps a connection made elsewhere (its pragmas and pool are the caller's business).
    pub fn from_connection(conn: DatabaseConnection) -> Self {
        Self { conn }
    }

    /// Applies the pending migrations of `trolley-migrations`.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.conn, None).await.map_err(db_err)
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(self) -> Result<(), StoreError> {
        self.conn.close().await.map_err(db_err)
    }

    pub fn tenants(&self) -> SqlTenantRepository {
        SqlTenantRepository::new(self.conn.clone())
    }

    pub fn catalog(&self) -> SqlCatalogRepository {
        SqlCatalogRepository::new(self.conn.clone())
    }

    pub fn carts(&self) -> SqlCartRepository {
        SqlCartRepository::new(self.conn.clone())
    }

    pub fn idempotency(&self) -> SqlIdempotencyStore {
        SqlIdempotencyStore::new(self.conn.clone())
    }

    pub fn plugins(&self) -> SqlPluginRepository {
        SqlPluginRepository::new(self.conn.clone())
    }

    pub fn inventory(&self) -> SqlInventoryRepository {
        SqlInventoryRepository::new(self.conn.clone())
    }

    pub fn checkouts(&self) -> SqlCheckoutRepository {
        SqlCheckoutRepository::new(self.conn.clone())
    }

    pub fn webhooks(&self) -> crate::SqlWebhookRepository {
        crate::SqlWebhookRepository::new(self.conn.clone())
    }

    pub fn outbox(&self) -> crate::SqlOutboxRelay {
        crate::SqlOutboxRelay::new(self.conn.clone())
    }

    pub fn retention(&self) -> SqlRetentionRepository {
        SqlRetentionRepository::new(self.conn.clone())
    }

    pub fn health(&self) -> DatabaseHealth {
        DatabaseHealth::new(self.conn.clone())
    }
}
