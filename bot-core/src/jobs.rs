//! The jobs engine: every pending delivery, durable, with an idempotency key.
//!
//! * Features ask for jobs ([`put`], [`cancel`]); meetings' reminders are
//!   planned by `reminders::plan` for every occurrence within the longest
//!   possible lead, not only the next one, and still rendered here.
//! * Writers take `BEGIN IMMEDIATE` and read what they decide on inside it.
//! * A sender claims a job with a short lease before sending it ([`take_due`]),
//!   so a second process never sends what the first holds; a crashed sender's
//!   claim runs out soon (at once on restart, when Hearth is the database's
//!   only process).
//! * One bad job is set aside, failed with its reason; the others go out.
//!
//! The due index is on `run_at` (pending only), so an idle tick reads one
//! index entry whatever the table's size.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use crate::error::{Context, Error, Result};
use crate::groups::Group;
use crate::io::{Delivery, Effect, MeetingEvent, Platform};
use crate::meetings::{self, Change, Meeting, Occurrence};
use crate::members::Member;
use crate::message::{Line, Message};
use crate::reminders;
use crate::reminders::plan::{Scope, plan_in};
use crate::store::Store;

/// Past this, a reminder says it is late.
const LATE_AFTER_SECS: i64 = 120;
const MAX_ATTEMPTS: i64 = 6;
/// How long a claim holds a job. Long enough for a send under rate limits,
/// short enough that a crashed sender's jobs go out again soon.
pub const LEASE_SECS: i64 = 60;

// ---------------------------------------------------------------------------
// The API features build on.

/// A durable job a feature asks for. The same key twice is one job.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub key: &'a str,
    pub kind: &'static str,
    pub due: DateTime<Utc>,
    pub platform: Platform,
    /// The id of the owning feature's row (a circle, a check-in schedule).
    pub subject: i64,
    /// The member it is addressed to, if any.
    pub member: Option<i64>,
}

/// Inserts the job, or moves it while it is still pending, unclaimed and
/// untried. A job already sent stays sent; one waiting to retry keeps its
/// back-off.
pub async fn put<'e>(db: impl sqlx::SqliteExecutor<'e>, job: &NewJob<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO jobs (key, kind, due_at, run_at, platform, subject, member_id) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at, run_at = excluded.run_at
           WHERE state = 'pending' AND lease_owner IS NULL AND attempts = 0",
    )
    .bind(job.key)
    .bind(job.kind)
    .bind(job.due.timestamp())
    .bind(job.due.timestamp())
    .bind(job.platform.as_str())
    .bind(job.subject)
    .bind(job.member)
    .execute(db)
    .await
    .context("saving a job")?;
    Ok(())
}

/// Removes the pending, unclaimed jobs of one subject of a kind.
pub async fn cancel<'e>(db: impl sqlx::SqliteExecutor<'e>, kind: &str, subject: i64) -> Result<()> {
    sqlx::query("DELETE FROM jobs WHERE kind = ? AND subject = ? AND state = 'pending' AND lease_owner IS NULL")
        .bind(kind)
        .bind(subject)
        .execute(db)
        .await
        .context("cancelling jobs")?;
    Ok(())
}

/// Removes the pending jobs of one subject of a kind that are still only
/// planned: not claimed and never tried. One waiting to retry is owed
/// already and stays; its feature decides, when it falls due again,
/// whether it still has something to say.
pub async fn cancel_planned<'e>(db: impl sqlx::SqliteExecutor<'e>, kind: &str, subject: i64) -> Result<()> {
    sqlx::query(
        "DELETE FROM jobs WHERE kind = ? AND subject = ? AND state = 'pending' AND lease_owner IS NULL AND attempts = 0",
    )
    .bind(kind)
    .bind(subject)
    .execute(db)
    .await
    .context("cancelling planned jobs")?;
    Ok(())
}

/// Whether a job with this key has finished (sent, dropped or failed): its
/// key is spent, and a plan must pick the next free one.
pub async fn spent<'e>(db: impl sqlx::SqliteExecutor<'e>, key: &str) -> Result<bool> {
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM jobs WHERE key = ?")
        .bind(key)
        .fetch_optional(db)
        .await
        .context("reading a job's state")?;
    Ok(state.is_some_and(|s| s != "pending"))
}

