//! Hearth on Matrix, through matrix-sdk: a thin adapter that turns room
//! messages and reactions into core inputs and sends the answers back as
//! `m.notice` events, in plain and end-to-end encrypted rooms alike.
//!
//! The session (access token, device id) is stored next to the sqlite state
//! and crypto stores in `store_dir`, so a restart restores the same device
//! with no new login. One sync runs before any handler is registered, so
//! nothing sent before the bot started is ever answered.

// matrix-sdk's futures are deep: proving them `Send` needs more than the
// default recursion limit. The public futures are boxed so that callers
// (the binary, the tests) need not raise theirs.
#![recursion_limit = "256"]

mod bot;
pub mod calls;
pub mod check;
mod config;
mod dm;
mod handlers;
mod late_keys;
mod outbox;
mod presses;
pub mod render;
pub mod roles;
mod session;
mod store_lock;

use std::future::Future;
use std::pin::Pin;

use bot_core::Hearth;

pub use config::MatrixConfig;
pub use outbox::{MatrixOutbox, transaction_id};
pub use session::{Matrix, is_unreachable};

/// A boxed, `Send` future (see the recursion limit above).
pub type Task<T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'static>>;

/// Connects and runs Hearth on Matrix until `shutdown` completes.
pub fn run(hearth: Hearth, config: MatrixConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> Task<()> {
    Box::pin(async move { Matrix::connect(config).await?.run(hearth, shutdown).await })
}
