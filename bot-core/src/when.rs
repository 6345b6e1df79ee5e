//! Reading the times people type, in a zone, with a stated rule for local
//! times that do not exist or exist twice at a daylight-saving change.
//!
//! The rule (RFC 5545's): a time in the spring-forward gap is read with the
//! offset from before the gap, so 02:30 becomes 03:30; a time in the
//! fall-back overlap is the first of the two, before the clocks go back.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

use crate::error::UserError;

/// What happened to a local time at a daylight-saving change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DstNote {
    /// It does not exist that day; it was moved forward to `to`.
    Skipped { to: NaiveDateTime },
    /// It happens twice that day; the first was taken.
    Repeated,
}

impl DstNote {
    pub fn explain(&self, asked: NaiveDateTime, zone: Tz) -> String {
        match self {
            DstNote::Skipped { to } => format!(
                "{} does not exist in {} that day (the clocks go forward), so I took {}.",
                asked.format("%H:%M on %-d %b"),
                zone.name(),
                to.format("%H:%M")
            ),
            DstNote::Repeated => format!(
                "{} happens twice in {} that day (the clocks go back); I took the first, before the change.",
                asked.format("%H:%M on %-d %b"),
                zone.name()
            ),
        }
    }
}

/// A local time in a zone, as an instant, by the rule above.
pub fn resolve(local: NaiveDateTime, zone: Tz) -> (DateTime<Utc>, Option<DstNote>) {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => (t.to_utc(), None),
        LocalResult::Ambiguous(a, b) => (a.min(b).to_utc(), Some(DstNote::Repeated)),
        LocalResult::None => {
            // No gap lasts longer than a day: the offset a day before is the one before the gap.
            let before = zone.offset_from_utc_datetime(&(local - Duration::days(1))).fix();
            let instant = (local - Duration::seconds(i64::from(before.local_minus_utc()))).and_utc();
            let to = instant.with_timezone(&zone).naive_local();
            (instant, Some(DstNote::Skipped { to }))
        }
    }
}

/// Which comes first in a numeric date such as 03/12: how the member writes
/// dates, from their setting or their zone. Unknown, an ambiguous date is
/// asked back with both readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// 03/12 is 3 December.
    DayFirst,
    /// 03/12 is 12 March.
    MonthFirst,
}

impl DateOrder {
    pub const NAMES: &'static [&'static str] = crate::spec::DATE_ORDERS;

    pub fn name(self) -> &'static str {
        match self {
            DateOrder::DayFirst => "day_first",
            DateOrder::MonthFirst => "month_first",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "day_first" => Some(DateOrder::DayFirst),
            "month_first" => Some(DateOrder::MonthFirst),
            _ => None,
        }
    }

    /// The order people in `zone` write dates in, where it is clear: the
    /// United States' zones and Manila write the month first; Europe,
    /// Australia, New Zealand, India, Latin America and most of Africa the
    /// day. Elsewhere (Canada writes both; East Asia writes the year first)
    /// it is not clear, and Hearth asks.
    pub fn of_zone(zone: Tz) -> Option<Self> {
        let name = zone.name();
        let region = |prefixes: &[&str]| {
            prefixes
                .iter()
                .any(|p| name == *p || name.starts_with(&format!("{p}/")))
        };
        if region(UNCLEAR) {
            None
        } else if region(MONTH_FIRST) {
            Some(DateOrder::MonthFirst)
        } else if region(DAY_FIRST) {
            Some(DateOrder::DayFirst)
        } else {
            None
        }
    }
}

/// Zones (and the regions under them) where dates are written month first.
const MONTH_FIRST: &[&str] = &[
    "America/New_York",
    "America/Detroit",
    "America/Kentucky",
    "America/Indiana",
    "America/Chicago",
    "America/Menominee",
    "America/North_Dakota",
    "America/Denver",
    "America/Boise",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "America/Juneau",
    "America/Sitka",
    "America/Metlakatla",
    "America/Yakutat",
    "America/Nome",
    "America/Adak",
    "America/Indianapolis",
    "America/Louisville",
    "Pacific/Honolulu",
    "Pacific/Guam",
    "Pacific/Saipan",
    "Pacific/Pago_Pago",
    "US",
    "Asia/Manila",
];

