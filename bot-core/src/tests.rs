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
        Self::on(Store::for_test().await.unwrap()).await
    }

    /// The same, on a given store (a file, for tests of concurrent writers).
    pub async fn on(store: Store) -> Self {
        let clock = ManualClock::new(at("2026-03-19T10:00:00Z"));
        let hearth = Hearth::new(store, Arc::new(clock.clone()), CoreConfig::default());
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

    /// `who` types `text` (without prefix) in #general; a channel named is
    /// one of the console's, as its adapter says.
    pub async fn say(&self, who: &str, text: &str) -> Response {
        let invocation = match crate::parse::parse_command(text) {
            Ok(invocation) => console_channels(invocation),
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

/// One case of an async property test, run on a runtime of its own.
pub(crate) fn block_on_case(
    case: impl std::future::Future<Output = Result<(), proptest::test_runner::TestCaseError>>,
) -> Result<(), proptest::test_runner::TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
    runtime.block_on(case)
}

/// Every (table, column, rows) whose text holds `needle` (any case), across
/// the whole schema but the database's own tables.
pub(crate) async fn cells_holding(store: &crate::Store, needle: &str) -> Vec<(String, String, i64)> {
    let tables: Vec<String> =
        crate::store::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .on_postgres(
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            )
            .fetch_all(store)
            .await
            .unwrap();
    let mut found = Vec::new();
    for table in tables {
        let columns: Vec<String> = crate::store::query_scalar("SELECT name FROM pragma_table_info(?)")
            .on_postgres(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = ?",
            )
            .bind(&table)
            .fetch_all(store)
            .await
            .unwrap();
        for column in columns {
            // Names read from the schema itself, not from input.
            let n: i64 = crate::store::query_scalar(format!(
                "SELECT COUNT(*) FROM \"{table}\" WHERE instr(lower(CAST(\"{column}\" AS TEXT)), lower(?)) > 0"
            ))
            .on_postgres(format!(
                "SELECT COUNT(*) FROM \"{table}\" WHERE strpos(lower(CAST(\"{column}\" AS TEXT)), lower(?)) > 0"
            ))
            .bind(needle)
            .fetch_one(store)
            .await
            .unwrap();
            if n > 0 {
                found.push((table.clone(), column, n));
            }
        }
    }
    found
}

/// What a recording scheduler delivered, and when.
pub(crate) type Seen = std::sync::Arc<std::sync::Mutex<Vec<(DateTime<Utc>, crate::Delivery)>>>;

/// A scheduler whose console outbox records what it delivers, and when.
pub(crate) fn recording(bot: &Bot) -> (crate::Scheduler, Seen) {
    let seen = Seen::default();
    let sink = seen.clone();
    let clock = bot.clock.clone();
    let outbox: Arc<dyn crate::Outbox> = Arc::new(crate::scheduler::FnOutbox::new(
        Platform::Console,
        move |d: &crate::Delivery| {
            sink.lock().unwrap().push((crate::Clock::now(&clock), d.clone()));
            Ok(())
        },
    ));
    (crate::Scheduler::new(bot.hearth.clone(), vec![outbox]), seen)
}

/// The admin schedules group #1 weekly from Saturday 21 March 2026, 19:00 UTC.
pub(crate) async fn weekly_from_21_march(bot: &Bot) -> Response {
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-21 19:00" repeat:weekly timezone:UTC"#,
    )
    .await
}

/// The admin schedules one meeting of group #1, Saturday 21 March 2026, 19:00 UTC.
pub(crate) async fn one_meeting_on_21_march(bot: &Bot) -> Response {
    bot.say(
        "admin",
        r#"meeting schedule group:#1 when:"2026-03-21 19:00" timezone:UTC"#,
    )
    .await
}

/// Channels as the console adapter finds them: any name is a channel of its one community.
pub(crate) fn console_channels(invocation: crate::Invocation) -> crate::Invocation {
    invocation.check_channels(|raw| crate::ChannelFact::Postable(crate::parse::channel_id(raw)))
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
    async fn a_group_that_needs_registration_has_no_join_button_and_join_answers_how_to_register() {
        let bot = Bot::new().await;
        bot.say(
            "admin",
            r#"group create name:"Grief circle" topic:grief led_by:peer registration:"Write to intake@example.org" tell_facilitators:on"#,
        )
        .await;
        bot.say("admin", "group facilitator group:#1 user:fay action:add").await;

        let card = bot.say("ann", "group info group:#1").await;
        let asked = bot.say("ann", "group join group:#1").await;
        let again = bot.say("ann", "group join group:#1").await;
        let before = text(&bot.say("admin", "group info group:#1").await);
        let not_hers = bot.say("ann", "group join group:#1 user:ben").await;
        let admitted = bot.say("fay", "group join group:#1 user:ann").await;

        assert!(
            card.reply.as_ref().unwrap().message.buttons.is_empty(),
            "no one-click way in"
        );
        assert!(is_private(&asked));
        assert_eq!(
            text(&asked),
            "Grief circle asks people to register first: Write to intake@example.org. \
             Its facilitators know you'd like to join. Once you have registered, a facilitator adds you."
        );
        let told: Vec<(String, String)> = asked
            .effects
            .iter()
            .filter_map(|e| match e {
                crate::Effect::Dm { user, message, .. } => Some((user.clone(), message.plain("/"))),
                _ => None,
            })
            .collect();
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "fay");
        assert!(
            told[0].1.contains("@ann would like to join Grief circle"),
            "{}",
            told[0].1
        );
        assert!(told[0].1.contains("/group join group:#1 user:ann"), "{}", told[0].1);
        assert!(again.effects.is_empty(), "facilitators are told once a day at most");
        assert!(before.contains("Size: 0 members"), "asking is not joining: {before}");
        assert_eq!(
            text(&not_hers),
            "Only a facilitator of Grief circle or a community admin can add someone else to a group."
        );
        assert_eq!(text(&admitted), "@ann is now in Grief circle.");
        assert!(matches!(admitted.effects.first(), Some(crate::Effect::Dm { user, .. }) if user == "ann"));
        assert_eq!(
            text(&bot.say("ann", "group join group:#1").await),
            "You're already in Grief circle."
        );
    }

    #[tokio::test]
    async fn without_tell_facilitators_a_registration_request_pages_nobody() {
        let bot = Bot::new().await;
        bot.say(
            "admin",
            r#"group create name:"Grief circle" topic:grief led_by:peer registration:"Call 555 0100""#,
        )
        .await;
        bot.say("admin", "group facilitator group:#1 user:fay action:add").await;

        let asked = bot.say("ann", "group join group:#1").await;

        assert!(asked.effects.is_empty());
        assert_eq!(
            text(&asked),
            "Grief circle asks people to register first: Call 555 0100. Once you have registered, a facilitator adds you."
        );
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
        // Groups without meetings list nothing: Meeting Guide lists meetings
        // (see tests::meeting_guide for the fields).
        let attachment = guide.reply.unwrap().message.attachment.unwrap();
        let json: serde_json::Value = serde_json::from_str(&attachment.content).unwrap();
        assert_eq!(json, serde_json::json!([]));
    }

    #[tokio::test]
    async fn a_channel_the_platform_does_not_vouch_for_is_refused_and_changes_nothing() {
        let bot = Bot::new().await;
        let says = |fact: crate::ChannelFact| {
            let mut invocation =
                crate::parse::parse_command("group create name:Recovery topic:recovery led_by:peer channel:!theirs:hs")
                    .unwrap();
            invocation.channels.push(("channel".into(), fact));
            Input {
                actor: Actor::member("admin", "admin"),
                place: bot.place("general"),
                kind: InputKind::Command(invocation),
            }
        };
        let unchecked = Input {
            kind: InputKind::Command(
                crate::parse::parse_command("group create name:Recovery topic:recovery led_by:peer channel:!theirs:hs")
                    .unwrap(),
            ),
            ..says(crate::ChannelFact::Unknown)
        };

        let elsewhere = bot.hearth.handle(&says(crate::ChannelFact::OtherCommunity)).await;
        let not_in = bot.hearth.handle(&says(crate::ChannelFact::CannotPost)).await;
        let unknown = bot.hearth.handle(&unchecked).await;

        assert!(
            text(&elsewhere).contains("that room belongs to another community"),
            "{}",
            text(&elsewhere)
        );
        assert!(
            text(&not_in).contains("I'm not in that channel or room"),
            "{}",
            text(&not_in)
        );
        assert!(
            text(&unknown).contains("I can't find that channel or room"),
            "{}",
            text(&unknown)
        );
        assert!(text(&bot.say("admin", "group list").await).contains("No groups yet"));
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

        // Each command has its line, or shares one with its kind: the
        // chair's buttons after `/meeting next`, the roles' after `/role
        // list`, a family of three-word commands after its first two words
        // (`/meeting script show|edit`).
        for c in crate::spec::COMMANDS {
            let (head, last) = c.name.rsplit_once(' ').unwrap_or(("", c.name));
            let shared = help.lines().any(|l| {
                l.split_once(':').is_some_and(|(names, _)| {
                    names.starts_with(&format!("/{head} "))
                        && names.contains(", ")
                        && names.split([',', ' ']).any(|n| n == last)
                }) || (c.name.split(' ').count() == 3
                    && l.starts_with(&format!("/{head} "))
                    && l.split(':')
                        .next()
                        .is_some_and(|names| names.split(['|', ' ']).any(|n| n == last)))
            });
            assert!(help.contains(&format!("/{}:", c.name)) || shared, "{} missing", c.name);
        }
        assert!(help.chars().count() < 4000, "{} characters", help.chars().count());
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
                channels: Vec::new(),
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

mod meetings {
    use chrono::Duration;

    use super::*;
    use crate::{Clock, Delivery, Effect};

    fn plain(d: &Delivery) -> String {
        match &d.effect {
            Effect::Post { message, .. } | Effect::Dm { message, .. } | Effect::Status { message, .. } => {
                message.plain("/")
            }
            Effect::Mute { user, mute, .. } => format!("mute {user} {mute}"),
        }
    }

    fn to(d: &Delivery) -> String {
        match &d.effect {
            Effect::Post { channel, .. } | Effect::Status { channel, .. } => format!("#{channel}"),
            Effect::Dm { user, .. } => format!("@{user}"),
            Effect::Mute { channel, .. } => format!("voice {channel}"),
        }
    }

    async fn grief_circle(bot: &Bot) {
        bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
            .await;
    }

    #[tokio::test]
    async fn weekly_meeting_keeps_local_time_across_dst() {
        let bot = Bot::new().await;
        grief_circle(&bot).await;
        let (scheduler, seen) = recording(&bot);

        let scheduled = bot
            .say(
                "admin",
                r#"meeting schedule group:"Grief circle" when:"2026-03-19 19:00" repeat:weekly timezone:Europe/Berlin"#,
            )
            .await;
        scheduler.advance(&bot.clock, at("2026-04-03T00:00:00Z")).await.unwrap();

        assert!(
            text(&scheduled).contains("Weekly on Thursdays at 19:00 Europe/Berlin"),
            "{}",
            text(&scheduled)
        );
        assert!(text(&scheduled).contains("Thu 2 Apr 2026, 19:00 CEST  (clocks changed"));
        let seen = seen.lock().unwrap();
        let day_before: Vec<_> = seen
            .iter()
            .filter(|(_, d)| plain(d).contains("Starts in 24 hours"))
            .collect();
        let (sent_26, d26) = day_before[0];
        let (sent_02, d02) = day_before[1];
        assert_eq!(*sent_26, at("2026-03-25T18:00:00Z"));
        assert!(plain(d26).contains("Thu 26 Mar 2026, 19:00 CET"), "{}", plain(d26));
        assert_eq!(*sent_02, at("2026-04-01T17:00:00Z"));
        assert!(plain(d02).contains("Thu 2 Apr 2026, 19:00 CEST"), "{}", plain(d02));
    }

    #[tokio::test]
    async fn new_york_meetings_keep_local_time_when_clocks_go_back() {
        let bot = Bot::new().await;
        bot.clock.set(at("2026-10-20T12:00:00Z"));
        grief_circle(&bot).await;
        let (scheduler, seen) = recording(&bot);

        bot.say(
            "admin",
            r#"meeting schedule group:#1 when:"2026-10-24 19:00" repeat:weekly timezone:America/New_York"#,
        )
        .await;
        scheduler.advance(&bot.clock, at("2026-11-08T12:00:00Z")).await.unwrap();

        let seen = seen.lock().unwrap();
        let hour_before: Vec<_> = seen
            .iter()
            .filter(|(_, d)| plain(d).contains("Starts in 1 hour"))
            .map(|(t, _)| *t)
            .collect();
        // 19:00 EDT is 23:00 UTC; 19:00 EST is 00:00 UTC the next day.
        assert_eq!(
            hour_before,
            vec![
                at("2026-10-24T22:00:00Z"),
                at("2026-10-31T22:00:00Z"),
                at("2026-11-07T23:00:00Z")
            ]
        );
    }

    #[tokio::test]
    async fn monthly_is_the_same_weekday_position_and_a_fixed_term_ends() {
        let bot = Bot::new().await;
        bot.clock.set(at("2026-03-01T12:00:00Z"));
        grief_circle(&bot).await;
        bot.say("admin", "timezone zone:Europe/London").await;

        let monthly = bot
            .say(
                "admin",
                r#"meeting schedule group:#1 when:"2026-03-10 19:00" repeat:monthly"#,
            )
            .await;
        let fixed = bot
            .say(
                "admin",
                r#"meeting schedule group:#1 when:"2026-03-05 18:00" repeat:weekly count:8 title:"Eight weeks""#,
            )
            .await;
        let list = text(&bot.say("admin", "meeting list").await);

        // Second Tuesdays: 10 Mar, 14 Apr, 12 May, 9 Jun, 14 Jul.
        for day in ["Tue 10 Mar", "Tue 14 Apr", "Tue 12 May", "Tue 9 Jun", "Tue 14 Jul"] {
            assert!(text(&monthly).contains(day), "{day} missing in {}", text(&monthly));
        }
        assert!(text(&fixed).contains("8 times"));
        let meetings = crate::meetings::of_group(bot.hearth.store(), 1).await.unwrap();
        let eight = meetings
            .iter()
            .find(|m| m.title.as_deref() == Some("Eight weeks"))
            .unwrap();
        let all = crate::meetings::upcoming(bot.hearth.store(), eight, at("2026-03-01T00:00:00Z"), 50)
            .await
            .unwrap();
        assert_eq!(all.len(), 8);
        assert_eq!(all[7].start, at("2026-04-23T17:00:00Z"));
        assert!(list.contains("Eight weeks (meeting 2, 2026-03-05)"), "{list}");
    }

    #[tokio::test]
    async fn a_time_skipped_by_the_clocks_is_shown_back_with_the_rule() {
        let bot = Bot::new().await;
        grief_circle(&bot).await;

        let scheduled = bot
            .say(
                "admin",
                r#"meeting schedule group:#1 when:"2026-03-29 02:30" timezone:Europe/Berlin"#,
            )
            .await;

        assert!(
            text(&scheduled).contains(
                "02:30 on 29 Mar does not exist in Europe/Berlin that day (the clocks go forward), so I took 03:30."
            ),
            "{}",
            text(&scheduled)
        );
    }

    #[tokio::test]
    async fn reminders_reach_the_channel_and_those_who_said_yes_once_each() {
        let bot = Bot::new().await;
        grief_circle(&bot).await;
        let (scheduler, seen) = recording(&bot);
        bot.say(
            "admin",
            r#"meeting schedule group:#1 when:"2026-03-21 19:00" timezone:Europe/Berlin"#,
        )
        .await;
        bot.say("ann", "meeting rsvp meeting:1 answer:yes").await;
        bot.say("ben", "meeting rsvp meeting:1 answer:maybe").await;
        bot.say("cat", "meeting rsvp meeting:1 answer:no").await;

        scheduler.advance(&bot.clock, at("2026-03-22T00:00:00Z")).await.unwrap();
        // Ticking again at the same time sends nothing more.
        scheduler.tick(bot.clock.now()).await.unwrap();

        let seen = seen.lock().unwrap();
        let got: Vec<(DateTime<Utc>, String)> = seen.iter().map(|(t, d)| (*t, to(d))).collect();
        assert_eq!(
            got,
            vec![
                (at("2026-03-20T18:00:00Z"), "#general".to_string()),
                (at("2026-03-20T18:00:00Z"), "@ann".to_string()),
                (at("2026-03-20T18:00:00Z"), "@ben".to_string()),
                (at("2026-03-21T17:00:00Z"), "#general".to_string()),
                (at("2026-03-21T17:00:00Z"), "@ann".to_string()),
                (at("2026-03-21T17:00:00Z"), "@ben".to_string()),
            ]
        );
        assert!(plain(&seen[1].1).contains("So far 1 going, 1 maybe."));
        assert!(plain(&seen[1].1).contains("/crisis lists crisis lines"));
        let keys: std::collections::HashSet<_> = seen
            .iter()
            .map(|(_, d)| match &d.effect {
                Effect::Post { key, .. } | Effect::Dm { key, .. } => key.clone().unwrap(),
                Effect::Status { key, .. } => key.clone(),
                Effect::Mute { user, .. } => user.clone(),
            })
            .collect();
        assert_eq!(keys.len(), 6, "each delivery has its own idempotency key");
    }

    #[tokio::test]
    async fn member_settings_change_who_gets_a_dm_and_when() {
        let bot = Bot::new().await;
        grief_circle(&bot).await;
        let (scheduler, seen) = recording(&bot);
        one_meeting_on_21_march(&bot).await;
        bot.say("ann", "group join group:#1").await;
        bot.say("ann", "reminders dm:on leads:30m").await;
        bot.say("ben", "meeting rsvp meeting:1 answer:yes").await;
        bot.say("ben", "reminders dm:off").await;
        bot.say("admin", "reminders group:#1 leads:2h").await;

        scheduler.advance(&bot.clock, at("2026-03-22T00:00:00Z")).await.unwrap();

        let got: Vec<(DateTime<Utc>, String)> = seen.lock().unwrap().iter().map(|(t, d)| (*t, to(d))).collect();
        assert_eq!(
            got,
            vec![
                (at("2026-03-21T17:00:00Z"), "#general".to_string()),
                (at("2026-03-21T18:30:00Z"), "@ann".to_string()),
            ]
        );
    }

    #[tokio::test]
    async fn only_facilitators_set_a_groups_leads_and_schedule() {
        let bot = Bot::new().await;
        grief_circle(&bot).await;

        let leads = bot.say("ann", "reminders group:#1 leads:2h").await;
        let schedule = bot
            .say("ann", r#"meeting schedule group:#1 when:"tomorrow 19:00""#)
            .await;

        assert!(text(&leads).starts_with("Only a facilitator of Grief circle"));
        assert!(text(&schedule).starts_with("Only a facilitator of Grief circle"));
    }

    #[tokio::test]
    async fn cancel_and_move_are_told_to_those_who_said_they_would_come() {
        let bot = Bot::new().await;
        grief_circle(&bot).await;
        let (scheduler, seen) = recording(&bot);
        weekly_from_21_march(&bot).await;
        bot.say("ann", "meeting rsvp meeting:1 occurrence:2026-03-28 answer:yes")
            .await;
        bot.say("ben", "meeting rsvp meeting:1 occurrence:2026-03-21 answer:maybe")
            .await;

        let moved = bot
            .say(
                "admin",
                r#"meeting move meeting:1 occurrence:2026-03-28 when:"2026-03-29 18:00""#,
            )
            .await;
        let cancelled = bot.say("admin", "meeting cancel meeting:1").await;
        let rsvp_cancelled = bot
            .say("ann", "meeting rsvp meeting:1 occurrence:2026-03-21 answer:yes")
            .await;
        scheduler.tick(bot.clock.now()).await.unwrap();

        // Notices are jobs: durable, with stable keys, delivered by the scheduler.
        assert!(moved.effects.is_empty() && cancelled.effects.is_empty());
        let notices: Vec<(String, String, Option<String>)> = seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, d)| match &d.effect {
                Effect::Dm { user, message, key } => Some((user.clone(), message.plain("/"), key.clone())),
                Effect::Post { .. } | Effect::Status { .. } | Effect::Mute { .. } => None,
            })
            .collect();
        assert_eq!(notices.len(), 2, "{notices:#?}");
        let (user, message, key) = &notices[0];
        assert_eq!(user, "ann");
        assert!(message.contains("now happens Sun 29 Mar 2026, 18:00 UTC"), "{message}");
        assert!(key.as_deref().is_some_and(|k| k.starts_with("n:1:")));
        let (user, message, _) = &notices[1];
        assert_eq!(user, "ben");
        assert!(message.contains("Sat 21 Mar 2026, 19:00 UTC is cancelled"));
        assert!(text(&rsvp_cancelled).contains("That occurrence is cancelled."));
        let list = text(&bot.say("ann", "meeting list").await);
        assert!(!list.contains("Sat 21 Mar"), "{list}");
        assert!(
            list.contains(
                "Sun 29 Mar 2026, 18:00 UTC · Grief circle (meeting 1, 2026-03-28) · 1 going, 0 maybe · moved"
            ),
            "{list}"
        );
    }

    #[tokio::test]
    async fn after_downtime_a_reminder_still_before_its_meeting_is_sent_late_and_others_dropped() {
        let bot = Bot::new().await;
        grief_circle(&bot).await;
        let (scheduler, seen) = recording(&bot);
        weekly_from_21_march(&bot).await;

        // Down from before the 24-hour reminder until 30 minutes before the meeting.
        bot.clock.set(at("2026-03-21T18:30:00Z"));
        scheduler.tick(bot.clock.now()).await.unwrap();
        // Up for the next 24-hour reminder, then down from before the 1-hour one until after the start.
        scheduler.advance(&bot.clock, at("2026-03-27T20:00:00Z")).await.unwrap();
        bot.clock.set(at("2026-03-28T19:10:00Z"));
        scheduler.tick(bot.clock.now()).await.unwrap();

        let texts: Vec<String> = seen.lock().unwrap().iter().map(|(_, d)| plain(d)).collect();
        assert_eq!(texts.len(), 2, "{texts:#?}");
        assert!(
            texts[0].contains("Starts in 30 minutes: Sat 21 Mar"),
            "only the closest overdue one: {texts:#?}"
        );
        assert!(texts[0].contains("(Sent late: I was offline when this was due.)"));
        assert!(texts[1].contains("Starts in 24 hours: Sat 28 Mar") && !texts[1].contains("Sent late"));
        let states: Vec<(i64, String)> = crate::store::query_as(
            "SELECT lead_secs, state FROM jobs WHERE kind = 'reminder' AND state != 'pending' ORDER BY due_at",
        )
        .fetch_all(bot.hearth.store())
        .await
        .unwrap();
        assert_eq!(
            states,
            vec![
                (86_400, "dropped".to_string()),
                (3600, "sent".to_string()),
                (86_400, "sent".to_string()),
                (3600, "dropped".to_string()),
            ]
        );
    }

    #[tokio::test]
    async fn the_calendar_file_parses_back_into_the_same_occurrences() {
        let bot = Bot::new().await;
        grief_circle(&bot).await;
        bot.say(
            "admin",
            r#"meeting schedule group:#1 when:"2026-03-19 19:00" repeat:weekly count:6 timezone:Europe/Berlin where:"Room 4""#,
        )
        .await;
        bot.say("admin", "meeting cancel meeting:1 occurrence:2026-04-02").await;
        bot.say(
            "admin",
            r#"meeting move meeting:1 occurrence:2026-03-26 when:"2026-03-27 18:00""#,
        )
        .await;

        let response = bot.say("ann", "meeting calendar group:#1").await;

        let ics = response.reply.unwrap().message.attachment.unwrap().content;
        assert!(ics.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin"));
        let calendar: icalendar::Calendar = ics.parse().unwrap();
        let mut from_file: Vec<DateTime<Utc>> = Vec::new();
        let mut moved: std::collections::HashMap<String, DateTime<Utc>> = Default::default();
        for event in calendar.events() {
            use icalendar::Component;
            if let Some(rid) = event.property_value("RECURRENCE-ID") {
                let start = match event.get_start().unwrap() {
                    icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::WithTimezone {
                        date_time,
                        tzid,
                    }) => crate::when::resolve(date_time, tzid.parse().unwrap()).0,
                    other => panic!("{other:?}"),
                };
                moved.insert(rid.to_string(), start);
            }
        }
        for event in calendar.calendar_events() {
            use icalendar::Component;
            if event.property_value("RECURRENCE-ID").is_some() {
                continue;
            }
            for occ in event.get_recurrence().unwrap().all(100).dates {
                let key = occ.naive_local().format("%Y%m%dT%H%M%S").to_string();
                from_file.push(moved.get(&key).copied().unwrap_or(occ.to_utc()));
            }
        }
        from_file.sort();
        let meeting = crate::meetings::by_id(bot.hearth.store(), 1).await.unwrap().unwrap();
        let from_hearth: Vec<DateTime<Utc>> =
            crate::meetings::upcoming(bot.hearth.store(), &meeting, at("2026-03-01T00:00:00Z"), 50)
                .await
                .unwrap()
                .into_iter()
                .map(|o| o.start)
                .collect();
        assert_eq!(from_file, from_hearth);
        assert_eq!(from_hearth.len(), 5);
        assert!(from_hearth.contains(&at("2026-03-27T17:00:00Z")));
    }

    #[tokio::test]
    async fn bad_meeting_input_changes_nothing() {
        let bot = Bot::new().await;
        grief_circle(&bot).await;
        for (input, expected) in [
            (r#"meeting schedule group:#1 when:"yesterday 19:00""#, "is in the past"),
            (r#"meeting schedule group:#1 when:soonish"#, "should look like"),
            (
                r#"meeting schedule group:#1 when:"tue 19:00" repeat:FREQ=MINUTELY"#,
                "at most daily",
            ),
            (
                r#"meeting schedule group:#1 when:"tue 19:00" repeat:weekly count:3 until:2026-05-01"#,
                "can't both be given",
            ),
            (
                r#"meeting schedule group:#1 when:"tue 19:00" duration:2s"#,
                "between 5m and 12h",
            ),
            ("meeting rsvp meeting:99 answer:yes", "no meeting with that number"),
            ("reminders leads:forever", "leads must be"),
            ("reminders quiet:late", "quiet must be"),
        ] {
            let response = bot.say("admin", input).await;
            assert!(text(&response).contains(expected), "{input}: {}", text(&response));
        }
        assert!(text(&bot.say("admin", "meeting list").await).contains("No meetings"));
    }

    #[tokio::test]
    async fn crisis_lines_are_private() {
        let bot = Bot::new().await;

        let response = bot.say("ann", "crisis country:DE").await;

        assert!(is_private(&response));
        assert!(text(&response).contains("TelefonSeelsorge, call 0800 111 0 111"));
    }

    #[tokio::test]
    async fn the_scheduler_reads_the_next_due_time_and_is_woken_by_changes() {
        let bot = Bot::new().await;
        grief_circle(&bot).await;

        let none = bot.hearth.next_due(&[Platform::Console]).await.unwrap();
        let mut changes = bot.hearth.jobs_watch();
        let woken = tokio::spawn(async move { changes.changed().await });
        one_meeting_on_21_march(&bot).await;

        assert_eq!(none, None);
        tokio::time::timeout(std::time::Duration::from_secs(5), woken)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            bot.hearth.next_due(&[Platform::Console]).await.unwrap(),
            Some(at("2026-03-20T19:00:00Z"))
        );
        let _ = Duration::zero();
    }
}

mod hostile {
    use super::*;

    /// Thousands of commands stitched from hostile fragments: nothing panics,
    /// every answer is a reply, and no reply pings anyone.
    #[tokio::test]
    async fn hostile_input_never_panics_and_never_pings() {
        let bot = Bot::new().await;
        bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
            .await;
        bot.say(
            "admin",
            r#"meeting schedule group:#1 when:"2026-03-21 19:00" repeat:weekly"#,
        )
        .await;
        let heads = [
            "group create",
            "group edit",
            "group info",
            "group list",
            "group join",
            "meeting schedule",
            "meeting list",
            "meeting cancel",
            "meeting move",
            "meeting rsvp",
            "meeting calendar",
            "reminders",
            "timezone",
            "crisis",
            "help",
            "",
            "group",
            "meeting",
        ];
        let parts = [
            "group:#1",
            "group:#0",
            "group:#99999999999999999999",
            "group:\"Grief circle\"",
            "meeting:1",
            "meeting:-1",
            "meeting:18446744073709551616",
            "when:\"2026-03-29 02:30\"",
            "when:\"in 99999999 years\"",
            "when:\"in 0s\"",
            "when:\"31/02/2027 25:61\"",
            "repeat:\"RRULE:FREQ=DAILY;INTERVAL=0\"",
            "repeat:FREQ=YEARLY;BYMONTH=13",
            "repeat:monthly",
            "count:0",
            "count:521",
            "until:0000-01-01",
            "until:9999-12-31",
            "timezone:Etc/GMT+14",
            "name:@everyone",
            "name:\"@here <@&123> @room\"",
            "topic:\u{202e}evil",
            "led_by:peer",
            "capacity:2",
            "occurrence:all",
            "occurrence:2026-02-30",
            "answer:yes",
            "leads:1m,1m,1m,1m,1m,1m,1m",
            "quiet:23:59-23:59",
            "dm:on",
            "zone:../../etc/passwd",
            "country:💥",
            "user:<@!>",
            "action:add",
            "\"",
            "\\\"",
            "x:",
            ":",
            "::",
            "duration:12h1s",
            "ends:2027-02-01",
            "channel:<#>",
            "format:meeting_guide",
            "command:\"meeting rsvp\"",
        ];
        let mut seed: u64 = 0x5eed;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n
        };
        for i in 0..2000 {
            let mut line = heads[next(heads.len())].to_string();
            for _ in 0..next(5) {
                line.push(' ');
                line.push_str(parts[next(parts.len())]);
            }
            let who = if i % 3 == 0 { "admin" } else { "ann" };

            let response = bot.say(who, &line).await;

            let reply = response.reply.unwrap_or_else(|| panic!("no reply to {line}"));
            assert!(reply.message.pings.is_empty(), "{line} pings {:?}", reply.message.pings);
        }
    }
}

mod ban;
mod calendar_check;
mod fuzz;
mod jobs_engine;
mod jobs_props;
mod meeting_guide;
mod privacy;
mod processes;
mod publish;
mod resources;
mod retention;
mod store_copy;
mod under_change;
mod undo;
mod waitlist;
mod words;

mod native_events {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::{BoxFuture, Clock, Delivery, DeliveryError, MeetingEvent, Outbox, Scheduler};

    /// A Discord-like outbox that records the events it is asked to mirror.
    struct Mirrors(Arc<Mutex<Vec<(String, MeetingEvent)>>>);

    impl Outbox for Mirrors {
        fn platform(&self) -> Platform {
            Platform::Discord
        }
        fn deliver<'a>(&'a self, _: &'a Delivery) -> BoxFuture<'a, Result<(), DeliveryError>> {
            Box::pin(async { Ok(()) })
        }
        fn mirror<'a>(
            &'a self,
            community: &'a str,
            event: &'a MeetingEvent,
        ) -> BoxFuture<'a, Result<(), DeliveryError>> {
            self.0.lock().unwrap().push((community.to_string(), event.clone()));
            Box::pin(async { Ok(()) })
        }
    }

    async fn on_discord(bot: &Bot, text: &str) -> Response {
        let mut actor = Actor::member("42", "Dana");
        actor.platform_admin = true;
        bot.hearth
            .handle(&Input {
                actor,
                place: Place {
                    platform: Platform::Discord,
                    community: "guild-1".into(),
                    channel: "700".into(),
                },
                kind: InputKind::Command(crate::parse::parse_command(text).unwrap()),
            })
            .await
    }

    #[tokio::test]
    async fn a_discord_series_is_mirrored_as_its_next_occurrence_and_follows_changes() {
        let bot = Bot::new().await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let scheduler = Scheduler::new(bot.hearth.clone(), vec![Arc::new(Mirrors(seen.clone()))]);
        on_discord(&bot, r#"group create name:"Grief circle" topic:grief led_by:peer"#).await;

        on_discord(
            &bot,
            r#"meeting schedule group:#1 when:"2026-03-21 19:00" repeat:weekly timezone:UTC where:<#900>"#,
        )
        .await;
        scheduler.tick(bot.clock.now()).await.unwrap();
        on_discord(
            &bot,
            r#"meeting move meeting:1 occurrence:2026-03-21 when:"2026-03-22 18:00""#,
        )
        .await;
        scheduler.tick(bot.clock.now()).await.unwrap();
        // The moved occurrence passes: the event moves on to the next one.
        scheduler.advance(&bot.clock, at("2026-03-22T18:30:00Z")).await.unwrap();
        on_discord(&bot, "meeting cancel meeting:1 occurrence:all").await;
        scheduler.tick(bot.clock.now()).await.unwrap();

        let seen = seen.lock().unwrap();
        let starts: Vec<Option<DateTime<Utc>>> = seen.iter().map(|(_, e)| e.next.as_ref().map(|n| n.start)).collect();
        assert_eq!(
            starts,
            vec![
                Some(at("2026-03-21T19:00:00Z")),
                Some(at("2026-03-22T18:00:00Z")),
                Some(at("2026-03-28T19:00:00Z")),
                None,
            ]
        );
        let first = seen[0].1.next.as_ref().unwrap();
        assert_eq!(seen[0].0, "guild-1");
        assert_eq!(first.location.as_deref(), Some("<#900>"));
        assert_eq!(first.end - first.start, chrono::Duration::minutes(90));
        assert!(first.description.contains("(Hearth meeting 1)"));
    }

    /// A meeting more than the window of meetings to come away (over a
    /// year) still gets its event: the window bounds the meetings after the
    /// next, never the next itself.
    #[tokio::test]
    async fn a_meeting_years_away_is_still_mirrored() {
        let bot = Bot::new().await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let scheduler = Scheduler::new(bot.hearth.clone(), vec![Arc::new(Mirrors(seen.clone()))]);
        on_discord(&bot, r#"group create name:"Grief circle" topic:grief led_by:peer"#).await;
        on_discord(
            &bot,
            r#"meeting schedule group:#1 when:"2030-01-02 19:00" timezone:UTC"#,
        )
        .await;
        on_discord(
            &bot,
            r#"meeting schedule group:#1 when:"2029-06-05 18:00" repeat:weekly timezone:UTC"#,
        )
        .await;
        scheduler.tick(bot.clock.now()).await.unwrap();

        let seen = seen.lock().unwrap();
        let mut nexts: Vec<(i64, Option<DateTime<Utc>>, usize)> = seen
            .iter()
            .map(|(_, e)| {
                let next = e.next.as_ref();
                (
                    e.meeting,
                    next.map(|n| n.start),
                    next.map_or(0, |n| n.repeats.starts.len()),
                )
            })
            .collect();
        nexts.sort_unstable();
        assert_eq!(nexts[0], (1, Some(at("2030-01-02T19:00:00Z")), 1));
        assert_eq!(nexts[1].1, Some(at("2029-06-05T18:00:00Z")));
        assert!(
            nexts[1].2 > 50,
            "a weekly series far ahead has its year of meetings: {}",
            nexts[1].2
        );
    }

    #[tokio::test]
    async fn console_and_matrix_meetings_queue_no_native_events() {
        let bot = Bot::new().await;
        bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
            .await;

        one_meeting_on_21_march(&bot).await;

        let events: i64 = crate::store::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'event'")
            .fetch_one(bot.hearth.store())
            .await
            .unwrap();
        assert_eq!(events, 0);
    }
}

mod suggestions {
    use super::*;

    #[tokio::test]
    async fn groups_and_meetings_are_suggested_by_what_was_typed() {
        let bot = Bot::new().await;
        bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
            .await;
        bot.say("admin", "group create name:Caregivers topic:caregiving led_by:peer")
            .await;
        bot.say(
            "admin",
            r#"meeting schedule group:Caregivers when:"2026-03-21 19:00" repeat:weekly timezone:UTC"#,
        )
        .await;
        let place = Place {
            platform: Platform::Console,
            community: "local".into(),
            channel: "general".into(),
        };

        let groups = bot.hearth.suggest(&place, "group info", "group", "CIRC").await;
        let meetings = bot.hearth.suggest(&place, "meeting rsvp", "meeting", "care").await;
        let nothing = bot.hearth.suggest(&place, "meeting rsvp", "answer", "").await;

        assert_eq!(groups, vec![("Grief circle".to_string(), "Grief circle".to_string())]);
        assert_eq!(meetings.len(), 1);
        assert_eq!(meetings[0].1, "1");
        assert!(
            meetings[0]
                .0
                .starts_with("Caregivers · Weekly on Saturdays at 19:00 UTC"),
            "{meetings:?}"
        );
        assert!(nothing.is_empty());
    }
}

mod personal_answers {
    use super::*;

    fn is_personal(response: &Response) -> bool {
        response.reply.as_ref().is_some_and(|r| r.personal)
    }

    #[tokio::test]
    async fn answers_about_one_member_are_personal_and_general_ones_are_not() {
        let bot = Bot::new().await;
        bot.say("admin", GRIEF).await;

        // Private, but nothing about the asker in it.
        for general in ["help", "group info group:nope", "meeting list", "resources list"] {
            let response = bot.say("ann", general).await;
            assert!(is_private(&response), "{general} is private");
            assert!(!is_personal(&response), "{general} is not personal");
        }
        let refused = bot.say("ann", r#"group create name:"X" topic:grief led_by:peer"#).await;
        assert!(
            is_private(&refused) && !is_personal(&refused),
            "a refusal is not personal"
        );

        // About the asker alone.
        for personal in [
            "crisis",
            "timezone zone:Europe/Berlin",
            "group join group:\"Grief circle\"",
            "mydata",
        ] {
            let response = bot.say("ann", personal).await;
            assert!(is_private(&response), "{personal} is private");
            assert!(is_personal(&response), "{personal} is personal");
        }
        // Once the member has a zone of her own, the meeting list shows it.
        assert!(is_personal(&bot.say("ann", "meeting list").await));
    }
}
