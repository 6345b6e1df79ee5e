//! The meetings' and reminders' own queries on one small fixture, on
//! whichever store the tests run on: SQLite in memory, or PostgreSQL when
//! `HEARTH_TEST_POSTGRES` names a server (issue 27). Only code that already
//! speaks through the store layer is called, so these run on both now.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::groups::Group;
use crate::meetings::{self, Edit, Meeting, ToWhen};
use crate::members::Member;
use crate::reminders::{self, Asked};
use crate::store::{Store, Tx, query, query_scalar};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn ts(s: &str) -> i64 {
    at(s).timestamp()
}

struct Fixture {
    store: Store,
    community: i64,
    group: Group,
    ann: i64,
    bob: i64,
    /// A weekly series from Thursday 5 March 2026, 19:00 UTC.
    weekly: i64,
    /// The same, cancelled.
    cancelled: i64,
}

async fn fixture() -> Fixture {
    let store = Store::for_test().await.unwrap();
    let community: i64 = query_scalar(
        "INSERT INTO communities (platform, external_id, timezone) VALUES ('console', 'c', 'UTC') RETURNING id",
    )
    .fetch_one(&store)
    .await
    .unwrap();
    let mut members = Vec::new();
    for (name, zone) in [("ann", Some("Europe/Berlin")), ("bob", None)] {
        let id: i64 = query_scalar(
            "INSERT INTO members (platform, external_id, display_name, timezone) VALUES ('console', ?, ?, ?)
             RETURNING id",
        )
        .bind(name)
        .bind(name)
        .bind(zone)
        .fetch_one(&store)
        .await
        .unwrap();
        members.push(id);
    }
    let group: i64 = query_scalar(
        "INSERT INTO groups (community_id, name, name_key, topic, led_by, format, home_channel, guideline, ends)
         VALUES (?, 'Grief circle', 'grief circle', 'grief', 'peer', 'online', 'grief-room', 'Kind words',
             '2026-12-31')
         RETURNING id",
    )
    .bind(community)
    .fetch_one(&store)
    .await
    .unwrap();
    for member in &members {
        query("INSERT INTO group_members (group_id, member_id) VALUES (?, ?)")
            .bind(group)
            .bind(*member)
            .execute(&store)
            .await
            .unwrap();
    }
    let mut series = Vec::new();
    for cancelled in [false, true] {
        let id: i64 = query_scalar(
            "INSERT INTO meetings (group_id, start_local, timezone, repeat, rrule, duration_minutes, cancelled)
             VALUES (?, '2026-03-05 19:00:00', 'UTC', 'weekly', 'FREQ=WEEKLY', 90, ?) RETURNING id",
        )
        .bind(group)
        .bind(cancelled)
        .fetch_one(&store)
        .await
        .unwrap();
        series.push(id);
    }
    let group = grief_circle(group);
    Fixture {
        store,
        community,
        group,
        ann: members[0],
        bob: members[1],
        weekly: series[0],
        cancelled: series[1],
    }
}

/// The fixture's group, as its row reads.
fn grief_circle(id: i64) -> Group {
    Group {
        id,
        name: "Grief circle".into(),
        topic: "grief".into(),
        led_by: "peer".into(),
        description: None,
        format: "online".into(),
        location: None,
        capacity: None,
        cost: None,
        registration: None,
        ends: NaiveDate::from_ymd_opt(2026, 12, 31),
        home_channel: "grief-room".into(),
        guideline: "Kind words".into(),
        timezone: None,
        reminder_leads: "24h,1h".into(),
        tell_facilitators: false,
        venmo: None,
        square: None,
        paypal: None,
        homegroup_online: None,
    }
}

async fn answer(f: &Fixture, member: i64, occurrence: &str, answer: &str) {
    query("INSERT INTO rsvps (meeting_id, occurrence, member_id, answer) VALUES (?, ?, ?, ?)")
        .bind(f.weekly)
        .bind(ts(occurrence))
        .bind(member)
        .bind(answer)
        .execute(&f.store)
        .await
        .unwrap();
}

/// bob answers the first meeting of the new part, changes his answer,
/// and takes back only the one he gave last; then says yes again.
async fn bob_answers(tx: &mut Tx, f: &Fixture, meeting: &Meeting, now: DateTime<Utc>) {
    let bob = Member {
        id: f.bob,
        external_id: "bob".into(),
        display_name: "bob".into(),
        timezone: None,
    };
    let mut asked = meetings::Rsvp {
        meeting,
        group: &f.group,
        me: &bob,
        wanted: Some("2026-03-19"),
        answer: "maybe",
        reader_zone: Tz::UTC,
        now,
    };
    meetings::rsvp(&mut *tx, &asked).await.unwrap();
    asked.answer = "yes";
    meetings::rsvp(&mut *tx, &asked).await.unwrap();
    asked.answer = "maybe";
    assert!(
        meetings::take_back_rsvp(&mut *tx, &asked).await.unwrap().is_none(),
        "not his answer now"
    );
    asked.answer = "yes";
    assert!(meetings::take_back_rsvp(&mut *tx, &asked).await.unwrap().is_some());
    meetings::rsvp(&mut *tx, &asked).await.unwrap();
}

