//! The circle tables: load a circle's [`State`] and save it back, inside one
//! write transaction per input so concurrent inputs never interleave.

use chrono::{DateTime, Utc};

use super::state::{Hand, Mode, Participant, State};
use crate::error::{Context, Result};
use crate::store::{Db, query, query_as, query_scalar};

/// A circle's settings and where it is, besides its [`State`].
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Circle {
    pub id: i64,
    pub channel: String,
    pub home_channel: String,
    pub group_id: Option<i64>,
    pub share_secs: Option<i64>,
    pub auto_advance: bool,
    pub mute_others: bool,
    pub facilitator_id: Option<i64>,
    pub status_message: Option<String>,
    /// When it started, in Unix seconds.
    pub started_at: i64,
    /// Its place is a voice channel or call: only those there take part.
    pub in_voice: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    mode: String,
    holder_id: Option<i64>,
    turn_started_at: Option<i64>,
    turn: i64,
    next_seq: i64,
}

#[derive(sqlx::FromRow)]
struct ParticipantRow {
    member_id: i64,
    seq: i64,
    present: bool,
    hand_at: Option<i64>,
    hand_seq: Option<i64>,
    spoken_secs: i64,
    shares: i64,
    passes: i64,
    had_turn: bool,
}

/// A person as a circle shows them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Person {
    pub id: i64,
    pub external_id: String,
    pub display_name: String,
}

macro_rules! circle_columns {
    () => {
        "id, channel, home_channel, group_id, share_secs, auto_advance, mute_others, facilitator_id, \
         status_message, started_at, in_voice"
    };
}

/// The open circle whose place is `channel` (at most one, by the unique index).
pub async fn open_at(db: impl Into<Db<'_>>, community: i64, channel: &str) -> Result<Option<Circle>> {
    query_as(concat!(
        "SELECT ",
        circle_columns!(),
        " FROM circles WHERE community_id = ? AND ended_at IS NULL AND channel = ?"
    ))
    .bind(community)
    .bind(channel)
    .fetch_optional(db)
    .await
    .context("finding the circle here")
}

/// The open circles at `channel` or started from it, oldest first.
pub async fn open_here(db: impl Into<Db<'_>>, community: i64, channel: &str) -> Result<Vec<Circle>> {
    query_as(concat!(
        "SELECT ",
        circle_columns!(),
        " FROM circles
         WHERE community_id = ? AND ended_at IS NULL AND (channel = ? OR home_channel = ?)
         ORDER BY id"
    ))
    .bind(community)
    .bind(channel)
    .bind(channel)
    .fetch_all(db)
    .await
    .context("finding the circles here")
}

/// The open circle numbered `id`, if it is one of this community's.
pub async fn open_in(db: impl Into<Db<'_>>, community: i64, id: i64) -> Result<Option<Circle>> {
    query_as(concat!(
        "SELECT ",
        circle_columns!(),
        " FROM circles WHERE community_id = ? AND id = ? AND ended_at IS NULL"
    ))
    .bind(community)
    .bind(id)
    .fetch_optional(db)
    .await
    .context("finding a circle by number")
}

/// The open circle `member` is present in, in this community.
pub async fn open_with(db: impl Into<Db<'_>>, community: i64, member: i64) -> Result<Option<Circle>> {
    query_as(concat!(
        "SELECT ",
        circle_columns!(),
        " FROM circles
         WHERE community_id = ? AND ended_at IS NULL
           AND id IN (SELECT circle_id FROM circle_participants WHERE member_id = ? AND present = TRUE)
         ORDER BY id LIMIT 1"
    ))
    .bind(community)
    .bind(member)
    .fetch_optional(db)
    .await
    .context("finding the member's circle")
}

