//! The session: logging in or restoring the stored device, building the
//! client (room state in memory, encryption keys in sqlite), and the sync
//! loop.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bot_core::Hearth;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::cross_process_lock::CrossProcessLockConfig;
use matrix_sdk::encryption::EncryptionSettings;
use matrix_sdk::ruma::api::client::filter::{FilterDefinition, LazyLoadOptions, RoomEventFilter, RoomFilter};
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::{MilliSecondsSinceUnixEpoch, OwnedDeviceId, UserId};
use matrix_sdk::store::{RoomLoadSettings, StoreConfig};
use matrix_sdk::{Client, SqliteCryptoStore};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::bot::Bot;
use crate::handlers::{on_invite, on_member, on_message, on_reaction, on_redaction, on_state, on_undecryptable};
use crate::outbox::{MatrixOutbox, Sender};
use crate::store_lock::StoreLock;
use crate::{MatrixConfig, Task};

pub(crate) const SESSION_FILE: &str = "session.json";
const DEVICE_NAME: &str = "Hearth";
/// Says whether the stores were created with a passphrase.
const STORE_ENCRYPTION_FILE: &str = "store-encryption";
/// matrix-sdk-sqlite's crypto store, one per device.
const CRYPTO_STORE_FILE: &str = "matrix-sdk-crypto.sqlite3";
/// matrix-sdk-sqlite's other stores, which earlier versions of Hearth kept
/// in `store_dir`: room state, the event cache and media. The room state is
/// now kept in memory (see `build_client`); these files are removed.
const OLD_STORE_FILES: [&str; 3] = [
    "matrix-sdk-state.sqlite3",
    "matrix-sdk-event-cache.sqlite3",
    "matrix-sdk-media.sqlite3",
];

/// How long a new connection waits for the previous one's client to let go
/// of the store (see `store_lock`).
const LOCK_PATIENCE: Duration = Duration::from_secs(10);

