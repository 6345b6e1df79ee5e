//! `/checkin schedule`: a group's prompt series, started, listed, stopped.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::Planned;
use super::asking::group_prompt;
use super::plan::{
    KIND, MEETING_START, Schedule, next_prompt, plan_schedule, schedule_by_id, select_schedules, start_text,
};
use crate::error::{Context, Result, UserError};
use crate::groups::Group;
use crate::io::{Effect, Platform, Response};
use crate::jobs;
use crate::meetings;
use crate::members::Member;
use crate::message::{Line, Message, Span};
use crate::store::{Db, Store, query_scalar};
use crate::when;

/// The options of `/checkin schedule`.
pub(super) struct Options<'a> {
    pub when: &'a str,
    pub repeat: Option<&'a str>,
    pub question: Option<&'a str>,
    /// With `when:off`, the one schedule to stop.
    pub only: Option<i64>,
}

/// Runs `/checkin schedule` for `group`, asked by `me` on `platform`;
/// `zone` is the asker's, used when the group has none.
pub(super) async fn command(
    store: &Store,
    (me, platform): (&Member, Platform),
    group: &Group,
    options: &Options<'_>,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<(Response, Planned)> {
    let zone = group.timezone.as_deref().and_then(|z| z.parse().ok()).unwrap_or(zone);
    let keyword = options.when.trim().to_ascii_lowercase();
    if keyword == "list" {
        let mut conn = store.acquire().await.context("listing check-in schedules")?;
        return Ok((
            Response::private(list_schedules(&mut Db::from(&mut conn), group, now).await?),
            false,
        ));
    }
    // The schedule and its first prompt, or its stop and the prompts
    // it takes away, in one write.
    let mut tx = store.write().await.context("starting a check-in schedule")?;
    if let Some(id) = options.only {
        if keyword != "off" {
            return Err(UserError::BadValue {
                option: "schedule",
                why: "goes with when:off, to stop that one schedule; when:list shows their numbers",
            }
            .into());
        }
        let reply = stop_one(&mut tx.db(), group, id).await?;
        tx.commit().await.context("committing a check-in schedule")?;
        return Ok((Response::private(reply), true));
    }
    let order = crate::members::date_order(&mut tx, me).await?;
    let out = schedule(&mut tx.db(), group, platform, (zone, order), options, now).await?;
    tx.commit().await.context("committing a check-in schedule")?;
    Ok(out)
}

/// `/checkin schedule`: a series of prompts, one at each meeting's start,
/// one now, or `off`.
async fn schedule(
    db: &mut Db<'_>,
    group: &Group,
    platform: Platform,
    (zone, order): (Tz, Option<when::DateOrder>),
    options: &Options<'_>,
    now: DateTime<Utc>,
) -> Result<(Response, Planned)> {
    let keyword = options.when.trim().to_ascii_lowercase();
    if (keyword == "now" || keyword == "off") && options.repeat.is_some() {
        return Err(UserError::BadValue {
            option: "repeat",
            why: "goes with a time; leave it out with when:now or when:off",
        }
        .into());
    }
    match keyword.as_str() {
        "now" => Ok((post_now(group, platform, options.question, now), false)),
        "off" => stop_all(db, group).await,
        MEETING_START => at_meeting_start(db, group, zone, options.question, now).await,
        _ => series(db, group, (zone, order), options, now).await,
    }
}

/// `/checkin schedule when:now`: one prompt, posted at once.
fn post_now(group: &Group, platform: Platform, question: Option<&str>, now: DateTime<Utc>) -> Response {
    let key = format!("n{}-{}", group.id, now.timestamp());
    let post = Effect::Post {
        channel: group.home_channel.clone(),
        message: group_prompt(group, question, &key, platform),
        key: Some(format!("checkin:now:{}:{}", group.id, now.timestamp())),
    };
    let reply = Message::new().line(
        Line::text(format!("Posted a check-in prompt for {} in ", group.name))
            .push(Span::Channel {
                id: group.home_channel.clone(),
            })
            .t("."),
    );
    Response::private(reply).with_effect(post)
}

