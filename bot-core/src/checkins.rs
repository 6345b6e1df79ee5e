//! Check-ins: how a member says "this is how I am today", to themselves and,
//! in aggregate only, to a group's facilitators (`/checkin
//! share|history|schedule|remind|summary`), and the prompts that ask for them.
//!
//! Privacy rules this module keeps: a note is read back to its author alone
//! and never logged, nor is who checked in, where or when; only a group's
//! members count in it; a summary covers a whole past week only (so asking
//! again never gives another answer to subtract), each person once, and
//! shows only when at least [`MIN_ANSWERERS`](summary::MIN_ANSWERERS) people
//! other than the asker answered with a mood; a pass is its own answer, never
//! a low mood. Where a button press shows to the room, a group's prompt
//! carries no mood buttons.
//!
//! In parts: `asking` (the mood buttons and the messages that ask), `share`
//! (an answer, and telling facilitators), `history`, `summary` (closed weeks,
//! and what stays of an erased member's), `settings` (`/checkin remind`),
//! `plan` (a group's prompt series and a member's daily prompt as jobs) and
//! `schedule` (`/checkin schedule`).

mod asking;
mod history;
mod plan;
mod schedule;
mod settings;
mod share;
mod summary;

use chrono::{DateTime, Utc};

use crate::error::{Context, Error, Result};
use crate::groups::Group;
use crate::io::{Platform, Response};
use crate::members::{Community, Member};
use crate::parse::Bound;
use crate::store::Store;

#[cfg(test)]
use asking::mood_words;
pub(crate) use plan::{meetings_moved, member_moved, prompts, stop_group};
pub(crate) use settings::quiet_note;
pub(crate) use summary::{closed_weeks_of, keep};

/// The `/checkin` commands, as the core handles them.
pub(crate) enum Cmd<'a> {
    Share {
        mood: Option<&'static str>,
        note: Option<&'a str>,
        prompt: Option<&'a str>,
    },
    History,
    Schedule {
        when: &'a str,
        repeat: Option<&'a str>,
        question: Option<&'a str>,
        /// With `when:off`, the one schedule to stop.
        only: Option<i64>,
    },
    Remind {
        time: Option<&'a str>,
        tell: Option<&'static str>,
    },
    Summary,
}

impl<'a> Cmd<'a> {
    pub(crate) fn from_bound(b: &'a Bound) -> Option<Self> {
        Some(match b.spec.name {
            "checkin share" => Cmd::Share {
                mood: b.choice("mood"),
                note: b.text("note"),
                prompt: b.text("prompt"),
            },
            "checkin history" => Cmd::History,
            "checkin schedule" => Cmd::Schedule {
                when: b.text("when")?,
                repeat: b.text("repeat"),
                question: b.text("question"),
                only: b.int("schedule"),
            },
            "checkin remind" => Cmd::Remind {
                time: b.text("time"),
                tell: b.choice("tell_facilitators"),
            },
            "checkin summary" => Cmd::Summary,
            _ => return None,
        })
    }
}

/// Who asks, and from where.
pub(crate) struct Asker<'a> {
    pub me: &'a Member,
    pub community: &'a Community,
    pub platform: Platform,
}

/// Whether a command changed what the scheduler has to do: its writes and
/// the plan they imply were committed together.
pub(crate) type Planned = bool;

/// Runs a `/checkin` command. `group` is the resolved `group` option.
pub(crate) async fn run(
    store: &Store,
    cmd: Cmd<'_>,
    asker: &Asker<'_>,
    group: Option<&Group>,
    now: DateTime<Utc>,
) -> Result<(Response, Planned)> {
    let the_group = || {
        group.ok_or(Error::Internal {
            context: "running a check-in command",
            source: "group option not resolved".into(),
        })
    };
    let zone = asker.me.zone().unwrap_or(asker.community.zone());
    Ok(match cmd {
        Cmd::Share { mood, note, prompt } => {
            let said = share::Said { mood, note, prompt };
            (share::share(store, asker.me, group, said, now).await?, false)
        }
        Cmd::History => (
            Response::private(history::history(store, asker.me, zone, now).await?),
            false,
        ),
        Cmd::Schedule {
            when,
            repeat,
            question,
            only,
        } => {
            let options = schedule::Options {
                when,
                repeat,
                question,
                only,
            };
            let me = (asker.me, asker.platform);
            schedule::command(store, me, the_group()?, &options, zone, now).await?
        }
        Cmd::Remind { time, tell } => remind(store, asker, (time, tell), zone, now).await?,
        Cmd::Summary => (
            Response::private(summary::summary(store, the_group()?, asker.me.id, now).await?),
            false,
        ),
    })
}

/// `/checkin remind`: the settings and the daily prompt they plan, in one write.
async fn remind(
    store: &Store,
    asker: &Asker<'_>,
    (time, tell): (Option<&str>, Option<&str>),
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<(Response, Planned)> {
    let mut tx = store.write().await.context("starting check-in settings")?;
    let message = settings::remind(&mut tx, (asker.me, asker.community.id), time, tell, zone).await?;
    if time.is_some() {
        plan::plan_member_prompt(&mut tx, asker.me.id, now).await?;
    }
    tx.commit().await.context("committing check-in settings")?;
    Ok((Response::private(message), time.is_some()))
}

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod summary_props;
