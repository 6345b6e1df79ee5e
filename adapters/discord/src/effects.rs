//! Carrying out what the core asks beyond a reply: posts, DMs, status
//! messages (recorded once posted) and mutes.

use bot_core::{Effect, Response};
use serenity::all::Context;

use crate::DiscordOutbox;
use crate::handler::Handler;
use crate::voice;

impl Handler {
    /// Carries out a response's effects; DMs' buttons act in `community`.
    pub(crate) async fn effects(&self, ctx: &Context, community: Option<&str>, response: &Response) {
        if response.effects.is_empty() {
            return;
        }
        let outbox = DiscordOutbox::paced(ctx.http.clone(), self.pace.clone());
        let mut queue: std::collections::VecDeque<Effect> = response.effects.iter().cloned().collect();
        while let Some(effect) = queue.pop_front() {
            let effect = &effect;
            if let Some((community, channel, user, mute, stage)) = voice::mute_of(effect) {
                // What the core answers a report with (a note to the facilitator) comes next.
                queue.extend(self.mute(ctx, community, channel, user, mute, stage).await.effects);
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
