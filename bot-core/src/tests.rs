//! Feature tests through the core's front door: typed text in, responses out,
//! on a fresh in-memory database and a manual clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::{Actor, CoreConfig, Hearth, Input, InputKind, ManualClock, Place, Platform, Response, Store, Visibility};

pub(crate) struct Bot {
    pub hearth: Hearth,
    pub clock: ManualClock,
}

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

impl Bot {
    /// A bot whose community's admin is `admin`.
    pub async fn new() -> Self {
        let clock = ManualClock::new(at("2026-03-19T10:00:00Z"));
        let hearth = Hearth::new(
            Store::in_memory().await.unwrap(),
            Arc::new(clock.clone()),
            CoreConfig::default(),
        );
        let bot = Self { hearth, clock };
        bot.hearth
            .claim_admin(&bot.place("general"), &Actor::member("admin", "admin"))
            .await
            .unwrap();
        bot
    }

    fn place(&self, channel: &str) -> Place {
        Place {
            platform: Platform::Console,
            community: "local".into(),
            channel: channel.into(),
        }
    }

    /// `who` types `text` (without prefix) in #general.
    pub async fn say(&self, who: &str, text: &str) -> Response {
        let invocation = match crate::parse::parse_command(text) {
            Ok(invocation) => invocation,
            Err(e) => return Response::private(e.to_message()),
        };
        self.hearth
            .handle(&Input {
                actor: Actor::member(who, who),
                place: self.place("general"),
                kind: InputKind::Command(invocation),
            })
            .await
    }
}

/// The reply as plain text.
pub(crate) fn text(response: &Response) -> String {
    response
        .reply
        .as_ref()
        .map(|r| r.message.plain("/"))
        .unwrap_or_default()
}

fn is_private(response: &Response) -> bool {
    response
        .reply
        .as_ref()
        .is_some_and(|r| r.visibility == Visibility::Private)
}

const GRIEF: &str = r#"group create name:"Grief circle" topic:grief led_by:peer capacity:2"#;

mod groups {
    use super::*;

    #[tokio::test]
    async fn admin_creates_a_group_whose_card_answers_the_usual_questions() {
        let bot = Bot::new().await;

        let created = bot
            .say(
                "admin",
                r#"group create name:"Grief circle" topic:grief led_by:professional format:hybrid location:"Room 4, Town Hall" capacity:12 cost:free ends:2027-02-01"#,
            )
            .await;

        let card = text(&created);
        assert!(!is_private(&created));
        for expected in [
            "Grief circle",
            "Focus: grief",
            "Led: Professionally facilitated",
            "Meets: No meetings scheduled yet",
            "Term: Fixed term, until Mon 1 Feb 2027",
            "Size: 0 of 12 places taken",
            "Cost: free",
            "Registration: None needed",
            "Format: Hybrid (in person and online): Room 4, Town Hall",
            "Home: #general",
            "Confidentiality: What is shared here stays here.",
        ] {
            assert!(card.contains(expected), "missing {expected:?} in\n{card}");
        }
        let buttons = &created.reply.unwrap().message.buttons;
        assert_eq!(buttons[0].command, "group join group:#1");
    }

    #[tokio::test]
    async fn member_cannot_create_a_group_and_is_told_who_can() {
        let bot = Bot::new().await;

        let refused = bot.say("carol", GRIEF).await;

        assert!(is_private(&refused));
        assert_eq!(text(&refused), "Only a community admin can use /group create.");
        assert!(text(&bot.say("carol", "group list").await).contains("No groups yet"));
    }

