//! The rig for Hearth's Matrix tests: a real Synapse on 127.0.0.1 (started by
//! `scripts/synapse/start`), users registered with the shared-secret admin
//! API, members that are real matrix-sdk clients with their own crypto
//! stores, and the bot running in-process.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "test rig: each test binary uses part of it, and failing loudly is the point"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bot_core::{CoreConfig, Hearth, ManualClock, Store, SystemClock};
use chrono::{DurationRound, Utc};
use hearth_matrix::{Matrix, MatrixConfig};
use hmac::{Hmac, Mac};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::EncryptionInfo;
use matrix_sdk::event_handler::RawEvent;
use matrix_sdk::ruma::api::client::room::create_room;
use matrix_sdk::ruma::events::reaction::{OriginalSyncReactionEvent, ReactionEventContent};
use matrix_sdk::ruma::events::relation::Annotation;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::member::{MembershipState, StrippedRoomMemberEvent};
use matrix_sdk::ruma::events::room::message::{OriginalSyncRoomMessageEvent, RoomMessageEventContent};
use matrix_sdk::ruma::events::space::child::SpaceChildEventContent;
use matrix_sdk::ruma::events::space::parent::SpaceParentEventContent;
use matrix_sdk::ruma::events::{InitialStateEvent, Mentions};
use matrix_sdk::ruma::room::RoomType;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use matrix_sdk::{Client, Room, RoomState};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify, oneshot};
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(30);

/// The running Synapse, as `scripts/synapse/start` describes it.
#[derive(Clone)]
pub struct Synapse {
    pub url: String,
    secret: String,
    http: matrix_sdk::reqwest::Client,
}

/// `dir/env` at the workspace's root: the first folder up from this crate's
/// that holds Cargo.lock. The adapter's tests and the whole-binary tests in
/// `tests/` (which include this module from the root crate) both find it.
fn env_file(dir: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.ancestors().find(|p| p.join("Cargo.lock").exists()).unwrap_or(here);
    root.join(dir).join("env")
}

/// The test Synapse. Fails (never skips) when it is not there.
pub async fn synapse() -> Synapse {
    synapse_in(".synapse", "HEARTH_SYNAPSE", "scripts/synapse/start").await
}

/// The second test Synapse, which keeps Synapse's default message rate
/// limit (0.2 a second, bursts of 10), as a real homeserver does.
pub async fn strict_synapse() -> Synapse {
    synapse_in(
        ".synapse-strict",
        "HEARTH_STRICT_SYNAPSE",
        "HEARTH_SYNAPSE_DIR=.synapse-strict HEARTH_SYNAPSE_LIMITS=default bash scripts/synapse/start",
    )
    .await
}

