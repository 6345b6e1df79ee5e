//! Property: over random series, leads, RSVPs, moves and cancels, interleaved
//! with scheduler ticks, every (occurrence, start, lead, recipient) that
//! should be reminded is reminded exactly once, at its due time, and nothing
//! goes out for a cancelled occurrence.
//!
//! The model is independent of the engine: it replays the same actions and
//! decides, for each possible reminder, whether it was owed, from the state
//! at the moment it fell due.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::scheduler::FnOutbox;
use crate::{Clock, Delivery, Effect, Outbox, Scheduler};

#[derive(Debug, Clone)]
enum Action {
    /// Member `who` answers for the `occ`-th occurrence.
    Rsvp {
        who: usize,
        occ: usize,
        answer: &'static str,
    },
    Cancel {
        occ: usize,
    },
    /// Moves the `occ`-th occurrence to `hour`:00 the same day.
    Move {
        occ: usize,
        hour: u32,
    },
    /// Lets time pass, in steps of ten minutes.
    Wait {
        tens: i64,
    },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..4usize, 0..6usize, prop::sample::select(vec!["yes", "maybe", "no"]))
            .prop_map(|(who, occ, answer)| Action::Rsvp { who, occ, answer }),
        1 => (0..6usize).prop_map(|occ| Action::Cancel { occ }),
        1 => (0..6usize, 8..23u32).prop_map(|(occ, hour)| Action::Move { occ, hour }),
        4 => (1..300i64).prop_map(|tens| Action::Wait { tens }),
    ]
}

const REPEATS: &[&str] = &["daily", "weekly", "monthly", "FREQ=WEEKLY;BYDAY=MO,TH", "biweekly"];
const LEADS: &[&str] = &["24h,1h", "3h", "7d,30m", "1h,30m,10m", "2d,6h"];

/// One occurrence as the model knows it.
#[derive(Debug, Default, Clone)]
struct Occ {
    /// Its starts over time: (start, from when it held).
    starts: Vec<(i64, i64)>,
    cancelled_at: Option<i64>,
    /// Per member: their answers over time.
    answers: HashMap<usize, Vec<(i64, &'static str)>>,
}

impl Occ {
    fn answer_at(&self, who: usize, t: i64) -> Option<&'static str> {
        self.answers.get(&who)?.iter().rfind(|(at, _)| *at < t).map(|(_, a)| *a)
    }
}

