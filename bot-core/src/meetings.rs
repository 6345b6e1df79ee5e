//! Meetings: series stored as local start + IANA zone + RFC 5545 rule and
//! expanded in local time; their occurrences, exceptions and RSVPs; and
//! `/meeting schedule|list|cancel|move|rsvp`.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use rrule::{Frequency, NWeekday, RRule, RRuleSet, Unvalidated};

use crate::error::{Context, Error, Result, UserError};
use crate::groups::Group;
use crate::members::Member;
use crate::message::{Line, Message, Span};
use crate::parse::Bound;
use crate::store::Store;
use crate::when::{self, at};
use sqlx::SqliteConnection;

pub const DEFAULT_DURATION_MINUTES: i64 = 90;
/// How many occurrences a schedule preview shows.
const PREVIEW: usize = 5;
pub const REPEATS: &[&str] = &["once", "daily", "weekly", "biweekly", "monthly"];
pub const ANSWERS: &[&str] = &["yes", "maybe", "no"];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Meeting {
    pub id: i64,
    pub group_id: i64,
    pub title: Option<String>,
    pub start_local: NaiveDateTime,
    pub timezone: String,
    pub repeat: String,
    pub rrule: String,
    pub duration_minutes: i64,
    pub location: Option<String>,
    pub cancelled: bool,
    /// The group's last day (`/group edit ends:`): no occurrence after it.
    pub group_ends: Option<NaiveDate>,
    /// When it last changed (created, moved, cancelled, its card edited), Unix seconds.
    pub changed_at: i64,
    /// The last instant it may start, Unix seconds: set on the meetings a
    /// `/meeting edit` left before the change.
    pub ends_at: Option<i64>,
    /// The series these meetings became by `/meeting edit`.
    pub continued_by: Option<i64>,
}

macro_rules! select_meetings {
    ($rest:literal) => {
        concat!(
            "SELECT id, group_id, title, start_local, timezone, repeat, rrule, duration_minutes, location, cancelled, ",
            "ends_at, continued_by, ",
            "(SELECT g.ends FROM groups g WHERE g.id = meetings.group_id) AS group_ends, ",
            "COALESCE(updated_at, created_at, 0) AS changed_at ",
            "FROM meetings ",
            $rest
        )
    };
}

mod edit;
pub(crate) mod tell;
pub use edit::{Edit, Edited, clear_list as edit_clear_list, earlier_parts, edit, for_date};

/// One occurrence of a series. `original` identifies it (the iCalendar
/// RECURRENCE-ID); `start` is when it happens, which differs once moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub original: DateTime<Utc>,
    pub start: DateTime<Utc>,
}

impl Occurrence {
    pub fn moved(&self) -> bool {
        self.original != self.start
    }
}

impl Meeting {
    pub fn zone(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }

    pub fn duration(&self) -> Duration {
        Duration::minutes(self.duration_minutes)
    }

    fn rule_set(&self) -> Result<RRuleSet> {
        rule_set(self.start_local, self.zone(), &self.rrule).map_err(|why| Error::Internal {
            context: "expanding a stored series",
            source: why.into(),
        })
    }

    /// Up to `limit` occurrences starting at or after `from`, before
    /// exceptions, and none after the group's last day.
    pub fn raw_after(&self, from: DateTime<Utc>, limit: u16) -> Result<Vec<DateTime<Utc>>> {
        let set = self.rule_set()?.after(from.with_timezone(&rrule::Tz::Tz(self.zone())));
        let cutoff = self.cutoff();
        Ok(set
            .all(limit)
            .dates
            .into_iter()
            .map(|d| d.to_utc())
            .take_while(|d| cutoff.is_none_or(|c| *d <= c))
            .collect())
    }

    /// The last instant an occurrence may start: the end of the group's last
    /// day, in the series' zone, or where an edit ended this part of it.
    pub fn cutoff(&self) -> Option<DateTime<Utc>> {
        let group = self
            .group_ends
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|ends| when::resolve(ends, self.zone()).0);
        let edited = self.ends_at.and_then(|s| DateTime::from_timestamp(s, 0));
        match (group, edited) {
            (Some(g), Some(e)) => Some(g.min(e)),
            (g, e) => g.or(e),
        }
    }

    /// The series' first occurrence: its start when the rule includes it,
    /// else the rule's first (a rule on Mondays started on a Thursday first
    /// meets that Monday). Feeds and calendars start from it.
    pub fn first(&self) -> Result<Option<DateTime<Utc>>> {
        let start = when::resolve(self.start_local, self.zone()).0;
        Ok(self.raw_after(start - Duration::seconds(1), 1)?.into_iter().next())
    }

    /// The regular occurrences (before exceptions) from the first up to
    /// `before`, at most `limit` of them, and whether that was all.
    pub fn raw_before(&self, before: DateTime<Utc>, limit: u16) -> Result<(Vec<DateTime<Utc>>, bool)> {
        let set = self
            .rule_set()?
            .before(before.with_timezone(&rrule::Tz::Tz(self.zone())));
        let cutoff = self.cutoff();
        let found = set.all(limit);
        let dates: Vec<DateTime<Utc>> = found
            .dates
            .into_iter()
            .map(|d| d.to_utc())
            .take_while(|d| cutoff.is_none_or(|c| *d <= c))
            .collect();
        Ok((dates, !found.limited))
    }

    /// The rule set, for the calendar to write the rule as Hearth expands it.
    pub fn rules(&self) -> Result<RRuleSet> {
        self.rule_set()
    }

    /// The title to show: its own, or the group's name.
    pub fn name<'a>(&'a self, group: &'a str) -> &'a str {
        self.title.as_deref().unwrap_or(group)
    }
}

/// The rule set of a series: its rule from its first occurrence, placed in
/// its zone by the time rule of [`when::resolve`] (a local time that happens
/// twice is the first), so no start the schedule command accepts is refused.
fn rule_set(start: NaiveDateTime, zone: Tz, rule: &str) -> std::result::Result<RRuleSet, String> {
    // Whole seconds: rrule builds each occurrence from hour, minute and
    // second, so a start with a fraction would never match its own first one.
    let start = start.with_nanosecond(0).unwrap_or(start);
    let first = when::resolve(start, zone).0.with_timezone(&rrule::Tz::Tz(zone));
    rule.parse::<RRule<Unvalidated>>()
        .map_err(|e| e.to_string())?
        .build(first)
        .map_err(|e| e.to_string())
}

/// The RRULE for a shortcut, from the first occurrence's local start.
fn shortcut_rule(repeat: &str, start: NaiveDateTime) -> String {
    match repeat {
        "daily" => "FREQ=DAILY".into(),
        "weekly" => "FREQ=WEEKLY".into(),
        "biweekly" => "FREQ=WEEKLY;INTERVAL=2".into(),
        // The same weekday position each month ("2nd Tuesday"); a fifth
        // weekday does not exist every month, so it becomes "the last".
        "monthly" => {
            let nth = (start.day() - 1) / 7 + 1;
            let nth = if nth >= 5 { -1 } else { nth as i32 };
            format!("FREQ=MONTHLY;BYDAY={nth}{}", weekday_code(start.weekday()))
        }
        _ => "FREQ=DAILY;COUNT=1".into(),
    }
}

fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn repeat_error(why: &'static str) -> UserError {
    UserError::BadValue { option: "repeat", why }
}

