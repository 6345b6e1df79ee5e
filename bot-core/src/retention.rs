//! Keeping nothing longer than needed: finished deliveries and RSVPs of
//! meetings long past are deleted after the retention period, and a member
//! who leaves a group takes their RSVPs to its future meetings with them.
//!
//! RSVPs belong to `meetings`; these two deletes live here so that retention
//! reads as one policy in one place.

use chrono::{DateTime, Duration, Utc};

use crate::error::{Context, Result};
use crate::jobs;
use crate::store::Store;

/// The default retention period.
pub const DEFAULT_DAYS: u32 = 30;

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub jobs: u64,
    pub rsvps: u64,
}

/// Deletes what is older than `keep` at `now`.
pub async fn sweep(store: &Store, keep: Duration, now: DateTime<Utc>) -> Result<Swept> {
    let before = now - keep;
    let jobs = jobs::sweep_done(store, before).await?;
    let rsvps = sqlx::query("DELETE FROM rsvps WHERE occurrence < ?")
        .bind(before.timestamp())
        .execute(store.pool())
        .await
        .context("sweeping past RSVPs")?
        .rows_affected();
    Ok(Swept { jobs, rsvps })
}

/// A member left `group`: their answers to its meetings still to come go.
pub(crate) async fn left_group(store: &Store, group: i64, member: i64, now: DateTime<Utc>) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM rsvps WHERE member_id = ? AND occurrence >= ?
           AND meeting_id IN (SELECT id FROM meetings WHERE group_id = ?)",
    )
    .bind(member)
    .bind(now.timestamp())
    .bind(group)
    .execute(store.pool())
    .await
    .context("dropping a leaver's RSVPs")?
    .rows_affected())
}