    #[tokio::test]
    async fn group_names_are_unique_without_regard_to_case() {
        let bot = Bot::new().await;
        bot.say("admin", GRIEF).await;

        let again = bot
            .say("admin", r#"group create name:"GRIEF CIRCLE" topic:x led_by:peer"#)
            .await;

        assert!(text(&again).contains("already a group called GRIEF CIRCLE"));
    }

    #[tokio::test]
    async fn an_appointed_facilitator_may_edit_their_group_and_only_theirs() {
        let bot = Bot::new().await;
        bot.say("admin", GRIEF).await;
        bot.say("admin", "group create name:Caregivers topic:caregiving led_by:peer")
            .await;

        let before = bot.say("bob", "group edit group:#1 cost:free").await;
        let appointed = bot
            .say("admin", "group facilitator group:#1 user:@bob action:add")
            .await;
        let edited = bot
            .say(
                "bob",
                r#"group edit group:"grief circle" cost:free guideline:"Names stay in the room.""#,
            )
            .await;
        let other = bot.say("bob", "group edit group:Caregivers cost:free").await;

        assert_eq!(
            text(&before),
            "Only a facilitator of Grief circle or a community admin can use /group edit."
        );
        assert_eq!(appointed.reply.as_ref().unwrap().message.pings, vec!["bob".to_string()]);
        assert!(text(&edited).contains("Cost: free"), "{}", text(&edited));
        assert!(text(&edited).contains("Confidentiality: Names stay in the room."));
        assert!(text(&edited).contains("Led: Peer-led, by @bob"));
        assert!(text(&other).starts_with("Only a facilitator of Caregivers"));
    }

    #[tokio::test]
    async fn removing_a_facilitator_takes_their_rights_away() {
        let bot = Bot::new().await;
        bot.say("admin", GRIEF).await;
        bot.say("admin", "group facilitator group:#1 user:bob action:add").await;

        let removed = bot
            .say("admin", "group facilitator group:#1 user:bob action:remove")
            .await;
        let edit = bot.say("bob", "group edit group:#1 cost:free").await;

        assert!(text(&removed).contains("no longer facilitates"));
        assert!(text(&edit).starts_with("Only a facilitator"));
    }

    #[tokio::test]
    async fn edit_without_a_field_changes_nothing_and_says_so() {
        let bot = Bot::new().await;
        bot.say("admin", GRIEF).await;

        let edit = bot.say("admin", "group edit group:#1").await;

        assert!(text(&edit).contains("needs at least one field"));
    }

    #[tokio::test]
    async fn joining_respects_capacity_and_is_private() {
        let bot = Bot::new().await;
        bot.say("admin", GRIEF).await;

        let first = bot.say("ann", "group join group:#1").await;
        let twice = bot.say("ann", "group join Grief circle").await;
        bot.say("ben", "group join group:#1").await;
        let full = bot.say("cat", "group join group:#1").await;
        bot.say("ann", "group leave group:#1").await;
        let now_room = bot.say("cat", "group join group:#1").await;

        assert!(is_private(&first));
        assert!(text(&first).starts_with("You've joined Grief circle"));
        assert_eq!(text(&twice), "You're already in Grief circle.");
        assert!(text(&full).starts_with("Grief circle is full (2 of 2)"));
        assert!(text(&now_room).starts_with("You've joined"));
        assert!(text(&bot.say("ann", "group info group:#1").await).contains("Size: 2 of 2 places taken"));
    }

    #[tokio::test]
    async fn an_unknown_group_gets_the_closest_names() {
        let bot = Bot::new().await;
        bot.say("admin", GRIEF).await;

        let missing = bot.say("ann", "group info group:grief").await;

        assert_eq!(
            text(&missing),
            "There is no group by that name here. Did you mean Grief circle?"
        );
    }

    #[tokio::test]
    async fn the_directory_filters_by_topic_and_speaks_meeting_guide() {
        let bot = Bot::new().await;
        bot.say("admin", GRIEF).await;
        bot.say(
            "admin",
            "group create name:Caregivers topic:caregiving led_by:peer format:in_person",
        )
        .await;

        let grief = text(&bot.say("ann", "group list topic:GRIEF").await);
        let guide = bot.say("ann", "group list format:meeting_guide").await;

        assert!(
            grief.contains("Grief circle") && !grief.contains("Caregivers"),
            "{grief}"
        );
        let attachment = guide.reply.unwrap().message.attachment.unwrap();
        let json: serde_json::Value = serde_json::from_str(&attachment.content).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 2);
        assert_eq!(json[0]["name"], "Caregivers");
        assert_eq!(json[0]["types"], serde_json::json!([]));
        assert_eq!(json[1]["types"], serde_json::json!(["ONL"]));
    }

    #[tokio::test]
    async fn a_group_can_live_in_another_channel() {
        let bot = Bot::new().await;

        let created = bot
            .say(
                "admin",
                "group create name:Recovery topic:recovery led_by:peer channel:#recovery-room",
            )
            .await;

        assert!(text(&created).contains("Home: #recovery-room"));
    }
}

mod roles {
    use super::*;

    #[tokio::test]
    async fn a_platform_admin_is_admin_without_being_recorded() {
        let bot = Bot::new().await;
        let mut actor = Actor::member("123", "Dana");
        actor.platform_admin = true;

        let response = bot
            .hearth
            .handle(&Input {
                actor,
                place: bot.place("general"),
                kind: InputKind::Command(crate::parse::parse_command(GRIEF).unwrap()),
            })
            .await;

        assert!(text(&response).starts_with("Grief circle"), "{}", text(&response));
    }

