//! Who is in a voice channel or call: recorded while a circle runs there,
//! joining and leaving it, and a presence's platform-given end.

use chrono::{DateTime, Utc};

use super::db;
use super::mutes;
use super::timer::{begin, plan_timer, unix};
use super::words::status_effect;
use crate::error::{Context, Result};
use crate::io::{Delivery, Effect, Platform, Response};
use crate::jobs;
use crate::members::{Member, Within};
use crate::store::{Store, Tx};

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
    tx: &mut Tx,
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
    let running = db::open_at(&mut *tx, community, channel)
        .await?
        .filter(|c| c.channel == channel);
    if !present {
        db::set_presence(&mut *tx, community, channel, member, false, here.may_mute, None, now).await?;
    } else if running.is_some() {
        record_presence(tx, platform, community, channel, member, here.may_mute, until, now).await?;
    }
    // Someone the bot left muted (their circle ended while they were away) is unmuted on return.
    let stale = if present {
        mutes::stale_for(&mut *tx, community, guild, member).await?
    } else {
        Vec::new()
    };
    let Some(circle) = running else {
        return Ok(Response {
            reply: None,
            effects: stale,
        });
    };
    let before = db::load(&mut *tx, circle.id).await?;
    let mut state = before.clone();
    let events = if present {
        state.join(member, unix(now))
    } else {
        state.leave(member, unix(now))
    };
    if state != before {
        db::save(&mut *tx, circle.id, &before, &state).await?;
        plan_timer(tx, platform, &circle, &before, &state).await?;
    }
    let people = db::people(&mut *tx, circle.id).await?;
    let mutes = mutes::plan(&mut *tx, &circle, community, guild, &state, &people, false, now).await?;
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
pub(super) async fn record_presence(
    tx: &mut Tx,
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
    db::set_presence(&mut *tx, community, channel, member, true, may_mute, until, now).await?;
    if let Some(until) = until {
        // Keyed by its end: a renewal is a job of its own, and the old one finds nothing lapsed.
        let key = format!("{}:{community}:{member}:{}", PRESENCE_KIND.name, until.timestamp());
        jobs::put(
            &mut *tx,
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
    Ok(db::open_at(store, community, channel)
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
    let Some((platform, external)) = crate::members::community_of(&mut tx, Within::Community(community)).await? else {
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
