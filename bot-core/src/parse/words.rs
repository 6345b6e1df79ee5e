//! The tokenizer: words, and the quotes that group them.

use crate::error::UserError;

/// A word of a command, and whether it began with a quote (a quoted word is
/// never an option's name, even if it holds a colon).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Word {
    pub(super) text: String,
    pub(super) quoted: bool,
}

/// Quotes that open or close a value: straight, curly (what phones type),
/// German low and French guillemets.
pub(super) fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{ab}' | '\u{bb}')
}

pub(super) fn tokenize(text: &str) -> Result<Vec<Word>, UserError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut starts_quoted = false;
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if is_quote(c) => {
                if !in_word {
                    starts_quoted = true;
                }
                quoted = !quoted;
                in_word = true;
            }
            '\\' if quoted && chars.peek().is_some_and(|n| is_quote(*n)) => {
                word.extend(chars.next());
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(Word {
                        text: std::mem::take(&mut word),
                        quoted: starts_quoted,
                    });
                    in_word = false;
                    starts_quoted = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err(UserError::OpenQuote);
    }
    if in_word {
        words.push(Word {
            text: word,
            quoted: starts_quoted,
        });
    }
    Ok(words)
}

/// `key:value` when the token starts with a plausible option name; a URL or a
/// time such as `19:00` is a plain word. A dash in the name reads as the
/// underscore (`led-by:peer`), and the full-width colon CJK keyboards type
/// counts as a colon.
pub(super) fn option_key(token: &str) -> Option<(String, &str)> {
    let (key, value) = token.split_once([':', '\u{ff1a}'])?;
    let plausible = !key.is_empty()
        && key.len() <= 32
        && key.chars().all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
        && key.starts_with(|c: char| c.is_ascii_alphabetic())
        && !value.starts_with("//");
    plausible.then(|| (key.to_ascii_lowercase().replace('-', "_"), value))
}
