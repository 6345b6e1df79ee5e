//! `/checkin summary`: a group's closed weeks, anonymous, and what stays
//! of an erased member's answers.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::asking::mood_words;
use super::history::{average, change_words};
use crate::error::{Context, Result};
use crate::groups::Group;
use crate::message::Message;
use crate::store::{Db, Store, query, query_as, query_scalar};
use crate::when::{self, at};

/// The fewest distinct people, besides the one asking, who answered with a
/// mood in a week for its summary to show.
pub const MIN_ANSWERERS: usize = 5;

// A summary covers one whole week that has closed, Monday to Monday in the
// group's check-in zone (fixed at its first use), so the same question gets
// the same answer however often it is asked, and no check-in can be added
// to, changed in or (by /forgetme) taken out of a week once it is shown.
// Each person counts once in a week: their mood for it is the mean of their
// moods, shown in the nearest whole mood. The asker is left out, and a week
// is shown only when at least MIN_ANSWERERS others answered it with a mood.

/// The zone a group's check-in weeks are cut in: fixed the first time it is
/// needed, from the group's zone, else its community's.
pub(super) async fn week_zone(store: &Store, group: i64) -> Result<Tz> {
    let fixed = crate::groups::checkin_zone(store, group).await?;
    Ok(fixed.parse().unwrap_or(Tz::UTC))
}

/// The Monday of the week `at` falls in, in `zone`.
pub(super) fn monday_of(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    let day = at.with_timezone(&zone).date_naive();
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The week from `monday` 00:00 to the next Monday 00:00, in `zone`.
pub(super) fn week_bounds(monday: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
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
    let rows: Vec<(i64, Option<i64>)> =
        query_as("SELECT member_id, mood FROM checkins WHERE group_id = ? AND at >= ? AND at < ? AND member_id <> ?")
            .bind(group)
            .bind(from.timestamp())
            .bind(to.timestamp())
            .bind(asker)
            .fetch_all(store)
            .await
            .context("counting a week's check-ins")?;
    let erased: Vec<Option<f64>> =
        query_scalar("SELECT mood FROM checkin_erased WHERE group_id = ? AND week_start = ?")
            .bind(group)
            .bind(from.timestamp())
            .fetch_all(store)
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
pub(super) async fn summary(store: &Store, group: &Group, asker: i64, now: DateTime<Utc>) -> Result<Message> {
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
        query_as("SELECT group_id, mood, at FROM checkins WHERE member_id = ? AND group_id IS NOT NULL")
            .bind(member)
            .fetch_all(store)
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
pub(crate) async fn keep(db: impl Into<crate::store::Db<'_>>, kept: Kept) -> Result<()> {
    let mut db: Db<'_> = db.into();
    for (group, start, mood) in kept.0 {
        query("INSERT INTO checkin_erased (group_id, week_start, mood) VALUES (?, ?, ?)")
            .bind(group)
            .bind(start)
            .bind(mood)
            .execute(&mut db)
            .await
            .context("keeping an erased member's closed weeks")?;
    }
    Ok(())
}
