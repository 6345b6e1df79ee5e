use super::values::user_id;
use super::words::option_key;
use super::*;

fn parse(text: &str) -> Result<Bound, UserError> {
    bind(&parse_command(text)?)
}

#[test]
fn named_options_with_quotes_bind_to_typed_values() {
    let b = parse(r#"group create name:"Grief circle" topic:grief led_by:Peer capacity:12"#).unwrap();

    assert_eq!(b.spec.name, "group create");
    assert_eq!(b.text("name"), Some("Grief circle"));
    assert_eq!(b.choice("led_by"), Some("peer"));
    assert_eq!(b.int("capacity"), Some(12));
}

#[test]
fn apostrophes_and_curly_quotes_are_ordinary_text() {
    let b = parse("group create name:“Mums' circle” topic:don't led_by:peer").unwrap();

    assert_eq!(b.text("name"), Some("Mums' circle"));
    assert_eq!(b.text("topic"), Some("don't"));
}

#[test]
fn unnamed_words_fill_the_first_free_option() {
    assert_eq!(
        parse("group info Grief circle").unwrap().text("group"),
        Some("Grief circle")
    );
    assert_eq!(
        parse("help group create").unwrap().command("command").unwrap().name,
        "group create"
    );
    assert_eq!(
        parse("timezone Europe/Berlin").unwrap().zone("zone"),
        Some(chrono_tz::Europe::Berlin)
    );
}

/// What a parse gives, in a few words: the bound options as
/// `name=value` sorted by name and joined by `|`, or `!` and the error.
/// Channels are vouched for as the console vouches for its own.
fn reading(text: &str) -> String {
    let typed = parse_command(text)
        .map(|i| i.check_channels(|raw| crate::io::ChannelFact::Postable(channel_id(raw))))
        .and_then(|i| bind(&i));
    match typed {
        Ok(b) => {
            let mut parts: Vec<String> = b
                .values
                .iter()
                .map(|(name, v)| {
                    let v = match v {
                        Value::Text(s) => s.clone(),
                        Value::Int(n) => n.to_string(),
                        Value::Choice(c) => (*c).to_string(),
                        Value::Date(d) => d.to_string(),
                        Value::Zone(z) => z.name().to_string(),
                        Value::Command(c) => c.name.to_string(),
                    };
                    format!("{name}={v}")
                })
                .collect();
            parts.sort();
            parts.join("|")
        }
        Err(e) => {
            let detail = match &e {
                UserError::MissingOption { option, .. } => format!("({option})"),
                UserError::TrailingWords { option, belongs_to, .. } => {
                    format!("({option}; {})", belongs_to.join(","))
                }
                UserError::AlmostAnOption { option, value_of, .. } => format!("({option} or {value_of})"),
                _ => String::new(),
            };
            let name = format!("{e:?}");
            let name = name.split([' ', '(', '{']).next().unwrap_or_default().to_string();
            format!("!{name}{detail}")
        }
    }
}

/// Commands as people type them (quotes missing, curly quotes, extra
/// spaces, mixed case, other scripts), each with what it binds or the
/// question it asks back.
const AS_TYPED: &[(&str, &str)] = &[
    // Quotes missing: a value runs until the next name that is an option.
    (
        "group create name:Recovery Circle topic:grief led_by:peer",
        "led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:\"Recovery Circle\" topic:grief led_by:peer",
        "led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:“Recovery Circle” topic:grief led_by:peer",
        "led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:„Trauer Kreis“ topic:Trauer led_by:peer",
        "led_by=peer|name=Trauer Kreis|topic=Trauer",
    ),
    (
        "group create name:«Cercle du deuil» topic:deuil led_by:peer",
        "led_by=peer|name=Cercle du deuil|topic=deuil",
    ),
    (
        "group create   name:Recovery    Circle   topic:grief  led_by:peer",
        "led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "GROUP CREATE Name:Recovery Circle Topic:Grief Led_By:Peer",
        "led_by=peer|name=Recovery Circle|topic=Grief",
    ),
    (
        "group create name: Recovery Circle topic: grief led_by: peer",
        "led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:Группа поддержки topic:горе led_by:peer",
        "led_by=peer|name=Группа поддержки|topic=горе",
    ),
    (
        "group create name:悲嘆の会 topic:悲嘆 led_by:peer",
        "led_by=peer|name=悲嘆の会|topic=悲嘆",
    ),
    (
        "group create name：Recovery Circle topic：grief led_by：peer",
        "led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:دائرة الدعم topic:حزن led_by:peer",
        "led_by=peer|name=دائرة الدعم|topic=حزن",
    ),
    (
        "group create name:Recovery Circle topic:grief led-by:peer",
        "led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:peer description:For anyone who has lost someone. Bring tea: we have cups.",
        "description=For anyone who has lost someone. Bring tea: we have cups.|led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:peer locaton:Room 4",
        "!AlmostAnOption(location or led_by)",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:peer colour:blue",
        "!UnknownOption",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:peer format:in person location:Room 4, Town Hall",
        "format=in_person|led_by=peer|location=Room 4, Town Hall|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:peer location:https://meet.example/AbC-123 capacity:12",
        "capacity=12|led_by=peer|location=https://meet.example/AbC-123|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:peer capacity:12 people",
        "!TrailingWords(capacity; description,location,cost)",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:peer Room 4",
        "!TrailingWords(led_by; description,location,cost)",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:peer ends:2027-02-01",
        "ends=2027-02-01|led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:\"Mums' circle\" topic:don't led_by:peer",
        "led_by=peer|name=Mums' circle|topic=don't",
    ),
    (
        "group create name:Mums' circle topic:don't led_by:peer",
        "led_by=peer|name=Mums' circle|topic=don't",
    ),
    (
        "group create name:\"Recovery Circle topic:grief led_by:peer",
        "!OpenQuote",
    ),
    ("group create name:Recovery Circle", "!MissingOption(topic)"),
    (
        "group create name:Recovery Circle topic:grief led_by:peer guideline:What is said here: stays here",
        "guideline=What is said here: stays here|led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:peer channel:#grief-room",
        "channel=grief-room|led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:peer cost:free, or what you can",
        "cost=free, or what you can|led_by=peer|name=Recovery Circle|topic=grief",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:professionally",
        "!BadChoice",
    ),
    (
        "group create name:Recovery Circle topic:grief led_by:Professional registration:Email us: hello@example.org",
        "led_by=professional|name=Recovery Circle|registration=Email us: hello@example.org|topic=grief",
    ),
    // Words without a name fill the first option.
    ("group info Grief circle", "group=Grief circle"),
    ("group info group:Grief circle", "group=Grief circle"),
    ("group info  grief   CIRCLE ", "group=grief CIRCLE"),
    ("group info \"Grief circle\"", "group=Grief circle"),
    ("group info #3", "group=#3"),
    ("Group Info Grief circle", "group=Grief circle"),
    // Issue 30: a group left out is the one at home in the channel,
    // which the core finds (or asks which).
    ("group info", ""),
    ("group info group:Grief circle group:Other", "!RepeatedOption"),
    ("group info group:Grief\u{a0}circle", "group=Grief circle"),
    ("group info group:\"Grief  circle\"", "group=Grief  circle"),
    (
        "group info group:Cercle de deuil — Paris",
        "group=Cercle de deuil — Paris",
    ),
    (
        "group edit group:Grief circle cost:free",
        "cost=free|group=Grief circle",
    ),
    ("group edit Grief circle cost:free", "cost=free|group=Grief circle"),
    (
        "group edit group:Grief circle description:Meets Tuesdays: bring tea",
        "description=Meets Tuesdays: bring tea|group=Grief circle",
    ),
    ("group edit group:Grief circle capacity:twelve", "!BadNumber"),
    (
        "group edit group:Grief circle name:Grief & Loss Circle",
        "group=Grief circle|name=Grief & Loss Circle",
    ),
    (
        "group edit group:Grief circle capasity:12",
        "!AlmostAnOption(capacity or group)",
    ),
    ("group list topic:grief", "topic=grief"),
    ("group list grief", "topic=grief"),
    ("group list format:Meeting Guide", "format=meeting_guide"),
    ("group list format:meeting-guide", "format=meeting_guide"),
    ("group list format:xml", "!BadChoice"),
    ("group list colour:red", "!UnknownOption"),
    ("group join Grief circle", "group=Grief circle"),
    ("group join group:“Grief circle”", "group=Grief circle"),
    ("group leave group:Grief circle", "group=Grief circle"),
    (
        "group facilitator group:Grief circle user:@bob action:add",
        "action=add|group=Grief circle|user=bob",
    ),
    (
        "group facilitator group:Grief circle user:<@!123> action:Add",
        "action=add|group=Grief circle|user=123",
    ),
    (
        "group facilitator group:Grief circle user:@bob:example.org action:remove",
        "action=remove|group=Grief circle|user=@bob:example.org",
    ),
    (
        "group facilitator group:Grief circle user:@bob action:add please",
        "!TrailingWords(action; )",
    ),
    // Meetings.
    (
        "meeting schedule group:Grief circle when:tomorrow 19:00",
        "group=Grief circle|when=tomorrow 19:00",
    ),
    (
        "meeting schedule group:\"Grief circle\" when:\"tue 19:00\" repeat:weekly",
        "group=Grief circle|repeat=weekly|when=tue 19:00",
    ),
    (
        "meeting schedule Grief circle when:tue 19:00 repeat:weekly timezone:Europe/Berlin",
        "group=Grief circle|repeat=weekly|timezone=Europe/Berlin|when=tue 19:00",
    ),
    (
        "meeting schedule group:Grief circle when:2026-12-01 19:00 repeat:RRULE:FREQ=WEEKLY;BYDAY=MO,TH",
        "group=Grief circle|repeat=RRULE:FREQ=WEEKLY;BYDAY=MO,TH|when=2026-12-01 19:00",
    ),
    (
        "meeting schedule group:Grief circle when:tue 19:00 duration:1h 30m",
        "duration=1h 30m|group=Grief circle|when=tue 19:00",
    ),
    (
        "meeting schedule group:Grief circle when:tue 19:00 title:Winter evenings: a gentle start",
        "group=Grief circle|title=Winter evenings: a gentle start|when=tue 19:00",
    ),
    (
        "meeting schedule group:Grief circle when:tue 19:00 where:https://meet.example/Grief",
        "group=Grief circle|when=tue 19:00|where=https://meet.example/Grief",
    ),
    (
        "meeting schedule group:Grief circle when:tue 19:00 count:8 weeks",
        "!TrailingWords(count; repeat,duration,title)",
    ),
    (
        "meeting schedule group:Grief circle when:tue 19:00 timezone:Europe/Berlin please",
        "!TrailingWords(timezone; repeat,duration,title)",
    ),
    (
        "meeting schedule group:Grief circle when:tue 19:00 timezone:america/new_york",
        "group=Grief circle|timezone=America/New_York|when=tue 19:00",
    ),
    (
        "meeting schedule group:Grief circle when:tue 19:00 until:2027-01-31",
        "group=Grief circle|until=2027-01-31|when=tue 19:00",
    ),
    (
        "meeting schedule group:Grief circle when:tue 19:00 Until:2027-01-31",
        "group=Grief circle|until=2027-01-31|when=tue 19:00",
    ),
    (
        "meeting schedule group:Grief circle wen:tue 19:00",
        "!AlmostAnOption(when or group)",
    ),
    (
        "meeting schedule group:Grief circle when:\"tomorrow 19:00\" repeat:weekly",
        "group=Grief circle|repeat=weekly|when=tomorrow 19:00",
    ),
    (
        "Meeting Schedule Group:Grief circle When:Tue 7pm",
        "group=Grief circle|when=Tue 7pm",
    ),
    ("meeting list", ""),
    ("meeting list Grief circle", "group=Grief circle"),
    ("meeting cancel meeting:3", "meeting=3"),
    ("meeting cancel meeting:3 occurrence:all", "meeting=3|occurrence=all"),
    ("meeting cancel 3", "meeting=3"),
    ("meeting cancel meeting:#3", "!BadNumber"),
    (
        "meeting move meeting:3 when:18:00 occurrence:2026-12-10",
        "meeting=3|occurrence=2026-12-10|when=18:00",
    ),
    (
        "meeting move meeting:3 when:dec 10 18:00",
        "meeting=3|when=dec 10 18:00",
    ),
    ("meeting rsvp meeting:3 answer:yes", "answer=yes|meeting=3"),
    (
        "meeting rsvp meeting:3 answer:Yes occurrence:2026-12-10",
        "answer=yes|meeting=3|occurrence=2026-12-10",
    ),
    ("meeting rsvp 3 yes", "!TrailingWords(meeting; answer,occurrence)"),
    (
        "meeting rsvp meeting:3 answer:yes please",
        "!TrailingWords(answer; occurrence)",
    ),
    (
        "meeting rsvp meeting:3 answer:no thanks",
        "!TrailingWords(answer; occurrence)",
    ),
    ("meeting rsvp meeting:three answer:yes", "!BadNumber"),
    ("meeting calendar group:Grief circle", "group=Grief circle"),
    // Reminders and zones.
    ("reminders leads:24h,1h", "leads=24h,1h"),
    ("reminders leads:24h, 1h", "leads=24h, 1h"),
    ("reminders quiet:22:00-08:00", "quiet=22:00-08:00"),
    ("reminders dm:On", "dm=on"),
    ("reminders dm:on quiet:22:00 - 08:00", "dm=on|quiet=22:00 - 08:00"),
    ("reminders group:Grief circle leads:2h", "group=Grief circle|leads=2h"),
    ("timezone Europe/Berlin", "zone=Europe/Berlin"),
    ("timezone zone:europe/berlin", "zone=Europe/Berlin"),
    ("timezone zone:Europe/Berln", "!BadTimezone"),
    ("timezone", ""),
    ("TimeZone Zone:America/New_York", "zone=America/New_York"),
    ("timezone EST", "!ZoneAbbreviation"),
    ("timezone zone:cet", "!ZoneAbbreviation"),
    (
        "meeting schedule group:Grief circle when:tue 19:00 timezone:PST",
        "!ZoneAbbreviation",
    ),
    // Crisis lines are never refused: every word is the country.
    ("crisis", ""),
    ("crisis USA", "country=USA"),
    ("crisis country:germany", "country=germany"),
    ("crisis \"unclosed", "country=unclosed"),
    ("Crisis United Kingdom", "country=United Kingdom"),
    ("crisis country:GB extra:words", "country=GB extra:words"),
    ("crisis I'm in Deutschland", "country=I'm in Deutschland"),
    ("CRISIS   the   Netherlands ", "country=the   Netherlands"),
    // Check-ins: nothing counts in a group by accident.
    ("checkin share mood:3", "mood=3"),
    ("checkin share mood:3 note:a hard day", "mood=3|note=a hard day"),
    (
        "checkin share mood:3 a hard day",
        "!TrailingWords(mood; note,group,prompt)",
    ),
    ("checkin share a hard day", "!UnquotedWords"),
    ("checkin share mood:pass", "mood=pass"),
    (
        "checkin share mood:Pass note:“tired” group:Grief circle",
        "group=Grief circle|mood=pass|note=tired",
    ),
    ("checkin share note:missing Grief circle", "note=missing Grief circle"),
    ("checkin remind time:20:00", "time=20:00"),
    ("checkin remind time:off", "time=off"),
    ("checkin remind 20:00", "time=20:00"),
    (
        "checkin schedule group:Grief circle when:tue 19:00 question:How are you, really?",
        "group=Grief circle|question=How are you, really?|when=tue 19:00",
    ),
    ("checkin summary group:Grief circle", "group=Grief circle"),
    // The talking stick.
    (
        "circle start mode:balanced share_time:3m",
        "mode=balanced|share_time=3m",
    ),
    ("circle start share-time:3m", "share_time=3m"),
    (
        "circle start group:Grief circle mode:Round",
        "group=Grief circle|mode=round",
    ),
    ("circle mode balanced", "mode=balanced"),
    ("circle mode queue please", "!TrailingWords(mode; )"),
    ("circle next", ""),
    // Since issue 22 the circle commands take circle:N first: a word is
    // read as that number.
    ("circle next now", "!BadNumber"),
    ("hand raise", ""),
    // Resources, help, own data.
    (
        "resources add title:Town helpline url:https://town.example/help topic:crisis",
        "title=Town helpline|topic=crisis|url=https://town.example/help",
    ),
    (
        "resources add title:Town helpline url:https://town.example/help?a=1&b=2 description:Call us: any time",
        "description=Call us: any time|title=Town helpline|url=https://town.example/help?a=1&b=2",
    ),
    ("resources remove Town helpline", "resource=Town helpline"),
    ("help group create", "command=group create"),
    ("help command:/meeting schedule", "command=meeting schedule"),
    ("help nonsense", "!UnknownCommand"),
    ("forgetme confirm:yes", "confirm=yes"),
    ("forgetme confirm:YES", "confirm=yes"),
    ("mydata", ""),
    ("grop list", "!UnknownCommand"),
    ("group", "!UnknownCommand"),
];

#[test]
fn commands_as_people_type_them_bind_as_meant_or_ask_back() {
    assert!(AS_TYPED.len() >= 100, "{} lines", AS_TYPED.len());
    let wrong: Vec<String> = AS_TYPED
        .iter()
        .filter_map(|(typed, expected)| {
            let got = reading(typed);
            (got != *expected).then(|| format!("{typed}\n   expected {expected}\n   got      {got}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        AS_TYPED.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_question_back_never_repeats_the_words_it_asks_about() {
    let err = parse("checkin share mood:1 my brother died").unwrap_err();
    let text = err.to_message().plain("/");

    assert!(!text.contains("brother"), "{text}");
    assert!(text.contains("note:…"), "{text}");
}

#[test]
fn a_message_without_the_prefix_is_not_a_command() {
    assert!(parse_message("hello there", "!").is_none());
    assert!(parse_message("! not a command", "!").is_none());
    assert!(parse_message("!help", "!").unwrap().is_ok());
}

#[test]
fn unknown_command_suggests_the_closest() {
    let err = parse("grop list").unwrap_err();
    assert_eq!(
        err,
        UserError::UnknownCommand {
            typed: "grop list".into(),
            suggestion: Some("group list")
        }
    );
}

#[test]
fn bad_input_gets_a_specific_error() {
    assert!(matches!(
        parse("meeting move meeting:1"),
        Err(UserError::MissingOption { option: "when", .. })
    ));
    assert!(matches!(
        parse("group list colour:red"),
        Err(UserError::UnknownOption { .. })
    ));
    assert_eq!(parse(r#"group info group:"Grief"#), Err(UserError::OpenQuote));
    assert!(matches!(
        parse("group list format:xml"),
        Err(UserError::BadChoice { .. })
    ));
    assert!(matches!(
        parse("group create name:a topic:b led_by:peer capacity:lots"),
        Err(UserError::BadNumber { .. })
    ));
    assert!(matches!(
        parse("group create name:a topic:b led_by:peer ends:tomorrow"),
        Err(UserError::BadDate { .. })
    ));
    assert!(matches!(
        parse("group info group:a group:b"),
        Err(UserError::RepeatedOption { .. })
    ));
    assert!(matches!(parse("group info group:\"\""), Err(UserError::Empty { .. })));
}

#[test]
fn text_that_turns_around_or_shows_nothing_is_refused_and_right_to_left_marks_are_kept() {
    for spoof in [
        "group create name:\"Grief \u{202e}elcric\" topic:x led_by:peer",
        "group info group:\"a\u{2067}b\"",
    ] {
        assert!(
            matches!(parse(spoof), Err(UserError::BadValue { why, .. }) if why.contains("direction")),
            "{spoof}"
        );
    }
    assert!(matches!(
        parse("group info group:\"\u{200b}\u{200d}\u{feff}\""),
        Err(UserError::Empty { .. })
    ));
    assert!(parse("group info group:\"\u{5e2}\u{5d6}\u{5e8}\u{5d4}\u{200f} 2\"").is_ok());
    assert!(parse("group info group:\"👩\u{200d}👩\u{200d}👧 circle\"").is_ok());
}

#[test]
fn a_ten_thousand_character_value_is_refused_with_its_length() {
    let long = "x".repeat(10_000);
    let err = parse(&format!("group create name:{long} topic:t led_by:peer")).unwrap_err();
    assert_eq!(
        err,
        UserError::LineTooLong {
            len: 10_038,
            max: MAX_LINE
        }
    );

    let long = "x".repeat(1_000);
    let err = parse(&format!("group create name:{long} topic:t led_by:peer")).unwrap_err();
    assert_eq!(
        err,
        UserError::TooLong {
            option: "name",
            len: 1_000,
            max: spec::NAME_MAX
        }
    );
}

#[test]
fn urls_and_times_are_words_not_options() {
    assert_eq!(option_key("https://example.org"), None);
    assert_eq!(option_key("19:00"), None);
    assert_eq!(option_key("Location:x"), Some(("location".into(), "x")));
}

#[test]
fn mentions_become_ids() {
    assert_eq!(user_id("<@!123>"), "123");
    assert_eq!(user_id("@bob"), "bob");
    assert_eq!(user_id("@bob:example.org"), "@bob:example.org");
    assert_eq!(channel_id("<#42>"), "42");
    assert_eq!(channel_id("#general"), "general");
}

#[test]
fn text_for_another_bot_is_not_addressed_to_hearth() {
    assert!(parse_addressed("!remind me", "!").is_none());
    assert!(parse_addressed("!!!", "!").is_none());
    assert!(parse_addressed("!\"unclosed", "!").is_none());
    assert!(parse_addressed("hello", "!").is_none());
    assert!(matches!(parse_addressed("!group nope", "!"), Some(Err(_))));
    assert!(matches!(parse_addressed("!help", "!"), Some(Ok(_))));
    assert!(matches!(parse_addressed("!Crisis", "!"), Some(Ok(_))));
}
