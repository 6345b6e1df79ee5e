//! The step machine, the templates and the TOML on their own; the run
//! through the core's front door, on whichever store the tests run on
//! (PostgreSQL when `HEARTH_TEST_POSTGRES` names a server).

use super::state::{EXTEND_SECS, Moved, Press, Refusal, Run};
use super::steps::{self, StepKind};
use crate::io::{Effect, Visibility};
use crate::tests::{Bot, text};

mod machine {
    use super::*;

    #[test]
    fn next_back_skip_and_extend_move_the_step_and_count_its_time() {
        let mut run = Run::new(3, 0);

        let to_second = run.press(Press::Next, 300);
        let extended = run.press(Press::Extend, 310);
        let back = run.press(Press::Back, 400);
        let skip = run.press(Press::Skip, 460);

        assert_eq!(to_second, Ok(Moved::To(1)));
        assert_eq!(extended, Ok(Moved::Extended));
        assert_eq!(back, Ok(Moved::To(0)));
        assert_eq!(skip, Ok(Moved::To(1)), "skipping the first step moves to the second");
        assert_eq!(run.used, vec![360, 100, 0], "the first step's two visits add up");
        assert_eq!(run.skipped, vec![true, false, false]);
        assert_eq!(run.extra_secs, 0, "added time belongs to the step it was added to");
    }

    #[test]
    fn next_on_the_last_step_ends_the_run_and_then_nothing_moves() {
        let mut run = Run::new(2, 0);
        run.press(Press::Next, 60).unwrap();

        let ended = run.press(Press::Next, 120);
        let after = run.press(Press::Next, 130);

        assert_eq!(ended, Ok(Moved::Ended));
        assert_eq!(run.ended_at, Some(120));
        assert_eq!(after, Err(Refusal::Over));
        assert_eq!(run.used, vec![60, 60]);
    }

    #[test]
    fn back_from_the_first_step_is_refused_and_end_ends_anywhere() {
        let mut run = Run::new(4, 0);

        assert_eq!(run.press(Press::Back, 10), Err(Refusal::AtTheStart));
        assert_eq!(run.press(Press::End, 20), Ok(Moved::Ended));
        assert_eq!(run.used[0], 20);
    }

    #[test]
    fn over_time_counts_steps_done_and_this_steps_overrun_but_not_its_time_still_to_come() {
        let planned = [300, 600, 300];
        let mut run = Run::new(3, 0);
        // The first step takes 11 minutes of its 5.
        run.press(Press::Next, 660).unwrap();

        let early_in_second = run.over(&planned, 700);
        let second_overran = run.over(&planned, 660 + 700);
        run.press(Press::Extend, 660 + 700).unwrap();
        let with_two_more = run.step_over(&planned, 660 + 700);

        assert_eq!(early_in_second, 360, "six minutes over from the first step");
        assert_eq!(second_overran, 360 + 100);
        assert_eq!(with_two_more, 100 - EXTEND_SECS);
        assert_eq!(super::super::words::drift(360), "running 6 min over");
        assert_eq!(super::super::words::drift(-200), "3 min ahead");
        assert_eq!(super::super::words::drift(20), "on time");
    }
}

mod scripts {
    use super::*;

    /// Words from fellowships' literature that must never be in a template
    /// (their texts may not be reposted; a group adds its own readings).
    const LITERATURE: &[&str] = &[
        "serenity",
        "god grant",
        "higher power",
        "we admitted",
        "powerless",
        "came to believe",
        "made a decision to turn",
        "fearless and searching",
        "keep coming back",
        "it works if you work it",
        "one day at a time",
        "rarely have we seen",
        "how it works",
        "big book",
        "the promises",
        "traditions",
        "sponsor",
        "refuge",
        "four-point program",
        "dana",
    ];

    #[test]
    fn every_template_reads_and_holds_no_fellowships_literature() {
        for (name, file) in steps::TEMPLATES {
            let steps = steps::template(name)
                .unwrap()
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let lower = file.to_lowercase();
            for words in LITERATURE {
                assert!(!lower.contains(words), "{name} holds {words:?}");
            }
            assert!(steps.len() >= 5, "{name}");
            assert!(
                steps.iter().all(|s| s.link.is_none()),
                "{name}: readings are placeholders"
            );
        }
        assert_eq!(
            steps::TEMPLATES.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            crate::spec::SCRIPT_TEMPLATES
        );
    }

