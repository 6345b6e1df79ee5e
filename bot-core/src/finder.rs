//! Finding a group by the times that suit: the named parts of the day, days
//! of the week and `after:`/`before:` bounds, stated once here and used by
//! `/group list` and the finder page ([`page`]). A meeting is matched by its
//! start, read in the reader's zone.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

use crate::error::{Result, UserError};
use crate::meetings::{self, Meeting};
use crate::store::Store;

mod page;

pub use page::{Listing, Query, SCRIPT, STYLE, load, page, render};

/// How far ahead the finder looks: every weekly, fortnightly and monthly
/// series has an occurrence in it.
pub const HORIZON_DAYS: i64 = 35;
/// At most this many occurrences of one series within the horizon are read.
const PER_SERIES: usize = 64;

/// A named part of the day. A meeting is in it when it starts in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Morning,
    Afternoon,
    Evening,
    Night,
}

impl Part {
    pub const ALL: [Part; 4] = [Part::Morning, Part::Afternoon, Part::Evening, Part::Night];

    pub fn name(self) -> &'static str {
        match self {
            Part::Morning => "morning",
            Part::Afternoon => "afternoon",
            Part::Evening => "evening",
            Part::Night => "night",
        }
    }

    /// Its hours, from (inclusive) and to (exclusive); night wraps past midnight.
    pub fn hours(self) -> (u32, u32) {
        match self {
            Part::Morning => (6, 12),
            Part::Afternoon => (12, 17),
            Part::Evening => (17, 21),
            Part::Night => (21, 6),
        }
    }

    /// `evening (17:00–21:00)`.
    pub fn label(self) -> String {
        let (from, to) = self.hours();
        format!("{} ({from:02}:00–{to:02}:00)", self.name())
    }

    fn window(self) -> Window {
        let (from, to) = self.hours();
        Window {
            from: Some(hm(from, 0)),
            to: Some(hm(to, 0)),
        }
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

/// Start times from `from` (inclusive) to `to` (exclusive); wraps past
/// midnight when `from` is later than `to`; an open end is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    from: Option<NaiveTime>,
    to: Option<NaiveTime>,
}

impl Window {
    fn holds(&self, t: NaiveTime) -> bool {
        match (self.from, self.to) {
            (Some(from), Some(to)) if from > to => t >= from || t < to,
            (from, to) => from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e),
        }
    }
}

/// The days the words name.
const WEEKDAYS: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
const WEEKEND: [Weekday; 2] = [Weekday::Sat, Weekday::Sun];
const DAY_WORDS: &[&str] = &[
    "weekday",
    "weekend",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const TIME_WORDS: &[&str] = &["morning", "afternoon", "evening", "night"];

/// What a reader asked for: which days, which part of the day, and bounds
/// on the start time. The empty filter lets everything through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Bit n: the weekday n days from Monday; `None`, any day.
    days: Option<u8>,
    part: Option<Part>,
    bounds: Option<Window>,
}

impl Filter {
    /// Reads `day:` (weekday, weekend, or day names, comma-separated),
    /// `time:` (a part of the day) and `after:`/`before:` (HH:MM).
    pub fn parse(
        day: Option<&str>,
        time: Option<&str>,
        after: Option<&str>,
        before: Option<&str>,
    ) -> std::result::Result<Filter, UserError> {
        let days = match day.map(str::trim).filter(|d| !d.is_empty()) {
            None => None,
            Some(words) => {
                let mut bits = 0u8;
                for word in words.split([',', ' ', '+']).filter(|w| !w.is_empty()) {
                    for d in day_word(word)? {
                        bits |= 1 << d.num_days_from_monday();
                    }
                }
                Some(bits)
            }
        };
        let part = match time.map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(word) => Some(part_word(word)?),
        };
        let after = after.map(|a| clock_time("after", a)).transpose()?;
        let before = before.map(|b| clock_time("before", b)).transpose()?;
        let bounds = (after.is_some() || before.is_some()).then_some(Window {
            from: after,
            to: before,
        });
        Ok(Filter { days, part, bounds })
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_none() && self.part.is_none() && self.bounds.is_none()
    }

    pub fn part(&self) -> Option<Part> {
        self.part
    }

    /// Whether a meeting starting at this local date and time is wanted.
    pub fn holds_local(&self, local: NaiveDateTime) -> bool {
        let time = local.time();
        self.days
            .is_none_or(|bits| bits & (1 << local.weekday().num_days_from_monday()) != 0)
            && self.part.is_none_or(|p| p.window().holds(time))
            && self.bounds.is_none_or(|w| w.holds(time))
    }

    /// Whether a meeting starting at `start` is wanted by a reader in `zone`.
    pub fn holds(&self, start: DateTime<Utc>, zone: Tz) -> bool {
        self.holds_local(start.with_timezone(&zone).naive_local())
    }

    /// What it asks for, in words: `evening (17:00–21:00), weekdays`.
    pub fn describe(&self) -> String {
        let mut said = Vec::new();
        if let Some(p) = self.part {
            said.push(p.label());
        }
        match self.bounds {
            Some(Window {
                from: Some(f),
                to: Some(t),
            }) => said.push(format!("from {} to {}", f.format("%H:%M"), t.format("%H:%M"))),
            Some(Window {
                from: Some(f),
                to: None,
            }) => said.push(format!("from {}", f.format("%H:%M"))),
            Some(Window {
                from: None,
                to: Some(t),
            }) => said.push(format!("before {}", t.format("%H:%M"))),
            _ => {}
        }
        if let Some(bits) = self.days {
            said.push(days_words(bits));
        }
        said.join(", ")
    }
}

