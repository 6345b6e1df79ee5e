//! A meeting that starts by itself, where its group chose so: a job at each
//! occurrence's start begins the run (once: the job's key, and one run per
//! occurrence) and says so in the meeting's channel with an "Open the
//! panel" button, which answers the chair (or back-up, or a facilitator)
//! with the panel, privately. A second job a moment later brings the chair
//! the panel unasked where a private message needs no press: a DM on
//! Matrix, private output in the console. On Discord an ephemeral message
//! can only answer an interaction, so there the button is the way.
//! A run so started counts as started: the chair's back-up is not told
//! the chair is late.

use chrono::{DateTime, Duration, Utc};

use super::{Card, Of, db, words};
use crate::error::{Error, Result};
use crate::io::{Delivery, Effect};
use crate::jobs::{self, Due, Job, Kind, Subject};
use crate::members::{self, Within};
use crate::message::Message;
use crate::store::Store;

/// The start, at the occurrence's start.
pub(crate) static START: Kind = Kind::capped("meeting_autostart", Subject::Unused);
/// The chair's panel, [`PANEL_AFTER_SECS`] later.
pub(crate) static PANEL: Kind = Kind::capped("meeting_autostart_panel", Subject::Unused);
pub(crate) const PANEL_AFTER_SECS: i64 = 10;

/// The start's key: one per occurrence where it happens.
pub(crate) fn start_key(meeting: i64, original: i64, start: i64) -> String {
    format!("ma:{meeting}:{original}:{start}")
}

/// The panel's key, likewise.
pub(crate) fn panel_key(meeting: i64, original: i64, start: i64) -> String {
    format!("mp:{meeting}:{original}:{start}")
}

/// Registered with the jobs engine where the `Hearth` is built.
pub(crate) fn handler() -> jobs::Handler {
    static ALL: [&Kind; 2] = [&START, &PANEL];
    jobs::Handler::Each {
        kinds: &ALL,
        due: |store, job, now| Box::pin(due(store, job, now)),
    }
}

/// Whether the group's meeting starts by itself (planned with its reminders).
pub(crate) async fn on(db: impl Into<crate::store::Db<'_>>, group: i64) -> Result<bool> {
    db::autostart(db, group).await
}

/// The start, or the chair's panel; nothing where the occurrence was
/// cancelled, moved or is over, or the group no longer wants it.
async fn due(store: &Store, job: &Job, now: DateTime<Utc>) -> Result<Option<Due>> {
    let Some(meeting) = crate::meetings::by_id_in(store, job.meeting_id.unwrap_or_default()).await? else {
        return Ok(None);
    };
    let exceptions = crate::meetings::exceptions_of(store, &[(meeting.id, job.occurrence)]).await?;
    let moved = match exceptions.get(&(meeting.id, job.occurrence)) {
        Some(None) => true,
        Some(Some(to)) => *to != job.starts_at,
        None => job.starts_at != job.occurrence,
    };
    let start = crate::when::at(job.starts_at);
    let over = now >= start + Duration::minutes(meeting.duration_minutes);
    if meeting.cancelled || moved || over || !db::autostart(store, meeting.group_id).await? {
        return Ok(None);
    }
    let Some((platform, community)) = members::community_of(store, Within::Group(meeting.group_id)).await? else {
        return Ok(None);
    };
    let group = crate::groups::by_id(store, meeting.group_id).await?;
    let of = Of {
        id: group.id,
        name: &group.name,
    };
    let effect = if job.kind == PANEL.name {
        if platform.private_needs_a_press() {
            return Ok(None);
        }
        match panel(store, of, (meeting.id, job.occurrence), now).await? {
            Some((chair, message)) => Effect::Dm {
                user: chair,
                message,
                key: Some(job.key.clone()),
            },
            None => return Ok(None),
        }
    } else {
        let zone = crate::roles::zone(store, group.id).await?;
        let card = Card {
            guideline: &group.guideline,
            zone,
        };
        let day = start.with_timezone(&zone).date_naive();
        match begin(store, (of, &card), (meeting.id, job.occurrence), day, now).await? {
            Some((channel, message)) => Effect::Post {
                channel,
                message,
                key: Some(job.key.clone()),
            },
            None => return Ok(None),
        }
    };
    Ok(Some(Due::Send(Delivery { community, effect })))
}

/// Starts the occurrence's run, chaired by the group's chair that day (if
/// it has one); or, where this job started it before and its word was not
/// yet sent, says it again. Nothing where someone started it by hand, or
/// the group's meeting is running already, or it has no script.
async fn begin(
    store: &Store,
    (group, card): (Of<'_>, &Card<'_>),
    occurrence: (i64, i64),
    day: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<(String, Message)>> {
    let first = match db::run_of(store, occurrence.0, occurrence.1).await? {
        // Said again only while the run stands where it began: the chair
        // has moved on or ended it otherwise, and the word would be stale.
        Some(run) if run.autostarted && run.ended_at.is_none() && run.step == 0 => {
            let steps = db::steps(store, group.id).await?;
            let handles = crate::groups::payment_handles(store, group.id).await?;
            let public = words::Public {
                group: group.name,
                guideline: card.guideline,
                handles: &handles,
                zone: card.zone,
                milestones: &[],
            };
            let Some(step) = steps.first() else {
                return Ok(None);
            };
            return Ok(Some((
                run.channel,
                words::autostarted(group, words::step_post(step, &public, now)),
            )));
        }
        Some(_) => return Ok(None),
        None => {
            let chair = crate::roles::of_group(store, group.id, day)
                .await?
                .into_iter()
                .find(|h| h.kind == crate::roles::Kind::Chair)
                .and_then(|h| h.holder)
                .map(|p| p.member.id);
            let home = crate::groups::by_id(store, group.id).await?.home_channel;
            let started = super::start(store, (group, card), chair, &home, Some(occurrence), true, now).await;
            match started {
                Ok(turn) => (turn.run.channel, turn.post),
                // Running already, or no script: nothing to start.
                Err(Error::User(_)) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    };
    let (channel, post) = first;
    Ok(post.map(|post| (channel, words::autostarted(group, post))))
}

/// The chair's panel of the occurrence's run, while it runs as it started by itself.
async fn panel(
    store: &Store,
    group: Of<'_>,
    occurrence: (i64, i64),
    now: DateTime<Utc>,
) -> Result<Option<(String, Message)>> {
    let Some(run) = db::run_of(store, occurrence.0, occurrence.1).await? else {
        return Ok(None);
    };
    let Some(chair) = run
        .chair_member_id
        .filter(|_| run.autostarted && run.ended_at.is_none())
    else {
        return Ok(None);
    };
    let Some(chair) = members::by_ids(store, &[chair]).await?.into_iter().next() else {
        return Ok(None);
    };
    let (_, message) = super::panel(store, group, now).await?;
    Ok(Some((chair.external_id, message)))
}
