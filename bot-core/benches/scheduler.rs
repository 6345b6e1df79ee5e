//! The scheduler at scale: 100,000 series and 1,000,000 pending jobs on a
//! SQLite file, against 10,000 and 100,000 to show the cost stays flat.
//! Run with `cargo bench -p bot-core --bench scheduler`; prints medians.
//! With `HEARTH_BENCH_POSTGRES=postgres://user@host:port` (a server where
//! it may create databases) the same runs on PostgreSQL, a fresh database
//! each time.

#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark binary reports to the terminal"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use bot_core::scheduler::FnOutbox;
use bot_core::store::query;
use bot_core::{
    Actor, Clock, CoreConfig, Delivery, Hearth, Input, InputKind, Outbox, Place, Platform, Scheduler, Store,
};
use chrono::{DateTime, Duration, Utc};

/// The keys of the reminders a delivery carries: one, or those of a digest
/// (reminders to one place due at one instant go out together).
fn reminder_keys(d: &Delivery) -> Vec<String> {
    let bot_core::Effect::Post { key: Some(key), .. } = &d.effect else {
        return Vec::new();
    };
    bot_core::jobs::carried_keys(key)
        .into_iter()
        .map(ToString::to_string)
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn percentile(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() as f64 - 1.0) * p).round() as usize]
}

fn place() -> Place {
    Place {
        platform: Platform::Console,
        community: "local".into(),
        channel: "general".into(),
    }
}

async fn say(hearth: &Hearth, text: &str) -> String {
    let input = Input {
        actor: Actor::member("admin", "admin"),
        place: place(),
        kind: InputKind::Command(bot_core::parse::parse_command(text).unwrap()),
    };
    hearth
        .handle(&input)
        .await
        .reply
        .map(|r| r.message.plain("/"))
        .unwrap_or_default()
}

/// A hearth on a fresh file holding `series` weekly series and ten pending
/// reminders each, due over the next 30 days.
async fn populated(series: i64, now: DateTime<Utc>) -> (Hearth, tempfile::TempDir) {
    let (store, dir) = fresh_store("bench.db").await;
    let clock: Arc<dyn Clock> = Arc::new(bot_core::ManualClock::new(now));
    let hearth = Hearth::new(store.clone(), clock, CoreConfig::default());
    hearth
        .claim_admin(&place(), &Actor::member("admin", "admin"))
        .await
        .unwrap();
    say(&hearth, "group create name:Bench topic:bench led_by:peer").await;
    query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO meetings (group_id, start_local, timezone, repeat, rrule, duration_minutes, created_at)
         SELECT 1, '2027-01-04T19:00:00', 'Europe/Berlin', 'weekly', 'FREQ=WEEKLY', 90, 1767225600 FROM n",
    )
    .bind(series)
    .execute(&store)
    .await
    .unwrap();
    let base = now.timestamp() + 3600;
    query(
        "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 9)
         INSERT INTO jobs (key, kind, due_at, run_at, platform, meeting_id, occurrence, starts_at, lead_secs, member_id)
         SELECT 'r:' || m.id || ':' || k.j, 'reminder', ? + ((m.id * 7919 + k.j * 104729) % 2592000),
                ? + ((m.id * 7919 + k.j * 104729) % 2592000), 'console',
                m.id, ? + 2600000, ? + 2600000, 3600, NULL
         FROM meetings m CROSS JOIN k",
    )
    .bind(base)
    .bind(base)
    .bind(base)
    .bind(base)
    .execute(&store)
    .await
    .unwrap();
    query("ANALYZE").execute(&store).await.unwrap();
    (hearth, dir)
}

/// The PostgreSQL server to run on, if one is given.
fn postgres() -> Option<String> {
    std::env::var("HEARTH_BENCH_POSTGRES").ok().filter(|s| !s.is_empty())
}

/// A fresh store: a new file, or a new PostgreSQL database.
async fn fresh_store(file: &str) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = match postgres() {
        Some(server) => Store::fresh_postgres(&server).await.unwrap(),
        None => Store::open(&dir.path().join(file)).await.unwrap(),
    };
    (store, dir)
}

struct Figures {
    idle_tick_us: f64,
    due_tick_per_job_us: f64,
    schedule_ms: f64,
}

