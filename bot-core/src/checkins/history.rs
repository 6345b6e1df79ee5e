//! `/checkin history`: a member's own check-ins, privately.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::asking::mood_words;
use crate::error::{Context, Result};
use crate::members::Member;
use crate::message::{Line, Message, Span};
use crate::store::{Store, query_as};
use crate::when::{self, at};

const SPARKS: [char; 5] = ['▁', '▂', '▃', '▄', '▅'];
/// How many days `/checkin history` draws.
const HISTORY_DAYS: i64 = 14;

#[derive(Debug, Clone, sqlx::FromRow)]
struct Answer {
    mood: Option<i64>,
    note: Option<String>,
    at: i64,
}

pub(super) fn average(moods: &[i64]) -> Option<f64> {
    (!moods.is_empty()).then(|| moods.iter().sum::<i64>() as f64 / moods.len() as f64)
}

pub(super) fn change_words(now: f64, before: f64) -> String {
    let d = now - before;
    if d.abs() < 0.05 {
        "about the same".to_string()
    } else if d > 0.0 {
        format!("up {d:.1}")
    } else {
        format!("down {:.1}", -d)
    }
}

/// `/checkin history`: the member's own check-ins, privately.
pub(super) async fn history(store: &Store, me: &Member, zone: Tz, now: DateTime<Utc>) -> Result<Message> {
    let today = now.with_timezone(&zone).date_naive();
    let first_day = today - Duration::days(HISTORY_DAYS - 1);
    let from = when::resolve(first_day.and_time(NaiveTime::MIN), zone).0;
    let answers: Vec<Answer> =
        query_as("SELECT mood, note, at FROM checkins WHERE member_id = ? AND at >= ? ORDER BY at, id")
            .bind(me.id)
            .bind(from.timestamp())
            .fetch_all(store)
            .await
            .context("loading own check-ins")?;
    let mut message = Message::titled("Your check-ins");
    if answers.is_empty() {
        return Ok(message
            .text(format!("No check-ins in the last {HISTORY_DAYS} days."))
            .line(Line::text("Check in any time with ").cmd("checkin share mood:3")));
    }
    let mut days: BTreeMap<NaiveDate, Vec<Option<i64>>> = BTreeMap::new();
    for a in &answers {
        days.entry(at(a.at).with_timezone(&zone).date_naive())
            .or_default()
            .push(a.mood);
    }
    let spark: String = (0..HISTORY_DAYS)
        .map(|i| {
            let day = first_day + Duration::days(i);
            match days.get(&day) {
                None => '·',
                Some(moods) => {
                    let moods: Vec<i64> = moods.iter().flatten().copied().collect();
                    match average(&moods) {
                        // A day of passes only is its own mark, never a low one.
                        None => '○',
                        Some(avg) => SPARKS[(avg.round() as usize).clamp(1, 5) - 1],
                    }
                }
            }
        })
        .collect();
    message = message
        .line(Line::text(format!("Last {HISTORY_DAYS} days: ")).b(spark))
        .text("(oldest first; ▁ struggling to ▅ great, ○ a pass, · no check-in)");
    let week = |from_day: i64, to_day: i64| -> Vec<i64> {
        days.iter()
            .filter(|(d, _)| {
                let back = (today - **d).num_days();
                (from_day..to_day).contains(&back)
            })
            .flat_map(|(_, moods)| moods.iter().flatten().copied())
            .collect()
    };
    let (this, before) = (average(&week(0, 7)), average(&week(7, 14)));
    message = message.text(match (this, before) {
        (Some(a), Some(b)) => format!(
            "Last 7 days: average {a:.1}; the 7 days before: {b:.1} ({}).",
            change_words(a, b)
        ),
        (Some(a), None) => format!("Last 7 days: average {a:.1}; no moods the 7 days before to compare."),
        (None, Some(b)) => format!("No moods in the last 7 days; the 7 days before: average {b:.1}."),
        (None, None) => "No moods in these two weeks, only passes, and that's fine.".to_string(),
    });
    message = message.text(format!(
        "You checked in on {} of the last {HISTORY_DAYS} days.",
        days.len()
    ));
    message = message.text("Most recent:");
    for a in answers.iter().rev().take(5) {
        let mood = a.mood.map_or_else(|| "pass".to_string(), mood_words);
        let mut line = Line::text("  ")
            .push(Span::Time { at: at(a.at), zone })
            .t(format!(" · {mood}"));
        if let Some(note) = &a.note {
            line = line.t(format!(" · “{note}”"));
        }
        message = message.line(line);
    }
    Ok(message.text("Only you see this."))
}
