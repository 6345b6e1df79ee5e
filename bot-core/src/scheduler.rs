//! The scheduler: `tick(now)` delivers what fell due through each platform's
//! [`Outbox`]; `run` wraps it in a loop that sleeps until the next due time or
//! a wake-up when the jobs change. It reads the due index, never every series.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::ManualClock;
use crate::error::Result;
use crate::hearth::Hearth;
use crate::io::{Delivery, Outbox, Platform};
use crate::jobs::Due;

/// How many due jobs one query takes; a tick repeats until none are due.
const BATCH: i64 = 200;
/// At most this many rounds of due jobs in one tick; the next tick goes on.
const MAX_ROUNDS: usize = 1000;
/// The loop re-reads the table at least this often, in case a wake-up was missed.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    pub sent: usize,
    pub failed: usize,
}

#[derive(Clone)]
pub struct Scheduler {
    hearth: Hearth,
    outboxes: Vec<Arc<dyn Outbox>>,
    /// Who claims jobs: one id per running scheduler, so a second process
    /// never sends what this one holds.
    owner: String,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("outboxes", &self.platforms())
            .finish()
    }
}

impl Scheduler {
    pub fn new(hearth: Hearth, outboxes: Vec<Arc<dyn Outbox>>) -> Self {
        Self {
            hearth,
            outboxes,
            owner: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    fn platforms(&self) -> Vec<Platform> {
        self.outboxes.iter().map(|o| o.platform()).collect()
    }

    /// Delivers everything due at `now`, in due order.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport> {
        let mut report = TickReport::default();
        for outbox in &self.outboxes {
            // Bounded: a round that only rolls series over may create work due now.
            for _ in 0..MAX_ROUNDS {
                let due = self.hearth.take_due(outbox.platform(), &self.owner, now, BATCH).await?;
                if due.is_empty() {
                    match self.hearth.next_due(&[outbox.platform()]).await? {
                        Some(next) if next <= now => continue,
                        _ => break,
                    }
                }
                for item in due {
                    let outcome = match &item.due {
                        Due::Send(delivery) => outbox.deliver(delivery).await,
                        Due::Mirror { community, event } => outbox.mirror(community, event).await,
                    };
                    match &outcome {
                        Ok(()) => report.sent += 1,
                        Err(e) => {
                            report.failed += 1;
                            tracing::warn!(job = item.job, error = %e, "delivery failed");
                        }
                    }
                    self.hearth.delivered(item.job, &outcome, now).await?;
                }
            }
        }
        Ok(report)
    }

    /// Moves a manual clock to `target`, stopping at each due time on the way
    /// so that every delivery happens at its own time, in order.
    pub async fn advance(&self, clock: &ManualClock, target: DateTime<Utc>) -> Result<TickReport> {
        let mut total = TickReport::default();
        loop {
            let next = self.hearth.next_due(&self.platforms()).await?;
            let step = match next {
                Some(t) if t <= target => t.max(self.hearth.now()),
                _ => break,
            };
            clock.set(step);
            let r = self.tick(step).await?;
            total.sent += r.sent;
            total.failed += r.failed;
        }
        clock.set(target);
        let r = self.tick(target).await?;
        total.sent += r.sent;
        total.failed += r.failed;
        Ok(total)
    }

    /// Runs until `shutdown` resolves: catches up at once, then sleeps until
    /// the next due time or a change to the jobs. A failing tick (the
    /// database busy or gone) is retried with a growing pause, never in a
    /// tight loop; jobs that fail on their own are set aside by the tick.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut failures: u32 = 0;
        loop {
            let now = self.hearth.now();
            let sleep = match self.tick(now).await {
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let pause = std::time::Duration::from_millis(500 * 2u64.pow(failures.min(6)));
                    tracing::error!(error = %e, failures, pause_ms = pause.as_millis() as u64, "scheduler tick failed");
                    pause
                }
                Ok(_) => {
                    failures = 0;
                    match self.hearth.next_due(&self.platforms()).await {
                        Ok(Some(t)) => (t - self.hearth.now()).to_std().unwrap_or_default().min(MAX_SLEEP),
                        Ok(None) => MAX_SLEEP,
                        Err(e) => {
                            tracing::error!(error = %e, "scheduler could not read the next due time");
                            std::time::Duration::from_secs(5)
                        }
                    }
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(sleep) => {},
                () = self.hearth.jobs_changed() => {},
            }
        }
    }
}

/// An outbox that hands deliveries to a closure: for tests and the console.
pub struct FnOutbox<F> {
    platform: Platform,
    f: F,
}

impl<F> FnOutbox<F> {
    pub fn new(platform: Platform, f: F) -> Self {
        Self { platform, f }
    }
}

impl<F> Outbox for FnOutbox<F>
where
    F: Fn(&Delivery) -> std::result::Result<(), crate::DeliveryError> + Send + Sync + 'static,
{
    fn platform(&self) -> Platform {
        self.platform
    }
    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
    ) -> crate::BoxFuture<'a, std::result::Result<(), crate::DeliveryError>> {
        let outcome = (self.f)(delivery);
        Box::pin(async move { outcome })
    }
}
