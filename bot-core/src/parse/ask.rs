//! Near misses and two readings: a misspelt command or option, a `name:`
//! that is almost an option, more words after a one-word value. Each is
//! answered with a question or a suggestion, never a guess.

use super::values::value;
use crate::error::UserError;
use crate::spec::{self, CommandSpec, Kind};

pub(super) fn unknown_command(typed: &str) -> UserError {
    let typed = typed.to_lowercase();
    let suggestion = spec::COMMANDS
        .iter()
        .map(|c| (strsim::jaro_winkler(&typed, c.name), c.name))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name);
    UserError::UnknownCommand { typed, suggestion }
}

fn unknown_option(spec: &'static CommandSpec, typed: &str) -> UserError {
    UserError::UnknownOption {
        command: spec.name,
        option: typed.chars().take(32).collect(),
        valid: spec.options.iter().map(|o| o.name).collect(),
    }
}

/// A `key:` that is no option of `spec`: fine as a word of the value it
/// would join (`Note: bring tea`), unless it is almost an option's name or
/// that value is not free words. `args` are the options named so far;
/// `leading` says words came before any name.
pub(super) fn word_of_value(
    spec: &'static CommandSpec,
    key: &str,
    args: &[(String, String)],
    leading: bool,
) -> Result<(), UserError> {
    // The value these words would join: the last one named, or the
    // option that words before any name fill.
    let current = match args.last() {
        Some((name, _)) => spec.option(name),
        None if leading => spec.options.first(),
        None => None,
    };
    let Some(current) = current else {
        return Err(unknown_option(spec, key));
    };
    // Not an option of this command: a misspelt name, or a word of the value?
    if let Some(close) = closest_option(spec, key) {
        return Err(UserError::AlmostAnOption {
            command: spec.name,
            typed: key.chars().take(32).collect(),
            option: close,
            value_of: current.name,
        });
    }
    if !takes_words(current.kind) {
        return Err(unknown_option(spec, key));
    }
    Ok(())
}

/// Whether a value of this kind is free words, where a `name:` that is no
/// option is more likely text ("Note: bring tea") than a mistake.
fn takes_words(kind: Kind) -> bool {
    matches!(kind, Kind::Text { .. } | Kind::Group)
}

/// The option of `spec` that `typed` is almost the name of (`locaton`).
fn closest_option(spec: &CommandSpec, typed: &str) -> Option<&'static str> {
    if typed.chars().count() < 3 {
        return None;
    }
    spec.options
        .iter()
        .map(|o| (strsim::jaro_winkler(typed, o.name), o.name))
        .filter(|(score, _)| *score >= 0.88)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// A one-word value (a number, a choice, a date, a zone) followed by more
/// words has two readings: the words are part of it, or they belong to an
/// option whose name was left out. Asked back, without repeating the words
/// (they may be a private note), unless the whole is a value after all.
pub(super) fn check_one_word_values(spec: &'static CommandSpec, args: &[(String, String)]) -> Result<(), UserError> {
    for (name, raw) in args {
        let Some(option) = spec.option(name) else { continue };
        if takes_words(option.kind) || matches!(option.kind, Kind::Command) {
            continue;
        }
        let mut parts = raw.split_whitespace();
        let (Some(first), Some(_)) = (parts.next(), parts.clone().next()) else {
            continue;
        };
        if value(option, raw).is_ok() || value(option, first).is_err() {
            continue;
        }
        let rest = parts.collect::<Vec<_>>().join(" ");
        let belongs_to = spec
            .options
            .iter()
            .filter(|o| o.name != option.name && !args.iter().any(|(k, _)| k == o.name))
            .filter(|o| takes_words(o.kind) || value(o, &rest).is_ok())
            .map(|o| o.name)
            .take(3)
            .collect();
        return Err(UserError::TrailingWords {
            command: spec.name,
            option: option.name,
            belongs_to,
        });
    }
    Ok(())
}
