//! A community on the web (issue 29): publishing and its slug, and what the
//! public and private calendars may hold. On PostgreSQL as well
//! (`HEARTH_TEST_POSTGRES`).

use super::*;
use crate::publish;
use crate::store::query_scalar;

async fn member_id(bot: &Bot, who: &str) -> i64 {
    query_scalar("SELECT id FROM members WHERE external_id = ?")
        .bind(who)
        .fetch_one(bot.hearth.store())
        .await
        .unwrap()
}

#[tokio::test]
async fn publishing_needs_a_slug_the_first_time_keeps_it_and_no_other_community_takes_it() {
    let bot = Bot::new().await;
    let store = bot.hearth.store();

    let unnamed = text(&bot.say("admin", "community publish on").await);
    let bad = text(&bot.say("admin", "community publish on slug:Grief/Support").await);
    let on = text(&bot.say("admin", "community publish on slug:grief-support").await);
    let published = publish::published(store, "grief-support").await.unwrap();
    let off = text(&bot.say("admin", "community publish off").await);
    let hidden = publish::published(store, "grief-support").await.unwrap();
    let again = text(&bot.say("admin", "community publish state:on").await);
    bot.hearth
        .claim_admin(
            &Place {
                community: "elsewhere".into(),
                ..bot.place("general")
            },
            &Actor::member("admin", "admin"),
        )
        .await
        .unwrap();
    let other: i64 = query_scalar("SELECT id FROM communities WHERE external_id = 'elsewhere'")
        .fetch_one(store)
        .await
        .unwrap();
    let taken = publish::set(store, other, true, Some("grief-support"), bot.hearth.now()).await;

    assert!(unnamed.contains("slug:"), "{unnamed}");
    assert!(bad.contains("slug"), "{bad}");
    assert!(on.contains("/c/grief-support/"), "{on}");
    assert_eq!(published, Some(1));
    assert!(off.contains("Unpublished"), "{off}");
    assert_eq!(hidden, None, "an unpublished community is not found");
    assert!(again.contains("/c/grief-support/"), "the slug is kept: {again}");
    assert_eq!(publish::published(store, "grief-support").await.unwrap(), Some(1));
    assert!(taken.is_err(), "another community cannot take the slug");
}

#[tokio::test]
async fn a_public_calendar_leaves_out_a_closed_groups_link_and_a_members_own_has_it() {
    let bot = Bot::new().await;
    let store = bot.hearth.store();
    bot.say(
        "admin",
        r#"group create name:"Grief circle" topic:grief led_by:peer format:online location:https://meet.example/grief"#,
    )
    .await;
    bot.say(
        "admin",
        r#"group create name:"Caregivers" topic:caregiving led_by:peer format:online location:https://meet.example/care?pwd=SeCrEt9 registration:"Write to the facilitator""#,
    )
    .await;
    for group in ["#1", "#2"] {
        let said = text(
            &bot.say(
                "admin",
                &format!(r#"meeting schedule group:{group} when:"2026-03-24 19:00" repeat:weekly confirm:yes"#),
            )
            .await,
        );
        assert!(said.contains("Scheduled"), "{said}");
    }
    bot.say("ann", "timezone").await;
    bot.say("admin", "group facilitator group:Caregivers user:ann action:add")
        .await;
    bot.say("admin", "community publish on slug:grief-support").await;
    let now = bot.hearth.now();

    let slugs: Vec<String> = publish::group_names(store, 1)
        .await
        .unwrap()
        .into_iter()
        .map(|(slug, _)| slug)
        .collect();
    let closed = publish::group_calendar(store, 1, "caregivers", now)
        .await
        .unwrap()
        .unwrap();
    let open = publish::group_calendar(store, 1, "grief-circle", now)
        .await
        .unwrap()
        .unwrap();
    let later = publish::group_calendar(store, 1, "grief-circle", now + chrono::Duration::hours(3))
        .await
        .unwrap()
        .unwrap();
    let nothing = publish::group_calendar(store, 1, "no-such-group", now).await.unwrap();
    let token = publish::subscribe(store, member_id(&bot, "ann").await, now)
        .await
        .unwrap();
    let mine = publish::member_calendar(store, &token, now).await.unwrap().unwrap();
    let stored: Vec<String> = query_scalar("SELECT token_hash FROM calendar_feeds")
        .fetch_all(store)
        .await
        .unwrap();
    let ended = publish::revoke(store, member_id(&bot, "ann").await).await.unwrap();
    let revoked = publish::member_calendar(store, &token, now).await.unwrap();

    assert_eq!(slugs, ["grief-circle", "caregivers"]);
    assert!(!closed.body.contains("SeCrEt9"), "{}", closed.body);
    assert!(closed.body.contains("SUMMARY:Caregivers"), "{}", closed.body);
    assert!(
        open.body.contains("LOCATION:https://meet.example/grief"),
        "{}",
        open.body
    );
    assert_eq!(open.body, later.body, "the same state gives the same text all day");
    assert!(nothing.is_none());
    assert!(mine.body.contains("SeCrEt9"), "her own group's link: {}", mine.body);
    assert!(!mine.body.contains("Grief circle"), "not her group: {}", mine.body);
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&token), "only a hash is kept");
    assert_eq!(ended, 1);
    assert!(revoked.is_none());
}
