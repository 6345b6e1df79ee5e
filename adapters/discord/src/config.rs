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
}

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