/// The series' rule from `repeat`, `count` and `until`, checked by building it.
pub(crate) fn series_rule(
    repeat: Option<&str>,
    count: Option<i64>,
    until: Option<NaiveDate>,
    start: NaiveDateTime,
    zone: Tz,
) -> std::result::Result<(String, String), UserError> {
    let repeat = repeat.map(str::trim).unwrap_or("once");
    let lower = repeat.to_ascii_lowercase();
    let (label, mut rule) = if let Some(shortcut) = REPEATS.iter().find(|r| **r == lower) {
        (shortcut.to_string(), shortcut_rule(shortcut, start))
    } else {
        let raw = repeat.strip_prefix("RRULE:").unwrap_or(repeat).to_ascii_uppercase();
        if !raw.starts_with("FREQ=") && !raw.contains(";FREQ=") {
            return Err(repeat_error(
                "must be once, daily, weekly, biweekly, monthly, or an RRULE such as RRULE:FREQ=WEEKLY;BYDAY=MO,TH",
            ));
        }
        ("custom".to_string(), raw)
    };
    if count.is_some() && until.is_some() {
        return Err(UserError::BadValue {
            option: "count",
            why: "and until can't both be given; pick one",
        });
    }
    if label == "once" && (count.is_some() || until.is_some()) {
        return Err(repeat_error("is once, so count and until have nothing to limit"));
    }
    let has_end = rule.contains("COUNT=") || rule.contains("UNTIL=");
    if has_end && (count.is_some() || until.is_some()) {
        return Err(repeat_error("already says when it ends; leave out count and until"));
    }
    if let Some(count) = count {
        rule.push_str(&format!(";COUNT={count}"));
    }
    if until.is_some_and(|u| u < start.date()) {
        return Err(UserError::BadValue {
            option: "until",
            why: "is before the first meeting; give a last day on or after the date in when",
        });
    }
    if let Some(until) = until {
        // Through the end of that day in the meeting's zone, written in UTC as RFC 5545 asks.
        let end = when::resolve(until.and_hms_opt(23, 59, 59).unwrap_or_default(), zone).0;
        rule.push_str(&format!(";UNTIL={}", end.format("%Y%m%dT%H%M%SZ")));
    }
    let set = rule_set(start, zone, &rule)
        .map_err(|_| repeat_error("is not a rule I can read; write it like FREQ=WEEKLY;BYDAY=MO,TH, or use weekly"))?;
    // At most daily, read from the parsed rule: a daily rule with several
    // hours or minutes is more than daily.
    let too_often = set.get_rrule().iter().any(|r| {
        matches!(
            r.get_freq(),
            Frequency::Hourly | Frequency::Minutely | Frequency::Secondly
        ) || r.get_by_hour().len() > 1
            || r.get_by_minute().len() > 1
            || r.get_by_second().len() > 1
    });
    if too_often {
        return Err(repeat_error(
            "can be at most daily; use daily, or a rule with FREQ=DAILY or slower",
        ));
    }
    // The time of day comes from `when`; a rule that sets its own would show
    // one time and meet at another.
    let own_time = set.get_rrule().iter().any(|r| {
        r.get_by_hour() != [start.hour() as u8]
            || r.get_by_minute() != [start.minute() as u8]
            || r.get_by_second() != [start.second() as u8]
    });
    if own_time {
        return Err(repeat_error("sets its own time of day; give the time in when instead"));
    }
    if set.get_rrule().iter().any(|r| describe_rule(r, start).is_none()) {
        return Err(repeat_error(
            "is a rule I can't say in plain words; use FREQ with INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT or UNTIL",
        ));
    }
    Ok((label, rule))
}

const ORDINAL_WORDS: [&str; 5] = ["first", "second", "third", "fourth", "fifth"];

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// "Mondays and Thursdays", "Mondays, Wednesdays and Fridays".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// 1 → "1st", 22 → "22nd", -1 → "last day", -2 → "second-to-last day".
fn month_day(n: i8) -> String {
    match n {
        -1 => "last day".into(),
        n if n < 0 => format!(
            "{}-to-last day",
            ORDINAL_WORDS.get((-n - 1) as usize).copied().unwrap_or("nth")
        ),
        n => {
            let suffix = match (n % 10, n % 100) {
                (1, 11) | (2, 12) | (3, 13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            };
            format!("{n}{suffix}")
        }
    }
}

fn nth_weekday(n: i16, day: Weekday) -> Option<String> {
    let which = match n {
        -1 => "last".to_string(),
        n if (1..=5).contains(&n) => ORDINAL_WORDS[(n - 1) as usize].to_string(),
        n if (-5..=-2).contains(&n) => format!("{}-to-last", ORDINAL_WORDS[(-n - 1) as usize]),
        _ => return None,
    };
    Some(format!("the {which} {}", day_name(day)))
}

fn month_name(m: u8) -> Option<&'static str> {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    .get(usize::from(m).checked_sub(1)?)
    .copied()
}

/// How often a rule meets, in words, without time or end: "Weekly on
/// Mondays and Thursdays", "Every other Tuesday", "Monthly on the 15th".
/// `None` for a rule this cannot say; the schedule command refuses those.
fn describe_rule<S>(r: &RRule<S>, start: NaiveDateTime) -> Option<String> {
    let interval = r.get_interval().max(1);
    let plain_days: Vec<Weekday> = r
        .get_by_weekday()
        .iter()
        .filter_map(|d| match d {
            NWeekday::Every(day) => Some(*day),
            NWeekday::Nth(..) => None,
        })
        .collect();
    let nth_days: Vec<String> = r
        .get_by_weekday()
        .iter()
        .filter_map(|d| match d {
            NWeekday::Nth(n, day) => nth_weekday(*n, *day),
            NWeekday::Every(_) => None,
        })
        .collect();
    if nth_days.len() + plain_days.len() != r.get_by_weekday().len()
        || !r.get_by_set_pos().is_empty()
        || !r.get_by_year_day().is_empty()
        || !r.get_by_week_no().is_empty()
    {
        return None;
    }
    let every = |unit: &str, units: &str| match interval {
        1 => None,
        2 => Some(format!("Every other {unit}")),
        n => Some(format!("Every {n} {units}")),
    };
    let days_words =
        |days: &[Weekday]| and_list(&days.iter().map(|d| format!("{}s", day_name(*d))).collect::<Vec<_>>());
    // BYMONTH is filled in from the start by the rule builder for yearly rules.
    let months_given = !r.get_by_month().is_empty() && !matches!(r.get_freq(), Frequency::Yearly);
    Some(match r.get_freq() {
        Frequency::Daily if months_given || !r.get_by_month_day().is_empty() || !nth_days.is_empty() => return None,
        Frequency::Daily if !plain_days.is_empty() => match every("day", "days") {
            None => format!("On {}", days_words(&plain_days)),
            Some(_) => return None,
        },
        Frequency::Daily => every("day", "days").unwrap_or_else(|| "Daily".into()),
        Frequency::Weekly if months_given || !r.get_by_month_day().is_empty() || !nth_days.is_empty() => return None,
        Frequency::Weekly => {
            let days = if plain_days.is_empty() {
                vec![start.weekday()]
            } else {
                plain_days
            };
            match (interval, days.as_slice()) {
                (1, _) => format!("Weekly on {}", days_words(&days)),
                (2, [one]) => format!("Every other {}", day_name(*one)),
                (2, _) => format!("Every other week on {}", days_words(&days)),
                (n, _) => format!("Every {n} weeks on {}", days_words(&days)),
            }
        }
        Frequency::Monthly if months_given || !plain_days.is_empty() => return None,
        Frequency::Monthly => {
            let on = if !nth_days.is_empty() {
                if !r.get_by_month_day().is_empty() {
                    return None;
                }
                and_list(&nth_days)
            } else {
                let days: Vec<i8> = if r.get_by_month_day().is_empty() {
                    vec![start.day() as i8]
                } else {
                    r.get_by_month_day().to_vec()
                };
                format!(
                    "the {}",
                    and_list(&days.iter().map(|d| month_day(*d)).collect::<Vec<_>>())
                )
            };
            match every("month", "months") {
                None => format!("Monthly on {on}"),
                Some(e) => format!("{e} on {on}"),
            }
        }
        Frequency::Yearly if !plain_days.is_empty() || !nth_days.is_empty() => return None,
        Frequency::Yearly => {
            let months: Vec<u8> = if r.get_by_month().is_empty() {
                vec![start.month() as u8]
            } else {
                r.get_by_month().to_vec()
            };
            let days: Vec<i8> = if r.get_by_month_day().is_empty() {
                vec![start.day() as i8]
            } else {
                r.get_by_month_day().to_vec()
            };
            let months: Option<Vec<String>> = months.iter().map(|m| month_name(*m).map(String::from)).collect();
            let on = format!(
                "the {} of {}",
                and_list(&days.iter().map(|d| month_day(*d)).collect::<Vec<_>>()),
                and_list(&months?)
            );
            match every("year", "years") {
                None => format!("Yearly on {on}"),
                Some(e) => format!("{e} on {on}"),
            }
        }
        _ => return None,
    })
}

