//! A fake Discord on 127.0.0.1: the REST routes Hearth uses and a gateway
//! websocket, recording every request so tests can assert on exactly what the
//! real serenity client sent. Also the JSON fixtures the gateway dispatches,
//! and a harness that runs the adapter against it.

#![allow(dead_code, reason = "each test binary uses a different part of the rig")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test rig: failing loudly is the point"
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bot_core::{Clock, CoreConfig, Hearth, Store, SystemClock};
use hearth_discord::{Discord, DiscordConfig};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

pub const APP: u64 = 1_000;
pub const GUILD: u64 = 2_000;
pub const CHANNEL: u64 = 3_000;
pub const FACILITATOR_ROLE: u64 = 4_000;
/// A role whose members may mute others (Mute Members): the server's moderators.
pub const MODERATOR_ROLE: u64 = 4_001;
/// The bot's own role, with every permission it asks for.
pub const BOT_ROLE: u64 = 4_002;
/// Manage Server.
pub const MANAGE_GUILD: &str = "32";
/// Mute Members.
pub const MUTE_MEMBERS: &str = "4194304";
/// Manage Server and Mute Members: an admin who may also mute.
pub const ADMIN_WHO_MUTES: &str = "4194336";
/// View Channel and Send Messages, nothing more.
pub const PLAIN: &str = "3072";
/// Another server, and a text channel of it.
pub const OTHER_GUILD: u64 = 2_100;
pub const OTHER_GUILD_CHANNEL: u64 = 3_500;

/// One request the bot made.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path without `/api/v10`.
    pub path: String,
    /// The JSON body, or a multipart request's `payload_json`.
    pub body: Value,
    /// The file names of a multipart request.
    pub files: Vec<String>,
    /// When the fake received it.
    pub at: tokio::time::Instant,
}

/// A gateway connection: the shard it identified as (`None` before
/// IDENTIFY), and where its frames go.
struct Session {
    id: u64,
    shard: Option<[u64; 2]>,
    tx: mpsc::UnboundedSender<String>,
}

/// A dispatch the fake sent, and the shard of the connection it went on.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// `[id, total]` of the connection; `None` for one that never identified.
    pub shard: Option<[u64; 2]>,
    pub kind: String,
    pub data: Value,
}

/// The shard of `guild` among `total`, as Discord assigns it.
pub fn shard_of(guild: u64, total: u64) -> u64 {
    (guild >> 22) % total.max(1)
}

/// An error the fake answers a route with, `times` times (forever if `None`).
#[derive(Debug, Clone)]
struct Failure {
    method: String,
    path: String,
    status: u16,
    code: u32,
    message: String,
}

struct Shared {
    ws_url: String,
    log: Mutex<Vec<Recorded>>,
    /// The open gateway connections, oldest first.
    sessions: Mutex<Vec<Session>>,
    next_session: AtomicU64,
    /// The latest IDENTIFY accepted.
    identify: Mutex<Option<Value>>,
    /// Every dispatch sent, with its connection's shard.
    delivered: Mutex<Vec<Delivered>>,
    /// The IDENTIFYs refused (a shard out of range), as sent.
    refused: Mutex<Vec<Value>>,
    seq: AtomicU64,
    ids: AtomicU64,
    failures: Mutex<Vec<Failure>>,
    /// Messages created per channel, with Discord's nonce de-duplication.
    created: Mutex<Vec<(String, Value)>>,
    /// When each of `created` was received, in the same order (wall clock,
    /// for a soak comparing it with due times written in the database).
    created_at: Mutex<Vec<std::time::SystemTime>>,
    /// Message posts answered with the message their nonce already made.
    nonce_repeats: AtomicU64,
    /// Every request answered 429, in order.
    throttled: Mutex<Vec<Throttled>>,
    nonces: Mutex<HashMap<(String, String), Value>>,
    roles: Mutex<Vec<Value>>,
    /// Guild scheduled events, as Discord returns them.
    events: Mutex<Vec<Value>>,
    /// The bot's permissions in GUILD, as `GET /users/@me/guilds` gives them.
    bot_permissions: Mutex<String>,
    /// The audit log's member updates, newest last, as Discord records them.
    audit: Mutex<Vec<Value>>,
    /// Routes answered only after a pause: (method, path, pause).
    delays: Mutex<Vec<(String, String, Duration)>>,
    /// Discord's rate limits, when a test turns them on.
    limits: Mutex<Option<Limits>>,
    /// The gateway never answers the bot's close (a slow Discord at shutdown).
    hold_close: std::sync::atomic::AtomicBool,
}

/// A request answered 429: when (wall clock), what, its nonce if it had
/// one, and whether the global limit (else its route's) refused it.
#[derive(Debug, Clone)]
pub struct Throttled {
    pub at: std::time::SystemTime,
    pub method: String,
    pub path: String,
    pub nonce: Option<String>,
    pub global: bool,
}

/// Discord's rate limits as the fake enforces them: 50 requests a second in
/// all (interaction answers and webhooks aside), and per-route buckets,
/// announced in `X-RateLimit-*` headers on every answer; past either, a 429
/// with `Retry-After`. A channel's messages: 5 per 5 s per channel. Every
/// other route: 50 per second (Discord does not publish those; this is the
/// fake's assumption).
#[derive(Default)]
struct Limits {
    global: std::collections::VecDeque<tokio::time::Instant>,
    buckets: HashMap<String, (tokio::time::Instant, u32)>,
    /// The 429s answered, global and per route.
    global_429: u32,
    route_429: u32,
}

const GLOBAL_LIMIT: usize = 50;

/// A route's bucket: its key, its limit and its window.
fn bucket(method: &str, segments: &[&str]) -> (String, u32, Duration) {
    match (method, segments) {
        ("POST", ["channels", channel, "messages"]) => (format!("messages:{channel}"), 5, Duration::from_secs(5)),
        _ => {
            let shape: Vec<&str> = segments
                .iter()
                .map(|s| {
                    if s.chars().all(|c| c.is_ascii_digit()) {
                        "{id}"
                    } else {
                        s
                    }
                })
                .collect();
            (format!("{method} {}", shape.join("/")), 50, Duration::from_secs(1))
        }
    }
}

