//! The jobs engine: every pending delivery, durable, with an idempotency key.
//!
//! It knows only jobs: the features above it register the kinds they own
//! ([`Registry`]) and render their own jobs; the engine names none of them.
//!
//! * Features ask for jobs ([`put`], [`put_with`], [`cancel`]).
//! * Writers take `BEGIN IMMEDIATE` and read what they decide on inside it.
//! * A sender claims a job with a short lease before sending it ([`take_due`]),
//!   so a second process never sends what the first holds; a crashed sender's
//!   claim runs out soon (at once on restart, when Hearth is the database's
//!   only process).
//! * One bad job is set aside, failed with its reason; the others go out.
//!
//! The due index is on `run_at` (pending only), so an idle tick reads one
//! index entry whatever the table's size.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::{Context, Result};
use crate::io::{BoxFuture, Delivery, Effect, MeetingEvent, Platform};
use crate::store::{Db, Store, query, query_as, query_scalar};

const MAX_ATTEMPTS: i64 = 6;
/// How long a claim holds a job. Long enough for a send under rate limits,
/// short enough that a crashed sender's jobs go out again soon.
pub const LEASE_SECS: i64 = 60;

// ---------------------------------------------------------------------------
// Kinds, and how a feature registers the ones it owns.

/// A kind of job, declared once by the feature that owns it: its name in
/// the `jobs` table, what the table's `subject` column holds for it, and
/// how a failed delivery of it is tried again.
#[derive(Debug)]
pub struct Kind {
    pub name: &'static str,
    pub subject: Subject,
    pub retry: Retry,
}

impl Kind {
    /// A kind whose failed deliveries are tried again [`Retry::Capped`].
    pub const fn capped(name: &'static str, subject: Subject) -> Self {
        Self {
            name,
            subject,
            retry: Retry::Capped,
        }
    }
}

/// What `jobs.subject` names for a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The id of a row of this table (`circles`, `checkin_schedules`, …).
    Row(&'static str),
    /// Nothing: the kind's rows say what they are about in other columns
    /// (a meeting's jobs in `meeting_id`).
    Unused,
}

/// How a failed delivery is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// With back-off, at most [`MAX_ATTEMPTS`] times, and never past its
    /// `give_up_at` (or, without one, its `starts_at` when it has one).
    Capped,
    /// As often as it takes until its `give_up_at`; capped without one.
    UntilGiveUp,
}

impl Rendered {
    /// A job that could not be prepared, to try again.
    pub fn retry(job: &Job, error: &crate::error::Error) -> Self {
        Rendered::Retry {
            job: job.id,
            why: error.to_string(),
        }
    }
}

/// What a kind's owner made of one of its claimed jobs.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// To send: one job's delivery, or one delivery carrying several jobs.
    Send(Box<DueDelivery>),
    /// Nothing to send after all: finished as dropped, with the reason.
    Drop { job: i64, why: &'static str },
    /// Carried out (and finished) by its owner already.
    Done,
    /// Could not be prepared: tried again with back-off, failed with its
    /// reason after the last try.
    Retry { job: i64, why: String },
}

/// A feature's `due` for one of its jobs: `Some` to send, `None` for
/// nothing to send.
pub type DueFn = for<'a> fn(&'a Store, &'a Job, DateTime<Utc>) -> BoxFuture<'a, Result<Option<Due>>>;
/// A feature's rendering of a whole claim of its jobs, given in due order.
pub type RenderFn = for<'a> fn(&'a Store, &'a [Job], DateTime<Utc>) -> BoxFuture<'a, Result<Vec<Rendered>>>;

/// A feature's handler for the kinds it owns, registered with the engine
/// where the `Hearth` is built. An error from it sets the whole claim aside
/// until its lease runs out, as a database failure would.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Renders one job at a time with the feature's `due` ([`one_by_one`]).
    Each {
        kinds: &'static [&'static Kind],
        due: DueFn,
    },
    /// Renders a whole claim at once (reminders, to gather digests).
    Claim {
        kinds: &'static [&'static Kind],
        render: RenderFn,
    },
}

