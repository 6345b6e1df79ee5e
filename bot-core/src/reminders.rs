//! Reminder settings: a group's default lead times, and each member's own
//! leads, DM choice and quiet hours (`/reminders`).

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::{Context, Result, UserError};
use crate::groups::Group;
use crate::members::Member;
use crate::message::{Line, Message};
use crate::store::{Db, query, query_as};

pub(crate) mod card;
#[cfg(test)]
mod on_both_stores;
pub(crate) mod plan;
pub(crate) mod send;

const MAX_LEADS: usize = 6;

/// Lead times such as `24h,1h,10m`, longest first. Each from 1 minute to 7 days.
pub fn parse_leads(raw: &str) -> std::result::Result<Vec<i64>, UserError> {
    let bad = UserError::BadValue {
        option: "leads",
        why: "must be up to 6 times before the meeting, each from 1m to 7d, like 24h,1h,10m",
    };
    let mut leads = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let secs = humantime::parse_duration(part).map_err(|_| bad.clone())?.as_secs();
        if !(60..=7 * 86_400).contains(&secs) {
            return Err(bad);
        }
        leads.push(secs as i64);
    }
    leads.sort_unstable_by(|a, b| b.cmp(a));
    leads.dedup();
    if leads.is_empty() || leads.len() > MAX_LEADS {
        return Err(bad);
    }
    Ok(leads)
}

/// A lead as people say it: "24 hours", "1 hour 30 minutes", "10 minutes".
pub fn lead_words(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let mut parts = Vec::new();
    let mut push = |n: i64, unit: &str| {
        if n > 0 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    };
    if d > 0 && h == 0 && m == 0 && d < 3 {
        push(d * 24, "hour");
    } else {
        push(d, "day");
        push(h, "hour");
    }
    push(m, "minute");
    parts.join(" ")
}

/// How long is left before a meeting, as a reminder says it when it goes
/// out: "in 1 hour", "in 3 hours", "in 25 minutes", "in 2 days", "now".
/// Rounded to what people say: minutes under two hours, hours under two
/// days, then days and hours.
pub fn left_words(left: Duration) -> String {
    let mins = (left.num_seconds() + 30) / 60;
    if mins <= 0 {
        return "now".into();
    }
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let text = if mins < 60 {
        plural(mins, "minute")
    } else if mins < 120 {
        match mins - 60 {
            0 => plural(1, "hour"),
            m => format!("1 hour {}", plural(m, "minute")),
        }
    } else if mins < 48 * 60 {
        plural((mins + 30) / 60, "hour")
    } else {
        let hours = (mins + 30) / 60;
        match hours % 24 {
            0 => plural(hours / 24, "day"),
            h => format!("{} {}", plural(hours / 24, "day"), plural(h, "hour")),
        }
    };
    format!("in {text}")
}

