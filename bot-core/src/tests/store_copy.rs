//! Moving a community's SQLite store into PostgreSQL keeps everything it
//! had, and Hearth goes on from the copy as it would have from the file.

use super::jobs_engine::grief;
use super::*;

/// The PostgreSQL server the tests that need one use: `scripts/test`
/// starts one and says where in `HEARTH_POSTGRES_SERVER`.
pub(crate) fn postgres_server() -> String {
    std::env::var("HEARTH_POSTGRES_SERVER")
        .or_else(|_| std::env::var("HEARTH_TEST_POSTGRES"))
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "this test needs a PostgreSQL server: run `bash scripts/test`, which starts one, or start \
                 one yourself (`bash scripts/postgres/start`) and set HEARTH_POSTGRES_SERVER to its \
                 postgres://user@host:port"
            )
        })
}

/// Every row of the tables that matter, as text, in a fixed order.
async fn contents(store: &Store) -> Vec<(String, Vec<String>)> {
    let tables: &[(&str, &str)] = &[
        ("communities", "SELECT id || ' ' || platform || ' ' || external_id || ' ' || timezone FROM communities ORDER BY id"),
        ("members", "SELECT id || ' ' || external_id || ' ' || display_name FROM members ORDER BY id"),
        ("groups", "SELECT id || ' ' || name || ' ' || topic || ' ' || created_at FROM groups ORDER BY id"),
        ("group_members", "SELECT group_id || ' ' || member_id FROM group_members ORDER BY group_id, member_id"),
        (
            "meetings",
            "SELECT id || ' ' || group_id || ' ' || start_local || ' ' || rrule || ' ' || COALESCE(CAST(continued_by AS TEXT), '-')
             FROM meetings ORDER BY id",
        ),
        ("meeting_exceptions", "SELECT meeting_id || ' ' || occurrence || ' ' || COALESCE(CAST(moved_to AS TEXT), '-') FROM meeting_exceptions ORDER BY meeting_id, occurrence"),
        ("rsvps", "SELECT meeting_id || ' ' || occurrence || ' ' || member_id || ' ' || answer FROM rsvps ORDER BY meeting_id, occurrence, member_id"),
        ("jobs", "SELECT key || ' ' || kind || ' ' || due_at || ' ' || run_at || ' ' || state || ' ' || attempts FROM jobs ORDER BY key"),
        ("checkins", "SELECT id || ' ' || member_id || ' ' || COALESCE(CAST(mood AS TEXT), '-') || ' ' || at FROM checkins ORDER BY id"),
    ];
    let mut out = Vec::new();
    for (table, sql) in tables {
        let rows: Vec<String> = crate::store::query_scalar(*sql).fetch_all(store).await.unwrap();
        out.push((table.to_string(), rows));
    }
    out
}

#[tokio::test]
async fn a_sqlite_store_copied_into_postgresql_keeps_every_row_and_hearth_goes_on_from_it() {
    let server = postgres_server();
    let dir = tempfile::tempdir().unwrap();
    let file = Store::open(&dir.path().join("hearth.db")).await.unwrap();
    let bot = Bot::on(file.clone()).await;
    grief(&bot).await;
    bot.say("ana", "group join group:#1").await;
    bot.say("ben", "group join group:#1").await;
    weekly_from_21_march(&bot).await;
    bot.say("ana", "meeting rsvp meeting:1 occurrence:2026-03-28 answer:yes")
        .await;
    bot.say("ben", "meeting rsvp meeting:1 occurrence:2026-03-21 answer:no")
        .await;
    bot.say(
        "admin",
        r#"meeting move meeting:1 occurrence:2026-04-04 when:"2026-04-05 18:00""#,
    )
    .await;
    bot.say("admin", "meeting cancel meeting:1 occurrence:2026-04-11").await;
    bot.say("ana", "checkin share mood:3").await;
    let before = contents(&file).await;

    let target = Store::fresh_postgres(&server).await.unwrap();
    let counts = crate::store::copy(&file, &target).await.unwrap();
    let after = contents(&target).await;
    let again = crate::store::copy(&file, &target).await;

    assert_eq!(after, before, "the copy holds the same rows");
    assert!(
        before.iter().all(|(_, rows)| !rows.is_empty()),
        "every table checked has rows: {before:?}"
    );
    assert!(counts.iter().any(|(t, n)| t == "jobs" && *n > 0), "{counts:?}");
    let again = again.unwrap_err().to_string();
    assert!(
        again.contains("not empty"),
        "a second copy into the same database is refused: {again}"
    );

    // Hearth goes on from the copy: new rows get new ids, and the pending
    // reminders go out from PostgreSQL.
    let moved = Bot::on(target.clone()).await;
    let reply = text(
        &moved
            .say("admin", r#"group create name:"Carers" topic:caregiving led_by:peer"#)
            .await,
    );
    let (scheduler, seen) = recording(&moved);
    scheduler
        .advance(&moved.clock, at("2026-03-23T00:00:00Z"))
        .await
        .unwrap();

    assert!(reply.contains("#2"), "the next group is #2: {reply}");
    assert!(!seen.lock().unwrap().is_empty(), "the copied reminders went out");
}