/// `/checkin schedule when:off`: every schedule of the group stops.
async fn stop_all(db: &mut Db<'_>, group: &Group) -> Result<(Response, Planned)> {
    let mut stopped: Vec<i64> =
        query_scalar("UPDATE checkin_schedules SET stopped = TRUE WHERE group_id = ? AND stopped = FALSE RETURNING id")
            .bind(group.id)
            .fetch_all(&mut *db)
            .await
            .context("stopping check-in schedules")?;
    stopped.sort_unstable();
    for id in &stopped {
        jobs::cancel(&mut *db, KIND.name, *id).await?;
    }
    let reply = Message::new().text(match stopped.len() {
        0 => format!("{} has no check-in prompts scheduled.", group.name),
        n => format!(
            "Stopped {}'s check-in prompts ({n} schedule{}).",
            group.name,
            if n == 1 { "" } else { "s" }
        ),
    });
    Ok((Response::private(reply), !stopped.is_empty()))
}

/// `/checkin schedule when:meeting_start`: a prompt as each meeting begins.
async fn at_meeting_start(
    db: &mut Db<'_>,
    group: &Group,
    zone: Tz,
    question: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Response, Planned)> {
    let id = insert_schedule(&mut *db, group, None, zone, MEETING_START, None, question, now).await?;
    plan_schedule(&mut *db, id, now).await?;
    let mut reply = Message::titled(format!("Check-ins: {}", group.name))
        .text("A check-in prompt will be posted as each of its meetings begins: the opening round.");
    if let Some(s) = schedule_by_id(&mut *db, id).await? {
        reply = match next_prompt(&mut *db, &s, now).await? {
            Some(t) => reply.line(Line::text("The first: ").push(Span::Time { at: t, zone })),
            None => reply.line(
                Line::text("It has no meetings coming yet; ")
                    .cmd("meeting schedule")
                    .t(" adds one."),
            ),
        };
    }
    Ok((Response::public(reply), true))
}

/// `/checkin schedule when:TIME [repeat:…]`: prompts from a time, repeated
/// by the meetings' own rule.
async fn series(
    db: &mut Db<'_>,
    group: &Group,
    (zone, order): (Tz, Option<when::DateOrder>),
    options: &Options<'_>,
    now: DateTime<Utc>,
) -> Result<(Response, Planned)> {
    let asked = when::parse(options.when, zone, order, now)?;
    let (first, note) = when::resolve(asked, zone);
    let start = first.with_timezone(&zone).naive_local();
    let (label, rule) = meetings::series_rule(options.repeat, None, None, start, zone)?;
    let id = insert_schedule(
        &mut *db,
        group,
        Some(start),
        zone,
        &label,
        Some(&rule),
        options.question,
        now,
    )
    .await?;
    plan_schedule(&mut *db, id, now).await?;
    let schedule = Schedule {
        id,
        group_id: group.id,
        start_local: Some(start),
        timezone: zone.name().to_string(),
        repeat: label,
        rrule: Some(rule),
        question: None,
        stopped: false,
    };
    let mut reply = Message::titled(format!("Check-ins: {}", group.name)).text(format!(
        "Check-in prompts {}, posted in the group's home channel.",
        cadence(&schedule)
    ));
    if let Some(note) = note {
        reply = reply.text(note.explain(asked, zone));
    }
    let series = schedule.series();
    if let Some(series) = series {
        reply = reply.text("Next:");
        for t in series.raw_after(now, 3)? {
            reply = reply.line(Line::text("  ").push(Span::Time { at: t, zone }));
        }
    }
    Ok((Response::public(reply), true))
}

