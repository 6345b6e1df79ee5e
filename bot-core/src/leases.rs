//! Work that must have one owner at a time among the Hearth processes that
//! share a database: the Matrix account's sync (one device syncs in one
//! place), the retention sweep. Its owner holds a lease, a row naming it
//! and until when; it renews the lease every [`RENEW_EVERY`] seconds, well
//! before the [`TERM`] runs out. When its holder dies, the lease runs out
//! and the next process that asks takes it: fail-over within `TERM +
//! RENEW_EVERY` seconds of the death.
//!
//! One statement takes or renews a lease, so two processes asking at once
//! never both hold it.

use chrono::{DateTime, Utc};

use crate::error::{Context, Result};
use crate::store::{Db, query_as};

/// How long a lease lasts without renewal, in seconds.
pub const TERM: i64 = 30;
/// How often a holder renews its leases (and a process that holds none
/// asks again), in seconds.
pub const RENEW_EVERY: i64 = 10;

/// The lease on the Matrix account's sync.
pub const MATRIX_SYNC: &str = "matrix-sync";
/// The lease on the retention sweep.
pub const RETENTION: &str = "retention";

/// Takes the lease `name` for `holder` for [`TERM`] seconds from `now`,
/// or renews it if `holder` has it already. `false` when another process
/// holds it and its term has not run out.
pub async fn hold(db: impl Into<Db<'_>>, name: &str, holder: &str, now: DateTime<Utc>) -> Result<bool> {
    let taken: Option<(String,)> = query_as(
        "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
           WHERE leases.holder = excluded.holder OR leases.until <= ?4
         RETURNING holder",
    )
    .bind(name)
    .bind(holder)
    .bind(now.timestamp() + TERM)
    .bind(now.timestamp())
    .fetch_optional(db)
    .await
    .context("taking a lease")?;
    Ok(taken.is_some_and(|(h,)| h == holder))
}

/// Lets go of the lease `name` if `holder` has it (a clean shutdown), so
/// another process takes it at once rather than when it runs out.
pub async fn let_go(db: impl Into<Db<'_>>, name: &str, holder: &str) -> Result<()> {
    crate::store::query("DELETE FROM leases WHERE name = ? AND holder = ?")
        .bind(name)
        .bind(holder)
        .execute(db)
        .await
        .context("letting go of a lease")?;
    Ok(())
}

/// Who holds the lease `name` at `now`, and until when.
pub async fn holder(db: impl Into<Db<'_>>, name: &str, now: DateTime<Utc>) -> Result<Option<(String, i64)>> {
    let row: Option<(String, i64)> = query_as("SELECT holder, until FROM leases WHERE name = ? AND until > ?")
        .bind(name)
        .bind(now.timestamp())
        .fetch_optional(db)
        .await
        .context("reading a lease")?;
    Ok(row)
}

/// Every lease held at `now`: (name, holder, until), by name.
pub async fn all(db: impl Into<Db<'_>>, now: DateTime<Utc>) -> Result<Vec<(String, String, i64)>> {
    query_as("SELECT name, holder, until FROM leases WHERE until > ? ORDER BY name")
        .bind(now.timestamp())
        .fetch_all(db)
        .await
        .context("reading leases")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use chrono::Duration;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_another_takes_it_once_it_runs_out() {
        let store = Store::for_test().await.unwrap();
        let now = at("2026-12-02T10:00:00Z");

        let a = hold(&store, MATRIX_SYNC, "host-a:1", now).await.unwrap();
        let b = hold(&store, MATRIX_SYNC, "host-b:2", now + Duration::seconds(5))
            .await
            .unwrap();
        let a_renews = hold(&store, MATRIX_SYNC, "host-a:1", now + Duration::seconds(10))
            .await
            .unwrap();
        // a dies after its renewal at +10: its term runs to +40.
        let b_early = hold(&store, MATRIX_SYNC, "host-b:2", now + Duration::seconds(39))
            .await
            .unwrap();
        let b_late = hold(&store, MATRIX_SYNC, "host-b:2", now + Duration::seconds(40))
            .await
            .unwrap();
        let a_back = hold(&store, MATRIX_SYNC, "host-a:1", now + Duration::seconds(41))
            .await
            .unwrap();
        let who = holder(&store, MATRIX_SYNC, now + Duration::seconds(41)).await.unwrap();

        assert!(a, "the first asker takes a free lease");
        assert!(!b, "nobody takes a lease held and in term");
        assert!(a_renews, "its holder renews it");
        assert!(!b_early, "not a second before it runs out");
        assert!(b_late, "taken once it has run out");
        assert!(!a_back, "the old holder does not take it back");
        assert_eq!(
            who,
            Some(("host-b:2".to_string(), (now + Duration::seconds(70)).timestamp()))
        );
    }

    #[tokio::test]
    async fn a_lease_let_go_is_free_at_once_and_leases_are_independent() {
        let store = Store::for_test().await.unwrap();
        let now = at("2026-12-02T10:00:00Z");

        assert!(hold(&store, RETENTION, "a", now).await.unwrap());
        assert!(hold(&store, MATRIX_SYNC, "b", now).await.unwrap());
        let_go(&store, RETENTION, "b").await.unwrap(); // not b's: nothing happens
        let kept = holder(&store, RETENTION, now).await.unwrap();
        let_go(&store, RETENTION, "a").await.unwrap();
        let taken = hold(&store, RETENTION, "b", now).await.unwrap();
        let held = all(&store, now).await.unwrap();

        assert_eq!(kept.map(|(h, _)| h), Some("a".to_string()));
        assert!(taken);
        assert_eq!(
            held.into_iter().map(|(n, h, _)| (n, h)).collect::<Vec<_>>(),
            vec![
                (MATRIX_SYNC.to_string(), "b".to_string()),
                (RETENTION.to_string(), "b".to_string())
            ]
        );
    }
}
