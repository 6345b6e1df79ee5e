//! Hearth on Discord, through serenity: slash commands generated from the
//! core's spec, interactions and button presses as core inputs, replies as
//! embeds, voice presence, and deliveries through [`DiscordOutbox`].

mod commands;
pub mod events;
mod outbox;
pub mod perms;
pub mod render;
pub mod roles;
pub mod voice;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use bot_core::{Actor, Effect, Hearth, Input, InputKind, Invocation, Message, Place, Platform, Response, Visibility};
use serde::Deserialize;
use serenity::all::{
    AutocompleteChoice, ChannelId, ClientBuilder, Command, CommandInteraction, ComponentInteraction, Context,
    CreateAutocompleteResponse, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, EditInteractionResponse, EventHandler, GuildId, Http, HttpBuilder, Interaction,
    InteractionId, Member, Permissions, Ready, User, VoiceState,
};

pub use commands::{DISCORD_INT_MAX, application_commands, invocation, suggest};
pub use outbox::{DiscordOutbox, create_message, nonce};
pub use voice::{MuteError, MuteOutcome, presence_input, set_server_mute, set_stage_suppress};

/// At shutdown, how long releasing the circles' mutes may take, and then
/// closing the gateway: within the 9 s Hearth gives itself after a signal.
const RELEASE_WITHIN: Duration = Duration::from_secs(7);
const CLOSE_WITHIN: Duration = Duration::from_millis(1500);

/// How long the core may take before the interaction is deferred; Discord
/// drops an answer that comes after 3 seconds.
pub const DEFER_AFTER: Duration = Duration::from_millis(1500);

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
        // serenity would fall back to Discord's own gateway, silently, if this
        // failed: ask first, so a wrong token or proxy is an error now.
        let gateway = http.get_bot_gateway().await.map_err(|e| match &e {
            serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r))
                if r.status_code.as_u16() == 401 =>
            {
                anyhow::anyhow!("Discord refused the bot token (HTTP 401); check discord.token_env or token_file")
            }
            _ => anyhow::anyhow!(
                "cannot reach Discord{}: {}",
                self.config
                    .api_base_url
                    .as_deref()
                    .map(|u| format!(" at {u}"))
                    .unwrap_or_default(),
                describe(&e)
            ),
        })?;
        tracing::info!(shards = gateway.shards, "discord: connecting");
        // A run that crashed may have left people muted: undo that first.
        voice::release_mutes(&http, &self.hearth).await;
        let hearth = self.hearth.clone();
        let handler = Handler {
            hearth: self.hearth,
            guilds: self.config.guilds.clone(),
            facilitator_role: self.config.facilitator_role.clone(),
            defer_after: self.defer_after,
            registered: AtomicBool::new(false),
            stages: std::sync::Mutex::default(),
        };
        let intents = perms::intents();
        let http_for_release = self.config.http()?;
        let mut client = ClientBuilder::new_with_http(http, intents)
            .event_handler(handler)
            .await
            .context("creating the Discord client")?;
        let shards = client.shard_manager.clone();
        let start = client.start();
        tokio::pin!(start);
        tokio::select! {
            ended = &mut start => {
                ended.context("the Discord connection failed")?;
                return Ok(());
            }
            () = shutdown => tracing::info!("discord: shutting down"),
        }
        // Nobody stays muted by a bot that is gone: the mutes go first,
        // while the budget is whole; closing the gateway can wait on Discord.
        if tokio::time::timeout(RELEASE_WITHIN, voice::release_mutes(&http_for_release, &hearth))
            .await
            .is_err()
        {
            tracing::warn!(
                "discord: releasing the circle mutes took longer than {RELEASE_WITHIN:?}; the rest go at the next start"
            );
        }
        let closing = async {
            shards.shutdown_all().await;
            let _ = start.await;
        };
        if tokio::time::timeout(CLOSE_WITHIN, closing).await.is_err() {
            tracing::warn!("discord: the gateway did not close within {CLOSE_WITHIN:?}");
        }
        bot_core::metrics::adapter_connected(Platform::Discord, false);
        Ok(())
    }
}

struct Handler {
    hearth: Hearth,
    guilds: Vec<u64>,
    facilitator_role: Option<String>,
    defer_after: Duration,
    registered: AtomicBool,
    /// Whether a channel is a stage, as Discord said for one the cache did
    /// not hold: asked once per channel, not once per mute.
    stages: std::sync::Mutex<std::collections::HashMap<serenity::all::ChannelId, bool>>,
}