fn run_case(repeat: &str, leads: &str, actions: &[Action]) -> std::result::Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    runtime.block_on(async {
        let bot = Bot::new().await;
        let start_clock = at("2026-03-19T10:03:00Z");
        bot.clock.set(start_clock);
        let seen: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
        let sink = seen.clone();
        let clock = bot.clock.clone();
        let outbox: Arc<dyn Outbox> = Arc::new(FnOutbox::new(Platform::Console, move |d: &Delivery| {
            if let Effect::Post { key: Some(k), .. } | Effect::Dm { key: Some(k), .. } = &d.effect {
                // A digest carries the reminders due at one instant in one place.
                let now = crate::Clock::now(&clock).timestamp();
                let mut sink = sink.lock().unwrap();
                sink.extend(crate::jobs::carried_keys(k).into_iter().map(|k| (now, k.to_string())));
            }
            Ok(())
        }));
        let scheduler = Scheduler::new(bot.hearth.clone(), vec![outbox]);
        bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
            .await;
        bot.say("admin", &format!("reminders group:#1 leads:{leads}")).await;
        let scheduled = text(
            &bot.say(
                "admin",
                &format!(r#"meeting schedule group:#1 when:"2026-03-20 19:00" timezone:UTC repeat:"{repeat}""#),
            )
            .await,
        );
        prop_assert!(scheduled.contains("Scheduled"), "{}", scheduled);
        let meeting = crate::meetings::by_id(bot.hearth.store(), 1).await.unwrap().unwrap();
        let originals = meeting.raw_after(at("2026-03-20T00:00:00Z"), 40).unwrap();
        let mut model: BTreeMap<i64, Occ> = originals
            .iter()
            .map(|o| {
                (
                    o.timestamp(),
                    Occ {
                        starts: vec![(o.timestamp(), start_clock.timestamp())],
                        ..Occ::default()
                    },
                )
            })
            .collect();
        let date = |i: usize| originals[i].format("%Y-%m-%d").to_string();

        for a in actions {
            let now = bot.clock.now().timestamp();
            match a {
                Action::Wait { tens } => {
                    let target = bot.clock.now() + Duration::minutes(10 * tens);
                    scheduler.advance(&bot.clock, target).await.unwrap();
                }
                Action::Rsvp { who, occ, answer } => {
                    let reply = text(
                        &bot.say(
                            &format!("m{who}"),
                            &format!("meeting rsvp meeting:1 occurrence:{} answer:{answer}", date(*occ)),
                        )
                        .await,
                    );
                    let saved = ["Thanks, you're going", "Noted: maybe", "Thanks for letting us know"];
                    if saved.iter().any(|s| reply.starts_with(s)) {
                        let o = model.get_mut(&originals[*occ].timestamp()).unwrap();
                        o.answers.entry(*who).or_default().push((now, answer));
                    }
                }
                Action::Cancel { occ } => {
                    let reply = text(
                        &bot.say("admin", &format!("meeting cancel meeting:1 occurrence:{}", date(*occ)))
                            .await,
                    );
                    if reply.starts_with("Cancelled") {
                        let o = model.get_mut(&originals[*occ].timestamp()).unwrap();
                        o.cancelled_at.get_or_insert(now);
                    }
                }
                Action::Move { occ, hour } => {
                    let when = format!("{} {hour:02}:00", date(*occ));
                    let reply = text(
                        &bot.say(
                            "admin",
                            &format!(r#"meeting move meeting:1 occurrence:{} when:"{when}""#, date(*occ)),
                        )
                        .await,
                    );
                    if reply.starts_with("Moved") {
                        let o = model.get_mut(&originals[*occ].timestamp()).unwrap();
                        let to = originals[*occ]
                            .date_naive()
                            .and_hms_opt(*hour, 0, 0)
                            .unwrap()
                            .and_utc()
                            .timestamp();
                        o.starts.push((to, now));
                    }
                }
            }
        }
        let end = bot.clock.now().timestamp();
        let ids: HashMap<String, i64> = sqlx::query_as("SELECT external_id, id FROM members")
            .fetch_all(bot.hearth.store().pool())
            .await
            .unwrap()
            .into_iter()
            .collect();

        // What was owed: for each start an occurrence had, over the time it
        // held, each lead due in that time, before the end and before any
        // cancellation, to the channel and to each member who had said yes
        // or maybe by then.
        let leads = crate::reminders::parse_leads(leads).unwrap();
        let mut owed: BTreeMap<String, i64> = BTreeMap::new();
        for (original, occ) in &model {
            for (i, (start, from)) in occ.starts.iter().enumerate() {
                let until = occ.starts.get(i + 1).map_or(i64::MAX, |(_, t)| *t);
                for lead in &leads {
                    let due = start - lead;
                    let live = occ.cancelled_at.is_none_or(|c| due < c);
                    if !(due > *from && due < until && due <= end && live) {
                        continue;
                    }
                    owed.insert(format!("r:1:{original}:{start}:{lead}:c"), due);
                    for who in 0..4 {
                        if matches!(occ.answer_at(who, due), Some("yes" | "maybe")) {
                            let id = ids[&format!("m{who}")];
                            owed.insert(format!("r:1:{original}:{start}:{lead}:m{id}"), due);
                        }
                    }
                }
            }
        }
        let sent: Vec<(i64, String)> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, k)| k.starts_with("r:"))
            .cloned()
            .collect();
        let mut once = BTreeSet::new();
        for (t, k) in &sent {
            prop_assert!(once.insert(k.clone()), "sent twice: {}", k);
            prop_assert_eq!(owed.get(k), Some(t), "not owed, or not on time: {}", k);
        }
        let missing: Vec<&String> = owed.keys().filter(|k| !once.contains(*k)).collect();
        prop_assert!(missing.is_empty(), "never sent: {:?}", missing);
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn every_owed_reminder_goes_out_exactly_once_and_none_for_a_cancelled_meeting(
        repeat in prop::sample::select(REPEATS),
        leads in prop::sample::select(LEADS),
        actions in prop::collection::vec(action(), 1..40),
    ) {
        run_case(repeat, leads, &actions)?;
    }
}
