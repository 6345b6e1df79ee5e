//! The talking stick through the core's front door.

use crate::io::{Actor, Effect, Input, InputKind, Place, Platform, PresenceChange, Visibility};
use crate::tests::{Bot, text};

/// The status message the response posts or edits, as plain text.
fn status(r: &crate::Response) -> String {
    r.effects
        .iter()
        .find_map(|e| match e {
            Effect::Status { message, .. } => Some(message.plain("/")),
            _ => None,
        })
        .unwrap_or_default()
}

fn private(r: &crate::Response) -> bool {
    r.reply.as_ref().is_some_and(|r| r.visibility == Visibility::Private)
}

#[tokio::test]
async fn a_round_goes_around_and_a_pass_is_met_kindly() {
    let bot = Bot::new().await;
    let started = bot.say("admin", "circle start").await;
    bot.say("sam", "circle join").await;
    bot.say("kim", "circle join").await;

    // admin speaks a minute (a share); sam passes at once (a pass).
    bot.clock.advance(chrono::Duration::seconds(60));
    let to_sam = bot.say("admin", "circle next").await;
    let sam_passes = bot.say("sam", "circle pass").await;

    assert!(
        text(&started).contains("A talking circle has begun."),
        "{}",
        text(&started)
    );
    assert!(
        status(&started).contains("@admin has the stick."),
        "{}",
        status(&started)
    );
    assert!(
        text(&to_sam).contains("Thank you, admin.\n@sam has the stick."),
        "{}",
        text(&to_sam)
    );
    assert!(text(&sam_passes).contains("sam passed — that's always okay.\n@kim has the stick."));
    let Some(Effect::Status { message, edit, .. }) = sam_passes.effects.first() else {
        panic!("the status is edited")
    };
    assert_eq!(message.pings, vec!["kim".to_string()]);
    assert!(edit.is_none(), "no adapter told the core its id");
    assert!(
        private(&sam_passes),
        "the room reads the status; the reply is the passer's"
    );
}

#[tokio::test]
async fn a_turn_counts_as_it_was_lived_whichever_button_ends_it() {
    let bot = Bot::new().await;
    bot.say("admin", "circle start").await;
    bot.say("sam", "circle join").await;
    bot.say("kim", "circle join").await;

    // admin passes at once: a pass, though "next" was pressed.
    let admin_on = bot.say("admin", "circle next").await;
    // sam speaks five minutes, then presses pass: a share.
    bot.clock.advance(chrono::Duration::minutes(5));
    let sam_on = bot.say("sam", "circle pass").await;
    bot.clock.advance(chrono::Duration::minutes(1));
    bot.say("kim", "circle next").await;
    let ended = bot.say("admin", "circle end").await;

    assert!(
        text(&admin_on).contains("admin passed — that's always okay."),
        "{}",
        text(&admin_on)
    );
    assert!(text(&sam_on).contains("Thank you, sam."), "{}", text(&sam_on));
    let summary = text(&ended);
    assert!(summary.contains("admin: 0 shares, 1 pass"), "{summary}");
    assert!(summary.contains("sam: 1 share, 0 passes, 5:00 speaking"), "{summary}");
    assert!(summary.contains("kim: 1 share, 0 passes"), "{summary}");
}

#[tokio::test]
async fn member_cannot_end_switch_mode_or_skip_others() {
    let bot = Bot::new().await;
    bot.say("admin", "circle start").await;
    bot.say("sam", "circle join").await;

    let end = bot.say("sam", "circle end").await;
    let mode = bot.say("sam", "circle mode mode:queue").await;
    let skip = bot.say("sam", "circle next").await;
    let start = bot.say("sam", "circle start").await;
    let asked = bot.say("sam", "circle status").await;

    assert!(private(&end) && text(&end).contains("Only a facilitator or a community admin can use /circle end."));
    assert!(text(&mode).contains("Only a facilitator or a community admin can use /circle mode."));
    assert!(text(&skip).contains("Only the one holding the stick, or a facilitator, can hand it on."));
    assert!(text(&start).contains("Only a facilitator"));
    assert!(text(&asked).contains("Holding the stick: admin"), "{}", text(&asked));
}

