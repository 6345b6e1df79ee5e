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

#[allow(dead_code, reason = "this file uses only the rig's row reader")]
mod running;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use bot_core::Store;
use bot_core::store::{query, query_as, query_scalar};
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

/// The fixture itself, read-only: never migrated or written.
async fn fixture() -> Store {
    Store::open_read_only(Path::new(FIXTURE)).await.unwrap()
}

/// A copy of the fixture to upgrade, in a directory of its own.
fn copy_of_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hearth.db");
    std::fs::copy(FIXTURE, &db).unwrap();
    (dir, db)
}

#[tokio::test]
async fn the_schema_0007_database_upgrades_keeping_every_group_series_rsvp_and_pending_job() {
    let (_dir, db) = copy_of_fixture();
    let old = fixture().await;

    // The current core migrates the copy forward.
    let store = Store::open(&db).await.expect("the current core opens the old database");
    let mut lost = Vec::new();
    for (what, query) in KEPT {
        let before = running::rows(&old, query).await;
        let after = running::rows(&store, query).await;
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

async fn futures_counts(store: &Store) -> Vec<usize> {
    let mut counts = Vec::new();
    for what in ["groups", "series", "rsvps", "pending jobs"] {
        let query = KEPT.iter().find(|(w, _)| *w == what).unwrap().1;
        counts.push(running::rows(store, query).await.len());
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
    let store = Store::open(&newer).await.unwrap();
    query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
         VALUES (9999, 'from the future', CURRENT_TIMESTAMP, TRUE, x'00', 0)",
    )
    .execute(&store)
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

/// The columns migration 0015 turned from RFC 3339 text into Unix seconds.
const CONVERTED: &[(&str, &str)] = &[
    ("communities", "created_at"),
    ("members", "created_at"),
    ("groups", "created_at"),
    ("group_members", "joined_at"),
    ("meetings", "created_at"),
    ("rsvps", "answered_at"),
    ("circles", "started_at"),
    ("circles", "ended_at"),
    ("voice_presence", "since"),
    ("circle_mutes", "muted_at"),
    ("checkin_schedules", "created_at"),
    ("resources", "created_at"),
];

/// Rows added to the fixture at schema 0014, the last before time was stored
/// one way: the tables the 0007 fixture leaves empty (an ended circle, voice
/// presence, a mute, quiet hours), and every form the old code wrote: sqlx's
/// RFC 3339 with a fraction of a second (SQLite alone would round `.9997` up
/// to the next second), an offset other than UTC, `Z`, and the naive
/// `%F %T%.f` form an RSVP copied by `/meeting edit` was given.
const AT_0014: &str = "
    INSERT INTO communities (id, platform, external_id, timezone, created_at)
        VALUES (2, 'console', 'second', 'UTC', '2026-03-20T08:30:15.999700+00:00');
    INSERT INTO members (id, platform, external_id, display_name, created_at)
        VALUES (5, 'console', 'erin', 'erin', '2026-03-20T09:30:00.5+01:00');
    INSERT INTO group_members (group_id, member_id, joined_at) VALUES (1, 5, '2026-03-20T08:31:00Z');
    INSERT INTO meetings (id, group_id, start_local, timezone, repeat, rrule, duration_minutes, created_at)
        VALUES (3, 1, '2026-04-02 19:00:00', 'Europe/Berlin', 'once', 'FREQ=DAILY;COUNT=1', 60,
                '2026-03-21T10:00:00.123456789+00:00');
    INSERT INTO rsvps (meeting_id, occurrence, member_id, answer, answered_at)
        VALUES (3, 1775149200, 5, 'yes', '2026-03-21 10:00:00.123');
    INSERT INTO circles (id, community_id, channel, home_channel, mode, started_at, ended_at)
        VALUES (2, 1, 'voice', 'general', 'queue', '2026-03-18T18:00:00.25+00:00', '2026-03-18T19:00:59.9997+00:00');
    INSERT INTO voice_presence (community_id, channel, member_id, since)
        VALUES (1, 'general', 3, '2026-03-19T09:59:30.000001+00:00');
    INSERT INTO circle_mutes (community_id, member_id, channel, circle_id, stage, muted_at)
        VALUES (1, 4, 'general', 1, 0, '2026-03-19T10:00:01-04:00');
    UPDATE reminder_settings SET quiet_start = '22:00:00', quiet_end = '07:30:00' WHERE member_id = 3;
";

/// What old code wrote, as the instant chrono reads it (sqlx's own reading:
/// RFC 3339, else naive UTC), in whole seconds as `timestamp()` gives them.
fn instant_of(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%F %T%.f").map(|t| t.and_utc().timestamp()))
        .unwrap_or_else(|e| panic!("{text:?} is no time: {e}"))
}

/// (table.column, rowid) → the stored value and its SQLite type: this file
/// is about SQLite's own upgrade (migration 0015 of its schema), so it reads
/// SQLite's rowids and storage classes.
async fn cells(store: &Store, columns: &[(&str, &str)]) -> BTreeMap<(String, i64), (String, String)> {
    let mut found = BTreeMap::new();
    for (table, column) in columns {
        let sql = format!("SELECT rowid, {column} || '', typeof({column}) FROM {table} WHERE {column} IS NOT NULL");
        for (rowid, value, kind) in query_as::<(i64, String, String)>(sql).fetch_all(store).await.unwrap() {
            found.insert((format!("{table}.{column}"), rowid), (value, kind));
        }
    }
    found
}

/// Every column of the schema whose name says it holds an instant.
async fn instant_columns(store: &Store) -> Vec<(String, String, String)> {
    query_as::<(String, String, String)>(
        "SELECT m.name, p.name, p.type FROM sqlite_master m, pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
    )
    .fetch_all(store)
    .await
    .unwrap()
    .into_iter()
    .filter(|(_, column, _): &(String, String, String)| bot_core::when::is_instant(column))
    .collect()
}

#[tokio::test]
async fn every_stored_time_reads_the_same_after_it_becomes_unix_seconds() {
    let (_dir, db) = copy_of_fixture();
    // SQLite's own migrations, run up to 0014 alone: no store opens a file
    // part-way, so this one step takes the file itself.
    let at_0014 = SqlitePool::connect_with(SqliteConnectOptions::new().filename(&db).foreign_keys(true))
        .await
        .unwrap();
    sqlx::migrate!("./bot-core/migrations")
        .run_to(14, &at_0014)
        .await
        .unwrap();
    sqlx::raw_sql(AT_0014).execute(&at_0014).await.unwrap();
    let times_of_day = [
        ("reminder_settings", "quiet_start"),
        ("reminder_settings", "quiet_end"),
        ("checkin_settings", "remind_at"),
    ];
    at_0014.close().await;
    // Read as it is at 0014, never migrated.
    let at_0014 = Store::open_read_only(&db).await.unwrap();
    let before = cells(&at_0014, CONVERTED).await;
    // The 0007 file's own values are among them, as it holds them.
    let old = fixture().await;
    let in_fixture = cells(&old, CONVERTED).await;
    old.close().await;
    assert_eq!(in_fixture.len(), 18, "{in_fixture:#?}");
    for (cell, value) in &in_fixture {
        assert_eq!(before.get(cell), Some(value), "{cell:?}");
    }
    let days_before = cells(&at_0014, &times_of_day).await;
    at_0014.close().await;

    let store = Store::open(&db).await.expect("0015 converts the copy");
    let after = cells(&store, CONVERTED).await;
    let days_after = cells(&store, &times_of_day).await;

    // Every converted column had something to convert, and each value is now
    // the same instant, as an integer.
    for (table, column) in CONVERTED {
        let name = format!("{table}.{column}");
        assert!(
            before.keys().any(|(c, _)| *c == name),
            "nothing in {name} was converted"
        );
    }
    assert_eq!(before.len(), 27, "{before:#?}");
    let mut changed = Vec::new();
    for (cell, (old, _)) in &before {
        let want = instant_of(old);
        match after.get(cell) {
            Some((new, kind)) if kind == "integer" && *new == want.to_string() => {}
            other => changed.push(format!("{cell:?}: {old:?} is {want}, upgraded {other:?}")),
        }
    }
    assert!(changed.is_empty(), "instants changed:\n{}", changed.join("\n"));
    assert_eq!(after.len(), before.len(), "{after:#?}");
    // The fraction is cut, never rounded: .9997 stays in its second.
    assert_eq!(
        after[&("circles.ended_at".to_string(), 2)].0,
        "1773860459",
        "2026-03-18T19:00:59Z"
    );

    // Times of day: one form, "HH:MM", the same time.
    assert_eq!(days_before.len(), 3, "{days_before:#?}");
    for (cell, (old, _)) in &days_before {
        let (new, kind) = &days_after[cell];
        assert_eq!(kind, "text");
        assert_eq!(new.len(), 5, "{cell:?}: {new:?}");
        assert_eq!(&old[..5], new, "{cell:?}");
    }

    // Every instant column in the schema is INTEGER.
    let columns = instant_columns(&store).await;
    assert!(columns.len() >= 30, "{columns:?}");
    let text: Vec<_> = columns.iter().filter(|(_, _, kind)| kind != "INTEGER").collect();
    assert!(text.is_empty(), "instants not stored as INTEGER: {text:?}");
    store.close().await;

    // The current binary writes new instants as integers, and reads the old.
    let out = console(
        &db,
        "/group create name:\"Walkers\" topic:walking led_by:peer\n\
         /meeting schedule group:\"Walkers\" when:\"2026-03-26 18:00\" repeat:weekly timezone:UTC\n\
         /resources add title:\"Walk maps\" url:https://example.org/maps topic:reading\n\
         /circle end\n\
         /circle start\n\
         /as frank\n\
         /group join Walkers\n\
         /meeting rsvp meeting:4 answer:yes\n\
         /reminders quiet:23:00-07:00\n\
         /checkin remind time:21:15\n\
         /as alice\n\
         /checkin schedule group:\"Walkers\" when:meeting_start question:\"How are you?\"\n\
         /meeting list\n",
    );
    assert!(out.contains("Walkers"), "{out}");
    let store = Store::open(&db).await.unwrap();
    let now = cells(&store, CONVERTED).await;
    let new: BTreeSet<&String> = now.keys().filter(|k| !after.contains_key(*k)).map(|(c, _)| c).collect();
    for column in [
        "members.created_at",
        "groups.created_at",
        "group_members.joined_at",
        "meetings.created_at",
        "rsvps.answered_at",
        "circles.started_at",
        "circles.ended_at",
        "checkin_schedules.created_at",
        "resources.created_at",
    ] {
        assert!(
            new.contains(&column.to_string()),
            "the binary wrote no {column}: {new:?}\n{out}"
        );
    }
    let mut not_integer = Vec::new();
    for (table, column, _) in instant_columns(&store).await {
        let sql = format!("SELECT count(*) FROM {table} WHERE typeof({column}) NOT IN ('integer', 'null')");
        let n: i64 = query_scalar(sql).fetch_one(&store).await.unwrap();
        if n > 0 {
            not_integer.push(format!("{table}.{column}: {n}"));
        }
    }
    assert!(not_integer.is_empty(), "instants written as text: {not_integer:?}");
    let quiet: (String, String) = query_as(
        "SELECT quiet_start, quiet_end FROM reminder_settings
         WHERE member_id = (SELECT id FROM members WHERE external_id = 'frank')",
    )
    .fetch_one(&store)
    .await
    .unwrap();
    assert_eq!(quiet, ("23:00".to_string(), "07:00".to_string()));
    let remind: String = query_scalar(
        "SELECT remind_at FROM checkin_settings
         WHERE member_id = (SELECT id FROM members WHERE external_id = 'frank')",
    )
    .fetch_one(&store)
    .await
    .unwrap();
    assert_eq!(remind, "21:15");
    store.close().await;
}
