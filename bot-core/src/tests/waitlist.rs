//! RSVP with capacity (issue 29): a group's capacity is the number of places
//! at each of its meetings; a yes past it waits in line, and the first in
//! line is given the next place that frees, told privately, once.

use super::*;
use crate::clock::Clock;
use crate::io::Effect;

/// What the scheduler delivered, as (to whom, plain text).
fn delivered(seen: &Seen) -> Vec<(String, String)> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|(_, d)| match &d.effect {
            Effect::Dm { user, message, .. } => (format!("@{user}"), message.plain("/")),
            Effect::Post { channel, message, .. } => (format!("#{channel}"), message.plain("/")),
            other => ("?".into(), format!("{other:?}")),
        })
        .collect()
}

/// Grief circle (capacity 2) with one meeting, Saturday 21 March 2026, 19:00 UTC.
async fn two_places() -> Bot {
    let bot = Bot::new().await;
    bot.say("admin", GRIEF).await;
    one_meeting_on_21_march(&bot).await;
    bot
}

async fn list(bot: &Bot) -> String {
    text(&bot.say("admin", "meeting list").await)
}

#[tokio::test]
async fn a_yes_past_capacity_waits_in_line_and_the_first_in_line_is_told_once_when_a_place_frees() {
    let bot = two_places().await;
    let (scheduler, seen) = recording(&bot);
    bot.say("ann", "meeting rsvp meeting:1 answer:yes").await;
    bot.say("ben", "meeting rsvp meeting:1 answer:yes").await;

    let cat = bot.say("cat", "meeting rsvp meeting:1 answer:yes").await;
    let dan = bot.say("dan", "meeting rsvp meeting:1 answer:yes").await;
    let dan_again = bot.say("dan", "meeting rsvp meeting:1 answer:yes").await;
    let full = list(&bot).await;

    assert!(is_private(&cat) && is_private(&dan));
    assert!(
        text(&cat).contains("on its waiting list: number 1 in line"),
        "{}",
        text(&cat)
    );
    assert!(text(&dan).contains("number 2 in line"), "{}", text(&dan));
    assert!(
        text(&dan_again).contains("number 2 in line"),
        "asking again keeps the place"
    );
    assert!(full.contains("2 going, 0 maybe, 2 waiting for a place"), "{full}");
    for name in ["ann", "ben", "cat", "dan"] {
        assert!(!full.contains(name), "the list names nobody: {full}");
    }

    // Ben steps back: Cat, first in line, is going, and told by DM.
    let ben = bot.say("ben", "meeting rsvp meeting:1 answer:no").await;
    scheduler.tick(bot.clock.now()).await.unwrap();
    scheduler.tick(bot.clock.now()).await.unwrap();

    assert!(text(&ben).starts_with("Thanks for letting us know"), "{}", text(&ben));
    let told: Vec<_> = delivered(&seen)
        .into_iter()
        .filter(|(_, m)| m.contains("A place for you"))
        .collect();
    assert_eq!(told.len(), 1, "told once: {told:#?}");
    assert_eq!(told[0].0, "@cat");
    assert!(
        told[0]
            .1
            .contains("A place has freed up at Grief circle on Sat 21 Mar 2026, 19:00 UTC, and it's yours"),
        "{}",
        told[0].1
    );
    assert!(list(&bot).await.contains("2 going, 0 maybe, 1 waiting for a place"));
    let dan_now = text(&bot.say("dan", "meeting rsvp meeting:1 answer:yes").await);
    assert!(dan_now.contains("number 1 in line"), "{dan_now}");

    // Maybe steps out of line; a later place goes to nobody who stepped out.
    bot.say("dan", "meeting rsvp meeting:1 answer:maybe").await;
    bot.say("ann", "meeting rsvp meeting:1 answer:maybe").await;
    assert!(
        list(&bot).await.contains("· 1 going, 2 maybe\n"),
        "{}",
        list(&bot).await
    );
}

#[tokio::test]
async fn two_yeses_at_once_for_the_last_place_one_goes_and_one_waits() {
    let bot = two_places().await;
    bot.say("ann", "meeting rsvp meeting:1 answer:yes").await;

    let (ben, cat) = tokio::join!(
        bot.say("ben", "meeting rsvp meeting:1 answer:yes"),
        bot.say("cat", "meeting rsvp meeting:1 answer:yes"),
    );

    let answers = [text(&ben), text(&cat)];
    let going = answers.iter().filter(|a| a.contains("you're going")).count();
    let waiting = answers.iter().filter(|a| a.contains("number 1 in line")).count();
    assert_eq!((going, waiting), (1, 1), "{answers:#?}");
    assert!(list(&bot).await.contains("2 going, 0 maybe, 1 waiting for a place"));
}