#[tokio::test]
async fn a_groups_facilitator_steers_its_circle() {
    let bot = Bot::new().await;
    bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    bot.say("admin", r#"group facilitator group:"Grief circle" user:fay action:add"#)
        .await;
    let started = bot.say("fay", r#"circle start group:"Grief circle" mode:queue"#).await;
    bot.say("sam", "hand raise").await;

    let mode = bot.say("fay", "circle mode mode:balanced").await;
    let ended = bot.say("fay", "circle end").await;

    assert!(!private(&started), "{}", text(&started));
    assert!(text(&mode).contains("Now in balanced mode."), "{}", text(&mode));
    assert!(private(&ended));
}

#[tokio::test]
async fn the_summary_goes_to_the_facilitator_alone_and_the_room_hears_thanks() {
    let bot = Bot::new().await;
    bot.say("admin", "circle start share_time:3m").await;
    bot.say("sam", "circle join").await;
    bot.clock.advance(chrono::Duration::seconds(90));
    bot.say("admin", "circle next").await;
    bot.clock.advance(chrono::Duration::seconds(30));
    bot.say("sam", "circle pass").await;

    let ended = bot.say("admin", "circle end").await;
    let after = bot.say("sam", "circle status").await;

    // Issue 30, on purpose: sam held the stick 30 s before pressing pass, so
    // that was a share; the end that cut admin's new turn off at once is
    // neither (issue 5 counted them as a pass and a share).
    let summary = text(&ended);
    assert!(private(&ended));
    assert!(summary.contains("2 people: 2 shares, 0 passes."), "{summary}");
    assert!(summary.contains("admin: 1 share, 0 passes, 1:30 speaking"), "{summary}");
    assert!(summary.contains("sam: 1 share, 0 passes, 0:30 speaking"), "{summary}");
    let Some(Effect::Post { message, .. }) = ended.effects.first() else {
        panic!("no thanks posted")
    };
    assert!(message.plain("/").contains("The circle has ended. Thank you all"));
    assert!(text(&after).contains("There's no circle running here."));
}

#[tokio::test]
async fn voice_presence_starts_a_circle_with_those_present_and_moves_the_stick_when_they_leave() {
    let bot = Bot::new().await;
    let voice = |who: &str, present: bool| Input {
        actor: Actor::member(who, who),
        place: Place {
            platform: Platform::Console,
            community: "local".into(),
            channel: "voice".into(),
        },
        kind: InputKind::Presence(PresenceChange {
            channel: "voice".into(),
            present,
            until: None,
        }),
    };
    bot.hearth.handle(&voice("admin", true)).await;
    bot.hearth.handle(&voice("sam", true)).await;

    let started = bot.say("admin", "circle start").await;
    bot.hearth.handle(&voice("kim", true)).await;
    let admin_leaves = bot.hearth.handle(&voice("admin", false)).await;
    let now = bot.say("kim", "circle status").await;

    assert!(status(&started).contains("2 people"), "{}", status(&started));
    let Some(Effect::Status { channel, message, .. }) = admin_leaves.effects.first() else {
        panic!("the room is told the stick moved")
    };
    assert_eq!(channel, "general");
    assert!(
        message
            .plain("/")
            .contains("admin left; the stick moves on.\n@sam has the stick.")
    );
    assert!(text(&now).contains("Holding the stick: sam"), "{}", text(&now));
    assert!(text(&now).contains("Next: kim"), "{}", text(&now));
}

mod timer {
    use std::sync::{Arc, Mutex};

    use chrono::Duration;

    use super::*;
    use crate::scheduler::FnOutbox;
    use crate::{Delivery, Outbox, Scheduler};

    type Seen = Arc<Mutex<Vec<(i64, String)>>>;

    /// A scheduler whose console outbox records (seconds since start, text).
    fn recording(bot: &Bot) -> (Scheduler, Seen) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let clock = bot.clock.clone();
        let start = crate::Clock::now(&clock);
        let outbox: Arc<dyn Outbox> = Arc::new(FnOutbox::new(Platform::Console, move |d: &Delivery| {
            let Effect::Post { message, .. } = &d.effect else {
                return Ok(());
            };
            let at = (crate::Clock::now(&clock) - start).num_seconds();
            sink.lock().unwrap().push((at, message.plain("/")));
            Ok(())
        }));
        (Scheduler::new(bot.hearth.clone(), vec![outbox]), seen)
    }

    #[tokio::test]
    async fn a_call_membership_that_lapses_leaves_the_circle_at_its_end_unless_renewed() {
        let bot = Bot::new().await;
        let statuses: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = statuses.clone();
        let outbox: Arc<dyn Outbox> = Arc::new(FnOutbox::new(Platform::Console, move |d: &Delivery| {
            if let Effect::Status { message, .. } = &d.effect {
                sink.lock().unwrap().push(message.plain("/"));
            }
            Ok(())
        }));
        let scheduler = Scheduler::new(bot.hearth.clone(), vec![outbox]);
        let start = crate::Clock::now(&bot.clock);
        let call = |who: &str, until: Option<i64>| Input {
            actor: Actor::member(who, who),
            place: Place {
                platform: Platform::Console,
                community: "local".into(),
                channel: "call".into(),
            },
            kind: InputKind::Presence(PresenceChange {
                channel: "call".into(),
                present: true,
                until: until.map(|s| start + Duration::seconds(s)),
            }),
        };
        bot.hearth.handle(&call("admin", None)).await;
        bot.hearth.handle(&call("sam", Some(60))).await;
        bot.hearth.handle(&call("kim", Some(60))).await;
        bot.say("admin", "circle start").await;
        // Kim's client renews her membership before it lapses; Sam's goes quiet.
        bot.clock.advance(Duration::seconds(30));
        bot.hearth.handle(&call("kim", Some(120))).await;

        scheduler
            .advance(&bot.clock, start + Duration::seconds(90))
            .await
            .unwrap();
        let at_90 = bot.say("admin", "circle status").await;
        scheduler
            .advance(&bot.clock, start + Duration::seconds(150))
            .await
            .unwrap();
        let at_150 = bot.say("admin", "circle status").await;

        assert!(
            text(&at_90).contains("2 people"),
            "sam lapsed, kim renewed: {}",
            text(&at_90)
        );
        assert!(!text(&at_90).contains("sam"), "{}", text(&at_90));
        assert!(text(&at_150).contains("1 person"), "{}", text(&at_150));
        let statuses = statuses.lock().unwrap().clone();
        assert_eq!(statuses.len(), 2, "one status edit per lapse: {statuses:?}");
        assert!(statuses[0].contains("2 people"), "{statuses:?}");
        assert!(statuses[1].contains("1 person"), "{statuses:?}");
    }

    #[tokio::test]
    async fn a_share_gets_a_gentle_notice_before_its_end_and_one_at_the_end_once_each() {
        let bot = Bot::new().await;
        let (scheduler, seen) = recording(&bot);
        bot.say("admin", "circle start share_time:2m").await;
        bot.say("sam", "circle join").await;

        let target = crate::Clock::now(&bot.clock) + Duration::minutes(5);
        scheduler.advance(&bot.clock, target).await.unwrap();

        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].0, 90);
        assert!(seen[0].1.contains("@admin, about 30 s left — no rush"), "{seen:?}");
        assert_eq!(seen[1].0, 120);
        assert!(seen[1].1.contains("@admin, your share time is up."), "{seen:?}");
        assert!(text(&bot.say("sam", "circle status").await).contains("Holding the stick: admin (time is up)"));
    }

    #[tokio::test]
    async fn a_handed_on_stick_takes_its_timer_with_it_and_auto_advance_moves_it() {
        let bot = Bot::new().await;
        let (scheduler, seen) = recording(&bot);
        bot.say("admin", "circle start share_time:1m auto_advance:yes").await;
        bot.say("sam", "circle join").await;
        bot.clock.advance(Duration::seconds(10));
        bot.say("admin", "circle next").await;

        let target = crate::Clock::now(&bot.clock) + Duration::seconds(65);
        scheduler.advance(&bot.clock, target).await.unwrap();

        let seen = seen.lock().unwrap().clone();
        let texts: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            seen.iter().map(|(at, _)| *at).collect::<Vec<_>>(),
            vec![40, 70],
            "{texts:?}"
        );
        assert!(texts[0].contains("@sam, about 30 s left"), "{texts:?}");
        assert!(
            texts[1].contains("@sam, your share time is up.\nThank you, sam.\n@admin has the stick."),
            "{texts:?}"
        );
        assert!(text(&bot.say("sam", "circle status").await).contains("Holding the stick: admin (0:55 left)"));
    }
}

