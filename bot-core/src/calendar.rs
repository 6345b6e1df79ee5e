//! `/meeting calendar`: an iCalendar file of the series, with VTIMEZONE and
//! TZID, RRULE, cancelled occurrences as EXDATE and moved ones as
//! RECURRENCE-ID overrides, so a calendar app shows what Hearth shows.
//!
//! DTSTART is the series' first occurrence, not the day it was scheduled
//! from: RFC 5545 counts DTSTART as an instance whatever the rule says, so a
//! Monday rule started on a Thursday would show an extra Thursday. A group's
//! last day ends the rule with an UNTIL.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use icalendar::{Calendar, CalendarDateTime, Component, EventLike, Property};

use crate::error::Result;
use crate::meetings::Meeting;
use crate::message::Attachment;
use crate::store::Store;

const LOCAL: &str = "%Y%m%dT%H%M%S";

fn local_at(instant: DateTime<Utc>, zone: Tz) -> NaiveDateTime {
    instant.with_timezone(&zone).naive_local()
}

fn tz_dt(local: NaiveDateTime, zone: Tz) -> CalendarDateTime {
    CalendarDateTime::WithTimezone {
        date_time: local,
        tzid: zone.name().to_string(),
    }
}

fn offset_text(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!("{sign}{:02}{:02}", secs / 3600, secs % 3600 / 60)
}

/// A VTIMEZONE listing each transition of `zone` between `from` and `to`
/// explicitly (RFC 5545 allows this form; it needs no rule of our own).
fn vtimezone(zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let offset = |t: DateTime<Utc>| zone.offset_from_utc_datetime(&t.naive_utc());
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{}\r\n", zone.name());
    let mut t = from;
    let mut current = offset(t);
    let mut found = false;
    while t < to {
        let next = t + Duration::days(1);
        if offset(next).fix() != current.fix() {
            // Narrow the change down to the second.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset(mid).fix() == current.fix() {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            let after = offset(hi);
            let kind = if after.dst_offset().is_zero() {
                "STANDARD"
            } else {
                "DAYLIGHT"
            };
            let before_secs = current.fix().local_minus_utc();
            let local = (hi.naive_utc() + Duration::seconds(i64::from(before_secs))).format(LOCAL);
            out.push_str(&format!(
                "BEGIN:{kind}\r\nDTSTART:{local}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\nTZNAME:{}\r\nEND:{kind}\r\n",
                offset_text(before_secs),
                offset_text(after.fix().local_minus_utc()),
                after.abbreviation().unwrap_or("")
            ));
            current = after;
            found = true;
        }
        t = next;
    }
    if !found {
        let secs = current.fix().local_minus_utc();
        out.push_str(&format!(
            "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:{0}\r\nTZOFFSETTO:{0}\r\nEND:STANDARD\r\n",
            offset_text(secs)
        ));
    }
    out.push_str("END:VTIMEZONE\r\n");
    out
}

/// The series' RRULE as Hearth expands it: its own, or, when its group's
/// last day comes first, the same rule ending with that day's last
/// occurrence (COUNT and UNTIL cannot both be given).
fn rule(meeting: &Meeting) -> Result<String> {
    let Some(cutoff) = meeting.cutoff() else {
        return Ok(meeting.rrule.clone());
    };
    let zone = rrule::Tz::Tz(meeting.zone());
    let beyond = meeting
        .rules()?
        .after((cutoff + Duration::seconds(1)).with_timezone(&zone))
        .all(1)
        .dates;
    if beyond.is_empty() {
        return Ok(meeting.rrule.clone());
    }
    let (held, _) = meeting.raw_before(cutoff + Duration::seconds(1), u16::MAX)?;
    let last = held.last().copied().unwrap_or(cutoff);
    let mut parts: Vec<&str> = meeting
        .rrule
        .split(';')
        .filter(|p| {
            let key = p.split('=').next().unwrap_or_default();
            !key.eq_ignore_ascii_case("COUNT") && !key.eq_ignore_ascii_case("UNTIL")
        })
        .collect();
    let until = format!("UNTIL={}", last.format("%Y%m%dT%H%M%SZ"));
    parts.push(&until);
    Ok(parts.join(";"))
}