impl Handler {
    fn kinds(&self) -> &'static [&'static Kind] {
        match self {
            Handler::Each { kinds, .. } | Handler::Claim { kinds, .. } => kinds,
        }
    }

    async fn render(&self, store: &Store, jobs: &[Job], now: DateTime<Utc>) -> Result<Vec<Rendered>> {
        match self {
            Handler::Each { due, .. } => one_by_one(store, jobs, now, |job| due(store, job, now)).await,
            Handler::Claim { render, .. } => render(store, jobs, now).await,
        }
    }
}

/// The kinds the engine can carry out, each with its owner's handler.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: Vec<Handler>,
    kinds: HashMap<&'static str, (usize, &'static Kind)>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.kinds.keys().copied().collect();
        names.sort_unstable();
        f.debug_struct("Registry").field("kinds", &names).finish()
    }
}

impl Registry {
    /// Registers a feature's kinds. A kind registered twice keeps its
    /// first owner.
    #[must_use]
    pub fn with(mut self, handler: Handler) -> Self {
        let at = self.handlers.len();
        for kind in handler.kinds() {
            self.kinds.entry(kind.name).or_insert((at, *kind));
        }
        self.handlers.push(handler);
        self
    }

    /// The registered kind of this name.
    pub fn kind(&self, name: &str) -> Option<&'static Kind> {
        self.kinds.get(name).map(|(_, kind)| *kind)
    }
}

