//! A circle's mute or unmute, carried out with care for what others did:
//! a person someone else muted is left alone, and a moderator's mute laid
//! over the bot's stays.

use bot_core::Response;
use serenity::all::Context;

use crate::handler::Handler;
use crate::voice;

impl Handler {
    /// Mutes or unmutes (on a stage: suppresses or not), leaving alone a
    /// person someone else already muted, and tells the core what happened.
    /// `known_stage`: the core's record of a confirmed suppress; else the
    /// cache says whether the channel is a stage, or Discord does.
    pub(crate) async fn mute(
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
