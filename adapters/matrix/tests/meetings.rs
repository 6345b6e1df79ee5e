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

use bot_core::Clock as _;
use bot_core::{BoxFuture, CoreConfig, Delivery, DeliveryError, Effect, Hearth, Outbox, Scheduler, Store};
use chrono::{Duration, Utc};
use common::{Bot, Member, Seen, bot_config, bot_said, hearth_on_a_manual_clock, room_with_bot, synapse};
use matrix_sdk::Room;
use matrix_sdk::ruma::{RoomId, UserId};

/// A command from a community admin in `room`, straight to the core: quicker
/// than through the room when what is tested is what comes out.
async fn admin_says(hearth: &Hearth, admin: &UserId, room: &RoomId, text: String) -> bot_core::Response {
    let input = bot_core::Input {
        actor: bot_core::Actor {
            user: admin.to_string(),
            name: "alice".into(),
            platform_admin: true,
            platform_facilitator: false,
            may_mute: false,
        },
        place: bot_core::Place {
            platform: bot_core::Platform::Matrix,
            community: room.to_string(),
            channel: room.to_string(),
        },
        kind: bot_core::InputKind::Command(bot_core::parse::parse_command(&text).unwrap()),
    };
    hearth.handle(&input).await
}

/// Alice creates Grief circle in `room` and schedules it weekly from `first`
/// at 19:00 UTC; Bob says yes to its meeting on `going` from his own view of
/// the room. Each waits for the bot's answer before going on, as people do.
async fn weekly_grief_circle_and_bobs_yes(
    alice: &Member,
    room: &Room,
    bob: &Member,
    bob_room: &Room,
    from_bot: &impl Fn(&Seen) -> bool,
    first: &str,
    going: &str,
) {
    alice
        .say(room, r#"!group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    alice
        .say(
            room,
            &format!(r#"!meeting schedule group:"Grief circle" when:"{first} 19:00" repeat:weekly timezone:UTC"#),
        )
        .await;
    alice
        .wait_for("the schedule", |s| {
            from_bot(s) && s.body().contains("Scheduled: Grief circle")
        })
        .await;
    bob.say(
        bob_room,
        &format!("!meeting rsvp meeting:1 occurrence:{going} answer:yes"),
    )
    .await;
    bob.wait_for("the RSVP thanks", |s| {
        from_bot(s) && s.body().contains("you're going to Grief circle")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_arrive_in_the_room_and_by_dm_and_crisis_lines_privately() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let (hearth, clock) = hearth_on_a_manual_clock().await;
    let start = clock.now();
    let bot = Bot::start(hearth.clone(), bot_config(&synapse, dir.path()).await).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, true, &[&bob]).await;
    let rid = room.room_id().to_owned();
    let from_bot = bot_said(&bot);

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
    // A country by name, as people type it: lines, never a correction.
    bob.say(&bob.room(&rid), "!crisis the United States").await;
    let by_name = bob
        .wait_for("crisis lines by name", |s| {
            from_bot(s) && s.body().contains("Crisis lines") && s.body().contains("988 Suicide & Crisis Lifeline")
        })
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
    // Matrix has reactions, not buttons: the card says "below", where they are explained.
    assert!(
        scheduled.body().contains("RSVP below") && !scheduled.body().contains("buttons"),
        "{}",
        scheduled.body()
    );
    assert_ne!(crisis.room, rid, "crisis lines are private");
    assert_ne!(by_name.room, rid, "crisis lines are private");
    assert!(
        !by_name.body().contains("Samaritans"),
        "just the country asked: {}",
        by_name.body()
    );
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

/// Matrix clients take a reaction back when it is pressed again: that
/// second press undoes the first (the RSVP goes back to none), and a third
/// answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_back_an_rsvp_reaction_leaves_no_answer_and_pressing_again_answers_again() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let hearth = Hearth::new(
        Store::in_memory().await.unwrap(),
        Arc::new(bot_core::SystemClock),
        CoreConfig::default(),
    );
    let bot = Bot::start(hearth, bot_config(&synapse, dir.path()).await).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[&bob]).await;
    let rid = room.room_id().to_owned();
    let from_bot = bot_said(&bot);
    alice
        .say(&room, r#"!group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    alice
        .wait_for("the group's card", |s| {
            from_bot(s) && s.body().starts_with("Grief circle")
        })
        .await;
    alice
        .say(&room, r#"!meeting schedule group:"Grief circle" when:"in 3h""#)
        .await;
    let card = bob
        .wait_for("the schedule with its buttons", |s| {
            from_bot(s) && s.body().contains("Scheduled: Grief circle")
        })
        .await;
    let in_dm = |what: &'static str| {
        let from_bot = from_bot.clone();
        let rid = rid.clone();
        move |s: &Seen| from_bot(s) && s.room != rid && s.body().contains(what)
    };
    let bobs_room = bob.room(&rid);

    let press = bob.react(&bobs_room, card.event_id(), "👍").await;
    bob.wait_for("the RSVP thanks", in_dm("you're going to Grief circle"))
        .await;
    bob.take_back(&bobs_room, &press).await;
    let taken_back = bob.wait_for("the answer taken back", in_dm("is taken back")).await;
    bob.react(&bobs_room, card.event_id(), "👍").await;
    let thanks_again = async {
        loop {
            let thanks = bob.all(in_dm("you're going to Grief circle")).await;
            if thanks.len() == 2 {
                return thanks;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    };
    let thanks = tokio::time::timeout(std::time::Duration::from_secs(30), thanks_again)
        .await
        .expect("the third press answered again");

    assert!(taken_back.body().contains("no answer for now"), "{}", taken_back.body());
    assert!(thanks[1].ts() > taken_back.ts());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_move_cancel_calendar_and_reminder_settings_work_through_matrix() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let hearth = Hearth::new(
        Store::in_memory().await.unwrap(),
        Arc::new(bot_core::SystemClock),
        CoreConfig::default(),
    );
    let bot = Bot::start(hearth.clone(), bot_config(&synapse, dir.path()).await).await;
    // Notices of changes are jobs: the scheduler delivers them, as in the binary.
    let outbox: Arc<dyn Outbox> = Arc::new(bot.outbox.clone());
    let scheduler = tokio::spawn(Scheduler::new(hearth, vec![outbox]).run(std::future::pending()));
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[&bob]).await;
    let rid = room.room_id().to_owned();
    let from_bot = bot_said(&bot);
    let bob_room = bob.room(&rid);

    // Dates within the coming month, so that the list shows them.
    let day = |n: i64| (Utc::now() + Duration::days(n)).format("%Y-%m-%d").to_string();
    let (first, second, third) = (day(1), day(8), day(15));
    // One command after another, each answered before the next, as people type.
    weekly_grief_circle_and_bobs_yes(&alice, &room, &bob, &bob_room, &from_bot, &first, &second).await;
    bob.say(&bob_room, "!reminders dm:on quiet:22:00-07:00").await;
    let settings = bob
        .wait_for("bob's settings", |s| {
            from_bot(s) && s.body().contains("Quiet hours: 22:00-07:00")
        })
        .await;
    bob.say(&bob_room, "!meeting list").await;
    let list = bob
        .wait_for("the list", |s| from_bot(s) && s.body().contains("Upcoming meetings"))
        .await;
    alice
        .say(
            &room,
            &format!(r#"!meeting move meeting:1 occurrence:{second} when:"{} 18:00""#, day(9)),
        )
        .await;
    let moved = bob
        .wait_for("the move notice", |s| {
            from_bot(s) && s.body().contains("Moved: Grief circle")
        })
        .await;
    alice
        .say(&room, &format!("!meeting cancel meeting:1 occurrence:{third}"))
        .await;
    let cancelled = alice
        .wait_for("the cancel reply", |s| {
            from_bot(s) && s.body().contains("Cancelled Grief circle on")
        })
        .await;
    bob.say(&bob_room, "!meeting calendar").await;
    let calendar = bob
        .wait_for("the calendar file", |s| {
            from_bot(s) && s.event["content"]["msgtype"] == "m.file"
        })
        .await;

    assert_ne!(settings.room, rid, "settings are private");
    // Bob has no zone of his own: the list, in the community's zone, tells
    // nothing about him and is a reply in the room.
    assert_eq!(list.room, rid, "the list says nothing personal");
    assert!(
        list.body().contains(&format!("Grief circle (meeting 1, {first})")),
        "{}",
        list.body()
    );
    assert_ne!(moved.room, rid, "those who said yes are told by DM");
    assert!(
        moved.body().contains("now happens") && moved.body().contains(", 18:00 UTC"),
        "{}",
        moved.body()
    );
    assert_eq!(cancelled.room, rid);
    assert_eq!(calendar.room, rid, "the group's calendar is nothing personal");
    assert!(
        calendar.event["content"].to_string().contains("meetings.ics"),
        "{:#}",
        calendar.event
    );

    // Once Bob is in a group that gives its link to members alone, his
    // calendar holds it: it reaches him by DM, never the room.
    alice
        .say(
            &room,
            r#"!group create name:Caregivers topic:care led_by:peer location:https://meet.example/care?pwd=SeCrEt9 registration:"Write to Alice""#,
        )
        .await;
    alice
        .wait_for("the closed group's card", |s| {
            from_bot(s) && s.body().starts_with("Caregivers")
        })
        .await;
    alice
        .say(&room, &format!("!group join group:Caregivers user:{}", bob.user_id))
        .await;
    alice
        .wait_for("bob admitted", |s| {
            from_bot(s) && s.body().contains("is now in Caregivers")
        })
        .await;
    alice
        .say(
            &room,
            &format!(r#"!meeting schedule group:Caregivers when:"{} 19:00""#, day(3)),
        )
        .await;
    alice
        .wait_for("its meeting", |s| {
            from_bot(s) && s.body().contains("Scheduled: Caregivers")
        })
        .await;
    let files_before = bob
        .all(|s| from_bot(s) && s.event["content"]["msgtype"] == "m.file")
        .await
        .len();
    bob.say(&bob_room, "!meeting calendar").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let his = loop {
        let files = bob
            .all(|s| from_bot(s) && s.event["content"]["msgtype"] == "m.file")
            .await;
        if files.len() > files_before {
            break files[files_before].clone();
        }
        assert!(std::time::Instant::now() < deadline, "no second calendar file");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_ne!(his.room, rid, "a calendar with a members-only link is his alone");
    scheduler.abort();
    bot.stop().await;
}

// Issue 30: a series changed from its third meeting on keeps its first two;
// the member who said yes to a later one is told once, by DM; in the
// group's home room a command needing a group takes it; a setting goes
// back to its default with clear:.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_edited_from_its_third_meeting_tells_its_rsvper_once_the_home_room_names_the_group_and_clear_resets_a_setting_through_matrix()
 {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let hearth = Hearth::new(
        Store::in_memory().await.unwrap(),
        Arc::new(bot_core::SystemClock),
        CoreConfig::default(),
    );
    let bot = Bot::start(hearth.clone(), bot_config(&synapse, dir.path()).await).await;
    let outbox: Arc<dyn Outbox> = Arc::new(bot.outbox.clone());
    let scheduler = tokio::spawn(Scheduler::new(hearth, vec![outbox]).run(std::future::pending()));
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[&bob]).await;
    let rid = room.room_id().to_owned();
    let from_bot = bot_said(&bot);
    let bob_room = bob.room(&rid);
    let day = |n: i64| (Utc::now() + Duration::days(n)).format("%Y-%m-%d").to_string();
    let (first, third) = (day(1), day(15));
    weekly_grief_circle_and_bobs_yes(&alice, &room, &bob, &bob_room, &from_bot, &first, &third).await;

    alice
        .say(&room, &format!("!meeting edit meeting:1 from:{third} when:18:00"))
        .await;
    let edited = alice
        .wait_for("the edit", |s| {
            from_bot(s) && s.body().contains("Changed: Grief circle")
        })
        .await;
    let told = bob
        .wait_for("the change notice", |s| {
            from_bot(s) && s.body().contains("Your next one, on")
        })
        .await;
    // Issue 30: in the group's home room, a command needing a group takes it.
    bob.say(&bob_room, "!group info").await;
    let card = bob
        .wait_for("the card of the group at home here", |s| {
            from_bot(s) && s.body().contains("Focus: grief")
        })
        .await;
    // Times as people write them, said back as read; help for a family.
    alice
        .say(
            &room,
            "!meeting schedule when:next friday at 7pm timezone:UTC confirm:yes",
        )
        .await;
    let next_friday = alice
        .wait_for("the schedule read back", |s| {
            from_bot(s) && s.body().contains(r#"I read "next friday" as"#)
        })
        .await;
    bob.say(&bob_room, "!help meeting").await;
    let family = bob
        .wait_for("the /meeting commands", |s| {
            from_bot(s) && s.body().contains("meeting edit:")
        })
        .await;
    bob.say(&bob_room, "!reminders leads:3h").await;
    bob.wait_for("bob's leads", |s| {
        from_bot(s) && s.body().contains("Before meetings: 3 hours")
    })
    .await;
    bob.say(&bob_room, "!reminders clear:leads").await;
    let reset = bob
        .wait_for("bob's leads reset", |s| {
            from_bot(s) && s.body().contains("each group's own lead times")
        })
        .await;

    assert_eq!(edited.room, rid, "the group's news, in its home");
    assert!(
        edited
            .body()
            .contains("The meetings before then stay as they were, as meeting 2."),
        "{}",
        edited.body()
    );
    assert_ne!(told.room, rid, "told by DM");
    assert!(
        told.body().contains("19:00 UTC, is now") && told.body().contains("18:00 UTC."),
        "{}",
        told.body()
    );
    assert_ne!(reset.room, rid, "own settings are private");
    assert_eq!(card.room, rid, "{}", card.body());
    assert!(next_friday.body().contains("at 19:00 UTC"), "{}", next_friday.body());
    assert!(family.body().contains("meeting schedule:"), "{}", family.body());
    scheduler.abort();
    bot.stop().await;
}

// Issue 9: real homeservers rate-limit bots, and reminders that fall due
// together go out together. On a Synapse with its default `rc_message` (0.2
// messages a second, bursts of 10; reactions count too), twenty reminders due
// at one instant in one room arrive as two digests of ten, at once, every
// reminder once and in order. Their twenty numbered buttons follow: the SDK
// waits out each 429 as Synapse asks, and nothing fails. A member's press on
// a digest's third button RSVPs to the third meeting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_reminders_at_once_arrive_as_two_digests_with_all_buttons_under_synapses_default_rate_limit() {
    let synapse = common::strict_synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let (hearth, clock) = hearth_on_a_manual_clock().await;
    let start = clock.now();
    let bot = Bot::start(hearth.clone(), bot_config(&synapse, dir.path()).await).await;
    let alice = Member::new(&synapse, "alice").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[]).await;
    let rid = room.room_id().to_owned();

    let say = |text: String| admin_says(&hearth, &alice.user_id, &rid, text);
    say(r#"group create name:"Grief circle" topic:grief led_by:peer"#.into()).await;
    say("reminders group:#1 leads:1h".into()).await;
    // Twenty at one time: confirmed on purpose (one time twice asks first).
    for n in 1..=20 {
        let scheduled = say(format!(
            r#"meeting schedule group:#1 when:"in 2h" timezone:UTC title:"Order {n:02}" confirm:yes"#
        ))
        .await;
        assert!(scheduled.reply.is_some());
    }

    let outbox: Arc<dyn Outbox> = Arc::new(bot.outbox.clone());
    let due = start + Duration::hours(1);
    clock.set(due);
    let began = std::time::Instant::now();
    let report = Scheduler::new(hearth.clone(), vec![outbox]).tick(due).await.unwrap();
    let took = began.elapsed();

    let me = bot.user_id.to_string();
    let from_bot = |s: &common::Seen| s.sender() == me && s.room == rid;
    alice
        .wait_for("the second digest", |s| from_bot(s) && s.body().contains("Order 20"))
        .await;
    let digests = alice
        .all(|s| from_bot(s) && s.kind() == "m.room.message" && s.body().contains("Order "))
        .await;
    let expected: Vec<String> = (1..=20).map(|n| format!("{n:02}")).collect();
    eprintln!(
        "20 reminders due at once under rc_message 0.2/s burst 10: {} messages, sent after {:.1} s",
        digests.len(),
        took.as_secs_f64()
    );
    assert_eq!(report.sent, 20, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(digests.len(), 2, "two digests of ten");
    assert!(
        digests[0].body().starts_with("Reminders: 10 meetings"),
        "{}",
        digests[0].body()
    );
    let mut entries: Vec<String> = Vec::new();
    for d in &digests {
        for line in d
            .body()
            .lines()
            .filter(|l| l.contains(". Order ") && l.contains(" starts in 1 hour"))
        {
            entries.push(line.split(". Order ").nth(1).unwrap().chars().take(2).collect());
        }
    }
    assert_eq!(entries, expected, "each reminder once, in order");

    // The buttons follow, numbered, under the limit: all twenty land.
    let first = digests[0].event_id();
    let second = digests[1].event_id();
    let buttons = |s: &common::Seen| {
        from_bot(s)
            && s.kind() == "m.reaction"
            && [first.as_str(), second.as_str()].contains(
                &s.event["content"]["m.relates_to"]["event_id"]
                    .as_str()
                    .unwrap_or_default(),
            )
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while alice.all(buttons).await.len() < 20 {
        assert!(std::time::Instant::now() < deadline, "the buttons never all landed");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let buttons_took = began.elapsed();
    eprintln!("their 20 buttons landed after {:.1} s", buttons_took.as_secs_f64());
    // The limit was in force: after a burst of ten, one send every five seconds.
    assert!(buttons_took >= std::time::Duration::from_secs(30), "{buttons_took:?}");
    assert_eq!(alice.all(buttons).await.len(), 20, "each button once");

    // Alice presses 3️⃣ on the first digest: she is going to "Order 03".
    alice.react(&room, first, "3️⃣").await;
    alice
        .wait_for("the RSVP thanks", |s| {
            s.sender() == me && s.body().contains("you're going to Order 03")
        })
        .await;
    bot.stop().await;
}

/// The bot's outbox, keeping a copy of each delivery it carries out.
struct Recording {
    outbox: hearth_matrix::MatrixOutbox,
    sent: std::sync::Mutex<Vec<Delivery>>,
}

impl Outbox for Recording {
    fn platform(&self) -> bot_core::Platform {
        bot_core::Platform::Matrix
    }

    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), DeliveryError>> {
        self.sent.lock().unwrap().push(delivery.clone());
        self.outbox.deliver(delivery)
    }
}

/// Runs the soak's reader (scripts/soak/reader.py) on `room` as Synapse
/// serves it, as `member` reads it: how many of the bot's messages carried
/// each title.
fn soak_reader(
    synapse: &common::Synapse,
    member: &Member,
    room: &RoomId,
    bot: &UserId,
    titles: &[String],
) -> std::collections::BTreeMap<String, u64> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/soak/reader.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args([
            "--homeserver",
            &synapse.url,
            "--room",
            room.as_str(),
            "--sender",
            bot.as_str(),
        ])
        .args(titles)
        .env("HEARTH_READER_TOKEN", member.client.access_token().unwrap())
        .output()
        .expect("python3 runs the soak's reader");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

// Issue 31: the kill -9 soak counts a reminder in whatever message carries
// it. Its reader (scripts/soak/reader.py), run on a room as Synapse serves
// it, counts each reminder once whether it came alone (a card), in a digest
// of three, or among twelve due together (two digests), though a digest
// names each twice; neither the bot's buttons nor a member's reaction nor an
// edit of a card counts; a meeting never due counts none; a card sent twice
// counts twice. Every message is Hearth's own rendering, sent by the adapter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soak_reader_counts_each_reminder_once_in_cards_and_digests_and_never_in_edits_reactions_or_answers() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let (hearth, clock) = hearth_on_a_manual_clock().await;
    let start = clock.now();
    let bot = Bot::start(hearth.clone(), bot_config(&synapse, dir.path()).await).await;
    let alice = Member::new(&synapse, "alice").await;
    // Unencrypted, as the soak's room is: the reader reads bodies.
    let room = room_with_bot(&alice, &bot.user_id, false, &[]).await;
    let rid = room.room_id().to_owned();
    let say = |text: String| admin_says(&hearth, &alice.user_id, &rid, text);
    say(r#"group create name:"Grief circle" topic:grief led_by:peer"#.into()).await;
    say("reminders group:#1 leads:1h".into()).await;
    let mut titles: Vec<(String, i64)> = vec![("Solo".into(), 2)];
    titles.extend((1..=3).map(|n| (format!("Trio {n}"), 3)));
    // In lower case, as the soak's are: a digest's button legend, lower
    // case, names them a second time.
    titles.extend((1..=12).map(|n| (format!("dozen {n:02}"), 4)));
    titles.push(("Never".into(), 30));
    // Several at one time on purpose: confirmed (issue 23 asks before a
    // group meets twice at once).
    for (title, hours) in &titles {
        let scheduled = say(format!(
            r#"meeting schedule group:#1 when:"in {hours}h" timezone:UTC title:"{title}" confirm:yes"#
        ))
        .await;
        let heading = scheduled.reply.and_then(|r| r.message.title);
        assert!(
            heading.as_deref().is_some_and(|t| t.starts_with("Scheduled")),
            "{title}: {heading:?}"
        );
    }
    let titles: Vec<String> = titles.into_iter().map(|(t, _)| t).collect();
    let me = bot.user_id.to_string();
    let from_bot = |s: &Seen| s.sender() == me && s.room == rid;

    let recording = Arc::new(Recording {
        outbox: bot.outbox.clone(),
        sent: std::sync::Mutex::new(Vec::new()),
    });
    let outbox: Arc<dyn Outbox> = recording.clone();
    let scheduler = Scheduler::new(hearth.clone(), vec![outbox]);
    let mut sent = 0;
    for hours in 1..=3 {
        let due = start + Duration::hours(hours);
        clock.set(due);
        sent += scheduler.tick(due).await.unwrap().sent;
    }
    let card = alice
        .wait_for("the card", |s| from_bot(s) && s.body().starts_with("Reminder: Solo"))
        .await;
    alice
        .wait_for("the last digest", |s| {
            from_bot(s) && s.body().starts_with("Reminders: 2 meetings")
        })
        .await;
    // The buttons: three on the card, one a meeting on the digests.
    let buttons = |s: &Seen| from_bot(s) && s.kind() == "m.reaction";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while alice.all(buttons).await.len() < 3 + 3 + 12 {
        assert!(std::time::Instant::now() < deadline, "the buttons never all landed");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    // An edit of the card, through the adapter's own m.replace.
    let solo = recording.sent.lock().unwrap()[0].clone();
    let Effect::Post { channel, message, .. } = &solo.effect else {
        panic!("the card goes to the room: {solo:?}");
    };
    let edit = Delivery {
        community: solo.community.clone(),
        effect: Effect::Status {
            channel: channel.clone(),
            key: "edit".into(),
            message: message.clone(),
            edit: Some(card.event_id().to_string()),
        },
    };
    bot.outbox.deliver(&edit).await.unwrap();
    alice
        .wait_for("the edit", |s| {
            from_bot(s) && s.event["content"]["m.relates_to"]["rel_type"] == "m.replace"
        })
        .await;
    // A member presses a button on the card.
    alice.react(&room, card.event_id(), "👍").await;
    alice
        .wait_for("alice's reaction", |s| {
            s.sender() == alice.user_id.as_str() && s.kind() == "m.reaction"
        })
        .await;

    // A change typed in the group's home room: its answer names the meeting
    // ("Moved Never from …") and is a reply to the command, not a reminder.
    // Meeting 17 is "Never", the last scheduled.
    alice
        .say(&room, r#"!meeting move meeting:17 when:"in 40h" confirm:yes"#)
        .await;
    alice
        .wait_for("the move's answer", |s| {
            from_bot(s) && s.kind() == "m.room.message" && s.body().starts_with("Moved Never")
        })
        .await;

    let once = soak_reader(&synapse, &alice, &rid, &bot.user_id, &titles);
    // Then the card again, under a fresh transaction: a true repeat.
    let Effect::Post { channel, message, .. } = solo.effect else {
        unreachable!("matched above");
    };
    let again = Delivery {
        community: solo.community,
        effect: Effect::Post {
            channel,
            message,
            key: None,
        },
    };
    bot.outbox.deliver(&again).await.unwrap();
    let twice = soak_reader(&synapse, &alice, &rid, &bot.user_id, &titles);

    let digests: Vec<String> = alice
        .all(|s| from_bot(s) && s.kind() == "m.room.message" && s.body().starts_with("Reminders: "))
        .await
        .iter()
        .map(|s| s.body().lines().next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(sent, 16, "every due reminder went out");
    assert_eq!(
        digests,
        [
            "Reminders: 3 meetings",
            "Reminders: 10 meetings",
            "Reminders: 2 meetings"
        ],
        "the forms the reader is fed"
    );
    for title in &titles {
        let expected = u64::from(title != "Never");
        assert_eq!(once[title], expected, "{title} in {once:?}");
        assert_eq!(
            twice[title],
            expected + u64::from(title == "Solo"),
            "{title} in {twice:?}"
        );
    }
    bot.stop().await;
}
