//! SQLite's writers take turns in this process, first come first served.
//!
//! SQLite has one write lock per database file. A writer that finds it taken sleeps in
//! SQLite's busy handler (1, 2, 5, 10 … 100 ms between tries) and is not woken when the
//! lock frees. Under load the lock then sits free while writers sleep, and a writer that
//! keeps losing waits longest: add line at 64 connections left a third of the CPU idle
//! with a p99 near a second, and fewer connections made it slower (BENCHMARKS.md,
//! "Session 13: SQLite writers take turns").
//!
//! So every write on a file-backed SQLite database first takes a [`WriteTurn`] from one
//! queue per file in this process (a fair tokio semaphore of one permit), and holds it
//! until its transaction or statement is over: [`begin_write`] for a transaction,
//! [`write_turn`] before a single statement. A waiting writer holds no pooled
//! connection and is woken the moment the turn is passed on. The busy handler is left to
//! settle only writers of other processes (a second node on the same file, the CLI).
//!
//! The queue is per file, not per pool: SQLite's lock is the file's, so two pools on one
//! file in one process share a queue. A pool of a single connection (an in-memory
//! database) already lets one writer at a time through its own queue and takes no turn.
//! PostgreSQL writers never queue here.

use std::collections::HashMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DatabaseTransaction, DbBackend,
    DbErr, ExecResult, QueryResult, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use trolley_core::StoreError;

use crate::error::db_err;

/// One file's queue, and how long a writer may wait in it.
#[derive(Clone)]
struct Queue {
    turn: Arc<Semaphore>,
    wait: Duration,
}

static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Queue>>> = LazyLock::new(Default::default);

/// The right to write to one SQLite file, held until dropped. Declare it before the
/// transaction it guards, so the transaction is dropped (rolled back) first.
#[must_use = "the turn is given up when dropped"]
pub(crate) struct WriteTurn {
    _permit: Option<OwnedSemaphorePermit>,
}

/// A write transaction with its turn: the turn is given up after the transaction ends
/// (committed, rolled back, or dropped and so rolled back).
pub(crate) struct WriteTxn {
    // Fields drop in order: the transaction before the turn.
    txn: DatabaseTransaction,
    _turn: WriteTurn,
}

/// Begins a write transaction once it is this writer's turn. On SQLite it begins
/// `IMMEDIATE`, taking the write lock at `BEGIN` so `busy_timeout` applies there, instead
/// of failing with `SQLITE_BUSY` when a deferred transaction tries to upgrade from reader
/// to writer. PostgreSQL ignores the mode.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, StoreError> {
    let turn = write_turn(db).await?;
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    let txn = db.begin_with_options(options).await.map_err(db_err)?;
    Ok(WriteTxn { txn, _turn: turn })
}

