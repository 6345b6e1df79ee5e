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

/// An error that starting again cannot mend (a refused login, a wrong
/// configuration): [`supervise`] returns it at once.
#[derive(Debug)]
pub struct Fatal(pub anyhow::Error);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Fatal {}

/// Runs `start()` until it finishes cleanly, fails with [`Fatal`], or
/// `stopped()` resolves; each other failure is logged and followed by a
/// wait that doubles, from 1 s to 5 min.
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
            Err(e) => match e.downcast::<Fatal>() {
                Ok(Fatal(fatal)) => return Err(fatal),
                Err(e) => e,
            },
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
#[cfg(feature = "discord")]
pub async fn discord<S, Stop>(hearth: Hearth, config: hearth_discord::DiscordConfig, stopped: S) -> anyhow::Result<()>
where
    S: Fn() -> Stop,
    Stop: Future<Output = ()> + Send + 'static,
{
    let start = || hearth_discord::run(hearth.clone(), config.clone(), stopped());
    supervise("discord", start, &stopped).await
}

/// The Matrix adapter, supervised, in the process holding the Matrix sync
/// lease (one device syncs in one place): it waits for the lease, runs the
/// adapter while it holds it, and stops the adapter if it loses it, then
/// waits again. A clean stop lets go of the lease, for another process to
/// take at once.
///
/// The adapter connects in its own task, so that a homeserver that is down
/// at start holds back nothing else: failing to reach it is retried with
/// backoff, like any later failure (a sync that keeps failing, a revoked
/// token: connecting again logs in again with the password). A first
/// connection the homeserver refuses (a wrong password) or that the
/// configuration forbids is fatal. `outbox`, which the scheduler holds, is
/// ready only while the lease is held and a connection is up; it lets go of
/// each connection when it ends, so that its client is dropped before the
/// next one opens the store, and is pointed at the next.
#[cfg(feature = "matrix")]
pub async fn matrix<S, Stop>(
    hearth: Hearth,
    config: hearth_matrix::MatrixConfig,
    outbox: hearth_matrix::MatrixOutbox,
    process: String,
    stopped: S,
) -> anyhow::Result<()>
where
    S: Fn() -> Stop,
    Stop: Future<Output = ()> + Send + 'static,
{
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    bot_core::metrics::adapter_connected(bot_core::Platform::Matrix, false);
    outbox.set_leased(false);
    let connected_once = Arc::new(AtomicBool::new(false));
    loop {
        let Some(lease) = crate::lease::take(&hearth, bot_core::leases::MATRIX_SYNC, &process, stopped()).await else {
            return Ok(());
        };
        outbox.set_leased(true);
        // The adapter stops on a signal, or when the lease is lost.
        let until = || {
            let stop = stopped();
            let lost = lease.lost();
            async move {
                tokio::select! {
                    () = stop => {}
                    () = lost => {}
                }
            }
        };
        let start = || {
            let config = config.clone();
            let outbox = outbox.clone();
            let hearth = hearth.clone();
            let connected_once = connected_once.clone();
            let stop = until();
            async move {
                let matrix = match hearth_matrix::Matrix::connect(config).await {
                    Ok(matrix) => matrix,
                    Err(e) if !connected_once.load(Ordering::SeqCst) && !hearth_matrix::is_unreachable(&e) => {
                        return Err(Fatal(e.context("connecting to Matrix")).into());
                    }
                    Err(e) => {
                        if !connected_once.load(Ordering::SeqCst) {
                            tracing::warn!(
                                error = format!("{e:#}"),
                                "matrix: the homeserver cannot be reached yet; the other adapters go on"
                            );
                        }
                        return Err(e.context("connecting to Matrix"));
                    }
                };
                if connected_once.swap(true, Ordering::SeqCst) {
                    tracing::info!(device = ?matrix.device_id(), "matrix connected again");
                }
                matrix.deliver_through(&outbox);
                let ran = matrix.run(hearth, stop).await;
                outbox.detach();
                ran
            }
        };
        let ran = supervise("matrix", start, &until).await;
        outbox.set_leased(false);
        outbox.detach();
        if lease.is_lost() && ran.is_ok() {
            tracing::warn!("matrix: the sync lease was lost; the adapter stopped and waits to take it again");
            continue;
        }
        lease.let_go().await;
        return ran;
    }
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
    async fn a_fatal_failure_ends_it_at_once_with_its_error() {
        let calls = AtomicU32::new(0);
        let start = || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Fatal(anyhow::anyhow!("the password is wrong")).into()) }
        };

        let outcome = supervise("test", start, std::future::pending::<()>).await;

        let Err(error) = outcome else {
            panic!("a fatal failure must end it")
        };
        assert_eq!(error.to_string(), "the password is wrong");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
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
