//! The jobs engine's promises, one test for each way it used to break them:
//! every lead of every occurrence, nothing lost on re-planning, atomic
//! roll-overs, concurrent writers, one bad job, durable notices, claims,
//! the autumn clock change, refused rules that leave nothing, rules in
//! words, and reminders that say how long is really left.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Duration;

use super::*;
use crate::scheduler::FnOutbox;
use crate::{Clock, Delivery, DeliveryError, Effect, Outbox, Scheduler};

pub(super) type Seen = Arc<Mutex<Vec<(DateTime<Utc>, Delivery)>>>;

/// A console outbox that records deliveries; `fail` decides, per delivery
/// key, whether this attempt fails for a while.
pub(super) fn sink(bot: &Bot, fail: impl Fn(&str) -> bool + Send + Sync + 'static) -> (Scheduler, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    let clock = bot.clock.clone();
    let outbox: Arc<dyn Outbox> = Arc::new(FnOutbox::new(Platform::Console, move |d: &Delivery| {
        if fail(key(d)) {
            return Err(DeliveryError::Retry("the platform is down".into()));
        }
        out.lock().unwrap().push((crate::Clock::now(&clock), d.clone()));
        Ok(())
    }));
    (Scheduler::new(bot.hearth.clone(), vec![outbox]), seen)
}

pub(super) fn key(d: &Delivery) -> &str {
    match &d.effect {
        Effect::Post { key, .. } | Effect::Dm { key, .. } => key.as_deref().unwrap_or_default(),
        Effect::Status { key, .. } => key,
        Effect::Mute { user, .. } => user,
    }
}

pub(super) fn body(d: &Delivery) -> String {
    match &d.effect {
        Effect::Post { message, .. } | Effect::Dm { message, .. } | Effect::Status { message, .. } => {
            message.plain("/")
        }
        Effect::Mute { user, mute, .. } => format!("mute {user} {mute}"),
    }
}

pub(super) fn keys(seen: &Seen) -> Vec<String> {
    seen.lock().unwrap().iter().map(|(_, d)| key(d).to_string()).collect()
}

pub(super) async fn count(bot: &Bot, sql: &'static str) -> i64 {
    crate::store::query_scalar(sql)
        .fetch_one(bot.hearth.store())
        .await
        .unwrap()
}

pub(super) async fn grief(bot: &Bot) {
    bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
}

// 1. A lead as long as the gap between meetings.
#[tokio::test]
async fn a_daily_group_gets_its_24_hour_reminder_every_day() {
    let bot = Bot::new().await;
    grief(&bot).await;
    let (scheduler, seen) = sink(&bot, |_| false);
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-20 19:00" repeat:daily timezone:UTC"#,
    )
    .await;

    scheduler.advance(&bot.clock, at("2026-03-23T19:00:00Z")).await.unwrap();

    let texts: Vec<String> = seen.lock().unwrap().iter().map(|(_, d)| body(d)).collect();
    let day_before = texts.iter().filter(|t| t.contains("Starts in 24 hours")).count();
    let hour_before = texts.iter().filter(|t| t.contains("Starts in 1 hour")).count();
    // The 24th's 24-hour reminder falls due at 19:00 on the 23rd too.
    assert_eq!((day_before, hour_before), (5, 4), "{}", texts.join("\n--\n"));
}

#[tokio::test]
async fn a_seven_day_lead_reaches_every_meeting_of_a_twice_weekly_rule() {
    let bot = Bot::new().await;
    grief(&bot).await;
    bot.say("admin", "reminders group:#1 leads:7d").await;
    let (scheduler, seen) = sink(&bot, |_| false);
    // Monday 30 March 2026 onwards, Mondays and Tuesdays.
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-30 19:00" repeat:"FREQ=WEEKLY;BYDAY=MO,TU" timezone:UTC"#,
    )
    .await;

    scheduler.advance(&bot.clock, at("2026-04-15T00:00:00Z")).await.unwrap();

    // Due 23, 24, 30, 31 March and 6, 7, 13, 14 April: for the meetings of 30, 31 March, 6, 7, 13, 14, 20, 21 April.
    let seen = seen.lock().unwrap();
    let weeks: Vec<String> = seen.iter().map(|(t, _)| t.format("%m-%d").to_string()).collect();
    assert_eq!(
        weeks,
        ["03-23", "03-24", "03-30", "03-31", "04-06", "04-07", "04-13", "04-14"]
    );
    assert!(seen.iter().all(|(_, d)| body(d).contains("Starts in 7 days")));
}

