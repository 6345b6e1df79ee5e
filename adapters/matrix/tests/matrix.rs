//! Hearth on Matrix end to end, against the real Synapse that
//! `scripts/synapse/start` runs on 127.0.0.1. Members are real matrix-sdk
//! clients, so encrypted rooms are really encrypted.

#![recursion_limit = "256"]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should fail loudly"
)]

mod common;

use std::time::Duration;

use bot_core::io::{Delivery, Outbox};
use bot_core::{Effect, Line, Message, Span};
use common::{
    Bot, Member, Seen, alice_and_bob_with_the_bot, bot_config, bot_on, bot_said, hearth, room_with_bot,
    room_with_bot_in, synapse, unique,
};
use matrix_sdk::media::{MediaFormat, MediaRequestParameters};
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::message::FileMessageEventContent;
use serde_json::json;

/// The whole member journey in one room: help, creating a group, its card,
/// joining it by reaction, the directory, a private command, a refusal.
async fn commands_work_in_a_room(encrypted: bool) {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;

    // Arrange: alice creates the room (v12: its creator is admin) and invites
    // the bot and bob; the bot joins by itself.
    let room = room_with_bot(&alice, &bot.user_id, encrypted, &[&bob]).await;
    let rid = room.room_id().to_owned();
    let bob_room = bob.room(&rid);
    let said = bot_said(&bot);

    // !help is private but not personal: Matrix has no ephemeral replies,
    // so it comes as a reply in the room, and opens no DM.
    let asked = alice.say(&room, "!help").await;
    let help = alice
        .wait_for("the help in the room", |s| {
            said(s) && s.in_reply_to() == Some(asked.as_str()) && s.body().starts_with("Hearth commands")
        })
        .await;
    assert_eq!(help.room, rid);
    assert_eq!(help.event["content"]["msgtype"], "m.notice");
    assert!(help.html().contains("<code>!group create</code>"));

    // !group create: a public reply to the command, in the room.
    let create = alice
        .say(&room, r#"!group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    let created = alice
        .wait_for("the new group's card", |s| {
            said(s) && s.room == rid && s.in_reply_to() == Some(create.as_str())
        })
        .await;
    assert!(
        created.body().contains("Created. This is its info card:"),
        "{}",
        created.body()
    );
    assert_eq!(created.encrypted, encrypted);
    assert_eq!(created.event["content"]["msgtype"], "m.notice");
    assert_eq!(created.event["content"]["format"], "org.matrix.custom.html");
    assert!(created.html().contains("<strong>Grief circle</strong>"));
    assert_eq!(created.event["content"]["m.mentions"], json!({ "user_ids": [] }));

    // !group info from bob: the card, with its Join button as a reaction.
    let info = bob.say(&bob_room, r#"!group info group:"Grief circle""#).await;
    let card = bob
        .wait_for("the info card", |s| said(s) && s.in_reply_to() == Some(info.as_str()))
        .await;
    assert!(card.body().contains("React ➕ to join, or type !group join group:#"));
    assert_eq!(card.event["content"]["org.hearth.buttons"][0]["emoji"], "➕");
    let card_id = card.event_id();
    bob.wait_for("the bot's ➕ on the card", |s| {
        s.sender() == bot.user_id.as_str()
            && s.kind() == "m.reaction"
            && s.event["content"]["m.relates_to"]["event_id"] == card_id.as_str()
            && s.event["content"]["m.relates_to"]["key"] == "➕"
    })
    .await;

    // Bob presses ➕: he joins, and is told so privately.
    bob.react(&bob_room, card_id, "➕").await;
    let joined = bob
        .wait_for("the join confirmation in a DM", |s| {
            said(s) && s.room != rid && s.body().contains("You've joined Grief circle")
        })
        .await;
    assert!(joined.encrypted, "DM rooms are encrypted");

    // !group list: the directory, publicly.
    let list = alice.say(&room, "!group list").await;
    let listed = alice
        .wait_for("the directory", |s| said(s) && s.in_reply_to() == Some(list.as_str()))
        .await;
    assert!(listed.body().contains("Grief circle"), "{}", listed.body());

    // A file (the Meeting Guide JSON) is uploaded, encrypted in encrypted
    // rooms. Asked for in a room, it goes to the asker alone (issue 30):
    // a large file for whoever publishes the listing, not a post for all.
    alice.say(&room, "!group list format:meeting_guide").await;
    let guide_reply = alice
        .wait_for("the Meeting Guide message", |s| {
            said(s) && s.body().contains("Meeting Guide format")
        })
        .await;
    assert_ne!(guide_reply.room, rid, "to the asker alone");
    assert!(guide_reply.body().contains("Attached: "), "{}", guide_reply.body());
    let file = alice
        .wait_for("the Meeting Guide file", |s| {
            said(s) && s.room == guide_reply.room && s.event["content"]["msgtype"] == "m.file"
        })
        .await;
    assert!(file.encrypted, "DM rooms are encrypted");
    assert!(file.event["content"].get("file").is_some(), "an encrypted upload");
    let content: FileMessageEventContent = serde_json::from_value(file.event["content"].clone()).unwrap();
    let request = MediaRequestParameters {
        source: content.source,
        format: MediaFormat::File,
    };
    let bytes = alice.client.media().get_media_content(&request, false).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(json.is_array(), "Meeting Guide reads a simple array: {json}");

    // !timezone is private: it goes to the DM room the bot already has with bob.
    bob.say(&bob_room, "!timezone zone:Europe/Berlin").await;
    let zone = bob
        .wait_for("the timezone answer", |s| {
            said(s) && s.body().contains("Your time zone is now Europe/Berlin")
        })
        .await;
    assert_eq!(zone.room, joined.room, "the DM room is reused");

    // A refused command says what role it needs: nothing personal in that,
    // so it is a reply in the room.
    let refused = bob
        .say(
            &bob_room,
            r#"!group create name:"Other circle" topic:grief led_by:peer"#,
        )
        .await;
    let refusal = bob
        .wait_for("the refusal", |s| {
            said(s) && s.in_reply_to() == Some(refused.as_str()) && s.body().contains("community admin")
        })
        .await;
    assert_eq!(refusal.room, rid);

    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_work_in_a_plain_room() {
    commands_work_in_a_room(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_work_in_an_encrypted_room() {
    commands_work_in_a_room(true).await;
}

/// Claims one of the bot's one-time keys as `by` (see `common::claim_one_time_key`).
async fn claim_bots_key(by: &Member, bot: &Bot) -> Option<bool> {
    common::claim_one_time_key(by, &bot.user_id, &bot.device_id).await
}

/// When members' clients claim the bot's one-time keys, the bot must make and
/// upload new ones, or new members could only ever open sessions on its
/// fallback key. (It also holds for the change to matrix-sdk-crypto proposed
/// in docs/upstream/, which applies the key counts only when they change.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_keys_others_claim_from_the_bot_are_replaced() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[]).await;
    let until_a_one_time_key = |what: &'static str| {
        let (alice, bot) = (&alice, &bot);
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while claim_bots_key(alice, bot).await != Some(true) {
                assert!(std::time::Instant::now() < deadline, "{what}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    until_a_one_time_key("the bot never uploaded one-time keys").await;

    // Claim far more than the 50 keys the bot holds at a time. Either the
    // server ran out and handed out the fallback key, or the bot kept making
    // new keys as they went.
    let (mut one_time, mut fallback) = (1, 0);
    for _ in 0..120 {
        match claim_bots_key(&alice, &bot).await {
            Some(true) => one_time += 1,
            Some(false) => fallback += 1,
            None => {}
        }
    }
    assert!(
        fallback > 0 || one_time > 50,
        "{one_time} one-time keys and {fallback} fallbacks"
    );

    // Once claimed, keys are replaced: the bot's next sync sees the count move.
    // (A claim wakes no sync: the server's count comes with the next response,
    // here for alice's message rather than at the 30 s long-poll timeout.)
    alice.say(&room, "hello").await;
    until_a_one_time_key("the bot never replaced its claimed one-time keys").await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_the_device_and_answers_nothing_old() {
    let synapse = synapse().await;
    let (_, admin_token) = synapse.register(&unique("admin"), true).await;
    let dir = tempfile::tempdir().unwrap();
    let config = bot_config(&synapse, dir.path()).await;
    let hearth = hearth().await;
    let bot = Bot::start(hearth.clone(), config.clone()).await;
    let device = bot.device_id.clone();
    let bot_id = bot.user_id.clone();
    // Registration made a device of its own; the bot's login made one more.
    let devices = synapse.devices(&admin_token, &bot_id).await;
    assert!(devices.contains(&device));
    let alice = Member::new(&synapse, "alice").await;
    let room = room_with_bot(&alice, &bot_id, true, &[]).await;
    let replies_to = |id: String| {
        let bot_id = bot_id.clone();
        move |s: &Seen| s.sender() == bot_id.as_str() && s.in_reply_to() == Some(id.as_str())
    };

    let before = alice.say(&room, "!group list").await;
    alice.wait_for("the first answer", replies_to(before.to_string())).await;
    // A personal answer opens alice's DM with the bot.
    let in_dm =
        |s: &Seen| s.sender() == bot_id.as_str() && s.room != room.room_id() && s.body().contains("Crisis lines");
    alice.say(&room, "!crisis").await;
    let dm = alice.wait_for("the crisis lines by DM", in_dm).await.room;
    // A reminder goes out just before the bot stops...
    let reminder = Delivery {
        community: room.room_id().to_string(),
        effect: Effect::Post {
            channel: room.room_id().to_string(),
            message: Message::titled("Reminder across a restart"),
            key: Some(unique("meeting-7/occurrence/lead-24h/room")),
        },
    };
    bot.outbox.deliver(&reminder).await.unwrap();
    bot.stop().await;

    // While the bot is away.
    let during = alice.say(&room, "!group list").await;

    // Restart with no password at all: a login would fail.
    let mut again = config.clone();
    again.password_env = None;
    again.password_file = None;
    let bot = Bot::start(hearth.clone(), again).await;
    println!("restarted at {}", chrono::Utc::now().timestamp_millis());
    assert_eq!(bot.device_id, device, "same device after a restart");
    assert_eq!(synapse.devices(&admin_token, &bot_id).await, devices, "no new device");

    // It still decrypts and answers new messages in the encrypted room.
    // ...and, the crash having lost the record of it, again after the restart.
    bot.outbox.deliver(&reminder).await.unwrap();

    let after = alice.say(&room, "!group list").await;
    let answer = alice
        .wait_for("an answer after the restart", replies_to(after.to_string()))
        .await;
    assert!(answer.encrypted);
    // The room state came back whole with the first sync: the next personal
    // answer goes to the same DM, not a new one.
    alice.say(&room, "!crisis").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while alice.all(in_dm).await.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no second DM answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rooms: Vec<_> = alice.all(in_dm).await.into_iter().map(|s| s.room).collect();
    assert_eq!(rooms, [dm.clone(), dm], "both personal answers in one DM");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        alice.all(replies_to(before.to_string())).await.len(),
        1,
        "answered once"
    );
    let answered = alice.all(replies_to(during.to_string())).await;
    assert!(
        answered.is_empty(),
        "a message from before the bot started is not answered: {during} at {} answered by {:?}",
        alice.all(|s| s.event_id() == during).await[0].ts(),
        answered.iter().map(|s| (s.ts(), s.event_id())).collect::<Vec<_>>()
    );
    assert_eq!(
        alice.all(|s| s.body() == "Reminder across a restart").await.len(),
        1,
        "a delivery retried after a restart is not repeated"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_text_cannot_make_the_bot_ping() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[&bob]).await;
    let said = bot_said(&bot);

    let name = "@room <a href='https://matrix.to/#/@eve:localhost'>eve</a>";
    let description = format!("Hi @ROOM and {} and <b>@room</b>", bob.user_id);
    let create = alice
        .say(
            &room,
            &format!(r#"!group create name:"{name}" topic:grief led_by:peer description:"{description}""#),
        )
        .await;
    let card = alice
        .wait_for("the card", |s| said(s) && s.in_reply_to() == Some(create.as_str()))
        .await;
    let body = card.body().to_lowercase();
    let html = card.html().to_lowercase();
    assert!(!body.contains("@room"), "{body}");
    assert!(!html.contains("@room"), "{html}");
    assert!(!html.contains("<a href='https://matrix.to"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html.contains("&lt;a href="), "{html}");
    assert_eq!(card.event["content"]["m.mentions"], json!({ "user_ids": [] }));
    // Bob, named in the text, is not notified.
    assert!(body.contains(&bob.user_id.as_str().to_lowercase()));
    let bob_room = bob.room(room.room_id());
    bob.wait_for("the card", |s| s.event_id() == card.event_id()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bob_room.unread_notification_counts().highlight_count, 0);
    bot.stop().await;
}

/// A delivery the homeserver refuses for a revoked access token is not given
/// up: it waits for the next connection (the bot logging in again with its
/// password) and goes out through it. Here nothing syncs, so only the send
/// itself learns of the revoked token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_refused_for_a_revoked_token_goes_out_through_the_next_connection() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let config = bot_config(&synapse, dir.path()).await;
    let bot = Bot::start(hearth().await, config.clone()).await;
    let alice = Member::new(&synapse, "alice").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[]).await;
    let rid = room.room_id().to_owned();
    let outbox = bot.outbox.clone();
    bot.stop().await;
    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(config.store_dir.join("session.json")).unwrap()).unwrap();
    let logout = matrix_sdk::reqwest::Client::new()
        .post(format!("{}/_matrix/client/v3/logout", synapse.url))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success());
    let post = Delivery {
        community: rid.to_string(),
        effect: Effect::Post {
            channel: rid.to_string(),
            message: Message::titled("Reminder: after the revoked token"),
            key: Some(unique("revoked")),
        },
    };

    let delivering = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.deliver(&post).await }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = hearth_matrix::Matrix::connect(config.clone()).await.unwrap();
    again.deliver_through(&outbox);
    let delivered = delivering.await.unwrap();

    assert!(delivered.is_ok(), "{delivered:?}");
    alice
        .wait_for("the reminder, sent by the new connection", |s| {
            s.room == rid && s.body().starts_with("Reminder: after the revoked token")
        })
        .await;
    assert_ne!(again.device_id().unwrap(), session["device_id"].as_str().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_sent_once_per_key() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let room = room_with_bot(&alice, &bot.user_id, true, &[]).await;
    let rid = room.room_id().to_owned();

    let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T18:00:00Z")
        .unwrap()
        .to_utc();
    let reminder = Message::titled("Reminder: Grief circle").line(Line::text("Starts ").push(Span::Time {
        at,
        zone: chrono_tz::Europe::Berlin,
    }));
    let post = Delivery {
        community: rid.to_string(),
        effect: Effect::Post {
            channel: rid.to_string(),
            message: reminder.clone(),
            key: Some(unique("meeting-1/occurrence/lead-1h/room")),
        },
    };
    // A retry after a crash sends the same delivery again.
    bot.outbox.deliver(&post).await.unwrap();
    bot.outbox.deliver(&post).await.unwrap();
    let posted = alice
        .wait_for("the reminder in the room", |s| {
            s.room == rid && s.body().starts_with("Reminder: Grief circle")
        })
        .await;
    assert!(
        posted.body().contains("Tue 1 Dec 2026, 19:00 CET (Europe/Berlin)"),
        "{}",
        posted.body()
    );
    assert!(posted.encrypted);

    let dm = Delivery {
        community: rid.to_string(),
        effect: Effect::Dm {
            user: alice.user_id.to_string(),
            message: Message::titled("Reminder by DM"),
            key: Some(unique("meeting-1/occurrence/lead-1h/alice")),
        },
    };
    bot.outbox.deliver(&dm).await.unwrap();
    bot.outbox.deliver(&dm).await.unwrap();
    let dmed = alice
        .wait_for("the reminder by DM", |s| s.room != rid && s.body() == "Reminder by DM")
        .await;
    assert_ne!(dmed.room, rid);

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        alice
            .all(|s| s.body().starts_with("Reminder: Grief circle"))
            .await
            .len(),
        1,
        "a retried post is not repeated"
    );
    assert_eq!(
        alice.all(|s| s.body() == "Reminder by DM").await.len(),
        1,
        "a retried DM is not repeated"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_from_other_servers_are_declined() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = bot_config(&synapse, dir.path()).await;
    config.allowed_servers = Some(vec!["example.org".to_string()]);
    let bot = Bot::start(hearth().await, config).await;
    let alice = Member::new(&synapse, "alice").await;
    let room = alice.create_room(false, &[&bot.user_id]).await;
    alice
        .wait_membership(room.room_id(), &bot.user_id, MembershipState::Leave)
        .await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_of_a_space_share_a_community_and_power_levels_map_to_roles() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let said = bot_said(&bot);

    // Two rooms of one space (which lists them, and which the bot is in) are
    // one community.
    let space = alice.create_space_with(&bot.user_id).await;
    let first = room_with_bot_in(Some(space.room_id()), &alice, &bot.user_id, false, &[&bob]).await;
    let second = room_with_bot_in(Some(space.room_id()), &alice, &bot.user_id, false, &[&bob]).await;
    alice.add_child(&space, first.room_id()).await;
    alice.add_child(&space, second.room_id()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let create = alice
        .say(
            &first,
            r#"!group create name:"Caregivers" topic:caregiving led_by:peer"#,
        )
        .await;
    alice
        .wait_for("the new card", |s| said(s) && s.in_reply_to() == Some(create.as_str()))
        .await;
    let bob_second = bob.room(second.room_id());
    let list = bob.say(&bob_second, "!group list").await;
    let listed = bob
        .wait_for("the space's directory", |s| {
            said(s) && s.in_reply_to() == Some(list.as_str())
        })
        .await;
    assert!(listed.body().contains("Caregivers"), "{}", listed.body());

    // A room outside the space is another community.
    let elsewhere = room_with_bot(&alice, &bot.user_id, false, &[]).await;
    let list = alice.say(&elsewhere, "!group list").await;
    let other = alice
        .wait_for("another directory", |s| {
            said(s) && s.in_reply_to() == Some(list.as_str())
        })
        .await;
    assert!(!other.body().contains("Caregivers"), "{}", other.body());

    // Power level 0: bob may not edit the group.
    let bob_first = bob.room(first.room_id());
    bob.say(&bob_first, r#"!group edit group:Caregivers cost:free"#).await;
    bob.wait_for("the refusal", |s| {
        said(s) && s.body().contains("a facilitator of Caregivers or a community admin")
    })
    .await;

    // Power level 50 in the child room grants nothing: roles come from the space.
    first
        .update_power_levels(vec![(&bob.user_id, 50.into())])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let refused = bob.say(&bob_first, r#"!group edit group:Caregivers cost:free"#).await;
    bob.wait_for("the refusal again", |s| {
        said(s) && s.in_reply_to() == Some(refused.as_str()) && s.body().contains("a facilitator of Caregivers")
    })
    .await;

    // Power level 50 (the default facilitator level) in the space: now he may.
    space
        .update_power_levels(vec![(&bob.user_id, 50.into())])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let edit = bob.say(&bob_first, r#"!group edit group:Caregivers cost:free"#).await;
    let edited = bob
        .wait_for("the edited card", |s| said(s) && s.in_reply_to() == Some(edit.as_str()))
        .await;
    assert!(edited.body().contains("Cost: free"), "{}", edited.body());
    // A field is emptied with clear:, the same on every platform.
    let clear = bob.say(&bob_first, r#"!group edit group:Caregivers clear:cost"#).await;
    let cleared = bob
        .wait_for("the cleared card", |s| {
            said(s) && s.in_reply_to() == Some(clear.as_str())
        })
        .await;
    assert!(cleared.body().contains("Cost: Not stated"), "{}", cleared.body());
    // The space's admin retires the group: first what it would do, privately.
    alice.say(&first, "!group retire group:Caregivers").await;
    alice
        .wait_for("the retire preview", |s| {
            said(s) && s.room != first.room_id() && s.body().contains("confirm:yes")
        })
        .await;
    let retire = alice.say(&first, "!group retire group:Caregivers confirm:yes").await;
    let retired = alice
        .wait_for("the retirement", |s| {
            said(s) && s.in_reply_to() == Some(retire.as_str())
        })
        .await;
    assert!(retired.body().starts_with("Retired Caregivers"), "{}", retired.body());

    // A room claiming the space as its parent, unlisted by the space, is a
    // community of its own: its creator is no admin of the space's community.
    let claimant = room_with_bot_in(Some(space.room_id()), &bob, &bot.user_id, false, &[]).await;
    let list = bob.say(&claimant, "!group list").await;
    let own = bob
        .wait_for("the claimant's directory", |s| {
            said(s) && s.in_reply_to() == Some(list.as_str())
        })
        .await;
    assert!(!own.body().contains("Caregivers"), "{}", own.body());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_pressed_in_a_dm_acts_in_its_community() {
    let (bot, alice, bob, room) = alice_and_bob_with_the_bot(false).await;
    let rid = room.room_id().to_owned();
    let said = bot_said(&bot);
    let create = alice
        .say(&room, r#"!group create name:"Walkers" topic:grief led_by:peer"#)
        .await;
    let card = alice
        .wait_for("the card", |s| said(s) && s.in_reply_to() == Some(create.as_str()))
        .await;
    let join = card.event["content"]["org.hearth.buttons"][0]["command"]
        .as_str()
        .unwrap()
        .to_string();

    // A message by DM (a reminder, say) with a button, for the room's community.
    let invite = Delivery {
        community: rid.to_string(),
        effect: Effect::Dm {
            user: bob.user_id.to_string(),
            message: Message::titled("Walkers meets soon").button("Join", "➕", join),
            key: Some(unique("invite-bob")),
        },
    };
    bot.outbox.deliver(&invite).await.unwrap();
    let dm = bob
        .wait_for("the DM with a button", |s| {
            said(s) && s.body().starts_with("Walkers meets soon")
        })
        .await;
    assert_ne!(dm.room, rid);
    assert_eq!(dm.event["content"]["org.hearth.community"], rid.as_str());
    let dm_room = bob.wait_joined(&dm.room).await;

    // Pressed in the DM, it joins the group of the room's community.
    bob.react(&dm_room, dm.event_id(), "➕").await;
    bob.wait_for("the join confirmation", |s| {
        said(s) && s.room == dm.room && s.body().contains("You've joined Walkers")
    })
    .await;

    // Power level 100 in the DM room makes nobody an admin.
    bob.say(&dm_room, r#"!group create name:"Mine" topic:grief led_by:peer"#)
        .await;
    bob.wait_for("the refusal", |s| {
        said(s) && s.room == dm.room && s.body().contains("community admin")
    })
    .await;
    bot.stop().await;
}

// ---- the talking stick ----------------------------------------------------

use hearth_matrix::calls::CALL_MEMBER;
use matrix_sdk::Room;
use matrix_sdk::deserialized_responses::RawAnySyncOrStrippedState;
use matrix_sdk::ruma::events::StateEventType;

/// Lets every member send call memberships, as Element Call sets a room up.
async fn allow_call_memberships(room: &Room) {
    let current = room
        .get_state_event(StateEventType::RoomPowerLevels, "")
        .await
        .unwrap()
        .expect("the room's power levels");
    let RawAnySyncOrStrippedState::Sync(raw) = current else {
        panic!("stripped power levels")
    };
    let event: serde_json::Value = raw.deserialize_as().unwrap();
    let mut content = event["content"].clone();
    content["events"][CALL_MEMBER] = json!(0);
    room.send_state_event_raw("m.room.power_levels", "", content)
        .await
        .unwrap();
}

/// A membership as Element Call sends it for `user` on `device`.
fn call_membership(device: &str) -> serde_json::Value {
    json!({
        "application": "m.call",
        "call_id": "",
        "scope": "m.room",
        "device_id": device,
        "expires": 14_400_000,
        "focus_active": { "type": "livekit", "focus_selection": "oldest_membership" },
        "foci_preferred": [{ "type": "livekit", "livekit_service_url": "https://livekit.example.org" }],
        "m.call.intent": "audio",
    })
}

fn call_key(user: &str, device: &str) -> String {
    format!("_{user}_{device}_m.call")
}

/// The bot's status message in `room` (its first version) and its latest text.
fn status_text(s: &Seen) -> String {
    let content = &s.event["content"];
    content["m.new_content"]["body"]
        .as_str()
        .or_else(|| content["body"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_circle_follows_element_call_memberships_ignores_a_spoofed_one_and_takes_reactions_as_buttons() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let carol = Member::new(&synapse, "carol").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[&bob, &carol]).await;
    let rid = room.room_id().to_owned();
    let bob_room = bob.wait_joined(&rid).await;
    let said = bot_said(&bot);
    allow_call_memberships(&room).await;

    // Alice and Bob join the call; Bob also posts a membership in Carol's name.
    room.send_state_event_raw(
        CALL_MEMBER,
        &call_key(alice.user_id.as_str(), "ALICEDEV"),
        call_membership("ALICEDEV"),
    )
    .await
    .unwrap();
    bob_room
        .send_state_event_raw(
            CALL_MEMBER,
            &call_key(bob.user_id.as_str(), "BOBDEV"),
            call_membership("BOBDEV"),
        )
        .await
        .unwrap();
    bob_room
        .send_state_event_raw(
            CALL_MEMBER,
            &call_key(carol.user_id.as_str(), "FAKE"),
            call_membership("FAKE"),
        )
        .await
        .unwrap();
    let start = alice.say(&room, "!circle start").await;

    let status = alice
        .wait_for("the circle's status", |s| {
            said(s) && s.room == rid && s.body().starts_with("Talking circle") && s.body().contains("has the stick")
        })
        .await;
    assert_eq!(
        alice
            .all(|s| said(s) && s.in_reply_to() == Some(start.as_str()))
            .await
            .len(),
        1,
        "the start is answered once in the room; the status is its own message"
    );
    assert!(
        status.body().contains("2 people"),
        "carol's spoofed membership counts for no one: {}",
        status.body()
    );

    // Alice presses ➡️ (Next) on the status: the same message is edited, not posted again.
    let status_id = status.event_id();
    alice
        .wait_for("the bot's ➡️ on the status", |s| {
            s.sender() == bot.user_id.as_str()
                && s.kind() == "m.reaction"
                && s.event["content"]["m.relates_to"]["event_id"] == status_id.as_str()
        })
        .await;
    alice.react(&room, status_id.clone(), "➡️").await;
    let edited = alice
        .wait_for("the status edited to Bob", |s| {
            said(s)
                && s.event["content"]["m.relates_to"]["rel_type"] == "m.replace"
                && s.event["content"]["m.relates_to"]["event_id"] == status_id.as_str()
                // Handed on at once: a pass since issue 30, not "Thank you".
                && status_text(s).contains("passed — that's always okay")
        })
        .await;
    assert!(
        status_text(&edited).contains("Holding the stick: bob"),
        "{}",
        status_text(&edited)
    );

    // Bob hangs up (content {}): the stick moves on, by another edit.
    bob_room
        .send_state_event_raw(CALL_MEMBER, &call_key(bob.user_id.as_str(), "BOBDEV"), json!({}))
        .await
        .unwrap();
    let left = alice
        .wait_for("the status edited as Bob leaves", |s| {
            said(s)
                && s.event["content"]["m.relates_to"]["event_id"] == status_id.as_str()
                && status_text(s).contains("left; the stick moves on")
        })
        .await;
    assert!(status_text(&left).contains("1 person"), "{}", status_text(&left));
    let statuses = alice
        .all(|s| {
            said(s)
                && s.room == rid
                && s.body().starts_with("Talking circle\n")
                && s.in_reply_to().is_none()
                && s.event["content"]["m.relates_to"].is_null()
        })
        .await;
    assert_eq!(statuses.len(), 1, "one status message, edited in place");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_call_members_join_by_command_and_the_facilitator_alone_gets_the_summary() {
    let (bot, alice, bob, room) = alice_and_bob_with_the_bot(false).await;
    let rid = room.room_id().to_owned();
    let bob_room = bob.wait_joined(&rid).await;
    let said = bot_said(&bot);

    alice.say(&room, "!circle start").await;
    let status = alice
        .wait_for("the circle's status", |s| {
            said(s) && s.room == rid && s.body().starts_with("Talking circle\n") && s.body().contains("has the stick")
        })
        .await;
    bob.say(&bob_room, "!circle join").await;
    bob.wait_for("the status counting Bob", |s| {
        said(s)
            && s.event["content"]["m.relates_to"]["event_id"] == status.event_id().as_str()
            && status_text(s).contains("2 people")
    })
    .await;
    // Bob, next in line, passes by reaction (🙏): no one counts it against him.
    bob.react(&bob_room, status.event_id(), "🙏").await;
    bob.wait_for("the pass in the status", |s| {
        said(s) && status_text(s).contains("passed — that's always okay")
    })
    .await;
    // Bob may not end it; Alice may, and only she gets the balance.
    // The refusal has nothing personal in it: a reply in the room.
    let end = bob.say(&bob_room, "!circle end").await;
    bob.wait_for("the refusal", |s| {
        said(s) && s.in_reply_to() == Some(end.as_str()) && s.body().contains("Only a facilitator")
    })
    .await;
    alice.say(&room, "!circle end").await;
    let summary = alice
        .wait_for("the summary in a DM", |s| {
            said(s) && s.room != rid && s.body().contains("Circle summary")
        })
        .await;
    alice
        .wait_for("the thanks in the room", |s| {
            said(s) && s.room == rid && s.body().contains("The circle has ended")
        })
        .await;

    assert!(summary.body().contains("1 pass"), "{}", summary.body());
    assert!(
        bob.all(|s| said(s) && s.body().contains("Circle summary"))
            .await
            .is_empty(),
        "the summary is the facilitator's alone"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_membership_that_expires_with_no_further_event_leaves_the_circle_at_its_expiry() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let hearth = hearth().await;
    let bot = Bot::start(hearth.clone(), bot_config(&synapse, dir.path()).await).await;
    // A lapse is a job: the scheduler carries it out, as in the binary.
    let outbox: std::sync::Arc<dyn Outbox> = std::sync::Arc::new(bot.outbox.clone());
    let scheduler = tokio::spawn(bot_core::Scheduler::new(hearth, vec![outbox]).run(std::future::pending()));
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, false, &[&bob]).await;
    let rid = room.room_id().to_owned();
    let bob_room = bob.wait_joined(&rid).await;
    let said = bot_said(&bot);
    allow_call_memberships(&room).await;

    // Bob's client joins with a short-lived membership, then goes silent:
    // no renewal, no hang-up, no further membership event in the room.
    const EXPIRES_MS: i64 = 12_000;
    room.send_state_event_raw(
        CALL_MEMBER,
        &call_key(alice.user_id.as_str(), "ALICEDEV"),
        call_membership("ALICEDEV"),
    )
    .await
    .unwrap();
    let mut short = call_membership("BOBDEV");
    short["expires"] = json!(EXPIRES_MS);
    // Synapse, on this machine, stamps the event no earlier than this.
    let sent_at = chrono::Utc::now().timestamp_millis();
    bob_room
        .send_state_event_raw(CALL_MEMBER, &call_key(bob.user_id.as_str(), "BOBDEV"), short)
        .await
        .unwrap();
    alice.say(&room, "!circle start").await;
    let status = alice
        .wait_for("the circle's status", |s| {
            said(s) && s.room == rid && s.body().starts_with("Talking circle\n") && s.body().contains("has the stick")
        })
        .await;
    assert!(status.body().contains("2 people"), "{}", status.body());

    let left = alice
        .wait_for("the status edited as Bob's membership lapses", |s| {
            said(s)
                && s.event["content"]["m.relates_to"]["event_id"] == status.event_id().as_str()
                && status_text(s).contains("1 person")
        })
        .await;
    assert!(
        left.ts() >= sent_at + EXPIRES_MS,
        "not before the expiry: {} < {sent_at} + {EXPIRES_MS}",
        left.ts()
    );
    assert!(
        status_text(&left).contains("Holding the stick: alice"),
        "{}",
        status_text(&left)
    );
    scheduler.abort();
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_press_that_moves_the_stick_is_answered_by_the_status_alone_and_a_refusal_reaches_only_the_presser() {
    let (bot, alice, bob, room) = alice_and_bob_with_the_bot(false).await;
    let rid = room.room_id().to_owned();
    let bob_room = bob.wait_joined(&rid).await;
    let said = bot_said(&bot);

    alice.say(&room, "!circle start").await;
    let status = alice
        .wait_for("the circle's status", |s| {
            said(s) && s.room == rid && s.body().starts_with("Talking circle\n") && s.body().contains("has the stick")
        })
        .await;
    let status_id = status.event_id();
    let edited_to = |what: &'static str| {
        let said = bot_said(&bot);
        let status_id = status_id.clone();
        move |s: &Seen| {
            said(s)
                && s.event["content"]["m.relates_to"]["event_id"] == status_id.as_str()
                && status_text(s).contains(what)
        }
    };
    alice
        .wait_for("the bot's ➡️ on the status", |s| {
            s.sender() == bot.user_id.as_str()
                && s.kind() == "m.reaction"
                && s.event["content"]["m.relates_to"]["event_id"] == status_id.as_str()
        })
        .await;
    bob.say(&bob_room, "!circle join").await;
    alice.wait_for("Bob in the status", edited_to("2 people")).await;

    // Each press moves the status, and that edit is the whole answer.
    bob.react(&bob_room, status_id.clone(), "✋").await;
    alice.wait_for("Bob's hand up", edited_to("raised a hand")).await;
    bob.react(&bob_room, status_id.clone(), "👇").await;
    alice.wait_for("Bob's hand down", edited_to("lowered their hand")).await;
    alice.react(&room, status_id.clone(), "➡️").await;
    alice
        .wait_for("the stick to Bob", edited_to("Holding the stick: bob"))
        .await;
    bob.react(&bob_room, status_id.clone(), "🙏").await;
    alice
        .wait_for("Bob's pass", edited_to("passed — that's always okay"))
        .await;

    // A press that changes nothing is refused to the presser alone, by DM.
    alice.react(&room, status_id.clone(), "👇").await;
    let refused = alice
        .wait_for("the refusal", |s| {
            said(s) && s.room != rid && s.body().contains("Your hand isn't raised")
        })
        .await;
    // Bob's typed question comes after his presses, in the room's order: his
    // DM then holds what a press would have sent before it.
    bob.say(&bob_room, "!circle status").await;
    bob.wait_for("Bob's status, privately", |s| {
        said(s) && s.room != rid && s.body().contains("Holding the stick")
    })
    .await;

    let alices_dms = alice.all(|s| said(s) && s.room != rid).await;
    assert_eq!(
        alices_dms.iter().map(Seen::body).collect::<Vec<_>>(),
        [refused.body()],
        "alice's Next press sent her nothing; only the refusal reached her"
    );
    let bobs_dms: Vec<String> = bob
        .all(|s| said(s) && s.room != rid)
        .await
        .iter()
        .map(|s| s.body().to_string())
        .collect();
    assert_eq!(
        bobs_dms.len(),
        2,
        "his typed join and status, nothing per press: {bobs_dms:#?}"
    );
    assert!(
        bob.all(|s| said(s) && s.body().contains("Your hand isn't raised"))
            .await
            .is_empty(),
        "the refusal is alice's alone"
    );
    let in_room = alice
        .all(|s| said(s) && s.room == rid && s.event["content"]["m.relates_to"]["rel_type"] != "m.replace")
        .await;
    assert!(
        in_room.iter().all(|s| !s.body().contains("Your hand")),
        "no refusal in the room: {:#?}",
        in_room.iter().map(Seen::body).collect::<Vec<_>>()
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_circles_started_from_one_room_each_answer_their_own_reactions_and_a_call_is_joined_in_the_call() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let carol = Member::new(&synapse, "carol").await;
    let dave = Member::new(&synapse, "dave").await;
    let said = bot_said(&bot);
    // One space: a shared room, and a room whose call Carol and Dave are in.
    let space = alice.create_space_with(&bot.user_id).await;
    let shared = room_with_bot_in(Some(space.room_id()), &alice, &bot.user_id, false, &[&bob, &carol]).await;
    let call = room_with_bot_in(Some(space.room_id()), &alice, &bot.user_id, false, &[&carol, &dave]).await;
    alice.add_child(&space, shared.room_id()).await;
    alice.add_child(&space, call.room_id()).await;
    allow_call_memberships(&call).await;
    // Carol facilitates by the space's power levels.
    space
        .update_power_levels(vec![(&carol.user_id, 50.into())])
        .await
        .unwrap();
    for (who, device) in [(&carol, "CAROLDEV"), (&dave, "DAVEDEV")] {
        who.room(call.room_id())
            .send_state_event_raw(
                CALL_MEMBER,
                &call_key(who.user_id.as_str(), device),
                call_membership(device),
            )
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sid = shared.room_id().to_owned();
    let bob_shared = bob.room(&sid);
    let carol_shared = carol.room(&sid);

    // Alice starts a circle in the shared room; Carol, in the call, starts one from it too.
    alice.say(&shared, "!circle start").await;
    let first = alice
        .wait_for("the first circle's status", |s| {
            said(s) && s.room == sid && status_text(s).contains("#1 · round mode")
        })
        .await;
    carol.say(&carol_shared, "!circle start").await;
    let second = alice
        .wait_for("the second circle's status", |s| {
            said(s) && s.room == sid && status_text(s).contains("#2 · round mode")
        })
        .await;
    assert!(
        status_text(&second).contains("Holding the stick: carol"),
        "{}",
        status_text(&second)
    );
    assert!(
        second.event["content"]["org.hearth.buttons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["command"] == "circle next circle:2"),
        "{}",
        second.event["content"]
    );

    // Carol presses ➡️ on the second card: the second circle moves, the first does not.
    alice
        .wait_for("the bot's ➡️ on the second card", |s| {
            s.sender() == bot.user_id.as_str()
                && s.kind() == "m.reaction"
                && s.event["content"]["m.relates_to"]["event_id"] == second.event_id().as_str()
        })
        .await;
    carol.react(&carol_shared, second.event_id(), "➡️").await;
    let moved = alice
        .wait_for("the second card edited", |s| {
            said(s)
                && s.event["content"]["m.relates_to"]["event_id"] == second.event_id().as_str()
                && status_text(s).contains("Holding the stick: dave")
        })
        .await;
    // Bob, not in the call, cannot join the circle that runs there.
    let join = bob.say(&bob_shared, "!circle join circle:2").await;
    let refused = bob
        .wait_for("the refusal", |s| said(s) && s.in_reply_to() == Some(join.as_str()))
        .await;

    assert!(status_text(&moved).contains("#2"), "{}", status_text(&moved));
    assert!(
        alice
            .all(|s| said(s) && s.event["content"]["m.relates_to"]["event_id"] == first.event_id().as_str())
            .await
            .is_empty(),
        "the first card never moved"
    );
    assert!(
        refused.body().contains("This circle runs in a voice channel or call"),
        "{}",
        refused.body()
    );
    bot.stop().await;
}