/// `/checkin schedule when:list`: a group's running schedules, by number,
/// with when each next posts.
async fn list_schedules(db: &mut Db<'_>, group: &Group, now: DateTime<Utc>) -> Result<Message> {
    let schedules: Vec<Schedule> = select_schedules!("WHERE group_id = ? AND stopped = FALSE ORDER BY id")
        .bind(group.id)
        .fetch_all(&mut *db)
        .await
        .context("listing check-in schedules")?;
    if schedules.is_empty() {
        return Ok(Message::new().line(
            Line::text(format!("{} has no check-in prompts scheduled. ", group.name))
                .cmd("checkin schedule")
                .t(" adds some."),
        ));
    }
    let mut message = Message::titled(format!("Check-in schedules: {}", group.name));
    for s in &schedules {
        let zone: Tz = s.timezone.parse().unwrap_or(Tz::UTC);
        let how = cadence(s);
        let mut line = Line::text(format!("{}: {how}", s.id));
        if let Some(q) = &s.question {
            line = line.t(format!(", asking \"{q}\""));
        }
        line = match next_prompt(&mut *db, s, now).await? {
            Some(next) => line.t(". Next: ").push(Span::Time { at: next, zone }),
            None => line.t(". No prompt to come"),
        };
        message = message.line(line.t("."));
    }
    Ok(message.line(
        Line::text("Stop one with ")
            .cmd(format!("checkin schedule group:#{} when:off schedule:N", group.id))
            .t(", or all of them with when:off."),
    ))
}

/// `/checkin schedule when:off schedule:N`: that one schedule stops.
async fn stop_one(db: &mut Db<'_>, group: &Group, id: i64) -> Result<Message> {
    let stopped: Option<i64> = query_scalar(
        "UPDATE checkin_schedules SET stopped = TRUE WHERE id = ? AND group_id = ? AND stopped = FALSE RETURNING id",
    )
    .bind(id)
    .bind(group.id)
    .fetch_optional(&mut *db)
    .await
    .context("stopping a check-in schedule")?;
    let Some(id) = stopped else {
        return Err(UserError::BadValue {
            option: "schedule",
            why: "is not one of this group's running check-in schedules; when:list shows their numbers",
        }
        .into());
    };
    jobs::cancel(&mut *db, KIND.name, id).await?;
    Ok(Message::new().text(format!(
        "Stopped {}'s check-in schedule {id}; its other schedules go on.",
        group.name
    )))
}