/// Cancelled (None) and moved (Some) occurrences among these (series,
/// original start) pairs: one query for a batch of deliveries.
pub async fn exceptions_of(store: &Store, occurrences: &[(i64, i64)]) -> Result<HashMap<(i64, i64), Option<i64>>> {
    let list = serde_json::to_string(occurrences).context("listing occurrences")?;
    let rows: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT meeting_id, occurrence, moved_to FROM meeting_exceptions WHERE (meeting_id, occurrence) IN
             (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))",
    )
    .bind(list)
    .fetch_all(store.pool())
    .await
    .context("loading exceptions of a batch")?;
    Ok(rows.into_iter().map(|(m, o, to)| ((m, o), to)).collect())
}

/// Cancelled (None) and moved (Some) occurrences of a series, by original start.
pub(crate) async fn exceptions(conn: &mut SqliteConnection, meeting: i64) -> Result<HashMap<i64, Option<i64>>> {
    let rows: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT occurrence, moved_to FROM meeting_exceptions WHERE meeting_id = ?")
            .bind(meeting)
            .fetch_all(&mut *conn)
            .await
            .context("loading exceptions")?;
    Ok(rows.into_iter().collect())
}

/// The next `limit` occurrences that start after `after`, exceptions applied.
pub async fn upcoming(store: &Store, meeting: &Meeting, after: DateTime<Utc>, limit: usize) -> Result<Vec<Occurrence>> {
    let mut conn = store.pool().acquire().await.context("reading occurrences")?;
    upcoming_in(&mut conn, meeting, after, limit).await
}

/// [`upcoming`] on a connection the caller holds (inside a write transaction).
pub async fn upcoming_in(
    conn: &mut SqliteConnection,
    meeting: &Meeting,
    after: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Occurrence>> {
    if meeting.cancelled {
        return Ok(Vec::new());
    }
    let exceptions = exceptions(conn, meeting.id).await?;
    let mut found: Vec<Occurrence> = meeting
        .raw_after(after + Duration::seconds(1), (limit + exceptions.len()).min(500) as u16)?
        .into_iter()
        .filter_map(|original| match exceptions.get(&original.timestamp()) {
            None => Some(Occurrence {
                original,
                start: original,
            }),
            Some(_) => None,
        })
        .collect();
    // A moved occurrence counts where it now happens; one whose original
    // falls after the group's last day is gone with the rest.
    let cutoff = meeting.cutoff();
    found.extend(exceptions.iter().filter_map(|(original, moved)| {
        let start = at((*moved)?);
        let kept = start > after && cutoff.is_none_or(|c| *original <= c.timestamp());
        kept.then(|| Occurrence {
            original: at(*original),
            start,
        })
    }));
    found.sort_by_key(|o| o.start);
    found.truncate(limit);
    Ok(found)
}

/// Whether a series still meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Going,
    /// No occurrence after now: its rule ran out, or its group's last day
    /// passed. The last occurrence's start, when it could be found.
    Ended(Option<DateTime<Utc>>),
}

/// Whether `meeting` has an occurrence after `now`, and if not, when it last met.
pub async fn status_in(conn: &mut SqliteConnection, meeting: &Meeting, now: DateTime<Utc>) -> Result<Status> {
    if !upcoming_in(&mut *conn, meeting, now, 1).await?.is_empty() {
        return Ok(Status::Going);
    }
    let exceptions = exceptions(&mut *conn, meeting.id).await?;
    let (regular, complete) = meeting.raw_before(now, 5000)?;
    if !complete {
        return Ok(Status::Ended(None));
    }
    let cutoff = meeting.cutoff();
    let moved = exceptions
        .iter()
        .filter(|(o, _)| cutoff.is_none_or(|c| **o <= c.timestamp()))
        .filter_map(|(_, m)| m.map(at))
        .filter(|m| *m <= now);
    let last = regular
        .into_iter()
        .filter(|o| !exceptions.contains_key(&o.timestamp()))
        .chain(moved)
        .max();
    Ok(Status::Ended(last))
}

pub async fn find(store: &Store, community: i64, id: i64) -> Result<(Meeting, Group)> {
    let meeting: Option<Meeting> = sqlx::query_as(select_meetings!(
        "WHERE id = ? AND group_id IN (SELECT id FROM groups WHERE community_id = ?)"
    ))
    .bind(id)
    .bind(community)
    .fetch_optional(store.pool())
    .await
    .context("finding a meeting")?;
    let Some(meeting) = meeting else {
        return Err(UserError::MeetingNotFound.into());
    };
    let group = crate::groups::by_id(store, meeting.group_id).await?;
    Ok((meeting, group))
}

pub async fn by_id(store: &Store, id: i64) -> Result<Option<Meeting>> {
    by_id_in(store.pool(), id).await
}

/// Several series in one query (those of a batch of deliveries).
pub async fn by_ids(store: &Store, ids: &[i64]) -> Result<Vec<Meeting>> {
    let list = serde_json::to_string(ids).context("listing meetings")?;
    sqlx::query_as(select_meetings!("WHERE id IN (SELECT value FROM json_each(?))"))
        .bind(list)
        .fetch_all(store.pool())
        .await
        .context("loading meetings")
}

/// RSVP counts (yes, maybe) of several occurrences at once, by (meeting, occurrence).
pub async fn rsvp_counts_of(store: &Store, occurrences: &[(i64, i64)]) -> Result<HashMap<(i64, i64), (i64, i64)>> {
    let list = serde_json::to_string(occurrences).context("counting RSVPs")?;
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT meeting_id, occurrence, COALESCE(SUM(answer = 'yes'), 0), COALESCE(SUM(answer = 'maybe'), 0)
         FROM rsvps WHERE (meeting_id, occurrence) IN
             (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))
         GROUP BY meeting_id, occurrence",
    )
    .bind(list)
    .fetch_all(store.pool())
    .await
    .context("counting RSVPs")?;
    Ok(rows.into_iter().map(|(m, o, y, n)| ((m, o), (y, n))).collect())
}

