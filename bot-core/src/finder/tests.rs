//! The finder's words and matching, `/group list day: time:`, and the page.

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use super::*;
use crate::Clock;
use crate::store::query_scalar;
use crate::tests::{Bot, at, text};

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn time(word: &str) -> Filter {
    Filter::parse(None, Some(word), None, None).unwrap()
}

#[test]
fn every_minute_of_the_day_is_in_exactly_one_named_part() {
    let day = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
    for minute in 0..24 * 60 {
        let t = day.and_hms_opt(minute / 60, minute % 60, 0).unwrap();
        let parts: Vec<Part> = Part::ALL
            .into_iter()
            .filter(|p| time(p.name()).holds_local(t))
            .collect();
        assert_eq!(parts.len(), 1, "{t}: {parts:?}");
    }
    assert!(time("evening").holds_local(local("2026-12-08 17:00")));
    assert!(time("evening").holds_local(local("2026-12-08 20:59")));
    assert!(!time("evening").holds_local(local("2026-12-08 21:00")));
    assert!(time("night").holds_local(local("2026-12-08 02:00")));
    assert_eq!(Part::Evening.label(), "evening (17:00–21:00)");
}

#[test]
fn a_new_york_tuesday_evening_is_a_tokyo_wednesday_morning() {
    // Tuesday 8 December 2026, 19:00 in New York (EST, UTC-5).
    let start = at("2026-12-09T00:00:00Z");
    let evening = time("evening");
    let tuesday = Filter::parse(Some("tue"), None, None, None).unwrap();

    assert!(evening.holds(start, Tz::America__New_York));
    assert!(tuesday.holds(start, Tz::America__New_York));
    assert!(!evening.holds(start, Tz::Asia__Tokyo));
    assert!(!tuesday.holds(start, Tz::Asia__Tokyo));
    assert!(time("morning").holds(start, Tz::Asia__Tokyo));
    assert!(
        Filter::parse(Some("wednesday"), Some("mornings"), None, None)
            .unwrap()
            .holds(start, Tz::Asia__Tokyo)
    );
}

#[test]
fn days_read_weekdays_weekends_and_day_names() {
    let tue = local("2026-12-08 12:00");
    let sat = local("2026-12-12 12:00");
    let days = |w: &str| Filter::parse(Some(w), None, None, None).unwrap();

    assert!(days("weekday").holds_local(tue) && !days("weekdays").holds_local(sat));
    assert!(days("weekend").holds_local(sat) && !days("Weekends").holds_local(tue));
    assert!(days("tue,sat").holds_local(tue) && days("tue,sat").holds_local(sat));
    assert!(days("Tuesdays").holds_local(tue) && !days("thu").holds_local(tue));
    assert_eq!(days("weekday").describe(), "weekdays");
    assert_eq!(days("tue,thu").describe(), "tuesdays and thursdays");
}

#[test]
fn after_and_before_bound_the_start_and_wrap_past_midnight() {
    let between = Filter::parse(None, None, Some("18:00"), Some("21:00")).unwrap();
    let late = Filter::parse(None, None, Some("22:00"), Some("02:00")).unwrap();
    let after = Filter::parse(None, None, Some("18:00"), None).unwrap();

    assert!(between.holds_local(local("2026-12-08 18:00")));
    assert!(!between.holds_local(local("2026-12-08 21:00")));
    assert!(!between.holds_local(local("2026-12-08 17:59")));
    assert!(late.holds_local(local("2026-12-08 23:30")) && late.holds_local(local("2026-12-08 01:00")));
    assert!(!late.holds_local(local("2026-12-08 12:00")));
    assert!(after.holds_local(local("2026-12-08 23:59")) && !after.holds_local(local("2026-12-08 09:00")));
    assert_eq!(between.describe(), "from 18:00 to 21:00");
}

