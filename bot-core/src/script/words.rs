//! What a run says: the chair's panel, each step as the room reads it, the
//! quick phrases, and a script as a list.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::state::Run;
use super::steps::{Step, StepKind};
use crate::message::{Line, Message, Span};

/// The phrases the chair posts with one press: (name, button, emoji,
/// words). Each has its own emoji: on Matrix a button is a reaction, told
/// apart by it.
pub const PHRASES: &[(&str, &str, &str, &str)] = &[
    (
        "move_on",
        "Move on",
        "⏩",
        "Thank you. It's time to move on to the next person.",
    ),
    (
        "own_experience",
        "Own experience",
        "🪞",
        "Could you share that as your own experience?",
    ),
    (
        "one_voice",
        "One voice",
        "☝️",
        "Let's keep to one voice at a time, so everyone can be heard.",
    ),
    (
        "wrap_up",
        "Wrap up",
        "🌅",
        "We have a few minutes left, so let's begin to wrap up.",
    ),
];

/// Minutes, rounded to the nearest, for the panel.
fn mins(secs: i64) -> String {
    let m = (secs.abs() + 30) / 60;
    if m == 1 { "1 min".into() } else { format!("{m} min") }
}

/// How far the meeting runs from its plan, in words.
pub fn drift(over: i64) -> String {
    match over {
        o if o >= 60 => format!("running {} over", mins(o)),
        o if o <= -60 => format!("{} ahead", mins(o)),
        _ => "on time".into(),
    }
}

/// The chair's private panel: the step, its time, and the buttons.
pub fn panel(group: (i64, &str), steps: &[Step], run: &Run, now: i64) -> Message {
    let (group_id, name) = group;
    let planned: Vec<i64> = steps.iter().map(Step::planned_secs).collect();
    let Some(step) = steps.get(run.step) else {
        return Message::titled(format!("Meeting · {name}")).text("This script has no steps.");
    };
    let mut m = Message::titled(format!(
        "Your panel · {name} · step {} of {}",
        run.step + 1,
        steps.len()
    ))
    .line(Line::new().b(&step.title).t(format!(" ({})", step.kind.as_str())));
    if let Some(text) = &step.text {
        m = m.text(text.clone());
    }
    let extra = if run.extra_secs > 0 {
        format!(" + {} added", mins(run.extra_secs))
    } else {
        String::new()
    };
    let over = run.step_over(&planned, now);
    let step_time = if over >= 60 {
        format!(
            "Time: {} used of {}{extra} ({} over)",
            mins(run.used_now(now)),
            mins(step.planned_secs()),
            mins(over)
        )
    } else {
        format!(
            "Time: {} used of {}{extra}",
            mins(run.used_now(now)),
            mins(step.planned_secs())
        )
    };
    m = m
        .text(step_time)
        .text(format!("Meeting: {}", drift(run.over(&planned, now))));
    if let Some(next) = steps.get(run.step + 1) {
        m = m.text(format!("Next: {}", next.title));
    } else {
        m = m.text("This is the last step: Next ends the meeting.");
    }
    let g = format!("group:#{group_id}");
    m = m
        .button("Next", "▶️", format!("meeting next {g}"))
        .button("Back", "◀️", format!("meeting back {g}"))
        .button("Skip", "⏭️", format!("meeting skip {g}"))
        .button("+2 min", "⏱️", format!("meeting extend {g}"));
    for (key, label, emoji, _) in PHRASES {
        m = m.button(*label, emoji, format!("meeting phrase {g} phrase:{key}"));
    }
    m
}

/// What the room reads as a step begins (the words of a `say` step are the chair's alone).
pub struct Public<'a> {
    pub group: &'a str,
    pub guideline: &'a str,
    pub handles: &'a [(&'static str, String)],
    pub zone: Tz,
    /// At a milestones step: (name, milestone) of those who opted in.
    pub milestones: &'a [(String, String)],
}

pub fn step_post(step: &Step, public: &Public<'_>, now: DateTime<Utc>) -> Message {
    let m = Message::titled(format!("{} · {}", public.group, step.title));
    match step.kind {
        StepKind::Say => m,
        StepKind::Reading => reading(m, step),
        StepKind::Guidelines => m.text(public.guideline.to_string()),
        StepKind::Round => m.text("A round: each in turn, as much or as little as you like. Passing is always fine."),
        StepKind::Shares => m.text("Open sharing: raise a hand to share. Passing is always fine."),
        StepKind::Timed => {
            let ends = now + chrono::Duration::minutes(step.minutes);
            m.line(
                Line::text("Until ")
                    .push(Span::Time {
                        at: ends,
                        zone: public.zone,
                    })
                    .t("."),
            )
        }
        StepKind::Donation => donation(m, public.handles),
        StepKind::Announcements => m.text("Anyone with news for the group may share it now."),
        StepKind::Milestones => milestones(m, public.milestones),
    }
}

