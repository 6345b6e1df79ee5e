//! Meetings mirrored as Discord's native Guild Scheduled Events: create or
//! update the next occurrence of a series, cancel it, and stay within
//! Discord's 100 scheduled events per guild. The core asks for them through
//! `Outbox::mirror`, which `DiscordOutbox` carries out with these.

use chrono::{DateTime, Utc};
use serenity::all::{
    ChannelId, CreateScheduledEvent, EditScheduledEvent, GuildId, Http, LightMethod, Request, Route, ScheduledEvent,
    ScheduledEventId, ScheduledEventStatus, ScheduledEventType,
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

/// A guild's scheduled event as listed, with the `recurrence_rule` that
/// serenity 0.12's model leaves out.
#[derive(Debug, Clone)]
pub struct Listed {
    pub event: ScheduledEvent,
    /// `None`: the event stands for one occurrence.
    pub rule: Option<serde_json::Value>,
}

/// The guild's scheduled events, each with its rule.
pub async fn list_events(http: &Http, guild: GuildId) -> Result<Vec<Listed>, serenity::Error> {
    let request = Request::new(Route::GuildScheduledEvents { guild_id: guild }, LightMethod::Get)
        .params(Some(vec![("with_user_count", "false".to_string())]));
    let listed: Vec<serde_json::Value> = http.fire(request).await?;
    listed
        .into_iter()
        .map(|mut raw| {
            let rule = Some(raw["recurrence_rule"].take()).filter(|r| !r.is_null());
            Ok(Listed {
                event: serde_json::from_value(raw)?,
                rule,
            })
        })
        .collect::<Result<_, serde_json::Error>>()
        .map_err(serenity::Error::from)
}

/// Whether the repeating event `running`, once Discord has moved it on from
/// the occurrence under way (see [`end_event`]), shows `want`: the same rule
/// from a later start, `want`'s start its next occurrence, and the same
/// name, description, place and length. Nothing then needs changing, which
/// Discord would refuse while the event runs.
pub fn carries_on(running: &Listed, want: &NativeEvent) -> bool {
    let (Some(rule), Some(wanted)) = (&running.rule, &want.repeat) else {
        return false;
    };
    // The pattern without its start; Discord lists the fields left out as null.
    let pattern = |rule: &serde_json::Value| -> serde_json::Value {
        let mut fields = rule.as_object().cloned().unwrap_or_default();
        fields.retain(|key, value| key != "start" && !value.is_null());
        serde_json::Value::Object(fields)
    };
    let e = &running.event;
    let Some(from) = DateTime::from_timestamp(e.start_time.unix_timestamp(), 0) else {
        return false;
    };
    let (kind, channel, location) = place(&want.place);
    pattern(rule) == pattern(&wanted.to_json())
        && wanted.follows(from)
        && e.name == crate::render::truncate(&want.name, NAME_MAX)
        && e.description
            == want
                .description
                .as_deref()
                .map(|d| crate::render::truncate(d, DESCRIPTION_MAX))
        && e.kind == kind
        && e.channel_id == channel
        && e.metadata.as_ref().and_then(|m| m.location.clone()) == location
        && e.end_time.map(|t| t.unix_timestamp()) == Some((from + (want.end - want.start)).timestamp())
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
///
/// Returns whether Discord moved it on instead: a repeating event that ends
/// comes back scheduled for its next occurrence rather than completed
/// (<https://github.com/discord/discord-api-docs/issues/6885>), and is then
/// cancelled like any event to come.
pub async fn end_event(http: &Http, guild: GuildId, id: u64) -> Result<bool, EventError> {
    let end = EditScheduledEvent::new().status(ScheduledEventStatus::Completed);
    match guild.edit_scheduled_event(http, ScheduledEventId::new(id), end).await {
        Ok(ended) => {
            let moved_on = ended.status == ScheduledEventStatus::Scheduled;
            tracing::info!(guild = %guild, event = id, moved_on, "scheduled event ended");
            Ok(moved_on)
        }
        Err(e) if code(&e) == Some(UNKNOWN_EVENT) => Ok(false),
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// Weekly on Saturdays at 19:00 UTC from `first`, for an hour, in a voice channel.
    fn weekly(first: &str) -> NativeEvent {
        let start = at(first);
        let repeats = bot_core::Repeats {
            starts: (0..8).map(|i| start + Duration::weeks(i)).collect(),
            until: start + Duration::weeks(7),
            open_ended: true,
        };
        NativeEvent {
            name: "Grief circle".into(),
            description: Some("Weekly. (Hearth meeting 1)".into()),
            start,
            end: start + Duration::hours(1),
            place: EventPlace::Voice(42),
            repeat: crate::recurrence::fitting(&repeats),
        }
    }

    /// `event` as Discord lists it once it has started.
    fn running(event: &NativeEvent) -> Listed {
        let rule = event.repeat.as_ref().map(crate::recurrence::Rule::to_json);
        let mut listed_rule = rule.clone().unwrap_or_default();
        listed_rule["end"] = serde_json::Value::Null;
        let raw = serde_json::json!({
            "id": "7", "guild_id": "1", "channel_id": "42", "creator_id": "2",
            "name": event.name, "description": event.description,
            "scheduled_start_time": event.start.to_rfc3339(),
            "scheduled_end_time": event.end.to_rfc3339(),
            "privacy_level": 2, "status": 2, "entity_type": 2, "entity_id": null,
            "entity_metadata": null,
        });
        Listed {
            event: serde_json::from_value(raw).unwrap(),
            rule: rule.map(|_| listed_rule),
        }
    }

    #[test]
    fn a_running_repeating_event_carries_on_only_to_what_discord_moves_it_on_to() {
        let now = running(&weekly("2026-03-21T19:00:00Z"));
        let renamed = NativeEvent {
            name: "Loss circle".into(),
            ..weekly("2026-03-28T19:00:00Z")
        };
        let longer = NativeEvent {
            end: at("2026-03-28T21:00:00Z"),
            ..weekly("2026-03-28T19:00:00Z")
        };

        assert!(carries_on(&now, &weekly("2026-03-28T19:00:00Z")));
        // The 28th cancelled: Discord would move it on to the 28th all the same.
        assert!(!carries_on(&now, &weekly("2026-04-04T19:00:00Z")));
        assert!(!carries_on(&now, &weekly("2026-03-28T18:00:00Z")));
        assert!(!carries_on(&now, &renamed));
        assert!(!carries_on(&now, &longer));
        let one_off = NativeEvent {
            repeat: None,
            ..weekly("2026-03-28T19:00:00Z")
        };
        assert!(!carries_on(&now, &one_off));
        assert!(!carries_on(&running(&one_off), &weekly("2026-03-28T19:00:00Z")));
    }
}