#[tokio::test]
async fn once_its_id_is_known_the_status_is_edited_not_posted_again() {
    let bot = Bot::new().await;
    let started = bot.say("admin", "circle start").await;
    let Some(Effect::Status { key, edit: None, .. }) = started.effects.first() else {
        panic!("the first status is a new post")
    };
    bot.hearth.status_posted(key, "m1").await.unwrap();

    let joined = bot.say("sam", "circle join").await;
    let ended = bot.say("admin", "circle end").await;

    assert!(matches!(joined.effects.first(), Some(Effect::Status { edit: Some(id), .. }) if id == "m1"));
    assert!(status(&joined).contains("sam joined the circle.") || status(&joined).contains("2 people"));
    let last = ended.effects.iter().find_map(|e| match e {
        Effect::Status { message, edit, .. } => Some((message.plain("/"), edit.clone())),
        _ => None,
    });
    assert_eq!(
        last,
        Some((
            "Talking circle\nThis circle has ended.".to_string(),
            Some("m1".to_string())
        ))
    );
}

/// On Discord, in guild `g`: `who` types `text` in #text. Ada is the
/// community's admin and holds Mute Members; the rest are plain members.
fn on_discord(who: &str, text: &str) -> Input {
    Input {
        actor: Actor {
            platform_admin: who == "ada",
            may_mute: who == "ada",
            ..Actor::member(who, who)
        },
        place: Place {
            platform: Platform::Discord,
            community: "g".into(),
            channel: "text".into(),
        },
        kind: InputKind::Command(crate::parse::parse_command(text).unwrap()),
    }
}