    #[tokio::test]
    async fn only_the_first_claimant_becomes_the_recorded_admin() {
        let bot = Bot::new().await;

        let second = bot
            .hearth
            .claim_admin(&bot.place("general"), &Actor::member("eve", "eve"))
            .await;

        assert!(!second.unwrap());
        assert!(text(&bot.say("eve", GRIEF).await).starts_with("Only a community admin"));
    }
}

mod timezone {
    use super::*;

    #[tokio::test]
    async fn a_member_sets_and_reads_back_their_zone_privately() {
        let bot = Bot::new().await;

        let unset = bot.say("ann", "timezone").await;
        let set = bot.say("ann", "timezone zone:america/new_york").await;
        bot.clock.advance(chrono::Duration::hours(1));
        let shown = bot.say("ann", "timezone").await;

        assert!(is_private(&set));
        assert!(text(&unset).contains("You haven't set a time zone"));
        assert!(
            text(&set).contains("America/New_York (it's Thu 19 Mar, 06:00 there)"),
            "{}",
            text(&set)
        );
        assert!(text(&shown).starts_with("Your time zone is America/New_York (it's Thu 19 Mar, 07:00"));
    }

    #[tokio::test]
    async fn a_wrong_zone_changes_nothing_and_suggests() {
        let bot = Bot::new().await;
        bot.say("ann", "timezone zone:Europe/Berlin").await;

        let wrong = bot.say("ann", "timezone zone:Europe/Berln").await;

        assert!(text(&wrong).contains("Did you mean Europe/Berlin"), "{}", text(&wrong));
        assert!(text(&bot.say("ann", "timezone").await).starts_with("Your time zone is Europe/Berlin"));
    }
}

mod help {
    use super::*;

    #[tokio::test]
    async fn help_lists_every_command_in_the_spec() {
        let bot = Bot::new().await;

        let help = text(&bot.say("ann", "help").await);

        for c in crate::spec::COMMANDS {
            assert!(help.contains(&format!("/{}:", c.name)), "{} missing", c.name);
        }
    }

    #[tokio::test]
    async fn help_for_one_command_lists_its_options() {
        let bot = Bot::new().await;

        let help = text(&bot.say("ann", r#"help command:"/group facilitator""#).await);

        assert!(help.contains("Who can use it: community admins."));
        assert!(help.contains("action (required): add or remove; one of: add, remove."));
        assert!(help.contains("Example: /group facilitator group:… user:… action:…"));
    }

    #[test]
    fn every_command_in_the_spec_has_a_handler() {
        for c in crate::spec::COMMANDS {
            let args = c
                .options
                .iter()
                .filter(|o| o.required)
                .map(|o| {
                    let value = match o.kind {
                        crate::spec::Kind::Choice(choices) => choices[0].to_string(),
                        crate::spec::Kind::Int { min, .. } => min.to_string(),
                        crate::spec::Kind::Date => "2027-01-01".into(),
                        crate::spec::Kind::Timezone => "UTC".into(),
                        crate::spec::Kind::Command => "help".into(),
                        _ => "x".into(),
                    };
                    (o.name.to_string(), value)
                })
                .collect();
            let bound = crate::parse::bind(&crate::Invocation {
                command: c.name.into(),
                args,
            })
            .unwrap();
            assert!(
                crate::hearth::Command::from_bound(&bound).is_some(),
                "{} has no handler",
                c.name
            );
        }
    }
}

mod bad_input {
    use super::*;

    #[tokio::test]
    async fn bad_input_changes_nothing_and_gets_a_clear_private_error() {
        let bot = Bot::new().await;
        let long = "x".repeat(10_000);
        let cases = [
            ("frobnicate", "I don't know that command."),
            ("group create name:x topic:y", "/group create needs led_by:…"),
            (
                &format!("group create name:{long} topic:y led_by:peer"),
                "too long for a command (10038 characters",
            ),
            (
                &format!("group create name:{} topic:y led_by:peer", &long[..500]),
                "name is too long (500 characters; at most 80)",
            ),
            (
                "group create name:\"Grief topic:y led_by:peer",
                "A quote was left open.",
            ),
            ("group create name:#7 topic:y led_by:peer", "name can't start with #"),
            (
                "group create name:x topic:y led_by:nobody",
                "led_by must be one of: peer, professional.",
            ),
            ("timezone zone:Mars/Olympus", "I don't know that time zone."),
        ];
        for (input, expected) in cases {
            let response = bot.say("admin", input).await;

            assert!(is_private(&response), "{input}");
            assert!(text(&response).contains(expected), "{input:.60}: {}", text(&response));
        }
        assert!(text(&bot.say("admin", "group list").await).contains("No groups yet"));
        assert!(text(&bot.say("admin", "timezone").await).contains("You haven't set a time zone"));
    }
}
