//! Meetings: series stored as local start + IANA zone + RFC 5545 rule and
//! expanded in local time; their occurrences, exceptions and RSVPs; and
//! `/meeting schedule|list|cancel|move|rsvp`.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, Utc, Weekday};
use chrono_tz::Tz;
use rrule::{Frequency, RRuleSet};

use crate::error::{Context, Error, Result, UserError};
use crate::groups::Group;
use crate::members::Member;
use crate::message::{Line, Message, Span};
use crate::parse::Bound;
use crate::store::Store;
use crate::when;

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
}

macro_rules! select_meetings {
    ($rest:literal) => {
        concat!(
            "SELECT id, group_id, title, start_local, timezone, repeat, rrule, duration_minutes, location, cancelled ",
            "FROM meetings ",
            $rest
        )
    };
}

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

    /// Up to `limit` occurrences starting at or after `from`, before exceptions.
    pub fn raw_after(&self, from: DateTime<Utc>, limit: u16) -> Result<Vec<DateTime<Utc>>> {
        let set = self.rule_set()?.after(from.with_timezone(&rrule::Tz::Tz(self.zone())));
        Ok(set.all(limit).dates.into_iter().map(|d| d.to_utc()).collect())
    }

    /// The title to show: its own, or the group's name.
    pub fn name<'a>(&'a self, group: &'a str) -> &'a str {
        self.title.as_deref().unwrap_or(group)
    }
}

fn rule_set(start: NaiveDateTime, zone: Tz, rule: &str) -> std::result::Result<RRuleSet, String> {
    format!(
        "DTSTART;TZID={}:{}\nRRULE:{}",
        zone.name(),
        start.format("%Y%m%dT%H%M%S"),
        rule
    )
    .parse::<RRuleSet>()
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
    if let Some(until) = until {
        // Through the end of that day in the meeting's zone, written in UTC as RFC 5545 asks.
        let end = when::resolve(until.and_hms_opt(23, 59, 59).unwrap_or_default(), zone).0;
        rule.push_str(&format!(";UNTIL={}", end.format("%Y%m%dT%H%M%SZ")));
    }
    let set = rule_set(start, zone, &rule).map_err(|_| repeat_error("is not a rule I can read"))?;
    let too_often = set.get_rrule().iter().any(|r| {
        matches!(
            r.get_freq(),
            Frequency::Hourly | Frequency::Minutely | Frequency::Secondly
        )
    });
    if too_often {
        return Err(repeat_error("can be at most daily"));
    }
    Ok((label, rule))
}