/// Counts a request against the limits: the headers to answer with, or the
/// 429 to answer instead.
fn limit(
    limits: &mut Limits,
    method: &str,
    segments: &[&str],
) -> Result<Vec<(&'static str, String)>, (Duration, bool)> {
    let now = tokio::time::Instant::now();
    let exempt = matches!(segments.first(), Some(&"interactions" | &"webhooks" | &"gateway"));
    if !exempt {
        while limits
            .global
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            limits.global.pop_front();
        }
        if limits.global.len() >= GLOBAL_LIMIT {
            limits.global_429 += 1;
            let retry = Duration::from_secs(1).saturating_sub(now.duration_since(limits.global[0]));
            return Err((retry, true));
        }
        limits.global.push_back(now);
    }
    let (key, max, window) = bucket(method, segments);
    let (start, used) = limits.buckets.entry(key.clone()).or_insert((now, 0));
    if now.duration_since(*start) >= window {
        *start = now;
        *used = 0;
    }
    let reset_after = window.saturating_sub(now.duration_since(*start));
    if *used >= max {
        limits.route_429 += 1;
        return Err((reset_after, false));
    }
    *used += 1;
    Ok(vec![
        ("x-ratelimit-limit", max.to_string()),
        ("x-ratelimit-remaining", (max - *used).to_string()),
        ("x-ratelimit-reset-after", format!("{:.3}", reset_after.as_secs_f64())),
        (
            "x-ratelimit-bucket",
            format!("{:x}", key.len() * 7919 + key.bytes().map(usize::from).sum::<usize>()),
        ),
    ])
}

fn too_many(retry: Duration, global: bool) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({
            "message": "You are being rate limited.",
            "retry_after": retry.as_secs_f64(),
            "global": global,
        })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert("retry-after", format!("{:.3}", retry.as_secs_f64()).parse().unwrap());
    headers.insert(
        "x-ratelimit-scope",
        if global { "global" } else { "user" }.parse().unwrap(),
    );
    if global {
        headers.insert("x-ratelimit-global", "true".parse().unwrap());
    }
    response
}

