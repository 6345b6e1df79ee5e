//! The Meeting Guide feed (code4recovery's JSON, read by TSML and meeting
//! finder apps): a simple array of meetings, one per weekly series, each with
//! its weekday, local times and zone. `/group list format:meeting_guide` and
//! `hearth export meeting-guide` give the same file.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use serde::Serialize;

use crate::error::{Context, Result};
use crate::groups::{self, Group};
use crate::meetings::{self, Meeting};
use crate::message::{Attachment, Message};
use crate::store::{Store, query_scalar};

/// One meeting as Meeting Guide reads it. Absent fields are left out, never null.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub name: String,
    pub slug: String,
    /// 0 Sunday … 6 Saturday.
    pub day: u32,
    /// `HH:MM`, local to `timezone`.
    pub time: String,
    pub end_time: String,
    pub timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conference_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conference_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted_address: Option<String>,
    pub types: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub group: String,
    /// The group's payment handles, for contributions (never expected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venmo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub square: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paypal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub homegroup_online: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    pub updated: String,
}

/// How a series' rule places it in the week.
enum Weekly {
    /// Every `interval` weeks on the start's weekday (`interval` 1: weekly).
    Every(u32),
    /// Monthly on a set weekday (e.g. the second Tuesday).
    MonthlyOnWeekday,
    /// No one weekday: once, daily, several weekdays, monthly by date.
    No(&'static str),
}

fn rule_part<'a>(rrule: &'a str, key: &str) -> Option<&'a str> {
    rrule
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn weekly(m: &Meeting) -> Weekly {
    if m.repeat == "once" || rule_part(&m.rrule, "COUNT") == Some("1") {
        return Weekly::No("a single meeting, not a series");
    }
    let by_day = rule_part(&m.rrule, "BYDAY");
    let several_days = by_day.is_some_and(|d| d.contains(','));
    match rule_part(&m.rrule, "FREQ").map(str::to_ascii_uppercase).as_deref() {
        Some("WEEKLY") if several_days => Weekly::No("meets on several weekdays"),
        Some("WEEKLY") => Weekly::Every(
            rule_part(&m.rrule, "INTERVAL")
                .and_then(|i| i.parse().ok())
                .unwrap_or(1)
                .max(1),
        ),
        Some("MONTHLY") if by_day.is_some() && !several_days => Weekly::MonthlyOnWeekday,
        Some("MONTHLY") => Weekly::No("monthly by date, so on no fixed weekday"),
        Some("DAILY") => Weekly::No("daily, so on no one weekday"),
        _ => Weekly::No("its rule has no fixed weekday"),
    }
}

fn is_url(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase();
    s.starts_with("https://") || s.starts_with("http://")
}

/// Text as plain text: Meeting Guide shows it as it is, so no markup.
fn plain(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '<' | '>'))
        .collect::<String>()
        .trim()
        .to_string()
}

/// A readable slug: lower-case ASCII letters and digits joined by dashes.
pub(crate) fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 50 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() { "meeting".into() } else { slug }
}

/// "Once a month: the second Friday." from a rule's `BYDAY=2FR`.
fn monthly_note(rrule: &str, weekday: chrono::Weekday) -> String {
    let by_day = rule_part(rrule, "BYDAY").unwrap_or_default();
    let nth: String = by_day.chars().take_while(|c| *c == '-' || c.is_ascii_digit()).collect();
    let which = match nth.as_str() {
        "1" => "first ",
        "2" => "second ",
        "3" => "third ",
        "4" => "fourth ",
        "-1" => "last ",
        _ => "",
    };
    let day = match weekday {
        chrono::Weekday::Mon => "Monday",
        chrono::Weekday::Tue => "Tuesday",
        chrono::Weekday::Wed => "Wednesday",
        chrono::Weekday::Thu => "Thursday",
        chrono::Weekday::Fri => "Friday",
        chrono::Weekday::Sat => "Saturday",
        chrono::Weekday::Sun => "Sunday",
    };
    format!("Once a month: the {which}{day}.")
}

