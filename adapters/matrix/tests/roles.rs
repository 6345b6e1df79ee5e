//! Who may do what on Matrix, against the real Synapse: community-wide roles
//! come from the space, and a group's room is always one of its community's.

#![recursion_limit = "256"]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should fail loudly"
)]

mod common;

use std::time::Duration;

use common::{Bot, Member, bot_on, bot_said, room_with_bot, room_with_bot_in, synapse, unique};
use matrix_sdk::ruma::api::client::room::create_room;
use matrix_sdk::ruma::events::room::member::MembershipState;

/// `who` says `text` in `room` and waits for the bot's reply to it.
async fn ask(who: &Member, bot: &Bot, room: &matrix_sdk::Room, text: &str) -> String {
    let said = bot_said(bot);
    let asked = who.say(room, text).await;
    who.wait_for(text, |s| said(s) && s.in_reply_to() == Some(asked.as_str()))
        .await
        .body()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_rooms_creator_is_no_admin_of_the_space_and_the_spaces_admin_is_one_from_either_room() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let carol = Member::new(&synapse, "carol").await;
    // Alice administers the space; Bob creates the second room (100 there,
    // 0 in the space) and Alice lists it in the space.
    let space = alice.create_space_with(&bot.user_id).await;
    let first = room_with_bot_in(Some(space.room_id()), &alice, &bot.user_id, false, &[&carol]).await;
    let second = room_with_bot_in(Some(space.room_id()), &bob, &bot.user_id, false, &[&alice, &carol]).await;
    alice.add_child(&space, first.room_id()).await;
    alice.add_child(&space, second.room_id()).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let alice_second = alice.room(second.room_id());
    let carol_second = carol.room(second.room_id());
    let created = ask(
        &alice,
        &bot,
        &first,
        r#"!group create name:"Caregivers" topic:caregiving led_by:peer"#,
    )
    .await;
    assert!(created.contains("Created."), "{created}");

    let crisis = "!resources add title:Samaritans url:https://www.samaritans.org topic:crisis";
    let by_bob = [
        ask(&bob, &bot, &second, crisis).await,
        ask(
            &bob,
            &bot,
            &second,
            &format!("!group facilitator group:Caregivers user:{} action:add", bob.user_id),
        )
        .await,
        ask(&bob, &bot, &second, "!group edit group:Caregivers cost:free").await,
    ];
    let appointed = ask(
        &alice,
        &bot,
        &alice_second,
        &format!("!group facilitator group:Caregivers user:{} action:add", carol.user_id),
    )
    .await;
    let by_carol = ask(&carol, &bot, &carol_second, crisis).await;
    let homograph = ask(
        &alice,
        &bot,
        &alice_second,
        "!resources add title:Samaritans url:https://samar\u{456}tans.org topic:crisis",
    )
    .await;
    let by_alice = ask(&alice, &bot, &alice_second, crisis).await;
    let edited_by_carol = ask(&carol, &bot, &carol_second, "!group edit group:Caregivers cost:free").await;
    let edited_by_alice = ask(&alice, &bot, &first, "!group edit group:Caregivers cost:sliding").await;

    assert!(
        by_bob[0].starts_with("Only a facilitator or a community admin"),
        "{}",
        by_bob[0]
    );
    assert!(by_bob[1].starts_with("Only a community admin"), "{}", by_bob[1]);
    assert!(
        by_bob[2].starts_with("Only a facilitator of Caregivers or a community admin"),
        "{}",
        by_bob[2]
    );
    assert!(appointed.contains("now facilitates Caregivers"), "{appointed}");
    assert_eq!(by_carol, "Only a community admin can add or remove crisis lines.");
    assert!(homograph.contains("mixes alphabets"), "{homograph}");
    assert!(by_alice.contains("Added resource"), "{by_alice}");
    assert!(edited_by_carol.contains("Cost: free"), "{edited_by_carol}");
    assert!(edited_by_alice.contains("Cost: sliding"), "{edited_by_alice}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_room_is_one_of_its_communitys_an_alias_resolves_and_registration_has_no_join_button() {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let mallory = Member::new(&synapse, "mallory").await;
    let said = bot_said(&bot);
    // Alice's room, with an alias; Mallory's own room, a community of its own.
    let alias_name = unique("grief");
    let mut request = create_room::v3::Request::new();
    request.room_alias_name = Some(alias_name.clone());
    request.invite = vec![bot.user_id.clone()];
    let theirs = alice.client.create_room(request).await.unwrap();
    alice
        .wait_membership(theirs.room_id(), &bot.user_id, MembershipState::Join)
        .await;
    let alias = format!("#{alias_name}:{}", alice.user_id.server_name());
    let own = room_with_bot(&mallory, &bot.user_id, false, &[]).await;

    let by_id = ask(
        &mallory,
        &bot,
        &own,
        &format!(
            "!group create name:Trojan topic:x led_by:peer channel:{}",
            theirs.room_id()
        ),
    )
    .await;
    let by_alias = ask(
        &mallory,
        &bot,
        &own,
        &format!("!group create name:Trojan topic:x led_by:peer channel:{alias}"),
    )
    .await;
    let not_in = ask(
        &mallory,
        &bot,
        &own,
        &format!(
            "!group create name:Trojan topic:x led_by:peer channel:!nowhere:{}",
            alice.user_id.server_name()
        ),
    )
    .await;
    let listed = ask(&mallory, &bot, &own, "!group list").await;
    let at_home = ask(
        &alice,
        &bot,
        &theirs,
        &format!(
            r#"!group create name:Grief topic:grief led_by:peer channel:{alias} registration:"Write to us first""#
        ),
    )
    .await;
    let card = alice
        .wait_for("the card", |s| said(s) && s.body().contains("Created."))
        .await;
    alice.say(&theirs, "!group join group:Grief").await;
    let join = alice
        .wait_for("how to register, privately", |s| {
            said(s) && s.body().contains("asks people to register first")
        })
        .await;

    assert!(by_id.contains("that room belongs to another community"), "{by_id}");
    assert!(
        by_alias.contains("that room belongs to another community"),
        "{by_alias}"
    );
    assert!(not_in.contains("I'm not in that channel or room"), "{not_in}");
    assert!(listed.contains("No groups yet"), "{listed}");
    assert!(at_home.contains("Created."), "{at_home}");
    assert!(
        card.html()
            .contains(&format!("https://matrix.to/#/{}", theirs.room_id())),
        "the alias resolved to the room: {}",
        card.html()
    );
    assert!(
        card.event["content"]["org.hearth.buttons"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "no one-click way into a group that needs registration"
    );
    assert!(join.body().contains("Write to us first"), "{}", join.body());
    assert_ne!(join.room, theirs.room_id(), "a personal answer goes to the DM");
    // Nothing Mallory typed was ever posted in Alice's room.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let in_theirs = alice
        .all(|s| said(s) && s.room == theirs.room_id() && s.body().contains("Trojan"))
        .await;
    assert!(in_theirs.is_empty(), "{in_theirs:?}");
    bot.stop().await;
}