/// The store lock, as a value the client keeps (an event handler context):
/// it is let go when the client itself is dropped, not before, so the next
/// connection cannot open the store while an old client still has it open.
#[derive(Clone)]
struct HeldStoreLock(#[expect(dead_code, reason = "held, never read")] Arc<StoreLock>);

fn hold_store_lock(client: &Client, lock: StoreLock) {
    client.add_event_handler_context(HeldStoreLock(Arc::new(lock)));
}

/// The name this process's client gives matrix-sdk's cross-process locks:
/// one per process, so that another process on the same store (which
/// `store_lock` keeps out in the first place) can never take it for ours.
pub(crate) fn lock_holder() -> String {
    format!("hearth-{}", std::process::id())
}

/// Turns on matrix-sdk's cross-process crypto-store lock, and takes it once:
/// when another process holds it, this one must not use the store.
async fn enable_crypto_store_lock(client: &Client) -> anyhow::Result<()> {
    let encryption = client.encryption();
    encryption
        .enable_cross_process_store_lock(lock_holder())
        .await
        .context("enabling the Matrix crypto store's cross-process lock")?;
    match encryption.try_lock_store_once().await {
        Ok(Some(_guard)) => Ok(()),
        Ok(None) => bail!("another process holds the Matrix crypto store's lock; stop it first"),
        Err(e) => Err(e).context("taking the Matrix crypto store's lock"),
    }
}

/// Whether connecting failed for want of the homeserver (no answer, a
/// timeout, a server error or a rate limit), which waiting mends; not a
/// refused login or a wrong configuration, which it does not.
pub fn is_unreachable(error: &anyhow::Error) -> bool {
    fn http(e: &matrix_sdk::HttpError) -> bool {
        match e {
            matrix_sdk::HttpError::Reqwest(_) => true,
            matrix_sdk::HttpError::Cached(inner) => http(inner),
            other => other
                .as_client_api_error()
                .is_some_and(|api| api.status_code.is_server_error() || api.status_code.as_u16() == 429),
        }
    }
    error.chain().any(|cause| {
        if let Some(matrix_sdk::Error::Http(e)) = cause.downcast_ref::<matrix_sdk::Error>() {
            return http(e);
        }
        cause.downcast_ref::<matrix_sdk::HttpError>().is_some_and(http)
            || cause.downcast_ref::<matrix_sdk::reqwest::Error>().is_some()
    })
}

/// What `store_dir/session.json` holds: enough to restore without a login.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredSession {
    pub(crate) homeserver: String,
    #[serde(flatten)]
    pub(crate) session: MatrixSession,
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
        create_private_dir(store_dir)?;
        // Before anything in store_dir is read or written. The wait covers
        // this process's previous connection, whose client is being dropped.
        let lock = StoreLock::take(store_dir, LOCK_PATIENCE).await?;
        let passphrase = config.store_passphrase()?;
        check_store_encryption(store_dir, passphrase.is_some())?;
        remove_old_stores(store_dir)?;
        let started = MilliSecondsSinceUnixEpoch::now();
        let mut client = build_client(&config, passphrase.as_deref()).await?;
        let session_path = store_dir.join(SESSION_FILE);
        match read_session(&session_path)? {
            Some(stored) => restore(&client, &config, stored).await?,
            None => login(&client, &config, None).await?,
        }
        enable_crypto_store_lock(&client).await?;
        // No long poll: this sync only marks what is already there as seen.
        // The room state is in memory, so it is a whole (initial) sync: every
        // joined room's state, the pending invites and the account data
        // (which rooms are DMs) come with it. No handler is set yet, so
        // nothing in it is answered.
        let me = UserId::parse(&config.user_id).context("[matrix] user_id is not a Matrix user id")?;
        let first = SyncSettings::default()
            .timeout(Duration::ZERO)
            .filter(Filter::FilterDefinition(first_sync_filter(&me)));
        match client.sync_once(first.clone()).await {
            Ok(_) => {}
            Err(e) => {
                let Some(ErrorKind::UnknownToken(token)) = e.client_api_error_kind() else {
                    return Err(e).context("the first Matrix sync");
                };
                if !config.has_password() {
                    bail!(
                        "the homeserver no longer accepts the bot's access token (M_UNKNOWN_TOKEN) and no \
                         password is configured to log in again (password_env / password_file)"
                    );
                }
                // A soft logout keeps the device and its keys: log in to the
                // same device, with the same store. Otherwise the device is
                // gone from the server with its keys, and the crypto store
                // (which belongs to that one device) is kept aside, untouched,
                // for a new device to start its own.
                let soft = token.soft_logout;
                let device = client.device_id().map(ToOwned::to_owned);
                tracing::warn!(device = ?device, soft_logout = soft, "matrix access token refused; logging in again");
                drop(client);
                if !soft && let Some(device) = &device {
                    retire_crypto_store(store_dir, device.as_str())?;
                }
                client = build_client(&config, passphrase.as_deref()).await?;
                login(&client, &config, if soft { device } else { None }).await?;
                enable_crypto_store_lock(&client).await?;
                client.sync_once(first).await.context("the first Matrix sync")?;
            }
        }
        hold_store_lock(&client, lock);
        bot_core::metrics::adapter_connected(bot_core::Platform::Matrix, true);
        let Some(user_id) = client.user_id().map(ToOwned::to_owned) else {
            bail!("the Matrix client has no user id after login");
        };
        // What an admin compares to verify the bot (see the README); public keys.
        let ed25519 = client.encryption().ed25519_key().await;
        tracing::info!(device = ?client.device_id(), ed25519 = ?ed25519, "matrix device");
        let sender = Arc::new(Sender {
            client: client.clone(),
            user_id,
            prefix: config.prefix.clone(),
            dms: Mutex::new(HashMap::new()),
            started,
            buttons: crate::outbox::Buttons::start(),
            token_refused: std::sync::atomic::AtomicBool::new(false),
        });
        Ok(Self { client, sender, config })
    }

    /// What the scheduler delivers reminders through.
    pub fn outbox(&self) -> MatrixOutbox {
        MatrixOutbox::new(self.sender.clone())
    }

    /// Points `outbox`, made by an earlier connection, at this one: what
    /// the scheduler holds stays valid across a reconnect.
    pub fn deliver_through(&self, outbox: &MatrixOutbox) {
        outbox.attach(self.sender.clone());
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
            late: crate::late_keys::Waiting::default(),
            presses: crate::presses::Presses::default(),
        });
        // Weak: the client keeps its contexts until it is dropped, and the
        // bot holds the client; a strong one would keep both alive forever.
        self.client.add_event_handler_context(Arc::downgrade(&bot));
        let handles = [
            self.client.add_event_handler(on_message),
            self.client.add_event_handler(on_reaction),
            self.client.add_event_handler(on_redaction),
            self.client.add_event_handler(on_invite),
            self.client.add_event_handler(on_undecryptable),
            self.client.add_event_handler(on_state),
            self.client.add_event_handler(on_member),
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
        let late = tokio::spawn(crate::handlers::handle_when_keys_arrive(
            bot.clone(),
            self.client.clone(),
        ));
        let session = self.client.subscribe_to_session_changes();
        let result = tokio::select! {
            r = sync_forever(&self.client) => r,
            r = token_refused(session) => r,
            () = shutdown => Ok(()),
        };
        late.abort();
        for handle in handles {
            self.client.remove_event_handler(handle);
        }
        bot_core::metrics::adapter_connected(bot_core::Platform::Matrix, false);
        tracing::info!("matrix adapter stopped");
        result
    }
}

