//! The sync's event handlers: invites, commands, button presses, call
//! memberships, and events that could not be decrypted.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bot_core::{Input, InputKind, parse};
use futures_util::StreamExt;
use matrix_sdk::deserialized_responses::RawAnySyncOrStrippedState;
use matrix_sdk::event_handler::Ctx;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::room::encrypted::{EncryptedEventScheme, OriginalSyncRoomEncryptedEvent};
use matrix_sdk::ruma::events::room::member::{MembershipState, OriginalSyncRoomMemberEvent, StrippedRoomMemberEvent};
use matrix_sdk::ruma::events::room::message::{MessageType, OriginalSyncRoomMessageEvent, Relation};
use matrix_sdk::ruma::events::room::redaction::OriginalSyncRoomRedactionEvent;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncStateEvent, AnySyncTimelineEvent, StateEventType, SyncMessageLikeEvent,
};
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{EventId, MilliSecondsSinceUnixEpoch, UserId};
use matrix_sdk::{Client, Room, RoomState};
use serde_json::Value;

use crate::bot::{Asked, Bot};
use crate::{calls, late_keys, render};

pub(crate) async fn on_invite(event: StrippedRoomMemberEvent, room: Room, Ctx(bot): Ctx<Weak<Bot>>) {
    let Some(bot) = bot.upgrade() else { return };
    if event.state_key != bot.sender.user_id || room.state() != RoomState::Invited {
        return;
    }
    tracing::info!(room = %room.room_id(), inviter = %event.sender, kind = "invite", "invite");
    bot.accept_invite(room, &event.sender);
}

/// Someone joined or was invited: if the room is a member's DM with the
/// bot, it is private no more. Someone banned from the community's own
/// room is out of its groups.
pub(crate) async fn on_member(event: OriginalSyncRoomMemberEvent, room: Room, Ctx(bot): Ctx<Weak<Bot>>) {
    let Some(bot) = bot.upgrade() else { return };
    match event.content.membership {
        MembershipState::Join | MembershipState::Invite => {
            bot.sender.dm_gained_member(room.room_id(), &event.state_key).await;
        }
        MembershipState::Ban => banned(&bot, &room, &event.state_key).await,
        _ => {}
    }
}

/// A ban in the room that is the community (a room on its own, or the
/// space the bot is in): the core takes the person out of its groups. A
/// ban from one room of a space is not a ban from the community.
async fn banned(bot: &Bot, room: &Room, user: &UserId) {
    let community = crate::bot::community(room).await;
    if community != room.room_id().as_str() {
        return;
    }
    tracing::info!(room = %room.room_id(), kind = "ban", "received");
    let input = Input {
        actor: bot_core::Actor::member(user.as_str(), user.as_str()),
        place: bot_core::Place {
            platform: bot_core::Platform::Matrix,
            community,
            channel: room.room_id().to_string(),
        },
        kind: InputKind::Banned,
    };
    // Nothing to say to anyone: the core answers a ban with nothing.
    let _ = bot.hearth.handle(&input).await;
}

/// The SDK hands over an encrypted event as such only when it could not
/// decrypt it (no room key from the sender's device yet). It is kept, to be
/// handled when its key arrives (see `late_keys` and
/// [`handle_when_keys_arrive`]).
pub(crate) async fn on_undecryptable(event: OriginalSyncRoomEncryptedEvent, room: Room, Ctx(bot): Ctx<Weak<Bot>>) {
    let Some(bot) = bot.upgrade() else { return };
    if event.sender == bot.sender.user_id || event.origin_server_ts < bot.sender.started {
        return;
    }
    let EncryptedEventScheme::MegolmV1AesSha2(scheme) = &event.content.scheme else {
        tracing::warn!(room = %room.room_id(), event = %event.event_id, kind = "undecryptable, not megolm", "received");
        return;
    };
    let waiting = bot.late.keep(
        room.room_id(),
        &event.event_id,
        &scheme.session_id,
        event.origin_server_ts,
    );
    tracing::warn!(room = %room.room_id(), event = %event.event_id, waiting, kind = "undecryptable", "received");
}

