//! The store: SQLite (one file in WAL mode, the default) or PostgreSQL (a
//! server several Hearth processes share), created and migrated on first
//! open.
//!
//! Queries are written once, with `?` placeholders, through [`sql`]: the
//! same text runs on both, and where the dialects differ a query gives
//! PostgreSQL its own. They are run at run time rather than through the
//! compile-time-checked macros: the macros need a database or committed
//! `.sqlx` data at build time, and CI would have to build sqlx-cli to
//! refresh it. Every query is instead exercised by the tests of the module
//! that owns it, and the core's suite runs on both databases.

mod copy;
mod sql;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use copy::{Counts, copy};
pub use sql::{
    Backend, Conn, Db, Done, Query, QueryAs, QueryScalar, Row, Tx, Value, numbered, query, query_as, query_scalar,
};

use crate::error::{Context, Result};

/// The key of the advisory lock a PostgreSQL write transaction holds, so
/// that writes are one at a time as on SQLite (see [`Store::write`]).
const WRITE_LOCK: i64 = 0x4865_6172_7468;

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

impl<'a> From<&'a Store> for Db<'a> {
    fn from(store: &'a Store) -> Self {
        match &store.pool {
            Pool::Sqlite(p) => Db::SqlitePool(p),
            Pool::Postgres(p) => Db::PostgresPool(p),
        }
    }
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
        Self::migrated(Pool::Sqlite(pool)).await
    }

    /// Connects to a PostgreSQL database (`postgres://…`; a password given
    /// apart from the URL goes in `password`) and applies migrations.
    pub async fn open_postgres(url: &str, password: Option<&str>, max_connections: u32) -> Result<Self> {
        let pool = Self::postgres_pool(url, password, max_connections).await?;
        Self::migrated(Pool::Postgres(pool)).await
    }

    async fn postgres_pool(url: &str, password: Option<&str>, max_connections: u32) -> Result<PgPool> {
        let mut options = PgConnectOptions::from_str(url).context("reading the PostgreSQL URL")?;
        if let Some(password) = password {
            options = options.password(password);
        }
        PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .context("connecting to PostgreSQL")
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
        Self::migrated(Pool::Sqlite(pool)).await
    }

    /// A fresh, empty, migrated store for a test: in memory on SQLite, or,
    /// when `HEARTH_TEST_POSTGRES` names a PostgreSQL server
    /// (`postgres://user@host:port`), a new database of its own there, so
    /// the same tests run on both.
    pub async fn for_test() -> Result<Self> {
        match std::env::var("HEARTH_TEST_POSTGRES") {
            Ok(server) if !server.is_empty() => Self::fresh_postgres(&server).await,
            _ => Self::in_memory().await,
        }
    }

    /// A new database on this PostgreSQL server, copied from a template
    /// migrated once per set of migrations (so each test pays for a copy,
    /// not for the migrations).
    pub async fn fresh_postgres(server: &str) -> Result<Self> {
        let url = Self::fresh_postgres_database(server).await?;
        Self::open_postgres(&url, None, 4).await
    }

    /// [`Store::fresh_postgres`]'s database, by its URL, for a test that
    /// opens it from several processes (or pools).
    pub async fn fresh_postgres_database(server: &str) -> Result<String> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for m in sqlx::migrate!("./migrations-postgres").iter() {
            m.checksum.hash(&mut hasher);
        }
        let template = format!("hearth_template_{:016x}", hasher.finish());
        let admin = Self::postgres_pool(&format!("{server}/postgres"), None, 1).await?;
        let mut conn = admin.acquire().await.context("connecting to PostgreSQL")?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(WRITE_LOCK)
            .execute(&mut *conn)
            .await
            .context("waiting for the test template")?;
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(&template)
            .fetch_optional(&mut *conn)
            .await
            .context("looking for the test template")?;
        if exists.is_none() {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {template}")))
                .execute(&mut *conn)
                .await
                .context("creating the test template")?;
            let pool = Self::postgres_pool(&format!("{server}/{template}"), None, 1).await?;
            sqlx::migrate!("./migrations-postgres")
                .run(&pool)
                .await
                .context("migrating the test template")?;
            pool.close().await;
        }
        // Each test's database is named with its birth, and those born more
        // than ten minutes ago are dropped here (one still in use refuses,
        // and stays), so a test server's disk holds a few minutes' worth.
        let stale: Vec<String> =
            sqlx::query_scalar("SELECT CAST(datname AS TEXT) FROM pg_database WHERE datname LIKE 'hearth\\_test\\_%'")
                .fetch_all(&mut *conn)
                .await
                .context("listing old test databases")?;
        let born_before = chrono::Utc::now().timestamp() - 600;
        for old in stale {
            let born = old.split('_').nth(2).and_then(|t| t.parse::<i64>().ok());
            if born.is_some_and(|b| b < born_before) {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {old}")))
                    .execute(&mut *conn)
                    .await;
            }
        }
        let name = format!(
            "hearth_test_{}_{}",
            chrono::Utc::now().timestamp(),
            uuid::Uuid::new_v4().simple()
        );
        let created = sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {template} STRATEGY = FILE_COPY"
        )))
        .execute(&mut *conn)
        .await
        .context("creating a test database");
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(WRITE_LOCK)
            .execute(&mut *conn)
            .await
            .context("letting go of the test template")?;
        created?;
        drop(conn);
        admin.close().await;
        Ok(format!("{server}/{name}"))
    }

    async fn migrated(pool: Pool) -> Result<Self> {
        match &pool {
            Pool::Sqlite(p) => sqlx::migrate!("./migrations").run(p).await,
            Pool::Postgres(p) => sqlx::migrate!("./migrations-postgres").run(p).await,
        }
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
        Ok(Self {
            pool: Pool::Sqlite(pool),
        })
    }

    /// Connects to a PostgreSQL database without migrating it (the
    /// read-only counterpart of [`Store::open_postgres`]).
    pub async fn connect_postgres(url: &str, password: Option<&str>) -> Result<Self> {
        let pool = Self::postgres_pool(url, password, 2).await?;
        Ok(Self {
            pool: Pool::Postgres(pool),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Where the database stands against this build's migrations.
    pub async fn schema(&self) -> Result<Schema> {
        let applied: std::result::Result<Vec<(i64, bool)>, _> =
            query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
                .fetch_all(self)
                .await;
        let Ok(applied) = applied else {
            return Ok(Schema::NotHearth);
        };
        let known = Self::known_migrations(self.backend());
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

    /// The versions of the migrations this build applies to a database of
    /// this kind, in order (`hearth check` compares them with what a
    /// database has applied). PostgreSQL's begin at 0015, the schema SQLite
    /// had reached when PostgreSQL came: there is no older PostgreSQL store
    /// to upgrade.
    pub fn known_migrations(backend: Backend) -> Vec<i64> {
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations").iter().map(|m| m.version).collect(),
            Backend::Postgres => sqlx::migrate!("./migrations-postgres")
                .iter()
                .map(|m| m.version)
                .collect(),
        }
    }

    /// A transaction that reads (and may write) as of its first statement.
    pub async fn begin(&self) -> std::result::Result<Tx, sqlx::Error> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// A write transaction that takes the write lock at once, so that what
    /// it reads stays true until it commits: `BEGIN IMMEDIATE` on SQLite (no
    /// SQLITE_BUSY_SNAPSHOT half-way), and on PostgreSQL a transaction that
    /// first takes one advisory lock, so writers are one at a time there
    /// too and each reads what the one before it committed. Claims of due
    /// jobs do not take it: they lock only the rows they take.
    pub async fn write(&self) -> std::result::Result<Tx, sqlx::Error> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                Tx::Postgres(tx)
            }
        })
    }

    /// One connection from the pool, for several statements in a row.
    pub async fn acquire(&self) -> std::result::Result<Conn, sqlx::Error> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Conn::Sqlite(p.acquire().await?),
            Pool::Postgres(p) => Conn::Postgres(p.acquire().await?),
        })
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
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
        let mode: String = query_scalar("PRAGMA journal_mode").fetch_one(&store).await.unwrap();
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
