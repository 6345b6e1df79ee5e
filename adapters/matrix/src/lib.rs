//! Hearth on Matrix, through matrix-sdk: a thin adapter that turns room
//! messages and reactions into core inputs and sends the answers back as
//! `m.notice` events, in plain and end-to-end encrypted rooms alike.
//!
//! The session (access token, device id) is stored next to the sqlite state
//! and crypto stores in `store_dir`, so a restart restores the same device
//! with no new login. One sync runs before any handler is registered, so
//! nothing sent before the bot started is ever answered.

// matrix-sdk's futures are deep: proving them `Send` needs more than the
// default recursion limit. The public futures are boxed so that callers
// (the binary, the tests) need not raise theirs.
#![recursion_limit = "256"]

pub mod calls;
mod config;
pub mod render;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bot_core::io::{BoxFuture, Delivery, DeliveryError, Outbox};
use bot_core::{Actor, Effect, Hearth, Input, InputKind, Message, Place, Platform, Response, Visibility, parse};
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::RawAnySyncOrStrippedState;
use matrix_sdk::deserialized_responses::SyncOrStrippedState;
use matrix_sdk::event_handler::Ctx;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::{MessageType, OriginalSyncRoomMessageEvent, Relation};
use matrix_sdk::ruma::events::room::power_levels::UserPowerLevel;
use matrix_sdk::ruma::events::space::child::SpaceChildEventContent;
use matrix_sdk::ruma::events::space::parent::SpaceParentEventContent;
use matrix_sdk::ruma::events::{AnySyncStateEvent, StateEventType, SyncStateEvent};
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{
    EventId, MilliSecondsSinceUnixEpoch, OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId, RoomId, UserId,
};
use matrix_sdk::store::RoomLoadSettings;
use matrix_sdk::{Client, Room, RoomState};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

pub use config::MatrixConfig;

const SESSION_FILE: &str = "session.json";
const DEVICE_NAME: &str = "Hearth";

/// What `store_dir/session.json` holds: enough to restore without a login.
#[derive(Serialize, Deserialize)]
struct StoredSession {
    homeserver: String,
    #[serde(flatten)]
    session: MatrixSession,
}

/// A boxed, `Send` future (see the recursion limit above).
pub type Task<T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'static>>;

