//! The real `hearth` binary with Discord (the fake, on 127.0.0.1) and Matrix
//! (the test Synapse) in one process: the homeserver is down when Hearth
//! starts, then goes away for 30 s, then the bot's access token is revoked;
//! the Matrix side comes back each time (and says so in its metrics), and
//! the Discord side answers throughout. And reminders that fall due while
//! the token is revoked all arrive once the bot has logged in again.
//!
//! The homeserver "goes away" behind a TCP proxy that the bot talks through:
//! connections refused and open ones cut, as when Synapse is stopped, while
//! the test Synapse itself keeps serving the other tests.

#![recursion_limit = "256"]
#![expect(clippy::unwrap_used, reason = "a test harness should fail loudly")]

#[path = "../adapters/matrix/tests/common/mod.rs"]
mod common;
mod running;
use running::scrape;
#[path = "../adapters/discord/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Member, room_with_bot, synapse};
use matrix_sdk::ruma::UserId;
use running::{Running, free_port, hearth_on, write_config};
use support::{APP, FakeDiscord, GUILD, PLAIN, callback_path, command_interaction, discord_section, member, token};
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

/// Waits until `/metrics` says the Matrix adapter is connected (1) or not (0).
async fn matrix_connected_is(addr: &str, value: u8, within: Duration) {
    let wanted = format!("hearth_adapter_connected{{process=\"comeback\",platform=\"matrix\"}} {value}");
    let deadline = Instant::now() + within;
    loop {
        let addr = addr.to_string();
        let scraped = tokio::task::spawn_blocking(move || scrape(&addr)).await.unwrap();
        if scraped.contains(&wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never {wanted} within {within:?}:\n{scraped}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Writes the config: the fake Discord, Matrix at `homeserver`, metrics at `metrics`.
fn config(
    dir: &std::path::Path,
    fake: &FakeDiscord,
    bot: &hearth_matrix::MatrixConfig,
    homeserver: &str,
    metrics: &str,
) -> std::path::PathBuf {
    write_config(
        dir,
        // `process_id` goes on in [storage], which write_config opens: every
        // metric carries it as the label `process`.
        &format!(
            "process_id = \"comeback\"\n{}\n{}\n[metrics]\nlisten = {metrics:?}\n",
            discord_section(fake, dir),
            common::matrix_section(bot, homeserver),
        ),
    )
}

fn start_hearth(config: &std::path::Path, dir: &std::path::Path) -> Running {
    Running(
        hearth_on(config)
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// Revokes the bot's access token, as an admin signing its device out does.
async fn revoke_token(synapse: &common::Synapse, store_dir: &std::path::Path) -> String {
    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(store_dir.join("session.json")).unwrap()).unwrap();
    let access_token = session["access_token"].as_str().unwrap();
    let logout = matrix_sdk::reqwest::Client::new()
        .post(format!("{}/_matrix/client/v3/logout", synapse.url))
        .bearer_auth(access_token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success(), "{}", logout.status());
    session["device_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_comes_back_after_an_outage_and_a_revoked_token_while_discord_answers() {
    let synapse = synapse().await;
    let target = synapse.url.trim_start_matches("http://").to_string();
    let mut proxy = Proxy::start(&target).await;
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = common::bot_config(&synapse, dir.path()).await;
    let metrics = format!("127.0.0.1:{}", free_port());
    let config = config(dir.path(), &fake, &bot, &proxy.url(), &metrics);
    // The homeserver is down when Hearth starts: Discord answers at once,
    // Matrix once the homeserver is up.
    proxy.down().await;
    let _hearth = start_hearth(&config, dir.path());
    fake.wait_identified().await;
    fake.wait_request("PUT", &format!("/applications/{APP}/guilds/{GUILD}/commands"))
        .await;
    let started = Instant::now();
    discord_answers(&fake, 1).await;
    let discord_answered_in = started.elapsed();
    matrix_connected_is(&metrics, 0, Duration::from_secs(10)).await;
    proxy.up().await;
    let alice = Member::new(&synapse, "alice").await;
    let bot_id = UserId::parse(bot.user_id.as_str()).unwrap();
    let room = room_with_bot(&alice, &bot_id, true, &[]).await;
    matrix_answers(&alice, &room, &bot_id, Duration::from_secs(60)).await;
    matrix_connected_is(&metrics, 1, Duration::from_secs(5)).await;
    assert!(
        discord_answered_in < Duration::from_secs(10),
        "Discord waited for the homeserver: {discord_answered_in:?}"
    );

    // The homeserver is gone for 30 s; Discord goes on answering, and the
    // metrics say Matrix is not connected from the first failed sync on.
    proxy.down().await;
    let outage = Instant::now();
    matrix_connected_is(&metrics, 0, Duration::from_secs(15)).await;
    let mut id = 2;
    while outage.elapsed() < Duration::from_secs(30) {
        discord_answers(&fake, id).await;
        id += 1;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    proxy.up().await;
    matrix_answers(&alice, &room, &bot_id, Duration::from_secs(90)).await;
    matrix_connected_is(&metrics, 1, Duration::from_secs(5)).await;

    // The bot's token is revoked (its device signed out); it logs in again
    // with its password, as a new device, and answers in the encrypted room.
    let old_device = revoke_token(&synapse, &bot.store_dir).await;
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

/// Twelve reminders fall due while the bot's access token is revoked: the
/// first sends are refused (401), the bot logs in again with its password,
/// and every reminder arrives once, none marked failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_due_while_the_token_is_revoked_all_arrive_after_the_bot_logs_in_again() {
    const MEETINGS: usize = 12;
    let synapse = synapse().await;
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = common::bot_config(&synapse, dir.path()).await;
    let metrics = format!("127.0.0.1:{}", free_port());
    let config = config(dir.path(), &fake, &bot, &synapse.url, &metrics);
    let _hearth = start_hearth(&config, dir.path());
    let alice = Member::new(&synapse, "alice").await;
    let bot_id = UserId::parse(bot.user_id.as_str()).unwrap();
    let room = room_with_bot(&alice, &bot_id, false, &[]).await;
    matrix_answers(&alice, &room, &bot_id, Duration::from_secs(60)).await;
    let from_bot = |s: &common::Seen| s.sender() == bot_id.as_str() && s.kind() == "m.room.message";
    alice.say(&room, "!group create name:Revoked topic:x led_by:peer").await;
    alice
        .wait_for("the group", |s| from_bot(s) && s.body().starts_with("Revoked"))
        .await;
    alice.say(&room, "!reminders group:Revoked leads:1m").await;
    // Meetings on a minute at least 100 s away: their reminders fall due a
    // minute before, at least 40 s from now.
    let now = chrono::Utc::now().timestamp();
    let meeting_at = (now + 100 + 59) / 60 * 60;
    let due = meeting_at - 60;
    let when = chrono::DateTime::from_timestamp(meeting_at, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M")
        .to_string();
    // All at one time on purpose: confirmed (Hearth asks before a group
    // meets twice at once).
    for i in 0..MEETINGS {
        let asked = alice
            .say(
                &room,
                &format!(
                    r#"!meeting schedule group:Revoked when:"{when}" timezone:UTC title:"revoked-{i:02}" confirm:yes"#
                ),
            )
            .await;
        let answer = alice
            .wait_for("the schedule", |s| {
                from_bot(s) && s.in_reply_to() == Some(asked.as_str())
            })
            .await;
        assert!(answer.body().contains("Scheduled"), "revoked-{i:02}: {}", answer.body());
    }
    // The token goes a second before the reminders fall due: the bot has no
    // time to log in again before the scheduler sends them.
    let left = (due * 1000 - 1000 - chrono::Utc::now().timestamp_millis()).max(0);
    tokio::time::sleep(Duration::from_millis(left.unsigned_abs())).await;
    let old_device = revoke_token(&synapse, &bot.store_dir).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let titles = || (0..MEETINGS).map(|i| format!("revoked-{i:02}"));
    let seen = loop {
        let reminders: Vec<String> = alice
            .all(|s| {
                from_bot(s)
                    && s.body().contains("revoked-")
                    && s.ts() >= (due - 1) * 1000
                    && !s.body().contains("Scheduled")
            })
            .await
            .iter()
            .map(|s| s.body().to_string())
            .collect();
        if titles().all(|t| reminders.iter().any(|r| r.contains(&t))) {
            break reminders;
        }
        assert!(
            Instant::now() < deadline,
            "not every reminder arrived: {reminders:#?}\nhearth's log:\n{}",
            std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bot.store_dir.join("session.json")).unwrap()).unwrap();
    assert_ne!(session["device_id"].as_str().unwrap(), old_device, "logged in again");
    for title in titles() {
        assert_eq!(
            seen.iter().filter(|r| r.contains(&title)).count(),
            1,
            "{title} arrived once: {seen:#?}"
        );
    }
    let store = bot_core::Store::open(&dir.path().join("hearth.db")).await.unwrap();
    let failed: i64 = bot_core::store::query_scalar("SELECT count(*) FROM jobs WHERE state = 'failed'")
        .fetch_one(&store)
        .await
        .unwrap();
    store.close().await;
    assert_eq!(failed, 0, "no delivery given up");
}
