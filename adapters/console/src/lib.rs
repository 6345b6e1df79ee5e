//! Hearth in a terminal: one local community, for trying Hearth with no
//! account and for scripted end-to-end tests.
//!
//! Each input line is a command as a member types it (`/group list`). Console
//! lines: `/as NAME` switches the speaker, `/in NAME` the channel, `/now`
//! prints the time, and with a manual clock `/wait 2h` moves it. Every
//! delivery prints as a block whose first line starts `-> #CHANNEL` or
//! `-> DM NAME`, so scripts can count and check them.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use bot_core::{
    Actor, BoxFuture, ChannelFact, Clock as _, Delivery, DeliveryError, Effect, Hearth, Input, InputKind, ManualClock,
    Message, Outbox, Place, Platform, Response, Scheduler, Visibility, parse,
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
    /// Whether the console delivers its own reminders. When it runs beside
    /// other adapters, the binary's one scheduler does, through [`Console::outbox`].
    pub own_scheduler: bool,
}

/// The console's output, shared by the session and the scheduler.
pub struct Out<W>(Arc<Mutex<W>>);

impl<W> Clone for Out<W> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<W: Write> Out<W> {
    pub fn new(w: W) -> Self {
        Self(Arc::new(Mutex::new(w)))
    }

    fn with<T>(&self, f: impl FnOnce(&mut W) -> std::io::Result<T>) -> std::io::Result<T> {
        let mut w = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut w)
    }

    fn block(&self, head: &str, message: &Message) -> std::io::Result<()> {
        self.with(|w| {
            writeln!(w, "{head}")?;
            for line in render(message) {
                writeln!(w, "   {line}")?;
            }
            w.flush()
        })
    }
}

/// Deliveries the scheduler makes, printed as blocks stamped with their time.
pub struct ConsoleOutbox<W> {
    out: Out<W>,
    hearth: Hearth,
}

impl<W: Write + Send + 'static> ConsoleOutbox<W> {
    pub fn new(out: Out<W>, hearth: Hearth) -> Self {
        Self { out, hearth }
    }
}

impl<W: Write + Send + 'static> Outbox for ConsoleOutbox<W> {
    fn platform(&self) -> Platform {
        Platform::Console
    }
    /// A terminal shows one thing at a time: deliveries print in due order.
    fn concurrency(&self) -> usize {
        1
    }

    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), DeliveryError>> {
        let stamp = self.hearth.now().format("%a %-d %b %Y %H:%M UTC");
        let printed = match &delivery.effect {
            Effect::Post { channel, message, .. } => self.out.block(&format!("-> #{channel}  [{stamp}]"), message),
            Effect::Dm { user, message, .. } => self.out.block(&format!("-> DM {user}  [{stamp}]"), message),
            Effect::Status { channel, message, .. } => self
                .out
                .block(&format!("-> #{channel} (status, edited)  [{stamp}]"), message),
            // The console has no voice channels.
            Effect::Mute { .. } => Ok(()),
        };
        let outcome = printed.map_err(|e| DeliveryError::Retry(e.to_string()));
        Box::pin(async move { outcome })
    }
}

/// A console session over any line source and output.
pub struct Console<W: Write + Send + 'static> {
    hearth: Hearth,
    scheduler: Scheduler,
    outbox: Arc<dyn Outbox>,
    options: Options,
    out: Out<W>,
    speaker: String,
    channel: String,
}

