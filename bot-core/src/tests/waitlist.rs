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
