//! `/crisis`, typed or from any platform: the words after it are the
//! country, cut to length, and never refused.

use super::bound::{Bound, Value};
use super::words::is_quote;
use crate::io::Invocation;
use crate::spec::CommandSpec;

/// The longest country text `/crisis` reads; the rest is ignored, never refused.
const CRISIS_MAX: usize = 200;

/// `/crisis` never refuses: whatever follows the word is the country, read
/// by the crisis module, which answers every text with lines. Not even an
/// open quote or an overlong line stands in the way.
pub(super) fn invocation(text: &str) -> Option<Invocation> {
    let text = text.trim_start();
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    if !text[..end].eq_ignore_ascii_case("crisis") {
        return None;
    }
    let rest = text[end..].trim_start();
    // `country:` is how the option is named; the words after it are the country.
    let rest = match rest.split_once([':', '\u{ff1a}']) {
        Some((key, value)) if key.trim().eq_ignore_ascii_case("country") => value,
        _ => rest,
    };
    let country: String = rest
        .chars()
        .filter(|c| !c.is_control() && !is_quote(*c))
        .take(CRISIS_MAX)
        .collect();
    let country = country.trim();
    Some(Invocation {
        command: "crisis".to_string(),
        args: if country.is_empty() {
            Vec::new()
        } else {
            vec![("country".to_string(), country.to_string())]
        },
        channels: Vec::new(),
    })
}

/// `/crisis` from any platform: whatever was given is the country text, cut
/// to length and to one line; the crisis module makes sense of it.
pub(super) fn bound(spec: &'static CommandSpec, invocation: &Invocation) -> Bound {
    let country: String = invocation
        .args
        .iter()
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(CRISIS_MAX)
        .collect();
    let country = country.trim();
    Bound {
        spec,
        values: if country.is_empty() {
            Vec::new()
        } else {
            vec![("country", Value::Text(country.to_string()))]
        },
    }
}
