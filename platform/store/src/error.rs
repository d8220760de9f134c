//! The one place `DbErr` becomes core's [`StoreError`].

use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};
use trolley_core::StoreError;

/// Translates a driver error:
///
/// - unique (and primary key) violations → [`StoreError::UniqueViolation`];
/// - the database could not be reached, the pool timed out, the connection broke →
///   [`StoreError::Unreachable`] (an outage);
/// - SQLite was busy/locked past `busy_timeout`, PostgreSQL refused more connections,
///   cancelled a statement on timeout or aborted a transaction on a serialization
///   failure/deadlock → [`StoreError::Unavailable`] (a busy moment: a retry may succeed);
/// - no space left (SQLite `SQLITE_FULL`, PostgreSQL `disk_full`) →
///   [`StoreError::StorageFull`];
/// - anything else → [`StoreError::Internal`].
pub(crate) fn db_err(err: DbErr) -> StoreError {
    if let Some(SqlErr::UniqueConstraintViolation(msg)) = err.sql_err() {
        return StoreError::UniqueViolation(msg);
    }
    let message = err.to_string();
    if let DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) = &err
        && is_full(e)
    {
        return StoreError::StorageFull(message);
    }
    match &err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => StoreError::Unreachable(message),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))
            if is_unreachable(e) =>
        {
            StoreError::Unreachable(message)
        }
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))
            if is_transient(e) =>
        {
            StoreError::Unavailable(message)
        }
        _ => StoreError::Internal(message),
    }
}

/// The constraint a failed statement violated, when the database names one.
pub(crate) fn violated_constraint(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                sqlx::Error::Database(db) => db.constraint().map(str::to_owned),
                _ => None,
            }
        }
        _ => None,
    }
}

/// SQLite `SQLITE_FULL` (13: the disk, or `max_page_count`), PostgreSQL `53100 disk_full`.
fn is_full(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    let code = db.code().unwrap_or_default();
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        code.parse::<i32>().is_ok_and(|c| c & 0xff == 13)
    } else {
        code == "53100"
    }
}

fn is_unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL SQLSTATE class 08: connection exception; 57P01-03: the server is
        // shutting down or starting up.
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }
        _ => false,
    }
}

fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // Extended result codes: the primary code is the low byte.
                // 5 SQLITE_BUSY (incl. BUSY_SNAPSHOT, BUSY_TIMEOUT), 6 SQLITE_LOCKED.
                let primary = db
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .map(|c| c & 0xff);
                let message = db.message().to_ascii_lowercase();
                matches!(primary, Some(5 | 6))
                    || message.contains("database is locked")
                    || message.contains("database table is locked")
                    || message.contains("busy")
            } else {
                // PostgreSQL SQLSTATE: class 08 connection exception, 53 insufficient
                // resources (too many connections), 57 operator intervention (shutdown,
                // statement timeout), 40001 serialization failure, 40P01 deadlock.
                let code = db.code().unwrap_or_default();
                code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57")
                    || code == "40001"
                    || code == "40P01"
            }
        }
        _ => false,
    }
}

/// A row that cannot be turned back into a domain value.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("corrupt row: {what}"))
}
