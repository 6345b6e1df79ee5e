//! The script tables: a group's steps, its runs and their steps' times.

use super::state::Run;
use super::steps::{Step, StepKind};
use crate::circle::state::Mode;
use crate::error::{Context, Result};
use crate::store::{Db, query, query_as, query_scalar};

#[derive(sqlx::FromRow)]
struct StepRow {
    kind: String,
    title: String,
    minutes: i64,
    body: Option<String>,
    link: Option<String>,
    excerpt: Option<String>,
    credit: Option<String>,
    mode: Option<String>,
    share_secs: Option<i64>,
    mute_others: bool,
}

/// A group's script, in order.
pub async fn steps(db: impl Into<Db<'_>>, group: i64) -> Result<Vec<Step>> {
    let rows: Vec<StepRow> = query_as(
        "SELECT kind, title, minutes, body, link, excerpt, credit, mode, share_secs,
             mute_others
         FROM script_steps WHERE group_id = ? ORDER BY position",
    )
    .bind(group)
    .fetch_all(db)
    .await
    .context("loading a group's script")?;
    Ok(rows
        .into_iter()
        .map(|r| Step {
            kind: StepKind::parse(&r.kind).unwrap_or(StepKind::Say),
            title: r.title,
            minutes: r.minutes,
            text: r.body,
            link: r.link,
            excerpt: r.excerpt,
            credit: r.credit,
            mode: r.mode.as_deref().and_then(Mode::parse),
            share_secs: r.share_secs,
            mute_others: r.mute_others,
        })
        .collect())
}

/// Replaces a group's script with `steps`.
pub async fn replace(db: impl Into<Db<'_>>, group: i64, steps: &[Step]) -> Result<()> {
    let mut db = db.into();
    query("DELETE FROM script_steps WHERE group_id = ?")
        .bind(group)
        .execute(&mut db)
        .await
        .context("clearing a group's script")?;
    for (position, s) in steps.iter().enumerate() {
        query(
            "INSERT INTO script_steps (group_id, position, kind, title, minutes, body, link, excerpt, credit, mode,
                 share_secs, mute_others)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(group)
        .bind(position as i64)
        .bind(s.kind.as_str())
        .bind(&s.title)
        .bind(s.minutes)
        .bind(&s.text)
        .bind(&s.link)
        .bind(&s.excerpt)
        .bind(&s.credit)
        .bind(s.mode.map(Mode::as_str))
        .bind(s.share_secs)
        .bind(s.mute_others)
        .execute(&mut db)
        .await
        .context("saving a script step")?;
    }
    Ok(())
}

/// A run's row besides its [`Run`] state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub chair_member_id: Option<i64>,
    pub channel: String,
    pub step: i64,
    pub step_started_at: i64,
    pub extra_secs: i64,
    pub circle_id: Option<i64>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    /// Started by itself at the occurrence's start, not by a person.
    pub autostarted: bool,
}

macro_rules! run_columns {
    () => {
        "id, chair_member_id, channel, step, step_started_at, extra_secs, \
         circle_id, started_at, ended_at, autostarted"
    };
}

/// The group's open run, if any.
pub async fn open_of_group(db: impl Into<Db<'_>>, group: i64) -> Result<Option<RunRow>> {
    query_as(concat!(
        "SELECT ",
        run_columns!(),
        " FROM meeting_runs WHERE group_id = ? AND ended_at IS NULL"
    ))
    .bind(group)
    .fetch_optional(db)
    .await
    .context("finding a group's running meeting")
}

/// The groups with a run open at `channel`, of this community.
pub async fn open_groups_at(db: impl Into<Db<'_>>, community: i64, channel: &str) -> Result<Vec<i64>> {
    query_scalar(
        "SELECT r.group_id FROM meeting_runs r JOIN groups g ON g.id = r.group_id
         WHERE g.community_id = ? AND r.channel = ? AND r.ended_at IS NULL ORDER BY r.id",
    )
    .bind(community)
    .bind(channel)
    .fetch_all(db)
    .await
    .context("finding the meetings running here")
}

/// When the group's last meeting other than `run` began, before `before`
/// (Unix seconds): where its milestones step counts from.
pub async fn previous_start(db: impl Into<Db<'_>>, group: i64, run: i64, before: i64) -> Result<Option<i64>> {
    query_scalar("SELECT MAX(started_at) FROM meeting_runs WHERE group_id = ? AND id <> ? AND started_at < ?")
        .bind(group)
        .bind(run)
        .bind(before)
        .fetch_one(db)
        .await
        .context("finding a group's last meeting")
}

/// The new run of a meeting.
pub struct NewRun<'a> {
    pub group: i64,
    pub meeting: Option<(i64, i64)>,
    /// None: started by itself with no chair to hand (facilitators press).
    pub chair: Option<i64>,
    pub channel: &'a str,
    pub autostarted: bool,
}

