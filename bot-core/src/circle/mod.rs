//! The talking stick: a fair speaking order in a voice channel, room or
//! console channel. The commands are here; who is in the voice channel or
//! call in `presence`, a turn's share timer in `timer`, the words people
//! read in `words` and server mutes in `mutes`; the turn logic is the
//! pure machine in [`state`], stored by [`db`].

pub(crate) mod db;
mod mutes;
mod presence;
pub mod state;
mod timer;
pub(crate) mod voice;
mod words;

use chrono::{DateTime, Utc};

use self::db::{Circle, NewCircle, Person};
use self::presence::{PRESENCE_KIND, presence_due, record_presence};
use self::state::{Event, Mode, Refusal, State};
use self::timer::{JOB_KIND, begin, due, plan_timer, unix};
use self::words::{announce, minutes, mode_words, status_effect, status_key, summary, with_status};
use crate::error::{Context, Error, Result, UserError};
use crate::io::{Effect, Platform, Response};
use crate::jobs;
use crate::members::Member;
use crate::message::{Line, Message};
use crate::store::{Store, Tx, query_as};

pub(crate) use self::presence::{Here, presence, runs_at};
pub use self::state::Refusal as CircleRefusal;

/// The shortest and longest share time.
const SHARE_MIN: i64 = 30;
const SHARE_MAX: i64 = 60 * 60;

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
    /// Where no voice channel or call says who is there: those who were in
    /// the meeting's last circle, so each step's stick does not ask everyone
    /// to join again.
    pub carried: Vec<i64>,
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

