//! A group's prompt series and a member's daily prompt as jobs: planned,
//! and rendered when due.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::asking::{group_prompt, personal_prompt};
use super::settings::settings;
use crate::error::{Context, Error, Result};
use crate::groups::{self, Group};
use crate::io::{Delivery, Effect, Platform};
use crate::jobs::{self, Due, NewJob};
use crate::meetings::{self, Meeting};
use crate::members::{Member, Within, community_of};
use crate::reminders;
use crate::store::{Db, Store, query_scalar};
use crate::when::{self, at};

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Schedule {
    pub id: i64,
    pub group_id: i64,
    pub start_local: Option<NaiveDateTime>,
    pub timezone: String,
    pub repeat: String,
    pub rrule: Option<String>,
    pub question: Option<String>,
    pub stopped: bool,
}

pub(super) const MEETING_START: &str = "meeting_start";

impl Schedule {
    /// The series as a meeting, to expand with the meetings' own rule.
    pub(super) fn series(&self) -> Option<Meeting> {
        Some(Meeting {
            id: 0,
            group_id: self.group_id,
            title: None,
            start_local: self.start_local?,
            timezone: self.timezone.clone(),
            repeat: self.repeat.clone(),
            rrule: self.rrule.clone()?,
            duration_minutes: 0,
            location: None,
            cancelled: false,
            group_ends: None,
            changed_at: 0,
            ends_at: None,
            continued_by: None,
        })
    }
}

/// `SELECT` of every [`Schedule`] column from `checkin_schedules`, on
/// SQLite and on PostgreSQL: `start_local` is kept as text
/// (`2026-12-03 19:00:00`) on both, and PostgreSQL reads it back as a
/// `TIMESTAMP`, which is what decodes as one there.
macro_rules! select_schedules {
    ($rest:literal) => {
        crate::store::query_as::<crate::checkins::plan::Schedule>(concat!(
            "SELECT id, group_id, start_local, timezone, repeat, rrule, question, stopped FROM checkin_schedules ",
            $rest
        ))
        .on_postgres(concat!(
            "SELECT id, group_id, CAST(start_local AS TIMESTAMP) AS start_local, timezone, repeat, rrule, question, ",
            "stopped FROM checkin_schedules ",
            $rest
        ))
    };
}
pub(super) use select_schedules;

/// A schedule's start as both databases keep it (see [`select_schedules`]).
pub(super) fn start_text(start: NaiveDateTime) -> String {
    start.format("%F %T%.f").to_string()
}

