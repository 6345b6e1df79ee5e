//! Discord shards split across processes (issue 27): two adapters on one
//! fake Discord, standing for two processes of one bot, run shards 0-1 and
//! 2-3 of 4 through the real serenity client. A server's events reach only
//! the process running its shard, and each process paces its deliveries at
//! its share of the bot's global limit.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should panic loudly"
)]

mod support;

use std::time::Duration;

use bot_core::{Actor, Input, InputKind, Place, Platform};
use hearth_discord::{DiscordConfig, DiscordOutbox, GLOBAL_LIMIT, Shards, paced_per_second};
use serde_json::{Value, json};
use support::*;

const ADMIN: u64 = 11;

/// A server on shard 3 of 4, and one on shard 1: `(id >> 22) % 4`.
const GUILD_ON_3: u64 = (3 << 22) + 17;
const GUILD_ON_1: u64 = (1 << 22) + 17;

fn admin() -> Value {
    member(ADMIN, "Ada", ADMIN_WHO_MUTES, &[MODERATOR_ROLE])
}

/// The fixture's interaction, moved to `guild`.
fn in_guild(mut interaction: Value, guild: u64) -> Value {
    interaction["guild_id"] = json!(guild.to_string());
    interaction["data"]["guild_id"] = json!(guild.to_string());
    interaction["authorizing_integration_owners"]["0"] = json!(guild.to_string());
    interaction
}

fn group_create(id: u64, guild: u64, name: &str) -> Value {
    let options = [
        ("name", 3, json!(name)),
        ("topic", 3, json!("grief")),
        ("led_by", 3, json!("peer")),
    ];
    in_guild(command_interaction(id, &admin(), "group create", &options), guild)
}

/// The groups a core knows in `guild`, as its `/group list` says them.
async fn groups_listed(bot: &Bot, guild: u64) -> String {
    let mut actor = Actor::member(ADMIN.to_string(), "Ada".to_string());
    actor.platform_admin = true;
    let input = Input {
        actor,
        place: Place {
            platform: Platform::Discord,
            community: guild.to_string(),
            channel: CHANNEL.to_string(),
        },
        kind: InputKind::Command(bot_core::parse::parse_command("group list").unwrap()),
    };
    format!("{:?}", bot.hearth.handle(&input).await.reply)
}

fn shards(total: u32, first: u32, last: u32) -> Shards {
    Shards::new(total, first, last).unwrap()
}

#[tokio::test]
async fn a_command_reaches_only_the_process_running_its_servers_shard() {
    let fake = FakeDiscord::start().await;
    let guilds = vec![GUILD_ON_1, GUILD_ON_3];
    let first = Bot::start_shards(&fake, guilds.clone(), shards(4, 0, 1)).await;
    assert_eq!(
        fake.shards_connected(),
        [[0, 4], [1, 4]],
        "the first process runs shards 0 and 1"
    );
    let second = Bot::start_shards(&fake, guilds, shards(4, 2, 3)).await;
    let mut connected = fake.shards_connected();
    connected.sort_unstable();
    assert_eq!(
        connected,
        [[0, 4], [1, 4], [2, 4], [3, 4]],
        "together they run all four"
    );
    assert_eq!(shard_of(GUILD_ON_3, 4), 3);
    assert_eq!(shard_of(GUILD_ON_1, 4), 1);

    // A slash command in a server on shard 3: the second process answers it.
    let answered = second.interact(group_create(40_001, GUILD_ON_3, "Grief circle")).await;
    assert_eq!(answered["type"], 4, "{answered:#}");
    // And one in a server on shard 1: the first process answers that.
    let answered = first.interact(group_create(40_002, GUILD_ON_1, "Carers")).await;
    assert_eq!(answered["type"], 4, "{answered:#}");

    let on = |id: u64| -> Vec<Option<[u64; 2]>> {
        fake.delivered()
            .iter()
            .filter(|d| {
                d.kind == "INTERACTION_CREATE" && d.data["id"].as_str().and_then(|s| s.parse::<u64>().ok()) == Some(id)
            })
            .map(|d| d.shard)
            .collect()
    };
    assert_eq!(on(40_001), [Some([3, 4])], "delivered once, on shard 3's connection");
    assert_eq!(on(40_002), [Some([1, 4])], "delivered once, on shard 1's connection");
    // Each answered exactly once.
    for id in [40_001, 40_002] {
        let callbacks = fake
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == callback_path(id))
            .count();
        assert_eq!(callbacks, 1, "interaction {id} answered {callbacks} times");
    }
    // Each server's commands are registered by the process running its
    // shard, once: not by every process, at every restart.
    let registered = |guild: u64| {
        fake.requests()
            .iter()
            .filter(|r| r.method == "PUT" && r.path.ends_with(&format!("/guilds/{guild}/commands")))
            .count()
    };
    let waited = std::time::Instant::now();
    while (registered(GUILD_ON_1) == 0 || registered(GUILD_ON_3) == 0) && waited.elapsed().as_secs() < 10 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(registered(GUILD_ON_1), 1, "shard 1's server, by the first process only");
    assert_eq!(
        registered(GUILD_ON_3),
        1,
        "shard 3's server, by the second process only"
    );
    // Each core (a process's own store here) saw only its own server's command.
    let on_3_in_second = groups_listed(&second, GUILD_ON_3).await;
    let on_3_in_first = groups_listed(&first, GUILD_ON_3).await;
    let on_1_in_first = groups_listed(&first, GUILD_ON_1).await;
    let on_1_in_second = groups_listed(&second, GUILD_ON_1).await;
    assert!(on_3_in_second.contains("Grief circle"), "{on_3_in_second}");
    assert!(!on_3_in_first.contains("Grief circle"), "{on_3_in_first}");
    assert!(on_1_in_first.contains("Carers"), "{on_1_in_first}");
    assert!(!on_1_in_second.contains("Carers"), "{on_1_in_second}");

    first.stop().await;
    second.stop().await;
}

