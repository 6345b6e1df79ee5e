//! Voice: who is in which voice channel (VOICE_STATE_UPDATE) as core presence
//! inputs, and the server mute (on a stage: suppress) of the talking stick's
//! "mute others".

use crate::Shards;
use bot_core::{Actor, Effect, Hearth, Input, InputKind, MuteReport, Place, Platform, PresenceChange};
use serenity::all::{ChannelId, ChannelType, EditMember, EditVoiceState, GuildId, Http, Member, UserId, VoiceState};

/// Discord's code for "Target user is not connected to voice".
pub const NOT_IN_VOICE: isize = 40032;
/// Discord's code for "Unknown Voice State" (not in that stage channel).
pub const UNKNOWN_VOICE_STATE: isize = 10065;
/// Discord's code for "Missing Permissions".
pub const MISSING_PERMISSIONS: isize = 50013;

/// Where a voice state update leaves the person: `now_in` is the channel
/// they are in now (from the cache, which serenity updates in gateway order
/// before it runs handlers, each in a task of its own; else from the event).
/// The input says where they are, not what changed, so updates handled out
/// of order still leave the core with the latest state. `None` for a mute or
/// deafen toggle within one channel, which means nothing to the core.
/// `may_mute`: Discord lets the person mute others where they are now.
pub fn presence_input(
    old: Option<&VoiceState>,
    new: &VoiceState,
    now_in: Option<ChannelId>,
    may_mute: bool,
) -> Option<Input> {
    let guild = new.guild_id.or_else(|| old.and_then(|o| o.guild_id))?;
    if let Some(old) = old
        && old.channel_id == new.channel_id
        && now_in == new.channel_id
    {
        return None;
    }
    let actor = Actor {
        may_mute,
        ..voice_actor(
            new.user_id,
            new.member.as_ref().or_else(|| old.and_then(|o| o.member.as_ref())),
        )
    };
    // A leave names no channel: the core knows where the person was.
    let channel = now_in.map(|c| c.get().to_string()).unwrap_or_default();
    Some(Input {
        actor,
        place: Place {
            platform: Platform::Discord,
            community: guild.get().to_string(),
            channel: channel.clone(),
        },
        kind: InputKind::Presence(PresenceChange {
            channel,
            present: now_in.is_some(),
            until: None,
        }),
    })
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

/// Carries out a mute or unmute: suppress on a stage, server mute elsewhere.
pub async fn apply_mute(
    http: &Http,
    guild: GuildId,
    channel: ChannelId,
    user: UserId,
    mute: bool,
    stage: bool,
) -> MuteReport {
    let done = if stage {
        set_stage_suppress(http, guild, channel, user, mute).await
    } else {
        set_server_mute(http, guild, user, mute).await
    };
    match done {
        Ok(MuteOutcome::Applied) => MuteReport::Applied,
        Ok(MuteOutcome::NotInVoice) => MuteReport::NotInVoice,
        Err(MuteError::MissingPermission { .. }) => MuteReport::NoPermission,
        Err(MuteError::Failed { guild, detail }) => {
            tracing::warn!(guild, detail, "discord: a mute failed");
            MuteReport::Failed
        }
    }
}

/// Whether Discord's audit log says someone other than the bot server-muted
/// `user` last: a moderator's mute laid over the bot's, which the bot must
/// leave in place. `false` when the log cannot be read (the bot lacks View
/// Audit Log) or does not say: the bot then undoes its own mute as recorded.
pub async fn moderator_kept_mute(http: &Http, guild: GuildId, user: UserId, bot: UserId) -> bool {
    use serenity::all::audit_log::{Action, Change, MemberAction};
    let logs = match guild
        .audit_logs(http, Some(Action::Member(MemberAction::Update)), None, None, Some(50))
        .await
    {
        Ok(logs) => logs,
        Err(e) => {
            tracing::info!(guild = %guild, error = %crate::describe(&e), "discord: audit log unread; unmuting as recorded");
            return false;
        }
    };
    let last = logs.entries.iter().find_map(|entry| {
        if entry.target_id.map(|t| t.get()) != Some(user.get()) {
            return None;
        }
        entry.changes.as_ref()?.iter().find_map(|change| match change {
            Change::Mute { new, .. } => Some((entry.user_id, *new)),
            _ => None,
        })
    });
    matches!(last, Some((by, Some(true))) if by != bot)
}

/// Whether `channel` is a stage, asked of Discord (`GET /channels/{id}`):
/// for a channel the cache does not hold, as at start-up. `None` when
/// Discord cannot say (the channel is gone, or the request failed).
pub async fn channel_is_stage(http: &Http, channel: ChannelId) -> Option<bool> {
    match http.get_channel(channel).await {
        Ok(found) => Some(found.guild().is_some_and(|c| c.kind == ChannelType::Stage)),
        Err(e) => {
            tracing::warn!(channel = %channel, error = %crate::describe(&e), "discord: reading a channel's kind");
            None
        }
    }
}

/// The guild, channel and user of a mute effect, as Discord ids.
pub fn mute_target(community: &str, channel: &str, user: &str) -> Option<(GuildId, ChannelId, UserId)> {
    let id = |s: &str| s.parse::<u64>().ok().filter(|n| *n != 0);
    Some((
        GuildId::new(id(community)?),
        ChannelId::new(id(channel)?),
        UserId::new(id(user)?),
    ))
}

/// An `Effect::Mute`'s community, channel, user, whether to mute, and
/// whether the channel is known to be a stage; `None` for any other effect.
pub(crate) fn mute_of(effect: &Effect) -> Option<(&str, &str, &str, bool, Option<bool>)> {
    match effect {
        Effect::Mute {
            community,
            channel,
            user,
            mute,
            stage,
        } => Some((community, channel, user, *mute, *stage)),
        _ => None,
    }
}

/// Undoes every mute the bot recorded in the servers of `shards` (this
/// process's): at start-up (a crashed run's) and at shutdown. No cache is
/// needed: these are the bot's own mutes.
pub async fn release_mutes(http: &Http, hearth: &Hearth, shards: Shards) {
    let effects = match hearth.mutes_to_release(Platform::Discord).await {
        Ok(effects) => effects,
        Err(e) => {
            tracing::error!(error = %e, "discord: reading recorded mutes");
            return;
        }
    };
    // What Discord said of each channel the record does not mark as a stage.
    let mut kinds: std::collections::HashMap<ChannelId, bool> = std::collections::HashMap::new();
    // Who the bot is, for the audit log, asked once and only if there is something to undo.
    let mut me: Option<Option<UserId>> = None;
    for effect in effects {
        let Some((community, channel, user, mute, stage)) = mute_of(&effect) else {
            continue;
        };
        let Some((guild, channel_id, user_id)) = mute_target(community, channel, user) else {
            continue;
        };
        // Another process's server: its circle may be live there.
        if !shards.runs(guild.get()) {
            continue;
        }
        // A confirmed suppress is undone as one; otherwise the channel says
        // (a crash may have come between a suppress and its record). A
        // channel Discord no longer knows takes a server unmute.
        let stage = match stage {
            Some(stage) => stage,
            None => match kinds.get(&channel_id) {
                Some(stage) => *stage,
                None => {
                    let stage = channel_is_stage(http, channel_id).await.unwrap_or(false);
                    kinds.insert(channel_id, stage);
                    stage
                }
            },
        };
        let bot = match me {
            Some(bot) => bot,
            None => {
                let bot = http.get_current_user().await.ok().map(|u| u.id);
                me = Some(bot);
                bot
            }
        };
        // A moderator's mute laid over the bot's stays.
        let kept = match bot {
            Some(bot) if !mute && !stage => moderator_kept_mute(http, guild, user_id, bot).await,
            _ => false,
        };
        let report = if kept {
            MuteReport::Skipped
        } else {
            apply_mute(http, guild, channel_id, user_id, mute, stage).await
        };
        if let Err(e) = hearth.muted(community, user, mute, stage, report).await {
            tracing::error!(error = %e, "discord: recording an unmute");
        }
    }
}
