//! The configuration file: TOML, every key documented in
//! `config/hearth.example.toml`. A section present means that adapter runs.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How log lines are written: `text` (the default) or `json`, one
    /// object per line for log shippers. A top-level key: before any section.
    #[serde(default)]
    pub log_format: LogFormat,
    #[serde(default)]
    pub storage: Storage,
    #[serde(default)]
    pub community: Community,
    pub console: Option<Console>,
    pub discord: Option<DiscordSection>,
    pub matrix: Option<MatrixSection>,
    /// Serve Prometheus metrics when present.
    pub metrics: Option<crate::metrics::MetricsConfig>,
    /// Serve published communities' pages and feeds when present (issue 29).
    pub web: Option<crate::web::WebConfig>,
}

#[cfg(feature = "discord")]
pub type DiscordSection = hearth_discord::DiscordConfig;
#[cfg(not(feature = "discord"))]
pub type DiscordSection = NotBuilt;
#[cfg(feature = "matrix")]
pub type MatrixSection = hearth_matrix::MatrixConfig;
#[cfg(not(feature = "matrix"))]
pub type MatrixSection = NotBuilt;

/// The section of a platform this binary was built without (a Cargo
/// feature): reading one is an error that says how to get it, never a
/// section silently ignored.
#[cfg(not(all(feature = "discord", feature = "matrix")))]
#[derive(Debug)]
pub enum NotBuilt {}

#[cfg(not(all(feature = "discord", feature = "matrix")))]
impl<'de> Deserialize<'de> for NotBuilt {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(format!(
            "this hearth was built without this platform (it has: {}); install it with the platform's \
             Cargo feature, e.g. `cargo install --path . --locked` for both, or remove the section",
            built_with()
        )))
    }
}

/// The platforms this binary was built with, for messages.
#[cfg(not(all(feature = "discord", feature = "matrix")))]
fn built_with() -> String {
    let mut platforms = vec!["console"];
    if cfg!(feature = "discord") {
        platforms.push("discord");
    }
    if cfg!(feature = "matrix") {
        platforms.push("matrix");
    }
    platforms.join(", ")
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `[storage]`: where Hearth keeps everything, and as whom this process
/// works beside others on it.
#[derive(Debug, Deserialize)]
#[serde(try_from = "StorageFile")]
pub struct Storage {
    pub database: Database,
    /// Whether another Hearth process may use the same SQLite file at once
    /// (e.g. a console beside a running bot). Off: a second process is
    /// refused. PostgreSQL is always shared.
    pub shared: bool,
    /// Days finished deliveries and RSVPs of past meetings are kept before
    /// they are deleted (at least 1).
    pub retention_days: u32,
    /// This process's name among those sharing the database (leases,
    /// claims, logs, metrics); `HOSTNAME:PID` when not configured.
    pub process_id: Option<String>,
}

/// The database a configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file, created on first start.
    Sqlite(PathBuf),
    /// A PostgreSQL database, shared by any number of Hearth processes.
    Postgres(Postgres),
}

/// A PostgreSQL database and how to log in to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postgres {
    /// `postgres://user@host:port/database`, without the password.
    pub url: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    /// The most connections this process opens.
    pub max_connections: u32,
}

/// The most connections one process opens to PostgreSQL by default.
pub const MAX_CONNECTIONS: u32 = 8;

impl Postgres {
    /// The password, from the environment variable, else the file; `None`
    /// when neither is configured (the server trusts the connection, or
    /// libpq's own ways apply). Configured but empty is an error.
    pub fn password(&self) -> anyhow::Result<Option<String>> {
        if self.password_env.is_none() && self.password_file.is_none() {
            return Ok(None);
        }
        match bot_core::secret::read(self.password_env.as_deref(), self.password_file.as_deref()) {
            Ok(Some(password)) => Ok(Some(password)),
            Ok(None) => {
                anyhow::bail!("the PostgreSQL password is empty or unset ([storage] password_env / password_file)")
            }
            Err(e) => Err(anyhow::anyhow!(
                "reading the PostgreSQL password file ([storage] password_file): {e}"
            )),
        }
    }

    /// The URL without any password in it, for messages.
    pub fn shown(&self) -> String {
        shown_url(&self.url)
    }
}

/// Whether `text` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// A PostgreSQL URL with its password, if any, left out (for messages and logs).
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => format!("{}@{host}", user.split(':').next().unwrap_or_default()),
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query.split('&').filter(|kv| !kv.starts_with("password=")).collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            database: Database::Sqlite(PathBuf::from("hearth.db")),
            shared: false,
            retention_days: retention_days(),
            process_id: None,
        }
    }
}

