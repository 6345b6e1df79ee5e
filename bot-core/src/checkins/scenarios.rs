//! Check-ins through the core's front door, with the privacy promises as
//! tests: a note reaches its author only, only members count, summaries
//! cover closed weeks and need five answerers besides the asker, a pass is a
//! pass, and neither the logs nor other rows hold a note.

use std::sync::{Mutex, OnceLock};

use crate::io::{Effect, Response, Visibility};
use crate::tests::{Bot, text};

const NOTE: &str = "PLANTED-zebra-umbrella-note";
const MEMBERS: [&str; 5] = [
    "member-alpha",
    "member-bravo",
    "member-charlie",
    "member-delta",
    "member-echo",
];
const FACILITATOR: &str = "member-facil";

/// Everything in a response a person could see, rendered.
fn everything(response: &Response) -> String {
    format!("{response:?}")
}

/// A group with a facilitator and five members in it.
async fn circle(bot: &Bot) {
    bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    bot.say(
        "admin",
        &format!("group facilitator group:#1 user:{FACILITATOR} action:add"),
    )
    .await;
    for m in MEMBERS {
        bot.say(m, "group join group:#1").await;
    }
}

/// Moves the clock to 09:00 on the next Monday (UTC, the community's zone):
/// the week that was, closed.
fn close_week(bot: &Bot) {
    use chrono::Datelike;
    let now = crate::Clock::now(&bot.clock);
    let days = 7 - i64::from(now.weekday().num_days_from_monday());
    let monday = (now + chrono::Duration::days(days)).date_naive();
    bot.clock.set(monday.and_hms_opt(9, 0, 0).unwrap().and_utc());
}

/// The commands of the buttons of the prompt a facilitator posts now.
async fn posted_prompt(bot: &Bot) -> Vec<String> {
    let posted = bot.say(FACILITATOR, "checkin schedule group:#1 when:now").await;
    let Some(Effect::Post { channel, message, .. }) = posted.effects.first() else {
        panic!("no prompt posted: {posted:?}");
    };
    assert_eq!(channel, "general");
    message.buttons.iter().map(|b| b.command.clone()).collect()
}

#[tokio::test]
async fn a_planted_note_appears_only_in_its_authors_own_replies() {
    let bot = Bot::new().await;
    circle(&bot).await;
    let mut seen: Vec<(&str, Response)> = Vec::new();
    seen.push((
        FACILITATOR,
        bot.say(FACILITATOR, "checkin schedule group:#1 when:now").await,
    ));
    let buttons = posted_prompt(&bot).await;
    let author = MEMBERS[0];
    seen.push((author, bot.say(author, "checkin remind tell_facilitators:on").await));

    // The author answers 1 with a note; everyone else presses buttons.
    let prompt = buttons[0].rsplit_once("prompt:").unwrap().1.to_string();
    seen.push((
        author,
        bot.say(
            author,
            &format!("checkin share mood:1 note:\"{NOTE}\" group:#1 prompt:{prompt}"),
        )
        .await,
    ));
    for (i, m) in MEMBERS.iter().enumerate().skip(1) {
        seen.push((m, bot.say(m, &buttons[i]).await));
    }
    close_week(&bot);
    for who in MEMBERS.iter().chain([&FACILITATOR, &"admin"]) {
        seen.push((who, bot.say(who, "checkin history").await));
        seen.push((who, bot.say(who, "checkin summary group:#1").await));
    }
    seen.push((author, bot.say(author, "checkin history").await));

    let care: Vec<&Response> = seen
        .iter()
        .filter(|(_, r)| r.effects.iter().any(|e| matches!(e, Effect::Dm { .. })))
        .map(|(_, r)| r)
        .collect();
    assert_eq!(care.len(), 1, "the facilitator is told, once, as the author asked");
    for (who, response) in &seen {
        // Effects go to others (a channel, a facilitator): never the note.
        for effect in &response.effects {
            assert!(
                !format!("{effect:?}").contains(NOTE),
                "an effect carried the note: {effect:?}"
            );
        }
        if everything(response).contains(NOTE) {
            assert_eq!(*who, author, "{who} saw the note: {response:?}");
            assert_eq!(response.reply.as_ref().unwrap().visibility, Visibility::Private);
        }
    }
    let authors_history = text(&seen.last().unwrap().1);
    assert!(
        authors_history.contains(NOTE),
        "the author reads their own note back: {authors_history}"
    );
}