fn leads_text(leads: &[i64]) -> String {
    leads
        .iter()
        .map(|l| humantime::format_duration(std::time::Duration::from_secs(*l as u64)).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A member's settings; `None` fields take the defaults.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Settings {
    pub leads: Option<String>,
    pub dm: Option<bool>,
    pub quiet_start: Option<NaiveTime>,
    pub quiet_end: Option<NaiveTime>,
}

impl Settings {
    pub fn leads(&self) -> Option<Vec<i64>> {
        self.leads.as_deref().and_then(|l| parse_leads(l).ok())
    }

    /// The quiet hours, from and to, if set.
    pub fn quiet(&self) -> Option<(NaiveTime, NaiveTime)> {
        self.quiet_start.zip(self.quiet_end)
    }

    /// Whether a time of day falls inside the quiet hours.
    pub fn is_quiet(&self, t: NaiveTime) -> bool {
        match self.quiet() {
            Some((from, to)) if from <= to => t >= from && t < to,
            Some((from, to)) => t >= from || t < to,
            None => false,
        }
    }

    /// Moves a DM due inside quiet hours (in `zone`) to when they end, or, if
    /// the meeting starts before then, to just before they began.
    pub fn outside_quiet(&self, due: DateTime<Utc>, starts: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        let (Some(from), Some(to)) = (self.quiet_start, self.quiet_end) else {
            return due;
        };
        let local = due.with_timezone(&zone);
        let t = local.time();
        if !self.is_quiet(t) {
            return due;
        }
        let date = local.date_naive();
        // The quiet spell containing `due`: it began today or yesterday.
        let began_day = if from > to && t < to {
            date.pred_opt().unwrap_or(date)
        } else {
            date
        };
        let began = zone
            .from_local_datetime(&began_day.and_time(from))
            .earliest()
            .map(|d| d.to_utc())
            .unwrap_or(due);
        let mut ends = zone
            .from_local_datetime(&began_day.and_time(to))
            .earliest()
            .map(|d| d.to_utc())
            .unwrap_or(due);
        if ends <= began {
            ends += Duration::days(1);
        }
        if ends < starts {
            ends
        } else {
            began - Duration::minutes(1)
        }
    }
}

pub async fn settings(db: impl Into<Db<'_>>, member: i64) -> Result<Settings> {
    let found: Option<Settings> =
        query_as("SELECT leads, dm, quiet_start, quiet_end FROM reminder_settings WHERE member_id = ?")
            .on_postgres(
                "SELECT leads, dm, CAST(quiet_start AS TIME) AS quiet_start, CAST(quiet_end AS TIME) AS quiet_end
                 FROM reminder_settings WHERE member_id = ?",
            )
            .bind(member)
            .fetch_optional(db)
            .await
            .context("loading reminder settings")?;
    Ok(found.unwrap_or_default())
}

/// Each of `ids`' settings, for those who have any, in one query whatever
/// their number.
pub(crate) async fn settings_of(
    db: impl Into<Db<'_>>,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Settings>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        member_id: i64,
        #[sqlx(flatten)]
        settings: Settings,
    }
    let list = serde_json::to_string(ids).context("listing members")?;
    let rows: Vec<Row> = query_as(
        "SELECT member_id, leads, dm, quiet_start, quiet_end FROM reminder_settings
         WHERE member_id IN (SELECT value FROM json_each(?))",
    )
    .on_postgres(
        "SELECT member_id, leads, dm, CAST(quiet_start AS TIME) AS quiet_start, CAST(quiet_end AS TIME) AS quiet_end
         FROM reminder_settings
         WHERE member_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(? AS JSON)))",
    )
    .bind(list)
    .fetch_all(db)
    .await
    .context("reading RSVP'd recipients for a plan")?;
    Ok(rows.into_iter().map(|r| (r.member_id, r.settings)).collect())
}

/// Someone a series' reminders may reach by DM: their settings and the zone
/// they set (`members.timezone`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Recipient {
    pub id: i64,
    pub timezone: Option<String>,
    #[sqlx(flatten)]
    pub settings: Settings,
}

