//! `/mydata` and `/forgetme` through the core: every kind of data a member
//! leaves, shown, then erased so that no table names them.

use super::*;
use crate::privacy::member_tables;

const ID: &str = "zeph-4417";
const NAME: &str = "Zephyrine Quill";

async fn say_as(bot: &Bot, community: &str, text: &str) -> Response {
    let invocation = crate::parse::parse_command(text).unwrap();
    bot.hearth
        .handle(&Input {
            actor: Actor::member(ID, NAME),
            place: Place {
                community: community.into(),
                ..bot.place("general")
            },
            kind: InputKind::Command(invocation),
        })
        .await
}

/// One of each kind of data Hearth keeps about Zephyrine.
async fn a_member_with_everything() -> Bot {
    let bot = Bot::new().await;
    bot.say("admin", GRIEF).await;
    bot.say(
        "admin",
        &format!(r#"group facilitator group:"Grief circle" user:{ID} action:add"#),
    )
    .await;
    bot.say(
        "admin",
        r#"group create name:Intake topic:grief led_by:peer registration:"Write to us" tell_facilitators:on"#,
    )
    .await;
    let z = |text: &'static str| say_as(&bot, "local", text);
    z("timezone zone:Europe/Berlin dates:day_first").await;
    z("group join group:#1").await;
    z("group join group:#2").await;
    z("reminders leads:2h dm:on quiet:23:00-07:00").await;
    z(r#"meeting schedule group:#1 when:"2026-03-26 19:00" repeat:weekly"#).await;
    z("meeting rsvp meeting:1 answer:yes").await;
    z("checkin share mood:2 note:zephsecretnote").await;
    z("checkin remind time:20:00").await;
    // A service role she took, in the group she facilitates.
    z("role assign group:#1 role:chair").await;
    z("role assign group:#1 role:reader").await;
    z("role signup group:#1 role:reader").await;
    // The talking stick: a circle she runs and takes part in; voice presence
    // and a server mute as the Discord adapter records them.
    let started = text(&z("circle start group:#1").await);
    assert!(started.contains("circle"), "{started}");
    z("circle join").await;
    let store = bot.hearth.store();
    let me: i64 = crate::store::query_scalar("SELECT id FROM members WHERE external_id = ?")
        .bind(ID)
        .fetch_one(store)
        .await
        .unwrap();
    crate::store::query(
        "INSERT INTO voice_presence (community_id, channel, member_id, since) VALUES (1, 'voice', ?, 1773914400)",
    )
    .bind(me)
    .execute(store)
    .await
    .unwrap();
    crate::store::query(
        "INSERT INTO circle_mutes (community_id, member_id, channel, circle_id, stage, muted_at)
             VALUES (1, ?, 'voice', NULL, FALSE, 1773914400)",
    )
    .bind(me)
    .execute(store)
    .await
    .unwrap();
    // Her private calendar link (issue 29), as `/meeting calendar subscribe`
    // keeps it where the operator serves the web: a hash of its token.
    crate::publish::subscribe(store, me, bot.hearth.now()).await.unwrap();
    // A community of her own, where she spoke first and so is its recorded admin.
    bot.hearth
        .claim_admin(
            &Place {
                community: "elsewhere".into(),
                ..bot.place("general")
            },
            &Actor::member(ID, NAME),
        )
        .await
        .unwrap();
    bot
}

fn data(response: &Response) -> serde_json::Value {
    let reply = response.reply.as_ref().unwrap();
    let file = reply.message.attachment.as_ref().expect("a file");
    serde_json::from_str(&file.content).unwrap()
}

#[tokio::test]
async fn mydata_holds_a_row_from_every_table_that_names_members() {
    let bot = a_member_with_everything().await;

    let answer = say_as(&bot, "local", "mydata").await;

    assert!(is_private(&answer));
    let summary = text(&answer);
    assert!(summary.contains("Grief circle (member, facilitator)"), "{summary}");
    assert!(summary.contains("time zone Europe/Berlin"), "{summary}");
    let data = data(&answer);
    assert_eq!(data["you"]["user_id"], ID);
    // Every table with a member column, as the schema has them now: a table a
    // later feature adds fails here until this test gives Zephyrine a row in it.
    let tables = member_tables(bot.hearth.store()).await.unwrap();
    assert!(tables.len() >= 8, "{tables:?}");
    for table in &tables {
        let rows = data["rows"][table].as_array();
        assert!(rows.is_some_and(|r| !r.is_empty()), "/mydata shows nothing of {table}");
    }
    assert_eq!(data["rows"]["checkins"][0]["note"], "zephsecretnote");
    assert_eq!(data["rows"]["reminder_settings"][0]["quiet_start"], "23:00");
    assert_eq!(data["rows"]["rsvps"][0]["answer"], "yes");
    let jobs = data["rows"]["jobs"].as_array().unwrap();
    assert!(jobs.iter().any(|j| j["state"] == "pending"), "{jobs:?}");
}

/// Every (table, column) whose text holds `needle`, across the whole schema.
async fn cells_holding(store: &crate::Store, needle: &str) -> Vec<String> {
    crate::tests::cells_holding(store, needle)
        .await
        .into_iter()
        .map(|(table, column, _)| format!("{table}.{column}"))
        .collect()
}

#[tokio::test]
async fn forgetme_first_says_what_then_leaves_no_table_naming_the_member() {
    let bot = a_member_with_everything().await;
    let store = bot.hearth.store();
    assert!(!cells_holding(store, ID).await.is_empty(), "the scan finds her before");

    let preview = say_as(&bot, "local", "forgetme").await;
    let still_there = cells_holding(store, NAME).await;
    let erased = say_as(&bot, "local", "forgetme confirm:yes").await;

    assert!(is_private(&preview));
    let preview = text(&preview);
    assert!(preview.contains("RSVPs: 1"), "{preview}");
    assert!(preview.contains("forgetme confirm:yes"), "{preview}");
    assert!(
        preview.contains("only facilitator of Grief circle") && preview.contains("(admin)"),
        "{preview}"
    );
    assert!(!still_there.is_empty(), "a preview erases nothing");
    assert!(text(&erased).contains("Nothing of it is left"), "{}", text(&erased));
    // The server mute the bot held on her is undone before its record goes.
    let unmutes: Vec<&crate::Effect> = erased
        .effects
        .iter()
        .filter(|e| matches!(e, crate::Effect::Mute { mute: false, user, .. } if user == ID))
        .collect();
    assert_eq!(unmutes.len(), 1, "{:?}", erased.effects);
    for needle in [ID, NAME, "zephsecretnote"] {
        let left = cells_holding(store, needle).await;
        assert!(left.is_empty(), "{needle} is still in {left:?}");
    }
    // What she set up for the group stays.
    assert!(text(&bot.say("admin", "meeting list").await).contains("Grief circle"));
}

/// The export reaches only SQL of its own here (the rows are put in
/// directly), so this runs on PostgreSQL as well (`HEARTH_TEST_POSTGRES`):
/// the same tables with a member column, and each row the same, with
/// instants as UTC dates and flags as 1 or 0 on either database.
#[tokio::test]
async fn mydata_reads_the_same_rows_on_either_database() {
    let store = crate::Store::for_test().await.unwrap();
    for sql in [
        "INSERT INTO communities (id, platform, external_id, timezone) VALUES (1, 'console', 'local', 'UTC')",
        "INSERT INTO members (id, platform, external_id, display_name) VALUES (1, 'console', 'zeph', 'Zeph')",
        "INSERT INTO members (id, platform, external_id, display_name) VALUES (2, 'console', 'ann', 'Ann')",
        "INSERT INTO community_admins (community_id, member_id) VALUES (1, 1)",
        "INSERT INTO groups (id, community_id, name, name_key, topic, led_by, format, home_channel, guideline)
             VALUES (1, 1, 'Grief circle', 'grief circle', 'grief', 'peer', 'online', 'general', 'Be kind')",
        "INSERT INTO groups (id, community_id, name, name_key, topic, led_by, format, home_channel, guideline)
             VALUES (2, 1, 'Intake', 'intake', 'grief', 'peer', 'online', 'general', 'Be kind')",
        "INSERT INTO group_members (group_id, member_id, joined_at) VALUES (1, 1, 1773914400)",
        "INSERT INTO group_members (group_id, member_id, joined_at) VALUES (1, 2, 1773914400)",
        "INSERT INTO group_facilitators (group_id, member_id) VALUES (1, 1)",
        "INSERT INTO group_facilitators (group_id, member_id) VALUES (2, 1)",
        "INSERT INTO reminder_settings (member_id, leads, dm, quiet_start, quiet_end)
             VALUES (1, '2h', TRUE, '23:00', '07:00')",
        "INSERT INTO voice_presence (community_id, channel, member_id, since, until, may_mute)
             VALUES (1, 'voice', 1, 1773914400, NULL, FALSE)",
        "INSERT INTO voice_presence (community_id, channel, member_id, since, until, may_mute)
             VALUES (1, 'voice', 2, 1773914400, NULL, TRUE)",
        "INSERT INTO circle_mutes (community_id, member_id, channel, circle_id, stage, muted_at)
             VALUES (1, 1, 'voice', NULL, TRUE, 1773914401)",
        "INSERT INTO group_roles (group_id, kind) VALUES (1, 'chair')",
        "INSERT INTO role_holders (group_id, kind, backup, member_id, last_day, assigned_at)
             VALUES (1, 'chair', TRUE, 1, '2026-06-30', 1773914400)",
    ] {
        crate::store::query(sql).execute(&store).await.unwrap();
    }
    let me = crate::members::Member {
        id: 1,
        external_id: "zeph".into(),
        display_name: "Zeph".into(),
        timezone: None,
    };

    let tables = member_tables(&store).await.unwrap();
    let answer = crate::privacy::mydata(&store, &me, "console").await.unwrap();

    assert_eq!(
        tables,
        [
            "calendar_feeds",
            "checkin_settings",
            "checkins",
            "circle_mutes",
            "circle_participants",
            "community_admins",
            "date_settings",
            "group_facilitators",
            "group_members",
            "jobs",
            "join_requests",
            "reminder_settings",
            "role_holders",
            "rsvps",
            "voice_presence",
        ]
    );
    let summary = answer.plain("/");
    assert!(
        summary.contains("Groups: Grief circle (member, facilitator); Intake (facilitator)."),
        "{summary}"
    );
    assert!(
        summary.contains("Reminders: before meetings 2h; by DM on; quiet hours 23:00-07:00."),
        "{summary}"
    );
    let file = answer.attachment.as_ref().expect("a file");
    let data: serde_json::Value = serde_json::from_str(&file.content).unwrap();
    assert_eq!(
        data["rows"],
        serde_json::json!({
            "circle_mutes": [{"community_id": 1, "member_id": 1, "channel": "voice", "circle_id": null,
                              "stage": 1, "releasing": 0, "muted_at": "2026-03-19T10:00:01Z"}],
            "community_admins": [{"community_id": 1, "member_id": 1}],
            "group_facilitators": [{"group_id": 1, "member_id": 1}, {"group_id": 2, "member_id": 1}],
            "group_members": [{"group_id": 1, "member_id": 1, "joined_at": "2026-03-19T10:00:00Z"}],
            "reminder_settings": [{"member_id": 1, "leads": "2h", "dm": 1, "quiet_start": "23:00", "quiet_end": "07:00"}],
            "role_holders": [{"group_id": 1, "kind": "chair", "backup": 1, "member_id": 1, "last_day": "2026-06-30",
                              "assigned_at": "2026-03-19T10:00:00Z"}],
            "voice_presence": [{"community_id": 1, "channel": "voice", "member_id": 1, "until": null,
                                "may_mute": 0, "since": "2026-03-19T10:00:00Z"}],
        })
    );
}