/// Who a calendar is for. A public feed (a published group's) never holds
/// a closed group's link; a member's own calendar holds it for the groups
/// they belong to or lead (their ids here) and for no other: the rule of
/// [`groups::may_show_place`](crate::groups::may_show_place), as on a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience<'a> {
    Public,
    Of(&'a [i64]),
}

/// The calendar of these series (already filtered to live ones), and
/// whether it holds a place only its reader may see (a closed group's link,
/// for one of its members): then it is theirs alone, never for a room.
pub async fn calendar(
    store: &Store,
    name: &str,
    series: &[(Meeting, String)],
    now: DateTime<Utc>,
    audience: Audience<'_>,
) -> Result<(Attachment, bool)> {
    let (content, members_only) = build(store, name, series, (now, now), audience).await?;
    let file = Attachment {
        filename: "meetings.ics".into(),
        mime: "text/calendar",
        content,
    };
    Ok((file, members_only))
}

/// A calendar served at a URL that calendar apps poll: the same state of
/// the series gives the same text all day, so its ETag holds. Its DTSTAMP
/// is when the series last changed (RFC 5545 3.8.7.2, for a calendar
/// without METHOD), and its zones' window runs from the day's start.
pub async fn feed(
    store: &Store,
    name: &str,
    series: &[(Meeting, String)],
    now: DateTime<Utc>,
    audience: Audience<'_>,
) -> Result<String> {
    let changed = series.iter().map(|(m, _)| m.changed_at).max().unwrap_or(0);
    let stamp = DateTime::from_timestamp(changed, 0).unwrap_or_default();
    let day = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    Ok(build(store, name, series, (day, stamp), audience).await?.0)
}

/// The calendar text, and whether it shows a place the public may not see.
/// `now` places the zones' window; `stamp` is every event's DTSTAMP.
async fn build(
    store: &Store,
    name: &str,
    series: &[(Meeting, String)],
    (now, stamp): (DateTime<Utc>, DateTime<Utc>),
    audience: Audience<'_>,
) -> Result<(String, bool)> {
    let mut members_only = false;
    let mut cal = Calendar::new();
    // The crate writes NAME as it is given (it knows no type for it): a
    // group's name is TEXT, escaped as RFC 5545 3.3.11 says.
    cal.name(&escape_text(name));
    let groups = groups_of(store, series).await?;
    let mut zones: Vec<Tz> = Vec::new();
    let mut earliest = now;
    for (meeting, group_name) in series {
        let zone = meeting.zone();
        // A series whose group ended before it ever met has nothing to show.
        let Some(first) = meeting.first()? else { continue };
        earliest = earliest.min(first);
        if !zones.contains(&zone) {
            zones.push(zone);
        }
        let uid = format!("meeting-{}@hearth", meeting.id);
        let title = meeting.name(group_name);
        let mut event = series_event(meeting, &uid, title, local_at(first, zone), stamp);
        let group = groups.get(&meeting.group_id);
        let place = meeting
            .location
            .as_ref()
            .or(group.and_then(|g| g.location.as_ref()))
            .filter(|p| match audience {
                Audience::Public => group.is_some_and(|g| crate::groups::may_show_place(g, p, false)),
                Audience::Of(theirs) => {
                    group.is_none_or(|g| crate::groups::may_show_place(g, p, theirs.contains(&g.id)))
                }
            });
        if let Some(place) = place {
            members_only |= group.is_some_and(|g| !crate::groups::may_show_place(g, place, false));
            event.location(place);
        }
        if meeting.repeat != "once" {
            event.add_property("RRULE", rule(meeting)?);
        }
        let exceptions = sorted_exceptions(store, meeting).await?;
        let overrides = with_exceptions(&mut event, meeting, &uid, title, exceptions, stamp);
        cal.push(event.done());
        for o in overrides {
            cal.push(o);
        }
    }
    Ok((with_zones(cal.done().to_string(), zones, earliest, now), members_only))
}

/// These series' groups, by id: where each meets, for a series without a
/// place of its own, and whether its link may be shown.
async fn groups_of(store: &Store, series: &[(Meeting, String)]) -> Result<HashMap<i64, crate::groups::Group>> {
    let group_ids: Vec<i64> = series.iter().map(|(m, _)| m.group_id).collect();
    Ok(crate::groups::by_ids(store, &group_ids)
        .await?
        .into_iter()
        .map(|g| (g.id, g))
        .collect())
}

