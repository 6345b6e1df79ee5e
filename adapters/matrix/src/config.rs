//! The `[matrix]` section of Hearth's configuration.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Deserialize;

/// How Hearth connects to Matrix. The password is never in the file itself:
/// it comes from an environment variable or a file, and is only read when
/// there is no stored session yet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// The homeserver's client API URL, e.g. `https://matrix.example.org`.
    pub homeserver: String,
    /// The bot's full user id, e.g. `@hearth:example.org`.
    pub user_id: String,
    /// The environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A file holding the password (line ends at its end ignored).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Where the session and the sqlite crypto store live (room state is
    /// kept in memory). Keep it: losing it means a new device and lost
    /// encryption keys.
    pub store_dir: PathBuf,
    /// The environment variable holding the passphrase that encrypts the
    /// sqlite crypto store in `store_dir`.
    #[serde(default)]
    pub store_passphrase_env: Option<String>,
    /// A file holding that passphrase (line ends at its end ignored).
    #[serde(default)]
    pub store_passphrase_file: Option<PathBuf>,
    /// What starts a command.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Only invites from users on these servers are accepted; all when unset.
    #[serde(default)]
    pub allowed_servers: Option<Vec<String>>,
    /// The room power level that makes someone a facilitator of every group
    /// of the community (100 makes them an admin).
    #[serde(default = "default_facilitator_power_level")]
    pub facilitator_power_level: i64,
}

fn default_prefix() -> String {
    "!".to_string()
}

fn default_facilitator_power_level() -> i64 {
    50
}

impl MatrixConfig {
    /// A configuration with the defaults, for code and tests that build one.
    pub fn new(homeserver: impl Into<String>, user_id: impl Into<String>, store_dir: impl Into<PathBuf>) -> Self {
        Self {
            homeserver: homeserver.into(),
            user_id: user_id.into(),
            password_env: None,
            password_file: None,
            store_dir: store_dir.into(),
            store_passphrase_env: None,
            store_passphrase_file: None,
            prefix: default_prefix(),
            allowed_servers: None,
            facilitator_power_level: default_facilitator_power_level(),
        }
    }

    /// The stores' passphrase, when one is configured: from the environment
    /// variable, else the file. Configured but empty or unset is an error,
    /// never a silent fall back to no encryption.
    pub fn store_passphrase(&self) -> anyhow::Result<Option<String>> {
        if self.store_passphrase_env.is_none() && self.store_passphrase_file.is_none() {
            return Ok(None);
        }
        let passphrase = bot_core::secret::read(
            self.store_passphrase_env.as_deref(),
            self.store_passphrase_file.as_deref(),
        )
        .context("reading the Matrix store passphrase file")?;
        if passphrase.is_some() {
            return Ok(passphrase);
        }
        bail!("the Matrix store passphrase is empty or unset (store_passphrase_env / store_passphrase_file)")
    }

    /// Whether a password is configured, to log in again when the access
    /// token is revoked.
    pub fn has_password(&self) -> bool {
        self.password_env.is_some() || self.password_file.is_some()
    }

    /// Reads the password from the environment variable, else the file (as
    /// every secret is read: [`bot_core::secret::read`]).
    pub fn password(&self) -> anyhow::Result<String> {
        let password = bot_core::secret::read(self.password_env.as_deref(), self.password_file.as_deref())
            .context("reading the Matrix password file")?;
        if let Some(password) = password {
            return Ok(password);
        }
        match (&self.password_env, &self.password_file) {
            (None, None) => bail!("[matrix] needs password_env or password_file to log in for the first time"),
            _ => bail!("the Matrix password is empty or unset (password_env / password_file)"),
        }
    }
}