impl<W: Write + Send + 'static> Console<W> {
    pub fn new(hearth: Hearth, options: Options, out: W) -> Self {
        let speaker = options.speaker.clone();
        let out = Out::new(out);
        let outbox: Arc<dyn Outbox> = Arc::new(ConsoleOutbox::new(out.clone(), hearth.clone()));
        let scheduler = Scheduler::new(hearth.clone(), vec![outbox.clone()]);
        Self {
            hearth,
            scheduler,
            outbox,
            options,
            out,
            speaker,
            channel: "general".to_string(),
        }
    }

    /// Where the console's deliveries go, for a scheduler outside it.
    pub fn outbox(&self) -> Arc<dyn Outbox> {
        self.outbox.clone()
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
            let (speaker, channel) = (self.speaker.clone(), self.channel.clone());
            self.out.with(|w| {
                writeln!(
                    w,
                    "Hearth console. You are {speaker} in #{channel}. Try /help; /as NAME and /in CHANNEL switch speaker and channel."
                )
            })?;
        }
        // Catch up on whatever fell due while Hearth was not running.
        if self.options.own_scheduler
            && let Err(e) = self.scheduler.tick(self.hearth.now()).await
        {
            tracing::error!(error = %e, "catching up failed");
        }
        // With the real clock, deliveries arrive on their own while you type.
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let background = match (&self.options.clock, self.options.own_scheduler) {
            (Some(_), _) | (None, false) => None,
            (None, true) => {
                let scheduler = self.scheduler.clone();
                Some(tokio::spawn(scheduler.run(async move {
                    let _ = stopped.await;
                })))
            }
        };
        let mut lines = input.lines();
        loop {
            if self.options.interactive {
                let prompt = format!("{}@#{}> ", self.speaker, self.channel);
                self.out.with(|w| {
                    write!(w, "{prompt}")?;
                    w.flush()
                })?;
            }
            let Some(line) = lines.next_line().await? else { break };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !self.options.interactive {
                let echo = format!("{}@#{}> {line}", self.speaker, self.channel);
                self.out.with(|w| writeln!(w, "{echo}"))?;
            }
            if !self.line(line).await? {
                break;
            }
        }
        let _ = stop.send(());
        if let Some(task) = background {
            let _ = task.await;
        }
        self.out.with(|w| w.flush())
    }

    fn say(&self, text: std::fmt::Arguments<'_>) -> std::io::Result<()> {
        self.out.with(|w| {
            w.write_fmt(text)?;
            writeln!(w)
        })
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
                self.say(format_args!("· now speaking as {}", self.speaker))?;
            }
            "/in" if !rest.is_empty() => {
                self.channel = rest.trim_start_matches('#').to_string();
                self.say(format_args!("· now in #{}", self.channel))?;
            }
            "/now" => {
                let now = self.hearth.now();
                self.say(format_args!("· it is {}", now.format("%a %-d %b %Y %H:%M UTC")))?;
            }
            "/wait" => self.wait(rest).await?,
            _ => match parse::parse_message(line, PREFIX) {
                None => self.say(format_args!("· commands start with {PREFIX}; try {PREFIX}help"))?,
                Some(Err(e)) => self.print_reply(Visibility::Private, &e.to_message())?,
                Some(Ok(invocation)) => {
                    // The console's one community has every channel one names.
                    let invocation = invocation.check_channels(|raw| ChannelFact::Postable(parse::channel_id(raw)));
                    let input = Input {
                        actor: Actor::member(&self.speaker, &self.speaker),
                        place: self.place(),
                        kind: InputKind::Command(invocation),
                    };
                    let response = self.hearth.handle(&input).await;
                    self.print_response(&response)?;
                    self.statuses_posted(&response).await;
                    // On a manual clock nothing runs in the background: what the
                    // command made due now (notices of a change) goes out now.
                    if self.options.own_scheduler
                        && self.options.clock.is_some()
                        && let Err(e) = self.scheduler.tick(self.hearth.now()).await
                    {
                        tracing::error!(error = %e, "delivering what fell due failed");
                    }
                }
            },
        }
        Ok(true)
    }

    async fn wait(&mut self, rest: &str) -> std::io::Result<()> {
        let Some(clock) = self.options.clock.clone() else {
            return self.say(format_args!(
                "· /wait needs a manual clock: start with --clock 2026-03-19T10:00:00Z"
            ));
        };
        let by = match humantime::parse_duration(rest) {
            Ok(by) => by,
            Err(_) => return self.say(format_args!("· /wait takes a duration such as 90m, 2h or 7d")),
        };
        let Some(target) = chrono::Duration::from_std(by)
            .ok()
            .and_then(|by| clock.now().checked_add_signed(by))
        else {
            return self.say(format_args!("· that is too long to wait"));
        };
        if let Err(e) = self.scheduler.advance(&clock, target).await {
            tracing::error!(error = %e, "scheduler failed while waiting");
        }
        self.say(format_args!("· it is now {}", target.format("%a %-d %b %Y %H:%M UTC")))
    }

    fn print_response(&mut self, response: &Response) -> std::io::Result<()> {
        if let Some(reply) = &response.reply {
            self.print_reply(reply.visibility, &reply.message)?;
        }
        for effect in &response.effects {
            match effect {
                Effect::Post { channel, message, .. } => self.print_block(&format!("-> #{channel}"), message)?,
                Effect::Dm { user, message, .. } => self.print_block(&format!("-> DM {user}"), message)?,
                // A terminal cannot edit what it printed: an edit prints anew, marked.
                Effect::Status {
                    channel, message, edit, ..
                } => {
                    let how = if edit.is_some() { "status, edited" } else { "status" };
                    self.print_block(&format!("-> #{channel} ({how})"), message)?;
                }
                // The console has no voice channels.
                Effect::Mute { .. } => {}
            }
        }
        Ok(())
    }

    /// Tells the core the console "posted" a status, so that it edits it next.
    async fn statuses_posted(&mut self, response: &Response) {
        for effect in &response.effects {
            if let Effect::Status { key, edit: None, .. } = effect
                && let Err(e) = self.hearth.status_posted(key, "console").await
            {
                tracing::error!(error = %e, "recording a status message");
            }
        }
    }

    fn print_reply(&mut self, visibility: Visibility, message: &Message) -> std::io::Result<()> {
        let head = match visibility {
            Visibility::Public => format!("-> #{}", self.channel),
            Visibility::Private => format!("-> #{} (private: only {} sees this)", self.channel, self.speaker),
        };
        self.print_block(&head, message)
    }

    fn print_block(&mut self, head: &str, message: &Message) -> std::io::Result<()> {
        self.out.block(head, message)
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
