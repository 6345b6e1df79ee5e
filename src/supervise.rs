//! Keeps each adapter running: one that fails (a revoked token, a gateway
//! that gives up) is started again with backoff, and logged, while the other
//! adapters and the scheduler go on.

use std::future::Future;
use std::time::{Duration, Instant};

use bot_core::Hearth;

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A run this long counts as healthy: the next failure starts the backoff over.
const HEALTHY: Duration = Duration::from_secs(600);

/// Runs `start()` until it finishes cleanly or `stopped()` resolves; each
/// failure is logged and followed by a wait that doubles, from 1 s to 5 min.
pub async fn supervise<Run, S, Stop>(
    name: &'static str,
    mut start: impl FnMut() -> Run,
    stopped: S,
) -> anyhow::Result<()>
where
    Run: Future<Output = anyhow::Result<()>>,
    S: Fn() -> Stop,
    Stop: Future<Output = ()>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut restarts: u32 = 0;
    loop {
        let began = Instant::now();
        let error = match start().await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if began.elapsed() >= HEALTHY {
            backoff = FIRST_BACKOFF;
        }
        restarts = restarts.saturating_add(1);
        tracing::error!(adapter = name, error = format!("{error:#}"), restarts, retry_in = ?backoff, "adapter failed; starting it again");
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stopped() => return Ok(()),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The Discord adapter, supervised.
pub async fn discord<S, Stop>(hearth: Hearth, config: hearth_discord::DiscordConfig, stopped: S) -> anyhow::Result<()>
where
    S: Fn() -> Stop,
    Stop: Future<Output = ()> + Send + 'static,
{
    let start = || hearth_discord::run(hearth.clone(), config.clone(), stopped());
    supervise("discord", start, &stopped).await
}

/// The Matrix adapter, supervised: `connected` is the first connection
/// (made before start-up goes on, so that a wrong configuration stops it);
/// after a failure it connects again (logging in again with the password
/// when the token was revoked, in the same store) and points `outbox`, which
/// the scheduler holds, at the new connection.
pub async fn matrix<S, Stop>(
    hearth: Hearth,
    config: hearth_matrix::MatrixConfig,
    connected: hearth_matrix::Matrix,
    outbox: hearth_matrix::MatrixOutbox,
    stopped: S,
) -> anyhow::Result<()>
where
    S: Fn() -> Stop,
    Stop: Future<Output = ()> + Send + 'static,
{
    let mut first = Some(connected);
    let start = || {
        let first = first.take();
        let config = config.clone();
        let outbox = outbox.clone();
        let hearth = hearth.clone();
        let stop = stopped();
        async move {
            let matrix = match first {
                Some(matrix) => matrix,
                None => {
                    let matrix = hearth_matrix::Matrix::connect(config).await?;
                    matrix.deliver_through(&outbox);
                    tracing::info!(device = ?matrix.device_id(), "matrix connected again");
                    matrix
                }
            };
            bot_core::metrics::adapter_connected(bot_core::Platform::Matrix, true);
            let ran = matrix.run(hearth, stop).await;
            bot_core::metrics::adapter_connected(bot_core::Platform::Matrix, false);
            ran
        }
    };
    supervise("matrix", start, &stopped).await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_failing_adapter_is_started_again_with_backoff_until_it_finishes() {
        let calls = AtomicU32::new(0);
        let start = || {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if call < 2 {
                    anyhow::bail!("down")
                }
                Ok(())
            }
        };
        let began = Instant::now();

        let outcome = supervise("test", start, std::future::pending::<()>).await;

        assert!(outcome.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(began.elapsed() >= FIRST_BACKOFF * 3, "waited 1 s, then 2 s");
    }

    #[tokio::test]
    async fn a_stop_during_the_wait_ends_it_without_a_restart() {
        let calls = AtomicU32::new(0);
        let start = || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { anyhow::bail!("down") }
        };

        let outcome = supervise("test", start, || std::future::ready(())).await;

        assert!(outcome.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
