//! Check-ins: how a member says "this is how I am today", to themselves and,
//! in aggregate only, to a group's facilitators (`/checkin
//! share|history|schedule|remind|summary`), and the prompts that ask for them.
//!
//! Privacy rules this module keeps: a note is read back to its author alone
//! and never logged, nor is who checked in, where or when; only a group's
//! members count in it; a summary covers a whole past week only (so asking
//! again never gives another answer to subtract), each person once, and
//! shows only when at least [`MIN_ANSWERERS`] people other than the asker
//! answered with a mood; a pass is its own answer, never a low mood. Where a
//! button press shows to the room, a group's prompt carries no mood buttons.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::error::{Context, Error, Result, UserError};
use crate::groups::{self, Group};
use crate::io::{Delivery, Effect, Platform, Response};
use crate::jobs::{self, Due, NewJob};
use crate::meetings::{self, Meeting};
use crate::members::{Community, Member, Within, community_of};
use crate::message::{Line, Message, Span};
use crate::parse::Bound;
use crate::reminders;
use crate::store::Store;
use crate::when::{self, at};
use sqlx::SqliteConnection;

/// The fewest distinct people, besides the one asking, who answered with a
/// mood in a week for its summary to show.
pub const MIN_ANSWERERS: usize = 5;
/// Each mood in plain, kind words, 1 first.
const WORDS: [&str; 5] = ["struggling", "low", "okay", "good", "great"];
const EMOJI: [&str; 5] = ["😣", "😕", "😐", "🙂", "😄"];
const PASS_EMOJI: &str = "🤍";
/// The one button of a group's prompt where presses show to the room.
const PRIVATELY_EMOJI: &str = "🔒";
/// How long after telling a group's facilitators that a member's day is hard
/// they may be told again.
const TELL_AGAIN_AFTER_SECS: i64 = 24 * 3600;
const SPARKS: [char; 5] = ['▁', '▂', '▃', '▄', '▅'];
/// How many days `/checkin history` draws.
const HISTORY_DAYS: i64 = 14;

/// A mood in words: "3 okay".
pub fn mood_words(mood: i64) -> String {
    let word = WORDS.get((mood.clamp(1, 5) - 1) as usize).copied().unwrap_or("okay");
    format!("{mood} {word}")
}

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
            // A group's prompt names its group, so an answer typed where the
            // group's community is unknown (a Matrix DM) still counts there.
            let from_prompt = match (group, prompt) {
                (None, Some(prompt)) => group_of_prompt(store, prompt).await?,
                _ => None,
            };
            let group = group.or(from_prompt.as_ref());
            (
                share(store, asker.me, group, Said { mood, note, prompt }, now).await?,
                false,
            )
        }
        Cmd::History => (Response::private(history(store, asker.me, zone, now).await?), false),
        Cmd::Schedule {
            when,
            repeat,
            question,
            only,
        } => {
            let group = the_group()?;
            let zone = group.timezone.as_deref().and_then(|z| z.parse().ok()).unwrap_or(zone);
            let keyword = when.trim().to_ascii_lowercase();
            if keyword == "list" {
                let mut conn = store.pool().acquire().await.context("listing check-in schedules")?;
                return Ok((Response::private(list_schedules(&mut conn, group, now).await?), false));
            }
            // The schedule and its first prompt, or its stop and the prompts
            // it takes away, in one write.
            let mut tx = jobs::write(store).await?;
            if let Some(id) = only {
                if keyword != "off" {
                    return Err(UserError::BadValue {
                        option: "schedule",
                        why: "goes with when:off, to stop that one schedule; when:list shows their numbers",
                    }
                    .into());
                }
                let reply = stop_one(&mut tx, group, id).await?;
                tx.commit().await.context("committing a check-in schedule")?;
                return Ok((Response::private(reply), true));
            }
            let order = crate::members::date_order(&mut *tx, asker.me).await?;
            let out = schedule(
                &mut tx,
                group,
                asker.platform,
                (zone, order),
                when,
                repeat,
                question,
                now,
            )
            .await?;
            tx.commit().await.context("committing a check-in schedule")?;
            out
        }
        Cmd::Remind { time, tell } => {
            // The settings and the daily prompt they plan, in one write.
            let mut tx = jobs::write(store).await?;
            let message = remind(&mut tx, asker, time, tell, zone).await?;
            if time.is_some() {
                plan_member_prompt(&mut tx, asker.me.id, now).await?;
            }
            tx.commit().await.context("committing check-in settings")?;
            (Response::private(message), time.is_some())
        }
        Cmd::Summary => (
            Response::private(summary(store, the_group()?, asker.me.id, now).await?),
            false,
        ),
    })
}

// ---------------------------------------------------------------- answering

/// The mood buttons of a prompt. `group` and `prompt` ride in each command so
/// that a press counts for that group, once per prompt.
fn with_mood_buttons(mut message: Message, group: Option<i64>, prompt: &str) -> Message {
    let tail = match group {
        Some(g) => format!(" group:#{g} prompt:{prompt}"),
        None => format!(" prompt:{prompt}"),
    };
    for (i, word) in WORDS.iter().enumerate() {
        let mood = i + 1;
        message = message.button(
            format!("{mood} {word}"),
            EMOJI[i],
            format!("checkin share mood:{mood}{tail}"),
        );
    }
    message.button("Pass", PASS_EMOJI, format!("checkin share mood:pass{tail}"))
}

/// A group's prompt as posted in its home channel. Where a press shows the
/// room who pressed what (Matrix reactions), it carries no mood buttons: its
/// one button brings the member the mood buttons in their DM, and what they
/// press there no one else sees.
fn group_prompt(group: &Group, question: Option<&str>, prompt: &str, platform: Platform) -> Message {
    let message = Message::titled(format!("Check-in: {}", group.name)).text(question.unwrap_or("How are you today?"));
    if platform.presses_are_public() {
        return message
            .text(format!(
                "Check in privately: I'll send you the mood buttons in our DM, where no one else sees what you pick. Your answer counts without your name in {}'s summary if you're one of its members. Pass is always fine.",
                group.name
            ))
            .button(
                "Check in privately",
                PRIVATELY_EMOJI,
                format!("checkin share group:#{} prompt:{prompt}", group.id),
            )
            .with_private_presses();
    }
    let message = message
        .text("Answer with a button: only you see the reply, and your answer counts without your name in the group's summary if you're one of its members. Pass is always fine.")
        .line(
            Line::text("To add a note only you will ever see: ")
                .cmd(format!("checkin share mood:3 note:\"…\" group:#{} prompt:{prompt}", group.id)),
        );
    with_mood_buttons(message, Some(group.id), prompt)
}

