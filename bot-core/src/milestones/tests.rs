//! The milestone rule on its own; opting in, being said at the script's
//! milestones step, clearing, `/mydata` and `/forgetme` through the core's
//! front door (on PostgreSQL when `HEARTH_TEST_POSTGRES` names a server).

use chrono::NaiveDate;

use super::chip;
use crate::io::Effect;
use crate::message::Message;
use crate::tests::{Bot, text};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

mod rule {
    use super::*;

    /// The milestone of one who began on `began`, in the week up to `upto`.
    fn in_week_to(began: &str, upto: &str) -> Option<String> {
        let upto = day(upto);
        chip(day(began), upto - chrono::Days::new(7), upto)
    }

    #[test]
    fn the_common_milestones_fall_on_their_days_and_nothing_between() {
        let cases = [
            ("2026-03-18", "2026-03-19", Some("24 hours")),
            ("2026-02-17", "2026-03-19", Some("30 days")),
            ("2026-01-18", "2026-03-19", Some("60 days")),
            ("2025-12-19", "2026-03-19", Some("90 days")),
            ("2025-09-19", "2026-03-19", Some("6 months")),
            ("2025-06-19", "2026-03-19", Some("9 months")),
            ("2025-03-19", "2026-03-19", Some("1 year")),
            ("2016-03-15", "2026-03-19", Some("10 years")),
            ("2026-01-01", "2026-03-19", None),
            ("2025-03-01", "2026-03-19", None),
            ("2026-03-19", "2026-03-19", None),
        ];
        for (began, upto, expected) in cases {
            assert_eq!(
                in_week_to(began, upto).as_deref(),
                expected,
                "began {began}, week to {upto}"
            );
        }
    }

    #[test]
    fn the_window_leaves_out_its_first_day_so_a_milestone_said_last_time_is_not_said_again() {
        let began = day("2025-03-12");

        let last_meeting = chip(began, day("2026-03-05"), day("2026-03-12"));
        let this_meeting = chip(began, day("2026-03-12"), day("2026-03-19"));

        assert_eq!(last_meeting.as_deref(), Some("1 year"));
        assert_eq!(this_meeting, None);
    }

    #[test]
    fn a_month_from_the_31st_lands_on_the_months_last_day_and_the_greatest_milestone_is_said() {
        assert_eq!(
            chip(day("2025-08-31"), day("2026-02-27"), day("2026-02-28")).as_deref(),
            Some("6 months")
        );
        // A month's gap holds 60 and 90 days both: the greater is said.
        assert_eq!(
            chip(day("2025-12-01"), day("2026-01-25"), day("2026-03-05")).as_deref(),
            Some("90 days")
        );
    }
}

mod through_the_core {
    use super::*;

    /// Grief circle (#1) with the twelve-step template (its 4th step is the
    /// milestones), and `members` in it.
    async fn group_with(bot: &Bot, members: &[&str]) {
        bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
            .await;
        bot.say("admin", "meeting script template group:#1 template:twelve_step")
            .await;
        for m in members {
            bot.say(m, "group join group:#1").await;
        }
    }

    /// Runs the meeting to its milestones step; what the room read there.
    async fn milestones_said(bot: &Bot) -> Message {
        let mut posts = vec![bot.say("admin", "meeting start group:#1").await];
        for _ in 0..3 {
            posts.push(bot.say("admin", "meeting next group:#1").await);
        }
        posts
            .into_iter()
            .flat_map(|r| r.effects)
            .find_map(|e| match e {
                Effect::Post { message, .. } if message.title.as_deref() == Some("Grief circle · Milestones") => {
                    Some(message)
                }
                _ => None,
            })
            .expect("the milestones step posts in the room")
    }

    #[tokio::test]
    async fn those_who_opted_in_are_said_at_the_milestones_step_and_nobody_else() {
        let bot = Bot::new().await;
        group_with(&bot, &["sam", "ann", "bob", "dee"]).await;

        let set = bot
            .say("sam", "milestone set group:#1 date:2025-03-17 name:Sammy")
            .await;
        bot.say("ann", "milestone set group:#1 date:2026-02-17").await;
        // dee's next milestone (90 days) is weeks away; bob never opted in.
        bot.say("dee", "milestone set group:#1 date:2026-01-01").await;
        let outsider = bot.say("cy", "milestone set group:#1 date:2025-03-17").await;
        let said = milestones_said(&bot).await.plain("/");

        assert_eq!(
            set.reply.as_ref().map(|r| r.visibility),
            Some(crate::Visibility::Private)
        );
        assert!(text(&set).contains("is said as Sammy"), "{}", text(&set));
        assert!(
            text(&outsider).contains("Milestones are said to the group's own members"),
            "{}",
            text(&outsider)
        );
        assert!(said.contains("Sammy: 1 year"), "{said}");
        assert!(said.contains("ann: 30 days"), "{said}");
        for absent in ["bob", "dee", "cy", "sam:"] {
            assert!(!said.contains(absent), "{absent} in {said}");
        }
    }

