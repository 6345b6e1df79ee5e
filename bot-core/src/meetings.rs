//! Meetings: series stored as local start + IANA zone + RFC 5545 rule and
//! expanded in local time; their occurrences, exceptions and RSVPs; and
//! `/meeting schedule|list|cancel|move|rsvp|edit`.
//!
//! The parts, lowest first (a part imports only those above it in this
//! list): `series` (the row, its rule expanded, the queries that load and
//! mark it), `words` (a rule said in words), `rule` (a rule from what was
//! typed), `occurrences` (exceptions applied, the one a command names),
//! `rsvps`, `clash`, `news` (a change in words), then the commands,
//! `commands` and `edit`, and `tell`, which queues the news and notices as
//! jobs. Others call them through the names this file re-exports.

/// The columns of a [`Meeting`] row, with its group's last day and when it
/// last changed; `$rest` is the query's `WHERE …`.
macro_rules! select_meetings {
    ($rest:literal) => {
        concat!(
            "SELECT id, group_id, title, start_local, timezone, repeat, rrule, duration_minutes, location, cancelled, ",
            "ends_at, continued_by, ",
            "(SELECT g.ends FROM groups g WHERE g.id = meetings.group_id) AS group_ends, ",
            "COALESCE(updated_at, created_at, 0) AS changed_at ",
            "FROM meetings ",
            $rest
        )
    };
}

mod clash;
mod commands;
mod edit;
mod news;
mod occurrences;
mod rsvps;
mod rule;
mod series;
pub(crate) mod tell;
mod words;

pub use commands::{ToWhen, cancel, list, move_one, schedule};
pub use edit::{Edit, Edited, clear_list as edit_clear_list, earlier_parts, edit, for_date};
pub use news::{Change, Changed, News, Told, news_message, notice};
pub(crate) use occurrences::exceptions;
pub use occurrences::{
    Status, exceptions_of, group_meets, occurrence, occurrence_ref, status_in, upcoming, upcoming_in,
};
pub use rsvps::{
    ANSWERS, Answered, Rsvp, attendees, rsvp, rsvp_buttons, rsvp_command, rsvp_counts, rsvp_counts_of, take_back_rsvp,
    waiting_count, waiting_of,
};
pub(crate) use rsvps::{fill_places, places_held, rsvps_between, waiting_between, waiting_to_come};
pub use rule::REPEATS;
pub(crate) use rule::series_rule;
pub use series::{
    DEFAULT_DURATION_MINUTES, Meeting, Occurrence, Where, by_id, by_id_in, by_ids, find, of_community, of_group,
    of_group_in, where_it_is,
};
pub(crate) use series::{guide_slugs, keep_guide_slug, live_of_group, live_of_member, touch_group};
pub use words::{cadence, rule_words, time};
