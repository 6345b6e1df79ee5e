//! Stopping: the circles' mutes released first, while the budget is whole,
//! then the gateway closed, each within its time.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bot_core::{Hearth, Platform};
use serenity::all::{Http, ShardManager};

use crate::Shards;
use crate::voice;

/// At shutdown, how long releasing the circles' mutes may take, and then
/// closing the gateway: within the 9 s Hearth gives itself after a signal.
const RELEASE_WITHIN: Duration = Duration::from_secs(7);
const CLOSE_WITHIN: Duration = Duration::from_millis(1500);

/// Releases the mutes, then shuts the shards down and lets the client's
/// `start` finish.
pub(crate) async fn stop<F: Future>(
    http: &Http,
    hearth: &Hearth,
    running: Shards,
    shards: &ShardManager,
    start: Pin<&mut F>,
) {
    // Nobody stays muted by a bot that is gone: the mutes go first,
    // while the budget is whole; closing the gateway can wait on Discord.
    if tokio::time::timeout(RELEASE_WITHIN, voice::release_mutes(http, hearth, running))
        .await
        .is_err()
    {
        tracing::warn!(
            "discord: releasing the circle mutes took longer than {RELEASE_WITHIN:?}; the rest go at the next start"
        );
    }
    let closing = async {
        shards.shutdown_all().await;
        let _ = start.await;
    };
    if tokio::time::timeout(CLOSE_WITHIN, closing).await.is_err() {
        tracing::warn!("discord: the gateway did not close within {CLOSE_WITHIN:?}");
    }
    bot_core::metrics::adapter_connected(Platform::Discord, false);
}