/// A claimed job, as the engine hands it to the feature that owns its kind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub subject: i64,
    pub member_id: Option<i64>,
    pub due_at: i64,
    pub attempts: i64,
    meeting_id: Option<i64>,
    occurrence: i64,
    starts_at: i64,
    lead_secs: i64,
    payload: Option<String>,
}

/// A write transaction that takes the write lock at once, so that what it
/// reads stays true until it commits (no SQLITE_BUSY_SNAPSHOT half-way).
pub async fn write(store: &Store) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    store
        .pool()
        .begin_with("BEGIN IMMEDIATE")
        .await
        .context("starting a write")
}

// ---------------------------------------------------------------------------
// Taking what is due.

/// The earliest time the engine must look again, over these platforms.
pub async fn next_due(store: &Store, platforms: &[Platform]) -> Result<Option<DateTime<Utc>>> {
    let mut next: Option<i64> = None;
    for p in platforms {
        let due: Option<i64> =
            sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE state = 'pending' AND platform = ?")
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

/// What a due job asks of the platform.
#[derive(Debug, Clone, PartialEq)]
pub enum Due {
    /// A message to send.
    Send(Delivery),
    /// A meeting to mirror as a native event in a community.
    Mirror { community: String, event: MeetingEvent },
}

/// Due jobs, claimed and ready to carry out: one job, or several reminders
/// to one place that fell due at one instant, carried out together as one
/// digest message (see [`take_due`]). Its outcome is each job's.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub jobs: Vec<i64>,
    pub due: Due,
}

/// Frees the claims of a sender that is gone. Only for a process that knows
/// it is the database's only one (it holds the single-instance lock): their
/// jobs go out again at once, with the same keys, so the platform's
/// de-duplication catches the ones that had been sent.
pub async fn release_claims(store: &Store, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, run_at = MIN(run_at, ?)
         WHERE state = 'pending' AND lease_owner IS NOT NULL",
    )
    .bind(now.timestamp())
    .execute(store.pool())
    .await
    .context("releasing old claims")?;
    Ok(done.rows_affected())
}

/// Claims up to `limit` due jobs of `platform` for `owner`, in due order.
/// One statement, so two processes never claim the same job.
async fn claim(store: &Store, platform: Platform, owner: &str, now: DateTime<Utc>, limit: i64) -> Result<Vec<Job>> {
    // A read first: an idle tick takes no write lock and writes nothing.
    let any: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM jobs WHERE state = 'pending' AND platform = ? AND run_at <= ? LIMIT 1")
            .bind(platform.as_str())
            .bind(now.timestamp())
            .fetch_optional(store.pool())
            .await
            .context("looking for due jobs")?;
    if any.is_none() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<Job> = sqlx::query_as(
        "UPDATE jobs SET lease_owner = ?, lease_until = ?, run_at = ?, attempts = attempts + 1
         WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND platform = ? AND run_at <= ?
                      ORDER BY run_at, id LIMIT ?)
         RETURNING id, key, kind, subject, member_id, due_at, attempts, meeting_id, occurrence, starts_at,
                   lead_secs, payload",
    )
    .bind(owner)
    .bind(now.timestamp() + LEASE_SECS)
    .bind(now.timestamp() + LEASE_SECS)
    .bind(platform.as_str())
    .bind(now.timestamp())
    .bind(limit)
    .fetch_all(store.pool())
    .await
    .context("claiming due jobs")?;
    rows.sort_by_key(|r| (r.due_at, r.id));
    Ok(rows)
}

/// Renews `owner`'s claims on `ids`, still being sent, for another lease.
pub async fn extend_claims(store: &Store, owner: &str, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
    let until = now.timestamp() + LEASE_SECS;
    let ids = serde_json::to_string(ids).context("listing claims")?;
    sqlx::query(
        "UPDATE jobs SET lease_until = ?, run_at = MAX(run_at, ?)
         WHERE lease_owner = ? AND state = 'pending' AND id IN (SELECT value FROM json_each(?))",
    )
    .bind(until)
    .bind(until)
    .bind(owner)
    .bind(ids)
    .execute(store.pool())
    .await
    .context("renewing claims")?;
    Ok(())
}

/// What the engine knows of a series while rendering its jobs: loaded once
/// per series per batch, not once per job.
struct SeriesCtx {
    meeting: Meeting,
    group: Group,
    community: String,
}

