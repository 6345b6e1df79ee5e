//! What a meeting's reminder says: the card a member or channel gets, and
//! the same reminder as one entry of a digest. Moved out of the jobs engine
//! (issue 26), which still decides when it goes out and gathers digests.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::groups::Group;
use crate::meetings::{self, Meeting, Occurrence};
use crate::message::{Line, Message, Span};
use crate::reminders::left_words;

/// The reminder card, with its RSVP buttons, and its line for a digest.
/// `to_members`: it goes to a member of the group, who may see a closed
/// group's place; `late`: it goes out after its time, and says so.
#[expect(
    clippy::too_many_arguments,
    reason = "what one reminder says, each a plain value the engine already holds"
)]
pub(crate) fn card(
    meeting: &Meeting,
    group: &Group,
    occ: &Occurrence,
    zone: Tz,
    (yes, maybe, waiting): (i64, i64, i64),
    now: DateTime<Utc>,
    late: bool,
    to_members: bool,
) -> (Message, Line) {
    let name = meeting.name(&group.name);
    // How long is actually left as it goes out: a reminder moved for quiet
    // hours, or sent late, says so truthfully.
    let starts = Line::text(format!("Starts {}: ", left_words(occ.start - now)))
        .push(meetings::time(occ.start, zone))
        .t(format!(" ({} min).", meeting.duration_minutes));
    let place = match meetings::where_it_is(meeting, group, to_members) {
        meetings::Where::Place(place) => Line::text(format!("Where: {place}")),
        meetings::Where::Channel(home) => Line::text("Where: ").push(Span::Channel { id: home }),
    };
    // Counts, never names; those waiting for a place only when some are.
    let so_far = match waiting {
        0 => format!("So far {yes} going, {maybe} maybe."),
        _ => format!("So far {yes} going, {maybe} maybe, {waiting} waiting for a place."),
    };
    let mut entry = Line::text(format!(" starts {}: ", left_words(occ.start - now)))
        .push(meetings::time(occ.start, zone))
        .t(format!(" ({} min). ", meeting.duration_minutes));
    entry.0.extend(place.0.iter().cloned());
    let entry = entry.t(format!(". {so_far}"));
    let mut message = Message::titled(format!("Reminder: {name}"))
        .line(starts)
        .line(place)
        .text(so_far);
    if late {
        message = message.text("(Sent late: I was offline when this was due.)");
    }
    message = message.line(
        Line::text("If you need support right now, ")
            .cmd("crisis")
            .t(" lists crisis lines."),
    );
    (meetings::rsvp_buttons(message, meeting, occ), entry)
}