/// An interaction to answer.
#[derive(Clone, Copy)]
struct Target<'a> {
    id: InteractionId,
    token: &'a str,
}

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
        let mut states: Vec<&VoiceState> = guild.voice_states.values().collect();
        // Discord gives no join order here: a stable one, by user id.
        states.sort_by_key(|v| v.user_id);
        let present: Vec<(Actor, String)> = states
            .into_iter()
            .filter_map(|v| {
                let channel = v.channel_id?;
                let member = guild.members.get(&v.user_id).or(v.member.as_ref());
                let name = member.map_or_else(|| v.user_id.get().to_string(), |m| m.display_name().to_string());
                // Whom Discord lets mute others is never muted; whom it cannot tell of, neither.
                let may_mute = member.is_none_or(|m| {
                    roles::mutes(match guild.channels.get(&channel) {
                        Some(c) => guild.user_permissions_in(c, m),
                        None => guild.member_permissions(m),
                    })
                });
                Some((
                    Actor {
                        may_mute,
                        ..Actor::member(v.user_id.get().to_string(), name)
                    },
                    channel.get().to_string(),
                ))
            })
            .collect();
        let place = Place {
            platform: Platform::Discord,
            community: guild.id.get().to_string(),
            channel: String::new(),
        };
        tracing::debug!(guild = %guild.id, in_voice = present.len(), "discord: voice snapshot");
        let response = self.hearth.voice_snapshot(&place, &present).await;
        self.effects(&ctx, Some(&place.community), &response).await;
    }

    /// For `[metrics]`: whether the gateway connection is up.
    async fn shard_stage_update(&self, _ctx: Context, event: serenity::gateway::ShardStageUpdateEvent) {
        let connected = event.new == serenity::gateway::ConnectionStage::Connected;
        bot_core::metrics::adapter_connected(Platform::Discord, connected);
    }

    async fn voice_state_update(&self, ctx: Context, old: Option<VoiceState>, new: VoiceState) {
        let cached = new.guild_id.and_then(|g| {
            ctx.cache
                .guild(g)
                .map(|guild| guild.voice_states.get(&new.user_id).and_then(|v| v.channel_id))
        });
        let now_in = cached.unwrap_or(new.channel_id);
        // Whom Discord lets mute others there is never muted; whom it cannot tell of, neither.
        let may_mute = match (new.guild_id, new.member.as_ref()) {
            (Some(guild), Some(member)) => roles::may_mute_in(&ctx, guild, now_in, member).unwrap_or(true),
            _ => true,
        };
        if let Some(input) = voice::presence_input(old.as_ref(), &new, now_in, may_mute) {
            tracing::debug!(channel = input.place.channel, "discord: voice presence");
            let response = self.hearth.handle(&input).await;
            self.effects(&ctx, None, &response).await;
        }
    }
}

impl Handler {
    async fn register(&self, http: &Http) -> anyhow::Result<()> {
        let commands = commands::application_commands().map_err(|e| anyhow::anyhow!(e))?;
        if self.guilds.is_empty() {
            Command::set_global_commands(http, commands)
                .await
                .map_err(|e| anyhow::anyhow!(describe(&e)))?;
            tracing::info!("discord: commands registered globally");
        } else {
            for guild in &self.guilds {
                GuildId::new(*guild)
                    .set_commands(http, commands.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("guild {guild}: {}", describe(&e)))?;
                tracing::info!(guild, "discord: commands registered");
            }
        }
        Ok(())
    }

    async fn command(&self, ctx: &Context, command: &CommandInteraction) {
        let target = Target {
            id: command.id,
            token: &command.token,
        };
        let mut invocation = commands::invocation(&command.data);
        // Every command alike: its name would say who asked for a crisis line.
        tracing::debug!(interaction = %command.id, "discord: command");
        // What each channel named is to this server: the core decides what that allows.
        if let Some(guild) = command.guild_id {
            for (name, raw) in invocation.channel_options() {
                let fact = roles::channel_fact(ctx, guild, &raw).await;
                invocation.channels.push((name, fact));
            }
        }
        let input = self
            .input(
                ctx,
                command.guild_id,
                command.channel_id,
                command.member.as_deref(),
                &command.user,
            )
            .await;
        self.invoke(ctx, target, input, invocation).await;
    }

    /// Hands an invocation to the core as `who`/`where` and answers; outside
    /// a server, says commands work only inside one.
    async fn invoke(&self, ctx: &Context, target: Target<'_>, at: Option<(Actor, Place)>, invocation: Invocation) {
        match at {
            Some((actor, place)) => {
                let input = Input {
                    actor,
                    place,
                    kind: InputKind::Command(invocation),
                };
                self.answer(ctx, target, input).await;
            }
            None => self.refuse_outside_guild(ctx, target).await,
        }
    }

