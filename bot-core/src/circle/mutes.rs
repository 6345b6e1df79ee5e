//! "Mute others": everyone in the circle's voice channel but the holder, the
//! facilitators and those the platform lets mute others is server-muted. Every mute is recorded before it is asked for, and a record
//! goes only when the platform says the mute was undone (or never applied),
//! so the bot unmutes exactly those it muted: at circle end, at shutdown, at
//! start after a crash, and when someone who left muted comes back.
//!
//! On a stage the mute is a suppress (back to the audience). The record says
//! so once the platform confirms it, and its undoing is then an unsuppress,
//! whatever is (or is not yet) in the adapter's cache. A suppress ends when
//! its person leaves the stage, so there is nothing to undo when they return.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::db::{Circle, Person};
use super::state::State;
use crate::error::{Context, Result};
use crate::io::{Effect, MuteReport, Platform};
use crate::message::{Line, Message};
use crate::store::{Db, query, query_as, query_scalar};

fn effect(guild: &str, channel: &str, user: &str, mute: bool, stage: Option<bool>) -> Effect {
    Effect::Mute {
        community: guild.to_string(),
        channel: channel.to_string(),
        user: user.to_string(),
        mute,
        stage,
    }
}

/// The stage flag of a recorded mute, for its undoing: a confirmed suppress
/// is undone by an unsuppress; otherwise the adapter looks at the channel
/// (a crash between the suppress and its report leaves the flag unset).
fn recorded_stage(stage: bool) -> Option<bool> {
    stage.then_some(true)
}

