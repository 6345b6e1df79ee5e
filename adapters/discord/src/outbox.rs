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

use crate::config::Shards;
use crate::events::{self, EventError, EventPlace, NativeEvent};

use crate::render::render_in;

/// Carries out [`Effect`]s on Discord's REST API.
#[derive(Debug, Clone)]
pub struct DiscordOutbox {
    http: Arc<Http>,
    /// Each member's DM channel, once Discord has told us: a reminder to
    /// someone we wrote to before is one request, not two.
    dm_channels: Arc<Mutex<HashMap<u64, u64>>>,
    /// This process's pace under Discord's global limit.
    pace: Arc<Pace>,
}

/// The pace of this process's deliveries under Discord's global limit.
///
/// Discord lets a bot make 50 requests a second in all (interaction answers
/// aside), whatever the number of processes it runs in. serenity keeps each
/// route's limit from the headers, but learns of the global one only from a
/// 429, so a burst of reminders would provoke one. The outbox stays under
/// it by itself.
///
/// With its shards split across processes (`[discord] shards`), each
/// process paces at its share: `50 × (shards it runs) / total`, rounded
/// down, at least 1 ([`Shards::share_of_global_limit`]); all shards in one
/// process (the default) is the whole 50. Why a fixed share rather than a
/// limiter shared through the database: it is simple, needs no shared
/// state and no round trip per request, and each process knows its share
/// from its own configuration, so a process whose peers are down or slow
/// is never held up by them. The cost: the share of an idle process goes
/// unused, so a burst in one process takes longer than the bot's limit
/// alone would ask. Shards carry similar numbers of servers (Discord
/// spreads them by id), so the shares match the work well enough.
///
/// Of its share, the outbox takes 9/10, rounded down (45 of 50 a second
/// for one process, as before shards; 22 of 25), leaving room for the
/// adapter's own calls (mutes, lookups), which are not paced.
///
/// Requests go one at a time, in the order they asked (a fair lock), and a
/// request goes only when fewer than that many went in the last second,
/// and at least half an even spacing after the previous one. Counting the
/// requests that actually went, not planned slots, a backlog of requests
/// that woke late (a busy machine) never goes in one burst past the limit;
/// the half spacing lets them catch up without bunching.
#[derive(Debug)]
pub(crate) struct Pace {
    per_second: u32,
    spacing: Duration,
    /// When the requests of the last second went, oldest first.
    went: tokio::sync::Mutex<std::collections::VecDeque<tokio::time::Instant>>,
}

/// The window Discord's global limit counts in.
const SECOND: Duration = Duration::from_secs(1);

impl Pace {
    /// A new pace starts with its first second full: this process may be
    /// the restart of one killed a moment ago, whose last second of requests
    /// Discord still counts against the bot. Without it, the soak's restarts
    /// drew 150 to 220 global 429s in a run of 10,000 reminders.
    fn at_share(share: u32) -> Self {
        let per_second = (share.saturating_mul(9) / 10).max(1);
        let now = tokio::time::Instant::now();
        Self {
            per_second,
            spacing: SECOND / per_second / 2,
            went: tokio::sync::Mutex::new(std::iter::repeat_n(now, per_second as usize).collect()),
        }
    }

    /// Waits for this request's turn under the global limit.
    pub(crate) async fn wait(&self) {
        let mut went = self.went.lock().await;
        loop {
            let now = tokio::time::Instant::now();
            while went.front().is_some_and(|t| now.duration_since(*t) >= SECOND) {
                went.pop_front();
            }
            let mut at = went.back().map_or(now, |last| (*last + self.spacing).max(now));
            if went.len() >= self.per_second as usize
                && let Some(oldest) = went.front()
            {
                at = at.max(*oldest + SECOND);
            }
            if at <= now {
                went.push_back(now);
                return;
            }
            tokio::time::sleep_until(at).await;
        }
    }
}

/// The paces of this process, one per shard setting: a process has one
/// configuration, so one pace shared by the adapter's answers and the
/// scheduler's outbox. Keyed by the setting so that two adapters in one
/// test process, standing for two processes, keep their own.
static PACES: Mutex<Vec<(Option<Shards>, Arc<Pace>)>> = Mutex::new(Vec::new());

/// The pace of a process configured with `shards` (`None`: all of them).
pub(crate) fn pace_for(shards: Option<Shards>) -> Arc<Pace> {
    let mut paces = PACES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, pace)) = paces.iter().find(|(key, _)| *key == shards) {
        return pace.clone();
    }
    let share = shards.map_or(crate::config::GLOBAL_LIMIT, |s| s.share_of_global_limit());
    let pace = Arc::new(Pace::at_share(share));
    paces.push((shards, pace.clone()));
    pace
}

/// The requests the outbox sends at most in any second, with `shards`
/// (`None`: all of them in this process): 9/10 of the process's share of
/// the global limit, rounded down.
pub fn paced_per_second(shards: Option<Shards>) -> u32 {
    pace_for(shards).per_second
}