/// A member's own daily prompt, by DM.
fn personal_prompt(prompt: &str) -> Message {
    let message = Message::titled("Your check-in")
        .text("How are you today? Answer with a button; it stays yours and counts in no group's summary.")
        .line(
            Line::text("Add a note only you will see with ")
                .cmd(format!("checkin share mood:3 note:\"…\" prompt:{prompt}")),
        )
        .line(Line::text("Stop these with ").cmd("checkin remind time:off"));
    with_mood_buttons(message, None, prompt)
}

/// What a member said in `/checkin share`.
struct Said<'a> {
    mood: Option<&'static str>,
    note: Option<&'a str>,
    prompt: Option<&'a str>,
}

/// `/checkin share`.
async fn share(
    store: &Store,
    me: &Member,
    group: Option<&Group>,
    said: Said<'_>,
    now: DateTime<Utc>,
) -> Result<Response> {
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
    let id: i64 = match prompt {
        Some(prompt) => sqlx::query_scalar(
            "INSERT INTO checkins (member_id, group_id, prompt, mood, note, at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (member_id, prompt) WHERE prompt IS NOT NULL DO UPDATE SET
                 group_id = excluded.group_id, mood = excluded.mood,
                 note = COALESCE(excluded.note, checkins.note), at = excluded.at
             RETURNING id",
        )
        .bind(me.id)
        .bind(group_id)
        .bind(prompt)
        .bind(mood)
        .bind(note)
        .bind(now.timestamp())
        .fetch_one(store.pool())
        .await
        .context("saving a check-in to a prompt")?,
        None => sqlx::query_scalar(
            "INSERT INTO checkins (member_id, group_id, mood, note, at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(me.id)
        .bind(group_id)
        .bind(mood)
        .bind(note)
        .bind(now.timestamp())
        .fetch_one(store.pool())
        .await
        .context("saving a check-in")?,
    };

    let mut message = Message::new().text(match mood {
        Some(m) => format!("Thank you for checking in: {}.", mood_words(m)),
        None if note.is_some() => "Thank you. Your note is saved, with no mood: that counts as a pass.".to_string(),
        None => "Thank you. A pass is always fine.".to_string(),
    });
    if note.is_some() {
        message = message.text("Your note is yours alone: no one else will ever see it.");
    }
    message = message.text(match group {
        Some(g) if mood.is_some() => format!("It counts, without your name, in {}'s summary.", g.name),
        Some(g) => format!("A pass is counted apart in {}'s summary, never as a low mood.", g.name),
        None => "It counts in no group's summary; it is just for you.".to_string(),
    });
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

/// The mood buttons, privately, for a member who has not said how they are
/// yet; with a group, where to write a note that only they will see.
fn ask_privately(group: Option<&Group>, key: &str) -> Message {
    let mut message = match group {
        Some(g) => Message::titled(format!("Check-in: {}", g.name)),
        None => Message::new(),
    }
    .text("How are you today? Pick one; only you see this.");
    if group.is_some() {
        // The prompt names the group: this works typed in a DM too.
        message = message.line(
            Line::text("To add a note only you will ever see, write it here: ")
                .cmd(format!("checkin share mood:3 note:\"…\" prompt:{key}")),
        );
    }
    with_mood_buttons(message, group.map(|g| g.id), key)
}

/// An answer to a prompt already counted in a week that has closed stays as
/// it was: changing it would change that week's summary, and the two
/// summaries would tell the change.
async fn refuse_closed_answer(store: &Store, me: &Member, prompt: &str, now: DateTime<Utc>) -> Result<()> {
    let earlier: Option<(Option<i64>, i64)> =
        sqlx::query_as("SELECT group_id, at FROM checkins WHERE member_id = ? AND prompt = ?")
            .bind(me.id)
            .bind(prompt)
            .fetch_optional(store.pool())
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
    let tell = settings(store.pool(), me.id).await?.tell_facilitators;
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
    let claimed = sqlx::query(
        "UPDATE checkin_settings SET told_at = ?1 WHERE member_id = ?2 AND (told_at IS NULL OR told_at <= ?1 - ?3)",
    )
    .bind(now.timestamp())
    .bind(me.id)
    .bind(TELL_AGAIN_AFTER_SECS)
    .execute(store.pool())
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

/// What a facilitator is told, with the member's consent: who, and that
/// today is hard. Never the note.
fn care_notice(me: &Member, group: &Group) -> Message {
    Message::titled(format!("A check-in from {}", group.name))
        .line(
            Line::new()
                .push(Span::User {
                    id: me.external_id.clone(),
                    name: me.display_name.clone(),
                })
                .t(" checked in as struggling and asked me to let you know. What they wrote, if anything, stays with them."),
        )
        .text("A gentle word from you may help.")
}

// ---------------------------------------------------------------- history

#[derive(Debug, Clone, sqlx::FromRow)]
struct Answer {
    mood: Option<i64>,
    note: Option<String>,
    at: i64,
}

fn average(moods: &[i64]) -> Option<f64> {
    (!moods.is_empty()).then(|| moods.iter().sum::<i64>() as f64 / moods.len() as f64)
}

fn change_words(now: f64, before: f64) -> String {
    let d = now - before;
    if d.abs() < 0.05 {
        "about the same".to_string()
    } else if d > 0.0 {
        format!("up {d:.1}")
    } else {
        format!("down {:.1}", -d)
    }
}

/// `/checkin history`: the member's own check-ins, privately.
async fn history(store: &Store, me: &Member, zone: Tz, now: DateTime<Utc>) -> Result<Message> {
    let today = now.with_timezone(&zone).date_naive();
    let first_day = today - Duration::days(HISTORY_DAYS - 1);
    let from = when::resolve(first_day.and_time(NaiveTime::MIN), zone).0;
    let answers: Vec<Answer> =
        sqlx::query_as("SELECT mood, note, at FROM checkins WHERE member_id = ? AND at >= ? ORDER BY at, id")
            .bind(me.id)
            .bind(from.timestamp())
            .fetch_all(store.pool())
            .await
            .context("loading own check-ins")?;
    let mut message = Message::titled("Your check-ins");
    if answers.is_empty() {
        return Ok(message
            .text(format!("No check-ins in the last {HISTORY_DAYS} days."))
            .line(Line::text("Check in any time with ").cmd("checkin share mood:3")));
    }
    let mut days: BTreeMap<NaiveDate, Vec<Option<i64>>> = BTreeMap::new();
    for a in &answers {
        days.entry(at(a.at).with_timezone(&zone).date_naive())
            .or_default()
            .push(a.mood);
    }
    let spark: String = (0..HISTORY_DAYS)
        .map(|i| {
            let day = first_day + Duration::days(i);
            match days.get(&day) {
                None => '·',
                Some(moods) => {
                    let moods: Vec<i64> = moods.iter().flatten().copied().collect();
                    match average(&moods) {
                        // A day of passes only is its own mark, never a low one.
                        None => '○',
                        Some(avg) => SPARKS[(avg.round() as usize).clamp(1, 5) - 1],
                    }
                }
            }
        })
        .collect();
    message = message
        .line(Line::text(format!("Last {HISTORY_DAYS} days: ")).b(spark))
        .text("(oldest first; ▁ struggling to ▅ great, ○ a pass, · no check-in)");
    let week = |from_day: i64, to_day: i64| -> Vec<i64> {
        days.iter()
            .filter(|(d, _)| {
                let back = (today - **d).num_days();
                (from_day..to_day).contains(&back)
            })
            .flat_map(|(_, moods)| moods.iter().flatten().copied())
            .collect()
    };
    let (this, before) = (average(&week(0, 7)), average(&week(7, 14)));
    message = message.text(match (this, before) {
        (Some(a), Some(b)) => format!(
            "Last 7 days: average {a:.1}; the 7 days before: {b:.1} ({}).",
            change_words(a, b)
        ),
        (Some(a), None) => format!("Last 7 days: average {a:.1}; no moods the 7 days before to compare."),
        (None, Some(b)) => format!("No moods in the last 7 days; the 7 days before: average {b:.1}."),
        (None, None) => "No moods in these two weeks, only passes, and that's fine.".to_string(),
    });
    message = message.text(format!(
        "You checked in on {} of the last {HISTORY_DAYS} days.",
        days.len()
    ));
    message = message.text("Most recent:");
    for a in answers.iter().rev().take(5) {
        let mood = a.mood.map_or_else(|| "pass".to_string(), mood_words);
        let mut line = Line::text("  ")
            .push(Span::Time { at: at(a.at), zone })
            .t(format!(" · {mood}"));
        if let Some(note) = &a.note {
            line = line.t(format!(" · “{note}”"));
        }
        message = message.line(line);
    }
    Ok(message.text("Only you see this."))
}

// ---------------------------------------------------------------- summary
//
// A summary covers one whole week that has closed, Monday to Monday in the
// group's check-in zone (fixed at its first use), so the same question gets
// the same answer however often it is asked, and no check-in can be added
// to, changed in or (by /forgetme) taken out of a week once it is shown.
// Each person counts once in a week: their mood for it is the mean of their
// moods, shown in the nearest whole mood. The asker is left out, and a week
// is shown only when at least MIN_ANSWERERS others answered it with a mood.

/// The zone a group's check-in weeks are cut in: fixed the first time it is
/// needed, from the group's zone, else its community's.
async fn week_zone(store: &Store, group: i64) -> Result<Tz> {
    let fixed = crate::groups::checkin_zone(store, group).await?;
    Ok(fixed.parse().unwrap_or(Tz::UTC))
}

/// The Monday of the week `at` falls in, in `zone`.
fn monday_of(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    let day = at.with_timezone(&zone).date_naive();
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The week from `monday` 00:00 to the next Monday 00:00, in `zone`.
fn week_bounds(monday: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = when::resolve(monday.and_time(NaiveTime::MIN), zone).0;
    let end = when::resolve((monday + Duration::days(7)).and_time(NaiveTime::MIN), zone).0;
    (start, end)
}

/// One week of a group's check-ins, as a summary shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Week {
    /// People per whole mood, 1 first.
    pub counts: [i64; 5],
    /// People who only passed.
    pub passes: i64,
    /// The mean of each person's mood for the week; 0 with none.
    pub average: f64,
    /// Those who answered with a mood, other than the asker: what the
    /// threshold counts. An erased member's answer counts as anyone's, so
    /// that a week shown once is shown alike for good.
    pub answerers: usize,
    /// Whose answers it covers (member ids), the erased left out.
    pub people: Vec<i64>,
}

impl Week {
    fn shown(&self) -> bool {
        self.answerers >= MIN_ANSWERERS
    }
}

/// The week beginning `monday` of `group`, as `asker` may see it.
pub(crate) async fn week(store: &Store, group: i64, zone: Tz, monday: NaiveDate, asker: i64) -> Result<Week> {
    let (from, to) = week_bounds(monday, zone);
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT member_id, mood FROM checkins WHERE group_id = ? AND at >= ? AND at < ? AND member_id <> ?",
    )
    .bind(group)
    .bind(from.timestamp())
    .bind(to.timestamp())
    .bind(asker)
    .fetch_all(store.pool())
    .await
    .context("counting a week's check-ins")?;
    let erased: Vec<Option<f64>> =
        sqlx::query_scalar("SELECT mood FROM checkin_erased WHERE group_id = ? AND week_start = ?")
            .bind(group)
            .bind(from.timestamp())
            .fetch_all(store.pool())
            .await
            .context("counting a week's erased check-ins")?;
    let mut by_person: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (member, mood) in rows {
        by_person
            .entry(member)
            .or_default()
            .extend(mood.filter(|m| (1..=5).contains(m)));
    }
    let mut week = Week::default();
    let mut moods = Vec::new();
    for (member, own) in &by_person {
        week.people.push(*member);
        match person_mood(own) {
            Some(m) => {
                week.answerers += 1;
                moods.push(m);
            }
            None => week.passes += 1,
        }
    }
    for mood in erased {
        match mood {
            Some(m) => {
                week.answerers += 1;
                moods.push(m);
            }
            None => week.passes += 1,
        }
    }
    // In one order whoever is erased, so the average is the same to the last bit.
    moods.sort_by(f64::total_cmp);
    for m in &moods {
        week.counts[whole_mood(*m) - 1] += 1;
    }
    week.average = if moods.is_empty() {
        0.0
    } else {
        moods.iter().sum::<f64>() / moods.len() as f64
    };
    Ok(week)
}

/// A person's mood for a week: the mean of theirs; none when they only passed.
fn person_mood(moods: &[i64]) -> Option<f64> {
    average(moods)
}

/// A mood for the week in the nearest whole mood (halves up), 1 to 5.
fn whole_mood(mood: f64) -> usize {
    ((mood + 0.5).floor() as usize).clamp(1, 5)
}

/// `/checkin summary`: the last whole week, each mood's count of people, the
/// average and its change from the week before, passes apart; only with
/// enough answerers besides the asker, in each week it shows.
async fn summary(store: &Store, group: &Group, asker: i64, now: DateTime<Utc>) -> Result<Message> {
    let zone = week_zone(store, group.id).await?;
    let last = monday_of(now, zone) - Duration::days(7);
    let before = last - Duration::days(7);
    let this = week(store, group.id, zone, last, asker).await?;
    let span = format!(
        "the week of {} to {} ({})",
        last.format("%a %-d %b"),
        (last + Duration::days(6)).format("%a %-d %b %Y"),
        zone.name()
    );
    if !this.shown() {
        return Ok(Message::new()
            .text(format!(
                "Not enough check-ins in {} in {span} to share a summary without risking identifying someone: it takes at least {MIN_ANSWERERS} people besides you answering with a mood.",
                group.name
            ))
            .text(SUMMARY_RULE));
    }
    let earlier = week(store, group.id, zone, before, asker).await?;
    let mut message = Message::titled(format!("Check-ins: {}, {span}", group.name));
    for (i, count) in this.counts.iter().enumerate() {
        message = message.text(format!("{}: {count}", mood_words(i as i64 + 1)));
    }
    message = message.text(if earlier.shown() {
        format!(
            "Average: {:.1}; the week before: {:.1} ({}).",
            this.average,
            earlier.average,
            change_words(this.average, earlier.average)
        )
    } else {
        format!(
            "Average: {:.1}. Not enough check-ins the week before to compare without risking identifying someone.",
            this.average
        )
    });
    message = message.text(format!(
        "Passes: {} (people who only passed; counted apart, never as a mood).",
        this.passes
    ));
    Ok(message
        .text("No names and no notes are ever shown; notes stay with their authors.")
        .text(SUMMARY_RULE))
}

const SUMMARY_RULE: &str = "Summaries cover whole past weeks only (Monday to Monday), each person once, so asking again gives the same answer.";

/// What stays of an erased member's answers: one anonymous mood per group
/// and closed week (see [`closed_weeks_of`]).
pub(crate) struct Kept(Vec<(i64, i64, Option<f64>)>);

/// Before a member is erased: their answers to each group in weeks already
/// closed stay there, one anonymous mood per week, so that no closed week's
/// summary changes. Answers in a week still open simply go.
pub(crate) async fn closed_weeks_of(store: &Store, member: i64, now: DateTime<Utc>) -> Result<Kept> {
    let rows: Vec<(i64, Option<i64>, i64)> =
        sqlx::query_as("SELECT group_id, mood, at FROM checkins WHERE member_id = ? AND group_id IS NOT NULL")
            .bind(member)
            .fetch_all(store.pool())
            .await
            .context("reading an erased member's check-ins")?;
    let mut weeks: BTreeMap<(i64, i64), Vec<i64>> = BTreeMap::new();
    let mut zones: BTreeMap<i64, Tz> = BTreeMap::new();
    for (group, mood, at_secs) in rows {
        let zone = match zones.get(&group) {
            Some(zone) => *zone,
            None => {
                let zone = week_zone(store, group).await?;
                zones.insert(group, zone);
                zone
            }
        };
        let monday = monday_of(at(at_secs), zone);
        if monday >= monday_of(now, zone) {
            continue;
        }
        let start = week_bounds(monday, zone).0.timestamp();
        weeks.entry((group, start)).or_default().extend(mood);
    }
    Ok(Kept(
        weeks
            .into_iter()
            .map(|((group, start), moods)| (group, start, person_mood(&moods)))
            .collect(),
    ))
}

/// Writes what [`closed_weeks_of`] kept, in the erasure's own transaction.
pub(crate) async fn keep(db: &mut sqlx::SqliteConnection, kept: Kept) -> Result<()> {
    for (group, start, mood) in kept.0 {
        sqlx::query("INSERT INTO checkin_erased (group_id, week_start, mood) VALUES (?, ?, ?)")
            .bind(group)
            .bind(start)
            .bind(mood)
            .execute(&mut *db)
            .await
            .context("keeping an erased member's closed weeks")?;
    }
    Ok(())
}

// ---------------------------------------------------------------- settings

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub(crate) struct Settings {
    pub remind_at: Option<String>,
    pub zone: Option<String>,
    pub community_id: Option<i64>,
    pub tell_facilitators: bool,
}

pub(crate) async fn settings<'e>(db: impl sqlx::SqliteExecutor<'e>, member: i64) -> Result<Settings> {
    let found: Option<Settings> = sqlx::query_as(
        "SELECT remind_at, zone, community_id, tell_facilitators FROM checkin_settings WHERE member_id = ?",
    )
    .bind(member)
    .fetch_optional(db)
    .await
    .context("loading check-in settings")?;
    Ok(found.unwrap_or_default())
}

fn parse_time(raw: &str) -> std::result::Result<Option<NaiveTime>, UserError> {
    if raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    // Read as `when` reads a time of day: 20:00, 20.00, 8pm, noon.
    when::time_only(raw).map(Some).ok_or(UserError::BadValue {
        option: "time",
        why: "must be a time like 20:00 or 8pm, or off",
    })
}

/// A line for `/reminders` when new quiet hours cover the member's daily
/// check-in prompt: it will come when they end, and they should know.
pub(crate) async fn quiet_note(conn: &mut SqliteConnection, member: i64) -> Result<Option<Line>> {
    let quiet = reminders::settings(&mut *conn, member).await?;
    let at = settings(&mut *conn, member)
        .await?
        .remind_at
        .and_then(|t| NaiveTime::parse_from_str(&t, "%H:%M").ok());
    Ok(match (at, quiet.quiet()) {
        (Some(at), Some((_, to))) if quiet.is_quiet(at) => Some(
            Line::text(format!(
                "Your daily check-in prompt at {} is inside these hours, so it comes at {}. Move it with ",
                at.format("%H:%M"),
                to.format("%H:%M")
            ))
            .cmd("checkin remind time:…")
            .t("."),
        ),
        _ => None,
    })
}

/// `/checkin remind`: the daily DM prompt and the facilitators opt-in.
async fn remind(
    conn: &mut SqliteConnection,
    asker: &Asker<'_>,
    time: Option<&str>,
    tell: Option<&str>,
    zone: Tz,
) -> Result<Message> {
    let me = asker.me;
    let time = time.map(parse_time).transpose()?;
    let quiet = reminders::settings(&mut *conn, me.id).await?;
    // A prompt inside quiet hours would come when they end, the next
    // morning, asking about a day that has not begun: refused, not confirmed.
    if let (Some(Some(t)), Some((from, to))) = (time, quiet.quiet())
        && quiet.is_quiet(t)
    {
        return Err(UserError::InQuietHours { time: t, from, to }.into());
    }
    if time.is_some() || tell.is_some() {
        sqlx::query("INSERT INTO checkin_settings (member_id) VALUES (?) ON CONFLICT (member_id) DO NOTHING")
            .bind(me.id)
            .execute(&mut *conn)
            .await
            .context("creating check-in settings")?;
    }
    if let Some(time) = time {
        sqlx::query("UPDATE checkin_settings SET remind_at = ?, zone = ?, community_id = ? WHERE member_id = ?")
            .bind(time.map(when::hhmm))
            .bind(zone.name())
            .bind(asker.community.id)
            .bind(me.id)
            .execute(&mut *conn)
            .await
            .context("saving a check-in time")?;
    }
    if let Some(tell) = tell {
        sqlx::query("UPDATE checkin_settings SET tell_facilitators = ? WHERE member_id = ?")
            .bind(tell == "on")
            .bind(me.id)
            .execute(&mut *conn)
            .await
            .context("saving the facilitators choice")?;
    }
    let s = settings(&mut *conn, me.id).await?;
    let mut message = Message::titled("Your check-ins");
    let at = s
        .remind_at
        .as_deref()
        .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok());
    message = message.text(match (&s.remind_at, at.zip(quiet.quiet())) {
        (Some(t), Some((at, (from, to)))) if quiet.is_quiet(at) => format!(
            "A check-in prompt by DM every day at {t}, {} time. That is inside your quiet hours ({}-{}), \
             so it comes when they end, at {}; pick another time with /checkin remind time:….",
            me.zone().unwrap_or(zone).name(),
            from.format("%H:%M"),
            to.format("%H:%M"),
            to.format("%H:%M")
        ),
        (Some(t), Some(_)) => format!(
            "A check-in prompt by DM every day at {t}, {} time (outside your quiet hours).",
            me.zone().unwrap_or(zone).name()
        ),
        (Some(t), None) => format!(
            "A check-in prompt by DM every day at {t}, {} time.",
            me.zone().unwrap_or(zone).name()
        ),
        (None, _) => "No daily check-in prompt.".to_string(),
    });
    message = message.text(if s.tell_facilitators {
        "When you answer 1 (struggling) to a group, its facilitators are told that today is hard: your name, never your note."
    } else {
        "When you answer 1 (struggling), no one else is told."
    });
    Ok(message.line(Line::text("Change them with ").cmd("checkin remind time:20:00 tell_facilitators:on")))
}

