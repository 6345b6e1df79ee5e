//! Typed errors. A [`UserError`] is the user's to fix and is shown to them as
//! written (never logged: it may quote what they typed). An internal error is
//! logged with its context and an id, and the user sees a short apology that
//! quotes the id.

use crate::message::{Line, Message, Span};
use crate::spec::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserError {
    UnknownCommand {
        typed: String,
        suggestion: Option<&'static str>,
    },
    UnknownOption {
        command: &'static str,
        option: String,
        valid: Vec<&'static str>,
    },
    MissingOption {
        command: &'static str,
        option: &'static str,
    },
    RepeatedOption {
        option: String,
    },
    UnexpectedWords {
        command: &'static str,
    },
    /// Words without a name where only named options are taken: a value
    /// with spaces needs quotes. The words are not repeated back (they may
    /// be a private note).
    UnquotedWords {
        command: &'static str,
    },
    /// A `name:` among a value's words that is almost an option's name: a
    /// misspelt option, or part of the value? Asked, not guessed.
    AlmostAnOption {
        command: &'static str,
        typed: String,
        option: &'static str,
        value_of: &'static str,
    },
    /// More words after a one-word value: part of it, or another option's
    /// whose name was left out? The words are not repeated back.
    TrailingWords {
        command: &'static str,
        option: &'static str,
        belongs_to: Vec<&'static str>,
    },
    OpenQuote,
    LineTooLong {
        len: usize,
        max: usize,
    },
    Empty {
        option: &'static str,
    },
    TooLong {
        option: &'static str,
        len: usize,
        max: usize,
    },
    BadChoice {
        option: &'static str,
        choices: &'static [&'static str],
    },
    BadNumber {
        option: &'static str,
        min: i64,
        max: i64,
    },
    BadDate {
        option: &'static str,
    },
    BadValue {
        option: &'static str,
        why: &'static str,
    },
    BadTimezone {
        suggestions: Vec<&'static str>,
    },
    /// A word the group finder cannot read (`time:evenin`), with the
    /// closest word it knows and what the option takes.
    UnreadWord {
        option: &'static str,
        typed: String,
        suggestion: Option<&'static str>,
        takes: &'static str,
    },
    /// A numeric date that reads two ways (03/12), with both readings.
    AmbiguousDate {
        typed: String,
        day_first: chrono::NaiveDate,
        month_first: chrono::NaiveDate,
    },
    /// A zone abbreviation (EST, CET): it does not follow daylight saving.
    ZoneAbbreviation {
        typed: String,
        suggestions: Vec<&'static str>,
    },
    NotPermitted {
        command: &'static str,
        needs: Role,
        group: Option<String>,
    },
    /// A use of a command that needs more than the command itself (crisis
    /// lines, admitting someone to a group): `to` says what, as in "Only a
    /// community admin can add or remove crisis lines."
    OnlyRole {
        needs: Role,
        group: Option<String>,
        to: &'static str,
    },
    /// A channel option that names no channel of this community the bot can post in.
    BadChannel {
        option: &'static str,
        fact: crate::io::ChannelFact,
    },
    GroupNotFound {
        suggestions: Vec<String>,
    },
    /// A command that needs a group named none, where the channel is not
    /// one group's home: the groups homed here, if several.
    WhichGroup {
        command: &'static str,
        homed: Vec<String>,
    },
    /// Several circles run here and the command did not say which: their
    /// numbers, with their groups' names.
    WhichCircle {
        choices: Vec<(i64, Option<String>)>,
    },
    GroupExists {
        name: String,
    },
    GroupFull {
        name: String,
        capacity: i64,
    },
    NothingToChange {
        command: &'static str,
    },
    /// A check-in into a group the member does not belong to.
    NotInGroup {
        group: String,
    },
    /// A change to an answer already counted in a week that has closed.
    CheckinWeekClosed,
    MeetingNotFound,
    /// A daily prompt time inside the member's own quiet hours.
    InQuietHours {
        time: chrono::NaiveTime,
        from: chrono::NaiveTime,
        to: chrono::NaiveTime,
    },
    /// The group already meets then: done only with `confirm:yes`.
    Clash {
        command: &'static str,
        group: String,
        name: String,
        meeting: i64,
        at: chrono::DateTime<chrono::Utc>,
        zone: chrono_tz::Tz,
    },
    NoSuchOccurrence,
    OccurrenceCancelled,
    /// `/resources remove` named no entry of the list.
    NoSuchResource,
    /// The whole series was cancelled: nothing of it can be answered or moved.
    SeriesCancelled {
        meeting: i64,
    },
    /// `/group edit clear:` named something that cannot be cleared.
    NotClearable {
        clearable: &'static str,
    },
    /// A feature refused, in its own words (the talking stick: not your
    /// turn, no circle here, …).
    Refused(Line),
}

