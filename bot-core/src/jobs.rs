//! The jobs table: every pending delivery with its idempotency key, planned
//! for a series' next occurrence only, and taken in due order by the
//! scheduler through an index (never a scan of all series).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::error::{Context, Result};
use crate::groups::{self, Group};
use crate::io::{Delivery, Effect, EventDetails, MeetingEvent, Platform};
use crate::meetings::{self, Meeting, Occurrence};
use crate::members::Member;
use crate::message::{Line, Message};
use crate::reminders::{self, lead_words};
use crate::store::Store;

/// Past this, a reminder says it is late.
const LATE_AFTER_SECS: i64 = 120;
const MAX_ATTEMPTS: i64 = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Planned {
    key: String,
    kind: &'static str,
    due: i64,
    lead: i64,
    member: Option<i64>,
}

fn reminder_key(meeting: i64, occ: &Occurrence, lead: i64, member: Option<i64>) -> String {
    let who = member.map_or_else(|| "c".to_string(), |m| format!("m{m}"));
    format!(
        "r:{meeting}:{}:{}:{lead}:{who}",
        occ.original.timestamp(),
        occ.start.timestamp()
    )
}

async fn platform_of(store: &Store, group: i64) -> Result<String> {
    sqlx::query_scalar("SELECT c.platform FROM communities c JOIN groups g ON g.community_id = c.id WHERE g.id = ?")
        .bind(group)
        .fetch_one(store.pool())
        .await
        .context("finding a group's platform")
}

/// Who gets a DM for this occurrence: those who said yes or maybe (unless
/// they turned DMs off) and the group's members who turned DMs on.
async fn dm_recipients(store: &Store, meeting: &Meeting, occ: &Occurrence) -> Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT r.member_id FROM rsvps r LEFT JOIN reminder_settings s ON s.member_id = r.member_id
           WHERE r.meeting_id = ? AND r.occurrence = ? AND r.answer IN ('yes', 'maybe') AND COALESCE(s.dm, 1) = 1
         UNION
         SELECT gm.member_id FROM group_members gm JOIN reminder_settings s ON s.member_id = gm.member_id
           WHERE gm.group_id = ? AND s.dm = 1
             AND NOT EXISTS (SELECT 1 FROM rsvps r WHERE r.meeting_id = ? AND r.occurrence = ?
                             AND r.member_id = gm.member_id AND r.answer = 'no')",
    )
    .bind(meeting.id)
    .bind(occ.original.timestamp())
    .bind(meeting.group_id)
    .bind(meeting.id)
    .bind(occ.original.timestamp())
    .fetch_all(store.pool())
    .await
    .context("listing reminder recipients")
}

/// Makes the pending jobs of a series match its next occurrence: creates the
/// missing ones, moves changed ones, removes ones no longer wanted. Leads
/// already past are skipped, except in `catch_up` (the series' roll-over ran
/// late because Hearth was down): then the latest past one per recipient is
/// kept, to be sent late.
pub async fn plan(store: &Store, meeting_id: i64, now: DateTime<Utc>, catch_up: bool) -> Result<()> {
    let Some(meeting) = meetings::by_id(store, meeting_id).await? else {
        return Ok(());
    };
    let group = groups::by_id(store, meeting.group_id).await?;
    let platform = platform_of(store, group.id).await?;
    let next = meetings::upcoming(store, &meeting, now, 1).await?.into_iter().next();
    let mut desired: Vec<Planned> = Vec::new();
    if let Some(occ) = next {
        let start = occ.start.timestamp();
        let group_leads = reminders::parse_leads(&group.reminder_leads).unwrap_or_else(|_| vec![86_400, 3600]);
        let mut recipients: Vec<(Option<i64>, Vec<i64>, reminders::Settings)> =
            vec![(None, group_leads.clone(), reminders::Settings::default())];
        for member in dm_recipients(store, &meeting, &occ).await? {
            let settings = reminders::settings(store, member).await?;
            let leads = settings.leads().unwrap_or_else(|| group_leads.clone());
            recipients.push((Some(member), leads, settings));
        }
        for (member, leads, settings) in recipients {
            let zone = match member {
                Some(m) => crate::members::by_id(store, m).await?.zone().unwrap_or(meeting.zone()),
                None => meeting.zone(),
            };
            let mut past: Option<Planned> = None;
            for lead in leads {
                let due = occ.start - Duration::seconds(lead);
                let due = if member.is_some() {
                    settings.outside_quiet(due, occ.start, zone)
                } else {
                    due
                };
                let job = Planned {
                    key: reminder_key(meeting.id, &occ, lead, member),
                    kind: "reminder",
                    due: due.timestamp(),
                    lead,
                    member,
                };
                if due > now {
                    desired.push(job);
                } else if past.as_ref().is_none_or(|p| p.due < job.due) {
                    past = Some(job);
                }
            }
            if catch_up && let Some(job) = past {
                desired.push(job);
            }
        }
        desired.push(Planned {
            key: format!("a:{}:{}:{start}", meeting.id, occ.original.timestamp()),
            kind: "advance",
            due: start,
            lead: 0,
            member: None,
        });
        save(store, &meeting, &occ, &platform, &desired).await
    } else {
        save_none(store, meeting.id).await
    }
}