/// Forgotten past this many, so a huge server cannot grow the map for ever.
const DM_CHANNELS_KEPT: usize = 100_000;

impl DiscordOutbox {
    /// An outbox over an existing client (the one [`crate::run`] uses, or one
    /// from [`crate::DiscordConfig::http`]).
    /// It paces as a process running all the shards does.
    pub fn new(http: Arc<Http>) -> Self {
        Self::paced(http, pace_for(None))
    }

    pub(crate) fn paced(http: Arc<Http>, pace: Arc<Pace>) -> Self {
        Self {
            http,
            dm_channels: Arc::default(),
            pace,
        }
    }

    /// An outbox with its own REST client, built from the configuration,
    /// pacing at the share of the global limit that its `shards` give.
    pub fn from_config(config: &crate::DiscordConfig) -> anyhow::Result<Self> {
        Ok(Self::paced(Arc::new(config.http()?), pace_for(config.shards)))
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
            self.pace.wait().await;
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
        self.pace.wait().await;
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
        self.pace.wait().await;
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
                self.pace.wait().await;
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
    /// the running one is ended, the one change Discord allows. A repeating
    /// one stays the series' only event: Discord moves it on to its next
    /// occurrence when it ends (see [`events::end_event`]).
    pub async fn mirror_meeting(&self, community: &str, event: &MeetingEvent) -> Result<(), DeliveryError> {
        let guild = GuildId::new(snowflake(community)?);
        let marker = meeting_marker(event.meeting);
        self.pace.wait().await;
        let listed = events::list_events(self.http.as_ref(), guild)
            .await
            .map_err(|e| classify(&e, "listing scheduled events in guild", guild.get()))?;
        let ours = |status: ScheduledEventStatus| {
            listed
                .iter()
                .filter(move |l| l.event.status == status)
                .filter(|l| l.event.description.as_deref().is_some_and(|d| d.ends_with(&marker)))
        };
        let scheduled = ours(ScheduledEventStatus::Scheduled).next().map(|l| l.event.id.get());
        let active: Vec<u64> = ours(ScheduledEventStatus::Active).map(|l| l.event.id.get()).collect();
        let running = ours(ScheduledEventStatus::Active).find(|l| l.rule.is_some());
        let outcome = match &event.next {
            None => self.end_series(guild, &active, scheduled).await,
            // The occurrence under way is the one its active event shows.
            Some(next)
                if ours(ScheduledEventStatus::Active)
                    .any(|l| l.event.start_time.unix_timestamp() == next.start.timestamp()) =>
            {
                Ok(())
            }
            Some(next) => match running {
                None => events::mirror_event(self.http.as_ref(), guild, scheduled, &native(next))
                    .await
                    .map(|_| ()),
                // Any event of ours to come beside it would be a second one.
                Some(running) => {
                    let stray = match scheduled {
                        Some(id) => events::cancel_event(self.http.as_ref(), guild, id).await,
                        None => Ok(()),
                    };
                    if stray.is_ok() && !events::carries_on(running, &native(next)) {
                        // Discord moves it on to the wrong meeting: set right
                        // once it is scheduled again, which a later try sees.
                        return Err(DeliveryError::Retry(format!(
                            "the repeating event of meeting {} is under way; it is updated once it ends",
                            event.meeting
                        )));
                    }
                    stray
                }
            },
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

    /// A cancelled series' events: the running ones ended, the one to come
    /// cancelled. A repeating one that Discord moves on when it ends, instead
    /// of completing it, is cancelled too, so it shows no more.
    async fn end_series(&self, guild: GuildId, active: &[u64], scheduled: Option<u64>) -> Result<(), EventError> {
        let http = self.http.as_ref();
        let mut ended = Ok(());
        for &id in active {
            let step = match events::end_event(http, guild, id).await {
                Ok(true) => events::cancel_event(http, guild, id).await,
                other => other.map(|_| ()),
            };
            ended = ended.and(step);
        }
        match scheduled {
            Some(id) => ended.and(events::cancel_event(http, guild, id).await),
            None => ended,
        }
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
        repeat: crate::recurrence::fitting(&next.repeats),
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

    #[tokio::test]
    async fn a_new_pace_waits_out_the_second_a_killed_predecessor_may_have_used() {
        let pace = Pace::at_share(10);
        let started = tokio::time::Instant::now();

        pace.wait().await;
        let first = started.elapsed();
        for _ in 0..9 {
            pace.wait().await;
        }
        let ten = started.elapsed();

        assert!(first >= SECOND, "the first request waited {first:?}");
        assert!(first < SECOND * 2, "but not much more: {first:?}");
        // Nine a second from then on: the tenth goes in the second after.
        assert!(ten >= SECOND * 2, "ten requests at nine a second took {ten:?}");
    }
}