#[tokio::test]
async fn leaving_the_group_frees_a_place_for_the_first_in_line() {
    let bot = two_places().await;
    let (scheduler, seen) = recording(&bot);
    bot.say("ann", "group join group:#1").await;
    bot.say("ann", "meeting rsvp meeting:1 answer:yes").await;
    bot.say("ben", "meeting rsvp meeting:1 answer:yes").await;
    bot.say("cat", "meeting rsvp meeting:1 answer:yes").await;

    bot.say("ann", "group leave group:#1").await;
    scheduler.tick(bot.clock.now()).await.unwrap();

    let told: Vec<_> = delivered(&seen)
        .into_iter()
        .filter(|(_, m)| m.contains("A place for you"))
        .map(|(to, _)| to)
        .collect();
    assert_eq!(told, ["@cat"]);
    assert!(list(&bot).await.contains("· 2 going, 0 maybe\n"));
}

#[tokio::test]
async fn a_raised_capacity_lets_those_in_line_in_before_a_newcomer() {
    let bot = two_places().await;
    for who in ["ann", "ben", "cat"] {
        bot.say(who, "meeting rsvp meeting:1 answer:yes").await;
    }

    bot.say("admin", "group edit group:#1 capacity:4").await;
    let dan = text(&bot.say("dan", "meeting rsvp meeting:1 answer:yes").await);
    let eve = text(&bot.say("eve", "meeting rsvp meeting:1 answer:yes").await);

    assert!(dan.contains("you're going"), "{dan}");
    assert!(eve.contains("number 1 in line"), "{eve}");
    assert!(list(&bot).await.contains("4 going, 0 maybe, 1 waiting for a place"));
}

#[tokio::test]
async fn the_reminder_card_counts_those_waiting_and_names_none() {
    let bot = two_places().await;
    let (scheduler, seen) = recording(&bot);
    for who in ["ann", "ben", "cat"] {
        bot.say(who, "meeting rsvp meeting:1 answer:yes").await;
    }

    scheduler.advance(&bot.clock, at("2026-03-21T18:30:00Z")).await.unwrap();

    let cards: Vec<_> = delivered(&seen)
        .into_iter()
        .filter(|(_, m)| m.contains("Reminder: Grief circle"))
        .collect();
    assert!(!cards.is_empty());
    for (_, card) in &cards {
        assert!(
            card.contains("So far 2 going, 0 maybe, 1 waiting for a place."),
            "{card}"
        );
        assert!(!card.contains("cat"), "{card}");
    }
}

#[tokio::test]
async fn one_going_who_erases_their_data_leaves_their_place_to_the_first_in_line() {
    let bot = two_places().await;
    let (scheduler, seen) = recording(&bot);
    for who in ["ann", "ben", "cat"] {
        bot.say(who, "meeting rsvp meeting:1 answer:yes").await;
    }

    bot.say("ann", "forgetme confirm:yes").await;
    scheduler.tick(bot.clock.now()).await.unwrap();

    let told: Vec<_> = delivered(&seen)
        .into_iter()
        .filter(|(_, m)| m.contains("A place for you"))
        .map(|(to, _)| to)
        .collect();
    assert_eq!(told, ["@cat"]);
    assert!(list(&bot).await.contains("· 2 going, 0 maybe\n"));
}

/// Those `phrase` was sent to by DM, once per message, in order.
fn dms_with(seen: &Seen, phrase: &str) -> Vec<String> {
    delivered(seen)
        .into_iter()
        .filter(|(to, m)| to.starts_with('@') && m.contains(phrase))
        .map(|(to, _)| to)
        .collect()
}

/// The `meeting list` line of the meeting on `day` (like "21 Mar").
async fn list_line(bot: &Bot, day: &str) -> String {
    let all = list(bot).await;
    all.lines().find(|l| l.contains(day)).unwrap_or_default().to_string()
}

/// Grief circle (capacity 2) meeting weekly from Saturday 21 March 2026,
/// 19:00 UTC: Ann and Ben going on the 21st, Cat and Dan waiting, in that order.
async fn weekly_full_with_two_waiting() -> Bot {
    let bot = Bot::new().await;
    bot.say("admin", GRIEF).await;
    weekly_from_21_march(&bot).await;
    for who in ["ann", "ben", "cat", "dan"] {
        bot.say(who, "meeting rsvp meeting:1 occurrence:2026-03-21 answer:yes")
            .await;
    }
    bot
}

