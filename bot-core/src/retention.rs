//! Keeping nothing longer than needed: finished deliveries and RSVPs of
//! meetings long past are deleted after the retention period, and a member
//! who leaves a group takes their RSVPs to its future meetings with them.
//! The times of meetings run from a script go the same period after they end.
//!
//! RSVPs belong to `meetings`; these two deletes live here so that retention
//! reads as one policy in one place.

use chrono::{DateTime, Duration, Utc};

use crate::error::{Context, Result};
use crate::jobs;
use crate::store::{Store, query};

/// The default retention period.
pub const DEFAULT_DAYS: u32 = 30;

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub jobs: u64,
    pub rsvps: u64,
    /// Retired groups removed with everything that was theirs.
    pub groups: u64,
    /// Places in service roles whose term ended (the roles stay, open).
    pub roles: u64,
    /// Meetings run from a script, ended long ago: their steps' times.
    pub runs: u64,
}

/// Past RSVPs: of occurrences held before `?1`, where they now happen.
const SWEEP_RSVPS_SQLITE: &str = "DELETE FROM rsvps WHERE (meeting_id, occurrence, member_id) IN (
             SELECT r.meeting_id, r.occurrence, r.member_id FROM rsvps r
             LEFT JOIN meeting_exceptions e ON e.meeting_id = r.meeting_id AND e.occurrence = r.occurrence
             WHERE r.occurrence < ?1 AND (e.moved_to IS NULL OR e.moved_to < ?1)
             UNION ALL
             SELECT r.meeting_id, r.occurrence, r.member_id FROM meeting_exceptions e
             CROSS JOIN rsvps r ON r.meeting_id = e.meeting_id AND r.occurrence = e.occurrence
             WHERE e.moved_to < ?1 AND e.occurrence >= ?1)";

/// Deletes what is older than `keep` at `now`. An RSVP goes by when its
/// occurrence happens, moved or not: a meeting postponed past its original
/// date keeps its answers until it has been held. (Moved occurrences are
/// few: the second half reads them first, then their RSVPs by key.)
pub async fn sweep(store: &Store, keep: Duration, now: DateTime<Utc>) -> Result<Swept> {
    let before = now - keep;
    let jobs = jobs::sweep_done(store, before).await?;
    let rsvps = past_rsvps(store, before.timestamp()).await?;
    // A retired group's history goes with it, the retention period after:
    // its series, their RSVPs and jobs, its members and prompts.
    let groups = query("DELETE FROM groups WHERE retired_at < ?")
        .bind(before.timestamp())
        .execute(store)
        .await
        .context("sweeping retired groups")?
        .rows_affected();
    let roles = crate::roles::sweep_ended(store, now).await?;
    // A meeting's record is its steps and their times; they go too.
    let runs = crate::script::sweep(store, before.timestamp()).await?;
    Ok(Swept {
        jobs,
        rsvps,
        groups,
        roles,
        runs,
    })
}

/// Deletes the RSVPs of occurrences held before `before` (Unix seconds),
/// where they now happen.
pub(crate) async fn past_rsvps(store: &Store, before: i64) -> Result<u64> {
    // SQLite's CROSS JOIN fixes the join order (exceptions first);
    // PostgreSQL has no CROSS JOIN … ON and its planner finds that order.
    Ok(query(SWEEP_RSVPS_SQLITE)
        .on_postgres(SWEEP_RSVPS_SQLITE.replace("CROSS JOIN", "JOIN"))
        .bind(before)
        .execute(store)
        .await
        .context("sweeping past RSVPs")?
        .rows_affected())
}

/// A member left `group`: their answers to its meetings still to come (where
/// they now happen, moved or not), and their places in those meetings'
/// waiting lists, go, in the caller's write transaction. Returns the
/// occurrences still happening where they were going, as (meeting, original
/// start, start): a place freed at each, for the first in line (a cancelled
/// one has no place to give).
pub(crate) async fn left_group(
    db: impl Into<crate::store::Db<'_>>,
    group: i64,
    member: i64,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, i64, i64)>> {
    let mut db = db.into();
    let freed = crate::meetings::places_held(&mut db, member, Some(group), now).await?;
    for table in ["rsvps", "rsvp_waitlist"] {
        // The table's name is one of the two above, not input.
        query(format!(
            "DELETE FROM {table} WHERE (meeting_id, occurrence, member_id) IN (
                 SELECT r.meeting_id, r.occurrence, r.member_id FROM {table} r
                 JOIN meetings m ON m.id = r.meeting_id
                 LEFT JOIN meeting_exceptions e ON e.meeting_id = r.meeting_id AND e.occurrence = r.occurrence
                 WHERE r.member_id = ? AND m.group_id = ? AND COALESCE(e.moved_to, r.occurrence) >= ?)"
        ))
        .bind(member)
        .bind(group)
        .bind(now.timestamp())
        .execute(&mut db)
        .await
        .context("dropping a leaver's RSVPs")?;
    }
    Ok(freed)
}
