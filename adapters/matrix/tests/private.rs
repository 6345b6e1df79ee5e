//! Private answers on Matrix, against the real test Synapse: only personal
//! answers go to a DM, that DM stays between the bot and the member, and
//! words meant for other bots get no answer and open no room.

#![recursion_limit = "256"]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should fail loudly"
)]

mod common;

use std::time::Duration;

use common::{Member, bot_on, bot_said, room_with_bot, synapse};
use matrix_sdk::RoomMemberships;
use matrix_sdk::ruma::events::room::member::MembershipState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_for_other_bots_get_nothing_and_only_personal_answers_go_by_dm() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let room = room_with_bot(&alice, &bot.user_id, true, &[]).await;
    let rid = room.room_id().to_owned();
    let said = bot_said(&bot);

    // Act: two messages for someone else, then a Hearth command with a bad
    // option. The bot answers a room's messages in order, so once the error
    // is there, the first two have been dealt with.
    let remind = alice.say(&room, "!remind me").await;
    let bangs = alice.say(&room, "!!!").await;
    let nope = alice.say(&room, "!group info nope").await;
    let error = alice
        .wait_for("the error for !group info nope", |s| {
            said(s) && s.in_reply_to() == Some(nope.as_str())
        })
        .await;

    // Assert: the error is a reply in the room; nothing else was said and no
    // DM room was opened.
    assert_eq!(error.room, rid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let answered_others = alice
        .all(|s| said(s) && (s.in_reply_to() == Some(remind.as_str()) || s.in_reply_to() == Some(bangs.as_str())))
        .await;
    assert!(answered_others.is_empty(), "answered: {answered_others:?}");
    assert!(alice.all(|s| said(s) && s.room != rid).await.is_empty());
    assert_eq!(alice.client.rooms().len(), 1, "no DM room, no invite");

    // A personal answer still goes to a DM, encrypted.
    alice.say(&room, "!crisis").await;
    let crisis = alice.wait_for("the crisis lines", |s| said(s) && s.room != rid).await;
    assert!(crisis.encrypted);
    assert!(crisis.in_reply_to().is_none());
    assert!(
        alice.all(|s| said(s) && s.room == rid).await.len() == 1,
        "only the error was said in the room"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_member_in_the_dm_sends_the_next_private_answer_to_a_fresh_dm() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let bob = Member::new(&synapse, "bob").await;
    let carol = Member::new(&synapse, "carol").await;
    let room = room_with_bot(&bob, &bot.user_id, false, &[]).await;
    let said = bot_said(&bot);

    // Arrange: a personal answer opens bob's DM with the bot.
    bob.say(&room, "!timezone zone:Europe/Berlin").await;
    let first = bob
        .wait_for("the first personal answer", |s| {
            said(s) && s.body().contains("Your time zone is now Europe/Berlin")
        })
        .await;
    let dm = bob.wait_joined(&first.room).await;

    // Act: bob invites carol into that DM (he holds power level 100 there).
    dm.invite_user_by_id(&carol.user_id).await.unwrap();
    carol.wait_joined(&first.room).await;
    bob.wait_membership(&first.room, &carol.user_id, MembershipState::Join)
        .await;
    // Let the bot's sync see the new member.
    tokio::time::sleep(Duration::from_secs(2)).await;
    bob.say(&room, "!timezone zone:Europe/Paris").await;

    // Assert: the answer is in a new DM room, with bob and the bot alone.
    let second = bob
        .wait_for("the second personal answer", |s| {
            said(s) && s.body().contains("Your time zone is now Europe/Paris")
        })
        .await;
    assert_ne!(second.room, first.room, "the shared room is not used");
    assert_ne!(second.room, room.room_id());
    assert!(second.encrypted);
    let fresh = bob.wait_joined(&second.room).await;
    let mut members: Vec<String> = fresh
        .members(RoomMemberships::ACTIVE)
        .await
        .unwrap()
        .iter()
        .map(|m| m.user_id().to_string())
        .collect();
    members.sort();
    let mut want = vec![bob.user_id.to_string(), bot.user_id.to_string()];
    want.sort();
    assert_eq!(members, want);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        carol.all(|s| s.body().contains("Europe/Paris")).await.is_empty(),
        "carol saw bob's answer"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_personal_answer_that_cannot_reach_a_dm_says_so_in_the_room_without_its_content() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let dana = Member::new(&synapse, "dana").await;
    let room = room_with_bot(&dana, &bot.user_id, false, &[]).await;
    let rid = room.room_id().to_owned();
    let said = bot_said(&bot);
    // Dana refuses every invite (MSC4380's invite rules, which Synapse applies).
    let refuse_all = serde_json::value::to_raw_value(&serde_json::json!({ "default_action": "block" })).unwrap();
    dana.client
        .account()
        .set_account_data_raw(
            "m.invite_permission_config".into(),
            matrix_sdk::ruma::serde::Raw::from_json(refuse_all),
        )
        .await
        .unwrap();

    dana.say(&room, "!crisis country:GB").await;
    let notice = dana
        .wait_for("word that no DM could be opened", |s| {
            said(s) && s.room == rid && s.body().contains("couldn't open a private chat")
        })
        .await;

    assert!(
        notice
            .body()
            .contains("Accept my invite, or allow invites from this server"),
        "{}",
        notice.body()
    );
    assert_eq!(
        notice.event["content"]["m.mentions"]["user_ids"],
        serde_json::json!([dana.user_id.as_str()]),
        "it tells dana, by name"
    );
    for content in ["Samaritans", "116 123", "crisis", "Crisis"] {
        assert!(
            !notice.body().contains(content),
            "{content:?} in the room: {}",
            notice.body()
        );
    }
    assert!(
        dana.all(|s| said(s) && s.room != rid).await.is_empty(),
        "nothing reached dana anywhere else"
    );
    bot.stop().await;
}