// ---------------------------------------------------------------- group prompts

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Schedule {
    pub id: i64,
    pub group_id: i64,
    pub start_local: Option<NaiveDateTime>,
    pub timezone: String,
    pub repeat: String,
    pub rrule: Option<String>,
    pub question: Option<String>,
    pub stopped: bool,
}

const MEETING_START: &str = "meeting_start";

impl Schedule {
    /// The series as a meeting, to expand with the meetings' own rule.
    fn series(&self) -> Option<Meeting> {
        Some(Meeting {
            id: 0,
            group_id: self.group_id,
            title: None,
            start_local: self.start_local?,
            timezone: self.timezone.clone(),
            repeat: self.repeat.clone(),
            rrule: self.rrule.clone()?,
            duration_minutes: 0,
            location: None,
            cancelled: false,
            group_ends: None,
            changed_at: 0,
            ends_at: None,
            continued_by: None,
        })
    }
}

pub(crate) async fn schedule_by_id<'e>(db: impl sqlx::SqliteExecutor<'e>, id: i64) -> Result<Option<Schedule>> {
    sqlx::query_as(
        "SELECT id, group_id, start_local, timezone, repeat, rrule, question, stopped FROM checkin_schedules WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await
    .context("loading a check-in schedule")
}

/// The first prompt of a schedule strictly after `after`.
pub(crate) async fn next_prompt(
    conn: &mut SqliteConnection,
    s: &Schedule,
    after: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    if s.stopped {
        return Ok(None);
    }
    if s.repeat == MEETING_START {
        let mut next: Option<DateTime<Utc>> = None;
        for meeting in meetings::of_group_in(&mut *conn, s.group_id).await? {
            if let Some(occ) = meetings::upcoming_in(&mut *conn, &meeting, after, 1)
                .await?
                .into_iter()
                .next()
            {
                next = Some(next.map_or(occ.start, |n| n.min(occ.start)));
            }
        }
        return Ok(next);
    }
    let Some(series) = s.series() else {
        return Ok(None);
    };
    Ok(series.raw_after(after + Duration::seconds(1), 1)?.into_iter().next())
}

/// The group whose prompt `prompt` is: a schedule's (`s{schedule}-…`) or
/// one posted at once (`n{group}-…`); none for a member's own.
async fn group_of_prompt(store: &Store, prompt: &str) -> Result<Option<Group>> {
    let number = |rest: &str| rest.split_once('-').and_then(|(n, _)| n.parse::<i64>().ok());
    let group = if let Some(schedule) = prompt.strip_prefix('s').and_then(number) {
        schedule_by_id(store.pool(), schedule).await?.map(|s| s.group_id)
    } else {
        prompt.strip_prefix('n').and_then(number)
    };
    match group {
        Some(id) => groups::find_by_id(store, id).await,
        None => Ok(None),
    }
}

/// The prompt key of one occurrence: the answers to it are one per member.
fn prompt_key(schedule: i64, at: DateTime<Utc>) -> String {
    format!("s{schedule}-{}", at.timestamp())
}

/// `/checkin schedule`: a series of prompts, one at each meeting's start,
/// one now, or `off`.
#[expect(
    clippy::too_many_arguments,
    reason = "the command's options, with where and when it is asked"
)]
async fn schedule(
    conn: &mut SqliteConnection,
    group: &Group,
    platform: Platform,
    (zone, order): (Tz, Option<when::DateOrder>),
    when_raw: &str,
    repeat: Option<&str>,
    question: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Response, Planned)> {
    let keyword = when_raw.trim().to_ascii_lowercase();
    if (keyword == "now" || keyword == "off") && repeat.is_some() {
        return Err(UserError::BadValue {
            option: "repeat",
            why: "goes with a time; leave it out with when:now or when:off",
        }
        .into());
    }
    match keyword.as_str() {
        "now" => {
            let key = format!("n{}-{}", group.id, now.timestamp());
            let post = Effect::Post {
                channel: group.home_channel.clone(),
                message: group_prompt(group, question, &key, platform),
                key: Some(format!("checkin:now:{}:{}", group.id, now.timestamp())),
            };
            let reply = Message::new().line(
                Line::text(format!("Posted a check-in prompt for {} in ", group.name))
                    .push(Span::Channel {
                        id: group.home_channel.clone(),
                    })
                    .t("."),
            );
            Ok((Response::private(reply).with_effect(post), false))
        }
        "off" => {
            let stopped: Vec<i64> = sqlx::query_scalar(
                "UPDATE checkin_schedules SET stopped = 1 WHERE group_id = ? AND stopped = 0 RETURNING id",
            )
            .bind(group.id)
            .fetch_all(&mut *conn)
            .await
            .context("stopping check-in schedules")?;
            for id in &stopped {
                jobs::cancel(&mut *conn, KIND.name, *id).await?;
            }
            let reply = Message::new().text(match stopped.len() {
                0 => format!("{} has no check-in prompts scheduled.", group.name),
                n => format!(
                    "Stopped {}'s check-in prompts ({n} schedule{}).",
                    group.name,
                    if n == 1 { "" } else { "s" }
                ),
            });
            Ok((Response::private(reply), !stopped.is_empty()))
        }
        MEETING_START => {
            let id = insert_schedule(&mut *conn, group, None, zone, MEETING_START, None, question, now).await?;
            plan_schedule(&mut *conn, id, now).await?;
            let mut reply = Message::titled(format!("Check-ins: {}", group.name))
                .text("A check-in prompt will be posted as each of its meetings begins: the opening round.");
            if let Some(s) = schedule_by_id(&mut *conn, id).await? {
                reply = match next_prompt(&mut *conn, &s, now).await? {
                    Some(t) => reply.line(Line::text("The first: ").push(Span::Time { at: t, zone })),
                    None => reply.line(
                        Line::text("It has no meetings coming yet; ")
                            .cmd("meeting schedule")
                            .t(" adds one."),
                    ),
                };
            }
            Ok((Response::public(reply), true))
        }
        _ => {
            let asked = when::parse(when_raw, zone, order, now)?;
            let (first, note) = when::resolve(asked, zone);
            let start = first.with_timezone(&zone).naive_local();
            let (label, rule) = meetings::series_rule(repeat, None, None, start, zone)?;
            let id = insert_schedule(&mut *conn, group, Some(start), zone, &label, Some(&rule), question, now).await?;
            plan_schedule(&mut *conn, id, now).await?;
            let schedule = Schedule {
                id,
                group_id: group.id,
                start_local: Some(start),
                timezone: zone.name().to_string(),
                repeat: label,
                rrule: Some(rule),
                question: None,
                stopped: false,
            };
            let mut reply = Message::titled(format!("Check-ins: {}", group.name)).text(format!(
                "Check-in prompts {}, posted in the group's home channel.",
                cadence(&schedule)
            ));
            if let Some(note) = note {
                reply = reply.text(note.explain(asked, zone));
            }
            let series = schedule.series();
            if let Some(series) = series {
                reply = reply.text("Next:");
                for t in series.raw_after(now, 3)? {
                    reply = reply.line(Line::text("  ").push(Span::Time { at: t, zone }));
                }
            }
            Ok((Response::public(reply), true))
        }
    }
}