pub(crate) async fn schedule_by_id(db: impl Into<Db<'_>>, id: i64) -> Result<Option<Schedule>> {
    select_schedules!("WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
        .context("loading a check-in schedule")
}

/// The first prompt of a schedule strictly after `after`.
pub(crate) async fn next_prompt(
    db: impl Into<Db<'_>>,
    s: &Schedule,
    after: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let mut db = db.into();
    if s.stopped {
        return Ok(None);
    }
    if s.repeat == MEETING_START {
        let mut next: Option<DateTime<Utc>> = None;
        for meeting in meetings::of_group_in(&mut db, s.group_id).await? {
            if let Some(occ) = meetings::upcoming_in(&mut db, &meeting, after, 1)
                .await?
                .into_iter()
                .next()
            {
                next = Some(next.map_or(occ.start, |n| n.min(occ.start)));
            }
        }
        return Ok(next);
    }
    let Some(series) = s.series() else {
        return Ok(None);
    };
    Ok(series.raw_after(after + Duration::seconds(1), 1)?.into_iter().next())
}

/// The group whose prompt `prompt` is: a schedule's (`s{schedule}-…`) or
/// one posted at once (`n{group}-…`); none for a member's own.
pub(super) async fn group_of_prompt(store: &Store, prompt: &str) -> Result<Option<Group>> {
    let number = |rest: &str| rest.split_once('-').and_then(|(n, _)| n.parse::<i64>().ok());
    let group = if let Some(schedule) = prompt.strip_prefix('s').and_then(number) {
        schedule_by_id(store, schedule).await?.map(|s| s.group_id)
    } else {
        prompt.strip_prefix('n').and_then(number)
    };
    match group {
        Some(id) => groups::find_by_id(store, id).await,
        None => Ok(None),
    }
}

/// The prompt key of one occurrence: the answers to it are one per member.
fn prompt_key(schedule: i64, at: DateTime<Utc>) -> String {
    format!("s{schedule}-{}", at.timestamp())
}

/// The prompt a schedule posts at `at`, in its group's home channel.
pub(crate) async fn scheduled_post(
    store: &Store,
    s: &Schedule,
    platform: Platform,
    at: DateTime<Utc>,
    job_key: &str,
) -> Result<(Group, Effect)> {
    let group = groups::by_id(store, s.group_id).await?;
    let key = prompt_key(s.id, at);
    let effect = Effect::Post {
        channel: group.home_channel.clone(),
        message: group_prompt(&group, s.question.as_deref(), &key, platform),
        key: Some(job_key.to_string()),
    };
    Ok((group, effect))
}

/// A member's daily prompt on `day`.
pub(crate) fn personal_post(member: &Member, day: NaiveDate, job_key: &str) -> Effect {
    let key = format!("d{}", day.format("%Y%m%d"));
    Effect::Dm {
        user: member.external_id.clone(),
        message: personal_prompt(&key),
        key: Some(job_key.to_string()),
    }
}

/// The jobs kind of a group's scheduled prompts; the subject is the schedule.
pub(crate) static KIND: jobs::Kind = jobs::Kind::capped("checkin", jobs::Subject::Row("checkin_schedules"));
/// The jobs kind of a member's daily prompt; the subject is the member.
pub(crate) static KIND_DM: jobs::Kind = jobs::Kind::capped("checkin_dm", jobs::Subject::Row("members"));

/// Renders check-in prompts when due; registered with the jobs engine
/// where the `Hearth` is built.
pub(crate) fn prompts() -> jobs::Handler {
    static ALL: [&jobs::Kind; 2] = [&KIND, &KIND_DM];
    jobs::Handler::Each {
        kinds: &ALL,
        due: |store, job, now| Box::pin(due(store, job, now)),
    }
}
/// A prompt this late is not posted: "how are you today?" hours later asks
/// about a day that has moved on. The next one is planned as usual.
const STALE_AFTER_SECS: i64 = 2 * 3600;

/// How many later slots a plan tries when the first one's key is spent.
const FREE_SLOT_TRIES: usize = 16;

/// Plans a schedule's next prompt after `after`, in the caller's write
/// transaction: the first whose key is not spent (a prompt already posted
/// is never planned again, so planning always leaves one to come). A prompt
/// waiting to retry stays.
pub(crate) async fn plan_schedule(db: impl Into<Db<'_>>, id: i64, after: DateTime<Utc>) -> Result<()> {
    let mut db = db.into();
    jobs::cancel_planned(&mut db, KIND.name, id).await?;
    let Some(s) = schedule_by_id(&mut db, id).await? else {
        return Ok(());
    };
    let Some((platform, _)) = community_of(&mut db, Within::Group(s.group_id)).await? else {
        return Ok(());
    };
    let mut after = after;
    for _ in 0..FREE_SLOT_TRIES {
        let Some(next) = next_prompt(&mut db, &s, after).await? else {
            return Ok(());
        };
        let key = format!("checkin:{id}:{}", next.timestamp());
        if !jobs::spent(&mut db, &key).await? {
            let job = NewJob {
                key: &key,
                kind: KIND.name,
                due: next,
                platform,
                subject: id,
                member: None,
            };
            return jobs::put(&mut db, &job).await;
        }
        after = next;
    }
    Ok(())
}

/// Plans a member's next daily prompt after `after`, in their zone and
/// outside their quiet hours, in the caller's write transaction; none when
/// off. One a day: a day whose prompt already went out is skipped, so
/// moving the time later or the zone west never leaves none to come. A
/// prompt waiting to retry stays.
pub(crate) async fn plan_member_prompt(db: impl Into<Db<'_>>, member: i64, after: DateTime<Utc>) -> Result<()> {
    let mut db = db.into();
    jobs::cancel_planned(&mut db, KIND_DM.name, member).await?;
    let s = settings(&mut db, member).await?;
    let (Some(time), Some(community)) = (s.remind_at.as_deref(), s.community_id) else {
        return Ok(());
    };
    let Ok(time) = NaiveTime::parse_from_str(time, "%H:%M") else {
        return Ok(());
    };
    let Some((platform, _)) = community_of(&mut db, Within::Community(community)).await? else {
        return Ok(());
    };
    let own_zone: Option<Option<String>> = query_scalar("SELECT timezone FROM members WHERE id = ?")
        .bind(member)
        .fetch_optional(&mut db)
        .await
        .context("reading a member's zone")?;
    let Some(own_zone) = own_zone else {
        return Ok(());
    };
    let zone = own_zone.or(s.zone).and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC);
    let quiet = reminders::settings(&mut db, member).await?;
    let mut day = after.with_timezone(&zone).date_naive();
    if when::resolve(day.and_time(time), zone).0 <= after {
        day = day.succ_opt().unwrap_or(day);
    }
    for _ in 0..FREE_SLOT_TRIES {
        let key = format!("checkin:dm:{member}:{}", day.format("%Y%m%d"));
        if !jobs::spent(&mut db, &key).await? {
            let at = when::resolve(day.and_time(time), zone).0;
            // Quiet hours are never longer than a day, so this moves it to when they end.
            let due = quiet.outside_quiet(at, at + Duration::days(1), zone);
            let job = NewJob {
                key: &key,
                kind: KIND_DM.name,
                due,
                platform,
                subject: member,
                member: Some(member),
            };
            return jobs::put(&mut db, &job).await;
        }
        day = day.succ_opt().unwrap_or(day);
    }
    Ok(())
}

/// A member's zone or quiet hours changed: their daily prompt follows, in
/// the caller's write transaction. Whether anything was planned.
pub(crate) async fn member_moved(db: impl Into<Db<'_>>, member: i64, now: DateTime<Utc>) -> Result<bool> {
    let mut db = db.into();
    if settings(&mut db, member).await?.remind_at.is_none() {
        return Ok(false);
    }
    plan_member_prompt(&mut db, member, now).await?;
    Ok(true)
}