/// ann says yes to the first and the fourth meeting; the series as it is then.
async fn ann_says_yes_twice(f: &Fixture) -> Meeting {
    answer(f, f.ann, "2026-03-05T19:00:00Z", "yes").await;
    answer(f, f.ann, "2026-03-26T19:00:00Z", "yes").await;
    meetings::by_id(&f.store, f.weekly).await.unwrap().unwrap()
}

/// The (yes, maybe) counts of one occurrence.
async fn counts(s: &Store, meeting: i64, occurrence: &str) -> (i64, i64) {
    meetings::rsvp_counts(s, meeting, at(occurrence)).await.unwrap()
}

fn ids(meetings: &[Meeting]) -> Vec<i64> {
    meetings.iter().map(|m| m.id).collect()
}

#[tokio::test]
async fn a_series_reads_alike_on_either_store() {
    let f = fixture().await;
    let s = &f.store;

    let m = meetings::by_id(s, f.weekly).await.unwrap().unwrap();
    assert_eq!(
        m.start_local,
        NaiveDate::from_ymd_opt(2026, 3, 5)
            .unwrap()
            .and_hms_opt(19, 0, 0)
            .unwrap()
    );
    assert_eq!(m.group_ends, NaiveDate::from_ymd_opt(2026, 12, 31));
    assert!(!m.cancelled);
    assert!(meetings::by_id(s, f.cancelled).await.unwrap().unwrap().cancelled);
    assert_eq!(ids(&meetings::of_group(s, f.group.id).await.unwrap()), [f.weekly]);
    let mut both = ids(&meetings::by_ids(s, &[f.cancelled, f.weekly]).await.unwrap());
    both.sort_unstable();
    assert_eq!(both, [f.weekly, f.cancelled]);
    let of_community = meetings::of_community(s, f.community).await.unwrap();
    assert_eq!(of_community.len(), 1);
    assert_eq!(
        (of_community[0].0.id, of_community[0].1.as_str()),
        (f.weekly, "Grief circle")
    );
    assert_eq!(meetings::live_of_group(s, f.group.id).await.unwrap(), [f.weekly]);
    assert!(meetings::live_of_member(s, &[], f.bob).await.unwrap().is_empty());
    assert_eq!(
        meetings::live_of_member(s, &[f.group.id], f.ann).await.unwrap(),
        [f.weekly]
    );
}