/// `/checkin schedule when:list`: a group's running schedules, by number,
/// with when each next posts.
async fn list_schedules(conn: &mut SqliteConnection, group: &Group, now: DateTime<Utc>) -> Result<Message> {
    let schedules: Vec<Schedule> = sqlx::query_as(
        "SELECT id, group_id, start_local, timezone, repeat, rrule, question, stopped FROM checkin_schedules
         WHERE group_id = ? AND stopped = 0 ORDER BY id",
    )
    .bind(group.id)
    .fetch_all(&mut *conn)
    .await
    .context("listing check-in schedules")?;
    if schedules.is_empty() {
        return Ok(Message::new().line(
            Line::text(format!("{} has no check-in prompts scheduled. ", group.name))
                .cmd("checkin schedule")
                .t(" adds some."),
        ));
    }
    let mut message = Message::titled(format!("Check-in schedules: {}", group.name));
    for s in &schedules {
        let zone: Tz = s.timezone.parse().unwrap_or(Tz::UTC);
        let how = cadence(s);
        let mut line = Line::text(format!("{}: {how}", s.id));
        if let Some(q) = &s.question {
            line = line.t(format!(", asking \"{q}\""));
        }
        line = match next_prompt(&mut *conn, s, now).await? {
            Some(next) => line.t(". Next: ").push(Span::Time { at: next, zone }),
            None => line.t(". No prompt to come"),
        };
        message = message.line(line.t("."));
    }
    Ok(message.line(
        Line::text("Stop one with ")
            .cmd(format!("checkin schedule group:#{} when:off schedule:N", group.id))
            .t(", or all of them with when:off."),
    ))
}

