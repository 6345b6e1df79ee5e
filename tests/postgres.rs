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

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use bot_core::Store;
use bot_core::store::query_scalar;

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

async fn rows(store: &Store, sql: &'static str) -> BTreeSet<String> {
    query_scalar::<String>(sql)
        .fetch_all(store)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .collect()
}

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
        let before = rows(&file, sql).await;
        let after = rows(&target, sql).await;
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
