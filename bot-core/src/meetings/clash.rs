//! Whether a new or changed series meets when its group already does.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::occurrences::upcoming_in;
use super::rule::repeat_error;
use super::series::{Meeting, Occurrence, of_group_in, rule_set};
use crate::error::{Error, Result, UserError};
use crate::groups::Group;
use crate::store::Db;

/// How far ahead a new or moved meeting is checked against the group's
/// others, and at most how many of a new series' meetings.
const CLASH_DAYS: i64 = 366;

const CLASH_SLOTS: u16 = 60;

/// What a clash check leaves out: the meetings being changed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Except {
    Nothing,
    /// A series' one occurrence, by its original start (a move).
    One(i64, DateTime<Utc>),
    /// A whole series (an edit).
    Series(i64),
}

impl Except {
    fn covers(self, series: i64, occ: &Occurrence) -> bool {
        match self {
            Except::Nothing => false,
            Except::One(id, original) => id == series && original == occ.original,
            Except::Series(id) => id == series,
        }
    }
}

/// The first of the group's meetings (other than `except`) that overlaps
/// one of `slots`.
pub(super) async fn clash(
    db: impl Into<Db<'_>>,
    group: i64,
    slots: &[(DateTime<Utc>, Duration)],
    except: Except,
    now: DateTime<Utc>,
) -> Result<Option<(Meeting, Occurrence)>> {
    let mut db = db.into();
    let Some(last) = slots.iter().map(|(start, length)| *start + *length).max() else {
        return Ok(None);
    };
    for other in of_group_in(&mut db, group).await? {
        // Enough of a daily series to reach the last slot.
        let span = (last - now).num_days().clamp(1, CLASH_DAYS) as usize + 1;
        for occ in upcoming_in(&mut db, &other, now, span).await? {
            if except.covers(other.id, &occ) || occ.start >= last {
                continue;
            }
            let ends = occ.start + other.duration();
            if slots
                .iter()
                .any(|(start, length)| occ.start < *start + *length && *start < ends)
            {
                return Ok(Some((other, occ)));
            }
        }
    }
    Ok(None)
}

pub(super) fn clash_error(meeting: &Meeting, group: &Group, occ: &Occurrence, command: &'static str) -> Error {
    UserError::Clash {
        command,
        group: group.name.clone(),
        name: meeting.name(&group.name).to_string(),
        meeting: meeting.id,
        at: occ.start,
        zone: meeting.zone(),
    }
    .into()
}

/// A new series' first meetings within the clash window, as (start,
/// length); refused when the rule meets never again.
pub(super) fn first_slots(
    start: NaiveDateTime,
    zone: Tz,
    rule: &str,
    duration: i64,
    now: DateTime<Utc>,
) -> std::result::Result<Vec<(DateTime<Utc>, Duration)>, UserError> {
    let coming = rule_set(start, zone, rule)
        .map(|set| {
            set.after((now + Duration::seconds(1)).with_timezone(&rrule::Tz::Tz(zone)))
                .all(CLASH_SLOTS)
                .dates
        })
        .unwrap_or_default();
    if coming.is_empty() {
        return Err(repeat_error(
            "gives no meeting after now; check the date in when, and count or until",
        ));
    }
    Ok(coming
        .into_iter()
        .map(|d| (d.to_utc(), Duration::minutes(duration)))
        .filter(|(d, _)| *d <= now + Duration::days(CLASH_DAYS))
        .collect())
}