/// The fake Discord. Dropping it stops nothing by itself; the runtime does.
#[derive(Clone)]
pub struct FakeDiscord {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl FakeDiscord {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1 for the fake Discord");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            ws_url: format!("ws://{addr}/ws"),
            log: Mutex::default(),
            sessions: Mutex::default(),
            next_session: AtomicU64::new(0),
            identify: Mutex::default(),
            delivered: Mutex::default(),
            refused: Mutex::default(),
            seq: AtomicU64::new(1),
            ids: AtomicU64::new(900_000),
            failures: Mutex::default(),
            created: Mutex::default(),
            created_at: Mutex::default(),
            nonce_repeats: AtomicU64::new(0),
            throttled: Mutex::default(),
            nonces: Mutex::default(),
            events: Mutex::default(),
            limits: Mutex::default(),
            delays: Mutex::default(),
            audit: Mutex::default(),
            bot_permissions: Mutex::new(hearth_discord::perms::needed().bits().to_string()),
            hold_close: std::sync::atomic::AtomicBool::new(false),
            roles: Mutex::new(guild_roles()),
        });
        let app = Router::new()
            .route("/ws", get(gateway))
            .fallback(rest)
            .with_state(shared.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the fake Discord's server");
        });
        Self {
            base_url: format!("http://{addr}"),
            shared,
        }
    }

    /// From now on, answers as Discord does past its rate limits (see [`Limits`]).
    pub fn enforce_rate_limits(&self) {
        *self.shared.limits.lock().unwrap() = Some(Limits::default());
    }

    /// The 429s answered so far: (global, per route).
    pub fn rate_limited(&self) -> (u32, u32) {
        self.shared
            .limits
            .lock()
            .unwrap()
            .as_ref()
            .map_or((0, 0), |l| (l.global_429, l.route_429))
    }

    /// Every request answered 429 so far, in order.
    pub fn throttled(&self) -> Vec<Throttled> {
        self.shared.throttled.lock().unwrap().clone()
    }

    /// Everything the bot sent so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Messages actually created in channels (after nonce de-duplication).
    pub fn created_messages(&self) -> Vec<(String, Value)> {
        self.shared.created.lock().unwrap().clone()
    }

    /// Messages created, each with when the fake received it (wall clock).
    pub fn created_with_times(&self) -> Vec<(String, Value, std::time::SystemTime)> {
        let created = self.shared.created.lock().unwrap();
        let at = self.shared.created_at.lock().unwrap();
        created
            .iter()
            .zip(at.iter())
            .map(|((channel, message), at)| (channel.clone(), message.clone(), *at))
            .collect()
    }

    /// Message posts whose nonce had already made a message (answered with
    /// that message, as Discord does, and not created again).
    pub fn nonce_repeats(&self) -> u64 {
        self.shared.nonce_repeats.load(Ordering::SeqCst)
    }

    /// Waits until a request matching `pred` was recorded.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Recorded) -> bool) -> Recorded {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(found) = self.requests().into_iter().find(|r| pred(r)) {
                return found;
            }
            if tokio::time::Instant::now() > deadline {
                let seen: Vec<String> = self
                    .requests()
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect();
                panic!("the bot never sent {what}; it sent: {seen:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the request to `method path`.
    pub async fn wait_request(&self, method: &str, path: &str) -> Recorded {
        self.wait_for(&format!("{method} {path}"), |r| r.method == method && r.path == path)
            .await
    }

    /// Waits until the bot has identified on the gateway and been sent READY.
    pub async fn wait_identified(&self) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(identify) = self.shared.identify.lock().unwrap().clone() {
                return identify;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bot never identified on the fake gateway"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends a dispatch (op 0) with the next sequence number, as Discord
    /// does: on the connection of the guild's shard (`(guild_id >> 22) %
    /// total`); one without a guild (a DM) on shard 0. The newest matching
    /// connection has it; a connection that never identified has what no
    /// identified one takes (the fake before shards: one connection).
    pub fn dispatch(&self, kind: &str, data: Value) {
        let guild = guild_of(kind, &data);
        let frame = dispatch_frame(kind, self.shared.seq.fetch_add(1, Ordering::SeqCst), data.clone());
        let sessions = self.shared.sessions.lock().unwrap();
        let identified = sessions.iter().rev().find(|s| {
            s.shard
                .is_some_and(|[id, total]| guild.map_or(0, |g| shard_of(g, total)) == id)
        });
        let session = identified
            .or_else(|| sessions.iter().rev().find(|s| s.shard.is_none()))
            .unwrap_or_else(|| {
                let open: Vec<_> = sessions.iter().map(|s| s.shard).collect();
                panic!("no gateway connection for {kind} of guild {guild:?}; connections (shards): {open:?}")
            });
        session.tx.send(frame.to_string()).expect("the gateway session ended");
        self.shared.delivered.lock().unwrap().push(Delivered {
            shard: session.shard,
            kind: kind.into(),
            data,
        });
    }

    /// Every dispatch sent so far, with the shard of its connection.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.shared.delivered.lock().unwrap().clone()
    }

    /// The `[id, total]` of each identified connection open now, oldest first.
    pub fn shards_connected(&self) -> Vec<[u64; 2]> {
        self.shared
            .sessions
            .lock()
            .unwrap()
            .iter()
            .filter_map(|s| s.shard)
            .collect()
    }

    /// Waits until connections for each of `shards` (ids, of `total`) are
    /// identified.
    pub async fn wait_shards(&self, shards: std::ops::RangeInclusive<u64>, total: u64) {
        // serenity starts a process's shards 5 s apart.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15 + 6 * (shards.end() - shards.start()));
        loop {
            let connected = self.shards_connected();
            if shards.clone().all(|id| connected.contains(&[id, total])) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "shards {shards:?} of {total} never all identified; connected: {connected:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The IDENTIFYs refused so far (their shard out of range).
    pub fn refused_identifies(&self) -> Vec<Value> {
        self.shared.refused.lock().unwrap().clone()
    }

    /// Answers `method path` with a Discord error from now on.
    pub fn fail(&self, method: &str, path: &str, status: u16, code: u32, message: &str) {
        self.shared.failures.lock().unwrap().push(Failure {
            method: method.into(),
            path: path.into(),
            status,
            code,
            message: message.into(),
        });
    }

    /// The guild's scheduled events as they stand.
    pub fn events(&self) -> Vec<Value> {
        self.shared.events.lock().unwrap().clone()
    }

    /// Adds `n` scheduled events made by someone else.
    pub fn add_events(&self, n: usize) {
        for _ in 0..n {
            let id = self.next_id();
            let event = scheduled_event(
                id,
                GUILD,
                &json!({ "name": "someone's event", "entity_type": 3, "scheduled_start_time": "2026-12-01T18:00:00+00:00" }),
            );
            self.shared.events.lock().unwrap().push(event);
        }
    }

    /// From now on, the gateway leaves the bot's close unanswered and the
    /// connection open, as a slow Discord might at shutdown.
    pub fn hold_gateway_close(&self) {
        self.shared.hold_close.store(true, Ordering::SeqCst);
    }

    /// Starts a scheduled event, as Discord does at its time (status active).
    pub fn start_event(&self, id: &str) {
        let mut events = self.shared.events.lock().unwrap();
        let event = events.iter_mut().find(|e| e["id"] == id).unwrap();
        event["status"] = json!(2);
    }

    /// Ends a running event, as Discord does at its end time or when its
    /// channel empties (see [`end`]).
    pub fn end_event(&self, id: &str) {
        let mut events = self.shared.events.lock().unwrap();
        let event = events.iter_mut().find(|e| e["id"] == id).unwrap();
        end(event);
    }

    /// Sets the bot's permissions in GUILD (a decimal bit set) from now on.
    pub fn grant_bot(&self, permissions: u64) {
        *self.shared.bot_permissions.lock().unwrap() = permissions.to_string();
    }

    /// Answers `method path` only after `pause` from now on (a slow Discord).
    pub fn delay(&self, method: &str, path: &str, pause: Duration) {
        self.shared
            .delays
            .lock()
            .unwrap()
            .push((method.into(), path.into(), pause));
    }

    /// Records in the audit log that `by` server-muted (or unmuted) `user`,
    /// as Discord does for a moderator's mute.
    pub fn audit_mute(&self, by: u64, user: u64, mute: bool) {
        let entry = audit_entry(self.next_id(), by, user, mute);
        self.shared.audit.lock().unwrap().push(entry);
    }

    /// The next snowflake.
    pub fn next_id(&self) -> u64 {
        self.shared.ids.fetch_add(1, Ordering::SeqCst)
    }
}

pub fn dispatch_frame(kind: &str, seq: u64, data: Value) -> Value {
    json!({ "op": 0, "t": kind, "s": seq, "d": data })
}

async fn gateway(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |socket| session(socket, shared))
}

/// The guild an event is about: its `guild_id`, or a guild event's own `id`.
fn guild_of(kind: &str, data: &Value) -> Option<u64> {
    let id = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_u64());
    match kind {
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE" => id(&data["id"]),
        _ => id(&data["guild_id"]),
    }
}

/// An IDENTIFY's `shard`: `[id, total]`, `[0, 1]` when absent, or `None`
/// when Discord would refuse it (4010, Invalid shard).
fn identified_shard(identify: &Value) -> Option<[u64; 2]> {
    match &identify["shard"] {
        Value::Null => Some([0, 1]),
        shard => {
            let id = shard[0].as_u64()?;
            let total = shard[1].as_u64()?;
            (total >= 1 && id < total && shard.as_array()?.len() == 2).then_some([id, total])
        }
    }
}

/// Removes a connection once it has ended.
struct Leave<'a>(&'a Shared, u64);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.sessions.lock().unwrap().retain(|s| s.id != self.1);
    }
}