pub async fn by_id_in<'e>(db: impl sqlx::SqliteExecutor<'e>, id: i64) -> Result<Option<Meeting>> {
    sqlx::query_as(select_meetings!("WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
        .context("loading a meeting")
}

pub async fn of_group(store: &Store, group: i64) -> Result<Vec<Meeting>> {
    of_group_in(store.pool(), group).await
}

/// How often and how long a group meets, and when next, for its info card;
/// a series that has ended says when.
pub async fn group_meets(store: &Store, group: i64, now: DateTime<Utc>) -> Result<Line> {
    let series = of_group(store, group).await?;
    if series.is_empty() {
        return Ok(crate::groups::no_meetings());
    }
    let mut conn = store.pool().acquire().await.context("reading a group's series")?;
    let mut said = Vec::new();
    let mut next = None;
    for m in &series {
        let mut words = cadence(m);
        match status_in(&mut conn, m, now).await? {
            Status::Going => {
                if let Some(o) = upcoming_in(&mut conn, m, now, 1).await?.first()
                    && next.is_none_or(|(at, _)| o.start < at)
                {
                    next = Some((o.start, m.zone()));
                }
            }
            Status::Ended(Some(last)) => words.push_str(&format!(
                " (ended: last met {})",
                last.with_timezone(&m.zone()).format("%a %-d %b %Y")
            )),
            Status::Ended(None) => words.push_str(" (ended)"),
        }
        said.push(words);
    }
    let mut line = Line::text(said.join("; "));
    if let Some((at, zone)) = next {
        line = line.t(". Next: ").push(Span::Time { at, zone });
    }
    Ok(line)
}

/// A group's live series, on the caller's connection.
pub async fn of_group_in<'e>(db: impl sqlx::SqliteExecutor<'e>, group: i64) -> Result<Vec<Meeting>> {
    sqlx::query_as(select_meetings!("WHERE group_id = ? AND cancelled = 0 ORDER BY id"))
        .bind(group)
        .fetch_all(db)
        .await
        .context("listing a group's meetings")
}

pub async fn of_community(store: &Store, community: i64) -> Result<Vec<(Meeting, String)>> {
    let meetings: Vec<Meeting> = sqlx::query_as(select_meetings!(
        "WHERE cancelled = 0 AND group_id IN (SELECT id FROM groups WHERE community_id = ?) ORDER BY id"
    ))
    .bind(community)
    .fetch_all(store.pool())
    .await
    .context("listing a community's meetings")?;
    // One query for the group names, not one per meeting.
    let names: HashMap<i64, String> = sqlx::query_as("SELECT id, name FROM groups WHERE community_id = ?")
        .bind(community)
        .fetch_all(store.pool())
        .await
        .context("naming a community's groups")?
        .into_iter()
        .collect();
    Ok(meetings
        .into_iter()
        .map(|m| {
            let name = names.get(&m.group_id).cloned().unwrap_or_default();
            (m, name)
        })
        .collect())
}

/// Finds an occurrence of a live series by `next` or the date it is on: the
/// one originally on that date (what its buttons and `/meeting list` call
/// it), else one moved onto that date. A date is read in the meeting's zone
/// and in the reader's: where the two differ, the answer's second part says
/// which was taken, in words.
pub async fn occurrence(
    conn: &mut SqliteConnection,
    meeting: &Meeting,
    wanted: Option<&str>,
    reader: Tz,
    now: DateTime<Utc>,
) -> Result<(Occurrence, Option<Line>)> {
    if meeting.cancelled {
        return Err(UserError::SeriesCancelled { meeting: meeting.id }.into());
    }
    let wanted = wanted.map(str::trim).unwrap_or("next");
    if wanted.eq_ignore_ascii_case("next") {
        return upcoming_in(conn, meeting, now, 1)
            .await?
            .into_iter()
            .next()
            .map(|o| (o, None))
            .ok_or_else(|| UserError::NoSuchOccurrence.into());
    }
    let Ok(date) = NaiveDate::parse_from_str(wanted, "%Y-%m-%d") else {
        return Err(UserError::BadValue {
            option: "occurrence",
            why: "must be next, or the date of one meeting (YYYY-MM-DD)",
        }
        .into());
    };
    let zone = meeting.zone();
    let exceptions = exceptions(conn, meeting.id).await?;
    let theirs = on_date(meeting, &exceptions, date, zone);
    if reader == zone {
        return Ok((theirs?, None));
    }
    let yours = on_date(meeting, &exceptions, date, reader);
    let day = |o: &Occurrence, z: Tz| o.start.with_timezone(&z).date_naive();
    match (theirs, yours) {
        (Ok(t), Ok(y)) if t.original == y.original => Ok((t, None)),
        (Ok(t), other) => {
            if day(&t, reader) == date && other.is_err() {
                return Ok((t, None));
            }
            let mut line = Line::text(format!(
                "I took {date} in {}, where it meets: for you that is ",
                zone.name()
            ))
            .push(time(t.start, reader))
            .t(".");
            if let Ok(y) = other {
                line = line
                    .t(format!(" On your {date} there is another, at "))
                    .push(time(y.start, reader))
                    .t(format!(": name it occurrence:{}.", occurrence_ref(meeting, &y)));
            }
            Ok((t, Some(line)))
        }
        (Err(_), Ok(y)) => Ok((
            y,
            Some(
                Line::text(format!(
                    "I took {date} as your date, in {}: the meeting at ",
                    reader.name()
                ))
                .push(time(y.start, reader))
                .t(format!(
                    ", which is {} in {}, where it meets.",
                    y.start.with_timezone(&zone).format("%a %-d %b"),
                    zone.name()
                )),
            ),
        )),
        (Err(e), Err(_)) => Err(e),
    }
}

/// The occurrence on `date` in `zone`, exceptions applied: the one
/// originally on that date, else one moved onto it.
fn on_date(meeting: &Meeting, exceptions: &HashMap<i64, Option<i64>>, date: NaiveDate, zone: Tz) -> Result<Occurrence> {
    let day_start = when::resolve(date.and_hms_opt(0, 0, 0).unwrap_or_default(), zone).0;
    let original = meeting
        .raw_after(day_start, 1)?
        .into_iter()
        .find(|o| o.with_timezone(&zone).date_naive() == date);
    if let Some(original) = original {
        return match exceptions.get(&original.timestamp()) {
            Some(None) => Err(UserError::OccurrenceCancelled.into()),
            Some(Some(moved)) => Ok(Occurrence {
                original,
                start: at(*moved),
            }),
            None => Ok(Occurrence {
                original,
                start: original,
            }),
        };
    }
    // No regular one that day: a moved occurrence answers to the date it now happens on.
    let cutoff = meeting.cutoff();
    exceptions
        .iter()
        .filter_map(|(o, m)| Some((*o, (*m)?)))
        .filter(|(o, _)| cutoff.is_none_or(|c| *o <= c.timestamp()))
        .find(|(_, m)| at(*m).with_timezone(&zone).date_naive() == date)
        .map(|(original, moved)| Occurrence {
            original: at(original),
            start: at(moved),
        })
        .ok_or_else(|| UserError::NoSuchOccurrence.into())
}

/// How far ahead a new or moved meeting is checked against the group's
/// others, and at most how many of a new series' meetings.
const CLASH_DAYS: i64 = 366;
const CLASH_SLOTS: u16 = 60;

/// What a clash check leaves out: the meetings being changed.
#[derive(Debug, Clone, Copy)]
enum Except {
    Nothing,
    /// A series' one occurrence, by its original start (a move).
    One(i64, DateTime<Utc>),
    /// A whole series (an edit).
    Series(i64),
}

impl Except {
    fn covers(self, series: i64, occ: &Occurrence) -> bool {
        match self {
            Except::Nothing => false,
            Except::One(id, original) => id == series && original == occ.original,
            Except::Series(id) => id == series,
        }
    }
}

/// The first of the group's meetings (other than `except`) that overlaps
/// one of `slots`.
async fn clash(
    conn: &mut SqliteConnection,
    group: i64,
    slots: &[(DateTime<Utc>, Duration)],
    except: Except,
    now: DateTime<Utc>,
) -> Result<Option<(Meeting, Occurrence)>> {
    let Some(last) = slots.iter().map(|(start, length)| *start + *length).max() else {
        return Ok(None);
    };
    for other in of_group_in(&mut *conn, group).await? {
        // Enough of a daily series to reach the last slot.
        let span = (last - now).num_days().clamp(1, CLASH_DAYS) as usize + 1;
        for occ in upcoming_in(&mut *conn, &other, now, span).await? {
            if except.covers(other.id, &occ) || occ.start >= last {
                continue;
            }
            let ends = occ.start + other.duration();
            if slots
                .iter()
                .any(|(start, length)| occ.start < *start + *length && *start < ends)
            {
                return Ok(Some((other, occ)));
            }
        }
    }
    Ok(None)
}

fn clash_error(meeting: &Meeting, group: &Group, occ: &Occurrence, command: &'static str) -> Error {
    UserError::Clash {
        command,
        group: group.name.clone(),
        name: meeting.name(&group.name).to_string(),
        meeting: meeting.id,
        at: occ.start,
        zone: meeting.zone(),
    }
    .into()
}

/// How an occurrence is referred to in commands and buttons.
pub fn occurrence_ref(meeting: &Meeting, occurrence: &Occurrence) -> String {
    occurrence
        .original
        .with_timezone(&meeting.zone())
        .format("%Y-%m-%d")
        .to_string()
}

/// The command (without prefix) that answers an occurrence's RSVP.
pub fn rsvp_command(meeting: &Meeting, occurrence: &Occurrence, answer: &str) -> String {
    let day = occurrence_ref(meeting, occurrence);
    format!("meeting rsvp meeting:{} occurrence:{day} answer:{answer}", meeting.id)
}

pub fn rsvp_buttons(message: Message, meeting: &Meeting, occurrence: &Occurrence) -> Message {
    let cmd = |answer: &str| rsvp_command(meeting, occurrence, answer);
    message
        .button("Going", "👍", cmd("yes"))
        .button("Maybe", "🤔", cmd("maybe"))
        .button("Not this time", "👎", cmd("no"))
}

/// Where a meeting happens, as reminders and events say it: the series' own
/// place; else the group's address, for groups that meet in person; else its
/// conference link; else its home channel. A closed group's link is said only
/// to its members (`to_members`: the reader is one), by
/// [`groups::may_show_place`](crate::groups::may_show_place).
pub fn where_it_is(meeting: &Meeting, group: &Group, to_members: bool) -> Where {
    let shown = |place: &&String| crate::groups::may_show_place(group, place, to_members);
    if let Some(place) = meeting.location.as_ref().filter(shown) {
        return Where::Place(place.clone());
    }
    match group.location.as_ref().filter(shown) {
        Some(place) => Where::Place(place.clone()),
        None => Where::Channel(group.home_channel.clone()),
    }
}

/// A place as written (an address, a link, a room), or a channel by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    Place(String),
    Channel(String),
}

