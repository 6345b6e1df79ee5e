//! The talking stick: a fair speaking order in a voice channel, room or
//! console channel. Commands, presence and the words people read; the turn
//! logic is the pure machine in [`state`], stored by [`db`].

pub(crate) mod db;
mod mutes;
pub mod state;
pub(crate) mod voice;

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

use self::db::{Circle, NewCircle, Person};
use self::state::{Event, Mode, Refusal, State, TurnEnd};
use crate::error::{Context, Error, Result, UserError};
use crate::io::{Delivery, Effect, Platform, Response};
use crate::jobs;
use crate::members::{Member, Within};
use crate::message::{Line, Message, Span};
use crate::store::Store;

pub use self::state::Refusal as CircleRefusal;

/// The shortest and longest share time.
const SHARE_MIN: i64 = 30;
const SHARE_MAX: i64 = 60 * 60;

/// The share timers of a circle's turns; the subject is the circle.
pub(crate) static JOB_KIND: jobs::Kind = jobs::Kind::capped("circle", jobs::Subject::Row("circles"));

/// Renders the talking stick's jobs when due; registered with the jobs
/// engine where the `Hearth` is built.
pub(crate) fn timers() -> jobs::Handler {
    static ALL: [&jobs::Kind; 2] = [&JOB_KIND, &PRESENCE_KIND];
    jobs::Handler::Each {
        kinds: &ALL,
        due: |store, job, now| {
            Box::pin(async move {
                if job.kind == PRESENCE_KIND.name {
                    presence_due(store, job, now).await
                } else {
                    due(store, job, now).await
                }
            })
        },
    }
}
/// The gentle notice comes this long before the end of a share (or halfway, for short ones).
const WARN_BEFORE: i64 = 30;

/// Who acts, and where.
pub(crate) struct Caller<'a> {
    pub platform: Platform,
    pub community: i64,
    /// The community's platform id (a guild id).
    pub guild: &'a str,
    pub channel: &'a str,
    pub me: &'a Member,
    /// A facilitator of the circle's group (or of every group), or an admin.
    pub facilitator: bool,
    /// The platform lets the caller mute others where they are.
    pub may_mute: bool,
    /// The running circle the command means, as [`target`] found it.
    pub circle: Option<i64>,
}

/// `/circle start` as typed.
pub(crate) struct Start<'a> {
    pub group: Option<i64>,
    pub mode: Option<&'a str>,
    pub share_time: Option<&'a str>,
    pub auto_advance: bool,
    pub mute_others: bool,
    /// The voice channel or call the facilitator is in, with who is there
    /// (held in memory until now), when the platform said so.
    pub seated: Option<Seated>,
}

/// A voice channel or call and its people, earliest first.
pub(crate) struct Seated {
    pub channel: String,
    pub people: Vec<Sitter>,
}

/// One person in a voice channel or call, as the platform told it.
pub(crate) struct Sitter {
    pub member: i64,
    /// Since when they are there: the circle's order follows it.
    pub since: DateTime<Utc>,
    /// When it lapses by itself unless renewed (a Matrix call membership).
    pub until: Option<DateTime<Utc>>,
    /// Whether the platform lets them mute others there: they are never muted.
    pub may_mute: bool,
}

/// The commands that act on a running circle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Join,
    Leave,
    Pass,
    Next,
    Raise,
    Lower,
    Mode(Mode),
    Status,
}

impl Refusal {
    /// What the person is told.
    pub fn line(self) -> Line {
        match self {
            Refusal::NotInCircle => Line::text("You're not in this circle. ")
                .cmd("circle join")
                .t(" joins it (or join its voice channel or call)."),
            Refusal::NotYourTurn => {
                Line::text("You can pass when you hold the stick or are next in line; there's nothing to pass now.")
            }
            Refusal::HandAlreadyRaised => Line::text("Your hand is already raised."),
            Refusal::NoHandRaised => Line::text("Your hand isn't raised."),
            Refusal::NoCircleHere => Line::text("There's no circle running here. A facilitator starts one with ")
                .cmd("circle start")
                .t("."),
            Refusal::AlreadyRunning => Line::text("A circle is already running here; ")
                .cmd("circle status")
                .t(" shows it."),
            Refusal::NotHolder => Line::text("Only the one holding the stick, or a facilitator, can hand it on."),
            Refusal::NoSuchCircle => Line::text("No circle with that number is running here. ")
                .cmd("circle status")
                .t(" shows the one you're in."),
            Refusal::InVoiceOnly => {
                Line::text("This circle runs in a voice channel or call: join it there, and you're in the circle.")
            }
        }
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::User(UserError::Refused(r.line()))
    }
}

