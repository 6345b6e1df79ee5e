//! Who is in voice, for the core's talking-stick circles: the snapshot a
//! guild gives on (re)connecting, and each move after it.

use bot_core::{Actor, Place, Platform};
use serenity::all::{Context, VoiceState};

use crate::handler::Handler;
use crate::{roles, voice};

impl Handler {
    /// On (re)connecting, a guild's voice states are who is in voice now.
    pub(crate) async fn voice_snapshot(&self, ctx: &Context, guild: &serenity::all::Guild) {
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
        self.effects(ctx, Some(&place.community), &response).await;
    }

    /// Someone joined, left or moved between voice channels.
    pub(crate) async fn voice_moved(&self, ctx: &Context, old: Option<&VoiceState>, new: &VoiceState) {
        let cached = new.guild_id.and_then(|g| {
            ctx.cache
                .guild(g)
                .map(|guild| guild.voice_states.get(&new.user_id).and_then(|v| v.channel_id))
        });
        let now_in = cached.unwrap_or(new.channel_id);
        // Whom Discord lets mute others there is never muted; whom it cannot tell of, neither.
        let may_mute = match (new.guild_id, new.member.as_ref()) {
            (Some(guild), Some(member)) => roles::may_mute_in(ctx, guild, now_in, member).unwrap_or(true),
            _ => true,
        };
        if let Some(input) = voice::presence_input(old, new, now_in, may_mute) {
            tracing::debug!(channel = input.place.channel, "discord: voice presence");
            let response = self.hearth.handle(&input).await;
            self.effects(ctx, None, &response).await;
        }
    }
}