pub fn time(at: DateTime<Utc>, zone: Tz) -> Span {
    Span::Time { at, zone }
}

/// How often a series meets, in words, the same way everywhere (the card,
/// the schedule's answer, native events, suggestions): "Every other Tuesday
/// at 19:00 Europe/Berlin, 90 min, 8 times".
pub fn cadence(meeting: &Meeting) -> String {
    rule_words(meeting, Some(meeting.duration_minutes))
}

/// How often a series comes round, in words, from its own rule (so a
/// monthly "2nd Tuesday" says so); `minutes`, when given, is how long each
/// one lasts. Check-in schedules, which last no time, say it this way too.
pub fn rule_words(series: &Meeting, minutes: Option<i64>) -> String {
    let start = series.start_local;
    let clock = start.format("%H:%M");
    let zone = series.zone();
    let length = minutes.map(|m| format!(", {m} min")).unwrap_or_default();
    let set = series.rule_set().ok();
    let rule = set.as_ref().and_then(|s| s.get_rrule().first());
    if series.repeat == "once" || rule.and_then(|r| r.get_count()) == Some(1) {
        return format!(
            "Once, {} at {clock} {}{length}",
            start.format("%a %-d %b %Y"),
            zone.name()
        );
    }
    let how = rule
        .and_then(|r| describe_rule(r, start))
        .unwrap_or_else(|| "On a custom schedule".to_string());
    let end = match rule {
        Some(r) if r.get_count().is_some() => format!(", {} times", r.get_count().unwrap_or_default()),
        Some(r) => match r.get_until() {
            Some(until) => format!(", until {}", until.with_timezone(&zone).format("%a %-d %b %Y")),
            None => String::new(),
        },
        None => String::new(),
    };
    format!("{how} at {clock} {}{length}{end}", zone.name())
}

/// A series about to be stored.
struct NewSeries<'a> {
    title: Option<&'a str>,
    start: NaiveDateTime,
    zone: Tz,
    label: &'a str,
    rule: &'a str,
    duration: i64,
    location: Option<&'a str>,
}

async fn insert(conn: &mut SqliteConnection, group: &Group, new: NewSeries<'_>, now: DateTime<Utc>) -> Result<Meeting> {
    let NewSeries {
        title,
        start,
        zone,
        label,
        rule,
        duration,
        location,
    } = new;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO meetings (group_id, title, start_local, timezone, repeat, rrule, duration_minutes, location, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(group.id)
    .bind(title)
    .bind(start)
    .bind(zone.name())
    .bind(label)
    .bind(rule)
    .bind(duration)
    .bind(location)
    .bind(now.timestamp())
    .fetch_one(&mut *conn)
    .await
    .context("inserting a meeting")?;
    // The first meeting's zone becomes the group's, for its posts.
    crate::groups::adopt_zone(&mut *conn, group.id, zone.name()).await?;
    by_id_in(&mut *conn, id).await?.ok_or_else(|| Error::Internal {
        context: "reloading a meeting",
        source: "meeting vanished".into(),
    })
}

/// A new series' first meetings within the clash window, as (start,
/// length); refused when the rule meets never again.
fn first_slots(
    start: NaiveDateTime,
    zone: Tz,
    rule: &str,
    duration: i64,
    now: DateTime<Utc>,
) -> std::result::Result<Vec<(DateTime<Utc>, Duration)>, UserError> {
    let coming = rule_set(start, zone, rule)
        .map(|set| {
            set.after((now + Duration::seconds(1)).with_timezone(&rrule::Tz::Tz(zone)))
                .all(CLASH_SLOTS)
                .dates
        })
        .unwrap_or_default();
    if coming.is_empty() {
        return Err(repeat_error(
            "gives no meeting after now; check the date in when, and count or until",
        ));
    }
    Ok(coming
        .into_iter()
        .map(|d| (d.to_utc(), Duration::minutes(duration)))
        .filter(|(d, _)| *d <= now + Duration::days(CLASH_DAYS))
        .collect())
}

/// The preview's dates, in the meeting's own zone and named (a public post;
/// Discord localises it for each reader), with each clock change flagged.
fn with_dates(mut message: Message, next: &[Occurrence], zone: Tz) -> Message {
    message = message.line(Line::text(if next.len() > 1 { "Next meetings:" } else { "When:" }));
    let mut previous_offset = None;
    for occ in next {
        let offset = occ.start.with_timezone(&zone).offset().fix();
        let mut line = Line::text("  ").push(time(occ.start, zone));
        if previous_offset.is_some_and(|p| p != offset) {
            line = line.t(format!(
                "  (clocks changed: still {} in {}, now UTC{})",
                occ.start.with_timezone(&zone).format("%H:%M"),
                zone.name(),
                occ.start.with_timezone(&zone).format("%:z")
            ));
        }
        previous_offset = Some(offset);
        message = message.line(line);
    }
    message
}

/// A meeting's length as typed (`90m`, `1h30m`), in minutes.
fn duration_minutes(raw: Option<&str>) -> std::result::Result<Option<i64>, UserError> {
    let Some(raw) = raw else { return Ok(None) };
    match humantime::parse_duration(raw) {
        Ok(d) if (5 * 60..=12 * 3600).contains(&d.as_secs()) => Ok(Some((d.as_secs() / 60) as i64)),
        _ => Err(UserError::BadValue {
            option: "duration",
            why: "must be between 5m and 12h, e.g. 90m or 1h30m",
        }),
    }
}

/// `/meeting schedule`, in the caller's write transaction. Returns the news
/// (the group's to hear, the reply's words: [`news_message`]) and the new
/// series.
pub async fn schedule(
    conn: &mut SqliteConnection,
    group: &Group,
    default_zone: Tz,
    order: Option<when::DateOrder>,
    b: &Bound,
    now: DateTime<Utc>,
) -> Result<(News, Meeting)> {
    let zone = b.zone("timezone").unwrap_or(default_zone);
    let asked = when::parse(b.text("when").unwrap_or_default(), zone, order, now)?;
    let (first, note) = when::resolve(asked, zone);
    let start = first.with_timezone(&zone).naive_local();
    let duration = duration_minutes(b.text("duration"))?.unwrap_or(DEFAULT_DURATION_MINUTES);
    let (label, rule) = series_rule(b.text("repeat"), b.int("count"), b.date("until"), start, zone)?;
    // Refused before anything is stored: a rule that never meets again, or
    // (unless confirmed) one that meets when the group already does.
    let slots = first_slots(start, zone, &rule, duration, now)?;
    if b.choice("confirm").is_none()
        && let Some((other, occ)) = clash(&mut *conn, group.id, &slots, Except::Nothing, now).await?
    {
        return Err(clash_error(&other, group, &occ, "meeting schedule"));
    }
    let new = NewSeries {
        title: b.text("title"),
        start,
        zone,
        label: &label,
        rule: &rule,
        duration,
        location: b.text("where"),
    };
    let meeting = insert(&mut *conn, group, new, now).await?;
    let next = upcoming_in(&mut *conn, &meeting, now, PREVIEW).await?;
    let Some(first) = next.first().copied() else {
        return Err(repeat_error("gives no meeting after now; check the date in when, and count or until").into());
    };
    let news = News::Scheduled {
        next: next
            .iter()
            .map(|o| (o.original.timestamp(), o.start.timestamp()))
            .collect(),
        note: notes(
            note.map(|n| n.explain(asked, zone)),
            when::reading(b.text("when").unwrap_or_default(), asked, now, zone),
        ),
        skipped: first.start != when::resolve(start, zone).0 && first.start > now,
    };
    Ok((news, meeting))
}

pub async fn rsvp_counts(store: &Store, meeting: i64, occurrence: DateTime<Utc>) -> Result<(i64, i64)> {
    let (yes, maybe): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(answer = 'yes'), 0), COALESCE(SUM(answer = 'maybe'), 0)
         FROM rsvps WHERE meeting_id = ? AND occurrence = ?",
    )
    .bind(meeting)
    .bind(occurrence.timestamp())
    .fetch_one(store.pool())
    .await
    .context("counting RSVPs")?;
    Ok((yes, maybe))
}