// 2. Re-planning keeps what is retrying.
#[tokio::test]
async fn a_reminder_waiting_to_retry_survives_a_replan() {
    let bot = Bot::new().await;
    grief(&bot).await;
    let down = Arc::new(Mutex::new(true));
    let is_down = down.clone();
    let (scheduler, seen) = sink(&bot, move |_| *is_down.lock().unwrap());
    one_meeting_on_21_march(&bot).await;

    // The 24-hour reminder fails and waits to retry...
    scheduler.advance(&bot.clock, at("2026-03-20T19:00:10Z")).await.unwrap();
    // ...while a member joins and the group's leads are saved again: both re-plan.
    bot.say("zoe", "group join group:#1").await;
    bot.say("admin", "reminders group:#1 leads:24h,1h").await;
    *down.lock().unwrap() = false;
    scheduler.advance(&bot.clock, at("2026-03-20T19:05:00Z")).await.unwrap();

    let texts: Vec<String> = seen.lock().unwrap().iter().map(|(_, d)| body(d)).collect();
    assert_eq!(texts.len(), 1, "{texts:#?}");
    assert!(texts[0].contains("Starts in 24 hours"), "{texts:#?}");
}

// 3. The roll-over is atomic: if its plan fails, it is not marked done.
#[tokio::test]
async fn a_roll_over_whose_plan_fails_stays_pending_and_goes_through_later() {
    let bot = Bot::new().await;
    grief(&bot).await;
    let (scheduler, seen) = sink(&bot, |_| false);
    weekly_from_21_march(&bot).await;
    let rule: String = crate::store::query_scalar("SELECT rrule FROM meetings WHERE id = 1")
        .fetch_one(bot.hearth.store())
        .await
        .unwrap();
    // The roll-over for 28 March falls due on 20 March (8 days before); the series is broken then.
    crate::store::query("UPDATE meetings SET rrule = 'FREQ=NONSENSE' WHERE id = 1")
        .execute(bot.hearth.store())
        .await
        .unwrap();
    bot.clock.set(at("2026-03-20T19:00:00Z"));
    scheduler.tick(bot.clock.now()).await.unwrap();
    let advance_state: (String, i64, Option<String>) =
        crate::store::query_as("SELECT state, attempts, error FROM jobs WHERE kind = 'advance'")
            .fetch_one(bot.hearth.store())
            .await
            .unwrap();
    let planned_28th = count(
        &bot,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'reminder' AND starts_at = 1774724400",
    )
    .await;
    crate::store::query("UPDATE meetings SET rrule = ? WHERE id = 1")
        .bind(rule)
        .execute(bot.hearth.store())
        .await
        .unwrap();
    scheduler.advance(&bot.clock, at("2026-03-28T19:00:00Z")).await.unwrap();

    assert_eq!(advance_state.0, "pending");
    assert_eq!(advance_state.1, 1);
    assert!(advance_state.2.is_some_and(|e| e.contains("stored series")));
    assert_eq!(planned_28th, 0, "nothing half-planned");
    let texts: Vec<String> = seen.lock().unwrap().iter().map(|(_, d)| body(d)).collect();
    assert!(texts.iter().any(|t| t.contains("Sat 28 Mar")), "{texts:#?}");
}