/// How often a schedule posts, in the meetings' own words from its rule
/// (lower case, to follow "Check-in prompts").
fn cadence(s: &Schedule) -> String {
    match s.series() {
        Some(series) if s.repeat != MEETING_START => {
            let words = meetings::rule_words(&series, None);
            let mut chars = words.chars();
            chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or(words)
        }
        _ => "as each meeting begins".to_string(),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row's columns; a struct for a single call would add nothing"
)]
async fn insert_schedule(
    db: &mut Db<'_>,
    group: &Group,
    start: Option<NaiveDateTime>,
    zone: Tz,
    repeat: &str,
    rule: Option<&str>,
    question: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64> {
    query_scalar(
        "INSERT INTO checkin_schedules (group_id, start_local, timezone, repeat, rrule, question, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(group.id)
    .bind(start.map(start_text))
    .bind(zone.name())
    .bind(repeat)
    .bind(rule)
    .bind(question)
    .bind(now.timestamp())
    .fetch_one(db)
    .await
    .context("saving a check-in schedule")
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::super::plan::meetings_moved;
    use super::super::settings::settings;
    use super::super::summary::{closed_weeks_of, monday_of, week, week_bounds};
    use super::*;
    use crate::store::query;

    /// The queries of check-ins, straight on the store (no command in
    /// between, and none that plans a job, whose module still speaks only
    /// SQLite), so they run alike on SQLite and, with
    /// `HEARTH_TEST_POSTGRES`, on PostgreSQL.
    #[tokio::test]
    async fn check_in_queries_read_and_write_alike_on_either_store() {
        let store = Store::for_test().await.unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap();
        let zone = Tz::UTC;
        let community = crate::members::community(&store, Platform::Discord, "guild", zone, now)
            .await
            .unwrap();
        let ann = crate::members::member(&store, Platform::Discord, "ann", "Ann", now)
            .await
            .unwrap();
        let id: i64 = query_scalar(
            "INSERT INTO groups (community_id, name, name_key, topic, led_by, format, home_channel, guideline)
             VALUES (?, 'Grief circle', 'grief circle', 'grief', 'peer', 'online', 'chan', 'g') RETURNING id",
        )
        .bind(community.id)
        .fetch_one(&store)
        .await
        .unwrap();
        let group = crate::groups::by_id(&store, id).await.unwrap();

        // A weekly series: kept, read back, listed while it runs.
        let start = NaiveDate::from_ymd_opt(2026, 3, 5)
            .unwrap()
            .and_hms_opt(19, 30, 0)
            .unwrap();
        let (label, rule) = meetings::series_rule(Some("weekly"), None, None, start, zone).unwrap();
        let schedule = insert_schedule(
            &mut Db::from(&store),
            &group,
            Some(start),
            zone,
            &label,
            Some(&rule),
            Some("How?"),
            now,
        )
        .await
        .unwrap();
        let s = schedule_by_id(&store, schedule).await.unwrap().unwrap();
        assert_eq!(
            (s.start_local, s.stopped, s.question.as_deref()),
            (Some(start), false, Some("How?"))
        );
        let listed = list_schedules(&mut Db::from(&store), &group, now)
            .await
            .unwrap()
            .plain("/");
        assert!(
            listed.contains(&format!("{schedule}: weekly")) && listed.contains("Next"),
            "{listed}"
        );
        assert!(
            !meetings_moved(&store, id, now).await.unwrap(),
            "no schedule at meeting start"
        );
        query("UPDATE checkin_schedules SET stopped = TRUE WHERE id = ?")
            .bind(schedule)
            .execute(&store)
            .await
            .unwrap();
        assert!(schedule_by_id(&store, schedule).await.unwrap().unwrap().stopped);
        let listed = list_schedules(&mut Db::from(&store), &group, now)
            .await
            .unwrap()
            .plain("/");
        assert!(listed.contains("no check-in prompts scheduled"), "{listed}");

        // Settings: none yet, then the facilitators opt-in.
        assert!(!settings(&store, ann.id).await.unwrap().tell_facilitators);
        query("INSERT INTO checkin_settings (member_id, tell_facilitators) VALUES (?, TRUE)")
            .bind(ann.id)
            .execute(&store)
            .await
            .unwrap();
        assert!(settings(&store, ann.id).await.unwrap().tell_facilitators);

        // Last week's answers, and an erased member's mood kept for it.
        let monday = monday_of(now, zone) - chrono::Duration::days(7);
        let (from, _) = week_bounds(monday, zone);
        for (mood, offset) in [(Some(4_i64), 3600_i64), (None, 7200)] {
            query("INSERT INTO checkins (member_id, group_id, mood, note, at) VALUES (?, ?, ?, 'mine', ?)")
                .bind(ann.id)
                .bind(id)
                .bind(mood)
                .bind(from.timestamp() + offset)
                .execute(&store)
                .await
                .unwrap();
        }
        query("INSERT INTO checkin_erased (group_id, week_start, mood) VALUES (?, ?, ?)")
            .bind(id)
            .bind(from.timestamp())
            .bind(2.5_f64)
            .execute(&store)
            .await
            .unwrap();
        let w = week(&store, id, zone, monday, 0).await.unwrap();
        assert_eq!((w.answerers, w.people.clone()), (2, vec![ann.id]), "{w:?}");
        closed_weeks_of(&store, ann.id, now).await.unwrap();
        let history = super::super::history::history(&store, &ann, zone, now)
            .await
            .unwrap()
            .plain("/");
        assert!(history.contains("mine"), "{history}");
    }
}