#[test]
fn a_process_share_of_the_global_limit_is_its_part_of_the_shards() {
    assert_eq!(GLOBAL_LIMIT, 50);
    // 50 × run / total, rounded down, at least 1.
    assert_eq!(shards(4, 0, 1).share_of_global_limit(), 25);
    assert_eq!(shards(4, 2, 3).share_of_global_limit(), 25);
    assert_eq!(shards(4, 3, 3).share_of_global_limit(), 12);
    assert_eq!(shards(3, 0, 0).share_of_global_limit(), 16);
    assert_eq!(shards(3, 1, 2).share_of_global_limit(), 33);
    assert_eq!(shards(1, 0, 0).share_of_global_limit(), 50);
    assert_eq!(shards(100, 7, 7).share_of_global_limit(), 1, "never 0");
    assert_eq!(shards(u32::MAX, 0, u32::MAX - 1).share_of_global_limit(), 50);
    assert_eq!(Shards::all(16).share_of_global_limit(), 50);
    // The shares of processes that split the shards never add up past the limit.
    for total in 1..=64 {
        for cut in 0..total - 1 {
            let sum = shards(total, 0, cut).share_of_global_limit()
                + shards(total, cut + 1, total - 1).share_of_global_limit();
            assert!(sum <= GLOBAL_LIMIT, "{total} split after {cut}: {sum}");
        }
    }
    // The outbox takes 9/10 of the share, rounded down: 45 a second for
    // one process, as before shards.
    assert_eq!(paced_per_second(None), 45);
    assert_eq!(paced_per_second(Some(shards(4, 0, 1))), 22);
    assert_eq!(paced_per_second(Some(shards(4, 3, 3))), 10);
    assert_eq!(paced_per_second(Some(shards(100, 7, 7))), 1);
}