async fn session(mut socket: WebSocket, shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let me = shared.next_session.fetch_add(1, Ordering::SeqCst);
    shared.sessions.lock().unwrap().push(Session {
        id: me,
        shard: None,
        tx,
    });
    let _leave = Leave(&shared, me);
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": 41_250 } });
    if socket.send(WsMessage::Text(hello.to_string().into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(WsMessage::Text(text))) => text.to_string(),
                    Some(Err(_)) | None => break,
                    // The websocket answers a close by itself once read on;
                    // reading until the end completes the handshake cleanly.
                    Some(Ok(WsMessage::Close(_))) if shared.hold_close.load(Ordering::SeqCst) => {
                        // Never read again, never answer, never let go.
                        std::future::pending::<()>().await;
                        continue;
                    }
                    Some(Ok(WsMessage::Close(_))) => continue,
                    Some(Ok(_)) => continue,
                };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
                let reply = match frame["op"].as_u64() {
                    Some(1) => Some(json!({ "op": 11 })),
                    Some(2) => {
                        let Some(shard) = identified_shard(&frame["d"]) else {
                            // As Discord does: close with 4010, Invalid shard.
                            shared.refused.lock().unwrap().push(frame["d"].clone());
                            let close = axum::extract::ws::CloseFrame { code: 4010, reason: "Invalid shard".into() };
                            let _ = socket.send(WsMessage::Close(Some(close))).await;
                            break;
                        };
                        {
                            let mut sessions = shared.sessions.lock().unwrap();
                            // A new connection for a shard takes over from the old one.
                            sessions.retain(|s| s.id == me || s.shard.is_none_or(|[id, _]| id != shard[0]));
                            if let Some(s) = sessions.iter_mut().find(|s| s.id == me) {
                                s.shard = Some(shard);
                            }
                        }
                        let seq = shared.seq.fetch_add(1, Ordering::SeqCst);
                        let mut data = ready(&shared.ws_url);
                        data["shard"] = json!(shard);
                        let ready = dispatch_frame("READY", seq, data);
                        *shared.identify.lock().unwrap() = Some(frame["d"].clone());
                        Some(ready)
                    }
                    _ => None,
                };
                if let Some(reply) = reply
                    && socket.send(WsMessage::Text(reply.to_string().into())).await.is_err()
                {
                    break;
                }
            }
            Some(out) = rx.recv() => {
                if socket.send(WsMessage::Text(out.into())).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// The body of a multipart request's `payload_json` part, and its file names.
fn multipart(content_type: &str, body: &[u8]) -> (Value, Vec<String>) {
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return (Value::Null, Vec::new());
    };
    let text = String::from_utf8_lossy(body);
    let mut payload = Value::Null;
    let mut files = Vec::new();
    for part in text.split(&format!("--{}", boundary.trim_matches('"'))) {
        let Some((head, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let content = content.trim_end_matches("\r\n");
        if head.contains("name=\"payload_json\"") {
            payload = serde_json::from_str(content).unwrap_or(Value::Null);
        } else if let Some(name) = head.split("filename=\"").nth(1).and_then(|r| r.split('"').next()) {
            files.push(name.to_string());
        }
    }
    (payload, files)
}

fn error(status: u16, code: u32, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({ "code": code, "message": message })),
    )
        .into_response()
}

