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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// The SQLite file, created on first start.
    pub path: PathBuf,
    /// Whether another Hearth process may use the same file at once (e.g. a
    /// console beside a running bot). Off: a second process is refused.
    #[serde(default)]
    pub shared: bool,
    /// Days finished deliveries and RSVPs of past meetings are kept before
    /// they are deleted (at least 1).
    #[serde(default = "retention_days", deserialize_with = "at_least_one_day")]
    pub retention_days: u32,
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            path: PathBuf::from("hearth.db"),
            shared: false,
            retention_days: retention_days(),
        }
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
        if config.console.is_none() && config.discord.is_none() && config.matrix.is_none() {
            anyhow::bail!(
                "in the config file {}: no adapter is configured; add a [console] section (or [discord], [matrix])",
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