pub(crate) async fn on_message(event: OriginalSyncRoomMessageEvent, room: Room, Ctx(bot): Ctx<Weak<Bot>>) {
    let Some(bot) = bot.upgrade() else { return };
    message(bot, room, event);
}

/// A room message, as it came in the sync or once decrypted late.
fn message(bot: Arc<Bot>, room: Room, event: OriginalSyncRoomMessageEvent) {
    if event.sender == bot.sender.user_id || room.state() != RoomState::Joined {
        return;
    }
    let MessageType::Text(text) = &event.content.msgtype else {
        return;
    };
    // An edit would run the command a second time.
    if matches!(event.content.relates_to, Some(Relation::Replacement(_))) {
        return;
    }
    let Some(parsed) = parse::parse_addressed(&text.body, &bot.sender.prefix) else {
        return;
    };
    let lag_ms = i64::from(MilliSecondsSinceUnixEpoch::now().get()) - i64::from(event.origin_server_ts.get());
    tracing::info!(room = %room.room_id(), event = %event.event_id, kind = "command", lag_ms, "received");
    bot.sender.buttons.busy();
    bot.take_turn(room, |bot, room| async move {
        bot.respond(Asked {
            room: &room,
            sender: &event.sender,
            cause: &event.event_id,
            acts_in: None,
            parsed,
        })
        .await;
    });
}

pub(crate) async fn on_reaction(event: OriginalSyncReactionEvent, room: Room, Ctx(bot): Ctx<Weak<Bot>>) {
    let Some(bot) = bot.upgrade() else { return };
    reaction(bot, room, event);
}

/// A reaction (a button press), as it came in the sync or once decrypted late.
fn reaction(bot: Arc<Bot>, room: Room, event: OriginalSyncReactionEvent) {
    if event.sender == bot.sender.user_id
        || room.state() != RoomState::Joined
        || event.origin_server_ts < bot.sender.started
    {
        return;
    }
    bot.take_turn(room, |bot, room| async move {
        let target = &event.content.relates_to.event_id;
        let Some(pressed) = button_command(&room, &bot.sender.user_id, target, &event.content.relates_to.key).await
        else {
            return;
        };
        if pressed.private {
            // Who reacted, and with what, is shown to the whole room: a
            // mood on a check-in prompt would be a mood told to everyone.
            // Taken back at once, before anything else; counted nowhere
            // unless it is the prompt's own button.
            take_back(&room, &event.event_id).await;
        }
        let Some(command) = pressed.command else {
            return;
        };
        tracing::info!(room = %room.room_id(), event = %event.event_id, kind = "button", "received");
        let parsed = parse::parse_command(&command);
        if !pressed.private {
            // A private press is taken back by the bot at once, never by
            // the member; remembering it would only tie them to it.
            bot.presses.remember(
                &event.event_id,
                room.room_id(),
                &event.sender,
                &command,
                pressed.community.as_deref(),
            );
        }
        bot.press(Asked {
            room: &room,
            sender: &event.sender,
            cause: &event.event_id,
            acts_in: pressed.community,
            parsed,
        })
        .await;
    });
}

/// A reaction taken back (redacted by whoever reacted): when it was a button
/// press the bot acted on, the core undoes what the press did, where that
/// has a meaning (an RSVP goes back to none, a raised hand is lowered). So a
/// second press (Matrix clients take a reaction back when it is pressed
/// again) does something, and a third presses the button anew.
pub(crate) async fn on_redaction(event: OriginalSyncRoomRedactionEvent, room: Room, Ctx(bot): Ctx<Weak<Bot>>) {
    let Some(bot) = bot.upgrade() else { return };
    if event.sender == bot.sender.user_id || room.state() != RoomState::Joined {
        return;
    }
    let Some(redacted) = event.redacts.as_deref().or(event.content.redacts.as_deref()) else {
        return;
    };
    let Some(press) = bot.presses.take_back(redacted, room.room_id(), &event.sender) else {
        return;
    };
    tracing::info!(room = %room.room_id(), event = %event.event_id, kind = "button taken back", "received");
    bot.take_turn(room, |bot, room| async move {
        let parsed = parse::parse_command(&press.command);
        bot.unpress(Asked {
            room: &room,
            sender: &event.sender,
            cause: &event.event_id,
            acts_in: press.acts_in,
            parsed,
        })
        .await;
    });
}