/// The requests in `[from, until]` seconds of a burst, and the most in any
/// one second.
fn rate(times: &[tokio::time::Instant]) -> (f64, usize) {
    let span = times.last().unwrap().duration_since(times[0]).as_secs_f64();
    let per_second = (times.len() - 1) as f64 / span;
    let most_in_a_second = times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            times[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    (per_second, most_in_a_second)
}

#[tokio::test]
async fn two_processes_each_pace_at_their_share_and_together_provoke_no_429() {
    const POSTS: u64 = 90;
    let fake = FakeDiscord::start().await;
    let guilds = vec![GUILD_ON_1, GUILD_ON_3];
    let (first, second) = tokio::join!(
        Bot::start_shards(&fake, guilds.clone(), shards(4, 0, 1)),
        Bot::start_shards(&fake, guilds, shards(4, 2, 3)),
    );
    fake.enforce_rate_limits();
    // Each process's scheduler delivers through an outbox built from its configuration.
    let mut sends = tokio::task::JoinSet::new();
    for (bot, channels) in [(&first, 100_000), (&second, 200_000)] {
        let outbox = DiscordOutbox::from_config(&bot.config).unwrap();
        for n in 0..POSTS {
            let outbox = outbox.clone();
            sends.spawn(async move {
                let message = bot_core::Message::new().text(format!("reminder {n}"));
                let key = format!("reminder:{channels}:{n}");
                outbox.post(&(channels + n).to_string(), &message, Some(&key)).await
            });
        }
    }
    while let Some(sent) = sends.join_next().await {
        sent.unwrap().unwrap();
    }

    let posts = |from: u64| -> Vec<tokio::time::Instant> {
        fake.requests()
            .iter()
            .filter(|r| {
                r.method == "POST"
                    && r.path
                        .strip_prefix("/channels/")
                        .and_then(|p| p.strip_suffix("/messages"))
                        .and_then(|c| c.parse::<u64>().ok())
                        .is_some_and(|c| (from..from + POSTS).contains(&c))
            })
            .map(|r| r.at)
            .collect()
    };
    let (a, b) = (posts(100_000), posts(200_000));
    let mut both: Vec<_> = a.iter().chain(&b).copied().collect();
    both.sort_unstable();
    let (a_rate, a_most) = rate(&a);
    let (b_rate, b_most) = rate(&b);
    let (_, both_most) = rate(&both);
    eprintln!(
        "shards 0-1 of 4: {a_rate:.1}/s (at most {a_most} in a second); shards 2-3 of 4: {b_rate:.1}/s (at most {b_most}); \
         both: at most {both_most} in a second; 429s (global, per route): {:?}",
        fake.rate_limited()
    );
    assert_eq!(a.len() as u64, POSTS);
    assert_eq!(b.len() as u64, POSTS);
    // Each paces at 9/10 of its share of 25 a second: 22.
    for (rate, most) in [(a_rate, a_most), (b_rate, b_most)] {
        assert!((18.0..=25.0).contains(&rate), "{rate:.1} a second");
        assert!(most <= 25, "{most} in one second");
    }
    assert!(both_most <= 50, "{both_most} in one second together");
    assert_eq!(fake.rate_limited(), (0, 0), "no 429 provoked");
    first.stop().await;
    second.stop().await;
}

#[test]
fn shard_settings_are_read_and_bad_ones_refused_naming_the_setting() {
    let read = |shards: Value| serde_json::from_value::<DiscordConfig>(json!({ "shards": shards }));
    let plan = |shards: Value| {
        let s = read(shards).unwrap().shards.unwrap();
        (s.first(), s.last(), s.total())
    };
    assert_eq!(plan(json!({ "total": 4 })), (0, 3, 4), "run left out: all of them");
    assert_eq!(plan(json!({ "total": 4, "run": "2-3" })), (2, 3, 4));
    assert_eq!(plan(json!({ "total": 4, "run": " 0 - 1 " })), (0, 1, 4));
    assert_eq!(plan(json!({ "total": 4, "run": "3" })), (3, 3, 4), "one shard");
    assert_eq!(plan(json!({ "total": 4, "run": 3 })), (3, 3, 4), "a number too");
    assert_eq!(plan(json!({ "total": 1 })), (0, 0, 1));
    assert!(read(json!(null)).unwrap().shards.is_none(), "unset: as before");

    let refused = |shards: Value| read(shards).unwrap_err().to_string();
    let cases = [
        (json!({ "total": 0 }), "total must be at least 1"),
        (json!({ "total": 4, "run": "2-5" }), "goes past the last shard"),
        (json!({ "total": 4, "run": "4" }), "numbered 0 to 3"),
        (json!({ "total": 4, "run": "3-1" }), "starts after it ends"),
        (json!({ "total": 4, "run": "two" }), "is not a shard or a range"),
        (json!({ "total": 4, "run": "1-" }), "is not a shard or a range"),
        (json!({ "total": 4, "run": "-1" }), "is not a shard or a range"),
    ];
    for (shards, says) in cases {
        let error = refused(shards.clone());
        assert!(error.contains("discord.shards"), "{shards}: {error}");
        assert!(error.contains(says), "{shards}: {error}");
    }
    let unknown = refused(json!({ "total": 4, "count": 2 }));
    assert!(unknown.contains("count"), "{unknown}");
    let missing = refused(json!({ "run": "0-1" }));
    assert!(missing.contains("total"), "{missing}");
    assert_eq!(
        Shards::new(4, 2, 5).unwrap_err(),
        refused(json!({ "total": 4, "run": "2-5" }))
            .split(" at line")
            .next()
            .unwrap()
    );
}

/// The fake refuses, as Discord does (close 4010), an IDENTIFY whose shard
/// is out of range: serenity asked to run shard 5 of 4 gets no session.
#[tokio::test]
async fn the_fake_refuses_a_shard_out_of_range() {
    let fake = FakeDiscord::start().await;
    let token_file = std::env::temp_dir().join(format!("hearth-shards-refused-{}.token", std::process::id()));
    std::fs::write(&token_file, "fake-token\n").unwrap();
    let config = DiscordConfig {
        token_file: Some(token_file.clone()),
        api_base_url: Some(fake.base_url.clone()),
        ..Default::default()
    };
    let http = config.http().unwrap();
    // On a thread of its own, left behind: once refused, serenity's shard
    // runner notices only at its next heartbeat (41 s), and a runtime of
    // the test's would wait for it.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut client = serenity::all::ClientBuilder::new_with_http(http, serenity::all::GatewayIntents::empty())
                .await
                .unwrap();
            let _ = client.start_shard(5, 4).await;
        });
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while fake.refused_identifies().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the IDENTIFY never came");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fake.refused_identifies()[0]["shard"], json!([5, 4]));
    assert!(fake.shards_connected().is_empty(), "{:?}", fake.shards_connected());
    let _ = std::fs::remove_file(&token_file);
}
