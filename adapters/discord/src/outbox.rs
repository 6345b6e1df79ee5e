//! Deliveries the core asks for outside a reply: channel posts and DMs, each
//! sent with a nonce derived from its idempotency key and `enforce_nonce`, so
//! that Discord drops a retried send instead of posting it twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bot_core::io::{BoxFuture, Delivery, DeliveryError, Outbox};
use bot_core::{Effect, EventDetails, MeetingEvent, Message, Platform};
use serenity::all::{
    ChannelId, CreateMessage, EditMessage, GuildId, Http, MessageId, Nonce, ScheduledEventStatus, UserId,
};

use crate::events::{self, EventError, EventPlace, NativeEvent};

use crate::render::render_in;

/// Carries out [`Effect`]s on Discord's REST API.
#[derive(Debug, Clone)]
pub struct DiscordOutbox {
    http: Arc<Http>,
    /// Each member's DM channel, once Discord has told us: a reminder to
    /// someone we wrote to before is one request, not two.
    dm_channels: Arc<Mutex<HashMap<u64, u64>>>,
}

/// Discord lets a bot make 50 requests a second in all (interaction answers
/// aside). serenity keeps each route's limit from the headers, but learns of
/// the global one only from a 429, so a burst of reminders would provoke
/// one. The outbox stays under it by itself: one request every 1/45 s, with
/// room left for the adapter's own calls. One bot token per process, so one
/// pace per process.
const REQUEST_INTERVAL: Duration = Duration::from_micros(1_000_000 / 45);

static NEXT_REQUEST: Mutex<Option<tokio::time::Instant>> = Mutex::new(None);

/// Waits for this request's turn under the global limit.
async fn pace() {
    let slot = {
        let mut next = NEXT_REQUEST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = tokio::time::Instant::now();
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + REQUEST_INTERVAL);
        slot
    };
    tokio::time::sleep_until(slot).await;
}

/// Forgotten past this many, so a huge server cannot grow the map for ever.
const DM_CHANNELS_KEPT: usize = 100_000;

impl DiscordOutbox {
    /// An outbox over an existing client (the one [`crate::run`] uses, or one
    /// from [`crate::DiscordConfig::http`]).
    pub fn new(http: Arc<Http>) -> Self {
        Self {
            http,
            dm_channels: Arc::default(),
        }
    }

    /// An outbox with its own REST client, built from the configuration.
    pub fn from_config(config: &crate::DiscordConfig) -> anyhow::Result<Self> {
        Ok(Self::new(Arc::new(config.http()?)))
    }

    /// Carries out one effect.
    pub async fn effect(&self, effect: &Effect) -> Result<(), DeliveryError> {
        self.effect_in(None, effect).await
    }

    /// Carries out an effect of `community` (a guild id): a DM's buttons
    /// carry it, since a press in a DM has no server of its own.
    pub async fn effect_in(&self, community: Option<&str>, effect: &Effect) -> Result<(), DeliveryError> {
        match effect {
            Effect::Post { channel, message, key } => self.send(channel, message, key.as_deref(), None).await,
            Effect::Dm { user, message, key } => self.dm_in(community, user, message, key.as_deref()).await,
            Effect::Status {
                channel, message, edit, ..
            } => self.status(channel, message, edit.as_deref()).await.map(drop),
            // Mutes are reported back to the core: the adapter's handler carries them out.
            Effect::Mute { .. } => Err(DeliveryError::Permanent("a mute is not a delivery".into())),
        }
    }

    /// Edits a live status message in place; posts it when there is none to
    /// edit, or Discord no longer has it. Returns the new message's id when
    /// it posted one, for the core to edit next time.
    pub async fn status(
        &self,
        channel: &str,
        message: &Message,
        edit: Option<&str>,
    ) -> Result<Option<String>, DeliveryError> {
        let channel_id = snowflake(channel).map(ChannelId::new)?;
        if let Some(id) = edit.and_then(|id| id.parse::<u64>().ok()).filter(|id| *id != 0) {
            let builder = crate::render::fill!(EditMessage::new(), render_in(message, None));
            pace().await;
            match channel_id
                .edit_message(self.http.as_ref(), MessageId::new(id), builder)
                .await
            {
                Ok(_) => {
                    tracing::debug!(channel = %channel_id, message = id, "status edited");
                    return Ok(None);
                }
                Err(e) if code(&e) == Some(UNKNOWN_MESSAGE) => {
                    tracing::info!(channel = %channel_id, message = id, "status message gone; posting it anew");
                }
                Err(e) => return Err(classify(&e, "editing a status message", channel_id.get())),
            }
        }
        pace().await;
        match channel_id
            .send_message(self.http.as_ref(), create_message(message))
            .await
        {
            Ok(sent) => {
                tracing::debug!(channel = %channel_id, message = %sent.id, "status posted");
                Ok(Some(sent.id.get().to_string()))
            }
            Err(e) => Err(classify(&e, "posting a status message", channel_id.get())),
        }
    }

