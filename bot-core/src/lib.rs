//! Hearth's platform-agnostic core: the command spec and parser, roles and
//! permissions, the store, and every feature's logic. It knows no platform
//! crate; adapters translate platform events into [`Input`]s and carry out the
//! [`Response`]s it returns.

pub mod clock;
pub mod error;
mod groups;
mod hearth;
mod help;
pub mod io;
mod members;
pub mod message;
pub mod parse;
pub mod spec;
pub mod store;
pub mod timezone;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, UserError};
pub use hearth::{CoreConfig, Hearth};
pub use io::{
    Actor, Effect, Input, InputKind, Invocation, Place, Platform, PresenceChange, Reply, Response, Visibility,
};
pub use message::{Attachment, Button, Field, Line, Message, Span};
pub use store::Store;

#[cfg(test)]
mod tests;