// 4. Concurrent plans: writers take the lock first and read inside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_rsvps_at_once_each_plan_their_own_reminders() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::on(Store::open(&dir.path().join("h.db")).await.unwrap()).await;
    grief(&bot).await;
    weekly_from_21_march(&bot).await;
    let bot = Arc::new(bot);

    let mut tasks = Vec::new();
    for i in 0..24 {
        let bot = bot.clone();
        tasks.push(tokio::spawn(async move {
            text(&bot.say(&format!("m{i}"), "meeting rsvp meeting:1 answer:yes").await)
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }

    assert!(answers.iter().all(|a| a.contains("you're going")), "{answers:#?}");
    let dms = count(
        &bot,
        "SELECT COUNT(DISTINCT member_id) FROM jobs WHERE kind = 'reminder' AND member_id IS NOT NULL",
    )
    .await;
    assert_eq!(dms, 24);
}

// 5. One bad job does not stall the others.
#[tokio::test]
async fn a_job_that_cannot_be_prepared_is_set_aside_and_the_rest_go_out() {
    let bot = Bot::new().await;
    grief(&bot).await;
    let (scheduler, seen) = sink(&bot, |_| false);
    one_meeting_on_21_march(&bot).await;
    // A job no feature owns, and a notice whose payload is garbage, due first.
    crate::store::query(
        "INSERT INTO jobs (key, kind, due_at, run_at, platform) VALUES ('x:1', 'bogus', 0, 0, 'console')",
    )
    .execute(bot.hearth.store())
    .await
    .unwrap();
    crate::store::query(
        "INSERT INTO jobs (key, kind, due_at, run_at, platform, meeting_id, member_id, payload)
             VALUES ('n:bad', 'notice', 0, 0, 'console', 1, 1, 'not json')",
    )
    .execute(bot.hearth.store())
    .await
    .unwrap();

    let report = scheduler.advance(&bot.clock, at("2026-03-21T18:30:00Z")).await.unwrap();

    assert_eq!(report.sent, 2, "both reminders went out");
    assert_eq!(seen.lock().unwrap().len(), 2);
    let bogus: (String, String) = crate::store::query_as("SELECT state, error FROM jobs WHERE key = 'x:1'")
        .fetch_one(bot.hearth.store())
        .await
        .unwrap();
    assert_eq!(bogus, ("failed".into(), "no feature owns jobs of this kind".into()));
    let bad: (String, i64, Option<String>) =
        crate::store::query_as("SELECT state, attempts, error FROM jobs WHERE key = 'n:bad'")
            .fetch_one(bot.hearth.store())
            .await
            .unwrap();
    assert_eq!(bad.0, "failed", "given up after its last try: {bad:?}");
    assert!(bad.2.is_some_and(|e| e.contains("reading a notice")));
}

// 6. Notices of changes are durable jobs with stable keys.
#[tokio::test]
async fn a_notice_that_fails_is_retried_with_its_key_and_two_changes_in_a_second_are_two() {
    let bot = Bot::new().await;
    grief(&bot).await;
    let tries: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let counted = tries.clone();
    let (scheduler, seen) = sink(&bot, move |k| {
        let mut t = counted.lock().unwrap();
        let n = t.entry(k.to_string()).or_default();
        *n += 1;
        k.starts_with("n:") && *n == 1
    });
    weekly_from_21_march(&bot).await;
    bot.say("ann", "meeting rsvp meeting:1 occurrence:2026-03-28 answer:yes")
        .await;

    // Two moves of the same occurrence within one second.
    bot.say(
        "admin",
        r#"meeting move meeting:1 occurrence:2026-03-28 when:"2026-03-29 18:00""#,
    )
    .await;
    bot.say(
        "admin",
        r#"meeting move meeting:1 occurrence:2026-03-28 when:"2026-03-29 17:00""#,
    )
    .await;
    scheduler.tick(bot.clock.now()).await.unwrap();
    let after_failure = seen.lock().unwrap().len();
    scheduler
        .advance(&bot.clock, bot.clock.now() + Duration::minutes(2))
        .await
        .unwrap();

    assert_eq!(after_failure, 0);
    let notices: Vec<String> = keys(&seen).into_iter().filter(|k| k.starts_with("n:")).collect();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert_ne!(notices[0], notices[1]);
    assert!(
        tries.lock().unwrap().values().all(|n| *n == 2),
        "each tried twice, same key"
    );
    let bodies: Vec<String> = seen.lock().unwrap().iter().map(|(_, d)| body(d)).collect();
    assert!(bodies[0].contains("now happens Sun 29 Mar 2026, 18:00"));
    assert!(bodies[1].contains("now happens Sun 29 Mar 2026, 17:00"));
}

// 7. Claims: a second sender never sends what the first holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_senders_on_one_database_deliver_each_reminder_once() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::on(Store::open(&dir.path().join("h.db")).await.unwrap()).await;
    grief(&bot).await;
    for day in 21..=30 {
        bot.say(
            "admin",
            &format!(r#"meeting schedule group:#1 when:"2026-03-{day} 19:00" timezone:UTC"#),
        )
        .await;
    }
    for i in 0..10 {
        bot.say(&format!("m{i}"), "group join group:#1").await;
        bot.say(&format!("m{i}"), "reminders dm:on").await;
    }
    let (first, seen) = sink(&bot, |_| false);
    let seen_too = seen.clone();
    let clock = bot.clock.clone();
    let other: Arc<dyn Outbox> = Arc::new(FnOutbox::new(Platform::Console, move |d: &Delivery| {
        seen_too.lock().unwrap().push((crate::Clock::now(&clock), d.clone()));
        Ok(())
    }));
    let second = Scheduler::new(bot.hearth.clone(), vec![other]);

    bot.clock.set(at("2026-04-01T00:00:00Z"));
    // Everything is overdue at once; both senders take from the same table.
    let now = at("2026-03-20T19:00:00Z");
    let (a, b) = tokio::join!(first.tick(now), second.tick(now));
    a.unwrap();
    b.unwrap();

    let all = keys(&seen);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(all.len(), unique.len(), "nothing sent twice");
    assert_eq!(all.len(), 11, "the channel and ten DMs for the 21st");
}

#[tokio::test]
async fn a_crashed_senders_claim_runs_out_and_its_jobs_go_out_again() {
    let bot = Bot::new().await;
    grief(&bot).await;
    let (scheduler, seen) = sink(&bot, |_| false);
    one_meeting_on_21_march(&bot).await;
    let due = at("2026-03-20T19:00:00Z");
    // A sender claims the reminder and dies before sending it.
    let claimed = bot
        .hearth
        .take_due(Platform::Console, "crashed", due, 10)
        .await
        .unwrap();

    scheduler.tick(due + Duration::seconds(30)).await.unwrap();
    let while_held = seen.lock().unwrap().len();
    scheduler
        .tick(due + Duration::seconds(crate::jobs::LEASE_SECS + 1))
        .await
        .unwrap();

    assert_eq!(claimed.len(), 1);
    assert_eq!(while_held, 0);
    assert_eq!(keys(&seen), vec![key_of(&claimed[0])]);
}

/// The grief circle with twelve meetings starting at 19:00 on 21 March and
/// one reminder an hour before each: twelve reminders due at one instant in
/// one channel.
async fn twelve_at_once(bot: &Bot) {
    grief(bot).await;
    bot.say("admin", "reminders group:#1 leads:1h").await;
    for n in 1..=12 {
        bot.say(
            "admin",
            // Twelve at one time: confirmed on purpose, to make a digest.
            &format!(r#"meeting schedule group:#1 when:"2026-03-21 19:00" timezone:UTC title:"m{n:02}" confirm:yes"#),
        )
        .await;
    }
}

// A sender that dies after the platform took a digest but before its jobs
// were recorded sent: once its claim runs out, the next sender gathers
// exactly the same reminders again, under the same key (which the platform
// de-duplicates), wherever its own claim's limit falls. Gathered afresh, a
// limit of three would split them into other digests under new keys, and
// the room would read them twice (the three-process soak saw it: a digest
// of six, then one of four).
#[tokio::test]
async fn a_digest_whose_sender_died_goes_out_again_whole_under_its_key() {
    let bot = Bot::new().await;
    twelve_at_once(&bot).await;
    let due = at("2026-03-21T18:00:00Z");
    let first = bot.hearth.take_due(Platform::Console, "died", due, 64).await.unwrap();
    let first_keys: Vec<String> = first.iter().map(key_of).collect();
    // It had recorded one reminder of the first digest sent: that digest
    // went out, so the rest go again under its key, and the platform drops it.
    crate::jobs::finish(bot.hearth.store(), first[0].jobs[0], "sent", None, due)
        .await
        .unwrap();

    let lapsed = due + Duration::seconds(crate::jobs::LEASE_SECS + 1);
    let mut again = Vec::new();
    loop {
        let round = bot.hearth.take_due(Platform::Console, "next", lapsed, 3).await.unwrap();
        if round.is_empty() {
            break;
        }
        again.extend(round.iter().map(|d| (key_of(d), d.jobs.len())));
    }

    assert_eq!(first.iter().map(|d| d.jobs.len()).collect::<Vec<_>>(), [10, 2]);
    assert_eq!(
        again,
        vec![(first_keys[0].clone(), 9), (first_keys[1].clone(), 2)],
        "each digest again, whole, under its key"
    );
}

fn key_of(d: &crate::jobs::DueDelivery) -> String {
    match &d.due {
        crate::jobs::Due::Send(delivery) => key(delivery).to_string(),
        crate::jobs::Due::Mirror { .. } => String::new(),
    }
}

#[tokio::test]
async fn the_only_process_on_a_database_frees_old_claims_at_start() {
    let bot = Bot::new().await;
    grief(&bot).await;
    let (scheduler, seen) = sink(&bot, |_| false);
    one_meeting_on_21_march(&bot).await;
    let due = at("2026-03-20T19:00:00Z");
    bot.hearth.take_due(Platform::Console, "killed", due, 10).await.unwrap();
    bot.clock.set(due + Duration::seconds(2));

    let released = bot.hearth.release_claims().await.unwrap();
    scheduler.tick(due + Duration::seconds(2)).await.unwrap();

    assert_eq!(released, 1);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

// 8. The autumn clock change.
#[tokio::test]
async fn a_first_meeting_at_a_time_that_happens_twice_takes_the_first_and_says_so() {
    let bot = Bot::new().await;
    grief(&bot).await;
    bot.clock.set(at("2026-10-28T12:00:00Z"));

    let scheduled = text(
        &bot.say(
            "admin",
            r#"meeting schedule group:#1 when:"2026-11-01 01:30" repeat:weekly timezone:America/New_York"#,
        )
        .await,
    );

    assert!(scheduled.contains("Scheduled: Grief circle"), "{scheduled}");
    assert!(
        scheduled.contains("01:30 on 1 Nov happens twice in America/New_York that day"),
        "{scheduled}"
    );
    // The first 01:30 is still daylight time (UTC-4); the next week's is UTC-5.
    assert!(scheduled.contains("Sun 1 Nov 2026, 01:30 EDT"), "{scheduled}");
    assert!(scheduled.contains("Sun 8 Nov 2026, 01:30 EST"), "{scheduled}");
    let first = count(&bot, "SELECT MIN(starts_at) FROM jobs WHERE kind = 'reminder'").await;
    assert_eq!(first, at("2026-11-01T05:30:00Z").timestamp());
}

// 9. A refused schedule leaves nothing behind.
#[tokio::test]
async fn a_rule_that_never_meets_or_meets_too_often_is_refused_and_stores_nothing() {
    let bot = Bot::new().await;
    grief(&bot).await;

    let never = text(
        &bot.say(
            "admin",
            r#"meeting schedule group:#1 when:"2026-03-21 19:00" repeat:"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30""#,
        )
        .await,
    );
    let hourly = text(
        &bot.say(
            "admin",
            r#"meeting schedule group:#1 when:"2026-03-21 19:00" repeat:"FREQ=DAILY;BYMINUTE=0,1,2""#,
        )
        .await,
    );
    let card = text(&bot.say("admin", "group info group:#1").await);

    assert!(never.contains("gives no meeting after now"), "{never}");
    assert!(hourly.contains("can be at most daily"), "{hourly}");
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM meetings").await, 0);
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM jobs").await, 0);
    assert!(card.contains("Meets: No meetings scheduled yet"), "{card}");
}

// 10. Rules in words.
#[tokio::test]
async fn every_accepted_rule_is_said_in_words_on_the_card() {
    let bot = Bot::new().await;
    grief(&bot).await;
    for (repeat, words) in [
        ("biweekly", "Every other Saturday at 19:00 UTC"),
        ("FREQ=WEEKLY;INTERVAL=2", "Every other Saturday at 19:00 UTC"),
        ("FREQ=WEEKLY;BYDAY=MO,TU", "Weekly on Mondays and Tuesdays at 19:00 UTC"),
        ("FREQ=MONTHLY;BYMONTHDAY=15", "Monthly on the 15th at 19:00 UTC"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "Monthly on the last Friday at 19:00 UTC"),
        (
            "FREQ=DAILY;INTERVAL=3;COUNT=4",
            "Every 3 days at 19:00 UTC, 90 min, 4 times",
        ),
        ("FREQ=YEARLY", "Yearly on the 21st of March at 19:00 UTC"),
    ] {
        let answer = text(
            &bot.say(
                "admin",
                // Each at the same time as the one before: confirmed on purpose.
                &format!(
                    r#"meeting schedule group:#1 when:"2026-03-21 19:00" timezone:UTC repeat:"{repeat}" confirm:yes"#
                ),
            )
            .await,
        );
        assert!(answer.contains(words), "{repeat}: {answer}");
        assert!(!answer.contains("FREQ="), "{answer}");
    }
    let card = text(&bot.say("admin", "group info group:#1").await);
    assert!(!card.contains("FREQ="), "{card}");

    let unsayable = text(
        &bot.say(
            "admin",
            r#"meeting schedule group:#1 when:"2026-03-21 19:00" repeat:"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=2""#,
        )
        .await,
    );
    assert!(unsayable.contains("can't say in plain words"), "{unsayable}");
}

// 11. A reminder moved for quiet hours says how long is really left.
#[tokio::test]
async fn a_reminder_moved_out_of_quiet_hours_says_how_long_is_left() {
    let bot = Bot::new().await;
    grief(&bot).await;
    let (scheduler, seen) = sink(&bot, |_| false);
    bot.say("mia", "timezone zone:America/New_York").await;
    bot.say("mia", "reminders quiet:22:00-08:00").await;
    // 01:00 in New York on 25 March is 05:00 UTC.
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-25 01:00" timezone:America/New_York"#,
    )
    .await;
    bot.say("mia", "meeting rsvp meeting:1 answer:yes").await;

    scheduler.advance(&bot.clock, at("2026-03-25T05:00:00Z")).await.unwrap();

    let dms: Vec<(DateTime<Utc>, String)> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, d)| matches!(d.effect, Effect::Dm { .. }))
        .map(|(t, d)| (*t, body(d)))
        .collect();
    assert_eq!(dms.len(), 2, "{dms:#?}");
    // The 24-hour one waits for quiet hours to end at 08:00 (12:00 UTC), 17 hours before.
    assert_eq!(dms[0].0, at("2026-03-24T12:00:00Z"));
    assert!(dms[0].1.contains("Starts in 17 hours"), "{}", dms[0].1);
    // The 1-hour one goes before they begin, at 21:59 (01:59 UTC): 3 hours before, not 1.
    assert_eq!(dms[1].0, at("2026-03-25T01:59:00Z"));
    assert!(dms[1].1.contains("Starts in 3 hours"), "{}", dms[1].1);
}

// Found by the whole-binary test on a real clock: a start with a fraction of
// a second never matched its own first occurrence, so "in 2m" meant tomorrow.
#[tokio::test]
async fn a_meeting_in_two_minutes_on_a_real_clock_is_in_two_minutes() {
    let bot = Bot::new().await;
    grief(&bot).await;
    bot.clock.set(at("2026-03-19T10:00:00.713Z"));
    let (scheduler, seen) = sink(&bot, |_| false);

    bot.say("admin", r#"meeting schedule group:#1 when:"in 2m" timezone:UTC"#)
        .await;
    bot.say("admin", "reminders group:#1 leads:1m").await;
    scheduler.advance(&bot.clock, at("2026-03-19T10:02:00Z")).await.unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, at("2026-03-19T10:01:00Z"));
    assert!(body(&seen[0].1).contains("Starts in 1 minute: Thu 19 Mar 2026, 10:02 UTC"));
}

/// An outbox that takes `delay` per message, as a homeserver does.
struct Slow {
    delay: std::time::Duration,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Outbox for Slow {
    fn platform(&self) -> Platform {
        Platform::Console
    }
    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> crate::BoxFuture<'a, std::result::Result<(), DeliveryError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.seen
                .lock()
                .unwrap()
                .push(format!("{}|{}", key(delivery), body(delivery)));
            Ok(())
        })
    }
}

