//! Events the bot could not decrypt when they came (their room key had not
//! arrived yet, which is common right after a join), kept for a while and
//! handled when the key arrives. Only ids are kept, never content; the logs
//! carry counts.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use matrix_sdk::Client;
use matrix_sdk::ruma::events::{AnySyncMessageLikeEvent, AnySyncTimelineEvent, SyncMessageLikeEvent};
use matrix_sdk::ruma::{EventId, MilliSecondsSinceUnixEpoch, OwnedEventId, OwnedRoomId, RoomId};

use crate::bot::Bot;
use crate::handlers;

/// How long an undecryptable event waits for its key, and how old (by its
/// server timestamp) it may be when the key comes: an answer to a command
/// more than five minutes old would come out of nowhere.
pub(crate) const LIMIT: Duration = Duration::from_secs(300);
/// At most this many wait; beyond it the oldest give way.
const MAX_WAITING: usize = 1000;

struct Entry {
    room: OwnedRoomId,
    event: OwnedEventId,
    session: String,
    sent: MilliSecondsSinceUnixEpoch,
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
    fn take(&self, key: Option<(&RoomId, &str)>) -> Vec<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| e.kept.elapsed() < LIMIT);
        let (taken, left) = std::mem::take(&mut *entries)
            .into_iter()
            .partition(|e| key.is_none_or(|(room, session)| e.room == room && e.session == session));
        *entries = left;
        taken
    }
}

/// Watches the room keys the bot receives and handles the events that
/// waited for them, as if they had just come in the sync. Runs until aborted.
pub(crate) async fn handle_when_keys_arrive(bot: Arc<Bot>, client: Client) {
    let Some(keys) = client.encryption().room_keys_received_stream().await else {
        return;
    };
    let mut keys = std::pin::pin!(keys);
    while let Some(received) = keys.next().await {
        let due: Vec<Entry> = match received {
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
            match handle(&bot, &client, entry).await {
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

async fn handle(bot: &Arc<Bot>, client: &Client, entry: Entry) -> Late {
    let now = u64::from(MilliSecondsSinceUnixEpoch::now().get());
    let age = Duration::from_millis(now.saturating_sub(u64::from(entry.sent.get())));
    if age > LIMIT {
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
            SyncMessageLikeEvent::Original(message),
        ))) => handlers::message(bot.clone(), room, message),
        Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::Reaction(SyncMessageLikeEvent::Original(
            reaction,
        )))) => handlers::reaction(bot.clone(), room, reaction),
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
