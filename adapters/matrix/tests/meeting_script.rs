//! The meeting itself on Matrix, against the real Synapse: the chair's panel
//! is in their DM with the bot, its buttons (reactions there) move the
//! group's meeting in its room, a reading is posted in the room, and a
//! member cannot move the meeting on.

#![recursion_limit = "256"]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should fail loudly"
)]

mod common;

use std::sync::Arc;

use bot_core::Clock as _;
use chrono::DurationRound as _;
use common::{Bot, Member, bot_config, bot_on, bot_said, hearth_on_a_manual_clock, room_with_bot, synapse};
use matrix_sdk::RoomMemberships;

/// `who` says `text` in `room` and waits for the bot's reply to it.
async fn ask(who: &Member, bot: &Bot, room: &matrix_sdk::Room, text: &str) -> String {
    let said = bot_said(bot);
    let asked = who.say(room, text).await;
    who.wait_for(text, |s| said(s) && s.in_reply_to() == Some(asked.as_str()))
        .await
        .body()
        .to_string()
}

const READING: &str = "We come as we are, and we leave a little lighter.";
const CREDIT: &str = "written by our members, 2024";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chairs_panel_is_in_their_dm_its_next_moves_the_meeting_the_reading_posts_in_the_room_and_a_member_cannot_move_it()
 {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, true, &[&bob]).await;
    let bob_room = bob.room(room.room_id());
    let rid = room.room_id().to_owned();
    let said = bot_said(&bot);

    // Arrange: Alice (the room's admin) makes a group here and gives it the
    // general template, its reading filled in and cut down to three steps
    // before the sharing: Welcome (say), the reading, Open sharing.
    let created = ask(
        &alice,
        &bot,
        &room,
        r#"!group create name:"Grief circle" topic:grief led_by:peer"#,
    )
    .await;
    assert!(created.contains("Created."), "{created}");
    let copied = ask(&alice, &bot, &room, "!meeting script template template:general").await;
    assert!(copied.contains("Copied."), "{copied}");
    let edited = ask(
        &alice,
        &bot,
        &room,
        &format!(r#"!meeting script edit step:4 title:"Our reading" text:"{READING}" credit:"{CREDIT}""#),
    )
    .await;
    assert!(edited.contains("4. Our reading (reading, 5 min)"), "{edited}");
    ask(&alice, &bot, &room, "!meeting script edit step:3 remove:yes").await;
    let script = ask(&alice, &bot, &room, "!meeting script edit step:2 remove:yes").await;
    assert!(
        script.contains("1. Welcome (say")
            && script.contains("2. Our reading (reading")
            && script.contains("3. Open sharing (shares"),
        "{script}"
    );

    // Act: Alice starts the meeting in the room.
    alice.say(&room, "!meeting start").await;

    // Assert: the room reads the first step; the panel is in Alice's DM.
    let in_room = |title: &'static str| {
        let said = said.clone();
        let rid = rid.clone();
        move |s: &common::Seen| said(s) && s.room == rid && s.body().starts_with(&format!("Grief circle · {title}"))
    };
    alice.wait_for("the welcome, in the room", in_room("Welcome")).await;
    let panel = |step: usize| {
        let said = said.clone();
        let rid = rid.clone();
        move |s: &common::Seen| {
            said(s)
                && s.room != rid
                && s.body()
                    .starts_with(&format!("Your panel · Grief circle · step {step} of 7"))
        }
    };
    let first = alice.wait_for("the panel, step 1", panel(1)).await;
    assert!(first.encrypted, "the DM is encrypted");
    assert!(first.body().contains("Next: Our reading"), "{}", first.body());
    let next = first.event["content"]["org.hearth.buttons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["emoji"] == "▶️")
        .expect("a Next button");
    assert!(
        next["command"].as_str().unwrap().starts_with("meeting next group:#"),
        "{next}"
    );
    assert_eq!(first.event["content"]["org.hearth.community"], rid.as_str());
    let dm = alice.wait_joined(&first.room).await;
    let mut in_dm: Vec<String> = dm
        .members(RoomMemberships::JOIN)
        .await
        .unwrap()
        .iter()
        .map(|m| m.user_id().to_string())
        .collect();
    in_dm.sort();
    let mut two = vec![alice.user_id.to_string(), bot.user_id.to_string()];
    two.sort();
    assert_eq!(in_dm, two, "the DM is Alice's and the bot's alone");

    // Act: Alice presses Next on her panel (a reaction in the DM).
    alice.react(&dm, first.event_id(), "▶️").await;

    // Assert: the reading, its words and credit, is posted in the room, for
    // Bob too; Alice's panel moves to step 2.
    let reading = bob.wait_for("the reading, in the room", in_room("Our reading")).await;
    assert!(reading.body().contains(READING), "{}", reading.body());
    assert!(reading.body().contains(&format!("— {CREDIT}")), "{}", reading.body());
    let second = alice.wait_for("the panel, step 2", panel(2)).await;
    assert_eq!(second.room, first.room, "the panel stays in the DM");

    // Act: Bob, a member, tries to move the meeting on from the room.
    let refused = ask(&bob, &bot, &bob_room, "!meeting next").await;

    // Assert: refused, and the meeting is still at the reading: Alice's
    // next press brings step 3, Open sharing, not step 4.
    assert!(
        refused.contains("Only the meeting's chair, or a facilitator of Grief circle, moves the meeting on."),
        "{refused}"
    );
    assert!(
        alice.all(panel(3)).await.is_empty() && alice.all(in_room("Open sharing")).await.is_empty(),
        "Bob's !meeting next moved the meeting"
    );
    alice.react(&dm, second.event_id(), "▶️").await;
    let third = alice.wait_for("the panel, step 3", panel(3)).await;
    assert!(third.body().contains("Open sharing (shares)"), "{}", third.body());
    alice
        .wait_for("the sharing, in the room", in_room("Open sharing"))
        .await;
    // Next again ends the sharing's talking stick: the panel still comes.
    alice.react(&dm, third.event_id(), "▶️").await;
    alice.wait_for("the panel, step 4", panel(4)).await;
    alice
        .wait_for("the donation step, in the room", in_room("Supporting the group"))
        .await;

    // Alice ends it from the room: the room hears so, her DM has the times.
    alice.say(&room, "!meeting end").await;
    alice
        .wait_for("the end, in the room", |s| {
            said(s) && s.room == rid && s.body().contains("The meeting has ended.")
        })
        .await;
    let record = alice
        .wait_for("the meeting's times, by DM", |s| {
            said(s) && s.room == first.room && s.body().starts_with("Grief circle · the meeting's times")
        })
        .await;
    assert!(record.body().contains("2. Our reading:"), "{}", record.body());

    // No panel ever reached the room or Bob.
    let panels_seen_by_bob = bob.all(|s| said(s) && s.body().contains("Your panel")).await;
    let panels_in_room = alice
        .all(|s| said(s) && s.room == rid && s.body().contains("Your panel"))
        .await;
    assert!(panels_seen_by_bob.is_empty(), "{panels_seen_by_bob:?}");
    assert!(panels_in_room.is_empty(), "{panels_in_room:?}");
    bot.stop().await;
}

