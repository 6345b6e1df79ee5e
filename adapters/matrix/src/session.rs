//! The session: logging in or restoring the stored device, building the
//! client on the sqlite stores, and the sync loop.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bot_core::Hearth;
use matrix_sdk::Client;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::MilliSecondsSinceUnixEpoch;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::store::RoomLoadSettings;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::bot::Bot;
use crate::handlers::{on_invite, on_member, on_message, on_reaction, on_state, on_undecryptable};
use crate::outbox::{MatrixOutbox, Sender};
use crate::{MatrixConfig, Task};

const SESSION_FILE: &str = "session.json";
const DEVICE_NAME: &str = "Hearth";

/// What `store_dir/session.json` holds: enough to restore without a login.
#[derive(Serialize, Deserialize)]
struct StoredSession {
    homeserver: String,
    #[serde(flatten)]
    session: MatrixSession,
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
        MatrixOutbox::new(self.sender.clone())
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