    async fn component(&self, ctx: &Context, component: &ComponentInteraction) {
        let target = Target {
            id: component.id,
            token: &component.token,
        };
        tracing::debug!(interaction = %component.id, "discord: button");
        let Some((dm_guild, text)) = render::button_command(&component.data.custom_id) else {
            let message = Message::new().text("This button no longer does anything.");
            self.respond_now(ctx, target, Visibility::Private, &message).await;
            return;
        };
        let invocation = match bot_core::parse::parse_command(text) {
            Ok(invocation) => invocation,
            Err(e) => {
                self.respond_now(ctx, target, Visibility::Private, &e.to_message())
                    .await;
                return;
            }
        };
        let input = match (component.guild_id, dm_guild) {
            // A button of a DM acts in the server it was sent for, with no
            // role: what it may do is what any member may.
            (None, Some(guild)) => Some((
                Actor::member(component.user.id.get().to_string(), component.user.display_name()),
                Place {
                    platform: Platform::Discord,
                    community: guild.to_string(),
                    channel: component.channel_id.get().to_string(),
                },
            )),
            _ => {
                self.input(
                    ctx,
                    component.guild_id,
                    component.channel_id,
                    component.member.as_ref(),
                    &component.user,
                )
                .await
            }
        };
        self.invoke(ctx, target, input, invocation).await;
    }

    async fn autocomplete(&self, ctx: &Context, autocomplete: &CommandInteraction) {
        let mut choices = commands::suggestions(&autocomplete.data);
        // Groups and meetings are the core's to suggest.
        if choices.is_empty()
            && let (Some(guild), Some(focused)) = (autocomplete.guild_id, autocomplete.data.autocomplete())
        {
            let place = Place {
                platform: Platform::Discord,
                community: guild.get().to_string(),
                channel: autocomplete.channel_id.get().to_string(),
            };
            let command = commands::invocation(&autocomplete.data).command;
            let meeting = focused.name == "meeting";
            choices = self
                .hearth
                .suggest(&place, &command, focused.name, focused.value)
                .await
                .into_iter()
                .map(|(label, value)| match value.parse::<i64>() {
                    Ok(n) if meeting => AutocompleteChoice::new(render::truncate(&label, 100), n),
                    _ => AutocompleteChoice::new(render::truncate(&label, 100), value),
                })
                .collect();
        }
        let response = CreateInteractionResponse::Autocomplete(CreateAutocompleteResponse::new().set_choices(choices));
        if let Err(e) = autocomplete.create_response(&ctx.http, response).await {
            tracing::warn!(interaction = %autocomplete.id, error = %describe(&e), "discord: autocomplete answer failed");
        }
    }

    async fn refuse_outside_guild(&self, ctx: &Context, target: Target<'_>) {
        let message = Message::new().text("Hearth's commands work inside a server, not in direct messages.");
        self.respond_now(ctx, target, Visibility::Private, &message).await;
    }

    /// Who and where, with roles mapped from Discord; `None` outside a guild.
    async fn input(
        &self,
        ctx: &Context,
        guild: Option<GuildId>,
        channel: ChannelId,
        member: Option<&Member>,
        user: &User,
    ) -> Option<(Actor, Place)> {
        let guild = guild?;
        let member = member?;
        let permissions = member.permissions.unwrap_or_else(Permissions::empty);
        // Mute Members as Discord computed it for the interaction, and in the
        // voice channel the member is in, where the cache can tell.
        let voice = ctx
            .cache
            .guild(guild)
            .and_then(|g| g.voice_states.get(&user.id).and_then(|v| v.channel_id));
        let may_mute = roles::mutes(permissions)
            && voice.is_none_or(|c| roles::may_mute_in(ctx, guild, Some(c), member).unwrap_or(true));
        let actor = roles::actor(
            &user.id.get().to_string(),
            member.display_name(),
            permissions,
            self.has_facilitator_role(ctx, guild, member).await,
            may_mute,
        );
        let place = Place {
            platform: Platform::Discord,
            community: guild.get().to_string(),
            channel: channel.get().to_string(),
        };
        Some((actor, place))
    }

