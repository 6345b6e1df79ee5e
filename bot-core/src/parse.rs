//! From typed text to a checked command: the tokenizer, the text parser every
//! text-based adapter uses, and [`bind`], which checks any invocation (typed
//! or from Discord's typed options) against the spec.
//!
//! The tokenizer is ours, not POSIX shell quoting (shlex): people write
//! apostrophes ("I'm", "don't") in values, and shell rules would read each as
//! an unclosed quote. Only double quotes group words, including the curly
//! ones phones type.
//!
//! The parts, in the order text goes through them: `words` (the tokenizer
//! and quotes), `options` (which command, and which words are which
//! option's), `ask` (the near misses and two readings that are asked back,
//! not guessed), `bound` ([`bind`] and what it gives), `values` (one value
//! of each kind, read and checked) and `crisis` (`/crisis`, never refused).

mod ask;
mod bound;
mod crisis;
mod options;
mod values;
mod words;

pub use bound::{Bound, Value, bind};
pub use values::{channel_id, name_key};

use crate::error::UserError;
use crate::io::Invocation;
use crate::spec;

/// Longest command text accepted, in characters.
pub const MAX_LINE: usize = 4000;

/// Parses a message body. `None` when it is not a command (no prefix), so
/// adapters can ignore ordinary conversation without a reply.
pub fn parse_message(body: &str, prefix: &str) -> Option<Result<Invocation, UserError>> {
    let rest = body.trim_start().strip_prefix(prefix)?;
    // "!" alone or "! hello" is conversation, not a command.
    if rest.is_empty() || rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some(parse_command(rest))
}

/// Parses a message in a shared room, where other bots answer to the same
/// prefix: like [`parse_message`], but text whose first word starts no
/// Hearth command (another bot's `!remind`, or `!!!`) is not for Hearth and
/// gets `None`, so it is never answered. A known word with a wrong rest
/// (`!group nope`, `!crisis country:zz`) still gets its error.
pub fn parse_addressed(body: &str, prefix: &str) -> Option<Result<Invocation, UserError>> {
    let rest = body.trim_start().strip_prefix(prefix)?;
    let first = rest.split_whitespace().next()?.to_lowercase();
    if !spec::COMMANDS
        .iter()
        .any(|c| c.name.split(' ').next() == Some(first.as_str()))
    {
        return None;
    }
    parse_message(body, prefix)
}

/// Parses command text without its prefix: `group info group:"Grief circle"`.
///
/// One rule for words without quotes: a value runs until the next `name:`
/// that is an option of this command, so `name:Recovery Circle topic:grief`
/// means what it says. Where that still leaves two readings (more words after
/// a one-word value, a `name:` that is almost an option), the answer is a
/// question, not a guess.
pub fn parse_command(text: &str) -> Result<Invocation, UserError> {
    if let Some(crisis) = crisis::invocation(text) {
        return Ok(crisis);
    }
    let len = text.chars().count();
    if len > MAX_LINE {
        return Err(UserError::LineTooLong { len, max: MAX_LINE });
    }
    let words = words::tokenize(text)?;
    let (used, spec) = options::command_of(&words)?;
    let args = options::args_of(spec, &words[used..])?;
    ask::check_one_word_values(spec, &args)?;
    Ok(Invocation {
        command: spec.name.to_string(),
        args,
        channels: Vec::new(),
    })
}

#[cfg(test)]
mod tests;