fn reading(mut m: Message, step: &Step) -> Message {
    match (&step.link, &step.excerpt) {
        (Some(link), excerpt) => {
            if let Some(excerpt) = excerpt {
                m = m.text(format!("“{excerpt}”"));
            }
            m = m.line(Line::new().push(Span::Link {
                label: "Read it in full".into(),
                url: link.clone(),
            }));
        }
        (None, Some(excerpt)) => m = m.text(excerpt.clone()),
        (None, None) => {
            if let Some(text) = &step.text {
                m = m.text(text.clone());
            }
        }
    }
    if let Some(credit) = &step.credit {
        m = m.text(format!("— {credit}"));
    }
    m
}

/// The milestones of those who chose to have theirs said, each name as
/// plain text (the adapters defuse any mention in it).
fn milestones(mut m: Message, said: &[(String, String)]) -> Message {
    if said.is_empty() {
        return m.text(
            "Anyone who would like to mark a milestone may say so now; nobody is named who hasn't chosen to be.",
        );
    }
    m = m.text("Milestones since our last meeting, from those who chose to have theirs said:");
    for (name, milestone) in said {
        m = m.text(format!("{name}: {milestone}"));
    }
    m.text("Anyone else who would like to mark a milestone may say so now.")
}

fn donation(mut m: Message, handles: &[(&'static str, String)]) -> Message {
    m = m.text("This group is kept going by what members choose to give. There's no need to give anything, and nobody is told who did.");
    for (name, handle) in handles {
        m = m.field(*name, Line::text(handle.clone()));
    }
    m
}

/// The room hears the meeting has ended.
pub fn ended_post(group: &str) -> Message {
    Message::titled(group.to_string()).text("The meeting has ended. Thank you all for being here.")
}

/// The chair's record of the run: each step and its time, nothing anyone said.
pub fn record(group: &str, steps: &[Step], run: &Run) -> Message {
    let mut m = Message::titled(format!("{group} · the meeting's times"));
    for (i, step) in steps.iter().enumerate() {
        let used = run.used.get(i).copied().unwrap_or(0);
        let line = if run.skipped.get(i).copied().unwrap_or(false) && used < 60 {
            format!("{}. {}: skipped", i + 1, step.title)
        } else {
            format!(
                "{}. {}: {} of {}",
                i + 1,
                step.title,
                mins(used),
                mins(step.planned_secs())
            )
        };
        m = m.text(line);
    }
    let planned: i64 = steps.iter().map(Step::planned_secs).sum();
    let took = run.ended_at.unwrap_or(run.started_at) - run.started_at;
    m.text(format!("In all: {} of {} planned.", mins(took), mins(planned)))
}

/// A script as a list, for `/meeting script show`.
pub fn listing(group: &str, steps: &[Step]) -> Message {
    let mut m = Message::titled(format!("{group} · meeting script"));
    if steps.is_empty() {
        return m.line(
            Line::text("No script yet. ")
                .cmd("meeting script template")
                .t(" copies one to start from."),
        );
    }
    for (i, s) in steps.iter().enumerate() {
        let mut line = format!("{}. {} ({}, {} min", i + 1, s.title, s.kind.as_str(), s.minutes);
        if s.kind.uses_the_stick() {
            line.push_str(&format!(", {}", s.stick_mode().as_str()));
            if let Some(secs) = s.share_secs {
                line.push_str(&format!(", shares of {}", mins(secs)));
            }
            if s.mute_others {
                line.push_str(", others muted");
            }
        }
        line.push(')');
        m = m.text(line);
    }
    let total: i64 = steps.iter().map(|s| s.minutes).sum();
    m.text(format!("Planned: {total} min."))
}

/// Whether the meeting starts by itself, under its script's listing.
pub fn with_autostart(listing: Message, on: bool) -> Message {
    if on {
        listing.text("Starts by itself at each meeting's start; the chair gets the panel.")
    } else {
        listing
    }
}

/// The room's word that the meeting started by itself: the first step's
/// post, and the button that opens the chair's panel.
pub fn autostarted(group: super::Of<'_>, first: Message) -> Message {
    let mut m = Message::titled(format!("{} · The meeting has started", group.name));
    if let Some(title) = first.title {
        m = m.line(Line::new().b(title));
    }
    m.lines.extend(first.lines);
    m.fields.extend(first.fields);
    m.line(
        Line::text("The chair's panel: ")
            .cmd(format!("meeting panel group:#{}", group.id))
            .t(", or the button."),
    )
    .button("Open the panel", "📋", format!("meeting panel group:#{}", group.id))
}
