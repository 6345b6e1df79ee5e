//! The real `hearth` binary with Discord (the fake, on 127.0.0.1) and Matrix
//! (the test Synapse) in one process: the homeserver goes away for 30 s, then
//! the bot's access token is revoked; the Matrix side comes back each time,
//! and the Discord side answers throughout.
//!
//! The homeserver "goes away" behind a TCP proxy that the bot talks through:
//! connections refused and open ones cut, as when Synapse is stopped, while
//! the test Synapse itself keeps serving the other tests.

#![recursion_limit = "256"]
#![expect(clippy::unwrap_used, reason = "a test harness should fail loudly")]

#[path = "../adapters/matrix/tests/common/mod.rs"]
mod common;
mod running;
#[path = "../adapters/discord/tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Member, room_with_bot, synapse};
use matrix_sdk::ruma::UserId;
use running::Running;
use support::{APP, FakeDiscord, GUILD, PLAIN, callback_path, command_interaction, member, token};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A TCP proxy to `target` on a fixed 127.0.0.1 port that can be taken down
/// (listener closed, open connections cut) and brought back.
struct Proxy {
    port: u16,
    target: String,
    up: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let task = tokio::spawn(Self::serve(listener, target.to_string(), up.clone()));
        Proxy {
            port,
            target: target.to_string(),
            up,
            task,
        }
    }

    async fn serve(listener: TcpListener, target: String, up: Arc<AtomicBool>) {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((mut inbound, _)) = accepted else { continue };
                    let target = target.clone();
                    connections.spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
                () = tokio::time::sleep(Duration::from_millis(50)) => {
                    if !up.load(Ordering::SeqCst) {
                        // Down: no listener, no connections.
                        connections.abort_all();
                        return;
                    }
                }
            }
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn down(&mut self) {
        self.up.store(false, Ordering::SeqCst);
        (&mut self.task).await.unwrap();
    }

    async fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.up.store(true, Ordering::SeqCst);
        self.task = tokio::spawn(Self::serve(listener, self.target.clone(), self.up.clone()));
    }
}

/// Sends `/help` to the binary through the fake Discord and waits for its answer.
async fn discord_answers(fake: &FakeDiscord, id: u64) {
    fake.dispatch(
        "INTERACTION_CREATE",
        command_interaction(id, &member(12, "Bo", PLAIN, &[]), "help", &[]),
    );
    let callback = fake.wait_request("POST", &callback_path(id)).await;
    if callback.body["type"] == 5 {
        fake.wait_request("PATCH", &format!("/webhooks/{APP}/{}/messages/@original", token(id)))
            .await;
    }
}

/// Says `!group list` until the bot answers it (for up to `within`).
async fn matrix_answers(alice: &Member, room: &matrix_sdk::Room, bot: &UserId, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let asked = alice.say(room, "!group list").await;
        let waited = Instant::now() + Duration::from_secs(10);
        while Instant::now() < waited {
            if !alice
                .all(|s| s.sender() == bot.as_str() && s.in_reply_to() == Some(asked.as_str()))
                .await
                .is_empty()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            Instant::now() < deadline,
            "the Matrix side did not come back within {within:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_comes_back_after_an_outage_and_a_revoked_token_while_discord_answers() {
    let synapse = synapse().await;
    let target = synapse.url.trim_start_matches("http://").to_string();
    let mut proxy = Proxy::start(&target).await;
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = common::bot_config(&synapse, dir.path()).await;
    let token_file = dir.path().join("discord.token");
    std::fs::write(&token_file, "fake-token\n").unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = {db:?}\n\n[discord]\ntoken_file = {token:?}\nguilds = [{GUILD}]\napi_base_url = {base:?}\n\n\
             [matrix]\nhomeserver = {hs:?}\nuser_id = {user:?}\npassword_file = {pw:?}\nstore_dir = {store:?}\n",
            db = dir.path().join("hearth.db").display().to_string(),
            token = token_file.display().to_string(),
            base = fake.base_url,
            hs = proxy.url(),
            user = bot.user_id,
            pw = bot.password_file.as_ref().unwrap().display().to_string(),
            store = bot.store_dir.display().to_string(),
        ),
    )
    .unwrap();
    let _hearth = Running(
        Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("--config")
            .arg(&config)
            .env_remove("HEARTH_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("the hearth binary starts"),
    );
    fake.wait_identified().await;
    fake.wait_request("PUT", &format!("/applications/{APP}/guilds/{GUILD}/commands"))
        .await;
    let alice = Member::new(&synapse, "alice").await;
    let bot_id = UserId::parse(bot.user_id.as_str()).unwrap();
    let room = room_with_bot(&alice, &bot_id, true, &[]).await;
    matrix_answers(&alice, &room, &bot_id, Duration::from_secs(30)).await;
    discord_answers(&fake, 1).await;

    // The homeserver is gone for 30 s; Discord goes on answering.
    proxy.down().await;
    let outage = Instant::now();
    let mut id = 2;
    while outage.elapsed() < Duration::from_secs(30) {
        discord_answers(&fake, id).await;
        id += 1;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    proxy.up().await;
    matrix_answers(&alice, &room, &bot_id, Duration::from_secs(90)).await;

    // The bot's token is revoked (its device signed out); it logs in again
    // with its password, as a new device, and answers in the encrypted room.
    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bot.store_dir.join("session.json")).unwrap()).unwrap();
    let access_token = session["access_token"].as_str().unwrap();
    let old_device = session["device_id"].as_str().unwrap().to_string();
    let logout = matrix_sdk::reqwest::Client::new()
        .post(format!("{}/_matrix/client/v3/logout", synapse.url))
        .bearer_auth(access_token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success(), "{}", logout.status());
    discord_answers(&fake, id).await;
    id += 1;
    matrix_answers(&alice, &room, &bot_id, Duration::from_secs(90)).await;
    discord_answers(&fake, id).await;

    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bot.store_dir.join("session.json")).unwrap()).unwrap();
    assert_ne!(session["device_id"].as_str().unwrap(), old_device, "a new device");
    assert!(
        bot.store_dir
            .join("retired")
            .join(&old_device)
            .join("matrix-sdk-crypto.sqlite3")
            .exists(),
        "the old device's keys are kept"
    );
}