fn counts_text(yes: i64, maybe: i64) -> String {
    match (yes, maybe) {
        (0, 0) => "no RSVPs yet".into(),
        _ => format!("{yes} going, {maybe} maybe"),
    }
}

/// `/meeting list`: upcoming occurrences in the reader's zone.
pub async fn list(
    store: &Store,
    community: i64,
    group: Option<&Group>,
    reader_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Message> {
    let series: Vec<(Meeting, String)> = match group {
        Some(g) => of_group(store, g.id)
            .await?
            .into_iter()
            .map(|m| (m, g.name.clone()))
            .collect(),
        None => of_community(store, community).await?,
    };
    let horizon = now + Duration::days(31);
    let mut rows = Vec::new();
    for (meeting, group_name) in &series {
        for occ in upcoming(store, meeting, now, 6).await? {
            if occ.start <= horizon {
                rows.push((occ, meeting, group_name));
            }
        }
    }
    rows.sort_by_key(|(o, m, _)| (o.start, m.id));
    rows.truncate(15);
    if rows.is_empty() {
        return Ok(Message::new().line(
            Line::text("No meetings in the next month. A facilitator can add one with ")
                .cmd("meeting schedule")
                .t("."),
        ));
    }
    let mut message = Message::titled("Upcoming meetings");
    for (occ, meeting, group_name) in rows {
        let (yes, maybe) = rsvp_counts(store, meeting.id, occ.original).await?;
        let mut line = Line::new()
            .push(time(occ.start, reader_zone))
            .t(" · ")
            .b(meeting.name(group_name))
            .t(format!(
                " (meeting {}, {}) · {}",
                meeting.id,
                occurrence_ref(meeting, &occ),
                counts_text(yes, maybe)
            ));
        if occ.moved() {
            line = line.t(" · moved");
        }
        message = message.line(line);
    }
    Ok(message.line(Line::text("RSVP with ").cmd("meeting rsvp meeting:N occurrence:DATE answer:yes")))
}

/// Members who said yes or maybe to an occurrence: those told of changes.
pub async fn attendees(conn: &mut SqliteConnection, meeting: i64, occurrence: DateTime<Utc>) -> Result<Vec<Member>> {
    sqlx::query_as(
        "SELECT m.id, m.external_id, m.display_name, m.timezone FROM rsvps r JOIN members m ON m.id = r.member_id
         WHERE r.meeting_id = ? AND r.occurrence = ? AND r.answer IN ('yes', 'maybe') ORDER BY m.id",
    )
    .bind(meeting)
    .bind(occurrence.timestamp())
    .fetch_all(&mut *conn)
    .await
    .context("listing attendees")
}

/// Marks a group's live series changed (their card's fields changed), for
/// the feeds' `updated`.
pub(crate) async fn touch_group(conn: &mut SqliteConnection, group: i64, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE meetings SET updated_at = ? WHERE group_id = ? AND cancelled = 0")
        .bind(now.timestamp())
        .bind(group)
        .execute(&mut *conn)
        .await
        .context("marking a group's series changed")?;
    Ok(())
}

/// Each series of a community with its Meeting Guide slug, if it has kept one.
pub(crate) async fn guide_slugs(store: &Store, community: i64) -> Result<Vec<(i64, Option<String>)>> {
    sqlx::query_as(
        "SELECT m.id, m.guide_slug FROM meetings m JOIN groups g ON g.id = m.group_id WHERE g.community_id = ?",
    )
    .bind(community)
    .fetch_all(store.pool())
    .await
    .context("reading meeting slugs")
}

/// Keeps a series' first Meeting Guide slug, so its feed entry's address
/// never changes.
pub(crate) async fn keep_guide_slug(conn: &mut SqliteConnection, meeting: i64, slug: &str) -> Result<()> {
    sqlx::query("UPDATE meetings SET guide_slug = ? WHERE id = ? AND guide_slug IS NULL")
        .bind(slug)
        .bind(meeting)
        .execute(&mut *conn)
        .await
        .context("keeping a meeting's slug")?;
    Ok(())
}

/// Records that a series changed now: the feeds' `updated` follows it.
pub(crate) async fn touch(conn: &mut SqliteConnection, meeting: i64, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE meetings SET updated_at = ? WHERE id = ?")
        .bind(now.timestamp())
        .bind(meeting)
        .execute(&mut *conn)
        .await
        .context("recording a series' change")?;
    Ok(())
}

/// A change to tell those who said they'd come. Stored with the notice's
/// job and put into words when it goes out, in the reader's zone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// One occurrence, that was to start at `start`, is cancelled.
    Cancelled { start: i64 },
    /// The whole series is cancelled; `start` is the reader's next one.
    SeriesCancelled { start: i64 },
    /// One occurrence moved; `original` identifies it for the RSVP buttons.
    Moved { original: i64, from: i64, to: i64 },
    /// The series was edited from one meeting on: the reader's next one as
    /// (original, was, now), and those they said they'd come to that no
    /// longer happen (the new rule does not meet that day), by their start.
    Edited {
        next: Option<(i64, i64, i64)>,
        gone: Vec<i64>,
    },
}

/// Those to tell of a change, by what they said they'd come to.
pub type Told = Vec<(Member, Change)>;

/// A change's notice, in words, for a reader in `zone`.
pub fn notice(change: &Change, meeting: &Meeting, group: &Group, zone: Tz) -> Message {
    let name = meeting.name(&group.name).to_string();
    match change {
        Change::SeriesCancelled { start } => Message::titled(format!("Cancelled: {name}"))
            .text(format!("The whole series of {name} has been cancelled, including:"))
            .line(Line::text("  ").push(time(at(*start), zone)))
            .text("Thank you for being part of it."),
        Change::Cancelled { start } => Message::titled(format!("Cancelled: {name}")).line(
            Line::text("The meeting on ")
                .push(time(at(*start), zone))
                .t(" is cancelled. The others go ahead as planned."),
        ),
        Change::Moved { original, from, to } => {
            let text = Message::titled(format!("Moved: {name}"))
                .line(
                    Line::text("The meeting on ")
                        .push(time(at(*from), zone))
                        .t(" now happens ")
                        .push(time(at(*to), zone))
                        .t("."),
                )
                .text("Your RSVP still stands; change it below if you need to.");
            let moved = Occurrence {
                original: at(*original),
                start: at(*to),
            };
            rsvp_buttons(text, meeting, &moved)
        }
        Change::Edited { next, gone } => {
            let mut text = Message::titled(format!("Changed: {name}")).text(format!(
                "{name} has changed: {} (meeting {}).",
                cadence(meeting),
                meeting.id
            ));
            if let Some((_, was, now)) = next {
                let line = if was == now {
                    Line::text("Your next one is still ").push(time(at(*now), zone)).t(".")
                } else {
                    Line::text("Your next one, on ")
                        .push(time(at(*was), zone))
                        .t(", is now ")
                        .push(time(at(*now), zone))
                        .t(".")
                };
                text = text.line(line);
            }
            for start in gone {
                text = text.line(
                    Line::text("The meeting on ")
                        .push(time(at(*start), zone))
                        .t(" no longer happens."),
                );
            }
            match next {
                Some((original, _, now)) => {
                    let occ = Occurrence {
                        original: at(*original),
                        start: at(*now),
                    };
                    rsvp_buttons(
                        text.text("Your RSVPs still stand; change them below if you need to."),
                        meeting,
                        &occ,
                    )
                }
                None => text,
            }
        }
    }
}

/// A change to a group's meetings as its home channel hears of it. Kept as
/// data so that the post can be queued inside the change's write and put into
/// words when it goes out, by the same [`news_message`] as the reply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "news", rename_all = "snake_case")]
pub enum News {
    /// A new series: its first meetings as (original, start), a clock
    /// change's explanation, and whether the rule skips the day asked for.
    Scheduled {
        next: Vec<(i64, i64)>,
        note: Option<String>,
        skipped: bool,
    },
    Cancelled {
        start: i64,
    },
    SeriesCancelled,
    Moved {
        from: i64,
        to: i64,
        note: Option<String>,
    },
    /// A series edited from one meeting on: its next meetings as (original,
    /// start), a clock change's explanation, and the number of the series
    /// its earlier meetings kept, when some are still to come.
    Edited {
        next: Vec<(i64, i64)>,
        note: Option<String>,
        earlier: Option<i64>,
    },
}