#[tokio::test]
async fn an_edit_takes_the_waiting_list_with_its_meeting_in_line_order() {
    let bot = weekly_full_with_two_waiting().await;
    let (scheduler, seen) = recording(&bot);

    bot.say("admin", "meeting edit meeting:1 when:19:30").await;
    let moved = list_line(&bot, "21 Mar").await;
    let eve = text(&bot.say("eve", "meeting rsvp meeting:1 answer:yes").await);
    bot.say("ben", "meeting rsvp meeting:1 answer:no").await;
    scheduler.tick(bot.clock.now()).await.unwrap();

    assert!(moved.contains("19:30 UTC"), "{moved}");
    assert!(moved.contains("2 going, 0 maybe, 2 waiting for a place"), "{moved}");
    assert!(eve.contains("number 3 in line"), "a newcomer waits behind them: {eve}");
    assert_eq!(dms_with(&seen, "A place for you"), ["@cat"], "the first in line, once");
    assert_eq!(
        dms_with(&seen, "Changed: Grief circle"),
        ["@ann", "@ben", "@cat", "@dan"]
    );
    let dan = text(&bot.say("dan", "meeting rsvp meeting:1 answer:yes").await);
    assert!(dan.contains("number 1 in line"), "{dan}");
}

#[tokio::test]
async fn an_edit_from_a_later_day_leaves_the_earlier_waiting_list_with_its_meeting() {
    let bot = weekly_full_with_two_waiting().await;
    let (scheduler, seen) = recording(&bot);

    bot.say("admin", "meeting edit meeting:1 from:2026-03-28 when:20:00")
        .await;
    let kept = list_line(&bot, "21 Mar").await;
    bot.say("ben", "meeting rsvp meeting:1 occurrence:2026-03-21 answer:no")
        .await;
    scheduler.tick(bot.clock.now()).await.unwrap();

    assert!(kept.contains("19:00 UTC"), "{kept}");
    assert!(kept.contains("2 going, 0 maybe, 2 waiting for a place"), "{kept}");
    assert_eq!(dms_with(&seen, "A place for you"), ["@cat"]);
    assert!(
        list_line(&bot, "21 Mar")
            .await
            .contains("2 going, 0 maybe, 1 waiting for a place"),
        "{}",
        list(&bot).await
    );
}

