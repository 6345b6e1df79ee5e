//! The `[discord]` section of the configuration, and the clients it makes.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use serenity::all::{Http, HttpBuilder};

use crate::render;

/// The `[discord]` section of the configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The environment variable that holds the bot token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// A file that holds the bot token (used when `token_env` is unset or empty).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Register commands in these guilds only (instant); empty registers
    /// them globally (may take up to an hour to show).
    #[serde(default, deserialize_with = "snowflakes")]
    pub guilds: Vec<u64>,
    /// Members with a role of this name are facilitators of every group.
    #[serde(default)]
    pub facilitator_role: Option<String>,
    /// A Discord REST proxy to send every request to instead of discord.com
    /// (the gateway URL is asked of it too); Discord's rate limits are then
    /// the proxy's job. Tests point it at a fake Discord.
    #[serde(default)]
    pub api_base_url: Option<String>,
    /// `shards = { total = N, run = "A-B" }`: this process runs shards A to
    /// B of N (all of them when `run` is left out), other processes the
    /// rest. Unset: Discord's recommended count, all in this process.
    #[serde(default)]
    pub shards: Option<Shards>,
}

/// The Discord shards this process runs: `first..=last` of `total`.
/// Built only through [`Shards::new`] (or from the configuration, which goes
/// through it), so always valid: `first <= last < total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "ShardsSetting")]
pub struct Shards {
    total: u32,
    first: u32,
    last: u32,
}

/// `[discord] shards` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardsSetting {
    total: u32,
    #[serde(default)]
    run: Option<Run>,
}

/// `run = "A-B"`, `run = "A"`, or `run = A`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Run {
    Number(u32),
    Text(String),
}

impl TryFrom<ShardsSetting> for Shards {
    type Error = String;

    fn try_from(setting: ShardsSetting) -> Result<Self, String> {
        let (first, last) = match setting.run {
            None => (0, setting.total.saturating_sub(1)),
            Some(Run::Number(n)) => (n, n),
            Some(Run::Text(text)) => {
                let number = |s: &str| s.trim().parse::<u32>().ok();
                let parsed = match text.split_once('-') {
                    Some((a, b)) => number(a).zip(number(b)),
                    None => number(&text).map(|n| (n, n)),
                };
                parsed.ok_or_else(|| {
                    format!(
                        "discord.shards: run = {text:?} is not a shard or a range of shards; write run = \"0-3\" (shards 0 to 3) or run = \"2\" (shard 2 alone)"
                    )
                })?
            }
        };
        Self::new(setting.total, first, last)
    }
}

impl Shards {
    /// Shards `first..=last` of `total`, or what is wrong with them, naming
    /// the setting.
    pub fn new(total: u32, first: u32, last: u32) -> Result<Self, String> {
        if total == 0 {
            return Err("discord.shards: total must be at least 1 (it is how many shards the bot has in all)".into());
        }
        if first > last {
            return Err(format!(
                "discord.shards: run = \"{first}-{last}\" starts after it ends; write the lower shard first"
            ));
        }
        if last >= total {
            return Err(format!(
                "discord.shards: run = \"{first}-{last}\" goes past the last shard: with total = {total}, shards are numbered 0 to {}",
                total - 1
            ));
        }
        Ok(Self { total, first, last })
    }

    /// Every shard of `total` in this process (what Hearth runs when
    /// `shards` is unset, with Discord's recommended count).
    pub fn all(total: u32) -> Self {
        let total = total.max(1);
        Self {
            total,
            first: 0,
            last: total - 1,
        }
    }

    pub fn total(&self) -> u32 {
        self.total
    }

    pub fn first(&self) -> u32 {
        self.first
    }

    pub fn last(&self) -> u32 {
        self.last
    }

    /// How many shards this process runs.
    pub fn count(&self) -> u32 {
        self.last - self.first + 1
    }

    /// The shard of `guild` among `total`, as Discord assigns it:
    /// `(guild_id >> 22) % total`.
    pub fn of_guild(guild: u64, total: u32) -> u32 {
        // The remainder is below `total`, a u32.
        u32::try_from((guild >> 22) % u64::from(total.max(1))).unwrap_or(0)
    }

    /// Whether `guild`'s events arrive in this process.
    pub fn runs(&self, guild: u64) -> bool {
        (self.first..=self.last).contains(&Self::of_guild(guild, self.total))
    }

    /// This process's share of Discord's global limit (50 requests a second
    /// per bot): `50 × count / total`, rounded down, at least 1. See
    /// [`crate::DiscordOutbox`] for why a fixed share.
    pub fn share_of_global_limit(&self) -> u32 {
        let share = u64::from(GLOBAL_LIMIT) * u64::from(self.count()) / u64::from(self.total);
        // count <= total, so the share is at most the limit.
        u32::try_from(share).unwrap_or(GLOBAL_LIMIT).max(1)
    }
}

/// Discord's global rate limit: requests a second, per bot (all its
/// processes together), interaction answers aside.
pub const GLOBAL_LIMIT: u32 = 50;

/// Guild ids as TOML integers or strings.
fn snowflakes<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    Vec::<Id>::deserialize(deserializer)?
        .into_iter()
        .map(|id| match id {
            Id::Number(n) if n != 0 => Ok(n),
            Id::Number(n) => Err(serde::de::Error::custom(format!("not a guild id: {n}"))),
            Id::Text(s) => match s.trim().parse::<u64>() {
                Ok(n) if n != 0 => Ok(n),
                _ => Err(serde::de::Error::custom(format!("not a guild id: {s:?}"))),
            },
        })
        .collect()
}

impl DiscordConfig {
    /// The bot token, from `token_env` or else `token_file` (read as every
    /// secret is: [`bot_core::secret::read`]).
    pub fn token(&self) -> anyhow::Result<String> {
        let file = self.token_file.as_deref();
        let token =
            bot_core::secret::read(self.token_env.as_deref(), file).context("reading the Discord token file")?;
        match (token, &self.token_env, file) {
            (Some(token), _, _) => Ok(token),
            (None, _, Some(path)) => bail!("the Discord token file {} is empty", path.display()),
            (None, Some(var), None) => bail!("the environment variable {var} (discord.token_env) holds no token"),
            (None, None, None) => bail!("[discord] needs token_env or token_file"),
        }
    }

    /// A REST client for this configuration.
    pub fn http(&self) -> anyhow::Result<Http> {
        let token = self.token()?;
        // A safety net for any send that forgets its own: nobody is pinged.
        let mut builder = HttpBuilder::new(token).default_allowed_mentions(render::allowed_mentions(&[]));
        if let Some(base) = &self.api_base_url {
            // serenity sends to the proxy only with its own rate limiter off,
            // and proxy variables must not divert requests meant for it.
            let client = reqwest::Client::builder()
                .no_proxy()
                .use_rustls_tls()
                .build()
                .context("building the HTTP client")?;
            builder = builder
                .client(client)
                .proxy(base.trim_end_matches('/'))
                .ratelimiter_disabled(true);
        }
        Ok(builder.build())
    }
}