/// On Discord, in guild `g`: `who` is in voice channel `channel` now (or
/// leaves it, or with `""` leaves wherever they were); `may_mute`: Discord
/// lets them mute others there.
fn in_voice(who: &str, channel: &str, present: bool, may_mute: bool) -> Input {
    Input {
        actor: Actor {
            may_mute,
            ..Actor::member(who, who)
        },
        place: Place {
            platform: Platform::Discord,
            community: "g".into(),
            channel: channel.into(),
        },
        kind: InputKind::Presence(PresenceChange {
            channel: channel.into(),
            present,
            until: None,
        }),
    }
}

/// The mutes and unmutes a response asks for: (user, mute).
fn mutes(r: &crate::Response) -> Vec<(String, bool)> {
    r.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Mute { user, mute, .. } => Some((user.clone(), *mute)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn moving_to_another_voice_channel_leaves_the_circle_and_a_bare_leave_leaves_wherever_one_was() {
    let bot = Bot::new().await;
    bot.hearth.handle(&in_voice("ada", "v1", true, true)).await;
    bot.hearth.handle(&in_voice("bo", "v1", true, false)).await;
    bot.hearth.handle(&in_voice("cy", "v1", true, false)).await;
    bot.hearth.handle(&on_discord("ada", "circle start")).await;

    bot.hearth.handle(&in_voice("bo", "v2", true, false)).await;
    bot.hearth.handle(&in_voice("cy", "", false, false)).await;
    let status = bot.hearth.handle(&on_discord("ada", "circle status")).await;

    assert!(text(&status).contains("1 person"), "{}", text(&status));
}

#[tokio::test]
async fn with_muting_on_auto_advance_is_off_and_mutes_follow_the_stick() {
    let bot = Bot::new().await;
    bot.hearth.handle(&in_voice("ada", "v1", true, true)).await;

    let started = bot
        .hearth
        .handle(&on_discord(
            "ada",
            "circle start share_time:1m auto_advance:yes mute_others:yes",
        ))
        .await;
    let joined = bot.hearth.handle(&in_voice("bo", "v1", true, false)).await;
    let next = bot.hearth.handle(&on_discord("ada", "circle next")).await;

    assert!(
        text(&started).contains("moves on only when handed on"),
        "{}",
        text(&started)
    );
    assert_eq!(
        mutes(&joined),
        [("bo".to_string(), true)],
        "the facilitator holds; bo is muted"
    );
    assert_eq!(mutes(&next), [("bo".to_string(), false)], "the new holder is unmuted");
    let still = bot.hearth.handle(&on_discord("bo", "circle status")).await;
    assert!(text(&still).contains("Holding the stick: bo"));
    let console = bot.say("admin", "circle start mute_others:yes").await;
    assert!(text(&console).contains("Muting others works on Discord only"));
}

#[tokio::test]
async fn a_groups_facilitators_keep_their_voice_when_others_are_muted() {
    let bot = Bot::new().await;
    bot.hearth
        .handle(&on_discord(
            "ada",
            r#"group create name:"Grief circle" topic:grief led_by:peer"#,
        ))
        .await;
    bot.hearth
        .handle(&on_discord("ada", "group facilitator group:#1 user:fay action:add"))
        .await;
    bot.hearth.handle(&in_voice("ada", "v1", true, true)).await;

    bot.hearth
        .handle(&on_discord("ada", "circle start group:#1 mute_others:yes"))
        .await;
    let fay = bot.hearth.handle(&in_voice("fay", "v1", true, false)).await;
    let bo = bot.hearth.handle(&in_voice("bo", "v1", true, false)).await;

    assert!(
        mutes(&fay).is_empty(),
        "a co-facilitator is not muted: {:?}",
        mutes(&fay)
    );
    assert_eq!(mutes(&bo), [("bo".to_string(), true)]);
}

#[tokio::test]
async fn a_confirmed_suppress_is_undone_as_one_and_ends_when_its_person_leaves_the_stage() {
    use crate::io::MuteReport;
    let bot = Bot::new().await;
    let release = || async {
        let mut found: Vec<(String, Option<bool>)> = bot
            .hearth
            .mutes_to_release(Platform::Discord)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| match e {
                Effect::Mute {
                    user,
                    mute: false,
                    stage,
                    ..
                } => Some((user, stage)),
                _ => None,
            })
            .collect();
        found.sort();
        found
    };
    bot.hearth.handle(&in_voice("ada", "v1", true, true)).await;
    bot.hearth
        .handle(&on_discord("ada", "circle start mute_others:yes"))
        .await;
    let bo = bot.hearth.handle(&in_voice("bo", "v1", true, false)).await;
    let cy = bot.hearth.handle(&in_voice("cy", "v1", true, false)).await;
    let asked: Vec<Option<bool>> = bo
        .effects
        .iter()
        .chain(&cy.effects)
        .filter_map(|e| match e {
            Effect::Mute { stage, .. } => Some(*stage),
            _ => None,
        })
        .collect();

    // bo's suppress on a stage took; cy's server mute took before a crash.
    bot.hearth
        .muted("g", "bo", true, true, MuteReport::Applied)
        .await
        .unwrap();
    bot.hearth
        .muted("g", "cy", true, false, MuteReport::Applied)
        .await
        .unwrap();
    let after_crash = release().await;
    // Off the stage, bo's suppress is over; cy's server mute waits for cy.
    bot.hearth
        .muted("g", "bo", false, true, MuteReport::NotInVoice)
        .await
        .unwrap();
    bot.hearth
        .muted("g", "cy", false, false, MuteReport::NotInVoice)
        .await
        .unwrap();

    assert_eq!(asked, [None, None], "the adapter knows the channel");
    assert_eq!(
        after_crash,
        [("bo".to_string(), Some(true)), ("cy".to_string(), None)],
        "a confirmed suppress is undone by an unsuppress"
    );
    assert_eq!(release().await, [("cy".to_string(), None)]);
}

#[tokio::test]
async fn an_unmute_asked_for_and_not_yet_reported_is_not_asked_for_again() {
    use crate::io::MuteReport;
    let bot = Bot::new().await;
    bot.hearth.handle(&in_voice("ada", "v1", true, true)).await;
    bot.hearth
        .handle(&on_discord("ada", "circle start mute_others:yes"))
        .await;
    bot.hearth.handle(&in_voice("bo", "v1", true, false)).await;
    bot.hearth
        .muted("g", "bo", true, false, MuteReport::Applied)
        .await
        .unwrap();

    // The stick goes to bo: his unmute is asked for; cy joins before it is reported.
    let next = bot.hearth.handle(&on_discord("ada", "circle next")).await;
    let cy = bot.hearth.handle(&in_voice("cy", "v1", true, false)).await;

    assert_eq!(mutes(&next), [("bo".to_string(), false)]);
    assert_eq!(
        mutes(&cy),
        [("cy".to_string(), true)],
        "bo's unmute is not asked for twice"
    );
}

#[tokio::test]
async fn mute_others_needs_a_voice_channel_and_mute_members_there() {
    let bot = Bot::new().await;
    bot.hearth
        .handle(&on_discord("ada", "group create name:Grief topic:grief led_by:peer"))
        .await;
    bot.hearth
        .handle(&on_discord("ada", "group facilitator group:#1 user:fay action:add"))
        .await;
    bot.hearth.handle(&in_voice("fay", "staff", true, false)).await;

    let from_text = bot
        .hearth
        .handle(&on_discord("ada", "circle start mute_others:yes"))
        .await;
    let without_permission = bot
        .hearth
        .handle(&on_discord("fay", "circle start group:#1 mute_others:yes"))
        .await;
    let without_muting = bot.hearth.handle(&on_discord("fay", "circle start group:#1")).await;

    assert!(
        text(&from_text).contains("mute_others works only in a voice or stage channel"),
        "{}",
        text(&from_text)
    );
    assert!(
        text(&without_permission).contains("needs Discord's Mute Members permission in your voice channel"),
        "{}",
        text(&without_permission)
    );
    assert!(mutes(&without_permission).is_empty());
    assert!(
        text(&without_muting).contains("A talking circle has begun."),
        "{}",
        text(&without_muting)
    );
    assert!(mutes(&without_muting).is_empty(), "nobody in the staff call is muted");
}

#[tokio::test]
async fn the_bot_mutes_nobody_who_may_mute_and_nobody_outside_the_circles_channel() {
    let bot = Bot::new().await;
    bot.hearth.handle(&in_voice("ada", "v1", true, true)).await;
    bot.hearth.handle(&in_voice("mod", "v1", true, true)).await;
    bot.hearth.handle(&in_voice("bo", "v1", true, false)).await;
    bot.hearth.handle(&in_voice("cy", "v2", true, false)).await;

    let started = bot
        .hearth
        .handle(&on_discord("ada", "circle start mute_others:yes"))
        .await;
    let cy_joins = bot.hearth.handle(&on_discord("cy", "circle join")).await;
    let bo_moves = bot.hearth.handle(&in_voice("bo", "v2", true, false)).await;

    assert_eq!(mutes(&started), [("bo".to_string(), true)], "not the moderator");
    assert!(
        text(&cy_joins).contains("This circle runs in a voice channel or call"),
        "{}",
        text(&cy_joins)
    );
    assert!(
        mutes(&cy_joins).is_empty(),
        "cy, in another voice channel, is not muted"
    );
    assert_eq!(
        mutes(&bo_moves),
        [("bo".to_string(), false)],
        "leaving the circle's channel unmutes"
    );
}

#[tokio::test]
async fn two_circles_started_from_one_channel_are_each_addressed_by_their_number() {
    let bot = Bot::new().await;
    bot.hearth.handle(&in_voice("ada", "v1", true, true)).await;
    bot.hearth.handle(&in_voice("bo", "v1", true, false)).await;
    bot.hearth.handle(&in_voice("eve", "v2", true, true)).await;
    bot.hearth.handle(&in_voice("cy", "v2", true, false)).await;
    let first = bot.hearth.handle(&on_discord("ada", "circle start")).await;
    let eve = |text: &str| Input {
        actor: Actor {
            platform_admin: true,
            ..Actor::member("eve", "eve")
        },
        ..on_discord("eve", text)
    };
    let second = bot.hearth.handle(&eve("circle start")).await;
    let buttons = |r: &crate::Response| -> Vec<String> {
        r.effects
            .iter()
            .find_map(|e| match e {
                Effect::Status { message, .. } => Some(message.buttons.iter().map(|b| b.command.clone()).collect()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let next_of_second = buttons(&second)
        .into_iter()
        .find(|c| c.starts_with("circle next"))
        .unwrap();

    let pressed = bot.hearth.handle(&eve(&next_of_second)).await;
    let asked = bot.hearth.handle(&on_discord("dee", "circle status")).await;
    let bo_asks = bot.hearth.handle(&on_discord("bo", "circle status")).await;
    let cy_asks = bot.hearth.handle(&on_discord("cy", "circle status")).await;

    assert_eq!(next_of_second, "circle next circle:2");
    assert!(buttons(&first).contains(&"circle next circle:1".to_string()));
    assert!(status(&pressed).contains("@cy has the stick."), "{}", status(&pressed));
    assert!(
        text(&asked).contains("Several circles run here: #1, #2. Say which with circle:"),
        "{}",
        text(&asked)
    );
    assert!(text(&bo_asks).contains("Holding the stick: ada"), "{}", text(&bo_asks));
    assert!(text(&cy_asks).contains("Holding the stick: cy"), "{}", text(&cy_asks));
    let gone = bot.hearth.handle(&on_discord("bo", "circle status circle:9")).await;
    assert!(
        text(&gone).contains("No circle with that number is running"),
        "{}",
        text(&gone)
    );
}

#[tokio::test]
async fn a_community_admin_starts_a_circle_with_no_group_named() {
    let bot = Bot::new().await;

    let started = bot.say("admin", "circle start").await;

    assert!(
        text(&started).contains("A talking circle has begun."),
        "{}",
        text(&started)
    );
}

/// The circle's tables through the circle's own SQL alone (the rows it needs
/// put in directly), so this runs on PostgreSQL as well
/// (`HEARTH_TEST_POSTGRES`): flags, presence order, mutes and their records.
#[tokio::test]
async fn the_circle_tables_read_and_write_alike_on_either_database() {
    use super::db::{self, NewCircle};
    use super::mutes;
    use super::state::{Mode, Participant};
    use crate::io::MuteReport;

    let store = crate::Store::for_test().await.unwrap();
    for sql in [
        "INSERT INTO communities (id, platform, external_id, timezone) VALUES (1, 'console', 'local', 'UTC')",
        "INSERT INTO members (id, platform, external_id, display_name) VALUES (1, 'console', 'admin', 'Admin')",
        "INSERT INTO members (id, platform, external_id, display_name) VALUES (2, 'console', 'sam', 'Sam')",
        "INSERT INTO members (id, platform, external_id, display_name) VALUES (3, 'console', 'kim', 'Kim')",
        "INSERT INTO members (id, platform, external_id, display_name) VALUES (4, 'console', 'lee', 'Lee')",
        "INSERT INTO groups (id, community_id, name, name_key, topic, led_by, format, home_channel, guideline)
             VALUES (1, 1, 'Grief circle', 'grief circle', 'grief', 'peer', 'online', 'general', 'Be kind')",
        "INSERT INTO group_facilitators (group_id, member_id) VALUES (1, 4)",
    ] {
        crate::store::query(sql).execute(&store).await.unwrap();
    }
    let now = chrono::DateTime::from_timestamp(1_773_914_400, 0).unwrap();
    let later = now + chrono::Duration::seconds(5);
    let mute = |user: &str, mute: bool, stage: Option<bool>| Effect::Mute {
        community: "local".into(),
        channel: "voice".into(),
        user: user.into(),
        mute,
        stage,
    };

    let mut tx = store.write().await.unwrap();
    let circle = db::create(
        &mut tx,
        &NewCircle {
            community: 1,
            channel: "voice",
            home_channel: "general",
            group: Some(1),
            facilitator: 1,
            mode: Mode::Round,
            share_secs: Some(120),
            auto_advance: false,
            mute_others: true,
            in_voice: true,
        },
        now,
    )
    .await
    .unwrap();
    // Kim (3) came first, then Sam (2), then Lee (4) and Admin (1) at once;
    // only Admin may mute others; Sam's call membership ends by itself.
    for (member, at, may_mute, until) in [
        (3, now, false, None),
        (2, later, false, Some(later)),
        (4, later + chrono::Duration::seconds(1), false, None),
        (1, later + chrono::Duration::seconds(1), true, None),
    ] {
        db::set_presence(&mut tx, 1, "voice", member, true, may_mute, until, at)
            .await
            .unwrap();
    }
    let present = db::present_in(&mut tx, 1, "voice").await.unwrap();
    let mutable = db::mutable_in(&mut tx, 1, "voice").await.unwrap();
    let kim_in = db::in_voice_at(&mut tx, 1, "voice", 3).await.unwrap();
    let kim_elsewhere = db::in_voice_at(&mut tx, 1, "stage", 3).await.unwrap();
    let kim_at = db::voice_channel_of(&mut tx, 1, 3).await.unwrap();
    let kim_all = db::voice_channels_of(&mut tx, 1, 3).await.unwrap();
    let sam_lapsed = db::lapsed(&mut tx, 1, 2, later).await.unwrap();
    let kim_lapsed = db::lapsed(&mut tx, 1, 3, later).await.unwrap();

    let before = db::load(&mut tx, circle.id).await.unwrap();
    let mut state = before.clone();
    for (seq, member) in [3, 2, 4].into_iter().enumerate() {
        state.participants.push(Participant {
            member,
            seq: seq as i64,
            present: member != 2,
            hand: None,
            spoken_secs: 0,
            shares: 0,
            passes: i64::from(member == 4),
            had_turn: member == 4,
        });
    }
    state.holder = Some(4);
    state.turn_started_at = Some(now.timestamp());
    state.turn = 1;
    state.next_seq = 3;
    db::save(&mut tx, circle.id, &before, &state).await.unwrap();
    let loaded = db::load(&mut tx, circle.id).await.unwrap();
    let with_kim = db::open_with(&mut tx, 1, 3).await.unwrap().map(|c| c.id);
    let with_sam = db::open_with(&mut tx, 1, 2).await.unwrap().map(|c| c.id);
    let people: Vec<String> = db::people(&mut tx, circle.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.external_id)
        .collect();
    let people_rows = db::people(&mut tx, circle.id).await.unwrap();
    let muted = mutes::plan(&mut tx, &circle, 1, "local", &state, &people_rows, false, now)
        .await
        .unwrap();
    let again = mutes::plan(&mut tx, &circle, 1, "local", &state, &people_rows, false, now)
        .await
        .unwrap();
    let suppressed = mutes::reported(&mut tx, 1, 3, true, true, MuteReport::Applied)
        .await
        .unwrap();
    let held = mutes::all(&mut tx, Platform::Console).await.unwrap();
    let kims = mutes::of_member(&mut tx, 3).await.unwrap();
    let ended = mutes::plan(&mut tx, &circle, 1, "local", &state, &people_rows, true, now)
        .await
        .unwrap();
    let not_twice = mutes::plan(&mut tx, &circle, 1, "local", &state, &people_rows, true, now)
        .await
        .unwrap();
    let stale_while_running = mutes::stale_for(&mut tx, 1, "local", 3).await.unwrap();
    let told = mutes::reported(&mut tx, 1, 3, false, true, MuteReport::NoPermission)
        .await
        .unwrap();
    let stale_once_stopped = mutes::stale_for(&mut tx, 1, "local", 3).await.unwrap();
    db::set_status_message(&mut tx, circle.id, "m1").await.unwrap();
    let status = db::open_by_id(&mut tx, circle.id).await.unwrap();
    db::end(&mut tx, circle.id, later).await.unwrap();
    let after_end = db::open_in(&mut tx, 1, circle.id).await.unwrap();
    let presence_after_end = db::present_in(&mut tx, 1, "voice").await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(circle.started_at, now.timestamp());
    assert!(circle.mute_others && circle.in_voice && !circle.auto_advance);
    let (at, later) = (now.timestamp(), later.timestamp());
    assert_eq!(
        present,
        [(3, at), (2, later), (1, later + 1), (4, later + 1)],
        "by first sight, then by member"
    );
    assert_eq!(mutable, [2, 3, 4], "all but the one who may mute others");
    assert!(kim_in && !kim_elsewhere);
    assert_eq!(kim_at.as_deref(), Some("voice"));
    assert_eq!(kim_all, ["voice"]);
    assert_eq!(sam_lapsed, ["voice"]);
    assert!(kim_lapsed.is_empty());
    assert_eq!(loaded, state);
    assert_eq!(with_kim, Some(circle.id));
    assert_eq!(with_sam, None, "Sam is not present");
    assert_eq!(people, ["kim", "sam", "lee"]);
    // Lee holds the stick and facilitates the group; Sam is away; Admin may mute.
    assert_eq!(muted, [mute("kim", true, None)]);
    assert!(again.is_empty(), "a recorded mute is not asked for twice");
    assert!(suppressed.is_empty());
    assert_eq!(held, [mute("kim", false, Some(true))]);
    assert_eq!(kims, held);
    assert_eq!(ended, [mute("kim", false, Some(true))]);
    assert!(not_twice.is_empty(), "an unmute asked for is not asked for again");
    assert!(stale_while_running.is_empty(), "the running circle still wants it");
    let [Effect::Dm { user, .. }] = told.as_slice() else {
        panic!("the facilitator is told: {told:?}")
    };
    assert_eq!(user, "admin");
    assert_eq!(stale_once_stopped, [mute("kim", false, Some(true))]);
    assert_eq!(status.and_then(|c| c.status_message).as_deref(), Some("m1"));
    assert!(after_end.is_none());
    assert!(presence_after_end.is_empty(), "presence goes with the circle");
    assert_eq!(
        super::in_voice(&store, 1).await.unwrap(),
        Vec::<(String, String)>::new()
    );
}
