//! The Meeting Guide feed, parsed field by field, and the calendar's place
//! and stamp.

use serde_json::Value;

use super::*;

async fn feed(bot: &Bot) -> (String, Vec<Value>) {
    let answer = bot.say("ann", "group list format:meeting_guide").await;
    let message = answer.reply.unwrap().message;
    let file = message.attachment.clone().expect("a file");
    assert_eq!(file.mime, "application/json");
    let json: Value = serde_json::from_str(&file.content).unwrap();
    let entries = json.as_array().expect("a simple array of meetings").clone();
    (message.plain("/"), entries)
}

fn by_name<'a>(entries: &'a [Value], name: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {entries:?}"))
}

#[tokio::test]
async fn the_feed_lists_weekly_series_with_their_weekday_times_zone_and_place() {
    let bot = Bot::new().await;
    bot.say(
        "admin",
        r#"group create name:"Grief circle" topic:grief led_by:peer format:online location:https://meet.example/grief description:"For anyone who has lost someone.""#,
    )
    .await;
    bot.say(
        "admin",
        r#"group create name:"Caregivers" topic:caregiving led_by:professional format:in_person location:"Community Hall, 1 Main St" registration:"Write to the hall""#,
    )
    .await;
    let schedule = [
        // Tuesday, weekly, online.
        r#"meeting schedule group:"Grief circle" when:"2026-03-24 19:00" repeat:weekly timezone:Europe/Berlin duration:90m"#,
        // Saturday, weekly, in person.
        r#"meeting schedule group:Caregivers when:"2026-03-21 10:00" repeat:weekly timezone:America/New_York duration:60m title:"Caregivers Saturday""#,
        // Wednesday, every other week.
        r#"meeting schedule group:Caregivers when:"2026-03-25 18:30" repeat:biweekly timezone:America/New_York title:"Caregivers evening""#,
        // The 10th of each month: no weekday.
        r#"meeting schedule group:Caregivers when:"2026-04-10 12:00" repeat:"FREQ=MONTHLY;BYMONTHDAY=10" timezone:America/New_York title:"Caregivers lunch""#,
        // The second Friday of each month: listed by its weekday.
        r#"meeting schedule group:Caregivers when:"2026-04-10 14:00" repeat:monthly timezone:America/New_York title:"Caregivers Friday""#,
    ];
    for s in schedule {
        let answer = text(&bot.say("admin", s).await);
        assert!(answer.contains("meeting"), "{answer}");
    }

    let (said, entries) = feed(&bot).await;

    assert_eq!(entries.len(), 4, "{entries:?}");
    for e in &entries {
        for field in [
            "name", "slug", "day", "time", "end_time", "timezone", "types", "group", "updated",
        ] {
            assert!(!e[field].is_null(), "{field} missing in {e}");
        }
        assert!(e.as_object().unwrap().values().all(|v| !v.is_null()), "no nulls: {e}");
        assert!(!e.to_string().contains('<'), "no HTML: {e}");
    }

    let online = by_name(&entries, "Grief circle");
    assert_eq!(online["slug"], "grief-circle");
    assert_eq!(online["day"], 2);
    assert_eq!(online["time"], "19:00");
    assert_eq!(online["end_time"], "20:30");
    assert_eq!(online["timezone"], "Europe/Berlin");
    assert_eq!(online["conference_url"], "https://meet.example/grief");
    assert!(online.get("location").is_none() && online.get("formatted_address").is_none());
    assert_eq!(online["types"], serde_json::json!(["ONL", "O"]));
    assert_eq!(online["notes"], "For anyone who has lost someone.");
    assert_eq!(online["group"], "Grief circle");
    assert_eq!(online["updated"], "2026-03-19 10:00:00");

    let in_person = by_name(&entries, "Caregivers Saturday");
    assert_eq!(in_person["slug"], "caregivers-saturday");
    assert_eq!(in_person["day"], 6);
    assert_eq!(in_person["time"], "10:00");
    assert_eq!(in_person["end_time"], "11:00");
    assert_eq!(in_person["timezone"], "America/New_York");
    assert_eq!(in_person["location"], "Community Hall, 1 Main St");
    assert_eq!(in_person["formatted_address"], "Community Hall, 1 Main St");
    assert!(in_person.get("conference_url").is_none());
    assert!(in_person.get("notes").is_none(), "left out rather than null");
    assert_eq!(in_person["types"], serde_json::json!(["C"]));
    assert_eq!(in_person["group"], "Caregivers");

    let biweekly = by_name(&entries, "Caregivers evening");
    assert_eq!(biweekly["day"], 3);
    assert_eq!(biweekly["time"], "18:30");
    assert_eq!(biweekly["notes"], "Every other week.");

    let monthly = by_name(&entries, "Caregivers Friday");
    assert_eq!(monthly["day"], 5);
    assert_eq!(monthly["notes"], "Once a month: the second Friday.");

    assert!(
        said.contains("Caregivers lunch (meeting 4): monthly by date"),
        "the series without a weekday is named as left out: {said}"
    );
}