/// Zones (and the regions under them) where dates are written day first.
const DAY_FIRST: &[&str] = &[
    "Europe",
    "Australia",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "NZ",
    "GB",
    "Eire",
    "Asia/Kolkata",
    "Asia/Calcutta",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Jerusalem",
    "Asia/Dubai",
    "Asia/Riyadh",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Jakarta",
    "Asia/Bangkok",
    "Asia/Ho_Chi_Minh",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Africa/Cairo",
    "Africa/Casablanca",
    "Africa/Algiers",
    "Africa/Accra",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "America/Argentina",
    "America/Bogota",
    "America/Lima",
    "America/Santiago",
    "America/Caracas",
    "America/Montevideo",
    "Brazil",
];

/// Year-first or mixed in Europe: asked rather than guessed.
const UNCLEAR: &[&str] = &["Europe/Budapest", "Europe/Vilnius"];

/// The words that say a time of day, beyond a clock reading with a colon.
const TIME_WORDS: [&str; 4] = ["am", "pm", "noon", "midnight"];

/// Clock readings that do not exist are refused, not rolled over: interim
/// reads `25:00` as 01:00 the day after, and `13pm` as 01:00.
fn check_clock(input: &str) -> Result<(), UserError> {
    let bad = UserError::BadValue {
        option: "when",
        why: "has a time that does not exist: hours go from 00 to 23 and minutes from 00 to 59, \
              e.g. 19:30 (midnight is 00:00 of the next day)",
    };
    let bad_12 = UserError::BadValue {
        option: "when",
        why: "has a time that does not exist: with am or pm, hours go from 1 to 12, e.g. 7pm or 7:30pm; \
              or write 19:30",
    };
    let lower = input.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        let word = word.trim_end_matches([',', '.', ';']);
        let (clock, half) = match word.strip_suffix("am").or_else(|| word.strip_suffix("pm")) {
            Some(c) => (c, true),
            None => (word, matches!(words.get(i + 1), Some(&"am" | &"pm"))),
        };
        if clock.is_empty() || !clock.chars().all(|c| c.is_ascii_digit() || c == ':') {
            continue;
        }
        let (hour, minute) = match clock.split_once(':') {
            Some((h, m)) => (h, Some(m)),
            None if half => (clock, None),
            None => continue,
        };
        let (Ok(hour), minute) = (hour.parse::<u32>(), minute.map(str::parse::<u32>)) else {
            return Err(bad);
        };
        if matches!(minute, Some(Err(_))) || matches!(minute, Some(Ok(m)) if m > 59) {
            return Err(bad);
        }
        if half && !(1..=12).contains(&hour) {
            return Err(bad_12);
        }
        if hour > 23 {
            return Err(bad);
        }
    }
    Ok(())
}

/// The ways people write a time that the date library does not read, put
/// in ones it does: "tomorrow at 7pm" (at), "tonight 7pm" (today), "noon",
/// "19.00" (a dot for a colon), "5 December 19:00" and "December 5th"
/// (a day and a month's name, this year or, once past, the next). Lowercase.
fn plain_words(input: &str, today: NaiveDate) -> String {
    let lower = input.trim().to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().filter(|w| *w != "at").collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        if let Some((date, used)) = named_date(&words[i..], today) {
            out.push(date.format("%Y-%m-%d").to_string());
            i += used;
            continue;
        }
        out.push(match word {
            "tonight" => "today".to_string(),
            "noon" | "midday" => "12:00".to_string(),
            w => dotted_clock(w).unwrap_or_else(|| w.to_string()),
        });
        i += 1;
    }
    out.join(" ")
}

/// `19.00` as `19:00`: an hour, a dot and two digits of minutes.
fn dotted_clock(word: &str) -> Option<String> {
    let (h, m) = word.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    (digits(h) && h.len() <= 2 && m.len() == 2 && digits(m)).then(|| format!("{h}:{m}"))
}