#[tokio::test]
async fn the_summary_refuses_with_four_answerers_and_works_with_five_without_identity() {
    let bot = Bot::new().await;
    circle(&bot).await;
    let buttons = posted_prompt(&bot).await;
    for (i, m) in MEMBERS.iter().take(4).enumerate() {
        bot.say(m, &buttons[i % 5]).await;
    }
    close_week(&bot);
    let four = bot.say(FACILITATOR, "checkin summary group:#1").await;
    let buttons = posted_prompt(&bot).await;
    for (i, m) in MEMBERS.iter().enumerate() {
        bot.say(m, &buttons[i]).await;
    }
    close_week(&bot);

    let five = bot.say(FACILITATOR, "checkin summary group:#1").await;
    let member = bot.say(MEMBERS[0], "checkin summary group:#1").await;

    assert!(text(&four).starts_with("Not enough check-ins"), "{}", text(&four));
    assert!(
        !text(&four).contains(" 4 "),
        "the refusal does not say how many answered"
    );
    let summary = text(&five);
    for expected in [
        "Check-ins: Grief circle, the week of Mon 23 Mar to Sun 29 Mar 2026 (UTC)",
        "1 struggling: 1",
        "2 low: 1",
        "3 okay: 1",
        "4 good: 1",
        "5 great: 1",
        "Average: 3.0",
        "Passes: 0",
        "whole past weeks only",
    ] {
        assert!(summary.contains(expected), "{expected:?} not in {summary}");
    }
    assert!(summary.contains("Not enough check-ins the week before to compare"));
    assert!(!everything(&five).contains("member-"), "{five:?}");
    assert_eq!(five.reply.unwrap().visibility, Visibility::Private);
    assert!(text(&member).starts_with("Only a facilitator of Grief circle"));
}

#[tokio::test]
async fn a_sixth_answer_changes_no_summary_until_its_week_closes() {
    let bot = Bot::new().await;
    circle(&bot).await;
    bot.say("admin", "group join group:#1").await;
    let buttons = posted_prompt(&bot).await;
    for (i, m) in MEMBERS.iter().enumerate() {
        bot.say(m, &buttons[i]).await;
    }
    let during = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);
    bot.say("admin", "checkin share mood:1 group:#1").await;
    let during_again = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);
    close_week(&bot);

    let closed = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);
    bot.say("member-foxtrot", "group join group:#1").await;
    bot.say("member-foxtrot", "checkin share mood:5 group:#1").await;
    let closed_again = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);
    close_week(&bot);
    let next = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);

    assert_eq!(
        during, during_again,
        "an open week is never shown, so a new answer changes nothing"
    );
    assert!(during.starts_with("Not enough check-ins"), "{during}");
    assert_eq!(closed, closed_again, "a closed week's summary stays as it was");
    assert!(
        closed.contains("1 struggling: 2") && closed.contains("Average: 2.7"),
        "{closed}"
    );
    assert!(
        next.starts_with("Not enough check-ins"),
        "one answer in a week is never shown: {next}"
    );
}

#[tokio::test]
async fn the_askers_own_answer_neither_counts_toward_five_nor_is_shown_to_them() {
    let bot = Bot::new().await;
    circle(&bot).await;
    bot.say("admin", "group facilitator group:#1 user:member-second action:add")
        .await;
    for m in MEMBERS.iter().take(4) {
        bot.say(m, "checkin share mood:4 group:#1").await;
    }
    bot.say(FACILITATOR, "checkin share mood:1 group:#1").await;
    close_week(&bot);

    let own = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);
    let other = text(&bot.say("member-second", "checkin summary group:#1").await);

    assert!(
        own.starts_with("Not enough check-ins"),
        "four others are not five: {own}"
    );
    assert!(
        other.contains("1 struggling: 1") && other.contains("4 good: 4"),
        "{other}"
    );
}