/// Renders jobs one at a time with a feature's `due`: `Some` is sent,
/// `None` (nothing to send) finishes the job as dropped, an error sets the
/// job aside to try again.
pub async fn one_by_one<'a, F, Fut>(store: &Store, jobs: &'a [Job], now: DateTime<Utc>, due: F) -> Result<Vec<Rendered>>
where
    F: Fn(&'a Job) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Due>>>,
{
    let mut out = Vec::new();
    for job in jobs {
        out.push(match due(job).await {
            Ok(Some(due)) => Rendered::Send(Box::new(DueDelivery {
                jobs: vec![job.id],
                due,
            })),
            Ok(None) => {
                // Nothing to send: the job is done, not left claimed to come round again.
                finish(store, job.id, "dropped", Some("its feature had nothing to send"), now).await?;
                Rendered::Done
            }
            Err(e) => Rendered::retry(job, &e),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// The API features build on.

/// A durable job a feature asks for. The same key twice is one job.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub key: &'a str,
    pub kind: &'static str,
    pub due: DateTime<Utc>,
    pub platform: Platform,
    /// The id of the owning feature's row, as its [`Kind`]'s `subject` says.
    pub subject: i64,
    /// The member it is addressed to, if any.
    pub member: Option<i64>,
}

/// What a kind keeps in the table's other columns, beside its subject.
#[derive(Debug, Clone, Default)]
pub struct Details<'a> {
    /// The series it belongs to: deleted with it.
    pub meeting: Option<i64>,
    pub occurrence: i64,
    pub starts_at: i64,
    pub lead_secs: i64,
    /// What its owner needs to render it, as it wrote it.
    pub payload: Option<&'a str>,
    /// The latest it is still worth trying (see [`Retry`]).
    pub give_up_at: Option<i64>,
}

/// Inserts the job, or moves it while it is still pending, unclaimed and
/// untried. A job already sent stays sent; one waiting to retry keeps its
/// back-off.
pub async fn put(db: impl Into<Db<'_>>, job: &NewJob<'_>) -> Result<()> {
    put_with(db, job, &Details::default()).await
}

/// [`put`], with what the kind keeps in the table's other columns.
pub async fn put_with(db: impl Into<Db<'_>>, job: &NewJob<'_>, details: &Details<'_>) -> Result<()> {
    query(
        "INSERT INTO jobs (key, kind, due_at, run_at, platform, subject, member_id, meeting_id, occurrence, starts_at,
                           lead_secs, payload, give_up_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at, run_at = excluded.run_at
           WHERE jobs.state = 'pending' AND jobs.lease_owner IS NULL AND jobs.attempts = 0",
    )
    .bind(job.key)
    .bind(job.kind)
    .bind(job.due.timestamp())
    .bind(job.due.timestamp())
    .bind(job.platform.as_str())
    .bind(job.subject)
    .bind(job.member)
    .bind(details.meeting)
    .bind(details.occurrence)
    .bind(details.starts_at)
    .bind(details.lead_secs)
    .bind(details.payload)
    .bind(details.give_up_at)
    .execute(db)
    .await
    .context("saving a job")?;
    Ok(())
}

/// Removes the pending, unclaimed jobs of one subject of a kind.
pub async fn cancel(db: impl Into<Db<'_>>, kind: &str, subject: i64) -> Result<()> {
    query("DELETE FROM jobs WHERE kind = ? AND subject = ? AND state = 'pending' AND lease_owner IS NULL")
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
pub async fn cancel_planned(db: impl Into<Db<'_>>, kind: &str, subject: i64) -> Result<()> {
    query(
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
pub async fn spent(db: impl Into<Db<'_>>, key: &str) -> Result<bool> {
    let state: Option<String> = query_scalar("SELECT state FROM jobs WHERE key = ?")
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
    pub meeting_id: Option<i64>,
    pub occurrence: i64,
    pub starts_at: i64,
    pub lead_secs: i64,
    pub payload: Option<String>,
    /// The key of the delivery of several jobs this one last went out in
    /// (a digest's): a resend gathers the same jobs under the same key.
    pub sent_as: Option<String>,
}

// ---------------------------------------------------------------------------
// Taking what is due.

/// The earliest time the engine must look again, over these platforms.
pub async fn next_due(store: &Store, platforms: &[Platform]) -> Result<Option<DateTime<Utc>>> {
    let mut next: Option<i64> = None;
    for p in platforms {
        let due: Option<i64> = query_scalar("SELECT MIN(run_at) FROM jobs WHERE state = 'pending' AND platform = ?")
            .bind(p.as_str())
            .fetch_one(store)
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

/// Due jobs, claimed and ready to carry out: one job, or several carried
/// out together as one (a digest of reminders to one place). Its outcome is
/// each job's.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub jobs: Vec<i64>,
    pub due: Due,
}

impl DueDelivery {
    /// The key the platform de-duplicates this delivery by, where it has one.
    pub fn key(&self) -> Option<&str> {
        match &self.due {
            Due::Send(Delivery {
                effect: Effect::Post { key, .. } | Effect::Dm { key, .. },
                ..
            }) => key.as_deref(),
            Due::Send(Delivery {
                effect: Effect::Status { key, .. },
                ..
            }) => Some(key),
            _ => None,
        }
    }
}

/// Frees the claims of a sender that is gone. Only for a process that knows
/// it is the database's only one (it holds the single-instance lock): their
/// jobs go out again at once, with the same keys, so the platform's
/// de-duplication catches the ones that had been sent.
pub async fn release_claims(store: &Store, now: DateTime<Utc>) -> Result<u64> {
    let done = query(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, run_at = CASE WHEN run_at < ?1 THEN run_at ELSE ?1 END
         WHERE state = 'pending' AND lease_owner IS NOT NULL",
    )
    .bind(now.timestamp())
    .execute(store)
    .await
    .context("releasing old claims")?;
    Ok(done.rows_affected())
}

/// What a claim hands back of each job it took.
macro_rules! claimed {
    () => {
        " RETURNING id, key, kind, subject, member_id, due_at, attempts, meeting_id, occurrence, starts_at,
                    lead_secs, payload, sent_as"
    };
}

/// Claims up to `limit` due jobs of `platform` for `owner`, in due order.
/// One statement, so two processes never claim the same job.
async fn claim(store: &Store, platform: Platform, owner: &str, now: DateTime<Utc>, limit: i64) -> Result<Vec<Job>> {
    // A read first: an idle tick takes no write lock and writes nothing.
    let any: Option<i64> =
        // In due order: the order the index keeps, so that PostgreSQL's
        // generic plan walks the index too rather than the whole table
        // (110 ms an idle tick at a million pending jobs without it).
        query_scalar("SELECT id FROM jobs WHERE state = 'pending' AND platform = ? AND run_at <= ? ORDER BY run_at LIMIT 1")
            .bind(platform.as_str())
            .bind(now.timestamp())
            .fetch_optional(store)
            .await
            .context("looking for due jobs")?;
    if any.is_none() {
        return Ok(Vec::new());
    }
    // On PostgreSQL, processes claim side by side: each locks the rows it
    // takes and skips the ones another is taking, so no job is claimed twice
    // and nobody waits. (SQLite has one writer at a time already.)
    let mut rows: Vec<Job> = query_as(concat!(
        "UPDATE jobs SET lease_owner = ?, lease_until = ?, run_at = ?, attempts = attempts + 1
         WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND platform = ? AND run_at <= ?
                      ORDER BY run_at, id LIMIT ?)",
        claimed!()
    ))
    .on_postgres(concat!(
        "UPDATE jobs SET lease_owner = ?, lease_until = ?, run_at = ?, attempts = attempts + 1
         WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND platform = ? AND run_at <= ?
                      ORDER BY run_at, id LIMIT ? FOR UPDATE SKIP LOCKED)",
        claimed!()
    ))
    .bind(owner)
    .bind(now.timestamp() + LEASE_SECS)
    .bind(now.timestamp() + LEASE_SECS)
    .bind(platform.as_str())
    .bind(now.timestamp())
    .bind(limit)
    .fetch_all(store)
    .await
    .context("claiming due jobs")?;
    // A job that went out in a delivery of several comes back with the
    // others of that delivery, if they are free, wherever the claim's limit
    // fell: a resend must carry exactly what the first sending carried.
    let mut together: Vec<&str> = rows.iter().filter_map(|r| r.sent_as.as_deref()).collect();
    together.sort_unstable();
    together.dedup();
    if !together.is_empty() {
        let together = serde_json::to_string(&together).context("listing deliveries")?;
        let mut fellows: Vec<Job> = query_as(concat!(
            "UPDATE jobs SET lease_owner = ?, lease_until = ?, run_at = ?, attempts = attempts + 1
             WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND platform = ? AND run_at <= ?
                          AND sent_as IN (SELECT value FROM json_each(?)))",
            claimed!()
        ))
        .on_postgres(concat!(
            "UPDATE jobs SET lease_owner = ?, lease_until = ?, run_at = ?, attempts = attempts + 1
             WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND platform = ? AND run_at <= ?
                          AND sent_as IN (SELECT value FROM json_array_elements_text(CAST(? AS JSON)))
                          FOR UPDATE SKIP LOCKED)",
            claimed!()
        ))
        .bind(owner)
        .bind(now.timestamp() + LEASE_SECS)
        .bind(now.timestamp() + LEASE_SECS)
        .bind(platform.as_str())
        .bind(now.timestamp())
        .bind(together)
        .fetch_all(store)
        .await
        .context("claiming the rest of a delivery")?;
        rows.append(&mut fellows);
    }
    rows.sort_by_key(|r| (r.due_at, r.id));
    Ok(rows)
}

/// How many jobs of each of these deliveries (their `sent_as` keys) are
/// still pending, claimed or not: a resend may go out under the recorded key
/// only when it carries every one of them.
pub async fn pending_of_deliveries(store: &Store, keys: &[&str]) -> Result<HashMap<String, i64>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let keys = serde_json::to_string(keys).context("listing deliveries")?;
    let rows: Vec<(String, i64)> = query_as(
        "SELECT sent_as, COUNT(*) FROM jobs
         WHERE state = 'pending' AND sent_as IN (SELECT value FROM json_each(?)) GROUP BY sent_as",
    )
    .on_postgres(
        "SELECT sent_as, COUNT(*) FROM jobs
         WHERE state = 'pending' AND sent_as IN (SELECT value FROM json_array_elements_text(CAST(? AS JSON)))
         GROUP BY sent_as",
    )
    .bind(keys)
    .fetch_all(store)
    .await
    .context("counting what deliveries still carry")?;
    Ok(rows.into_iter().collect())
}

/// Keeps, before they are sent, the key each delivery of several jobs goes
/// out under, on each of its jobs (see [`Job::sent_as`]).
async fn keep_sent_as(store: &Store, out: &[DueDelivery]) -> Result<()> {
    let pairs: Vec<(i64, &str)> = out
        .iter()
        .filter(|d| d.jobs.len() > 1)
        .filter_map(|d| Some((d.jobs.clone(), d.key()?)))
        .flat_map(|(jobs, key)| jobs.into_iter().map(move |j| (j, key)))
        .collect();
    if pairs.is_empty() {
        return Ok(());
    }
    let pairs = serde_json::to_string(&pairs).context("listing deliveries")?;
    query(
        "UPDATE jobs SET sent_as = (SELECT json_extract(t.value, '$[1]') FROM json_each(?1) t
                                    WHERE json_extract(t.value, '$[0]') = jobs.id)
         WHERE id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))",
    )
    .on_postgres(
        "UPDATE jobs SET sent_as = t.value ->> 1
         FROM json_array_elements(CAST(?1 AS JSON)) t
         WHERE jobs.id = CAST(t.value ->> 0 AS BIGINT)",
    )
    .bind(pairs)
    .execute(store)
    .await
    .context("keeping what each delivery carries")?;
    Ok(())
}

