//! A series' values as typed: its rule from `repeat`, `count` and `until`
//! (checked by building it, and refused when it cannot be said in words),
//! and its length.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike, Weekday};
use chrono_tz::Tz;
use rrule::Frequency;

use super::series::rule_set;
use super::words::describe_rule;
use crate::error::UserError;
use crate::when;

pub const REPEATS: &[&str] = &["once", "daily", "weekly", "biweekly", "monthly"];

/// The RRULE for a shortcut, from the first occurrence's local start.
pub(super) fn shortcut_rule(repeat: &str, start: NaiveDateTime) -> String {
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

pub(super) fn repeat_error(why: &'static str) -> UserError {
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
    let (label, rule) = repeat_rule(repeat.map(str::trim).unwrap_or("once"), start)?;
    let rule = with_end(&label, rule, count, until, start, zone)?;
    check_rule(&rule, start, zone)?;
    Ok((label, rule))
}

/// The label and rule `repeat` names: a shortcut's, or an RRULE as written.
fn repeat_rule(repeat: &str, start: NaiveDateTime) -> std::result::Result<(String, String), UserError> {
    let lower = repeat.to_ascii_lowercase();
    if let Some(shortcut) = REPEATS.iter().find(|r| **r == lower) {
        return Ok((shortcut.to_string(), shortcut_rule(shortcut, start)));
    }
    let raw = repeat.strip_prefix("RRULE:").unwrap_or(repeat).to_ascii_uppercase();
    if !raw.starts_with("FREQ=") && !raw.contains(";FREQ=") {
        return Err(repeat_error(
            "must be once, daily, weekly, biweekly, monthly, or an RRULE such as RRULE:FREQ=WEEKLY;BYDAY=MO,TH",
        ));
    }
    Ok(("custom".to_string(), raw))
}

/// The rule ended by `count` or `until`, when one is given and the rule
/// has no end of its own.
fn with_end(
    label: &str,
    mut rule: String,
    count: Option<i64>,
    until: Option<NaiveDate>,
    start: NaiveDateTime,
    zone: Tz,
) -> std::result::Result<String, UserError> {
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
    Ok(rule)
}

/// Refuses a rule that does not build, meets more than daily, sets its own
/// time of day, or cannot be said in plain words.
fn check_rule(rule: &str, start: NaiveDateTime, zone: Tz) -> std::result::Result<(), UserError> {
    let set = rule_set(start, zone, rule)
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
    Ok(())
}

/// A meeting's length as typed (`90m`, `1h30m`), in minutes.
pub(super) fn duration_minutes(raw: Option<&str>) -> std::result::Result<Option<i64>, UserError> {
    let Some(raw) = raw else { return Ok(None) };
    match humantime::parse_duration(raw) {
        Ok(d) if (5 * 60..=12 * 3600).contains(&d.as_secs()) => Ok(Some((d.as_secs() / 60) as i64)),
        _ => Err(UserError::BadValue {
            option: "duration",
            why: "must be between 5m and 12h, e.g. 90m or 1h30m",
        }),
    }
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