/// A series' event, from its first occurrence (`start`, local), before its
/// place, rule and exceptions.
fn series_event(
    meeting: &Meeting,
    uid: &str,
    title: &str,
    start: NaiveDateTime,
    now: DateTime<Utc>,
) -> icalendar::Event {
    let zone = meeting.zone();
    let mut event = icalendar::Event::new();
    event
        .uid(uid)
        .summary(title)
        .starts(tz_dt(start, zone))
        .ends(tz_dt(start + meeting.duration(), zone));
    // DTSTAMP from the injected clock, so a calendar is the same file
    // whenever the same state is exported.
    event.timestamp(now);
    let changed = DateTime::from_timestamp(meeting.changed_at, 0).unwrap_or_default();
    event.add_property("LAST-MODIFIED", changed.format("%Y%m%dT%H%M%SZ").to_string());
    event
}

/// A series' cancelled (None) and moved (Some) occurrences, by original start.
async fn sorted_exceptions(store: &Store, meeting: &Meeting) -> Result<Vec<(i64, Option<i64>)>> {
    let mut exceptions: Vec<(i64, Option<i64>)> = crate::meetings::exceptions(store, meeting.id)
        .await?
        .into_iter()
        .collect();
    exceptions.sort_unstable();
    Ok(exceptions)
}

/// Writes a series' cancelled occurrences into its event as EXDATEs, and
/// returns its moved ones as RECURRENCE-ID overrides; those after its
/// cutoff are gone with the rest.
fn with_exceptions(
    event: &mut icalendar::Event,
    meeting: &Meeting,
    uid: &str,
    title: &str,
    exceptions: Vec<(i64, Option<i64>)>,
    now: DateTime<Utc>,
) -> Vec<icalendar::Event> {
    let zone = meeting.zone();
    let cutoff = meeting.cutoff();
    let mut overrides = Vec::new();
    for (original, moved) in exceptions {
        let original = DateTime::from_timestamp(original, 0).unwrap_or_default();
        if cutoff.is_some_and(|c| original > c) {
            continue;
        }
        match moved {
            None => {
                let mut exdate = Property::new("EXDATE", local_at(original, zone).format(LOCAL).to_string());
                exdate.add_parameter("TZID", zone.name());
                event.append_multi_property(exdate);
            }
            Some(to) => {
                let to = DateTime::from_timestamp(to, 0).unwrap_or_default();
                let mut moved_event = icalendar::Event::new();
                let mut rid = Property::new("RECURRENCE-ID", local_at(original, zone).format(LOCAL).to_string());
                rid.add_parameter("TZID", zone.name());
                moved_event
                    .uid(uid)
                    .summary(title)
                    .starts(tz_dt(local_at(to, zone), zone))
                    .ends(tz_dt(local_at(to + meeting.duration(), zone), zone))
                    .timestamp(now)
                    .append_property(rid);
                overrides.push(moved_event.done());
            }
        }
    }
    overrides
}

/// A TEXT value as RFC 5545 3.3.11 writes it.
fn escape_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | ';' | ',' => {
                escaped.push('\\');
                escaped.push(c);
            }
            '\n' => escaped.push_str("\\n"),
            '\r' => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// The calendar's text with a VTIMEZONE for each zone before its first event.
fn with_zones(mut content: String, zones: Vec<Tz>, earliest: DateTime<Utc>, now: DateTime<Utc>) -> String {
    // VTIMEZONE is written by hand into the calendar text: the crate has no
    // builder for it, and its parser would add properties VTIMEZONE must not have.
    let zones: String = zones
        .into_iter()
        .map(|zone| vtimezone(zone, earliest - Duration::days(366), now + Duration::days(3 * 366)))
        .collect();
    // Found as whole lines: a group's name may hold the words.
    let at = content
        .find("\r\nBEGIN:VEVENT\r\n")
        .or_else(|| content.find("\r\nEND:VCALENDAR"))
        .map_or(content.len(), |at| at + 2);
    content.insert_str(at, &zones);
    content
}