#[test]
fn a_word_the_finder_cannot_read_gets_the_closest_it_knows() {
    let Err(e) = Filter::parse(None, Some("evenin"), None, None) else {
        panic!("evenin read")
    };
    let said = e.to_message().plain("/");
    assert!(
        said.contains("I can't read time:evenin. Did you mean time:evening?"),
        "{said}"
    );
    assert!(said.contains("evening (17:00–21:00)"), "{said}");

    let Err(e) = Filter::parse(Some("tusday"), None, None, None) else {
        panic!("tusday read")
    };
    assert!(e.to_message().plain("/").contains("Did you mean day:tuesday?"));
    let Err(e) = Filter::parse(None, None, Some("6pm"), None) else {
        panic!("6pm read")
    };
    assert_eq!(
        e.to_message().plain("/"),
        "after must be a time written HH:MM, e.g. 18:00."
    );
    assert!(matches!(
        Filter::parse(None, Some("xyzzy"), None, None),
        Err(crate::UserError::UnreadWord { suggestion: None, .. })
    ));
}

/// Five groups, each meeting weekly in its own zone (December 2026, no
/// clock changes near): a reader in Tokyo calls three of them evening.
async fn five_groups(bot: &Bot) {
    bot.clock.set(at("2026-12-03T04:00:00Z"));
    let groups = [
        ("New York evening", "grief", "2026-12-08 19:00", "America/New_York", ""),
        ("Tokyo evening", "grief", "2026-12-10 19:30", "Asia/Tokyo", ""),
        (
            "Berlin lunch",
            "caregiving",
            "2026-12-07 11:00",
            "Europe/Berlin",
            " format:hybrid",
        ),
        (
            "London Saturday",
            "recovery",
            "2026-12-05 08:00",
            "Europe/London",
            " format:in_person location:\"Hall, 1 High St\"",
        ),
        (
            "Sydney early",
            "recovery",
            "2026-12-10 05:00",
            "Australia/Sydney",
            " led_by:professional",
        ),
    ];
    for (name, topic, when, zone, more) in groups {
        let led = if more.contains("led_by") { "" } else { " led_by:peer" };
        let made = text(
            &bot.say(
                "admin",
                &format!("group create name:\"{name}\" topic:{topic}{led}{more}"),
            )
            .await,
        );
        assert!(made.contains(name), "{made}");
        let scheduled = text(
            &bot.say(
                "admin",
                &format!("meeting schedule group:\"{name}\" when:\"{when}\" repeat:weekly timezone:{zone}"),
            )
            .await,
        );
        assert!(scheduled.contains("meeting"), "{scheduled}");
    }
}

fn listed(answer: &str) -> Vec<&str> {
    answer
        .lines()
        .filter_map(|l| l.split(" (#").next().filter(|_| l.contains(" (#")))
        .collect()
}

#[tokio::test]
async fn group_list_time_evening_lists_the_groups_each_reader_calls_evening_nearest_first() {
    let bot = Bot::new().await;
    five_groups(&bot).await;
    bot.say("tomo", "timezone zone:Asia/Tokyo").await;
    bot.say("berta", "timezone zone:Europe/Berlin").await;

    let tokyo = text(&bot.say("tomo", "group list time:evening").await);
    let berlin = text(&bot.say("berta", "group list time:evening").await);
    let berlin_morning = text(&bot.say("berta", "group list day:weekday time:morning").await);

    // Tokyo, from Thu 3 Dec 13:00: London Sat 08:00 is Sat 17:00, Berlin Mon
    // 11:00 is Mon 19:00, Tokyo's own Thu 19:30 is next week's.
    assert_eq!(
        listed(&tokyo),
        ["London Saturday", "Berlin lunch", "Tokyo evening"],
        "{tokyo}"
    );
    assert!(
        tokyo.contains("Groups meeting evening (17:00–21:00), your time (Asia/Tokyo)"),
        "{tokyo}"
    );
    assert!(tokyo.contains("next: Sat 5 Dec 2026, 17:00 JST"), "{tokyo}");
    // Berlin: Sydney's Thursday 05:00 is Wednesday 19:00 there, and no other.
    assert_eq!(listed(&berlin), ["Sydney early"], "{berlin}");
    assert!(berlin.contains("next: Wed 9 Dec 2026, 19:00 CET"), "{berlin}");
    let none = text(&bot.say("berta", "group list day:weekend time:evening").await);
    assert!(none.contains("No group meets then"), "{none}");
    // Berlin's weekday mornings: Tokyo's Thu 19:30 is Thu 11:30; its own Mon 11:00.
    assert_eq!(
        listed(&berlin_morning),
        ["Berlin lunch", "Tokyo evening"],
        "{berlin_morning}"
    );
}

