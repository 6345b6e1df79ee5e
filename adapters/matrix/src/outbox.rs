//! Sending: messages with their reaction buttons, status messages, and the
//! scheduler's deliveries (posts to rooms, DMs to members).

use std::collections::HashMap;
use std::sync::Arc;

use bot_core::io::{BoxFuture, Delivery, DeliveryError, Outbox};
use bot_core::{Effect, Message, Platform};
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::ruma::{
    EventId, MilliSecondsSinceUnixEpoch, OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId, RoomId, UserId,
};
use matrix_sdk::{Client, Room, RoomState};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, mpsc, watch};
use tokio::time::Instant;

use crate::render;

/// A transaction id derived from a stable key: the homeserver deduplicates
/// sends with the same id from the same device, so a retry is not a repeat.
pub fn transaction_id(key: &str) -> OwnedTransactionId {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    OwnedTransactionId::from(format!("hearth-{hex}"))
}

/// A new random transaction id, for sends with no stable key.
pub(crate) fn fresh_transaction_id() -> OwnedTransactionId {
    matrix_sdk::ruma::TransactionId::new()
}

/// Sending: shared by the handlers and the outbox.
pub(crate) struct Sender {
    pub(crate) client: Client,
    pub(crate) user_id: OwnedUserId,
    pub(crate) prefix: String,
    /// The DM room per member; the lock also keeps two private replies from
    /// creating two rooms.
    pub(crate) dms: Mutex<HashMap<OwnedUserId, OwnedRoomId>>,
    /// When this run began. The first sync already hides older events from
    /// the handlers; this catches any that would slip through (a sync cut
    /// off at shutdown, a late decryption).
    pub(crate) started: MilliSecondsSinceUnixEpoch,
    /// Reaction buttons still to add to messages already sent.
    pub(crate) buttons: Buttons,
    /// Set once the homeserver refused this connection's access token: the
    /// outbox then waits for the next connection (see [`MatrixOutbox`]).
    pub(crate) token_refused: std::sync::atomic::AtomicBool,
}

/// A message's reaction buttons go out after the message, once the bot is
/// quiet: answers come first, decorations after. Twenty reminders due at
/// once reach the room before any of their buttons; a member's next command
/// is not answered behind the last card's buttons (each reaction costs the
/// homeserver about as much as a message); under a homeserver's rate limit
/// (reactions count too) the messages are what must not wait.
///
/// A crash between a message and its buttons loses only the bot's own seed
/// reactions: a member's reaction with the same emoji still answers.
pub(crate) struct Buttons {
    queue: mpsc::UnboundedSender<Pending>,
    /// How many messages are being sent right now.
    sending: Arc<watch::Sender<usize>>,
    /// When the bot last took a command or finished sending a message.
    active: Arc<watch::Sender<Instant>>,
}

struct Pending {
    room: Room,
    event: OwnedEventId,
    keys: Vec<String>,
    txn: OwnedTransactionId,
    queued: Instant,
}

/// Buttons wait until the bot has taken no command and sent no message for
/// this long,
const QUIET: std::time::Duration = std::time::Duration::from_millis(250);
/// but in a room that never goes quiet, no longer than this after their
/// message. A message held back by a rate limit counts as being sent all the
/// while: its buttons, and those before it, wait for it.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

impl Buttons {
    /// Starts the task that adds buttons; it ends when the sender is dropped.
    pub(crate) fn start() -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        let sending = Arc::new(watch::Sender::new(0));
        let active = Arc::new(watch::Sender::new(Instant::now()));
        tokio::spawn(add_buttons(pending, sending.subscribe(), active.subscribe()));
        Self { queue, sending, active }
    }

    /// Counts a message as being sent until the guard is dropped.
    fn sending(&self) -> SendingGuard {
        self.sending.send_modify(|n| *n += 1);
        SendingGuard {
            sending: self.sending.clone(),
            active: self.active.clone(),
        }
    }

    /// A command came in: its answer goes before any button.
    pub(crate) fn busy(&self) {
        self.active.send_replace(Instant::now());
    }
}

struct SendingGuard {
    sending: Arc<watch::Sender<usize>>,
    active: Arc<watch::Sender<Instant>>,
}

impl Drop for SendingGuard {
    fn drop(&mut self) {
        self.active.send_replace(Instant::now());
        self.sending.send_modify(|n| *n = n.saturating_sub(1));
    }
}