/// The open circle with this id.
pub async fn open_by_id(db: impl Into<Db<'_>>, id: i64) -> Result<Option<Circle>> {
    query_as(concat!(
        "SELECT ",
        circle_columns!(),
        " FROM circles WHERE id = ? AND ended_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
    .context("loading a circle")
}

/// Settings of a new circle.
pub struct NewCircle<'a> {
    pub community: i64,
    pub channel: &'a str,
    pub home_channel: &'a str,
    pub group: Option<i64>,
    pub facilitator: i64,
    pub mode: Mode,
    pub share_secs: Option<i64>,
    pub auto_advance: bool,
    pub mute_others: bool,
    pub in_voice: bool,
}

pub async fn create(db: impl Into<Db<'_>>, new: &NewCircle<'_>, now: DateTime<Utc>) -> Result<Circle> {
    query_as(concat!(
        "INSERT INTO circles (community_id, channel, home_channel, group_id, facilitator_id, mode, share_secs,
             auto_advance, mute_others, in_voice, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         RETURNING ",
        circle_columns!(),
        ""
    ))
    .bind(new.community)
    .bind(new.channel)
    .bind(new.home_channel)
    .bind(new.group)
    .bind(new.facilitator)
    .bind(new.mode.as_str())
    .bind(new.share_secs)
    .bind(new.auto_advance)
    .bind(new.mute_others)
    .bind(new.in_voice)
    .bind(now.timestamp())
    .fetch_one(db)
    .await
    .context("creating a circle")
}

pub async fn load(db: impl Into<Db<'_>>, circle: i64) -> Result<State> {
    let mut db = db.into();
    let row: Row = query_as("SELECT mode, holder_id, turn_started_at, turn, next_seq FROM circles WHERE id = ?")
        .bind(circle)
        .fetch_one(&mut db)
        .await
        .context("loading a circle's state")?;
    let participants: Vec<ParticipantRow> = query_as(
        "SELECT member_id, seq, present, hand_at, hand_seq, spoken_secs, shares, passes, had_turn
         FROM circle_participants WHERE circle_id = ? ORDER BY seq",
    )
    .bind(circle)
    .fetch_all(&mut db)
    .await
    .context("loading a circle's participants")?;
    Ok(State {
        mode: Mode::parse(&row.mode).unwrap_or(Mode::Round),
        participants: participants
            .into_iter()
            .map(|p| Participant {
                member: p.member_id,
                seq: p.seq,
                present: p.present,
                hand: p.hand_at.zip(p.hand_seq).map(|(at, seq)| Hand { at, seq }),
                spoken_secs: p.spoken_secs,
                shares: p.shares,
                passes: p.passes,
                had_turn: p.had_turn,
            })
            .collect(),
        // A holder erased by /forgetme is no holder.
        holder: row.holder_id,
        turn_started_at: row.turn_started_at.filter(|_| row.holder_id.is_some()),
        turn: row.turn,
        next_seq: row.next_seq,
    })
}

/// Saves the state over what `before` was: only the participants that changed are written.
pub async fn save(db: impl Into<Db<'_>>, circle: i64, before: &State, state: &State) -> Result<()> {
    let mut db = db.into();
    query("UPDATE circles SET mode = ?, holder_id = ?, turn_started_at = ?, turn = ?, next_seq = ? WHERE id = ?")
        .bind(state.mode.as_str())
        .bind(state.holder)
        .bind(state.turn_started_at)
        .bind(state.turn)
        .bind(state.next_seq)
        .bind(circle)
        .execute(&mut db)
        .await
        .context("saving a circle")?;
    for p in &state.participants {
        if before.participant(p.member) == Some(p) {
            continue;
        }
        query(
            "INSERT INTO circle_participants
                 (circle_id, member_id, seq, present, hand_at, hand_seq, spoken_secs, shares, passes, had_turn)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (circle_id, member_id) DO UPDATE SET
                 seq = excluded.seq, present = excluded.present, hand_at = excluded.hand_at,
                 hand_seq = excluded.hand_seq, spoken_secs = excluded.spoken_secs, shares = excluded.shares,
                 passes = excluded.passes, had_turn = excluded.had_turn",
        )
        .bind(circle)
        .bind(p.member)
        .bind(p.seq)
        .bind(p.present)
        .bind(p.hand.map(|h| h.at))
        .bind(p.hand.map(|h| h.seq))
        .bind(p.spoken_secs)
        .bind(p.shares)
        .bind(p.passes)
        .bind(p.had_turn)
        .execute(&mut db)
        .await
        .context("saving a circle participant")?;
    }
    Ok(())
}

pub async fn end(db: impl Into<Db<'_>>, circle: i64, now: DateTime<Utc>) -> Result<()> {
    let mut db = db.into();
    query("UPDATE circles SET ended_at = ?, holder_id = NULL, turn_started_at = NULL WHERE id = ?")
        .bind(now.timestamp())
        .bind(circle)
        .execute(&mut db)
        .await
        .context("ending a circle")?;
    // Presence is kept only while a circle runs there.
    query(
        "DELETE FROM voice_presence WHERE (community_id, channel) = (SELECT community_id, channel FROM circles WHERE id = ?)",
    )
    .bind(circle)
    .execute(&mut db)
    .await
    .context("dropping an ended circle's presence")?;
    Ok(())
}

pub async fn set_status_message(db: impl Into<Db<'_>>, circle: i64, message: &str) -> Result<()> {
    query("UPDATE circles SET status_message = ? WHERE id = ? AND ended_at IS NULL")
        .bind(message)
        .bind(circle)
        .execute(db)
        .await
        .context("recording a circle's status message")?;
    Ok(())
}

/// The people of a circle, for names.
pub async fn people(db: impl Into<Db<'_>>, circle: i64) -> Result<Vec<Person>> {
    query_as(
        "SELECT m.id, m.external_id, m.display_name FROM circle_participants p
         JOIN members m ON m.id = p.member_id WHERE p.circle_id = ? ORDER BY p.seq",
    )
    .bind(circle)
    .fetch_all(db)
    .await
    .context("loading a circle's people")
}

/// Records that `member` is (or no longer is) in a voice channel or call,
/// and whether the platform lets them mute others there.
#[expect(clippy::too_many_arguments, reason = "who, where and when, each plain")]
pub async fn set_presence(
    db: impl Into<Db<'_>>,
    community: i64,
    channel: &str,
    member: i64,
    present: bool,
    may_mute: bool,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let statement = if present {
        // A renewed membership moves its end; `since` stays the first sight.
        query(
            "INSERT INTO voice_presence (community_id, channel, member_id, since, until, may_mute)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (community_id, channel, member_id) DO UPDATE
                 SET until = excluded.until, may_mute = excluded.may_mute",
        )
        .bind(community)
        .bind(channel)
        .bind(member)
        .bind(now.timestamp())
        .bind(until.map(|u| u.timestamp()))
        .bind(may_mute)
    } else {
        query("DELETE FROM voice_presence WHERE community_id = ? AND channel = ? AND member_id = ?")
            .bind(community)
            .bind(channel)
            .bind(member)
    };
    statement.execute(db).await.context("recording voice presence")?;
    Ok(())
}

/// The voice channel or call `member` is in, in this community, if any.
/// The channels or calls where `member`'s presence has lapsed by `now`.
pub async fn lapsed(db: impl Into<Db<'_>>, community: i64, member: i64, now: DateTime<Utc>) -> Result<Vec<String>> {
    query_scalar(
        "SELECT channel FROM voice_presence
         WHERE community_id = ? AND member_id = ? AND until IS NOT NULL AND until <= ? ORDER BY channel",
    )
    .bind(community)
    .bind(member)
    .bind(now.timestamp())
    .fetch_all(db)
    .await
    .context("finding lapsed presence")
}

pub async fn voice_channel_of(db: impl Into<Db<'_>>, community: i64, member: i64) -> Result<Option<String>> {
    query_scalar(
        "SELECT channel FROM voice_presence WHERE member_id = ? AND community_id = ? ORDER BY since DESC, channel DESC LIMIT 1",
    )
    .bind(member)
    .bind(community)
    .fetch_optional(db)
    .await
    .context("finding a member's voice channel")
}

pub async fn voice_channels_of(db: impl Into<Db<'_>>, community: i64, member: i64) -> Result<Vec<String>> {
    query_scalar("SELECT channel FROM voice_presence WHERE member_id = ? AND community_id = ? ORDER BY channel")
        .bind(member)
        .bind(community)
        .fetch_all(db)
        .await
        .context("listing a member's voice channels")
}

/// Whether `member` is in the voice channel or call `channel`.
pub async fn in_voice_at(db: impl Into<Db<'_>>, community: i64, channel: &str, member: i64) -> Result<bool> {
    query_scalar(
        "SELECT EXISTS (SELECT 1 FROM voice_presence WHERE community_id = ? AND channel = ? AND member_id = ?)",
    )
    .bind(community)
    .bind(channel)
    .bind(member)
    .fetch_one(db)
    .await
    .context("checking a member's voice channel")
}

/// Who is in the voice channel or call `channel` and may be muted there: the
/// platform lets none of them mute others.
pub async fn mutable_in(db: impl Into<Db<'_>>, community: i64, channel: &str) -> Result<Vec<i64>> {
    query_scalar("SELECT member_id FROM voice_presence WHERE community_id = ? AND channel = ? AND may_mute = FALSE")
        .bind(community)
        .bind(channel)
        .fetch_all(db)
        .await
        .context("listing who may be muted")
}

/// Who is in a voice channel or call, and since when (Unix seconds),
/// earliest first, then by member: whole seconds tie, and the caller knows
/// better who came first within one.
pub async fn present_in(db: impl Into<Db<'_>>, community: i64, channel: &str) -> Result<Vec<(i64, i64)>> {
    query_as(
        "SELECT member_id, since FROM voice_presence WHERE community_id = ? AND channel = ? ORDER BY since, member_id",
    )
    .bind(community)
    .bind(channel)
    .fetch_all(db)
    .await
    .context("listing who is in a voice channel")
}