#[tokio::test]
async fn each_person_counts_once_a_week_with_the_mean_of_their_moods() {
    let bot = Bot::new().await;
    circle(&bot).await;
    for m in MEMBERS.iter().skip(1) {
        bot.say(m, "checkin share mood:3 group:#1").await;
    }
    for mood in ["1", "2", "pass", "1", "1"] {
        bot.say(MEMBERS[0], &format!("checkin share mood:{mood} group:#1"))
            .await;
    }
    close_week(&bot);

    let summary = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);

    assert!(
        summary.contains("1 struggling: 1"),
        "1.25 is a 1, counted once: {summary}"
    );
    assert!(
        summary.contains("3 okay: 4") && summary.contains("Passes: 0"),
        "{summary}"
    );
    assert!(summary.contains("Average: 2.6"), "(1.25 + 4 × 3) / 5: {summary}");
}

#[tokio::test]
async fn an_erased_member_leaves_closed_weeks_as_they_were() {
    let bot = Bot::new().await;
    circle(&bot).await;
    bot.say("member-foxtrot", "group join group:#1").await;
    for m in MEMBERS.iter().chain(["member-foxtrot"].iter()) {
        bot.say(m, "checkin share mood:2 group:#1").await;
    }
    bot.say(MEMBERS[0], "checkin share mood:5 group:#1").await;
    close_week(&bot);
    let before = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);

    bot.say(MEMBERS[0], "forgetme confirm:yes").await;
    let after = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);
    bot.say("member-foxtrot", "forgetme confirm:yes").await;
    let again = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);
    let named: i64 = crate::store::query_scalar(
        "SELECT COUNT(*) FROM checkins c JOIN members m ON m.id = c.member_id WHERE m.external_id IN (?, ?)",
    )
    .bind(MEMBERS[0])
    .bind("member-foxtrot")
    .fetch_one(bot.hearth.store())
    .await
    .unwrap();

    assert!(
        before.contains("4 good: 1") && before.contains("2 low: 5"),
        "3.5 is a 4: {before}"
    );
    assert_eq!(before, after, "the erased member's week stays, without them");
    assert_eq!(before, again, "and stays shown alike");
    assert_eq!(named, 0);
}

#[tokio::test]
async fn the_comparison_follows_the_same_five_answerer_rule() {
    let bot = Bot::new().await;
    circle(&bot).await;
    let buttons = posted_prompt(&bot).await;
    for m in MEMBERS {
        bot.say(m, &buttons[1]).await; // 2 low
    }
    close_week(&bot);
    let buttons = posted_prompt(&bot).await;
    for m in MEMBERS {
        bot.say(m, &buttons[3]).await; // 4 good, the week after
    }
    close_week(&bot);

    let summary = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);

    assert!(
        summary.contains("Average: 4.0; the week before: 2.0 (up 2.0)."),
        "{summary}"
    );
}

#[tokio::test]
async fn a_pass_is_recorded_as_a_pass_and_never_shown_as_a_low_mood() {
    let bot = Bot::new().await;
    circle(&bot).await;
    let buttons = posted_prompt(&bot).await;
    let pass = buttons.last().unwrap();
    assert!(pass.contains("mood:pass"));

    let ack = bot.say(MEMBERS[0], pass).await;
    for (i, m) in MEMBERS.iter().enumerate().skip(1) {
        bot.say(m, &buttons[i]).await;
    }
    bot.say("member-foxtrot", "group join group:#1").await;
    bot.say("member-foxtrot", &buttons[4]).await;
    let history = text(&bot.say(MEMBERS[0], "checkin history").await);
    close_week(&bot);
    let summary = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);

    let row: (Option<i64>,) = crate::store::query_as(
        "SELECT c.mood FROM checkins c JOIN members m ON m.id = c.member_id WHERE m.external_id = ?",
    )
    .bind(MEMBERS[0])
    .fetch_one(bot.hearth.store())
    .await
    .unwrap();
    assert_eq!(row.0, None, "a pass is stored as no mood");
    assert!(text(&ack).contains("A pass is always fine"), "{}", text(&ack));
    assert!(!text(&ack).contains("struggling") && !text(&ack).contains("crisis"));
    assert!(history.contains("○") && history.contains("· pass"), "{history}");
    assert!(
        history.contains("Last 14 days: ·············○\n"),
        "a pass is no low mood: {history}"
    );
    assert!(summary.contains("1 struggling: 0"), "{summary}");
    assert!(summary.contains("Passes: 1"), "{summary}");
}

