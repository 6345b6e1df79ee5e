//! The chair's back-up, told when the chair is late: a job at each
//! occurrence's start plus five minutes (planned with the meeting's
//! reminders, in `reminders::plan`) that, if the meeting has not been
//! started on Hearth by then, sends the back-up a private message.

use chrono::{DateTime, Duration, Utc};

use super::{Kind as Role, of_group};
use crate::error::{Context, Result};
use crate::io::{Delivery, Effect};
use crate::jobs::{self, Due, Job, Kind, Subject};
use crate::meetings;
use crate::members::{self, Within};
use crate::message::{Line, Message, Span};
use crate::store::{Db, Store, query_scalar};

/// The check at an occurrence's start plus [`AFTER_SECS`].
pub(crate) static LATE: Kind = Kind::capped("chair_late", Subject::Unused);

/// How long after its start a meeting not yet started means the chair is late.
pub(crate) const AFTER_SECS: i64 = 300;

/// The check's key: one per occurrence where it happens.
pub(crate) fn key(meeting: i64, original: i64, start: i64) -> String {
    format!("cl:{meeting}:{original}:{start}")
}

/// Registered with the jobs engine where the `Hearth` is built.
pub(crate) fn handler() -> jobs::Handler {
    static ALL: [&Kind; 1] = [&LATE];
    jobs::Handler::Each {
        kinds: &ALL,
        due: |store, job, now| Box::pin(due(store, job, now)),
    }
}

/// Whether the occurrence of `meeting` that first stood at `occurrence`
/// (Unix seconds, as `jobs.occurrence`) has been started on Hearth: a run
/// of it with its start recorded (the script's `meeting_runs`).
pub async fn started(db: impl Into<Db<'_>>, meeting: i64, occurrence: i64) -> Result<bool> {
    query_scalar(
        "SELECT EXISTS (SELECT 1 FROM meeting_runs
                        WHERE meeting_id = ? AND occurrence = ? AND started_at IS NOT NULL)",
    )
    .bind(meeting)
    .bind(occurrence)
    .fetch_one(db)
    .await
    .context("checking whether a meeting started")
}

/// The back-up's message, or nothing: the meeting started, was cancelled
/// or moved, is over, or the chair has no back-up for that day.
async fn due(store: &Store, job: &Job, now: DateTime<Utc>) -> Result<Option<Due>> {
    let Some(meeting) = meetings::by_id_in(store, job.meeting_id.unwrap_or_default()).await? else {
        return Ok(None);
    };
    let exceptions = meetings::exceptions_of(store, &[(meeting.id, job.occurrence)]).await?;
    let moved = match exceptions.get(&(meeting.id, job.occurrence)) {
        Some(None) => true,
        Some(Some(to)) => *to != job.starts_at,
        None => job.starts_at != job.occurrence,
    };
    let start = crate::when::at(job.starts_at);
    let over = now >= start + Duration::minutes(meeting.duration_minutes);
    if meeting.cancelled || moved || over || started(store, meeting.id, job.occurrence).await? {
        return Ok(None);
    }
    let day = start
        .with_timezone(&super::zone(store, meeting.group_id).await?)
        .date_naive();
    let roles = of_group(store, meeting.group_id, day).await?;
    let Some(chair) = roles.into_iter().find(|h| h.kind == Role::Chair) else {
        return Ok(None);
    };
    let Some(backup) = chair.backup else {
        return Ok(None);
    };
    let Some((_, community)) = members::community_of(store, Within::Group(meeting.group_id)).await? else {
        return Ok(None);
    };
    let group = crate::groups::by_id(store, meeting.group_id).await?;
    let zone = backup.member.zone().unwrap_or(meeting.zone());
    let mut chair_line = Line::text("It began at ")
        .push(Span::Time { at: start, zone })
        .t(" and ");
    chair_line = match &chair.holder {
        Some(p) => chair_line.push(Span::User {
            id: p.member.external_id.clone(),
            name: p.member.display_name.clone(),
        }),
        None => chair_line.t("its chair"),
    };
    let message = Message::titled(format!("{} hasn't started yet", meeting.name(&group.name)))
        .line(chair_line.t(" has not started it on Hearth five minutes on."))
        .text("You're the chair's back-up: could you check in with them, or open the meeting yourself?");
    Ok(Some(Due::Send(Delivery {
        community,
        effect: Effect::Dm {
            user: backup.member.external_id,
            message,
            key: Some(job.key.clone()),
        },
    })))
}