/// `/checkin schedule when:off schedule:N`: that one schedule stops.
async fn stop_one(conn: &mut SqliteConnection, group: &Group, id: i64) -> Result<Message> {
    let stopped: Option<i64> = sqlx::query_scalar(
        "UPDATE checkin_schedules SET stopped = 1 WHERE id = ? AND group_id = ? AND stopped = 0 RETURNING id",
    )
    .bind(id)
    .bind(group.id)
    .fetch_optional(&mut *conn)
    .await
    .context("stopping a check-in schedule")?;
    let Some(id) = stopped else {
        return Err(UserError::BadValue {
            option: "schedule",
            why: "is not one of this group's running check-in schedules; when:list shows their numbers",
        }
        .into());
    };
    jobs::cancel(&mut *conn, KIND.name, id).await?;
    Ok(Message::new().text(format!(
        "Stopped {}'s check-in schedule {id}; its other schedules go on.",
        group.name
    )))
}

/// How often a schedule posts, in the meetings' own words from its rule
/// (lower case, to follow "Check-in prompts").
fn cadence(s: &Schedule) -> String {
    match s.series() {
        Some(series) if s.repeat != MEETING_START => {
            let words = meetings::rule_words(&series, None);
            let mut chars = words.chars();
            chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or(words)
        }
        _ => "as each meeting begins".to_string(),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row's columns; a struct for a single call would add nothing"
)]
async fn insert_schedule(
    conn: &mut SqliteConnection,
    group: &Group,
    start: Option<NaiveDateTime>,
    zone: Tz,
    repeat: &str,
    rule: Option<&str>,
    question: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO checkin_schedules (group_id, start_local, timezone, repeat, rrule, question, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(group.id)
    .bind(start)
    .bind(zone.name())
    .bind(repeat)
    .bind(rule)
    .bind(question)
    .bind(now.timestamp())
    .fetch_one(&mut *conn)
    .await
    .context("saving a check-in schedule")
}

/// The prompt a schedule posts at `at`, in its group's home channel.
pub(crate) async fn scheduled_post(
    store: &Store,
    s: &Schedule,
    platform: Platform,
    at: DateTime<Utc>,
    job_key: &str,
) -> Result<(Group, Effect)> {
    let group = groups::by_id(store, s.group_id).await?;
    let key = prompt_key(s.id, at);
    let effect = Effect::Post {
        channel: group.home_channel.clone(),
        message: group_prompt(&group, s.question.as_deref(), &key, platform),
        key: Some(job_key.to_string()),
    };
    Ok((group, effect))
}

/// A member's daily prompt on `day`.
pub(crate) fn personal_post(member: &Member, day: NaiveDate, job_key: &str) -> Effect {
    let key = format!("d{}", day.format("%Y%m%d"));
    Effect::Dm {
        user: member.external_id.clone(),
        message: personal_prompt(&key),
        key: Some(job_key.to_string()),
    }
}

// ---------------------------------------------------------------- jobs

/// The jobs kind of a group's scheduled prompts; the subject is the schedule.
pub(crate) static KIND: jobs::Kind = jobs::Kind::capped("checkin", jobs::Subject::Row("checkin_schedules"));
/// The jobs kind of a member's daily prompt; the subject is the member.
pub(crate) static KIND_DM: jobs::Kind = jobs::Kind::capped("checkin_dm", jobs::Subject::Row("members"));

/// Renders check-in prompts when due; registered with the jobs engine
/// where the `Hearth` is built.
pub(crate) fn prompts() -> jobs::Handler {
    static ALL: [&jobs::Kind; 2] = [&KIND, &KIND_DM];
    jobs::Handler::Each {
        kinds: &ALL,
        due: |store, job, now| Box::pin(due(store, job, now)),
    }
}
/// A prompt this late is not posted: "how are you today?" hours later asks
/// about a day that has moved on. The next one is planned as usual.
const STALE_AFTER_SECS: i64 = 2 * 3600;

/// How many later slots a plan tries when the first one's key is spent.
const FREE_SLOT_TRIES: usize = 16;

/// Plans a schedule's next prompt after `after`, in the caller's write
/// transaction: the first whose key is not spent (a prompt already posted
/// is never planned again, so planning always leaves one to come). A prompt
/// waiting to retry stays.
pub(crate) async fn plan_schedule(conn: &mut SqliteConnection, id: i64, after: DateTime<Utc>) -> Result<()> {
    jobs::cancel_planned(&mut *conn, KIND.name, id).await?;
    let Some(s) = schedule_by_id(&mut *conn, id).await? else {
        return Ok(());
    };
    let Some((platform, _)) = community_of(&mut *conn, Within::Group(s.group_id)).await? else {
        return Ok(());
    };
    let mut after = after;
    for _ in 0..FREE_SLOT_TRIES {
        let Some(next) = next_prompt(&mut *conn, &s, after).await? else {
            return Ok(());
        };
        let key = format!("checkin:{id}:{}", next.timestamp());
        if !jobs::spent(&mut *conn, &key).await? {
            let job = NewJob {
                key: &key,
                kind: KIND.name,
                due: next,
                platform,
                subject: id,
                member: None,
            };
            return jobs::put(&mut *conn, &job).await;
        }
        after = next;
    }
    Ok(())
}

/// Plans a member's next daily prompt after `after`, in their zone and
/// outside their quiet hours, in the caller's write transaction; none when
/// off. One a day: a day whose prompt already went out is skipped, so
/// moving the time later or the zone west never leaves none to come. A
/// prompt waiting to retry stays.
pub(crate) async fn plan_member_prompt(conn: &mut SqliteConnection, member: i64, after: DateTime<Utc>) -> Result<()> {
    jobs::cancel_planned(&mut *conn, KIND_DM.name, member).await?;
    let s = settings(&mut *conn, member).await?;
    let (Some(time), Some(community)) = (s.remind_at.as_deref(), s.community_id) else {
        return Ok(());
    };
    let Ok(time) = NaiveTime::parse_from_str(time, "%H:%M") else {
        return Ok(());
    };
    let Some((platform, _)) = community_of(&mut *conn, Within::Community(community)).await? else {
        return Ok(());
    };
    let own_zone: Option<Option<String>> = sqlx::query_scalar("SELECT timezone FROM members WHERE id = ?")
        .bind(member)
        .fetch_optional(&mut *conn)
        .await
        .context("reading a member's zone")?;
    let Some(own_zone) = own_zone else {
        return Ok(());
    };
    let zone = own_zone.or(s.zone).and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC);
    let quiet = reminders::settings(&mut *conn, member).await?;
    let mut day = after.with_timezone(&zone).date_naive();
    if when::resolve(day.and_time(time), zone).0 <= after {
        day = day.succ_opt().unwrap_or(day);
    }
    for _ in 0..FREE_SLOT_TRIES {
        let key = format!("checkin:dm:{member}:{}", day.format("%Y%m%d"));
        if !jobs::spent(&mut *conn, &key).await? {
            let at = when::resolve(day.and_time(time), zone).0;
            // Quiet hours are never longer than a day, so this moves it to when they end.
            let due = quiet.outside_quiet(at, at + Duration::days(1), zone);
            let job = NewJob {
                key: &key,
                kind: KIND_DM.name,
                due,
                platform,
                subject: member,
                member: Some(member),
            };
            return jobs::put(&mut *conn, &job).await;
        }
        day = day.succ_opt().unwrap_or(day);
    }
    Ok(())
}