#[tokio::test]
async fn a_mood_of_one_gets_care_and_no_one_is_told_without_consent() {
    let bot = Bot::new().await;
    circle(&bot).await;

    let quiet = bot.say(MEMBERS[0], "checkin share mood:1 group:#1").await;
    bot.say(MEMBERS[0], "checkin remind tell_facilitators:on").await;
    let told = bot.say(MEMBERS[0], "checkin share mood:1 group:#1").await;
    let bare = bot.say(MEMBERS[0], "checkin share mood:1").await;

    assert!(text(&quiet).contains("/crisis"), "{}", text(&quiet));
    assert!(text(&quiet).contains("No one else is told"));
    assert!(quiet.effects.is_empty());
    let Some(Effect::Dm { user, message, .. }) = told.effects.first() else {
        panic!("the facilitator was not told: {told:?}");
    };
    assert_eq!(user, FACILITATOR);
    assert!(message.plain("/").contains("@member-alpha checked in as struggling"));
    assert!(text(&bare).contains("counts for no group, so no facilitator was told"));
    assert!(bare.effects.is_empty());
}

#[tokio::test]
async fn history_draws_a_sparkline_and_compares_two_weeks() {
    let bot = Bot::new().await;
    let me = MEMBERS[0];
    for (day, mood) in [(0, "1"), (1, "2"), (8, "pass"), (9, "4"), (10, "5"), (13, "5")] {
        bot.clock
            .set(crate::tests::at("2026-03-01T12:00:00Z") + chrono::Duration::days(day));
        bot.say(me, &format!("checkin share mood:{mood}")).await;
    }

    let history = text(&bot.say(me, "checkin history").await);

    assert!(history.contains("Last 14 days: ▁▂······○▄▅··▅"), "{history}");
    assert!(
        history.contains("Last 7 days: average 4.7; the 7 days before: 1.5 (up 3.2)."),
        "{history}"
    );
    assert!(
        history.contains("You checked in on 6 of the last 14 days."),
        "{history}"
    );
}

/// Log lines of the whole test binary, as text.
fn log() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(|| Mutex::new(Vec::new()))
}

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn neither_the_logs_nor_any_other_row_hold_a_note() {
    // Every level, every target (sqlx's statements included), for the whole run.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(|| LogWriter)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
    let bot = Bot::new().await;
    circle(&bot).await;
    bot.say(MEMBERS[0], "checkin remind tell_facilitators:on").await;
    let buttons = posted_prompt(&bot).await;
    let prompt = buttons[0].rsplit_once("prompt:").unwrap().1.to_string();

    bot.say(
        MEMBERS[0],
        &format!("checkin share mood:1 note:\"{NOTE}\" group:#1 prompt:{prompt}"),
    )
    .await;
    bot.say(
        MEMBERS[0],
        "checkin share mood:pass note:\"also PLANTED-zebra-umbrella-note\"",
    )
    .await;
    for (i, m) in MEMBERS.iter().enumerate().skip(1) {
        bot.say(m, &buttons[i]).await;
    }
    bot.say(MEMBERS[0], "checkin history").await;
    bot.say(FACILITATOR, "checkin summary group:#1").await;

    let logged = String::from_utf8_lossy(&log().lock().unwrap()).to_string();
    assert!(logged.contains("command"), "the capture works: {logged}");
    assert!(!logged.contains("zebra-umbrella"), "a note was logged");
    // Who checked in, where and when is nobody's business either: no line
    // of Hearth's own names a member, a group or a check-in.
    for line in logged.lines().filter(|l| !l.contains("sqlx::query")) {
        for field in ["member=", "group=", "checkin=", "schedule=", "command="] {
            assert!(!line.contains(field), "{field} in a log line: {line}");
        }
    }
    let found = crate::tests::cells_holding(bot.hearth.store(), "zebra-umbrella").await;
    assert_eq!(found, vec![("checkins".to_string(), "note".to_string(), 2)]);
    let owners: Vec<String> = crate::store::query_scalar(
        "SELECT m.external_id FROM checkins c JOIN members m ON m.id = c.member_id WHERE c.note LIKE '%zebra-umbrella%'",
    )
    .fetch_all(bot.hearth.store())
    .await
    .unwrap();
    assert_eq!(owners, vec![MEMBERS[0], MEMBERS[0]]);
}

