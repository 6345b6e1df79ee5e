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
/// first free option: in `/checkin share`, `note:missing Grief circle` would
/// otherwise store the note "missing" and count the member in "Grief circle",
/// a group they never meant to count in.
const NAMED_ONLY: &[&str] = &["checkin share"];

/// Parses command text without its prefix: `group info group:"Grief circle"`.
pub fn parse_command(text: &str) -> Result<Invocation, UserError> {
    let len = text.chars().count();
    if len > MAX_LINE {
        return Err(UserError::LineTooLong { len, max: MAX_LINE });
    }
    let tokens = tokenize(text)?;
    let bare = tokens.iter().take_while(|t| !t.contains(':')).count().min(3);
    let spec = (1..=bare)
        .rev()
        .find_map(|n| spec::command(&tokens[..n].join(" ").to_lowercase()).map(|s| (n, s)));
    let Some((used, spec)) = spec else {
        let typed = tokens
            .iter()
            .take(bare.clamp(1, 2))
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        return Err(unknown_command(&typed));
    };

    let mut args: Vec<(String, String)> = Vec::new();
    let mut positional: Vec<&str> = Vec::new();
    for token in &tokens[used..] {
        match option_key(token) {
            Some((key, value)) => args.push((key, value.to_string())),
            None => positional.push(token),
        }
    }
    if !positional.is_empty() && NAMED_ONLY.contains(&spec.name) {
        return Err(UserError::UnquotedWords { command: spec.name });
    }
    if !positional.is_empty() {
        // Words without a name fill the first option not named, so that
        // `/group info Grief circle` and `/timezone Europe/Berlin` just work.
        let Some(free) = spec.options.iter().find(|o| !args.iter().any(|(k, _)| k == o.name)) else {
            return Err(UserError::UnexpectedWords { command: spec.name });
        };
        args.push((free.name.to_string(), positional.join(" ")));
    }
    Ok(Invocation {
        command: spec.name.to_string(),
        args,
        channels: Vec::new(),
    })
}

/// `key:value` when the token starts with a plausible option name; a URL or a
/// time such as `19:00` is a plain word.
fn option_key(token: &str) -> Option<(String, &str)> {
    let (key, value) = token.split_once(':')?;
    let plausible = !key.is_empty()
        && key.len() <= 32
        && key.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
        && !value.starts_with("//");
    plausible.then(|| (key.to_ascii_lowercase(), value))
}

fn tokenize(text: &str) -> Result<Vec<String>, UserError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\u{201c}' | '\u{201d}' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if quoted && matches!(chars.peek(), Some('"')) => {
                word.push('"');
                chars.next();
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
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
        words.push(word);
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
        .find(|o| o.required && !values.iter().any(|(k, _)| *k == o.name))
    {
        return Err(UserError::MissingOption {
            command: spec.name,
            option: missing.name,
        });
    }
    Ok(Bound { spec, values })
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
            match spec::command(&wanted.to_lowercase()) {
                Some(c) => Value::Command(c),
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
            parse("group info"),
            Err(UserError::MissingOption { option: "group", .. })
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