/// "5 december [2026]", "5th dec", "december 5": the date, read by chrono's
/// month names, and how many words it took.
fn named_date(words: &[&str], today: NaiveDate) -> Option<(NaiveDate, usize)> {
    fn day(w: &str) -> Option<&str> {
        let w = w.trim_end_matches(',');
        let w = ["st", "nd", "rd", "th"]
            .iter()
            .find_map(|s| w.strip_suffix(s))
            .unwrap_or(w);
        (!w.is_empty() && w.len() <= 2 && w.chars().all(|c| c.is_ascii_digit())).then_some(w)
    }
    fn month(w: &str) -> Option<&str> {
        let w = w.trim_end_matches([',', '.']);
        (w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic())).then_some(w)
    }
    let (d, m) = match words {
        [a, b, ..] if day(a).is_some() && month(b).is_some() => (day(a)?, month(b)?),
        [a, b, ..] if month(a).is_some() && day(b).is_some() => (day(b)?, month(a)?),
        _ => return None,
    };
    let year_given = words
        .get(2)
        .map(|w| w.trim_end_matches(','))
        .filter(|w| w.len() == 4 && w.chars().all(|c| c.is_ascii_digit()));
    let read = |year: &str| {
        ["%d %B %Y", "%d %b %Y"]
            .iter()
            .find_map(|f| NaiveDate::parse_from_str(&format!("{d} {m} {year}"), f).ok())
    };
    match year_given {
        Some(year) => Some((read(year)?, 3)),
        None => {
            let this = read(&today.year().to_string())?;
            if this >= today {
                Some((this, 2))
            } else {
                Some((read(&(today.year() + 1).to_string())?, 2))
            }
        }
    }
}

/// How a phrase that reads two ways was read, to say back: "next friday"
/// is the Friday after this one. `None` for anything plain.
pub fn reading(input: &str, read: NaiveDateTime, now: DateTime<Utc>, zone: Tz) -> Option<String> {
    let lower = input.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "next")?;
    let day = words.get(i + 1)?;
    if !day.chars().all(|c| c.is_ascii_alphabetic()) || day.parse::<chrono::Weekday>().is_err() {
        return None;
    }
    let today = now.with_timezone(&zone).date_naive();
    let this_one = (0..7)
        .map(|n| today + Duration::days(n))
        .find(|d| d.weekday() == read.weekday())?;
    if this_one == read.date() {
        return None;
    }
    Some(format!(
        "I read \"next {day}\" as {}, not this {} ({}); give the date to be sure.",
        read.format("%A %-d %b"),
        read.format("%A"),
        this_one.format("%-d %b")
    ))
}

/// Numeric dates rewritten as ISO (2026-12-03) for interim, by the member's
/// date order: `3/12/2026`, `03.12.2026`, `3.12.`, `12/3`, `2026/12/03`.
/// An ISO date is left as it is; a date whose order is ambiguous and not
/// known is refused with both readings.
fn numeric_dates(input: &str, order: Option<DateOrder>, this_year: i32) -> Result<String, UserError> {
    let mut out = Vec::new();
    for word in input.split_whitespace() {
        let core = word.trim_end_matches(',');
        let tail = &word[core.len()..];
        match numeric_date(core, order, this_year)? {
            Some(date) => out.push(format!("{}{tail}", date.format("%Y-%m-%d"))),
            None => out.push(word.to_string()),
        }
    }
    Ok(out.join(" "))
}

