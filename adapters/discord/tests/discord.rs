//! End to end: the real serenity client, driven by the adapter, against the
//! fake Discord in `support`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should panic loudly"
)]

mod support;

use std::time::Duration;

use bot_core::Clock as _;
use bot_core::io::{Delivery, Outbox};
use bot_core::spec::{COMMANDS, Kind};
use bot_core::store::{query_as, query_scalar};
use bot_core::{Effect, InputKind, Message, PresenceChange};
use hearth_discord::events::{self, EventError, EventPlace, NativeEvent};
use hearth_discord::{DiscordOutbox, MuteError, MuteOutcome};
use serde_json::{Value, json};
use serenity::all::{GuildId, UserId};
use serenity::model::event::Event;
use support::*;

const ADMIN: u64 = 11;
const MEMBER: u64 = 12;
const FACILITATOR: u64 = 13;

/// The server's admin, who is also one of its moderators (Mute Members).
fn admin() -> Value {
    member(ADMIN, "Ada", ADMIN_WHO_MUTES, &[MODERATOR_ROLE])
}

fn plain_member() -> Value {
    member(MEMBER, "Bo", PLAIN, &[])
}

fn facilitator() -> Value {
    member(FACILITATOR, "Cy", PLAIN, &[FACILITATOR_ROLE])
}

/// Interaction ids: unique within a test.
fn id(n: u64) -> u64 {
    10_000 + n
}

fn group_create(n: u64, who: &Value, name: &str) -> Value {
    command_interaction(
        id(n),
        who,
        "group create",
        &[
            ("name", 3, json!(name)),
            ("topic", 3, json!("grief")),
            ("led_by", 3, json!("peer")),
            ("capacity", 4, json!(12)),
        ],
    )
}

/// The callback's message data, checking it is a plain message answer.
/// A configuration that reaches `fake` over REST, its token (`token`) in a
/// temporary file named after `test`, which the test removes at its end.
fn rest_config(fake: &FakeDiscord, test: &str, token: &str) -> (hearth_discord::DiscordConfig, std::path::PathBuf) {
    let token_file = std::env::temp_dir().join(format!("hearth-discord-{test}-{}.token", std::process::id()));
    std::fs::write(&token_file, token).unwrap();
    let config = hearth_discord::DiscordConfig {
        token_file: Some(token_file.clone()),
        api_base_url: Some(fake.base_url.clone()),
        ..Default::default()
    };
    (config, token_file)
}

/// A bot on Thursday 19 March 2026, 10:00 UTC, on a clock the test moves.
async fn bot_on_a_thursday_morning() -> (Bot, bot_core::ManualClock) {
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-19T10:00:00Z")
        .unwrap()
        .to_utc();
    let clock = bot_core::ManualClock::new(start);
    let bot = Bot::start_at(std::sync::Arc::new(clock.clone())).await;
    (bot, clock)
}

/// A scheduler that delivers through the bot's own Discord outbox.
fn events_scheduler(bot: &Bot) -> bot_core::Scheduler {
    let outbox: std::sync::Arc<dyn Outbox> = std::sync::Arc::new(DiscordOutbox::from_config(&bot.config).unwrap());
    bot_core::Scheduler::new(bot.hearth.clone(), vec![outbox])
}

/// The admin's `/meeting schedule` of a weekly Grief circle meeting.
fn weekly_grief_circle(n: u64, when: &str, timezone: &str) -> Value {
    command_interaction(
        id(n),
        &admin(),
        "meeting schedule",
        &[
            ("group", 3, json!("Grief circle")),
            ("when", 3, json!(when)),
            ("repeat", 3, json!("weekly")),
            ("timezone", 3, json!(timezone)),
        ],
    )
}

/// The admin's `/meeting move` of meeting 1's 21 March meeting to 22 March, 18:00.
fn move_the_21st_to_the_22nd(n: u64) -> Value {
    command_interaction(
        id(n),
        &admin(),
        "meeting move",
        &[
            ("meeting", 4, json!(1)),
            ("when", 3, json!("2026-03-22 18:00")),
            ("occurrence", 3, json!("2026-03-21")),
        ],
    )
}

/// The admin's `/meeting cancel` of every meeting of meeting 1.
fn cancel_the_series(n: u64) -> Value {
    command_interaction(
        id(n),
        &admin(),
        "meeting cancel",
        &[("meeting", 4, json!(1)), ("occurrence", 3, json!("all"))],
    )
}

/// The native events once `interaction` is answered and the scheduler has
/// done what it queued.
async fn events_after(
    bot: &Bot,
    scheduler: &bot_core::Scheduler,
    clock: &bot_core::ManualClock,
    interaction: Value,
) -> Vec<Value> {
    answer(&bot.interact(interaction).await);
    scheduler.tick(clock.now()).await.unwrap();
    bot.fake.events()
}

/// `/circle start mute_others:yes` by `who`.
fn circle_start_muting_others(n: u64, who: &Value) -> Value {
    command_interaction(id(n), who, "circle start", &[("mute_others", 3, json!("yes"))])
}

/// Discord refuses `method path` with 403 Missing Permissions.
fn missing_permissions(fake: &FakeDiscord, method: &str, path: &str) {
    fake.fail(method, path, 403, 50013, "Missing Permissions");
}

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

/// Every message the bot sent pings nobody but the users it lists.
fn assert_no_crowd_pings(bot: &Bot) {
    for r in bot.fake.requests() {
        let data = if r.path.ends_with("/callback") {
            &r.body["data"]
        } else {
            &r.body
        };
        let carries_message = data.get("embeds").is_some() || data.get("content").is_some();
        if !carries_message || r.method == "PUT" {
            continue;
        }
        let mentions = &data["allowed_mentions"];
        assert_eq!(
            mentions["parse"],
            json!([]),
            "{} {} allows parsing mentions",
            r.method,
            r.path
        );
        assert_eq!(
            mentions["roles"],
            json!([]),
            "{} {} allows role pings",
            r.method,
            r.path
        );
        let content = data["content"].as_str().unwrap_or_default();
        assert!(
            !content.contains("@everyone") && !content.contains("@here"),
            "{content}"
        );
    }
}

// ---- fixtures -------------------------------------------------------------

#[test]
fn every_fixture_is_an_event_serenity_understands() {
    let fixtures = [
        ("READY", ready_fixture()),
        ("INTERACTION_CREATE", command_interaction(1, &admin(), "help", &[])),
        ("INTERACTION_CREATE", group_create(2, &admin(), "Grief circle")),
        (
            "INTERACTION_CREATE",
            autocomplete_interaction(3, &plain_member(), "timezone", "zone", "Europe/Be"),
        ),
        (
            "INTERACTION_CREATE",
            button_interaction(
                4,
                &plain_member(),
                "h:group join group:#1",
                &message(7, CHANNEL, &json!({})),
            ),
        ),
        ("VOICE_STATE_UPDATE", voice_state(MEMBER, Some(77))),
        ("VOICE_STATE_UPDATE", voice_state(MEMBER, None)),
        (
            "GUILD_CREATE",
            guild_create(&[facilitator()], &[voice_state(MEMBER, Some(77))]),
        ),
    ];
    for (kind, data) in fixtures {
        let event =
            deserialize_event(kind, data).unwrap_or_else(|e| panic!("{kind} fixture is not a serenity event: {e}"));
        assert!(
            !matches!(event, Event::Unknown(_)),
            "{kind} fixture would be dropped as Event::Unknown"
        );
    }
    let msg = message(7, CHANNEL, &json!({ "content": "x" }));
    serde_json::from_value::<serenity::all::Message>(msg).expect("message fixture");
    serde_json::from_value::<serenity::all::Member>(member(1, "a", PLAIN, &[])).expect("member fixture");
    serde_json::from_value::<serenity::all::Role>(role(1, "r")).expect("role fixture");
}

/// serenity's `Event` is tagged by `t` with its payload in `d`, like the gateway frame.
fn deserialize_event(kind: &str, data: Value) -> Result<Event, String> {
    serde_json::from_value(json!({ "t": kind, "d": data })).map_err(|e| e.to_string())
}

// ---- registration ---------------------------------------------------------

/// The spec as Discord's command JSON, built independently of the adapter.
fn expected_commands() -> Vec<Value> {
    let mut top: Vec<(String, Value)> = Vec::new();
    for spec in COMMANDS {
        let words: Vec<&str> = spec.name.split(' ').collect();
        // Required options first, as Discord asks; a group is not required
        // there, since a group's home channel names it (issue 30).
        let options: Vec<Value> = spec
            .options
            .iter()
            .filter(|o| o.must_be_typed())
            .chain(spec.options.iter().filter(|o| !o.must_be_typed()))
            .map(expected_option)
            .collect();
        let leaf = |kind: u8, name: &str| json!({ "type": kind, "name": name, "description": spec.description, "options": options });
        match words.as_slice() {
            [one] => {
                let mut c = leaf(1, one);
                c["contexts"] = json!([0]);
                top.push(((*one).to_string(), c));
            }
            [parent, sub] => {
                if !top.iter().any(|(n, _)| n == parent) {
                    top.push((
                        (*parent).to_string(),
                        json!({ "type": 1, "name": parent, "options": [], "contexts": [0] }),
                    ));
                }
                let (_, c) = top.iter_mut().find(|(n, _)| n == parent).unwrap();
                c["options"].as_array_mut().unwrap().push(leaf(1, sub));
            }
            [parent, group, sub] => {
                if !top.iter().any(|(n, _)| n == parent) {
                    top.push((
                        (*parent).to_string(),
                        json!({ "type": 1, "name": parent, "options": [], "contexts": [0] }),
                    ));
                }
                let (_, c) = top.iter_mut().find(|(n, _)| n == parent).unwrap();
                let subs = c["options"].as_array_mut().unwrap();
                if !subs.iter().any(|o| o["type"] == 2 && o["name"] == *group) {
                    subs.push(json!({ "type": 2, "name": group, "options": [] }));
                }
                let g = subs.iter_mut().find(|o| o["type"] == 2 && o["name"] == *group).unwrap();
                g["options"].as_array_mut().unwrap().push(leaf(1, sub));
            }
            _ => panic!(
                "the rig handles commands of one to three words; extend it for {}",
                spec.name
            ),
        }
    }
    top.into_iter().map(|(_, c)| c).collect()
}

fn expected_option(o: &bot_core::spec::OptSpec) -> Value {
    let mut v = json!({ "name": o.name, "description": o.description, "required": o.must_be_typed() });
    match o.kind {
        Kind::Text { max } => {
            v["type"] = json!(3);
            v["max_length"] = json!(max);
        }
        Kind::Int { min, max } => {
            v["type"] = json!(4);
            // Discord's integers stop at 2^53 - 1.
            v["min_value"] = json!(min.min(hearth_discord::DISCORD_INT_MAX));
            v["max_value"] = json!(max.min(hearth_discord::DISCORD_INT_MAX));
            // Meetings are suggested by the core.
            if o.name == "meeting" {
                v["autocomplete"] = json!(true);
            }
        }
        Kind::Choice(choices) => {
            v["type"] = json!(3);
            v["choices"] = choices.iter().map(|c| json!({ "name": c, "value": c })).collect();
        }
        Kind::User => v["type"] = json!(6),
        Kind::Channel => v["type"] = json!(7),
        Kind::Date => v["type"] = json!(3),
        Kind::Group | Kind::Timezone | Kind::Command => {
            v["type"] = json!(3);
            v["autocomplete"] = json!(true);
        }
    }
    v
}

/// Drops what carries no meaning: nulls, empty lists and maps, `false`.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !matches!(v, Value::Null | Value::Bool(false)))
                .filter(|(_, v)| !v.as_array().is_some_and(Vec::is_empty))
                .filter(|(_, v)| !v.as_object().is_some_and(serde_json::Map::is_empty))
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn registered_guild_commands_match_the_spec_exactly() {
    let bot = Bot::start().await;

    let put = bot
        .fake
        .wait_request("PUT", &format!("/applications/{APP}/guilds/{GUILD}/commands"))
        .await;

    let mut sent = normalize(&put.body);
    for command in sent.as_array_mut().unwrap() {
        if command["options"][0]["type"] == 1 {
            // A parent's description is the adapter's own summary.
            let description = command.as_object_mut().unwrap().remove("description").unwrap();
            assert!(!description.as_str().unwrap().is_empty());
        }
        // So is a subcommand group's (`meeting script: show, edit, …`).
        for option in command
            .get_mut("options")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if option["type"] == 2 {
                let description = option.as_object_mut().unwrap().remove("description").unwrap();
                assert!(!description.as_str().unwrap().is_empty());
            }
        }
    }
    let expected = normalize(&Value::Array(expected_commands()));
    assert_eq!(sent, expected, "sent:\n{sent:#}\nexpected:\n{expected:#}");
    bot.stop().await;
}

#[tokio::test]
async fn without_guilds_commands_are_registered_globally() {
    let bot = Bot::start_with(Vec::new(), Duration::from_secs(60)).await;

    let put = bot
        .fake
        .wait_request("PUT", &format!("/applications/{APP}/commands"))
        .await;

    let names: Vec<&str> = put
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(names.contains(&"help") && names.contains(&"group") && names.contains(&"timezone"));
    bot.stop().await;
}