    /// Posts in a channel.
    pub async fn post(&self, channel: &str, message: &Message, key: Option<&str>) -> Result<(), DeliveryError> {
        self.send(channel, message, key, None).await
    }

    async fn send(
        &self,
        channel: &str,
        message: &Message,
        key: Option<&str>,
        community: Option<&str>,
    ) -> Result<(), DeliveryError> {
        let channel = snowflake(channel).map(ChannelId::new)?;
        let mut builder = create_message_in(message, community);
        if let Some(key) = key {
            builder = builder.nonce(Nonce::String(nonce(key))).enforce_nonce(true);
        }
        pace().await;
        match channel.send_message(self.http.as_ref(), builder).await {
            Ok(sent) => {
                tracing::debug!(channel = %channel, message = %sent.id, "posted");
                Ok(())
            }
            Err(e) => Err(classify(&e, "posting to a channel", channel.get())),
        }
    }

    /// Sends a direct message, opening the DM channel first (Discord returns
    /// the existing one when there is one).
    pub async fn dm(&self, user: &str, message: &Message, key: Option<&str>) -> Result<(), DeliveryError> {
        self.dm_in(None, user, message, key).await
    }

    async fn dm_in(
        &self,
        community: Option<&str>,
        user: &str,
        message: &Message,
        key: Option<&str>,
    ) -> Result<(), DeliveryError> {
        let user = snowflake(user).map(UserId::new)?;
        let known = self.dm_channels.lock().ok().and_then(|m| m.get(&user.get()).copied());
        let channel = match known {
            Some(channel) => channel,
            None => {
                pace().await;
                let channel = match user.create_dm_channel(self.http.as_ref()).await {
                    Ok(channel) => channel.id.get(),
                    Err(e) => return Err(classify(&e, "opening a DM channel", user.get())),
                };
                if let Ok(mut m) = self.dm_channels.lock() {
                    if m.len() >= DM_CHANNELS_KEPT {
                        m.clear();
                    }
                    m.insert(user.get(), channel);
                }
                channel
            }
        };
        let sent = self.send(&channel.to_string(), message, key, community).await;
        if sent.is_err()
            && known.is_some()
            && let Ok(mut m) = self.dm_channels.lock()
        {
            // Opened afresh next time, in case the channel is what failed.
            m.remove(&user.get());
        }
        sent
    }
}

impl DiscordOutbox {
    /// Mirrors a meeting's next occurrence as the guild's scheduled event, or
    /// cancels it when there is none. The event is found again by the
    /// meeting's number at the end of its description, so nothing about it
    /// needs storing.
    ///
    /// An event that has started (Discord's "active") is never edited or
    /// cancelled, which Discord refuses: the next occurrence gets an event
    /// of its own, and when there is none any more (the series cancelled),
    /// the running one is ended, the one change Discord allows.
    pub async fn mirror_meeting(&self, community: &str, event: &MeetingEvent) -> Result<(), DeliveryError> {
        let guild = GuildId::new(snowflake(community)?);
        let marker = meeting_marker(event.meeting);
        pace().await;
        let listed = guild
            .scheduled_events(self.http.as_ref(), false)
            .await
            .map_err(|e| classify(&e, "listing scheduled events in guild", guild.get()))?;
        let ours = |status: ScheduledEventStatus| {
            listed
                .iter()
                .filter(move |e| e.status == status)
                .filter(|e| e.description.as_deref().is_some_and(|d| d.ends_with(&marker)))
                .map(|e| e.id.get())
        };
        let scheduled = ours(ScheduledEventStatus::Scheduled).next();
        let outcome = match &event.next {
            None => {
                let mut ended = Ok(());
                for id in ours(ScheduledEventStatus::Active) {
                    ended = ended.and(events::end_event(self.http.as_ref(), guild, id).await);
                }
                match scheduled {
                    Some(id) => ended.and(events::cancel_event(self.http.as_ref(), guild, id).await),
                    None => ended,
                }
            }
            // The occurrence under way is the one its active event shows.
            Some(next)
                if listed.iter().any(|e| {
                    e.status == ScheduledEventStatus::Active
                        && e.description.as_deref().is_some_and(|d| d.ends_with(&marker))
                        && e.start_time.unix_timestamp() == next.start.timestamp()
                }) =>
            {
                Ok(())
            }
            Some(next) => events::mirror_event(self.http.as_ref(), guild, scheduled, &native(next))
                .await
                .map(|_| ()),
        };
        outcome.map_err(|e| match e {
            // The limit and a missing permission will not go away by retrying soon.
            EventError::LimitReached { .. } | EventError::MissingPermission { .. } => {
                tracing::warn!(guild = %guild, meeting = event.meeting, "meeting not mirrored: {e}");
                DeliveryError::Permanent(e.to_string())
            }
            EventError::Failed { .. } => DeliveryError::Retry(e.to_string()),
        })
    }
}