#[tokio::test]
async fn a_slug_is_unique_and_stays_when_the_group_is_renamed() {
    let bot = Bot::new().await;
    bot.say("admin", GRIEF).await;
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-24 19:00" repeat:weekly"#,
    )
    .await;
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-26 19:00" repeat:weekly"#,
    )
    .await;
    let (_, before) = feed(&bot).await;
    bot.say("admin", r#"group edit group:#1 name:"Loss and grief""#).await;
    let (_, after) = feed(&bot).await;

    let slugs: Vec<&Value> = before.iter().map(|e| &e["slug"]).collect();
    assert_eq!(slugs, ["grief-circle", "grief-circle-2"]);
    let kept: Vec<&Value> = after.iter().map(|e| &e["slug"]).collect();
    assert_eq!(kept, slugs);
    assert_eq!(after[0]["name"], "Loss and grief");
}

#[tokio::test]
async fn the_calendar_carries_each_series_place_and_a_stamp_from_the_clock() {
    let bot = Bot::new().await;
    bot.say(
        "admin",
        "group create name:Online topic:grief led_by:peer location:https://meet.example/x",
    )
    .await;
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-24 19:00" repeat:weekly"#,
    )
    .await;
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-25 19:00" where:"Room 4""#,
    )
    .await;

    let answer = bot.say("ann", "meeting calendar").await;

    let ics = answer.reply.unwrap().message.attachment.unwrap().content;
    assert!(ics.contains("LOCATION:https://meet.example/x"), "{ics}");
    assert!(ics.contains("LOCATION:Room 4"), "{ics}");
    let stamps: Vec<&str> = ics.lines().filter(|l| l.starts_with("DTSTAMP")).collect();
    assert_eq!(stamps, ["DTSTAMP:20260319T100000Z", "DTSTAMP:20260319T100000Z"]);
}

/// An open group and a closed one (registration needed), both meeting
/// online at a link with a password in it.
async fn open_and_closed(bot: &Bot) {
    bot.say(
        "admin",
        r#"group create name:"Grief circle" topic:grief led_by:peer format:online location:https://Meet.Example/Grief?pwd=OpenAbC"#,
    )
    .await;
    bot.say(
        "admin",
        r#"group create name:"Caregivers" topic:caregiving led_by:peer format:online location:https://Meet.Example/Care?pwd=SeCrEt9 registration:"Write to the facilitator""#,
    )
    .await;
}

#[tokio::test]
async fn the_directory_shows_no_closed_groups_link_and_keeps_an_open_ones_case() {
    let bot = Bot::new().await;
    open_and_closed(&bot).await;

    let list = bot.say("ann", "group list").await;
    let listed = text(&list);

    assert_eq!(list.reply.unwrap().visibility, crate::Visibility::Public);
    assert!(listed.contains("https://Meet.Example/Grief?pwd=OpenAbC"), "{listed}");
    assert!(
        !listed.contains("SeCrEt9") && !listed.to_lowercase().contains("secret9"),
        "{listed}"
    );
    assert!(listed.contains("online: the link is for members"), "{listed}");
}