#[tokio::test]
async fn a_refused_token_stops_the_adapter_with_a_clear_error() {
    let fake = FakeDiscord::start().await;
    fake.fail("GET", "/gateway/bot", 401, 0, "401: Unauthorized");
    let (config, token_file) = rest_config(&fake, "refused-token", "wrong-token");
    let store = bot_core::Store::in_memory().await.unwrap();
    let hearth = bot_core::Hearth::new(
        store,
        std::sync::Arc::new(bot_core::SystemClock),
        bot_core::CoreConfig::default(),
    );

    let ended = tokio::time::timeout(
        Duration::from_secs(10),
        hearth_discord::run(hearth, config, std::future::pending()),
    )
    .await
    .expect("the adapter kept running with a refused token");

    let err = ended.unwrap_err().to_string();
    assert!(err.contains("token"), "{err}");
    assert!(
        !fake.requests().iter().any(|r| r.path == "/gateway"),
        "it went on to connect"
    );
    let _ = std::fs::remove_file(token_file);
}

#[test]
fn the_config_takes_guild_ids_as_numbers_or_text_and_refuses_unknown_keys() {
    let config: hearth_discord::DiscordConfig = serde_json::from_value(json!({
        "token_env": "HEARTH_DISCORD_TOKEN",
        "guilds": [123, "456"],
        "facilitator_role": "Facilitator",
    }))
    .unwrap();
    assert_eq!(config.guilds, [123, 456]);
    let err = serde_json::from_value::<hearth_discord::DiscordConfig>(json!({ "token": "secret" })).unwrap_err();
    assert!(err.to_string().contains("token"), "{err}");
    let zero = serde_json::from_value::<hearth_discord::DiscordConfig>(json!({ "guilds": [0] })).unwrap_err();
    assert!(zero.to_string().contains("not a guild id"), "{zero}");
    let missing = hearth_discord::DiscordConfig::default().token().unwrap_err();
    assert!(missing.to_string().contains("token_env or token_file"), "{missing}");
}

// ---- commands ---------------------------------------------------------------

#[tokio::test]
async fn help_answers_privately_with_the_command_list() {
    let bot = Bot::start().await;

    let callback = bot
        .interact(command_interaction(id(1), &plain_member(), "help", &[]))
        .await;

    let data = answer(&callback);
    assert!(is_ephemeral(data), "{data:#}");
    assert!(embed_text(data).contains("/group create"), "{}", embed_text(data));
    for new in [
        "/resources list",
        "/resources add",
        "/resources remove",
        "/mydata",
        "/forgetme",
    ] {
        assert!(embed_text(data).contains(new), "{new} in {}", embed_text(data));
    }
    assert_no_crowd_pings(&bot);
    bot.stop().await;
}

#[tokio::test]
async fn a_manage_server_member_creates_a_group_and_a_plain_member_is_refused() {
    let bot = Bot::start().await;

    let refused = bot.interact(group_create(1, &plain_member(), "Grief circle")).await;
    let created = bot.interact(group_create(2, &admin(), "Grief circle")).await;

    let refused = answer(&refused);
    assert!(is_ephemeral(refused));
    assert!(
        embed_text(refused).to_lowercase().contains("admin"),
        "{}",
        embed_text(refused)
    );
    let created = answer(&created);
    assert!(!is_ephemeral(created), "{created:#}");
    assert!(embed_text(created).contains("Grief circle"), "{}", embed_text(created));
    assert_no_crowd_pings(&bot);
    bot.stop().await;
}

#[tokio::test]
async fn group_info_and_list_are_public_and_the_join_button_joins() {
    let bot = Bot::start().await;
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);

    let list = bot
        .interact(command_interaction(id(2), &plain_member(), "group list", &[]))
        .await;
    let info = bot
        .interact(command_interaction(
            id(3),
            &plain_member(),
            "group info",
            &[("group", 3, json!("Grief circle"))],
        ))
        .await;

    let list = answer(&list);
    assert!(!is_ephemeral(list));
    assert!(embed_text(list).contains("Grief circle"), "{}", embed_text(list));
    let info = answer(&info);
    assert!(!is_ephemeral(info));
    assert!(embed_text(info).contains("grief"), "{}", embed_text(info));
    let button = &info["components"][0]["components"][0];
    let custom_id = button["custom_id"].as_str().expect("a Join button");
    assert!(custom_id.starts_with("h:group join"), "{custom_id}");

    let shown = message(id(50), CHANNEL, info);
    let joined = bot
        .interact(button_interaction(id(4), &plain_member(), custom_id, &shown))
        .await;

    let joined = answer(&joined);
    assert!(is_ephemeral(joined), "{joined:#}");
    assert!(embed_text(joined).contains("Grief circle"), "{}", embed_text(joined));
    let again = bot
        .interact(button_interaction(id(5), &plain_member(), custom_id, &shown))
        .await;
    assert!(
        embed_text(answer(&again)).to_lowercase().contains("already"),
        "{}",
        embed_text(answer(&again))
    );
    assert_no_crowd_pings(&bot);
    bot.stop().await;
}

#[tokio::test]
async fn the_directory_shows_no_closed_groups_link_and_keeps_an_open_ones_case() {
    let bot = Bot::start().await;
    for (n, name, link, registration) in [
        (1, "Open door", "https://Meet.Example/Open?pwd=OpenAbC", None),
        (2, "Caregivers", "https://Meet.Example/Care?pwd=SeCrEt9", Some("Ask us")),
    ] {
        let mut options = vec![
            ("name", 3, json!(name)),
            ("topic", 3, json!("peer")),
            ("led_by", 3, json!("peer")),
            ("format", 3, json!("online")),
            ("location", 3, json!(link)),
        ];
        options.extend(registration.map(|r| ("registration", 3, json!(r))));
        answer(
            &bot.interact(command_interaction(id(n), &admin(), "group create", &options))
                .await,
        );
    }

    let listed = bot
        .interact(command_interaction(id(3), &plain_member(), "group list", &[]))
        .await;

    let listed = answer(&listed);
    assert!(!is_ephemeral(listed), "the directory is public");
    let text = embed_text(listed);
    assert!(text.contains("Meet.Example/Open?pwd=OpenAbC"), "{text}");
    assert!(!text.to_lowercase().contains("secret9"), "{text}");
    bot.stop().await;
}

#[tokio::test]
async fn timezone_is_private_and_autocompletes_zone_names() {
    let bot = Bot::start().await;

    let suggestions = bot
        .interact(autocomplete_interaction(
            id(1),
            &plain_member(),
            "timezone",
            "zone",
            "europe/ber",
        ))
        .await;
    let set = bot
        .interact(command_interaction(
            id(2),
            &plain_member(),
            "timezone",
            &[("zone", 3, json!("Europe/Berlin"))],
        ))
        .await;

    assert_eq!(suggestions["type"], 8, "{suggestions:#}");
    assert_eq!(suggestions["data"]["choices"][0]["value"], "Europe/Berlin");
    let set = answer(&set);
    assert!(is_ephemeral(set));
    assert!(embed_text(set).contains("Europe/Berlin"), "{}", embed_text(set));
    bot.stop().await;
}

#[tokio::test]
async fn a_group_named_everyone_pings_nobody() {
    let bot = Bot::start().await;

    let created = bot.interact(group_create(1, &admin(), "@everyone @here")).await;
    let listed = bot
        .interact(command_interaction(id(2), &plain_member(), "group list", &[]))
        .await;

    for data in [answer(&created), answer(&listed)] {
        let text = embed_text(data);
        assert!(!text.contains("@everyone") && !text.contains("@here"), "{text}");
        assert!(text.contains("@\u{200b}everyone"), "{text}");
    }
    assert_no_crowd_pings(&bot);
    bot.stop().await;
}

#[tokio::test]
async fn resources_are_added_by_admins_listed_for_all_without_previews_or_pings() {
    let bot = Bot::start().await;
    let add = |n: u64, member: &Value, title: &str, topic: &str| {
        command_interaction(
            id(n),
            member,
            "resources add",
            &[
                ("title", 3, json!(title)),
                ("url", 3, json!("https://example.org/help")),
                ("topic", 3, json!(topic)),
            ],
        )
    };

    let refused = bot.interact(add(1, &plain_member(), "Mine", "reading")).await;
    let added = bot.interact(add(2, &admin(), "@everyone @here", "reading")).await;
    let local = bot.interact(add(3, &admin(), "Town helpline", "crisis")).await;
    // Issue 30: a local line that is a phone number.
    let phone = bot
        .interact(command_interaction(
            id(7),
            &admin(),
            "resources add",
            &[
                ("title", 3, json!("Town phone line")),
                ("url", 3, json!("tel:+44 116 123")),
                ("topic", 3, json!("crisis")),
            ],
        ))
        .await;
    let listed = bot
        .interact(command_interaction(id(4), &plain_member(), "resources list", &[]))
        .await;
    let crisis = bot
        .interact(command_interaction(
            id(5),
            &plain_member(),
            "crisis",
            &[("country", 3, json!("GB"))],
        ))
        .await;
    let removed = bot
        .interact(command_interaction(
            id(6),
            &admin(),
            "resources remove",
            &[("resource", 3, json!("1"))],
        ))
        .await;

    assert!(
        embed_text(answer(&refused)).contains("facilitator"),
        "{}",
        embed_text(answer(&refused))
    );
    for data in [answer(&added), answer(&listed)] {
        let text = embed_text(data);
        assert!(!text.contains("@everyone") && !text.contains("@here"), "{text}");
        assert!(text.contains("(<https://example.org/help>)"), "no preview: {text}");
    }
    assert!(is_ephemeral(answer(&listed)));
    assert!(embed_text(answer(&local)).contains("local crisis line"));
    let crisis = embed_text(answer(&crisis));
    assert!(
        crisis.find("Town helpline").unwrap() < crisis.find("Samaritans").unwrap(),
        "{crisis}"
    );
    assert!(crisis.contains("last checked on 2026\\-11\\-26"), "{crisis}");
    assert!(embed_text(answer(&phone)).contains("local crisis line"));
    assert!(
        crisis.contains("Town phone line**, call +44116123"),
        "the number as text: {crisis}"
    );
    assert!(!crisis.contains("tel:"), "{crisis}");
    assert!(embed_text(answer(&removed)).contains("Removed"));
    assert_no_crowd_pings(&bot);
    bot.stop().await;
}