/// A group's meetings changed: its prompts at meeting start follow, in the
/// caller's write transaction. Whether anything was planned.
pub(crate) async fn meetings_moved(db: impl Into<Db<'_>>, group: i64, now: DateTime<Utc>) -> Result<bool> {
    let mut db = db.into();
    let ids: Vec<i64> = query_scalar(
        "SELECT id FROM checkin_schedules WHERE group_id = ? AND repeat = ? AND stopped = FALSE ORDER BY id",
    )
    .bind(group)
    .bind(MEETING_START)
    .fetch_all(&mut db)
    .await
    .context("listing a group's opening check-ins")?;
    for id in &ids {
        plan_schedule(&mut db, *id, now).await?;
    }
    Ok(!ids.is_empty())
}

/// A check-in job fell due: the prompt to send, if any, with the next one planned.
pub(crate) async fn due(store: &Store, job: &jobs::Job, now: DateTime<Utc>) -> Result<Option<Due>> {
    let due_at = at(job.due_at);
    let stale = now.timestamp() - job.due_at > STALE_AFTER_SECS;
    let next_after = now.max(due_at);
    match job.kind.as_str() {
        k if k == KIND.name => {
            let Some(s) = schedule_by_id(store, job.subject).await? else {
                return Ok(None);
            };
            if s.stopped {
                return Ok(None);
            }
            let mut tx = store.write().await.context("starting the next check-in prompt")?;
            plan_schedule(&mut tx, s.id, next_after).await?;
            // The meeting may have moved or been cancelled since.
            let still = s.repeat != MEETING_START
                || next_prompt(&mut tx, &s, due_at - Duration::seconds(1)).await? == Some(due_at);
            tx.commit().await.context("committing the next check-in prompt")?;
            if !still {
                return Ok(None);
            }
            if stale {
                // Which group, or which member, is nobody's business in the log.
                tracing::info!(kind = KIND.name, "stale check-in prompt dropped");
                return Ok(None);
            }
            let Some((platform, community)) = community_of(store, Within::Group(s.group_id)).await? else {
                return Ok(None);
            };
            let (_, effect) = scheduled_post(store, &s, platform, due_at, &job.key).await?;
            Ok(Some(Due::Send(Delivery { community, effect })))
        }
        k if k == KIND_DM.name => {
            let member = job.member_id.unwrap_or(job.subject);
            let s = settings(store, member).await?;
            let Some(community) = s.community_id else {
                return Ok(None);
            };
            if s.remind_at.is_none() {
                return Ok(None);
            }
            let mut tx = store.write().await.context("starting the next daily prompt")?;
            plan_member_prompt(&mut tx, member, next_after).await?;
            tx.commit().await.context("committing the next daily prompt")?;
            let Some(me) = crate::members::by_ids(store, &[member]).await?.into_iter().next() else {
                return Ok(None);
            };
            if stale {
                tracing::info!(kind = KIND_DM.name, "stale check-in prompt dropped");
                return Ok(None);
            }
            let Some((_, community)) = community_of(store, Within::Community(community)).await? else {
                return Ok(None);
            };
            let zone = me
                .zone()
                .or_else(|| s.zone.as_deref().and_then(|z| z.parse().ok()))
                .unwrap_or(Tz::UTC);
            let day = job
                .key
                .rsplit(':')
                .next()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
                .unwrap_or_else(|| due_at.with_timezone(&zone).date_naive());
            Ok(Some(Due::Send(Delivery {
                community,
                effect: personal_post(&me, day, &job.key),
            })))
        }
        other => Err(Error::Internal {
            context: "rendering a check-in job",
            source: format!("not a check-in kind: {other}").into(),
        }),
    }
}

/// A retired group's check-in prompts, stopped in the caller's write with
/// their pending jobs, so none goes out after the group is gone.
pub(crate) async fn stop_group(db: impl Into<crate::store::Db<'_>>, group: i64) -> Result<()> {
    let mut conn: crate::store::Db<'_> = db.into();
    let stopped: Vec<i64> =
        query_scalar("UPDATE checkin_schedules SET stopped = TRUE WHERE group_id = ? AND stopped = FALSE RETURNING id")
            .bind(group)
            .fetch_all(&mut conn)
            .await
            .context("stopping a retired group's check-ins")?;
    for schedule in stopped {
        jobs::cancel(&mut conn, KIND.name, schedule).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::asking::with_mood_buttons;
    use super::*;
    use crate::message::Message;

    #[test]
    fn prompt_buttons_fit_discord_custom_ids() {
        let group_prompt = with_mood_buttons(Message::new(), Some(i64::MAX), &prompt_key(i64::MAX, at(4_102_444_800)));
        for b in &group_prompt.buttons {
            assert!(b.command.len() + 2 <= 100, "{}", b.command);
            assert!(crate::parse::parse_command(&b.command).is_ok(), "{}", b.command);
        }
        assert_eq!(group_prompt.buttons.len(), 6);
    }
}
