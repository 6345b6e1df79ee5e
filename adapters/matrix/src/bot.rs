//! The bot's side of an input: who and where (roles from power levels, the
//! community from the parent space), the core's answer sent back, invites
//! accepted, and each room's inputs handled in turn.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bot_core::io::Delivery;
use bot_core::{Actor, ChannelFact, Effect, Hearth, Input, InputKind, Place, Platform, Response, Visibility};
use matrix_sdk::deserialized_responses::SyncOrStrippedState;
use matrix_sdk::ruma::events::MessageLikeEventType;
use matrix_sdk::ruma::events::SyncStateEvent;
use matrix_sdk::ruma::events::room::power_levels::UserPowerLevel;
use matrix_sdk::ruma::events::space::child::SpaceChildEventContent;
use matrix_sdk::ruma::events::space::parent::SpaceParentEventContent;
use matrix_sdk::ruma::{EventId, OwnedRoomId, RoomAliasId, RoomId, UserId};
use matrix_sdk::{Room, RoomState};

use crate::outbox::{Sender, transaction_id};

/// What the event handlers share.
pub(crate) struct Bot {
    pub(crate) hearth: Hearth,
    pub(crate) sender: Arc<Sender>,
    pub(crate) facilitator_power_level: i64,
    pub(crate) allowed_servers: Option<Vec<String>>,
    /// Each room's queue of commands and presses, so that they are handled in
    /// the order they were sent ("create a group", then "schedule it") while
    /// rooms go on in parallel and the sync loop is never held up.
    pub(crate) turns: std::sync::Mutex<HashMap<OwnedRoomId, tokio::sync::mpsc::UnboundedSender<Turn>>>,
    /// Events not decrypted yet, handled when their room key arrives.
    pub(crate) late: crate::late_keys::Waiting,
    /// Button presses acted on, to undo when taken back.
    pub(crate) presses: crate::presses::Presses,
}

/// One input's handling, queued behind its room's earlier ones.
pub(crate) type Turn = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a member asked, typed or pressed: in which room, who, the event
/// that asked (answers' transaction ids derive from it), the community a
/// DM's button acts in, and the command as parsed.
pub(crate) struct Asked<'a> {
    pub(crate) room: &'a Room,
    pub(crate) sender: &'a UserId,
    pub(crate) cause: &'a EventId,
    pub(crate) acts_in: Option<String>,
    pub(crate) parsed: Result<bot_core::Invocation, bot_core::UserError>,
}

impl Bot {
    /// Hands a parsed command (typed or pressed) to the core and answers it.
    pub(crate) async fn respond(&self, asked: Asked<'_>) {
        let (room, sender, cause) = (asked.room, asked.sender, asked.cause);
        let began = std::time::Instant::now();
        let (community, response) = self.handle(asked).await;
        let handled = began.elapsed();
        self.answer(room, sender, cause, &community, response).await;
        tracing::debug!(
            event = %cause,
            handle_us = handled.as_micros() as u64,
            answer_us = (began.elapsed() - handled).as_micros() as u64,
            "answered"
        );
    }

    /// A button pressed (a reaction), handled as its command; but a press
    /// that edits a live status message in the room it was made in (Raise,
    /// Lower, Pass, Next on a circle's) is answered by that edit alone.
    /// Matrix has no message that only one member of a room sees: a private
    /// answer is a DM, and one per press would be noise. A press elsewhere
    /// (the chair's panel, in their DM, starting a step's talking stick in
    /// the group's room) keeps its answer: the edit is not in sight of it.
    /// A refusal still reaches the presser alone, by DM: nothing they can
    /// see moved, and they should learn why.
    pub(crate) async fn press(&self, asked: Asked<'_>) {
        let (room, sender, cause) = (asked.room, asked.sender, asked.cause);
        let (community, response) = self.handle(asked).await;
        self.answer_press(room, sender, cause, &community, response).await;
    }