/// The sync filter's name in the SDK's store. That store is in memory, so
/// the filter is uploaded once per start.
const FILTER_NAME: &str = "hearth-sync";

/// What the bot syncs: rooms' state and timelines, global account data
/// (which rooms are DMs), to-device messages and key counts. Left out:
/// presence, typing and read receipts, and rooms' account data. Hearth reads
/// none of them, and each would wake the bot for a sync response of its
/// own: in a room where people are typing, many a minute.
///
/// The bot's own events are left out of the timelines too. Every sync
/// response costs matrix-sdk-crypto a write of the Olm account and of the
/// sync token to the crypto store (matrix-org/matrix-rust-sdk#2448; see
/// docs/upstream/), and the bot's replies and reaction buttons were about
/// two thirds of its sync responses: each wakes the long poll, only to be
/// ignored. The price, measured when the crypto store was not written per
/// sync: Synapse then never answers the long poll for them, so the `since`
/// token falls behind the bot's replies and Synapse builds the next
/// response from it; the response to a command left Synapse about 1.3 ms
/// later. The figures with and without are in docs/upstream/.
///
/// Room members are lazy-loaded: a response carries the member events of
/// the senders in it, not a room's whole list. Whom Hearth asks about
/// (`Room::get_member`, the DM checks) is fetched whole once per room, as it
/// was before; encrypting fetches the list anyway.
fn sync_filter(me: &UserId) -> FilterDefinition {
    let mut room = RoomFilter::default();
    room.ephemeral = RoomEventFilter::ignore_all();
    room.account_data = RoomEventFilter::ignore_all();
    room.timeline.not_senders = vec![me.to_owned()];
    room.state.lazy_load_options = LazyLoadOptions::Enabled {
        include_redundant_members: false,
    };
    let mut filter = FilterDefinition::default();
    filter.room = room;
    filter.presence = matrix_sdk::ruma::api::client::filter::Filter::ignore_all();
    filter
}

/// The filter of a start's first, whole sync: `sync_filter`, with one
/// timeline event per room (nothing in it is answered, the state is what
/// counts), and one part that makes the request new to the server.
///
/// Synapse answers a /sync request it has answered in the last two minutes
/// from its response cache (`caches.sync_response_cache_duration`, 2m by
/// default), initial syncs included. A bot restarted within two minutes of
/// its last start would get that start's answer: rooms joined since then
/// missing, and everything since then handed to the next sync, whose
/// handlers would answer it again. So the filter leaves out a room that
/// cannot exist, named afresh for each start: the server has never seen
/// this request, and leaving out no real room changes nothing it sends.
fn first_sync_filter(me: &UserId) -> FilterDefinition {
    let mut filter = sync_filter(me);
    filter.room.timeline.limit = Some(1u32.into());
    let nonce = format!("!{}:hearth.invalid", matrix_sdk::ruma::TransactionId::new());
    if let Ok(room) = matrix_sdk::ruma::OwnedRoomId::try_from(nonce) {
        filter.room.not_rooms = vec![room];
    }
    filter
}