/// A member's zone or quiet hours changed: their daily prompt follows, in
/// the caller's write transaction. Whether anything was planned.
pub(crate) async fn member_moved(conn: &mut SqliteConnection, member: i64, now: DateTime<Utc>) -> Result<bool> {
    if settings(&mut *conn, member).await?.remind_at.is_none() {
        return Ok(false);
    }
    plan_member_prompt(conn, member, now).await?;
    Ok(true)
}

/// A group's meetings changed: its prompts at meeting start follow, in the
/// caller's write transaction. Whether anything was planned.
pub(crate) async fn meetings_moved(conn: &mut SqliteConnection, group: i64, now: DateTime<Utc>) -> Result<bool> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM checkin_schedules WHERE group_id = ? AND repeat = ? AND stopped = 0")
            .bind(group)
            .bind(MEETING_START)
            .fetch_all(&mut *conn)
            .await
            .context("listing a group's opening check-ins")?;
    for id in &ids {
        plan_schedule(&mut *conn, *id, now).await?;
    }
    Ok(!ids.is_empty())
}

/// A check-in job fell due: the prompt to send, if any, with the next one planned.
pub(crate) async fn due(store: &Store, job: &jobs::Job, now: DateTime<Utc>) -> Result<Option<Due>> {
    let due_at = at(job.due_at);
    let stale = now.timestamp() - job.due_at > STALE_AFTER_SECS;
    let next_after = now.max(due_at);
    match job.kind.as_str() {
        k if k == KIND.name => {
            let Some(s) = schedule_by_id(store.pool(), job.subject).await? else {
                return Ok(None);
            };
            if s.stopped {
                return Ok(None);
            }
            let mut tx = jobs::write(store).await?;
            plan_schedule(&mut tx, s.id, next_after).await?;
            // The meeting may have moved or been cancelled since.
            let still = s.repeat != MEETING_START
                || next_prompt(&mut tx, &s, due_at - Duration::seconds(1)).await? == Some(due_at);
            tx.commit().await.context("committing the next check-in prompt")?;
            if !still {
                return Ok(None);
            }
            if stale {
                // Which group, or which member, is nobody's business in the log.
                tracing::info!(kind = KIND.name, "stale check-in prompt dropped");
                return Ok(None);
            }
            let Some((platform, community)) = community_of(store.pool(), Within::Group(s.group_id)).await? else {
                return Ok(None);
            };
            let (_, effect) = scheduled_post(store, &s, platform, due_at, &job.key).await?;
            Ok(Some(Due::Send(Delivery { community, effect })))
        }
        k if k == KIND_DM.name => {
            let member = job.member_id.unwrap_or(job.subject);
            let s = settings(store.pool(), member).await?;
            let Some(community) = s.community_id else {
                return Ok(None);
            };
            if s.remind_at.is_none() {
                return Ok(None);
            }
            let mut tx = jobs::write(store).await?;
            plan_member_prompt(&mut tx, member, next_after).await?;
            tx.commit().await.context("committing the next daily prompt")?;
            let Some(me) = crate::members::by_ids(store, &[member]).await?.into_iter().next() else {
                return Ok(None);
            };
            if stale {
                tracing::info!(kind = KIND_DM.name, "stale check-in prompt dropped");
                return Ok(None);
            }
            let Some((_, community)) = community_of(store.pool(), Within::Community(community)).await? else {
                return Ok(None);
            };
            let zone = me
                .zone()
                .or_else(|| s.zone.as_deref().and_then(|z| z.parse().ok()))
                .unwrap_or(Tz::UTC);
            let day = job
                .key
                .rsplit(':')
                .next()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
                .unwrap_or_else(|| due_at.with_timezone(&zone).date_naive());
            Ok(Some(Due::Send(Delivery {
                community,
                effect: personal_post(&me, day, &job.key),
            })))
        }
        other => Err(Error::Internal {
            context: "rendering a check-in job",
            source: format!("not a check-in kind: {other}").into(),
        }),
    }
}

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod summary_props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moods_have_kind_plain_words() {
        assert_eq!(mood_words(1), "1 struggling");
        assert_eq!(mood_words(3), "3 okay");
        assert_eq!(mood_words(5), "5 great");
    }

    #[test]
    fn prompt_buttons_fit_discord_custom_ids() {
        let group_prompt = with_mood_buttons(Message::new(), Some(i64::MAX), &prompt_key(i64::MAX, at(4_102_444_800)));
        for b in &group_prompt.buttons {
            assert!(b.command.len() + 2 <= 100, "{}", b.command);
            assert!(crate::parse::parse_command(&b.command).is_ok(), "{}", b.command);
        }
        assert_eq!(group_prompt.buttons.len(), 6);
    }

    #[test]
    fn the_time_is_hh_mm_or_off() {
        assert_eq!(parse_time("off"), Ok(None));
        assert_eq!(parse_time("20:00"), Ok(NaiveTime::from_hms_opt(20, 0, 0)));
        // Issue 30: read as `when` reads a time of day.
        assert_eq!(parse_time("8pm"), Ok(NaiveTime::from_hms_opt(20, 0, 0)));
        assert!(parse_time("25:00").is_err());
    }
}
