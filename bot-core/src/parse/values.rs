//! Reading one value of each kind: length, one line, and what the kind
//! takes (a number in range, one of the choices, a date, a zone, a command,
//! a mention, a channel).

use chrono::NaiveDate;

use super::ask::unknown_command;
use super::bound::Value;
use crate::error::UserError;
use crate::io::{ChannelFact, Invocation};
use crate::spec::{self, Kind, OptSpec};
use crate::timezone;

/// Longest value for kinds without their own limit.
const MAX_ID: usize = 255;

/// Text others will read as it was meant: one line, no control characters,
/// nothing that turns it around, and something visible.
fn readable(name: &'static str, raw: &str) -> Result<(), UserError> {
    if raw.chars().any(char::is_control) {
        return Err(UserError::BadValue {
            option: name,
            why: "must be on one line, without control characters",
        });
    }
    // Embeddings, overrides and isolates turn the text after them around
    // where others read it ("Trojan Source"): a name could pass for
    // another. The marks right-to-left writing needs (U+200E, U+200F) stay.
    if raw
        .chars()
        .any(|c| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    {
        return Err(UserError::BadValue {
            option: name,
            why: "must not hold characters that turn the text's direction around",
        });
    }
    // Nothing but invisible characters is nothing.
    if raw.chars().all(|c| {
        matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{2060}' | '\u{feff}' | '\u{00ad}' | '\u{034f}'
        )
    }) {
        return Err(UserError::Empty { option: name });
    }
    Ok(())
}

pub(super) fn value(option: &OptSpec, raw: &str) -> Result<Value, UserError> {
    let name = option.name;
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(UserError::Empty { option: name });
    }
    let max = match option.kind {
        Kind::Text { max } => max,
        Kind::Group => spec::NAME_MAX,
        _ => MAX_ID,
    };
    let len = raw.chars().count();
    if len > max {
        return Err(UserError::TooLong { option: name, len, max });
    }
    readable(name, raw)?;
    Ok(match option.kind {
        Kind::Text { .. } | Kind::Group => Value::Text(raw.to_string()),
        Kind::Int { min, max } => match raw.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Value::Int(n),
            _ => return Err(UserError::BadNumber { option: name, min, max }),
        },
        Kind::Choice(choices) => {
            let wanted = raw.replace([' ', '-'], "_");
            match choices.iter().find(|c| c.eq_ignore_ascii_case(&wanted)) {
                Some(c) => Value::Choice(c),
                None => return Err(UserError::BadChoice { option: name, choices }),
            }
        }
        Kind::Date => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(d) => Value::Date(d),
            Err(_) => return Err(UserError::BadDate { option: name }),
        },
        Kind::Timezone => Value::Zone(timezone::parse(raw)?),
        Kind::Command => {
            let wanted = raw
                .trim_start_matches(['/', '!'])
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let lower = wanted.to_lowercase();
            match spec::command(&lower) {
                Some(c) => Value::Command(c),
                // The first word of several commands (`meeting`): the family,
                // for help to list.
                None if spec::COMMANDS.iter().any(|c| {
                    c.name
                        .strip_prefix(lower.as_str())
                        .is_some_and(|rest| rest.starts_with(' '))
                }) =>
                {
                    Value::Text(lower)
                }
                None => return Err(unknown_command(&wanted)),
            }
        }
        Kind::User => Value::Text(user_id(raw)),
        Kind::Channel => Value::Text(channel_id(raw)),
    })
}

/// A channel option, as the platform found it: its id when it is one of the
/// community's channels where the bot can post, else why not.
pub(super) fn channel(option: &OptSpec, raw: &str, invocation: &Invocation) -> Result<Value, UserError> {
    value(option, raw)?;
    match invocation.channels.iter().find(|(name, _)| name == option.name) {
        Some((_, ChannelFact::Postable(id))) => Ok(Value::Text(id.clone())),
        Some((_, fact)) => Err(UserError::BadChannel {
            option: option.name,
            fact: fact.clone(),
        }),
        None => Err(UserError::BadChannel {
            option: option.name,
            fact: ChannelFact::Unknown,
        }),
    }
}

/// A user id from a mention: Discord `<@123>` / `<@!123>`, console `@bob`;
/// a Matrix id (`@bob:example.org`) is kept whole.
pub(super) fn user_id(raw: &str) -> String {
    if let Some(inner) = raw.strip_prefix("<@").and_then(|r| r.strip_suffix('>')) {
        return inner.trim_start_matches('!').to_string();
    }
    match raw.strip_prefix('@') {
        Some(name) if !name.contains(':') => name.to_string(),
        _ => raw.to_string(),
    }
}

/// A channel id from `#general` or Discord's `<#123>`: the console's channels.
pub fn channel_id(raw: &str) -> String {
    if let Some(inner) = raw.strip_prefix("<#").and_then(|r| r.strip_suffix('>')) {
        return inner.to_string();
    }
    raw.trim_start_matches('#').to_string()
}

/// How a typed name is compared with a stored one (a group, a resource's
/// title or topic): spaces around it cut, any case.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}
