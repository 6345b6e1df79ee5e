//! What the gateway's event handlers share. The handling itself is split by
//! concern, each an `impl Handler` of its own module, above this one:
//! `gateway` (the events) hands interactions to `interactions`, which answers
//! through `answers`; `presence` follows who is in voice; `effects` carries
//! out what the core asks, muting through `mutes`.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bot_core::Hearth;
use serenity::all::InteractionId;

pub(crate) struct Handler {
    pub(crate) hearth: Hearth,
    pub(crate) guilds: Vec<u64>,
    /// The shards this process runs.
    pub(crate) shards: crate::config::Shards,
    pub(crate) facilitator_role: Option<String>,
    pub(crate) defer_after: Duration,
    pub(crate) registered: AtomicBool,
    /// Whether a channel is a stage, as Discord said for one the cache did
    /// not hold: asked once per channel, not once per mute.
    pub(crate) stages: std::sync::Mutex<std::collections::HashMap<serenity::all::ChannelId, bool>>,
    /// This process's pace under Discord's global limit (its share of it).
    pub(crate) pace: std::sync::Arc<crate::outbox::Pace>,
}

/// An interaction to answer.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub(crate) id: InteractionId,
    pub(crate) token: &'a str,
}
