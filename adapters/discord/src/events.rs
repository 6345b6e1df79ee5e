//! Meetings mirrored as Discord's native Guild Scheduled Events: create or
//! update the next occurrence of a series, cancel it, and stay within
//! Discord's 100 scheduled events per guild. The core asks for them through
//! `Outbox::mirror`, which `DiscordOutbox` carries out with these.

use chrono::{DateTime, Utc};
use serenity::all::{
    ChannelId, CreateScheduledEvent, EditScheduledEvent, GuildId, Http, ScheduledEventId, ScheduledEventStatus,
    ScheduledEventType,
};

/// Discord's limit of scheduled (or active) events per guild.
pub const EVENTS_MAX: usize = 100;
/// Discord's code for "Unknown Guild Scheduled Event".
pub const UNKNOWN_EVENT: isize = 10070;
/// Discord's code for "Maximum number of guild scheduled events reached".
pub const TOO_MANY_EVENTS: isize = 30038;
const NAME_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 1000;
const LOCATION_MAX: usize = 100;

/// Where a meeting happens, as Discord's event kinds see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPlace {
    /// A voice channel of the guild.
    Voice(u64),
    /// A stage channel of the guild.
    Stage(u64),
    /// Anywhere else: a link, a room, an address.
    External(String),
}

/// One occurrence of a meeting, as a native event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeEvent {
    pub name: String,
    pub description: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub place: EventPlace,
    /// Discord's own rule, when it says every meeting to come (see
    /// [`crate::recurrence`]): one event that repeats. `None`: the event
    /// stands for this meeting alone.
    pub repeat: Option<crate::recurrence::Rule>,
}

/// A builder's body with the event's `recurrence_rule` added: serenity
/// 0.12's builders have no such field, so the body goes through serenity's
/// own HTTP client as JSON. An edit always says it (`null` when the event
/// stands for one meeting), so an event that repeated stops repeating.
fn with_rule(
    builder: &impl serde::Serialize,
    repeat: Option<&crate::recurrence::Rule>,
    edit: bool,
) -> serde_json::Value {
    let mut body = serde_json::to_value(builder).unwrap_or_else(|_| serde_json::json!({}));
    match repeat {
        Some(rule) => body["recurrence_rule"] = rule.to_json(),
        None if edit => body["recurrence_rule"] = serde_json::Value::Null,
        None => {}
    }
    body
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("guild {guild} already has Discord's maximum of 100 scheduled events; this meeting is not mirrored")]
    LimitReached { guild: u64 },
    #[error("Hearth lacks the Manage Events permission in guild {guild}; meetings are not mirrored as events")]
    MissingPermission { guild: u64 },
    #[error("scheduled event in guild {guild}: {detail}")]
    Failed { guild: u64, detail: String },
}

