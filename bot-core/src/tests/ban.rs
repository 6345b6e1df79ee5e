//! A ban from the community (a Discord guild ban, a ban in the community's
//! Matrix room): the person is out of its groups as if they had left each
//! one, so nothing of a closed group reaches them any more. On PostgreSQL
//! as well (`HEARTH_TEST_POSTGRES`).

use super::*;
use crate::publish;
use crate::store::query_scalar;

impl Bot {
    /// The platform says `who` was banned from the community.
    async fn ban(&self, who: &str) -> Response {
        self.hearth
            .handle(&Input {
                actor: Actor::member(who, who),
                place: self.place("general"),
                kind: InputKind::Banned,
            })
            .await
    }
}

async fn count(bot: &Bot, sql: &'static str) -> i64 {
    query_scalar(sql).fetch_one(bot.hearth.store()).await.unwrap()
}

#[tokio::test]
async fn a_banned_member_loses_the_closed_link_their_reminders_their_place_and_their_role() {
    let bot = Bot::new().await;
    bot.say(
        "admin",
        r#"group create name:"Caregivers" topic:caregiving led_by:peer format:online location:https://meet.example/care?pwd=SeCrEt9 registration:"Write to the facilitator" capacity:2"#,
    )
    .await;
    one_meeting_on_21_march(&bot).await;
    for who in ["ann", "ben", "cat"] {
        bot.say("admin", &format!("group join group:#1 user:{who}")).await;
        bot.say(who, "meeting rsvp meeting:1 answer:yes").await;
    }
    bot.say("admin", "role assign group:#1 role:chair user:ann").await;
    let ann = crate::members::find(bot.hearth.store(), Platform::Console, "ann")
        .await
        .unwrap()
        .unwrap();
    let token = publish::subscribe(bot.hearth.store(), ann.id, bot.hearth.now())
        .await
        .unwrap();
    let before = publish::member_calendar(bot.hearth.store(), &token, bot.hearth.now())
        .await
        .unwrap()
        .unwrap();
    let ann_jobs = "SELECT COUNT(*) FROM jobs j JOIN members m ON m.id = j.member_id
                    WHERE m.external_id = 'ann' AND j.state = 'pending'";
    let planned = count(&bot, ann_jobs).await;

    let banned = bot.ban("ann").await;
    let again = bot.ban("ann").await;
    let stranger = bot.ban("zed").await;

    let after = publish::member_calendar(bot.hearth.store(), &token, bot.hearth.now())
        .await
        .unwrap()
        .unwrap();
    let list = text(&bot.say("admin", "meeting list").await);
    assert!(before.body.contains("SeCrEt9"), "{}", before.body);
    assert!(planned > 0, "a reminder was planned for her");
    assert_eq!(banned, Response::none());
    assert_eq!(again, Response::none(), "a second ban changes nothing");
    assert_eq!(stranger, Response::none());
    assert!(!after.body.contains("SeCrEt9"), "{}", after.body);
    assert_eq!(count(&bot, ann_jobs).await, 0, "no reminder for her");
    assert_eq!(
        count(
            &bot,
            "SELECT COUNT(*) FROM group_members gm JOIN members m ON m.id = gm.member_id WHERE m.external_id = 'ann'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&bot, "SELECT COUNT(*) FROM role_holders").await,
        0,
        "her role is open"
    );
    assert!(
        list.contains("2 going, 0 maybe") && !list.contains("waiting"),
        "cat has her place: {list}"
    );
    assert_eq!(
        count(&bot, "SELECT COUNT(*) FROM rsvps r JOIN members m ON m.id = r.member_id WHERE m.external_id = 'cat' AND r.answer = 'yes'").await,
        1
    );
    assert_eq!(
        count(&bot, "SELECT COUNT(*) FROM members WHERE external_id = 'zed'").await,
        0,
        "a stranger's ban keeps no trace"
    );
}
