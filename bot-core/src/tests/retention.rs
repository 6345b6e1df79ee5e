//! Retention under the manual clock: finished deliveries and past RSVPs go
//! after the retention period; a leaver's future RSVPs go at once.

use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::scheduler::FnOutbox;
use crate::{Outbox, Scheduler};

async fn count(bot: &Bot, sql: &'static str) -> i64 {
    crate::store::query_scalar(sql)
        .fetch_one(bot.hearth.store())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_delivered_job_and_a_past_rsvp_are_gone_31_days_later() {
    let bot = Bot::new().await;
    bot.say("admin", GRIEF).await;
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-20 19:00" timezone:UTC"#,
    )
    .await;
    bot.say("ann", "meeting rsvp meeting:1 answer:yes").await;
    let outbox: Arc<dyn Outbox> = Arc::new(FnOutbox::new(Platform::Console, |_: &crate::Delivery| Ok(())));
    let scheduler = Scheduler::new(bot.hearth.clone(), vec![outbox]);
    scheduler.advance(&bot.clock, at("2026-03-21T00:00:00Z")).await.unwrap();
    let sent = count(&bot, "SELECT COUNT(*) FROM jobs WHERE state <> 'pending'").await;
    assert!(sent >= 1, "something was delivered");
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM rsvps").await, 1);

    let last_done: i64 = count(&bot, "SELECT MAX(done_at) FROM jobs").await;
    let last_done = DateTime::from_timestamp(last_done, 0).unwrap();

    let day_29 = bot.hearth.sweep(last_done + Duration::days(29)).await.unwrap();
    let kept = count(&bot, "SELECT COUNT(*) FROM jobs WHERE state <> 'pending'").await;
    let day_31 = bot
        .hearth
        .sweep(at("2026-03-21T00:00:00Z") + Duration::days(31))
        .await
        .unwrap();

    assert!(kept >= 1, "the newest delivery is kept 29 days on");
    assert_eq!(day_29.rsvps, 0, "an RSVP is kept 29 days on");
    assert_eq!(day_29.jobs + day_31.jobs, sent as u64);
    assert_eq!(day_31.rsvps, 1);
    assert_eq!(
        count(&bot, "SELECT COUNT(*) FROM jobs WHERE state <> 'pending'").await,
        0
    );
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM rsvps").await, 0);
}

#[tokio::test]
async fn leaving_a_group_drops_rsvps_to_its_future_meetings() {
    let bot = Bot::new().await;
    bot.say("admin", GRIEF).await;
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-26 19:00" repeat:weekly timezone:UTC"#,
    )
    .await;
    bot.say("ann", "group join group:#1").await;
    bot.say("ann", "meeting rsvp meeting:1 answer:yes").await;
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM rsvps").await, 1);

    bot.say("ann", "group leave group:#1").await;

    assert_eq!(count(&bot, "SELECT COUNT(*) FROM rsvps").await, 0);
    assert_eq!(
        count(&bot, "SELECT COUNT(*) FROM jobs j JOIN members m ON m.id = j.member_id WHERE m.external_id = 'ann' AND j.state = 'pending'").await,
        0,
        "no reminder DMs for a meeting she left"
    );
}

/// The RSVP sweep through its own SQL alone (rows put in directly), so this
/// runs on PostgreSQL as well (`HEARTH_TEST_POSTGRES`): an answer goes when
/// its occurrence is held, where it is now held.
#[tokio::test]
async fn past_rsvps_go_where_their_occurrence_is_now_held_on_either_database() {
    let store = crate::Store::for_test().await.unwrap();
    for sql in [
        "INSERT INTO communities (id, platform, external_id, timezone) VALUES (1, 'console', 'local', 'UTC')",
        "INSERT INTO members (id, platform, external_id, display_name) VALUES (1, 'console', 'ann', 'Ann')",
        "INSERT INTO groups (id, community_id, name, name_key, topic, led_by, format, home_channel, guideline)
             VALUES (1, 1, 'Grief circle', 'grief circle', 'grief', 'peer', 'online', 'general', 'Be kind')",
        "INSERT INTO meetings (id, group_id, start_local, timezone, repeat, rrule, duration_minutes)
             VALUES (1, 1, '2026-03-19T19:00:00', 'UTC', 'weekly', 'FREQ=WEEKLY', 60)",
        // Held at 50; moved from 60 to 150; moved from 200 back to 80; at 300.
        "INSERT INTO rsvps (meeting_id, occurrence, member_id, answer) VALUES (1, 50, 1, 'yes')",
        "INSERT INTO rsvps (meeting_id, occurrence, member_id, answer) VALUES (1, 60, 1, 'yes')",
        "INSERT INTO rsvps (meeting_id, occurrence, member_id, answer) VALUES (1, 200, 1, 'yes')",
        "INSERT INTO rsvps (meeting_id, occurrence, member_id, answer) VALUES (1, 300, 1, 'yes')",
        "INSERT INTO meeting_exceptions (meeting_id, occurrence, moved_to) VALUES (1, 60, 150)",
        "INSERT INTO meeting_exceptions (meeting_id, occurrence, moved_to) VALUES (1, 200, 80)",
    ] {
        crate::store::query(sql).execute(&store).await.unwrap();
    }

    let gone = crate::retention::past_rsvps(&store, 100).await.unwrap();
    let left: Vec<i64> = crate::store::query_scalar("SELECT occurrence FROM rsvps ORDER BY occurrence")
        .fetch_all(&store)
        .await
        .unwrap();

    assert_eq!(gone, 2);
    assert_eq!(left, [60, 300]);
}