async fn save_none(store: &Store, meeting: i64) -> Result<()> {
    sqlx::query("DELETE FROM jobs WHERE meeting_id = ? AND state = 'pending'")
        .bind(meeting)
        .execute(store.pool())
        .await
        .context("clearing a series' jobs")?;
    Ok(())
}

async fn save(store: &Store, meeting: &Meeting, occ: &Occurrence, platform: &str, desired: &[Planned]) -> Result<()> {
    let mut tx = store.pool().begin().await.context("starting a transaction")?;
    let pending: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, key FROM jobs WHERE meeting_id = ? AND state = 'pending'")
            .bind(meeting.id)
            .fetch_all(&mut *tx)
            .await
            .context("loading a series' jobs")?;
    let wanted: HashSet<&str> = desired.iter().map(|j| j.key.as_str()).collect();
    for (id, key) in pending {
        if !wanted.contains(key.as_str()) {
            sqlx::query("DELETE FROM jobs WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await
                .context("removing a job")?;
        }
    }
    for job in desired {
        sqlx::query(
            "INSERT INTO jobs (key, kind, due_at, platform, meeting_id, occurrence, starts_at, lead_secs, member_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at WHERE state = 'pending'",
        )
        .bind(&job.key)
        .bind(job.kind)
        .bind(job.due)
        .bind(platform)
        .bind(meeting.id)
        .bind(occ.original.timestamp())
        .bind(occ.start.timestamp())
        .bind(job.lead)
        .bind(job.member)
        .execute(&mut *tx)
        .await
        .context("saving a job")?;
    }
    tx.commit().await.context("committing jobs")
}

/// Re-plans every live series of a group (after its members or leads change).
pub async fn plan_group(store: &Store, group: i64, now: DateTime<Utc>) -> Result<()> {
    for meeting in meetings::of_group(store, group).await? {
        plan(store, meeting.id, now, false).await?;
    }
    Ok(())
}

/// Re-plans the series a member is part of (after their settings change).
pub async fn plan_member(store: &Store, member: i64, now: DateTime<Utc>) -> Result<()> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT m.id FROM meetings m WHERE m.cancelled = 0 AND (
             m.group_id IN (SELECT group_id FROM group_members WHERE member_id = ?)
             OR m.id IN (SELECT meeting_id FROM rsvps WHERE member_id = ?))",
    )
    .bind(member)
    .bind(member)
    .fetch_all(store.pool())
    .await
    .context("listing a member's series")?;
    for id in ids {
        plan(store, id, now, false).await?;
    }
    Ok(())
}

