//! `/help`, generated from the command spec.

use crate::message::{Line, Message};
use crate::spec::{COMMANDS, CommandSpec, Kind, Role};

fn who(role: Role) -> &'static str {
    match role {
        Role::Member => "anyone",
        Role::Facilitator => "the group's facilitators and admins",
        Role::Admin => "community admins",
    }
}

fn kind_hint(kind: Kind) -> String {
    match kind {
        Kind::Text { max } => format!("text, up to {max} characters"),
        // A meeting's number has no upper bound worth printing.
        Kind::Int { min, max: i64::MAX } => format!("a whole number, {min} or more"),
        Kind::Int { min, max } => format!("a whole number from {min} to {max}"),
        Kind::Choice(choices) => format!("one of: {}", choices.join(", ")),
        Kind::User => "a person (a mention or user id)".into(),
        Kind::Group => "a group's name, or # and its number".into(),
        Kind::Timezone => "a zone name such as Europe/Berlin".into(),
        Kind::Channel => "a channel or room".into(),
        Kind::Date => "a date, YYYY-MM-DD".into(),
        Kind::Command => "a command's name".into(),
    }
}

/// The commands that start with one word (`/help meeting`), each with its
/// description, and how to read one in full.
pub fn family(word: &str) -> Message {
    let mut message = Message::titled(format!("/{word} commands"));
    let mut first = None;
    for c in COMMANDS
        .iter()
        .filter(|c| c.name.strip_prefix(word).is_some_and(|rest| rest.starts_with(' ')))
    {
        first.get_or_insert(c.name);
        message = message.line(summary(c));
    }
    message.line(
        Line::new()
            .cmd(format!("help command:{}", first.unwrap_or(word)))
            .t(" explains one in full."),
    )
}

/// A command's line in a list: its name, what it does, and who may use it
/// when that is more than a member.
fn summary(c: &CommandSpec) -> Line {
    let line = Line::new().cmd(c.name).t(format!(": {}", c.description));
    if c.who > Role::Member {
        line.t(format!(" ({})", who(c.who)))
    } else {
        line
    }
}

/// Commands of one kind that share a line in the overview: the first, the
/// others (by their last word after it) and what they are for.
const SHARED_LINES: &[(&str, &[&str], &str)] = &[
    (
        "meeting next",
        &[
            "meeting back",
            "meeting skip",
            "meeting extend",
            "meeting end",
            "meeting phrase",
            "meeting panel",
        ],
        "the running meeting's chair's buttons, typed",
    ),
    (
        "role list",
        &["role assign", "role signup", "role release"],
        "a group's service roles (chair, timekeeper…): who holds each, sign up, give one up",
    ),
    (
        "circle join",
        &["circle leave", "circle pass"],
        "join or leave the circle here, or pass your turn",
    ),
    (
        "hand raise",
        &["hand lower"],
        "raise or lower your hand to speak in the circle",
    ),
    (
        "milestone set",
        &["milestone clear"],
        "your milestone said at meetings, if you wish",
    ),
];

/// A command's line in the overview, where commands of one kind share a
/// line so that the list fits one message ([`SHARED_LINES`]), and the
/// commands of three words (`meeting script show`) by their family.
fn overview_line(c: &CommandSpec) -> Option<Line> {
    for (first, rest, what) in SHARED_LINES {
        if c.name == *first {
            let names: Vec<&str> = rest.iter().filter_map(|n| n.rsplit(' ').next()).collect();
            return Some(Line::new().cmd(c.name).t(format!(", {}: {what}", names.join(", "))));
        }
        if rest.contains(&c.name) {
            return None;
        }
    }
    let words: Vec<&str> = c.name.split(' ').collect();
    let [a, b, _] = words.as_slice() else {
        return Some(summary(c));
    };
    let family = format!("{a} {b}");
    let members: Vec<&str> = COMMANDS
        .iter()
        .filter_map(|o| o.name.strip_prefix(family.as_str()).and_then(|r| r.strip_prefix(' ')))
        .collect();
    if !members.first().is_some_and(|first| c.name.ends_with(first)) {
        return None;
    }
    Some(
        Line::new()
            .cmd(family.clone())
            .t(format!(" {}: see ", members.join("|")))
            .cmd(format!("help command:{family}")),
    )
}

/// Every command with its one-line description, or one command in full.
pub fn help(command: Option<&CommandSpec>) -> Message {
    match command {
        None => {
            let mut message = Message::titled("Hearth commands");
            for c in COMMANDS {
                if let Some(line) = overview_line(c) {
                    message = message.line(line);
                }
            }
            message.line(
                Line::new()
                    .cmd("help command:NAME")
                    .t(" explains one. Options are written name:value, and a value runs until the next option's name: name:Grief circle topic:grief. Quotes keep a value whole: note:\"topic: loss\"."),
            )
        }
        Some(c) => {
            let mut message = Message::new()
                .line(Line::new().cmd(c.name).t(format!(": {}", c.description)))
                .text(format!("Who can use it: {}.", who(c.who)));
            if c.options.is_empty() {
                message = message.text("It takes no options.");
            }
            for o in c.options {
                let need = match (o.required, o.must_be_typed()) {
                    (true, true) => "required",
                    (true, false) => "required, except in its home channel",
                    _ => "optional",
                };
                message = message.text(format!(
                    "  {} ({need}): {}; {}.",
                    o.name,
                    o.description,
                    kind_hint(o.kind)
                ));
            }
            let example: Vec<String> = std::iter::once(c.name.to_string())
                .chain(c.options.iter().filter(|o| o.required).map(|o| format!("{}:…", o.name)))
                .collect();
            message.line(Line::text("Example: ").cmd(example.join(" ")))
        }
    }
}