/// The running circle the command means, loaded in this input's transaction.
async fn find(tx: &mut Tx, caller: &Caller<'_>) -> Result<Option<Circle>> {
    match caller.circle {
        Some(id) => db::open_in(&mut *tx, caller.community, id).await,
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
    let mut conn = store.acquire().await.context("finding a circle")?;
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
    Ok(start_numbered(store, caller, start, now).await?.1)
}

/// [`start`], with the new circle's number.
pub(crate) async fn start_numbered(
    store: &Store,
    caller: &Caller<'_>,
    start: &Start<'_>,
    now: DateTime<Utc>,
) -> Result<(i64, Response)> {
    let mode = start.mode.and_then(Mode::parse).unwrap_or(Mode::Round);
    let share_secs = share_secs(start.share_time)?;
    // Only Discord has server mute.
    let mute_others = start.mute_others && caller.platform == Platform::Discord;
    let mut tx = begin(store).await?;
    let (channel, in_voice) = where_to_sit(&mut tx, caller, start, mute_others).await?;
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
    let sat = seat(&mut tx, caller, start.seated.as_ref(), &channel, now).await?;
    let carried = if in_voice { &[][..] } else { &start.carried[..] };
    let (state, events, people, mutes) =
        first_round(&mut tx, caller, &circle, (&channel, mode, &sat, carried), now).await?;
    tx.commit().await.context("starting a circle")?;
    tracing::info!(circle = circle.id, community = caller.community, "circle started");

    let message = welcome(&circle, start, mode);
    let mut response = Response::public(message).with_effect(status_effect(&circle, &state, &people, &events, now));
    response.effects.extend(mutes);
    Ok((circle.id, response))
}

/// Who is present in a circle now, in join order (ended or not).
pub(crate) async fn present(store: &Store, circle: i64) -> Result<Vec<i64>> {
    Ok(db::load(store, circle).await?.present().map(|p| p.member).collect())
}

/// Where a new circle runs: the voice channel or call the facilitator is
/// in, else the channel they typed in; and whether it is a voice one.
/// Refused when muting is asked for where it cannot be, or a circle already
/// runs there.
async fn where_to_sit(
    tx: &mut Tx,
    caller: &Caller<'_>,
    start: &Start<'_>,
    mute_others: bool,
) -> Result<(String, bool)> {
    let voice = match &start.seated {
        Some(seated) => Some(seated.channel.clone()),
        None => db::voice_channel_of(&mut *tx, caller.community, caller.me.id).await?,
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
    if db::open_at(&mut *tx, caller.community, &channel).await?.is_some() {
        return Err(Refusal::AlreadyRunning.into());
    }
    Ok((channel, in_voice))
}

/// From now on, while the circle runs, who is here is recorded: those the
/// platform said are seated, each as of when they sat down, so the round
/// goes in the order they came. Returns them in that order.
async fn seat(
    tx: &mut Tx,
    caller: &Caller<'_>,
    seated: Option<&Seated>,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    // Stored in whole seconds, so those who came within one second are
    // told apart by this order (then by member): `first_round` breaks
    // `since`'s ties with it.
    let mut sitters: Vec<_> = seated.iter().flat_map(|s| &s.people).collect();
    sitters.sort_by_key(|s| (s.since, s.member));
    let order = sitters.iter().map(|s| s.member).collect();
    for sitter in sitters {
        // Recorded as of when they sat down, so the round goes in the order they came.
        record_presence(
            tx,
            caller.platform,
            caller.community,
            channel,
            sitter.member,
            sitter.may_mute,
            sitter.until,
            sitter.since.min(now),
        )
        .await?;
    }
    Ok(order)
}

/// The new circle's first round: those present join it (the facilitator
/// alone where the platform tells no presence), in the order they came
/// (`sat`: those just seated, in order, for ties within a second), saved
/// with its timer; the state, what happened, its people and the mutes to
/// carry out.
async fn first_round(
    tx: &mut Tx,
    caller: &Caller<'_>,
    circle: &Circle,
    (channel, mode, sat, carried): (&str, Mode, &[i64], &[i64]),
    now: DateTime<Utc>,
) -> Result<(State, Vec<Event>, Vec<Person>, Vec<Effect>)> {
    let mut present = db::present_in(&mut *tx, caller.community, channel).await?;
    present.sort_by_key(|&(member, since)| {
        let came = sat.iter().position(|&m| m == member).unwrap_or(usize::MAX);
        (since, came, member)
    });
    let mut present: Vec<i64> = present.into_iter().map(|(member, _)| member).collect();
    for &member in carried {
        if !present.contains(&member) {
            present.push(member);
        }
    }
    if present.is_empty() {
        present.push(caller.me.id);
    }
    let before = State::new(mode);
    let mut state = before.clone();
    let mut events = Vec::new();
    for member in present {
        events.extend(state.join(member, unix(now)));
    }
    db::save(&mut *tx, circle.id, &before, &state).await?;
    plan_timer(tx, caller.platform, circle, &before, &state).await?;
    let people = db::people(&mut *tx, circle.id).await?;
    let mutes = mutes::plan(
        &mut *tx,
        circle,
        caller.community,
        caller.guild,
        &state,
        &people,
        false,
        now,
    )
    .await?;
    Ok((state, events, people, mutes))
}

/// What the room is told as a circle begins: its mode, its share time and
/// whether others are muted.
fn welcome(circle: &Circle, start: &Start<'_>, mode: Mode) -> Message {
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
    message
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
/// An adapter posted a circle's status message: later changes edit it.
pub(crate) async fn status_posted(store: &Store, key: &str, message_id: &str) -> Result<()> {
    let circle = key
        .strip_prefix("circle:")
        .and_then(|rest| rest.strip_suffix(":status"))
        .and_then(|id| id.parse::<i64>().ok());
    let Some(circle) = circle else {
        return Ok(());
    };
    db::set_status_message(store, circle, message_id).await
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
    jobs::cancel(&mut tx, JOB_KIND.name, circle.id).await?;
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
    mutes::of_member(store, member).await
}

pub(crate) async fn mutes_to_release(store: &Store, platform: Platform) -> Result<Vec<Effect>> {
    mutes::all(store, platform).await
}

/// Everyone the core has in a voice channel or call of this community: (platform id, name).
pub(crate) async fn in_voice(store: &Store, community: i64) -> Result<Vec<(String, String)>> {
    query_as(
        "SELECT DISTINCT m.external_id, m.display_name FROM voice_presence v JOIN members m ON m.id = v.member_id
         WHERE v.community_id = ? ORDER BY m.external_id, m.display_name",
    )
    .bind(community)
    .fetch_all(store)
    .await
    .context("listing who is in voice")
}

/// The voice channels or calls `member` is recorded in, in this community.
pub(crate) async fn voice_channels_of(store: &Store, community: i64, member: i64) -> Result<Vec<String>> {
    db::voice_channels_of(store, community, member).await
}
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
