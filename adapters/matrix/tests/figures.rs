//! Figures for the Matrix adapter, measured against the real test Synapse:
//! the bot's memory once connected, and how long a command takes to be
//! answered as Synapse's own timestamps show it. Its own test binary, so that
//! the memory figure is this process's alone. See them with
//! `cargo test -p hearth-matrix --test figures -- --nocapture`.

#![recursion_limit = "256"]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "tests: a failure should fail loudly, and the figures are the output"
)]

mod common;

use common::{Bot, Member, bot_config, hearth, room_with_bot, rss_kb, synapse};

const ROUNDS: usize = 21;

fn median(mut v: Vec<i64>) -> i64 {
    v.sort_unstable();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_after_connecting_and_command_latency() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let config = bot_config(&synapse, dir.path()).await;
    let hearth = hearth().await;
    let before = rss_kb();
    let bot = Bot::start(hearth, config).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let connected = rss_kb();
    println!(
        "matrix figures: RSS {connected} kB after connecting (test process before the bot: {before} kB, bot adds {} kB)",
        connected.saturating_sub(before)
    );
    assert!(connected > 0, "could not read VmRSS");

    let alice = Member::new(&synapse, "alice").await;
    for encrypted in [false, true] {
        let room = room_with_bot(&alice, &bot.user_id, encrypted, &[]).await;
        let mut latencies = Vec::new();
        for _ in 0..ROUNDS {
            let command = alice.say(&room, "!group list").await;
            let bot_id = bot.user_id.to_string();
            let reply = alice
                .wait_for("a reply", |s| {
                    s.sender() == bot_id && s.in_reply_to() == Some(command.as_str())
                })
                .await;
            let asked = alice.wait_for("the command", |s| s.event_id() == command).await;
            latencies.push(reply.ts() - asked.ts());
        }
        let median = median(latencies.clone());
        println!(
            "matrix figures: {} room, command -> reply by origin_server_ts over {ROUNDS} commands: median {median} ms, min {} ms, max {} ms",
            if encrypted { "encrypted" } else { "plain" },
            latencies.iter().min().unwrap(),
            latencies.iter().max().unwrap()
        );
        assert!(latencies.iter().all(|&l| l >= 0));
    }
    println!(
        "matrix figures: RSS {} kB at the end (bot and one member client)",
        rss_kb()
    );
    bot.stop().await;
}
