//! Discord's recurring scheduled events (issue 29): a series whose meetings
//! to come Discord's `recurrence_rule` says exactly becomes one event that
//! repeats; any other keeps one event standing for its next meeting.
//!
//! Discord's rule is a subset of RFC 5545 with limits of its own (its
//! "System limitations"): a weekly rule names one weekday and may skip
//! every other week; a daily rule may name one of six known sets of days; a
//! monthly rule names one weekday of one week of the month (1 to 5: "last"
//! cannot be said); a yearly rule names one date; `count` and `end` cannot
//! be set, and there is no zone and no way to leave one date out. So the
//! rule is not translated from the series' RRULE: the candidates Discord
//! can say are expanded here, in UTC from the next meeting, and one is used
//! only when it gives exactly Hearth's own meetings to come. A clock change,
//! a cancelled or moved meeting after the next, a "last Friday", an added
//! date or an end all fail that test, and keep the per-meeting way.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use bot_core::Repeats;

/// Discord's frequencies.
const YEARLY: u8 = 0;
const MONTHLY: u8 = 1;
const WEEKLY: u8 = 2;
const DAILY: u8 = 3;

/// The sets of weekdays (Monday 0) a daily rule may name.
pub const DAILY_SETS: [&[u8]; 6] = [
    &[0, 1, 2, 3, 4],
    &[1, 2, 3, 4, 5],
    &[6, 0, 1, 2, 3],
    &[4, 5],
    &[5, 6],
    &[6, 0],
];

/// A rule Discord can say, from its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub start: DateTime<Utc>,
    frequency: u8,
    interval: u32,
    by_weekday: Option<Vec<u8>>,
    /// (n, weekday): the n-th weekday of each month.
    by_n_weekday: Option<(u32, u8)>,
    /// (month, day of month): one date a year.
    by_date: Option<(u32, u32)>,
}

fn weekday(t: DateTime<Utc>) -> u8 {
    // Discord counts from Monday, as chrono does.
    t.weekday().num_days_from_monday() as u8
}

impl Rule {
    /// The rule as Discord's `recurrence_rule` object.
    pub fn to_json(&self) -> Value {
        let mut rule = json!({
            "start": self.start.to_rfc3339(),
            "frequency": self.frequency,
            "interval": self.interval,
        });
        if let Some(days) = &self.by_weekday {
            rule["by_weekday"] = json!(days);
        }
        if let Some((n, day)) = self.by_n_weekday {
            rule["by_n_weekday"] = json!([{ "n": n, "day": day }]);
        }
        if let Some((month, day)) = self.by_date {
            rule["by_month"] = json!([month]);
            rule["by_month_day"] = json!([day]);
        }
        rule
    }

    /// Whether this rule is where Discord moves an event repeating by the
    /// same rule from `earlier` once that occurrence ends: its start is the
    /// next occurrence after `earlier`.
    pub fn follows(&self, earlier: DateTime<Utc>) -> bool {
        let from = Rule {
            start: earlier,
            ..self.clone()
        };
        from.expand(self.start) == [earlier, self.start]
    }

    /// Its meetings from its start up to `until`, as Discord would show them.
    fn expand(&self, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let start = self.start;
        let mut out = Vec::new();
        match self.frequency {
            DAILY | WEEKLY => {
                let step = if self.frequency == DAILY {
                    Duration::days(1)
                } else {
                    Duration::weeks(i64::from(self.interval))
                };
                let mut t = start;
                while t <= until {
                    if self.by_weekday.as_ref().is_none_or(|days| days.contains(&weekday(t))) {
                        out.push(t);
                    }
                    t += step;
                }
            }
            MONTHLY => {
                let Some((n, day)) = self.by_n_weekday else {
                    return out;
                };
                let (mut year, mut month) = (start.year(), start.month());
                loop {
                    let first = NaiveDate::from_ymd_opt(year, month, 1);
                    let Some(first) = first else { break };
                    let offset = (7 + u32::from(day) - first.weekday().num_days_from_monday()) % 7;
                    let date = first + Duration::days(i64::from(offset + 7 * (n - 1)));
                    let t = date.and_time(start.time()).and_utc();
                    if t > until {
                        break;
                    }
                    if date.month() == month && t >= start {
                        out.push(t);
                    }
                    (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
                }
            }
            _ => {
                let Some((month, day)) = self.by_date else {
                    return out;
                };
                for year in start.year().. {
                    let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
                        continue;
                    };
                    let t = date.and_time(start.time()).and_utc();
                    if t > until {
                        break;
                    }
                    if t >= start {
                        out.push(t);
                    }
                }
            }
        }
        out
    }
}