    /// Whether the member has a role named as `facilitator_role` (ignoring
    /// case), from the cache when the guild is there, else from the API.
    async fn has_facilitator_role(&self, ctx: &Context, guild: GuildId, member: &Member) -> bool {
        let Some(wanted) = &self.facilitator_role else {
            return false;
        };
        if member.roles.is_empty() {
            return false;
        }
        let named = |name: &str| name.eq_ignore_ascii_case(wanted);
        let cached: Option<Vec<_>> = ctx
            .cache
            .guild(guild)
            .map(|g| g.roles.values().filter(|r| named(&r.name)).map(|r| r.id).collect());
        let ids = match cached {
            Some(ids) => ids,
            None => match guild.roles(&ctx.http).await {
                Ok(roles) => roles.values().filter(|r| named(&r.name)).map(|r| r.id).collect(),
                Err(e) => {
                    tracing::warn!(guild = %guild, error = %describe(&e), "discord: could not read the guild's roles");
                    return false;
                }
            },
        };
        member.roles.iter().any(|r| ids.contains(r))
    }

    /// Runs the input through the core and answers the interaction: at once
    /// when the core is quick, else after an ephemeral deferral.
    async fn answer(&self, ctx: &Context, target: Target<'_>, input: Input) {
        let community = input.place.community.clone();
        let hearth = self.hearth.clone();
        let mut task = tokio::spawn(async move { hearth.handle(&input).await });
        let quick = if self.defer_after.is_zero() {
            None
        } else {
            tokio::time::timeout(self.defer_after, &mut task).await.ok()
        };
        let (deferred, joined) = match quick {
            Some(joined) => (false, joined),
            None => {
                tracing::debug!(interaction = %target.id, "discord: deferring");
                let defer = CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true));
                if let Err(e) = response_execute(ctx, target, defer).await {
                    tracing::warn!(interaction = %target.id, error = %describe(&e), "discord: deferring failed");
                }
                (true, task.await)
            }
        };
        let response = joined.unwrap_or_else(|e| {
            tracing::error!(interaction = %target.id, error = %e, "discord: the core's task failed");
            Response::private(bot_core::error::apology(&target.id.get().to_string()))
        });
        let (visibility, message) = match &response.reply {
            Some(reply) => (reply.visibility, reply.message.clone()),
            None => (Visibility::Private, Message::new().text("Done.")),
        };
        if deferred {
            self.respond_late(ctx, target, visibility, &message).await;
        } else {
            self.respond_now(ctx, target, visibility, &message).await;
        }
        self.effects(ctx, Some(&community), &response).await;
    }

    async fn respond_now(&self, ctx: &Context, target: Target<'_>, visibility: Visibility, message: &Message) {
        let rendered = render::render(message);
        let mut reply = CreateInteractionResponseMessage::new()
            .embeds(rendered.embeds)
            .components(rendered.components)
            .allowed_mentions(rendered.allowed_mentions)
            .ephemeral(visibility == Visibility::Private);
        if let Some(content) = rendered.content {
            reply = reply.content(content);
        }
        if let Some(file) = rendered.attachment {
            reply = reply.add_file(file);
        }
        let response = CreateInteractionResponse::Message(reply);
        if let Err(e) = response_execute(ctx, target, response).await {
            tracing::warn!(interaction = %target.id, error = %describe(&e), "discord: answering failed");
        }
    }

    /// After an ephemeral deferral: a private reply replaces the "thinking"
    /// message; a public one goes out as a follow-up and the deferral says so.
    async fn respond_late(&self, ctx: &Context, target: Target<'_>, visibility: Visibility, message: &Message) {
        let rendered = render::render(message);
        let result = match visibility {
            Visibility::Private => {
                let mut edit = EditInteractionResponse::new()
                    .embeds(rendered.embeds)
                    .components(rendered.components)
                    .allowed_mentions(rendered.allowed_mentions);
                if let Some(content) = rendered.content {
                    edit = edit.content(content);
                }
                if let Some(file) = rendered.attachment {
                    edit = edit.new_attachment(file);
                }
                edit_execute(ctx, target, edit).await
            }
            Visibility::Public => {
                let done = EditInteractionResponse::new()
                    .content("Done: the answer is posted in this channel.")
                    .allowed_mentions(render::allowed_mentions(&[]));
                if let Err(e) = edit_execute(ctx, target, done).await {
                    tracing::warn!(interaction = %target.id, error = %describe(&e), "discord: editing the deferral failed");
                }
                let mut followup = CreateInteractionResponseFollowup::new()
                    .embeds(rendered.embeds)
                    .components(rendered.components)
                    .allowed_mentions(rendered.allowed_mentions)
                    .ephemeral(false);
                if let Some(content) = rendered.content {
                    followup = followup.content(content);
                }
                if let Some(file) = rendered.attachment {
                    followup = followup.add_file(file);
                }
                followup_execute(ctx, target, followup).await
            }
        };
        if let Err(e) = result {
            tracing::warn!(interaction = %target.id, error = %describe(&e), "discord: late answer failed");
        }
    }

    /// Carries out a response's effects; DMs' buttons act in `community`.
    async fn effects(&self, ctx: &Context, community: Option<&str>, response: &Response) {
        if response.effects.is_empty() {
            return;
        }
        let outbox = DiscordOutbox::new(ctx.http.clone());
        let mut queue: std::collections::VecDeque<Effect> = response.effects.iter().cloned().collect();
        while let Some(effect) = queue.pop_front() {
            let effect = &effect;
            if let Effect::Mute {
                community,
                channel,
                user,
                mute,
                stage,
            } = effect
            {
                // What the core answers a report with (a note to the facilitator) comes next.
                queue.extend(self.mute(ctx, community, channel, user, *mute, *stage).await.effects);
                continue;
            }
            // The outbox logs the failure with ids; nothing more to tell anyone.
            if let Effect::Status {
                channel,
                key,
                message,
                edit,
            } = effect
            {
                if let Ok(Some(posted)) = outbox.status(channel, message, edit.as_deref()).await
                    && let Err(e) = self.hearth.status_posted(key, &posted).await
                {
                    tracing::error!(error = %e, "discord: recording a status message");
                }
                continue;
            }
            let _ = outbox.effect_in(community, effect).await;
        }
    }
}