/// Claims what is due on `platform` and renders it for sending. Roll-overs
/// are carried out here, each in one transaction with the plan they make.
/// Reminders whose meeting has started are dropped, with the reason logged.
/// A job that cannot be rendered fails on its own, with its reason; the
/// others go on.
pub async fn take_due(
    store: &Store,
    platform: Platform,
    owner: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueDelivery>> {
    let rows = claim(store, platform, owner, now, limit).await?;
    // When several reminders to one recipient for one occurrence are overdue
    // at once (after downtime), only the one closest to the start goes out:
    // the batch knows which, over the whole table.
    let batch = Batch::load(store, &rows, now).await?;
    let mut rendered = Vec::new();
    for row in rows {
        match render(store, &row, now, &batch).await {
            Ok(Some((due, part))) => rendered.push((row.id, due, part)),
            Ok(None) => {}
            Err(e) => {
                // Set aside: tried again later with back-off (the database may
                // have been busy), failed with its reason after the last try.
                let why = e.to_string();
                tracing::warn!(job = row.id, kind = %row.kind, error = %why, "job could not be prepared");
                delivered(store, row.id, &Err(crate::DeliveryError::Retry(why)), now).await?;
            }
        }
    }
    Ok(gather(rendered))
}

/// A digest's delivery key: `d:` and its reminders' keys joined by `+`. A
/// retry sends the same digest under the same key.
fn digest_key<'a>(keys: impl Iterator<Item = &'a str>) -> String {
    format!("d:{}", keys.collect::<Vec<_>>().join("+"))
}

/// The keys of the deliveries a delivery key stands for: itself, or each
/// reminder's in a digest's key (the inverse of `digest_key`).
pub fn carried_keys(key: &str) -> Vec<&str> {
    match key.strip_prefix("d:") {
        Some(joined) => joined.split('+').collect(),
        None => vec![key],
    }
}

/// At most this many reminders go in one digest: each gets a numbered
/// button, and a card stays short enough to read.
const DIGEST_MAX: usize = 10;
/// The digest's buttons, one per meeting, in order.
const KEYCAPS: [&str; DIGEST_MAX] = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟"];

/// Reminders gathered for one digest: each job, its own delivery, its entry.
type Gathered = Vec<(i64, Due, Part)>;

/// A reminder as one entry of a digest.
struct Part {
    /// Where it goes and the instant it fell due: what a digest's entries share.
    together: (String, i64),
    key: String,
    name: String,
    entry: Line,
    going: String,
    late: bool,
}

/// Reminders to one place (a room, a member's DMs) that fell due at the same
/// instant go out together, as one message per [`DIGEST_MAX`]: a room with
/// several meetings starting at once gets one card that lists them instead
/// of a burst of cards, and every one of them arrives with the first. A
/// digest takes the place of its first reminder in due order; everything
/// else goes out as it is.
fn gather(rendered: Vec<(i64, Due, Option<Part>)>) -> Vec<DueDelivery> {
    let mut sizes: HashMap<(String, i64), usize> = HashMap::new();
    for (_, _, part) in &rendered {
        if let Some(p) = part {
            *sizes.entry(p.together.clone()).or_default() += 1;
        }
    }
    let mut groups: HashMap<(String, i64), Gathered> = HashMap::new();
    // Each delivery, or the digest group whose first reminder stood there.
    let mut order: Vec<std::result::Result<DueDelivery, (String, i64)>> = Vec::new();
    for (job, due, part) in rendered {
        match part {
            Some(p) if sizes.get(&p.together).copied().unwrap_or(0) > 1 => {
                let members = groups.entry(p.together.clone()).or_default();
                if members.is_empty() {
                    order.push(Err(p.together.clone()));
                }
                members.push((job, due, p));
            }
            _ => order.push(Ok(DueDelivery { jobs: vec![job], due })),
        }
    }
    let mut out = Vec::new();
    for slot in order {
        match slot {
            Ok(delivery) => out.push(delivery),
            Err(together) => {
                let mut members = groups.remove(&together).unwrap_or_default();
                while !members.is_empty() {
                    let rest = members.split_off(members.len().min(DIGEST_MAX));
                    out.extend(digest(std::mem::replace(&mut members, rest)));
                }
            }
        }
    }
    out
}