fn numeric_date(word: &str, order: Option<DateOrder>, this_year: i32) -> Result<Option<NaiveDate>, UserError> {
    let Some(sep) = word.chars().find(|c| matches!(c, '/' | '.' | '-')) else {
        return Ok(None);
    };
    let trailing_dot = sep == '.' && word.ends_with('.');
    let parts: Vec<&str> = word.trim_end_matches('.').split(sep).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) || p.len() > 4)
    {
        return Ok(None);
    }
    let number = |p: &str| p.parse::<u32>().unwrap_or(0);
    let does_not_exist = UserError::BadValue {
        option: "when",
        why: "has a date that does not exist; write it as YYYY-MM-DD, e.g. 2026-12-03",
    };
    let (a, b, year) = match parts.as_slice() {
        [y, m, d] if y.len() == 4 => {
            let date = NaiveDate::from_ymd_opt(number(y) as i32, number(m), number(d));
            return date.map(Some).ok_or(does_not_exist);
        }
        [a, b, y] if a.len() <= 2 && b.len() <= 2 && matches!(y.len(), 2 | 4) => {
            let y = number(y) as i32;
            (number(a), number(b), if y < 100 { 2000 + y } else { y })
        }
        // Without a year: 12/3, or 3.12. with its closing dot (19.00 is a time).
        [a, b] if a.len() <= 2 && b.len() <= 2 && (sep == '/' || trailing_dot) => (number(a), number(b), this_year),
        _ => return Ok(None),
    };
    let day_first = NaiveDate::from_ymd_opt(year, b, a);
    let month_first = NaiveDate::from_ymd_opt(year, a, b);
    let chosen = match (day_first, month_first, order) {
        (Some(d), Some(m), _) if d == m => d,
        (Some(d), None, _) => d,
        (None, Some(m), _) => m,
        (Some(d), Some(_), Some(DateOrder::DayFirst)) => d,
        (Some(_), Some(m), Some(DateOrder::MonthFirst)) => m,
        (Some(d), Some(m), None) => {
            return Err(UserError::AmbiguousDate {
                typed: word.chars().take(12).collect(),
                day_first: d,
                month_first: m,
            });
        }
        (None, None, _) => return Err(does_not_exist),
    };
    Ok(Some(chosen))
}

/// A time the way people write it (`2026-12-01 19:00`, `tomorrow 19:00`,
/// `tue 7pm`, `in 2h`, `03/12 19:00` when the date order is known), as a
/// local time in `zone`. It must be in the future.
pub fn parse(input: &str, zone: Tz, order: Option<DateOrder>, now: DateTime<Utc>) -> Result<NaiveDateTime, UserError> {
    let now_local = now.with_timezone(&zone).naive_local();
    let input = &plain_words(input, now_local.date());
    check_clock(input)?;
    // A time alone is the next one: today if it is still to come, else tomorrow.
    if let Some(clock) = time_only(input) {
        let today = now_local.date().and_time(clock);
        return Ok(if today > now_local {
            today
        } else {
            today + Duration::days(1)
        });
    }
    let input = &numeric_dates(input, order, now_local.year())?;
    let bad = UserError::BadValue {
        option: "when",
        why: "should look like 2026-12-01 19:00, tomorrow 19:00, tue 19:00 or in 2h",
    };
    let local = if let Some(rest) = input.strip_prefix("in ") {
        // A span from now is added to the instant, not to the wall clock.
        match interim::parse_duration(rest).map_err(|_| bad.clone())? {
            interim::Interval::Seconds(s) if s > 0 => (now + Duration::seconds(i64::from(s)))
                .with_timezone(&zone)
                .naive_local(),
            interim::Interval::Days(d) if d > 0 => now_local + Duration::days(i64::from(d)),
            interim::Interval::Months(m) if m > 0 => now_local
                .checked_add_months(chrono::Months::new(m.unsigned_abs()))
                .ok_or(bad.clone())?,
            _ => return Err(bad),
        }
    } else {
        // Read in a zone without clock changes, so the wall-clock reading is
        // kept as typed; the real zone's rule is applied afterwards.
        let parsed = interim_date(input, now_local.and_utc()).ok_or(bad.clone())?.naive_utc();
        let names_a_time = input.contains(':') || TIME_WORDS.iter().any(|w| input.to_ascii_lowercase().contains(w));
        if !names_a_time {
            return Err(UserError::BadValue {
                option: "when",
                why: "needs a time of day too, e.g. tue 19:00",
            });
        }
        parsed
    };
    // Whole seconds: "in 2m" is two minutes from now, not to the nanosecond.
    let local = local.with_nanosecond(0).unwrap_or(local);
    if local <= now_local {
        return Err(UserError::BadValue {
            option: "when",
            why: "is in the past; give a time still to come",
        });
    }
    Ok(local)
}