pub async fn create(db: impl Into<Db<'_>>, new: &NewRun<'_>, now: i64) -> Result<RunRow> {
    query_as(concat!(
        "INSERT INTO meeting_runs (group_id, meeting_id, occurrence, chair_member_id, channel, step_started_at,
             started_at, autostarted)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ",
        run_columns!(),
        ""
    ))
    .bind(new.group)
    .bind(new.meeting.map(|m| m.0))
    .bind(new.meeting.map(|m| m.1))
    .bind(new.chair)
    .bind(new.channel)
    .bind(now)
    .bind(now)
    .bind(new.autostarted)
    .fetch_one(db)
    .await
    .context("starting a meeting's run")
}

/// The run's state, with `steps` steps.
pub async fn load(db: impl Into<Db<'_>>, row: &RunRow, steps: usize) -> Result<Run> {
    let times: Vec<(i64, i64, bool)> =
        query_as("SELECT position, used_secs, skipped FROM meeting_run_steps WHERE run_id = ?")
            .bind(row.id)
            .fetch_all(db)
            .await
            .context("loading a run's times")?;
    let mut run = Run {
        step: usize::try_from(row.step).unwrap_or(0).min(steps.saturating_sub(1)),
        step_started_at: row.step_started_at,
        extra_secs: row.extra_secs,
        used: vec![0; steps],
        skipped: vec![false; steps],
        started_at: row.started_at,
        ended_at: row.ended_at,
    };
    for (position, used, skipped) in times {
        if let Ok(i) = usize::try_from(position)
            && i < steps
        {
            run.used[i] = used;
            run.skipped[i] = skipped;
        }
    }
    Ok(run)
}

/// Saves the run over what `before` was: only the steps whose times changed.
pub async fn save(db: impl Into<Db<'_>>, id: i64, before: &Run, run: &Run) -> Result<()> {
    let mut db = db.into();
    query("UPDATE meeting_runs SET step = ?, step_started_at = ?, extra_secs = ?, ended_at = ? WHERE id = ?")
        .bind(run.step as i64)
        .bind(run.step_started_at)
        .bind(run.extra_secs)
        .bind(run.ended_at)
        .bind(id)
        .execute(&mut db)
        .await
        .context("saving a run")?;
    for (i, (used, skipped)) in run.used.iter().zip(&run.skipped).enumerate() {
        if before.used.get(i) == Some(used) && before.skipped.get(i) == Some(skipped) {
            continue;
        }
        query(
            "INSERT INTO meeting_run_steps (run_id, position, used_secs, skipped) VALUES (?, ?, ?, ?)
             ON CONFLICT (run_id, position) DO UPDATE SET used_secs = excluded.used_secs, skipped = excluded.skipped",
        )
        .bind(id)
        .bind(i as i64)
        .bind(*used)
        .bind(*skipped)
        .execute(&mut db)
        .await
        .context("saving a run's step times")?;
    }
    Ok(())
}

/// Records the talking stick a step runs on.
pub async fn set_circle(db: impl Into<Db<'_>>, run: i64, circle: Option<i64>) -> Result<()> {
    query("UPDATE meeting_runs SET circle_id = ? WHERE id = ?")
        .bind(circle)
        .bind(run)
        .execute(db)
        .await
        .context("recording a run's circle")?;
    Ok(())
}

/// Ended runs older than `before` (Unix seconds) go, with their times.
pub async fn sweep(db: impl Into<Db<'_>>, before: i64) -> Result<u64> {
    Ok(query("DELETE FROM meeting_runs WHERE ended_at < ?")
        .bind(before)
        .execute(db)
        .await
        .context("sweeping past meeting runs")?
        .rows_affected())
}

/// The runs `member` chaired, oldest first: (group, started, ended).
pub async fn chaired(db: impl Into<Db<'_>>, member: i64) -> Result<Vec<(String, i64, Option<i64>)>> {
    query_as(
        "SELECT g.name, r.started_at, r.ended_at FROM meeting_runs r JOIN groups g ON g.id = r.group_id
         WHERE r.chair_member_id = ? ORDER BY r.started_at, r.id",
    )
    .bind(member)
    .fetch_all(db)
    .await
    .context("listing the meetings a member chaired")
}

/// Whether the group's meeting starts by itself at each occurrence's start.
pub async fn autostart(db: impl Into<Db<'_>>, group: i64) -> Result<bool> {
    query_scalar("SELECT script_autostart FROM groups WHERE id = ?")
        .bind(group)
        .fetch_one(db)
        .await
        .context("reading whether a meeting starts by itself")
}

pub async fn set_autostart(db: impl Into<Db<'_>>, group: i64, on: bool) -> Result<()> {
    query("UPDATE groups SET script_autostart = ? WHERE id = ?")
        .bind(on)
        .bind(group)
        .execute(db)
        .await
        .context("saving whether a meeting starts by itself")?;
    Ok(())
}

/// The first run of an occurrence (series, original start), if one began.
pub async fn run_of(db: impl Into<Db<'_>>, meeting: i64, occurrence: i64) -> Result<Option<RunRow>> {
    query_as(concat!(
        "SELECT ",
        run_columns!(),
        " FROM meeting_runs WHERE meeting_id = ? AND occurrence = ? ORDER BY id LIMIT 1"
    ))
    .bind(meeting)
    .bind(occurrence)
    .fetch_optional(db)
    .await
    .context("finding an occurrence's run")
}
