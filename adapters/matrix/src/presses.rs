//! The button presses (reactions) the bot acted on, kept in memory by the
//! reaction's event id, so that taking a reaction back can undo what it did.
//! A redacted reaction no longer says what it was; the bot remembers it.
//! Ids and the button's command only; lost at a restart, when taking back an
//! older reaction does nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};

/// At most this many presses are remembered; the oldest give way.
const MAX_REMEMBERED: usize = 10_000;

/// A press, as needed to undo it.
pub(crate) struct Press {
    room: OwnedRoomId,
    sender: OwnedUserId,
    /// The button's command, as it was pressed.
    pub(crate) command: String,
    /// The community the button's message spoke for.
    pub(crate) acts_in: Option<String>,
}

#[derive(Default)]
pub(crate) struct Presses {
    inner: Mutex<(HashMap<OwnedEventId, Press>, VecDeque<OwnedEventId>)>,
}

impl Presses {
    pub(crate) fn remember(
        &self,
        reaction: &EventId,
        room: &RoomId,
        sender: &UserId,
        command: &str,
        acts_in: Option<&str>,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (presses, order) = &mut *inner;
        if order.len() >= MAX_REMEMBERED
            && let Some(oldest) = order.pop_front()
        {
            presses.remove(&oldest);
        }
        let press = Press {
            room: room.to_owned(),
            sender: sender.to_owned(),
            command: command.to_owned(),
            acts_in: acts_in.map(ToOwned::to_owned),
        };
        if presses.insert(reaction.to_owned(), press).is_none() {
            order.push_back(reaction.to_owned());
        }
    }

    /// The press `reaction` was, when `sender` made it in `room`; forgotten
    /// then, so that it is undone once.
    pub(crate) fn take_back(&self, reaction: &EventId, room: &RoomId, sender: &UserId) -> Option<Press> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (presses, order) = &mut *inner;
        let press = presses.get(reaction)?;
        if press.room != room || press.sender != sender {
            return None;
        }
        order.retain(|id| id != reaction);
        presses.remove(reaction)
    }
}

#[cfg(test)]
mod tests {
    use matrix_sdk::ruma::{event_id, room_id, user_id};

    use super::*;

    #[test]
    fn a_press_is_taken_back_once_and_only_by_whoever_made_it() {
        let presses = Presses::default();
        let (reaction, room) = (event_id!("$r:x.org"), room_id!("!a:x.org"));
        presses.remember(reaction, room, user_id!("@ann:x.org"), "hand raise", None);

        let by_other = presses.take_back(reaction, room, user_id!("@bo:x.org"));
        let elsewhere = presses.take_back(reaction, room_id!("!b:x.org"), user_id!("@ann:x.org"));
        let by_ann = presses.take_back(reaction, room, user_id!("@ann:x.org"));
        let again = presses.take_back(reaction, room, user_id!("@ann:x.org"));

        assert!(by_other.is_none() && elsewhere.is_none());
        assert_eq!(by_ann.unwrap().command, "hand raise");
        assert!(again.is_none());
    }
}