fn days_words(bits: u8) -> String {
    let has = |days: &[Weekday]| days.iter().all(|d| bits & (1 << d.num_days_from_monday()) != 0);
    let count = bits.count_ones();
    if count == 5 && has(&WEEKDAYS) {
        return "weekdays".into();
    }
    if count == 2 && has(&WEEKEND) {
        return "weekends".into();
    }
    let names: Vec<String> = DAY_WORDS[2..]
        .iter()
        .enumerate()
        .filter(|(n, _)| bits & (1 << n) != 0)
        .map(|(_, d)| format!("{d}s"))
        .collect();
    names.join(" and ")
}

/// The days one word names: `weekday(s)`, `weekend(s)`, a day's name or its
/// first three letters, singular or plural.
fn day_word(word: &str) -> std::result::Result<Vec<Weekday>, UserError> {
    let w = word.trim().to_lowercase();
    let w = w.strip_suffix('s').filter(|s| s.len() >= 3).unwrap_or(&w);
    match w {
        "weekday" => return Ok(WEEKDAYS.to_vec()),
        "weekend" => return Ok(WEEKEND.to_vec()),
        _ => {}
    }
    if let Some(day) = DAY_WORDS[2..]
        .iter()
        .position(|d| *d == w || (w.len() == 3 && d.starts_with(w)))
        && let Ok(day) = Weekday::try_from(day as u8)
    {
        return Ok(vec![day]);
    }
    Err(unread(
        "day",
        word,
        DAY_WORDS,
        "weekday, weekend, or a day such as tuesday (several with commas)",
    ))
}

fn part_word(word: &str) -> std::result::Result<Part, UserError> {
    let w = word.trim().to_lowercase();
    let w = w.strip_suffix('s').unwrap_or(&w);
    Part::ALL.into_iter().find(|p| p.name() == w).ok_or_else(|| {
        unread(
            "time",
            word,
            TIME_WORDS,
            "morning (06:00–12:00), afternoon (12:00–17:00), evening (17:00–21:00) or night (21:00–06:00)",
        )
    })
}

/// A word the finder cannot read, with the closest it knows.
fn unread(option: &'static str, typed: &str, known: &[&'static str], takes: &'static str) -> UserError {
    let lower = typed.trim().to_lowercase();
    let suggestion = known
        .iter()
        .map(|k| (strsim::jaro_winkler(k, &lower), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k);
    UserError::UnreadWord {
        option,
        typed: typed.chars().take(40).collect(),
        suggestion,
        takes,
    }
}

fn clock_time(option: &'static str, raw: &str) -> std::result::Result<NaiveTime, UserError> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M").map_err(|_| UserError::BadValue {
        option,
        why: "must be a time written HH:MM, e.g. 18:00",
    })
}

/// One upcoming occurrence of a series, as the finder shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    pub group: i64,
    pub meeting: i64,
    pub start: DateTime<Utc>,
    pub moved: bool,
}

/// Every occurrence of these series from `now` to the horizon, exceptions
/// applied ([`meetings::upcoming`]), nearest first.
pub async fn upcoming(store: &Store, series: &[Meeting], now: DateTime<Utc>) -> Result<Vec<Upcoming>> {
    let horizon = now + Duration::days(HORIZON_DAYS);
    let mut found = Vec::new();
    for m in series {
        for o in meetings::upcoming(store, m, now, PER_SERIES).await? {
            if o.start <= horizon {
                found.push(Upcoming {
                    group: m.group_id,
                    meeting: m.id,
                    start: o.start,
                    moved: o.moved(),
                });
            }
        }
    }
    found.sort_by_key(|u| (u.start, u.meeting));
    Ok(found)
}

/// Each group's nearest occurrence that `filter` lets through for a reader
/// in `zone`, nearest first: the groups that meet when the reader asked.
pub fn nearest_per_group(found: &[Upcoming], filter: &Filter, zone: Tz) -> Vec<Upcoming> {
    let mut seen = std::collections::HashSet::new();
    found
        .iter()
        .filter(|u| filter.holds(u.start, zone))
        .filter(|u| seen.insert(u.group))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