impl UserError {
    /// The message shown to the user.
    pub fn to_message(&self) -> Message {
        Message::new().line(self.line())
    }

    /// The one line of [`Self::to_message`]: each variant's words, grouped
    /// as the helpers below are (the command as typed, one value, who may,
    /// groups and circles, meetings and the rest).
    fn line(&self) -> Line {
        match self {
            Self::UnknownCommand { suggestion, .. } => unknown_command(*suggestion),
            Self::UnknownOption { command, option, valid } => unknown_option(command, option, valid),
            Self::MissingOption { command, option } => missing_option(command, option),
            Self::RepeatedOption { option } => Line::text(format!("The option {option} is given twice; give it once.")),
            Self::UnexpectedWords { command } => unexpected_words(command),
            Self::UnquotedWords { command } => unquoted_words(command),
            Self::AlmostAnOption {
                command,
                typed,
                option,
                value_of,
            } => almost_an_option(command, typed, option, value_of),
            Self::TrailingWords {
                command,
                option,
                belongs_to,
            } => trailing_words(command, option, belongs_to),
            Self::OpenQuote => open_quote(),
            Self::LineTooLong { len, max } => line_too_long(*len, *max),
            Self::Empty { option } => Line::text(format!("{option} is empty; give it a value.")),
            Self::TooLong { option, len, max } => too_long(option, *len, *max),
            Self::BadChoice { option, choices } => {
                Line::text(format!("{option} must be one of: {}.", choices.join(", ")))
            }
            Self::BadNumber { option, min, max } => bad_number(option, *min, *max),
            Self::BadDate { option } => bad_date(option),
            Self::BadValue { option, why } => Line::text(format!("{option} {why}.")),
            Self::BadTimezone { suggestions } => bad_timezone(suggestions),
            Self::UnreadWord {
                option,
                typed,
                suggestion,
                takes,
            } => unread_word(option, typed, *suggestion, takes),
            Self::AmbiguousDate {
                typed,
                day_first,
                month_first,
            } => ambiguous_date(typed, *day_first, *month_first),
            Self::ZoneAbbreviation { typed, suggestions } => zone_abbreviation(typed, suggestions),
            Self::NotPermitted { command, needs, group } => not_permitted(command, *needs, group.as_deref()),
            Self::OnlyRole { needs, group, to } => {
                Line::text(format!("Only {} can {to}.", who(*needs, group.as_deref())))
            }
            Self::BadChannel { option, fact } => bad_channel(option, fact),
            Self::WhichCircle { choices } => which_circle(choices),
            Self::WhichGroup { command, homed } => which_group(command, homed),
            Self::GroupNotFound { suggestions } => group_not_found(suggestions),
            Self::GroupExists { name } => group_exists(name),
            Self::GroupFull { name, capacity } => group_full(name, *capacity),
            Self::NotInGroup { group } => not_in_group(group),
            Self::CheckinWeekClosed => checkin_week_closed(),
            Self::NothingToChange { command } => nothing_to_change(command),
            Self::MeetingNotFound => see_list("There is no meeting with that number here. ", "meeting list", NUMBERED),
            Self::NoSuchOccurrence => see_list("That meeting has no occurrence then. ", "meeting list", DATES),
            Self::NoSuchResource => see_list(
                "There is no resource with that number or title; nothing was removed. ",
                "resources list",
                NUMBERED,
            ),
            Self::OccurrenceCancelled => see_list("That occurrence is cancelled. ", "meeting list", DATES),
            Self::InQuietHours { time, from, to } => in_quiet_hours(*time, *from, *to),
            Self::Clash {
                command,
                group,
                name,
                meeting,
                at,
                zone,
            } => clash(command, group, name, *meeting, *at, *zone),
            Self::SeriesCancelled { meeting } => series_cancelled(*meeting),
            Self::NotClearable { clearable } => not_clearable(clearable),
            Self::Refused(line) => line.clone(),
        }
    }
}