mod prompts {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::tests::{Seen, at, recording};

    /// When each delivery titled `title` went out.
    fn sent(seen: &Seen, title: &str) -> Vec<DateTime<Utc>> {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|(_, d)| match &d.effect {
                Effect::Post { message, .. } | Effect::Dm { message, .. } | Effect::Status { message, .. } => {
                    message.title.as_deref() == Some(title)
                }
                Effect::Mute { .. } => false,
            })
            .map(|(t, _)| *t)
            .collect()
    }

    #[tokio::test]
    async fn a_monthly_schedule_on_the_second_tuesday_is_said_as_the_second_tuesday() {
        let bot = Bot::new().await;
        circle(&bot).await;
        bot.say(FACILITATOR, "timezone zone:Europe/Berlin").await;

        // 14 April 2026 is the second Tuesday of its month: BYDAY=2TU.
        let scheduled = bot
            .say(
                FACILITATOR,
                r#"checkin schedule group:#1 when:"2026-04-14 19:00" repeat:monthly"#,
            )
            .await;
        let listed = bot.say(FACILITATOR, "checkin schedule group:#1 when:list").await;

        let said = "monthly on the second Tuesday at 19:00 Europe/Berlin";
        assert!(text(&scheduled).contains(said), "{}", text(&scheduled));
        assert!(text(&listed).contains(said), "{}", text(&listed));
    }

    #[tokio::test]
    async fn weekly_prompts_post_once_each_at_local_time_across_dst() {
        let bot = Bot::new().await;
        circle(&bot).await;
        bot.say(FACILITATOR, "timezone zone:Europe/Berlin").await;
        let (scheduler, seen) = recording(&bot);

        let scheduled = bot
            .say(
                FACILITATOR,
                r#"checkin schedule group:#1 when:"2026-03-19 19:00" repeat:weekly question:"How was your week?""#,
            )
            .await;
        scheduler.advance(&bot.clock, at("2026-04-03T00:00:00Z")).await.unwrap();
        scheduler.advance(&bot.clock, at("2026-04-03T00:00:00Z")).await.unwrap();

        assert!(
            text(&scheduled).contains("weekly on Thursdays at 19:00 Europe/Berlin"),
            "{}",
            text(&scheduled)
        );
        assert_eq!(
            sent(&seen, "Check-in: Grief circle"),
            vec![
                at("2026-03-19T18:00:00Z"),
                at("2026-03-26T18:00:00Z"),
                at("2026-04-02T17:00:00Z"), // CEST: still 19:00 in Berlin
            ]
        );
        let seen = seen.lock().unwrap();
        let Effect::Post { channel, message, key } = &seen[0].1.effect else {
            panic!("not a post");
        };
        assert_eq!(channel, "general");
        assert!(message.plain("/").contains("How was your week?"));
        assert_eq!(message.buttons.len(), 6);
        assert!(key.is_some(), "a stable key for the platform's idempotent send");
    }

    #[tokio::test]
    async fn a_pressed_scheduled_prompt_counts_for_its_group() {
        let bot = Bot::new().await;
        circle(&bot).await;
        let (scheduler, seen) = recording(&bot);
        bot.say(FACILITATOR, r#"checkin schedule group:#1 when:"2026-03-19 19:00""#)
            .await;
        scheduler.advance(&bot.clock, at("2026-03-19T20:00:00Z")).await.unwrap();
        let buttons: Vec<String> = {
            let seen = seen.lock().unwrap();
            let Effect::Post { message, .. } = &seen[0].1.effect else {
                panic!("not a post");
            };
            message.buttons.iter().map(|b| b.command.clone()).collect()
        };

        for m in MEMBERS {
            bot.say(m, &buttons[2]).await;
            bot.say(m, &buttons[3]).await; // a second press replaces the first
        }
        close_week(&bot);
        let late = bot.say(MEMBERS[0], &buttons[0]).await;
        let summary = text(&bot.say(FACILITATOR, "checkin summary group:#1").await);

        assert!(
            text(&late).contains("its summary is closed"),
            "a closed week's answer stays: {}",
            text(&late)
        );

        assert!(
            summary.contains("3 okay: 0") && summary.contains("4 good: 5"),
            "{summary}"
        );
    }

    #[tokio::test]
    async fn opening_check_ins_post_as_each_meeting_begins_and_follow_a_move() {
        let bot = Bot::new().await;
        circle(&bot).await;
        let (scheduler, seen) = recording(&bot);
        bot.say(
            FACILITATOR,
            r#"meeting schedule group:#1 when:"2026-03-19 19:00" repeat:weekly timezone:Europe/Berlin"#,
        )
        .await;

        let opening = bot
            .say(FACILITATOR, "checkin schedule group:#1 when:meeting_start")
            .await;
        bot.say(
            FACILITATOR,
            r#"meeting move meeting:1 occurrence:2026-03-26 when:"2026-03-26 20:00""#,
        )
        .await;
        scheduler.advance(&bot.clock, at("2026-04-03T00:00:00Z")).await.unwrap();

        assert!(
            text(&opening).contains("as each of its meetings begins"),
            "{}",
            text(&opening)
        );
        assert_eq!(
            sent(&seen, "Check-in: Grief circle"),
            vec![
                at("2026-03-19T18:00:00Z"),
                at("2026-03-26T19:00:00Z"), // moved to 20:00 Berlin
                at("2026-04-02T17:00:00Z"),
            ]
        );
    }

    #[tokio::test]
    async fn stopping_a_groups_prompts_posts_no_more() {
        let bot = Bot::new().await;
        circle(&bot).await;
        let (scheduler, seen) = recording(&bot);
        bot.say(
            FACILITATOR,
            r#"checkin schedule group:#1 when:"2026-03-19 19:00" repeat:daily"#,
        )
        .await;
        scheduler.advance(&bot.clock, at("2026-03-20T20:00:00Z")).await.unwrap();

        let stopped = bot.say(FACILITATOR, "checkin schedule group:#1 when:off").await;
        scheduler.advance(&bot.clock, at("2026-03-25T00:00:00Z")).await.unwrap();

        assert!(text(&stopped).contains("Stopped Grief circle's check-in prompts (1 schedule)."));
        assert_eq!(sent(&seen, "Check-in: Grief circle").len(), 2);
    }

    #[tokio::test]
    async fn a_daily_dm_prompt_keeps_the_members_zone_and_quiet_hours_and_off_stops_it() {
        let bot = Bot::new().await;
        let me = MEMBERS[0];
        let (scheduler, seen) = recording(&bot);
        bot.say(me, "timezone zone:America/New_York").await;

        let on = bot.say(me, "checkin remind time:07:00").await;
        // Quiet hours set after the prompt's time: a time set inside them is
        // refused (issue 23), so they come second here, and the prompt moves.
        bot.say(me, "reminders quiet:22:00-08:00").await;
        scheduler.advance(&bot.clock, at("2026-03-21T00:00:00Z")).await.unwrap();
        let prompts = sent(&seen, "Your check-in");
        let press = {
            let seen = seen.lock().unwrap();
            let Effect::Dm { user, message, .. } = &seen[0].1.effect else {
                panic!("not a DM");
            };
            assert_eq!(user, me);
            message.buttons[3].command.clone()
        };
        let pressed = bot.say(me, &press).await;
        bot.say(me, "reminders quiet:off").await;
        scheduler.advance(&bot.clock, at("2026-03-22T00:00:00Z")).await.unwrap();
        let off = bot.say(me, "checkin remind time:off").await;
        scheduler.advance(&bot.clock, at("2026-03-26T00:00:00Z")).await.unwrap();

        assert!(
            text(&on).contains("every day at 07:00, America/New_York time"),
            "{}",
            text(&on)
        );
        // 07:00 New York is in quiet hours, so it comes as they end, at 08:00 (EDT, UTC-4).
        assert_eq!(prompts, vec![at("2026-03-19T12:00:00Z"), at("2026-03-20T12:00:00Z")]);
        assert!(text(&pressed).contains("4 good") && text(&pressed).contains("no group's summary"));
        assert_eq!(
            sent(&seen, "Your check-in"),
            vec![
                at("2026-03-19T12:00:00Z"),
                at("2026-03-20T12:00:00Z"),
                at("2026-03-21T11:00:00Z"), // quiet hours off: 07:00 itself
            ]
        );
        assert!(text(&off).contains("No daily check-in prompt."));
    }
}

