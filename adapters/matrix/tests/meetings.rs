//! Meetings, reminders and crisis lines through Matrix, against the real
//! Synapse: the core runs on a manual clock and the scheduler delivers
//! through the bot's own outbox, so reminders arrive in the room and by DM.

#![recursion_limit = "256"]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should fail loudly"
)]

mod common;

use std::sync::Arc;

use bot_core::{CoreConfig, Hearth, ManualClock, Outbox, Scheduler, Store};
use chrono::{Duration, DurationRound, Utc};
use common::{Bot, Member, Seen, bot_config, room_with_bot, synapse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_arrive_in_the_room_and_by_dm_and_crisis_lines_privately() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let start = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    let clock = ManualClock::new(start);
    let hearth = Hearth::new(
        Store::in_memory().await.unwrap(),
        Arc::new(clock.clone()),
        CoreConfig::default(),
    );
    let bot = Bot::start(hearth.clone(), bot_config(&synapse, dir.path()).await).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, true, &[&bob]).await;
    let rid = room.room_id().to_owned();
    let me = bot.user_id.to_string();
    let from_bot = move |s: &Seen| s.sender() == me && s.kind() == "m.room.message";

    alice
        .say(&room, r#"!group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    alice
        .wait_for("the group's card", |s| {
            from_bot(s) && s.body().starts_with("Grief circle")
        })
        .await;
    alice
        .say(
            &room,
            r#"!meeting schedule group:"Grief circle" when:"in 3h" timezone:Europe/Berlin"#,
        )
        .await;
    let scheduled = alice
        .wait_for("the schedule preview", |s| {
            from_bot(s) && s.body().contains("Scheduled: Grief circle")
        })
        .await;
    bob.say(&bob.room(&rid), "!meeting rsvp meeting:1 answer:yes").await;
    bob.wait_for("the RSVP thanks", |s| {
        from_bot(s) && s.room != rid && s.body().contains("you're going to Grief circle")
    })
    .await;
    bob.say(&bob.room(&rid), "!crisis country:GB").await;
    let crisis = bob
        .wait_for("crisis lines", |s| from_bot(s) && s.body().contains("Crisis lines"))
        .await;

    let outbox: Arc<dyn Outbox> = Arc::new(bot.outbox.clone());
    let report = Scheduler::new(hearth, vec![outbox])
        .advance(&clock, start + Duration::hours(3))
        .await
        .unwrap();

    let in_room = alice
        .wait_for("the room's reminder", |s| {
            from_bot(s) && s.room == rid && s.body().contains("Reminder: Grief circle")
        })
        .await;
    let by_dm = bob
        .wait_for("bob's DM reminder", |s| {
            from_bot(s) && s.room != rid && s.body().contains("Reminder: Grief circle")
        })
        .await;
    assert!(scheduled.body().contains("(Europe/Berlin)"), "{}", scheduled.body());
    assert_ne!(crisis.room, rid, "crisis lines are private");
    assert!(
        crisis.body().contains("Samaritans, call 116 123 (free)"),
        "{}",
        crisis.body()
    );
    assert_eq!(report.sent, 2, "one room reminder and one DM: {report:?}");
    assert_eq!(in_room.event["content"]["msgtype"], "m.notice");
    assert!(in_room.encrypted && by_dm.encrypted);
    assert!(in_room.body().contains("Starts in 1 hour"), "{}", in_room.body());
    assert!(by_dm.body().contains("!crisis lists crisis lines"), "{}", by_dm.body());
    assert_eq!(
        alice
            .all(|s| from_bot(s) && s.body().contains("Reminder: Grief circle"))
            .await
            .len(),
        1,
        "the room's reminder came once"
    );
    bot.stop().await;
}
