//! Interactions as core inputs: slash commands, button presses and
//! autocomplete, with who asked (roles mapped from Discord) and where.

use bot_core::{Actor, Input, InputKind, Invocation, Message, Place, Platform, Visibility};
use serenity::all::{
    AutocompleteChoice, ChannelId, CommandInteraction, ComponentInteraction, Context, CreateAutocompleteResponse,
    CreateInteractionResponse, GuildId, Member, Permissions, User,
};

use crate::handler::{Handler, Target};
use crate::{commands, describe, render, roles};

impl Handler {
    pub(crate) async fn command(&self, ctx: &Context, command: &CommandInteraction) {
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

    pub(crate) async fn component(&self, ctx: &Context, component: &ComponentInteraction) {
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

    pub(crate) async fn autocomplete(&self, ctx: &Context, autocomplete: &CommandInteraction) {
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
}