/// The members of `group` (or `only` that one, if a member) who turned DMs
/// on for every meeting, with their settings and zone.
///
/// One query joining `group_members` and `members` rather than a call on
/// each owner: it is read by every plan of a series, and split it would
/// carry the group's whole member list (thousands in a large group) from
/// one query to the next, where the join keeps it to those with DMs on.
pub(crate) async fn dm_on_in_group(db: impl Into<Db<'_>>, group: i64, only: Option<i64>) -> Result<Vec<Recipient>> {
    match only {
        None => query_as(
            "SELECT m.id, m.timezone, s.leads, s.dm, s.quiet_start, s.quiet_end
             FROM group_members gm JOIN reminder_settings s ON s.member_id = gm.member_id
             JOIN members m ON m.id = gm.member_id
             WHERE gm.group_id = ? AND s.dm = TRUE",
        )
        .on_postgres(
            "SELECT m.id, m.timezone, s.leads, s.dm,
                 CAST(s.quiet_start AS TIME) AS quiet_start, CAST(s.quiet_end AS TIME) AS quiet_end
             FROM group_members gm JOIN reminder_settings s ON s.member_id = gm.member_id
             JOIN members m ON m.id = gm.member_id
             WHERE gm.group_id = ? AND s.dm = TRUE",
        )
        .bind(group),
        Some(member) => query_as(
            "SELECT m.id, m.timezone, s.leads, s.dm, s.quiet_start, s.quiet_end
             FROM group_members gm JOIN reminder_settings s ON s.member_id = gm.member_id
             JOIN members m ON m.id = gm.member_id
             WHERE gm.group_id = ? AND gm.member_id = ? AND s.dm = TRUE",
        )
        .on_postgres(
            "SELECT m.id, m.timezone, s.leads, s.dm,
                 CAST(s.quiet_start AS TIME) AS quiet_start, CAST(s.quiet_end AS TIME) AS quiet_end
             FROM group_members gm JOIN reminder_settings s ON s.member_id = gm.member_id
             JOIN members m ON m.id = gm.member_id
             WHERE gm.group_id = ? AND gm.member_id = ? AND s.dm = TRUE",
        )
        .bind(group)
        .bind(member),
    }
    .fetch_all(db)
    .await
    .context("reading DM recipients for a plan")
}

fn parse_quiet(raw: &str) -> std::result::Result<Option<(NaiveTime, NaiveTime)>, UserError> {
    if raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad = UserError::BadValue {
        option: "quiet",
        why: "must be two times like 22:00-08:00 or 10pm-8am, or off",
    };
    let (a, b) = raw.split_once('-').ok_or(bad.clone())?;
    // Each read as `when` reads a time of day: 22:00, 22.00, 10pm.
    let a = crate::when::time_only(a).ok_or(bad.clone())?;
    let b = crate::when::time_only(b).ok_or(bad.clone())?;
    if a == b {
        return Err(bad);
    }
    Ok(Some((a, b)))
}

/// `/reminders` for oneself: shows, or changes the fields given, in the
/// caller's write transaction.
/// What `/reminders` changes, as typed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked<'a> {
    pub leads: Option<&'a str>,
    pub dm: Option<&'static str>,
    pub quiet: Option<&'a str>,
    /// `clear:`, as typed: settings back to their defaults.
    pub clear: Option<&'a str>,
    /// With a group: its home channel's reminders on or off.
    pub channel: Option<&'static str>,
}

/// What a member's `clear:` may name, and a group's.
const MEMBER_CLEARABLE: &[&str] = &["leads", "dm", "quiet"];
const GROUP_CLEARABLE: &[&str] = &["leads"];

fn set_and_cleared(cleared: &[&str], field: &str, given: bool) -> std::result::Result<(), UserError> {
    if given && cleared.contains(&field) {
        return Err(UserError::BadValue {
            option: "clear",
            why: "names a setting that is also given a value; give it a value or clear it, not both",
        });
    }
    Ok(())
}

/// A member's `/reminders` fields, read and checked: what to clear, and
/// the leads, DM choice and quiet hours to set.
struct MemberAsked<'a> {
    cleared: Vec<&'a str>,
    leads: Option<Vec<i64>>,
    dm: Option<&'static str>,
    quiet: Option<Option<(NaiveTime, NaiveTime)>>,
}

impl<'a> MemberAsked<'a> {
    fn read(asked: Asked<'a>) -> Result<Self> {
        if asked.channel.is_some() {
            return Err(UserError::BadValue {
                option: "channel",
                why: "goes with group: a group's channel reminders are its facilitators' to turn on or off",
            }
            .into());
        }
        let cleared = crate::groups::clear_names(asked.clear, MEMBER_CLEARABLE, "leads, dm, quiet")?;
        set_and_cleared(&cleared, "leads", asked.leads.is_some())?;
        set_and_cleared(&cleared, "dm", asked.dm.is_some())?;
        set_and_cleared(&cleared, "quiet", asked.quiet.is_some())?;
        let (dm, leads) = (asked.dm, asked.leads.map(parse_leads).transpose()?);
        let quiet = asked.quiet.map(parse_quiet).transpose()?;
        Ok(Self {
            cleared,
            leads,
            dm,
            quiet,
        })
    }
}