    #[test]
    fn a_script_written_out_reads_back_the_same_even_on_one_line() {
        let steps = steps::template("twelve_step").unwrap().unwrap();

        let written = steps::to_toml(&steps);
        let one_line = written.replace('\n', " ");

        assert_eq!(steps::from_toml(&written), Ok(steps.clone()));
        assert_eq!(steps::from_toml(&one_line), Ok(steps));
    }

    #[test]
    fn a_rounds_mute_others_is_written_out_and_read_back_and_only_a_stick_step_has_it() {
        let file = r#"steps = [{ kind = "round", title = "Check-in", minutes = 5, mute_others = true }]"#;

        let steps = steps::from_toml(file).unwrap();
        let written = steps::to_toml(&steps);
        let unmuted = steps::to_toml(&steps::template("general").unwrap().unwrap());
        let Err(steps::Bad(why)) =
            steps::from_toml(r#"steps = [{ kind = "say", title = "a", minutes = 1, mute_others = true }]"#)
        else {
            panic!("a say step with mute_others was read");
        };

        assert!(steps[0].mute_others);
        assert!(written.contains("mute_others = true"), "{written}");
        assert_eq!(steps::from_toml(&written), Ok(steps));
        assert!(!unmuted.contains("mute_others"), "{unmuted}");
        assert!(why.contains("only round and shares steps have mute_others"), "{why}");
    }

    #[test]
    fn bad_scripts_are_refused_with_what_is_wrong_and_where() {
        let cases = [
            ("steps = [", "that isn't a script I can read"),
            ("steps = []", "at least one step"),
            (
                r#"steps = [{ kind = "sing", title = "x", minutes = 1 }]"#,
                "step 1: kind must be one of say, reading",
            ),
            (
                r#"steps = [{ kind = "say", title = "a", minutes = 1 }, { kind = "say", title = "", minutes = 1 }]"#,
                "step 2: every step needs a title",
            ),
            (
                r#"steps = [{ kind = "say", title = "a", minutes = 999 }]"#,
                "minutes must be from 0 to 240",
            ),
            (
                r#"steps = [{ kind = "say", title = "a", minutes = 1, link = "https://x.org" }]"#,
                "only a reading has a link",
            ),
            (
                r#"steps = [{ kind = "reading", title = "a", minutes = 1, link = "javascript:alert(1)" }]"#,
                "a link must start with https://",
            ),
            (
                r#"steps = [{ kind = "shares", title = "a", minutes = 1, share_time = "5h" }]"#,
                "share_time must be from 30s to 60m",
            ),
            (
                r#"steps = [{ kind = "say", title = "a", minutes = 1, colour = "red" }]"#,
                "unknown field",
            ),
            (
                r#"steps = [{ kind = "round", title = "a", minutes = 1, mode = "queue" }]"#,
                "a round goes round",
            ),
        ];
        for (file, expected) in cases {
            let Err(steps::Bad(why)) = steps::from_toml(file) else {
                panic!("{file} was read");
            };
            assert!(why.contains(expected), "{file}: {why}");
        }
    }

    #[test]
    fn only_round_and_shares_run_on_the_stick() {
        let on_it: Vec<_> = StepKind::NAMES
            .iter()
            .filter_map(|n| StepKind::parse(n))
            .filter(|k| k.uses_the_stick())
            .collect();
        assert_eq!(on_it, vec![StepKind::Round, StepKind::Shares]);
        assert_eq!(StepKind::NAMES.len(), 9);
    }
}

mod through_the_core {
    use super::*;

