//! Upgrades keep every community's data: a database made by an older schema
//! (`tests/fixtures/schema-0007.sqlite`, made by `make-0007.sh` with the
//! binary of migrations 0001-0007) is opened by the current core and binary,
//! and every group, series, RSVP, pending job, check-in, circle and resource
//! it held is still there. Every later change to the schema keeps this
//! passing; a new fixture is added beside it when the schema changes again.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test harness should fail loudly"
)]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-0007.sqlite");

/// What must survive, as rows of text: the same queries on the old file
/// (read-only, never migrated) and on the upgraded copy.
const KEPT: &[(&str, &str)] = &[
    (
        "groups",
        "SELECT id || '|' || name || '|' || topic || '|' || format FROM groups",
    ),
    (
        "series",
        "SELECT id || '|' || group_id || '|' || start_local || '|' || timezone || '|' || rrule FROM meetings",
    ),
    (
        "rsvps",
        "SELECT meeting_id || '|' || occurrence || '|' || member_id || '|' || answer FROM rsvps",
    ),
    (
        "pending jobs",
        "SELECT key || '|' || kind || '|' || due_at FROM jobs WHERE state = 'pending'",
    ),
    (
        "members",
        "SELECT id || '|' || platform || '|' || external_id FROM members",
    ),
    (
        "check-ins",
        "SELECT id || '|' || member_id || '|' || coalesce(mood, 'pass') || '|' || coalesce(note, '') FROM checkins",
    ),
    ("check-in prompts", "SELECT id || '' FROM checkin_schedules"),
    ("circles", "SELECT id || '|' || mode || '|' || channel FROM circles"),
    (
        "circle participants",
        "SELECT circle_id || '|' || member_id FROM circle_participants",
    ),
    (
        "resources",
        "SELECT id || '|' || title || '|' || url || '|' || topic FROM resources",
    ),
];

async fn rows(pool: &SqlitePool, query: &'static str) -> BTreeSet<String> {
    sqlx::query(query)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}

#[tokio::test]
async fn the_schema_0007_database_upgrades_keeping_every_group_series_rsvp_and_pending_job() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hearth.db");
    std::fs::copy(FIXTURE, &db).unwrap();
    let old = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(FIXTURE)
            .read_only(true)
            .immutable(true),
    )
    .await
    .unwrap();

    // The current core migrates the copy forward.
    let store = bot_core::Store::open(&db)
        .await
        .expect("the current core opens the old database");
    let mut lost = Vec::new();
    for (what, query) in KEPT {
        let before = rows(&old, query).await;
        let after = rows(store.pool(), query).await;
        assert!(!before.is_empty(), "the fixture holds no {what}");
        let missing: Vec<_> = before.difference(&after).collect();
        if !missing.is_empty() {
            lost.push(format!("{what}: {missing:?}"));
        }
    }
    let counts: Vec<usize> = futures_counts(&old).await;
    store.close().await;
    old.close().await;
    assert!(lost.is_empty(), "the upgrade lost rows:\n{}", lost.join("\n"));
    assert_eq!(
        counts,
        [2, 2, 3, 17],
        "groups, series, RSVPs, pending jobs in the fixture"
    );

    // The current binary reads it as the community left it.
    let out = console(&db, "/group list\n/meeting list\n/resources list\n");
    for expected in [
        "Grief circle",
        "Carers",
        "Spring meeting",
        "Grief reading",
        "Town helpline",
    ] {
        assert!(
            out.contains(expected),
            "{expected:?} not listed by the upgraded binary:\n{out}"
        );
    }
}

async fn futures_counts(pool: &SqlitePool) -> Vec<usize> {
    let mut counts = Vec::new();
    for what in ["groups", "series", "rsvps", "pending jobs"] {
        let query = KEPT.iter().find(|(w, _)| *w == what).unwrap().1;
        counts.push(rows(pool, query).await.len());
    }
    counts
}

fn console(db: &Path, script: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["console", "--as", "alice", "--clock", "2026-03-19T10:00:00Z", "--db"])
        .arg(db)
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hearth binary starts");
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