/// What a change to a series gives its caller: the news, a line for the one
/// who typed it alone (which date it took, in their zone), and who to tell
/// by DM.
pub struct Changed {
    pub news: News,
    pub note: Option<Line>,
    pub told: Told,
}

/// The news in words, in the meeting's own zone (a public post; Discord
/// localises it for each reader).
pub fn news_message(news: &News, meeting: &Meeting, group: &Group) -> Message {
    let zone = meeting.zone();
    let name = meeting.name(&group.name).to_string();
    match news {
        News::Scheduled { next, note, skipped } => {
            let next: Vec<Occurrence> = next
                .iter()
                .map(|(original, start)| Occurrence {
                    original: at(*original),
                    start: at(*start),
                })
                .collect();
            scheduled_message(meeting, &name, &next, note.as_deref(), *skipped)
        }
        News::Cancelled { start } => Message::new().line(
            Line::text(format!("Cancelled {name} on "))
                .push(time(at(*start), zone))
                .t(". Those who said they'd come will be told."),
        ),
        News::SeriesCancelled => Message::new().text(format!(
            "Cancelled every coming {name} meeting (meeting {}).",
            meeting.id
        )),
        News::Moved { from, to, note } => {
            let mut message = Message::new().line(
                Line::text(format!("Moved {name} from "))
                    .push(time(at(*from), zone))
                    .t(" to ")
                    .push(time(at(*to), zone))
                    .t("."),
            );
            if let Some(note) = note {
                message = message.text(note);
            }
            message
        }
        News::Edited { next, note, earlier } => edited_message(meeting, &name, next, note.as_deref(), *earlier),
    }
}

/// An edited series' card: how often from now on, its next meetings, and
/// where its earlier ones went.
fn edited_message(
    meeting: &Meeting,
    name: &str,
    next: &[(i64, i64)],
    note: Option<&str>,
    earlier: Option<i64>,
) -> Message {
    let zone = meeting.zone();
    let next: Vec<Occurrence> = next
        .iter()
        .map(|(original, start)| Occurrence {
            original: at(*original),
            start: at(*start),
        })
        .collect();
    let mut message = Message::titled(format!("Changed: {name}"));
    let Some(first) = next.first() else {
        return message.text(format!("{} (meeting {}).", cadence(meeting), meeting.id));
    };
    message = message.line(Line::text("From ").push(time(first.start, zone)).t(format!(
        " on: {} (meeting {}).",
        cadence(meeting),
        meeting.id
    )));
    if let Some(note) = note {
        message = message.text(note);
    }
    if let Some(place) = &meeting.location {
        message = message.line(Line::text(format!("Where: {place}")));
    }
    message = with_dates(message, &next, zone);
    if let Some(earlier) = earlier {
        message = message.text(format!(
            "The meetings before then stay as they were, as meeting {earlier}."
        ));
    }
    message = message.text("Those who said they'd come keep their RSVP and are told.");
    rsvp_buttons(message, meeting, first)
}

/// A new series' card: how often, the first meetings, RSVP buttons for the first.
fn scheduled_message(meeting: &Meeting, name: &str, next: &[Occurrence], note: Option<&str>, skipped: bool) -> Message {
    let zone = meeting.zone();
    let mut message = Message::titled(format!("Scheduled: {name}")).line(Line::text(format!(
        "{} (meeting {}).",
        cadence(meeting),
        meeting.id
    )));
    if let Some(note) = note {
        message = message.line(Line::text(note));
    }
    let Some(first) = next.first() else {
        return message;
    };
    if skipped {
        message = message.line(
            Line::text(format!(
                "The rule does not meet on {}, the day in when, so the first meeting is ",
                meeting.start_local.format("%a %-d %b %Y")
            ))
            .push(time(first.start, zone))
            .t("."),
        );
    }
    if let Some(place) = &meeting.location {
        message = message.line(Line::text(format!("Where: {place}")));
    }
    message = with_dates(message, next, zone).line(
        Line::text("RSVP below, or with ")
            .cmd(format!("meeting rsvp meeting:{} answer:yes", meeting.id))
            .t("."),
    );
    rsvp_buttons(message, meeting, first)
}

/// `/meeting cancel`: one occurrence (default the next) or `all`, in the
/// caller's write transaction (with the notices and the plan it implies).
/// Returns what [`Changed`] holds.
pub async fn cancel(
    conn: &mut SqliteConnection,
    meeting: &Meeting,
    wanted: Option<&str>,
    reader: Tz,
    now: DateTime<Utc>,
) -> Result<Changed> {
    if wanted.is_some_and(|w| w.eq_ignore_ascii_case("all")) {
        if meeting.cancelled {
            return Err(UserError::SeriesCancelled { meeting: meeting.id }.into());
        }
        let coming = upcoming_in(&mut *conn, meeting, now, 50).await?;
        sqlx::query("UPDATE meetings SET cancelled = 1, updated_at = ? WHERE id = ?")
            .bind(now.timestamp())
            .bind(meeting.id)
            .execute(&mut *conn)
            .await
            .context("cancelling a series")?;
        let mut told = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for occ in coming {
            for member in attendees(&mut *conn, meeting.id, occ.original).await? {
                if seen.insert(member.id) {
                    told.push((
                        member,
                        Change::SeriesCancelled {
                            start: occ.start.timestamp(),
                        },
                    ));
                }
            }
        }
        return Ok(Changed {
            news: News::SeriesCancelled,
            note: None,
            told,
        });
    }
    let (occ, which) = occurrence(&mut *conn, meeting, wanted, reader, now).await?;
    sqlx::query(
        "INSERT INTO meeting_exceptions (meeting_id, occurrence, moved_to) VALUES (?, ?, NULL)
         ON CONFLICT (meeting_id, occurrence) DO UPDATE SET moved_to = NULL",
    )
    .bind(meeting.id)
    .bind(occ.original.timestamp())
    .execute(&mut *conn)
    .await
    .context("cancelling an occurrence")?;
    touch(&mut *conn, meeting.id, now).await?;
    let change = Change::Cancelled {
        start: occ.start.timestamp(),
    };
    let told = attendees(&mut *conn, meeting.id, occ.original)
        .await?
        .into_iter()
        .map(|member| (member, change.clone()))
        .collect();
    Ok(Changed {
        news: News::Cancelled {
            start: occ.start.timestamp(),
        },
        note: which,
        told,
    })
}

/// `/meeting move`: one occurrence to a new time, in the caller's write
/// transaction. Returns what [`Changed`] holds.
pub async fn move_one(
    conn: &mut SqliteConnection,
    meeting: &Meeting,
    group: &Group,
    wanted: Option<&str>,
    to_when: &ToWhen<'_>,
    now: DateTime<Utc>,
) -> Result<Changed> {
    let zone = meeting.zone();
    let (occ, which) = occurrence(&mut *conn, meeting, wanted, to_when.reader, now).await?;
    // A time alone keeps the meeting's own date: `when:18:00` moves the
    // occurrence named, not to today.
    let asked = match when::time_only(to_when.text) {
        Some(clock) => occ.start.with_timezone(&zone).date_naive().and_time(clock),
        None => when::parse(to_when.text, zone, to_when.order, now)?,
    };
    let (to, note) = when::resolve(asked, zone);
    if to <= now {
        return Err(UserError::BadValue {
            option: "when",
            why: "is in the past; give a time still to come",
        }
        .into());
    }
    if !to_when.confirmed
        && let Some((other, clashing)) = clash(
            &mut *conn,
            group.id,
            &[(to, meeting.duration())],
            Except::One(meeting.id, occ.original),
            now,
        )
        .await?
    {
        return Err(clash_error(&other, group, &clashing, "meeting move"));
    }
    sqlx::query(
        "INSERT INTO meeting_exceptions (meeting_id, occurrence, moved_to) VALUES (?, ?, ?)
         ON CONFLICT (meeting_id, occurrence) DO UPDATE SET moved_to = excluded.moved_to",
    )
    .bind(meeting.id)
    .bind(occ.original.timestamp())
    .bind(to.timestamp())
    .execute(&mut *conn)
    .await
    .context("moving an occurrence")?;
    touch(&mut *conn, meeting.id, now).await?;
    let change = Change::Moved {
        original: occ.original.timestamp(),
        from: occ.start.timestamp(),
        to: to.timestamp(),
    };
    let told = attendees(&mut *conn, meeting.id, occ.original)
        .await?
        .into_iter()
        .map(|member| (member, change.clone()))
        .collect();
    Ok(Changed {
        news: News::Moved {
            from: occ.start.timestamp(),
            to: to.timestamp(),
            note: notes(
                note.map(|n| n.explain(asked, zone)),
                when::reading(to_when.text, asked, now, zone),
            ),
        },
        note: which,
        told,
    })
}

