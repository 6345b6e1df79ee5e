//! Several Hearth processes on one database share the jobs: each job is
//! sent by exactly one of them, and a dead process's claims go out again,
//! from another, once their lease runs out. On PostgreSQL (claims lock the
//! rows they take and skip the ones another is taking) and on one SQLite
//! file shared by two pools, which must keep the same promise.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::store_copy::postgres_server;
use super::*;
use crate::io::{BoxFuture, Delivery, Effect, Platform};
use crate::jobs::{self, Due, Handler, Job, Kind, NewJob, Registry, Subject};
use crate::message::Message;

static PING: Kind = Kind::capped("ping", Subject::Unused);
static KINDS: &[&Kind] = &[&PING];

fn ping<'a>(_: &'a Store, job: &'a Job, _: DateTime<Utc>) -> BoxFuture<'a, crate::error::Result<Option<Due>>> {
    Box::pin(async move {
        Ok(Some(Due::Send(Delivery {
            community: "c".into(),
            effect: Effect::Post {
                channel: "x".into(),
                message: Message::new(),
                key: Some(job.key.clone()),
            },
        })))
    })
}

fn registry() -> Registry {
    Registry::default().with(Handler::Each {
        kinds: KINDS,
        due: ping,
    })
}

fn key_of(d: &jobs::DueDelivery) -> String {
    match &d.due {
        Due::Send(Delivery {
            effect: Effect::Post { key: Some(k), .. },
            ..
        }) => k.clone(),
        other => panic!("not a ping: {other:?}"),
    }
}

async fn put_pings(store: &Store, n: usize, due: DateTime<Utc>) {
    for i in 0..n {
        let key = format!("p:{i:05}");
        jobs::put(
            store,
            &NewJob {
                key: &key,
                kind: PING.name,
                due: due + Duration::milliseconds(i as i64 * 10),
                platform: Platform::Console,
                subject: 0,
                member: None,
            },
        )
        .await
        .unwrap();
    }
}

type Sent = Arc<Mutex<Vec<(String, &'static str)>>>;

/// One process's sender: claims a few due jobs at a time, "sends" each
/// (a little while, as a platform call takes), records how it went, until
/// nothing is due.
async fn sender(store: Store, owner: &'static str, now: DateTime<Utc>, sent: Sent) {
    let kinds = registry();
    loop {
        let due = jobs::take_due(&store, &kinds, Platform::Console, owner, now, 7)
            .await
            .unwrap();
        if due.is_empty() {
            return;
        }
        let mut outcomes = Vec::new();
        for d in &due {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            sent.lock().unwrap().push((key_of(d), owner));
            outcomes.extend(d.jobs.iter().map(|j| (*j, Ok(()))));
        }
        jobs::delivered_all(&store, &kinds, &outcomes, now).await.unwrap();
    }
}

async fn each_job_goes_out_once_from_two_processes(a: Store, b: Store) {
    let now = at("2026-12-02T10:00:00Z");
    put_pings(&a, 400, now - Duration::minutes(5)).await;
    let sent = Sent::default();

    tokio::join!(
        tokio::spawn(sender(a.clone(), "host-a:1", now, sent.clone())),
        tokio::spawn(sender(b.clone(), "host-b:2", now, sent.clone())),
    )
    .0
    .unwrap();

    let sent = sent.lock().unwrap().clone();
    let mut times: HashMap<&str, usize> = HashMap::new();
    for (key, _) in &sent {
        *times.entry(key.as_str()).or_default() += 1;
    }
    let by_a = sent.iter().filter(|(_, o)| *o == "host-a:1").count();
    let left: i64 = crate::store::query_scalar("SELECT COUNT(*) FROM jobs WHERE state <> 'sent'")
        .fetch_one(&b)
        .await
        .unwrap();
    assert_eq!(times.len(), 400, "every job went out");
    assert!(times.values().all(|n| *n == 1), "none went out twice");
    assert!(by_a > 0 && by_a < 400, "both processes sent some: a sent {by_a}");
    assert_eq!(left, 0, "every job is recorded as sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgresql_two_processes_send_each_job_exactly_once() {
    let url = Store::fresh_postgres_database(&postgres_server()).await.unwrap();
    let a = Store::open_postgres(&url, None, 4).await.unwrap();
    let b = Store::open_postgres(&url, None, 4).await.unwrap();
    each_job_goes_out_once_from_two_processes(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_one_sqlite_file_two_pools_send_each_job_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open(&dir.path().join("h.db")).await.unwrap();
    let b = Store::open(&dir.path().join("h.db")).await.unwrap();
    each_job_goes_out_once_from_two_processes(a, b).await;
}

#[tokio::test]
async fn a_dead_processs_claims_go_out_from_another_once_its_lease_runs_out() {
    let url = Store::fresh_postgres_database(&postgres_server()).await.unwrap();
    let a = Store::open_postgres(&url, None, 2).await.unwrap();
    let b = Store::open_postgres(&url, None, 2).await.unwrap();
    let kinds = registry();
    let now = at("2026-12-02T10:00:00Z");
    put_pings(&a, 10, now - Duration::minutes(1)).await;

    // a claims four and dies before it sends them.
    let taken_by_a = jobs::take_due(&a, &kinds, Platform::Console, "host-a:1", now, 4)
        .await
        .unwrap();
    a.close().await;
    let at_once = jobs::take_due(&b, &kinds, Platform::Console, "host-b:2", now, 100)
        .await
        .unwrap();
    let sent: Vec<_> = at_once
        .iter()
        .flat_map(|d| d.jobs.iter().map(|j| (*j, Ok(()))))
        .collect();
    jobs::delivered_all(&b, &kinds, &sent, now).await.unwrap();
    let too_soon = now + Duration::seconds(jobs::LEASE_SECS - 1);
    let early = jobs::take_due(&b, &kinds, Platform::Console, "host-b:2", too_soon, 100)
        .await
        .unwrap();
    let lapsed = now + Duration::seconds(jobs::LEASE_SECS);
    let late = jobs::take_due(&b, &kinds, Platform::Console, "host-b:2", lapsed, 100)
        .await
        .unwrap();

    let keys = |v: &[jobs::DueDelivery]| v.iter().map(key_of).collect::<Vec<_>>();
    assert_eq!(keys(&taken_by_a), ["p:00000", "p:00001", "p:00002", "p:00003"]);
    assert_eq!(
        keys(&at_once).len(),
        6,
        "the others go out at once: {:?}",
        keys(&at_once)
    );
    assert!(early.is_empty(), "not while a's lease holds");
    assert_eq!(keys(&late), keys(&taken_by_a), "a's four, once its lease has run out");
}
