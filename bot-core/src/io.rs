//! What flows into the core (who did what, where) and what flows out (a reply
//! and effects for the adapters to carry out).

use crate::message::Message;

/// The platform an input came from; part of every identity the core stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    Console,
    Discord,
    Matrix,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Discord => "discord",
            Platform::Matrix => "matrix",
        }
    }

    /// The platform named as [`Platform::as_str`] writes it.
    pub fn parse(name: &str) -> Option<Self> {
        [Platform::Console, Platform::Discord, Platform::Matrix]
            .into_iter()
            .find(|p| p.as_str() == name)
    }

    /// Whether the platform shows meetings as native events of its own.
    pub fn mirrors_events(self) -> bool {
        matches!(self, Platform::Discord)
    }

    /// Whether a private message in a room can only answer a press (Discord's
    /// ephemeral messages answer interactions): there, what Hearth would
    /// bring someone unasked waits behind a button instead.
    pub fn private_needs_a_press(self) -> bool {
        matches!(self, Platform::Discord)
    }

    /// Whether pressing a button shows the room who pressed it (Matrix
    /// reactions are room events with their sender). There, a check-in's
    /// mood buttons never sit on a shared message: they come by DM.
    pub fn presses_are_public(self) -> bool {
        matches!(self, Platform::Matrix)
    }
}

/// Who is speaking, with the platform facts an adapter maps to roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The platform's user id (a Discord snowflake, a Matrix user id, a console name).
    pub user: String,
    /// The name to show; never used for identity.
    pub name: String,
    /// The platform says this person administers the community
    /// (Discord "Manage Server", Matrix power level 100).
    pub platform_admin: bool,
    /// The platform maps this person to a facilitator (a Discord role by name,
    /// a Matrix power level), for every group of the community.
    pub platform_facilitator: bool,
    /// The platform itself lets this person mute others where they are
    /// (Discord: Mute Members or Administrator in their voice channel). Only
    /// they may start a circle that mutes others, and the bot never mutes them.
    pub may_mute: bool,
}

impl Actor {
    /// A person with no platform-mapped role.
    pub fn member(user: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            name: name.into(),
            platform_admin: false,
            platform_facilitator: false,
            may_mute: false,
        }
    }
}

/// Where something happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub platform: Platform,
    /// The community's platform id (guild id, space or room id, `local`).
    pub community: String,
    /// The channel or room.
    pub channel: String,
}

/// A command as typed or pressed, before it is checked against the spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    /// The command's full name, e.g. `group create`.
    pub command: String,
    /// Option name and raw value pairs, in the order given.
    pub args: Vec<(String, String)>,
    /// What the platform says of each channel an option names (option name,
    /// fact), as the adapter found out: a channel option without one is
    /// refused, so no adapter can forget to check.
    pub channels: Vec<(String, ChannelFact)>,
}

impl Invocation {
    /// The options naming a channel or room, as typed: (option name, raw value).
    pub fn channel_options(&self) -> Vec<(String, String)> {
        let Some(spec) = crate::spec::command(&self.command) else {
            return Vec::new();
        };
        self.args
            .iter()
            .filter(|(name, _)| spec.option(name).is_some_and(|o| o.kind == crate::spec::Kind::Channel))
            .cloned()
            .collect()
    }

    /// Records what the platform says of each channel option, found by `check`
    /// from its typed value.
    pub fn check_channels(mut self, check: impl Fn(&str) -> ChannelFact) -> Self {
        for (name, raw) in self.channel_options() {
            let fact = check(&raw);
            self.channels.push((name, fact));
        }
        self
    }
}

/// What the platform says of a channel or room an option names. A group's
/// channel is always one of its own community's, where the bot can post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelFact {
    /// A channel of the input's community where the bot can post: its platform id.
    Postable(String),
    /// Nothing by that name or id that the platform knows of.
    Unknown,
    /// A channel or room of another community.
    OtherCommunity,
    /// Of this community, but the bot is not in it or may not post there.
    CannotPost,
    /// Not a place for messages (a category, a forum).
    NotText,
}

