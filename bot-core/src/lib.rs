//! Hearth's platform-agnostic core: the command spec and parser, roles and
//! permissions, the store, and every feature's logic. It knows no platform
//! crate; adapters translate platform events into [`Input`]s and carry out the
//! [`Response`]s it returns.

pub mod calendar;
mod checkins;
pub mod circle;
pub mod clock;
mod crisis;
pub mod error;
pub mod finder;
mod groups;
mod hearth;
mod help;
pub mod io;
pub mod jobs;
pub mod leases;
pub mod meeting_guide;
pub mod meetings;
mod members;
pub mod message;
pub mod metrics;
mod milestones;
pub mod parse;
mod privacy;
pub mod publish;
mod reminders;
mod resources;
pub mod retention;
pub mod roles;
pub mod scheduler;
pub mod script;
pub mod secret;
pub mod spec;
pub mod store;
pub mod timezone;
pub mod when;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, UserError};
pub use hearth::{CoreConfig, Hearth};
pub use io::{
    Actor, BoxFuture, ChannelFact, Delivery, DeliveryError, Effect, EventDetails, Input, InputKind, Invocation,
    MeetingEvent, MuteReport, Outbox, Place, Platform, PresenceChange, Repeats, Reply, Response, Visibility,
};
pub use message::{Attachment, Button, Field, Line, Message, Span};
pub use scheduler::Scheduler;
pub use store::{InstanceLock, Schema, Store};

#[cfg(test)]
mod tests;
