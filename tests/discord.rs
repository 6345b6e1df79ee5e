//! End to end through the real `hearth` binary on Discord: a config file with
//! a `[discord]` section pointing at the fake Discord on 127.0.0.1, the real
//! serenity client inside the binary, and a slash command answered.

mod running;
#[path = "../adapters/discord/tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};

use running::Running;
use serde_json::json;
use support::{APP, FakeDiscord, GUILD, PLAIN, callback_path, command_interaction, member, token};

#[tokio::test]
async fn the_binary_answers_slash_commands_on_a_fake_discord() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("discord.token");
    std::fs::write(&token_file, "fake-token\n").unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = {db:?}\n\n[discord]\ntoken_file = {token:?}\nguilds = [{GUILD}]\nfacilitator_role = \"Facilitator\"\napi_base_url = {base:?}\n",
            db = dir.path().join("hearth.db").display().to_string(),
            token = token_file.display().to_string(),
            base = fake.base_url,
        ),
    )
    .unwrap();

    let hearth = Running(
        Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("--config")
            .arg(&config)
            .env_remove("HEARTH_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("the hearth binary starts"),
    );
    let identify = fake.wait_identified().await;
    fake.wait_request("PUT", &format!("/applications/{APP}/guilds/{GUILD}/commands"))
        .await;
    fake.dispatch(
        "INTERACTION_CREATE",
        command_interaction(1, &member(12, "Bo", PLAIN, &[]), "help", &[]),
    );
    let callback = fake.wait_request("POST", &callback_path(1)).await;
    // On a loaded machine the binary may defer (privately) and edit later.
    let answer = if callback.body["type"] == 5 {
        assert_eq!(callback.body["data"]["flags"], 64);
        fake.wait_request("PATCH", &format!("/webhooks/{APP}/{}/messages/@original", token(1)))
            .await
            .body
    } else {
        assert_eq!(callback.body["type"], 4);
        assert_eq!(callback.body["data"]["flags"], 64);
        callback.body["data"].clone()
    };

    // SIGTERM stops the adapter and the scheduler, and the binary exits cleanly.
    let mut hearth = hearth;
    let terminated = Command::new("kill")
        .args(["-TERM", &hearth.0.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = hearth.0.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "hearth did not exit on SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };

    assert!(status.success(), "{status}");
    assert_eq!(identify["token"], "Bot fake-token");
    assert!(
        answer["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("/group create")
    );
    assert_eq!(answer["allowed_mentions"]["parse"], json!([]));
}