// Issue 9: deliveries that fall due together go out together, each place's in order.
#[tokio::test]
async fn reminders_due_together_go_out_side_by_side_and_each_place_keeps_its_order() {
    let bot = Bot::new().await;
    grief(&bot).await;
    for i in 0..16 {
        bot.say(&format!("m{i}"), "group join group:#1").await;
        bot.say(&format!("m{i}"), "reminders dm:on leads:2h,1h").await;
    }
    one_meeting_on_21_march(&bot).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let outbox: Arc<dyn Outbox> = Arc::new(Slow {
        delay: std::time::Duration::from_millis(200),
        seen: seen.clone(),
    });
    let scheduler = Scheduler::new(bot.hearth.clone(), vec![outbox]);

    // Everything overdue at once (after downtime): for the channel and each of
    // 16 DMs only the closest of the 2-hour and 1-hour reminders goes.
    let started = std::time::Instant::now();
    let report = scheduler.tick(at("2026-03-21T18:30:00Z")).await.unwrap();
    let took = started.elapsed();

    assert_eq!(report.sent, 17);
    // 17 messages of 200 ms, 8 places at a time: about 0.6 s, not 3.4 s in a row.
    assert!(took < std::time::Duration::from_millis(2000), "{took:?}");
    let sent = seen.lock().unwrap().len();
    assert_eq!(sent, 17);
}

