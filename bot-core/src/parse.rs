//! From typed text to a checked command: the tokenizer, the text parser every
//! text-based adapter uses, and [`bind`], which checks any invocation (typed
//! or from Discord's typed options) against the spec.
//!
//! The tokenizer is ours, not POSIX shell quoting (shlex): people write
//! apostrophes ("I'm", "don't") in values, and shell rules would read each as
//! an unclosed quote. Only double quotes group words, including the curly
//! ones phones type.

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::error::UserError;
use crate::io::{ChannelFact, Invocation};
use crate::spec::{self, CommandSpec, Kind, OptSpec};
use crate::timezone;

/// Longest command text accepted, in characters.
pub const MAX_LINE: usize = 4000;
/// Longest value for kinds without their own limit.
const MAX_ID: usize = 255;

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

/// Commands whose words without a name are refused rather than put in the
/// first free option: in `/checkin share`, leading words could otherwise
/// become a note, or count the member in a group they never meant to count in.
const NAMED_ONLY: &[&str] = &["checkin share"];

/// The longest country text `/crisis` reads; the rest is ignored, never refused.
const CRISIS_MAX: usize = 200;

/// Parses command text without its prefix: `group info group:"Grief circle"`.
///
/// One rule for words without quotes: a value runs until the next `name:`
/// that is an option of this command, so `name:Recovery Circle topic:grief`
/// means what it says. Where that still leaves two readings (more words after
/// a one-word value, a `name:` that is almost an option), the answer is a
/// question, not a guess.
pub fn parse_command(text: &str) -> Result<Invocation, UserError> {
    if let Some(crisis) = crisis_invocation(text) {
        return Ok(crisis);
    }
    let len = text.chars().count();
    if len > MAX_LINE {
        return Err(UserError::LineTooLong { len, max: MAX_LINE });
    }
    let words = tokenize(text)?;
    let bare = words
        .iter()
        .take_while(|w| !w.quoted && !w.text.contains([':', '\u{ff1a}']))
        .count()
        .min(3);
    let spec = (1..=bare).rev().find_map(|n| {
        let name = words[..n].iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
        spec::command(&name.to_lowercase()).map(|s| (n, s))
    });
    let Some((used, spec)) = spec else {
        let typed = words
            .iter()
            .take(bare.clamp(1, 2))
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        return Err(unknown_command(&typed));
    };

    let mut args: Vec<(String, String)> = Vec::new();
    let mut leading: Vec<&str> = Vec::new();
    for word in &words[used..] {
        let named = if word.quoted { None } else { option_key(&word.text) };
        if let Some((key, value)) = named {
            if let Some(option) = spec.option(&key) {
                args.push((option.name.to_string(), value.to_string()));
                continue;
            }
            // The value these words would join: the last one named, or the
            // option that words before any name fill.
            let current = match args.last() {
                Some((name, _)) => spec.option(name),
                None if !leading.is_empty() => spec.options.first(),
                None => None,
            };
            let Some(current) = current else {
                return Err(unknown_option(spec, &key));
            };
            // Not an option of this command: a misspelt name, or a word of the value?
            if let Some(close) = closest_option(spec, &key) {
                return Err(UserError::AlmostAnOption {
                    command: spec.name,
                    typed: key.chars().take(32).collect(),
                    option: close,
                    value_of: current.name,
                });
            }
            if !takes_words(current.kind) {
                return Err(unknown_option(spec, &key));
            }
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
    if !leading.is_empty() {
        if NAMED_ONLY.contains(&spec.name) {
            return Err(UserError::UnquotedWords { command: spec.name });
        }
        // Words before any name fill the first option not named, so that
        // `/group info Grief circle` and `/timezone Europe/Berlin` just work.
        let Some(free) = spec.options.iter().find(|o| !args.iter().any(|(k, _)| k == o.name)) else {
            return Err(UserError::UnexpectedWords { command: spec.name });
        };
        args.insert(0, (free.name.to_string(), leading.join(" ")));
    }
    check_one_word_values(spec, &args)?;
    Ok(Invocation {
        command: spec.name.to_string(),
        args,
        channels: Vec::new(),
    })
}

fn unknown_option(spec: &'static CommandSpec, typed: &str) -> UserError {
    UserError::UnknownOption {
        command: spec.name,
        option: typed.chars().take(32).collect(),
        valid: spec.options.iter().map(|o| o.name).collect(),
    }
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
fn check_one_word_values(spec: &'static CommandSpec, args: &[(String, String)]) -> Result<(), UserError> {
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

/// `/crisis` never refuses: whatever follows the word is the country, read
/// by the crisis module, which answers every text with lines. Not even an
/// open quote or an overlong line stands in the way.
fn crisis_invocation(text: &str) -> Option<Invocation> {
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

/// `key:value` when the token starts with a plausible option name; a URL or a
/// time such as `19:00` is a plain word. A dash in the name reads as the
/// underscore (`led-by:peer`), and the full-width colon CJK keyboards type
/// counts as a colon.
fn option_key(token: &str) -> Option<(String, &str)> {
    let (key, value) = token.split_once([':', '\u{ff1a}'])?;
    let plausible = !key.is_empty()
        && key.len() <= 32
        && key.chars().all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
        && key.starts_with(|c: char| c.is_ascii_alphabetic())
        && !value.starts_with("//");
    plausible.then(|| (key.to_ascii_lowercase().replace('-', "_"), value))
}

/// A word of a command, and whether it began with a quote (a quoted word is
/// never an option's name, even if it holds a colon).
#[derive(Debug, Clone, PartialEq)]
struct Word {
    text: String,
    quoted: bool,
}

/// Quotes that open or close a value: straight, curly (what phones type),
/// German low and French guillemets.
fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{ab}' | '\u{bb}')
}

fn tokenize(text: &str) -> Result<Vec<Word>, UserError> {
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

fn unknown_command(typed: &str) -> UserError {
    let typed = typed.to_lowercase();
    let suggestion = spec::COMMANDS
        .iter()
        .map(|c| (strsim::jaro_winkler(&typed, c.name), c.name))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name);
    UserError::UnknownCommand { typed, suggestion }
}

/// A checked value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Choice(&'static str),
    Date(NaiveDate),
    Zone(Tz),
    Command(&'static CommandSpec),
}

/// An invocation checked against its spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub spec: &'static CommandSpec,
    values: Vec<(&'static str, Value)>,
}

impl Bound {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::Text(s)) => Some(s),
            _ => None,
        }
    }
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }
    pub fn choice(&self, name: &str) -> Option<&'static str> {
        match self.get(name) {
            Some(Value::Choice(c)) => Some(c),
            _ => None,
        }
    }
    pub fn date(&self, name: &str) -> Option<NaiveDate> {
        match self.get(name) {
            Some(Value::Date(d)) => Some(*d),
            _ => None,
        }
    }
    pub fn zone(&self, name: &str) -> Option<Tz> {
        match self.get(name) {
            Some(Value::Zone(z)) => Some(*z),
            _ => None,
        }
    }
    pub fn command(&self, name: &str) -> Option<&'static CommandSpec> {
        match self.get(name) {
            Some(Value::Command(c)) => Some(c),
            _ => None,
        }
    }
    /// How many options were given.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Checks an invocation against the spec: known command, known options, each