    /// Answers a press, or a press taken back (see [`Bot::press`]).
    async fn answer_press(
        &self,
        room: &Room,
        sender: &UserId,
        cause: &EventId,
        community: &str,
        mut response: Response,
    ) {
        let here = room.room_id().as_str();
        if response
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Status { channel, .. } if channel == here))
        {
            response.reply = None;
        }
        // A reaction has no thread to answer in: a refusal in the room would
        // be noise for everyone and a puzzle to the rest, so whatever is
        // private goes to the presser's DM, personal or not.
        if let Some(reply) = response.reply.as_mut()
            && reply.visibility == Visibility::Private
        {
            reply.personal = true;
        }
        self.answer(room, sender, cause, community, response).await;
    }

    /// A button press taken back (its reaction redacted): the core undoes
    /// what the press did, where that means something, and says so as a
    /// press's answer would be said.
    pub(crate) async fn unpress(&self, asked: Asked<'_>) {
        let Asked {
            room,
            sender,
            cause,
            acts_in,
            parsed,
        } = asked;
        let Ok(invocation) = parsed else { return };
        let (actor, place) = self.actor_and_place(room, sender, acts_in).await;
        let community = place.community.clone();
        let kind = InputKind::Undo(invocation);
        let response = self.hearth.handle(&Input { actor, place, kind }).await;
        self.answer_press(room, sender, cause, &community, response).await;
    }

    /// The core's answer to what was asked, with the community it acted in.
    async fn handle(&self, asked: Asked<'_>) -> (String, Response) {
        let Asked {
            room,
            sender,
            acts_in,
            parsed,
            ..
        } = asked;
        let began = std::time::Instant::now();
        let (actor, place) = self.actor_and_place(room, sender, acts_in).await;
        tracing::debug!(place_us = began.elapsed().as_micros() as u64, "who and where");
        let community = place.community.clone();
        let response = match parsed {
            Ok(mut invocation) => {
                // What each room named is to this community: the core decides what that allows.
                for (name, raw) in invocation.channel_options() {
                    let fact = self.channel_fact(&raw, &community).await;
                    invocation.channels.push((name, fact));
                }
                let kind = InputKind::Command(invocation);
                self.hearth.handle(&Input { actor, place, kind }).await
            }
            Err(e) => Response::private_general(e.to_message()),
        };
        (community, response)
    }

    /// Queues `turn` behind the room's earlier inputs; a room's queue is
    /// started on its first input.
    fn in_turn(&self, room: &RoomId, turn: Turn) {
        let mut turns = self.turns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let queue = turns.entry(room.to_owned()).or_insert_with(|| {
            let (queue, mut next) = tokio::sync::mpsc::unbounded_channel::<Turn>();
            tokio::spawn(async move {
                while let Some(turn) = next.recv().await {
                    turn.await;
                }
            });
            queue
        });
        if let Err(refused) = queue.send(turn) {
            // The room's worker is gone (only at shutdown): run it on its own.
            tokio::spawn(refused.0);
        }
    }

    /// Queues `handle(bot, room)` behind `room`'s earlier inputs: event
    /// handlers run inside the sync loop, and answering must not hold it up.
    pub(crate) fn take_turn<F>(self: &Arc<Self>, room: Room, handle: impl FnOnce(Arc<Self>, Room) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let room_id = room.room_id().to_owned();
        self.in_turn(&room_id, Box::pin(handle(self.clone(), room)));
    }

    pub(crate) fn accept_invite(self: &Arc<Self>, room: Room, inviter: &UserId) {
        if let Some(allowed) = &self.allowed_servers
            && !allowed.iter().any(|s| s == inviter.server_name().as_str())
        {
            tracing::info!(room = %room.room_id(), inviter = %inviter, kind = "invite refused", "invite");
            tokio::spawn(async move {
                if let Err(e) = room.leave().await {
                    tracing::warn!(room = %room.room_id(), error = %e, "declining an invite");
                }
            });
            return;
        }
        tokio::spawn(async move {
            // Synapse can answer an invite's join before the room is ready
            // for it; back off and try again.
            let mut delay = Duration::from_millis(250);
            for _ in 0..8 {
                match room.join().await {
                    Ok(()) => {
                        tracing::info!(room = %room.room_id(), kind = "joined", "invite");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(room = %room.room_id(), error = %e, "joining a room, will retry");
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                }
            }
            tracing::error!(room = %room.room_id(), "could not join a room");
        });
    }

    /// Who and where, with the roles the community's root gives (see
    /// [`crate::roles`]): the space's power levels in a listed child room,
    /// the room's own otherwise. A button pressed in a DM acts in the
    /// community its message names (`acts_in`); then, as in any DM room
    /// (where both sides hold power level 100), the room grants nothing.
    pub(crate) async fn actor_and_place(
        &self,
        room: &Room,
        sender: &UserId,
        acts_in: Option<String>,
    ) -> (Actor, Place) {
        // Two reads of the state store, side by side.
        let (member, here) = tokio::join!(room.get_member(sender), community(room));
        let member = member.ok().flatten();
        let name = member
            .as_ref()
            .and_then(|m| m.display_name().map(ToString::to_string))
            .unwrap_or_else(|| sender.localpart().to_string());
        let community = acts_in.unwrap_or_else(|| here.clone());
        let level = if community != here || room.is_direct().await.unwrap_or(false) {
            0
        } else {
            let space = if here == room.room_id().as_str() {
                None
            } else {
                Some(space_level(room, &here, sender).await)
            };
            crate::roles::root_level(space, level_of(member.as_ref().map(|m| m.power_level())))
        };
        let actor = crate::roles::actor(sender.as_str(), &name, level, self.facilitator_power_level);
        let place = Place {
            platform: Platform::Matrix,
            community,
            channel: room.room_id().to_string(),
        };
        (actor, place)
    }

    /// Sends the reply (public, or private but not personal: a reply in the
    /// room, since Matrix has no ephemeral messages; personal: to the DM room)
    /// and carries out the effects. Transaction ids derive from the event that
    /// caused them.
    pub(crate) async fn answer(
        &self,
        room: &Room,
        sender: &UserId,
        cause: &EventId,
        community: &str,
        response: Response,
    ) {
        if let Some(reply) = &response.reply {
            let result = if reply.visibility == Visibility::Public || !reply.personal {
                let txn = transaction_id(&format!("{cause}/reply"));
                self.sender
                    .send(room, &reply.message, Some(cause), community, txn)
                    .await
                    .map(drop)
            } else {
                self.answer_privately(room, sender, cause, community, &reply.message)
                    .await
            };
            if let Err(e) = result {
                tracing::error!(room = %room.room_id(), event = %cause, error = %e, "sending a reply");
            }
        }
        for (i, effect) in response.effects.into_iter().enumerate() {
            let effect = match effect {
                Effect::Status {
                    channel,
                    key,
                    message,
                    edit,
                } => {
                    match self.sender.status(&channel, &message, edit.as_deref(), community).await {
                        Ok(Some(posted)) => {
                            if let Err(e) = self.hearth.status_posted(&key, &posted).await {
                                tracing::error!(room = %room.room_id(), error = %e, "recording a status message");
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::error!(room = %room.room_id(), event = %cause, error = %e, "a status message")
                        }
                    }
                    continue;
                }
                // Matrix calls have no server mute; the core asks for none here.
                Effect::Mute { .. } => continue,
                Effect::Post { channel, message, key } => Effect::Post {
                    channel,
                    message,
                    key: Some(key.unwrap_or_else(|| format!("{cause}/effect/{i}"))),
                },
                Effect::Dm { user, message, key } => Effect::Dm {
                    user,
                    message,
                    key: Some(key.unwrap_or_else(|| format!("{cause}/effect/{i}"))),
                },
            };
            let delivery = Delivery {
                community: community.to_string(),
                effect,
            };
            if let Err(e) = self.sender.deliver(&delivery).await {
                tracing::error!(room = %room.room_id(), event = %cause, error = %e, "carrying out an effect");
            }
        }
    }
}

/// `user`'s power level in the space `space` (0 when it cannot be read).
async fn space_level(room: &Room, space: &str, user: &UserId) -> i64 {
    let Some(space) = OwnedRoomId::try_from(space)
        .ok()
        .and_then(|id| room.client().get_room(&id))
    else {
        return 0;
    };
    match space.power_levels().await {
        Ok(levels) => level_of(Some(levels.for_user(user))),
        Err(e) => {
            tracing::warn!(room = %space.room_id(), error = %e, "reading a space's power levels");
            0
        }
    }
}

fn level_of(level: Option<UserPowerLevel>) -> i64 {
    match level {
        Some(UserPowerLevel::Infinite) => i64::MAX,
        Some(UserPowerLevel::Int(i)) => i64::from(i),
        Some(_) | None => 0,
    }
}

impl Bot {
    /// What a room named in a command (`#alias:server` or `!id:server`) is to
    /// `community`: one of its rooms where the bot is joined and may post, or
    /// why not. An alias is resolved to its room first.
    async fn channel_fact(&self, raw: &str, invoked_in: &str) -> ChannelFact {
        let raw = raw.trim();
        let client = &self.sender.client;
        let room_id = if raw.starts_with('#') {
            let Ok(alias) = RoomAliasId::parse(raw) else {
                return ChannelFact::Unknown;
            };
            match client.resolve_room_alias(&alias).await {
                Ok(found) => found.room_id,
                Err(_) => {
                    // The alias is what someone typed: not for the log.
                    tracing::info!(kind = "alias not resolved", "room named");
                    return ChannelFact::Unknown;
                }
            }
        } else {
            match OwnedRoomId::try_from(raw) {
                Ok(id) => id,
                Err(_) => return ChannelFact::Unknown,
            }
        };
        let Some(room) = client.get_room(&room_id).filter(|r| r.state() == RoomState::Joined) else {
            return ChannelFact::CannotPost;
        };
        if community(&room).await != invoked_in {
            return ChannelFact::OtherCommunity;
        }
        let may_post = match room.power_levels().await {
            Ok(levels) => levels.user_can_send_message(&self.sender.user_id, MessageLikeEventType::RoomMessage),
            Err(_) => false,
        };
        if may_post {
            ChannelFact::Postable(room_id.to_string())
        } else {
            ChannelFact::CannotPost
        }
    }
}

impl Bot {
    /// A personal answer, in the member's DM room. When that cannot be
    /// opened or written to (they refuse invites, their server does), the
    /// room they asked in hears so, with nothing of the answer in it: a
    /// crisis line asked for must never vanish without a word.
    async fn answer_privately(
        &self,
        room: &Room,
        sender: &UserId,
        cause: &EventId,
        community: &str,
        message: &bot_core::Message,
    ) -> matrix_sdk::Result<()> {
        let sent = match self.sender.dm_room(sender).await {
            Ok(dm) => {
                let txn = transaction_id(&format!("{cause}/private"));
                self.sender.send(&dm, message, None, community, txn).await.map(drop)
            }
            Err(e) => Err(e),
        };
        let Err(e) = sent else {
            return Ok(());
        };
        tracing::warn!(room = %room.room_id(), event = %cause, error = %e, "no DM: saying so in the room");
        let name = match room.get_member(sender).await {
            Ok(Some(m)) => m.display_name().map(ToString::to_string),
            _ => None,
        }
        .unwrap_or_else(|| sender.localpart().to_string());
        let mut notice = bot_core::Message::new().line(
            bot_core::Line::new()
                .push(bot_core::Span::User {
                    id: sender.to_string(),
                    name,
                })
                .t(": I couldn't open a private chat with you, so I didn't send my answer. Accept my invite, or allow invites from this server, then ask again."),
        );
        notice.pings = vec![sender.to_string()];
        let txn = transaction_id(&format!("{cause}/no-dm"));
        self.sender.send(room, &notice, None, community, txn).await.map(drop)
    }
}

/// The community a room belongs to: its parent space, else the room itself.
/// A parent counts only when the bot is in that space and the space lists
/// the room as its child: anyone who can set state in their own room can
/// claim any parent, and must not thereby act in another community. The
/// canonical parent goes first, then the lowest id, for a stable choice.
pub(crate) async fn community(room: &Room) -> String {
    let mut parents: Vec<(bool, OwnedRoomId)> = Vec::new();
    if let Ok(events) = room.get_state_events_static::<SpaceParentEventContent>().await {
        for raw in events {
            let Ok(event) = raw.deserialize() else { continue };
            if let SyncOrStrippedState::Sync(SyncStateEvent::Original(ev)) = event
                && !ev.content.via.is_empty()
            {
                parents.push((!ev.content.canonical, ev.state_key));
            }
        }
    }
    parents.sort();
    let client = room.client();
    for (_, parent) in parents {
        if let Some(space) = client.get_room(&parent)
            && space.state() == RoomState::Joined
            && lists_child(&space, room.room_id()).await
        {
            return parent.to_string();
        }
    }
    room.room_id().to_string()
}

/// Whether `space` has a live `m.space.child` event for `child`.
async fn lists_child(space: &Room, child: &RoomId) -> bool {
    let Ok(Some(raw)) = space
        .get_state_event_static_for_key::<SpaceChildEventContent, _>(child)
        .await
    else {
        return false;
    };
    matches!(
        raw.deserialize(),
        Ok(SyncOrStrippedState::Sync(SyncStateEvent::Original(ev))) if !ev.content.via.is_empty()
    )
}
