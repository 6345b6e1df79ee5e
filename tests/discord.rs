//! End to end through the real `hearth` binary on Discord: a config file with
//! a `[discord]` section pointing at the fake Discord on 127.0.0.1, the real
//! serenity client inside the binary, and a slash command answered.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test harness should fail loudly"
)]

mod running;
#[path = "../adapters/discord/tests/support/mod.rs"]
mod support;

use std::process::Command;

use running::{Running, hearth_on, write_config};
use serde_json::json;
use support::{
    ADMIN_WHO_MUTES, APP, FakeDiscord, GUILD, MODERATOR_ROLE, PLAIN, STAGE, callback_path, command_interaction,
    discord_section, guild_create, member, mute_of, suppress_of, token, voice_state,
};

#[tokio::test]
async fn the_binary_answers_slash_commands_on_a_fake_discord() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "{}facilitator_role = \"Facilitator\"\n",
            discord_section(&fake, dir.path())
        ),
    );

    let hearth = spawn(&config);
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
    let status = terminate(hearth).await;

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

/// A config for the binary against `fake`, in `dir`.
fn config_for(fake: &FakeDiscord, dir: &std::path::Path) -> std::path::PathBuf {
    write_config(dir, &discord_section(fake, dir))
}

fn spawn(config: &std::path::Path) -> Running {
    Running(hearth_on(config).spawn().expect("the hearth binary starts"))
}

/// The binary started on `config`, once it is connected and has registered
/// its commands.
async fn spawn_ready(fake: &FakeDiscord, config: &std::path::Path) -> Running {
    let hearth = spawn(config);
    fake.wait_identified().await;
    fake.wait_request("PUT", &format!("/applications/{APP}/guilds/{GUILD}/commands"))
        .await;
    hearth
}

/// `people` join the server, seated as `states` say.
fn in_voice(fake: &FakeDiscord, people: &[serde_json::Value], states: &[serde_json::Value]) {
    fake.dispatch("GUILD_CREATE", guild_create(people, states));
    for state in states {
        fake.dispatch("VOICE_STATE_UPDATE", state.clone());
    }
}

/// `kill -9`: the binary gets no chance to tidy up.
fn kill_9(mut hearth: Running) {
    let killed = Command::new("kill")
        .args(["-KILL", &hearth.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = hearth.0.wait();
}

#[tokio::test]
async fn killed_mid_circle_the_binary_unmutes_at_restart_exactly_those_it_muted() {
    const ADA: u64 = 11;
    const BO: u64 = 12;
    const DI: u64 = 14;
    /// Muted by a moderator before the circle: never the bot's to unmute.
    const MOD_MUTED: u64 = 15;
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&fake, dir.path());
    let first = spawn_ready(&fake, &config).await;
    let mut moderated = voice_state(MOD_MUTED, Some(77));
    moderated["mute"] = json!(true);
    let states = [
        voice_state(ADA, Some(77)),
        voice_state(BO, Some(77)),
        voice_state(DI, Some(77)),
        moderated,
    ];
    let people = [
        member(ADA, "Ada", ADMIN_WHO_MUTES, &[MODERATOR_ROLE]),
        member(BO, "Bo", PLAIN, &[]),
        member(DI, "Di", PLAIN, &[]),
        member(MOD_MUTED, "Mo", PLAIN, &[]),
    ];
    in_voice(&fake, &people, &states);
    // The binary's store is its own: give it a moment to take in who is in voice,
    // as people are in voice well before a facilitator starts a circle.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    fake.dispatch(
        "INTERACTION_CREATE",
        command_interaction(1, &people[0], "circle start", &[("mute_others", 3, json!("yes"))]),
    );
    fake.wait_for("Bo muted", |r| mute_of(r) == Some((BO, true))).await;
    fake.wait_for("Di muted", |r| mute_of(r) == Some((DI, true))).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before_kill = fake.requests().len();
    kill_9(first);

    let second = spawn(&config);
    fake.wait_for("Bo unmuted", |r| mute_of(r) == Some((BO, false))).await;
    fake.wait_for("Di unmuted", |r| mute_of(r) == Some((DI, false))).await;
    terminate(second).await;

    let all: Vec<(u64, bool)> = fake.requests().iter().filter_map(mute_of).collect();
    let mut muted: Vec<(u64, bool)> = all.iter().copied().filter(|(_, m)| *m).collect();
    muted.sort_unstable();
    assert_eq!(
        muted,
        [(BO, true), (DI, true)],
        "the moderator's mute and the holder's seat untouched"
    );
    let mut unmuted: Vec<(u64, bool)> = fake.requests()[before_kill..].iter().filter_map(mute_of).collect();
    unmuted.sort_unstable();
    assert_eq!(unmuted, [(BO, false), (DI, false)], "exactly those it muted, once each");
}

