//! The platform-neutral message every answer and delivery is made of. Adapters
//! render it in their own format (embeds, HTML, plain text); the core never
//! writes platform markup.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// One piece of text with a meaning an adapter may render natively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Text(String),
    /// Emphasised text (a name, a heading inside a line).
    Strong(String),
    /// A command the reader can type, without its prefix: adapters add `/`
    /// or `!` as their platform expects (`Cmd("group info".into())`).
    Cmd(String),
    /// An instant. `zone` is the zone to show it in where the platform cannot
    /// localise by itself (Discord can, and ignores it); it is the reader's zone
    /// in private messages and the group's zone in channel posts.
    Time {
        at: DateTime<Utc>,
        zone: Tz,
    },
    /// A person, by platform user id, with the name to show.
    User {
        id: String,
        name: String,
    },
    /// A channel or room of the community, by platform id.
    Channel {
        id: String,
    },
    /// A link with a label.
    Link {
        label: String,
        url: String,
    },
}

impl Span {
    pub fn text(s: impl Into<String>) -> Self {
        Span::Text(s.into())
    }
    pub fn strong(s: impl Into<String>) -> Self {
        Span::Strong(s.into())
    }
    pub fn cmd(s: impl Into<String>) -> Self {
        Span::Cmd(s.into())
    }
}

/// A line of spans.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Line(pub Vec<Span>);

impl Line {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn text(s: impl Into<String>) -> Self {
        Line(vec![Span::text(s)])
    }
    pub fn push(mut self, span: Span) -> Self {
        self.0.push(span);
        self
    }
    pub fn t(self, s: impl Into<String>) -> Self {
        self.push(Span::text(s))
    }
    pub fn b(self, s: impl Into<String>) -> Self {
        self.push(Span::strong(s))
    }
    pub fn cmd(self, s: impl Into<String>) -> Self {
        self.push(Span::cmd(s))
    }
    /// The line as plain text, with commands shown with `prefix`.
    pub fn plain(&self, prefix: &str) -> String {
        let mut out = String::new();
        for span in &self.0 {
            match span {
                Span::Text(s) | Span::Strong(s) => out.push_str(s),
                Span::Cmd(c) => {
                    out.push_str(prefix);
                    out.push_str(c);
                }
                Span::Time { at, zone } => {
                    out.push_str(&at.with_timezone(zone).format("%a %-d %b %Y, %H:%M %Z").to_string());
                }
                Span::User { name, .. } => {
                    out.push('@');
                    out.push_str(name);
                }
                Span::Channel { id } => {
                    out.push('#');
                    out.push_str(id);
                }
                Span::Link { label, url } => {
                    out.push_str(label);
                    out.push_str(" <");
                    out.push_str(url);
                    out.push('>');
                }
            }
        }
        out
    }
}

/// A named value on a card (Discord embed field, a labelled line elsewhere).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: Line,
}

/// A button is a command the reader can run with one press. Adapters render it
/// natively (Discord component, Matrix reaction, console hint), and a press
/// comes back as an ordinary command input carrying this invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    pub label: String,
    /// An emoji for platforms that press with reactions.
    pub emoji: &'static str,
    /// The command text without prefix, as the text parser reads it, e.g.
    /// `group join group:#12`. Short enough for Discord's 100-character id.
    pub command: String,
}

/// A file to attach (the directory's JSON, an iCalendar file).
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub filename: String,
    pub mime: &'static str,
    pub content: String,
}

/// What the core says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    pub title: Option<String>,
    pub lines: Vec<Line>,
    pub fields: Vec<Field>,
    pub buttons: Vec<Button>,
    pub attachment: Option<Attachment>,
    /// The only people this message may notify. Mentions of anyone else are
    /// rendered without a ping, and nothing in the text may ping a crowd.
    pub pings: Vec<String>,
    /// Who presses this message's buttons, or reacts to it at all, is no one
    /// else's business (a check-in prompt in a shared room): where a press
    /// shows to the room, the adapter takes it back as soon as it has read it.
    pub private_presses: bool,
}

impl Message {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn titled(title: impl Into<String>) -> Self {
        Self {
            title: Some(title.into()),
            ..Self::default()
        }
    }
    pub fn line(mut self, line: Line) -> Self {
        self.lines.push(line);
        self
    }
    pub fn text(self, s: impl Into<String>) -> Self {
        self.line(Line::text(s))
    }
    pub fn field(mut self, name: impl Into<String>, value: Line) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value,
        });
        self
    }
    pub fn button(mut self, label: impl Into<String>, emoji: &'static str, command: impl Into<String>) -> Self {
        self.buttons.push(Button {
            label: label.into(),
            emoji,
            command: command.into(),
        });
        self
    }
    /// Marks the message's presses as private (see [`Message::private_presses`]).
    pub fn with_private_presses(mut self) -> Self {
        self.private_presses = true;
        self
    }
    pub fn attach(mut self, attachment: Attachment) -> Self {
        self.attachment = Some(attachment);
        self
    }
    /// The whole message as plain text, for logs-free fallbacks and tests.
    pub fn plain(&self, prefix: &str) -> String {
        let mut out = Vec::new();
        if let Some(title) = &self.title {
            out.push(title.clone());
        }
        out.extend(self.lines.iter().map(|l| l.plain(prefix)));
        out.extend(
            self.fields
                .iter()
                .map(|f| format!("{}: {}", f.name, f.value.plain(prefix))),
        );
        out.join("\n")
    }
}
