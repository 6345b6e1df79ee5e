//! Resources and local crisis lines through Matrix, against the real Synapse.

#![recursion_limit = "256"]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should fail loudly"
)]

mod common;

use common::{alice_and_bob_with_the_bot, bot_said};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_are_edited_by_admins_read_by_all_and_local_crisis_lines_come_first() {
    let (bot, alice, bob, room) = alice_and_bob_with_the_bot(true).await;
    let rid = room.room_id().to_owned();
    let bob_room = bob.room(&rid);
    let said = bot_said(&bot);

    // Bob, a plain member, may not add; alice, the room's creator, may.
    bob.say(&bob_room, "!resources add title:Mine url:https://example.org/mine")
        .await;
    let refused = bob
        .wait_for("the refusal", |s| said(s) && s.body().contains("resources add"))
        .await;
    alice
        .say(
            &room,
            "!resources add title:\"@room reading\" url:https://example.org/read topic:reading",
        )
        .await;
    let added = alice
        .wait_for("the addition", |s| said(s) && s.body().contains("Added resource"))
        .await;
    alice
        .say(
            &room,
            r#"!resources add title:"Town helpline" url:https://town.example/help topic:crisis"#,
        )
        .await;
    alice
        .wait_for("the local line", |s| said(s) && s.body().contains("local crisis line"))
        .await;
    // Issue 30: a local line that is a phone number.
    alice
        .say(
            &room,
            r#"!resources add title:"Town phone line" url:tel:+64 9 555 0100 topic:crisis"#,
        )
        .await;
    alice
        .wait_for("the phone line", |s| said(s) && s.body().contains("Town phone line"))
        .await;
    bob.say(&bob_room, "!resources list").await;
    let listed = bob
        .wait_for("the list", |s| said(s) && s.body().starts_with("Resources"))
        .await;
    bob.say(&bob_room, "!crisis country:NZ").await;
    let crisis = bob
        .wait_for("the crisis lines, privately", |s| {
            said(s) && s.body().starts_with("Crisis lines")
        })
        .await;

    assert!(refused.body().contains("facilitator"), "{}", refused.body());
    for seen in [&added, &listed] {
        assert!(!seen.body().to_lowercase().contains("@room"), "{}", seen.body());
        assert!(!seen.html().to_lowercase().contains("@room"), "{}", seen.html());
    }
    assert_eq!(listed.room, rid, "the list is nothing personal: a reply in the room");
    assert!(crisis.encrypted, "crisis lines come in the encrypted DM room");
    assert!(
        listed.html().contains("<a href=\"https://example.org/read\">"),
        "{}",
        listed.html()
    );
    assert!(crisis.room != rid);
    let body = crisis.body();
    assert!(
        body.find("Town helpline").unwrap() < body.find("1737").unwrap(),
        "{body}"
    );
    assert!(body.contains("last checked on 2026-11-26"), "{body}");
    assert!(body.contains("Town phone line, call +6495550100"), "{body}");
    assert!(
        crisis.html().contains("<a href=\"tel:+6495550100\">+6495550100</a>"),
        "a number to tap: {}",
        crisis.html()
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mydata_arrives_as_a_file_in_a_direct_room_and_forgetme_erases() {
    let (bot, alice, bob, room) = alice_and_bob_with_the_bot(false).await;
    let rid = room.room_id().to_owned();
    let bob_room = bob.room(&rid);
    let said = bot_said(&bot);

    alice
        .say(&room, r#"!group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    alice
        .wait_for("the group's card", |s| said(s) && s.body().starts_with("Grief circle"))
        .await;
    bob.say(&bob_room, r#"!group join group:"Grief circle""#).await;
    bob.wait_for("the welcome", |s| said(s) && s.body().contains("joined Grief circle"))
        .await;
    bob.say(&bob_room, "!mydata").await;
    let summary = bob
        .wait_for("the summary", |s| {
            said(s) && s.body().starts_with("Everything Hearth holds about you")
        })
        .await;
    let file = bob
        .wait_for("the file", |s| said(s) && s.event["content"]["msgtype"] == "m.file")
        .await;
    bob.say(&bob_room, "!forgetme confirm:yes").await;
    let erased = bob
        .wait_for("the erasure", |s| said(s) && s.body().contains("Nothing of it is left"))
        .await;

    assert!(
        summary.room != rid && file.room == summary.room,
        "privately, in the direct room"
    );
    assert!(summary.body().contains("Grief circle (member)"), "{}", summary.body());
    assert_eq!(file.event["content"]["body"], "hearth-mydata.json");
    assert!(erased.room != rid);
    assert!(
        alice
            .all(|s| s.body().contains("Everything Hearth holds"))
            .await
            .is_empty(),
        "alice saw none of it"
    );
    bot.stop().await;
}