/// One digest of reminders that share a place and a due instant, sent where
/// the first of them would have gone.
fn digest(members: Gathered) -> Option<DueDelivery> {
    let jobs: Vec<i64> = members.iter().map(|(job, ..)| *job).collect();
    let (_, first, _) = members.first()?;
    let Due::Send(Delivery { community, effect }) = first else {
        return None;
    };
    let community = community.clone();
    let key = digest_key(members.iter().map(|(_, _, p)| p.key.as_str()));
    let mut message = Message::titled(format!("Reminders: {} meetings", members.len()));
    for (i, (_, _, part)) in members.iter().enumerate() {
        let mut line = Line::new().b(format!("{}. {}", i + 1, part.name));
        line.0.extend(part.entry.0.iter().cloned());
        message = message.line(line);
    }
    if members.iter().any(|(_, _, p)| p.late) {
        message = message.text("(Sent late: I was offline when these were due.)");
    }
    message = message
        .line(
            Line::text("To answer maybe or not this time: ")
                .cmd("meeting rsvp")
                .t("."),
        )
        .line(
            Line::text("If you need support right now, ")
                .cmd("crisis")
                .t(" lists crisis lines."),
        );
    for ((_, _, part), emoji) in members.iter().zip(KEYCAPS) {
        message = message.button(format!("Going: {}", part.name), emoji, part.going.clone());
    }
    let effect = match effect {
        Effect::Dm { user, .. } => Effect::Dm {
            user: user.clone(),
            message,
            key: Some(key),
        },
        Effect::Post { channel, .. } => Effect::Post {
            channel: channel.clone(),
            message,
            key: Some(key),
        },
        _ => return None,
    };
    Some(DueDelivery {
        jobs,
        due: Due::Send(Delivery { community, effect }),
    })
}

/// What a batch of claimed jobs needs to be put into words, read in a few
/// queries for the whole batch rather than several per job.
struct Batch {
    series: HashMap<i64, SeriesCtx>,
    members: HashMap<i64, Member>,
    counts: HashMap<(i64, i64), (i64, i64)>,
    /// (group, member) for the batch's recipients: who may see a link.
    memberships: HashSet<(i64, i64)>,
    /// Cancelled (None) and moved (Some) occurrences among the batch's.
    exceptions: HashMap<(i64, i64), Option<i64>>,
    /// For each (series, occurrence, recipient) of a reminder in the batch,
    /// the shortest lead of its pending reminders already due, in the whole
    /// table: only that one goes out after downtime.
    closest: HashMap<(i64, i64, Option<i64>), i64>,
}

