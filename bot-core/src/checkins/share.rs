//! `/checkin share`: saving an answer, and, with consent, telling a
//! group's facilitators that today is hard.

use chrono::{DateTime, Utc};

use super::asking::{ask_privately, care_notice, mood_words};
use super::plan::group_of_prompt;
use super::settings::settings;
use super::summary::{monday_of, week_bounds, week_zone};
use crate::error::{Context, Result, UserError};
use crate::groups::{self, Group};
use crate::io::{Effect, Response};
use crate::members::Member;
use crate::message::{Line, Message};
use crate::store::{Store, query, query_as, query_scalar};

/// How long after telling a group's facilitators that a member's day is hard
/// they may be told again.
const TELL_AGAIN_AFTER_SECS: i64 = 24 * 3600;

/// What a member said in `/checkin share`.
pub(super) struct Said<'a> {
    pub mood: Option<&'static str>,
    pub note: Option<&'a str>,
    pub prompt: Option<&'a str>,
}

/// `/checkin share`, with `group` the resolved `group` option.
pub(super) async fn share(
    store: &Store,
    me: &Member,
    group: Option<&Group>,
    said: Said<'_>,
    now: DateTime<Utc>,
) -> Result<Response> {
    // A group's prompt names its group, so an answer typed where the group's
    // community is unknown (a Matrix DM) still counts there.
    let from_prompt = match (group, said.prompt) {
        (None, Some(prompt)) => group_of_prompt(store, prompt).await?,
        _ => None,
    };
    let group = group.or(from_prompt.as_ref());
    // Only members count: anyone else could push a group's average, help it
    // reach the summary's threshold, or page its facilitators.
    if let Some(group) = group
        && !groups::belongs(store, group.id, me.id).await?
    {
        return Err(UserError::NotInGroup {
            group: group.name.clone(),
        }
        .into());
    }
    let Said { mood, note, prompt } = said;
    if mood.is_none() && note.is_none() {
        // Nothing said yet: ask, privately, with the buttons (on Matrix, by
        // DM: how a group's prompt is answered there).
        let key = prompt.map_or_else(|| format!("c{}", now.timestamp()), ToString::to_string);
        return Ok(Response::private(ask_privately(group, &key)));
    }
    if let Some(prompt) = prompt {
        refuse_closed_answer(store, me, prompt, now).await?;
    }
    let mood: Option<i64> = mood.and_then(|m| m.parse().ok());
    let group_id = group.map(|g| g.id);
    if let Some(group) = group_id {
        // The week's edges are fixed from the first answer on.
        week_zone(store, group).await?;
    }
    // Nothing is logged here: not who, not where, not when.
    let id = save(store, me.id, group_id, (mood, note, prompt), now).await?;
    let mut message = thanks(mood, note, group);
    let mut response_effects = Vec::new();
    if mood == Some(1) {
        message = message
            .text("I'm sorry today is so hard. You don't have to carry it alone: your group and its facilitators are here for you.")
            .line(
                Line::text("If you need someone right now, ")
                    .cmd("crisis")
                    .t(" shows people you can talk to, any time, privately."),
            );
        let (told, line) = tell_facilitators(store, me, group, id, now).await?;
        response_effects = told;
        message = message.line(line);
    }
    message = message.line(Line::new().cmd("checkin history").t(" shows how you've been."));
    let mut response = Response::private(message);
    response.effects = response_effects;
    Ok(response)
}

/// Saves an answer, one per member and prompt (a later one to the same
/// prompt replaces it, keeping its note unless a new one is given): its id.
async fn save(
    store: &Store,
    member: i64,
    group_id: Option<i64>,
    (mood, note, prompt): (Option<i64>, Option<&str>, Option<&str>),
    now: DateTime<Utc>,
) -> Result<i64> {
    // Without a prompt there is nothing to conflict with: a row of its own.
    query_scalar(
        "INSERT INTO checkins (member_id, group_id, prompt, mood, note, at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (member_id, prompt) WHERE prompt IS NOT NULL DO UPDATE SET
             group_id = excluded.group_id, mood = excluded.mood,
             note = COALESCE(excluded.note, checkins.note), at = excluded.at
         RETURNING id",
    )
    .bind(member)
    .bind(group_id)
    .bind(prompt)
    .bind(mood)
    .bind(note)
    .bind(now.timestamp())
    .fetch_one(store)
    .await
    .context(match prompt {
        Some(_) => "saving a check-in to a prompt",
        None => "saving a check-in",
    })
}

