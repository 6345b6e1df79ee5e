//! A turn's share timer: planned as the stick moves, and its notices (or
//! the stick moving on by itself) when due; and the one write transaction
//! each input runs in.

use chrono::{DateTime, Utc};

use super::db::{self, Circle, Person};
use super::state::State;
use super::words::{announce, minutes, person, status_key, with_status};
use crate::error::{Context, Result};
use crate::io::{Delivery, Effect, Platform};
use crate::jobs;
use crate::members::Within;
use crate::message::{Line, Message, Span};
use crate::store::{Store, Tx};

/// The share timers of a circle's turns; the subject is the circle.
pub(crate) static JOB_KIND: jobs::Kind = jobs::Kind::capped("circle", jobs::Subject::Row("circles"));

/// The gentle notice comes this long before the end of a share (or halfway, for short ones).
const WARN_BEFORE: i64 = 30;
/// From shares this long, the notice comes a minute before the end, as
/// groups' timekeepers give it.
const MINUTE_NOTICE_FROM: i64 = 180;

/// One write transaction per input: circles are read, changed and saved
/// without another input slipping in between.
pub(super) async fn begin(store: &Store) -> Result<Tx> {
    store.write().await.context("starting a write")
}

/// The share timer of the turn now running: a gentle notice shortly before
/// the end and one at the end, as durable jobs keyed by turn. A turn that
/// ended takes its jobs with it.
pub(super) async fn plan_timer(
    tx: &mut Tx,
    platform: Platform,
    circle: &Circle,
    before: &State,
    state: &State,
) -> Result<()> {
    if before.turn == state.turn && before.holder == state.holder {
        return Ok(());
    }
    jobs::cancel(&mut *tx, JOB_KIND.name, circle.id).await?;
    let (Some(share), Some(holder), Some(started)) = (circle.share_secs, state.holder, state.turn_started_at) else {
        return Ok(());
    };
    let Some(started) = DateTime::from_timestamp(started, 0) else {
        return Ok(());
    };
    let warn_before = if share >= MINUTE_NOTICE_FROM {
        60
    } else {
        WARN_BEFORE.min(share / 2)
    };
    for (what, at) in [("warn", share - warn_before), ("end", share)] {
        let key = format!("circle:{}:turn:{}:{what}", circle.id, state.turn);
        jobs::put(
            &mut *tx,
            &jobs::NewJob {
                key: &key,
                kind: JOB_KIND.name,
                due: started + chrono::Duration::seconds(at),
                platform,
                subject: circle.id,
                member: Some(holder),
            },
        )
        .await?;
    }
    Ok(())
}

/// How late a share timer's notice may still go: past this it is stale.
const TIMER_GRACE_SECS: i64 = 30;

/// A share timer falls due: the notice, if the turn it belongs to still runs;
/// at the end, the stick moves on by itself only if the facilitator chose that.
pub(super) async fn due(store: &Store, job: &jobs::Job, now: DateTime<Utc>) -> Result<Option<jobs::Due>> {
    let Some((turn, what)) = turn_of(&job.key) else {
        return Ok(None);
    };
    let mut tx = begin(store).await?;
    let Some(circle) = db::open_by_id(&mut tx, job.subject).await? else {
        return Ok(None);
    };
    let Some((platform, community)) = crate::members::community_of(&mut tx, Within::Circle(circle.id)).await? else {
        return Ok(None);
    };
    let before = db::load(&mut tx, circle.id).await?;
    let Some(holder) = before.holder.filter(|_| before.turn == turn) else {
        // The stick has moved since: nothing to say.
        return Ok(None);
    };
    // A notice due while Hearth was down is stale by the time it could go:
    // dropped, as late reminders are. Moving the stick on by itself is not a
    // notice, and still happens.
    let late = unix(now) - job.due_at > TIMER_GRACE_SECS;
    if late && !(what == "end" && circle.auto_advance) {
        return Ok(None);
    }
    let people = db::people(&mut tx, circle.id).await?;
    let who = person(&people, holder);
    let message = match (what, circle.auto_advance) {
        ("warn", _) => {
            let left = circle.share_secs.unwrap_or(0) - before.elapsed(unix(now)).unwrap_or(0);
            // Due late (after a restart) when the share has already run out:
            // nothing is left to warn of, and "about 1 s left" would be untrue.
            if left <= 0 {
                return Ok(None);
            }
            Message::new().line(Line::new().push(who).t(format!(
                ", about {} left — no rush, just a gentle heads-up.",
                minutes(left)
            )))
        }
        ("end", false) => Message::new().line(
            Line::new()
                .push(who)
                .t(", your share time is up. Finish your thought; ")
                .cmd("circle next")
                .t(" hands the stick on when you're ready."),
        ),
        ("end", true) => {
            let message = move_on(&mut tx, platform, &circle, &before, (who, &people), now).await?;
            tx.commit().await.context("a circle's timer")?;
            let effect = moved_on_effect(&circle, message, &job.key);
            return Ok(Some(jobs::Due::Send(Delivery { community, effect })));
        }
        _ => return Ok(None),
    };
    tx.commit().await.context("a circle's timer")?;
    Ok(Some(jobs::Due::Send(Delivery {
        community,
        effect: Effect::Post {
            channel: circle.home_channel.clone(),
            message,
            key: Some(job.key.clone()),
        },
    })))
}

/// The turn and the notice (`warn` or `end`) a timer's key names:
/// `circle:{id}:turn:{turn}:{what}`.
fn turn_of(key: &str) -> Option<(i64, &str)> {
    let mut parts = key.split(':');
    let (Some("circle"), Some(_), Some("turn"), Some(turn), Some(what)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let turn = turn.parse::<i64>().ok()?;
    Some((turn, what))
}

/// The share time is up and the facilitator chose that the stick moves on
/// by itself: it does, saved with the next turn's timer; what the room reads.
async fn move_on(
    tx: &mut Tx,
    platform: Platform,
    circle: &Circle,
    before: &State,
    (who, people): (Span, &[Person]),
    now: DateTime<Utc>,
) -> Result<Message> {
    let mut state = before.clone();
    let events = state.next(unix(now));
    db::save(&mut *tx, circle.id, before, &state).await?;
    plan_timer(tx, platform, circle, before, &state).await?;
    let message = Message::new().line(Line::new().push(who).t(", your share time is up."));
    Ok(with_status(
        announce(message, &events, people, false),
        circle,
        &state,
        people,
        now,
    ))
}

/// The stick moved: its status message says so, edited in place when there is one.
fn moved_on_effect(circle: &Circle, message: Message, job_key: &str) -> Effect {
    match circle.status_message.clone() {
        Some(edit) => Effect::Status {
            channel: circle.home_channel.clone(),
            key: status_key(circle.id),
            message,
            edit: Some(edit),
        },
        None => Effect::Post {
            channel: circle.home_channel.clone(),
            message,
            key: Some(job_key.to_string()),
        },
    }
}

pub(super) fn unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}
