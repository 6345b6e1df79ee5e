//! A change to a series in words: the news its group's home channel hears
//! (and the reply's), and the notice each who said they'd come is sent.

use chrono::Offset;
use chrono_tz::Tz;

use super::rsvps::rsvp_buttons;
use super::series::{Meeting, Occurrence};
use super::words::{cadence, time};
use crate::groups::Group;
use crate::members::Member;
use crate::message::{Line, Message};
use crate::when::at;

/// How many occurrences a schedule preview shows.
pub(super) const PREVIEW: usize = 5;

/// A change to tell those who said they'd come. Stored with the notice's
/// job and put into words when it goes out, in the reader's zone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// One occurrence, that was to start at `start`, is cancelled.
    Cancelled { start: i64 },
    /// The whole series is cancelled; `start` is the reader's next one.
    SeriesCancelled { start: i64 },
    /// One occurrence moved; `original` identifies it for the RSVP buttons.
    Moved { original: i64, from: i64, to: i64 },
    /// The series was edited from one meeting on: the reader's next one as
    /// (original, was, now), and those they said they'd come to that no
    /// longer happen (the new rule does not meet that day), by their start.
    Edited {
        next: Option<(i64, i64, i64)>,
        gone: Vec<i64>,
    },
    /// A place at one occurrence freed up and went to the reader, the first
    /// on its waiting list: they are going now.
    PlaceFreed { original: i64, start: i64 },
}

/// Those to tell of a change, by what they said they'd come to.
pub type Told = Vec<(Member, Change)>;

/// A change's notice, in words, for a reader in `zone`.
pub fn notice(change: &Change, meeting: &Meeting, group: &Group, zone: Tz) -> Message {
    let name = meeting.name(&group.name).to_string();
    match change {
        Change::SeriesCancelled { start } => Message::titled(format!("Cancelled: {name}"))
            .text(format!("The whole series of {name} has been cancelled, including:"))
            .line(Line::text("  ").push(time(at(*start), zone)))
            .text("Thank you for being part of it."),
        Change::Cancelled { start } => Message::titled(format!("Cancelled: {name}")).line(
            Line::text("The meeting on ")
                .push(time(at(*start), zone))
                .t(" is cancelled. The others go ahead as planned."),
        ),
        Change::Moved { original, from, to } => {
            let text = Message::titled(format!("Moved: {name}"))
                .line(
                    Line::text("The meeting on ")
                        .push(time(at(*from), zone))
                        .t(" now happens ")
                        .push(time(at(*to), zone))
                        .t("."),
                )
                .text("Your answer still stands, and so does your place in line if you are waiting for one; change it below if you need to.");
            let moved = Occurrence {
                original: at(*original),
                start: at(*to),
            };
            rsvp_buttons(text, meeting, &moved)
        }
        Change::PlaceFreed { original, start } => {
            let text = Message::titled(format!("A place for you: {name}"))
                .line(
                    Line::text(format!("A place has freed up at {name} on "))
                        .push(time(at(*start), zone))
                        .t(", and it's yours: you're going. I'll remind you before it starts."),
                )
                .text("If you can't come after all, answer below, and the next in line gets the place.");
            let occ = Occurrence {
                original: at(*original),
                start: at(*start),
            };
            rsvp_buttons(text, meeting, &occ)
        }
        Change::Edited { next, gone } => edited(&name, meeting, next.as_ref(), gone, zone),
    }
}

/// The notice of a series edited from one meeting on: its new cadence, the
/// reader's next meeting then and now, and those that no longer happen.
fn edited(name: &str, meeting: &Meeting, next: Option<&(i64, i64, i64)>, gone: &[i64], zone: Tz) -> Message {
    let mut text = Message::titled(format!("Changed: {name}")).text(format!(
        "{name} has changed: {} (meeting {}).",
        cadence(meeting),
        meeting.id
    ));
    if let Some((_, was, now)) = next {
        let line = if was == now {
            Line::text("Your next one is still ").push(time(at(*now), zone)).t(".")
        } else {
            Line::text("Your next one, on ")
                .push(time(at(*was), zone))
                .t(", is now ")
                .push(time(at(*now), zone))
                .t(".")
        };
        text = text.line(line);
    }
    for start in gone {
        text = text.line(
            Line::text("The meeting on ")
                .push(time(at(*start), zone))
                .t(" no longer happens."),
        );
    }
    match next {
        Some((original, _, now)) => {
            let occ = Occurrence {
                original: at(*original),
                start: at(*now),
            };
            rsvp_buttons(
                text.text("Your answers still stand, and so does your place in line if you are waiting for one; change them below if you need to."),
                meeting,
                &occ,
            )
        }
        None => text,
    }
}

/// A change to a group's meetings as its home channel hears of it. Kept as
/// data so that the post can be queued inside the change's write and put into
/// words when it goes out, by the same [`news_message`] as the reply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "news", rename_all = "snake_case")]
pub enum News {
    /// A new series: its first meetings as (original, start), a clock
    /// change's explanation, and whether the rule skips the day asked for.
    Scheduled {
        next: Vec<(i64, i64)>,
        note: Option<String>,
        skipped: bool,
    },
    Cancelled {
        start: i64,
    },
    SeriesCancelled,
    Moved {
        from: i64,
        to: i64,
        note: Option<String>,
    },
    /// A series edited from one meeting on: its next meetings as (original,
    /// start), a clock change's explanation, and the number of the series
    /// its earlier meetings kept, when some are still to come.
    Edited {
        next: Vec<(i64, i64)>,
        note: Option<String>,
        earlier: Option<i64>,
    },
}