/// The thanks for an answer, and where it counts.
fn thanks(mood: Option<i64>, note: Option<&str>, group: Option<&Group>) -> Message {
    let message = Message::new().text(match mood {
        Some(m) => format!("Thank you for checking in: {}.", mood_words(m)),
        None if note.is_some() => "Thank you. Your note is saved, with no mood: that counts as a pass.".to_string(),
        None => "Thank you. A pass is always fine.".to_string(),
    });
    let message = if note.is_some() {
        message.text("Your note is yours alone: no one else will ever see it.")
    } else {
        message
    };
    message.text(match group {
        Some(g) if mood.is_some() => format!("It counts, without your name, in {}'s summary.", g.name),
        Some(g) => format!("A pass is counted apart in {}'s summary, never as a low mood.", g.name),
        None => "It counts in no group's summary; it is just for you.".to_string(),
    })
}

/// An answer to a prompt already counted in a week that has closed stays as
/// it was: changing it would change that week's summary, and the two
/// summaries would tell the change.
async fn refuse_closed_answer(store: &Store, me: &Member, prompt: &str, now: DateTime<Utc>) -> Result<()> {
    let earlier: Option<(Option<i64>, i64)> =
        query_as("SELECT group_id, at FROM checkins WHERE member_id = ? AND prompt = ?")
            .bind(me.id)
            .bind(prompt)
            .fetch_optional(store)
            .await
            .context("finding an earlier answer to a prompt")?;
    let Some((Some(group), at)) = earlier else {
        return Ok(());
    };
    let zone = week_zone(store, group).await?;
    if at < week_bounds(monday_of(now, zone), zone).0.timestamp() {
        return Err(UserError::CheckinWeekClosed.into());
    }
    Ok(())
}

/// With the member's standing consent, a group's facilitators are told that
/// today is hard, at most once a day: the effects, and what the member is told.
async fn tell_facilitators(
    store: &Store,
    me: &Member,
    group: Option<&Group>,
    checkin: i64,
    now: DateTime<Utc>,
) -> Result<(Vec<Effect>, Line)> {
    let tell = settings(store, me.id).await?.tell_facilitators;
    let group = match (tell, group) {
        (false, _) => {
            return Ok((
                Vec::new(),
                Line::text("No one else is told. If you'd like a group's facilitators to know when you answer 1: ")
                    .cmd("checkin remind tell_facilitators:on"),
            ));
        }
        (true, None) => {
            return Ok((
                Vec::new(),
                Line::text(
                    "This answer counts for no group, so no facilitator was told. Answer a group's prompt, or add group:NAME, for its facilitators to know.",
                ),
            ));
        }
        (true, Some(group)) => group,
    };
    let facilitators: Vec<Member> = groups::facilitators(store, group.id)
        .await?
        .into_iter()
        .filter(|f| f.id != me.id)
        .collect();
    if facilitators.is_empty() {
        return Ok((
            Vec::new(),
            Line::text(format!(
                "{} has no facilitator to tell yet, so no one else was told.",
                group.name
            )),
        ));
    }
    // Claimed in one statement: two answers at once page them once.
    let claimed = query(
        "UPDATE checkin_settings SET told_at = ?1 WHERE member_id = ?2 AND (told_at IS NULL OR told_at <= ?1 - ?3)",
    )
    .bind(now.timestamp())
    .bind(me.id)
    .bind(TELL_AGAIN_AFTER_SECS)
    .execute(store)
    .await
    .context("noting that facilitators were told")?
    .rows_affected()
        == 1;
    if !claimed {
        return Ok((
            Vec::new(),
            Line::text(
                "I've already let your group's facilitators know today that things are hard; I tell them at most once a day, so no one was told again.",
            ),
        ));
    }
    let effects = facilitators
        .into_iter()
        .map(|f| Effect::Dm {
            user: f.external_id.clone(),
            message: care_notice(me, group),
            key: Some(format!("checkin:care:{checkin}:{}", f.id)),
        })
        .collect();
    Ok((
        effects,
        Line::text(format!(
            "As you asked, I've let {}'s facilitators know that today is hard. Not your note: that stays yours.",
            group.name
        )),
    ))
}
