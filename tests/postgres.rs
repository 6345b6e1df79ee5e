//! The whole binary on PostgreSQL: `hearth store copy` moves a community's
//! SQLite store over keeping everything, and Hearth runs on the copy.
//!
//! These need a PostgreSQL server: `scripts/test` starts one and names it in
//! `HEARTH_POSTGRES_SERVER` (postgres://user@host:port); without it they
//! fail, saying how to start one.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test harness should fail loudly"
)]
#![recursion_limit = "256"]

#[cfg(feature = "matrix")]
#[path = "../adapters/matrix/tests/common/mod.rs"]
mod common;
mod running;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use bot_core::Store;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-0007.sqlite");

/// The PostgreSQL server to make test databases on.
fn postgres_server() -> String {
    std::env::var("HEARTH_POSTGRES_SERVER")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "this test needs a PostgreSQL server: run `bash scripts/test`, which starts one, or start \
                 one yourself (`bash scripts/postgres/start`, then `. .postgres/env`) and set \
                 HEARTH_POSTGRES_SERVER to its postgres://user@host:port"
            )
        })
}

/// What must survive the move, as rows of text, in SQL both databases read.
const KEPT: &[(&str, &str)] = &[
    (
        "groups",
        "SELECT CAST(id AS TEXT) || '|' || name || '|' || topic || '|' || format || '|' || CAST(community_id AS TEXT) FROM groups",
    ),
    (
        "series",
        "SELECT CAST(id AS TEXT) || '|' || CAST(group_id AS TEXT) || '|' || start_local || '|' || timezone || '|' || rrule
         || '|' || CAST(duration_minutes AS TEXT) FROM meetings",
    ),
    (
        "rsvps",
        "SELECT CAST(meeting_id AS TEXT) || '|' || occurrence || '|' || CAST(member_id AS TEXT) || '|' || answer FROM rsvps",
    ),
    (
        "pending jobs",
        "SELECT key || '|' || kind || '|' || platform || '|' || CAST(due_at AS TEXT) || '|' || CAST(run_at AS TEXT) || '|' || COALESCE(payload, '-')
         FROM jobs WHERE state = 'pending'",
    ),
    (
        "members",
        "SELECT CAST(id AS TEXT) || '|' || platform || '|' || external_id FROM members",
    ),
];

