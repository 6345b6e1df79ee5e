//! Which command the words start, and which of the words after it are which
//! option's value.

use super::ask::{unknown_command, word_of_value};
use super::words::{Word, option_key};
use crate::error::UserError;
use crate::spec::{self, CommandSpec};

/// Commands whose words without a name are refused rather than put in the
/// first free option: in `/checkin share`, leading words could otherwise
/// become a note, or count the member in a group they never meant to count in.
const NAMED_ONLY: &[&str] = &["checkin share"];

/// The command the first words name (up to three, before any `name:` or
/// quote), with how many words its name took.
pub(super) fn command_of(words: &[Word]) -> Result<(usize, &'static CommandSpec), UserError> {
    let bare = words
        .iter()
        .take_while(|w| !w.quoted && !w.text.contains([':', '\u{ff1a}']))
        .count()
        .min(3);
    let spec = (1..=bare).rev().find_map(|n| {
        let name = words[..n].iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
        spec::command(&name.to_lowercase()).map(|s| (n, s))
    });
    spec.ok_or_else(|| {
        let typed = words
            .iter()
            .take(bare.clamp(1, 2))
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        unknown_command(&typed)
    })
}

/// The words after the command's name, as options and their values: a value
/// runs until the next `name:` that is an option of this command.
pub(super) fn args_of(spec: &'static CommandSpec, words: &[Word]) -> Result<Vec<(String, String)>, UserError> {
    let mut args: Vec<(String, String)> = Vec::new();
    let mut leading: Vec<&str> = Vec::new();
    for word in words {
        let named = if word.quoted { None } else { option_key(&word.text) };
        if let Some((key, value)) = named {
            if let Some(option) = spec.option(&key) {
                args.push((option.name.to_string(), value.to_string()));
                continue;
            }
            word_of_value(spec, &key, &args, !leading.is_empty())?;
        }
        match args.last_mut() {
            Some((_, value)) if value.is_empty() => value.push_str(&word.text),
            Some((_, value)) => {
                value.push(' ');
                value.push_str(&word.text);
            }
            None => leading.push(&word.text),
        }
    }
    with_leading(spec, args, &leading)
}

/// Words before any name fill the first option not named, so that
/// `/group info Grief circle` and `/timezone Europe/Berlin` just work.
fn with_leading(
    spec: &'static CommandSpec,
    mut args: Vec<(String, String)>,
    leading: &[&str],
) -> Result<Vec<(String, String)>, UserError> {
    if leading.is_empty() {
        return Ok(args);
    }
    if NAMED_ONLY.contains(&spec.name) {
        return Err(UserError::UnquotedWords { command: spec.name });
    }
    let Some(free) = spec.options.iter().find(|o| !args.iter().any(|(k, _)| k == o.name)) else {
        return Err(UserError::UnexpectedWords { command: spec.name });
    };
    args.insert(0, (free.name.to_string(), leading.join(" ")));
    Ok(args)
}