/// What a change to a series gives its caller: the news, a line for the one
/// who typed it alone (which date it took, in their zone), and who to tell
/// by DM.
pub struct Changed {
    pub news: News,
    pub note: Option<Line>,
    pub told: Told,
}

/// The news in words, in the meeting's own zone (a public post; Discord
/// localises it for each reader).
pub fn news_message(news: &News, meeting: &Meeting, group: &Group) -> Message {
    let zone = meeting.zone();
    let name = meeting.name(&group.name).to_string();
    match news {
        News::Scheduled { next, note, skipped } => {
            scheduled_message(meeting, &name, &occurrences_of(next), note.as_deref(), *skipped)
        }
        News::Cancelled { start } => Message::new().line(
            Line::text(format!("Cancelled {name} on "))
                .push(time(at(*start), zone))
                .t(". Those who said they'd come will be told."),
        ),
        News::SeriesCancelled => Message::new().text(format!(
            "Cancelled every coming {name} meeting (meeting {}).",
            meeting.id
        )),
        News::Moved { from, to, note } => {
            let mut message = Message::new().line(
                Line::text(format!("Moved {name} from "))
                    .push(time(at(*from), zone))
                    .t(" to ")
                    .push(time(at(*to), zone))
                    .t("."),
            );
            if let Some(note) = note {
                message = message.text(note);
            }
            message
        }
        News::Edited { next, note, earlier } => edited_message(meeting, &name, next, note.as_deref(), *earlier),
    }
}

/// An edited series' card: how often from now on, its next meetings, and
/// where its earlier ones went.
fn edited_message(
    meeting: &Meeting,
    name: &str,
    next: &[(i64, i64)],
    note: Option<&str>,
    earlier: Option<i64>,
) -> Message {
    let zone = meeting.zone();
    let next = occurrences_of(next);
    let mut message = Message::titled(format!("Changed: {name}"));
    let Some(first) = next.first() else {
        return message.text(format!("{} (meeting {}).", cadence(meeting), meeting.id));
    };
    message = message.line(Line::text("From ").push(time(first.start, zone)).t(format!(
        " on: {} (meeting {}).",
        cadence(meeting),
        meeting.id
    )));
    if let Some(note) = note {
        message = message.text(note);
    }
    if let Some(place) = &meeting.location {
        message = message.line(Line::text(format!("Where: {place}")));
    }
    message = with_dates(message, &next, zone);
    if let Some(earlier) = earlier {
        message = message.text(format!(
            "The meetings before then stay as they were, as meeting {earlier}."
        ));
    }
    message = message.text("Those who said they'd come keep their RSVP and are told.");
    rsvp_buttons(message, meeting, first)
}

/// A new series' card: how often, the first meetings, RSVP buttons for the first.
fn scheduled_message(meeting: &Meeting, name: &str, next: &[Occurrence], note: Option<&str>, skipped: bool) -> Message {
    let zone = meeting.zone();
    let mut message = Message::titled(format!("Scheduled: {name}")).line(Line::text(format!(
        "{} (meeting {}).",
        cadence(meeting),
        meeting.id
    )));
    if let Some(note) = note {
        message = message.line(Line::text(note));
    }
    let Some(first) = next.first() else {
        return message;
    };
    if skipped {
        message = message.line(
            Line::text(format!(
                "The rule does not meet on {}, the day in when, so the first meeting is ",
                meeting.start_local.format("%a %-d %b %Y")
            ))
            .push(time(first.start, zone))
            .t("."),
        );
    }
    if let Some(place) = &meeting.location {
        message = message.line(Line::text(format!("Where: {place}")));
    }
    message = with_dates(message, next, zone).line(
        Line::text("RSVP below, or with ")
            .cmd(format!("meeting rsvp meeting:{} answer:yes", meeting.id))
            .t("."),
    );
    rsvp_buttons(message, meeting, first)
}

/// The preview's dates, in the meeting's own zone and named (a public post;
/// Discord localises it for each reader), with each clock change flagged.
fn with_dates(mut message: Message, next: &[Occurrence], zone: Tz) -> Message {
    message = message.line(Line::text(if next.len() > 1 { "Next meetings:" } else { "When:" }));
    let mut previous_offset = None;
    for occ in next {
        let offset = occ.start.with_timezone(&zone).offset().fix();
        let mut line = Line::text("  ").push(time(occ.start, zone));
        if previous_offset.is_some_and(|p| p != offset) {
            line = line.t(format!(
                "  (clocks changed: still {} in {}, now UTC{})",
                occ.start.with_timezone(&zone).format("%H:%M"),
                zone.name(),
                occ.start.with_timezone(&zone).format("%:z")
            ));
        }
        previous_offset = Some(offset);
        message = message.line(line);
    }
    message
}

/// Occurrences as the news keeps them: (original, start), Unix seconds.
pub(super) fn kept(next: &[Occurrence]) -> Vec<(i64, i64)> {
    next.iter()
        .map(|o| (o.original.timestamp(), o.start.timestamp()))
        .collect()
}

/// The news's (original, start) pairs as occurrences again.
fn occurrences_of(next: &[(i64, i64)]) -> Vec<Occurrence> {
    next.iter()
        .map(|(original, start)| Occurrence {
            original: at(*original),
            start: at(*start),
        })
        .collect()
}

/// A clock change's explanation and how an ambiguous phrase was read, as
/// one note.
pub(crate) fn notes(dst: Option<String>, reading: Option<String>) -> Option<String> {
    match (dst, reading) {
        (Some(a), Some(b)) => Some(format!("{b} {a}")),
        (a, b) => a.or(b),
    }
}