/// The earliest pending job of these platforms.
pub async fn next_due(store: &Store, platforms: &[Platform]) -> Result<Option<DateTime<Utc>>> {
    let mut next: Option<i64> = None;
    for p in platforms {
        let due: Option<i64> =
            sqlx::query_scalar("SELECT MIN(due_at) FROM jobs WHERE state = 'pending' AND platform = ?")
                .bind(p.as_str())
                .fetch_one(store.pool())
                .await
                .context("finding the next due job")?;
        next = match (next, due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(next.and_then(|s| DateTime::from_timestamp(s, 0)))
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct JobRow {
    id: i64,
    key: String,
    kind: String,
    due_at: i64,
    meeting_id: i64,
    occurrence: i64,
    starts_at: i64,
    lead_secs: i64,
    member_id: Option<i64>,
}

/// What a due job asks of the platform.
#[derive(Debug, Clone, PartialEq)]
pub enum Due {
    /// A reminder to send.
    Send(Delivery),
    /// A meeting to mirror as a native event in a community.
    Mirror { community: String, event: MeetingEvent },
}

/// A due job, ready to carry out.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub job: i64,
    pub due: Due,
}

/// Asks the platform to mirror a series' next occurrence as a native event,
/// where it has them. Rendered when due, so it always shows the latest state.
pub async fn queue_event(store: &Store, meeting: i64, now: DateTime<Utc>) -> Result<()> {
    let platform: Option<String> = sqlx::query_scalar(
        "SELECT c.platform FROM communities c JOIN groups g ON g.community_id = c.id
         JOIN meetings m ON m.group_id = g.id WHERE m.id = ?",
    )
    .bind(meeting)
    .fetch_optional(store.pool())
    .await
    .context("finding a meeting's platform")?;
    if platform.as_deref() != Some(Platform::Discord.as_str()) {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO jobs (key, kind, due_at, platform, meeting_id, occurrence, starts_at, lead_secs)
         VALUES (?, 'event', ?, ?, ?, 0, 0, 0) ON CONFLICT (key) DO NOTHING",
    )
    .bind(format!("e:{meeting}:{}", uuid::Uuid::new_v4().simple()))
    .bind(now.timestamp())
    .bind(Platform::Discord.as_str())
    .bind(meeting)
    .execute(store.pool())
    .await
    .context("queueing a native event")?;
    Ok(())
}

async fn meeting_event(store: &Store, meeting: &Meeting, group: &Group, now: DateTime<Utc>) -> Result<MeetingEvent> {
    let next = meetings::upcoming(store, meeting, now, 1).await?.into_iter().next();
    Ok(MeetingEvent {
        meeting: meeting.id,
        next: next.map(|occ| EventDetails {
            title: meeting.name(&group.name).to_string(),
            description: format!(
                "{}. RSVP and reminders with Hearth: /meeting rsvp meeting:{}. (Hearth meeting {})",
                meetings::cadence(meeting),
                meeting.id,
                meeting.id
            ),
            start: occ.start,
            end: occ.start + meeting.duration(),
            location: meeting.location.clone(),
            home_channel: group.home_channel.clone(),
        }),
    })
}

/// Takes what is due on `platform`: runs series roll-overs, drops reminders
/// whose meeting has started (logged), and renders the rest for sending.
pub async fn take_due(store: &Store, platform: Platform, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueDelivery>> {
    let rows: Vec<JobRow> = sqlx::query_as(
        "SELECT id, key, kind, due_at, meeting_id, occurrence, starts_at, lead_secs, member_id FROM jobs
         WHERE state = 'pending' AND platform = ? AND due_at <= ? ORDER BY due_at, id LIMIT ?",
    )
    .bind(platform.as_str())
    .bind(now.timestamp())
    .bind(limit)
    .fetch_all(store.pool())
    .await
    .context("taking due jobs")?;
    // When several reminders to one recipient for one occurrence are overdue
    // at once (after downtime), only the one closest to the start goes out.
    let mut closest: HashMap<(i64, i64, Option<i64>), i64> = HashMap::new();
    for row in rows.iter().filter(|r| r.kind == "reminder") {
        let lead = closest
            .entry((row.meeting_id, row.occurrence, row.member_id))
            .or_insert(row.lead_secs);
        *lead = (*lead).min(row.lead_secs);
    }
    let mut out = Vec::new();
    let mut context: HashMap<i64, (Meeting, Group, String)> = HashMap::new();
    for row in rows {
        if row.kind == "advance" {
            finish(store, row.id, "sent", now).await?;
            plan(
                store,
                row.meeting_id,
                now,
                now.timestamp() - row.due_at > LATE_AFTER_SECS,
            )
            .await?;
            queue_event(store, row.meeting_id, now).await?;
            continue;
        }
        let dropped = match row.kind.as_str() {
            "reminder" if now.timestamp() >= row.starts_at => Some("its meeting had already started"),
            "reminder" if closest.get(&(row.meeting_id, row.occurrence, row.member_id)) != Some(&row.lead_secs) => {
                Some("a later overdue reminder supersedes it")
            }
            _ => None,
        };
        if let Some(why) = dropped {
            finish(store, row.id, "dropped", now).await?;
            tracing::warn!(job = row.id, meeting = row.meeting_id, why, "reminder dropped");
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = context.entry(row.meeting_id) {
            let Some(meeting) = meetings::by_id(store, row.meeting_id).await? else {
                finish(store, row.id, "dropped", now).await?;
                continue;
            };
            let group = groups::by_id(store, meeting.group_id).await?;
            let community: String = sqlx::query_scalar(
                "SELECT c.external_id FROM communities c JOIN groups g ON g.community_id = c.id WHERE g.id = ?",
            )
            .bind(group.id)
            .fetch_one(store.pool())
            .await
            .context("finding a community")?;
            slot.insert((meeting, group, community));
        }
        let Some((meeting, group, community)) = context.get(&row.meeting_id) else {
            continue;
        };
        if row.kind == "event" {
            out.push(DueDelivery {
                job: row.id,
                due: Due::Mirror {
                    community: community.clone(),
                    event: meeting_event(store, meeting, group, now).await?,
                },
            });
            continue;
        }
        let member = match row.member_id {
            Some(id) => Some(crate::members::by_id(store, id).await?),
            None => None,
        };
        let message = reminder(store, &row, meeting, group, member.as_ref(), now).await?;
        let effect = match member {
            Some(m) => Effect::Dm {
                user: m.external_id,
                message,
                key: Some(row.key.clone()),
            },
            None => Effect::Post {
                channel: group.home_channel.clone(),
                message,
                key: Some(row.key.clone()),
            },
        };
        out.push(DueDelivery {
            job: row.id,
            due: Due::Send(Delivery {
                community: community.clone(),
                effect,
            }),
        });
    }
    Ok(out)
}

async fn reminder(
    store: &Store,
    row: &JobRow,
    meeting: &Meeting,
    group: &Group,
    member: Option<&Member>,
    now: DateTime<Utc>,
) -> Result<Message> {
    let zone = member.and_then(Member::zone).unwrap_or(meeting.zone());
    let occ = Occurrence {
        original: DateTime::from_timestamp(row.occurrence, 0).unwrap_or_default(),
        start: DateTime::from_timestamp(row.starts_at, 0).unwrap_or_default(),
    };
    let (yes, maybe) = meetings::rsvp_counts(store, meeting.id, occ.original).await?;
    let mut message = Message::titled(format!("Reminder: {}", meeting.name(&group.name)))
        .line(
            Line::text(format!("Starts in {}: ", lead_words(row.lead_secs)))
                .push(meetings::time(occ.start, zone))
                .t(format!(" ({} min).", meeting.duration_minutes)),
        )
        .line(match &meeting.location {
            Some(place) => Line::text(format!("Where: {place}")),
            None => Line::text("Where: ").push(crate::message::Span::Channel {
                id: group.home_channel.clone(),
            }),
        })
        .text(format!("So far {yes} going, {maybe} maybe."));
    if now.timestamp() - row.due_at > LATE_AFTER_SECS {
        message = message.text("(Sent late: I was offline when this was due.)");
    }
    message = message.line(
        Line::text("If you need support right now, ")
            .cmd("crisis")
            .t(" lists crisis lines."),
    );
    Ok(meetings::rsvp_buttons(message, meeting, &occ))
}

async fn finish(store: &Store, job: i64, state: &str, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE jobs SET state = ?, done_at = ? WHERE id = ?")
        .bind(state)
        .bind(now.timestamp())
        .bind(job)
        .execute(store.pool())
        .await
        .context("finishing a job")?;
    Ok(())
}

/// Records how a delivery went: sent, tried again later with back-off, or failed.
pub async fn delivered(
    store: &Store,
    job: i64,
    outcome: &std::result::Result<(), crate::DeliveryError>,
    now: DateTime<Utc>,
) -> Result<()> {
    match outcome {
        Ok(()) => finish(store, job, "sent", now).await,
        Err(crate::DeliveryError::Permanent(_)) => {
            tracing::warn!(job, "delivery failed for good");
            finish(store, job, "failed", now).await
        }
        Err(crate::DeliveryError::Retry(_)) => {
            let (attempts, starts_at): (i64, i64) = sqlx::query_as("SELECT attempts, starts_at FROM jobs WHERE id = ?")
                .bind(job)
                .fetch_one(store.pool())
                .await
                .context("loading a job")?;
            let retry_at = now.timestamp() + 30 * (1 << attempts.min(6));
            // A reminder is useless once its meeting starts; an event update (starts_at 0) has no deadline.
            if attempts + 1 >= MAX_ATTEMPTS || (starts_at > 0 && retry_at >= starts_at) {
                tracing::warn!(job, attempts, "delivery given up");
                return finish(store, job, "failed", now).await;
            }
            sqlx::query("UPDATE jobs SET attempts = attempts + 1, due_at = ? WHERE id = ?")
                .bind(retry_at)
                .bind(job)
                .execute(store.pool())
                .await
                .context("rescheduling a job")?;
            Ok(())
        }
    }
}