#[tokio::test]
async fn mydata_arrives_as_a_private_file_and_forgetme_asks_then_erases() {
    let bot = Bot::start().await;
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    let join = command_interaction(
        id(2),
        &plain_member(),
        "group join",
        &[("group", 3, json!("Grief circle"))],
    );
    answer(&bot.interact(join).await);

    bot.fake.dispatch(
        "INTERACTION_CREATE",
        command_interaction(id(3), &plain_member(), "mydata", &[]),
    );
    let mydata = bot.fake.wait_request("POST", &callback_path(id(3))).await;
    let preview = bot
        .interact(command_interaction(id(4), &plain_member(), "forgetme", &[]))
        .await;
    let erased = bot
        .interact(command_interaction(
            id(5),
            &plain_member(),
            "forgetme",
            &[("confirm", 3, json!("yes"))],
        ))
        .await;

    assert_eq!(mydata.files, ["hearth-mydata.json"]);
    let data = answer(&mydata.body);
    assert!(is_ephemeral(data), "only Bo sees their data");
    assert!(
        embed_text(data).contains("Grief circle \\(member\\)"),
        "{}",
        embed_text(data)
    );
    let preview = answer(&preview);
    assert!(is_ephemeral(preview));
    assert!(
        embed_text(preview).contains("forgetme confirm:yes"),
        "{}",
        embed_text(preview)
    );
    let erased = answer(&erased);
    assert!(is_ephemeral(erased));
    assert!(
        embed_text(erased).contains("Nothing of it is left"),
        "{}",
        embed_text(erased)
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_facilitator_role_member_may_edit_a_group() {
    let bot = Bot::start().await;
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    let edit = |n: u64, who: &Value| {
        command_interaction(
            id(n),
            who,
            "group edit",
            &[("group", 3, json!("Grief circle")), ("cost", 3, json!("free"))],
        )
    };

    let by_member = bot.interact(edit(2, &plain_member())).await;
    let by_facilitator = bot.interact(edit(3, &facilitator())).await;

    assert!(is_ephemeral(answer(&by_member)), "a plain member was not refused");
    let edited = answer(&by_facilitator);
    assert!(!is_ephemeral(edited), "{edited:#}");
    bot.fake.wait_request("GET", &format!("/guilds/{GUILD}/roles")).await;
    bot.stop().await;
}

#[tokio::test]
async fn an_admin_clears_a_card_field_and_retires_a_group_after_confirming() {
    let bot = Bot::start().await;
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    let group = ("group", 3, json!("Grief circle"));

    let cleared = bot
        .interact(command_interaction(
            id(2),
            &admin(),
            "group edit",
            &[group.clone(), ("clear", 3, json!("capacity"))],
        ))
        .await;
    let preview = bot
        .interact(command_interaction(
            id(3),
            &admin(),
            "group retire",
            std::slice::from_ref(&group),
        ))
        .await;
    let retired = bot
        .interact(command_interaction(
            id(4),
            &admin(),
            "group retire",
            &[group, ("confirm", 3, json!("yes"))],
        ))
        .await;

    let cleared = answer(&cleared);
    assert!(embed_text(cleared).contains("0 members"), "{}", embed_text(cleared));
    let preview = answer(&preview);
    assert!(is_ephemeral(preview));
    assert!(embed_text(preview).contains("confirm:yes"), "{}", embed_text(preview));
    let retired = answer(&retired);
    assert!(!is_ephemeral(retired), "{retired:#}");
    assert!(
        embed_text(retired).contains("Retired Grief circle"),
        "{}",
        embed_text(retired)
    );
    bot.stop().await;
}

#[tokio::test]
async fn with_the_guild_cached_the_facilitator_role_is_read_from_the_cache() {
    let bot = Bot::start().await;
    bot.fake.dispatch(
        "GUILD_CREATE",
        guild_create(&[facilitator()], &[voice_state(MEMBER, Some(77))]),
    );
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);

    let edited = bot
        .interact(command_interaction(
            id(2),
            &facilitator(),
            "group edit",
            &[("group", 3, json!("Grief circle")), ("cost", 3, json!("free"))],
        ))
        .await;

    assert!(!is_ephemeral(answer(&edited)), "{edited:#}");
    assert!(
        !bot.fake.requests().iter().any(|r| r.path.ends_with("/roles")),
        "the roles were asked of the API although the guild was cached"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_slow_answer_is_deferred_privately_then_delivered() {
    let bot = Bot::start_with(vec![GUILD], Duration::ZERO).await;

    let deferred = bot
        .interact(command_interaction(id(1), &plain_member(), "help", &[]))
        .await;
    let edited = bot
        .fake
        .wait_request("PATCH", &format!("/webhooks/{APP}/{}/messages/@original", token(id(1))))
        .await;
    let public = bot
        .interact(command_interaction(id(2), &plain_member(), "group list", &[]))
        .await;
    let followup = bot
        .fake
        .wait_request("POST", &format!("/webhooks/{APP}/{}", token(id(2))))
        .await;

    assert_eq!(deferred["type"], 5);
    assert!(is_ephemeral(&deferred["data"]));
    assert!(embed_text(&edited.body).contains("/group create"));
    assert_eq!(public["type"], 5);
    assert!(!is_ephemeral(&followup.body), "{:#}", followup.body);
    assert!(followup.body["embeds"][0].is_object());
    assert_no_crowd_pings(&bot);
    bot.stop().await;
}

#[tokio::test]
async fn typed_user_and_channel_options_reach_the_core_as_ids() {
    let bot = Bot::start().await;
    let mut create = group_create(1, &admin(), "Grief circle");
    create["data"]["options"][0]["options"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "channel", "type": 7, "value": "3001" }));
    let created = bot.interact(create).await;

    let appointed = bot
        .interact(command_interaction(
            id(2),
            &admin(),
            "group facilitator",
            &[
                ("group", 3, json!("Grief circle")),
                ("user", 6, json!(FACILITATOR.to_string())),
                ("action", 3, json!("add")),
            ],
        ))
        .await;

    assert!(
        embed_text(answer(&created)).contains("<#3001>"),
        "{}",
        embed_text(answer(&created))
    );
    let appointed = answer(&appointed);
    assert!(!is_ephemeral(appointed), "{appointed:#}");
    assert!(
        embed_text(appointed).contains(&format!("<@{FACILITATOR}>")),
        "{}",
        embed_text(appointed)
    );
    // The appointed person is pinged, and nobody else.
    assert_eq!(appointed["content"], format!("<@{FACILITATOR}>"));
    assert_eq!(appointed["allowed_mentions"]["users"], json!([FACILITATOR.to_string()]));
    assert_no_crowd_pings(&bot);
    bot.stop().await;
}

#[tokio::test]
async fn leaving_a_group_is_private() {
    let bot = Bot::start().await;
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    let join = |n: u64, command: &str| {
        command_interaction(id(n), &plain_member(), command, &[("group", 3, json!("Grief circle"))])
    };

    answer(&bot.interact(join(2, "group join")).await);
    let left = bot.interact(join(3, "group leave")).await;

    let left = answer(&left);
    assert!(is_ephemeral(left));
    assert!(embed_text(left).contains("Grief circle"), "{}", embed_text(left));
    bot.stop().await;
}

#[tokio::test]
async fn the_meeting_guide_listing_arrives_as_a_json_file() {
    let bot = Bot::start().await;
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);

    bot.fake.dispatch(
        "INTERACTION_CREATE",
        command_interaction(
            id(2),
            &plain_member(),
            "group list",
            &[("format", 3, json!("meeting_guide"))],
        ),
    );
    let callback = bot.fake.wait_request("POST", &callback_path(id(2))).await;

    assert_eq!(callback.files, ["meeting-guide.json"]);
    let data = answer(&callback.body);
    assert!(is_ephemeral(data), "to the asker alone: {data:#}");
    assert_eq!(data["attachments"][0]["filename"], "meeting-guide.json");
    assert_eq!(data["allowed_mentions"]["parse"], json!([]));
    bot.stop().await;
}

#[tokio::test]
async fn outside_a_server_and_on_a_stale_button_the_answer_is_a_private_note() {
    let bot = Bot::start().await;
    let mut in_dm = command_interaction(id(1), &plain_member(), "help", &[]);
    let object = in_dm.as_object_mut().unwrap();
    object.remove("guild_id");
    object.remove("member");
    object.insert("user".into(), user(MEMBER, "Bo"));
    object.insert("context".into(), json!(1));
    let stale = button_interaction(
        id(2),
        &plain_member(),
        "old:thing",
        &message(id(50), CHANNEL, &json!({})),
    );
    let bad = button_interaction(
        id(3),
        &plain_member(),
        "h:group info group:\"unclosed",
        &message(id(51), CHANNEL, &json!({})),
    );

    let in_dm = bot.interact(in_dm).await;
    let stale = bot.interact(stale).await;
    let bad = bot.interact(bad).await;

    for data in [answer(&in_dm), answer(&stale), answer(&bad)] {
        assert!(is_ephemeral(data), "{data:#}");
    }
    assert!(embed_text(answer(&in_dm)).contains("inside a server"));
    assert!(embed_text(answer(&stale)).contains("no longer"));
    bot.stop().await;
}

#[tokio::test]
async fn help_autocompletes_command_names() {
    let bot = Bot::start().await;

    let suggestions = bot
        .interact(autocomplete_interaction(
            id(1),
            &plain_member(),
            "help",
            "command",
            "group",
        ))
        .await;

    assert_eq!(suggestions["type"], 8);
    let names: Vec<&str> = suggestions["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["value"].as_str())
        .collect();
    assert!(
        names.contains(&"group create") && names.contains(&"group list"),
        "{names:?}"
    );
    assert!(!names.contains(&"timezone"));
    bot.stop().await;
}

// ---- deliveries -------------------------------------------------------------

#[tokio::test]
async fn the_outbox_posts_and_dms_once_with_a_nonce() {
    let fake = FakeDiscord::start().await;
    let (config, token_file) = rest_config(&fake, "outbox", "fake-token");
    let outbox = DiscordOutbox::from_config(&config).unwrap();
    let reminder = Message::titled("Grief circle starts soon").text("See you there.");
    let post = Delivery {
        community: GUILD.to_string(),
        effect: Effect::Post {
            channel: CHANNEL.to_string(),
            message: reminder.clone(),
            key: Some("meeting:1:occ:2026-11-27T18:00Z:lead:1h:channel".into()),
        },
    };
    let dm = Delivery {
        community: GUILD.to_string(),
        effect: Effect::Dm {
            user: MEMBER.to_string(),
            message: Message {
                pings: vec![MEMBER.to_string()],
                ..reminder
            },
            key: Some("meeting:1:occ:2026-11-27T18:00Z:lead:1h:user:12".into()),
        },
    };

    outbox.deliver(&post).await.unwrap();
    outbox.deliver(&post).await.unwrap(); // a retry after a crash
    outbox.deliver(&dm).await.unwrap();

    let posts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == format!("/channels/{CHANNEL}/messages"))
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].body["nonce"], posts[1].body["nonce"]);
    assert_eq!(posts[0].body["enforce_nonce"], true);
    assert_eq!(posts[0].body["nonce"].as_str().unwrap().len(), 25);
    assert_eq!(posts[0].body["allowed_mentions"]["parse"], json!([]));
    let opened = fake.wait_request("POST", "/users/@me/channels").await;
    assert_eq!(opened.body["recipient_id"], MEMBER.to_string());
    let dm_sent = fake
        .wait_request("POST", &format!("/channels/{}/messages", dm_channel_id(MEMBER)))
        .await;
    assert_eq!(dm_sent.body["enforce_nonce"], true);
    assert_ne!(dm_sent.body["nonce"], posts[0].body["nonce"]);
    assert_eq!(dm_sent.body["allowed_mentions"]["users"], json!([MEMBER.to_string()]));
    assert_eq!(dm_sent.body["content"], format!("<@{MEMBER}>"));
    // After a restart, a new outbox sends the same nonce, and Discord keeps one message.
    let restarted = DiscordOutbox::from_config(&config).unwrap();
    restarted.deliver(&post).await.unwrap();
    let created = fake.created_messages();
    assert_eq!(
        created.iter().filter(|(c, _)| *c == CHANNEL.to_string()).count(),
        1,
        "a retried post was created twice"
    );
    let _ = std::fs::remove_file(token_file);
}

#[tokio::test]
async fn a_refused_delivery_is_permanent_and_a_server_error_is_retried() {
    let fake = FakeDiscord::start().await;
    let (config, token_file) = rest_config(&fake, "refused", "fake-token");
    let outbox = DiscordOutbox::from_config(&config).unwrap();
    fake.fail("POST", "/channels/1/messages", 403, 50013, "Missing Permissions");
    fake.fail("POST", "/channels/2/messages", 502, 0, "Bad Gateway");
    let post = |channel: &str| Effect::Post {
        channel: channel.into(),
        message: Message::new().text("hi"),
        key: None,
    };

    let refused = outbox.effect(&post("1")).await;
    let flaky = outbox.effect(&post("2")).await;

    assert!(
        matches!(refused, Err(bot_core::io::DeliveryError::Permanent(_))),
        "{refused:?}"
    );
    assert!(matches!(flaky, Err(bot_core::io::DeliveryError::Retry(_))), "{flaky:?}");
    let _ = std::fs::remove_file(token_file);
}

#[tokio::test]
async fn reminders_reach_the_channel_and_rsvpd_members_once_even_across_a_restart() {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let start = clock.now();
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    let scheduled = bot.interact(weekly_grief_circle(2, "thu 19:00", "Europe/Berlin")).await;
    let scheduled = answer(&scheduled);
    assert!(!is_ephemeral(scheduled), "{scheduled:#}");
    assert!(embed_text(scheduled).contains("<t:"), "{}", embed_text(scheduled));
    let going = scheduled["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .find(|b| b["custom_id"].as_str().is_some_and(|c| c.contains("answer:yes")))
        .unwrap_or_else(|| panic!("no Going button: {scheduled:#}"));
    let shown = message(id(60), CHANNEL, scheduled);
    let rsvp = bot
        .interact(button_interaction(
            id(3),
            &plain_member(),
            going["custom_id"].as_str().unwrap(),
            &shown,
        ))
        .await;
    assert!(is_ephemeral(answer(&rsvp)), "{rsvp:#}");

    let scheduler = events_scheduler(&bot);
    let report = scheduler
        .advance(&clock, start + chrono::Duration::hours(8))
        .await
        .unwrap();

    let channel_posts = |fake: &FakeDiscord| -> Vec<Recorded> {
        fake.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == format!("/channels/{CHANNEL}/messages"))
            .collect()
    };
    let posts = channel_posts(&bot.fake);
    // The channel reminder, the DM, and the series mirrored as a native event:
    // once when scheduled, once more as the meeting starts (moving on to the next).
    assert_eq!(report.sent, 4, "{report:?}");
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert_eq!(posts[0].body["enforce_nonce"], true);
    assert_eq!(posts[0].body["nonce"].as_str().unwrap().len(), 25);
    assert!(
        embed_text(&posts[0].body).contains("<t:"),
        "{}",
        embed_text(&posts[0].body)
    );
    assert_eq!(posts[0].body["allowed_mentions"]["parse"], json!([]));
    let dm = bot
        .fake
        .wait_request("POST", &format!("/channels/{}/messages", dm_channel_id(MEMBER)))
        .await;
    assert_eq!(dm.body["enforce_nonce"], true);
    assert_ne!(dm.body["nonce"], posts[0].body["nonce"]);

    // A restart: a new scheduler and outbox over the same store send nothing again.
    let restarted = events_scheduler(&bot);
    let again = restarted.tick(clock.now()).await.unwrap();

    assert_eq!(again.sent, 0, "{again:?}");
    assert_eq!(channel_posts(&bot.fake).len(), 1);
    assert_eq!(bot.fake.created_messages().len(), 2);
    assert_no_crowd_pings(&bot);
    bot.stop().await;
}

