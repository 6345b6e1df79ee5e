//! Hearth in a terminal: one local community, for trying Hearth with no
//! account and for scripted end-to-end tests.
//!
//! Each input line is a command as a member types it (`/group list`). Console
//! lines: `/as NAME` switches the speaker, `/in NAME` the channel, `/now`
//! prints the time, and with a manual clock `/wait 2h` moves it. Every
//! delivery prints as a block whose first line starts `-> #CHANNEL` or
//! `-> DM NAME`, so scripts can count and check them.

use std::io::Write;

use bot_core::{
    Actor, Effect, Hearth, Input, InputKind, ManualClock, Message, Place, Platform, Response, Visibility, parse,
};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The console's one community.
pub const COMMUNITY: &str = "local";
const PREFIX: &str = "/";

#[derive(Debug, Clone)]
pub struct Options {
    /// Who speaks first; the first speaker a community ever has is its admin.
    pub speaker: String,
    /// The manual clock, when time is manual (`--clock`).
    pub clock: Option<ManualClock>,
    /// Whether a person is typing: prompts are printed and input is not echoed.
    pub interactive: bool,
}

/// A console session over any line source and output.
pub struct Console<W: Write> {
    hearth: Hearth,
    options: Options,
    out: W,
    speaker: String,
    channel: String,
}

impl<W: Write> Console<W> {
    pub fn new(hearth: Hearth, options: Options, out: W) -> Self {
        let speaker = options.speaker.clone();
        Self {
            hearth,
            options,
            out,
            speaker,
            channel: "general".to_string(),
        }
    }

    /// Reads lines until the input ends or `/quit`. A failing command prints
    /// its error and the session goes on.
    pub async fn run<R: AsyncBufRead + Unpin>(mut self, input: R) -> std::io::Result<()> {
        let place = self.place();
        let first = Actor::member(&self.speaker, &self.speaker);
        if let Err(e) = self.hearth.claim_admin(&place, &first).await {
            tracing::error!(error = %e, "could not record the console's admin");
        }
        if self.options.interactive {
            writeln!(
                self.out,
                "Hearth console. You are {} in #{}. Try /help; /as NAME and /in CHANNEL switch speaker and channel.",
                self.speaker, self.channel
            )?;
        }
        let mut lines = input.lines();
        loop {
            if self.options.interactive {
                write!(self.out, "{}@#{}> ", self.speaker, self.channel)?;
                self.out.flush()?;
            }
            let Some(line) = lines.next_line().await? else { break };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !self.options.interactive {
                writeln!(self.out, "{}@#{}> {line}", self.speaker, self.channel)?;
            }
            if !self.line(line).await? {
                break;
            }
            self.out.flush()?;
        }
        self.out.flush()
    }

    fn place(&self) -> Place {
        Place {
            platform: Platform::Console,
            community: COMMUNITY.to_string(),
            channel: self.channel.clone(),
        }
    }

    /// Handles one line; `false` to stop.
    async fn line(&mut self, line: &str) -> std::io::Result<bool> {
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match word {
            "/quit" | "/exit" => return Ok(false),
            "/as" if !rest.is_empty() => {
                self.speaker = rest.to_string();
                writeln!(self.out, "· now speaking as {}", self.speaker)?;
            }
            "/in" if !rest.is_empty() => {
                self.channel = rest.trim_start_matches('#').to_string();
                writeln!(self.out, "· now in #{}", self.channel)?;
            }
            "/now" => {
                let now = self.hearth.now();
                writeln!(self.out, "· it is {}", now.format("%a %-d %b %Y %H:%M UTC"))?;
            }
            "/wait" => self.wait(rest)?,
            _ => match parse::parse_message(line, PREFIX) {
                None => writeln!(self.out, "· commands start with {PREFIX}; try {PREFIX}help")?,
                Some(Err(e)) => self.print_reply(Visibility::Private, &e.to_message())?,
                Some(Ok(invocation)) => {
                    let input = Input {
                        actor: Actor::member(&self.speaker, &self.speaker),
                        place: self.place(),
                        kind: InputKind::Command(invocation),
                    };
                    let response = self.hearth.handle(&input).await;
                    self.print_response(&response)?;
                }
            },
        }
        Ok(true)
    }

    fn wait(&mut self, rest: &str) -> std::io::Result<()> {
        let Some(clock) = &self.options.clock else {
            return writeln!(
                self.out,
                "· /wait needs a manual clock: start with --clock 2026-03-19T10:00:00Z"
            );
        };
        let by = match humantime::parse_duration(rest) {
            Ok(by) => by,
            Err(_) => return writeln!(self.out, "· /wait takes a duration such as 90m, 2h or 7d"),
        };
        let Ok(by) = chrono::Duration::from_std(by) else {
            return writeln!(self.out, "· that is too long to wait");
        };
        let now = clock.advance(by);
        writeln!(self.out, "· it is now {}", now.format("%a %-d %b %Y %H:%M UTC"))
    }

    fn print_response(&mut self, response: &Response) -> std::io::Result<()> {
        if let Some(reply) = &response.reply {
            self.print_reply(reply.visibility, &reply.message)?;
        }
        for effect in &response.effects {
            match effect {
                Effect::Post { channel, message, .. } => self.print_block(&format!("-> #{channel}"), message)?,
                Effect::Dm { user, message, .. } => self.print_block(&format!("-> DM {user}"), message)?,
            }
        }
        Ok(())
    }

    fn print_reply(&mut self, visibility: Visibility, message: &Message) -> std::io::Result<()> {
        let head = match visibility {
            Visibility::Public => format!("-> #{}", self.channel),
            Visibility::Private => format!("-> #{} (private: only {} sees this)", self.channel, self.speaker),
        };
        self.print_block(&head, message)
    }

    fn print_block(&mut self, head: &str, message: &Message) -> std::io::Result<()> {
        writeln!(self.out, "{head}")?;
        for line in render(message) {
            writeln!(self.out, "   {line}")?;
        }
        Ok(())
    }
}

/// A message as console lines.
pub fn render(message: &Message) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(title) = &message.title {
        lines.push(format!("== {title} =="));
    }
    lines.extend(message.lines.iter().map(|l| l.plain(PREFIX)));
    lines.extend(
        message
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.name, f.value.plain(PREFIX))),
    );
    for b in &message.buttons {
        lines.push(format!("[{} {}] {PREFIX}{}", b.emoji, b.label, b.command));
    }
    if let Some(a) = &message.attachment {
        lines.push(format!("attached {} ({}):", a.filename, a.mime));
        lines.extend(a.content.lines().map(str::to_string));
    }
    lines
}
