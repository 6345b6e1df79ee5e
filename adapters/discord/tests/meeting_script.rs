//! Issue 28 through the fake Discord, driven by the real serenity client:
//! the meeting's panel is ephemeral, its buttons move the steps (the
//! chair's, not a member's), and a round step runs the talking stick.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should panic loudly"
)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

const ADMIN: u64 = 11;
const MEMBER: u64 = 12;

/// The server's admin (Manage Server, and Mute Members): the meeting's chair.
fn admin() -> Value {
    member(ADMIN, "Ada", ADMIN_WHO_MUTES, &[MODERATOR_ROLE])
}

fn plain_member() -> Value {
    member(MEMBER, "Bo", PLAIN, &[])
}

/// Interaction ids: unique within a test.
fn id(n: u64) -> u64 {
    10_000 + n
}

fn grief_circle() -> (&'static str, u8, Value) {
    ("group", 3, json!("Grief circle"))
}

/// The callback's message data, checking it is a message answer.
fn answer(callback: &Value) -> &Value {
    assert_eq!(callback["type"], 4, "not a message answer: {callback:#}");
    &callback["data"]
}

fn is_ephemeral(data: &Value) -> bool {
    data["flags"].as_u64().is_some_and(|f| f & 64 != 0)
}

fn embed_text(data: &Value) -> String {
    let embed = &data["embeds"][0];
    let mut text = format!(
        "{}\n{}",
        embed["title"].as_str().unwrap_or_default(),
        embed["description"].as_str().unwrap_or_default()
    );
    for field in embed["fields"].as_array().into_iter().flatten() {
        text.push_str(&format!("\n{}: {}", field["name"], field["value"]));
    }
    text
}

