//! Who may do what, as one table: every command of the spec, for each role a
//! person can hold (a member, a group's facilitator, another group's
//! facilitator, a community admin, and someone with platform powers but no
//! Hearth role), on each platform's own role mapping (the adapters' mapping
//! functions, fed the platform's facts), against the table below. A command
//! added to the spec without a row fails this test.
//!
//! A case is refused when the answer says who may ("Only a community admin
//! can …", "Only the one holding the stick, or a facilitator, …"); anything
//! else (done, or a refusal that is not about who, such as "you're not in
//! this circle") passed the gate.

#![expect(clippy::unwrap_used, reason = "a test harness should fail loudly")]

use std::sync::Arc;

use bot_core::{Actor, ChannelFact, CoreConfig, Hearth, Input, InputKind, ManualClock, Place, Platform, Store, parse};
use hearth_discord::roles::Permissions;

/// The roles a person can hold, in the table's column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persona {
    Member,
    /// Appointed facilitator of Grief, the group the rows name.
    GroupFacilitator,
    /// Appointed facilitator of Walkers, another group.
    OtherFacilitator,
    CommunityAdmin,
    /// Platform powers, no Hearth role: a Discord moderator (Mute Members,
    /// Kick, Manage Messages, Manage Channels, not Manage Server); a Matrix
    /// child room's creator (100 in the room, 0 in the space); on the
    /// console, which has no platform roles, a plain speaker.
    PlatformAdminWithoutRole,
}

const PERSONAS: [Persona; 5] = [
    Persona::Member,
    Persona::GroupFacilitator,
    Persona::OtherFacilitator,
    Persona::CommunityAdmin,
    Persona::PlatformAdminWithoutRole,
];

/// One row: what is typed (in `other` channel, for a row that must not
/// meet the circle running in the usual one) and who may, by persona in
/// [`PERSONAS`] order (`Y` may, `N` is refused).
struct Row {
    typed: &'static str,
    other: bool,
    who: &'static str,
}

const fn row(typed: &'static str, who: &'static str) -> Row {
    Row {
        typed,
        other: false,
        who,
    }
}

