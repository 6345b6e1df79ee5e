//! Events the bot could not decrypt when they came (their room key had not
//! arrived yet, which is common right after a join), kept for a while until
//! the key arrives; `handlers::handle_when_keys_arrive` then handles them.
//! Only ids are kept, never content; the logs carry counts. This module
//! knows nothing of the bot, so the bot can hold it.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use matrix_sdk::ruma::{EventId, MilliSecondsSinceUnixEpoch, OwnedEventId, OwnedRoomId, RoomId};

/// How long an undecryptable event waits for its key, and how old (by its
/// server timestamp) it may be when the key comes: an answer to a command
/// more than five minutes old would come out of nowhere.
pub(crate) const LIMIT: Duration = Duration::from_secs(300);
/// At most this many wait; beyond it the oldest give way.
const MAX_WAITING: usize = 1000;

/// An event waiting for its key: ids only, never content.
pub(crate) struct Entry {
    pub(crate) room: OwnedRoomId,
    pub(crate) event: OwnedEventId,
    pub(crate) session: String,
    pub(crate) sent: MilliSecondsSinceUnixEpoch,
    kept: Instant,
}

/// The events waiting for their room key.
#[derive(Default)]
pub(crate) struct Waiting {
    entries: Mutex<Vec<Entry>>,
}

impl Waiting {
    /// Keeps `event` of `room`, encrypted with megolm `session`, until its
    /// key arrives or [`LIMIT`] passes; returns how many wait now.
    pub(crate) fn keep(
        &self,
        room: &RoomId,
        event: &EventId,
        session: &str,
        sent: MilliSecondsSinceUnixEpoch,
    ) -> usize {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| e.kept.elapsed() < LIMIT);
        if entries.len() >= MAX_WAITING {
            entries.remove(0);
        }
        entries.push(Entry {
            room: room.to_owned(),
            event: event.to_owned(),
            session: session.to_owned(),
            sent,
            kept: Instant::now(),
        });
        entries.len()
    }

    /// Takes the events of `room` waiting for `session`, or all of them.
    pub(crate) fn take(&self, key: Option<(&RoomId, &str)>) -> Vec<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| e.kept.elapsed() < LIMIT);
        let (taken, left) = std::mem::take(&mut *entries)
            .into_iter()
            .partition(|e| key.is_none_or(|(room, session)| e.room == room && e.session == session));
        *entries = left;
        taken
    }
}