/// given once, required ones present, every value of its kind.
pub fn bind(invocation: &Invocation) -> Result<Bound, UserError> {
    let spec = spec::command(&invocation.command).ok_or_else(|| unknown_command(&invocation.command))?;
    if spec.name == "crisis" {
        return Ok(crisis_bound(spec, invocation));
    }
    let mut values: Vec<(&'static str, Value)> = Vec::new();
    for (name, raw) in &invocation.args {
        let Some(option) = spec.option(name) else {
            return Err(UserError::UnknownOption {
                command: spec.name,
                option: name.chars().take(32).collect(),
                valid: spec.options.iter().map(|o| o.name).collect(),
            });
        };
        if values.iter().any(|(k, _)| *k == option.name) {
            return Err(UserError::RepeatedOption {
                option: option.name.to_string(),
            });
        }
        let checked = match option.kind {
            Kind::Channel => channel(option, raw, invocation)?,
            _ => value(option, raw)?,
        };
        values.push((option.name, checked));
    }
    if let Some(missing) = spec
        .options
        .iter()
        .find(|o| o.must_be_typed() && !values.iter().any(|(k, _)| *k == o.name))
    {
        return Err(UserError::MissingOption {
            command: spec.name,
            option: missing.name,
        });
    }
    Ok(Bound { spec, values })
}

/// `/crisis` from any platform: whatever was given is the country text, cut
/// to length and to one line; the crisis module makes sense of it.
fn crisis_bound(spec: &'static CommandSpec, invocation: &Invocation) -> Bound {
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

fn value(option: &OptSpec, raw: &str) -> Result<Value, UserError> {
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
    if raw.chars().any(char::is_control) {
        return Err(UserError::BadValue {
            option: name,
            why: "must be on one line, without control characters",
        });
    }
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
fn channel(option: &OptSpec, raw: &str, invocation: &Invocation) -> Result<Value, UserError> {
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
fn user_id(raw: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Bound, UserError> {
        bind(&parse_command(text)?)
    }

    #[test]
    fn named_options_with_quotes_bind_to_typed_values() {
        let b = parse(r#"group create name:"Grief circle" topic:grief led_by:Peer capacity:12"#).unwrap();

        assert_eq!(b.spec.name, "group create");
        assert_eq!(b.text("name"), Some("Grief circle"));
        assert_eq!(b.choice("led_by"), Some("peer"));
        assert_eq!(b.int("capacity"), Some(12));
    }

    #[test]
    fn apostrophes_and_curly_quotes_are_ordinary_text() {
        let b = parse("group create name:“Mums' circle” topic:don't led_by:peer").unwrap();

        assert_eq!(b.text("name"), Some("Mums' circle"));
        assert_eq!(b.text("topic"), Some("don't"));
    }

    #[test]
    fn unnamed_words_fill_the_first_free_option() {
        assert_eq!(
            parse("group info Grief circle").unwrap().text("group"),
            Some("Grief circle")
        );
        assert_eq!(
            parse("help group create").unwrap().command("command").unwrap().name,
            "group create"
        );
        assert_eq!(
            parse("timezone Europe/Berlin").unwrap().zone("zone"),
            Some(chrono_tz::Europe::Berlin)
        );
    }

    /// What a parse gives, in a few words: the bound options as
    /// `name=value` sorted by name and joined by `|`, or `!` and the error.
    /// Channels are vouched for as the console vouches for its own.
    fn reading(text: &str) -> String {
        let typed = parse_command(text)
            .map(|i| i.check_channels(|raw| crate::io::ChannelFact::Postable(channel_id(raw))))
            .and_then(|i| bind(&i));
        match typed {
            Ok(b) => {
                let mut parts: Vec<String> = b
                    .values
                    .iter()
                    .map(|(name, v)| {
                        let v = match v {
                            Value::Text(s) => s.clone(),
                            Value::Int(n) => n.to_string(),
                            Value::Choice(c) => (*c).to_string(),
                            Value::Date(d) => d.to_string(),
                            Value::Zone(z) => z.name().to_string(),
                            Value::Command(c) => c.name.to_string(),
                        };
                        format!("{name}={v}")
                    })
                    .collect();
                parts.sort();
                parts.join("|")
            }
            Err(e) => {
                let detail = match &e {
                    UserError::MissingOption { option, .. } => format!("({option})"),
                    UserError::TrailingWords { option, belongs_to, .. } => {
                        format!("({option}; {})", belongs_to.join(","))
                    }
                    UserError::AlmostAnOption { option, value_of, .. } => format!("({option} or {value_of})"),
                    _ => String::new(),
                };
                let name = format!("{e:?}");
                let name = name.split([' ', '(', '{']).next().unwrap_or_default().to_string();
                format!("!{name}{detail}")
            }
        }
    }

    /// Commands as people type them (quotes missing, curly quotes, extra
    /// spaces, mixed case, other scripts), each with what it binds or the
    /// question it asks back.
    const AS_TYPED: &[(&str, &str)] = &[
        // Quotes missing: a value runs until the next name that is an option.
        (
            "group create name:Recovery Circle topic:grief led_by:peer",
            "led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:\"Recovery Circle\" topic:grief led_by:peer",
            "led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:“Recovery Circle” topic:grief led_by:peer",
            "led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:„Trauer Kreis“ topic:Trauer led_by:peer",
            "led_by=peer|name=Trauer Kreis|topic=Trauer",
        ),
        (
            "group create name:«Cercle du deuil» topic:deuil led_by:peer",
            "led_by=peer|name=Cercle du deuil|topic=deuil",
        ),
        (
            "group create   name:Recovery    Circle   topic:grief  led_by:peer",
            "led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "GROUP CREATE Name:Recovery Circle Topic:Grief Led_By:Peer",
            "led_by=peer|name=Recovery Circle|topic=Grief",
        ),
        (
            "group create name: Recovery Circle topic: grief led_by: peer",
            "led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:Группа поддержки topic:горе led_by:peer",
            "led_by=peer|name=Группа поддержки|topic=горе",
        ),
        (
            "group create name:悲嘆の会 topic:悲嘆 led_by:peer",
            "led_by=peer|name=悲嘆の会|topic=悲嘆",
        ),
        (
            "group create name：Recovery Circle topic：grief led_by：peer",
            "led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:دائرة الدعم topic:حزن led_by:peer",
            "led_by=peer|name=دائرة الدعم|topic=حزن",
        ),
        (
            "group create name:Recovery Circle topic:grief led-by:peer",
            "led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:peer description:For anyone who has lost someone. Bring tea: we have cups.",
            "description=For anyone who has lost someone. Bring tea: we have cups.|led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:peer locaton:Room 4",
            "!AlmostAnOption(location or led_by)",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:peer colour:blue",
            "!UnknownOption",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:peer format:in person location:Room 4, Town Hall",
            "format=in_person|led_by=peer|location=Room 4, Town Hall|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:peer location:https://meet.example/AbC-123 capacity:12",
            "capacity=12|led_by=peer|location=https://meet.example/AbC-123|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:peer capacity:12 people",
            "!TrailingWords(capacity; description,location,cost)",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:peer Room 4",
            "!TrailingWords(led_by; description,location,cost)",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:peer ends:2027-02-01",
            "ends=2027-02-01|led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:\"Mums' circle\" topic:don't led_by:peer",
            "led_by=peer|name=Mums' circle|topic=don't",
        ),
        (
            "group create name:Mums' circle topic:don't led_by:peer",
            "led_by=peer|name=Mums' circle|topic=don't",
        ),
        (
            "group create name:\"Recovery Circle topic:grief led_by:peer",
            "!OpenQuote",
        ),
        ("group create name:Recovery Circle", "!MissingOption(topic)"),
        (
            "group create name:Recovery Circle topic:grief led_by:peer guideline:What is said here: stays here",
            "guideline=What is said here: stays here|led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:peer channel:#grief-room",
            "channel=grief-room|led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:peer cost:free, or what you can",
            "cost=free, or what you can|led_by=peer|name=Recovery Circle|topic=grief",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:professionally",
            "!BadChoice",
        ),
        (
            "group create name:Recovery Circle topic:grief led_by:Professional registration:Email us: hello@example.org",
            "led_by=professional|name=Recovery Circle|registration=Email us: hello@example.org|topic=grief",
        ),
        // Words without a name fill the first option.
        ("group info Grief circle", "group=Grief circle"),
        ("group info group:Grief circle", "group=Grief circle"),
        ("group info  grief   CIRCLE ", "group=grief CIRCLE"),
        ("group info \"Grief circle\"", "group=Grief circle"),
        ("group info #3", "group=#3"),
        ("Group Info Grief circle", "group=Grief circle"),
        // Issue 30: a group left out is the one at home in the channel,
        // which the core finds (or asks which).
        ("group info", ""),
        ("group info group:Grief circle group:Other", "!RepeatedOption"),
        ("group info group:Grief\u{a0}circle", "group=Grief circle"),
        ("group info group:\"Grief  circle\"", "group=Grief  circle"),
        (
            "group info group:Cercle de deuil — Paris",
            "group=Cercle de deuil — Paris",
        ),
        (
            "group edit group:Grief circle cost:free",
            "cost=free|group=Grief circle",
        ),
        ("group edit Grief circle cost:free", "cost=free|group=Grief circle"),
        (
            "group edit group:Grief circle description:Meets Tuesdays: bring tea",
            "description=Meets Tuesdays: bring tea|group=Grief circle",
        ),
        ("group edit group:Grief circle capacity:twelve", "!BadNumber"),
        (
            "group edit group:Grief circle name:Grief & Loss Circle",
            "group=Grief circle|name=Grief & Loss Circle",
        ),
        (
            "group edit group:Grief circle capasity:12",
            "!AlmostAnOption(capacity or group)",
        ),
        ("group list topic:grief", "topic=grief"),
        ("group list grief", "topic=grief"),
        ("group list format:Meeting Guide", "format=meeting_guide"),
        ("group list format:meeting-guide", "format=meeting_guide"),
        ("group list format:xml", "!BadChoice"),
        ("group list colour:red", "!UnknownOption"),
        ("group join Grief circle", "group=Grief circle"),
        ("group join group:“Grief circle”", "group=Grief circle"),
        ("group leave group:Grief circle", "group=Grief circle"),
        (
            "group facilitator group:Grief circle user:@bob action:add",
            "action=add|group=Grief circle|user=bob",
        ),
        (
            "group facilitator group:Grief circle user:<@!123> action:Add",
            "action=add|group=Grief circle|user=123",
        ),
        (
            "group facilitator group:Grief circle user:@bob:example.org action:remove",
            "action=remove|group=Grief circle|user=@bob:example.org",
        ),
        (
            "group facilitator group:Grief circle user:@bob action:add please",
            "!TrailingWords(action; )",
        ),
        // Meetings.
        (
            "meeting schedule group:Grief circle when:tomorrow 19:00",
            "group=Grief circle|when=tomorrow 19:00",
        ),
        (
            "meeting schedule group:\"Grief circle\" when:\"tue 19:00\" repeat:weekly",
            "group=Grief circle|repeat=weekly|when=tue 19:00",
        ),
        (
            "meeting schedule Grief circle when:tue 19:00 repeat:weekly timezone:Europe/Berlin",
            "group=Grief circle|repeat=weekly|timezone=Europe/Berlin|when=tue 19:00",
        ),
        (
            "meeting schedule group:Grief circle when:2026-12-01 19:00 repeat:RRULE:FREQ=WEEKLY;BYDAY=MO,TH",
            "group=Grief circle|repeat=RRULE:FREQ=WEEKLY;BYDAY=MO,TH|when=2026-12-01 19:00",
        ),
        (
            "meeting schedule group:Grief circle when:tue 19:00 duration:1h 30m",
            "duration=1h 30m|group=Grief circle|when=tue 19:00",
        ),
        (
            "meeting schedule group:Grief circle when:tue 19:00 title:Winter evenings: a gentle start",
            "group=Grief circle|title=Winter evenings: a gentle start|when=tue 19:00",
        ),
        (
            "meeting schedule group:Grief circle when:tue 19:00 where:https://meet.example/Grief",
            "group=Grief circle|when=tue 19:00|where=https://meet.example/Grief",
        ),
        (
            "meeting schedule group:Grief circle when:tue 19:00 count:8 weeks",
            "!TrailingWords(count; repeat,duration,title)",
        ),
        (
            "meeting schedule group:Grief circle when:tue 19:00 timezone:Europe/Berlin please",
            "!TrailingWords(timezone; repeat,duration,title)",
        ),
        (
            "meeting schedule group:Grief circle when:tue 19:00 timezone:america/new_york",
            "group=Grief circle|timezone=America/New_York|when=tue 19:00",
        ),
        (
            "meeting schedule group:Grief circle when:tue 19:00 until:2027-01-31",
            "group=Grief circle|until=2027-01-31|when=tue 19:00",
        ),
        (
            "meeting schedule group:Grief circle when:tue 19:00 Until:2027-01-31",
            "group=Grief circle|until=2027-01-31|when=tue 19:00",
        ),
        (
            "meeting schedule group:Grief circle wen:tue 19:00",
            "!AlmostAnOption(when or group)",
        ),
        (
            "meeting schedule group:Grief circle when:\"tomorrow 19:00\" repeat:weekly",
            "group=Grief circle|repeat=weekly|when=tomorrow 19:00",
        ),
        (
            "Meeting Schedule Group:Grief circle When:Tue 7pm",
            "group=Grief circle|when=Tue 7pm",
        ),
        ("meeting list", ""),
        ("meeting list Grief circle", "group=Grief circle"),
        ("meeting cancel meeting:3", "meeting=3"),
        ("meeting cancel meeting:3 occurrence:all", "meeting=3|occurrence=all"),
        ("meeting cancel 3", "meeting=3"),
        ("meeting cancel meeting:#3", "!BadNumber"),
        (
            "meeting move meeting:3 when:18:00 occurrence:2026-12-10",
            "meeting=3|occurrence=2026-12-10|when=18:00",
        ),
        (
            "meeting move meeting:3 when:dec 10 18:00",
            "meeting=3|when=dec 10 18:00",
        ),
        ("meeting rsvp meeting:3 answer:yes", "answer=yes|meeting=3"),
        (
            "meeting rsvp meeting:3 answer:Yes occurrence:2026-12-10",
            "answer=yes|meeting=3|occurrence=2026-12-10",
        ),
        ("meeting rsvp 3 yes", "!TrailingWords(meeting; answer,occurrence)"),
        (
            "meeting rsvp meeting:3 answer:yes please",
            "!TrailingWords(answer; occurrence)",
        ),
        (
            "meeting rsvp meeting:3 answer:no thanks",
            "!TrailingWords(answer; occurrence)",
        ),
        ("meeting rsvp meeting:three answer:yes", "!BadNumber"),
        ("meeting calendar group:Grief circle", "group=Grief circle"),
        // Reminders and zones.
        ("reminders leads:24h,1h", "leads=24h,1h"),
        ("reminders leads:24h, 1h", "leads=24h, 1h"),
        ("reminders quiet:22:00-08:00", "quiet=22:00-08:00"),
        ("reminders dm:On", "dm=on"),
        ("reminders dm:on quiet:22:00 - 08:00", "dm=on|quiet=22:00 - 08:00"),
        ("reminders group:Grief circle leads:2h", "group=Grief circle|leads=2h"),
        ("timezone Europe/Berlin", "zone=Europe/Berlin"),
        ("timezone zone:europe/berlin", "zone=Europe/Berlin"),
        ("timezone zone:Europe/Berln", "!BadTimezone"),
        ("timezone", ""),
        ("TimeZone Zone:America/New_York", "zone=America/New_York"),
        ("timezone EST", "!ZoneAbbreviation"),
        ("timezone zone:cet", "!ZoneAbbreviation"),
        (
            "meeting schedule group:Grief circle when:tue 19:00 timezone:PST",
            "!ZoneAbbreviation",
        ),
        // Crisis lines are never refused: every word is the country.
        ("crisis", ""),
        ("crisis USA", "country=USA"),
        ("crisis country:germany", "country=germany"),
        ("crisis \"unclosed", "country=unclosed"),
        ("Crisis United Kingdom", "country=United Kingdom"),
        ("crisis country:GB extra:words", "country=GB extra:words"),
        ("crisis I'm in Deutschland", "country=I'm in Deutschland"),
        ("CRISIS   the   Netherlands ", "country=the   Netherlands"),
        // Check-ins: nothing counts in a group by accident.
        ("checkin share mood:3", "mood=3"),
        ("checkin share mood:3 note:a hard day", "mood=3|note=a hard day"),
        (
            "checkin share mood:3 a hard day",
            "!TrailingWords(mood; note,group,prompt)",
        ),
        ("checkin share a hard day", "!UnquotedWords"),
        ("checkin share mood:pass", "mood=pass"),
        (
            "checkin share mood:Pass note:“tired” group:Grief circle",
            "group=Grief circle|mood=pass|note=tired",
        ),
        ("checkin share note:missing Grief circle", "note=missing Grief circle"),
        ("checkin remind time:20:00", "time=20:00"),
        ("checkin remind time:off", "time=off"),
        ("checkin remind 20:00", "time=20:00"),
        (
            "checkin schedule group:Grief circle when:tue 19:00 question:How are you, really?",
            "group=Grief circle|question=How are you, really?|when=tue 19:00",
        ),
        ("checkin summary group:Grief circle", "group=Grief circle"),
        // The talking stick.
        (
            "circle start mode:balanced share_time:3m",
            "mode=balanced|share_time=3m",
        ),
        ("circle start share-time:3m", "share_time=3m"),
        (
            "circle start group:Grief circle mode:Round",
            "group=Grief circle|mode=round",
        ),
        ("circle mode balanced", "mode=balanced"),
        ("circle mode queue please", "!TrailingWords(mode; )"),
        ("circle next", ""),
        // Since issue 22 the circle commands take circle:N first: a word is
        // read as that number.
        ("circle next now", "!BadNumber"),
        ("hand raise", ""),
        // Resources, help, own data.
        (
            "resources add title:Town helpline url:https://town.example/help topic:crisis",
            "title=Town helpline|topic=crisis|url=https://town.example/help",
        ),
        (
            "resources add title:Town helpline url:https://town.example/help?a=1&b=2 description:Call us: any time",
            "description=Call us: any time|title=Town helpline|url=https://town.example/help?a=1&b=2",
        ),
        ("resources remove Town helpline", "resource=Town helpline"),
        ("help group create", "command=group create"),
        ("help command:/meeting schedule", "command=meeting schedule"),
        ("help nonsense", "!UnknownCommand"),
        ("forgetme confirm:yes", "confirm=yes"),
        ("forgetme confirm:YES", "confirm=yes"),
        ("mydata", ""),
        ("grop list", "!UnknownCommand"),
        ("group", "!UnknownCommand"),
    ];

    #[test]
    fn commands_as_people_type_them_bind_as_meant_or_ask_back() {
        assert!(AS_TYPED.len() >= 100, "{} lines", AS_TYPED.len());
        let wrong: Vec<String> = AS_TYPED
            .iter()
            .filter_map(|(typed, expected)| {
                let got = reading(typed);
                (got != *expected).then(|| format!("{typed}\n   expected {expected}\n   got      {got}"))
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "{} of {}:\n{}",
            wrong.len(),
            AS_TYPED.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn a_question_back_never_repeats_the_words_it_asks_about() {
        let err = parse("checkin share mood:1 my brother died").unwrap_err();
        let text = err.to_message().plain("/");

        assert!(!text.contains("brother"), "{text}");
        assert!(text.contains("note:…"), "{text}");
    }

    #[test]
    fn a_message_without_the_prefix_is_not_a_command() {
        assert!(parse_message("hello there", "!").is_none());
        assert!(parse_message("! not a command", "!").is_none());
        assert!(parse_message("!help", "!").unwrap().is_ok());
    }

    #[test]
    fn unknown_command_suggests_the_closest() {
        let err = parse("grop list").unwrap_err();
        assert_eq!(
            err,
            UserError::UnknownCommand {
                typed: "grop list".into(),
                suggestion: Some("group list")
            }
        );
    }

    #[test]
    fn bad_input_gets_a_specific_error() {
        assert!(matches!(
            parse("meeting move meeting:1"),
            Err(UserError::MissingOption { option: "when", .. })
        ));
        assert!(matches!(
            parse("group list colour:red"),
            Err(UserError::UnknownOption { .. })
        ));
        assert_eq!(parse(r#"group info group:"Grief"#), Err(UserError::OpenQuote));
        assert!(matches!(
            parse("group list format:xml"),
            Err(UserError::BadChoice { .. })
        ));
        assert!(matches!(
            parse("group create name:a topic:b led_by:peer capacity:lots"),
            Err(UserError::BadNumber { .. })
        ));
        assert!(matches!(
            parse("group create name:a topic:b led_by:peer ends:tomorrow"),
            Err(UserError::BadDate { .. })
        ));
        assert!(matches!(
            parse("group info group:a group:b"),
            Err(UserError::RepeatedOption { .. })
        ));
        assert!(matches!(parse("group info group:\"\""), Err(UserError::Empty { .. })));
    }

    #[test]
    fn a_ten_thousand_character_value_is_refused_with_its_length() {
        let long = "x".repeat(10_000);
        let err = parse(&format!("group create name:{long} topic:t led_by:peer")).unwrap_err();
        assert_eq!(
            err,
            UserError::LineTooLong {
                len: 10_038,
                max: MAX_LINE
            }
        );

        let long = "x".repeat(1_000);
        let err = parse(&format!("group create name:{long} topic:t led_by:peer")).unwrap_err();
        assert_eq!(
            err,
            UserError::TooLong {
                option: "name",
                len: 1_000,
                max: spec::NAME_MAX
            }
        );
    }

    #[test]
    fn urls_and_times_are_words_not_options() {
        assert_eq!(option_key("https://example.org"), None);
        assert_eq!(option_key("19:00"), None);
        assert_eq!(option_key("Location:x"), Some(("location".into(), "x")));
    }

    #[test]
    fn mentions_become_ids() {
        assert_eq!(user_id("<@!123>"), "123");
        assert_eq!(user_id("@bob"), "bob");
        assert_eq!(user_id("@bob:example.org"), "@bob:example.org");
        assert_eq!(channel_id("<#42>"), "42");
        assert_eq!(channel_id("#general"), "general");
    }

    #[test]
    fn text_for_another_bot_is_not_addressed_to_hearth() {
        assert!(parse_addressed("!remind me", "!").is_none());
        assert!(parse_addressed("!!!", "!").is_none());
        assert!(parse_addressed("!\"unclosed", "!").is_none());
        assert!(parse_addressed("hello", "!").is_none());
        assert!(matches!(parse_addressed("!group nope", "!"), Some(Err(_))));
        assert!(matches!(parse_addressed("!help", "!"), Some(Ok(_))));
        assert!(matches!(parse_addressed("!Crisis", "!"), Some(Ok(_))));
    }
}