#[tokio::test]
async fn those_waiting_for_a_day_an_edit_removes_are_told_once_and_wait_no_more() {
    let bot = weekly_full_with_two_waiting().await;
    let (scheduler, seen) = recording(&bot);

    bot.say("admin", r#"meeting edit meeting:1 when:"2026-03-22 19:00""#)
        .await;
    scheduler.tick(bot.clock.now()).await.unwrap();

    let gone = delivered(&seen)
        .into_iter()
        .filter(|(to, m)| to == "@cat" && m.contains("Sat 21 Mar 2026, 19:00 UTC no longer happens"))
        .count();
    assert_eq!(gone, 1, "{:#?}", delivered(&seen));
    assert_eq!(dms_with(&seen, "no longer happens"), ["@ann", "@ben", "@cat", "@dan"]);
    let sunday = list_line(&bot, "22 Mar").await;
    assert!(sunday.contains("no RSVPs yet"), "{sunday}");
    let cat = text(&bot.say("cat", "meeting rsvp meeting:1 answer:yes").await);
    assert!(cat.contains("you're going"), "{cat}");
}

#[tokio::test]
async fn a_place_at_a_cancelled_meeting_goes_to_nobody_when_one_going_leaves() {
    let bot = weekly_full_with_two_waiting().await;
    let (scheduler, seen) = recording(&bot);
    bot.say("ann", "group join group:#1").await;

    bot.say("admin", "meeting cancel meeting:1 occurrence:2026-03-21").await;
    bot.say("ann", "group leave group:#1").await;
    scheduler.tick(bot.clock.now()).await.unwrap();

    assert!(dms_with(&seen, "A place for you").is_empty(), "{:#?}", delivered(&seen));
}

#[tokio::test]
async fn a_place_at_a_cancelled_series_goes_to_nobody_when_one_going_erases_their_data() {
    let bot = two_places().await;
    let (scheduler, seen) = recording(&bot);
    for who in ["ann", "ben", "cat"] {
        bot.say(who, "meeting rsvp meeting:1 answer:yes").await;
    }

    bot.say("admin", "meeting cancel meeting:1 occurrence:all").await;
    bot.say("ann", "forgetme confirm:yes").await;
    scheduler.tick(bot.clock.now()).await.unwrap();

    assert!(dms_with(&seen, "A place for you").is_empty(), "{:#?}", delivered(&seen));
}

#[tokio::test]
async fn a_raised_or_cleared_capacity_gives_its_places_to_those_in_line_at_once() {
    let bot = two_places().await;
    let (scheduler, seen) = recording(&bot);
    for who in ["ann", "ben", "cat", "dan", "eve"] {
        bot.say(who, "meeting rsvp meeting:1 answer:yes").await;
    }

    bot.say("admin", "group edit group:#1 capacity:3").await;
    scheduler.tick(bot.clock.now()).await.unwrap();
    let raised = list(&bot).await;
    bot.say("admin", "group edit group:#1 clear:capacity").await;
    scheduler.tick(bot.clock.now()).await.unwrap();

    assert!(raised.contains("3 going, 0 maybe, 2 waiting for a place"), "{raised}");
    assert_eq!(
        dms_with(&seen, "A place for you"),
        ["@cat", "@dan", "@eve"],
        "each once, in line order"
    );
    assert!(
        list(&bot).await.contains("· 5 going, 0 maybe\n"),
        "{}",
        list(&bot).await
    );
}

#[tokio::test]
async fn one_in_line_who_says_no_is_never_given_a_place_that_was_free() {
    let bot = two_places().await;
    let (scheduler, seen) = recording(&bot);
    for who in ["ann", "ben", "cat", "dan"] {
        bot.say(who, "meeting rsvp meeting:1 answer:yes").await;
    }
    // A place opened whose fill did not run (an erasure's own write, lost).
    crate::store::query("UPDATE groups SET capacity = 3")
        .execute(bot.hearth.store())
        .await
        .unwrap();

    let cat = text(&bot.say("cat", "meeting rsvp meeting:1 answer:no").await);
    scheduler.tick(bot.clock.now()).await.unwrap();

    assert!(cat.starts_with("Thanks for letting us know"), "{cat}");
    assert_eq!(dms_with(&seen, "A place for you"), ["@dan"]);
    assert!(
        list(&bot).await.contains("· 3 going, 0 maybe\n"),
        "{}",
        list(&bot).await
    );
}

#[tokio::test]
async fn those_waiting_are_told_once_of_a_move_and_a_cancel() {
    let bot = weekly_full_with_two_waiting().await;
    let (scheduler, seen) = recording(&bot);
    for who in ["ann", "ben", "cat"] {
        bot.say(who, "meeting rsvp meeting:1 occurrence:2026-03-28 answer:yes")
            .await;
    }

    bot.say("admin", "meeting move meeting:1 occurrence:2026-03-21 when:20:00")
        .await;
    bot.say("admin", "meeting cancel meeting:1 occurrence:2026-03-21").await;
    bot.say("admin", "meeting cancel meeting:1 occurrence:all").await;
    scheduler.tick(bot.clock.now()).await.unwrap();

    assert_eq!(dms_with(&seen, "Moved: Grief circle"), ["@ann", "@ben", "@cat", "@dan"]);
    // One waiting is not told they are going: their place in line stands.
    assert_eq!(
        dms_with(&seen, "so does your place in line if you are waiting"),
        ["@ann", "@ben", "@cat", "@dan"]
    );
    assert_eq!(
        dms_with(&seen, "is cancelled. The others"),
        ["@ann", "@ben", "@cat", "@dan"]
    );
    assert_eq!(
        dms_with(&seen, "The whole series"),
        ["@ann", "@ben", "@cat"],
        "once each"
    );
}

#[tokio::test]
async fn one_waiting_with_reminders_always_on_is_reminded_only_once_a_place_is_theirs() {
    let bot = two_places().await;
    let (scheduler, seen) = recording(&bot);
    bot.say("cat", "group join group:#1").await;
    bot.say("cat", "reminders dm:on leads:2h,30m").await;
    for who in ["ann", "ben", "cat"] {
        bot.say(who, "meeting rsvp meeting:1 answer:yes").await;
    }

    scheduler.advance(&bot.clock, at("2026-03-21T18:00:00Z")).await.unwrap();
    let while_waiting = dms_with(&seen, "Reminder: Grief circle");
    bot.say("ben", "meeting rsvp meeting:1 answer:no").await;
    scheduler.advance(&bot.clock, at("2026-03-21T19:00:00Z")).await.unwrap();

    assert!(!while_waiting.contains(&"@cat".to_string()), "{while_waiting:?}");
    let reminded = dms_with(&seen, "Reminder: Grief circle")
        .into_iter()
        .filter(|to| to == "@cat")
        .count();
    assert_eq!(reminded, 1, "{:#?}", delivered(&seen));
}
