//! Discord's facts, for the core to map to roles: who administers the server,
//! who may mute others in their voice channel, and whether a channel named
//! in a command is one of the server's where the bot can post. Nothing here
//! decides what anyone may do; the core does.

use bot_core::{Actor, ChannelFact};
/// Discord's permission bits, as [`actor`] and [`mutes`] take them.
pub use serenity::all::Permissions;
use serenity::all::{Channel, ChannelId, ChannelType, Context, GuildChannel, GuildId, Member};

/// The actor for a member, from the permissions Discord computed for them
/// (an interaction's), whether they hold the facilitator role, and whether
/// they may mute others where they are ([`may_mute_in`]).
pub fn actor(user: &str, name: &str, permissions: Permissions, facilitator_role: bool, may_mute: bool) -> Actor {
    Actor {
        user: user.to_string(),
        name: name.to_string(),
        platform_admin: permissions.contains(Permissions::MANAGE_GUILD)
            || permissions.contains(Permissions::ADMINISTRATOR),
        platform_facilitator: facilitator_role,
        may_mute,
    }
}

/// Whether these permissions let their holder server-mute others.
pub fn mutes(permissions: Permissions) -> bool {
    permissions.contains(Permissions::MUTE_MEMBERS) || permissions.contains(Permissions::ADMINISTRATOR)
}

/// Whether `member` may mute others in `channel`, as the cache knows the
/// guild: the channel's permission overwrites counted when the cache holds
/// the channel, the guild's roles alone otherwise. `None` when the cache
/// does not hold the guild: nobody can tell.
pub fn may_mute_in(ctx: &Context, guild: GuildId, channel: Option<ChannelId>, member: &Member) -> Option<bool> {
    let guild = ctx.cache.guild(guild)?;
    let permissions = match channel.and_then(|c| guild.channels.get(&c)) {
        Some(channel) => guild.user_permissions_in(channel, member),
        None => guild.member_permissions(member),
    };
    Some(mutes(permissions))
}

/// What the channel a command names (`raw`: Discord's id for it) is to
/// `guild`: one of its own where the bot can see and send messages, or why
/// not. The cache answers when it holds the guild and the channel; else
/// Discord is asked.
pub async fn channel_fact(ctx: &Context, guild: GuildId, raw: &str) -> ChannelFact {
    let id = raw.trim().trim_start_matches("<#").trim_end_matches('>');
    let Some(channel_id) = id.parse::<u64>().ok().filter(|n| *n != 0).map(ChannelId::new) else {
        return ChannelFact::Unknown;
    };
    let me = {
        let user = ctx.cache.current_user();
        user.id
    };
    let cached = ctx.cache.guild(guild).and_then(|g| {
        let channel = g.channels.get(&channel_id)?;
        let bot = g.members.get(&me)?;
        Some(judge(channel, g.user_permissions_in(channel, bot)))
    });
    if let Some(fact) = cached {
        return fact;
    }
    let channel = match ctx.http.get_channel(channel_id).await {
        Ok(Channel::Guild(channel)) => channel,
        Ok(_) => return ChannelFact::NotText,
        Err(e) => {
            tracing::info!(channel = %channel_id, error = %crate::describe(&e), "discord: a named channel");
            return match status(&e) {
                Some(403) => ChannelFact::CannotPost,
                _ => ChannelFact::Unknown,
            };
        }
    };
    if channel.guild_id != guild {
        return ChannelFact::OtherCommunity;
    }
    let (server, bot) = tokio::join!(ctx.http.get_guild(guild), ctx.http.get_member(guild, me));
    match (server, bot) {
        (Ok(server), Ok(bot)) => judge(&channel, server.user_permissions_in(&channel, &bot)),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(guild = %guild, error = %crate::describe(&e), "discord: the bot's permissions in a channel");
            ChannelFact::CannotPost
        }
    }
}

/// A channel of the guild, and the bot's permissions there.
fn judge(channel: &GuildChannel, bot: Permissions) -> ChannelFact {
    let send = match channel.kind {
        ChannelType::Text | ChannelType::News | ChannelType::Voice | ChannelType::Stage => Permissions::SEND_MESSAGES,
        ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread => {
            Permissions::SEND_MESSAGES_IN_THREADS
        }
        _ => return ChannelFact::NotText,
    };
    if bot.contains(Permissions::VIEW_CHANNEL | send) {
        ChannelFact::Postable(channel.id.get().to_string())
    } else {
        ChannelFact::CannotPost
    }
}

fn status(error: &serenity::Error) -> Option<u16> {
    match error {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) => Some(r.status_code.as_u16()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manage_server_or_administrator_is_admin_and_a_moderator_is_not() {
        let moderator = Permissions::MUTE_MEMBERS | Permissions::KICK_MEMBERS | Permissions::MANAGE_MESSAGES;

        assert!(actor("1", "a", Permissions::MANAGE_GUILD, false, false).platform_admin);
        assert!(actor("1", "a", Permissions::ADMINISTRATOR, false, false).platform_admin);
        assert!(!actor("1", "a", moderator, false, true).platform_admin);
        assert!(mutes(moderator) && mutes(Permissions::ADMINISTRATOR));
        assert!(!mutes(Permissions::MANAGE_GUILD | Permissions::SEND_MESSAGES));
    }
}