// The command as typed.

fn unknown_command(suggestion: Option<&'static str>) -> Line {
    let l = Line::text("I don't know that command.");
    match suggestion {
        Some(s) => l.t(" Did you mean ").cmd(s).t("? "),
        None => l.t(" "),
    }
    .cmd("help")
    .t(" lists them all.")
}

fn unknown_option(command: &str, option: &str, valid: &[&str]) -> Line {
    let l = Line::new().cmd(command).t(format!(" has no option called {option}."));
    if valid.is_empty() {
        l.t(" It takes none.")
    } else {
        l.t(format!(" It takes: {}.", valid.join(", ")))
    }
}

fn missing_option(command: &str, option: &str) -> Line {
    Line::new()
        .cmd(command)
        .t(format!(" needs {option}:… — "))
        .cmd(format!("help {command}"))
        .t(" shows how.")
}

fn unexpected_words(command: &str) -> Line {
    Line::new()
        .cmd(command)
        .t(" takes no words after it. Options are written name:value.")
}

fn unquoted_words(command: &str) -> Line {
    Line::new().cmd(command).t(
        " takes only options written name:value. Put a value with spaces in quotes, \
         e.g. note:\"a hard day\" group:\"Grief circle\". Nothing was saved.",
    )
}

fn almost_an_option(command: &str, typed: &str, option: &str, value_of: &str) -> Line {
    Line::new().cmd(command).t(format!(
        " has no option {typed}:. Did you mean {option}:…? If the words are part of {value_of}, \
         put its value in quotes: {value_of}:\"…\". Nothing was changed."
    ))
}

fn trailing_words(command: &str, option: &str, belongs_to: &[&str]) -> Line {
    let others = match belongs_to {
        [] => String::new(),
        names => format!(
            " (perhaps {})",
            names.iter().map(|n| format!("{n}:…")).collect::<Vec<_>>().join(" or ")
        ),
    };
    Line::new().cmd(command).t(format!(
        ": {option} takes one value, and more words follow it. If they belong to another option, \
         write its name before them{others}; if they are all {option}, put them in quotes. \
         Nothing was changed."
    ))
}

fn open_quote() -> Line {
    Line::text("A quote was left open. Put the closing \" after the value, e.g. name:\"Grief circle\".")
}

fn line_too_long(len: usize, max: usize) -> Line {
    Line::text(format!(
        "That is too long for a command ({len} characters; at most {max}). Shorten it, or change one field at a time."
    ))
}

// One value.

fn too_long(option: &str, len: usize, max: usize) -> Line {
    Line::text(format!("{option} is too long ({len} characters; at most {max})."))
}

fn bad_number(option: &str, min: i64, max: i64) -> Line {
    if max == i64::MAX {
        Line::text(format!("{option} must be a whole number, {min} or more."))
    } else {
        Line::text(format!("{option} must be a whole number from {min} to {max}."))
    }
}

fn bad_date(option: &str) -> Line {
    Line::text(format!("{option} must be a date written YYYY-MM-DD, e.g. 2027-02-01."))
}

fn unread_word(option: &str, typed: &str, suggestion: Option<&str>, takes: &str) -> Line {
    let l = Line::text(format!("I can't read {option}:{typed}."));
    let l = match suggestion {
        Some(s) => l.t(" Did you mean ").b(format!("{option}:{s}")).t("?"),
        None => l,
    };
    l.t(format!(" {option} takes {takes}."))
}