#[tokio::test]
async fn the_feed_leaves_out_a_closed_groups_link() {
    let bot = Bot::new().await;
    open_and_closed(&bot).await;
    for group in ["\"Grief circle\"", "Caregivers"] {
        bot.say(
            "admin",
            &format!(r#"meeting schedule group:{group} when:"2026-03-24 19:00" repeat:weekly timezone:UTC"#),
        )
        .await;
    }

    let (_, entries) = feed(&bot).await;

    assert_eq!(
        by_name(&entries, "Grief circle")["conference_url"],
        "https://Meet.Example/Grief?pwd=OpenAbC"
    );
    let closed = by_name(&entries, "Caregivers");
    assert!(closed.get("conference_url").is_none_or(Value::is_null), "{closed}");
    assert!(!closed.to_string().contains("SeCrEt9"), "{closed}");
    assert_eq!(closed["types"], serde_json::json!(["ONL", "C"]));
}

#[tokio::test]
async fn a_closed_groups_card_shows_its_link_to_its_members_alone() {
    let bot = Bot::new().await;
    open_and_closed(&bot).await;
    // Registration first: the admin admits bo once registered.
    bot.say("admin", "group join group:Caregivers user:bo").await;

    let stranger = bot.say("ann", "group info group:Caregivers").await;
    let member = bot.say("bo", "group info group:Caregivers").await;

    assert_eq!(stranger.reply.as_ref().unwrap().visibility, crate::Visibility::Public);
    assert!(!text(&stranger).contains("SeCrEt9"), "{}", text(&stranger));
    assert_eq!(member.reply.as_ref().unwrap().visibility, crate::Visibility::Private);
    assert!(
        text(&member).contains("https://Meet.Example/Care?pwd=SeCrEt9"),
        "{}",
        text(&member)
    );
}

#[tokio::test]
async fn a_closed_groups_link_in_the_chat_calendar_is_for_its_members_alone() {
    let bot = Bot::new().await;
    open_and_closed(&bot).await;
    bot.say("admin", "group join group:Caregivers user:bo").await;
    bot.say(
        "admin",
        r#"meeting schedule group:Caregivers when:"2026-03-24 19:00" repeat:weekly timezone:UTC"#,
    )
    .await;

    // The file, and whether the reply is the asker's alone (a DM on
    // Matrix) rather than one the room may see.
    let calendar = |who: &'static str, asked: &'static str| {
        let bot = &bot;
        async move {
            let reply = bot.say(who, asked).await.reply.unwrap();
            (reply.message.attachment.unwrap().content, reply.personal)
        }
    };
    let strangers = [
        calendar("ann", "meeting calendar").await,
        calendar("ann", "meeting calendar group:Caregivers").await,
    ];
    let (members, personal) = calendar("bo", "meeting calendar").await;

    for (ics, personal) in &strangers {
        assert!(ics.contains("BEGIN:VEVENT"), "{ics}");
        assert!(!ics.to_lowercase().contains("secret9"), "{ics}");
        assert!(!personal, "a calendar anyone may read can be a reply in the room");
    }
    assert!(members.contains("https://Meet.Example/Care?pwd=SeCrEt9"), "{members}");
    assert!(personal, "a member's calendar with the closed link goes to them alone");
}

#[tokio::test]
async fn a_groups_payment_handles_reach_its_card_and_the_feed_and_clear_away() {
    let bot = Bot::new().await;
    bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
        .await;
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-24 19:00" repeat:weekly timezone:UTC"#,
    )
    .await;

    let card = text(&bot.say("admin", "group edit group:#1 venmo:@grief square:$grief").await);
    let (_, entries) = feed(&bot).await;
    bot.say("admin", "group edit group:#1 clear:venmo").await;
    let (_, cleared) = feed(&bot).await;

    assert!(
        card.contains("Contributions: Venmo @grief · Square $grief (never expected)"),
        "{card}"
    );
    assert_eq!(entries[0]["venmo"], "@grief");
    assert_eq!(entries[0]["square"], "$grief");
    assert!(entries[0].get("paypal").is_none(), "absent fields are left out");
    assert!(cleared[0].get("venmo").is_none(), "{cleared:?}");
}