/// Where the group chose it, the meeting starts by itself at its scheduled
/// start: the room is told, the chair's panel comes to their DM unasked (a
/// DM needs no press on Matrix), and the back-up hears nothing of a late
/// chair. From the DM, +2 min adds time and a quick phrase is posted in the
/// room; the back-up's press of "Open the panel" brings them the panel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_that_starts_by_itself_brings_the_chair_the_panel_by_dm_whose_plus_two_and_phrases_work_from_there() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let (hearth, clock) = hearth_on_a_manual_clock().await;
    let bot = Bot::start(hearth.clone(), bot_config(&synapse, dir.path()).await).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[&bob]).await;
    let bob_room = bob.room(room.room_id());
    let rid = room.room_id().to_owned();
    let said = bot_said(&bot);

    // Arrange: a group here meeting in two hours, Alice its chair and Bob
    // her back-up, its meeting set to start by itself.
    let starts = (clock.now() + chrono::Duration::hours(2))
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap();
    ask(
        &alice,
        &bot,
        &room,
        r#"!group create name:"Grief circle" topic:grief led_by:peer"#,
    )
    .await;
    // A join is answered privately, by DM.
    for (who, in_room) in [(&alice, &room), (&bob, &bob_room)] {
        who.say(in_room, r#"!group join group:"Grief circle""#).await;
        who.wait_for("the welcome", |s| {
            said(s) && s.body().contains("You've joined Grief circle")
        })
        .await;
    }
    let assigned = ask(
        &alice,
        &bot,
        &room,
        &format!("!role assign role:chair user:{} backup:{}", alice.user_id, bob.user_id),
    )
    .await;
    assert!(assigned.contains("chair"), "{assigned}");
    ask(&alice, &bot, &room, "!meeting script template template:general").await;
    let scheduled = ask(
        &alice,
        &bot,
        &room,
        &format!(
            r#"!meeting schedule when:"{}" repeat:weekly timezone:UTC"#,
            starts.format("%Y-%m-%d %H:%M")
        ),
    )
    .await;
    assert!(scheduled.starts_with("Scheduled"), "{scheduled}");
    let set = ask(&alice, &bot, &room, "!meeting script edit autostart:on").await;
    assert!(set.contains("Starts by itself"), "{set}");

    // Act: the clock reaches the start, then the panel's moment, then five minutes on.
    let outbox: Arc<dyn bot_core::Outbox> = Arc::new(bot.outbox.clone());
    let scheduler = bot_core::Scheduler::new(hearth.clone(), vec![outbox]);
    for after in [1, 15, 6 * 60] {
        let at = starts + chrono::Duration::seconds(after);
        clock.set(at);
        scheduler.tick(at).await.unwrap();
    }

    // Assert: the room is told once; the panel is in Alice's DM.
    let started = bob
        .wait_for("the start, in the room", |s| {
            said(s) && s.room == rid && s.body().starts_with("Grief circle · The meeting has started")
        })
        .await;
    let panel = |what: &'static str| {
        let said = said.clone();
        let rid = rid.clone();
        move |s: &common::Seen| {
            said(s) && s.room != rid && s.body().starts_with("Your panel") && s.body().contains(what)
        }
    };
    let first = alice.wait_for("the panel by DM", panel("step 1 of 9")).await;
    let dm = alice.wait_joined(&first.room).await;

    // Act: Alice presses +2 min, then a quick phrase, in her DM.
    alice.react(&dm, first.event_id(), "⏱️").await;
    let extended = alice
        .wait_for("the panel with 2 min added", panel("+ 2 min added"))
        .await;
    assert_eq!(extended.room, first.room, "the panel stays in the DM");
    alice.react(&dm, extended.event_id(), "⏩").await;
    bob.wait_for("the quick phrase, in the room", |s| {
        said(s) && s.room == rid && s.body().contains("It's time to move on to the next person.")
    })
    .await;

    // Act: Bob, the back-up, presses Open the panel on the room's post.
    bob.react(&bob_room, started.event_id(), "📋").await;
    let bobs = bob
        .wait_for("the panel, by DM to the back-up", |s| {
            said(s) && s.room != rid && s.body().starts_with("Your panel · Grief circle")
        })
        .await;
    assert!(bobs.body().contains("+ 2 min added"), "{}", bobs.body());

    // Assert: once, no late notice to the back-up, no panel for Bob.
    let starts_said = alice
        .all(|s| said(s) && s.room == rid && s.body().starts_with("Grief circle · The meeting has started"))
        .await;
    assert_eq!(starts_said.len(), 1, "{starts_said:?}");
    assert!(
        bob.all(|s| said(s) && s.body().contains("hasn't started"))
            .await
            .is_empty(),
        "the back-up was told the chair is late"
    );
    assert!(
        alice
            .all(|s| said(s) && s.room == rid && s.body().contains("Your panel"))
            .await
            .is_empty(),
        "a panel reached the room"
    );
    bot.stop().await;
}
