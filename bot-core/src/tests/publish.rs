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

/// A second community ("elsewhere"), its admin claimed: its id.
async fn another_community(bot: &Bot) -> i64 {
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
    query_scalar("SELECT id FROM communities WHERE external_id = 'elsewhere'")
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
    let other = another_community(&bot).await;
    let taken = publish::set(store, other, true, Some("grief-support"), bot.hearth.now()).await;

    assert!(unnamed.contains("slug:"), "{unnamed}");
    assert!(bad.contains("slug"), "{bad}");
    assert!(on.contains("/c/grief-support/"), "{on}");
    assert_eq!(published, Some(1));
    assert!(
        off.contains("Unpublished") && off.contains("for up to 5 minutes"),
        "{off}"
    );
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

/// A closed group's way in, written the ways people write it (no scheme, a
/// dial-in's passcode), is on no public page or feed; the chat's
/// directory keeps it for members too.
#[tokio::test]
async fn a_closed_groups_link_without_its_scheme_or_a_passcode_stays_off_every_public_page() {
    let bot = Bot::new().await;
    let store = bot.hearth.store();
    let secrets = [
        ("Zoom circle", "zoom.us/j/8812345?pwd=Xy12", "8812345"),
        ("Discord circle", "discord.gg/AbCdSecret", "abcdsecret"),
        (
            "Phone circle",
            "Dial 646 558 8656, meeting ID 881 2345, passcode 4321",
            "4321",
        ),
        ("Meet circle", "meet.google.com/abc-defg-hij", "abc-defg-hij"),
    ];
    for (name, place, _) in secrets {
        let said = text(
            &bot.say(
                "admin",
                &format!(
                    r#"group create name:"{name}" topic:grief led_by:peer format:hybrid location:"{place}" registration:"Ask the facilitator""#
                ),
            )
            .await,
        );
        assert!(said.contains("Created"), "{said}");
        bot.say(
            "admin",
            &format!(r#"meeting schedule group:"{name}" when:"2026-03-24 19:00" repeat:weekly confirm:yes"#),
        )
        .await;
    }
    bot.say("admin", "community publish on slug:grief-support").await;
    let now = bot.hearth.now();

    let mut public = vec![
        text(&bot.say("ann", "group list").await),
        crate::finder::render(store, 1, &Default::default(), ("Grief support", "/assets"), now)
            .await
            .unwrap(),
        serde_json::to_string(&crate::meeting_guide::feed(store, 1, now, false).await.unwrap().0).unwrap(),
    ];
    for (slug, _) in publish::group_names(store, 1).await.unwrap() {
        public.push(
            publish::group_calendar(store, 1, &slug, now)
                .await
                .unwrap()
                .unwrap()
                .body,
        );
    }

    for page in &public {
        for (name, _, secret) in secrets {
            assert!(!page.to_lowercase().contains(secret), "{name}'s way in: {page}");
        }
    }
    assert!(
        public[2].contains("Zoom circle"),
        "the groups are listed: {}",
        public[2]
    );
}

/// A second group of a name's slug takes the slug, two dashes and its id,
/// which no name can take; a name holding iCalendar's words stays one
/// property.
#[tokio::test]
async fn group_slugs_never_collide_and_a_name_cannot_break_its_calendar() {
    let bot = Bot::new().await;
    let store = bot.hearth.store();
    for name in [
        "Grief circle",
        "Grief circle 3",
        "Grief-circle!",
        "X BEGIN:VEVENT, a; b",
    ] {
        let said = text(
            &bot.say(
                "admin",
                &format!(r#"group create name:"{name}" topic:grief led_by:peer"#),
            )
            .await,
        );
        assert!(said.contains("Created"), "{name}: {said}");
    }
    bot.say("admin", "community publish on slug:grief-support").await;
    bot.say(
        "admin",
        r#"meeting schedule group:#4 when:"2026-03-24 19:00" repeat:weekly timezone:Europe/Berlin confirm:yes"#,
    )
    .await;
    let now = bot.hearth.now();

    let slugs: Vec<String> = publish::group_names(store, 1)
        .await
        .unwrap()
        .into_iter()
        .map(|(slug, _)| slug)
        .collect();
    let odd = publish::group_calendar(store, 1, &slugs[3], now)
        .await
        .unwrap()
        .unwrap()
        .body;

    assert_eq!(slugs[..3], ["grief-circle", "grief-circle-3", "grief-circle--3"]);
    assert!(odd.contains("NAME:X BEGIN:VEVENT\\, a\\; b\r\n"), "{odd}");
    let zone = odd.find("BEGIN:VTIMEZONE").expect(&odd);
    let event = odd.find("\r\nBEGIN:VEVENT\r\n").expect(&odd);
    assert!(zone < event && odd[..zone].ends_with("\r\n"), "{odd}");
    assert_eq!(odd.matches("END:VTIMEZONE").count(), 1, "{odd}");
}

/// A community's former slug stays its own: no other community takes it,
/// it leads to the new one while published, and it can be taken back.
#[tokio::test]
async fn a_former_slug_stays_its_communitys_and_leads_to_the_new_one() {
    let bot = Bot::new().await;
    let store = bot.hearth.store();
    let now = bot.hearth.now();
    bot.say("admin", "community publish on slug:grief-support").await;
    bot.say("admin", "community publish on slug:grief-peers").await;
    let other = another_community(&bot).await;

    let taken = publish::set(store, other, true, Some("grief-support"), now).await;
    let leads = publish::moved(store, "grief-support").await.unwrap();
    bot.say("admin", "community publish off").await;
    let unpublished = publish::moved(store, "grief-support").await.unwrap();
    let back = text(&bot.say("admin", "community publish on slug:grief-support").await);

    assert!(taken.is_err(), "another community took a former slug");
    assert_eq!(leads.as_deref(), Some("grief-peers"));
    assert_eq!(unpublished, None, "an unpublished community leads nowhere");
    assert!(back.contains("/c/grief-support/"), "{back}");
    assert_eq!(publish::published(store, "grief-support").await.unwrap(), Some(1));
    assert_eq!(publish::moved(store, "grief-support").await.unwrap(), None);
    assert_eq!(
        publish::moved(store, "grief-peers").await.unwrap().as_deref(),
        Some("grief-support")
    );
}
