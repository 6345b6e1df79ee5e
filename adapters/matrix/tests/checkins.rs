//! Check-ins through Matrix, against the real Synapse: a group's prompt in a
//! shared room carries no mood buttons and is answered privately by DM; a
//! mood reacted on it anyway is taken back; a note reaches its author alone;
//! and a member's daily prompt arrives by DM and is answered there by reaction.

#![recursion_limit = "256"]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should fail loudly"
)]

mod common;

use std::sync::Arc;

use bot_core::Clock as _;
use bot_core::store::{query_as, query_scalar};
use bot_core::{Outbox, Scheduler};
use chrono::Duration;
use common::{Bot, Member, Synapse, bot_config, bot_said, hearth_on_a_manual_clock, room_with_bot, synapse};
use matrix_sdk::ruma::events::reaction::ReactionEventContent;
use matrix_sdk::ruma::events::relation::Annotation;
use matrix_sdk::ruma::{Int, OwnedEventId, RoomId};
use serde_json::Value;

/// The mood buttons' emoji.
const MOODS: [&str; 6] = ["😣", "😕", "😐", "🙂", "😄", "🤍"];

/// `who`'s view of `room` straight from the homeserver: its timeline by
/// `/messages`, and by a fresh `/sync`.
async fn views(synapse: &Synapse, who: &Member, room: &RoomId) -> (Vec<Value>, Vec<Value>) {
    let http = matrix_sdk::reqwest::Client::new();
    let token = who.client.access_token().unwrap();
    let get = |path: String, query: Vec<(&'static str, &'static str)>| {
        let url =
            matrix_sdk::reqwest::Url::parse_with_params(&format!("{}/_matrix/client/v3/{path}", synapse.url), &query)
                .unwrap();
        let request = http.get(url).bearer_auth(&token);
        async move {
            let text = request.send().await.unwrap().text().await.unwrap();
            serde_json::from_str::<Value>(&text).unwrap()
        }
    };
    let messages = get(format!("rooms/{room}/messages"), vec![("dir", "b"), ("limit", "200")]).await;
    let sync = get(
        "sync".to_string(),
        vec![("filter", r#"{"room":{"timeline":{"limit":200}}}"#)],
    )
    .await;
    (
        messages["chunk"].as_array().cloned().unwrap_or_default(),
        sync["rooms"]["join"][room.as_str()]["timeline"]["events"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    )
}

/// Whether `event` was redacted: nothing of its content is left.
fn redacted(event: &Value) -> bool {
    event["content"].as_object().is_none_or(serde_json::Map::is_empty)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_prompt_is_answered_privately_and_no_mood_shows_in_the_room() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let (hearth, clock) = hearth_on_a_manual_clock().await;
    let start = clock.now();
    let bot = Bot::start(hearth.clone(), bot_config(&synapse, dir.path()).await).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    // Unencrypted, so that what the room's members see is what the server holds.
    let room = room_with_bot(&alice, &bot.user_id, false, &[&bob]).await;
    let rid = room.room_id().to_owned();
    let bob_room = bob.room(&rid);
    // The bot may take back others' reactions: a moderator's power level.
    room.update_power_levels(vec![(&bot.user_id, Int::new(50).unwrap())])
        .await
        .unwrap();
    let said = bot_said(&bot);
    let note = "matrixPrivateWords";

    // Alice (the room's creator, so an admin) makes a group; bob joins it.
    alice
        .say(&room, r#"!group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    alice
        .wait_for("the group's card", |s| said(s) && s.body().starts_with("Grief circle"))
        .await;
    bob.say(&bob_room, r#"!group join group:"Grief circle""#).await;
    bob.wait_for("the welcome", |s| {
        said(s) && s.body().contains("You've joined Grief circle")
    })
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
    bob.wait_for("the bot's 🔒 on the prompt", |s| {
        s.kind() == "m.reaction"
            && s.event["content"]["m.relates_to"]["event_id"] == prompt_id.as_str()
            && s.event["content"]["m.relates_to"]["key"] == "🔒"
    })
    .await;

    // Bob reacts a mood on the shared prompt anyway, then checks in the private way.
    let on_prompt = |key: &str| ReactionEventContent::new(Annotation::new(prompt_id.clone(), key.to_string()));
    let anyway: OwnedEventId = bob_room.send(on_prompt("😣")).await.unwrap().response.event_id;
    let privately: OwnedEventId = bob_room.send(on_prompt("🔒")).await.unwrap().response.event_id;
    let asked = bob
        .wait_for("the mood buttons by DM", |s| {
            said(s) && s.room != rid && s.body().contains("Pick one; only you see this")
        })
        .await;
    let dm = bob.wait_joined(&asked.room).await;
    bob.wait_for("the 😕 button in the DM", |s| {
        s.kind() == "m.reaction"
            && s.event["content"]["m.relates_to"]["event_id"] == asked.event_id().as_str()
            && s.event["content"]["m.relates_to"]["key"] == "😕"
    })
    .await;
    bob.react(&dm, asked.event_id(), "😕").await;
    let thanks = bob
        .wait_for("the private thanks", |s| {
            said(s) && s.room == dm.room_id() && s.body().contains("Thank you for checking in: 2 low.")
        })
        .await;
    // A note, written where only bob and the bot are, to the same prompt.
    let key = asked
        .body()
        .rsplit_once("prompt:")
        .unwrap()
        .1
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    bob.say(&dm, &format!("!checkin share mood:2 note:{note} prompt:{key}"))
        .await;
    bob.wait_for("the note's thanks", |s| {
        said(s) && s.body().contains("Your note is yours alone")
    })
    .await;
    bob.say(&dm, "!checkin history").await;
    let history = bob
        .wait_for("bob's history", |s| said(s) && s.body().starts_with("Your check-ins"))
        .await;
    // Both of bob's reactions on the shared prompt are taken back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (messages, synced) = loop {
        let (messages, synced) = views(&synapse, &alice, &rid).await;
        let gone = |id: &OwnedEventId| messages.iter().any(|e| e["event_id"] == id.as_str() && redacted(e));
        if gone(&anyway) && gone(&privately) {
            break (messages, synced);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "bob's reactions were not taken back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };

    assert_eq!(
        prompt.event["content"]["org.hearth.buttons"].as_array().unwrap().len(),
        1
    );
    assert_eq!(prompt.event["content"]["org.hearth.private_presses"], true);
    assert!(
        !prompt.body().contains("note:"),
        "no note is invited in the room: {}",
        prompt.body()
    );
    for (view, events) in [("/messages", &messages), ("/sync", &synced)] {
        assert!(!events.is_empty(), "{view} shows the room");
        for e in events.iter() {
            let sender = e["sender"].as_str().unwrap_or_default();
            if e["type"] == "m.reaction" && !redacted(e) {
                assert_eq!(
                    sender,
                    bot.user_id.as_str(),
                    "{view}: a member's reaction survives: {e}"
                );
                let key = e["content"]["m.relates_to"]["key"].as_str().unwrap_or_default();
                assert!(!MOODS.contains(&key), "{view}: a mood on a shared message: {e}");
            }
            if sender == bob.user_id.as_str() && e["type"] == "m.reaction" {
                assert!(redacted(e), "{view}: {e}");
            }
            let body = e["content"]["body"].as_str().unwrap_or_default();
            for mood_words in ["2 low", "1 struggling", "Thank you for checking in", note] {
                assert!(!body.contains(mood_words), "{view}: {mood_words:?} in the room: {body}");
            }
        }
    }
    let recorded = query_as::<(Option<i64>, Option<i64>, Option<String>)>(
        "SELECT c.mood, c.group_id, c.note FROM checkins c JOIN members m ON m.id = c.member_id
         WHERE m.external_id = ? ORDER BY c.id",
    )
    .bind(bob.user_id.as_str())
    .fetch_all(hearth.store())
    .await
    .unwrap();
    assert_eq!(
        recorded,
        [(Some(2), Some(1), Some(note.to_string()))],
        "the private answer and its note count for the group; the 😣 on the prompt counts nowhere"
    );
    assert!(thanks.encrypted, "the DM is encrypted");
    assert!(thanks.body().contains("in Grief circle's summary"), "{}", thanks.body());
    assert!(history.body().contains("2 low"), "{}", history.body());
    assert!(history.body().contains(note), "{}", history.body());
    assert!(
        alice.all(|s| s.body().contains(note)).await.is_empty(),
        "alice saw bob's note"
    );

    // Only members count: alice, the admin but no member, presses 🔒 and is told so, by DM.
    alice.react(&room, prompt_id.clone(), "🔒").await;
    let refused = alice
        .wait_for("the refusal", |s| {
            said(s) && s.room != rid && s.body().contains("Only Grief circle's members count")
        })
        .await;
    // Words without a name never spill into a group or a note (words before
    // any name: since issue 23 `note:missing Grief circle` is one note).
    bob.say(&dm, "!checkin share Grief circle mood:2 note:missing").await;
    let spilled = bob
        .wait_for("the refusal of unquoted words", |s| {
            said(s) && s.body().contains("Put a value with spaces in quotes")
        })
        .await;
    // A closed group's link stays out of the room; an open one's keeps its case.
    alice
        .say(
            &room,
            r#"!group create name:"Open door" topic:peer led_by:peer format:online location:https://Meet.Example/Open?pwd=OpenAbC"#,
        )
        .await;
    alice
        .say(
            &room,
            r#"!group create name:Caregivers topic:care led_by:peer format:online location:https://Meet.Example/Care?pwd=SeCrEt9 registration:"Ask us""#,
        )
        .await;
    alice.say(&room, "!group list").await;
    let listed = alice
        .wait_for("the directory", |s| {
            said(s) && s.room == rid && s.body().starts_with("Groups")
        })
        .await;
    let rows: i64 = query_scalar("SELECT COUNT(*) FROM checkins")
        .fetch_one(hearth.store())
        .await
        .unwrap();

    assert!(!refused.body().contains("Thank you"), "{}", refused.body());
    assert!(!spilled.body().contains("missing"), "{}", spilled.body());
    assert_eq!(rows, 1, "neither the refused press nor the spill stored anything");
    assert!(
        listed.body().contains("https://Meet.Example/Open?pwd=OpenAbC"),
        "{}",
        listed.body()
    );
    assert!(!listed.body().to_lowercase().contains("secret9"), "{}", listed.body());

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
