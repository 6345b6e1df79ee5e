//! End to end through the real `hearth` binary on Matrix: a config file with
//! a `[matrix]` section pointing at the test Synapse on 127.0.0.1 (started by
//! `scripts/synapse/start`), a member in an encrypted room, commands answered.

#[path = "../adapters/matrix/tests/common/mod.rs"]
mod common;
mod running;

use std::process::Command;

use common::{Member, room_with_bot, synapse};
use matrix_sdk::ruma::UserId;
use running::{Running, hearth_on, write_config};

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_answers_in_an_encrypted_room_and_posts_reminders() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = common::bot_config(&synapse, dir.path()).await;
    let config = write_config(dir.path(), &common::matrix_section(&bot, &bot.homeserver));
    let child = hearth_on(&config).spawn().expect("the hearth binary starts");
    let pid = child.id();
    let _hearth = Running(child);
    let alice = Member::new(&synapse, "alice").await;
    let bot_id = UserId::parse(bot.user_id.as_str()).unwrap();

    let room = room_with_bot(&alice, &bot_id, true, &[]).await;
    alice.say(&room, "!help").await;
    let help = alice
        .wait_for("the help", |s| {
            s.sender() == bot_id.as_str() && s.body().contains("Hearth commands")
        })
        .await;
    // The room's creator has power level 100: an admin of this community.
    common::grief_circle_reminded_a_minute_before(&alice, &room, &bot_id).await;
    // The meeting is two minutes away and the group now reminds one minute before.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(150);
    let reminder = loop {
        let found = alice
            .all(|s| s.sender() == bot_id.as_str() && s.body().contains("Reminder: Grief circle"))
            .await;
        if let Some(first) = found.into_iter().next() {
            break first;
        }
        assert!(std::time::Instant::now() < deadline, "no reminder within 150 s");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };

    assert_eq!(help.event["content"]["msgtype"], "m.notice");
    assert!(
        help.encrypted && reminder.encrypted,
        "the room is encrypted, and so are the bot's messages"
    );
    assert!(reminder.body().contains("Starts in 1 minute"), "{}", reminder.body());
    println!("hearth binary on Matrix: VmRSS {} kB after a reminder", rss_kb(pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_rust_log_debug_the_binary_logs_no_note_no_token_and_no_one_near_a_private_command() {
    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = common::bot_config(&synapse, dir.path()).await;
    let config = write_config(dir.path(), &common::matrix_section(&bot, &bot.homeserver));
    let log_path = dir.path().join("hearth.log");
    let child = hearth_on(&config)
        .env("RUST_LOG", "debug")
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("the hearth binary starts");
    let pid = child.id();
    let hearth = Running(child);
    let quinn = Member::new(&synapse, "quinn").await;
    let bot_id = UserId::parse(bot.user_id.as_str()).unwrap();
    let from_bot = |s: &common::Seen| s.sender() == bot_id.as_str() && s.kind() == "m.room.message";
    let room = room_with_bot(&quinn, &bot_id, true, &[]).await;
    // A first personal answer opens the DM, where notes are written.
    quinn.say(&room, "!timezone zone:UTC").await;
    let zone = quinn
        .wait_for("the zone, by DM", |s| from_bot(s) && s.room != room.room_id())
        .await;
    let dm = quinn.wait_joined(&zone.room).await;

    let asked = [
        ("!checkin share mood:2 note:SECRETWORD", "Your note is yours alone"),
        ("!checkin history", "SECRETWORD"),
        ("!crisis", "Samaritans"),
        ("!mydata", "Everything Hearth holds about you"),
    ];
    for (command, answer) in asked {
        quinn.say(&dm, command).await;
        quinn
            .wait_for(answer, |s| {
                from_bot(s) && s.room == dm.room_id() && s.body().contains(answer)
            })
            .await;
    }
    let ended = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(ended.success());
    let mut hearth = hearth;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while hearth.0.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "hearth did not exit on SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(&log_path).unwrap();

    assert!(log.contains("DEBUG"), "the log is on, at debug: {log}");
    let word = "SECRETWORD".as_bytes();
    let decimal: Vec<String> = word.iter().map(u8::to_string).collect();
    let hex: String = word.iter().map(|b| format!("{b:02x}")).collect();
    for secret in [
        "SECRETWORD".to_string(),
        decimal.join(", "),
        decimal.join(","),
        hex.clone(),
        hex.to_uppercase(),
        "U0VDUkVUV09SRA".to_string(),
        // Synapse's access tokens.
        "syt_".to_string(),
        "access_token".to_string(),
    ] {
        assert!(!log.contains(&secret), "{secret:?} in the log:\n{log}");
    }
    // Quinn is named once, where they invited the bot; never again.
    for line in log.lines().filter(|l| l.contains(quinn.user_id.as_str())) {
        assert!(line.contains("invite"), "quinn named in: {line}");
    }
    for word in ["check-in", "checkin", "crisis", "mydata"] {
        assert!(!log.to_lowercase().contains(word), "{word:?} in the log:\n{log}");
    }
}