/// Connects and runs Hearth on Matrix until `shutdown` completes.
pub fn run(hearth: Hearth, config: MatrixConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> Task<()> {
    Box::pin(async move { Matrix::connect(config).await?.run(hearth, shutdown).await })
}

/// A connected bot: logged in (or restored) and synced once, not yet
/// answering. Hand [`Matrix::outbox`] to the scheduler, then [`Matrix::run`].
pub struct Matrix {
    client: Client,
    sender: Arc<Sender>,
    config: MatrixConfig,
}

impl Matrix {
    /// Restores the stored session or logs in once, then syncs once so that
    /// everything already in the rooms counts as seen.
    pub fn connect(config: MatrixConfig) -> Task<Self> {
        Box::pin(Self::connect_inner(config))
    }

    async fn connect_inner(config: MatrixConfig) -> anyhow::Result<Self> {
        let store_dir = &config.store_dir;
        std::fs::create_dir_all(store_dir)
            .with_context(|| format!("creating the Matrix store directory {}", store_dir.display()))?;
        let started = MilliSecondsSinceUnixEpoch::now();
        let client = Client::builder()
            .homeserver_url(&config.homeserver)
            .sqlite_store(store_dir, None)
            .build()
            .await
            .context("building the Matrix client")?;
        let session_path = store_dir.join(SESSION_FILE);
        match read_session(&session_path)? {
            Some(stored) => {
                if stored.session.meta.user_id.as_str() != config.user_id || stored.homeserver != config.homeserver {
                    bail!(
                        "{} belongs to {} on {}, not {} on {}; use another store_dir",
                        session_path.display(),
                        stored.session.meta.user_id,
                        stored.homeserver,
                        config.user_id,
                        config.homeserver
                    );
                }
                client
                    .matrix_auth()
                    .restore_session(stored.session, RoomLoadSettings::default())
                    .await
                    .context("restoring the Matrix session")?;
                tracing::info!(device = ?client.device_id(), "matrix session restored");
            }
            None => {
                let password = config.password()?;
                client
                    .matrix_auth()
                    .login_username(&config.user_id, &password)
                    .initial_device_display_name(DEVICE_NAME)
                    .send()
                    .await
                    .context("logging in to Matrix")?;
                let Some(session) = client.matrix_auth().session() else {
                    bail!("logged in to Matrix but got no session");
                };
                write_session(
                    &session_path,
                    &StoredSession {
                        homeserver: config.homeserver.clone(),
                        session,
                    },
                )?;
                tracing::info!(device = ?client.device_id(), "matrix logged in");
            }
        }
        // No long poll: this sync only marks what is already there as seen.
        client
            .sync_once(SyncSettings::default().timeout(Duration::ZERO))
            .await
            .context("the first Matrix sync")?;
        let Some(user_id) = client.user_id().map(ToOwned::to_owned) else {
            bail!("the Matrix client has no user id after login");
        };
        let sender = Arc::new(Sender {
            client: client.clone(),
            user_id,
            prefix: config.prefix.clone(),
            dms: Mutex::new(HashMap::new()),
            started,
        });
        Ok(Self { client, sender, config })
    }

    /// What the scheduler delivers reminders through.
    pub fn outbox(&self) -> MatrixOutbox {
        MatrixOutbox {
            sender: self.sender.clone(),
        }
    }

    /// The bot's device id.
    pub fn device_id(&self) -> Option<String> {
        self.client.device_id().map(ToString::to_string)
    }

    /// The underlying client (for tests and diagnostics).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Answers commands and reactions until `shutdown` completes.
    pub fn run(self, hearth: Hearth, shutdown: impl Future<Output = ()> + Send + 'static) -> Task<()> {
        Box::pin(self.run_inner(hearth, shutdown))
    }

    async fn run_inner(
        self,
        hearth: Hearth,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let bot = Arc::new(Bot {
            hearth,
            sender: self.sender.clone(),
            facilitator_power_level: self.config.facilitator_power_level,
            allowed_servers: self.config.allowed_servers.clone(),
            turns: std::sync::Mutex::new(HashMap::new()),
        });
        self.client.add_event_handler_context(bot.clone());
        let handles = [
            self.client.add_event_handler(on_message),
            self.client.add_event_handler(on_reaction),
            self.client.add_event_handler(on_invite),
            self.client.add_event_handler(on_undecryptable),
            self.client.add_event_handler(on_state),
        ];
        // Invites that arrived while the bot was away.
        for room in self.client.invited_rooms() {
            let inviter = match room.invite_details().await {
                Ok(invite) => Some(invite.inviter_id),
                Err(_) => None,
            };
            if let Some(inviter) = inviter {
                bot.accept_invite(room, &inviter);
            }
        }
        tracing::info!("matrix adapter running");
        let result = tokio::select! {
            r = sync_forever(&self.client) => r,
            () = shutdown => Ok(()),
        };
        for handle in handles {
            self.client.remove_event_handler(handle);
        }
        tracing::info!("matrix adapter stopped");
        result
    }
}

/// Long-polls the homeserver until an error that retrying cannot mend.
///
/// Not `Client::sync`: that loop sleeps a whole second after any sync that
/// returned within a second, which in a busy room delays every answer by up
/// to a second. The server's long-poll timeout already keeps this loop from
/// spinning; failures back off.
async fn sync_forever(client: &Client) -> anyhow::Result<()> {
    const FIRST_BACKOFF: Duration = Duration::from_millis(500);
    let mut settings = SyncSettings::default();
    let mut backoff = FIRST_BACKOFF;
    loop {
        match client.sync_once(settings.clone()).await {
            Ok(response) => {
                settings = settings.token(response.next_batch);
                backoff = FIRST_BACKOFF;
            }
            Err(e) => {
                if let Some(ErrorKind::UnknownToken(_)) = e.client_api_error_kind() {
                    bail!(
                        "the homeserver no longer accepts the bot's access token (M_UNKNOWN_TOKEN); \
                         to log in again as a new device, empty the store_dir"
                    );
                }
                tracing::warn!(error = %e, retry_in = ?backoff, "matrix sync failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

fn read_session(path: &Path) -> anyhow::Result<Option<StoredSession>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes the session readable by its owner only: it holds the access token.
fn write_session(path: &Path, session: &StoredSession) -> anyhow::Result<()> {
    let text = serde_json::to_string(session).context("serialising the Matrix session")?;
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// A transaction id derived from a stable key: the homeserver deduplicates
/// sends with the same id from the same device, so a retry is not a repeat.
pub fn transaction_id(key: &str) -> OwnedTransactionId {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    OwnedTransactionId::from(format!("hearth-{hex}"))
}

/// A new random transaction id, for sends with no stable key.
fn fresh_transaction_id() -> OwnedTransactionId {
    matrix_sdk::ruma::TransactionId::new()
}

/// Sending: shared by the handlers and the outbox.
struct Sender {
    client: Client,
    user_id: OwnedUserId,
    prefix: String,
    /// The DM room per member; the lock also keeps two private replies from
    /// creating two rooms.
    dms: Mutex<HashMap<OwnedUserId, OwnedRoomId>>,
    /// When this run began. The first sync already hides older events from
    /// the handlers; this catches any that would slip through (a sync cut
    /// off at shutdown, a late decryption).
    started: MilliSecondsSinceUnixEpoch,
}

impl Sender {
    fn render(&self, message: &Message) -> render::Rendered {
        let client = self.client.clone();
        let room_name = move |id: &str| {
            let id = RoomId::parse(id).ok()?;
            client.get_room(&id)?.name()
        };
        render::render(message, &self.prefix, &room_name)
    }

    /// Sends `message` to `room`, then adds its buttons as reactions.
    async fn send(
        &self,
        room: &Room,
        message: &Message,
        in_reply_to: Option<&EventId>,
        community: &str,
        txn: OwnedTransactionId,
    ) -> matrix_sdk::Result<OwnedEventId> {
        let rendered = self.render(message);
        let content = rendered.content(in_reply_to.map(EventId::as_str), community);
        let response = room
            .send_raw("m.room.message", content)
            .with_transaction_id(&txn)
            .await?;
        let event_id = response.response.event_id;
        tracing::info!(room = %room.room_id(), event = %event_id, kind = "m.notice", "sent");
        for (i, (emoji, _)) in rendered.buttons.iter().enumerate() {
            let reaction = json!({
                "m.relates_to": { "rel_type": "m.annotation", "event_id": event_id, "key": emoji },
            });
            room.send_raw("m.reaction", reaction)
                .with_transaction_id(&transaction_id(&format!("{txn}/reaction/{i}")))
                .await?;
        }
        if let Some(a) = &message.attachment {
            // Encrypted rooms get an encrypted upload.
            let mime: mime::Mime = a.mime.parse().unwrap_or(mime::TEXT_PLAIN_UTF_8);
            let config = AttachmentConfig::new().txn_id(transaction_id(&format!("{txn}/attachment")));
            room.send_attachment(&a.filename, &mime, a.content.clone().into_bytes(), config)
                .await?;
            tracing::info!(room = %room.room_id(), kind = "m.file", "sent");
        }
        Ok(event_id)
    }

    /// A room the bot has joined, by id.
    fn joined_room(&self, channel: &str) -> Result<Room, DeliveryError> {
        let id = RoomId::parse(channel)
            .map_err(|_| DeliveryError::Permanent(format!("{channel} is not a Matrix room id")))?;
        let Some(room) = self.client.get_room(&id) else {
            return Err(DeliveryError::Permanent(format!("not in room {channel}")));
        };
        if room.state() != RoomState::Joined {
            return Err(DeliveryError::Permanent(format!("not joined to room {channel}")));
        }
        Ok(room)
    }

    /// Edits a live status message (`m.replace`), or posts it when there is
    /// none yet; returns the posted event's id for the core to edit next time.
    async fn status(
        &self,
        channel: &str,
        message: &Message,
        edit: Option<&str>,
        community: &str,
    ) -> Result<Option<String>, DeliveryError> {
        let room = self.joined_room(channel)?;
        if let Some(original) = edit.and_then(|e| EventId::parse(e).ok()) {
            let content = self.render(message).replacement(original.as_str(), community);
            let sent = room
                .send_raw("m.room.message", content)
                .with_transaction_id(&fresh_transaction_id())
                .await
                .map_err(classify)?;
            tracing::info!(room = %room.room_id(), event = %sent.response.event_id, kind = "m.replace", "sent");
            return Ok(None);
        }
        let posted = self
            .send(&room, message, None, community, fresh_transaction_id())
            .await
            .map_err(classify)?;
        Ok(Some(posted.to_string()))
    }

    /// The DM room with `user`: the one used before, else one the store knows
    /// (marked direct), else a new encrypted one created with `is_direct`.
    async fn dm_room(&self, user: &UserId) -> matrix_sdk::Result<Room> {
        let mut dms = self.dms.lock().await;
        if let Some(room) = dms.get(user).and_then(|id| self.client.get_room(id))
            && dm_usable(&room, user).await
        {
            return Ok(room);
        }
        for room in self.client.get_dm_rooms(user) {
            if dm_usable(&room, user).await {
                dms.insert(user.to_owned(), room.room_id().to_owned());
                return Ok(room);
            }
        }
        let room = self.client.create_dm(user).await?;
        tracing::info!(room = %room.room_id(), user = %user, kind = "dm created", "dm");
        dms.insert(user.to_owned(), room.room_id().to_owned());
        Ok(room)
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<(), DeliveryError> {
        let (room, message, key) = match &delivery.effect {
            Effect::Post { channel, message, key } => (self.joined_room(channel)?, message, key),
            Effect::Status {
                channel, message, edit, ..
            } => {
                return self
                    .status(channel, message, edit.as_deref(), &delivery.community)
                    .await
                    .map(drop);
            }
            Effect::Mute { .. } => {
                return Err(DeliveryError::Permanent("Matrix has no server mute".into()));
            }
            Effect::Dm { user, message, key } => {
                let user = UserId::parse(user)
                    .map_err(|_| DeliveryError::Permanent(format!("{user} is not a Matrix user id")))?;
                let room = self.dm_room(&user).await.map_err(classify)?;
                (room, message, key)
            }
        };
        let txn = key.as_deref().map_or_else(fresh_transaction_id, transaction_id);
        self.send(&room, message, None, &delivery.community, txn)
            .await
            .map(drop)
            .map_err(classify)
    }
}

/// A DM room still works while we are in it and the member has not left it.
/// A room just created may not know its members yet: that still counts.
async fn dm_usable(room: &Room, user: &UserId) -> bool {
    use matrix_sdk::ruma::events::room::member::MembershipState;
    if room.state() != RoomState::Joined {
        return false;
    }
    match room.get_member_no_sync(user).await {
        Ok(Some(member)) => !matches!(member.membership(), MembershipState::Leave | MembershipState::Ban),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// A 4xx other than 429 will fail again; everything else may pass later.
fn classify(e: matrix_sdk::Error) -> DeliveryError {
    if let Some(api) = e.as_client_api_error() {
        let status = api.status_code;
        if status.is_client_error() && status.as_u16() != 429 {
            return DeliveryError::Permanent(e.to_string());
        }
    }
    DeliveryError::Retry(e.to_string())
}

/// Carries out scheduled deliveries on Matrix: posts to a room id, DMs to a
/// user id through the reused DM room, with transaction ids from the keys.
#[derive(Clone)]
pub struct MatrixOutbox {
    sender: Arc<Sender>,
}

impl Outbox for MatrixOutbox {
    fn platform(&self) -> Platform {
        Platform::Matrix
    }

    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.sender.deliver(delivery))
    }
}

/// What the event handlers share.
struct Bot {
    hearth: Hearth,
    sender: Arc<Sender>,
    facilitator_power_level: i64,
    allowed_servers: Option<Vec<String>>,
    /// Each room's queue of commands and presses, so that they are handled in
    /// the order they were sent ("create a group", then "schedule it") while
    /// rooms go on in parallel and the sync loop is never held up.
    turns: std::sync::Mutex<HashMap<OwnedRoomId, tokio::sync::mpsc::UnboundedSender<Turn>>>,
}

/// One input's handling, queued behind its room's earlier ones.
type Turn = Pin<Box<dyn Future<Output = ()> + Send>>;

impl Bot {
    /// Hands a parsed command (typed or pressed) to the core as `sender` in
    /// `room` (acting in `acts_in`'s community when given) and answers it.
    async fn respond(
        &self,
        room: &Room,
        sender: &UserId,
        cause: &EventId,
        acts_in: Option<String>,
        parsed: Result<bot_core::Invocation, bot_core::UserError>,
    ) {
        let (actor, place) = self.actor_and_place(room, sender, acts_in).await;
        let community = place.community.clone();
        let response = match parsed {
            Ok(invocation) => {
                let kind = InputKind::Command(invocation);
                self.hearth.handle(&Input { actor, place, kind }).await
            }
            Err(e) => Response::private(e.to_message()),
        };
        self.answer(room, sender, cause, &community, response).await;
    }

    /// Queues `turn` behind the room's earlier inputs; a room's queue is
    /// started on its first input.
    fn in_turn(&self, room: &RoomId, turn: Turn) {
        let mut turns = self.turns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let queue = turns.entry(room.to_owned()).or_insert_with(|| {
            let (queue, mut next) = tokio::sync::mpsc::unbounded_channel::<Turn>();
            tokio::spawn(async move {
                while let Some(turn) = next.recv().await {
                    turn.await;
                }
            });
            queue
        });
        if let Err(refused) = queue.send(turn) {
            // The room's worker is gone (only at shutdown): run it on its own.
            tokio::spawn(refused.0);
        }
    }

    fn accept_invite(self: &Arc<Self>, room: Room, inviter: &UserId) {
        if let Some(allowed) = &self.allowed_servers
            && !allowed.iter().any(|s| s == inviter.server_name().as_str())
        {
            tracing::info!(room = %room.room_id(), inviter = %inviter, kind = "invite refused", "invite");
            tokio::spawn(async move {
                if let Err(e) = room.leave().await {
                    tracing::warn!(room = %room.room_id(), error = %e, "declining an invite");
                }
            });
            return;
        }
        tokio::spawn(async move {
            // Synapse can answer an invite's join before the room is ready
            // for it; back off and try again.
            let mut delay = Duration::from_millis(250);
            for _ in 0..8 {
                match room.join().await {
                    Ok(()) => {
                        tracing::info!(room = %room.room_id(), kind = "joined", "invite");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(room = %room.room_id(), error = %e, "joining a room, will retry");
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                }
            }
            tracing::error!(room = %room.room_id(), "could not join a room");
        });
    }

    /// Who and where, with the roles the room's power levels give. A button
    /// pressed in a DM acts in the community its message names (`acts_in`);
    /// then, as in any DM room (where both sides hold power level 100), the
    /// room's power levels grant nothing.
    async fn actor_and_place(&self, room: &Room, sender: &UserId, acts_in: Option<String>) -> (Actor, Place) {
        let member = room.get_member(sender).await.ok().flatten();
        let name = member
            .as_ref()
            .and_then(|m| m.display_name().map(ToString::to_string))
            .unwrap_or_else(|| sender.localpart().to_string());
        let here = community(room).await;
        let community = acts_in.unwrap_or_else(|| here.clone());
        let level = if community != here || room.is_direct().await.unwrap_or(false) {
            0
        } else {
            match member.as_ref().map(|m| m.power_level()) {
                Some(UserPowerLevel::Infinite) => i64::MAX,
                Some(UserPowerLevel::Int(i)) => i64::from(i),
                Some(_) | None => 0,
            }
        };
        let actor = Actor {
            user: sender.to_string(),
            name,
            platform_admin: level >= 100,
            platform_facilitator: level >= self.facilitator_power_level,
        };
        let place = Place {
            platform: Platform::Matrix,
            community,
            channel: room.room_id().to_string(),
        };
        (actor, place)
    }

    /// Sends the reply (public: a reply in the room; private: to the DM room)
    /// and carries out the effects. Transaction ids derive from the event that
    /// caused them.
    async fn answer(&self, room: &Room, sender: &UserId, cause: &EventId, community: &str, response: Response) {
        if let Some(reply) = &response.reply {
            let result = match reply.visibility {
                Visibility::Public => {
                    let txn = transaction_id(&format!("{cause}/reply"));
                    self.sender
                        .send(room, &reply.message, Some(cause), community, txn)
                        .await
                }
                Visibility::Private => match self.sender.dm_room(sender).await {
                    Ok(dm) => {
                        let txn = transaction_id(&format!("{cause}/private"));
                        self.sender.send(&dm, &reply.message, None, community, txn).await
                    }
                    Err(e) => Err(e),
                },
            };
            if let Err(e) = result {
                tracing::error!(room = %room.room_id(), event = %cause, error = %e, "sending a reply");
            }
        }
        for (i, effect) in response.effects.into_iter().enumerate() {
            let effect = match effect {
                Effect::Status {
                    channel,
                    key,
                    message,
                    edit,
                } => {
                    match self.sender.status(&channel, &message, edit.as_deref(), community).await {
                        Ok(Some(posted)) => {
                            if let Err(e) = self.hearth.status_posted(&key, &posted).await {
                                tracing::error!(room = %room.room_id(), error = %e, "recording a status message");
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::error!(room = %room.room_id(), event = %cause, error = %e, "a status message")
                        }
                    }
                    continue;
                }
                // Matrix calls have no server mute; the core asks for none here.
                Effect::Mute { .. } => continue,
                Effect::Post { channel, message, key } => Effect::Post {
                    channel,
                    message,
                    key: Some(key.unwrap_or_else(|| format!("{cause}/effect/{i}"))),
                },
                Effect::Dm { user, message, key } => Effect::Dm {
                    user,
                    message,
                    key: Some(key.unwrap_or_else(|| format!("{cause}/effect/{i}"))),
                },
            };
            let delivery = Delivery {
                community: community.to_string(),
                effect,
            };
            if let Err(e) = self.sender.deliver(&delivery).await {
                tracing::error!(room = %room.room_id(), event = %cause, error = %e, "carrying out an effect");
            }
        }
    }
}

/// The community a room belongs to: its parent space, else the room itself.
/// A parent counts only when the bot is in that space and the space lists
/// the room as its child: anyone who can set state in their own room can
/// claim any parent, and must not thereby act in another community. The
/// canonical parent goes first, then the lowest id, for a stable choice.
async fn community(room: &Room) -> String {
    let mut parents: Vec<(bool, OwnedRoomId)> = Vec::new();
    if let Ok(events) = room.get_state_events_static::<SpaceParentEventContent>().await {
        for raw in events {
            let Ok(event) = raw.deserialize() else { continue };
            if let SyncOrStrippedState::Sync(SyncStateEvent::Original(ev)) = event
                && !ev.content.via.is_empty()
            {
                parents.push((!ev.content.canonical, ev.state_key));
            }
        }
    }
    parents.sort();
    let client = room.client();
    for (_, parent) in parents {
        if let Some(space) = client.get_room(&parent)
            && space.state() == RoomState::Joined
            && lists_child(&space, room.room_id()).await
        {
            return parent.to_string();
        }
    }
    room.room_id().to_string()
}

/// Whether `space` has a live `m.space.child` event for `child`.
async fn lists_child(space: &Room, child: &RoomId) -> bool {
    let Ok(Some(raw)) = space
        .get_state_event_static_for_key::<SpaceChildEventContent, _>(child)
        .await
    else {
        return false;
    };
    matches!(
        raw.deserialize(),
        Ok(SyncOrStrippedState::Sync(SyncStateEvent::Original(ev))) if !ev.content.via.is_empty()
    )
}

async fn on_invite(event: StrippedRoomMemberEvent, room: Room, Ctx(bot): Ctx<Arc<Bot>>) {
    if event.state_key != bot.sender.user_id || room.state() != RoomState::Invited {
        return;
    }
    tracing::info!(room = %room.room_id(), inviter = %event.sender, kind = "invite", "invite");
    bot.accept_invite(room, &event.sender);
}

/// The SDK hands over an encrypted event as such only when it could not
/// decrypt it (no room key from the sender's device yet).
async fn on_undecryptable(event: OriginalSyncRoomEncryptedEvent, room: Room) {
    tracing::warn!(room = %room.room_id(), event = %event.event_id, kind = "undecryptable", "received");
}

async fn on_message(event: OriginalSyncRoomMessageEvent, room: Room, Ctx(bot): Ctx<Arc<Bot>>) {
    if event.sender == bot.sender.user_id || room.state() != RoomState::Joined {
        return;
    }
    let MessageType::Text(text) = &event.content.msgtype else {
        return;
    };
    // An edit would run the command a second time.
    if matches!(event.content.relates_to, Some(Relation::Replacement(_))) {
        return;
    }
    let Some(parsed) = parse::parse_message(&text.body, &bot.sender.prefix) else {
        return;
    };
    tracing::info!(room = %room.room_id(), event = %event.event_id, kind = "command", "received");
    // Handlers run inside the sync loop; answering must not hold it up.
    let room_id = room.room_id().to_owned();
    let handler = bot.clone();
    handler.in_turn(
        &room_id,
        Box::pin(async move {
            bot.respond(&room, &event.sender, &event.event_id, None, parsed).await;
        }),
    );
}

async fn on_reaction(event: OriginalSyncReactionEvent, room: Room, Ctx(bot): Ctx<Arc<Bot>>) {
    if event.sender == bot.sender.user_id
        || room.state() != RoomState::Joined
        || event.origin_server_ts < bot.sender.started
    {
        return;
    }
    let room_id = room.room_id().to_owned();
    let handler = bot.clone();
    handler.in_turn(
        &room_id,
        Box::pin(async move {
            let target = &event.content.relates_to.event_id;
            let Some((command, acts_in)) =
                button_command(&room, &bot.sender.user_id, target, &event.content.relates_to.key).await
            else {
                return;
            };
            tracing::info!(room = %room.room_id(), event = %event.event_id, kind = "button", "received");
            let parsed = parse::parse_command(&command);
            bot.respond(&room, &event.sender, &event.event_id, acts_in, parsed)
                .await;
        }),
    );
}

/// A call membership changed: the sender is in the room's call or not, as
/// the room's membership events say now (any of their devices counts). A
/// membership whose key names someone else is ignored.
async fn on_state(event: Raw<AnySyncStateEvent>, room: Room, Ctx(bot): Ctx<Arc<Bot>>) {
    let Ok(value) = event.deserialize_as::<Value>() else {
        return;
    };
    if value["type"].as_str() != Some(calls::CALL_MEMBER) || room.state() != RoomState::Joined {
        return;
    }
    let (Some(sender), Some(key)) = (value["sender"].as_str(), value["state_key"].as_str()) else {
        return;
    };
    if !calls::key_names_sender(key, sender) {
        tracing::warn!(room = %room.room_id(), sender, kind = "call membership for someone else", "ignored");
        return;
    }
    let (Ok(sender), Some(cause)) = (
        UserId::parse(sender),
        value["event_id"].as_str().and_then(|e| EventId::parse(e).ok()),
    ) else {
        return;
    };
    if sender == bot.sender.user_id {
        return;
    }
    let room_id = room.room_id().to_owned();
    let handler = bot.clone();
    handler.in_turn(
        &room_id,
        Box::pin(async move {
            let events: Vec<Value> = match room.get_state_events(StateEventType::from(calls::CALL_MEMBER)).await {
                Ok(events) => events
                    .into_iter()
                    .filter_map(|e| match e {
                        RawAnySyncOrStrippedState::Sync(raw) => raw.deserialize_as::<Value>().ok(),
                        RawAnySyncOrStrippedState::Stripped(_) => None,
                    })
                    .collect(),
                Err(e) => {
                    tracing::warn!(room = %room.room_id(), error = %e, "reading call memberships");
                    return;
                }
            };
            let now = i64::from(MilliSecondsSinceUnixEpoch::now().get());
            // A membership lapses at its end unless renewed: the core lets them leave then.
            let until = calls::in_call_until(&events, sender.as_str(), now);
            let present = until.is_some();
            let until = until.and_then(chrono::DateTime::from_timestamp_millis);
            tracing::info!(room = %room.room_id(), present, kind = "call membership", "received");
            let (actor, place) = bot.actor_and_place(&room, &sender, None).await;
            let community = place.community.clone();
            let channel = place.channel.clone();
            let input = Input {
                actor,
                place,
                kind: InputKind::Presence(bot_core::PresenceChange {
                    channel,
                    present,
                    until,
                }),
            };
            let response = bot.hearth.handle(&input).await;
            bot.answer(&room, &sender, &cause, &community, response).await;
        }),
    );
}

/// The command behind the button `key` on `target`, when `target` is one of
/// the bot's own messages and carries that button, with the community the
/// message speaks for.
async fn button_command(room: &Room, me: &UserId, target: &EventId, key: &str) -> Option<(String, Option<String>)> {
    let event = match room.event(target, None).await {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(room = %room.room_id(), event = %target, error = %e, "fetching a reacted-to event");
            return None;
        }
    };
    let value: Value = serde_json::from_str(event.raw().json().get()).ok()?;
    if value.get("sender").and_then(Value::as_str) != Some(me.as_str()) {
        return None;
    }
    let content = value.get("content")?;
    let buttons = content.get(render::BUTTONS_KEY)?.as_array()?;
    let wanted = strip_variation(key);
    let command = buttons.iter().find_map(|b| {
        let emoji = b.get("emoji")?.as_str()?;
        (strip_variation(emoji) == wanted).then(|| b.get("command")?.as_str().map(ToString::to_string))?
    })?;
    let community = content
        .get(render::COMMUNITY_KEY)
        .and_then(Value::as_str)
        .map(ToString::to_string);
    Some((command, community))
}

/// Clients differ in whether they send emoji with the U+FE0F presentation
/// selector; compare without it.
fn strip_variation(s: &str) -> String {
    s.chars().filter(|&c| c != '\u{fe0f}').collect()
}