#[tokio::test]
async fn answers_are_counted_and_listed_alike_on_either_store() {
    let f = fixture().await;
    let s = &f.store;
    answer(&f, f.ann, "2026-03-05T19:00:00Z", "yes").await;
    answer(&f, f.bob, "2026-03-05T19:00:00Z", "maybe").await;
    answer(&f, f.bob, "2026-03-12T19:00:00Z", "no").await;
    assert_eq!(meetings::live_of_member(s, &[], f.bob).await.unwrap(), [f.weekly]);
    assert_eq!(counts(s, f.weekly, "2026-03-05T19:00:00Z").await, (1, 1));
    assert_eq!(counts(s, f.weekly, "2026-03-12T19:00:00Z").await, (0, 0));
    let counts = meetings::rsvp_counts_of(
        s,
        &[
            (f.weekly, ts("2026-03-05T19:00:00Z")),
            (f.weekly, ts("2026-03-12T19:00:00Z")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        counts,
        HashMap::from([
            ((f.weekly, ts("2026-03-05T19:00:00Z")), (1, 1)),
            ((f.weekly, ts("2026-03-12T19:00:00Z")), (0, 0)),
        ])
    );
    let came: Vec<i64> = meetings::attendees(s, f.weekly, at("2026-03-05T19:00:00Z"))
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(came, [f.ann, f.bob]);
    let span = (ts("2026-03-05T19:00:00Z"), ts("2026-03-12T19:00:00Z"));
    let mut all = meetings::rsvps_between(s, f.weekly, span, None).await.unwrap();
    all.sort();
    assert_eq!(
        all,
        [
            (span.0, f.ann, "yes".to_string()),
            (span.0, f.bob, "maybe".to_string()),
            (span.1, f.bob, "no".to_string()),
        ]
    );
    let mut bobs = meetings::rsvps_between(s, f.weekly, span, Some(f.bob)).await.unwrap();
    bobs.sort();
    assert_eq!(
        bobs,
        [(span.0, f.bob, "maybe".to_string()), (span.1, f.bob, "no".to_string())]
    );
}

#[tokio::test]
async fn exceptions_slugs_and_changes_read_alike_on_either_store() {
    let f = fixture().await;
    let s = &f.store;
    let m = meetings::by_id(s, f.weekly).await.unwrap().unwrap();
    // Exceptions: the second cancelled, the third an hour after the fourth.
    query("INSERT INTO meeting_exceptions (meeting_id, occurrence, moved_to) VALUES (?, ?, NULL), (?, ?, ?)")
        .bind(f.weekly)
        .bind(ts("2026-03-12T19:00:00Z"))
        .bind(f.weekly)
        .bind(ts("2026-03-19T19:00:00Z"))
        .bind(ts("2026-03-26T20:00:00Z"))
        .execute(s)
        .await
        .unwrap();
    assert_eq!(
        meetings::exceptions(s, f.weekly).await.unwrap(),
        HashMap::from([
            (ts("2026-03-12T19:00:00Z"), None),
            (ts("2026-03-19T19:00:00Z"), Some(ts("2026-03-26T20:00:00Z"))),
        ])
    );
    assert_eq!(
        meetings::exceptions_of(s, &[(f.weekly, ts("2026-03-12T19:00:00Z")), (f.weekly, 1)])
            .await
            .unwrap(),
        HashMap::from([((f.weekly, ts("2026-03-12T19:00:00Z")), None)])
    );
    let starts: Vec<DateTime<Utc>> = meetings::upcoming(s, &m, at("2026-03-01T00:00:00Z"), 3)
        .await
        .unwrap()
        .iter()
        .map(|o| o.start)
        .collect();
    assert_eq!(
        starts,
        [
            at("2026-03-05T19:00:00Z"),
            at("2026-03-26T19:00:00Z"),
            at("2026-03-26T20:00:00Z")
        ]
    );

    // The feed's slug is kept once; a change marks the series.
    meetings::keep_guide_slug(s, f.weekly, "grief-1").await.unwrap();
    meetings::keep_guide_slug(s, f.weekly, "other").await.unwrap();
    let mut slugs = meetings::guide_slugs(s, f.community).await.unwrap();
    slugs.sort();
    assert_eq!(slugs, [(f.weekly, Some("grief-1".to_string())), (f.cancelled, None)]);
    meetings::touch_group(s, f.group.id, at("2026-03-02T00:00:00Z"))
        .await
        .unwrap();
    let weekly = meetings::by_id(s, f.weekly).await.unwrap().unwrap();
    let cancelled = meetings::by_id(s, f.cancelled).await.unwrap().unwrap();
    assert_eq!(weekly.changed_at, ts("2026-03-02T00:00:00Z"));
    assert_eq!(cancelled.changed_at, 0, "a cancelled series is not marked");
}

#[tokio::test]
async fn a_move_and_a_cancel_write_alike_on_either_store() {
    let f = fixture().await;
    let s = &f.store;
    let now = at("2026-03-01T00:00:00Z");
    let m = ann_says_yes_twice(&f).await;

    let mut tx = s.write().await.unwrap();
    let to = ToWhen {
        text: "2026-03-06 19:00",
        reader: Tz::UTC,
        order: None,
        confirmed: true,
    };
    let moved = meetings::move_one(&mut tx, &m, &f.group, Some("2026-03-05"), &to, now)
        .await
        .unwrap();
    let cancelled = meetings::cancel(&mut tx, &m, Some("2026-03-12"), Tz::UTC, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let told: Vec<i64> = moved.told.iter().map(|(m, _)| m.id).collect();
    assert_eq!(told, [f.ann]);
    assert!(cancelled.told.is_empty());
    assert_eq!(
        meetings::exceptions(s, f.weekly).await.unwrap(),
        HashMap::from([
            (ts("2026-03-05T19:00:00Z"), Some(ts("2026-03-06T19:00:00Z"))),
            (ts("2026-03-12T19:00:00Z"), None),
        ])
    );
}

#[tokio::test]
async fn an_edit_answers_and_a_cancel_of_all_write_alike_on_either_store() {
    let f = fixture().await;
    let s = &f.store;
    let now = at("2026-03-01T00:00:00Z");
    let m = ann_says_yes_twice(&f).await;
    // From the 19th on at 20:00: the meetings before keep their own series.
    let mut tx = s.write().await.unwrap();
    let edit = Edit {
        from: NaiveDate::from_ymd_opt(2026, 3, 19),
        when: Some("20:00"),
        confirmed: true,
        ..Edit::default()
    };
    let edited = meetings::edit(&mut tx, &m, &f.group, &edit, now).await.unwrap();
    tx.commit().await.unwrap();
    let earlier = edited.earlier.unwrap();
    assert_eq!(earlier.continued_by, Some(f.weekly));
    assert!(
        earlier.ends_at.is_some_and(|e| e < ts("2026-03-19T19:00:00Z")),
        "{earlier:?}"
    );
    assert_eq!(counts(s, earlier.id, "2026-03-05T19:00:00Z").await, (1, 0));
    assert_eq!(counts(s, f.weekly, "2026-03-26T20:00:00Z").await, (1, 0));
    let now_weekly = meetings::by_id(s, f.weekly).await.unwrap().unwrap();
    assert_eq!(
        now_weekly.start_local.date(),
        NaiveDate::from_ymd_opt(2026, 3, 19).unwrap()
    );
    let mut tx = s.write().await.unwrap();
    assert_eq!(
        ids(&meetings::earlier_parts(&mut tx, &now_weekly).await.unwrap()),
        [earlier.id]
    );
    let for_date = meetings::for_date(&mut tx, now_weekly.clone(), Some("2026-03-06"))
        .await
        .unwrap();
    assert_eq!(for_date.id, earlier.id);

    bob_answers(&mut tx, &f, &now_weekly, now).await;

    let all = meetings::cancel(&mut tx, &now_weekly, Some("all"), Tz::UTC, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        all.told.iter().map(|(m, _)| m.id).collect::<Vec<_>>(),
        [f.bob, f.ann],
        "in the order of their meetings"
    );
    assert!(meetings::by_id(s, f.weekly).await.unwrap().unwrap().cancelled);
    assert!(
        meetings::of_group(s, f.group.id)
            .await
            .unwrap()
            .iter()
            .all(|m| m.id != f.weekly)
    );
}

#[tokio::test]
async fn reminder_settings_read_and_write_alike_on_either_store() {
    let f = fixture().await;
    let s = &f.store;
    query(
        "INSERT INTO reminder_settings (member_id, leads, dm, quiet_start, quiet_end)
         VALUES (?, '1h', TRUE, '22:00', '08:00'), (?, NULL, FALSE, NULL, NULL)",
    )
    .bind(f.ann)
    .bind(f.bob)
    .execute(s)
    .await
    .unwrap();
    let ann = reminders::settings(s, f.ann).await.unwrap();
    assert_eq!(ann.leads.as_deref(), Some("1h"));
    assert_eq!(ann.dm, Some(true));
    assert_eq!(
        ann.quiet(),
        Some((
            NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(8, 0, 0).unwrap()
        ))
    );
    let both = reminders::settings_of(s, &[f.ann, f.bob]).await.unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!(both[&f.bob].dm, Some(false));
    let always = reminders::dm_on_in_group(s, f.group.id, None).await.unwrap();
    assert_eq!(always.len(), 1);
    assert_eq!(
        (always[0].id, always[0].timezone.as_deref()),
        (f.ann, Some("Europe/Berlin"))
    );
    assert_eq!(always[0].settings.quiet_start, NaiveTime::from_hms_opt(22, 0, 0));
    assert!(
        reminders::dm_on_in_group(s, f.group.id, Some(f.bob))
            .await
            .unwrap()
            .is_empty()
    );

    // bob's own: DMs on, quiet hours; then the quiet hours cleared.
    let bob = Member {
        id: f.bob,
        external_id: "bob".into(),
        display_name: "bob".into(),
        timezone: None,
    };
    let asked = Asked {
        leads: Some("2h"),
        dm: Some("on"),
        quiet: Some("23:00-07:00"),
        clear: None,
        channel: None,
    };
    reminders::member_settings(s, &bob, asked).await.unwrap();
    let saved = reminders::settings(s, f.bob).await.unwrap();
    assert_eq!((saved.leads.as_deref(), saved.dm), (Some("2h"), Some(true)));
    assert_eq!(saved.quiet_start, NaiveTime::from_hms_opt(23, 0, 0));
    let cleared = Asked {
        leads: None,
        dm: None,
        quiet: None,
        clear: Some("quiet"),
        channel: None,
    };
    reminders::member_settings(s, &bob, cleared).await.unwrap();
    let saved = reminders::settings(s, f.bob).await.unwrap();
    assert_eq!(
        (saved.leads.as_deref(), saved.dm, saved.quiet()),
        (Some("2h"), Some(true), None)
    );
    assert_eq!(reminders::dm_on_in_group(s, f.group.id, None).await.unwrap().len(), 2);
}
