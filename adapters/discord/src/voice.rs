//! Voice: who is in which voice channel (VOICE_STATE_UPDATE) as core presence
//! inputs, and the server mute the talking stick's "mute others" will use.

use bot_core::{Actor, Input, InputKind, Place, Platform, PresenceChange};
use serenity::all::{ChannelId, EditMember, EditVoiceState, GuildId, Http, Member, UserId, VoiceState};

/// Discord's code for "Target user is not connected to voice".
pub const NOT_IN_VOICE: isize = 40032;
/// Discord's code for "Unknown Voice State" (not in that stage channel).
pub const UNKNOWN_VOICE_STATE: isize = 10065;
/// Discord's code for "Missing Permissions".
pub const MISSING_PERMISSIONS: isize = 50013;

/// The presence changes one voice state update means: leaving the channel the
/// person was in (when known) and joining the one they are in now. Mute and
/// deafen toggles within one channel mean nothing to the core.
pub fn presence_inputs(old: Option<&VoiceState>, new: &VoiceState) -> Vec<Input> {
    let Some(guild) = new.guild_id.or_else(|| old.and_then(|o| o.guild_id)) else {
        return Vec::new();
    };
    let before = old.and_then(|o| o.channel_id);
    let after = new.channel_id;
    if before == after && old.is_some() {
        return Vec::new();
    }
    let actor = voice_actor(
        new.user_id,
        new.member.as_ref().or_else(|| old.and_then(|o| o.member.as_ref())),
    );
    let input = |channel: serenity::all::ChannelId, present: bool| Input {
        actor: actor.clone(),
        place: Place {
            platform: Platform::Discord,
            community: guild.get().to_string(),
            channel: channel.get().to_string(),
        },
        kind: InputKind::Presence(PresenceChange {
            channel: channel.get().to_string(),
            present,
        }),
    };
    // Without the previous state (the guild not cached yet), a leave names
    // no channel: the core knows where the person was.
    let left = match (old, before, after) {
        (None, _, None) => Some(leave_unknown(&actor, guild)),
        (_, Some(c), _) => Some(input(c, false)),
        _ => None,
    };
    left.into_iter().chain(after.map(|c| input(c, true))).collect()
}

/// Leaving whatever voice channel the core last saw the person in.
fn leave_unknown(actor: &Actor, guild: GuildId) -> Input {
    Input {
        actor: actor.clone(),
        place: Place {
            platform: Platform::Discord,
            community: guild.get().to_string(),
            channel: String::new(),
        },
        kind: InputKind::Presence(PresenceChange {
            channel: String::new(),
            present: false,
        }),
    }
}

/// A voice participant. A voice state carries no permissions, so no platform
/// role is mapped here; commands map roles from the interaction.
fn voice_actor(user: UserId, member: Option<&Member>) -> Actor {
    let name = member.map_or_else(|| user.get().to_string(), |m| m.display_name().to_string());
    Actor::member(user.get().to_string(), name)
}

/// What a server mute (or stage suppress) request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuteOutcome {
    Applied,
    /// The member had already left voice (Discord refuses with 40032, or
    /// 10065 on a stage); there is nothing to change until they come back.
    NotInVoice,
}

#[derive(Debug, thiserror::Error)]
pub enum MuteError {
    /// The bot lacks Mute Members in that channel: carry on without enforcement.
    #[error(
        "Hearth lacks the Mute Members permission in guild {guild}; give its role that permission to use mute_others"
    )]
    MissingPermission { guild: u64 },
    #[error("server mute failed in guild {guild}: {detail}")]
    Failed { guild: u64, detail: String },
}

/// Server-mutes (or unmutes) a member: `PATCH /guilds/{g}/members/{u}` with
/// `mute`. Needs MUTE_MEMBERS; only for members in a voice channel.
pub async fn set_server_mute(http: &Http, guild: GuildId, user: UserId, mute: bool) -> Result<MuteOutcome, MuteError> {
    let done = guild
        .edit_member(http, user, EditMember::new().mute(mute))
        .await
        .map(drop);
    outcome(done, guild, user, "server mute", mute)
}

/// In a stage channel, moves a speaker back to the audience (`suppress`) or
/// onto the stage: `PATCH /guilds/{g}/voice-states/{u}`. Needs MUTE_MEMBERS.
pub async fn set_stage_suppress(
    http: &Http,
    guild: GuildId,
    stage: ChannelId,
    user: UserId,
    suppress: bool,
) -> Result<MuteOutcome, MuteError> {
    use serenity::builder::Builder as _;
    let done = EditVoiceState::new()
        .suppress(suppress)
        .execute(http, (guild, stage, Some(user)))
        .await;
    outcome(done, guild, user, "stage suppress", suppress)
}

fn outcome(
    done: serenity::Result<()>,
    guild: GuildId,
    user: UserId,
    what: &'static str,
    on: bool,
) -> Result<MuteOutcome, MuteError> {
    match done {
        Ok(()) => {
            tracing::info!(guild = %guild, user = %user, on, "{what} set");
            Ok(MuteOutcome::Applied)
        }
        Err(serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(response))) => {
            match response.error.code {
                NOT_IN_VOICE | UNKNOWN_VOICE_STATE => {
                    tracing::info!(guild = %guild, user = %user, on, "member not in voice; {what} not applied");
                    Ok(MuteOutcome::NotInVoice)
                }
                MISSING_PERMISSIONS => {
                    tracing::warn!(guild = %guild, "missing Mute Members permission for {what}");
                    Err(MuteError::MissingPermission { guild: guild.get() })
                }
                code => Err(MuteError::Failed {
                    guild: guild.get(),
                    detail: format!("HTTP {}, Discord code {code}", response.status_code.as_u16()),
                }),
            }
        }
        Err(e) => Err(MuteError::Failed {
            guild: guild.get(),
            detail: crate::describe(&e),
        }),
    }
}
