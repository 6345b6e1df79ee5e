//! TRANSITIONAL (issue 27), removed once every module speaks through the
//! store layer: the two bridges between the meetings' and reminders'
//! queries, already on [`Db`], and the modules not moved yet (the
//! reminders reach it through `meetings::tell`).
//!
//! * Their callers still hold a `sqlx` SQLite transaction or pooled
//!   connection (from `jobs::write`, `pool().acquire()`): these convert into
//!   a [`Db`] as the `&mut SqliteConnection` under them does.
//! * Their callees in other modules (`groups`, `members`, `jobs`) still take
//!   a `&mut SqliteConnection`: [`sqlite`] gives the one under a [`Db`].

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection};

use crate::error::{Error, Result};
use crate::store::Db;

impl<'a> From<&'a mut PoolConnection<Sqlite>> for Db<'a> {
    fn from(conn: &'a mut PoolConnection<Sqlite>) -> Self {
        Db::Sqlite(conn)
    }
}

/// The SQLite connection under `db`, for a callee not moved yet; an error
/// on PostgreSQL or on a pool (no single connection to lend).
pub(crate) fn sqlite<'a>(db: &'a mut Db<'_>) -> Result<&'a mut SqliteConnection> {
    match db {
        Db::Sqlite(conn) => Ok(conn),
        _ => Err(Error::Internal {
            context: "calling a module not moved to the store layer yet",
            source: "transitional: this code speaks only to one SQLite connection".into(),
        }),
    }
}