async fn add_buttons(
    mut pending: mpsc::UnboundedReceiver<Pending>,
    mut sending: watch::Receiver<usize>,
    active: watch::Receiver<Instant>,
) {
    while let Some(p) = pending.recv().await {
        let patience = p.queued + PATIENCE;
        loop {
            if sending.wait_for(|n| *n == 0).await.is_err() {
                return;
            }
            let ready = (*active.borrow() + QUIET).min(patience);
            if Instant::now() >= ready && *sending.borrow() == 0 {
                break;
            }
            tokio::time::sleep_until(ready).await;
        }
        for (i, key) in p.keys.iter().enumerate() {
            let reaction = json!({
                "m.relates_to": { "rel_type": "m.annotation", "event_id": p.event, "key": key },
            });
            let sent = p
                .room
                .send_raw("m.reaction", reaction)
                .with_transaction_id(&transaction_id(&format!("{}/reaction/{i}", p.txn)))
                .await;
            if let Err(e) = sent {
                tracing::warn!(room = %p.room.room_id(), event = %p.event, error = %e, "adding a reaction button");
                break;
            }
        }
        tracing::debug!(room = %p.room.room_id(), event = %p.event, buttons = p.keys.len(), "buttons added");
    }
}

impl Sender {
    pub(crate) fn render(&self, message: &Message) -> render::Rendered {
        let client = self.client.clone();
        let room_name = move |id: &str| {
            let id = RoomId::parse(id).ok()?;
            client.get_room(&id)?.name()
        };
        render::render(message, &self.prefix, &room_name)
    }

    /// Sends `message` to `room`; its buttons follow as reactions (see [`Buttons`]).
    pub(crate) async fn send(
        &self,
        room: &Room,
        message: &Message,
        in_reply_to: Option<&EventId>,
        community: &str,
        txn: OwnedTransactionId,
    ) -> matrix_sdk::Result<OwnedEventId> {
        let _sending = self.buttons.sending();
        let rendered = self.render(message);
        let content = rendered.content(in_reply_to.map(EventId::as_str), community);
        let response = room
            .send_raw("m.room.message", content)
            .with_transaction_id(&txn)
            .await?;
        let event_id = response.response.event_id;
        tracing::info!(room = %room.room_id(), event = %event_id, kind = "m.notice", "sent");
        if let Some(a) = &message.attachment {
            // Encrypted rooms get an encrypted upload.
            let mime: mime::Mime = a.mime.parse().unwrap_or(mime::TEXT_PLAIN_UTF_8);
            let config = AttachmentConfig::new().txn_id(transaction_id(&format!("{txn}/attachment")));
            room.send_attachment(&a.filename, &mime, a.content.clone().into_bytes(), config)
                .await?;
            tracing::info!(room = %room.room_id(), kind = "m.file", "sent");
        }
        if !rendered.buttons.is_empty() {
            let keys = rendered.buttons.iter().map(|(emoji, _)| emoji.to_string()).collect();
            let pending = Pending {
                room: room.clone(),
                event: event_id.clone(),
                keys,
                txn,
                queued: Instant::now(),
            };
            if self.buttons.queue.send(pending).is_err() {
                tracing::warn!(room = %room.room_id(), event = %event_id, "buttons not added: shutting down");
            }
        }
        Ok(event_id)
    }

    /// A room the bot has joined, by id.
    pub(crate) fn joined_room(&self, channel: &str) -> Result<Room, DeliveryError> {
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
    pub(crate) async fn status(
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
                .map_err(|e| self.classify(e))?;
            tracing::info!(room = %room.room_id(), event = %sent.response.event_id, kind = "m.replace", "sent");
            return Ok(None);
        }
        let posted = self
            .send(&room, message, None, community, fresh_transaction_id())
            .await
            .map_err(|e| self.classify(e))?;
        Ok(Some(posted.to_string()))
    }

    pub(crate) async fn deliver(&self, delivery: &Delivery) -> Result<(), DeliveryError> {
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
                let room = self.dm_room(&user).await.map_err(|e| self.classify(e))?;
                (room, message, key)
            }
        };
        let txn = key.as_deref().map_or_else(fresh_transaction_id, transaction_id);
        self.send(&room, message, None, &delivery.community, txn)
            .await
            .map(drop)
            .map_err(|e| self.classify(e))
    }
}

impl Sender {
    /// What a failed send means for the scheduler (see [`classify`]); a
    /// refused access token is noted, for the outbox to wait for a new
    /// connection rather than give up.
    pub(crate) fn classify(&self, e: matrix_sdk::Error) -> DeliveryError {
        if let Some(matrix_sdk::ruma::api::error::ErrorKind::UnknownToken(_)) = e.client_api_error_kind() {
            self.token_refused.store(true, std::sync::atomic::Ordering::SeqCst);
            return DeliveryError::Retry(e.to_string());
        }
        classify(e)
    }
}