fn hearth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the hearth binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The fixture brought to the current schema, as a community's file would
/// be after an upgrade, in a directory of its own.
async fn upgraded_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hearth.db");
    std::fs::copy(FIXTURE, &db).unwrap();
    Store::open(&db)
        .await
        .expect("the current core upgrades the fixture")
        .close()
        .await;
    (dir, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_moves_the_upgrade_fixture_into_postgresql_keeping_every_group_series_rsvp_and_pending_job() {
    let server = postgres_server();
    let (_dir, db) = upgraded_fixture().await;
    let url = Store::fresh_postgres_database(&server).await.unwrap();
    let from = db.to_str().unwrap();

    let copied = hearth(&["store", "copy", "--from", from, "--to", &url]);
    let again = hearth(&["store", "copy", "--from", from, "--to", &url]);
    let file = Store::open_read_only(Path::new(&db)).await.unwrap();
    let target = Store::connect_postgres(&url, None).await.unwrap();
    let mut differences = Vec::new();
    let mut sizes = Vec::new();
    for (what, sql) in KEPT {
        let before = running::rows(&file, sql).await;
        let after = running::rows(&target, sql).await;
        sizes.push((*what, before.len()));
        if before != after {
            differences.push(format!(
                "{what}: only in the file {:?}; only in PostgreSQL {:?}",
                before.difference(&after).collect::<Vec<_>>(),
                after.difference(&before).collect::<Vec<_>>()
            ));
        }
    }
    file.close().await;
    target.close().await;

    let report = text(&copied.stdout);
    assert!(copied.status.success(), "{report}{}", text(&copied.stderr));
    for table in ["groups", "meetings", "rsvps", "jobs", "members"] {
        assert!(
            report.lines().any(|l| l.trim_start().starts_with(&format!("{table} "))),
            "{table} not counted:\n{report}"
        );
    }
    assert!(differences.is_empty(), "the copy differs:\n{}", differences.join("\n"));
    assert!(
        sizes.iter().take(4).map(|(_, n)| *n).collect::<Vec<_>>() == [2, 2, 3, 17],
        "groups, series, RSVPs, pending jobs in the fixture: {sizes:?}"
    );
    let refusal = text(&again.stderr);
    assert!(
        !again.status.success(),
        "a second copy into the same database is refused"
    );
    assert!(
        refusal.contains("not empty") && refusal.contains("The SQLite file is as it was"),
        "{refusal}"
    );
}

#[test]
fn store_copy_refuses_a_target_that_is_not_postgresql_and_a_missing_file_kindly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db");

    let not_pg = hearth(&["store", "copy", "--from", FIXTURE, "--to", "other.db"]);
    let no_file = hearth(&[
        "store",
        "copy",
        "--from",
        missing.to_str().unwrap(),
        "--to",
        "postgres://hearth@127.0.0.1:1/hearth",
    ]);

    assert!(!not_pg.status.success() && !no_file.status.success());
    assert!(
        text(&not_pg.stderr).contains("postgres://user@host:port/database"),
        "{}",
        text(&not_pg.stderr)
    );
    assert!(
        text(&no_file.stderr).contains("does not exist"),
        "{}",
        text(&no_file.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hearth_check_on_postgresql_reads_the_schema_and_names_each_lease_and_its_holder() {
    let server = postgres_server();
    let url = Store::fresh_postgres_database(&server).await.unwrap();
    let store = Store::connect_postgres(&url, None).await.unwrap();
    let now = chrono::Utc::now();
    assert!(
        bot_core::leases::hold(&store, bot_core::leases::RETENTION, "other-host:7", now)
            .await
            .unwrap()
    );
    store.close().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!("[storage]\nurl = {url:?}\nprocess_id = \"this-one\"\n\n[console]\n"),
    )
    .unwrap();
    let wrong = dir.path().join("wrong.toml");
    std::fs::write(&wrong, format!("[storage]\nurl = \"{url}_missing\"\n\n[console]\n")).unwrap();

    let checked = hearth(&["check", "--config", config.to_str().unwrap()]);
    let refused = hearth(&["check", "--config", wrong.to_str().unwrap()]);

    let report = text(&checked.stdout);
    assert!(checked.status.success(), "{report}{}", text(&checked.stderr));
    let known = Store::known_migrations(bot_core::store::Backend::Postgres).len();
    assert!(
        report.contains(&format!("its {known} migrations are current")),
        "{report}"
    );
    assert!(report.contains("0 jobs pending, none overdue"), "{report}");
    assert!(
        report.contains("lease retention: held by other-host:7")
            && report.contains("this process (this-one) takes it if that one stops"),
        "{report}"
    );
    assert!(
        report.contains("lease matrix-sync: free; this process has no [matrix]"),
        "{report}"
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stdout).contains("FIX  database: cannot connect"),
        "{}",
        text(&refused.stdout)
    );
}

/// Two `hearth` processes on one database, both configured for the same
/// Matrix account: one holds the sync lease and answers; killed with
/// SIGKILL, the other takes the lease within `TERM + RENEW_EVERY` seconds,
/// and a reminder that falls due after the kill reaches the room once.
#[cfg(feature = "matrix")]
#[expect(clippy::print_stdout, reason = "the fail-over time measured, for the record")]
async fn two_processes_share_the_matrix_account_and_the_survivor_takes_over(storage: &str, store: &Store) {
    use bot_core::leases::{MATRIX_SYNC, RENEW_EVERY, TERM, holder};
    use common::{Member, room_with_bot, synapse};
    use matrix_sdk::ruma::UserId;
    use running::Running;
    use std::time::{Duration, Instant};

    let synapse = synapse().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = common::bot_config(&synapse, dir.path()).await;
    // One store_dir for both, as the README asks.
    let matrix = common::matrix_section(&bot, &bot.homeserver);
    let start = |name: &str| {
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!("[storage]\n{storage}process_id = \"{name}\"\n\n{matrix}"),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).unwrap();
        Running(
            running::hearth_on(&config)
                .env("RUST_LOG", "info")
                .stderr(log)
                .spawn()
                .expect("the hearth binary starts"),
        )
    };
    let log = |name: &str| std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap_or_default();
    let held_by = |who: &'static str| async move {
        holder(store, MATRIX_SYNC, chrono::Utc::now())
            .await
            .unwrap()
            .is_some_and(|(h, _)| h == who)
    };

    let mut a = start("a");
    let began = Instant::now();
    while !held_by("a").await {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "a never took the lease:\n{}",
            log("a")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut b = start("b");
    let alice = Member::new(&synapse, "alice").await;
    let bot_id = UserId::parse(bot.user_id.as_str()).unwrap();
    let from_bot = |s: &common::Seen| s.sender() == bot_id.as_str();
    let room = room_with_bot(&alice, &bot_id, true, &[]).await;
    common::grief_circle_reminded_a_minute_before(&alice, &room, &bot_id).await;
    let still_a = held_by("a").await;

    // The reminder falls due about a minute from now: kill the holder first.
    a.0.kill().unwrap();
    a.0.wait().unwrap();
    let killed = Instant::now();
    let killed_at = chrono::Utc::now().timestamp_millis();
    while !held_by("b").await {
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "b never took the lease:\n{}",
            log("b")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fail_over = killed.elapsed();
    while !log("b").contains("matrix adapter running") {
        assert!(
            killed.elapsed() < Duration::from_secs(90),
            "b's Matrix adapter never ran:\n{}",
            log("b")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answering = killed.elapsed();
    let reminded = |s: &common::Seen| from_bot(s) && s.body().contains("Reminder: Grief circle");
    let deadline = Instant::now() + Duration::from_secs(150);
    let reminder = loop {
        if let Some(first) = alice.all(reminded).await.into_iter().next() {
            break first;
        }
        assert!(
            Instant::now() < deadline,
            "no reminder within 150 s:\nb's log:\n{}",
            log("b")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let arrived = killed.elapsed();
    // Long enough for a repeat to show, had there been one.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let reminders = alice.all(reminded).await.len();
    let sweeper = holder(store, bot_core::leases::RETENTION, chrono::Utc::now())
        .await
        .unwrap();
    // A clean stop lets go of both leases at once.
    let stopped = Command::new("kill")
        .args(["-TERM", &b.0.id().to_string()])
        .status()
        .unwrap();
    let exit = tokio::task::spawn_blocking(move || {
        let status = b.0.wait();
        (b, status)
    })
    .await
    .unwrap()
    .1
    .unwrap();
    let left = bot_core::leases::all(store, chrono::Utc::now()).await.unwrap();
    println!(
        "matrix sync fail-over: lease taken {:.1} s after SIGKILL (bound {} s), the survivor's adapter running {:.1} s after; reminder {:.1} s after",
        fail_over.as_secs_f64(),
        TERM + RENEW_EVERY,
        answering.as_secs_f64(),
        arrived.as_secs_f64()
    );

    assert!(still_a, "a held the lease while it answered");
    assert!(
        fail_over <= Duration::from_secs((TERM + RENEW_EVERY) as u64 + 1),
        "taken {fail_over:?} after the kill"
    );
    assert!(
        reminder.ts() >= killed_at,
        "the reminder went out after the kill, from b"
    );
    assert_eq!(reminders, 1, "the reminder arrived once");
    assert!(log("b").contains("lease taken"), "{}", log("b"));
    assert_eq!(
        sweeper.map(|(h, _)| h),
        Some("b".to_string()),
        "the survivor sweeps too"
    );
    assert!(
        stopped.success() && exit.success(),
        "b stops cleanly on SIGTERM: {exit:?}"
    );
    assert!(left.is_empty(), "a clean stop lets go of its leases: {left:?}");
}

#[cfg(feature = "matrix")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_the_matrix_sync_moves_to_the_surviving_process_and_a_reminder_arrives_once() {
    let server = postgres_server();
    let url = Store::fresh_postgres_database(&server).await.unwrap();
    let store = Store::connect_postgres(&url, None).await.unwrap();
    two_processes_share_the_matrix_account_and_the_survivor_takes_over(&format!("url = {url:?}\n"), &store).await;
    store.close().await;
}

/// The console on `db` (a file or a PostgreSQL URL), its clock at `clock`,
/// `script` on standard input: (stdout, stderr, success).
fn console(db: &str, clock: &str, script: &str) -> (String, String, bool) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["console", "--db", db, "--clock", clock])
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hearth binary starts");
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (text(&out.stdout), text(&out.stderr), out.status.success())
}

fn scheduled_deliveries(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("-> ") && l.ends_with(" UTC]"))
        .collect()
}

/// tests/console.rs's reminders test, on a `postgres://` --db.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_on_postgresql_sends_reminders_once_on_time_and_a_restart_repeats_none_and_catches_up() {
    let url = Store::fresh_postgres_database(&postgres_server()).await.unwrap();
    let (first, first_err, first_ok) = console(
        &url,
        "2026-03-19T10:00:00Z",
        r#"/group create name:"Grief circle" topic:grief led_by:peer
/meeting schedule group:"Grief circle" when:"thu 19:00" repeat:weekly timezone:Europe/Berlin
/as bob
/timezone zone:Europe/London
/meeting rsvp meeting:1 answer:yes
/wait 8h
"#,
    );
    // Restarted after the next 24-hour reminder was due, and before its meeting.
    let (second, second_err, second_ok) = console(&url, "2026-03-25T20:00:00Z", "/now\n/wait 1d\n");

    assert!(first_ok && second_ok, "{first_err}{second_err}");
    let mut first_deliveries = scheduled_deliveries(&first);
    first_deliveries.sort();
    assert_eq!(
        first_deliveries,
        vec![
            "-> #general  [Thu 19 Mar 2026 17:00 UTC]",
            "-> DM bob  [Thu 19 Mar 2026 17:00 UTC]"
        ],
        "{first}"
    );
    assert!(
        first.contains("Starts in 1 hour: Thu 19 Mar 2026, 19:00 CET (90 min)."),
        "{first}"
    );
    assert!(
        first.contains("Starts in 1 hour: Thu 19 Mar 2026, 18:00 GMT"),
        "{first}"
    );
    assert_eq!(
        scheduled_deliveries(&second),
        vec![
            "-> #general  [Wed 25 Mar 2026 20:00 UTC]",
            "-> #general  [Thu 26 Mar 2026 17:00 UTC]"
        ],
        "{second}"
    );
    assert!(
        second.contains("Starts in 22 hours: Thu 26 Mar 2026, 19:00 CET"),
        "{second}"
    );
    assert!(
        second.contains("(Sent late: I was offline when this was due.)"),
        "{second}"
    );
    assert!(!second.contains("19 Mar"), "nothing repeated:\n{second}");
}