#[tokio::test]
async fn help_lists_every_check_in_command() {
    let bot = Bot::new().await;

    let help = text(&bot.say("member-alpha", "help").await);
    let one = text(&bot.say("member-alpha", "help checkin remind").await);

    for command in [
        "/checkin share",
        "/checkin history",
        "/checkin schedule",
        "/checkin remind",
        "/checkin summary",
    ] {
        assert!(help.contains(command), "{command} not in {help}");
    }
    assert!(one.contains("tell_facilitators (optional)"), "{one}");
}

/// How many check-ins are stored, by anyone.
async fn stored(bot: &Bot) -> i64 {
    crate::store::query_scalar("SELECT COUNT(*) FROM checkins")
        .fetch_one(bot.hearth.store())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_non_members_share_into_a_group_is_refused_and_stores_nothing() {
    let bot = Bot::new().await;
    circle(&bot).await;
    let buttons = posted_prompt(&bot).await;

    let typed = bot.say("member-stranger", "checkin share mood:1 group:#1").await;
    let pressed = bot.say("member-stranger", &buttons[0]).await;
    let asked = bot.say("member-stranger", "checkin share group:#1").await;
    let own = bot.say("member-stranger", "checkin share mood:2").await;

    for refused in [&typed, &pressed, &asked] {
        assert!(
            text(refused).starts_with("Only Grief circle's members count in its check-ins"),
            "{}",
            text(refused)
        );
        assert!(refused.effects.is_empty(), "no facilitator is paged: {refused:?}");
    }
    assert!(text(&own).contains("counts in no group's summary"), "{}", text(&own));
    assert_eq!(stored(&bot).await, 1, "only the member's own check-in");
}

#[tokio::test]
async fn words_without_a_name_never_spill_into_a_group_or_a_note() {
    let bot = Bot::new().await;
    circle(&bot).await;

    // Since issue 23 a value runs to the next option's name, so
    // `note:missing Grief circle` is one note and counts in no group; words
    // before any name, or after a one-word value, are the ones left unnamed.
    let spilled = bot
        .say(MEMBERS[0], "checkin share Grief circle mood:2 note:missing")
        .await;
    let trailing = bot.say(MEMBERS[0], "checkin share mood:2 missing Grief circle").await;
    let unquoted = bot
        .say(MEMBERS[0], "checkin share mood:2 note:missing Grief circle")
        .await;

    assert!(
        text(&spilled).contains("Put a value with spaces in quotes"),
        "{}",
        text(&spilled)
    );
    assert!(!text(&spilled).contains("missing"), "the words are not echoed back");
    assert!(text(&trailing).contains("Nothing was changed"), "{}", text(&trailing));
    assert!(!text(&trailing).contains("missing"), "the words are not echoed back");
    assert!(
        text(&unquoted).contains("counts in no group's summary"),
        "{}",
        text(&unquoted)
    );
    let rows: Vec<(Option<i64>, Option<String>)> =
        crate::store::query_as("SELECT group_id, note FROM checkins ORDER BY id")
            .fetch_all(bot.hearth.store())
            .await
            .unwrap();
    assert_eq!(rows, vec![(None, Some("missing Grief circle".to_string()))]);
}

#[tokio::test]
async fn facilitators_are_told_at_most_once_a_day() {
    let bot = Bot::new().await;
    circle(&bot).await;
    bot.say(MEMBERS[0], "checkin remind tell_facilitators:on").await;

    let first = bot.say(MEMBERS[0], "checkin share mood:1 group:#1").await;
    let again = bot.say(MEMBERS[0], "checkin share mood:1 group:#1").await;
    bot.clock.advance(chrono::Duration::hours(23));
    let later = bot.say(MEMBERS[0], "checkin share mood:1 group:#1").await;
    bot.clock.advance(chrono::Duration::hours(2));
    let next_day = bot.say(MEMBERS[0], "checkin share mood:1 group:#1").await;

    assert_eq!(first.effects.len(), 1, "{first:?}");
    assert!(again.effects.is_empty() && later.effects.is_empty());
    assert!(text(&again).contains("at most once a day"), "{}", text(&again));
    assert_eq!(next_day.effects.len(), 1, "{next_day:?}");
}

/// `who` presses or types `text` in a Matrix room of the community `!space`.
async fn on_matrix(bot: &Bot, who: &str, text: &str) -> Response {
    use crate::io::{Actor, Input, InputKind, Place};
    let invocation = crate::parse::parse_command(text).unwrap();
    bot.hearth
        .handle(&Input {
            actor: Actor {
                platform_admin: who == "@admin:x",
                ..Actor::member(who, who)
            },
            place: Place {
                platform: crate::Platform::Matrix,
                community: "!space".into(),
                channel: "!room".into(),
            },
            kind: InputKind::Command(invocation),
        })
        .await
}

#[tokio::test]
async fn on_matrix_a_group_prompt_carries_no_mood_buttons_and_the_moods_come_privately() {
    let bot = Bot::new().await;
    on_matrix(
        &bot,
        "@admin:x",
        r#"group create name:"Grief circle" topic:grief led_by:peer"#,
    )
    .await;
    on_matrix(&bot, "@ada:x", "group join group:#1").await;

    let posted = on_matrix(&bot, "@admin:x", "checkin schedule group:#1 when:now").await;
    let Some(Effect::Post { message: prompt, .. }) = posted.effects.first() else {
        panic!("no prompt posted: {posted:?}");
    };
    let pressed = on_matrix(&bot, "@ada:x", &prompt.buttons[0].command).await;
    let reply = pressed.reply.clone().unwrap();
    let key = prompt.buttons[0].command.rsplit_once("prompt:").unwrap().1.to_string();
    let moods: Vec<String> = reply.message.buttons.iter().map(|b| b.command.clone()).collect();
    let answered = on_matrix(&bot, "@ada:x", &moods[1]).await;

    assert_eq!(prompt.buttons.len(), 1, "one button, no moods: {prompt:?}");
    assert!(prompt.private_presses, "presses on it are taken back where they show");
    assert!(!prompt.plain("!").contains("note:"), "no note is invited in the room");
    assert_eq!(reply.visibility, Visibility::Private);
    assert!(reply.personal, "the mood buttons go to the member's DM");
    assert_eq!(moods.len(), 6);
    assert!(
        moods.iter().all(|m| m.ends_with(&format!("group:#1 prompt:{key}"))),
        "{moods:?}"
    );
    assert!(
        reply.message.plain("!").contains("note:"),
        "a note is written in the DM"
    );
    assert!(
        text(&answered).contains("Thank you for checking in: 2 low."),
        "{}",
        text(&answered)
    );
    assert_eq!(stored(&bot).await, 1);
}