/// Renews `owner`'s claims on `ids`, still being sent, for another lease.
pub async fn extend_claims(store: &Store, owner: &str, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
    let until = now.timestamp() + LEASE_SECS;
    let ids = serde_json::to_string(ids).context("listing claims")?;
    query(
        "UPDATE jobs SET lease_until = ?1, run_at = CASE WHEN run_at > ?1 THEN run_at ELSE ?1 END
         WHERE lease_owner = ?2 AND state = 'pending' AND id IN (SELECT value FROM json_each(?3))",
    )
    .on_postgres(
        "UPDATE jobs SET lease_until = ?1, run_at = GREATEST(run_at, ?1)
         WHERE lease_owner = ?2 AND state = 'pending'
           AND id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(?3 AS JSON)))",
    )
    .bind(until)
    .bind(owner)
    .bind(ids)
    .execute(store)
    .await
    .context("renewing claims")?;
    Ok(())
}

/// Claims what is due on `platform` and hands each kind's jobs to the
/// feature that registered it. A job that cannot be rendered fails on its
/// own, with its reason; the others go on. A kind nobody registered fails
/// at once.
pub async fn take_due(
    store: &Store,
    kinds: &Registry,
    platform: Platform,
    owner: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueDelivery>> {
    let rows = claim(store, platform, owner, now, limit).await?;
    let position: HashMap<i64, usize> = rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let mut by_owner: Vec<Vec<Job>> = vec![Vec::new(); kinds.handlers.len()];
    for row in rows {
        match kinds.kinds.get(row.kind.as_str()) {
            Some((at, _)) => by_owner[*at].push(row),
            None => {
                // Nothing will ever send it: failed at once, with the reason.
                let why = "no feature owns jobs of this kind";
                tracing::warn!(job = row.id, kind = %row.kind, why, "job failed");
                finish(store, row.id, "failed", Some(why), now).await?;
            }
        }
    }
    let mut out = Vec::new();
    for (handler, jobs) in kinds.handlers.iter().zip(&by_owner) {
        if jobs.is_empty() {
            continue;
        }
        for rendered in handler.render(store, jobs, now).await? {
            match rendered {
                Rendered::Send(delivery) => out.push(*delivery),
                Rendered::Done => {}
                Rendered::Drop { job, why } => {
                    tracing::warn!(job, why, "job dropped");
                    finish(store, job, "dropped", Some(why), now).await?;
                }
                Rendered::Retry { job, why } => {
                    // Set aside: tried again later with back-off (the database may
                    // have been busy), failed with its reason after the last try.
                    tracing::warn!(job, error = %why, "job could not be prepared");
                    delivered(store, kinds, job, &Err(crate::DeliveryError::Retry(why)), now).await?;
                }
            }
        }
    }
    // In due order, whoever rendered them: a delivery of several jobs
    // stands where its first one did.
    out.sort_by_key(|d| {
        d.jobs
            .first()
            .and_then(|j| position.get(j))
            .copied()
            .unwrap_or(usize::MAX)
    });
    keep_sent_as(store, &out).await?;
    Ok(out)
}

/// The delivery key of one delivery carrying several jobs: `d:` and their
/// keys joined by `+`. A retry sends the same delivery under the same key.
pub fn joint_key<'a>(keys: impl Iterator<Item = &'a str>) -> String {
    format!("d:{}", keys.collect::<Vec<_>>().join("+"))
}