/// A call membership changed: the sender is in the room's call or not, as
/// the room's membership events say now (any of their devices counts). A
/// membership whose key names someone else is ignored.
pub(crate) async fn on_state(event: Raw<AnySyncStateEvent>, room: Room, Ctx(bot): Ctx<Weak<Bot>>) {
    let Some(bot) = bot.upgrade() else { return };
    let Ok(value) = event.deserialize_as::<Value>() else {
        return;
    };
    if value["type"].as_str() != Some(calls::CALL_MEMBER) || room.state() != RoomState::Joined {
        return;
    }
    let (Some(sender), Some(key)) = (value["sender"].as_str(), value["state_key"].as_str()) else {
        return;
    };
    if !calls::key_names_sender(key, sender) {
        tracing::warn!(room = %room.room_id(), sender, kind = "call membership for someone else", "ignored");
        return;
    }
    let (Ok(sender), Some(cause)) = (
        UserId::parse(sender),
        value["event_id"].as_str().and_then(|e| EventId::parse(e).ok()),
    ) else {
        return;
    };
    if sender == bot.sender.user_id {
        return;
    }
    bot.take_turn(room, |bot, room| async move {
        let events: Vec<Value> = match room.get_state_events(StateEventType::from(calls::CALL_MEMBER)).await {
            Ok(events) => events
                .into_iter()
                .filter_map(|e| match e {
                    RawAnySyncOrStrippedState::Sync(raw) => raw.deserialize_as::<Value>().ok(),
                    RawAnySyncOrStrippedState::Stripped(_) => None,
                })
                .collect(),
            Err(e) => {
                tracing::warn!(room = %room.room_id(), error = %e, "reading call memberships");
                return;
            }
        };
        let now = i64::from(MilliSecondsSinceUnixEpoch::now().get());
        // A membership lapses at its end unless renewed: the core lets them leave then.
        let until = calls::in_call_until(&events, sender.as_str(), now);
        let present = until.is_some();
        let until = until.and_then(chrono::DateTime::from_timestamp_millis);
        tracing::info!(room = %room.room_id(), present, kind = "call membership", "received");
        let (actor, place) = bot.actor_and_place(&room, &sender, None).await;
        let community = place.community.clone();
        let channel = place.channel.clone();
        let input = Input {
            actor,
            place,
            kind: InputKind::Presence(bot_core::PresenceChange {
                channel,
                present,
                until,
            }),
        };
        let response = bot.hearth.handle(&input).await;
        bot.answer(&room, &sender, &cause, &community, response).await;
    });
}

/// A reaction to one of the bot's own messages.
struct Pressed {
    /// The command of the button it pressed, if it is one of the message's.
    command: Option<String>,
    /// The community the message speaks for.
    community: Option<String>,
    /// The message's reactions are to be taken back (see [`render::PRIVATE_PRESSES_KEY`]).
    private: bool,
}

/// Redacts a reaction where the bot has the power to (a moderator's power
/// level, 50 by default); where it has not, the reaction stays but counts
/// for nothing.
async fn take_back(room: &Room, reaction: &EventId) {
    match room.redact(reaction, None, None).await {
        Ok(_) => tracing::info!(room = %room.room_id(), kind = "reaction taken back", "redacted"),
        Err(e) => tracing::warn!(room = %room.room_id(), error = %e, "could not take a reaction back"),
    }
}