/// A clock change's explanation and how an ambiguous phrase was read, as
/// one note.
pub(crate) fn notes(dst: Option<String>, reading: Option<String>) -> Option<String> {
    match (dst, reading) {
        (Some(a), Some(b)) => Some(format!("{b} {a}")),
        (a, b) => a.or(b),
    }
}

/// The new time a `/meeting move` asks for, as typed, with what reads it.
pub struct ToWhen<'a> {
    pub text: &'a str,
    /// The mover's zone, in which an occurrence's date may be named too.
    pub reader: Tz,
    pub order: Option<when::DateOrder>,
    /// `confirm:yes`: moved even onto a time the group already meets.
    pub confirmed: bool,
}

fn with_line(message: Message, line: Option<Line>) -> Message {
    match line {
        Some(line) => message.line(line),
        None => message,
    }
}

/// `/meeting rsvp`, in the caller's write transaction.
#[expect(
    clippy::too_many_arguments,
    reason = "a command handler: each argument is a distinct input"
)]
pub async fn rsvp(
    conn: &mut SqliteConnection,
    meeting: &Meeting,
    group: &Group,
    me: &Member,
    wanted: Option<&str>,
    answer: &str,
    reader_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Message> {
    let (occ, which) = occurrence(&mut *conn, meeting, wanted, reader_zone, now).await?;
    if occ.start + meeting.duration() <= now {
        return Err(UserError::BadValue {
            option: "occurrence",
            why: "is a meeting that has already taken place; RSVPs are for meetings to come, which /meeting list shows",
        }
        .into());
    }
    if occ.start <= now {
        return Err(UserError::BadValue {
            option: "occurrence",
            why: "is a meeting under way now; RSVPs are for meetings to come, which /meeting list shows",
        }
        .into());
    }
    sqlx::query(
        "INSERT INTO rsvps (meeting_id, occurrence, member_id, answer, answered_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (meeting_id, occurrence, member_id) DO UPDATE SET answer = excluded.answer,
             answered_at = excluded.answered_at",
    )
    .bind(meeting.id)
    .bind(occ.original.timestamp())
    .bind(me.id)
    .bind(answer)
    .bind(now.timestamp())
    .execute(&mut *conn)
    .await
    .context("saving an RSVP")?;
    let name = meeting.name(&group.name);
    let line = match answer {
        "yes" => Line::text(format!("Thanks, you're going to {name} on "))
            .push(time(occ.start, reader_zone))
            .t(". I'll remind you before it starts."),
        "maybe" => Line::text(format!("Noted: maybe for {name} on "))
            .push(time(occ.start, reader_zone))
            .t(". I'll remind you before it starts."),
        _ => Line::text(format!(
            "Thanks for letting us know. You're welcome at {name} any time."
        )),
    };
    Ok(with_line(Message::new().line(line), which))
}

/// An RSVP button's press taken back: the member's answer for the
/// occurrence goes, when it is still `answer` (a press of another button
/// since then stands). `None` when nothing changed.
#[expect(
    clippy::too_many_arguments,
    reason = "a command handler: each argument is a distinct input"
)]
pub async fn take_back_rsvp(
    conn: &mut SqliteConnection,
    meeting: &Meeting,
    group: &Group,
    me: &Member,
    wanted: Option<&str>,
    answer: &str,
    reader_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Option<Message>> {
    // The press named the same occurrence: the same one is found, and the
    // answer when it was pressed already said which it took.
    let (occ, _) = occurrence(&mut *conn, meeting, wanted, reader_zone, now).await?;
    if occ.start <= now {
        return Ok(None);
    }
    let gone =
        sqlx::query("DELETE FROM rsvps WHERE meeting_id = ? AND occurrence = ? AND member_id = ? AND answer = ?")
            .bind(meeting.id)
            .bind(occ.original.timestamp())
            .bind(me.id)
            .bind(answer)
            .execute(&mut *conn)
            .await
            .context("taking back an RSVP")?
            .rows_affected();
    if gone == 0 {
        return Ok(None);
    }
    let name = meeting.name(&group.name);
    Ok(Some(
        Message::new().line(
            Line::text(format!("Your answer for {name} on "))
                .push(time(occ.start, reader_zone))
                .t(" is taken back: no answer for now. Press a button again any time."),
        ),
    ))
}

/// The answers to a series between two occurrences (original starts, both
/// included), as (occurrence, member, answer): everyone's, or `only` one
/// member's, read by that member's index so its cost stays flat in the
/// group's size. For the reminder planner.
pub(crate) async fn rsvps_between(
    conn: &mut SqliteConnection,
    meeting: i64,
    (lo, hi): (i64, i64),
    only: Option<i64>,
) -> Result<Vec<(i64, i64, String)>> {
    match only {
        None => sqlx::query_as(
            "SELECT occurrence, member_id, answer FROM rsvps WHERE meeting_id = ? AND occurrence BETWEEN ? AND ?",
        )
        .bind(meeting)
        .bind(lo)
        .bind(hi),
        Some(member) => sqlx::query_as(
            "SELECT occurrence, member_id, answer FROM rsvps INDEXED BY rsvps_by_member
             WHERE member_id = ? AND meeting_id = ? AND occurrence BETWEEN ? AND ?",
        )
        .bind(member)
        .bind(meeting)
        .bind(lo)
        .bind(hi),
    }
    .fetch_all(&mut *conn)
    .await
    .context("reading RSVPs for a plan")
}

/// The live (not cancelled) series of a group, by id.
pub(crate) async fn live_of_group(conn: &mut SqliteConnection, group: i64) -> Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM meetings WHERE group_id = ? AND cancelled = 0")
        .bind(group)
        .fetch_all(&mut *conn)
        .await
        .context("listing a group's series")
}

/// The live series a member is part of, by id: those of `groups` (theirs)
/// and those they answered an RSVP for.
pub(crate) async fn live_of_member(conn: &mut SqliteConnection, groups: &[i64], member: i64) -> Result<Vec<i64>> {
    let groups = serde_json::to_string(groups).context("listing a member's groups")?;
    sqlx::query_scalar(
        "SELECT DISTINCT m.id FROM meetings m WHERE m.cancelled = 0 AND (
             m.group_id IN (SELECT value FROM json_each(?))
             OR m.id IN (SELECT meeting_id FROM rsvps WHERE member_id = ?))",
    )
    .bind(groups)
    .bind(member)
    .fetch_all(&mut *conn)
    .await
    .context("listing a member's series")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn monthly_means_the_same_weekday_position() {
        // Tuesday 10 March 2026 is the second Tuesday.
        assert_eq!(
            shortcut_rule("monthly", local("2026-03-10 19:00")),
            "FREQ=MONTHLY;BYDAY=2TU"
        );
        // Tuesday 31 March 2026 is the fifth: it becomes the last.
        assert_eq!(
            shortcut_rule("monthly", local("2026-03-31 19:00")),
            "FREQ=MONTHLY;BYDAY=-1TU"
        );
    }

    #[test]
    fn repeat_count_and_until_are_checked() {
        let start = local("2026-03-19 19:00");
        assert!(series_rule(Some("weekly"), Some(8), None, start, Berlin).is_ok());
        assert!(series_rule(Some("RRULE:FREQ=WEEKLY;BYDAY=MO,TH"), None, None, start, Berlin).is_ok());
        assert!(
            series_rule(
                Some("weekly"),
                Some(8),
                NaiveDate::from_ymd_opt(2026, 5, 1),
                start,
                Berlin
            )
            .is_err()
        );
        assert!(series_rule(Some("FREQ=HOURLY"), None, None, start, Berlin).is_err());
        assert!(series_rule(Some("sometimes"), None, None, start, Berlin).is_err());
        assert!(series_rule(Some("FREQ=WEEKLY;COUNT=3"), Some(2), None, start, Berlin).is_err());
        assert!(series_rule(Some("once"), Some(2), None, start, Berlin).is_err());
    }
}