/// The keys of the deliveries a delivery key stands for: itself, or each
/// job's in a joint key (the inverse of [`joint_key`]).
pub fn carried_keys(key: &str) -> Vec<&str> {
    match key.strip_prefix("d:") {
        Some(joined) => joined.split('+').collect(),
        None => vec![key],
    }
}

/// Finishes a job: `sent`, `dropped` or `failed`, with the reason.
pub async fn finish(store: &Store, job: i64, state: &str, why: Option<&str>, now: DateTime<Utc>) -> Result<()> {
    finish_in(store, job, state, why, now).await
}

/// [`finish`], in the caller's transaction (a roll-over commits it with its plan).
pub async fn finish_in(
    db: impl Into<Db<'_>>,
    job: i64,
    state: &str,
    why: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    query("UPDATE jobs SET state = ?, done_at = ?, error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?")
        .bind(state)
        .bind(now.timestamp())
        .bind(why)
        .bind(job)
        .execute(db)
        .await
        .context("finishing a job")?;
    Ok(())
}

/// Records how a delivery went: sent, tried again later with back-off, or
/// failed for good (kept, with its reason, and logged with its id).
pub async fn delivered(
    store: &Store,
    kinds: &Registry,
    job: i64,
    outcome: &std::result::Result<(), crate::DeliveryError>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut conn = store.acquire().await.context("recording a delivery")?;
    delivered_in(&mut conn, kinds, job, outcome, now).await
}