#[tokio::test]
async fn group_list_says_kindly_what_it_cannot_read() {
    let bot = Bot::new().await;

    let answer = text(&bot.say("ann", "group list time:evenin").await);

    assert!(
        answer.starts_with("I can't read time:evenin. Did you mean time:evening?"),
        "{answer}"
    );
}

async fn community(bot: &Bot) -> i64 {
    query_scalar("SELECT id FROM communities")
        .fetch_one(bot.hearth.store())
        .await
        .unwrap()
}

async fn page_of(bot: &Bot, query: &str) -> String {
    let id = community(bot).await;
    render(
        bot.hearth.store(),
        id,
        &Query::parse(Some(query)),
        ("Hearth <groups>", "/static"),
        bot.clock.now(),
    )
    .await
    .unwrap()
}

fn groups_on(page: &str) -> Vec<String> {
    page.split("<h3 id=\"g-")
        .skip(1)
        .filter_map(|s| Some(s.split_once("\">")?.1.split_once("</h3>")?.0.to_string()))
        .collect()
}

#[tokio::test]
async fn the_page_shows_each_group_with_times_in_the_community_zone_without_scripts() {
    let bot = Bot::new().await;
    five_groups(&bot).await;

    let page = page_of(&bot, "").await;

    assert!(page.starts_with("<!doctype html>\n<html lang=\"en\">"));
    assert!(page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
    assert!(page.contains("<link rel=\"stylesheet\" href=\"/static/finder.css\">"));
    assert!(page.contains("<script src=\"/static/finder.js\" defer></script>"));
    assert!(!page.contains("<style") && !page.contains("style=") && !page.contains("onclick"));
    assert!(page.contains("<h1>Hearth &lt;groups&gt;: find a meeting</h1>"));
    assert_eq!(groups_on(&page).len(), 5, "{page}");
    // The console's community is in UTC: New York's Tuesday 19:00 is 00:00 Wednesday.
    assert!(
        page.contains("<time datetime=\"2026-12-09T00:00:00Z\">Wed 9 Dec, 00:00</time>"),
        "{page}"
    );
    assert!(page.contains("<dt>Led by</dt><dd>A professional facilitator</dd>"));
    assert!(page.contains("<dt>Format</dt><dd>In person: Hall, 1 High St</dd>"));
    assert!(page.contains("<dt>Registration</dt><dd>None needed</dd>"));
    // Each group's calendar, and the Meeting Guide feed, beside the page.
    assert!(page.contains("<a href=\"g/london-saturday.ics\">Add London Saturday's meetings"));
    assert!(page.contains("<a href=\"meeting-guide.json\">"));
    // Every control has its label.
    for control in ["topic", "format", "day", "time", "zone"] {
        assert!(page.contains(&format!("<label for=\"f-{control}\">")), "{control}");
        assert!(
            page.contains(&format!("id=\"f-{control}\" name=\"{control}\"")),
            "{control}"
        );
    }
}

#[tokio::test]
async fn the_page_filters_by_time_of_day_in_the_zone_the_reader_chose() {
    let bot = Bot::new().await;
    five_groups(&bot).await;

    let tokyo = page_of(&bot, "time=evening&zone=Asia%2FTokyo").await;
    let new_york = page_of(&bot, "zone=America%2FNew_York&day=tuesday").await;
    let topic = page_of(&bot, "topic=recovery&format=in_person").await;
    let unread = page_of(&bot, "time=evenin&zone=Mars%2FOlympus").await;

    assert_eq!(groups_on(&tokyo), ["London Saturday", "Berlin lunch", "Tokyo evening"]);
    assert!(tokyo.contains("<option value=\"evening\" selected>"));
    assert!(
        tokyo.contains("<time datetime=\"2026-12-05T08:00:00Z\">Sat 5 Dec, 17:00</time>"),
        "{tokyo}"
    );
    assert!(tokyo.contains("Times are shown in <strong data-zone-name>Asia/Tokyo</strong>"));
    assert_eq!(groups_on(&new_york), ["New York evening"]);
    assert!(new_york.contains("<time datetime=\"2026-12-09T00:00:00Z\">Tue 8 Dec, 19:00</time>"));
    assert_eq!(groups_on(&topic), ["London Saturday"]);
    assert_eq!(groups_on(&unread).len(), 5);
    assert!(unread.contains("I don't know the time zone “Mars/Olympus”; times are in UTC."));
    assert!(unread.contains("I can&#39;t read time:evenin."));
}

#[tokio::test]
async fn the_page_escapes_what_people_wrote_and_keeps_closed_links_and_names_out() {
    let bot = Bot::new().await;
    bot.clock.set(at("2026-12-03T04:00:00Z"));
    bot.say(
        "admin",
        r#"group create name:"<script>alert(1)</script>" topic:"a & b" led_by:peer description:"Say hi <b>" location:https://meet.example/secret?pwd=1 registration:"Write to us""#,
    )
    .await;
    bot.say(
        "admin",
        r#"group facilitator group:"<script>alert(1)</script>" user:zelda action:add"#,
    )
    .await;
    bot.say(
        "admin",
        r#"meeting schedule group:"<script>alert(1)</script>" when:"2026-12-08 19:00" repeat:weekly timezone:UTC where:https://meet.example/secret?pwd=1 title:"<i>Tea</i>""#,
    )
    .await;
    bot.say("zelda", "timezone zone:Europe/Berlin").await;

    let page = page_of(&bot, "topic=%3Cx%3E").await;
    let all = page_of(&bot, "").await;

    assert!(!page.contains("<x>") && page.contains("No group matches these filters"));
    assert!(all.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{all}");
    assert!(!all.contains("<script>alert"));
    assert!(all.contains("a &amp; b") && all.contains("&lt;i&gt;Tea&lt;/i&gt;"));
    assert!(all.contains("Online: the link is for registered members"));
    assert!(!all.contains("meet.example"), "a closed group's link: {all}");
    assert!(
        !all.contains("zelda") && !all.contains("admin"),
        "no member's name: {all}"
    );
    assert!(all.contains("<time datetime=\"2026-12-08T19:00:00Z\">"));
}

#[tokio::test]
async fn group_list_takes_after_and_before_in_the_readers_zone() {
    let bot = Bot::new().await;
    five_groups(&bot).await;
    bot.say("tomo", "timezone zone:Asia/Tokyo").await;

    let window = text(&bot.say("tomo", "group list after:18:00 before:20:00").await);
    let weekend = text(&bot.say("tomo", "group list day:weekend after:16:00").await);

    // Tokyo: Berlin's Monday 11:00 is 19:00, Tokyo's own Thursday 19:30.
    assert_eq!(listed(&window), ["Berlin lunch", "Tokyo evening"], "{window}");
    assert!(
        window.contains("Groups meeting from 18:00 to 20:00, your time"),
        "{window}"
    );
    assert_eq!(listed(&weekend), ["London Saturday"], "{weekend}");
}

#[tokio::test]
async fn the_finder_skips_a_cancelled_occurrence_and_reads_a_moved_one_where_it_now_is() {
    let bot = Bot::new().await;
    five_groups(&bot).await;
    bot.say("tomo", "timezone zone:Asia/Tokyo").await;
    // London Saturday is meeting 4; Berlin lunch, meeting 3.
    let cancelled = text(&bot.say("admin", "meeting cancel meeting:4 occurrence:2026-12-05").await);
    let moved = text(
        &bot.say(
            "admin",
            r#"meeting move meeting:3 occurrence:2026-12-07 when:"2026-12-07 07:00""#,
        )
        .await,
    );

    let evening = text(&bot.say("tomo", "group list time:evening").await);
    let afternoon = text(&bot.say("tomo", "group list time:afternoon").await);

    assert!(cancelled.to_lowercase().contains("cancel"), "{cancelled}");
    assert!(moved.to_lowercase().contains("moved"), "{moved}");
    // Berlin's 7 Dec meeting moved to 07:00 Berlin, 15:00 Tokyo: its next
    // evening is 14 Dec; London's 5 Dec is gone, its next is 12 Dec.
    assert_eq!(
        listed(&evening),
        ["Tokyo evening", "London Saturday", "Berlin lunch"],
        "{evening}"
    );
    assert!(evening.contains("London Saturday (#4)") && evening.contains("Sat 12 Dec 2026, 17:00 JST"));
    assert!(evening.contains("Mon 14 Dec 2026, 19:00 JST"), "{evening}");
    assert_eq!(listed(&afternoon), ["Berlin lunch"], "{afternoon}");
    assert!(afternoon.contains("Mon 7 Dec 2026, 15:00 JST"), "{afternoon}");
}