impl Batch {
    async fn load(store: &Store, rows: &[Job], now: DateTime<Utc>) -> Result<Self> {
        let mut meeting_ids: Vec<i64> = rows
            .iter()
            .filter(|r| matches!(r.kind.as_str(), "reminder" | "event" | "notice" | "news"))
            .filter_map(|r| r.meeting_id)
            .collect();
        meeting_ids.sort_unstable();
        meeting_ids.dedup();
        let meetings = meetings::by_ids(store, &meeting_ids).await?;
        let mut group_ids: Vec<i64> = meetings.iter().map(|m| m.group_id).collect();
        group_ids.sort_unstable();
        group_ids.dedup();
        let groups: HashMap<i64, Group> = crate::groups::by_ids(store, &group_ids)
            .await?
            .into_iter()
            .map(|g| (g.id, g))
            .collect();
        let list = serde_json::to_string(&group_ids).context("listing communities")?;
        let communities: HashMap<i64, String> = sqlx::query_as(
            "SELECT g.id, c.external_id FROM groups g JOIN communities c ON c.id = g.community_id
             WHERE g.id IN (SELECT value FROM json_each(?))",
        )
        .bind(list)
        .fetch_all(store.pool())
        .await
        .context("finding communities")?
        .into_iter()
        .collect();
        let series = meetings
            .into_iter()
            .filter_map(|meeting| {
                let group = groups.get(&meeting.group_id)?.clone();
                let community = communities.get(&meeting.group_id)?.clone();
                Some((
                    meeting.id,
                    SeriesCtx {
                        meeting,
                        group,
                        community,
                    },
                ))
            })
            .collect();
        let member_ids: Vec<i64> = rows.iter().filter_map(|r| r.member_id).collect();
        let members = crate::members::by_ids(store, &member_ids)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let occurrences: Vec<(i64, i64)> = rows
            .iter()
            .filter(|r| r.kind == "reminder")
            .filter_map(|r| Some((r.meeting_id?, r.occurrence)))
            .collect();
        let counts = meetings::rsvp_counts_of(store, &occurrences).await?;
        let member_list = serde_json::to_string(&member_ids).context("listing recipients")?;
        let memberships: HashSet<(i64, i64)> = sqlx::query_as(
            "SELECT group_id, member_id FROM group_members WHERE member_id IN (SELECT value FROM json_each(?1))
             UNION SELECT group_id, member_id FROM group_facilitators WHERE member_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(member_list)
        .fetch_all(store.pool())
        .await
        .context("reading recipients' groups")?
        .into_iter()
        .collect();
        let exceptions = meetings::exceptions_of(store, &occurrences).await?;
        let recipients: Vec<(i64, i64, Option<i64>)> = rows
            .iter()
            .filter(|r| r.kind == "reminder")
            .filter_map(|r| Some((r.meeting_id?, r.occurrence, r.member_id)))
            .collect();
        let list = serde_json::to_string(&recipients).context("listing reminders' recipients")?;
        let closest: Vec<(i64, i64, Option<i64>, i64)> = sqlx::query_as(
            "SELECT j.meeting_id, j.occurrence, j.member_id, MIN(j.lead_secs)
             FROM json_each(?) t JOIN jobs j
               ON j.meeting_id = json_extract(t.value, '$[0]') AND j.occurrence = json_extract(t.value, '$[1]')
              AND j.member_id IS json_extract(t.value, '$[2]')
             WHERE j.state = 'pending' AND j.kind = 'reminder' AND j.due_at <= ?
             GROUP BY j.meeting_id, j.occurrence, j.member_id",
        )
        .bind(list)
        .bind(now.timestamp())
        .fetch_all(store.pool())
        .await
        .context("finding the closest due reminders")?;
        Ok(Self {
            series,
            members,
            counts,
            memberships,
            exceptions,
            closest: closest
                .into_iter()
                .map(|(m, o, who, lead)| ((m, o, who), lead))
                .collect(),
        })
    }

    /// Why a claimed reminder is not to go out, if it is not: its meeting
    /// started, a closer reminder is due too, or its series or occurrence
    /// changed since it was planned (a second line of defence: the change
    /// re-plans in its own transaction).
    fn reminder_void(&self, row: &Job, now: DateTime<Utc>) -> Option<&'static str> {
        let meeting = row.meeting_id.unwrap_or_default();
        if now.timestamp() >= row.starts_at {
            return Some("its meeting had already started");
        }
        if self
            .closest
            .get(&(meeting, row.occurrence, row.member_id))
            .is_some_and(|lead| *lead < row.lead_secs)
        {
            return Some("a later overdue reminder supersedes it");
        }
        if self.series.get(&meeting).is_some_and(|s| s.meeting.cancelled) {
            return Some("its series was cancelled");
        }
        match self.exceptions.get(&(meeting, row.occurrence)) {
            Some(None) => Some("its occurrence was cancelled"),
            Some(Some(to)) if *to != row.starts_at => Some("its occurrence moved"),
            None if row.starts_at != row.occurrence => Some("its occurrence moved back"),
            _ => None,
        }
    }
}

