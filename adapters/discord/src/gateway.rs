//! The gateway's events, each handed to its concern: commands registered
//! once ready, interactions, who is in voice, bans, and the connection's
//! state for `[metrics]`.

use std::sync::atomic::Ordering;

use bot_core::Platform;
use serenity::all::{Command, Context, EventHandler, GuildId, Http, Interaction, Ready, User, VoiceState};

use crate::handler::Handler;
use crate::{commands, describe};

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(application = %ready.application.id, guilds = ready.guilds.len(), "discord: ready");
        if self.registered.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Err(e) = self.register(&ctx.http).await {
            self.registered.store(false, Ordering::SeqCst);
            tracing::error!(error = %e, "discord: registering slash commands failed");
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => self.command(&ctx, &command).await,
            Interaction::Component(component) => self.component(&ctx, &component).await,
            Interaction::Autocomplete(autocomplete) => self.autocomplete(&ctx, &autocomplete).await,
            _ => tracing::debug!("discord: interaction kind not handled"),
        }
    }

    /// On (re)connecting, a guild's voice states are who is in voice now.
    async fn guild_create(&self, ctx: Context, guild: serenity::all::Guild, _is_new: Option<bool>) {
        self.voice_snapshot(&ctx, &guild).await;
    }

    /// For `[metrics]`: whether the gateway connection is up.
    async fn shard_stage_update(&self, _ctx: Context, event: serenity::gateway::ShardStageUpdateEvent) {
        let connected = event.new == serenity::gateway::ConnectionStage::Connected;
        bot_core::metrics::adapter_connected(Platform::Discord, connected);
    }

    async fn voice_state_update(&self, ctx: Context, old: Option<VoiceState>, new: VoiceState) {
        self.voice_moved(&ctx, old.as_ref(), &new).await;
    }

    /// GUILD_BAN_ADD (the GUILD_MODERATION intent; Discord sends it to a bot
    /// with View Audit Log or Ban Members): the person is out of the
    /// server's groups. A plain leave (GUILD_MEMBER_REMOVE) would need the
    /// privileged GUILD_MEMBERS intent, which Hearth does not ask for.
    async fn guild_ban_addition(&self, ctx: Context, guild: GuildId, user: User) {
        let input = bot_core::Input {
            actor: bot_core::Actor::member(user.id.get().to_string(), user.id.get().to_string()),
            place: bot_core::Place {
                platform: Platform::Discord,
                community: guild.get().to_string(),
                channel: String::new(),
            },
            kind: bot_core::InputKind::Banned,
        };
        tracing::debug!(guild = guild.get(), "discord: ban");
        let response = self.hearth.handle(&input).await;
        self.effects(&ctx, None, &response).await;
    }
}

impl Handler {
    async fn register(&self, http: &Http) -> anyhow::Result<()> {
        let commands = commands::application_commands().map_err(|e| anyhow::anyhow!(e))?;
        // Paced like every delivery: after a restart these come at once, and
        // Discord counts them against the bot's global limit with the other
        // processes' requests.
        if self.guilds.is_empty() {
            self.pace.wait().await;
            Command::set_global_commands(http, commands)
                .await
                .map_err(|e| anyhow::anyhow!(describe(&e)))?;
            tracing::info!("discord: commands registered globally");
        } else {
            // The servers on this process's shards: the processes together
            // cover every one, and a restart sends its own share, not all.
            for guild in self.guilds.iter().filter(|g| self.shards.runs(**g)) {
                self.pace.wait().await;
                GuildId::new(*guild)
                    .set_commands(http, commands.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("guild {guild}: {}", describe(&e)))?;
                tracing::info!(guild, "discord: commands registered");
            }
        }
        Ok(())
    }
}