/// The custom id of the button labelled `label` in a message's rows.
fn button(data: &Value, label: &str) -> String {
    data["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .find(|b| b["label"] == label)
        .and_then(|b| b["custom_id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no {label} button in {data:#}"))
}

/// The messages the bot posted in channels (not interaction answers), as text.
fn posts(bot: &Bot) -> Vec<String> {
    bot.fake
        .created_messages()
        .into_iter()
        .map(|(_, m)| embed_text(&m))
        .collect()
}

/// Waits until a channel post contains `what`.
async fn wait_post(bot: &Bot, what: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(found) = posts(bot).into_iter().find(|p| p.contains(what)) {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no post says {what:?}; posts: {:#?}",
            posts(bot)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the core holds `n` people as in voice channels.
async fn wait_in_voice(bot: &Bot, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let count = bot.hearth.in_voice(bot_core::Platform::Discord, &GUILD.to_string());
        if count == n {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{count} in voice, not {n}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The server mutes the bot asked for so far: (user, mute).
fn mutes(bot: &Bot) -> Vec<(u64, bool)> {
    bot.fake.requests().iter().filter_map(mute_of).collect()
}

#[tokio::test]
async fn the_meeting_panel_is_ephemeral_its_buttons_move_the_steps_for_the_chair_alone_and_a_round_runs_the_stick() {
    let bot = Bot::start().await;
    // Ada (the chair) and Bo in the voice channel, as the server comes into the cache.
    let states = [ADMIN, MEMBER].map(|user| voice_state(user, Some(VOICE)));
    bot.fake
        .dispatch("GUILD_CREATE", guild_create(&[admin(), plain_member()], &states));
    wait_in_voice(&bot, 2).await;

    let created = bot
        .interact(command_interaction(
            id(1),
            &admin(),
            "group create",
            &[
                ("name", 3, json!("Grief circle")),
                ("topic", 3, json!("grief")),
                ("led_by", 3, json!("peer")),
                ("guideline", 3, json!("What is said here stays here.")),
            ],
        ))
        .await;
    answer(&created);
    let templated = bot
        .interact(command_interaction(
            id(2),
            &admin(),
            "meeting script template",
            &[grief_circle(), ("template", 3, json!("general"))],
        ))
        .await;
    assert!(is_ephemeral(answer(&templated)), "{templated:#}");

    // The chair starts the meeting: the panel is the interaction's ephemeral answer.
    let started = bot
        .interact(command_interaction(id(3), &admin(), "meeting start", &[grief_circle()]))
        .await;
    let panel = answer(&started);
    assert!(is_ephemeral(panel), "the panel is not ephemeral: {panel:#}");
    assert!(embed_text(panel).contains("Your panel"), "{}", embed_text(panel));
    assert!(embed_text(panel).contains("step 1 of"), "{}", embed_text(panel));
    wait_post(&bot, "Welcome").await;
    let next = button(panel, "Next");
    for label in ["Back", "Skip", "+2 min"] {
        button(panel, label);
    }

    // A member presses the chair's Next (on the ephemeral message as shown): refused, privately.
    let shown = {
        let mut shown = message(id(50), CHANNEL, panel);
        shown["flags"] = json!(64);
        shown
    };
    let refused = bot
        .interact(button_interaction(id(4), &plain_member(), &next, &shown))
        .await;
    let refused = answer(&refused);
    assert!(is_ephemeral(refused), "{refused:#}");
    assert!(
        embed_text(refused).contains("Only the meeting's chair, or a facilitator of Grief circle"),
        "{}",
        embed_text(refused)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        posts(&bot).iter().all(|p| !p.contains("Our guidelines")),
        "the member's press moved the meeting: {:#?}",
        posts(&bot)
    );

    // The chair presses Next: the guidelines are posted in the channel, the new panel is ephemeral.
    let pressed = bot.interact(button_interaction(id(5), &admin(), &next, &shown)).await;
    let panel = answer(&pressed);
    assert!(is_ephemeral(panel), "{panel:#}");
    assert!(embed_text(panel).contains("step 2 of"), "{}", embed_text(panel));
    let guidelines = wait_post(&bot, "Our guidelines").await;
    assert!(guidelines.contains("What is said here stays here."), "{guidelines}");
    // One Welcome post: the chair's press moved the meeting once.
    assert_eq!(
        posts(&bot).iter().filter(|p| p.contains("Welcome")).count(),
        1,
        "{:#?}",
        posts(&bot)
    );

    // Next again: the check-in round, on the talking stick in round mode.
    let next = button(panel, "Next");
    let shown = {
        let mut shown = message(id(51), CHANNEL, panel);
        shown["flags"] = json!(64);
        shown
    };
    let pressed = bot.interact(button_interaction(id(6), &admin(), &next, &shown)).await;
    let panel = answer(&pressed);
    assert!(is_ephemeral(panel), "{panel:#}");
    assert!(embed_text(panel).contains("step 3 of"), "{}", embed_text(panel));
    assert!(!embed_text(panel).contains("did not start"), "{}", embed_text(panel));
    wait_post(&bot, "Check-in").await;
    let begun = wait_post(&bot, "Round: we go around in the order people joined").await;
    assert!(begun.starts_with("Talking circle\n"), "{begun}");
    let status = wait_post(&bot, "has the stick.").await;
    assert!(status.contains("2 people"), "{status}");

    // The stick is the round's: the holder's /circle next moves it.
    answer(
        &bot.interact(command_interaction(id(7), &admin(), "circle next", &[]))
            .await,
    );

    // Next from the round ends its stick (the status message says so) and
    // posts the reading; Next again opens the sharing on a new stick, a queue.
    let next = button(panel, "Next");
    let pressed = bot.interact(button_interaction(id(8), &admin(), &next, &shown)).await;
    let panel = answer(&pressed);
    assert!(is_ephemeral(panel), "{panel:#}");
    assert!(embed_text(panel).contains("step 4 of"), "{}", embed_text(panel));
    wait_post(&bot, "Grief circle · Reading").await;
    wait_post(&bot, "This circle has ended.").await;
    let pressed = bot
        .interact(button_interaction(id(9), &admin(), &button(panel, "Next"), &shown))
        .await;
    let panel = answer(&pressed);
    assert!(is_ephemeral(panel), "{panel:#}");
    assert!(embed_text(panel).contains("step 5 of"), "{}", embed_text(panel));
    wait_post(&bot, "Grief circle · Open sharing").await;
    wait_post(&bot, "Queue: raise a hand to speak").await;

    // The panel was never posted in a channel, nor sent to anyone else.
    assert!(
        posts(&bot).iter().all(|p| !p.contains("Your panel")),
        "a panel was posted: {:#?}",
        posts(&bot)
    );
    assert!(
        bot.fake
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.starts_with("/channels/"))
            .all(|r| !embed_text(&r.body).contains("Your panel")),
        "a panel went to a channel or a DM"
    );
    // A round that does not set mute_others mutes nobody.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mutes(&bot), []);
    bot.stop().await;
}

const DI: u64 = 14;

/// A round that mutes the others, between two words for the chair.
/// On one line, as a chat option carries it.
const MUTED_ROUND: &str = concat!(
    r#"steps = [{ kind = "say", title = "Welcome", minutes = 2 }, "#,
    r#"{ kind = "round", title = "Check-in", minutes = 10, mute_others = true }, "#,
    r#"{ kind = "say", title = "Closing", minutes = 2 }]"#,
);

async fn wait_mutes(bot: &Bot, n: usize) -> Vec<(u64, bool)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let seen = mutes(bot);
        if seen.len() >= n {
            return seen;
        }
        assert!(tokio::time::Instant::now() < deadline, "only {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_round_step_set_to_mute_others_mutes_all_but_the_holder_and_chair_until_the_step_ends() {
    let bot = Bot::start().await;
    let states = [ADMIN, MEMBER, DI].map(|user| voice_state(user, Some(VOICE)));
    bot.fake
        .dispatch("GUILD_CREATE", guild_create(&[admin(), plain_member()], &states));
    wait_in_voice(&bot, 3).await;
    let create = command_interaction(
        id(1),
        &admin(),
        "group create",
        &[
            ("name", 3, json!("Grief circle")),
            ("topic", 3, json!("grief")),
            ("led_by", 3, json!("peer")),
        ],
    );
    answer(&bot.interact(create).await);
    let imported = bot
        .interact(command_interaction(
            id(2),
            &admin(),
            "meeting script import",
            &[grief_circle(), ("toml", 3, json!(MUTED_ROUND))],
        ))
        .await;
    assert!(
        embed_text(answer(&imported)).contains("Check\\-in \\(round, 10 min, round, others muted\\)"),
        "{}",
        embed_text(answer(&imported))
    );

    let started = bot
        .interact(command_interaction(id(3), &admin(), "meeting start", &[grief_circle()]))
        .await;
    let panel = answer(&started);
    let shown = message(id(50), CHANNEL, panel);
    // Nobody is muted before the round.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mutes(&bot), []);

    let pressed = bot
        .interact(button_interaction(id(4), &admin(), &button(panel, "Next"), &shown))
        .await;
    let panel = answer(&pressed);
    assert!(embed_text(panel).contains("step 2 of"), "{}", embed_text(panel));
    assert!(!embed_text(panel).contains("did not start"), "{}", embed_text(panel));
    let at_round = wait_mutes(&bot, 2).await;
    // The round's end (Next) lifts the mutes.
    let pressed = bot
        .interact(button_interaction(id(5), &admin(), &button(panel, "Next"), &shown))
        .await;
    assert!(embed_text(answer(&pressed)).contains("step 3 of"));
    let after = wait_mutes(&bot, 4).await;

    // The chair (a facilitator, holding the stick first) is never muted.
    assert_eq!(at_round, [(MEMBER, true), (DI, true)]);
    let mut lifted = after[2..].to_vec();
    lifted.sort_unstable();
    assert_eq!(lifted, [(MEMBER, false), (DI, false)]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mutes(&bot).len(), 4, "nothing more: {:?}", mutes(&bot));
    bot.stop().await;
}

/// Where the group chose it, the meeting starts by itself at its scheduled
/// start. Discord's ephemeral messages only answer an interaction, so no
/// panel comes unasked: the channel gets "The meeting has started" with an
/// "Open the panel" button, whose press answers the chair (here, the
/// facilitator: the group has no chair role) with the panel, ephemerally,
/// and anyone else with a kind word, ephemerally too.
#[tokio::test]
async fn a_meeting_that_starts_by_itself_posts_a_button_whose_press_is_the_chairs_ephemeral_panel() {
    use bot_core::Clock;
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-19T10:00:00Z")
        .unwrap()
        .to_utc();
    let clock = bot_core::ManualClock::new(start);
    let bot = Bot::start_at(std::sync::Arc::new(clock.clone())).await;
    bot.fake
        .dispatch("GUILD_CREATE", guild_create(&[admin(), plain_member()], &[]));
    let outbox: std::sync::Arc<dyn bot_core::Outbox> =
        std::sync::Arc::new(hearth_discord::DiscordOutbox::from_config(&bot.config).unwrap());
    let scheduler = bot_core::Scheduler::new(bot.hearth.clone(), vec![outbox]);
    let set_up: [(&str, Vec<Opt<'_>>); 4] = [
        (
            "group create",
            vec![
                ("name", 3, json!("Grief circle")),
                ("topic", 3, json!("grief")),
                ("led_by", 3, json!("peer")),
            ],
        ),
        (
            "meeting script template",
            vec![grief_circle(), ("template", 3, json!("general"))],
        ),
        (
            "meeting schedule",
            vec![
                grief_circle(),
                ("when", 3, json!("2026-03-21 19:00")),
                ("repeat", 3, json!("weekly")),
                ("timezone", 3, json!("UTC")),
            ],
        ),
        (
            "meeting script edit",
            vec![grief_circle(), ("autostart", 3, json!("on"))],
        ),
    ];
    for (n, (command, options)) in set_up.iter().enumerate() {
        let done = bot
            .interact(command_interaction(id(100 + n as u64), &admin(), command, options))
            .await;
        answer(&done);
    }

    clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-03-21T19:00:30Z")
            .unwrap()
            .to_utc(),
    );
    scheduler.tick(clock.now()).await.unwrap();
    scheduler.tick(clock.now()).await.unwrap();

    wait_post(&bot, "The meeting has started").await;
    let created = bot.fake.created_messages();
    let started: Vec<&(String, Value)> = created
        .iter()
        .filter(|(_, m)| embed_text(m).contains("The meeting has started"))
        .collect();
    assert_eq!(started.len(), 1, "started once: {created:#?}");
    let (channel, posted) = started[0];
    assert!(channel.contains(&CHANNEL.to_string()), "{channel}");
    assert!(
        created.iter().all(|(_, m)| !embed_text(m).contains("Your panel")),
        "no panel comes unasked on Discord: {created:#?}"
    );
    let open = button(posted, "Open the panel");
    let shown = message(id(60), CHANNEL, posted);

    let by_member = bot
        .interact(button_interaction(id(110), &plain_member(), &open, &shown))
        .await;
    let by_chair = bot.interact(button_interaction(id(111), &admin(), &open, &shown)).await;

    let kind_word = answer(&by_member);
    assert!(is_ephemeral(kind_word), "{kind_word:#}");
    assert!(
        embed_text(kind_word).contains("This panel is for the meeting's chair"),
        "{}",
        embed_text(kind_word)
    );
    let panel = answer(&by_chair);
    assert!(is_ephemeral(panel), "{panel:#}");
    assert!(
        embed_text(panel).contains("Your panel · Grief circle · step 1 of 9"),
        "{}",
        embed_text(panel)
    );
    button(panel, "Next");
}