/// How a mirrored event names its meeting, at the end of its description.
pub fn meeting_marker(meeting: i64) -> String {
    format!("(Hearth meeting {meeting})")
}

/// A voice channel mention becomes a voice event; any other place an external one.
fn native(next: &EventDetails) -> NativeEvent {
    let channel = next
        .location
        .as_deref()
        .and_then(|l| l.trim().strip_prefix("<#")?.strip_suffix('>')?.parse::<u64>().ok());
    let place = match (channel, &next.location) {
        (Some(id), _) => EventPlace::Voice(id),
        (None, Some(place)) => EventPlace::External(place.clone()),
        (None, None) => EventPlace::External("On this server: see the group's channel".into()),
    };
    NativeEvent {
        name: next.title.clone(),
        description: Some(next.description.clone()),
        start: next.start,
        end: next.end,
        place,
    }
}

impl Outbox for DiscordOutbox {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.effect_in(Some(&delivery.community), &delivery.effect))
    }

    fn mirror<'a>(&'a self, community: &'a str, event: &'a MeetingEvent) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.mirror_meeting(community, event))
    }
}

/// The builder for a new message, without nonce.
pub fn create_message(message: &Message) -> CreateMessage {
    create_message_in(message, None)
}

/// A message whose buttons act in `community`, for a DM.
pub fn create_message_in(message: &Message, community: Option<&str>) -> CreateMessage {
    crate::render::fill!(CreateMessage::new(), render_in(message, community), add_file)
}

/// Discord's nonce (at most 25 characters) for an idempotency key: the first
/// 25 hex digits of the key's 128-bit FNV-1a hash, the same in every run and
/// every build.
pub fn nonce(key: &str) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let hash = key.bytes().fold(OFFSET, |h, b| (h ^ u128::from(b)).wrapping_mul(PRIME));
    format!("{hash:032x}")[..25].to_string()
}

/// Discord's code for "Unknown Message".
const UNKNOWN_MESSAGE: isize = 10008;

fn code(error: &serenity::Error) -> Option<isize> {
    match error {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) => Some(r.error.code),
        _ => None,
    }
}

fn snowflake(id: &str) -> Result<u64, DeliveryError> {
    match id.parse::<u64>() {
        Ok(id) if id != 0 => Ok(id),
        _ => Err(DeliveryError::Permanent(format!("not a Discord id: {id:?}"))),
    }
}

/// Network trouble, rate limits and server errors are worth a retry; other
/// refusals (missing permission, unknown channel, DMs closed) are not.
fn classify(error: &serenity::Error, doing: &str, id: u64) -> DeliveryError {
    let (retry, detail) = match error {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            (
                status == 429 || status >= 500,
                format!("HTTP {status}, Discord code {}", response.error.code),
            )
        }
        serenity::Error::Http(serenity::http::HttpError::Request(_)) => (true, crate::describe(error)),
        other => (false, crate::describe(other)),
    };
    tracing::warn!(id, retry, detail, "{doing} failed");
    let what = format!("{doing} {id}: {detail}");
    if retry {
        DeliveryError::Retry(what)
    } else {
        DeliveryError::Permanent(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_stable_short_and_distinct() {
        let a = nonce("meeting:1:2026-03-19T18:00:00Z:1h:user:7");
        assert_eq!(a.len(), 25);
        assert_eq!(a, nonce("meeting:1:2026-03-19T18:00:00Z:1h:user:7"));
        assert_ne!(a, nonce("meeting:1:2026-03-19T18:00:00Z:1h:user:8"));
        // Fixed forever: a restart must produce the nonce the first run used.
        assert_eq!(nonce(""), "6c62272e07bb014262b821756");
    }
}
