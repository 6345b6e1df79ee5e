//! `hearth check`'s look at Matrix, safe beside a running bot: a store in
//! use is never opened (another client on it could lose members' keys, see
//! `store_lock`); its session is checked with the stored access token alone.

use std::time::Duration;

use anyhow::{Context as _, bail};
use matrix_sdk::ruma::api::error::ErrorKind;
use serde::Deserialize;

use crate::MatrixConfig;
use crate::session::{self, SESSION_FILE, StoredSession, read_session};
use crate::store_lock::{self, StoreLock};

/// What the check found, and how it looked.
#[derive(Debug)]
pub enum Checked {
    /// Another Hearth holds the store: only the homeserver was asked, with
    /// the stored access token (`/account/whoami`); nothing in store_dir was
    /// opened or written.
    InUse { user_id: String, device_id: String },
    /// The store was free: opened under its lock, the session restored (or
    /// the first login made), and the access token checked.
    Opened {
        device_id: String,
        /// The device has its encryption keys.
        encryption_ready: bool,
        /// No session was stored: this check logged in, as a new device.
        logged_in: bool,
    },
    /// The homeserver refuses the stored access token. Nothing was changed:
    /// at its next start the bot logs in again with the password.
    TokenRefused {
        device_id: String,
        /// A soft logout keeps the device and its keys.
        soft_logout: bool,
    },
}

/// Checks the Matrix side. `bot_running`: the caller knows (from the
/// database's instance lock) that a Hearth runs on this configuration, so
/// the store is not even tried.
pub async fn check(config: &MatrixConfig, bot_running: bool) -> anyhow::Result<Checked> {
    if bot_running || store_lock::in_use(&config.store_dir)? {
        return whoami_only(config).await;
    }
    // Free now: hold it, so that a bot starting meanwhile waits for this
    // check rather than open the store beside it.
    let Some(lock) = StoreLock::try_take(&config.store_dir)? else {
        return whoami_only(config).await;
    };
    let checked = opened(config).await;
    drop(lock);
    checked
}

/// The store opened (see [`session::open_without_sync`]) and the access
/// token checked; a refused token is reported.
async fn opened(config: &MatrixConfig) -> anyhow::Result<Checked> {
    let (client, logged_in) = session::open_without_sync(config).await?;
    let device_id = client.device_id().map(ToString::to_string).unwrap_or_default();
    if let Err(e) = client.whoami().await {
        return match refused_token(&e) {
            Some(soft_logout) => Ok(Checked::TokenRefused { device_id, soft_logout }),
            None => Err(e).context("asking the homeserver who the bot is"),
        };
    }
    let encryption_ready = client.encryption().ed25519_key().await.is_some();
    Ok(Checked::Opened {
        device_id,
        encryption_ready,
        logged_in,
    })
}

#[derive(Deserialize)]
struct Whoami {
    user_id: String,
    #[serde(default)]
    device_id: Option<String>,
}

#[derive(Deserialize)]
struct MatrixError {
    errcode: String,
    #[serde(default)]
    soft_logout: bool,
}

/// The stored session, checked with its access token alone.
async fn whoami_only(config: &MatrixConfig) -> anyhow::Result<Checked> {
    let path = config.store_dir.join(SESSION_FILE);
    let Some(StoredSession { homeserver, session }) = read_session(&path)? else {
        bail!(
            "a Hearth is running with this configuration, but {} holds no session yet; run the check again once it has logged in",
            path.display()
        );
    };
    let device_id = session.meta.device_id.to_string();
    let url = format!("{}/_matrix/client/v3/account/whoami", homeserver.trim_end_matches('/'));
    let response = matrix_sdk::reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("building an HTTP client")?
        .get(&url)
        .bearer_auth(&session.tokens.access_token)
        .send()
        .await
        .with_context(|| format!("asking {homeserver} who the stored access token belongs to"))?;
    let status = response.status();
    let body = response.bytes().await.context("reading the homeserver's answer")?;
    if status.is_success() {
        let me: Whoami = serde_json::from_slice(&body).context("reading the homeserver's whoami answer")?;
        return Ok(Checked::InUse {
            user_id: me.user_id,
            device_id: me.device_id.unwrap_or(device_id),
        });
    }
    match serde_json::from_slice::<MatrixError>(&body) {
        Ok(e) if e.errcode == "M_UNKNOWN_TOKEN" => Ok(Checked::TokenRefused {
            device_id,
            soft_logout: e.soft_logout,
        }),
        Ok(e) => bail!("the homeserver answered whoami with HTTP {status} ({})", e.errcode),
        Err(_) => bail!("the homeserver answered whoami with HTTP {status}"),
    }
}

/// Whether `error` says the access token is refused, and if so, whether as
/// a soft logout.
fn refused_token(error: &matrix_sdk::HttpError) -> Option<bool> {
    match error.client_api_error_kind() {
        Some(ErrorKind::UnknownToken(token)) => Some(token.soft_logout),
        _ => None,
    }
}