// Reminders to one place that fall due at one instant go out together: one
// digest per ten, in due order, each with a numbered "Going" button per
// meeting; each of its jobs is done with it, and a retry sends the same
// digest again under the same key.
#[tokio::test]
async fn reminders_due_at_one_instant_in_one_place_go_out_as_digests_of_ten() {
    let bot = Bot::new().await;
    twelve_at_once(&bot).await;
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-21 19:15" timezone:UTC title:"m13" confirm:yes"#,
    )
    .await;
    let failed_once = Arc::new(Mutex::new(false));
    let flag = failed_once.clone();
    let (scheduler, seen) = sink(&bot, move |key| {
        // The first digest fails once: it is retried whole, with its key.
        let mut f = flag.lock().unwrap();
        if key.starts_with("d:") && !*f {
            *f = true;
            return true;
        }
        false
    });

    scheduler.advance(&bot.clock, at("2026-03-21T18:50:00Z")).await.unwrap();

    let seen = seen.lock().unwrap().clone();
    let message = |title: &str| -> (String, crate::Message) {
        seen.iter()
            .find_map(|(_, d)| match &d.effect {
                Effect::Post { message, .. } if message.title.as_deref() == Some(title) => {
                    Some((key(d).to_string(), message.clone()))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {title}: {seen:#?}"))
    };
    // 18:00: twelve due at once, as ten and two; 18:15: one on its own card.
    assert_eq!(seen.len(), 3, "{seen:#?}");
    let (ten_key, ten) = message("Reminders: 10 meetings");
    let (_, two) = message("Reminders: 2 meetings");
    let (_, one) = message("Reminder: m13");
    let first = ten.plain("/");
    for n in 1..=10 {
        assert!(first.contains(&format!("{n}. m{n:02} starts in 1 hour: ")), "{first}");
    }
    assert!(first.contains("/crisis"), "{first}");
    let emoji: Vec<&str> = ten.buttons.iter().map(|b| b.emoji).collect();
    assert_eq!(emoji.len(), 10);
    assert_eq!(emoji[0], "1️⃣");
    assert_eq!(emoji[9], "🔟");
    assert_eq!(ten.buttons[2].label, "Going: m03");
    assert!(
        ten.buttons[2].command.starts_with("meeting rsvp meeting:3 "),
        "{:?}",
        ten.buttons[2]
    );
    assert!(ten.buttons[2].command.ends_with("answer:yes"));
    assert!(two.plain("/").contains("1. m11 starts in 1 hour"));
    assert_eq!(one.buttons.len(), 3, "a lone reminder keeps its card");
    // It failed once and was retried whole, under one key made of its reminders'.
    assert!(*failed_once.lock().unwrap());
    assert!(ten_key.starts_with("d:r:1:"), "{ten_key}");
    let carried = crate::jobs::carried_keys(&ten_key);
    assert_eq!(carried.len(), 10, "{carried:?}");
    assert!(carried.iter().all(|k| k.starts_with("r:")), "{carried:?}");
    assert_eq!(
        crate::jobs::carried_keys("r:1:2:3:3600:c"),
        ["r:1:2:3:3600:c"],
        "a lone reminder's key stands for itself"
    );

    // Every reminder's job is done, none goes out again.
    let sent = count(
        &bot,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'reminder' AND state = 'sent'",
    )
    .await;
    assert_eq!(sent, 13);
    let report = scheduler.tick(at("2026-03-21T19:31:00Z")).await.unwrap();
    assert_eq!(report.sent, 0);
}

#[tokio::test]
async fn one_place_receives_its_reminders_in_due_order() {
    let bot = Bot::new().await;
    grief(&bot).await;
    bot.say("admin", "reminders group:#1 leads:7d").await;
    for day in 27..=31 {
        bot.say(
            "admin",
            &format!(r#"meeting schedule group:#1 when:"2026-03-{day} 19:00" timezone:UTC title:"day {day}""#),
        )
        .await;
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let outbox: Arc<dyn Outbox> = Arc::new(Slow {
        delay: std::time::Duration::from_millis(10),
        seen: seen.clone(),
    });
    let scheduler = Scheduler::new(bot.hearth.clone(), vec![outbox]);

    // All five 7-day reminders (due 20 to 24 March) are overdue at once.
    scheduler.tick(at("2026-03-25T12:00:00Z")).await.unwrap();

    let titles: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|s| s.split('|').nth(1)?.lines().next().map(str::to_string))
        .collect();
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted, "one channel, in due order");
    assert_eq!(titles.len(), 5, "{titles:?}");
}

/// An outbox that holds every delivery until its gate opens.
struct Gated {
    platform: Platform,
    gate: Arc<tokio::sync::Semaphore>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Outbox for Gated {
    fn platform(&self) -> Platform {
        self.platform
    }
    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> crate::BoxFuture<'a, std::result::Result<(), DeliveryError>> {
        Box::pin(async move {
            let _pass = self.gate.acquire().await;
            self.seen.lock().unwrap().push(key(delivery).to_string());
            Ok(())
        })
    }
}

// Issue 9: one platform's loop never waits for another's (a rate-limited
// homeserver must not hold back Discord's reminders).
#[tokio::test]
async fn a_platform_that_is_stuck_sending_never_holds_back_another() {
    let bot = Bot::new().await;
    grief(&bot).await;
    bot.say("admin", "reminders group:#1 leads:2d").await;
    for day in [22, 23] {
        bot.say(
            "admin",
            &format!(r#"meeting schedule group:#1 when:"2026-03-{day} 19:00" timezone:UTC title:"day {day}""#),
        )
        .await;
    }
    // The second meeting's reminder belongs to another platform (a second community).
    crate::store::query("UPDATE jobs SET platform = 'discord' WHERE kind = 'reminder' AND starts_at = ?")
        .bind(at("2026-03-23T19:00:00Z").timestamp())
        .execute(bot.hearth.store())
        .await
        .unwrap();
    let stuck = Arc::new(tokio::sync::Semaphore::new(0));
    let console_seen = Arc::new(Mutex::new(Vec::new()));
    let discord_seen = Arc::new(Mutex::new(Vec::new()));
    let outboxes: Vec<Arc<dyn Outbox>> = vec![
        Arc::new(Gated {
            platform: Platform::Console,
            gate: stuck.clone(),
            seen: console_seen.clone(),
        }),
        Arc::new(Gated {
            platform: Platform::Discord,
            gate: Arc::new(tokio::sync::Semaphore::new(100)),
            seen: discord_seen.clone(),
        }),
    ];
    // Both reminders are due, neither meeting has started.
    bot.clock.set(at("2026-03-22T18:00:00Z"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(Scheduler::new(bot.hearth.clone(), outboxes).run(async {
        let _ = stopped.await;
    }));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while discord_seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let discord_while_stuck = discord_seen.lock().unwrap().len();
    let console_while_stuck = console_seen.lock().unwrap().len();
    stuck.add_permits(100);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while console_seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    running.await.unwrap();

    assert_eq!(discord_while_stuck, 1);
    assert_eq!(console_while_stuck, 0);
    assert_eq!(console_seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_claim_still_being_sent_is_renewed_and_stays_its_senders() {
    let bot = Bot::new().await;
    grief(&bot).await;
    one_meeting_on_21_march(&bot).await;
    let due = at("2026-03-20T19:00:00Z");
    let claimed = bot.hearth.take_due(Platform::Console, "slow", due, 10).await.unwrap();
    let ids: Vec<i64> = claimed.iter().flat_map(|d| d.jobs.clone()).collect();

    // Held back by a rate limit, the sender renews before its lease runs out.
    bot.hearth
        .extend_claims("slow", &ids, due + Duration::seconds(50))
        .await
        .unwrap();
    let after_first_lease = bot
        .hearth
        .take_due(
            Platform::Console,
            "other",
            due + Duration::seconds(crate::jobs::LEASE_SECS + 5),
            10,
        )
        .await
        .unwrap();
    // A renewal by someone else changes nothing.
    bot.hearth
        .extend_claims("other", &ids, due + Duration::seconds(200))
        .await
        .unwrap();
    let after_renewed_lease = bot
        .hearth
        .take_due(
            Platform::Console,
            "other",
            due + Duration::seconds(50 + crate::jobs::LEASE_SECS + 1),
            10,
        )
        .await
        .unwrap();

    assert_eq!(ids.len(), 1);
    assert!(after_first_lease.is_empty());
    assert_eq!(after_renewed_lease.len(), 1);
}