/// One listed series. `first` is its first occurrence, local: the rule's
/// day and time, which the start date need not be (a rule on Mondays may
/// start on a Thursday).
fn entry(m: &Meeting, g: &Group, slug: String, first: NaiveDateTime, every: &Weekly) -> Entry {
    // chrono counts from Monday; Meeting Guide from Sunday.
    let day = first.weekday().num_days_from_sunday();
    let end: NaiveDateTime = first + m.duration();
    let places = [m.location.as_deref(), g.location.as_deref()];
    // A closed group's link (often with its password) is for its members,
    // in their reminders and their own view of its card, never in a feed.
    let closed = groups::is_closed(g);
    let conference_url = places
        .iter()
        .flatten()
        .find(|p| is_url(p))
        .filter(|_| !closed)
        .map(|p| p.trim().to_string());
    let address = if g.format == "online" {
        None
    } else {
        places
            .iter()
            .flatten()
            .find(|p| !(is_url(p) || closed && groups::has_link(p)))
            .map(|p| plain(p))
    };
    let mut types = Vec::new();
    if conference_url.is_some() || g.format != "in_person" || (closed && places.iter().flatten().any(|p| is_url(p))) {
        types.push("ONL");
    }
    types.push(if g.registration.is_some() { "C" } else { "O" });
    let mut notes: Vec<String> = Vec::new();
    match every {
        Weekly::Every(2) => notes.push("Every other week.".into()),
        Weekly::Every(n) if *n > 2 => notes.push(format!("Every {n} weeks.")),
        Weekly::MonthlyOnWeekday => notes.push(monthly_note(&m.rrule, first.weekday())),
        _ => {}
    }
    if closed && places.iter().flatten().any(|p| groups::has_link(p)) {
        notes.push("Members get the link when they join.".into());
    }
    if let Some(d) = &g.description {
        notes.push(plain(d));
    }
    notes.retain(|n| !n.is_empty());
    Entry {
        name: plain(m.name(&g.name)),
        slug,
        day,
        time: first.format("%H:%M").to_string(),
        end_time: end.format("%H:%M").to_string(),
        timezone: m.timezone.clone(),
        conference_url,
        conference_phone: None,
        location: address.clone(),
        formatted_address: address,
        types,
        notes: (!notes.is_empty()).then(|| notes.join(" ")),
        group: plain(&g.name),
        venmo: g.venmo.clone(),
        square: g.square.clone(),
        paypal: g.paypal.clone(),
        homegroup_online: g.homegroup_online.clone(),
        // Changes with every edit, move or cancel, so finders refresh their copy.
        updated: DateTime::from_timestamp(m.changed_at, 0)
            .unwrap_or_default()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
    }
}

