//! End to end through the real `hearth` binary on Matrix: a config file with
//! a `[matrix]` section pointing at the test Synapse on 127.0.0.1 (started by
//! `scripts/synapse/start`), a member in an encrypted room, commands answered.

#[path = "../adapters/matrix/tests/common/mod.rs"]
mod common;
mod running;

use std::process::{Command, Stdio};

use common::{Member, room_with_bot, synapse};
use matrix_sdk::ruma::UserId;
use running::Running;

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
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = {db:?}\n\n[matrix]\nhomeserver = {hs:?}\nuser_id = {user:?}\npassword_file = {pw:?}\nstore_dir = {store:?}\n",
            db = dir.path().join("hearth.db").display().to_string(),
            hs = bot.homeserver,
            user = bot.user_id,
            pw = bot.password_file.as_ref().unwrap().display().to_string(),
            store = bot.store_dir.display().to_string(),
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--config")
        .arg(&config)
        .env_remove("HEARTH_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("the hearth binary starts");
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
    let from_bot = |s: &common::Seen| s.sender() == bot_id.as_str();
    alice
        .say(&room, "!group create name:\"Grief circle\" topic:grief led_by:peer")
        .await;
    alice
        .wait_for("the card", |s| from_bot(s) && s.body().starts_with("Grief circle"))
        .await;
    alice
        .say(
            &room,
            "!meeting schedule group:\"Grief circle\" when:\"in 2m\" timezone:UTC",
        )
        .await;
    alice
        .wait_for("the schedule", |s| {
            from_bot(s) && s.body().contains("Scheduled: Grief circle")
        })
        .await;
    alice.say(&room, "!reminders group:\"Grief circle\" leads:1m").await;
    alice
        .wait_for("the new leads", |s| {
            from_bot(s) && s.body().contains("reminds its channel 1 minute")
        })
        .await;
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
