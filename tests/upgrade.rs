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

/// `hearth ARGS --config` on a config naming `db`: the exit, stdout, stderr.
fn hearth_on(dir: &Path, db: &Path, args: &[&str]) -> (bool, String, String) {
    let config = dir.join("hearth.toml");
    std::fs::write(
        &config,
        format!("[storage]\npath = {:?}\n\n[console]\n", db.display().to_string()),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .arg("--config")
        .arg(&config)
        .current_dir(dir)
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the hearth binary starts");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn export_and_check_read_an_older_or_newer_database_without_changing_it() {
    let dir = tempfile::tempdir().unwrap();
    let older = dir.path().join("older.db");
    std::fs::copy(FIXTURE, &older).unwrap();
    // A database a newer Hearth wrote: one migration this build does not know.
    let newer = dir.path().join("newer.db");
    let store = bot_core::Store::open(&newer).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
         VALUES (9999, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;
    let bytes = |p: &Path| std::fs::read(p).unwrap();
    let (older_before, newer_before) = (bytes(&older), bytes(&newer));

    let old_export = hearth_on(dir.path(), &older, &["export", "meeting-guide", "--out", "old.json"]);
    let new_export = hearth_on(dir.path(), &newer, &["export", "meeting-guide", "--out", "new.json"]);
    let old_check = hearth_on(dir.path(), &older, &["check"]);

    assert!(!old_export.0, "{old_export:?}");
    assert!(old_export.2.contains("older than this Hearth"), "{}", old_export.2);
    assert!(!new_export.0, "{new_export:?}");
    assert!(new_export.2.contains("written by a newer Hearth"), "{}", new_export.2);
    assert!(old_check.1.contains("the next start upgrades it"), "{}", old_check.1);
    assert!(!dir.path().join("old.json").exists() && !dir.path().join("new.json").exists());
    assert!(bytes(&older) == older_before, "the older database was changed");
    assert!(bytes(&newer) == newer_before, "the newer database was changed");
}
