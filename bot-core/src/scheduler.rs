//! The scheduler: `tick(now)` delivers what fell due through each platform's
//! [`Outbox`]; `run` wraps it in a loop that sleeps until the next due time or
//! a wake-up when the jobs change. It reads the due index, never every series.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::ManualClock;
use crate::error::Result;
use crate::hearth::Hearth;
use crate::io::{Delivery, DeliveryError, Effect, Outbox, Platform};
use crate::jobs::{Due, DueDelivery};

/// How many due jobs one claim takes; a tick repeats until none are due.
/// Small enough that a claim's lease outlives its sending.
const BATCH: i64 = 64;
/// How many destinations are sent to at once, per platform.
const LANES: usize = 8;
/// At most this many rounds of due jobs in one tick; the next tick goes on.
const MAX_ROUNDS: usize = 1000;
/// The loop re-reads the table at least this often, in case a wake-up was missed.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(60);
/// How often a platform whose outbox is not ready is asked again.
const NOT_READY_POLL: std::time::Duration = std::time::Duration::from_secs(1);

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

    /// The same scheduler claiming as `owner`: the process's id, which its
    /// leases and logs name too, so an operator sees who holds a job.
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    fn platforms(&self) -> Vec<Platform> {
        self.outboxes.iter().map(|o| o.platform()).collect()
    }

    /// The platforms whose outbox can send now ([`Outbox::ready`]): the
    /// others' jobs are neither claimed nor waited for here.
    fn ready_platforms(&self) -> Vec<Platform> {
        self.outboxes
            .iter()
            .filter(|o| o.ready())
            .map(|o| o.platform())
            .collect()
    }

    /// Delivers everything due at `now`, in due order, on every platform
    /// whose outbox is ready.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport> {
        let mut report = TickReport::default();
        for outbox in self.outboxes.iter().filter(|o| o.ready()) {
            let r = self.tick_one(outbox, now).await?;
            report.sent += r.sent;
            report.failed += r.failed;
        }
        Ok(report)
    }

    /// Delivers everything due at `now` on one platform.
    async fn tick_one(&self, outbox: &Arc<dyn Outbox>, now: DateTime<Utc>) -> Result<TickReport> {
        let mut report = TickReport::default();
        // Bounded: a round that only rolls series over may create work due now.
        for _ in 0..MAX_ROUNDS {
            let due = self.hearth.take_due(outbox.platform(), &self.owner, now, BATCH).await?;
            if due.is_empty() {
                match self.hearth.next_due(&[outbox.platform()]).await? {
                    Some(next) if next <= now => continue,
                    _ => break,
                }
            }
            let r = self.deliver_round(outbox, due, now).await?;
            report.sent += r.sent;
            report.failed += r.failed;
        }
        Ok(report)
    }

    /// Moves a manual clock to `target`, stopping at each due time on the way
    /// so that every delivery happens at its own time, in order.
    pub async fn advance(&self, clock: &ManualClock, target: DateTime<Utc>) -> Result<TickReport> {
        let mut total = TickReport::default();
        loop {
            let next = self.hearth.next_due(&self.ready_platforms()).await?;
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

    /// Runs until `shutdown` resolves: one loop per platform, so a
    /// homeserver that is slow or rate-limits the bot never holds back
    /// Discord's reminders, nor the other way round.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut loops = tokio::task::JoinSet::new();
        for outbox in self.outboxes.clone() {
            let me = self.clone();
            let mut stopped = stopped.clone();
            loops.spawn(async move {
                me.run_one(outbox, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
            });
        }
        tokio::select! {
            () = shutdown => {}
            Some(done) = loops.join_next() => {
                // A loop only ends on shutdown; one that panicked takes the
                // process down with it, so its supervisor restarts it.
                if let Err(e) = done {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
        let _ = stop.send(true);
        while let Some(done) = loops.join_next().await {
            if let Err(e) = done {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }

    /// One platform's loop: catches up at once, then sleeps until the next
    /// due time or a change to the jobs. A failing tick (the database busy
    /// or gone) is retried with a growing pause, never in a tight loop; jobs
    /// that fail on their own are set aside by the tick.
    async fn run_one(&self, outbox: Arc<dyn Outbox>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut changes = self.hearth.jobs_watch();
        let platform = [outbox.platform()];
        let mut failures: u32 = 0;
        loop {
            // Changes from here on wake the next sleep; those before are in this tick.
            changes.borrow_and_update();
            let now = self.hearth.now();
            // Not ready (another process sends for this platform, or it is
            // not connected): nothing of it is claimed; asked again shortly.
            let ticked = if outbox.ready() {
                Some(self.tick_one(&outbox, now).await)
            } else {
                None
            };
            let sleep = match ticked {
                None => NOT_READY_POLL,
                Some(ticked) => match ticked {
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        let pause = std::time::Duration::from_millis(500 * 2u64.pow(failures.min(6)));
                        tracing::error!(error = %e, failures, pause_ms = pause.as_millis() as u64, "scheduler tick failed");
                        pause
                    }
                    Ok(_) => {
                        failures = 0;
                        match self.hearth.next_due(&platform).await {
                            Ok(Some(t)) => (t - self.hearth.now()).to_std().unwrap_or_default().min(MAX_SLEEP),
                            Ok(None) => MAX_SLEEP,
                            Err(e) => {
                                tracing::error!(error = %e, "scheduler could not read the next due time");
                                std::time::Duration::from_secs(5)
                            }
                        }
                    }
                },
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(sleep) => {},
                Ok(()) = changes.changed() => {},
            }
        }
    }
}

/// A job and how its delivery went.
type Outcome = (i64, std::result::Result<(), DeliveryError>);

/// Where a delivery goes: deliveries to one place keep their order (a room's
/// messages must read in order); different places go out side by side.
fn lane(item: &DueDelivery) -> String {
    match &item.due {
        Due::Send(Delivery {
            community,
            effect: Effect::Post { channel, .. } | Effect::Status { channel, .. },
        }) => format!("post:{community}:{channel}"),
        Due::Send(Delivery {
            community,
            effect: Effect::Mute { user, .. },
        }) => format!("voice:{community}:{user}"),
        Due::Send(Delivery {
            effect: Effect::Dm { user, .. },
            ..
        }) => format!("dm:{user}"),
        Due::Mirror { community, event } => format!("event:{community}:{}", event.meeting),
    }
}

/// Outcomes are written at least this often while a round is under way: a
/// few commits a second however many messages go out, and a crash loses at
/// most this much record (those jobs go out again with the same keys, which
/// the platforms de-duplicate).
const RECORD_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// Claims still being sent are renewed this often (a third of the lease).
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(crate::jobs::LEASE_SECS as u64 / 3);

impl Scheduler {
    /// Sends one round of due deliveries: up to [`LANES`] destinations at
    /// once, each destination's in due order, recording outcomes in small
    /// batches as they come in.
    async fn deliver_round(
        &self,
        outbox: &Arc<dyn Outbox>,
        due: Vec<DueDelivery>,
        now: DateTime<Utc>,
    ) -> Result<TickReport> {
        let outstanding: std::collections::HashSet<i64> = due.iter().flat_map(|d| d.jobs.iter().copied()).collect();
        // One at a time means one lane: everything in due order.
        let lanes = lanes(due, outbox.concurrency() <= 1);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Outcome>();
        let mut running = send_lanes(outbox, lanes, tx);
        let report = self.record(outbox.platform(), rx, outstanding, now).await?;
        while let Some(done) = running.join_next().await {
            if let Err(e) = done {
                // Its jobs stay claimed: the lease runs out and they go out again.
                tracing::error!(error = %e, "a delivery lane failed");
            }
        }
        Ok(report)
    }

    /// Records the outcomes of a round as they come in, in small batches,
    /// renewing the claims on what is still to send.
    async fn record(
        &self,
        platform: Platform,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<Outcome>,
        mut outstanding: std::collections::HashSet<i64>,
        now: DateTime<Utc>,
    ) -> Result<TickReport> {
        let mut report = TickReport::default();
        let mut pending: Vec<Outcome> = Vec::new();
        let mut last = tokio::time::Instant::now();
        let mut renewed = tokio::time::Instant::now();
        loop {
            let next = tokio::time::timeout(RECORD_EVERY, rx.recv()).await;
            let closed = matches!(next, Ok(None));
            if let Ok(Some((job, outcome))) = next {
                outstanding.remove(&job);
                count(platform, &mut report, job, &outcome);
                pending.push((job, outcome));
            }
            if !pending.is_empty() && (closed || last.elapsed() >= RECORD_EVERY) {
                self.hearth.delivered_all(&pending, now).await?;
                pending.clear();
                last = tokio::time::Instant::now();
            }
            if closed {
                break;
            }
            // A round held back by a platform's rate limit can outlast its
            // claim; what is still to send stays ours.
            if renewed.elapsed() >= RENEW_EVERY && !outstanding.is_empty() {
                let ids: Vec<i64> = outstanding.iter().copied().collect();
                self.hearth.extend_claims(&self.owner, &ids, self.hearth.now()).await?;
                renewed = tokio::time::Instant::now();
            }
        }
        Ok(report)
    }
}

/// A round's deliveries by destination ([`lane`]), each in due order, the
/// destinations in the order they first come; `single`: all in one lane.
fn lanes(due: Vec<DueDelivery>, single: bool) -> Vec<Vec<DueDelivery>> {
    let mut lanes: Vec<Vec<DueDelivery>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for item in due {
        let key = if single { String::new() } else { lane(&item) };
        match index.get(&key) {
            Some(&i) => lanes[i].push(item),
            None => {
                index.insert(key, lanes.len());
                lanes.push(vec![item]);
            }
        }
    }
    lanes
}

/// Sends each lane in its own task, up to the outbox's concurrency (at most
/// [`LANES`]) at once, each outcome told on `tx`.
fn send_lanes(
    outbox: &Arc<dyn Outbox>,
    lanes: Vec<Vec<DueDelivery>>,
    tx: tokio::sync::mpsc::UnboundedSender<Outcome>,
) -> tokio::task::JoinSet<()> {
    let limit = Arc::new(tokio::sync::Semaphore::new(outbox.concurrency().clamp(1, LANES)));
    let mut running = tokio::task::JoinSet::new();
    for items in lanes {
        let outbox = outbox.clone();
        let tx = tx.clone();
        let limit = limit.clone();
        running.spawn(async move {
            let Ok(_permit) = limit.acquire_owned().await else {
                return;
            };
            for item in items {
                let outcome = match &item.due {
                    Due::Send(delivery) => outbox.deliver(delivery).await,
                    Due::Mirror { community, event } => outbox.mirror(community, event).await,
                };
                // A digest's outcome is each of its reminders'.
                for &job in &item.jobs {
                    if tx.send((job, outcome.clone())).is_err() {
                        return;
                    }
                }
            }
        });
    }
    running
}

/// Counts one outcome in the round's report and metrics.
fn count(platform: Platform, report: &mut TickReport, job: i64, outcome: &std::result::Result<(), DeliveryError>) {
    crate::metrics::delivery(platform, outcome);
    match outcome {
        Ok(()) => report.sent += 1,
        Err(e) => {
            report.failed += 1;
            tracing::warn!(job, error = %e, "delivery failed");
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
    /// One at a time: what tests and the console record stays in due order.
    fn concurrency(&self) -> usize {
        1
    }
    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
    ) -> crate::BoxFuture<'a, std::result::Result<(), crate::DeliveryError>> {
        let outcome = (self.f)(delivery);
        Box::pin(async move { outcome })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::tests::{Bot, at};

    /// A console outbox that records what it sends and is ready when told.
    struct Gated {
        ready: Arc<AtomicBool>,
        seen: Arc<Mutex<Vec<Delivery>>>,
    }

    impl Outbox for Gated {
        fn platform(&self) -> Platform {
            Platform::Console
        }
        fn ready(&self) -> bool {
            self.ready.load(Ordering::SeqCst)
        }
        fn deliver<'a>(
            &'a self,
            delivery: &'a Delivery,
        ) -> crate::BoxFuture<'a, std::result::Result<(), DeliveryError>> {
            self.seen.lock().unwrap().push(delivery.clone());
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn a_platform_not_ready_has_nothing_claimed_or_waited_for_and_sends_once_it_is() {
        let bot = Bot::new().await;
        bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
            .await;
        bot.say(
            "admin",
            r#"meeting schedule group:#1 when:"2026-03-20 19:00" timezone:UTC"#,
        )
        .await;
        let ready = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let outbox: Arc<dyn Outbox> = Arc::new(Gated {
            ready: ready.clone(),
            seen: seen.clone(),
        });
        let scheduler = Scheduler::new(bot.hearth.clone(), vec![outbox]).with_owner("host:1");
        let now = at("2026-03-20T18:00:00Z");

        let idle = scheduler.tick(now).await.unwrap();
        let claimed: i64 = crate::store::query_scalar("SELECT COUNT(*) FROM jobs WHERE lease_owner IS NOT NULL")
            .fetch_one(bot.hearth.store())
            .await
            .unwrap();
        let next_while_not_ready = scheduler.hearth.next_due(&scheduler.ready_platforms()).await.unwrap();
        ready.store(true, Ordering::SeqCst);
        let sent = scheduler.tick(now).await.unwrap();

        assert_eq!(idle, TickReport::default(), "nothing sent while not ready");
        assert_eq!(claimed, 0, "nothing claimed while not ready");
        assert_eq!(next_while_not_ready, None, "nothing waited for while not ready");
        assert!(sent.sent > 0, "sent once ready: {sent:?}");
        assert_eq!(seen.lock().unwrap().len(), sent.sent);
    }
}