/// Cancelled (None) and moved (Some) occurrences of a series, by original start.
async fn exceptions(store: &Store, meeting: i64) -> Result<HashMap<i64, Option<i64>>> {
    let rows: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT occurrence, moved_to FROM meeting_exceptions WHERE meeting_id = ?")
            .bind(meeting)
            .fetch_all(store.pool())
            .await
            .context("loading exceptions")?;
    Ok(rows.into_iter().collect())
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The next `limit` occurrences that start after `after`, exceptions applied.
pub async fn upcoming(store: &Store, meeting: &Meeting, after: DateTime<Utc>, limit: usize) -> Result<Vec<Occurrence>> {
    if meeting.cancelled {
        return Ok(Vec::new());
    }
    let exceptions = exceptions(store, meeting.id).await?;
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
    found.extend(exceptions.iter().filter_map(|(original, moved)| {
        let start = at((*moved)?);
        (start > after).then(|| Occurrence {
            original: at(*original),
            start,
        })
    }));
    found.sort_by_key(|o| o.start);
    found.truncate(limit);
    Ok(found)
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
    sqlx::query_as(select_meetings!("WHERE id = ?"))
        .bind(id)
        .fetch_optional(store.pool())
        .await
        .context("loading a meeting")
}

pub async fn of_group(store: &Store, group: i64) -> Result<Vec<Meeting>> {
    sqlx::query_as(select_meetings!("WHERE group_id = ? AND cancelled = 0 ORDER BY id"))
        .bind(group)
        .fetch_all(store.pool())
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

/// Finds an occurrence by `next` or the local date it was (originally) on.
pub async fn occurrence(
    store: &Store,
    meeting: &Meeting,
    wanted: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Occurrence> {
    let wanted = wanted.map(str::trim).unwrap_or("next");
    if wanted.eq_ignore_ascii_case("next") {
        return upcoming(store, meeting, now, 1)
            .await?
            .into_iter()
            .next()
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
    let day_start = when::resolve(date.and_hms_opt(0, 0, 0).unwrap_or_default(), zone).0;
    let exceptions = exceptions(store, meeting.id).await?;
    // A moved occurrence answers to the date it now happens on, too.
    if let Some((original, moved)) = exceptions
        .iter()
        .filter_map(|(o, m)| Some((*o, (*m)?)))
        .find(|(_, m)| at(*m).with_timezone(&zone).date_naive() == date)
    {
        return Ok(Occurrence {
            original: at(original),
            start: at(moved),
        });
    }
    let original = meeting
        .raw_after(day_start, 1)?
        .into_iter()
        .find(|o| o.with_timezone(&zone).date_naive() == date);
    match original {
        Some(original) => match exceptions.get(&original.timestamp()) {
            Some(None) => Err(UserError::OccurrenceCancelled.into()),
            Some(Some(moved)) => Ok(Occurrence {
                original,
                start: at(*moved),
            }),
            None => Ok(Occurrence {
                original,
                start: original,
            }),
        },
        None => Err(UserError::NoSuchOccurrence.into()),
    }
}

/// How an occurrence is referred to in commands and buttons.
pub fn occurrence_ref(meeting: &Meeting, occurrence: &Occurrence) -> String {
    occurrence
        .original
        .with_timezone(&meeting.zone())
        .format("%Y-%m-%d")
        .to_string()
}

pub fn rsvp_buttons(message: Message, meeting: &Meeting, occurrence: &Occurrence) -> Message {
    let day = occurrence_ref(meeting, occurrence);
    let cmd = |answer: &str| format!("meeting rsvp meeting:{} occurrence:{day} answer:{answer}", meeting.id);
    message
        .button("Going", "👍", cmd("yes"))
        .button("Maybe", "🤔", cmd("maybe"))
        .button("Not this time", "👎", cmd("no"))
}

pub fn time(at: DateTime<Utc>, zone: Tz) -> Span {
    Span::Time { at, zone }
}

/// How often a series meets, in words.
pub fn cadence(meeting: &Meeting) -> String {
    let start = meeting.start_local;
    let day = start.format("%A").to_string();
    let clock = start.format("%H:%M");
    let zone = meeting.zone().name();
    let how = match meeting.repeat.as_str() {
        "once" => format!("Once, {} at {clock} {zone}", start.format("%a %-d %b %Y")),
        "daily" => format!("Daily at {clock} {zone}"),
        "weekly" => format!("Weekly on {day}s at {clock} {zone}"),
        "biweekly" => format!("Every other {day} at {clock} {zone}"),
        "monthly" => {
            let nth = (start.day() - 1) / 7 + 1;
            let which = ["first", "second", "third", "fourth", "last"][(nth.clamp(1, 5) - 1) as usize];
            format!("Monthly on the {which} {day} at {clock} {zone}")
        }
        _ => format!("{} at {clock} {zone}", meeting.rrule),
    };
    let end = if meeting.rrule.contains("COUNT=") && meeting.repeat != "once" {
        let count = meeting
            .rrule
            .split(';')
            .find_map(|p| p.strip_prefix("COUNT="))
            .unwrap_or("?");
        format!(", {count} times")
    } else if let Some(until) = meeting.rrule.split(';').find_map(|p| p.strip_prefix("UNTIL=")) {
        format!(", until {}", until.get(..8).unwrap_or(until))
    } else {
        String::new()
    };
    format!("{how}, {} min{end}", meeting.duration_minutes)
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

async fn insert(store: &Store, group: &Group, new: NewSeries<'_>, now: DateTime<Utc>) -> Result<Meeting> {
    let NewSeries {
        title,
        start,
        zone,
        label,
        rule,
        duration,
        location,
    } = new;
    let mut tx = store.pool().begin().await.context("starting a transaction")?;
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
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .context("inserting a meeting")?;
    // The first meeting's zone becomes the group's, for its posts.
    sqlx::query("UPDATE groups SET timezone = COALESCE(timezone, ?) WHERE id = ?")
        .bind(zone.name())
        .bind(group.id)
        .execute(&mut *tx)
        .await
        .context("setting a group's zone")?;
    tx.commit().await.context("committing a meeting")?;
    by_id(store, id).await?.ok_or_else(|| Error::Internal {
        context: "reloading a meeting",
        source: "meeting vanished".into(),
    })
}

/// `/meeting schedule`. Returns the reply and the new series.
pub async fn schedule(
    store: &Store,
    group: &Group,
    default_zone: Tz,
    b: &Bound,
    now: DateTime<Utc>,
) -> Result<(Message, Meeting)> {
    let zone = b.zone("timezone").unwrap_or(default_zone);
    let asked = when::parse(b.text("when").unwrap_or_default(), zone, now)?;
    let (first, note) = when::resolve(asked, zone);
    let start = first.with_timezone(&zone).naive_local();
    let duration = match b.text("duration") {
        None => DEFAULT_DURATION_MINUTES,
        Some(raw) => match humantime::parse_duration(raw) {
            Ok(d) if (5 * 60..=12 * 3600).contains(&d.as_secs()) => (d.as_secs() / 60) as i64,
            _ => {
                return Err(UserError::BadValue {
                    option: "duration",
                    why: "must be between 5m and 12h, e.g. 90m or 1h30m",
                }
                .into());
            }
        },
    };
    let (label, rule) = series_rule(b.text("repeat"), b.int("count"), b.date("until"), start, zone)?;
    let new = NewSeries {
        title: b.text("title"),
        start,
        zone,
        label: &label,
        rule: &rule,
        duration,
        location: b.text("where"),
    };
    let meeting = insert(store, group, new, now).await?;
    let next = upcoming(store, &meeting, now, PREVIEW).await?;
    let Some(first) = next.first().copied() else {
        return Err(repeat_error("gives no meeting after now").into());
    };
    let mut message = Message::titled(format!("Scheduled: {}", meeting.name(&group.name))).line(Line::text(format!(
        "{} (meeting {}).",
        cadence(&meeting),
        meeting.id
    )));
    if let Some(note) = note {
        message = message.line(Line::text(note.explain(asked, zone)));
    }
    if let Some(place) = &meeting.location {
        message = message.line(Line::text(format!("Where: {place}")));
    }
    message = message.line(Line::text(if next.len() > 1 { "Next meetings:" } else { "When:" }));
    let mut previous_offset = None;
    for occ in &next {
        let offset = occ.start.with_timezone(&zone).offset().fix();
        // A public post: shown in the meeting's own zone, named (Discord localises it for each reader).
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
    message = message
        .line(Line::text("Reply with the buttons, or ").cmd(format!("meeting rsvp meeting:{} answer:yes", meeting.id)));
    Ok((rsvp_buttons(message, &meeting, &first), meeting))
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
pub async fn attendees(store: &Store, meeting: i64, occurrence: DateTime<Utc>) -> Result<Vec<Member>> {
    sqlx::query_as(
        "SELECT m.id, m.external_id, m.display_name, m.timezone FROM rsvps r JOIN members m ON m.id = r.member_id
         WHERE r.meeting_id = ? AND r.occurrence = ? AND r.answer IN ('yes', 'maybe') ORDER BY m.id",
    )
    .bind(meeting)
    .bind(occurrence.timestamp())
    .fetch_all(store.pool())
    .await
    .context("listing attendees")
}

/// A change to tell each attendee: (member, message).
pub type Notices = Vec<(Member, Message)>;

/// `/meeting cancel`: one occurrence (default the next) or `all`.
pub async fn cancel(
    store: &Store,
    meeting: &Meeting,
    group: &Group,
    wanted: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Message, Notices)> {
    let zone = meeting.zone();
    let name = meeting.name(&group.name).to_string();
    if wanted.is_some_and(|w| w.eq_ignore_ascii_case("all")) {
        let coming = upcoming(store, meeting, now, 50).await?;
        sqlx::query("UPDATE meetings SET cancelled = 1 WHERE id = ?")
            .bind(meeting.id)
            .execute(store.pool())
            .await
            .context("cancelling a series")?;
        let mut notices = Vec::new();
        let mut told = std::collections::HashSet::new();
        for occ in coming {
            for member in attendees(store, meeting.id, occ.original).await? {
                if told.insert(member.id) {
                    let zone = member.zone().unwrap_or(zone);
                    let text = Message::titled(format!("Cancelled: {name}"))
                        .text(format!("The whole series of {name} has been cancelled, including:"))
                        .line(Line::text("  ").push(time(occ.start, zone)))
                        .text("Thank you for being part of it.");
                    notices.push((member, text));
                }
            }
        }
        let reply = Message::new().text(format!(
            "Cancelled every coming {name} meeting (meeting {}).",
            meeting.id
        ));
        return Ok((reply, notices));
    }
    let occ = occurrence(store, meeting, wanted, now).await?;
    sqlx::query(
        "INSERT INTO meeting_exceptions (meeting_id, occurrence, moved_to) VALUES (?, ?, NULL)
         ON CONFLICT (meeting_id, occurrence) DO UPDATE SET moved_to = NULL",
    )
    .bind(meeting.id)
    .bind(occ.original.timestamp())
    .execute(store.pool())
    .await
    .context("cancelling an occurrence")?;
    let notices = attendees(store, meeting.id, occ.original)
        .await?
        .into_iter()
        .map(|member| {
            let zone = member.zone().unwrap_or(zone);
            let text = Message::titled(format!("Cancelled: {name}")).line(
                Line::text("The meeting on ")
                    .push(time(occ.start, zone))
                    .t(" is cancelled. The others go ahead as planned."),
            );
            (member, text)
        })
        .collect();
    let reply = Message::new().line(
        Line::text(format!("Cancelled {name} on "))
            .push(time(occ.start, zone))
            .t(". Those who said they'd come have been told."),
    );
    Ok((reply, notices))
}

/// `/meeting move`: one occurrence to a new time.
pub async fn move_one(
    store: &Store,
    meeting: &Meeting,
    group: &Group,
    wanted: Option<&str>,
    new_when: &str,
    now: DateTime<Utc>,
) -> Result<(Message, Notices)> {
    let zone = meeting.zone();
    let occ = occurrence(store, meeting, wanted, now).await?;
    let asked = when::parse(new_when, zone, now)?;
    let (to, note) = when::resolve(asked, zone);
    sqlx::query(
        "INSERT INTO meeting_exceptions (meeting_id, occurrence, moved_to) VALUES (?, ?, ?)
         ON CONFLICT (meeting_id, occurrence) DO UPDATE SET moved_to = excluded.moved_to",
    )
    .bind(meeting.id)
    .bind(occ.original.timestamp())
    .bind(to.timestamp())
    .execute(store.pool())
    .await
    .context("moving an occurrence")?;
    let name = meeting.name(&group.name).to_string();
    let notices = attendees(store, meeting.id, occ.original)
        .await?
        .into_iter()
        .map(|member| {
            let zone = member.zone().unwrap_or(zone);
            let text = Message::titled(format!("Moved: {name}"))
                .line(
                    Line::text("The meeting on ")
                        .push(time(occ.start, zone))
                        .t(" now happens ")
                        .push(time(to, zone))
                        .t("."),
                )
                .text("Your RSVP still stands; change it with the buttons if you need to.");
            let moved = Occurrence {
                original: occ.original,
                start: to,
            };
            (member, rsvp_buttons(text, meeting, &moved))
        })
        .collect();
    let mut reply = Message::new().line(
        Line::text(format!("Moved {name} from "))
            .push(time(occ.start, zone))
            .t(" to ")
            .push(time(to, zone))
            .t("."),
    );
    if let Some(note) = note {
        reply = reply.text(note.explain(asked, zone));
    }
    Ok((reply, notices))
}

/// `/meeting rsvp`.
#[expect(
    clippy::too_many_arguments,
    reason = "a command handler: each argument is a distinct input"
)]
pub async fn rsvp(
    store: &Store,
    meeting: &Meeting,
    group: &Group,
    me: &Member,
    wanted: Option<&str>,
    answer: &str,
    reader_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Message> {
    let occ = occurrence(store, meeting, wanted, now).await?;
    if occ.start <= now {
        return Err(UserError::BadValue {
            option: "occurrence",
            why: "has already started; RSVPs are for meetings to come",
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
    .bind(now)
    .execute(store.pool())
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
    Ok(Message::new().line(line))
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
