//! Who is in which voice channel or call, held in memory only. Nothing is
//! stored about who sits in a voice channel where no circle runs: a circle
//! started there takes its people from here, and only then are they
//! recorded (in `voice_presence`, for as long as the circle runs).
//!
//! After a restart this is empty until the platform says who is where
//! (Discord's guild snapshot on connecting, Matrix call memberships as they
//! change); circles already running keep their recorded presence.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::io::Platform;

/// One person's seat: the channel or call they are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seat {
    pub user: String,
    pub name: String,
    pub channel: String,
    pub since: DateTime<Utc>,
    /// When it lapses by itself unless renewed (a Matrix call membership).
    pub until: Option<DateTime<Utc>>,
    /// Whether the platform lets them mute others there: they are never muted.
    pub may_mute: bool,
}

/// Everyone in voice, per platform and community (its platform id), one
/// channel each.
#[derive(Debug, Default)]
pub(crate) struct Voice {
    seats: Mutex<HashMap<(Platform, String), HashMap<String, Seat>>>,
}

impl Voice {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<(Platform, String), HashMap<String, Seat>>) -> T) -> T {
        let mut seats = self.seats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut seats)
    }

    /// `user` joined `channel` (leaving any other), or left it (`channel`
    /// empty: wherever they were).
    #[expect(clippy::too_many_arguments, reason = "who, where and when, each plain")]
    pub(crate) fn set(
        &self,
        platform: Platform,
        community: &str,
        user: &str,
        name: &str,
        channel: &str,
        present: bool,
        until: Option<DateTime<Utc>>,
        may_mute: bool,
        now: DateTime<Utc>,
    ) {
        self.with(|seats| {
            let key = (platform, community.to_string());
            let here = seats.entry(key.clone()).or_default();
            if present && !channel.is_empty() {
                let since = here.get(user).filter(|s| s.channel == channel).map_or(now, |s| s.since);
                here.insert(
                    user.to_string(),
                    Seat {
                        user: user.to_string(),
                        name: name.to_string(),
                        channel: channel.to_string(),
                        since,
                        until,
                        may_mute,
                    },
                );
            } else if here
                .get(user)
                .is_some_and(|s| channel.is_empty() || s.channel == channel)
            {
                here.remove(user);
            }
            if here.is_empty() {
                seats.remove(&key);
            }
        });
    }

    /// Where `user` is now, unless it has lapsed.
    pub(crate) fn channel_of(
        &self,
        platform: Platform,
        community: &str,
        user: &str,
        now: DateTime<Utc>,
    ) -> Option<String> {
        self.with(|seats| {
            seats
                .get(&(platform, community.to_string()))?
                .get(user)
                .filter(|s| s.until.is_none_or(|u| u > now))
                .map(|s| s.channel.clone())
        })
    }

    /// Who is in `channel` now, earliest first.
    pub(crate) fn in_channel(
        &self,
        platform: Platform,
        community: &str,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Vec<Seat> {
        let mut found: Vec<Seat> = self.with(|seats| {
            seats
                .get(&(platform, community.to_string()))
                .map(|here| {
                    here.values()
                        .filter(|s| s.channel == channel && s.until.is_none_or(|u| u > now))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        });
        found.sort_by(|a, b| (a.since, &a.user).cmp(&(b.since, &b.user)));
        found
    }

    /// Everyone held as in voice in `community`: (user, name).
    pub(crate) fn everyone(&self, platform: Platform, community: &str) -> Vec<(String, String)> {
        self.with(|seats| {
            seats
                .get(&(platform, community.to_string()))
                .map(|here| here.values().map(|s| (s.user.clone(), s.name.clone())).collect())
                .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    #[test]
    fn a_join_elsewhere_moves_the_seat_and_a_bare_leave_empties_it() {
        let voice = Voice::default();
        voice.set(Platform::Discord, "g", "1", "Ada", "a", true, None, false, t(0));
        voice.set(Platform::Discord, "g", "1", "Ada", "b", true, None, false, t(1));
        let moved = voice.channel_of(Platform::Discord, "g", "1", t(2));
        voice.set(Platform::Discord, "g", "1", "Ada", "", false, None, false, t(3));

        assert_eq!(moved.as_deref(), Some("b"));
        assert!(voice.in_channel(Platform::Discord, "g", "a", t(2)).is_empty());
        assert_eq!(voice.channel_of(Platform::Discord, "g", "1", t(4)), None);
        assert!(voice.everyone(Platform::Discord, "g").is_empty());
    }

    #[test]
    fn a_seat_that_lapsed_is_no_one_in_the_channel() {
        let voice = Voice::default();
        voice.set(
            Platform::Matrix,
            "!s",
            "@a:x",
            "A",
            "!r",
            true,
            Some(t(10)),
            false,
            t(0),
        );
        voice.set(Platform::Matrix, "!s", "@b:x", "B", "!r", true, None, false, t(1));

        let early: Vec<String> = voice
            .in_channel(Platform::Matrix, "!s", "!r", t(5))
            .into_iter()
            .map(|s| s.user)
            .collect();
        let late: Vec<String> = voice
            .in_channel(Platform::Matrix, "!s", "!r", t(10))
            .into_iter()
            .map(|s| s.user)
            .collect();

        assert_eq!(early, ["@a:x", "@b:x"]);
        assert_eq!(late, ["@b:x"]);
    }
}
