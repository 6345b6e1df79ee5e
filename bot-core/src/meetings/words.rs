//! The words that describe a series' rule: "Weekly on Mondays and
//! Thursdays", "Every other Tuesday at 19:00 Europe/Berlin, 90 min, 8 times".

use chrono::{DateTime, Datelike, NaiveDateTime, Utc, Weekday};
use chrono_tz::Tz;
use rrule::{Frequency, NWeekday, RRule};

use super::series::Meeting;
use crate::message::Span;

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
pub(super) fn describe_rule<S>(r: &RRule<S>, start: NaiveDateTime) -> Option<String> {
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
    // BYMONTH is filled in from the start by the rule builder for yearly rules.
    let months_given = !r.get_by_month().is_empty() && !matches!(r.get_freq(), Frequency::Yearly);
    match r.get_freq() {
        Frequency::Daily if months_given || !r.get_by_month_day().is_empty() || !nth_days.is_empty() => None,
        Frequency::Daily => daily(interval, &plain_days),
        Frequency::Weekly if months_given || !r.get_by_month_day().is_empty() || !nth_days.is_empty() => None,
        Frequency::Weekly => Some(weekly(interval, plain_days, start)),
        Frequency::Monthly if months_given || !plain_days.is_empty() => None,
        Frequency::Monthly => monthly(interval, &nth_days, r.get_by_month_day(), start),
        Frequency::Yearly if !plain_days.is_empty() || !nth_days.is_empty() => None,
        Frequency::Yearly => yearly(interval, r.get_by_month(), r.get_by_month_day(), start),
        _ => None,
    }
}

/// "Every other day", "Every 3 weeks": `None` when the interval is one.
fn every(interval: u16, unit: &str, units: &str) -> Option<String> {
    match interval {
        1 => None,
        2 => Some(format!("Every other {unit}")),
        n => Some(format!("Every {n} {units}")),
    }
}

/// "Mondays and Thursdays".
fn days_words(days: &[Weekday]) -> String {
    and_list(&days.iter().map(|d| format!("{}s", day_name(*d))).collect::<Vec<_>>())
}

/// "1st, 15th and last day".
fn month_days(days: &[i8]) -> String {
    and_list(&days.iter().map(|d| month_day(*d)).collect::<Vec<_>>())
}

/// The rule's own values, else the one its start gives.
fn or_start<T: Copy>(given: &[T], start: T) -> Vec<T> {
    if given.is_empty() { vec![start] } else { given.to_vec() }
}

/// "Monthly on …" every time, "Every other month on …" when it skips.
fn how_often_on(interval: u16, plain: &str, unit: &str, units: &str, on: &str) -> String {
    match every(interval, unit, units) {
        None => format!("{plain} on {on}"),
        Some(e) => format!("{e} on {on}"),
    }
}

/// A daily rule: "Daily", "Every 3 days", or only on some days ("On
/// Mondays and Thursdays"), which cannot also skip days.
fn daily(interval: u16, days: &[Weekday]) -> Option<String> {
    match (every(interval, "day", "days"), days) {
        (None, []) => Some("Daily".into()),
        (Some(e), []) => Some(e),
        (None, days) => Some(format!("On {}", days_words(days))),
        (Some(_), _) => None,
    }
}

/// A weekly rule, on its own days or the start's.
fn weekly(interval: u16, days: Vec<Weekday>, start: NaiveDateTime) -> String {
    let days = if days.is_empty() { vec![start.weekday()] } else { days };
    match (interval, days.as_slice()) {
        (1, _) => format!("Weekly on {}", days_words(&days)),
        (2, [one]) => format!("Every other {}", day_name(*one)),
        (2, _) => format!("Every other week on {}", days_words(&days)),
        (n, _) => format!("Every {n} weeks on {}", days_words(&days)),
    }
}

/// A monthly rule, on nth weekdays ("the second Tuesday") or on days of
/// the month (its own, or the start's), not both.
fn monthly(interval: u16, nth_days: &[String], month_days_given: &[i8], start: NaiveDateTime) -> Option<String> {
    let on = if !nth_days.is_empty() {
        if !month_days_given.is_empty() {
            return None;
        }
        and_list(nth_days)
    } else {
        format!("the {}", month_days(&or_start(month_days_given, start.day() as i8)))
    };
    Some(how_often_on(interval, "Monthly", "month", "months", &on))
}

/// A yearly rule, on days of months (its own, or the start's).
fn yearly(interval: u16, months: &[u8], days: &[i8], start: NaiveDateTime) -> Option<String> {
    let months: Option<Vec<String>> = or_start(months, start.month() as u8)
        .iter()
        .map(|m| month_name(*m).map(String::from))
        .collect();
    let days = or_start(days, start.day() as i8);
    let on = format!("the {} of {}", month_days(&days), and_list(&months?));
    Some(how_often_on(interval, "Yearly", "year", "years", &on))
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