/// The table. Grief (#1) has a facilitator, a weekly meeting (number 1) and
/// a circle running in the channel; Walkers (#2) another facilitator; the
/// community a crisis line (resource 1) and a reading link (resource 2).
const TABLE: &[Row] = &[
    row("help", "YYYYY"),
    row("group create name:New topic:t led_by:peer", "NNNYN"),
    row("group edit group:Grief cost:free", "NYNYN"),
    row("group info group:Grief", "YYYYY"),
    row("group list", "YYYYY"),
    row("group join group:Grief", "YYYYY"),
    row("group join group:Grief user:someone", "NYNYN"),
    row("group leave group:Grief", "YYYYY"),
    row("group facilitator group:Grief user:someone action:add", "NNNYN"),
    row("group retire group:Grief", "NNNYN"),
    row(r#"meeting schedule group:Grief when:"2026-04-01 19:00""#, "NYNYN"),
    // confirm:yes (issue 23) goes ahead past a clash, never past the role.
    row(
        r#"meeting schedule group:Grief when:"2026-04-01 19:00" confirm:yes"#,
        "NYNYN",
    ),
    row("meeting list", "YYYYY"),
    row("meeting cancel meeting:1", "NYNYN"),
    row(r#"meeting move meeting:1 when:"2026-03-27 19:00""#, "NYNYN"),
    row(r#"meeting move meeting:1 when:"2026-03-27 19:00" confirm:yes"#, "NYNYN"),
    row("meeting edit meeting:1 when:18:00", "NYNYN"),
    row("meeting edit meeting:1 clear:where confirm:yes", "NYNYN"),
    row("meeting rsvp meeting:1 answer:yes", "YYYYY"),
    row("meeting calendar", "YYYYY"),
    // The meeting itself (issue 28): its run and its script.
    row("meeting start group:Grief", "NYNYN"),
    row("meeting next group:Grief", "NYNYN"),
    row("meeting back group:Grief", "NYNYN"),
    row("meeting skip group:Grief", "NYNYN"),
    row("meeting extend group:Grief", "NYNYN"),
    row("meeting end group:Grief", "NYNYN"),
    row("meeting phrase phrase:move_on group:Grief", "NYNYN"),
    row("meeting script show group:Grief", "YYYYY"),
    row("meeting script edit group:Grief step:1 title:Hello", "NYNYN"),
    row("meeting script template group:Grief template:general", "NYNYN"),
    row("meeting script export group:Grief", "NYNYN"),
    row("meeting script import group:Grief toml:x", "NYNYN"),
    // Service roles (issue 28): a member may sign up (here the role is not
    // used, and they are told so), never assign or stop using a role.
    row("role list group:Grief", "YYYYY"),
    row("role assign group:Grief role:timekeeper user:someone", "NYNYN"),
    row("role signup group:Grief role:timekeeper", "YYYYY"),
    row("role release group:Grief role:chair place:role", "NYNYN"),
    row("reminders leads:2h", "YYYYY"),
    row("reminders group:Grief leads:2h", "NYNYN"),
    row("reminders clear:leads", "YYYYY"),
    row("reminders group:Grief channel:off clear:leads", "NYNYN"),
    row("timezone", "YYYYY"),
    row("timezone dates:month_first", "YYYYY"),
    row("crisis", "YYYYY"),
    row("checkin share mood:3", "YYYYY"),
    row("checkin history", "YYYYY"),
    row(r#"checkin schedule group:Grief when:"tue 19:00""#, "NYNYN"),
    row("checkin schedule group:Grief when:list", "NYNYN"),
    row("checkin schedule group:Grief when:off schedule:1", "NYNYN"),
    row("checkin remind time:20:00", "YYYYY"),
    row("checkin summary group:Grief", "NYNYN"),
    Row {
        typed: "circle start group:Grief",
        other: true,
        who: "NYNYN",
    },
    row("circle mode mode:queue", "NYNYN"),
    row("circle join", "YYYYY"),
    row("circle leave", "YYYYY"),
    row("circle pass", "YYYYY"),
    row("circle next", "NYNYN"),
    row("circle status", "YYYYY"),
    row("circle end", "NYNYN"),
    row("hand raise", "YYYYY"),
    row("hand lower", "YYYYY"),
    row("resources list", "YYYYY"),
    row(
        "resources add title:Reading url:https://read.example topic:reading",
        "NYYYN",
    ),
    row(
        "resources add title:Line url:https://line.example topic:crisis",
        "NNNYN",
    ),
    row("resources remove resource:2", "NYYYN"),
    row("resources remove resource:1", "NNNYN"),
    row("mydata", "YYYYY"),
    row("forgetme", "YYYYY"),
    // The web (issue 29): publishing is admins'; a calendar link, anyone's own.
    row("community publish on slug:grief-web", "NNNYN"),
    row("community publish off", "NNNYN"),
    row("meeting calendar subscribe", "YYYYY"),
    row("meeting calendar revoke", "YYYYY"),
];

/// Where people speak, on one platform.
struct Platformed {
    platform: Platform,
    community: &'static str,
    channel: &'static str,
    other: &'static str,
}

static PLATFORMS: [Platformed; 3] = [
    Platformed {
        platform: Platform::Console,
        community: "local",
        channel: "general",
        other: "side",
    },
    Platformed {
        platform: Platform::Discord,
        community: "2000",
        channel: "3000",
        other: "3001",
    },
    Platformed {
        platform: Platform::Matrix,
        community: "!space:hs",
        channel: "!room:hs",
        other: "!side:hs",
    },
];

/// The persona's platform id on `platform`.
fn user(platform: Platform, persona: Persona) -> String {
    let n = PERSONAS.iter().position(|p| *p == persona).unwrap();
    match platform {
        Platform::Console => format!("person{n}"),
        Platform::Discord => format!("{}", 100 + n),
        Platform::Matrix => format!("@person{n}:hs"),
    }
}

/// The persona as the platform's adapter maps it to an actor.
fn actor(platform: Platform, persona: Persona) -> Actor {
    let id = user(platform, persona);
    match platform {
        // The console has no platform roles: its admin is the recorded one.
        Platform::Console => Actor::member(&id, &id),
        Platform::Discord => {
            let permissions = match persona {
                Persona::CommunityAdmin => Permissions::MANAGE_GUILD,
                Persona::PlatformAdminWithoutRole => {
                    Permissions::MUTE_MEMBERS
                        | Permissions::KICK_MEMBERS
                        | Permissions::MANAGE_MESSAGES
                        | Permissions::MANAGE_CHANNELS
                }
                _ => Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES,
            };
            let may_mute = hearth_discord::roles::mutes(permissions);
            hearth_discord::roles::actor(&id, &id, permissions, false, may_mute)
        }
        Platform::Matrix => {
            // In a listed child room of the space: (the space's, the room's) levels.
            let (space, room) = match persona {
                Persona::CommunityAdmin => (100, 0),
                Persona::PlatformAdminWithoutRole => (0, 100),
                _ => (0, 0),
            };
            let level = hearth_matrix::roles::root_level(Some(space), room);
            hearth_matrix::roles::actor(&id, &id, level, 50)
        }
    }
}

async fn say(hearth: &Hearth, on: &Platformed, who: &Actor, channel: &str, typed: &str) -> String {
    let invocation = parse::parse_command(typed)
        .unwrap()
        .check_channels(|raw| ChannelFact::Postable(raw.to_string()));
    let input = Input {
        actor: who.clone(),
        place: Place {
            platform: on.platform,
            community: on.community.to_string(),
            channel: channel.to_string(),
        },
        kind: InputKind::Command(invocation),
    };
    let response = hearth.handle(&input).await;
    response.reply.map(|r| r.message.plain("/")).unwrap_or_default()
}

/// A community on `on` as the table describes it, run by its admin persona.
async fn community(on: &Platformed) -> Hearth {
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-19T10:00:00Z")
        .unwrap()
        .to_utc();
    let hearth = Hearth::new(
        Store::in_memory().await.unwrap(),
        Arc::new(ManualClock::new(start)),
        CoreConfig::default(),
    );
    let admin = actor(on.platform, Persona::CommunityAdmin);
    let place = Place {
        platform: on.platform,
        community: on.community.to_string(),
        channel: on.channel.to_string(),
    };
    if on.platform == Platform::Console {
        assert!(hearth.claim_admin(&place, &admin).await.unwrap());
    }
    let fay = actor(on.platform, Persona::GroupFacilitator);
    let walt = actor(on.platform, Persona::OtherFacilitator);
    for typed in [
        "group create name:Grief topic:grief led_by:peer".to_string(),
        "group create name:Walkers topic:walking led_by:peer".to_string(),
        format!("group facilitator group:Grief user:{} action:add", fay.user),
        format!("group facilitator group:Walkers user:{} action:add", walt.user),
        "resources add title:Samaritans url:https://www.samaritans.org topic:crisis".to_string(),
        "resources add title:Books url:https://books.example topic:reading".to_string(),
    ] {
        let said = say(&hearth, on, &admin, on.channel, &typed).await;
        assert!(!said.starts_with("Only "), "{typed}: {said}");
    }
    for typed in [
        r#"meeting schedule group:Grief when:"2026-03-26 19:00" repeat:weekly"#,
        "circle start group:Grief",
    ] {
        let said = say(&hearth, on, &fay, on.channel, typed).await;
        assert!(!said.starts_with("Only "), "{typed}: {said}");
    }
    hearth
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_for_every_role_on_every_platform_matches_the_table() {
    // Arrange: every command of the spec has a row, and every row a command.
    for spec in bot_core::spec::COMMANDS {
        assert!(
            TABLE
                .iter()
                .any(|r| parse::parse_command(r.typed).unwrap().command == spec.name),
            "/{} has no row in the permission table",
            spec.name
        );
    }
    for row in TABLE {
        assert_eq!(row.who.len(), PERSONAS.len(), "{}", row.typed);
    }

    // Act: each case on a community of its own, 32 at a time.
    let mut cases = Vec::new();
    for on in &PLATFORMS {
        for row in TABLE {
            for (i, persona) in PERSONAS.into_iter().enumerate() {
                cases.push(async move {
                    let hearth = community(on).await;
                    let who = actor(on.platform, persona);
                    let channel = if row.other { on.other } else { on.channel };
                    let said = say(&hearth, on, &who, channel, row.typed).await;
                    let allowed = !said.starts_with("Only ");
                    let expected = row.who.as_bytes()[i] == b'Y';
                    (allowed == expected).then_some(()).ok_or_else(|| {
                        format!(
                            "{:?} {:?} /{}: expected {}, got {said:?}",
                            on.platform,
                            persona,
                            row.typed,
                            if expected { "allowed" } else { "refused" }
                        )
                    })
                });
            }
        }
    }
    let total = cases.len();
    let mut wrong = Vec::new();
    let mut pending = cases.into_iter();
    loop {
        let mut batch = tokio::task::JoinSet::new();
        for case in pending.by_ref().take(32) {
            batch.spawn(case);
        }
        if batch.is_empty() {
            break;
        }
        wrong.extend(batch.join_all().await.into_iter().filter_map(Result::err));
    }

    // Assert.
    assert!(
        wrong.is_empty(),
        "{} of {total} cases differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(TABLE.len(), 71, "the table's rows, as the report names them");
    assert_eq!(total, TABLE.len() * PERSONAS.len() * PLATFORMS.len());
}
