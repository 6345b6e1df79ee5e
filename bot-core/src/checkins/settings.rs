//! `/checkin remind`: a member's check-in settings, their daily prompt's
//! time and the facilitators opt-in.

use chrono::NaiveTime;
use chrono_tz::Tz;

use crate::error::{Context, Result, UserError};
use crate::members::Member;
use crate::message::{Line, Message};
use crate::reminders;
use crate::store::{Db, query, query_as};
use crate::when;

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub(crate) struct Settings {
    pub remind_at: Option<String>,
    pub zone: Option<String>,
    pub community_id: Option<i64>,
    pub tell_facilitators: bool,
}

pub(crate) async fn settings(db: impl Into<Db<'_>>, member: i64) -> Result<Settings> {
    let found: Option<Settings> =
        query_as("SELECT remind_at, zone, community_id, tell_facilitators FROM checkin_settings WHERE member_id = ?")
            .bind(member)
            .fetch_optional(db)
            .await
            .context("loading check-in settings")?;
    Ok(found.unwrap_or_default())
}

fn parse_time(raw: &str) -> std::result::Result<Option<NaiveTime>, UserError> {
    if raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    // Read as `when` reads a time of day: 20:00, 20.00, 8pm, noon.
    when::time_only(raw).map(Some).ok_or(UserError::BadValue {
        option: "time",
        why: "must be a time like 20:00 or 8pm, or off",
    })
}

/// A line for `/reminders` when new quiet hours cover the member's daily
/// check-in prompt: it will come when they end, and they should know.
pub(crate) async fn quiet_note(db: impl Into<crate::store::Db<'_>>, member: i64) -> Result<Option<Line>> {
    let mut conn: crate::store::Db<'_> = db.into();
    let quiet = reminders::settings(&mut conn, member).await?;
    let at = settings(&mut conn, member)
        .await?
        .remind_at
        .and_then(|t| NaiveTime::parse_from_str(&t, "%H:%M").ok());
    Ok(match (at, quiet.quiet()) {
        (Some(at), Some((_, to))) if quiet.is_quiet(at) => Some(
            Line::text(format!(
                "Your daily check-in prompt at {} is inside these hours, so it comes at {}. Move it with ",
                at.format("%H:%M"),
                to.format("%H:%M")
            ))
            .cmd("checkin remind time:…")
            .t("."),
        ),
        _ => None,
    })
}

/// `/checkin remind`: the daily DM prompt and the facilitators opt-in.
pub(super) async fn remind(
    db: impl Into<Db<'_>>,
    (me, community): (&Member, i64),
    time: Option<&str>,
    tell: Option<&str>,
    zone: Tz,
) -> Result<Message> {
    let mut db = db.into();
    let time = time.map(parse_time).transpose()?;
    let quiet = reminders::settings(&mut db, me.id).await?;
    // A prompt inside quiet hours would come when they end, the next
    // morning, asking about a day that has not begun: refused, not confirmed.
    if let (Some(Some(t)), Some((from, to))) = (time, quiet.quiet())
        && quiet.is_quiet(t)
    {
        return Err(UserError::InQuietHours { time: t, from, to }.into());
    }
    if time.is_some() || tell.is_some() {
        query("INSERT INTO checkin_settings (member_id) VALUES (?) ON CONFLICT (member_id) DO NOTHING")
            .bind(me.id)
            .execute(&mut db)
            .await
            .context("creating check-in settings")?;
    }
    if let Some(time) = time {
        query("UPDATE checkin_settings SET remind_at = ?, zone = ?, community_id = ? WHERE member_id = ?")
            .bind(time.map(when::hhmm))
            .bind(zone.name())
            .bind(community)
            .bind(me.id)
            .execute(&mut db)
            .await
            .context("saving a check-in time")?;
    }
    if let Some(tell) = tell {
        query("UPDATE checkin_settings SET tell_facilitators = ? WHERE member_id = ?")
            .bind(tell == "on")
            .bind(me.id)
            .execute(&mut db)
            .await
            .context("saving the facilitators choice")?;
    }
    let s = settings(&mut db, me.id).await?;
    let mut message = Message::titled("Your check-ins");
    let at = s
        .remind_at
        .as_deref()
        .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok());
    message = message.text(match (&s.remind_at, at.zip(quiet.quiet())) {
        (Some(t), Some((at, (from, to)))) if quiet.is_quiet(at) => format!(
            "A check-in prompt by DM every day at {t}, {} time. That is inside your quiet hours ({}-{}), \
             so it comes when they end, at {}; pick another time with /checkin remind time:….",
            me.zone().unwrap_or(zone).name(),
            from.format("%H:%M"),
            to.format("%H:%M"),
            to.format("%H:%M")
        ),
        (Some(t), Some(_)) => format!(
            "A check-in prompt by DM every day at {t}, {} time (outside your quiet hours).",
            me.zone().unwrap_or(zone).name()
        ),
        (Some(t), None) => format!(
            "A check-in prompt by DM every day at {t}, {} time.",
            me.zone().unwrap_or(zone).name()
        ),
        (None, _) => "No daily check-in prompt.".to_string(),
    });
    message = message.text(if s.tell_facilitators {
        "When you answer 1 (struggling) to a group, its facilitators are told that today is hard: your name, never your note."
    } else {
        "When you answer 1 (struggling), no one else is told."
    });
    Ok(message.line(Line::text("Change them with ").cmd("checkin remind time:20:00 tell_facilitators:on")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_is_hh_mm_or_off() {
        assert_eq!(parse_time("off"), Ok(None));
        assert_eq!(parse_time("20:00"), Ok(NaiveTime::from_hms_opt(20, 0, 0)));
        // Issue 30: read as `when` reads a time of day.
        assert_eq!(parse_time("8pm"), Ok(NaiveTime::from_hms_opt(20, 0, 0)));
        assert!(parse_time("25:00").is_err());
    }
}