async fn rest(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().strip_prefix("/api/v10").unwrap_or(uri.path()).to_string();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (body, files) = if content_type.starts_with("multipart/") {
        multipart(&content_type, &body)
    } else {
        (serde_json::from_slice(&body).unwrap_or(Value::Null), Vec::new())
    };
    shared.log.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
        files,
        at: tokio::time::Instant::now(),
    });
    let pause = shared
        .delays
        .lock()
        .unwrap()
        .iter()
        .find(|(m, p, _)| m == method.as_str() && *p == path)
        .map(|(_, _, d)| *d);
    if let Some(pause) = pause {
        tokio::time::sleep(pause).await;
    }
    let failure = shared
        .failures
        .lock()
        .unwrap()
        .iter()
        .find(|f| f.method == method.as_str() && f.path == path)
        .cloned();
    if let Some(f) = failure {
        return error(f.status, f.code, &f.message);
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let headers = match shared.limits.lock().unwrap().as_mut() {
        None => Vec::new(),
        Some(limits) => match limit(limits, method.as_str(), &segments) {
            Ok(headers) => headers,
            Err((retry, global)) => {
                shared.throttled.lock().unwrap().push(Throttled {
                    at: std::time::SystemTime::now(),
                    method: method.to_string(),
                    path: path.clone(),
                    nonce: body["nonce"].as_str().map(str::to_string),
                    global,
                });
                return too_many(retry, global);
            }
        },
    };
    let mut response = answer(&shared, &method, &segments, &body);
    for (name, value) in headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// The fake's answer to one REST request.
fn answer(shared: &Shared, method: &Method, segments: &[&str], body: &Value) -> Response {
    let body = body.clone();
    let id = || shared.ids.fetch_add(1, Ordering::SeqCst);
    match (method.as_str(), segments) {
        ("GET", ["gateway"] | ["gateway", "bot"]) => axum::Json(json!({
            "url": shared.ws_url,
            "shards": 1,
            "session_start_limit": { "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1 },
        }))
        .into_response(),
        ("PUT", ["applications", _, "commands"] | ["applications", _, "guilds", _, "commands"]) => {
            let commands: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|c| registered_command(c, id()))
                .collect();
            axum::Json(Value::Array(commands)).into_response()
        }
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["webhooks", _, _]) | ("PATCH", ["webhooks", _, _, "messages", _]) => {
            axum::Json(message(id(), CHANNEL, &body)).into_response()
        }
        ("DELETE", ["webhooks", _, _, "messages", _]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["channels", channel, "messages"]) => {
            let channel = (*channel).to_string();
            let nonce = body["nonce"].as_str().map(str::to_string);
            let enforced = body["enforce_nonce"].as_bool() == Some(true);
            if enforced
                && let Some(nonce) = &nonce
                && let Some(existing) = shared.nonces.lock().unwrap().get(&(channel.clone(), nonce.clone()))
            {
                shared.nonce_repeats.fetch_add(1, Ordering::SeqCst);
                return axum::Json(existing.clone()).into_response();
            }
            let created = message(id(), channel.parse().unwrap_or(0), &body);
            if enforced && let Some(nonce) = nonce {
                shared
                    .nonces
                    .lock()
                    .unwrap()
                    .insert((channel.clone(), nonce), created.clone());
            }
            // Both under the one lock's turn, so the two lists stay in step.
            let mut all = shared.created.lock().unwrap();
            all.push((channel, created.clone()));
            shared.created_at.lock().unwrap().push(std::time::SystemTime::now());
            drop(all);
            axum::Json(created).into_response()
        }
        ("PATCH", ["channels", channel, "messages", message_id]) => {
            let mut created = shared.created.lock().unwrap();
            let Some((_, existing)) = created.iter_mut().find(|(c, m)| c == channel && m["id"] == *message_id) else {
                return error(404, 10008, "Unknown Message");
            };
            for (key, value) in body.as_object().into_iter().flatten() {
                existing[key.as_str()] = value.clone();
            }
            axum::Json(existing.clone()).into_response()
        }
        ("POST", ["users", "@me", "channels"]) => {
            let recipient: u64 = body["recipient_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| body["recipient_id"].as_u64())
                .unwrap_or(0);
            axum::Json(dm_channel(recipient)).into_response()
        }
        ("PATCH", ["guilds", guild, "members", user]) => {
            let target = user.parse().unwrap_or(0);
            if let Some(mute) = body["mute"].as_bool() {
                let entry = audit_entry(id(), APP, target, mute);
                shared.audit.lock().unwrap().push(entry);
            }
            let mut m = member(target, "member", PLAIN, &[]);
            m["mute"] = body["mute"].clone();
            m["guild_id"] = json!(guild);
            axum::Json(m).into_response()
        }
        ("GET", ["guilds", _, "audit-logs"]) => {
            let mut entries = shared.audit.lock().unwrap().clone();
            entries.reverse();
            axum::Json(json!({
                "audit_log_entries": entries,
                "auto_moderation_rules": [],
                "application_commands": [],
                "guild_scheduled_events": [],
                "integrations": [],
                "threads": [],
                "users": [],
                "webhooks": [],
            }))
            .into_response()
        }
        ("GET", ["guilds", guild, "members", user]) => {
            let user: u64 = user.parse().unwrap_or(0);
            let roles: &[u64] = if user == APP { &[BOT_ROLE] } else { &[] };
            let mut m = member(user, "member", PLAIN, roles);
            m["guild_id"] = json!(guild);
            axum::Json(m).into_response()
        }
        ("GET", ["guilds", guild]) if *guild == GUILD.to_string() => axum::Json(guild_create(&[], &[])).into_response(),
        ("PATCH", ["guilds", _, "voice-states", _]) => StatusCode::NO_CONTENT.into_response(),
        ("GET", ["guilds", _, "scheduled-events"]) => {
            axum::Json(Value::Array(shared.events.lock().unwrap().clone())).into_response()
        }
        ("POST", ["guilds", guild, "scheduled-events"]) => {
            if let Err(why) = valid_recurrence(&body["recurrence_rule"]) {
                return error(400, 50035, &format!("Invalid Form Body: recurrence_rule: {why}"));
            }
            let event = scheduled_event(id(), guild.parse().unwrap_or(0), &body);
            shared.events.lock().unwrap().push(event.clone());
            axum::Json(event).into_response()
        }
        ("PATCH", ["guilds", _, "scheduled-events", event]) => {
            let mut events = shared.events.lock().unwrap();
            let Some(existing) = events.iter_mut().find(|e| e["id"] == *event) else {
                return error(404, 10070, "Unknown Guild Scheduled Event");
            };
            if let Err(why) = valid_recurrence(&body["recurrence_rule"]) {
                return error(400, 50035, &format!("Invalid Form Body: recurrence_rule: {why}"));
            }
            // Discord's transitions: scheduled to active or cancelled, active
            // to completed; an event that has started takes no other edit.
            let ending = body.as_object().is_some_and(|b| b.len() == 1) && body["status"] == 3;
            match existing["status"].as_u64() {
                Some(2) if !ending => return error(400, 50035, "Cannot edit a scheduled event that has started"),
                Some(3 | 4) => return error(400, 50035, "Cannot edit a scheduled event that has ended"),
                _ => {}
            }
            if ending && existing["status"] == 2 {
                end(existing);
                return axum::Json(existing.clone()).into_response();
            }
            for (key, value) in body.as_object().into_iter().flatten() {
                existing[key.as_str()] = value.clone();
            }
            axum::Json(existing.clone()).into_response()
        }
        // Who the token is, and where it is (hearth check, hearth discord invite).
        ("GET", ["users", "@me"]) => {
            let mut me = user(APP, "Hearth");
            me["bot"] = json!(true);
            axum::Json(me).into_response()
        }
        ("GET", ["users", "@me", "guilds"]) => axum::Json(json!([{
            "id": GUILD.to_string(),
            "name": "Peer support",
            "icon": null,
            "owner": false,
            "permissions": shared.bot_permissions.lock().unwrap().clone(),
            "features": [],
        }]))
        .into_response(),
        ("GET", ["guilds", _, "roles"]) => {
            axum::Json(Value::Array(shared.roles.lock().unwrap().clone())).into_response()
        }
        ("GET", ["channels", channel]) => channel_by_id(channel),
        _ => error(404, 0, "404: Not Found"),
    }
}

/// A member update in the audit log: `by` set `target`'s server mute.
fn audit_entry(id: u64, by: u64, target: u64, mute: bool) -> Value {
    json!({
        "id": id.to_string(),
        "action_type": 24,
        "user_id": by.to_string(),
        "target_id": target.to_string(),
        "changes": [{ "key": "mute", "old_value": !mute, "new_value": mute }],
        "reason": null,
        "options": null,
    })
}

/// The guild's roles: @everyone (no permissions), the facilitator role,
/// the moderators' (Mute Members) and the bot's own.
pub fn guild_roles() -> Vec<Value> {
    let mut moderator = role(MODERATOR_ROLE, "Moderator");
    moderator["permissions"] = json!(MUTE_MEMBERS);
    let mut bot = role(BOT_ROLE, "Hearth");
    bot["permissions"] = json!(hearth_discord::perms::needed().bits().to_string());
    vec![
        role(GUILD, "@everyone"),
        role(FACILITATOR_ROLE, "Facilitator"),
        moderator,
        bot,
    ]
}

/// What Discord returns for a registered command.
fn registered_command(mut command: Value, id: u64) -> Value {
    command["id"] = json!(id.to_string());
    command["application_id"] = json!(APP.to_string());
    command["version"] = json!("1");
    if command.get("type").is_none() {
        command["type"] = json!(1);
    }
    command
}

/// A scheduled event as Discord returns it, from what was sent.
fn scheduled_event(id: u64, guild: u64, sent: &Value) -> Value {
    json!({
        "id": id.to_string(),
        "guild_id": guild.to_string(),
        "channel_id": sent.get("channel_id").cloned().unwrap_or(Value::Null),
        "creator_id": APP.to_string(),
        "name": sent["name"],
        "description": sent.get("description").cloned().unwrap_or(Value::Null),
        "scheduled_start_time": sent["scheduled_start_time"],
        "scheduled_end_time": sent.get("scheduled_end_time").cloned().unwrap_or(Value::Null),
        "privacy_level": 2,
        "status": sent.get("status").cloned().unwrap_or(json!(1)),
        "entity_type": sent["entity_type"],
        "entity_id": null,
        "entity_metadata": sent.get("entity_metadata").cloned().unwrap_or(Value::Null),
        "recurrence_rule": sent.get("recurrence_rule").cloned().unwrap_or(Value::Null),
    })
}

/// Ends a running event. One that repeats is not completed: Discord moves
/// it on to its next occurrence, scheduled again, and it stays the one event
/// of its series ("when a reoccurring one ends it just reschedules an
/// event", <https://github.com/discord/discord-api-docs/issues/6885>; the
/// docs' own transitions, SCHEDULED to ACTIVE to COMPLETED, say nothing of
/// recurrence).
fn end(event: &mut Value) {
    let next = next_occurrence(&event["recurrence_rule"], &event["scheduled_start_time"]);
    let Some((start, next)) = next else {
        event["status"] = json!(3);
        return;
    };
    if let Some(end) = event["scheduled_end_time"]
        .as_str()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
    {
        event["scheduled_end_time"] = json!((next + (end.to_utc() - start)).to_rfc3339());
    }
    event["scheduled_start_time"] = json!(next.to_rfc3339());
    event["status"] = json!(1);
}

/// The occurrence of a recurrence rule after the one at `current`, at its
/// time of day: the days of the next 400 that the rule names, first.
fn next_occurrence(
    rule: &Value,
    current: &Value,
) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    use chrono::Datelike;
    let parse = |v: &Value| Some(chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?.to_utc());
    let (current, first) = (parse(current)?, parse(&rule["start"])?);
    let weekday = |t: chrono::DateTime<chrono::Utc>| u64::from(t.weekday().num_days_from_monday());
    let days: Option<Vec<u64>> = rule["by_weekday"]
        .as_array()
        .map(|d| d.iter().filter_map(Value::as_u64).collect());
    let named = |t: chrono::DateTime<chrono::Utc>| match rule["frequency"].as_u64() {
        Some(3) => days.as_ref().is_none_or(|d| d.contains(&weekday(t))),
        Some(2) => {
            let weeks = (t.date_naive() - first.date_naive()).num_days().div_euclid(7);
            let on_day = days
                .as_ref()
                .map_or(weekday(t) == weekday(first), |d| d.contains(&weekday(t)));
            on_day && weeks % rule["interval"].as_i64().unwrap_or(1).max(1) == 0
        }
        Some(1) => {
            let nth = &rule["by_n_weekday"][0];
            nth["day"].as_u64() == Some(weekday(t)) && nth["n"].as_u64() == Some(u64::from((t.day() - 1) / 7 + 1))
        }
        _ => {
            rule["by_month"][0].as_u64() == Some(u64::from(t.month()))
                && rule["by_month_day"][0].as_u64() == Some(u64::from(t.day()))
        }
    };
    if rule.is_null() {
        return None;
    }
    let next = (1..=400)
        .map(|n| current + chrono::Duration::days(n))
        .find(|t| named(*t))?;
    Some((current, next))
}