impl Storage {
    /// This process's id: the configured one, else `HOSTNAME:PID`.
    pub fn process_id(&self) -> String {
        match &self.process_id {
            Some(id) => id.clone(),
            None => format!("{}:{}", hostname(), std::process::id()),
        }
    }
}

/// The machine's name: the kernel's, else `HOSTNAME`, else "hearth".
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "hearth".to_string())
}

/// `[storage]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageFile {
    #[serde(default)]
    path: Option<PathBuf>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    max_connections: Option<u32>,
    #[serde(default)]
    shared: bool,
    #[serde(default = "retention_days", deserialize_with = "at_least_one_day")]
    retention_days: u32,
    #[serde(default)]
    process_id: Option<String>,
}

impl TryFrom<StorageFile> for Storage {
    type Error = String;

    fn try_from(file: StorageFile) -> Result<Self, String> {
        let database = match (file.path, file.url) {
            (Some(_), Some(_)) => {
                return Err(
                    "[storage] has both path (a SQLite file) and url (PostgreSQL): keep the one Hearth should use"
                        .into(),
                );
            }
            (path, None) => {
                if file.password_env.is_some() || file.password_file.is_some() || file.max_connections.is_some() {
                    return Err(
                        "[storage] password_env, password_file and max_connections are for PostgreSQL: give url = \"postgres://…\" too, or remove them".into(),
                    );
                }
                Database::Sqlite(path.unwrap_or_else(|| PathBuf::from("hearth.db")))
            }
            (None, Some(url)) => {
                if !is_postgres_url(&url) {
                    return Err(format!(
                        "[storage] url = {:?}: give a PostgreSQL URL, postgres://user@host:port/database (a SQLite file goes in path)",
                        shown_url(&url)
                    ));
                }
                if shown_url(&url) != url {
                    return Err(
                        "[storage] url holds a password: secrets never go in this file; put it in password_env or password_file".into(),
                    );
                }
                let max_connections = file.max_connections.unwrap_or(MAX_CONNECTIONS);
                if max_connections == 0 {
                    return Err("[storage] max_connections = 0: give at least 1 (default 8)".into());
                }
                Database::Postgres(Postgres {
                    url,
                    password_env: file.password_env,
                    password_file: file.password_file,
                    max_connections,
                })
            }
        };
        if let Some(id) = &file.process_id
            && id.trim().is_empty()
        {
            return Err("[storage] process_id is empty: give a name, or remove it for HOSTNAME:PID".into());
        }
        Ok(Self {
            database,
            shared: file.shared,
            retention_days: file.retention_days,
            process_id: file.process_id,
        })
    }
}

fn retention_days() -> u32 {
    bot_core::retention::DEFAULT_DAYS
}

fn at_least_one_day<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let days = u32::deserialize(d)?;
    if days == 0 || days > 3650 {
        return Err(serde::de::Error::custom(format!(
            "retention_days = {days}: give a number of days from 1 to 3650"
        )));
    }
    Ok(days)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Community {
    /// The zone a new community starts with; members set their own with /timezone.
    #[serde(default = "utc", deserialize_with = "zone")]
    pub timezone: Tz,
}