/// What a reaction `key` on `target` presses, when `target` is one of the
/// bot's own messages: the button with that emoji, if it carries one, and
/// the community the message speaks for.
async fn button_command(room: &Room, me: &UserId, target: &EventId, key: &str) -> Option<Pressed> {
    let event = match room.event(target, None).await {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(room = %room.room_id(), event = %target, error = %e, "fetching a reacted-to event");
            return None;
        }
    };
    let value: Value = serde_json::from_str(event.raw().json().get()).ok()?;
    if value.get("sender").and_then(Value::as_str) != Some(me.as_str()) {
        return None;
    }
    let content = value.get("content")?;
    let private = content.get(render::PRIVATE_PRESSES_KEY).and_then(Value::as_bool) == Some(true);
    let wanted = strip_variation(key);
    let command = content
        .get(render::BUTTONS_KEY)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|b| {
            let emoji = b.get("emoji")?.as_str()?;
            (strip_variation(emoji) == wanted).then(|| b.get("command")?.as_str().map(ToString::to_string))?
        });
    if command.is_none() && !private {
        return None;
    }
    let community = content
        .get(render::COMMUNITY_KEY)
        .and_then(Value::as_str)
        .map(ToString::to_string);
    Some(Pressed {
        command,
        community,
        private,
    })
}

/// Clients differ in whether they send emoji with the U+FE0F presentation
/// selector; compare without it.
fn strip_variation(s: &str) -> String {
    s.chars().filter(|&c| c != '\u{fe0f}').collect()
}

/// Watches the room keys the bot receives and handles the events that
/// waited for them, as if they had just come in the sync. Runs until aborted.
pub(crate) async fn handle_when_keys_arrive(bot: Arc<Bot>, client: Client) {
    let Some(keys) = client.encryption().room_keys_received_stream().await else {
        return;
    };
    let mut keys = std::pin::pin!(keys);
    while let Some(received) = keys.next().await {
        let due: Vec<late_keys::Entry> = match received {
            Ok(keys) => keys
                .iter()
                .flat_map(|k| bot.late.take(Some((&k.room_id, k.session_id.as_str()))))
                .collect(),
            // Some notices were missed: try everything that waits.
            Err(_) => bot.late.take(None),
        };
        if due.is_empty() {
            continue;
        }
        let (mut handled, mut too_old, mut not_yet) = (0_usize, 0_usize, 0_usize);
        for entry in due {
            match handle_late(&bot, &client, entry).await {
                Late::Handled => handled += 1,
                Late::TooOld => too_old += 1,
                Late::NotYet => not_yet += 1,
            }
        }
        tracing::info!(handled, too_old, not_yet, kind = "decrypted late", "received");
    }
}

enum Late {
    Handled,
    TooOld,
    NotYet,
}

/// One event whose key came: handled as it would have been in the sync.
async fn handle_late(bot: &Arc<Bot>, client: &Client, entry: late_keys::Entry) -> Late {
    let now = u64::from(MilliSecondsSinceUnixEpoch::now().get());
    let age = Duration::from_millis(now.saturating_sub(u64::from(entry.sent.get())));
    if age > late_keys::LIMIT {
        return Late::TooOld;
    }
    let Some(room) = client.get_room(&entry.room) else {
        return Late::NotYet;
    };
    let event = match room.event(&entry.event, None).await {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(room = %entry.room, event = %entry.event, error = %e, "fetching an event decrypted late");
            return Late::NotYet;
        }
    };
    match event.raw().deserialize() {
        Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
            SyncMessageLikeEvent::Original(event),
        ))) => message(bot.clone(), room, event),
        Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::Reaction(SyncMessageLikeEvent::Original(
            event,
        )))) => reaction(bot.clone(), room, event),
        Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomEncrypted(_))) => {
            // Still not decryptable (another session's key came): wait on.
            bot.late.keep(&entry.room, &entry.event, &entry.session, entry.sent);
            return Late::NotYet;
        }
        // Anything else needs no answer.
        _ => {}
    }
    Late::Handled
}