/// Ends with an error when any request the client makes (a send, a sync)
/// is answered with M_UNKNOWN_TOKEN: connecting again logs in again, with
/// the password, without waiting for the sync's long poll to find out.
async fn token_refused(mut changes: tokio::sync::broadcast::Receiver<matrix_sdk::SessionChange>) -> anyhow::Result<()> {
    loop {
        match changes.recv().await {
            Ok(matrix_sdk::SessionChange::UnknownToken(_)) => {
                bail!("the homeserver no longer accepts the bot's access token (M_UNKNOWN_TOKEN)")
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

/// Long-polls the homeserver until an error that retrying cannot mend.
/// `hearth_adapter_connected` is 0 from the first failed sync until one
/// succeeds.
///
/// Not `Client::sync`: that loop sleeps a whole second after any sync that
/// returned within a second, which in a busy room delays every answer by up
/// to a second. The server's long-poll timeout already keeps this loop from
/// spinning; failures back off.
async fn sync_forever(client: &Client) -> anyhow::Result<()> {
    const FIRST_BACKOFF: Duration = Duration::from_millis(500);
    let Some(me) = client.user_id() else {
        bail!("the Matrix client has no user id");
    };
    let filter = client
        .get_or_upload_filter(FILTER_NAME, sync_filter(me))
        .await
        .context("uploading the Matrix sync filter")?;
    let mut settings = SyncSettings::default().filter(Filter::FilterId(filter));
    let mut backoff = FIRST_BACKOFF;
    let mut connected = true;
    loop {
        match client.sync_once(settings.clone()).await {
            Ok(response) => {
                settings = settings.token(response.next_batch);
                backoff = FIRST_BACKOFF;
                if !connected {
                    connected = true;
                    bot_core::metrics::adapter_connected(bot_core::Platform::Matrix, true);
                    tracing::info!("matrix sync works again");
                }
            }
            Err(e) => {
                if let Some(ErrorKind::UnknownToken(_)) = e.client_api_error_kind() {
                    // Connecting again logs in again, with the password.
                    bail!("the homeserver no longer accepts the bot's access token (M_UNKNOWN_TOKEN)");
                }
                if connected {
                    connected = false;
                    bot_core::metrics::adapter_connected(bot_core::Platform::Matrix, false);
                }
                tracing::warn!(error = %e, retry_in = ?backoff, "matrix sync failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// The client: the encryption keys in the sqlite crypto store in
/// `store_dir` (encrypted with the passphrase when there is one), the room
/// state in memory.
///
/// The room state is the homeserver's, and each start fetches it whole in
/// its first sync. On sqlite, every sync response cost several round trips
/// to the store and a durable write (an fsync) before Hearth's handlers
/// ran: about 1.6 ms of the 4.5 ms a reply spent inside the bot, measured
/// on the wire. Kept in memory, those are microseconds, and nothing about
/// the rooms sits on disk. matrix-nio, under matrix-reminder-bot, keeps room
/// state in memory too. What a restart costs instead: one whole sync of the
/// bot's rooms, and one member list fetched per encrypted room before its
/// first encrypted send.
async fn build_client(config: &MatrixConfig, passphrase: Option<&str>) -> anyhow::Result<Client> {
    let crypto = match SqliteCryptoStore::open(&config.store_dir, passphrase).await {
        Ok(store) => store,
        Err(e) if passphrase.is_some() => {
            return Err(anyhow::Error::new(e)).context(format!(
                "the Matrix store in {} cannot be opened with this passphrase (store_passphrase_env / \
             store_passphrase_file); was it created with another one?",
                config.store_dir.display()
            ));
        }
        Err(e) => return Err(e).context("opening the Matrix crypto store"),
    };
    let stores = StoreConfig::new(CrossProcessLockConfig::multi_process(lock_holder())).crypto_store(crypto);
    let built = Client::builder()
        .homeserver_url(&config.homeserver)
        .store_config(stores)
        // The configured URL, always: a restore uses it too, and the login's
        // discovery answer must not move the bot elsewhere.
        .respect_login_well_known(false)
        .with_encryption_settings(EncryptionSettings {
            // Cross-signing is set up on the first login, with the password
            // at hand then, so that clients which share room keys only with
            // verified devices can share them with the bot once an admin
            // verifies it.
            auto_enable_cross_signing: true,
            ..EncryptionSettings::default()
        })
        .build()
        .await;
    built.context("building the Matrix client")
}

/// Restores the stored session, when it is this configuration's.
async fn restore(client: &Client, config: &MatrixConfig, stored: StoredSession) -> anyhow::Result<()> {
    if stored.session.meta.user_id.as_str() != config.user_id || stored.homeserver != config.homeserver {
        bail!(
            "{} belongs to {} on {}, not {} on {}; use another store_dir",
            config.store_dir.join(SESSION_FILE).display(),
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
    Ok(())
}

/// For `hearth check` on a free store, its lock held by the caller: the
/// client built as the bot builds it and its session restored, or the first
/// login made (then `true`). No sync, and the store is never moved aside.
pub(crate) async fn open_without_sync(config: &MatrixConfig) -> anyhow::Result<(Client, bool)> {
    create_private_dir(&config.store_dir)?;
    let passphrase = config.store_passphrase()?;
    check_store_encryption(&config.store_dir, passphrase.is_some())?;
    let client = build_client(config, passphrase.as_deref()).await?;
    let logged_in = match read_session(&config.store_dir.join(SESSION_FILE))? {
        Some(stored) => {
            restore(&client, config, stored).await?;
            false
        }
        None => {
            login(&client, config, None).await?;
            true
        }
    };
    Ok((client, logged_in))
}

/// Logs in with the password: to `device` when given (a soft logout keeps
/// it), else as a new device. Cross-signing is bootstrapped with the same
/// password when the account has none yet (see `build_client`).
async fn login(client: &Client, config: &MatrixConfig, device: Option<OwnedDeviceId>) -> anyhow::Result<()> {
    let password = config.password()?;
    let mut login = client
        .matrix_auth()
        .login_username(&config.user_id, &password)
        .initial_device_display_name(DEVICE_NAME);
    if let Some(device) = &device {
        login = login.device_id(device.as_str());
    }
    login.send().await.context("logging in to Matrix")?;
    let Some(session) = client.matrix_auth().session() else {
        bail!("logged in to Matrix but got no session");
    };
    write_session(
        &config.store_dir.join(SESSION_FILE),
        &StoredSession {
            homeserver: config.homeserver.clone(),
            session,
        },
    )?;
    client.encryption().wait_for_e2ee_initialization_tasks().await;
    let cross_signing = client
        .encryption()
        .cross_signing_status()
        .await
        .is_some_and(|s| s.is_complete());
    tracing::info!(device = ?client.device_id(), cross_signing, "matrix logged in");
    Ok(())
}

/// Creates `dir` readable by its owner only (it holds the access token and
/// the encryption keys), and narrows an existing one to that.
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let context = || format!("creating the Matrix store directory {}", dir.display());
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).with_context(context)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).with_context(context)?;
    }
    Ok(())
}

/// What `store_dir/STORE_ENCRYPTION_FILE` says: whether the stores were
/// created with a passphrase. A store opened with a passphrase it was not
/// made with (or without the one it was) would fail later and obscurely,
/// so start-up refuses it here, saying so.
fn check_store_encryption(store_dir: &Path, with_passphrase: bool) -> anyhow::Result<()> {
    let marker = store_dir.join(STORE_ENCRYPTION_FILE);
    let want = if with_passphrase { "passphrase" } else { "none" };
    let existing = match std::fs::read_to_string(&marker) {
        Ok(text) => Some(text.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Stores made before this file existed had no passphrase.
            store_dir.join(SESSION_FILE).exists().then(|| "none".to_string())
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", marker.display())),
    };
    match existing.as_deref() {
        Some(have) if have == want => {}
        Some("none") => bail!(
            "the Matrix store in {} was created without a passphrase, and a store passphrase is now \
             configured; remove store_passphrase_env / store_passphrase_file, or start with an empty store_dir",
            store_dir.display()
        ),
        Some(_) => bail!(
            "the Matrix store in {} was created with a passphrase, and none is configured now \
             (store_passphrase_env / store_passphrase_file)",
            store_dir.display()
        ),
        None => {}
    }
    std::fs::write(&marker, format!("{want}\n")).with_context(|| format!("writing {}", marker.display()))
}

/// A sqlite database's files: the database, its write-ahead log and its
/// shared-memory index.
fn sqlite_files(name: &str) -> [String; 3] {
    [name.to_string(), format!("{name}-wal"), format!("{name}-shm")]
}

/// Removes the room-state, event-cache and media stores earlier versions
/// kept in `store_dir`: room names and members the bot no longer keeps on
/// disk. The crypto store and the session stay.
fn remove_old_stores(store_dir: &Path) -> anyhow::Result<()> {
    let mut removed = 0;
    for name in OLD_STORE_FILES {
        for file in sqlite_files(name) {
            let path = store_dir.join(file);
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
            }
        }
    }
    if removed > 0 {
        tracing::info!(
            files = removed,
            "old matrix room-state stores removed; room state is kept in memory"
        );
    }
    Ok(())
}

/// Moves the crypto store of `device` aside, into
/// `store_dir/retired/<device>/`: it holds the keys of past messages and is
/// never deleted, but a new device cannot use it.
fn retire_crypto_store(store_dir: &Path, device: &str) -> anyhow::Result<()> {
    let retired = store_dir.join("retired").join(device);
    create_private_dir(&retired)?;
    for name in sqlite_files(CRYPTO_STORE_FILE) {
        let from = store_dir.join(&name);
        if from.exists() {
            std::fs::rename(&from, retired.join(&name))
                .with_context(|| format!("moving {} to {}", from.display(), retired.display()))?;
        }
    }
    tracing::warn!(
        device,
        "matrix device gone; its crypto store is kept in store_dir/retired"
    );
    Ok(())
}

pub(crate) fn read_session(path: &Path) -> anyhow::Result<Option<StoredSession>> {
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