/// A 4xx other than 429 will fail again; everything else may pass later.
pub(crate) fn classify(e: matrix_sdk::Error) -> DeliveryError {
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
///
/// It outlives a connection: made before the first one (a homeserver that is
/// down at start does not hold back the scheduler), pointed at each new one
/// by [`crate::Matrix::deliver_through`], and let go of the old one before
/// the adapter connects again. While there is no connection, or the current
/// one's access token was refused, a delivery waits for the next connection
/// for up to [`WAIT_FOR_CONNECTION`] from when the connection was lost, then
/// is retried later: what was due stays pending and goes out once the bot is
/// back (logged in again, when the token was revoked).
///
/// Where several Hearth processes share a database, only the one holding
/// the Matrix sync lease sends: [`MatrixOutbox::set_leased`] says whether
/// this process holds it, and the outbox is [`Outbox::ready`] only while it
/// does and is connected, so the others' schedulers leave Matrix jobs alone.
#[derive(Clone)]
pub struct MatrixOutbox {
    connection: Arc<watch::Sender<Connection>>,
    leased: Arc<std::sync::atomic::AtomicBool>,
}

/// The outbox's connection, or since when it has had none.
#[derive(Clone)]
enum Connection {
    Up(Arc<Sender>),
    Down(Instant),
}

/// How long deliveries wait for a connection, counted from when it was lost.
pub const WAIT_FOR_CONNECTION: std::time::Duration = std::time::Duration::from_secs(20);

impl MatrixOutbox {
    /// An outbox with no connection yet.
    pub fn detached() -> Self {
        Self {
            connection: Arc::new(watch::Sender::new(Connection::Down(Instant::now()))),
            leased: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        }
    }

    pub(crate) fn new(sender: Arc<Sender>) -> Self {
        Self {
            connection: Arc::new(watch::Sender::new(Connection::Up(sender))),
            leased: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        }
    }

    /// Whether this process holds the Matrix sync lease (held, the
    /// default, where nothing else manages one).
    pub fn set_leased(&self, leased: bool) {
        self.leased.store(leased, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether deliveries can go out now: the lease held and a connection up.
    pub fn is_ready(&self) -> bool {
        self.leased.load(std::sync::atomic::Ordering::SeqCst) && matches!(&*self.connection.borrow(), Connection::Up(_))
    }

    pub(crate) fn attach(&self, sender: Arc<Sender>) {
        self.connection.send_replace(Connection::Up(sender));
    }

    /// Lets go of the connection, so that its client (and the crypto store
    /// it holds open) can be dropped before the next one is made.
    pub fn detach(&self) {
        self.connection.send_if_modified(|c| match c {
            Connection::Up(_) => {
                *c = Connection::Down(Instant::now());
                true
            }
            Connection::Down(_) => false,
        });
    }

    /// Lets go of `sender`, whose access token was refused, if it is still
    /// the current connection.
    fn detach_from(&self, sender: &Arc<Sender>) {
        let detached = self.connection.send_if_modified(|c| match c {
            Connection::Up(current) if Arc::ptr_eq(current, sender) => {
                *c = Connection::Down(Instant::now());
                true
            }
            _ => false,
        });
        if detached {
            tracing::warn!("matrix access token refused while sending; deliveries wait for the bot to log in again");
        }
    }

    /// The current connection, waiting for one while the wait since it was
    /// lost is shorter than [`WAIT_FOR_CONNECTION`].
    async fn connected(&self) -> Option<Arc<Sender>> {
        let mut watching = self.connection.subscribe();
        let until = match &*watching.borrow_and_update() {
            Connection::Up(sender) => return Some(sender.clone()),
            Connection::Down(since) => *since + WAIT_FOR_CONNECTION,
        };
        let up = watching.wait_for(|c| matches!(c, Connection::Up(_)));
        match tokio::time::timeout_at(until, up).await {
            Ok(Ok(c)) => match &*c {
                Connection::Up(sender) => Some(sender.clone()),
                Connection::Down(_) => None,
            },
            _ => None,
        }
    }

    async fn deliver_now(&self, delivery: &Delivery) -> Result<(), DeliveryError> {
        // A second try only after a refused token, through the next connection.
        for _ in 0..2 {
            let Some(sender) = self.connected().await else {
                return Err(DeliveryError::Retry("not connected to the Matrix homeserver".into()));
            };
            let sent = sender.deliver(delivery).await;
            if sent.is_err() && sender.token_refused.load(std::sync::atomic::Ordering::SeqCst) {
                self.detach_from(&sender);
                continue;
            }
            return sent;
        }
        Err(DeliveryError::Retry(
            "the Matrix access token was refused; sending once the bot has logged in again".into(),
        ))
    }
}

impl Outbox for MatrixOutbox {
    fn platform(&self) -> Platform {
        Platform::Matrix
    }

    fn ready(&self) -> bool {
        self.is_ready()
    }

    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.deliver_now(delivery))
    }
}