impl Default for Community {
    fn default() -> Self {
        Self { timezone: Tz::UTC }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Console {
    /// Who speaks first (and so administers the console's community).
    #[serde(default = "admin")]
    pub speaker: String,
}

fn utc() -> Tz {
    Tz::UTC
}

fn admin() -> String {
    "admin".to_string()
}

fn zone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let raw = String::deserialize(d)?;
    bot_core::timezone::parse(&raw).map_err(|e| serde::de::Error::custom(format!("{raw:?}: {e}")))
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
        let config: Config =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("in the config file {}: {e}", path.display()))?;
        if config.console.is_none() && config.discord.is_none() && config.matrix.is_none() && config.web.is_none() {
            anyhow::bail!(
                "in the config file {}: no adapter is configured; add a [console] section (or [discord], [matrix], [web])",
                path.display()
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why `text` is refused as a configuration.
    fn refusal(text: &str) -> String {
        toml::from_str::<Config>(text).unwrap_err().to_string()
    }

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../config/hearth.example.toml");
        let config: Config = toml::from_str(text).unwrap();
        assert_eq!(config.community.timezone, chrono_tz::Europe::Berlin);
        assert_eq!(config.storage.retention_days, 30);
    }

    #[test]
    fn retention_defaults_to_30_days_and_refuses_zero() {
        let config: Config = toml::from_str("[storage]\npath = \"x.db\"\n").unwrap();
        assert_eq!(config.storage.retention_days, 30);
        let err = refusal("[storage]\npath = \"x.db\"\nretention_days = 0\n");
        assert!(err.contains("retention_days"), "{err}");
    }

    #[cfg(feature = "discord")]
    #[test]
    fn a_discord_section_parses_and_never_takes_the_token_itself() {
        let config: Config = toml::from_str(
            "[discord]\ntoken_env = \"HEARTH_DISCORD_TOKEN\"\nguilds = [123456789012345678]\nfacilitator_role = \"Facilitator\"\n",
        )
        .unwrap();
        let discord = config.discord.unwrap();
        assert_eq!(discord.guilds, [123_456_789_012_345_678]);
        let err = refusal("[discord]\ntoken = \"secret\"\n");
        assert!(err.contains("token"), "{err}");
    }

    #[test]
    fn metrics_and_json_logs_are_optional() {
        let plain: Config = toml::from_str("[console]\n").unwrap();
        assert!(plain.metrics.is_none());
        assert_eq!(plain.log_format, LogFormat::Text);
        let on: Config =
            toml::from_str("log_format = \"json\"\n[console]\n[metrics]\nlisten = \"127.0.0.1:9184\"\n").unwrap();
        assert_eq!(on.log_format, LogFormat::Json);
        assert_eq!(on.metrics.unwrap().listen.port(), 9184);
        let err = refusal("log_format = \"xml\"\n");
        assert!(err.contains("json"), "{err}");
    }

    #[cfg(not(all(feature = "discord", feature = "matrix")))]
    #[test]
    fn a_section_for_a_platform_left_out_of_the_build_says_how_to_get_it() {
        let section = if cfg!(feature = "discord") { "matrix" } else { "discord" };

        let err = refusal(&format!("[{section}]\n"));

        assert!(err.contains("built without this platform"), "{err}");
        assert!(err.contains(section) && err.contains("cargo install"), "{err}");
    }

    #[test]
    fn storage_is_a_file_or_a_postgresql_url_never_both_and_never_with_a_password() {
        let file: Config = toml::from_str("[storage]\npath = \"x.db\"\n").unwrap();
        let pg: Config = toml::from_str(
            "[storage]\nurl = \"postgres://hearth@db:5432/hearth\"\npassword_env = \"PGPASS\"\nprocess_id = \"a\"\n",
        )
        .unwrap();
        let both = refusal("[storage]\npath = \"x.db\"\nurl = \"postgres://h@db/hearth\"\n");
        let secret = refusal("[storage]\nurl = \"postgres://h:hunter2@db/hearth\"\n");
        let stray = refusal("[storage]\npath = \"x.db\"\npassword_env = \"P\"\n");

        assert_eq!(file.storage.database, Database::Sqlite(PathBuf::from("x.db")));
        let Database::Postgres(p) = &pg.storage.database else {
            panic!("a url is PostgreSQL")
        };
        assert_eq!(p.url, "postgres://hearth@db:5432/hearth");
        assert_eq!(p.max_connections, MAX_CONNECTIONS);
        assert_eq!(pg.storage.process_id(), "a");
        assert!(both.contains("both path") && both.contains("url"), "{both}");
        assert!(
            secret.contains("password_env") && !secret.contains("hunter2"),
            "{secret}"
        );
        assert!(stray.contains("PostgreSQL"), "{stray}");
        assert_eq!(
            shown_url("postgres://u:pw@h:1/d?sslmode=require&password=pw"),
            "postgres://u@h:1/d?sslmode=require"
        );
        let id = Storage::default().process_id();
        assert!(id.ends_with(&format!(":{}", std::process::id())), "{id}");
    }

    #[test]
    fn an_unknown_key_is_named_in_the_error() {
        let err = refusal("[storage]\npth = \"x.db\"\n");
        assert!(err.contains("pth"), "{err}");
    }

    #[test]
    fn a_wrong_zone_is_named_with_suggestions() {
        let err = refusal("[community]\ntimezone = \"Europe/Berln\"\n");
        assert!(err.contains("timezone") && err.contains("Europe/Berlin"), "{err}");
    }
}