    async fn two_groups(bot: &Bot) {
        for name in ["Grief circle", "Second group"] {
            let r = bot
                .say(
                    "admin",
                    &format!(r#"group create name:"{name}" topic:grief led_by:peer guideline:"What is said here stays here.""#),
                )
                .await;
            assert!(text(&r).contains(name), "{}", text(&r));
        }
    }

    fn attachment(r: &crate::Response) -> String {
        r.reply
            .as_ref()
            .and_then(|r| r.message.attachment.as_ref())
            .map(|a| a.content.clone())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn an_exported_script_imports_into_another_group_unchanged() {
        let bot = Bot::new().await;
        two_groups(&bot).await;
        bot.say("admin", "meeting script template group:#1 template:grief")
            .await;
        bot.say("admin", r#"meeting script edit group:#1 step:5 link:https://example.org/poem excerpt:"A line or two." credit:"A poet, 1990""#)
            .await;

        let exported = attachment(&bot.say("admin", "meeting script export group:#1").await);
        let one_line = exported.replace('\n', " ");
        let imported = bot
            .say(
                "admin",
                &format!(
                    "meeting script import group:#2 toml:\"{}\"",
                    one_line.replace('"', "\\\"")
                ),
            )
            .await;
        let again = attachment(&bot.say("admin", "meeting script export group:#2").await);

        assert!(text(&imported).contains("Imported."), "{}", text(&imported));
        assert!(exported.contains(r#"link = "https://example.org/poem""#), "{exported}");
        assert_eq!(again, exported);
    }

    #[tokio::test]
    async fn script_edit_sets_and_clears_a_rounds_mute_others_and_refuses_it_off_the_stick() {
        let bot = Bot::new().await;
        two_groups(&bot).await;
        bot.say("admin", "meeting script template group:#1 template:general")
            .await;

        let muted = bot
            .say("admin", "meeting script edit group:#1 step:3 mute_others:yes")
            .await;
        let on_a_say = bot
            .say("admin", "meeting script edit group:#1 step:1 mute_others:yes")
            .await;
        let exported = attachment(&bot.say("admin", "meeting script export group:#1").await);
        let unmuted = bot
            .say("admin", "meeting script edit group:#1 step:3 mute_others:no")
            .await;

        assert!(
            text(&muted).contains("3. Check-in (round, 10 min, round, shares of 2 min, others muted)"),
            "{}",
            text(&muted)
        );
        assert!(
            text(&on_a_say).contains("only round and shares steps have mute_others"),
            "{}",
            text(&on_a_say)
        );
        assert_eq!(exported.matches("mute_others = true").count(), 1, "{exported}");
        assert!(!text(&unmuted).contains("others muted"), "{}", text(&unmuted));
    }

    #[tokio::test]
    async fn a_bad_import_changes_nothing_and_says_what_is_wrong() {
        let bot = Bot::new().await;
        two_groups(&bot).await;
        bot.say("admin", "meeting script template group:#1 template:general")
            .await;
        let before = bot.say("admin", "meeting script show group:#1").await;

        let refused = bot
            .say(
                "admin",
                r#"meeting script import group:#1 toml:"steps = [{ kind = 'dance', title = 'x', minutes = 1 }]""#,
            )
            .await;
        let after = bot.say("admin", "meeting script show group:#1").await;

        assert!(
            text(&refused).contains("Nothing was changed: step 1: kind must be one of"),
            "{}",
            text(&refused)
        );
        assert_eq!(text(&before), text(&after));
    }

    #[tokio::test]
    async fn a_member_cannot_press_the_chairs_buttons_and_the_panel_is_the_chairs_alone() {
        let bot = Bot::new().await;
        two_groups(&bot).await;
        bot.say("admin", "group facilitator group:#1 user:fay action:add").await;
        bot.say("admin", "meeting script template group:#1 template:general")
            .await;

        let started = bot.say("fay", "meeting start group:#1").await;
        let pressed_by_member = bot.say("mo", "meeting next group:#1").await;
        let pressed_by_admin = bot.say("admin", "meeting next group:#1").await;

        let panel = started.reply.as_ref().unwrap();
        assert_eq!(panel.visibility, Visibility::Private);
        assert!(panel.personal, "on Matrix, the panel goes to the chair's DM");
        assert!(
            panel.message.plain("/").contains("Welcome (say)"),
            "{}",
            panel.message.plain("/")
        );
        assert!(
            panel
                .message
                .buttons
                .iter()
                .any(|b| b.command == "meeting next group:#1")
        );
        assert!(
            text(&pressed_by_member).contains("Only the meeting's chair, or a facilitator of Grief circle"),
            "{}",
            text(&pressed_by_member)
        );
        let dm_to_fay = pressed_by_admin.effects.iter().any(
            |e| matches!(e, Effect::Dm { user, message, .. } if user == "fay" && message.plain("/").contains("Our guidelines")),
        );
        assert!(dm_to_fay, "{:?}", pressed_by_admin.effects);
        assert!(
            !text(&pressed_by_admin).contains("Our guidelines (guidelines)"),
            "the panel is the chair's alone"
        );
    }

    #[tokio::test]
    async fn a_rebuilt_hearth_on_the_same_store_continues_the_run_where_it_was() {
        let bot = Bot::new().await;
        two_groups(&bot).await;
        bot.say("admin", "meeting script template group:#1 template:general")
            .await;
        bot.say("admin", "meeting start group:#1").await;
        bot.clock.advance(chrono::Duration::minutes(5));
        bot.say("admin", "meeting next group:#1").await;
        bot.clock.advance(chrono::Duration::minutes(4));

        let restarted = Bot::on(bot.hearth.store().clone()).await;
        restarted.clock.set(crate::Clock::now(&bot.clock));
        let extended = restarted.say("admin", "meeting extend group:#1").await;
        let next = restarted.say("admin", "meeting next group:#1").await;

        let panel = text(&extended);
        assert!(panel.contains("step 2 of 9"), "{panel}");
        assert!(panel.contains("Time: 4 min used of 2 min + 2 min added"), "{panel}");
        assert!(panel.contains("Meeting: running 2 min over"), "{panel}");
        assert!(text(&next).contains("Check-in (round)"), "{}", text(&next));
        let circle_began = next
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Post { message, .. } if message.title.as_deref() == Some("Talking circle")));
        assert!(circle_began, "{:?}", next.effects);
        let runs: Vec<(i64, i64)> = crate::store::query_as("SELECT step, extra_secs FROM meeting_runs")
            .fetch_all(restarted.hearth.store())
            .await
            .unwrap();
        assert_eq!(runs, vec![(2, 0)]);
    }

    #[tokio::test]
    async fn mydata_names_the_meetings_one_chaired_and_forgetme_leaves_the_run_without_its_chair() {
        let bot = Bot::new().await;
        two_groups(&bot).await;
        bot.say("admin", "group facilitator group:#1 user:fay action:add").await;
        bot.say("admin", "meeting script template group:#1 template:smart")
            .await;
        bot.say("fay", "meeting start group:#1").await;

        let mine = bot.say("fay", "mydata").await;
        bot.say("fay", "forgetme confirm:yes").await;
        let chairs: Vec<(Option<i64>,)> = crate::store::query_as("SELECT chair_member_id FROM meeting_runs")
            .fetch_all(bot.hearth.store())
            .await
            .unwrap();
        let next = bot.say("admin", "meeting next group:#1").await;

        assert!(text(&mine).contains("Meetings you chaired: 1."), "{}", text(&mine));
        assert!(
            attachment(&mine).contains(r#""group": "Grief circle""#),
            "{}",
            attachment(&mine)
        );
        assert_eq!(chairs, vec![(None,)]);
        assert!(
            text(&next).contains("step 2 of 8"),
            "a facilitator goes on: {}",
            text(&next)
        );
    }

    #[test]
    fn every_panel_button_has_its_own_emoji_for_matrix_reactions() {
        let steps = steps::template("general").unwrap().unwrap();
        let panel = super::super::words::panel((1, "G"), &steps, &Run::new(steps.len(), 0), 0);

        let mut emojis: Vec<_> = panel.buttons.iter().map(|b| b.emoji).collect();
        emojis.sort_unstable();
        emojis.dedup();

        assert_eq!(emojis.len(), panel.buttons.len());
    }

    #[tokio::test]
    async fn a_meeting_started_near_its_scheduled_time_records_the_series_and_occurrence() {
        let bot = Bot::new().await;
        two_groups(&bot).await;
        bot.say("admin", "meeting script template group:#1 template:general")
            .await;
        crate::tests::one_meeting_on_21_march(&bot).await;
        bot.clock.set(crate::tests::at("2026-03-21T18:55:00Z"));

        bot.say("admin", "meeting start group:#1").await;

        let runs: Vec<(Option<i64>, Option<i64>, i64)> =
            crate::store::query_as("SELECT meeting_id, occurrence, started_at FROM meeting_runs")
                .fetch_all(bot.hearth.store())
                .await
                .unwrap();
        let at = crate::tests::at("2026-03-21T19:00:00Z").timestamp();
        assert_eq!(runs, vec![(Some(1), Some(at), at - 300)]);
    }

    #[tokio::test]
    async fn a_step_whose_stick_cannot_start_still_moves_on_and_the_chair_is_told_why() {
        let bot = Bot::new().await;
        two_groups(&bot).await;
        bot.say("admin", "meeting script template group:#1 template:general")
            .await;
        bot.say("admin", "meeting start group:#1").await;
        bot.say("admin", "meeting next group:#1").await;
        bot.say("admin", "circle start").await;

        let next = bot.say("admin", "meeting next group:#1").await;

        let panel = text(&next);
        assert!(panel.contains("step 3 of 9"), "{panel}");
        assert!(
            panel.contains("The talking stick did not start:\nA circle is already running here"),
            "{panel}"
        );
    }
}