/// One claimed job: `Some` to send (a reminder with its entry for a
/// digest), `None` when it was carried out or dropped here.
async fn render(store: &Store, row: &Job, now: DateTime<Utc>, batch: &Batch) -> Result<Option<(Due, Option<Part>)>> {
    match row.kind.as_str() {
        "advance" => {
            let meeting = row.meeting_id.unwrap_or_default();
            let mut tx = write(store).await?;
            let late = now.timestamp() - row.due_at > LATE_AFTER_SECS;
            plan_in(&mut tx, meeting, now, Scope::All, late).await?;
            finish_in(&mut tx, row.id, "sent", None, now).await?;
            tx.commit().await.context("committing a roll-over")?;
            return Ok(None);
        }
        "reminder" => {
            if let Some(why) = batch.reminder_void(row, now) {
                drop_job(store, row, why, now).await?;
                return Ok(None);
            }
        }
        "event" | "notice" | "news" => {}
        _ => return Ok(render_feature(store, row, now).await?.map(|due| (due, None))),
    }
    let meeting_id = row.meeting_id.unwrap_or_default();
    let members = &batch.members;
    let Some(ctx) = batch.series.get(&meeting_id) else {
        drop_job(store, row, "its series no longer exists", now).await?;
        return Ok(None);
    };
    let member = match row.member_id {
        Some(id) => Some(members.get(&id).ok_or_else(|| Error::Internal {
            context: "rendering a job",
            source: "its recipient is gone".into(),
        })?),
        None => None,
    };
    let mut part = None;
    let message = match row.kind.as_str() {
        "event" => {
            return Ok(Some((
                Due::Mirror {
                    community: ctx.community.clone(),
                    event: meetings::tell::native_event(store, &ctx.meeting, &ctx.group, now).await?,
                },
                None,
            )));
        }
        "notice" => {
            let change: Change =
                serde_json::from_str(row.payload.as_deref().unwrap_or_default()).context("reading a notice")?;
            let zone = member.and_then(Member::zone).unwrap_or(ctx.meeting.zone());
            meetings::notice(&change, &ctx.meeting, &ctx.group, zone)
        }
        // No recipient: posted in the group's home channel, below.
        "news" => {
            let news: meetings::News =
                serde_json::from_str(row.payload.as_deref().unwrap_or_default()).context("reading a group's news")?;
            meetings::news_message(&news, &ctx.meeting, &ctx.group)
        }
        _ => {
            let counts = batch
                .counts
                .get(&(meeting_id, row.occurrence))
                .copied()
                .unwrap_or_default();
            let place = match member {
                Some(m) => format!("m:{}", m.id),
                None => format!("c:{}:{}", ctx.community, ctx.group.home_channel),
            };
            // A closed group's link only to its members and facilitators,
            // by DM (groups::may_show_place).
            let to_members = member.is_some_and(|m| batch.memberships.contains(&(ctx.group.id, m.id)));
            let (message, p) = reminder(row, ctx, member, counts, now, (place, to_members));
            part = Some(p);
            message
        }
    };
    let effect = match member {
        Some(m) => Effect::Dm {
            user: m.external_id.clone(),
            message,
            key: Some(row.key.clone()),
        },
        None => Effect::Post {
            channel: ctx.group.home_channel.clone(),
            message,
            key: Some(row.key.clone()),
        },
    };
    Ok(Some((
        Due::Send(Delivery {
            community: ctx.community.clone(),
            effect,
        }),
        part,
    )))
}

/// Jobs of the features built on the engine: the feature that owns a kind
/// renders its jobs. `None`: nothing to send, the job is done.
async fn render_feature(store: &Store, job: &Job, now: DateTime<Utc>) -> Result<Option<Due>> {
    let due = match job.kind.as_str() {
        // feature kinds
        "circle" => crate::circle::due(store, job, now).await?,
        crate::circle::PRESENCE_KIND => crate::circle::presence_due(store, job, now).await?,
        crate::checkins::KIND | crate::checkins::KIND_DM => crate::checkins::due(store, job, now).await?,
        _ => {
            // Nothing will ever send it: failed at once, with the reason.
            let why = "no feature owns jobs of this kind";
            tracing::warn!(job = job.id, kind = %job.kind, why, "job failed");
            finish(store, job.id, "failed", Some(why), now).await?;
            return Ok(None);
        }
    };
    // Nothing to send: the job is done, not left claimed to come round again.
    if due.is_none() {
        finish(store, job.id, "dropped", Some("its feature had nothing to send"), now).await?;
    }
    Ok(due)
}

async fn drop_job(store: &Store, row: &Job, why: &str, now: DateTime<Utc>) -> Result<()> {
    tracing::warn!(job = row.id, kind = %row.kind, why, "job dropped");
    finish(store, row.id, "dropped", Some(why), now).await
}

/// A reminder card ([`reminders::card`]), and the same reminder as an
/// entry of a digest.
fn reminder(
    row: &Job,
    ctx: &SeriesCtx,
    member: Option<&Member>,
    (yes, maybe): (i64, i64),
    now: DateTime<Utc>,
    (place_key, to_members): (String, bool),
) -> (Message, Part) {
    let SeriesCtx { meeting, group, .. } = ctx;
    let zone = member.and_then(Member::zone).unwrap_or(meeting.zone());
    let occ = Occurrence {
        original: crate::when::at(row.occurrence),
        start: crate::when::at(row.starts_at),
    };
    let name = meeting.name(&group.name).to_string();
    let late = now.timestamp() - row.due_at > LATE_AFTER_SECS;
    let (message, entry) = reminders::card::card(meeting, group, &occ, zone, (yes, maybe), now, late, to_members);
    let part = Part {
        together: (place_key, row.due_at),
        key: row.key.clone(),
        name,
        entry,
        going: meetings::rsvp_command(meeting, &occ, "yes"),
        late,
    };
    (message, part)
}

