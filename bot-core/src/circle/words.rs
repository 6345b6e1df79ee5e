//! The words people read: the modes, the events as sentences, the stick's
//! status card and the facilitator's balance.

use chrono::{DateTime, Utc};

use super::db::{Circle, Person};
use super::state::{Event, Mode, State, TurnEnd};
use crate::io::Effect;
use crate::message::{Line, Message, Span};

/// The circle's status message, edited in place once it has been posted.
pub(super) fn status_effect(
    circle: &Circle,
    state: &State,
    people: &[Person],
    events: &[Event],
    now: DateTime<Utc>,
) -> Effect {
    Effect::Status {
        channel: circle.home_channel.clone(),
        key: status_key(circle.id),
        message: with_status(
            announce(Message::new(), events, people, false),
            circle,
            state,
            people,
            now,
        ),
        edit: circle.status_message.clone(),
    }
}

pub(super) fn status_key(circle: i64) -> String {
    format!("circle:{circle}:status")
}

pub(super) fn mode_words(mode: Mode) -> &'static str {
    match mode {
        Mode::Round => "Round: we go around in the order people joined; newcomers join the end of the round.",
        Mode::Queue => "Queue: raise a hand to speak; first raised, first heard.",
        Mode::Balanced => "Balanced: raise a hand to speak; whoever has spoken least goes first.",
    }
}

pub(super) fn person(people: &[Person], member: i64) -> Span {
    match people.iter().find(|p| p.id == member) {
        Some(p) => Span::User {
            id: p.external_id.clone(),
            name: p.display_name.clone(),
        },
        None => Span::text("someone"),
    }
}

pub(super) fn name(people: &[Person], member: i64) -> String {
    people
        .iter()
        .find(|p| p.id == member)
        .map_or_else(|| "someone".to_string(), |p| p.display_name.clone())
}

/// `m:ss`.
pub(super) fn clock(secs: i64) -> String {
    let secs = secs.max(0);
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// "3 min", "90 s", "2 min 30 s".
pub(super) fn minutes(secs: i64) -> String {
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// The events as kind, plain sentences; the new holder is the one pinged.
pub(super) fn announce(mut message: Message, events: &[Event], people: &[Person], joins: bool) -> Message {
    for event in events {
        let line = match *event {
            Event::Given { member } => {
                if let Some(p) = people.iter().find(|p| p.id == member) {
                    message.pings.push(p.external_id.clone());
                }
                Line::new().push(person(people, member)).t(" has the stick.")
            }
            Event::Ended {
                member,
                how: TurnEnd::Shared,
                ..
            } => Line::text(format!("Thank you, {}.", name(people, member))),
            Event::Ended {
                member,
                how: TurnEnd::Passed,
                ..
            }
            | Event::PassedAhead { member } => {
                Line::text(format!("{} passed — that's always okay.", name(people, member)))
            }
            Event::Ended {
                member,
                how: TurnEnd::Left,
                ..
            } => Line::text(format!("{} left; the stick moves on.", name(people, member))),
            Event::Joined { member } if joins => Line::text(format!("{} joined the circle.", name(people, member))),
            Event::Joined { .. } => continue,
            Event::Left { member } => Line::text(format!("{} left the circle.", name(people, member))),
            Event::HandRaised { member } => Line::text(format!("{} raised a hand.", name(people, member))),
            Event::HandLowered { member } => Line::text(format!("{} lowered their hand.", name(people, member))),
            Event::ModeChanged { mode } => Line::text(format!("Now in {} mode. {}", mode.as_str(), mode_words(mode))),
        };
        message = message.line(line);
    }
    message
}

/// The status of the stick: holder, time, who is next, the queue; with buttons.
pub(super) fn with_status(
    mut message: Message,
    circle: &Circle,
    state: &State,
    people: &[Person],
    now: DateTime<Utc>,
) -> Message {
    if message.title.is_none() {
        message.title = Some("Talking circle".into());
    }
    let holder = match state.holder {
        Some(h) => {
            let elapsed = state.elapsed(now.timestamp()).unwrap_or(0);
            let time = match circle.share_secs {
                Some(share) if elapsed <= share => format!(" ({} left)", clock(share - elapsed)),
                Some(_) => " (time is up)".to_string(),
                None => format!(" (speaking {})", clock(elapsed)),
            };
            Line::text(name(people, h)).t(time)
        }
        None => Line::text(match state.mode {
            Mode::Round => "nobody yet",
            Mode::Queue | Mode::Balanced => "nobody; raise a hand to speak",
        }),
    };
    message = message.field("Holding the stick", holder);
    if let Some(next) = state.next_up() {
        message = message.field("Next", Line::text(name(people, next)));
    }
    let hands: Vec<String> = state.queue().iter().map(|p| name(people, p.member)).collect();
    if !hands.is_empty() {
        message = message.field("Raised hands", Line::text(hands.join(", ")));
    }
    let here = state.present().count();
    message = message.field(
        "Circle",
        Line::text(format!(
            "#{} · {} mode · {here} {}",
            circle.id,
            state.mode.as_str(),
            if here == 1 { "person" } else { "people" }
        )),
    );
    // Each button names its circle: two circles' cards in one channel act apart.
    let id = circle.id;
    message
        .button("Raise hand", "✋", format!("hand raise circle:{id}"))
        .button("Lower hand", "👇", format!("hand lower circle:{id}"))
        .button("Pass", "🙏", format!("circle pass circle:{id}"))
        .button("Next", "➡️", format!("circle next circle:{id}"))
}

/// The facilitator's private balance: counts and minutes, nothing said.
pub(super) fn summary(circle: &Circle, state: &State, people: &[Person], now: DateTime<Utc>) -> Message {
    let took_part: Vec<_> = state
        .participants
        .iter()
        .filter(|p| p.shares + p.passes > 0 || p.present)
        .collect();
    let shares: i64 = took_part.iter().map(|p| p.shares).sum();
    let passes: i64 = took_part.iter().map(|p| p.passes).sum();
    let ran = now.timestamp() - circle.started_at;
    let mut message = Message::titled("Circle summary (only you see this)").text(format!(
        "The circle ran {} with {} {}: {shares} {}, {passes} {}.",
        if ran < 60 {
            "under a minute".to_string()
        } else {
            minutes(ran - ran % 60)
        },
        took_part.len(),
        if took_part.len() == 1 { "person" } else { "people" },
        if shares == 1 { "share" } else { "shares" },
        if passes == 1 { "pass" } else { "passes" },
    ));
    for p in &took_part {
        message = message.text(format!(
            "{}: {} {}, {} {}, {} speaking",
            name(people, p.member),
            p.shares,
            if p.shares == 1 { "share" } else { "shares" },
            p.passes,
            if p.passes == 1 { "pass" } else { "passes" },
            clock(p.spoken_secs),
        ));
    }
    message.text("Hearth keeps these counts and times only; nothing of what was said.")
}
