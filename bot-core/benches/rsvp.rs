//! One member's join and RSVP, through the whole command path, in a group of
//! 100 and of 10,000 members (a tenth of them with DMs on, half of them
//! RSVP'd): the cost per member must not grow with the group.
//! Run with `cargo bench -p bot-core --bench rsvp`; prints medians.

#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark binary reports to the terminal"
)]

use std::sync::Arc;
use std::time::Instant;

use bot_core::store::query;
use bot_core::{Actor, Clock, CoreConfig, Hearth, Input, InputKind, Place, Platform, Store};
use chrono::{DateTime, Utc};

fn place() -> Place {
    Place {
        platform: Platform::Console,
        community: "local".into(),
        channel: "general".into(),
    }
}

async fn say(hearth: &Hearth, who: &str, text: &str) -> String {
    let input = Input {
        actor: Actor::member(who, who),
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

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Median milliseconds of one newcomer's join plus RSVP in a group of `size`.
async fn per_member(size: i64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("rsvp.db")).await.unwrap();
    let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(bot_core::ManualClock::new(now));
    let hearth = Hearth::new(store.clone(), clock, CoreConfig::default());
    hearth
        .claim_admin(&place(), &Actor::member("admin", "admin"))
        .await
        .unwrap();
    say(&hearth, "admin", "group create name:Big topic:big led_by:peer").await;
    let scheduled = say(
        &hearth,
        "admin",
        r#"meeting schedule group:Big when:"2026-12-03 19:00" repeat:weekly timezone:UTC"#,
    )
    .await;
    assert!(scheduled.starts_with("Scheduled"), "{scheduled}");
    for sql in [
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO members (platform, external_id, display_name, created_at)
         SELECT 'console', 'bulk' || i, 'bulk' || i, 1767225600 FROM n",
        "INSERT INTO group_members (group_id, member_id, joined_at)
         SELECT 1, id, 1767225600 FROM members WHERE external_id LIKE 'bulk%' AND ? > 0",
        "INSERT INTO reminder_settings (member_id, dm)
         SELECT id, TRUE FROM members WHERE external_id LIKE 'bulk%' AND id % 10 = 0 AND ? > 0",
        "INSERT INTO rsvps (meeting_id, occurrence, member_id, answer, answered_at)
         SELECT 1, 1796324400, id, 'yes', 1767225600 FROM members
         WHERE external_id LIKE 'bulk%' AND id % 2 = 0 AND ? > 0",
    ] {
        query(sql).bind(size).execute(&store).await.unwrap();
    }
    // Plan the whole group once, as a roll-over would.
    say(&hearth, "admin", "reminders group:Big leads:24h,1h").await;
    query("ANALYZE").execute(&store).await.unwrap();
    let mut times = Vec::new();
    for i in 0..60 {
        let who = format!("newcomer{i}");
        let t = Instant::now();
        let joined = say(&hearth, &who, "group join group:Big").await;
        let answered = say(&hearth, &who, "meeting rsvp meeting:1 answer:yes").await;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(joined.contains("Welcome") || joined.contains("joined"), "{joined}");
        assert!(answered.contains("you're going"), "{answered}");
    }
    median(times)
}

#[tokio::main]
async fn main() {
    println!("group size  join + RSVP per member (ms, median of 60)");
    let small = per_member(100).await;
    println!("{:>10}  {small:>8.2}", 100);
    let large = per_member(10_000).await;
    println!("{:>10}  {large:>8.2}", 10_000);
    println!("ratio 10,000 / 100: {:.2}", large / small);
}