/// The mutes and unmutes that bring the voice channel in line with the stick
/// (`ended`: nobody stays muted). New mutes are recorded here.
#[expect(
    clippy::too_many_arguments,
    reason = "the circle, its place and its state, each plain"
)]
pub(crate) async fn plan(
    db: impl Into<Db<'_>>,
    circle: &Circle,
    community: i64,
    guild: &str,
    state: &State,
    people: &[Person],
    ended: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>> {
    let mut db = db.into();
    let recorded = recorded(&mut db, circle.id).await?;
    let wanted = wanted(&mut db, circle, community, state, ended).await?;
    let external = |m: i64| people.iter().find(|p| p.id == m).map(|p| p.external_id.clone());
    let mut effects = Vec::new();
    // An unmute another input asked for, not yet reported, is not asked for twice.
    let mut ordered: Vec<(i64, bool)> = recorded
        .iter()
        .filter(|(m, (_, releasing))| !wanted.contains(m) && !releasing)
        .map(|(m, (stage, _))| (*m, *stage))
        .collect();
    ordered.sort_unstable();
    for (member, stage) in ordered {
        if let Some(user) = external(member) {
            query("UPDATE circle_mutes SET releasing = TRUE WHERE community_id = ? AND member_id = ?")
                .bind(community)
                .bind(member)
                .execute(&mut db)
                .await
                .context("marking an unmute asked for")?;
            effects.push(effect(guild, &circle.channel, &user, false, recorded_stage(stage)));
        }
    }
    let mut ordered: Vec<i64> = wanted.iter().filter(|m| !recorded.contains_key(m)).copied().collect();
    ordered.sort_unstable();
    for member in ordered {
        let Some(user) = external(member) else { continue };
        // A record held for another circle is that circle's to undo.
        let added = query(
            "INSERT INTO circle_mutes (community_id, member_id, channel, circle_id, stage, muted_at)
             VALUES (?, ?, ?, ?, FALSE, ?) ON CONFLICT DO NOTHING",
        )
        .bind(community)
        .bind(member)
        .bind(&circle.channel)
        .bind(circle.id)
        .bind(now.timestamp())
        .execute(&mut db)
        .await
        .context("recording a mute")?;
        if added.rows_affected() == 1 {
            effects.push(effect(guild, &circle.channel, &user, true, None));
        }
    }
    Ok(effects)
}

/// A circle's recorded mutes: (stage, an unmute already asked for) by member.
async fn recorded(db: impl Into<Db<'_>>, circle: i64) -> Result<HashMap<i64, (bool, bool)>> {
    Ok(
        query_as::<(i64, bool, bool)>("SELECT member_id, stage, releasing FROM circle_mutes WHERE circle_id = ?")
            .bind(circle)
            .fetch_all(db)
            .await
            .context("reading a circle's mutes")?
            .into_iter()
            .map(|(member, stage, releasing)| (member, (stage, releasing)))
            .collect(),
    )
}

/// Who should be muted now: those present whose voice is in the circle's
/// channel, but the holder, the facilitators and anyone the platform lets
/// mute others; nobody once it has ended or without "mute others".
async fn wanted(
    db: impl Into<Db<'_>>,
    circle: &Circle,
    community: i64,
    state: &State,
    ended: bool,
) -> Result<HashSet<i64>> {
    let mut db = db.into();
    // The group's facilitators keep their voice, as the one who started it does.
    let facilitators: HashSet<i64> = match circle.group_id {
        Some(group) => query_scalar("SELECT member_id FROM group_facilitators WHERE group_id = ?")
            .bind(group)
            .fetch_all(&mut db)
            .await
            .context("reading a group's facilitators")?
            .into_iter()
            .collect(),
        None => HashSet::new(),
    };
    // Only those whose voice state is in the circle's channel, and never
    // anyone the platform lets mute others: Hearth lends no power.
    let mutable: HashSet<i64> = if ended || !circle.mute_others {
        HashSet::new()
    } else {
        super::db::mutable_in(&mut db, community, &circle.channel)
            .await?
            .into_iter()
            .collect()
    };
    Ok(state
        .present()
        .map(|p| p.member)
        .filter(|m| {
            mutable.contains(m)
                && Some(*m) != state.holder
                && Some(*m) != circle.facilitator_id
                && !facilitators.contains(m)
        })
        .collect())
}

/// Mutes recorded for `member` that no running circle wants any more
/// (its circle ended while they were away): undone when they come back.
/// Any other of their mutes can be undone again by a later turn.
pub(crate) async fn stale_for(db: impl Into<Db<'_>>, community: i64, guild: &str, member: i64) -> Result<Vec<Effect>> {
    let mut db = db.into();
    query("UPDATE circle_mutes SET releasing = FALSE WHERE community_id = ? AND member_id = ?")
        .bind(community)
        .bind(member)
        .execute(&mut db)
        .await
        .context("a returning member's mutes")?;
    let rows: Vec<(String, String, bool)> = query_as(
        "SELECT mu.channel, m.external_id, mu.stage FROM circle_mutes mu JOIN members m ON m.id = mu.member_id
         WHERE mu.community_id = ? AND mu.member_id = ?
           AND (mu.circle_id IS NULL
                OR mu.circle_id IN (SELECT id FROM circles WHERE ended_at IS NOT NULL OR mute_others = FALSE))",
    )
    .bind(community)
    .bind(member)
    .fetch_all(&mut db)
    .await
    .context("reading stale mutes")?;
    Ok(rows
        .into_iter()
        .map(|(channel, user, stage)| effect(guild, &channel, &user, false, recorded_stage(stage)))
        .collect())
}

/// Every mute recorded on `platform`: to undo at start-up and at shutdown.
pub(crate) async fn all(db: impl Into<Db<'_>>, platform: Platform) -> Result<Vec<Effect>> {
    let rows: Vec<(String, String, String, bool)> = query_as(
        "SELECT c.external_id, mu.channel, m.external_id, mu.stage FROM circle_mutes mu
         JOIN communities c ON c.id = mu.community_id JOIN members m ON m.id = mu.member_id
         WHERE c.platform = ? ORDER BY mu.community_id, mu.member_id",
    )
    .bind(platform.as_str())
    .fetch_all(db)
    .await
    .context("reading recorded mutes")?;
    Ok(rows
        .into_iter()
        .map(|(guild, channel, user, stage)| effect(&guild, &channel, &user, false, recorded_stage(stage)))
        .collect())
}

/// The unmutes for every server mute the bot still holds on one member:
/// before `/forgetme` erases the records, so nobody is left muted by the bot.
pub(crate) async fn of_member(db: impl Into<Db<'_>>, member: i64) -> Result<Vec<Effect>> {
    let rows: Vec<(String, String, String, bool)> = query_as(
        "SELECT c.external_id, mu.channel, m.external_id, mu.stage FROM circle_mutes mu
         JOIN communities c ON c.id = mu.community_id JOIN members m ON m.id = mu.member_id
         WHERE mu.member_id = ? ORDER BY mu.community_id",
    )
    .bind(member)
    .fetch_all(db)
    .await
    .context("reading a member's recorded mutes")?;
    Ok(rows
        .into_iter()
        .map(|(guild, channel, user, stage)| effect(&guild, &channel, &user, false, recorded_stage(stage)))
        .collect())
}

/// What the platform did with a mute or unmute (`stage`: a suppress). A
/// mute that did not take (not in voice, already muted by someone else,
/// refused) is no mute of ours; a suppress that took is recorded as one. An
/// unmute that could not reach the person keeps its record until they come
/// back, unless it was a suppress: leaving the stage ended it. Missing
/// permission stops enforcement in this community's circles, and their
/// facilitators are told privately.
pub(crate) async fn reported(
    db: impl Into<Db<'_>>,
    community: i64,
    member: i64,
    mute: bool,
    stage: bool,
    report: MuteReport,
) -> Result<Vec<Effect>> {
    let mut db = db.into();
    let forget = match (mute, report) {
        (true, MuteReport::Applied) => false,
        (true, _) => true,
        (false, MuteReport::Applied | MuteReport::Skipped) => true,
        (false, MuteReport::NotInVoice) => stage,
        (false, _) => false,
    };
    if mute && report == MuteReport::Applied && stage {
        query("UPDATE circle_mutes SET stage = TRUE WHERE community_id = ? AND member_id = ?")
            .bind(community)
            .bind(member)
            .execute(&mut db)
            .await
            .context("recording a suppress")?;
    }
    // An unmute that failed may be asked for again; one that found the person
    // gone waits for their return (`stale_for`), not for every next input.
    if !mute && matches!(report, MuteReport::Failed | MuteReport::NoPermission) {
        query("UPDATE circle_mutes SET releasing = FALSE WHERE community_id = ? AND member_id = ?")
            .bind(community)
            .bind(member)
            .execute(&mut db)
            .await
            .context("an unmute to ask for again")?;
    }
    if forget {
        query("DELETE FROM circle_mutes WHERE community_id = ? AND member_id = ?")
            .bind(community)
            .bind(member)
            .execute(&mut db)
            .await
            .context("forgetting a mute")?;
    }
    if report != MuteReport::NoPermission {
        return Ok(Vec::new());
    }
    let stopped: Vec<Option<i64>> = query_scalar(
        "UPDATE circles SET mute_others = FALSE
         WHERE community_id = ? AND ended_at IS NULL AND mute_others = TRUE
         RETURNING facilitator_id",
    )
    .bind(community)
    .fetch_all(&mut db)
    .await
    .context("stopping mute enforcement")?;
    let mut facilitators = Vec::new();
    for id in stopped.into_iter().flatten() {
        let user: Option<String> = query_scalar("SELECT external_id FROM members WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut db)
            .await
            .context("finding a facilitator")?;
        facilitators.extend(user);
    }
    Ok(facilitators
        .into_iter()
        .map(|user| Effect::Dm {
            user,
            message: Message::new().line(
                Line::text(
                    "I couldn't mute others in your circle: Hearth lacks the Mute Members permission there. \
                     The circle goes on without muting; give Hearth's role Mute Members to use ",
                )
                .cmd("circle start mute_others:yes")
                .t(" next time."),
            ),
            key: None,
        })
        .collect())
}