/// A change in who is present in a voice channel or call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    /// Empty for a leave whose channel the platform did not say: the person
    /// leaves wherever the core last saw them.
    pub channel: String,
    pub present: bool,
    /// When this presence ends by itself unless the platform says more (a
    /// Matrix call membership's expiry): the person leaves then, even if no
    /// further event comes.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// A slash command, a typed command, or a button press (which carries the
    /// invocation the button stands for).
    Command(Invocation),
    /// Someone joined or left a voice channel.
    Presence(PresenceChange),
    /// Someone took back a press of the button that stands for this
    /// invocation (Matrix: they removed their reaction). The core undoes
    /// what the press did where that has a meaning: an RSVP goes back to no
    /// answer, a raised hand is lowered; anything else is left as it is.
    Undo(Invocation),
    /// The actor was banned from the community (a Discord guild ban, a ban
    /// in the community's Matrix room). They are out of each of its groups,
    /// as if they had left each one; a person Hearth never saw is no one to
    /// forget. A second ban changes nothing.
    Banned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub actor: Actor,
    pub place: Place,
    pub kind: InputKind,
}

/// Who sees a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Everyone in the channel.
    Public,
    /// Only the invoker: an ephemeral reply on Discord, a DM room on Matrix.
    Private,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub visibility: Visibility,
    pub message: Message,
    /// A private reply about the invoker alone (crisis lines, their
    /// settings, check-ins, own data, their groups). Where the platform has
    /// no ephemeral messages (Matrix), only a personal reply goes to a DM; a
    /// private reply that is not personal (help, an error, a listing anyone
    /// may read) goes as a reply in the room there. Discord shows both as
    /// ephemeral replies.
    pub personal: bool,
}

/// Something the adapter must do beyond replying.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Post in a channel or room of the input's community.
    Post {
        channel: String,
        message: Message,
        /// A stable key for the platform's idempotent send, where there is one.
        key: Option<String>,
    },
    /// Send a direct message to a person (platform user id).
    Dm {
        user: String,
        message: Message,
        key: Option<String>,
    },
    /// The one message in a channel that shows a live state (a circle's
    /// status), edited in place rather than posted again. `edit` is the
    /// platform's id of the message to edit, once known. An adapter that
    /// posts it anew (none known, or the old one is gone) tells the core the
    /// new id with [`crate::Hearth::status_posted`] under `key`.
    Status {
        channel: String,
        key: String,
        message: Message,
        edit: Option<String>,
    },
    /// Server-mute (or unmute) a person in a voice channel of `community`
    /// (on a stage: suppress). The adapter reports what happened with
    /// [`crate::Hearth::muted`]; a person already muted by someone else is
    /// left alone and reported [`MuteReport::Skipped`].
    Mute {
        community: String,
        channel: String,
        user: String,
        mute: bool,
        /// Whether the channel is a stage, when the core knows it: an unmute
        /// of a suppress the platform confirmed. `None`: the adapter finds
        /// out (from its cache, else by asking the platform), and says which
        /// it used when it reports.
        stage: Option<bool>,
    },
}

/// What a platform did with an [`Effect::Mute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuteReport {
    Applied,
    /// Not in voice: nothing changed.
    NotInVoice,
    /// Left as it was: already muted by someone else (a mute), or not muted (an unmute).
    Skipped,
    /// The bot lacks the permission (Discord 50013).
    NoPermission,
    Failed,
}

/// The core's whole answer to one input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    pub reply: Option<Reply>,
    pub effects: Vec<Effect>,
}