/// Discord's checks of a `recurrence_rule` (its docs' "System limitations",
/// issue 29): `null` or absent is none; `count`, `end` and `by_year_day`
/// cannot be set; `by_weekday`, `by_n_weekday` and `by_month` +
/// `by_month_day` exclude one another; a weekly rule names one weekday, a
/// daily one a known set; `by_n_weekday` (one, n 1 to 5) is monthly only;
/// `by_month` and `by_month_day` (one each, both) yearly only; an interval
/// other than 1 is 2 on a weekly rule.
/// The sets of weekdays (Monday 0) Discord's docs allow on a daily rule.
const DISCORD_DAILY_SETS: [&[u64]; 6] = [
    &[0, 1, 2, 3, 4],
    &[1, 2, 3, 4, 5],
    &[6, 0, 1, 2, 3],
    &[4, 5],
    &[5, 6],
    &[6, 0],
];

pub fn valid_recurrence(rule: &Value) -> Result<(), &'static str> {
    if rule.is_null() {
        return Ok(());
    }
    let set = |k: &str| rule.get(k).is_some_and(|v| !v.is_null());
    let len = |k: &str| rule.get(k).and_then(Value::as_array).map(Vec::len);
    if ["count", "end", "by_year_day"].iter().any(|k| set(k)) {
        return Err("count, end and by_year_day cannot be set");
    }
    if rule["start"]
        .as_str()
        .is_none_or(|s| chrono::DateTime::parse_from_rfc3339(s).is_err())
    {
        return Err("start must be an ISO8601 timestamp");
    }
    let frequency = rule["frequency"].as_u64().ok_or("frequency is required")?;
    let interval = rule["interval"].as_u64().ok_or("interval is required")?;
    let by_date = set("by_month") || set("by_month_day");
    if [set("by_weekday"), set("by_n_weekday"), by_date]
        .iter()
        .filter(|s| **s)
        .count()
        > 1
    {
        return Err("by_weekday, by_n_weekday and by_month + by_month_day are mutually exclusive");
    }
    if interval != 1 && !(frequency == 2 && interval == 2) {
        return Err("interval can only be 2, on a weekly rule, if not 1");
    }
    if set("by_weekday") {
        let days: Vec<u64> = rule["by_weekday"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        match frequency {
            2 if days.len() == 1 && days[0] <= 6 => {}
            3 if DISCORD_DAILY_SETS.contains(&days.as_slice()) => {}
            2 => return Err("a weekly rule names one weekday"),
            3 => return Err("a daily rule's weekdays must be a known set"),
            _ => return Err("by_weekday is for daily and weekly rules"),
        }
    }
    if set("by_n_weekday") {
        let n = rule["by_n_weekday"][0]["n"].as_u64().unwrap_or(0);
        let day = rule["by_n_weekday"][0]["day"].as_u64().unwrap_or(7);
        if frequency != 1 || len("by_n_weekday") != Some(1) || !(1..=5).contains(&n) || day > 6 {
            return Err("by_n_weekday is one (n 1 to 5) on a monthly rule");
        }
    }
    if by_date && (frequency != 0 || len("by_month") != Some(1) || len("by_month_day") != Some(1)) {
        return Err("by_month and by_month_day are one each, both, on a yearly rule");
    }
    if frequency > 3 {
        return Err("frequency is 0 to 3");
    }
    Ok(())
}

/// The DM channel of a user: id `user + 500_000`.
pub fn dm_channel_id(user: u64) -> u64 {
    user + 500_000
}

fn dm_channel(user: u64) -> Value {
    json!({
        "id": dm_channel_id(user).to_string(),
        "type": 1,
        "last_message_id": null,
        "recipients": [self::user(user, "member")],
    })
}

// ---- fixtures -------------------------------------------------------------

pub fn user(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": null,
        "bot": id == APP,
    })
}

pub fn member(id: u64, name: &str, permissions: &str, roles: &[u64]) -> Value {
    json!({
        "user": user(id, name),
        "nick": null,
        "avatar": null,
        "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": "2026-01-01T00:00:00.000000+00:00",
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "permissions": permissions,
    })
}

pub fn role(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "color": 0,
        "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": 0,
        "permissions": "0",
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

/// A message as Discord returns it, carrying what was sent.
pub fn message(id: u64, channel: u64, sent: &Value) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "author": user(APP, "Hearth"),
        "content": sent["content"].as_str().unwrap_or_default(),
        "timestamp": "2026-11-26T08:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": sent.get("embeds").cloned().unwrap_or(json!([])),
        "components": sent.get("components").cloned().unwrap_or(json!([])),
        "pinned": false,
        "type": 0,
        "flags": 0,
        "nonce": sent.get("nonce").cloned().unwrap_or(Value::Null),
    })
}