async fn measure(series: i64) -> Figures {
    let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
    let (hearth, _dir) = populated(series, now).await;
    let sent = Arc::new(Mutex::new(0usize));
    let counter = sent.clone();
    let outbox: Arc<dyn Outbox> = Arc::new(FnOutbox::new(Platform::Console, move |d: &Delivery| {
        *counter.lock().unwrap() += reminder_keys(d).len();
        Ok(())
    }));
    let scheduler = Scheduler::new(hearth.clone(), vec![outbox]);

    // A tick with nothing due, plus reading the next due time: the loop's steady state.
    let mut idle = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        scheduler.tick(now).await.unwrap();
        hearth.next_due(&[Platform::Console]).await.unwrap();
        idle.push(t.elapsed().as_secs_f64() * 1e6);
    }

    // Ticks that each find jobs due: walk forward through the table.
    let mut per_job = Vec::new();
    let mut at = now + Duration::hours(1);
    for _ in 0..20 {
        at += Duration::seconds(300);
        let before = *sent.lock().unwrap();
        let t = Instant::now();
        scheduler.tick(at).await.unwrap();
        let n = *sent.lock().unwrap() - before;
        if n > 0 {
            per_job.push(t.elapsed().as_secs_f64() * 1e6 / n as f64);
        }
    }

    // Scheduling one series through the whole command path.
    let mut schedule = Vec::new();
    for i in 0..20 {
        let t = Instant::now();
        let reply = say(
            &hearth,
            &format!(
                // The same weekday twice is the same time: confirmed, as the bench means it.
                "meeting schedule group:Bench when:\"2027-02-0{} 19:00\" repeat:weekly confirm:yes",
                i % 9 + 1
            ),
        )
        .await;
        schedule.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(reply.starts_with("Scheduled"), "{reply}");
    }
    Figures {
        idle_tick_us: median(idle),
        due_tick_per_job_us: median(per_job),
        schedule_ms: median(schedule),
    }
}

/// Lateness: the real loop on the system clock, with 300 reminders due over
/// the next 6 seconds, 50 at each second (as digests of ten).
async fn lateness() -> (f64, f64, f64) {
    let (store, _dir) = fresh_store("late.db").await;
    let hearth = Hearth::new(store.clone(), Arc::new(bot_core::SystemClock), CoreConfig::default());
    hearth
        .claim_admin(&place(), &Actor::member("admin", "admin"))
        .await
        .unwrap();
    say(&hearth, "group create name:Bench topic:bench led_by:peer").await;
    query(
        "INSERT INTO meetings (group_id, start_local, timezone, repeat, rrule, duration_minutes, created_at)
         VALUES (1, '2030-01-01T19:00:00', 'UTC', 'once', 'FREQ=DAILY;COUNT=1', 90, 1767225600)",
    )
    .execute(&store)
    .await
    .unwrap();
    let start = Utc::now().timestamp() + 2;
    let late = Arc::new(Mutex::new(Vec::new()));
    let record = late.clone();
    let outbox: Arc<dyn Outbox> = Arc::new(FnOutbox::new(Platform::Console, move |d: &Delivery| {
        let now = Utc::now();
        for key in reminder_keys(d) {
            let due: i64 = key.rsplit(':').next().unwrap().parse().unwrap();
            record
                .lock()
                .unwrap()
                .push((now.timestamp_millis() - due * 1000) as f64);
        }
        Ok(())
    }));
    let scheduler = Scheduler::new(hearth.clone(), vec![outbox]);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(scheduler.run(async move {
        let _ = stopped.await;
    }));
    for i in 0..300 {
        let due = start + i / 50;
        query(
            "INSERT INTO jobs (key, kind, due_at, run_at, platform, meeting_id, occurrence, starts_at, lead_secs)
             VALUES (?, 'reminder', ?, ?, 'console', 1, 1893524400, 1893524400, 60)",
        )
        .bind(format!("bench:{i}:{due}"))
        .bind(due)
        .bind(due)
        .execute(&store)
        .await
        .unwrap();
    }
    tokio::time::sleep(StdDuration::from_secs(10)).await;
    let _ = stop.send(());
    task.await.unwrap();
    let late = late.lock().unwrap().clone();
    assert_eq!(late.len(), 300, "every reminder sent once");
    (
        median(late.clone()),
        percentile(late.clone(), 0.99),
        late.iter().cloned().fold(0.0, f64::max),
    )
}

#[tokio::main]
async fn main() {
    println!("on {}", if postgres().is_some() { "PostgreSQL" } else { "SQLite" });
    println!(
        "series  pending jobs  idle tick+next_due (µs, median)  due tick per job (µs, median)  schedule one series (ms, median)"
    );
    for series in [10_000, 100_000] {
        let f = measure(series).await;
        println!(
            "{series:>7}  {:>12}  {:>31.0}  {:>29.0}  {:>32.1}",
            series * 10,
            f.idle_tick_us,
            f.due_tick_per_job_us,
            f.schedule_ms
        );
    }
    let (med, p99, max) = lateness().await;
    println!(
        "lateness of due reminders on the real loop (ms after due): median {med:.1}, p99 {p99:.1}, max {max:.1} (300 reminders)"
    );
}
