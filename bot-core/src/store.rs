//! The SQLite store: one file in WAL mode, created and migrated on first open.
//!
//! Queries are written with `sqlx::query`/`query_as` at run time rather than
//! the compile-time-checked macros: the macros need a database or committed
//! `.sqlx` data at build time, and CI would have to build sqlx-cli to refresh
//! it. Every query is instead exercised by the tests of the module that owns it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{Context, Result};

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // A local file's connection cannot drop out from under the pool, so
        // it is not pinged before each use: a ping is a round trip to the
        // connection's worker thread, as long as the query it precedes.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .context("opening the database")?;
        Self::migrated(pool).await
    }

    /// A fresh private database in memory, for tests.
    pub async fn in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .context("memory database options")?
            .foreign_keys(true);
        // One connection that never closes: each in-memory connection is its own database.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .context("opening the memory database")?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<Self> {
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .context("applying migrations")?;
        Ok(Self { pool })
    }

    /// Opens an existing database for reading only: it is never created,
    /// migrated or written, so `hearth export` and `hearth check` can read
    /// beside a running bot, whatever its version. [`Store::schema`] says
    /// whether this build can read it.
    pub async fn open_read_only(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .context("opening the database read-only")?;
        Ok(Self { pool })
    }

    /// Where the database stands against this build's migrations.
    pub async fn schema(&self) -> Result<Schema> {
        let applied: std::result::Result<Vec<(i64, bool)>, _> =
            sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&self.pool)
                .await;
        let Ok(applied) = applied else {
            return Ok(Schema::NotHearth);
        };
        let known = Self::known_migrations();
        let unfinished: Vec<i64> = applied.iter().filter(|(_, ok)| !ok).map(|(v, _)| *v).collect();
        let unknown: Vec<i64> = applied.iter().map(|(v, _)| *v).filter(|v| !known.contains(v)).collect();
        let missing: Vec<i64> = known
            .iter()
            .copied()
            .filter(|v| !applied.iter().any(|(a, _)| a == v))
            .collect();
        Ok(if !unfinished.is_empty() {
            Schema::Unfinished(unfinished)
        } else if !unknown.is_empty() {
            Schema::Newer(unknown)
        } else if !missing.is_empty() {
            Schema::Older(missing)
        } else {
            Schema::Current
        })
    }

    /// The versions of the migrations this build applies, in order
    /// (`hearth check` compares them with what a database has applied).
    pub fn known_migrations() -> Vec<i64> {
        sqlx::migrate!("./migrations").iter().map(|m| m.version).collect()
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A database's migrations against this build's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    /// Exactly this build's.
    Current,
    /// Written by an older Hearth: these migrations are still to apply.
    Older(Vec<i64>),
    /// Written by a newer Hearth: these migrations are unknown here.
    Newer(Vec<i64>),
    /// A migration began and did not finish.
    Unfinished(Vec<i64>),
    /// No migrations table: not a Hearth database.
    NotHearth,
}

impl Schema {
    /// Why this build cannot read the database as it is, in words that
    /// say what to do; `None` when it can.
    pub fn refusal(&self) -> Option<String> {
        let list = |v: &[i64]| v.iter().map(|n| format!("{n:04}")).collect::<Vec<_>>().join(", ");
        match self {
            Schema::Current => None,
            Schema::Older(missing) => Some(format!(
                "the database is older than this Hearth (migrations {} not applied yet): start this Hearth once to upgrade it, or use the version that wrote it; nothing was changed",
                list(missing)
            )),
            Schema::Newer(unknown) => Some(format!(
                "the database was written by a newer Hearth (migrations {} are unknown to this one): use that version or a later one; nothing was changed",
                list(unknown)
            )),
            Schema::Unfinished(v) => Some(format!(
                "migration {} did not finish: restore the last backup and start Hearth again; nothing was changed",
                list(v)
            )),
            Schema::NotHearth => Some("this is not a Hearth database (it has no migrations table)".into()),
        }
    }
}

/// The single-instance guard of a database file: an exclusive lock on
/// `FILE.lock` beside it, held for the process's life and let go by the
/// kernel when the process dies, however it dies.
#[derive(Debug)]
pub struct InstanceLock {
    _file: std::fs::File,
}

impl InstanceLock {
    /// Takes the lock, or says plainly that another Hearth holds it.
    pub fn take(db: &Path) -> std::result::Result<Self, String> {
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        let path = std::path::PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(format!(
                "another Hearth is already running on {} (it holds {}). Stop it first, or, if two \
                 processes on this file are meant to be (a console beside a running bot), set \
                 `shared = true` under [storage] (or pass --shared to the console).",
                db.display(),
                path.display()
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_file_is_created_in_wal_mode_and_reopens() {
        let dir = std::env::temp_dir().join(format!("hearth-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hearth.db");

        let store = Store::open(&path).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap();
        store.close().await;
        let reopened = Store::open(&path).await;

        assert_eq!(mode, "wal");
        assert!(reopened.is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_second_instance_on_one_file_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hearth.db");

        let first = InstanceLock::take(&db).unwrap();
        let second = InstanceLock::take(&db);
        drop(first);
        let third = InstanceLock::take(&db);

        assert!(second.unwrap_err().contains("another Hearth is already running"));
        assert!(third.is_ok());
    }
}