fn bad_timezone(suggestions: &[&str]) -> Line {
    let l = Line::text("I don't know that time zone.");
    if suggestions.is_empty() {
        l.t(" Zones are written like Europe/Berlin or America/New_York.")
    } else {
        l.t(format!(" Did you mean {}?", suggestions.join(", or ")))
    }
}

fn ambiguous_date(typed: &str, day_first: chrono::NaiveDate, month_first: chrono::NaiveDate) -> Line {
    Line::text(format!(
        "{typed} could be {} or {}. Write the one you mean as {} or {}, or tell me how you write dates: ",
        day_first.format("%-d %B %Y"),
        month_first.format("%-d %B %Y"),
        day_first.format("%Y-%m-%d"),
        month_first.format("%Y-%m-%d"),
    ))
    .cmd("timezone dates:day_first")
    .t(" or ")
    .cmd("timezone dates:month_first")
    .t(". Nothing was changed.")
}

fn zone_abbreviation(typed: &str, suggestions: &[&'static str]) -> Line {
    let choices = match suggestions {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    };
    Line::text(format!(
        "{typed} is an abbreviation, and it does not follow daylight saving: your times would be an hour \
         off for half the year. Which region do you mean: {choices}? Type its name instead, e.g. {}.",
        suggestions.first().copied().unwrap_or("Europe/Berlin")
    ))
}

// Who may, and where.

fn not_permitted(command: &str, needs: Role, group: Option<&str>) -> Line {
    Line::text("Only ")
        .t(who(needs, group))
        .t(" can use ")
        .cmd(command)
        .t(".")
}

fn bad_channel(option: &str, fact: &crate::io::ChannelFact) -> Line {
    use crate::io::ChannelFact;
    Line::text(format!("{option}: ")).t(match fact {
        ChannelFact::OtherCommunity => {
            "that room belongs to another community; a group's home is one of this community's channels or rooms."
        }
        ChannelFact::CannotPost => {
            "I'm not in that channel or room, or may not post there. Invite me (on Discord: let me send messages there) first."
        }
        ChannelFact::NotText => "that is not a channel I can post messages in; name a text channel or room.",
        ChannelFact::Unknown | ChannelFact::Postable(_) => {
            "I can't find that channel or room. Name it as #channel, or on Matrix as #alias:server or !id:server."
        }
    })
}

// Groups, circles and check-ins.

fn which_circle(choices: &[(i64, Option<String>)]) -> Line {
    let listed: Vec<String> = choices
        .iter()
        .map(|(id, group)| match group {
            Some(g) => format!("#{id} ({g})"),
            None => format!("#{id}"),
        })
        .collect();
    let first = choices.first().map_or(1, |(id, _)| *id);
    Line::text(format!(
        "Several circles run here: {}. Say which with circle:, e.g. ",
        listed.join(", ")
    ))
    .cmd(format!("circle status circle:{first}"))
    .t(".")
}

fn which_group(command: &str, homed: &[String]) -> Line {
    match homed {
        [] => Line::text("Which group? This channel is no group's home, so add group:NAME, e.g. ")
            .cmd(format!("{command} group:NAME"))
            .t(". ")
            .cmd("group list")
            .t(" shows them."),
        _ => Line::text(format!(
            "Which group? This channel is home to {}; add group: with one of them, e.g. ",
            homed.join(", ")
        ))
        .cmd(format!("{command} group:{}", homed[0]))
        .t("."),
    }
}

fn group_not_found(suggestions: &[String]) -> Line {
    let l = Line::text("There is no group by that name here.");
    if suggestions.is_empty() {
        l.t(" ").cmd("group list").t(" shows them all.")
    } else {
        l.t(format!(" Did you mean {}?", suggestions.join(", or ")))
    }
}

fn group_exists(name: &str) -> Line {
    Line::text(format!("There is already a group called {name}; pick another name."))
}

fn group_full(name: &str, capacity: i64) -> Line {
    Line::text(format!(
        "{name} is full ({capacity} of {capacity}). A facilitator can raise its capacity."
    ))
}

fn not_in_group(group: &str) -> Line {
    Line::text(format!(
        "Only {group}'s members count in its check-ins, and you're not one of them, so nothing was saved. Join it with "
    ))
    .cmd(format!("group join group:\"{group}\""))
    .t(", or check in just for yourself with ")
    .cmd("checkin share")
    .t(".")
}

fn checkin_week_closed() -> Line {
    Line::text(
        "That prompt's week is over and its summary is closed, so your answer to it stays as it was. Check in for today with ",
    )
    .cmd("checkin share")
    .t(".")
}

fn nothing_to_change(command: &str) -> Line {
    Line::new()
        .cmd(command)
        .t(" needs at least one field to change, e.g. topic:… or capacity:…")
}

// Meetings and the rest.

const NUMBERED: &str = " shows them with their numbers.";
const DATES: &str = " shows the coming dates.";

/// Words that end by pointing to a list: the command, and what it shows.
fn see_list(words: &str, list: &str, shows: &str) -> Line {
    Line::text(words).cmd(list).t(shows)
}

fn in_quiet_hours(time: chrono::NaiveTime, from: chrono::NaiveTime, to: chrono::NaiveTime) -> Line {
    let before = from - chrono::Duration::minutes(30);
    Line::text(format!(
        "{} is inside your quiet hours ({}-{}), when I send no DMs, so the prompt would only come at {}. \
         Pick a time outside them, e.g. ",
        time.format("%H:%M"),
        from.format("%H:%M"),
        to.format("%H:%M"),
        to.format("%H:%M"),
    ))
    .cmd(format!("checkin remind time:{}", before.format("%H:%M")))
    .t(", or change your quiet hours with ")
    .cmd("reminders quiet:…")
    .t(". Nothing was changed.")
}

fn clash(
    command: &str,
    group: &str,
    name: &str,
    meeting: i64,
    at: chrono::DateTime<chrono::Utc>,
    zone: chrono_tz::Tz,
) -> Line {
    Line::text(format!("{group} already meets then: {name} (meeting {meeting}) on "))
        .push(Span::Time { at, zone })
        .t(". Nothing was changed. To go ahead anyway, give the same ")
        .cmd(command)
        .t(" again with confirm:yes.")
}

fn series_cancelled(meeting: i64) -> Line {
    Line::text(format!(
        "Meeting {meeting} has been cancelled, every occurrence of it. "
    ))
    .cmd("meeting list")
    .t(" shows the meetings still to come.")
}

fn not_clearable(clearable: &str) -> Line {
    Line::text(format!(
        "clear takes a comma-separated list of the fields to empty, from: {clearable}."
    ))
}

/// Who holds `needs`, in words: "a facilitator of Grief circle or a community admin".
fn who(needs: Role, group: Option<&str>) -> String {
    match (needs, group) {
        (Role::Admin, _) => "a community admin".to_string(),
        (Role::Facilitator, Some(g)) => format!("a facilitator of {g} or a community admin"),
        (Role::Facilitator, None) => "a facilitator or a community admin".to_string(),
        (Role::Member, _) => "a member".to_string(),
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_message().plain("/"))
    }
}

impl std::error::Error for UserError {}

/// Any failure the core can meet.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    User(#[from] UserError),
    #[error("{context}: {source}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds what the core was doing to a lower-level error.
pub trait Context<T> {
    fn context(self, context: &'static str) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, context: &'static str) -> Result<T> {
        self.map_err(|e| Error::Internal {
            context,
            source: Box::new(e),
        })
    }
}

/// The apology shown for an internal error; `id` is also in the log line.
pub fn apology(id: &str) -> Message {
    Message::new().line(Line(vec![Span::text(format!(
        "Sorry, something went wrong on my side. If it keeps happening, tell an admin error id {id}."
    ))]))
}