/// The time of day alone, when `input` names no day (`18:00`, `7pm`), for
/// a command that has a day already: `/meeting move` keeps the meeting's own
/// date. `None` when it names a day too (`tomorrow 18:00`, `today 18:00`).
pub fn time_only(input: &str) -> Option<NaiveTime> {
    // Any date will do: a time alone names none.
    let lower = plain_words(input, NaiveDate::default());
    let names_a_time = lower.contains(':') || TIME_WORDS.iter().any(|w| lower.contains(w));
    if !names_a_time || lower.starts_with("in ") || lower.contains("today") || lower.contains("tonight") {
        return None;
    }
    if check_clock(&lower).is_err() || lower.chars().any(|c| matches!(c, '/' | '-')) {
        return None;
    }
    // Read on two days of different weekdays and months: a time alone
    // lands on the day it is read on both times.
    let mut time = None;
    for day in ["2001-01-01T00:00:00Z", "2001-06-15T00:00:00Z"] {
        let base = DateTime::parse_from_rfc3339(day).ok()?.to_utc();
        let read = interim_date(&lower, base)?;
        if read.date_naive() != base.date_naive() || time.is_some_and(|t| t != read.time()) {
            return None;
        }
        time = Some(read.time());
    }
    time
}

/// interim's reading of a date, made safe for anything a person types:
/// interim 0.2 asserts (panics) on a word after an hour that is not all
/// lowercase or is 16 letters or longer ("7PM", found by the fuzz test).
/// Lowercase ASCII is what it expects; longer words are never dates; and a
/// panic that still slips through is caught, not let out.
fn interim_date(input: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let lower = input.to_ascii_lowercase();
    let longest_word = lower
        .split(|c: char| !c.is_ascii_alphabetic())
        .map(str::len)
        .max()
        .unwrap_or(0);
    if longest_word >= 16 {
        return None;
    }
    std::panic::catch_unwind(|| interim::parse_date_string(&lower, now, interim::Dialect::Uk).ok())
        .ok()
        .flatten()
}