impl Handler {
    /// Mutes or unmutes (on a stage: suppresses or not), leaving alone a
    /// person someone else already muted, and tells the core what happened.
    /// `known_stage`: the core's record of a confirmed suppress; else the
    /// cache says whether the channel is a stage, or Discord does.
    async fn mute(
        &self,
        ctx: &Context,
        community: &str,
        channel: &str,
        user: &str,
        mute: bool,
        known_stage: Option<bool>,
    ) -> Response {
        let Some((guild, channel_id, user_id)) = voice::mute_target(community, channel, user) else {
            return Response::none();
        };
        let (cached_stage, voice_state) = ctx.cache.guild(guild).map_or((None, None), |g| {
            let stage = g
                .channels
                .get(&channel_id)
                .map(|c| c.kind == serenity::all::ChannelType::Stage);
            let state = g.voice_states.get(&user_id).map(|v| (v.mute, v.suppress));
            (stage, state)
        });
        let asked_before = || {
            let stages = self.stages.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            stages.get(&channel_id).copied()
        };
        let stage = match known_stage.or(cached_stage).or_else(asked_before) {
            Some(stage) => stage,
            None => match voice::channel_is_stage(&ctx.http, channel_id).await {
                Some(stage) => {
                    self.stages
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(channel_id, stage);
                    stage
                }
                None => false,
            },
        };
        // On a stage the audience is suppressed already: not the bot's doing.
        let muted_already = voice_state.is_some_and(|(muted, suppressed)| muted || (stage && suppressed));
        let report = if mute && muted_already {
            bot_core::MuteReport::Skipped
        } else if !mute && !stage && {
            let bot = ctx.cache.current_user().id;
            voice::moderator_kept_mute(&ctx.http, guild, user_id, bot).await
        } {
            // A moderator's mute laid over the bot's is theirs to lift.
            tracing::info!(guild = %guild, user = %user_id, "discord: a moderator's mute stays");
            bot_core::MuteReport::Skipped
        } else {
            voice::apply_mute(&ctx.http, guild, channel_id, user_id, mute, stage).await
        };
        self.hearth
            .muted(community, user, mute, stage, report)
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "discord: recording a mute");
                Response::none()
            })
    }
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

async fn response_execute(
    ctx: &Context,
    target: Target<'_>,
    response: CreateInteractionResponse,
) -> serenity::Result<()> {
    use serenity::builder::Builder as _;
    response.execute(&ctx.http, (target.id, target.token)).await
}

async fn followup_execute(
    ctx: &Context,
    target: Target<'_>,
    followup: CreateInteractionResponseFollowup,
) -> serenity::Result<()> {
    use serenity::builder::Builder as _;
    followup.execute(&ctx.http, (None, target.token)).await.map(drop)
}

async fn edit_execute(ctx: &Context, target: Target<'_>, edit: EditInteractionResponse) -> serenity::Result<()> {
    use serenity::builder::Builder as _;
    edit.execute(&ctx.http, target.token).await.map(drop)
}
