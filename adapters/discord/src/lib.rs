//! Hearth on Discord, through serenity: slash commands generated from the
//! core's spec, interactions and button presses as core inputs, replies as
//! embeds, voice presence, and deliveries through [`DiscordOutbox`].

mod answers;
mod commands;
mod config;
mod effects;
pub mod events;
mod gateway;
mod handler;
mod interactions;
mod mutes;
mod outbox;
pub mod perms;
mod presence;
pub mod recurrence;
pub mod render;
pub mod roles;
mod shutdown;
pub mod voice;

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context as _;
use bot_core::Hearth;
use serenity::all::{ClientBuilder, Http};

pub use commands::{DISCORD_INT_MAX, application_commands, invocation, suggest};
pub use config::{DiscordConfig, GLOBAL_LIMIT, Shards};
pub use outbox::{DiscordOutbox, create_message, nonce, paced_per_second};
pub use voice::{MuteError, MuteOutcome, presence_input, set_server_mute, set_stage_suppress};

use crate::handler::Handler;

/// How long the core may take before the interaction is deferred; Discord
/// drops an answer that comes after 3 seconds.
pub const DEFER_AFTER: Duration = Duration::from_millis(1500);

/// Runs the Discord adapter until `shutdown` resolves.
pub async fn run(hearth: Hearth, config: DiscordConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    Discord::new(hearth, config).run(shutdown).await
}

/// The adapter, with its tunables.
pub struct Discord {
    hearth: Hearth,
    config: DiscordConfig,
    defer_after: Duration,
}

impl Discord {
    pub fn new(hearth: Hearth, config: DiscordConfig) -> Self {
        Self {
            hearth,
            config,
            defer_after: DEFER_AFTER,
        }
    }

    /// How long to wait for the core before deferring an interaction; zero
    /// defers every interaction.
    pub fn defer_after(mut self, after: Duration) -> Self {
        self.defer_after = after;
        self
    }

    /// Connects, registers the commands once ready, and handles events until
    /// `shutdown` resolves or the connection fails for good.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        // Checked before connecting: a spec Discord would refuse is a bug to report now.
        commands::application_commands().map_err(|e| anyhow::anyhow!(e))?;
        let http = self.config.http()?;
        let gateway = ask_gateway(&http, &self.config).await?;
        // Unset: every shard Discord recommends, in this process.
        let shards = self.config.shards.unwrap_or_else(|| Shards::all(gateway.shards));
        tracing::info!(
            first = shards.first(),
            last = shards.last(),
            total = shards.total(),
            recommended = gateway.shards,
            per_second = paced_per_second(self.config.shards),
            "discord: connecting"
        );
        // A run that crashed may have left people muted: undo that first,
        // in the servers of this process's shards (the others' processes
        // undo theirs, which may still be live).
        voice::release_mutes(&http, &self.hearth, shards).await;
        let hearth = self.hearth.clone();
        let handler = Handler {
            hearth: self.hearth,
            guilds: self.config.guilds.clone(),
            shards,
            facilitator_role: self.config.facilitator_role.clone(),
            defer_after: self.defer_after,
            registered: AtomicBool::new(false),
            stages: std::sync::Mutex::default(),
            pace: outbox::pace_for(self.config.shards),
        };
        let intents = perms::intents();
        let http_for_release = self.config.http()?;
        let mut client = ClientBuilder::new_with_http(http, intents)
            .event_handler(handler)
            .await
            .context("creating the Discord client")?;
        let manager = client.shard_manager.clone();
        // serenity's range is inclusive of its end here (`4..7` starts 4 to 7).
        let start = client.start_shard_range(shards.first()..shards.last(), shards.total());
        tokio::pin!(start);
        tokio::select! {
            ended = &mut start => {
                ended.context("the Discord connection failed")?;
                return Ok(());
            }
            () = shutdown => tracing::info!("discord: shutting down"),
        }
        shutdown::stop(&http_for_release, &hearth, shards, &manager, start).await;
        Ok(())
    }
}

/// Asks for the gateway before connecting: serenity would fall back to
/// Discord's own, silently, if this failed, so a wrong token or proxy is an
/// error now.
async fn ask_gateway(http: &Http, config: &DiscordConfig) -> anyhow::Result<serenity::model::gateway::BotGateway> {
    http.get_bot_gateway().await.map_err(|e| match &e {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) if r.status_code.as_u16() == 401 => {
            anyhow::anyhow!("Discord refused the bot token (HTTP 401); check discord.token_env or token_file")
        }
        _ => anyhow::anyhow!(
            "cannot reach Discord{}: {}",
            config
                .api_base_url
                .as_deref()
                .map(|u| format!(" at {u}"))
                .unwrap_or_default(),
            describe(&e)
        ),
    })
}

/// A serenity error for logs and reports: status and Discord's code, never
/// the URL (interaction and webhook URLs carry tokens).
pub(crate) fn describe(error: &serenity::Error) -> String {
    use serenity::http::HttpError;
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            format!(
                "HTTP {}, Discord code {}: {}",
                r.status_code.as_u16(),
                r.error.code,
                r.error.message
            )
        }
        serenity::Error::Http(HttpError::Request(e)) => {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "failed"
            };
            format!("the request {kind}")
        }
        other => other.to_string(),
    }
}