/// The instant a stored Unix time (seconds, UTC) names; one outside
/// chrono's range reads as the epoch rather than failing a whole listing.
pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// How a time is stored (migration 0015, "How time is stored" in
/// `docs/ARCHITECTURE.md`): an instant is bound as Unix seconds, UTC
/// (`t.timestamp()`, never a `DateTime` itself, which sqlx would write as
/// text) and read back with [`at`]; a local time of day (quiet hours, the
/// daily check-in) is this "HH:MM", read in the zone named beside it.
pub fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// Whether a column holds an instant (Unix seconds, UTC), by its name: how
/// `/mydata` knows which numbers to show as dates, and what the schema
/// tests hold to INTEGER. Every instant column is named so; `remind_at`
/// (the daily check-in's time of day, "HH:MM") is the one `_at` that is not.
pub fn is_instant(column: &str) -> bool {
    (column.ends_with("_at") && column != "remind_at")
        || matches!(
            column,
            "at" | "since" | "until" | "lease_until" | "occurrence" | "moved_to" | "week_start"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Europe::Berlin};

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_forward_by_the_gap() {
        let (instant, note) = resolve(local("2026-03-29 02:30"), Berlin);

        assert_eq!(instant, utc("2026-03-29T01:30:00Z"));
        assert_eq!(
            note,
            Some(DstNote::Skipped {
                to: local("2026-03-29 03:30")
            })
        );
    }

    #[test]
    fn a_repeated_time_in_autumn_is_the_first_one() {
        let (instant, note) = resolve(local("2026-11-01 01:30"), New_York);

        assert_eq!(instant, utc("2026-11-01T05:30:00Z"));
        assert_eq!(note, Some(DstNote::Repeated));
    }

    #[test]
    fn the_forms_people_write_are_read_in_their_zone() {
        // Thursday 19 March 2026, 10:00 UTC = 11:00 in Berlin.
        let now = utc("2026-03-19T10:00:00Z");

        assert_eq!(
            parse("2026-12-01 19:00", Berlin, None, now).unwrap(),
            local("2026-12-01 19:00")
        );
        assert_eq!(
            parse("tomorrow 19:00", Berlin, None, now).unwrap(),
            local("2026-03-20 19:00")
        );
        assert_eq!(
            parse("tue 19:00", Berlin, None, now).unwrap(),
            local("2026-03-24 19:00")
        );
        assert_eq!(parse("thu 7pm", Berlin, None, now).unwrap(), local("2026-03-19 19:00"));
        assert_eq!(parse("in 2h", Berlin, None, now).unwrap(), local("2026-03-19 13:00"));
        assert_eq!(
            parse("in 2 days", Berlin, None, now).unwrap().date(),
            NaiveDate::from_ymd_opt(2026, 3, 21).unwrap()
        );
    }

    #[test]
    fn more_of_how_people_write_times_is_read() {
        // Thursday 19 March 2026, 10:00 UTC = 11:00 in Berlin.
        let now = utc("2026-03-19T10:00:00Z");
        let read = |s: &str| parse(s, Berlin, None, now).unwrap();

        assert_eq!(read("tomorrow at 7pm"), local("2026-03-20 19:00"));
        assert_eq!(read("tonight 7pm"), local("2026-03-19 19:00"));
        assert_eq!(read("tonight at 8pm"), local("2026-03-19 20:00"));
        assert_eq!(read("noon"), local("2026-03-19 12:00"));
        assert_eq!(read("tomorrow noon"), local("2026-03-20 12:00"));
        assert_eq!(read("5 December 19:00"), local("2026-12-05 19:00"));
        assert_eq!(read("December 5th 19:00"), local("2026-12-05 19:00"));
        assert_eq!(
            read("5 march 19:00"),
            local("2027-03-05 19:00"),
            "past this year: the next"
        );
        assert_eq!(read("tue 19.00"), local("2026-03-24 19:00"));
        assert_eq!(read("9:00"), local("2026-03-20 09:00"), "a time alone is the next one");
        assert!(parse("tue 25.00", Berlin, None, now).is_err());
        assert!(parse("31 february 19:00", Berlin, None, now).is_err());
        assert_eq!(time_only("8pm"), NaiveTime::from_hms_opt(20, 0, 0));
        assert_eq!(time_only("at 18.30"), NaiveTime::from_hms_opt(18, 30, 0));
    }

    #[test]
    fn next_friday_is_said_back_as_read() {
        // Thursday 19 March 2026: this Friday is the 20th.
        let now = utc("2026-03-19T10:00:00Z");
        let read = parse("next friday 19:00", Berlin, None, now).unwrap();

        assert_eq!(read, local("2026-03-27 19:00"));
        assert_eq!(
            reading("next friday 19:00", read, now, Berlin).as_deref(),
            Some("I read \"next friday\" as Friday 27 Mar, not this Friday (20 Mar); give the date to be sure.")
        );
        assert_eq!(reading("fri 19:00", local("2026-03-20 19:00"), now, Berlin), None);
        // Said back whatever day it is typed on.
        for day in 0..7 {
            let now = now + Duration::days(day);
            let read = parse("next friday 19:00", Berlin, None, now).unwrap();
            assert!(
                reading("next friday 19:00", read, now, Berlin).is_some(),
                "{now}: {read}"
            );
        }
    }

    #[test]
    fn words_that_made_the_date_library_panic_are_read_or_refused_calmly() {
        let now = utc("2026-03-19T10:00:00Z");

        assert_eq!(parse("thu 7PM", Berlin, None, now).unwrap(), local("2026-03-19 19:00"));
        assert!(parse("M0A", Berlin, None, now).is_err());
        assert!(parse("tue 7abcdefghijklmnopq", Berlin, None, now).is_err());
    }

    #[test]
    fn past_times_vague_dates_and_nonsense_are_refused() {
        let now = utc("2026-03-19T10:00:00Z");

        assert!(parse("2026-03-18 19:00", Berlin, None, now).is_err());
        assert!(parse("tuesday", Berlin, None, now).is_err());
        assert!(parse("whenever", Berlin, None, now).is_err());
        assert!(parse("in -2h", Berlin, None, now).is_err());
    }
}