pub async fn member_settings(db: impl Into<Db<'_>>, me: &Member, asked: Asked<'_>) -> Result<Message> {
    let mut db = db.into();
    let asked = MemberAsked::read(asked)?;
    // Back to the defaults: each group's own lead times, DMs for what one
    // RSVPs to, no quiet hours.
    if !asked.cleared.is_empty() {
        clear_member(&mut db, me.id, &asked.cleared).await?;
    }
    if asked.leads.is_some() || asked.dm.is_some() || asked.quiet.is_some() {
        save_member(&mut db, me.id, &asked).await?;
    }
    let s = settings(&mut db, me.id).await?;
    Ok(member_card(&s))
}

/// Puts the settings `cleared` names back to their defaults.
async fn clear_member(db: impl Into<Db<'_>>, member: i64, cleared: &[&str]) -> Result<()> {
    query(
        "UPDATE reminder_settings SET leads = CASE WHEN ? THEN NULL ELSE leads END,
             dm = CASE WHEN ? THEN NULL ELSE dm END,
             quiet_start = CASE WHEN ? THEN NULL ELSE quiet_start END,
             quiet_end = CASE WHEN ? THEN NULL ELSE quiet_end END
         WHERE member_id = ?",
    )
    .bind(cleared.contains(&"leads"))
    .bind(cleared.contains(&"dm"))
    .bind(cleared.contains(&"quiet"))
    .bind(cleared.contains(&"quiet"))
    .bind(member)
    .execute(db)
    .await
    .context("clearing reminder settings")?;
    Ok(())
}

/// Saves the settings given a value, creating the member's row if need be.
async fn save_member(db: impl Into<Db<'_>>, member: i64, asked: &MemberAsked<'_>) -> Result<()> {
    let mut db = db.into();
    query("INSERT INTO reminder_settings (member_id) VALUES (?) ON CONFLICT (member_id) DO NOTHING")
        .bind(member)
        .execute(&mut db)
        .await
        .context("creating reminder settings")?;
    if let Some(leads) = &asked.leads {
        query("UPDATE reminder_settings SET leads = ? WHERE member_id = ?")
            .bind(leads_text(leads))
            .bind(member)
            .execute(&mut db)
            .await
            .context("saving leads")?;
    }
    if let Some(dm) = asked.dm {
        query("UPDATE reminder_settings SET dm = ? WHERE member_id = ?")
            .bind(dm == "on")
            .bind(member)
            .execute(&mut db)
            .await
            .context("saving the DM choice")?;
    }
    if let Some(quiet) = asked.quiet {
        query("UPDATE reminder_settings SET quiet_start = ?, quiet_end = ? WHERE member_id = ?")
            .bind(quiet.map(|q| crate::when::hhmm(q.0)))
            .bind(quiet.map(|q| crate::when::hhmm(q.1)))
            .bind(member)
            .execute(&mut db)
            .await
            .context("saving quiet hours")?;
    }
    Ok(())
}

/// "Your reminders": a member's settings as they read them.
fn member_card(s: &Settings) -> Message {
    let mut message = Message::titled("Your reminders");
    message = message.text(match s.leads() {
        Some(l) => format!(
            "Before meetings: {}.",
            l.iter().map(|x| lead_words(*x)).collect::<Vec<_>>().join(", ")
        ),
        None => "Before meetings: each group's own lead times.".to_string(),
    });
    message = message.text(match s.dm {
        Some(true) => "By DM: on, for every meeting of the groups you're in.",
        Some(false) => "By DM: off, even for meetings you RSVP'd to.",
        None => "By DM: for meetings you said you'd (maybe) go to.",
    });
    message = message.text(match (s.quiet_start, s.quiet_end) {
        (Some(a), Some(b)) => format!(
            "Quiet hours: {}-{}, in your time zone.",
            a.format("%H:%M"),
            b.format("%H:%M")
        ),
        _ => "Quiet hours: none.".to_string(),
    });
    message.line(Line::text("Change them with ").cmd("reminders leads:24h,1h dm:on quiet:22:00-08:00"))
}

