//! The Discord permissions Hearth uses, in one list: the invite link asks for
//! exactly these, and `hearth check` names those a guild has not granted.
//! Add a permission here in the same change that makes the adapter call
//! something needing it.

use serenity::all::{GatewayIntents, Permissions};

/// The gateway intents the adapter asks for: servers, voice presence and bans.
/// None is privileged, so nothing needs switching on in the developer portal.
pub fn intents() -> GatewayIntents {
    // GUILD_MODERATION (not privileged) brings GUILD_BAN_ADD: a banned member leaves the groups.
    GatewayIntents::GUILDS | GatewayIntents::GUILD_VOICE_STATES | GatewayIntents::GUILD_MODERATION
}

/// A permission the adapter's code needs, and what for.
#[derive(Debug, Clone, Copy)]
pub struct Needed {
    pub permission: Permissions,
    /// Its name as Discord's server settings show it.
    pub name: &'static str,
    /// What goes wrong without it.
    pub for_what: &'static str,
}

/// Everything the adapter calls that needs a permission in the guild. Replies
/// to slash commands and buttons (interaction responses, follow-ups, their
/// files) need none; DMs need none; reading roles needs none.
pub const NEEDED: &[Needed] = &[
    Needed {
        permission: Permissions::VIEW_CHANNEL,
        name: "View Channels",
        for_what: "seeing the channels it posts reminders and check-in prompts to",
    },
    Needed {
        permission: Permissions::SEND_MESSAGES,
        name: "Send Messages",
        for_what: "posting reminders, notices, check-in prompts and the talking circle's status",
    },
    Needed {
        permission: Permissions::EMBED_LINKS,
        name: "Embed Links",
        for_what: "its posts are embeds; without it they arrive empty",
    },
    Needed {
        permission: Permissions::ATTACH_FILES,
        name: "Attach Files",
        for_what: "posting files (a meeting's calendar, /mydata's JSON) in channels",
    },
    Needed {
        permission: Permissions::MUTE_MEMBERS,
        name: "Mute Members",
        for_what: "the talking circle's mute_others (server mute, stage speakers) and unmuting at the end",
    },
    Needed {
        permission: Permissions::VIEW_AUDIT_LOG,
        name: "View Audit Log",
        for_what: "leaving in place a moderator's mute laid over the talking circle's when it ends, \
                   and hearing of bans (Discord tells only bots with it), so a banned member leaves its groups",
    },
    Needed {
        permission: Permissions::MANAGE_EVENTS,
        name: "Manage Events",
        for_what: "showing meetings as the server's scheduled events",
    },
    Needed {
        permission: Permissions::CONNECT,
        name: "Connect",
        for_what: "Discord asks it of whoever creates a scheduled event in a voice channel",
    },
];

/// The union of [`NEEDED`]: the `permissions` of the invite link.
pub fn needed() -> Permissions {
    NEEDED.iter().fold(Permissions::empty(), |all, n| all | n.permission)
}

/// Those of [`NEEDED`] that `granted` lacks (Administrator grants them all).
pub fn missing(granted: Permissions) -> Vec<&'static Needed> {
    if granted.contains(Permissions::ADMINISTRATOR) {
        return Vec::new();
    }
    NEEDED.iter().filter(|n| !granted.contains(n.permission)).collect()
}

/// The OAuth2 link that adds the bot to a server with the `bot` and
/// `applications.commands` scopes and exactly [`needed`].
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands&permissions={}",
        needed().bits()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_asks_for_the_union_and_nothing_privileged() {
        let url = invite_url(42);
        let bits: u64 = url
            .rsplit("permissions=")
            .next()
            .unwrap_or_default()
            .parse()
            .unwrap_or(0);
        assert_eq!(bits, needed().bits());
        assert!(!needed().contains(Permissions::ADMINISTRATOR));
        assert!(!needed().contains(Permissions::MANAGE_GUILD));
        assert!(url.contains("client_id=42") && url.contains("scope=bot+applications.commands"));
    }

    #[test]
    fn no_intent_is_privileged() {
        assert!(!intents().intersects(GatewayIntents::privileged()));
    }

    #[test]
    fn administrator_lacks_nothing_and_a_plain_member_lacks_mute_members() {
        assert!(missing(Permissions::ADMINISTRATOR).is_empty());
        let plain = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES;
        let lacking: Vec<&str> = missing(plain).iter().map(|n| n.name).collect();
        assert!(lacking.contains(&"Mute Members"), "{lacking:?}");
        assert!(!lacking.contains(&"Send Messages"), "{lacking:?}");
    }
}

/// One guild the bot is in, and what it lacks there.
#[derive(Debug, Clone)]
pub struct GuildAccess {
    pub id: u64,
    pub name: String,
    pub missing: Vec<&'static Needed>,
}

/// What Discord says about the bot: who it is and where it is.
#[derive(Debug, Clone)]
pub struct Access {
    /// The bot user's id, which is its application's id (the invite's client_id).
    pub bot_id: u64,
    pub bot_name: String,
    pub guilds: Vec<GuildAccess>,
}

/// Asks Discord (or `api_base_url`) who the token belongs to and, per guild
/// the bot is in, which needed permissions its roles do not grant. Only
/// reads; nobody sees anything.
pub async fn access(config: &crate::DiscordConfig) -> anyhow::Result<Access> {
    use serenity::all::GuildPagination;
    let http = config.http()?;
    let me = http.get_current_user().await.map_err(|e| refused(&e, config))?;
    let mut guilds = Vec::new();
    let mut after = None;
    loop {
        let page = http
            .get_guilds(after.map(GuildPagination::After), Some(200))
            .await
            .map_err(|e| refused(&e, config))?;
        let full = page.len() == 200;
        after = page.last().map(|g| g.id);
        guilds.extend(page.into_iter().map(|g| GuildAccess {
            id: g.id.get(),
            name: g.name,
            missing: missing(g.permissions),
        }));
        if !full {
            break;
        }
    }
    Ok(Access {
        bot_id: me.id.get(),
        bot_name: me.name.clone(),
        guilds,
    })
}

fn refused(e: &serenity::Error, config: &crate::DiscordConfig) -> anyhow::Error {
    if let serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) = e
        && r.status_code.as_u16() == 401
    {
        return anyhow::anyhow!(
            "Discord refused the bot token (HTTP 401): copy it again from the developer portal (Bot, Reset Token) into discord.token_env or token_file"
        );
    }
    anyhow::anyhow!(
        "cannot reach Discord{}: {}; check the network and api_base_url",
        config
            .api_base_url
            .as_deref()
            .map(|u| format!(" at {u}"))
            .unwrap_or_default(),
        crate::describe(e)
    )
}
