//! Reading the times people type, in a zone, with a stated rule for local
//! times that do not exist or exist twice at a daylight-saving change.
//!
//! The rule (RFC 5545's): a time in the spring-forward gap is read with the
//! offset from before the gap, so 02:30 becomes 03:30; a time in the
//! fall-back overlap is the first of the two, before the clocks go back.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
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

/// A time the way people write it (`2026-12-01 19:00`, `tomorrow 19:00`,
/// `tue 7pm`, `in 2h`), as a local time in `zone`. It must be in the future.
pub fn parse(input: &str, zone: Tz, now: DateTime<Utc>) -> Result<NaiveDateTime, UserError> {
    let input = input.trim();
    let now_local = now.with_timezone(&zone).naive_local();
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
        let names_a_time = input.contains(':')
            || ["am", "pm", "noon", "midnight"]
                .iter()
                .any(|w| input.to_ascii_lowercase().contains(w));
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
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
            parse("2026-12-01 19:00", Berlin, now).unwrap(),
            local("2026-12-01 19:00")
        );
        assert_eq!(parse("tomorrow 19:00", Berlin, now).unwrap(), local("2026-03-20 19:00"));
        assert_eq!(parse("tue 19:00", Berlin, now).unwrap(), local("2026-03-24 19:00"));
        assert_eq!(parse("thu 7pm", Berlin, now).unwrap(), local("2026-03-19 19:00"));
        assert_eq!(parse("in 2h", Berlin, now).unwrap(), local("2026-03-19 13:00"));
        assert_eq!(
            parse("in 2 days", Berlin, now).unwrap().date(),
            NaiveDate::from_ymd_opt(2026, 3, 21).unwrap()
        );
    }

    #[test]
    fn words_that_made_the_date_library_panic_are_read_or_refused_calmly() {
        let now = utc("2026-03-19T10:00:00Z");

        assert_eq!(parse("thu 7PM", Berlin, now).unwrap(), local("2026-03-19 19:00"));
        assert!(parse("M0A", Berlin, now).is_err());
        assert!(parse("tue 7abcdefghijklmnopq", Berlin, now).is_err());
    }

    #[test]
    fn past_times_vague_dates_and_nonsense_are_refused() {
        let now = utc("2026-03-19T10:00:00Z");

        assert!(parse("2026-03-18 19:00", Berlin, now).is_err());
        assert!(parse("tuesday", Berlin, now).is_err());
        assert!(parse("whenever", Berlin, now).is_err());
        assert!(parse("in -2h", Berlin, now).is_err());
    }
}
