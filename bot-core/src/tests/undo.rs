//! A button press taken back (a Matrix reaction removed): what it did is
//! undone where that has a meaning, and only that.

use super::*;

impl Bot {
    /// `who` takes back a press of the button that stands for `text`.
    async fn take_back(&self, who: &str, text: &str) -> Response {
        let invocation = crate::parse::parse_command(text).unwrap();
        self.hearth
            .handle(&Input {
                actor: Actor::member(who, who),
                place: self.place("general"),
                kind: InputKind::Undo(invocation),
            })
            .await
    }
}

const YES: &str = "meeting rsvp meeting:1 occurrence:2026-03-21 answer:yes";

async fn a_meeting(bot: &Bot) {
    bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    one_meeting_on_21_march(bot).await;
}

async fn going(bot: &Bot) -> String {
    text(&bot.say("admin", "meeting list").await)
}

#[tokio::test]
async fn taking_back_an_rsvp_press_leaves_no_answer_and_a_second_press_answers_again() {
    let bot = Bot::new().await;
    a_meeting(&bot).await;
    bot.say("ann", YES).await;
    let with_ann = going(&bot).await;

    let taken_back = bot.take_back("ann", YES).await;
    let without = going(&bot).await;
    let pressed_again = bot.say("ann", YES).await;

    assert!(with_ann.contains("1 going"), "{with_ann}");
    assert!(is_private(&taken_back), "{taken_back:?}");
    assert!(
        text(&taken_back).contains("Your answer for Grief circle on") && text(&taken_back).contains("is taken back"),
        "{}",
        text(&taken_back)
    );
    assert!(!without.contains("going"), "{without}");
    assert!(text(&pressed_again).contains("you're going to Grief circle"));
    assert!(going(&bot).await.contains("1 going"));
}

#[tokio::test]
async fn taking_back_a_press_whose_answer_changed_since_changes_nothing() {
    let bot = Bot::new().await;
    a_meeting(&bot).await;
    bot.say("ann", YES).await;
    bot.say("ann", "meeting rsvp meeting:1 occurrence:2026-03-21 answer:maybe")
        .await;

    let taken_back = bot.take_back("ann", YES).await;

    assert!(
        taken_back.reply.is_none() && taken_back.effects.is_empty(),
        "{taken_back:?}"
    );
    assert!(going(&bot).await.contains("1 maybe"), "{}", going(&bot).await);
}

#[tokio::test]
async fn taking_back_a_raised_hand_lowers_it_and_other_presses_stay_done() {
    let bot = Bot::new().await;
    bot.say("admin", "circle start mode:queue").await;
    bot.say("sam", "circle join").await;
    bot.say("kim", "circle join").await;
    // Sam takes the stick; Kim's hand waits in the queue.
    bot.say("sam", "hand raise").await;
    bot.say("kim", "hand raise").await;
    let queued = text(&bot.say("admin", "circle status").await);
    bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    bot.say("ann", "group join group:#1").await;

    let lowered = bot.take_back("kim", "hand raise").await;
    let status = text(&bot.say("admin", "circle status").await);
    let still_joined = bot.take_back("ann", "group join group:#1").await;

    assert!(
        lowered
            .effects
            .iter()
            .any(|e| matches!(e, crate::Effect::Status { .. })),
        "the status shows the hand lowered: {lowered:?}"
    );
    assert!(queued.contains("kim"), "{queued}");
    assert!(!status.contains("kim"), "{status}");
    assert!(still_joined.reply.is_none() && still_joined.effects.is_empty());
    let card = text(&bot.say("ann", "group info group:#1").await);
    assert!(card.contains("1 member") || card.contains("Members: 1"), "{card}");
}

/// Places at meetings (issue 29): a Going reaction taken back gives up the
/// place to the first in line, or, when it was waiting, leaves the line.
#[tokio::test]
async fn taking_back_a_going_press_frees_the_place_or_leaves_the_line() {
    let bot = Bot::new().await;
    bot.say("admin", GRIEF).await;
    one_meeting_on_21_march(&bot).await;
    for who in ["ann", "ben", "cat", "dan"] {
        bot.say(who, YES).await;
    }

    let dan = text(&bot.take_back("dan", YES).await);
    let ann = bot.take_back("ann", YES).await;
    let list = going(&bot).await;

    assert!(dan.contains("You're off the waiting list for Grief circle"), "{dan}");
    assert!(text(&ann).contains("is taken back"), "{}", text(&ann));
    assert!(
        list.contains("· 2 going, 0 maybe\n"),
        "cat took ann's place, nobody waits: {list}"
    );
    let notices: i64 = crate::store::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'notice'")
        .fetch_one(bot.hearth.store())
        .await
        .unwrap();
    assert_eq!(notices, 1, "cat is told, once");
}