/// `/reminders group:…`: a group's default leads (its facilitators), in the
/// caller's write transaction.
pub async fn group_settings(db: impl Into<Db<'_>>, group: &Group, asked: Asked<'_>) -> Result<Message> {
    let mut db = db.into();
    if asked.dm.is_some() || asked.quiet.is_some() {
        return Err(UserError::BadValue {
            option: "group",
            why: "settings take only leads, channel and clear:leads; dm and quiet are each member's own",
        }
        .into());
    }
    let cleared = crate::groups::clear_names(asked.clear, GROUP_CLEARABLE, "leads")?;
    set_and_cleared(&cleared, "leads", asked.leads.is_some())?;
    if !cleared.is_empty() {
        crate::groups::set_reminder_leads(&mut db, group.id, "24h,1h").await?;
    }
    if let Some(channel) = asked.channel {
        crate::groups::set_channel_reminders(&mut db, group.id, channel == "on").await?;
    }
    if let Some(raw) = asked.leads {
        let leads = parse_leads(raw)?;
        crate::groups::set_reminder_leads(&mut db, group.id, &leads_text(&leads)).await?;
    }
    let (current, in_channel) = crate::groups::reminder_settings(&mut db, group.id).await?;
    let words = parse_leads(&current)
        .unwrap_or_default()
        .iter()
        .map(|l| lead_words(*l))
        .collect::<Vec<_>>();
    Ok(Message::new().text(if in_channel {
        format!(
            "{} reminds its channel {} before each meeting.",
            group.name,
            words.join(", ")
        )
    } else {
        format!(
            "{}'s channel gets no meeting reminders; members who want them get theirs by DM, by default {} before.",
            group.name,
            words.join(", ")
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn leads_are_read_sorted_and_bounded() {
        assert_eq!(parse_leads("1h, 24h,10m").unwrap(), vec![86_400, 3600, 600]);
        assert!(parse_leads("30s").is_err());
        assert!(parse_leads("8d").is_err());
        assert!(parse_leads("soon").is_err());
        assert_eq!(lead_words(86_400), "24 hours");
        assert_eq!(lead_words(5400), "1 hour 30 minutes");
    }

    #[test]
    fn a_dm_due_in_quiet_hours_waits_for_them_to_end_or_goes_before() {
        let s = Settings {
            quiet_start: NaiveTime::from_hms_opt(22, 0, 0),
            quiet_end: NaiveTime::from_hms_opt(8, 0, 0),
            ..Settings::default()
        };
        // 23:00 Berlin (22:00 UTC) falls in quiet hours; the meeting is at 19:00 next day.
        let later = s.outside_quiet(utc("2026-03-19T22:00:00Z"), utc("2026-03-20T18:00:00Z"), Berlin);
        // 06:30 Berlin, meeting at 07:30: quiet ends too late, so it goes before 22:00 the evening before.
        let earlier = s.outside_quiet(utc("2026-03-20T05:30:00Z"), utc("2026-03-20T06:30:00Z"), Berlin);
        let outside = s.outside_quiet(utc("2026-03-20T12:00:00Z"), utc("2026-03-20T18:00:00Z"), Berlin);

        assert_eq!(later, utc("2026-03-20T07:00:00Z"));
        assert_eq!(earlier, utc("2026-03-19T20:59:00Z"));
        assert_eq!(outside, utc("2026-03-20T12:00:00Z"));
    }
}