/// Records the outcomes of a round of deliveries in one transaction: one
/// commit per round, not one per message.
pub async fn delivered_all(
    store: &Store,
    kinds: &Registry,
    outcomes: &[(i64, std::result::Result<(), crate::DeliveryError>)],
    now: DateTime<Utc>,
) -> Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let mut tx = store.write().await.context("starting a write")?;
    for (job, outcome) in outcomes {
        delivered_in(&mut tx, kinds, *job, outcome, now).await?;
    }
    tx.commit().await.context("recording deliveries")
}

async fn delivered_in(
    db: impl Into<Db<'_>>,
    kinds: &Registry,
    job: i64,
    outcome: &std::result::Result<(), crate::DeliveryError>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut db = db.into();
    match outcome {
        Ok(()) => finish_in(db, job, "sent", None, now).await,
        Err(crate::DeliveryError::Permanent(why)) => {
            tracing::warn!(job, error = %why, "delivery failed for good");
            finish_in(db, job, "failed", Some(why), now).await
        }
        Err(crate::DeliveryError::Retry(why)) => {
            let row: Option<(String, i64, i64, Option<i64>)> =
                query_as("SELECT kind, attempts, starts_at, give_up_at FROM jobs WHERE id = ?")
                    .bind(job)
                    .fetch_optional(&mut db)
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
            // A job with a start (a reminder) is useless once it starts; one
            // that tries until its own deadline (a native event, standing
            // for its series until the next occurrence) tries however many
            // times that takes; the rest have none.
            let until_give_up = kinds.kind(&kind).is_some_and(|k| k.retry == Retry::UntilGiveUp);
            let deadline = give_up_at.or((!until_give_up && starts_at > 0).then_some(starts_at));
            let capped = !(until_give_up && give_up_at.is_some());
            if (capped && attempts >= MAX_ATTEMPTS) || deadline.is_some_and(|d| retry_at >= d) {
                tracing::warn!(job, attempts, error = %why, "delivery given up");
                return finish_in(db, job, "failed", Some(why), now).await;
            }
            query("UPDATE jobs SET run_at = ?, lease_owner = NULL, lease_until = NULL, error = ? WHERE id = ?")
                .bind(retry_at)
                .bind(why)
                .bind(job)
                .execute(db)
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
        let deleted = query(
            "DELETE FROM jobs WHERE id IN
               (SELECT id FROM jobs WHERE state <> 'pending' AND done_at < ? LIMIT 1000)",
        )
        .bind(before.timestamp())
        .execute(store)
        .await
        .context("sweeping finished jobs")?
        .rows_affected();
        gone += deleted;
        if deleted < 1000 {
            return Ok(gone);
        }
    }
}