impl WriteTxn {
    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub(crate) async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// Queues this process's writers of `file`. A writer waits at most `wait` for its turn
/// (the busy timeout it would otherwise have spent in SQLite's busy handler). Connecting
/// to a file again keeps its queue, so writers already waiting stay in line.
pub(crate) fn register(file: &Path, wait: Duration) {
    let mut queues = QUEUES.lock().unwrap_or_else(PoisonError::into_inner);
    queues
        .entry(file.to_path_buf())
        .and_modify(|q| q.wait = wait)
        .or_insert_with(|| Queue {
            turn: Arc::new(Semaphore::new(1)),
            wait,
        });
}

/// Waits for the turn to write through `db`: at once on PostgreSQL, an in-memory SQLite
/// database or a file no [`register`] queued; otherwise in order of arrival.
///
/// Fails with [`StoreError::Unavailable`] after the file's wait, as a writer stuck in
/// the busy handler would have.
pub(crate) async fn write_turn(db: &DatabaseConnection) -> Result<WriteTurn, StoreError> {
    let Some(queue) = queue_of(db) else {
        return Ok(WriteTurn { _permit: None });
    };
    match tokio::time::timeout(queue.wait, queue.turn.acquire_owned()).await {
        Ok(Ok(permit)) => Ok(WriteTurn {
            _permit: Some(permit),
        }),
        // The semaphore is never closed; were it, writing without a turn is still safe
        // (SQLite's own lock decides).
        Ok(Err(_closed)) => Ok(WriteTurn { _permit: None }),
        Err(_elapsed) => Err(StoreError::Unavailable(format!(
            "database is locked: waited {} ms behind other writers of this SQLite file",
            queue.wait.as_millis()
        ))),
    }
}

fn queue_of(db: &DatabaseConnection) -> Option<Queue> {
    let DatabaseConnectionType::SqlxSqlitePoolConnection(_) = &db.inner else {
        return None;
    };
    let pool = db.get_sqlite_connection_pool();
    if pool.options().get_max_connections() <= 1 {
        return None;
    }
    let options = pool.connect_options();
    let queues = QUEUES.lock().unwrap_or_else(PoisonError::into_inner);
    queues.get(options.get_filename()).cloned()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use sea_orm::ConnectionTrait;
    use trolley_core::StoreError;

    use super::begin_write;
    use crate::{Database, DatabaseOptions};

    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "trolley-write-turns-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn url(&self) -> String {
            format!("sqlite://{}?mode=rwc", self.0.join("turns.db").display())
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    async fn connect(url: &str, wait: Duration) -> Database {
        let options = DatabaseOptions {
            sqlite_busy_timeout: wait,
            ..DatabaseOptions::default()
        };
        let db = Database::connect_with(url, options).await.unwrap();
        db.connection()
            .execute_unprepared("CREATE TABLE IF NOT EXISTS writes (who INTEGER)")
            .await
            .unwrap();
        db
    }

    // The default test runtime has one thread: a spawned task runs up to its first wait
    // when the test yields, so the writers below queue in the order they were spawned.
    #[tokio::test]
    async fn writers_of_a_file_queue_in_order_and_hold_no_connection_while_waiting() {
        let file = TempFile::new();
        let db = connect(&file.url(), Duration::from_secs(30)).await;
        let first = begin_write(db.connection()).await.unwrap();

        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut writers = Vec::new();
        for who in 0..12 {
            let conn = db.connection().clone();
            let order = order.clone();
            writers.push(tokio::spawn(async move {
                let txn = begin_write(&conn).await?;
                txn.execute_unprepared(&format!("INSERT INTO writes VALUES ({who})"))
                    .await
                    .map_err(crate::error::db_err)?;
                order.lock().unwrap().push(who);
                txn.commit().await.map_err(crate::error::db_err)
            }));
            tokio::task::yield_now().await;
        }
        // Twelve writers wait; none of them took a connection to do it (the pool holds 8:
        // waiting in SQLite's busy handler, eight would sit on one each).
        let pool = db.connection().get_sqlite_connection_pool();
        assert!(
            pool.size() <= 2,
            "{} connections open while writers wait",
            pool.size()
        );
        assert!(order.lock().unwrap().is_empty());

        first.commit().await.unwrap();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..12).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_writer_waits_no_longer_than_the_busy_timeout_even_from_a_second_pool() {
        let file = TempFile::new();
        let one = connect(&file.url(), Duration::from_millis(50)).await;
        let two = connect(&file.url(), Duration::from_millis(50)).await;
        let first = begin_write(one.connection()).await.unwrap();

        // The second pool's writer queues behind the first pool's: the file's lock is one.
        match begin_write(two.connection()).await {
            Err(StoreError::Unavailable(message)) => {
                assert!(message.contains("behind other writers"), "{message}");
            }
            Err(other) => panic!("expected Unavailable, got {other:?}"),
            Ok(_) => panic!("a second writer got in while the first held the lock"),
        }

        first.rollback().await.unwrap();
        let next = begin_write(two.connection()).await.unwrap();
        next.execute_unprepared("INSERT INTO writes VALUES (1)")
            .await
            .unwrap();
        next.commit().await.unwrap();
    }

    #[tokio::test]
    async fn an_in_memory_database_takes_no_turn() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        assert!(super::queue_of(db.connection()).is_none());
    }
}