fn ready(ws_url: &str) -> Value {
    json!({
        "v": 10,
        "user": {
            "id": APP.to_string(),
            "username": "Hearth",
            "discriminator": "0",
            "global_name": null,
            "avatar": null,
            "bot": true,
            "verified": true,
            "mfa_enabled": false,
            "flags": 0,
        },
        "guilds": [],
        "session_id": "fake-session",
        "resume_gateway_url": ws_url,
        "shard": [0, 1],
        "application": { "id": APP.to_string(), "flags": 0 },
    })
}

/// The gateway's READY, for checking fixtures without a server.
pub fn ready_fixture() -> Value {
    ready("ws://127.0.0.1:1/ws")
}

/// A typed option value: (name, Discord option type, value).
pub type Opt<'a> = (&'a str, u8, Value);

/// An application command interaction for `command` (one to three words).
pub fn command_interaction(id: u64, member: &Value, command: &str, options: &[Opt<'_>]) -> Value {
    let opts: Vec<Value> = options
        .iter()
        .map(|(name, kind, value)| json!({ "name": name, "type": kind, "value": value }))
        .collect();
    let words: Vec<&str> = command.split(' ').collect();
    let mut nested = Value::Array(opts);
    for (depth, word) in words.iter().enumerate().skip(1).rev() {
        let kind = if depth == words.len() - 1 { 1 } else { 2 };
        nested = json!([{ "name": word, "type": kind, "options": nested }]);
    }
    interaction(
        id,
        2,
        member,
        json!({ "id": "5000", "name": words[0], "type": 1, "options": nested, "guild_id": GUILD.to_string() }),
        None,
    )
}

/// An autocomplete interaction while `focused` is being typed.
pub fn autocomplete_interaction(id: u64, member: &Value, command: &str, focused: &str, typed: &str) -> Value {
    let mut i = command_interaction(id, member, command, &[(focused, 3, json!(typed))]);
    i["type"] = json!(4);
    let mut options = &mut i["data"]["options"];
    while options[0].get("options").is_some() {
        options = &mut options[0]["options"];
    }
    options[0]["focused"] = json!(true);
    i
}

/// A button press on `message`.
pub fn button_interaction(id: u64, member: &Value, custom_id: &str, message: &Value) -> Value {
    interaction(
        id,
        3,
        member,
        json!({ "custom_id": custom_id, "component_type": 2 }),
        Some(message.clone()),
    )
}

fn interaction(id: u64, kind: u8, member: &Value, data: Value, message: Option<Value>) -> Value {
    let mut i = json!({
        "id": id.to_string(),
        "application_id": APP.to_string(),
        "type": kind,
        "data": data,
        "guild_id": GUILD.to_string(),
        "channel_id": CHANNEL.to_string(),
        "channel": { "id": CHANNEL.to_string(), "type": 0 },
        "member": member,
        "token": token(id),
        "version": 1,
        "app_permissions": "2248473465835073",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": { "0": GUILD.to_string() },
        "context": 0,
        "attachment_size_limit": 10_485_760,
    });
    if let Some(message) = message {
        i["message"] = message;
    }
    i
}

/// The token of interaction `id`.
pub fn token(id: u64) -> String {
    format!("token{id}")
}

/// The path of interaction `id`'s callback.
pub fn callback_path(id: u64) -> String {
    format!("/interactions/{id}/{}/callback", token(id))
}

/// The guild as GUILD_CREATE delivers it: the roles, the bot's own member
/// and `extra_members`, and the voice states given.
pub fn guild_create(extra_members: &[Value], voice_states: &[Value]) -> Value {
    let mut members = vec![member(APP, "Hearth", "8", &[BOT_ROLE])];
    members.extend(extra_members.iter().cloned());
    let channels = json!(guild_channels());
    let mut guild = json!({
        "id": GUILD.to_string(),
        "name": "Peer support",
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": "1",
        "afk_channel_id": null,
        "afk_timeout": 300,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "roles": guild_roles(),
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
    });
    guild["joined_at"] = json!("2026-01-01T00:00:00.000000+00:00");
    guild["large"] = json!(false);
    guild["unavailable"] = json!(false);
    guild["member_count"] = json!(members.len());
    guild["voice_states"] = json!(voice_states);
    guild["members"] = json!(members);
    guild["channels"] = json!(channels);
    guild["threads"] = json!([]);
    guild["presences"] = json!([]);
    guild["stage_instances"] = json!([]);
    guild["guild_scheduled_events"] = json!([]);
    guild["safety_alerts_channel_id"] = json!(null);
    guild
}

pub fn voice_state(user: u64, channel: Option<u64>) -> Value {
    voice_state_with(user, channel, &[])
}

/// A voice state of a member with these roles (`MODERATOR_ROLE`: may mute others).
pub fn voice_state_with(user: u64, channel: Option<u64>, roles: &[u64]) -> Value {
    json!({
        "guild_id": GUILD.to_string(),
        "channel_id": channel.map(|c| c.to_string()),
        "user_id": user.to_string(),
        "member": member(user, "speaker", PLAIN, roles),
        "session_id": "voice-session",
        "deaf": false,
        "mute": false,
        "self_deaf": false,
        "self_mute": false,
        "self_video": false,
        "suppress": false,
        "request_to_speak_timestamp": null,
    })
}

// ---- the bot under test ---------------------------------------------------

/// The adapter running against a fake Discord.
pub struct Bot {
    pub fake: FakeDiscord,
    pub config: DiscordConfig,
    /// The core the adapter runs over (for a scheduler in tests).
    pub hearth: Hearth,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    token_file: PathBuf,
}

static NEXT_TOKEN_FILE: AtomicU64 = AtomicU64::new(0);

impl Bot {
    /// Starts a fake Discord and the adapter, registering commands in `GUILD`.
    /// The fake has no 3-second limit, so answers are never deferred for
    /// slowness here (a loaded CI machine would make that flaky); the
    /// deferral path has its own test with a zero delay.
    pub async fn start() -> Self {
        Self::start_with(vec![GUILD], Duration::from_secs(60)).await
    }

    pub async fn start_with(guilds: Vec<u64>, defer_after: Duration) -> Self {
        Self::start_full(guilds, defer_after, Arc::new(SystemClock)).await
    }

    /// With the core on `clock` (a `ManualClock` for reminders).
    pub async fn start_at(clock: Arc<dyn Clock>) -> Self {
        Self::start_full(vec![GUILD], Duration::from_secs(60), clock).await
    }

    async fn start_full(guilds: Vec<u64>, defer_after: Duration, clock: Arc<dyn Clock>) -> Self {
        let fake = FakeDiscord::start().await;
        let bot = Self::start_on(fake, guilds, defer_after, clock, None).await;
        let identify = bot.fake.wait_identified().await;
        assert_eq!(identify["token"], "Bot fake-token");
        bot
    }

    /// The adapter running `shards` against an existing fake (several
    /// adapters on one fake stand for several processes of one bot), each
    /// over a core of its own; returns once its shards have identified.
    pub async fn start_shards(fake: &FakeDiscord, guilds: Vec<u64>, shards: hearth_discord::Shards) -> Self {
        let bot = Self::start_on(
            fake.clone(),
            guilds,
            Duration::from_secs(60),
            Arc::new(SystemClock),
            Some(shards),
        )
        .await;
        fake.wait_shards(
            u64::from(shards.first())..=u64::from(shards.last()),
            u64::from(shards.total()),
        )
        .await;
        bot
    }

    async fn start_on(
        fake: FakeDiscord,
        guilds: Vec<u64>,
        defer_after: Duration,
        clock: Arc<dyn Clock>,
        shards: Option<hearth_discord::Shards>,
    ) -> Self {
        // RUST_LOG=hearth_discord=debug shows the adapter's side of a failing test.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let token_file = std::env::temp_dir().join(format!(
            "hearth-discord-test-{}-{}.token",
            std::process::id(),
            NEXT_TOKEN_FILE.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::write(&token_file, "fake-token\n").unwrap();
        let config = DiscordConfig {
            token_env: None,
            token_file: Some(token_file.clone()),
            guilds,
            facilitator_role: Some("facilitator".into()),
            api_base_url: Some(fake.base_url.clone()),
            shards,
        };
        let store = Store::in_memory().await.expect("an in-memory store");
        let hearth = Hearth::new(store, clock, CoreConfig::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let discord = Discord::new(hearth.clone(), config.clone()).defer_after(defer_after);
        let task = tokio::spawn(discord.run(async {
            let _ = stopped.await;
        }));
        Self {
            fake,
            config,
            hearth,
            stop: Some(stop),
            task: Some(task),
            token_file,
        }
    }

    /// Sends an interaction and returns the body of its callback.
    pub async fn interact(&self, interaction: Value) -> Value {
        let id: u64 = interaction["id"].as_str().unwrap().parse().unwrap();
        self.fake.dispatch("INTERACTION_CREATE", interaction);
        self.fake.wait_request("POST", &callback_path(id)).await.body
    }

    /// Stops the adapter and checks it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let ended = tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the adapter did not stop within 10 s");
            ended.expect("the adapter's task panicked").expect("the adapter failed");
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.token_file);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

// ---- channels, and a stage (the talking stick's suppress) -------------------

/// The voice channel of the guild's fixtures.
pub const VOICE: u64 = 77;
/// The stage channel of the guild's fixtures.
pub const STAGE: u64 = 78;
/// A second voice channel (a staff call, another group's meeting).
pub const VOICE_2: u64 = 79;
/// A second text channel, where the bot may post.
pub const GRIEF_CHANNEL: u64 = 3_001;
/// A text channel where the bot may not send messages.
pub const READ_ONLY: u64 = 3_002;

/// The guild's channels, as GUILD_CREATE and `GET /channels/{id}` give them:
/// a text channel, a voice channel and a stage.
pub fn guild_channels() -> Vec<Value> {
    let channel = |id: u64, kind: u8, name: &str, position: u8| {
        let mut c = json!({
            "id": id.to_string(), "type": kind, "guild_id": GUILD.to_string(), "name": name,
            "position": position, "permission_overwrites": [], "nsfw": false,
        });
        if kind != 0 {
            c["bitrate"] = json!(64_000);
            c["user_limit"] = json!(0);
        }
        c
    };
    let mut read_only = channel(READ_ONLY, 0, "announcements", 5);
    read_only["permission_overwrites"] = json!([{
        "id": BOT_ROLE.to_string(), "type": 0, "allow": "0", "deny": "2048",
    }]);
    vec![
        channel(CHANNEL, 0, "general", 0),
        channel(VOICE, 2, "circle", 1),
        channel(STAGE, 13, "stage circle", 2),
        channel(VOICE_2, 2, "staff", 3),
        channel(GRIEF_CHANNEL, 0, "grief", 4),
        read_only,
    ]
}

/// `GET /channels/{id}`: one of the guild's channels, the other server's
/// channel, or Discord's 10003.
fn channel_by_id(id: &str) -> Response {
    let other = json!({
        "id": OTHER_GUILD_CHANNEL.to_string(), "type": 0, "guild_id": OTHER_GUILD.to_string(),
        "name": "elsewhere", "position": 0, "permission_overwrites": [], "nsfw": false,
    });
    match guild_channels().into_iter().chain([other]).find(|c| c["id"] == id) {
        Some(found) => axum::Json(found).into_response(),
        None => error(404, 10003, "Unknown Channel"),
    }
}

/// The `[discord]` section of a binary's config against `fake`, its token in
/// `dir`/discord.token.
pub fn discord_section(fake: &FakeDiscord, dir: &std::path::Path) -> String {
    let token_file = dir.join("discord.token");
    std::fs::write(&token_file, "fake-token\n").unwrap();
    format!(
        "[discord]\ntoken_file = {token:?}\nguilds = [{GUILD}]\napi_base_url = {base:?}\n",
        token = token_file.display().to_string(),
        base = fake.base_url,
    )
}

/// (user, mute) of a server-mute request.
pub fn mute_of(r: &Recorded) -> Option<(u64, bool)> {
    let user = r
        .path
        .strip_prefix(&format!("/guilds/{GUILD}/members/"))?
        .parse()
        .ok()?;
    (r.method == "PATCH").then_some(())?;
    Some((user, r.body["mute"].as_bool()?))
}

/// (user, suppress) of a suppress request on the fixtures' stage.
pub fn suppress_of(r: &Recorded) -> Option<(u64, bool)> {
    let user = r
        .path
        .strip_prefix(&format!("/guilds/{GUILD}/voice-states/"))?
        .parse()
        .ok()?;
    let stage = STAGE.to_string();
    (r.method == "PATCH" && r.body["channel_id"].as_str() == Some(stage.as_str())).then_some(())?;
    Some((user, r.body["suppress"].as_bool()?))
}