#[tokio::test]
async fn killed_mid_circle_on_a_stage_the_binary_unsuppresses_at_restart_exactly_those_it_suppressed() {
    const ADA: u64 = 11;
    const BO: u64 = 12;
    const DI: u64 = 14;
    /// In the audience (suppressed) before the circle: never the bot's to bring on stage.
    const AUDIENCE: u64 = 15;
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&fake, dir.path());
    let first = spawn_ready(&fake, &config).await;
    let mut listening = voice_state(AUDIENCE, Some(STAGE));
    listening["suppress"] = json!(true);
    let states = [
        voice_state(ADA, Some(STAGE)),
        voice_state(BO, Some(STAGE)),
        voice_state(DI, Some(STAGE)),
        listening,
    ];
    let people = [
        member(ADA, "Ada", ADMIN_WHO_MUTES, &[MODERATOR_ROLE]),
        member(BO, "Bo", PLAIN, &[]),
        member(DI, "Di", PLAIN, &[]),
        member(AUDIENCE, "Al", PLAIN, &[]),
    ];
    in_voice(&fake, &people, &states);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    fake.dispatch(
        "INTERACTION_CREATE",
        command_interaction(1, &people[0], "circle start", &[("mute_others", 3, json!("yes"))]),
    );
    fake.wait_for("Bo suppressed", |r| suppress_of(r) == Some((BO, true)))
        .await;
    fake.wait_for("Di suppressed", |r| suppress_of(r) == Some((DI, true)))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before_kill = fake.requests().len();
    kill_9(first);

    let second = spawn(&config);
    fake.wait_for("Bo unsuppressed", |r| suppress_of(r) == Some((BO, false)))
        .await;
    fake.wait_for("Di unsuppressed", |r| suppress_of(r) == Some((DI, false)))
        .await;
    terminate(second).await;

    let requests = fake.requests();
    let mut suppressed: Vec<(u64, bool)> = requests.iter().filter_map(suppress_of).filter(|(_, s)| *s).collect();
    suppressed.sort_unstable();
    assert_eq!(
        suppressed,
        [(BO, true), (DI, true)],
        "the audience and the holder untouched"
    );
    let mut released: Vec<(u64, bool)> = requests[before_kill..].iter().filter_map(suppress_of).collect();
    released.sort_unstable();
    assert_eq!(
        released,
        [(BO, false), (DI, false)],
        "exactly those it suppressed, once each"
    );
    assert!(
        requests.iter().all(|r| mute_of(r).is_none()),
        "a stage is never server-muted nor unmuted"
    );
    assert!(
        requests[before_kill..]
            .iter()
            .all(|r| r.method != "GET" || !r.path.starts_with("/channels/")),
        "the record says it was a stage; nothing to ask at start-up"
    );
}

/// The answer to interaction `id`: its callback, or the edit of a deferral.
async fn answer_to(fake: &FakeDiscord, id: u64) -> serde_json::Value {
    let callback = fake.wait_request("POST", &callback_path(id)).await;
    if callback.body["type"] == 5 {
        fake.wait_request("PATCH", &format!("/webhooks/{APP}/{}/messages/@original", token(id)))
            .await
            .body
    } else {
        callback.body["data"].clone()
    }
}

/// SIGTERM, and the exit within 10 seconds: how the binary exited.
async fn terminate(mut running: Running) -> std::process::ExitStatus {
    let terminated = Command::new("kill")
        .args(["-TERM", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "hearth did not exit on SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A word as the log could carry it: as text, or as its bytes.
fn written_forms(word: &str) -> Vec<String> {
    let bytes = word.as_bytes();
    let decimal: Vec<String> = bytes.iter().map(u8::to_string).collect();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        word.to_string(),
        decimal.join(", "),
        decimal.join(","),
        hex.clone(),
        hex.to_uppercase(),
        "U0VDUkVUV09SRA".to_string(), // base64 of SECRETWORD
    ]
}

#[tokio::test]
async fn at_rust_log_trace_the_binary_logs_no_note_no_token_and_no_one_near_a_private_command() {
    const QUINN: u64 = 731_115_200_000_000_042;
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&fake, dir.path());
    let log_path = dir.path().join("hearth.log");
    let hearth = Running(
        hearth_on(&config)
            .env("RUST_LOG", "trace")
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .expect("the hearth binary starts"),
    );
    fake.wait_identified().await;
    fake.wait_request("PUT", &format!("/applications/{APP}/guilds/{GUILD}/commands"))
        .await;
    let quinn = member(QUINN, "Quinn", PLAIN, &[]);

    let asked: [(u64, &str, Vec<support::Opt<'_>>); 4] = [
        (
            7001,
            "checkin share",
            vec![("mood", 3, json!("2")), ("note", 3, json!("SECRETWORD"))],
        ),
        (7002, "checkin history", vec![]),
        (7003, "crisis", vec![]),
        (7004, "mydata", vec![]),
    ];
    let mut answers = Vec::new();
    for (id, command, options) in &asked {
        fake.dispatch("INTERACTION_CREATE", command_interaction(*id, &quinn, command, options));
        answers.push(answer_to(&fake, *id).await);
    }
    terminate(hearth).await;
    let log = std::fs::read_to_string(&log_path).unwrap();

    assert!(
        answers[1].to_string().contains("SECRETWORD"),
        "the note went in and came back to its author: {}",
        answers[1]
    );
    assert!(
        log.contains("discord: command"),
        "the log is on, at debug and below: {log}"
    );
    let mut never: Vec<String> = written_forms("SECRETWORD");
    never.extend(asked.iter().map(|(id, _, _)| token(*id)));
    never.push("fake-token".to_string());
    never.push(QUINN.to_string());
    for secret in never {
        assert!(!log.contains(&secret), "{secret:?} in the log:\n{log}");
    }
}