async fn synapse_in(dir: &str, vars: &str, start: &str) -> Synapse {
    let from_file = std::fs::read_to_string(env_file(dir)).unwrap_or_default();
    let lookup = |key: &str| {
        std::env::var(format!("{vars}_{key}"))
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| {
                from_file.lines().find_map(|l| {
                    l.strip_prefix("HEARTH_SYNAPSE_")?
                        .strip_prefix(key)?
                        .strip_prefix('=')
                        .map(str::to_string)
                })
            })
    };
    let (Some(url), Some(secret)) = (lookup("URL"), lookup("SECRET")) else {
        panic!(
            "no test Synapse configured: run {start} first \
             (it writes {dir}/env; or set {vars}_URL and {vars}_SECRET)"
        );
    };
    let http = matrix_sdk::reqwest::Client::new();
    let versions = http
        .get(format!("{url}/_matrix/client/versions"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    if !matches!(&versions, Ok(r) if r.status().is_success()) {
        panic!("the test Synapse at {url} is not reachable ({versions:?}): run {start} first");
    }
    Synapse { url, secret, http }
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or_default();
    format!(
        "{prefix}{}x{}x{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub const PASSWORD: &str = "correct horse battery staple";

impl Synapse {
    /// Registers `localpart` with the shared-secret admin API; returns the
    /// user id and an access token.
    pub async fn register(&self, localpart: &str, admin: bool) -> (OwnedUserId, String) {
        let endpoint = format!("{}/_synapse/admin/v1/register", self.url);
        let nonce: Value =
            serde_json::from_str(&self.http.get(&endpoint).send().await.unwrap().text().await.unwrap()).unwrap();
        let nonce = nonce["nonce"].as_str().unwrap().to_string();
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(self.secret.as_bytes()).unwrap();
        mac.update(nonce.as_bytes());
        mac.update(b"\0");
        mac.update(localpart.as_bytes());
        mac.update(b"\0");
        mac.update(PASSWORD.as_bytes());
        mac.update(b"\0");
        mac.update(if admin { b"admin" } else { b"notadmin" });
        let mac = hex::encode(mac.finalize().into_bytes());
        let body = json!({
            "nonce": nonce, "username": localpart, "password": PASSWORD, "admin": admin, "mac": mac,
        });
        let response = self
            .http
            .post(&endpoint)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "registering {localpart}: {status} {text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        (
            UserId::parse(value["user_id"].as_str().unwrap()).unwrap(),
            value["access_token"].as_str().unwrap().to_string(),
        )
    }

    /// The device ids Synapse knows for `user`, through the admin API.
    pub async fn devices(&self, admin_token: &str, user: &UserId) -> Vec<String> {
        let response = self
            .http
            .get(format!("{}/_synapse/admin/v2/users/{user}/devices", self.url))
            .bearer_auth(admin_token)
            .send()
            .await
            .unwrap();
        let value: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        value["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["device_id"].as_str().unwrap().to_string())
            .collect()
    }
}

/// An event a member's client saw, decrypted when it was encrypted.
#[derive(Debug, Clone)]
pub struct Seen {
    pub room: OwnedRoomId,
    pub event: Value,
    pub encrypted: bool,
}

impl Seen {
    pub fn sender(&self) -> &str {
        self.event["sender"].as_str().unwrap_or_default()
    }
    pub fn body(&self) -> &str {
        self.event["content"]["body"].as_str().unwrap_or_default()
    }
    pub fn html(&self) -> &str {
        self.event["content"]["formatted_body"].as_str().unwrap_or_default()
    }
    pub fn ts(&self) -> i64 {
        self.event["origin_server_ts"].as_i64().unwrap_or_default()
    }
    pub fn event_id(&self) -> OwnedEventId {
        OwnedEventId::try_from(self.event["event_id"].as_str().unwrap()).unwrap()
    }
    pub fn kind(&self) -> &str {
        self.event["type"].as_str().unwrap_or_default()
    }
    pub fn in_reply_to(&self) -> Option<&str> {
        self.event["content"]["m.relates_to"]["m.in_reply_to"]["event_id"].as_str()
    }
}

/// A member: a real matrix-sdk client with its own stores, syncing in the
/// background, joining whatever it is invited to, and recording what it sees.
pub struct Member {
    pub client: Client,
    pub user_id: OwnedUserId,
    seen: Arc<Mutex<Vec<Seen>>>,
    notify: Arc<Notify>,
    sync: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

impl Member {
    pub async fn new(synapse: &Synapse, name: &str) -> Member {
        let localpart = unique(name);
        let (user_id, _) = synapse.register(&localpart, false).await;
        let dir = tempfile::tempdir().unwrap();
        let client = Client::builder()
            .homeserver_url(&synapse.url)
            .sqlite_store(dir.path(), None)
            // Keep to the URL given (a test may put a proxy there).
            .respect_login_well_known(false)
            .build()
            .await
            .unwrap();
        client
            .matrix_auth()
            .login_username(user_id.as_str(), PASSWORD)
            .send()
            .await
            .unwrap();
        client.sync_once(SyncSettings::default()).await.unwrap();

        let seen = Arc::new(Mutex::new(Vec::new()));
        let notify = Arc::new(Notify::new());
        let record = {
            let seen = seen.clone();
            let notify = notify.clone();
            move |room: Room, raw: RawEvent, encryption: Option<EncryptionInfo>| {
                let seen = seen.clone();
                let notify = notify.clone();
                async move {
                    let event: Value = serde_json::from_str(raw.get()).unwrap_or_default();
                    seen.lock().await.push(Seen {
                        room: room.room_id().to_owned(),
                        event,
                        encrypted: encryption.is_some(),
                    });
                    notify.notify_waiters();
                }
            }
        };
        let on_message = record.clone();
        client.add_event_handler(
            move |_: OriginalSyncRoomMessageEvent, room: Room, raw: RawEvent, e: Option<EncryptionInfo>| {
                on_message(room, raw, e)
            },
        );
        client.add_event_handler(
            move |_: OriginalSyncReactionEvent, room: Room, raw: RawEvent, e: Option<EncryptionInfo>| {
                record(room, raw, e)
            },
        );
        let me = user_id.clone();
        client.add_event_handler(move |event: StrippedRoomMemberEvent, room: Room| {
            let me = me.clone();
            async move {
                if event.state_key != me {
                    return;
                }
                tokio::spawn(async move {
                    for _ in 0..20 {
                        if room.join().await.is_ok() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                });
            }
        });
        let sync_client = client.clone();
        // Client::sync pauses a second after every quick sync; a test
        // member need not wait like that.
        let sync = tokio::spawn(async move {
            let mut settings = SyncSettings::default();
            loop {
                match sync_client.sync_once(settings.clone()).await {
                    Ok(response) => settings = settings.token(response.next_batch),
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        Member {
            client,
            user_id,
            seen,
            notify,
            sync,
            _dir: dir,
        }
    }

    /// Creates a room (encrypted or not) and invites `invite`.
    pub async fn create_room(&self, encrypted: bool, invite: &[&UserId]) -> Room {
        self.create_room_in(None, encrypted, invite).await
    }

    /// Creates a space.
    /// A space of this member's with the bot joined to it.
    pub async fn create_space_with(&self, bot: &UserId) -> Room {
        let space = self.create_space().await;
        space.invite_user_by_id(bot).await.unwrap();
        self.wait_membership(space.room_id(), bot, MembershipState::Join).await;
        space
    }

    pub async fn create_space(&self) -> Room {
        let mut request = create_room::v3::Request::new();
        let mut creation = create_room::v3::CreationContent::new();
        creation.room_type = Some(RoomType::Space);
        request.creation_content = Some(Raw::new(&creation).unwrap());
        request.name = Some(unique("space"));
        self.client.create_room(request).await.unwrap()
    }

    /// Lists `child` in `space` (an `m.space.child` event), as a space admin does.
    pub async fn add_child(&self, space: &Room, child: &RoomId) {
        let via = vec![self.user_id.server_name().to_owned()];
        space
            .send_state_event_for_key(child, SpaceChildEventContent::new(via))
            .await
            .unwrap();
    }

    /// Creates a room, in `space` when given (an `m.space.parent` event).
    pub async fn create_room_in(&self, space: Option<&RoomId>, encrypted: bool, invite: &[&UserId]) -> Room {
        let mut request = create_room::v3::Request::new();
        if let Some(space) = space {
            let via = vec![self.user_id.server_name().to_owned()];
            request
                .initial_state
                .push(InitialStateEvent::new(space.to_owned(), SpaceParentEventContent::new(via)).to_raw_any());
        }
        request.invite = invite.iter().map(|u| (*u).to_owned()).collect();
        request.name = Some(unique("room"));
        if encrypted {
            request.initial_state.push(
                InitialStateEvent::with_empty_state_key(RoomEncryptionEventContent::with_recommended_defaults())
                    .to_raw_any(),
            );
        }
        self.client.create_room(request).await.unwrap()
    }

    pub fn room(&self, id: &RoomId) -> Room {
        self.client.get_room(id).unwrap()
    }

    /// Waits until `user` has `membership` in `room` as this member sees it.
    pub async fn wait_membership(&self, room: &RoomId, user: &UserId, membership: MembershipState) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(room) = self.client.get_room(room)
                && let Ok(Some(m)) = room.get_member_no_sync(user).await
                && *m.membership() == membership
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{user} never reached {membership:?} in {room}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until this member has joined `room`.
    pub async fn wait_joined(&self, room: &RoomId) -> Room {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(r) = self.client.get_room(room)
                && r.state() == RoomState::Joined
            {
                return r;
            }
            assert!(Instant::now() < deadline, "{} never joined {room}", self.user_id);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends a text message that mentions nobody (as modern clients mark
    /// it), and returns its event id.
    pub async fn say(&self, room: &Room, text: &str) -> OwnedEventId {
        room.send(RoomMessageEventContent::text_plain(text).add_mentions(Mentions::new()))
            .await
            .unwrap()
            .response
            .event_id
    }

    /// Reacts to `event` with `key`; returns the reaction's id.
    pub async fn react(&self, room: &Room, event: OwnedEventId, key: &str) -> OwnedEventId {
        room.send(ReactionEventContent::new(Annotation::new(event, key.to_string())))
            .await
            .unwrap()
            .response
            .event_id
    }

    /// Takes back (redacts) one's own `event`, as clients take back a reaction.
    pub async fn take_back(&self, room: &Room, event: &EventId) {
        room.redact(event, None, None).await.unwrap();
    }

    /// Everything seen so far matching `pred`.
    pub async fn all(&self, pred: impl Fn(&Seen) -> bool) -> Vec<Seen> {
        self.seen.lock().await.iter().filter(|s| pred(s)).cloned().collect()
    }

    /// Waits for the first event matching `pred` (seen before or after the call).
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = Instant::now() + WAIT;
        loop {
            // Registered before looking, so that no event slips in between.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = self.seen.lock().await.iter().find(|s| pred(s)).cloned() {
                return found;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let seen = self.seen.lock().await;
                let summary: Vec<String> = seen
                    .iter()
                    .map(|s| format!("{} {} {} {:?}", s.room, s.kind(), s.sender(), s.body()))
                    .collect();
                panic!("{} never saw {what}; saw:\n{}", self.user_id, summary.join("\n"));
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(500)), notified.as_mut()).await;
        }
    }
}

/// Claims one of `device`'s one-time keys as `by`, as a new member's device
/// does to open an Olm session: whether the server handed out a one-time key
/// (`Some(true)`), only the fallback key (`Some(false)`), or nothing.
pub async fn claim_one_time_key(by: &Member, user: &UserId, device: &str) -> Option<bool> {
    use matrix_sdk::ruma::api::client::keys::claim_keys::v3::Request;
    use matrix_sdk::ruma::{OneTimeKeyAlgorithm, OwnedDeviceId};
    let device: OwnedDeviceId = device.into();
    let request = Request::new(
        [(
            user.to_owned(),
            [(device.clone(), OneTimeKeyAlgorithm::SignedCurve25519)].into(),
        )]
        .into(),
    );
    let response = by.client.send(request).await.unwrap();
    let keys = response.one_time_keys.get(user)?.get(&device)?;
    let (_, key) = keys.iter().next()?;
    let key: serde_json::Value = key.deserialize_as_unchecked().unwrap();
    Some(key["fallback"] != true)
}

/// The bot, running in-process on a real Hearth core.
pub struct Bot {
    pub user_id: OwnedUserId,
    pub config: MatrixConfig,
    pub device_id: String,
    pub outbox: hearth_matrix::MatrixOutbox,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// The directory of its store, when the bot owns it.
    dir: Option<tempfile::TempDir>,
}

/// The `[matrix]` section of a binary's config for `bot`, on `homeserver`.
pub fn matrix_section(bot: &MatrixConfig, homeserver: &str) -> String {
    format!(
        "[matrix]\nhomeserver = {homeserver:?}\nuser_id = {user:?}\npassword_file = {pw:?}\nstore_dir = {store:?}\n",
        user = bot.user_id,
        pw = bot.password_file.as_ref().unwrap().display().to_string(),
        store = bot.store_dir.display().to_string(),
    )
}

/// Registers a bot user and returns its configuration, with its stores in `dir`.
pub async fn bot_config(synapse: &Synapse, dir: &Path) -> MatrixConfig {
    let (user_id, _) = synapse.register(&unique("hearth"), false).await;
    let var = format!("HEARTH_TEST_PW_{}", user_id.localpart().to_uppercase());
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let mut config = MatrixConfig::new(&synapse.url, user_id.as_str(), dir.join("store"));
    config.password_env = Some(var);
    config.password_file = Some(password_file);
    config
}

pub async fn hearth() -> Hearth {
    Hearth::new(
        Store::in_memory().await.unwrap(),
        Arc::new(SystemClock),
        CoreConfig::default(),
    )
}

/// A Hearth core on a manual clock, set to now (whole seconds), which the
/// test moves to make reminders and prompts due.
pub async fn hearth_on_a_manual_clock() -> (Hearth, ManualClock) {
    let start = Utc::now().duration_trunc(chrono::Duration::seconds(1)).unwrap();
    let clock = ManualClock::new(start);
    let hearth = Hearth::new(
        Store::in_memory().await.unwrap(),
        Arc::new(clock.clone()),
        CoreConfig::default(),
    );
    (hearth, clock)
}

/// Whether a message seen is one the bot sent.
pub fn bot_said(bot: &Bot) -> impl Fn(&Seen) -> bool + Clone + use<> {
    let me = bot.user_id.to_string();
    move |s: &Seen| s.sender() == me && s.kind() == "m.room.message"
}

impl Bot {
    /// Connects (restoring the session in `config.store_dir` if there is
    /// one) and runs the bot in a task.
    pub async fn start(hearth: Hearth, config: MatrixConfig) -> Bot {
        let matrix = Matrix::connect(config.clone()).await.unwrap();
        let device_id = matrix.device_id().unwrap();
        let user_id = matrix.client().user_id().unwrap().to_owned();
        let outbox = matrix.outbox();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(matrix.run(hearth, async move {
            let _ = stopped.await;
        }));
        Bot {
            user_id,
            config,
            device_id,
            outbox,
            stop: Some(stop),
            task: Some(task),
            dir: None,
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// A bot on `synapse`, on a core of its own, its store in a temporary
/// directory that it keeps.
pub async fn bot_on(synapse: &Synapse) -> Bot {
    let dir = tempfile::tempdir().unwrap();
    let mut bot = Bot::start(hearth().await, bot_config(synapse, dir.path()).await).await;
    bot.dir = Some(dir);
    bot
}

/// Alice's room with Bob and the bot in it: the bot (on a core of its own,
/// its store in a temporary directory it keeps), Alice, Bob and the room.
pub async fn alice_and_bob_with_the_bot(encrypted: bool) -> (Bot, Member, Member, Room) {
    let synapse = synapse().await;
    let bot = bot_on(&synapse).await;
    let alice = Member::new(&synapse, "alice").await;
    let bob = Member::new(&synapse, "bob").await;
    let room = room_with_bot(&alice, &bot.user_id, encrypted, &[&bob]).await;
    (bot, alice, bob, room)
}

/// A member's room with the bot in it: created, bot invited, bot joined.
pub async fn room_with_bot(member: &Member, bot: &UserId, encrypted: bool, others: &[&Member]) -> Room {
    room_with_bot_in(None, member, bot, encrypted, others).await
}

/// The same, in `space` when given.
pub async fn room_with_bot_in(
    space: Option<&RoomId>,
    member: &Member,
    bot: &UserId,
    encrypted: bool,
    others: &[&Member],
) -> Room {
    let mut invite: Vec<&UserId> = vec![bot];
    invite.extend(others.iter().map(|m| &*m.user_id));
    let room = member.create_room_in(space, encrypted, &invite).await;
    member.wait_membership(room.room_id(), bot, MembershipState::Join).await;
    for other in others {
        other.wait_joined(room.room_id()).await;
        member
            .wait_membership(room.room_id(), &other.user_id, MembershipState::Join)
            .await;
    }
    room
}

/// VmRSS of this process, in kB.
pub fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_default()
}

/// `member`, an admin of `room`, makes a grief circle there, schedules it
/// two minutes from now and has its channel reminded one minute before,
/// waiting for the bot's answer to each step.
pub async fn grief_circle_reminded_a_minute_before(member: &Member, room: &Room, bot: &UserId) {
    let from_bot = |s: &Seen| s.sender() == bot.as_str();
    member
        .say(room, "!group create name:\"Grief circle\" topic:grief led_by:peer")
        .await;
    member
        .wait_for("the card", |s| from_bot(s) && s.body().starts_with("Grief circle"))
        .await;
    member
        .say(
            room,
            "!meeting schedule group:\"Grief circle\" when:\"in 2m\" timezone:UTC",
        )
        .await;
    member
        .wait_for("the schedule", |s| {
            from_bot(s) && s.body().contains("Scheduled: Grief circle")
        })
        .await;
    member.say(room, "!reminders group:\"Grief circle\" leads:1m").await;
    member
        .wait_for("the new leads", |s| {
            from_bot(s) && s.body().contains("reminds its channel 1 minute")
        })
        .await;
}
