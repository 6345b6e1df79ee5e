//! Check-ins through Matrix, against the real Synapse: a group's prompt is
//! answered with reactions, a note reaches its author alone, and a member's
//! daily prompt arrives by DM and is answered there by reaction.

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
async fn check_in_reactions_record_answers_and_notes_reach_only_their_author() {
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
    let bob_room = bob.room(&rid);
    let me = bot.user_id.to_string();
    let said = move |s: &Seen| s.sender() == me && s.kind() == "m.room.message";
    let note = "matrixPrivateWords";

    // Alice (the room's creator, so an admin) makes a group and posts a prompt now.
    alice
        .say(&room, r#"!group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    alice
        .wait_for("the group's card", |s| said(s) && s.body().starts_with("Grief circle"))
        .await;
    alice
        .say(&room, r#"!checkin schedule group:"Grief circle" when:now"#)
        .await;
    let prompt = bob
        .wait_for("the prompt in the room", |s| {
            said(s) && s.room == rid && s.body().starts_with("Check-in: Grief circle")
        })
        .await;
    let prompt_id = prompt.event_id();
    bob.wait_for("the bot's 🙂 on the prompt", |s| {
        s.kind() == "m.reaction"
            && s.event["content"]["m.relates_to"]["event_id"] == prompt_id.as_str()
            && s.event["content"]["m.relates_to"]["key"] == "🙂"
    })
    .await;

    // Bob presses 🙂 (4 good): the thanks come privately.
    bob.react(&bob_room, prompt_id, "🙂").await;
    let thanks = bob
        .wait_for("the private thanks", |s| {
            said(s) && s.room != rid && s.body().contains("Thank you for checking in: 4 good.")
        })
        .await;
    let dm = bob.wait_joined(&thanks.room).await;
    // A note, written where only bob and the bot are.
    bob.say(&dm, &format!("!checkin share mood:2 note:{note}")).await;
    bob.wait_for("the note's thanks", |s| {
        said(s) && s.body().contains("Your note is yours alone")
    })
    .await;
    bob.say(&dm, "!checkin history").await;
    let history = bob
        .wait_for("bob's history", |s| said(s) && s.body().starts_with("Your check-ins"))
        .await;
    alice.say(&room, r#"!checkin summary group:"Grief circle""#).await;
    let summary = alice
        .wait_for("the summary, privately", |s| {
            said(s) && s.room != rid && s.body().contains("Not enough check-ins")
        })
        .await;

    assert_eq!(
        prompt.event["content"]["org.hearth.buttons"].as_array().unwrap().len(),
        6
    );
    assert!(prompt.encrypted);
    assert!(thanks.body().contains("in Grief circle's summary"), "{}", thanks.body());
    assert!(history.body().contains("4 good"), "{}", history.body());
    assert!(history.body().contains(note), "{}", history.body());
    assert!(!summary.body().contains("bob"), "{}", summary.body());
    assert!(
        alice.all(|s| s.body().contains(note)).await.is_empty(),
        "alice saw bob's note"
    );
    let bobs = bob.all(|s| s.body().contains(note)).await;
    assert!(
        bobs.iter().all(|s| s.room == dm.room_id()),
        "the note stayed in bob's DM"
    );

    // A daily prompt by DM, an hour from now, answered by reaction there.
    let at = (start + Duration::hours(1)).format("%H:%M").to_string();
    bob.say(&bob_room, &format!("!checkin remind time:{at}")).await;
    bob.wait_for("the daily prompt's confirmation", |s| {
        said(s) && s.body().contains(&format!("every day at {at}"))
    })
    .await;
    let outbox: Arc<dyn Outbox> = Arc::new(bot.outbox.clone());
    let report = Scheduler::new(hearth, vec![outbox])
        .advance(&clock, start + Duration::hours(2))
        .await
        .unwrap();
    let daily = bob
        .wait_for("the daily prompt by DM", |s| {
            said(s) && s.room != rid && s.body().starts_with("Your check-in\n")
        })
        .await;
    let daily_room = bob.wait_joined(&daily.room).await;
    bob.react(&daily_room, daily.event_id(), "😐").await;
    let okay = bob
        .wait_for("the thanks for the daily answer", |s| {
            said(s) && s.body().contains("Thank you for checking in: 3 okay.")
        })
        .await;

    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(daily.event["content"]["org.hearth.community"], rid.as_str());
    assert!(okay.body().contains("counts in no group's summary"), "{}", okay.body());
    bot.stop().await;
}