/// GUILD_BAN_ADD: the banned member's RSVP goes with them, and no reminder
/// DM reaches them; the channel still has its reminder.
#[tokio::test]
async fn a_member_banned_from_the_server_gets_no_reminder_dm_afterwards() {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let start = clock.now();
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    let scheduled = bot.interact(weekly_grief_circle(2, "thu 19:00", "Europe/Berlin")).await;
    let scheduled = answer(&scheduled);
    let going = scheduled["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .find(|b| b["custom_id"].as_str().is_some_and(|c| c.contains("answer:yes")))
        .unwrap_or_else(|| panic!("no Going button: {scheduled:#}"));
    let shown = message(id(60), CHANNEL, scheduled);
    let pressed = button_interaction(id(3), &plain_member(), going["custom_id"].as_str().unwrap(), &shown);
    answer(&bot.interact(pressed).await);
    let planned_for_them = || async {
        query_scalar::<i64>(
            "SELECT COUNT(*) FROM jobs j JOIN members m ON m.id = j.member_id
             WHERE m.external_id = ? AND j.state = 'pending'",
        )
        .bind(MEMBER.to_string())
        .fetch_one(bot.hearth.store())
        .await
        .unwrap()
    };
    assert!(planned_for_them().await > 0, "a reminder DM was planned");

    bot.fake.dispatch(
        "GUILD_BAN_ADD",
        json!({ "guild_id": GUILD.to_string(), "user": user(MEMBER, "member") }),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while planned_for_them().await > 0 {
        assert!(std::time::Instant::now() < deadline, "the ban was not taken in");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    events_scheduler(&bot)
        .advance(&clock, start + chrono::Duration::hours(8))
        .await
        .unwrap();

    let dms = bot
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == format!("/channels/{}/messages", dm_channel_id(MEMBER)))
        .count();
    let posts = bot
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == format!("/channels/{CHANNEL}/messages"))
        .count();
    assert_eq!(dms, 0, "no DM to the banned member");
    assert_eq!(posts, 1, "the channel's reminder");
    bot.stop().await;
}

#[tokio::test]
async fn reminders_due_together_in_one_channel_arrive_as_one_digest_whose_numbered_buttons_rsvp() {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let start = clock.now();
    for (n, name) in [(1, "Grief circle"), (2, "Carers' evening"), (3, "New parents")] {
        answer(&bot.interact(group_create(n, &admin(), name)).await);
        let scheduled = bot
            .interact(command_interaction(
                id(10 + n),
                &admin(),
                "meeting schedule",
                &[
                    ("group", 3, json!(name)),
                    ("when", 3, json!("thu 19:00")),
                    ("timezone", 3, json!("Europe/Berlin")),
                ],
            ))
            .await;
        assert!(!is_ephemeral(answer(&scheduled)), "{scheduled:#}");
    }
    let channel_posts = |fake: &FakeDiscord| -> Vec<Recorded> {
        fake.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == format!("/channels/{CHANNEL}/messages"))
            .collect()
    };
    let before = channel_posts(&bot.fake).len();

    let scheduler = events_scheduler(&bot);
    let report = scheduler
        .advance(&clock, start + chrono::Duration::minutes(7 * 60 + 30))
        .await
        .unwrap();
    assert_eq!(report.failed, 0, "{report:?}");

    // Three meetings at one instant in one channel: one message, not three pings.
    let posts = channel_posts(&bot.fake);
    assert_eq!(posts.len(), before + 1, "{posts:#?}");
    let digest = &posts[before].body;
    let text = embed_text(digest);
    assert!(text.contains("Reminders: 3 meetings"), "{text}");
    for name in ["Grief circle", "Carers' evening", "New parents"] {
        assert_eq!(text.matches(name).count(), 1, "{name} once in: {text}");
    }
    assert!(text.contains("<t:"), "start times are Discord timestamps: {text}");
    assert!(text.contains("/meeting rsvp"), "{text}");
    assert!(text.contains("/crisis"), "{text}");
    assert_eq!(digest["enforce_nonce"], true);
    assert_eq!(digest["allowed_mentions"]["parse"], json!([]));
    let buttons: Vec<Value> = digest["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(buttons.len(), 3, "{buttons:#?}");
    let emoji: Vec<&str> = buttons.iter().filter_map(|b| b["emoji"]["name"].as_str()).collect();
    assert_eq!(emoji, ["1\u{fe0f}\u{20e3}", "2\u{fe0f}\u{20e3}", "3\u{fe0f}\u{20e3}"]);
    let mut custom_ids: Vec<&str> = buttons.iter().filter_map(|b| b["custom_id"].as_str()).collect();
    assert!(custom_ids.iter().all(|c| c.contains("answer:yes")), "{custom_ids:?}");
    custom_ids.dedup();
    assert_eq!(custom_ids.len(), 3, "each button answers for its own meeting");

    // Bo presses the button of the meeting the digest lists second.
    let second = text
        .lines()
        .find_map(|l| l.split("2. ").nth(1))
        .map(|rest| {
            ["Grief circle", "Carers' evening", "New parents"]
                .into_iter()
                .find(|name| rest.contains(name))
                .unwrap()
        })
        .unwrap_or_else(|| panic!("no second entry in: {text}"));
    let shown = message(id(70), CHANNEL, digest);
    let rsvp = bot
        .interact(button_interaction(id(20), &plain_member(), custom_ids[1], &shown))
        .await;
    let rsvp = answer(&rsvp);
    assert!(is_ephemeral(rsvp), "{rsvp:#}");
    let said = format!("{}{}", rsvp["content"].as_str().unwrap_or(""), embed_text(rsvp));
    assert!(said.contains("going") && said.contains(second), "{said}");

    // A restart sends nothing again.
    let restarted = events_scheduler(&bot);
    assert_eq!(restarted.tick(clock.now()).await.unwrap().sent, 0);
    assert_eq!(channel_posts(&bot.fake).len(), before + 1);
    assert_no_crowd_pings(&bot);
    bot.stop().await;
}

#[tokio::test]
async fn on_discord_a_yes_past_capacity_waits_ephemerally_and_gets_a_dm_when_a_place_frees() {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let scheduler = events_scheduler(&bot);
    let two_places = command_interaction(
        id(1),
        &admin(),
        "group create",
        &[
            ("name", 3, json!("Grief circle")),
            ("topic", 3, json!("grief")),
            ("led_by", 3, json!("peer")),
            ("capacity", 4, json!(2)),
        ],
    );
    answer(&bot.interact(two_places).await);
    let scheduled = bot.interact(weekly_grief_circle(2, "2026-03-21 19:00", "UTC")).await;
    let card = answer(&scheduled).clone();
    let button = |label: &str| {
        card["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .find(|b| b["label"] == label)
            .and_then(|b| b["custom_id"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no {label} button on {card:#}"))
    };
    let shown = message(id(50), CHANNEL, &card);

    let ada = bot
        .interact(button_interaction(id(3), &admin(), &button("Going"), &shown))
        .await;
    answer(
        &bot.interact(button_interaction(id(6), &facilitator(), &button("Going"), &shown))
            .await,
    );
    let bo = bot
        .interact(button_interaction(id(4), &plain_member(), &button("Going"), &shown))
        .await;
    let before = bot.fake.requests().len();
    answer(
        &bot.interact(button_interaction(id(5), &admin(), &button("Not this time"), &shown))
            .await,
    );
    scheduler.tick(clock.now()).await.unwrap();
    scheduler.tick(clock.now()).await.unwrap();

    assert!(embed_text(answer(&ada)).contains("you're going"), "{ada:#}");
    let bo = answer(&bo);
    assert!(is_ephemeral(bo), "told privately: {bo:#}");
    assert!(embed_text(bo).contains("number 1 in line"), "{}", embed_text(bo));
    let to_bo: Vec<Value> = bot.fake.requests()[before..]
        .iter()
        .filter(|r| r.method == "POST" && r.path == format!("/channels/{}/messages", dm_channel_id(MEMBER)))
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(to_bo.len(), 1, "told once: {to_bo:#?}");
    assert!(
        embed_text(&to_bo[0]).contains("A place for you"),
        "{}",
        embed_text(&to_bo[0])
    );
    assert_eq!(to_bo[0]["enforce_nonce"], true, "the notice's key is Discord's nonce");
    bot.stop().await;
}

// ---- voice -------------------------------------------------------------------

#[tokio::test]
async fn voice_state_updates_become_presence_inputs() {
    let bot = Bot::start().await;
    let parse = |data: Value| match deserialize_event("VOICE_STATE_UPDATE", data) {
        Ok(Event::VoiceStateUpdate(e)) => e.voice_state,
        other => panic!("not a voice state update: {other:?}"),
    };
    let joined = parse(voice_state(MEMBER, Some(77)));
    let moved = parse(voice_state(MEMBER, Some(78)));
    let left = parse(voice_state(MEMBER, None));

    let at = |c: u64| Some(serenity::all::ChannelId::new(c));
    let join_input = hearth_discord::presence_input(None, &joined, at(77), true);
    let move_input = hearth_discord::presence_input(Some(&joined), &moved, at(78), false);
    let leave_input = hearth_discord::presence_input(Some(&moved), &left, None, false);
    let self_mute = hearth_discord::presence_input(Some(&moved), &moved, at(78), false);
    // Handled out of order: the cache already says where they are now.
    let late_join = hearth_discord::presence_input(None, &joined, None, false);

    let presence = |input: Option<bot_core::Input>| -> (String, bool) {
        let i = input.expect("an input");
        match &i.kind {
            InputKind::Presence(PresenceChange {
                channel,
                present,
                until: None,
            }) => {
                assert_eq!(i.place.community, GUILD.to_string());
                assert_eq!(i.actor.user, MEMBER.to_string());
                (channel.clone(), *present)
            }
            other => panic!("not presence: {other:?}"),
        }
    };
    assert!(
        join_input.as_ref().is_some_and(|i| i.actor.may_mute),
        "the fact travels"
    );
    assert_eq!(presence(join_input), ("77".to_string(), true));
    assert_eq!(presence(move_input), ("78".to_string(), true));
    assert_eq!(presence(leave_input), (String::new(), false));
    assert_eq!(presence(late_join), (String::new(), false));
    assert!(self_mute.is_none());

    // Through the gateway too: the adapter takes the event without failing,
    // and keeps answering afterwards.
    bot.fake.dispatch("VOICE_STATE_UPDATE", voice_state(MEMBER, Some(77)));
    let after = bot
        .interact(command_interaction(id(1), &plain_member(), "help", &[]))
        .await;
    answer(&after);
    bot.stop().await;
}

#[tokio::test]
async fn server_mute_is_sent_and_left_voice_and_missing_permission_are_reported() {
    let fake = FakeDiscord::start().await;
    let (config, token_file) = rest_config(&fake, "mute", "fake-token");
    let http = config.http().unwrap();
    fake.fail(
        "PATCH",
        &format!("/guilds/{GUILD}/members/21"),
        400,
        40032,
        "Target user is not connected to voice.",
    );
    fake.fail("PATCH", "/guilds/9/members/22", 403, 50013, "Missing Permissions");

    let muted = hearth_discord::set_server_mute(&http, GuildId::new(GUILD), UserId::new(MEMBER), true).await;
    let unmuted = hearth_discord::set_server_mute(&http, GuildId::new(GUILD), UserId::new(MEMBER), false).await;
    let gone = hearth_discord::set_server_mute(&http, GuildId::new(GUILD), UserId::new(21), false).await;
    let refused = hearth_discord::set_server_mute(&http, GuildId::new(9), UserId::new(22), true).await;

    assert_eq!(muted.unwrap(), MuteOutcome::Applied);
    assert_eq!(unmuted.unwrap(), MuteOutcome::Applied);
    assert_eq!(gone.unwrap(), MuteOutcome::NotInVoice);
    let refused = refused.unwrap_err();
    assert!(matches!(refused, MuteError::MissingPermission { guild: 9 }));
    assert!(refused.to_string().contains("Mute Members"));
    let patches: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path == format!("/guilds/{GUILD}/members/{MEMBER}"))
        .map(|r| r.body)
        .collect();
    assert_eq!(patches, [json!({ "mute": true }), json!({ "mute": false })]);
    let _ = std::fs::remove_file(token_file);
}

#[tokio::test]
async fn stage_suppress_is_sent_and_a_member_off_stage_is_reported() {
    let fake = FakeDiscord::start().await;
    let (config, token_file) = rest_config(&fake, "stage", "fake-token");
    let http = config.http().unwrap();
    fake.fail(
        "PATCH",
        &format!("/guilds/{GUILD}/voice-states/21"),
        404,
        10065,
        "Unknown Voice State",
    );
    let stage = serenity::all::ChannelId::new(88);

    let suppressed =
        hearth_discord::set_stage_suppress(&http, GuildId::new(GUILD), stage, UserId::new(MEMBER), true).await;
    let gone = hearth_discord::set_stage_suppress(&http, GuildId::new(GUILD), stage, UserId::new(21), true).await;

    assert_eq!(suppressed.unwrap(), MuteOutcome::Applied);
    assert_eq!(gone.unwrap(), MuteOutcome::NotInVoice);
    let sent = fake
        .wait_request("PATCH", &format!("/guilds/{GUILD}/voice-states/{MEMBER}"))
        .await;
    assert_eq!(sent.body, json!({ "channel_id": "88", "suppress": true }));
    let _ = std::fs::remove_file(token_file);
}

// ---- native events -------------------------------------------------------------

#[tokio::test]
async fn meetings_mirror_as_scheduled_events_updated_cancelled_and_within_the_limit() {
    let fake = FakeDiscord::start().await;
    let (config, token_file) = rest_config(&fake, "events", "fake-token");
    let http = config.http().unwrap();
    let guild = GuildId::new(GUILD);
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-01T18:00:00Z")
        .unwrap()
        .to_utc();
    let meeting = NativeEvent {
        name: "Grief circle".into(),
        description: Some("Weekly, peer-led".into()),
        start,
        end: start + chrono::Duration::minutes(90),
        place: EventPlace::Voice(77),
        repeat: None,
    };

    let id = events::mirror_event(&http, guild, None, &meeting).await.unwrap();
    let moved = NativeEvent {
        start: start + chrono::Duration::days(1),
        end: start + chrono::Duration::days(1) + chrono::Duration::minutes(90),
        place: EventPlace::External("https://meet.example/grief".into()),
        ..meeting.clone()
    };
    let same = events::mirror_event(&http, guild, Some(id), &moved).await.unwrap();
    events::cancel_event(&http, guild, id).await.unwrap();
    events::cancel_event(&http, guild, 424_242).await.unwrap();

    assert_eq!(same, id);
    let created = fake
        .wait_request("POST", &format!("/guilds/{GUILD}/scheduled-events"))
        .await;
    assert_eq!(created.body["entity_type"], 2);
    assert_eq!(created.body["channel_id"], "77");
    assert_eq!(created.body["privacy_level"], 2);
    let stored = fake.events();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["entity_type"], 3);
    assert_eq!(stored[0]["channel_id"], Value::Null, "an external event has no channel");
    assert_eq!(stored[0]["entity_metadata"]["location"], "https://meet.example/grief");
    assert_eq!(stored[0]["status"], 4, "cancelled");

    // A guild already at Discord's limit gets no new event, and says why.
    fake.add_events(99);
    let full = events::mirror_event(&http, guild, None, &meeting).await;
    let one_more = events::mirror_event(&http, guild, None, &meeting).await;
    assert!(full.is_ok(), "the 100th event fits: {full:?}");
    assert!(matches!(one_more, Err(EventError::LimitReached { .. })), "{one_more:?}");
    assert_eq!(fake.events().len(), 101, "one cancelled, 100 live");
    let _ = std::fs::remove_file(token_file);
}

#[tokio::test]
async fn a_scheduled_series_appears_as_its_next_native_event_moves_with_it_and_is_cancelled_with_it() {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let scheduler = events_scheduler(&bot);
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    let schedule = |id_: u64, options: &[Opt<'_>]| command_interaction(id(id_), &admin(), "meeting schedule", options);

    answer(
        &bot.interact(schedule(
            2,
            &[
                ("group", 3, json!("Grief circle")),
                ("when", 3, json!("2026-03-21 19:00")),
                ("repeat", 3, json!("weekly")),
                ("timezone", 3, json!("UTC")),
                ("where", 3, json!("<#77>")),
            ],
        ))
        .await,
    );
    scheduler.tick(clock.now()).await.unwrap();
    let created = bot.fake.events();
    let moved = events_after(&bot, &scheduler, &clock, move_the_21st_to_the_22nd(3)).await;
    let cancelled = events_after(&bot, &scheduler, &clock, cancel_the_series(4)).await;

    assert_eq!(created.len(), 1, "{created:#?}");
    assert_eq!(
        created[0]["entity_type"], 2,
        "a voice channel mention makes a voice event"
    );
    assert_eq!(created[0]["channel_id"], "77");
    assert_eq!(created[0]["name"], "Grief circle");
    assert!(
        created[0]["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-21T19:00:00"),
        "{:#}",
        created[0]
    );
    assert!(
        created[0]["description"]
            .as_str()
            .unwrap()
            .ends_with("(Hearth meeting 1)")
    );
    assert_eq!(moved.len(), 1, "the same event, updated: {moved:#?}");
    assert_eq!(moved[0]["id"], created[0]["id"]);
    assert!(
        moved[0]["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-22T18:00:00")
    );
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0]["status"], 4, "cancelled with the series");
    bot.stop().await;
}

#[tokio::test]
async fn a_series_edited_from_its_third_meeting_has_its_native_events_follow() {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let scheduler = events_scheduler(&bot);
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    answer(&bot.interact(weekly_grief_circle(2, "2026-03-21 19:00", "UTC")).await);
    scheduler.tick(clock.now()).await.unwrap();
    let created = bot.fake.events();

    let edited = bot
        .interact(command_interaction(
            id(3),
            &admin(),
            "meeting edit",
            &[
                ("meeting", 4, json!(1)),
                ("from", 3, json!("2026-04-04")),
                ("when", 3, json!("18:00")),
            ],
        ))
        .await;
    scheduler.tick(clock.now()).await.unwrap();
    let after = bot.fake.events();

    assert_eq!(created.len(), 1, "{created:#?}");
    assert!(
        embed_text(answer(&edited)).contains("meeting 2"),
        "{}",
        embed_text(answer(&edited))
    );
    let of = |meeting: i64| {
        after
            .iter()
            .find(|e| {
                e["description"]
                    .as_str()
                    .is_some_and(|d| d.ends_with(&format!("(Hearth meeting {meeting})")))
            })
            .unwrap_or_else(|| panic!("no event for meeting {meeting}: {after:#?}"))
    };
    assert_eq!(after.len(), 2, "{after:#?}");
    assert_eq!(of(1)["id"], created[0]["id"], "the series' own event, updated");
    assert!(
        of(1)["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-04-04T18:00:00"),
        "{:#}",
        of(1)
    );
    assert!(
        of(2)["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-21T19:00:00"),
        "the meetings before the change keep their time: {:#}",
        of(2)
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_native_event_that_has_started_is_never_edited_and_is_ended_when_its_series_is_cancelled() {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let scheduler = events_scheduler(&bot);
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    // In Berlin, whose clocks change on the 29th: one event per meeting, as
    // Discord's rule has no zone (a repeating one stays the series' only event).
    answer(
        &bot.interact(weekly_grief_circle(2, "2026-03-21 19:00", "Europe/Berlin"))
            .await,
    );
    scheduler.tick(clock.now()).await.unwrap();
    let first = bot.fake.events()[0]["id"].as_str().unwrap().to_string();
    // Someone starts the event on Discord ahead of time: it is active now.
    bot.fake.start_event(&first);
    let before = bot.fake.requests().len();

    // The occurrence moves: the event that has started stays as it is, and
    // the occurrence gets an event of its own.
    let moved = events_after(&bot, &scheduler, &clock, move_the_21st_to_the_22nd(3)).await;
    // The series is cancelled: the running event is ended, the other cancelled.
    let cancelled = events_after(&bot, &scheduler, &clock, cancel_the_series(4)).await;

    let to_first = format!("/guilds/{GUILD}/scheduled-events/{first}");
    let edits: Vec<serde_json::Value> = bot.fake.requests()[before..]
        .iter()
        .filter(|r| r.method == "PATCH" && r.path == to_first)
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(edits, [json!({ "status": 3 })], "only ended, never edited");
    assert_eq!(moved.len(), 2, "{moved:#?}");
    assert_eq!(moved[0]["status"], 2);
    assert!(
        moved[1]["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-22T17:00:00"),
        "{:#}",
        moved[1]
    );
    assert_eq!(cancelled[0]["status"], 3, "the running event ended");
    assert_eq!(cancelled[1]["status"], 4, "the one to come cancelled");
    bot.stop().await;
}

/// `/meeting cancel` of meeting 1's meeting on `day`.
fn cancel_one(n: u64, day: &str) -> Value {
    command_interaction(
        id(n),
        &admin(),
        "meeting cancel",
        &[("meeting", 4, json!(1)), ("occurrence", 3, json!(day))],
    )
}

#[tokio::test]
async fn a_weekly_series_is_one_recurring_event_that_a_cancelled_meeting_updates_as_discord_allows() {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let scheduler = events_scheduler(&bot);
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);

    let created = events_after(
        &bot,
        &scheduler,
        &clock,
        weekly_grief_circle(2, "2026-03-21 19:00", "UTC"),
    )
    .await;
    let posted = bot
        .fake
        .wait_request("POST", &format!("/guilds/{GUILD}/scheduled-events"))
        .await;
    // The next meeting cancelled: the same event now repeats from the one after.
    let next_cancelled = events_after(&bot, &scheduler, &clock, cancel_one(3, "2026-03-21")).await;
    // A later one cancelled: Discord's rule cannot leave a date out, so the
    // event stands for the next meeting alone.
    let later_cancelled = events_after(&bot, &scheduler, &clock, cancel_one(4, "2026-04-11")).await;
    let ended = events_after(&bot, &scheduler, &clock, cancel_the_series(5)).await;

    assert_eq!(created.len(), 1, "one event for the series: {created:#?}");
    let rule = json!({ "start": "2026-03-21T19:00:00+00:00", "frequency": 2, "interval": 1, "by_weekday": [5] });
    assert_eq!(posted.body["recurrence_rule"], rule, "sent as Discord's docs say");
    assert_eq!(created[0]["recurrence_rule"], rule);
    assert!(
        created[0]["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-21T19:00:00")
    );
    assert_eq!(next_cancelled.len(), 1, "{next_cancelled:#?}");
    assert_eq!(next_cancelled[0]["id"], created[0]["id"]);
    assert!(
        next_cancelled[0]["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-28T19:00:00"),
        "{:#}",
        next_cancelled[0]
    );
    assert_eq!(
        next_cancelled[0]["recurrence_rule"]["start"],
        "2026-03-28T19:00:00+00:00"
    );
    assert_eq!(next_cancelled[0]["recurrence_rule"]["by_weekday"], json!([5]));
    assert_eq!(later_cancelled.len(), 1);
    assert_eq!(later_cancelled[0]["id"], created[0]["id"]);
    assert_eq!(
        later_cancelled[0]["recurrence_rule"],
        Value::Null,
        "{:#}",
        later_cancelled[0]
    );
    assert!(
        later_cancelled[0]["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-28T19:00:00")
    );
    assert_eq!(ended[0]["status"], 4, "cancelled with the series");
    bot.stop().await;
}

/// The events of meeting 1 that show on Discord: scheduled or running.
fn live_events_of_meeting_1(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| {
            e["description"]
                .as_str()
                .is_some_and(|d| d.ends_with("(Hearth meeting 1)"))
        })
        .filter(|e| e["status"] == 1 || e["status"] == 2)
        .collect()
}

/// A weekly series mirrored as one repeating event, which Discord starts at
/// 19:00 on 21 March; the clock a minute into that meeting.
async fn a_weekly_recurring_event_under_way() -> (Bot, bot_core::ManualClock, bot_core::Scheduler, String) {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let scheduler = events_scheduler(&bot);
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    let created = events_after(
        &bot,
        &scheduler,
        &clock,
        weekly_grief_circle(2, "2026-03-21 19:00", "UTC"),
    )
    .await;
    assert_eq!(created.len(), 1, "{created:#?}");
    assert!(!created[0]["recurrence_rule"].is_null(), "{:#}", created[0]);
    let id = created[0]["id"].as_str().unwrap().to_string();
    clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-03-21T19:01:00Z")
            .unwrap()
            .to_utc(),
    );
    bot.fake.start_event(&id);
    (bot, clock, scheduler, id)
}

#[tokio::test]
async fn a_running_recurring_event_stays_the_series_only_event_and_a_series_cancelled_meanwhile_shows_no_more() {
    let (bot, clock, scheduler, id) = a_weekly_recurring_event_under_way().await;

    // The job at the meeting's start: Discord moves the event on by itself.
    let before = bot.fake.requests().len();
    scheduler.tick(clock.now()).await.unwrap();
    let at_start = bot.fake.events();
    let at_start_calls: Vec<String> = bot.fake.requests()[before..]
        .iter()
        .filter(|r| r.path.contains("scheduled-events"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    // A later meeting cancelled while this one runs: the running event
    // cannot take it yet, and no second event is made for it.
    let later_cancelled = events_after(&bot, &scheduler, &clock, cancel_one(3, "2026-03-28")).await;
    // The series cancelled while its meeting runs; the mirror that waits
    // for the running event tries again a minute later and carries it out.
    let cancelled = events_after(&bot, &scheduler, &clock, cancel_the_series(4)).await;
    clock.advance(chrono::Duration::minutes(1));
    scheduler.tick(clock.now()).await.unwrap();
    let after = bot.fake.events();

    let posts = bot
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == format!("/guilds/{GUILD}/scheduled-events"))
        .count();
    assert_eq!(posts, 1, "one event ever made for the series");
    assert_eq!(
        at_start_calls,
        [format!("GET /guilds/{GUILD}/scheduled-events")],
        "mirrored at the start, left as it is"
    );
    for events in [&at_start, &later_cancelled, &cancelled] {
        let live = live_events_of_meeting_1(events);
        assert_eq!(live.len(), 1, "{events:#?}");
        assert_eq!(live[0]["id"], id.as_str());
        assert_eq!(live[0]["status"], 2, "still running: {:#}", live[0]);
    }
    assert_eq!(after.len(), 1, "{after:#?}");
    assert!(
        live_events_of_meeting_1(&after).is_empty(),
        "nothing left that will show again: {after:#?}"
    );
    assert_eq!(
        after[0]["status"], 4,
        "moved on by Discord, then cancelled: {:#}",
        after[0]
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_recurring_event_changed_while_it_runs_is_set_right_once_discord_moves_it_on() {
    let (bot, clock, scheduler, id) = a_weekly_recurring_event_under_way().await;

    let later_cancelled = events_after(&bot, &scheduler, &clock, cancel_one(3, "2026-03-28")).await;
    // The meeting ends: Discord schedules the event again, for the 28th,
    // the meeting just cancelled; the mirror's next try moves it on.
    bot.fake.end_event(&id);
    let moved_on = bot.fake.events();
    clock.advance(chrono::Duration::minutes(1));
    scheduler.tick(clock.now()).await.unwrap();
    let after = bot.fake.events();

    assert_eq!(
        live_events_of_meeting_1(&later_cancelled).len(),
        1,
        "{later_cancelled:#?}"
    );
    assert_eq!(moved_on[0]["status"], 1);
    assert!(
        moved_on[0]["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-28T19:00:00"),
        "{:#}",
        moved_on[0]
    );
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0]["id"], id.as_str());
    assert_eq!(after[0]["status"], 1);
    assert!(
        after[0]["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-04-04T19:00:00"),
        "{:#}",
        after[0]
    );
    assert_eq!(after[0]["recurrence_rule"]["start"], "2026-04-04T19:00:00+00:00");
    bot.stop().await;
}

#[tokio::test]
async fn rules_discord_cannot_say_keep_one_event_for_the_next_meeting() {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let scheduler = events_scheduler(&bot);
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    let schedule = |n: u64, when: &str, repeat: &str, zone: &str| {
        command_interaction(
            id(n),
            &admin(),
            "meeting schedule",
            &[
                ("group", 3, json!("Grief circle")),
                ("when", 3, json!(when)),
                ("repeat", 3, json!(repeat)),
                ("timezone", 3, json!(zone)),
            ],
        )
    };

    // The last Friday of each month: Discord says "the 4th" or "the 5th", never "the last".
    answer(
        &bot.interact(schedule(2, "2026-03-27 18:00", "FREQ=MONTHLY;BYDAY=-1FR", "UTC"))
            .await,
    );
    // Weekly at 19:00 in Berlin: 18:00 UTC, then 17:00 once the clocks go
    // forward on 29 March; Discord's rule has no zone.
    answer(
        &bot.interact(schedule(3, "2026-03-24 19:00", "weekly", "Europe/Berlin"))
            .await,
    );
    // The second Tuesday of each month, in UTC: Discord can say that.
    answer(
        &bot.interact(schedule(4, "2026-04-14 15:00", "FREQ=MONTHLY;BYDAY=2TU", "UTC"))
            .await,
    );
    scheduler.tick(clock.now()).await.unwrap();
    let events = bot.fake.events();

    let of = |meeting: i64| {
        events
            .iter()
            .find(|e| {
                e["description"]
                    .as_str()
                    .is_some_and(|d| d.ends_with(&format!("(Hearth meeting {meeting})")))
            })
            .unwrap_or_else(|| panic!("no event for meeting {meeting}: {events:#?}"))
    };
    assert_eq!(events.len(), 3, "{events:#?}");
    assert_eq!(of(1)["recurrence_rule"], Value::Null, "{:#}", of(1));
    assert!(
        of(1)["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-27T18:00:00")
    );
    assert_eq!(of(2)["recurrence_rule"], Value::Null, "{:#}", of(2));
    assert!(
        of(2)["scheduled_start_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-24T18:00:00")
    );
    assert_eq!(
        of(3)["recurrence_rule"],
        json!({ "start": "2026-04-14T15:00:00+00:00", "frequency": 1, "interval": 1,
                "by_n_weekday": [{ "n": 2, "day": 1 }] })
    );
    bot.stop().await;
}

#[test]
fn the_fake_refuses_recurrence_rules_as_discords_docs_do() {
    let start = "2026-03-21T19:00:00+00:00";

    assert!(valid_recurrence(&Value::Null).is_ok());
    assert!(valid_recurrence(&json!({ "start": start, "frequency": 2, "interval": 2, "by_weekday": [5] })).is_ok());
    for wrong in [
        json!({ "start": start, "frequency": 2, "interval": 1, "by_weekday": [1, 5] }),
        json!({ "start": start, "frequency": 2, "interval": 3, "by_weekday": [5] }),
        json!({ "start": start, "frequency": 3, "interval": 1, "by_weekday": [0, 2, 4] }),
        json!({ "start": start, "frequency": 1, "interval": 1, "by_n_weekday": [{ "n": -1, "day": 4 }] }),
        json!({ "start": start, "frequency": 2, "interval": 1, "by_weekday": [5], "count": 8 }),
        json!({ "start": start, "frequency": 0, "interval": 1, "by_month": [3] }),
    ] {
        assert!(valid_recurrence(&wrong).is_err(), "{wrong}");
    }
}

#[tokio::test]
async fn groups_and_meetings_autocomplete_from_the_core() {
    let bot = Bot::start().await;
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    answer(&bot.interact(group_create(2, &admin(), "Caregivers")).await);
    answer(
        &bot.interact(command_interaction(
            id(3),
            &admin(),
            "meeting schedule",
            &[
                ("group", 3, json!("Caregivers")),
                ("when", 3, json!("tomorrow 19:00")),
                ("repeat", 3, json!("weekly")),
            ],
        ))
        .await,
    );

    let groups = bot
        .interact(autocomplete_interaction(
            id(4),
            &plain_member(),
            "group info",
            "group",
            "grief",
        ))
        .await;
    let meetings = bot
        .interact(autocomplete_interaction(
            id(5),
            &plain_member(),
            "meeting rsvp",
            "meeting",
            "",
        ))
        .await;

    assert_eq!(
        groups["data"]["choices"],
        json!([{ "name": "Grief circle", "value": "Grief circle" }])
    );
    let meeting = &meetings["data"]["choices"][0];
    assert_eq!(meeting["value"], 1, "{meetings:#}");
    assert!(
        meeting["name"].as_str().unwrap().starts_with("Caregivers · Weekly"),
        "{meeting:#}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn the_rest_of_the_meeting_commands_and_crisis_lines_work_as_slash_commands() {
    let bot = Bot::start().await;
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    answer(
        &bot.interact(weekly_grief_circle(2, "tomorrow 19:00", "Europe/Berlin"))
            .await,
    );

    let list = bot
        .interact(command_interaction(id(3), &plain_member(), "meeting list", &[]))
        .await;
    let reminders = bot
        .interact(command_interaction(
            id(4),
            &plain_member(),
            "reminders",
            &[("leads", 3, json!("2h")), ("quiet", 3, json!("22:00-08:00"))],
        ))
        .await;
    let group_leads_refused = bot
        .interact(command_interaction(
            id(5),
            &plain_member(),
            "reminders",
            &[("group", 3, json!("Grief circle")), ("leads", 3, json!("2h"))],
        ))
        .await;
    let crisis = bot
        .interact(command_interaction(
            id(6),
            &plain_member(),
            "crisis",
            &[("country", 3, json!("US"))],
        ))
        .await;
    bot.fake.dispatch(
        "INTERACTION_CREATE",
        command_interaction(id(7), &plain_member(), "meeting calendar", &[]),
    );
    let calendar = bot.fake.wait_request("POST", &callback_path(id(7))).await;
    // A country by name, with a word more: lines, never "too long".
    let crisis_by_name = bot
        .interact(command_interaction(
            id(8),
            &plain_member(),
            "crisis",
            &[("country", 3, json!("Deutschland bitte"))],
        ))
        .await;

    let list = answer(&list);
    assert!(is_ephemeral(list));
    assert!(
        embed_text(list).contains("Grief circle") && embed_text(list).contains("meeting 1"),
        "{}",
        embed_text(list)
    );
    assert!(embed_text(list).contains("<t:"), "times render in each reader's zone");
    let reminders = answer(&reminders);
    assert!(is_ephemeral(reminders));
    assert!(
        embed_text(reminders).contains("Before meetings: 2 hours."),
        "{}",
        embed_text(reminders)
    );
    assert!(
        embed_text(reminders).contains("Quiet hours: 22:00"),
        "{}",
        embed_text(reminders)
    );
    assert!(embed_text(answer(&group_leads_refused)).contains("Only a facilitator of Grief circle"));
    let crisis = answer(&crisis);
    assert!(is_ephemeral(crisis), "crisis lines are private");
    assert!(
        embed_text(crisis).contains("988 Suicide & Crisis Lifeline"),
        "{}",
        embed_text(crisis)
    );
    assert_eq!(calendar.files, ["meetings.ics"]);
    assert!(is_ephemeral(answer(&calendar.body)));
    let by_name = embed_text(answer(&crisis_by_name));
    assert!(by_name.contains("TelefonSeelsorge, call 0800 111 0 111"), "{by_name}");
    bot.stop().await;
}

// ---- the talking stick ----------------------------------------------------

/// Waits until the core holds `n` people as in voice channels (in memory:
/// nothing is stored while no circle runs).
async fn wait_in_voice(bot: &Bot, n: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let count = i64::try_from(bot.hearth.in_voice(bot_core::Platform::Discord, &GUILD.to_string())).unwrap();
        if count == n {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{count} in voice, not {n}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The status message the bot posted in the channel, as it stands now.
fn status_message(bot: &Bot) -> Value {
    bot.fake
        .created_messages()
        .into_iter()
        .map(|(_, m)| m)
        .find(|m| embed_text(m).starts_with("Talking circle\n") && m["components"].as_array().is_some())
        .expect("a status message")
}

/// Waits until the status message's embed contains `what`.
async fn wait_status(bot: &Bot, what: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let found = bot
            .fake
            .created_messages()
            .into_iter()
            .map(|(_, m)| m)
            .find(|m| embed_text(m).starts_with("Talking circle\n") && embed_text(m).contains(what));
        if let Some(m) = found {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no status says {what:?}; messages: {:#?}",
            bot.fake.created_messages()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_circle_follows_voice_presence_and_edits_one_status_message_as_the_stick_moves() {
    let bot = Bot::start().await;
    bot.fake.dispatch("VOICE_STATE_UPDATE", voice_state(ADMIN, Some(77)));
    wait_in_voice(&bot, 1).await;
    bot.fake.dispatch("VOICE_STATE_UPDATE", voice_state(MEMBER, Some(77)));
    wait_in_voice(&bot, 2).await;

    let started = bot
        .interact(command_interaction(id(1), &admin(), "circle start", &[]))
        .await;
    let started = answer(&started);
    assert!(!is_ephemeral(started));
    assert!(embed_text(started).contains("A talking circle has begun."));
    let status = wait_status(&bot, "2 people").await;
    assert!(
        embed_text(&status).contains("has the stick."),
        "{}",
        embed_text(&status)
    );
    let next = status["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|b| b["custom_id"].as_str().filter(|c| c.contains("circle next circle:")))
        .expect("a Next button")
        .to_string();

    // The holder (the admin, first in voice) presses Next: the same message is edited.
    let pressed = bot.interact(button_interaction(id(2), &admin(), &next, &status)).await;
    assert!(is_ephemeral(answer(&pressed)));
    let status_id = status["id"].as_str().unwrap().to_string();
    bot.fake
        .wait_request("PATCH", &format!("/channels/{CHANNEL}/messages/{status_id}"))
        .await;

    // The member leaves voice while holding it: the stick comes back, by edit again.
    bot.fake.dispatch("VOICE_STATE_UPDATE", voice_state(MEMBER, None));
    wait_in_voice(&bot, 1).await;
    let edited = wait_status(&bot, "left; the stick moves on").await;
    assert_eq!(edited["id"], status["id"]);
    assert!(embed_text(&edited).contains("1 person"), "{}", embed_text(&edited));

    // A member cannot end it; the facilitator's summary is ephemeral, and the room hears thanks.
    let refused = bot
        .interact(command_interaction(id(3), &plain_member(), "circle end", &[]))
        .await;
    assert!(embed_text(answer(&refused)).contains("Only a facilitator"));
    let ended = bot
        .interact(command_interaction(id(4), &admin(), "circle end", &[]))
        .await;
    let ended = answer(&ended);
    assert!(is_ephemeral(ended));
    assert!(embed_text(ended).contains("Circle summary"), "{}", embed_text(ended));
    wait_status(&bot, "This circle has ended.").await;
    let posts: Vec<Value> = bot
        .fake
        .created_messages()
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| embed_text(m).starts_with("Talking circle\n"))
        .collect();
    assert_eq!(posts.len(), 2, "one status message and one thank-you: {posts:#?}");
    assert!(posts.iter().all(|m| !embed_text(m).contains("Circle summary")));
    assert_no_crowd_pings(&bot);
    assert_eq!(status_message(&bot)["id"], status["id"]);
    bot.stop().await;
}

const DI: u64 = 14;

/// The server mutes the bot asked for so far: (user, mute).
fn mutes(bot: &Bot) -> Vec<(u64, bool)> {
    bot.fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.starts_with(&format!("/guilds/{GUILD}/members/")))
        .map(|r| {
            let user = r.path.rsplit('/').next().unwrap().parse().unwrap();
            (user, r.body["mute"].as_bool().unwrap())
        })
        .collect()
}

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

/// Ada (who may mute), Bo and Di in the voice channel, as the server comes
/// into the cache: Discord's permissions say who may mute there.
async fn three_in_voice(bot: &Bot) {
    let states = [ADMIN, MEMBER, DI].map(|user| voice_state(user, Some(VOICE)));
    bot.fake
        .dispatch("GUILD_CREATE", guild_create(&[admin(), plain_member()], &states));
    wait_in_voice(bot, 3).await;
}

#[tokio::test]
async fn mute_others_mutes_all_but_the_holder_and_facilitator_and_follows_the_stick_exactly() {
    let bot = Bot::start().await;
    three_in_voice(&bot).await;

    let started = bot.interact(circle_start_muting_others(1, &admin())).await;
    assert!(embed_text(answer(&started)).contains("is muted while the circle runs"));
    let at_start = wait_mutes(&bot, 2).await;
    answer(
        &bot.interact(command_interaction(id(2), &admin(), "circle next", &[]))
            .await,
    );
    let after_first = wait_mutes(&bot, 3).await;
    answer(
        &bot.interact(command_interaction(id(3), &plain_member(), "circle next", &[]))
            .await,
    );
    let after_second = wait_mutes(&bot, 5).await;
    answer(
        &bot.interact(command_interaction(id(4), &admin(), "circle end", &[]))
            .await,
    );
    let after_end = wait_mutes(&bot, 6).await;

    // The facilitator is never muted; the holder is unmuted, the last one muted.
    assert_eq!(at_start, [(MEMBER, true), (DI, true)]);
    assert_eq!(after_first[2..], [(MEMBER, false)]);
    assert_eq!(after_second[3..], [(DI, false), (MEMBER, true)]);
    assert_eq!(after_end[5..], [(MEMBER, false)]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mutes(&bot).len(), 6, "nothing more: {:?}", mutes(&bot));
    bot.stop().await;
}

/// Every row of every table that names `user` (by platform id or name in a
/// text column) or the member row `member` (in a column that refers to one).
async fn rows_naming(bot: &Bot, user: &str, name: &str, member: i64) -> Vec<String> {
    let store = bot.hearth.store();
    let tables: Vec<String> = query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .on_postgres(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .fetch_all(store)
        .await
        .unwrap();
    let mut found = Vec::new();
    for table in tables {
        let columns: Vec<(String, String)> = query_as("SELECT name, type FROM pragma_table_info(?)")
            .on_postgres(
                "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = ?",
            )
            .bind(&table)
            .fetch_all(store)
            .await
            .unwrap();
        for (column, kind) in columns {
            // Names read from the schema itself, not from input; values bound.
            let (sql, refers) = if kind.eq_ignore_ascii_case("TEXT") {
                (
                    format!(
                        "SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" IN (?1, ?2) OR \"{column}\" LIKE '%\"' || ?1 || '\"%' OR \"{column}\" LIKE '%<@' || ?1 || '>%'"
                    ),
                    false,
                )
            } else if ["member_id", "holder_id", "facilitator_id"].contains(&column.as_str()) {
                (
                    format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" = ?3"),
                    true,
                )
            } else {
                continue;
            };
            let n: i64 = query_scalar(sql)
                .bind(user)
                .bind(name)
                .bind(member)
                .fetch_one(store)
                .await
                .unwrap();
            if n > 0 {
                found.push(format!(
                    "{table}.{column}{}: {n}",
                    if refers { " (member row)" } else { "" }
                ));
            }
        }
    }
    found
}

#[tokio::test]
async fn forgetme_with_a_circle_mute_held_leaves_no_row_naming_the_member_after_the_unmute() {
    let bot = Bot::start().await;
    three_in_voice(&bot).await;
    answer(&bot.interact(circle_start_muting_others(1, &admin())).await);
    wait_mutes(&bot, 2).await;
    let before: i64 = query_scalar("SELECT id FROM members WHERE platform = 'discord' AND external_id = ?")
        .bind(MEMBER.to_string())
        .fetch_one(bot.hearth.store())
        .await
        .unwrap();
    let held = rows_naming(&bot, &MEMBER.to_string(), "Bo", before).await;

    let erased = bot
        .interact(command_interaction(
            id(2),
            &plain_member(),
            "forgetme",
            &[("confirm", 3, json!("yes"))],
        ))
        .await;
    let unmuted = wait_mutes(&bot, 3).await;
    // The unmute's report reaches the core after the request: give it time to (not) write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rows_naming(&bot, &MEMBER.to_string(), "Bo", before).await;

    assert!(
        held.iter().any(|r| r.starts_with("circle_mutes.")),
        "the scan sees a held mute: {held:?}"
    );
    assert!(embed_text(answer(&erased)).contains("Nothing of it is left"));
    assert_eq!(unmuted[2], (MEMBER, false), "{unmuted:?}");
    assert_eq!(
        after,
        Vec::<String>::new(),
        "rows still naming the member after the unmute"
    );
    bot.stop().await;
}

#[tokio::test]
async fn without_mute_members_enforcement_stops_and_the_facilitator_is_told_privately() {
    let bot = Bot::start().await;
    three_in_voice(&bot).await;
    missing_permissions(&bot.fake, "PATCH", &format!("/guilds/{GUILD}/members/{MEMBER}"));

    answer(&bot.interact(circle_start_muting_others(1, &admin())).await);
    let told = bot
        .fake
        .wait_for("a DM to the facilitator", |r| {
            r.path == format!("/channels/{}/messages", dm_channel_id(ADMIN))
        })
        .await;
    answer(
        &bot.interact(command_interaction(id(2), &admin(), "circle next", &[]))
            .await,
    );
    answer(
        &bot.interact(command_interaction(id(3), &plain_member(), "circle next", &[]))
            .await,
    );
    // The undo of the one mute that took can come after the DM on a loaded
    // machine: wait for it, then long enough to see that nothing follows.
    wait_mutes(&bot, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert!(
        embed_text(&told.body).contains("Mute Members"),
        "{}",
        embed_text(&told.body)
    );
    // The one mute that took is undone; no mute is tried again.
    assert_eq!(mutes(&bot), [(MEMBER, true), (DI, true), (DI, false)]);
    bot.stop().await;
}

/// The stage suppresses the bot asked for so far: (user, suppress).
fn suppresses(bot: &Bot) -> Vec<(u64, bool)> {
    bot.fake.requests().iter().filter_map(suppress_of).collect()
}

async fn wait_suppresses(bot: &Bot, n: usize) -> Vec<(u64, bool)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let seen = suppresses(bot);
        if seen.len() >= n {
            return seen;
        }
        assert!(tokio::time::Instant::now() < deadline, "only {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn on_a_stage_mute_others_suppresses_and_unsuppresses_at_end_and_shutdown_never_server_mutes() {
    let bot = Bot::start().await;
    // The cache knows the server but not the stage, so Discord is asked what 78 is.
    let states = [ADMIN, MEMBER, DI].map(|user| voice_state(user, Some(STAGE)));
    let mut server = guild_create(&[admin(), plain_member()], &states);
    server["channels"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["id"].as_str().and_then(|s| s.parse::<u64>().ok()) != Some(STAGE));
    bot.fake.dispatch("GUILD_CREATE", server);
    wait_in_voice(&bot, 3).await;
    let start = |n: u64| circle_start_muting_others(n, &admin());

    answer(&bot.interact(start(1)).await);
    let at_start = wait_suppresses(&bot, 2).await;
    answer(
        &bot.interact(command_interaction(id(2), &admin(), "circle next", &[]))
            .await,
    );
    let after_next = wait_suppresses(&bot, 3).await;
    answer(
        &bot.interact(command_interaction(id(3), &admin(), "circle end", &[]))
            .await,
    );
    let after_end = wait_suppresses(&bot, 4).await;
    // A second circle is running when the bot shuts down.
    answer(&bot.interact(start(4)).await);
    let again = wait_suppresses(&bot, 6).await;
    let fake = bot.fake.clone();
    bot.stop().await;
    let all: Vec<(u64, bool)> = fake.requests().iter().filter_map(suppress_of).collect();

    assert_eq!(at_start, [(MEMBER, true), (DI, true)]);
    assert_eq!(
        after_next[2..],
        [(MEMBER, false)],
        "the new holder is back on the stage"
    );
    assert_eq!(after_end[3..], [(DI, false)], "the circle's end unsuppresses");
    assert_eq!(again[4..], [(MEMBER, true), (DI, true)]);
    let mut at_shutdown = all[6..].to_vec();
    at_shutdown.sort_unstable();
    assert_eq!(at_shutdown, [(MEMBER, false), (DI, false)], "shutdown unsuppresses");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.method == "GET" && r.path == format!("/channels/{STAGE}")),
        "Discord was asked what the channel is"
    );
    let server_mutes: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with(&format!("/guilds/{GUILD}/members/")))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        server_mutes.is_empty(),
        "a stage is never server-muted: {server_mutes:?}"
    );
}

// ---- check-ins -----------------------------------------------------------------

/// Every button of a sent message: (custom id, label).
fn buttons_of(sent: &Value) -> Vec<(String, String)> {
    sent["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["custom_id"].as_str().unwrap_or_default().to_string(),
                b["label"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn check_in_buttons_record_answers_privately_and_notes_reach_no_one_else() {
    let bot = Bot::start().await;
    answer(&bot.interact(group_create(1, &admin(), "Grief circle")).await);
    // No markdown-special characters, so that every rendering of it matches.
    let note = "discordPrivateWords";

    let posted = bot
        .interact(command_interaction(
            id(2),
            &facilitator(),
            "checkin schedule",
            &[("group", 3, json!("Grief circle")), ("when", 3, json!("now"))],
        ))
        .await;
    let prompt = bot
        .fake
        .wait_request("POST", &format!("/channels/{CHANNEL}/messages"))
        .await;
    let buttons = buttons_of(&prompt.body);
    let labels: Vec<&str> = buttons.iter().map(|(_, l)| l.as_str()).collect();
    let good = &buttons.iter().find(|(_, l)| l == "4 good").expect("a 4 good button").0;
    let shown = message(id(50), CHANNEL, &prompt.body);
    // Only members count: a press before joining is refused and stores nothing.
    let stranger = bot
        .interact(button_interaction(id(7), &plain_member(), good, &shown))
        .await;
    let join = command_interaction(
        id(8),
        &plain_member(),
        "group join",
        &[("group", 3, json!("Grief circle"))],
    );
    answer(&bot.interact(join).await);
    let pressed = bot
        .interact(button_interaction(id(3), &plain_member(), good, &shown))
        .await;
    let noted = bot
        .interact(command_interaction(
            id(4),
            &plain_member(),
            "checkin share",
            &[("mood", 3, json!("2")), ("note", 3, json!(note))],
        ))
        .await;
    let history = bot
        .interact(command_interaction(id(5), &plain_member(), "checkin history", &[]))
        .await;
    let summary = bot
        .interact(command_interaction(
            id(6),
            &facilitator(),
            "checkin summary",
            &[("group", 3, json!("Grief circle"))],
        ))
        .await;

    assert!(is_ephemeral(answer(&posted)));
    assert!(embed_text(&prompt.body).contains("Check-in: Grief circle"));
    assert_eq!(labels, ["1 struggling", "2 low", "3 okay", "4 good", "5 great", "Pass"]);
    let stranger = answer(&stranger);
    assert!(is_ephemeral(stranger));
    assert!(
        embed_text(stranger).contains("members count in its check"),
        "{}",
        embed_text(stranger)
    );
    let pressed = answer(&pressed);
    assert!(is_ephemeral(pressed), "{pressed:#}");
    assert!(embed_text(pressed).contains("Thank you for checking in: 4 good."));
    assert!(embed_text(pressed).contains("in Grief circle's summary"));
    assert!(is_ephemeral(answer(&noted)));
    let history = answer(&history);
    assert!(is_ephemeral(history));
    assert!(embed_text(history).contains("4 good"), "{}", embed_text(history));
    assert!(
        embed_text(history).contains(note),
        "the author reads their note back: {}",
        embed_text(history)
    );
    let summary = answer(&summary);
    assert!(is_ephemeral(summary));
    assert!(
        embed_text(summary).contains("Not enough check"),
        "{}",
        embed_text(summary)
    );
    let author_only = [callback_path(id(4)), callback_path(id(5))];
    for r in bot.fake.requests() {
        if r.body.to_string().contains(note) {
            assert!(
                author_only.contains(&r.path),
                "the note went to {} {}",
                r.method,
                r.path
            );
        }
    }
    assert_no_crowd_pings(&bot);
    bot.stop().await;
}

#[tokio::test]
async fn a_daily_check_in_dm_is_answered_by_its_buttons_in_the_dm() {
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let start = clock.now();
    let on = bot
        .interact(command_interaction(
            id(1),
            &plain_member(),
            "checkin remind",
            &[("time", 3, json!("20:00"))],
        ))
        .await;
    let scheduler = events_scheduler(&bot);

    let report = scheduler
        .advance(&clock, start + chrono::Duration::hours(11))
        .await
        .unwrap();
    let dm = bot
        .fake
        .wait_request("POST", &format!("/channels/{}/messages", dm_channel_id(MEMBER)))
        .await;
    let buttons = buttons_of(&dm.body);
    let okay = &buttons.iter().find(|(_, l)| l == "3 okay").expect("a 3 okay button").0;
    // A press in the DM: no server, no member, only the user.
    let shown = message(id(60), dm_channel_id(MEMBER), &dm.body);
    let mut press = button_interaction(id(2), &plain_member(), okay, &shown);
    let object = press.as_object_mut().unwrap();
    object.remove("guild_id");
    object.remove("member");
    object.insert("user".into(), user(MEMBER, "Bo"));
    object.insert("channel_id".into(), json!(dm_channel_id(MEMBER).to_string()));
    object.insert(
        "channel".into(),
        json!({ "id": dm_channel_id(MEMBER).to_string(), "type": 1 }),
    );
    object.insert("context".into(), json!(1));
    let pressed = bot.interact(press).await;
    let history = bot
        .interact(command_interaction(id(3), &plain_member(), "checkin history", &[]))
        .await;

    assert!(
        embed_text(answer(&on)).contains("every day at 20:00"),
        "{}",
        embed_text(answer(&on))
    );
    assert_eq!(report.sent, 1, "{report:?}");
    assert!(embed_text(&dm.body).contains("Your check-in"));
    assert!(okay.starts_with(&format!("h{GUILD}:checkin share mood:3")), "{okay}");
    let pressed = answer(&pressed);
    assert!(is_ephemeral(pressed), "{pressed:#}");
    assert!(
        embed_text(pressed).contains("Thank you for checking in: 3 okay."),
        "{}",
        embed_text(pressed)
    );
    assert!(embed_text(answer(&history)).contains("3 okay"));
    bot.stop().await;
}

// Issue 9: Discord at scale. A thousand members' reminder DMs fall due at one
// instant, against a fake that enforces Discord's rate limits (50 requests a
// second in all, per-route buckets, 429 past either). Every DM arrives once,
// and the bot provokes no 429: serenity keeps each route's bucket from the
// headers, and the outbox paces itself under the global limit that serenity
// only learns of from a 429.
#[tokio::test]
async fn a_thousand_reminder_dms_at_one_instant_all_arrive_once_without_a_429() {
    const MEMBERS: u64 = 1_000;
    let (bot, clock) = bot_on_a_thursday_morning().await;
    let start = clock.now();
    let place = bot_core::Place {
        platform: bot_core::Platform::Discord,
        community: GUILD.to_string(),
        channel: CHANNEL.to_string(),
    };
    let say = |user: u64, text: &str| {
        let mut actor = bot_core::Actor::member(user.to_string(), format!("member {user}"));
        actor.platform_admin = user == ADMIN;
        let input = bot_core::Input {
            actor,
            place: place.clone(),
            kind: InputKind::Command(bot_core::parse::parse_command(text).unwrap()),
        };
        let hearth = bot.hearth.clone();
        async move { hearth.handle(&input).await }
    };
    let created = say(ADMIN, r#"group create name:"Grief circle" topic:grief led_by:peer"#).await;
    assert!(created.reply.is_some(), "{created:?}");
    for n in 0..MEMBERS {
        let user = 100_000 + n;
        say(user, "group join group:#1").await;
        say(user, "reminders dm:on leads:1h").await;
    }
    let scheduled = say(
        ADMIN,
        r#"meeting schedule group:#1 when:"2026-03-19 14:00" timezone:UTC"#,
    )
    .await;
    assert!(scheduled.reply.is_some(), "{scheduled:?}");
    bot.fake.enforce_rate_limits();

    let scheduler = events_scheduler(&bot);
    let due = start + chrono::Duration::hours(3);
    clock.set(due);
    let began = std::time::Instant::now();
    let report = scheduler.tick(due).await.unwrap();
    let took = began.elapsed();

    let created = bot.fake.created_messages();
    let mut per_dm: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (channel, _) in &created {
        if *channel != CHANNEL.to_string() {
            *per_dm.entry(channel.clone()).or_default() += 1;
        }
    }
    eprintln!(
        "1,000 reminder DMs due at one instant: the last sent after {:.1} s; {} requests; 429s (global, per route): {:?}",
        took.as_secs_f64(),
        bot.fake.requests().len(),
        bot.fake.rate_limited()
    );
    assert_eq!(
        per_dm.len(),
        MEMBERS as usize,
        "every member's DM channel got its reminder"
    );
    assert!(per_dm.values().all(|n| *n == 1), "none twice");
    assert_eq!(bot.fake.rate_limited(), (0, 0), "no 429 provoked");
    assert!(report.failed == 0, "{report:?}");
    // Under 45 requests a second, two requests per first DM: about 45 s.
    assert!(took < Duration::from_secs(120), "{took:?}");
    bot.stop().await;
}

// ---- who may do what -----------------------------------------------------------

const MODERATOR: u64 = 16;
const FI: u64 = 17;

/// A server moderator: Mute Members, nothing of Hearth's.
fn moderator() -> Value {
    member(MODERATOR, "Mo", MUTE_MEMBERS, &[MODERATOR_ROLE])
}

/// A facilitator (by role) who is also a moderator, so may mute.
fn facilitator_who_mutes() -> Value {
    member(FI, "Fi", MUTE_MEMBERS, &[FACILITATOR_ROLE, MODERATOR_ROLE])
}

/// Cy (a facilitator without Mute Members), Fi (one with it), the moderator
/// and Bo in the circle's voice channel; Di in another, the staff call.
async fn a_voice_channel_with_a_moderator(bot: &Bot) {
    let states = [
        voice_state_with(FACILITATOR, Some(VOICE), &[FACILITATOR_ROLE]),
        voice_state_with(FI, Some(VOICE), &[FACILITATOR_ROLE, MODERATOR_ROLE]),
        voice_state_with(MODERATOR, Some(VOICE), &[MODERATOR_ROLE]),
        voice_state(MEMBER, Some(VOICE)),
        voice_state(DI, Some(VOICE_2)),
    ];
    let people = [facilitator(), facilitator_who_mutes(), moderator(), plain_member()];
    bot.fake.dispatch("GUILD_CREATE", guild_create(&people, &states));
    wait_in_voice(bot, 5).await;
}

#[tokio::test]
async fn a_facilitator_without_mute_members_cannot_mute_others_and_with_it_mutes_no_moderator_and_no_one_elsewhere() {
    let bot = Bot::start().await;
    a_voice_channel_with_a_moderator(&bot).await;
    let start = |n: u64, who: &Value| circle_start_muting_others(n, who);

    let refused = bot.interact(start(1, &facilitator())).await;
    let started = bot.interact(start(2, &facilitator_who_mutes())).await;
    // Bo (first in the channel) holds the stick; Cy alone is muted.
    let at_start = wait_mutes(&bot, 1).await;
    let di_joins = bot
        .interact(command_interaction(
            id(3),
            &member(DI, "Di", PLAIN, &[]),
            "circle join",
            &[],
        ))
        .await;
    answer(
        &bot.interact(command_interaction(id(4), &facilitator_who_mutes(), "circle next", &[]))
            .await,
    );
    let mut handed_on = wait_mutes(&bot, 3).await[1..].to_vec();
    handed_on.sort_unstable();
    bot.fake
        .dispatch("VOICE_STATE_UPDATE", voice_state(MEMBER, Some(VOICE_2)));
    let after_leaving = wait_mutes(&bot, 4).await;

    let refused = answer(&refused);
    assert!(is_ephemeral(refused));
    assert!(
        embed_text(refused).contains("needs Discord's Mute Members permission"),
        "{}",
        embed_text(refused)
    );
    assert!(embed_text(answer(&started)).contains("is muted while the circle runs"));
    assert_eq!(
        at_start,
        [(FACILITATOR, true)],
        "the moderator and Fi keep their voice; Bo holds the stick"
    );
    assert_eq!(handed_on, [(MEMBER, true), (FACILITATOR, false)]);
    assert!(
        embed_text(answer(&di_joins)).contains("runs in a voice channel or call"),
        "{}",
        embed_text(answer(&di_joins))
    );
    assert_eq!(
        after_leaving[3],
        (MEMBER, false),
        "leaving the circle's channel unmutes"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        mutes(&bot).iter().all(|(user, _)| *user != MODERATOR && *user != DI),
        "{:?}",
        mutes(&bot)
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_moderators_mute_laid_over_the_bots_stays_after_the_circle() {
    let bot = Bot::start().await;
    three_in_voice(&bot).await;
    answer(&bot.interact(circle_start_muting_others(1, &admin())).await);
    wait_mutes(&bot, 2).await;

    // A moderator mutes Bo over the bot's mute; the circle ends.
    bot.fake.audit_mute(MODERATOR, MEMBER, true);
    answer(
        &bot.interact(command_interaction(id(2), &admin(), "circle end", &[]))
            .await,
    );
    let ended = wait_mutes(&bot, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(ended[2..], [(DI, false)], "only the bot's own mute is lifted");
    assert_eq!(mutes(&bot).len(), 3, "Bo stays muted: {:?}", mutes(&bot));
    bot.fake
        .wait_request("GET", &format!("/guilds/{GUILD}/audit-logs"))
        .await;
    bot.stop().await;
}

#[tokio::test]
async fn without_the_audit_log_the_bot_lifts_exactly_the_mutes_it_applied() {
    let bot = Bot::start().await;
    three_in_voice(&bot).await;
    missing_permissions(&bot.fake, "GET", &format!("/guilds/{GUILD}/audit-logs"));
    answer(&bot.interact(circle_start_muting_others(1, &admin())).await);
    wait_mutes(&bot, 2).await;
    bot.fake.audit_mute(MODERATOR, MEMBER, true);

    answer(
        &bot.interact(command_interaction(id(2), &admin(), "circle end", &[]))
            .await,
    );
    let mut ended = wait_mutes(&bot, 4).await[2..].to_vec();
    ended.sort_unstable();

    assert_eq!(
        ended,
        [(MEMBER, false), (DI, false)],
        "it cannot tell, as the README says"
    );
    bot.stop().await;
}

#[tokio::test]
async fn two_circles_started_from_one_text_channel_each_answer_their_own_buttons() {
    let bot = Bot::start().await;
    let eve = member(18, "Eve", ADMIN_WHO_MUTES, &[MODERATOR_ROLE]);
    let states = [
        voice_state(ADMIN, Some(VOICE)),
        voice_state(MEMBER, Some(VOICE)),
        voice_state(18, Some(VOICE_2)),
        voice_state(DI, Some(VOICE_2)),
    ];
    bot.fake
        .dispatch("GUILD_CREATE", guild_create(&[admin(), eve.clone()], &states));
    wait_in_voice(&bot, 4).await;
    answer(
        &bot.interact(command_interaction(id(1), &admin(), "circle start", &[]))
            .await,
    );
    let first = wait_status(&bot, "#1 · round mode").await;
    answer(
        &bot.interact(command_interaction(id(2), &eve, "circle start", &[]))
            .await,
    );
    let second = wait_status(&bot, "#2 · round mode").await;
    let next_of = |status: &Value| {
        buttons_of(status)
            .into_iter()
            .find(|(c, _)| c.contains("circle next"))
            .unwrap()
            .0
    };
    assert!(next_of(&first).ends_with("circle next circle:1"), "{}", next_of(&first));

    // Eve presses Next on the second card: the second circle moves, not the first.
    let pressed = bot
        .interact(button_interaction(id(3), &eve, &next_of(&second), &second))
        .await;
    answer(&pressed);
    let second_id = second["id"].as_str().unwrap().to_string();
    bot.fake
        .wait_request("PATCH", &format!("/channels/{CHANNEL}/messages/{second_id}"))
        .await;
    let asked = bot
        .interact(command_interaction(id(4), &plain_member(), "circle status", &[]))
        .await;
    let eve_asks = bot
        .interact(command_interaction(id(5), &eve, "circle status", &[]))
        .await;

    let moved = wait_status(&bot, "<@18> has the stick.").await;
    assert!(embed_text(&moved).contains("#2 · round mode"), "{}", embed_text(&moved));
    assert!(
        !bot.fake
            .requests()
            .iter()
            .any(|r| r.method == "PATCH" && r.path.ends_with(first["id"].as_str().unwrap())),
        "the first circle's card did not move"
    );
    assert!(
        embed_text(answer(&asked)).contains(r#""Holding the stick": "Ada"#),
        "Bo is in the first circle: {}",
        embed_text(answer(&asked))
    );
    assert!(
        embed_text(answer(&eve_asks)).contains(r#""Holding the stick": "Eve"#),
        "{}",
        embed_text(answer(&eve_asks))
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_groups_channel_is_a_channel_of_this_server_where_hearth_may_post() {
    let bot = Bot::start().await;
    let with_channel = |n: u64, name: &str, channel: u64| {
        let mut create = group_create(n, &admin(), name);
        create["data"]["options"][0]["options"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "name": "channel", "type": 7, "value": channel.to_string() }));
        create
    };

    let elsewhere = bot.interact(with_channel(1, "Elsewhere", OTHER_GUILD_CHANNEL)).await;
    let read_only = bot.interact(with_channel(2, "Quiet", READ_ONLY)).await;
    let unknown = bot.interact(with_channel(3, "Nowhere", 3_999)).await;
    let here = bot.interact(with_channel(4, "Grief circle", GRIEF_CHANNEL)).await;
    // With the server cached, the cache answers.
    bot.fake.dispatch("GUILD_CREATE", guild_create(&[], &[]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cached = bot.interact(with_channel(5, "Quiet too", READ_ONLY)).await;

    assert!(embed_text(answer(&elsewhere)).contains("belongs to another community"));
    assert!(embed_text(answer(&read_only)).contains("may not post there"));
    assert!(embed_text(answer(&unknown)).contains("I can't find that channel"));
    assert!(
        embed_text(answer(&here)).contains(&format!("<#{GRIEF_CHANNEL}>")),
        "{}",
        embed_text(answer(&here))
    );
    assert!(embed_text(answer(&cached)).contains("may not post there"));
    let listed = bot
        .interact(command_interaction(id(6), &admin(), "group list", &[]))
        .await;
    let listed = embed_text(answer(&listed));
    assert!(listed.contains("Grief circle") && !listed.contains("Elsewhere") && !listed.contains("Quiet"));
    bot.stop().await;
}

#[tokio::test]
async fn crisis_lines_are_admins_work_and_a_look_alike_host_is_refused() {
    let bot = Bot::start().await;
    let add = |n: u64, who: &Value, url: &str| {
        command_interaction(
            id(n),
            who,
            "resources add",
            &[
                ("title", 3, json!("Samaritans")),
                ("url", 3, json!(url)),
                ("topic", 3, json!("crisis")),
            ],
        )
    };

    let by_facilitator = bot.interact(add(1, &facilitator(), "https://www.samaritans.org")).await;
    let homograph = bot.interact(add(2, &admin(), "https://samar\u{456}tans.org")).await;
    let by_admin = bot.interact(add(3, &admin(), "https://www.samaritans.org")).await;

    assert!(
        embed_text(answer(&by_facilitator)).contains("Only a community admin can add or remove crisis lines."),
        "{}",
        embed_text(answer(&by_facilitator))
    );
    assert!(embed_text(answer(&homograph)).contains("mixes alphabets"));
    assert!(embed_text(answer(&by_admin)).contains("Added resource"));
    bot.stop().await;
}

#[tokio::test]
async fn a_group_that_needs_registration_shows_no_join_button_and_join_says_how_to_register() {
    let bot = Bot::start().await;
    let mut create = group_create(1, &admin(), "Intake");
    create["data"]["options"][0]["options"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "registration", "type": 3, "value": "Write to intake@example.org" }));
    let card = bot.interact(create).await;

    let joined = bot
        .interact(command_interaction(
            id(2),
            &plain_member(),
            "group join",
            &[("group", 3, json!("Intake"))],
        ))
        .await;

    let card = answer(&card);
    assert!(card["components"].as_array().is_none_or(Vec::is_empty), "{card:#}");
    let joined = answer(&joined);
    assert!(is_ephemeral(joined));
    assert!(
        embed_text(joined).contains("Intake asks people to register first: Write to intake"),
        "{}",
        embed_text(joined)
    );
    bot.stop().await;
}