/// One write transaction per input: circles are read, changed and saved
/// without another input slipping in between.
async fn begin(store: &Store) -> Result<Transaction<'static, Sqlite>> {
    jobs::write(store).await
}

/// The share timer of the turn now running: a gentle notice shortly before
/// the end and one at the end, as durable jobs keyed by turn. A turn that
/// ended takes its jobs with it.
async fn plan_timer(
    tx: &mut Transaction<'static, Sqlite>,
    platform: Platform,
    circle: &Circle,
    before: &State,
    state: &State,
) -> Result<()> {
    if before.turn == state.turn && before.holder == state.holder {
        return Ok(());
    }
    jobs::cancel(&mut **tx, JOB_KIND.name, circle.id).await?;
    let (Some(share), Some(holder), Some(started)) = (circle.share_secs, state.holder, state.turn_started_at) else {
        return Ok(());
    };
    let Some(started) = DateTime::from_timestamp(started, 0) else {
        return Ok(());
    };
    let warn_before = WARN_BEFORE.min(share / 2);
    for (what, at) in [("warn", share - warn_before), ("end", share)] {
        let key = format!("circle:{}:turn:{}:{what}", circle.id, state.turn);
        jobs::put(
            &mut **tx,
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
pub(crate) async fn due(store: &Store, job: &jobs::Job, now: DateTime<Utc>) -> Result<Option<jobs::Due>> {
    let mut parts = job.key.split(':');
    let (Some("circle"), Some(_), Some("turn"), Some(turn), Some(what)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    let Ok(turn) = turn.parse::<i64>() else { return Ok(None) };
    let mut tx = begin(store).await?;
    let Some(circle) = db::open_by_id(&mut tx, job.subject).await? else {
        return Ok(None);
    };
    let Some((platform, community)) = crate::members::community_of(&mut *tx, Within::Circle(circle.id)).await? else {
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
            let mut state = before.clone();
            let events = state.next(unix(now));
            db::save(&mut tx, circle.id, &before, &state).await?;
            plan_timer(&mut tx, platform, &circle, &before, &state).await?;
            let message = Message::new().line(Line::new().push(who).t(", your share time is up."));
            let message = with_status(
                announce(message, &events, &people, false),
                &circle,
                &state,
                &people,
                now,
            );
            tx.commit().await.context("a circle's timer")?;
            // The stick moved: its status message says so, edited in place when there is one.
            let effect = match circle.status_message.clone() {
                Some(edit) => Effect::Status {
                    channel: circle.home_channel.clone(),
                    key: status_key(circle.id),
                    message,
                    edit: Some(edit),
                },
                None => Effect::Post {
                    channel: circle.home_channel.clone(),
                    message,
                    key: Some(job.key.clone()),
                },
            };
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

fn unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// The running circle the command means, loaded in this input's transaction.
async fn find(tx: &mut Transaction<'static, Sqlite>, caller: &Caller<'_>) -> Result<Option<Circle>> {
    match caller.circle {
        Some(id) => db::open_in(tx, caller.community, id).await,
        None => Ok(None),
    }
}

/// The running circle a command means, by its number: the one `wanted`
/// names; else, of those run here (at this channel or started from it), the
/// one the caller is in, or the only one; with none here, the one the caller
/// is in. Several here and none of them the caller's: the caller is asked
/// which. Its group's facilitators are the ones who may steer it.
pub(crate) async fn target(
    store: &Store,
    community: i64,
    channel: &str,
    member: i64,
    wanted: Option<i64>,
) -> Result<Option<(i64, Option<i64>)>> {
    let mut conn = store.pool().acquire().await.context("finding a circle")?;
    if let Some(id) = wanted {
        return match db::open_in(&mut conn, community, id).await? {
            Some(c) => Ok(Some((c.id, c.group_id))),
            None => Err(Refusal::NoSuchCircle.into()),
        };
    }
    let here = db::open_here(&mut conn, community, channel).await?;
    let mine = db::open_with(&mut conn, community, member).await?;
    let found = match (here.as_slice(), mine) {
        ([], mine) => mine,
        (_, Some(mine)) if here.iter().any(|c| c.id == mine.id) => Some(mine),
        ([only], _) => Some(only.clone()),
        (several, _) => {
            let mut choices = Vec::new();
            for c in several {
                let group = match c.group_id {
                    Some(g) => Some(crate::groups::by_id(store, g).await?.name),
                    None => None,
                };
                choices.push((c.id, group));
            }
            return Err(UserError::WhichCircle { choices }.into());
        }
    };
    Ok(found.map(|c| (c.id, c.group_id)))
}

fn share_secs(typed: Option<&str>) -> Result<Option<i64>> {
    let Some(typed) = typed else { return Ok(None) };
    let bad = || UserError::BadValue {
        option: "share_time",
        why: "must be a duration from 30s to 60m, e.g. 3m or 90s",
    };
    let secs = humantime::parse_duration(typed.trim()).map_err(|_| bad())?.as_secs();
    let secs = i64::try_from(secs).map_err(|_| bad())?;
    if !(SHARE_MIN..=SHARE_MAX).contains(&secs) {
        return Err(bad().into());
    }
    Ok(Some(secs))
}

/// `/circle start`: a circle at the voice channel or call the facilitator is
/// in, else here; it begins with those present there, or with the
/// facilitator where the platform tells no presence.
pub(crate) async fn start(
    store: &Store,
    caller: &Caller<'_>,
    start: &Start<'_>,
    now: DateTime<Utc>,
) -> Result<Response> {
    let mode = start.mode.and_then(Mode::parse).unwrap_or(Mode::Round);
    let share_secs = share_secs(start.share_time)?;
    // Only Discord has server mute.
    let mute_others = start.mute_others && caller.platform == Platform::Discord;
    let mut tx = begin(store).await?;
    let voice = match &start.seated {
        Some(seated) => Some(seated.channel.clone()),
        None => db::voice_channel_of(&mut tx, caller.community, caller.me.id).await?,
    };
    // Hearth lends no power: muting others is for a voice channel, by one the
    // platform lets mute there.
    if mute_others && voice.is_none() {
        return Err(UserError::BadValue {
            option: "mute_others",
            why: "works only in a voice or stage channel: join the circle's voice channel first, then start it there",
        }
        .into());
    }
    if mute_others && !caller.may_mute {
        return Err(UserError::BadValue {
            option: "mute_others",
            why: "needs Discord's Mute Members permission in your voice channel, and you don't hold it there; \
                  start the circle without it, or ask a moderator",
        }
        .into());
    }
    let in_voice = voice.is_some();
    let channel = voice.unwrap_or_else(|| caller.channel.to_string());
    if db::open_at(&mut tx, caller.community, &channel).await?.is_some() {
        return Err(Refusal::AlreadyRunning.into());
    }
    let circle = db::create(
        &mut tx,
        &NewCircle {
            community: caller.community,
            channel: &channel,
            home_channel: caller.channel,
            group: start.group,
            facilitator: caller.me.id,
            mode,
            share_secs,
            // Mutes follow a stick handed on by a person; a timer moving it
            // would leave the next speaker muted.
            auto_advance: start.auto_advance && share_secs.is_some() && !mute_others,
            mute_others,
            in_voice,
        },
        now,
    )
    .await?;
    // From now on, while the circle runs, who is here is recorded.
    // Stored in whole seconds, so those who came within one second are
    // recorded in the order they came (then by member): the row order
    // breaks `since`'s ties.
    let mut sitters: Vec<_> = start.seated.iter().flat_map(|s| &s.people).collect();
    sitters.sort_by_key(|s| (s.since, s.member));
    for sitter in sitters {
        // Recorded as of when they sat down, so the round goes in the order they came.
        record_presence(
            &mut tx,
            caller.platform,
            caller.community,
            &channel,
            sitter.member,
            sitter.may_mute,
            sitter.until,
            sitter.since.min(now),
        )
        .await?;
    }
    let mut present = db::present_in(&mut tx, caller.community, &channel).await?;
    if present.is_empty() {
        present.push(caller.me.id);
    }
    let before = State::new(mode);
    let mut state = before.clone();
    let mut events = Vec::new();
    for member in present {
        events.extend(state.join(member, unix(now)));
    }
    db::save(&mut tx, circle.id, &before, &state).await?;
    plan_timer(&mut tx, caller.platform, &circle, &before, &state).await?;
    let people = db::people(&mut tx, circle.id).await?;
    let mutes = mutes::plan(
        &mut tx,
        &circle,
        caller.community,
        caller.guild,
        &state,
        &people,
        false,
        now,
    )
    .await?;
    tx.commit().await.context("starting a circle")?;
    tracing::info!(circle = circle.id, community = caller.community, "circle started");

    let mut message = Message::titled("Talking circle").line(Line::text(
        "A talking circle has begun. Share as much or as little as you like; passing is always okay.",
    ));
    message = message.text(mode_words(mode));
    if let Some(secs) = circle.share_secs {
        let after = if circle.auto_advance {
            "and the stick moves on at the end"
        } else {
            "then the holder hands the stick on when ready"
        };
        message = message.text(format!(
            "Each share has {}; I'll give a gentle notice shortly before the end, {after}.",
            minutes(secs)
        ));
    }
    if start.mute_others && !circle.mute_others {
        message = message.text("Muting others works on Discord only; this circle runs without it.");
    } else if circle.mute_others {
        message =
            message.text("Everyone but the one holding the stick and the facilitator is muted while the circle runs.");
        if start.auto_advance {
            message = message
                .text("With muting on, the stick moves on only when handed on, so no one begins their turn muted.");
        }
    }
    let mut response = Response::public(message).with_effect(status_effect(&circle, &state, &people, &events, now));
    response.effects.extend(mutes);
    Ok(response)
}

/// Any command on a running circle.
pub(crate) async fn act(store: &Store, caller: &Caller<'_>, action: Action, now: DateTime<Utc>) -> Result<Response> {
    let mut tx = begin(store).await?;
    let Some(circle) = find(&mut tx, caller).await? else {
        return Err(Refusal::NoCircleHere.into());
    };
    let before = db::load(&mut tx, circle.id).await?;
    let mut state = before.clone();
    let me = caller.me.id;
    let t = unix(now);
    let events = match action {
        Action::Status => Vec::new(),
        Action::Join => {
            // A voice circle is those in its channel or call; nobody joins it from elsewhere.
            if circle.in_voice && !db::in_voice_at(&mut tx, caller.community, &circle.channel, me).await? {
                return Err(Refusal::InVoiceOnly.into());
            }
            state.join(me, t)
        }
        Action::Leave => {
            if !state.is_present(me) {
                return Err(Refusal::NotInCircle.into());
            }
            state.leave(me, t)
        }
        Action::Pass => state.pass(me, t)?,
        Action::Next => {
            if state.holder != Some(me) && !caller.facilitator {
                return Err(Refusal::NotHolder.into());
            }
            state.next(t)
        }
        Action::Raise => state.raise(me, t)?,
        Action::Lower => state.lower(me)?,
        Action::Mode(mode) => state.set_mode(mode, t),
    };
    if state != before {
        db::save(&mut tx, circle.id, &before, &state).await?;
        plan_timer(&mut tx, caller.platform, &circle, &before, &state).await?;
    }
    let people = db::people(&mut tx, circle.id).await?;
    let mutes = if state != before {
        mutes::plan(
            &mut tx,
            &circle,
            caller.community,
            caller.guild,
            &state,
            &people,
            false,
            now,
        )
        .await?
    } else {
        Vec::new()
    };
    tx.commit().await.context("saving a circle")?;

    if action == Action::Status {
        return Ok(Response::private(with_status(
            Message::new(),
            &circle,
            &state,
            &people,
            now,
        )));
    }
    let mut told = announce(Message::new(), &events, &people, true);
    told.pings.clear();
    if told.lines.is_empty() {
        told = told.text("You're already in the circle.");
    }
    let mut response = Response::private(told).with_effect(status_effect(&circle, &state, &people, &events, now));
    response.effects.extend(mutes);
    Ok(response)
}

/// The circle's status message, edited in place once it has been posted.
fn status_effect(circle: &Circle, state: &State, people: &[Person], events: &[Event], now: DateTime<Utc>) -> Effect {
    Effect::Status {
        channel: circle.home_channel.clone(),
        key: status_key(circle.id),
        message: with_status(
            announce(Message::new(), events, people, false),
            circle,
            state,
            people,
            now,
        ),
        edit: circle.status_message.clone(),
    }
}

fn status_key(circle: i64) -> String {
    format!("circle:{circle}:status")
}

/// An adapter posted a circle's status message: later changes edit it.
pub(crate) async fn status_posted(store: &Store, key: &str, message_id: &str) -> Result<()> {
    let circle = key
        .strip_prefix("circle:")
        .and_then(|rest| rest.strip_suffix(":status"))
        .and_then(|id| id.parse::<i64>().ok());
    let Some(circle) = circle else {
        return Ok(());
    };
    let mut conn = store.pool().acquire().await.context("recording a status message")?;
    db::set_status_message(&mut conn, circle, message_id).await
}

/// `/circle end`: the room hears thanks; the facilitator alone gets the balance.
pub(crate) async fn end(store: &Store, caller: &Caller<'_>, now: DateTime<Utc>) -> Result<Response> {
    let mut tx = begin(store).await?;
    let Some(circle) = find(&mut tx, caller).await? else {
        return Err(Refusal::NoCircleHere.into());
    };
    let before = db::load(&mut tx, circle.id).await?;
    let mut state = before.clone();
    state.end(unix(now));
    db::save(&mut tx, circle.id, &before, &state).await?;
    db::end(&mut tx, circle.id, now).await?;
    jobs::cancel(&mut *tx, JOB_KIND.name, circle.id).await?;
    let people = db::people(&mut tx, circle.id).await?;
    let mutes = mutes::plan(
        &mut tx,
        &circle,
        caller.community,
        caller.guild,
        &state,
        &people,
        true,
        now,
    )
    .await?;
    tx.commit().await.context("ending a circle")?;
    tracing::info!(circle = circle.id, "circle ended");

    let thanks = Message::titled("Talking circle").text("The circle has ended. Thank you all for being here.");
    let mut response = Response::private(summary(&circle, &state, &people, now)).with_effect(Effect::Post {
        channel: circle.home_channel.clone(),
        message: thanks,
        key: Some(format!("circle:{}:end", circle.id)),
    });
    // The status message stays, without its buttons, saying it is over.
    if let Some(edit) = circle.status_message.clone() {
        response = response.with_effect(Effect::Status {
            channel: circle.home_channel.clone(),
            key: status_key(circle.id),
            message: Message::titled("Talking circle").text("This circle has ended."),
            edit: Some(edit),
        });
    }
    response.effects.extend(mutes);
    Ok(response)
}

/// Whether someone is in a voice channel or call, and whether the platform
/// lets them mute others there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Here {
    pub present: bool,
    pub may_mute: bool,
}

/// Someone joined or left a voice channel or call: recorded, and if a circle
/// runs there they join or leave it. The room hears of it only when the
/// stick moves. A presence that ends by itself (`until`) has a job that lets
/// the person leave then, unless a renewal moved its end.
#[expect(clippy::too_many_arguments, reason = "who, where and when, each plain")]
pub(crate) async fn presence(
    store: &Store,
    platform: Platform,
    community: i64,
    guild: &str,
    channel: &str,
    me: &Member,
    here: Here,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Response> {
    let mut tx = begin(store).await?;
    let response = presence_in(&mut tx, platform, community, guild, channel, me.id, here, until, now).await?;
    tx.commit().await.context("recording presence")?;
    Ok(response)
}

#[expect(clippy::too_many_arguments, reason = "who, where and when, each plain")]
async fn presence_in(
    tx: &mut Transaction<'static, Sqlite>,
    platform: Platform,
    community: i64,
    guild: &str,
    channel: &str,
    member: i64,
    here: Here,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Response> {
    let present = here.present;
    // Presence is kept only where a circle runs (see `voice`).
    let running = db::open_at(tx, community, channel)
        .await?
        .filter(|c| c.channel == channel);
    if !present {
        db::set_presence(tx, community, channel, member, false, here.may_mute, None, now).await?;
    } else if running.is_some() {
        record_presence(tx, platform, community, channel, member, here.may_mute, until, now).await?;
    }
    // Someone the bot left muted (their circle ended while they were away) is unmuted on return.
    let stale = if present {
        mutes::stale_for(tx, community, guild, member).await?
    } else {
        Vec::new()
    };
    let Some(circle) = running else {
        return Ok(Response {
            reply: None,
            effects: stale,
        });
    };
    let before = db::load(tx, circle.id).await?;
    let mut state = before.clone();
    let events = if present {
        state.join(member, unix(now))
    } else {
        state.leave(member, unix(now))
    };
    if state != before {
        db::save(tx, circle.id, &before, &state).await?;
        plan_timer(tx, platform, &circle, &before, &state).await?;
    }
    let people = db::people(tx, circle.id).await?;
    let mutes = mutes::plan(tx, &circle, community, guild, &state, &people, false, now).await?;
    let mut response = Response {
        reply: None,
        effects: stale,
    };
    if !events.is_empty() {
        response
            .effects
            .push(status_effect(&circle, &state, &people, &events, now));
    }
    response.effects.extend(mutes);
    Ok(response)
}

/// Records `member` as present in `channel`, where a circle runs; a presence
/// that ends by itself (`until`) gets a job that lets them leave then.
#[expect(clippy::too_many_arguments, reason = "who, where and when, each plain")]
async fn record_presence(
    tx: &mut Transaction<'static, Sqlite>,
    platform: Platform,
    community: i64,
    channel: &str,
    member: i64,
    may_mute: bool,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    // Jobs and the record keep whole seconds: round up, never end a presence early.
    let until = until.map(|u| match u.timestamp_subsec_nanos() {
        0 => u,
        _ => DateTime::from_timestamp(u.timestamp() + 1, 0).unwrap_or(u),
    });
    db::set_presence(tx, community, channel, member, true, may_mute, until, now).await?;
    if let Some(until) = until {
        // Keyed by its end: a renewal is a job of its own, and the old one finds nothing lapsed.
        let key = format!("{}:{community}:{member}:{}", PRESENCE_KIND.name, until.timestamp());
        jobs::put(
            &mut **tx,
            &jobs::NewJob {
                key: &key,
                kind: PRESENCE_KIND.name,
                due: until,
                platform,
                subject: community,
                member: Some(member),
            },
        )
        .await?;
    }
    Ok(())
}

/// Whether a circle runs in `channel` (a voice channel, call or room).
pub(crate) async fn runs_at(store: &Store, community: i64, channel: &str) -> Result<bool> {
    let mut conn = store.pool().acquire().await.context("finding a circle")?;
    Ok(db::open_at(&mut conn, community, channel)
        .await?
        .is_some_and(|c| c.channel == channel))
}

/// The jobs that end a presence at its platform-given end; the subject is
/// the community.
pub(crate) static PRESENCE_KIND: jobs::Kind = jobs::Kind::capped("presence", jobs::Subject::Row("communities"));

/// A presence's end falls due: if it has not been renewed (nor ended), the
/// person leaves, as if the platform had said so; the circle's status
/// message, edited, is what the room sees.
pub(crate) async fn presence_due(store: &Store, job: &jobs::Job, now: DateTime<Utc>) -> Result<Option<jobs::Due>> {
    let Some(member) = job.member_id else { return Ok(None) };
    let community = job.subject;
    let mut tx = begin(store).await?;
    let Some((platform, external)) = crate::members::community_of(&mut *tx, Within::Community(community)).await? else {
        return Ok(None);
    };
    let mut effects = Vec::new();
    for channel in db::lapsed(&mut tx, community, member, now).await? {
        tracing::info!(job = job.id, kind = "presence lapsed", "presence");
        let gone = Here {
            present: false,
            may_mute: false,
        };
        let left = presence_in(
            &mut tx, platform, community, &external, &channel, member, gone, None, now,
        )
        .await?;
        effects.extend(left.effects);
    }
    tx.commit().await.context("ending a lapsed presence")?;
    // One delivery per job: the status message, which names who left and where the stick is.
    Ok(effects
        .into_iter()
        .find(|e| matches!(e, Effect::Status { .. }))
        .map(|effect| {
            jobs::Due::Send(Delivery {
                community: external,
                effect,
            })
        }))
}

/// A platform carried out (or could not) a mute or unmute.
pub(crate) async fn muted(
    store: &Store,
    community: i64,
    member: i64,
    mute: bool,
    stage: bool,
    report: crate::io::MuteReport,
) -> Result<Response> {
    let mut tx = begin(store).await?;
    let effects = mutes::reported(&mut tx, community, member, mute, stage, report).await?;
    tx.commit().await.context("recording a mute")?;
    Ok(Response { reply: None, effects })
}

/// Every mute the bot holds on `platform`, as unmutes: at start-up and shutdown.
/// Unmutes for the server mutes the bot holds on one member (before `/forgetme`).
pub(crate) async fn mutes_of_member(store: &Store, member: i64) -> Result<Vec<Effect>> {
    let mut conn = store.pool().acquire().await.context("reading recorded mutes")?;
    mutes::of_member(&mut conn, member).await
}

pub(crate) async fn mutes_to_release(store: &Store, platform: Platform) -> Result<Vec<Effect>> {
    let mut conn = store.pool().acquire().await.context("reading recorded mutes")?;
    mutes::all(&mut conn, platform).await
}

/// Everyone the core has in a voice channel or call of this community: (platform id, name).
pub(crate) async fn in_voice(store: &Store, community: i64) -> Result<Vec<(String, String)>> {
    sqlx::query_as(
        "SELECT DISTINCT m.external_id, m.display_name FROM voice_presence v JOIN members m ON m.id = v.member_id
         WHERE v.community_id = ?",
    )
    .bind(community)
    .fetch_all(store.pool())
    .await
    .context("listing who is in voice")
}

/// The voice channels or calls `member` is recorded in, in this community.
pub(crate) async fn voice_channels_of(store: &Store, community: i64, member: i64) -> Result<Vec<String>> {
    let mut conn = store.pool().acquire().await.context("finding voice channels")?;
    db::voice_channels_of(&mut conn, community, member).await
}

fn mode_words(mode: Mode) -> &'static str {
    match mode {
        Mode::Round => "Round: we go around in the order people joined; newcomers join the end of the round.",
        Mode::Queue => "Queue: raise a hand to speak; first raised, first heard.",
        Mode::Balanced => "Balanced: raise a hand to speak; whoever has spoken least goes first.",
    }
}

fn person(people: &[Person], member: i64) -> Span {
    match people.iter().find(|p| p.id == member) {
        Some(p) => Span::User {
            id: p.external_id.clone(),
            name: p.display_name.clone(),
        },
        None => Span::text("someone"),
    }
}

fn name(people: &[Person], member: i64) -> String {
    people
        .iter()
        .find(|p| p.id == member)
        .map_or_else(|| "someone".to_string(), |p| p.display_name.clone())
}

/// `m:ss`.
fn clock(secs: i64) -> String {
    let secs = secs.max(0);
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// "3 min", "90 s", "2 min 30 s".
fn minutes(secs: i64) -> String {
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// The events as kind, plain sentences; the new holder is the one pinged.
fn announce(mut message: Message, events: &[Event], people: &[Person], joins: bool) -> Message {
    for event in events {
        let line = match *event {
            Event::Given { member } => {
                if let Some(p) = people.iter().find(|p| p.id == member) {
                    message.pings.push(p.external_id.clone());
                }
                Line::new().push(person(people, member)).t(" has the stick.")
            }
            Event::Ended {
                member,
                how: TurnEnd::Shared,
                ..
            } => Line::text(format!("Thank you, {}.", name(people, member))),
            Event::Ended {
                member,
                how: TurnEnd::Passed,
                ..
            }
            | Event::PassedAhead { member } => {
                Line::text(format!("{} passed — that's always okay.", name(people, member)))
            }
            Event::Ended {
                member,
                how: TurnEnd::Left,
                ..
            } => Line::text(format!("{} left; the stick moves on.", name(people, member))),
            Event::Joined { member } if joins => Line::text(format!("{} joined the circle.", name(people, member))),
            Event::Joined { .. } => continue,
            Event::Left { member } => Line::text(format!("{} left the circle.", name(people, member))),
            Event::HandRaised { member } => Line::text(format!("{} raised a hand.", name(people, member))),
            Event::HandLowered { member } => Line::text(format!("{} lowered their hand.", name(people, member))),
            Event::ModeChanged { mode } => Line::text(format!("Now in {} mode. {}", mode.as_str(), mode_words(mode))),
        };
        message = message.line(line);
    }
    message
}

/// The status of the stick: holder, time, who is next, the queue; with buttons.
fn with_status(mut message: Message, circle: &Circle, state: &State, people: &[Person], now: DateTime<Utc>) -> Message {
    if message.title.is_none() {
        message.title = Some("Talking circle".into());
    }
    let holder = match state.holder {
        Some(h) => {
            let elapsed = state.elapsed(unix(now)).unwrap_or(0);
            let time = match circle.share_secs {
                Some(share) if elapsed <= share => format!(" ({} left)", clock(share - elapsed)),
                Some(_) => " (time is up)".to_string(),
                None => format!(" (speaking {})", clock(elapsed)),
            };
            Line::text(name(people, h)).t(time)
        }
        None => Line::text(match state.mode {
            Mode::Round => "nobody yet",
            Mode::Queue | Mode::Balanced => "nobody; raise a hand to speak",
        }),
    };
    message = message.field("Holding the stick", holder);
    if let Some(next) = state.next_up() {
        message = message.field("Next", Line::text(name(people, next)));
    }
    let hands: Vec<String> = state.queue().iter().map(|p| name(people, p.member)).collect();
    if !hands.is_empty() {
        message = message.field("Raised hands", Line::text(hands.join(", ")));
    }
    let here = state.present().count();
    message = message.field(
        "Circle",
        Line::text(format!(
            "#{} · {} mode · {here} {}",
            circle.id,
            state.mode.as_str(),
            if here == 1 { "person" } else { "people" }
        )),
    );
    // Each button names its circle: two circles' cards in one channel act apart.
    let id = circle.id;
    message
        .button("Raise hand", "✋", format!("hand raise circle:{id}"))
        .button("Lower hand", "👇", format!("hand lower circle:{id}"))
        .button("Pass", "🙏", format!("circle pass circle:{id}"))
        .button("Next", "➡️", format!("circle next circle:{id}"))
}

/// The facilitator's private balance: counts and minutes, nothing said.
fn summary(circle: &Circle, state: &State, people: &[Person], now: DateTime<Utc>) -> Message {
    let took_part: Vec<_> = state
        .participants
        .iter()
        .filter(|p| p.shares + p.passes > 0 || p.present)
        .collect();
    let shares: i64 = took_part.iter().map(|p| p.shares).sum();
    let passes: i64 = took_part.iter().map(|p| p.passes).sum();
    let ran = (now - circle.started_at).num_seconds();
    let mut message = Message::titled("Circle summary (only you see this)").text(format!(
        "The circle ran {} with {} {}: {shares} {}, {passes} {}.",
        if ran < 60 {
            "under a minute".to_string()
        } else {
            minutes(ran - ran % 60)
        },
        took_part.len(),
        if took_part.len() == 1 { "person" } else { "people" },
        if shares == 1 { "share" } else { "shares" },
        if passes == 1 { "pass" } else { "passes" },
    ));
    for p in &took_part {
        message = message.text(format!(
            "{}: {} {}, {} {}, {} speaking",
            name(people, p.member),
            p.shares,
            if p.shares == 1 { "share" } else { "shares" },
            p.passes,
            if p.passes == 1 { "pass" } else { "passes" },
            clock(p.spoken_secs),
        ));
    }
    message.text("Hearth keeps these counts and times only; nothing of what was said.")
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