/// The rule Discord can say for these meetings to come, if one says
/// exactly them: `None` keeps one event for the next meeting.
pub fn fitting(repeats: &Repeats) -> Option<Rule> {
    let (&first, rest) = repeats.starts.split_first()?;
    if !repeats.open_ended || rest.is_empty() {
        return None;
    }
    let rule = |frequency, interval, by_weekday, by_n_weekday, by_date| Rule {
        start: first,
        frequency,
        interval,
        by_weekday,
        by_n_weekday,
        by_date,
    };
    let day = weekday(first);
    let mut candidates = vec![
        rule(WEEKLY, 1, Some(vec![day]), None, None),
        rule(WEEKLY, 2, Some(vec![day]), None, None),
        rule(DAILY, 1, None, None, None),
        rule(MONTHLY, 1, None, Some(((first.day() - 1) / 7 + 1, day)), None),
        rule(YEARLY, 1, None, None, Some((first.month(), first.day()))),
    ];
    candidates.extend(
        DAILY_SETS
            .iter()
            .map(|set| rule(DAILY, 1, Some(set.to_vec()), None, None)),
    );
    candidates
        .into_iter()
        .find(|candidate| candidate.expand(repeats.until) == repeats.starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn every(first: &str, step: Duration, n: usize) -> Vec<DateTime<Utc>> {
        (0..n).map(|i| at(first) + step * i as i32).collect()
    }

    fn repeats(starts: Vec<DateTime<Utc>>, until: &str) -> Repeats {
        Repeats {
            starts,
            until: at(until),
            open_ended: true,
        }
    }

    #[test]
    fn weekly_and_every_other_week_are_said_with_one_weekday() {
        let weekly = fitting(&repeats(
            every("2026-03-21T19:00:00Z", Duration::weeks(1), 5),
            "2026-04-20T00:00:00Z",
        ))
        .unwrap();
        let fortnightly = fitting(&repeats(
            every("2026-03-21T19:00:00Z", Duration::weeks(2), 3),
            "2026-04-20T00:00:00Z",
        ))
        .unwrap();

        assert_eq!(
            weekly.to_json(),
            json!({ "start": "2026-03-21T19:00:00+00:00", "frequency": 2, "interval": 1, "by_weekday": [5] })
        );
        assert_eq!(fortnightly.to_json()["interval"], 2);
    }

    #[test]
    fn weekdays_are_a_known_daily_set_and_the_second_tuesday_a_monthly_rule() {
        let weekdays: Vec<_> = every("2026-03-23T18:00:00Z", Duration::days(1), 12)
            .into_iter()
            .filter(|t| weekday(*t) < 5)
            .collect();
        let daily = fitting(&repeats(weekdays, "2026-04-03T23:00:00Z")).unwrap();
        let second_tuesdays = ["2026-04-14", "2026-05-12", "2026-06-09"]
            .iter()
            .map(|d| at(&format!("{d}T17:00:00Z")))
            .collect();
        let monthly = fitting(&repeats(second_tuesdays, "2026-07-01T00:00:00Z")).unwrap();

        assert_eq!(daily.to_json()["by_weekday"], json!([0, 1, 2, 3, 4]));
        assert_eq!(daily.to_json()["frequency"], 3);
        assert_eq!(monthly.to_json()["by_n_weekday"], json!([{ "n": 2, "day": 1 }]));
    }

    #[test]
    fn what_discord_cannot_say_keeps_one_event_per_meeting() {
        // The last Friday: the 4th in April 2026, the 5th in May.
        let last_fridays = vec![at("2026-04-24T18:00:00Z"), at("2026-05-29T18:00:00Z")];
        // A clock change: 19:00 in Berlin is 18:00 UTC, then 17:00.
        let across_a_clock_change = vec![
            at("2026-10-17T17:00:00Z"),
            at("2026-10-24T17:00:00Z"),
            at("2026-10-31T18:00:00Z"),
        ];
        // A later meeting cancelled.
        let mut one_cancelled = every("2026-03-21T19:00:00Z", Duration::weeks(1), 5);
        one_cancelled.remove(2);
        let with_an_end = Repeats {
            open_ended: false,
            ..repeats(
                every("2026-03-21T19:00:00Z", Duration::weeks(1), 5),
                "2026-04-20T00:00:00Z",
            )
        };

        assert_eq!(fitting(&repeats(last_fridays, "2026-06-20T00:00:00Z")), None);
        assert_eq!(fitting(&repeats(across_a_clock_change, "2026-11-01T00:00:00Z")), None);
        assert_eq!(fitting(&repeats(one_cancelled, "2026-04-20T00:00:00Z")), None);
        assert_eq!(fitting(&with_an_end), None);
        assert_eq!(
            fitting(&repeats(vec![at("2026-03-21T19:00:00Z")], "2026-04-20T00:00:00Z")),
            None,
            "one meeting is no series"
        );
    }
}