async fn finish(store: &Store, job: i64, state: &str, why: Option<&str>, now: DateTime<Utc>) -> Result<()> {
    let mut conn = store.pool().acquire().await.context("finishing a job")?;
    finish_in(&mut conn, job, state, why, now).await
}

async fn finish_in(
    conn: &mut SqliteConnection,
    job: i64,
    state: &str,
    why: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET state = ?, done_at = ?, error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
    )
    .bind(state)
    .bind(now.timestamp())
    .bind(why)
    .bind(job)
    .execute(&mut *conn)
    .await
    .context("finishing a job")?;
    Ok(())
}

/// Records how a delivery went: sent, tried again later with back-off, or
/// failed for good (kept, with its reason, and logged with its id).
pub async fn delivered(
    store: &Store,
    job: i64,
    outcome: &std::result::Result<(), crate::DeliveryError>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut conn = store.pool().acquire().await.context("recording a delivery")?;
    delivered_in(&mut conn, job, outcome, now).await
}

/// Records the outcomes of a round of deliveries in one transaction: one
/// commit per round, not one per message.
pub async fn delivered_all(
    store: &Store,
    outcomes: &[(i64, std::result::Result<(), crate::DeliveryError>)],
    now: DateTime<Utc>,
) -> Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let mut tx = write(store).await?;
    for (job, outcome) in outcomes {
        delivered_in(&mut tx, *job, outcome, now).await?;
    }
    tx.commit().await.context("recording deliveries")
}

async fn delivered_in(
    conn: &mut SqliteConnection,
    job: i64,
    outcome: &std::result::Result<(), crate::DeliveryError>,
    now: DateTime<Utc>,
) -> Result<()> {
    match outcome {
        Ok(()) => finish_in(conn, job, "sent", None, now).await,
        Err(crate::DeliveryError::Permanent(why)) => {
            tracing::warn!(job, error = %why, "delivery failed for good");
            finish_in(conn, job, "failed", Some(why), now).await
        }
        Err(crate::DeliveryError::Retry(why)) => {
            let row: Option<(String, i64, i64, Option<i64>)> =
                sqlx::query_as("SELECT kind, attempts, starts_at, give_up_at FROM jobs WHERE id = ?")
                    .bind(job)
                    .fetch_optional(&mut *conn)
                    .await
                    .context("loading a job")?;
            // Gone while it was being sent (erased with its member, or its
            // series): nothing is left to retry, and the round's other
            // outcomes are recorded all the same.
            let Some((kind, attempts, starts_at, give_up_at)) = row else {
                tracing::info!(job, "a job was gone when its outcome came");
                return Ok(());
            };
            let retry_at = now.timestamp() + 30 * (1 << (attempts - 1).clamp(0, 6));
            // A reminder is useless once its meeting starts; a native event
            // stands for its series until the next occurrence (its own
            // deadline, however many tries that takes); the rest have none.
            let deadline = give_up_at.or((kind != "event" && starts_at > 0).then_some(starts_at));
            let capped = !(kind == "event" && give_up_at.is_some());
            if (capped && attempts >= MAX_ATTEMPTS) || deadline.is_some_and(|d| retry_at >= d) {
                tracing::warn!(job, attempts, error = %why, "delivery given up");
                return finish_in(conn, job, "failed", Some(why), now).await;
            }
            sqlx::query("UPDATE jobs SET run_at = ?, lease_owner = NULL, lease_until = NULL, error = ? WHERE id = ?")
                .bind(retry_at)
                .bind(why)
                .bind(job)
                .execute(&mut *conn)
                .await
                .context("rescheduling a job")?;
            Ok(())
        }
    }
}

/// Retention: deletes finished jobs (sent, dropped or failed) that finished
/// before `before`, in batches so a long backlog never holds the write lock
/// for long. Returns how many went.
pub async fn sweep_done(store: &Store, before: DateTime<Utc>) -> Result<u64> {
    let mut gone = 0;
    loop {
        let deleted = sqlx::query(
            "DELETE FROM jobs WHERE id IN
               (SELECT id FROM jobs WHERE state <> 'pending' AND done_at < ? LIMIT 1000)",
        )
        .bind(before.timestamp())
        .execute(store.pool())
        .await
        .context("sweeping finished jobs")?
        .rows_affected();
        gone += deleted;
        if deleted < 1000 {
            return Ok(gone);
        }
    }
}