    #[tokio::test]
    async fn without_an_opt_in_or_after_clearing_nothing_is_said_for_a_member() {
        let bot = Bot::new().await;
        group_with(&bot, &["sam", "ann"]).await;
        bot.say("sam", "milestone set group:#1 date:2025-03-17").await;
        bot.say("ann", "milestone set group:#1 date:2026-02-17").await;

        let cleared = bot.say("sam", "milestone clear group:#1").await;
        bot.say("ann", "group leave group:#1").await;
        let said = milestones_said(&bot).await.plain("/");
        let kept: i64 = crate::store::query_scalar("SELECT COUNT(*) FROM milestones")
            .fetch_one(bot.hearth.store())
            .await
            .unwrap();

        assert!(text(&cleared).contains("Cleared"), "{}", text(&cleared));
        assert!(!said.contains("sam") && !said.contains("ann"), "{said}");
        assert!(said.contains("nobody is named who hasn't chosen to be"), "{said}");
        assert_eq!(kept, 0, "clearing and leaving keep nothing");
    }

    #[tokio::test]
    async fn a_milestone_said_at_the_last_meeting_is_not_said_again_at_the_next() {
        let bot = Bot::new().await;
        group_with(&bot, &["sam", "ann"]).await;
        bot.say("sam", "milestone set group:#1 date:2025-03-17").await;
        let first = milestones_said(&bot).await.plain("/");
        bot.say("admin", "meeting end group:#1").await;
        bot.clock.advance(chrono::Duration::days(7));
        // ann's 30 days fall on 23 March, between the two meetings.
        bot.say("ann", "milestone set group:#1 date:2026-02-21").await;

        let second = milestones_said(&bot).await.plain("/");

        assert!(first.contains("sam: 1 year"), "{first}");
        assert!(!second.contains("sam"), "{second}");
        assert!(second.contains("ann: 30 days"), "{second}");
    }

    #[tokio::test]
    async fn a_date_to_come_is_refused_and_the_name_is_kept_as_text() {
        let bot = Bot::new().await;
        group_with(&bot, &["sam"]).await;

        let future = bot.say("sam", "milestone set group:#1 date:2026-04-01").await;
        let slip = bot.say("sam", "milestone set group:#1 date:1925-03-17").await;
        bot.say("sam", r#"milestone set group:#1 date:2025-03-17 name:"@everyone""#)
            .await;
        let said = milestones_said(&bot).await;

        assert!(text(&future).contains("still to come"), "{}", text(&future));
        assert!(
            text(&slip).contains("17 March 1925 is a century ago"),
            "{}",
            text(&slip)
        );
        // A plain text span: each adapter defuses @everyone/@room in text.
        assert!(said.plain("/").contains("@everyone: 1 year"));
        let mentions = said
            .lines
            .iter()
            .flat_map(|l| &l.0)
            .any(|s| matches!(s, crate::message::Span::User { .. }));
        assert!(!mentions, "{:?}", said.lines);
    }

    #[tokio::test]
    async fn mydata_shows_a_milestone_and_forgetme_erases_it() {
        let bot = Bot::new().await;
        group_with(&bot, &["sam"]).await;
        bot.say("sam", "milestone set group:#1 date:2025-03-17 name:Sammy")
            .await;

        let mine = bot.say("sam", "mydata").await;
        bot.say("sam", "forgetme confirm:yes").await;
        let kept = crate::tests::cells_holding(bot.hearth.store(), "Sammy").await;
        let said = milestones_said(&bot).await.plain("/");

        let file = mine
            .reply
            .as_ref()
            .and_then(|r| r.message.attachment.as_ref())
            .map(|a| a.content.clone())
            .unwrap_or_default();
        assert!(
            text(&mine).contains("Milestones you chose to have said at meetings: 1."),
            "{}",
            text(&mine)
        );
        assert!(file.contains(r#""began_on": "2025-03-17""#), "{file}");
        assert!(kept.is_empty(), "{kept:?}");
        assert!(!said.contains("Sammy"), "{said}");
    }
}