impl Response {
    pub fn public(message: Message) -> Self {
        Self {
            reply: Some(Reply {
                visibility: Visibility::Public,
                message,
                personal: false,
            }),
            effects: Vec::new(),
        }
    }
    /// A private reply about the invoker (see [`Reply::personal`]): the
    /// safe default for anything private.
    pub fn private(message: Message) -> Self {
        Self {
            reply: Some(Reply {
                visibility: Visibility::Private,
                message,
                personal: true,
            }),
            effects: Vec::new(),
        }
    }
    /// A private reply with nothing about the invoker in it (help, an error,
    /// a listing anyone may read): ephemeral where the platform can, else a
    /// reply in the room rather than a DM.
    pub fn private_general(message: Message) -> Self {
        Self {
            reply: Some(Reply {
                visibility: Visibility::Private,
                message,
                personal: false,
            }),
            effects: Vec::new(),
        }
    }
    pub fn none() -> Self {
        Self::default()
    }
    pub fn with_effect(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }
}

/// A delivery the core asks a platform to make outside any reply: a
/// reminder, a notice to those who RSVP'd. The effect's key is stable across
/// retries, for the platform's idempotent send (Matrix transaction id,
/// Discord nonce with `enforce_nonce`).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The community's platform id, as in [`Place::community`].
    pub community: String,
    pub effect: Effect,
}

/// Why a delivery did not go out.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeliveryError {
    /// Worth trying again later (network, rate limit, server error).
    #[error("transient delivery failure: {0}")]
    Retry(String),
    /// Will never work (channel gone, user unreachable, bot lacks permission).
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// A boxed future, so that [`Outbox`] can be used as a trait object.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A meeting's next occurrence as a platform's native event (Discord's Guild
/// Scheduled Events). `next: None` means there is none any more: cancel it.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingEvent {
    /// The meeting's number; adapters find their event again by it.
    pub meeting: i64,
    pub next: Option<EventDetails>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventDetails {
    pub title: String,
    pub description: String,
    pub start: chrono::DateTime<chrono::Utc>,
    pub end: chrono::DateTime<chrono::Utc>,
    /// The meeting's `where` as typed (a channel mention, a link, a place), if any.
    pub location: Option<String>,
    /// The group's home channel, for when `location` says nothing.
    pub home_channel: String,
    /// The series' meetings from this one on, for a platform whose native
    /// event can repeat by a rule of its own.
    pub repeats: Repeats,
}

/// A series' meetings to come as a platform's repeating event would have to
/// show them (issue 29: Discord's `recurrence_rule`). A platform may make
/// its event repeat only when its own rule, expanded from `starts[0]` up to
/// `until`, gives exactly `starts`, and the series is `open_ended`.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeats {
    /// Where each meeting to come starts, in order, cancelled ones left out
    /// and moved ones where they now happen, up to `until`.
    pub starts: Vec<chrono::DateTime<chrono::Utc>>,
    /// How far ahead `starts` reaches.
    pub until: chrono::DateTime<chrono::Utc>,
    /// The series' rule says every meeting beyond `until` too: no count, no
    /// last day, no dates added or taken away by hand in its rule.
    pub open_ended: bool,
}

/// How the core reaches a platform when nobody asked: each adapter implements
/// it, and the scheduler hands it what falls due.
pub trait Outbox: Send + Sync + 'static {
    fn platform(&self) -> Platform;
    /// How many destinations may be sent to at once. A terminal shows one
    /// thing at a time, in order; a chat platform takes several.
    fn concurrency(&self) -> usize {
        8
    }
    /// Whether this process sends for the platform now. One that is not
    /// (another process holds the platform's lease, or it is not connected)
    /// has none of its jobs claimed or waited for by this scheduler.
    fn ready(&self) -> bool {
        true
    }
    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), DeliveryError>>;
    /// Mirrors a meeting as a native event in `community`; a platform without
    /// native events has nothing to do.
    fn mirror<'a>(&'a self, community: &'a str, event: &'a MeetingEvent) -> BoxFuture<'a, Result<(), DeliveryError>> {
        let _ = (community, event);
        Box::pin(async { Ok(()) })
    }
}