/// The community's feed at `now`, and the series left out with why. Each
/// series' slug is chosen once, from its name then, and kept across edits so
/// finders' links keep working: with `keep_slugs` (the bot) a new slug is
/// stored; without (a read-only export) the same slug is worked out and not
/// stored.
pub async fn feed(
    store: &Store,
    community: i64,
    now: DateTime<Utc>,
    keep_slugs: bool,
) -> Result<(Vec<Entry>, Vec<String>)> {
    let series = meetings::of_community(store, community).await?;
    let group_ids: Vec<i64> = series
        .iter()
        .map(|(m, _)| m.group_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let groups: HashMap<i64, Group> = groups::by_ids(store, &group_ids)
        .await?
        .into_iter()
        .map(|g| (g.id, g))
        .collect();
    let stored = meetings::guide_slugs(store, community).await?;
    let mut taken: HashSet<String> = stored.iter().filter_map(|(_, s)| s.clone()).collect();
    let stored: HashMap<i64, Option<String>> = stored.into_iter().collect();
    let mut conn = store.acquire().await.context("reading the feed's series")?;
    let mut entries = Vec::new();
    let mut left_out = Vec::new();
    for (m, _) in &series {
        let Some(g) = groups.get(&m.group_id) else { continue };
        // Meetings an edit left before its change: the series they became
        // is listed, at what it does from now on.
        if m.continued_by.is_some() {
            continue;
        }
        let every = weekly(m);
        if let Weekly::No(why) = every {
            left_out.push(format!("{} (meeting {}): {why}", m.name(&g.name), m.id));
            continue;
        }
        if let Some(why) = ended(&mut conn, m, now).await? {
            left_out.push(format!("{} (meeting {}): {why}", m.name(&g.name), m.id));
            continue;
        }
        let Some(first) = m.first()? else { continue };
        let slug = match stored.get(&m.id).cloned().flatten() {
            Some(slug) => slug,
            None => {
                let base = slugify(m.name(&g.name));
                let mut slug = base.clone();
                let mut n = 2;
                while taken.contains(&slug) {
                    slug = format!("{base}-{n}");
                    n += 1;
                }
                if keep_slugs {
                    meetings::keep_guide_slug(&mut conn, m.id, &slug).await?;
                }
                taken.insert(slug.clone());
                slug
            }
        };
        let first = first.with_timezone(&m.zone()).naive_local();
        entries.push(entry(m, g, slug, first, &every));
    }
    Ok((entries, left_out))
}

/// Why a series that has ended is left out, or `None` while it still meets.
async fn ended(db: impl Into<crate::store::Db<'_>>, m: &Meeting, now: DateTime<Utc>) -> Result<Option<String>> {
    Ok(match meetings::status_in(db, m, now).await? {
        meetings::Status::Going => None,
        meetings::Status::Ended(Some(last)) => Some(format!(
            "ended, it last met {}",
            last.with_timezone(&m.zone()).format("%a %-d %b %Y")
        )),
        meetings::Status::Ended(None) => Some("ended".into()),
    })
}

/// The feed as the file finders read.
pub async fn file(
    store: &Store,
    community: i64,
    now: DateTime<Utc>,
    keep_slugs: bool,
) -> Result<(String, usize, Vec<String>)> {
    let (entries, left_out) = feed(store, community, now, keep_slugs).await?;
    let json = serde_json::to_string_pretty(&entries).context("writing the Meeting Guide JSON")?;
    Ok((json, entries.len(), left_out))
}

/// `/group list format:meeting_guide`.
pub async fn message(store: &Store, community: i64, now: DateTime<Utc>) -> Result<Message> {
    let (json, listed, left_out) = file(store, community, now, true).await?;
    let mut message = Message::new().text(format!("The meetings in Meeting Guide format: {listed} weekly series."));
    if !left_out.is_empty() {
        message = message.text(format!(
            "Left out, as Meeting Guide lists meetings to come by weekday: {}.",
            left_out.join("; ")
        ));
    }
    Ok(message.attach(Attachment {
        filename: "meeting-guide.json".into(),
        mime: "application/json",
        content: json,
    }))
}

/// The community an export is for: the one named, or the only one there is.
pub async fn community_for_export(store: &Store, named: Option<(&str, &str)>) -> Result<Option<i64>> {
    let found: Vec<i64> = match named {
        Some((platform, id)) => query_scalar("SELECT id FROM communities WHERE platform = ? AND external_id = ?")
            .bind(platform)
            .bind(id)
            .fetch_all(store)
            .await
            .context("finding a community")?,
        None => query_scalar("SELECT id FROM communities ORDER BY id LIMIT 2")
            .fetch_all(store)
            .await
            .context("listing communities")?,
    };
    Ok(match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_readable() {
        assert_eq!(slugify("Grief Circle — Tuesdays!"), "grief-circle-tuesdays");
        assert_eq!(slugify("<<>>"), "meeting");
    }
}