/// Mirrors `event`: updates the event `existing` (one that has not started)
/// or, when there is none or Discord no longer has it, creates one if the
/// guild is under the limit. Returns the event's id, to store.
pub async fn mirror_event(
    http: &Http,
    guild: GuildId,
    existing: Option<u64>,
    event: &NativeEvent,
) -> Result<u64, EventError> {
    if let Some(id) = existing.filter(|id| *id != 0) {
        let (kind, channel, location) = place(&event.place);
        let mut edit = EditScheduledEvent::new()
            .kind(kind)
            .name(crate::render::truncate(&event.name, NAME_MAX))
            .start_time(event.start)
            .end_time(event.end);
        if let Some(channel) = channel {
            edit = edit.channel_id(channel);
        }
        if let Some(location) = location {
            edit = edit.location(location);
        }
        if let Some(description) = &event.description {
            edit = edit.description(crate::render::truncate(description, DESCRIPTION_MAX));
        }
        let body = with_rule(&edit, event.repeat.as_ref(), true);
        match http
            .edit_scheduled_event(guild, ScheduledEventId::new(id), &body, None)
            .await
        {
            Ok(updated) => {
                tracing::info!(guild = %guild, event = %updated.id, "scheduled event updated");
                return Ok(updated.id.get());
            }
            Err(e) if code(&e) == Some(UNKNOWN_EVENT) => {
                tracing::info!(guild = %guild, event = id, "scheduled event gone; creating it anew");
            }
            Err(e) => return Err(failure(guild, &e)),
        }
    }

    let existing = guild
        .scheduled_events(http, false)
        .await
        .map_err(|e| failure(guild, &e))?;
    let live = existing
        .iter()
        .filter(|e| matches!(e.status, ScheduledEventStatus::Scheduled | ScheduledEventStatus::Active))
        .count();
    if live >= EVENTS_MAX {
        tracing::warn!(guild = %guild, live, "scheduled event limit reached");
        return Err(EventError::LimitReached { guild: guild.get() });
    }

    let (kind, channel, location) = place(&event.place);
    let mut create = CreateScheduledEvent::new(kind, crate::render::truncate(&event.name, NAME_MAX), event.start)
        .end_time(event.end);
    if let Some(channel) = channel {
        create = create.channel_id(channel);
    }
    if let Some(location) = location {
        create = create.location(location);
    }
    if let Some(description) = &event.description {
        create = create.description(crate::render::truncate(description, DESCRIPTION_MAX));
    }
    // `&Http` carries no cache, so Discord (not a stale cache) judges permissions.
    let body = with_rule(&create, event.repeat.as_ref(), false);
    let created = http
        .create_scheduled_event(guild, &body, None)
        .await
        .map_err(|e| failure(guild, &e))?;
    tracing::info!(guild = %guild, event = %created.id, repeats = event.repeat.is_some(), "scheduled event created");
    Ok(created.id.get())
}

/// Cancels an event; one Discord no longer has counts as cancelled.
pub async fn cancel_event(http: &Http, guild: GuildId, id: u64) -> Result<(), EventError> {
    if id == 0 {
        return Ok(());
    }
    let cancel = EditScheduledEvent::new().status(ScheduledEventStatus::Canceled);
    match guild
        .edit_scheduled_event(http, ScheduledEventId::new(id), cancel)
        .await
    {
        Ok(_) => {
            tracing::info!(guild = %guild, event = id, "scheduled event cancelled");
            Ok(())
        }
        Err(e) if code(&e) == Some(UNKNOWN_EVENT) => Ok(()),
        Err(e) => Err(failure(guild, &e)),
    }
}

/// Ends an event that has started: the one change Discord allows to an
/// active event. One Discord no longer has, or that has ended, counts as ended.
pub async fn end_event(http: &Http, guild: GuildId, id: u64) -> Result<(), EventError> {
    let end = EditScheduledEvent::new().status(ScheduledEventStatus::Completed);
    match guild.edit_scheduled_event(http, ScheduledEventId::new(id), end).await {
        Ok(_) => {
            tracing::info!(guild = %guild, event = id, "scheduled event ended");
            Ok(())
        }
        Err(e) if code(&e) == Some(UNKNOWN_EVENT) => Ok(()),
        Err(e) => Err(failure(guild, &e)),
    }
}

fn place(place: &EventPlace) -> (ScheduledEventType, Option<ChannelId>, Option<String>) {
    match place {
        EventPlace::Voice(id) if *id != 0 => (ScheduledEventType::Voice, Some(ChannelId::new(*id)), None),
        EventPlace::Stage(id) if *id != 0 => (ScheduledEventType::StageInstance, Some(ChannelId::new(*id)), None),
        EventPlace::External(location) => (
            ScheduledEventType::External,
            None,
            Some(crate::render::truncate(location, LOCATION_MAX)),
        ),
        // A channel id of 0 is no channel: say where in words instead.
        EventPlace::Voice(_) | EventPlace::Stage(_) => (ScheduledEventType::External, None, Some("Discord".into())),
    }
}

fn code(error: &serenity::Error) -> Option<isize> {
    match error {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) => Some(r.error.code),
        _ => None,
    }
}

fn failure(guild: GuildId, error: &serenity::Error) -> EventError {
    match code(error) {
        Some(crate::voice::MISSING_PERMISSIONS) => EventError::MissingPermission { guild: guild.get() },
        Some(TOO_MANY_EVENTS) => EventError::LimitReached { guild: guild.get() },
        _ => EventError::Failed {
            guild: guild.get(),
            detail: crate::describe(error),
        },
    }
}
