//! Property: over random series, leads, RSVPs, moves and cancels, interleaved
//! with scheduler ticks, every (occurrence, start, lead, recipient) that
//! should be reminded is reminded exactly once, at its due time, and nothing
//! goes out for a cancelled occurrence.
//!
//! Each change may also meet a failure between any two of its writes (a
//! trigger aborts its n-th row written): then it changes nothing at all, and
//! no reminder of a cancelled occurrence is ever left due.
//!
//! The model is independent of the engine: it follows what the changes
//! stored (exceptions and RSVPs, the tables people's words land in) and
//! decides, for each possible reminder, whether it was owed, from that state
//! at the moment it fell due.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::scheduler::FnOutbox;
use crate::{Clock, Delivery, Effect, Outbox, Scheduler};

/// A change's writes fail from the `n`-th row on (`None`: they all succeed).
type Fault = Option<u8>;

#[derive(Debug, Clone)]
enum Action {
    /// Member `who` answers for the `occ`-th occurrence.
    Rsvp {
        who: usize,
        occ: usize,
        answer: &'static str,
        fault: Fault,
    },
    Cancel {
        occ: usize,
        fault: Fault,
    },
    /// Moves the `occ`-th occurrence to `hour`:00 the same day.
    Move {
        occ: usize,
        hour: u32,
        fault: Fault,
    },
    /// Lets time pass, in steps of ten minutes.
    Wait {
        tens: i64,
    },
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![2 => Just(None), 1 => (0..16u8).prop_map(Some)]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..4usize, 0..6usize, prop::sample::select(vec!["yes", "maybe", "no"]), fault())
            .prop_map(|(who, occ, answer, fault)| Action::Rsvp { who, occ, answer, fault }),
        1 => (0..6usize, fault()).prop_map(|(occ, fault)| Action::Cancel { occ, fault }),
        1 => (0..6usize, 8..23u32, fault()).prop_map(|(occ, hour, fault)| Action::Move { occ, hour, fault }),
        4 => (1..300i64).prop_map(|tens| Action::Wait { tens }),
    ]
}

/// The tables a change writes: each row written spends one of the budget;
/// past it, the write aborts (a crash, a full disk, a lost lock).
const FAULTY: &[&str] = &["meetings", "meeting_exceptions", "rsvps", "jobs"];

async fn install_faults(bot: &Bot) {
    let store = bot.hearth.store();
    crate::store::query("CREATE TABLE fault_budget (n BIGINT NOT NULL)")
        .execute(store)
        .await
        .unwrap();
    crate::store::query("INSERT INTO fault_budget VALUES (-1)")
        .execute(store)
        .await
        .unwrap();
    if store.backend() == crate::store::Backend::Postgres {
        // PostgreSQL's triggers call a function; the same rule as SQLite's below.
        crate::store::query(
            "CREATE FUNCTION fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                 IF (SELECT n FROM fault_budget) >= 0 THEN
                     UPDATE fault_budget SET n = n - 1;
                     IF (SELECT n FROM fault_budget) < 0 THEN RAISE EXCEPTION 'injected fault'; END IF;
                 END IF;
                 IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                 RETURN NEW;
             END $$",
        )
        .execute(store)
        .await
        .unwrap();
    }
    for table in FAULTY {
        for op in ["INSERT", "UPDATE", "DELETE"] {
            // The names are this file's constants.
            let trigger = match store.backend() {
                crate::store::Backend::Sqlite => format!(
                    "CREATE TRIGGER fault_{table}_{op} BEFORE {op} ON {table}
                     WHEN (SELECT n FROM fault_budget) >= 0 BEGIN
                         UPDATE fault_budget SET n = n - 1;
                         SELECT RAISE(ABORT, 'injected fault') WHERE (SELECT n FROM fault_budget) < 0;
                     END"
                ),
                crate::store::Backend::Postgres => format!(
                    "CREATE TRIGGER fault_{table}_{op} BEFORE {op} ON {table} FOR EACH ROW EXECUTE FUNCTION fault()"
                ),
            };
            crate::store::query(trigger).execute(store).await.unwrap();
        }
    }
}

async fn arm(bot: &Bot, fault: Fault) {
    crate::store::query("UPDATE fault_budget SET n = ?")
        .bind(fault.map_or(-1, i64::from))
        .execute(bot.hearth.store())
        .await
        .unwrap();
}

/// What the changes stored: each occurrence's exception (cancelled: None,
/// moved: its new start) and each answer, by (occurrence, member).
type Stored = (BTreeMap<i64, Option<i64>>, BTreeMap<(i64, i64), String>);

async fn stored(bot: &Bot) -> Stored {
    let pool = bot.hearth.store();
    let exceptions: Vec<(i64, Option<i64>)> =
        crate::store::query_as("SELECT occurrence, moved_to FROM meeting_exceptions WHERE meeting_id = 1")
            .fetch_all(pool)
            .await
            .unwrap();
    let answers: Vec<(i64, i64, String)> =
        crate::store::query_as("SELECT occurrence, member_id, answer FROM rsvps WHERE meeting_id = 1")
            .fetch_all(pool)
            .await
            .unwrap();
    (
        exceptions.into_iter().collect(),
        answers.into_iter().map(|(o, m, a)| ((o, m), a)).collect(),
    )
}

/// Pending reminders that must not be there: of a cancelled occurrence, or
/// of a start the occurrence no longer has.
async fn void_reminders(bot: &Bot) -> Vec<String> {
    crate::store::query_scalar(
        "SELECT j.key FROM jobs j LEFT JOIN meeting_exceptions e
             ON e.meeting_id = j.meeting_id AND e.occurrence = j.occurrence
         WHERE j.kind = 'reminder' AND j.state = 'pending'
           AND ((e.occurrence IS NOT NULL AND e.moved_to IS NULL)
                OR COALESCE(e.moved_to, j.occurrence) <> j.starts_at)",
    )
    .fetch_all(bot.hearth.store())
    .await
    .unwrap()
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
    crate::tests::block_on_case(async {
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
        // Everyone says something first, so members exist before any fault.
        for who in 0..4 {
            bot.say(&format!("m{who}"), "timezone").await;
        }
        let ids: HashMap<String, i64> = crate::store::query_as("SELECT external_id, id FROM members")
            .fetch_all(bot.hearth.store())
            .await
            .unwrap()
            .into_iter()
            .collect();
        let who_of: HashMap<i64, usize> = (0..4).map(|w| (ids[&format!("m{w}")], w)).collect();
        install_faults(&bot).await;
        let mut before = stored(&bot).await;

        for a in actions {
            let now = bot.clock.now().timestamp();
            let (who, command, fault) = match a {
                Action::Wait { tens } => {
                    let target = bot.clock.now() + Duration::minutes(10 * tens);
                    scheduler.advance(&bot.clock, target).await.unwrap();
                    continue;
                }
                Action::Rsvp {
                    who,
                    occ,
                    answer,
                    fault,
                } => (
                    format!("m{who}"),
                    format!("meeting rsvp meeting:1 occurrence:{} answer:{answer}", date(*occ)),
                    *fault,
                ),
                Action::Cancel { occ, fault } => (
                    "admin".to_string(),
                    format!("meeting cancel meeting:1 occurrence:{}", date(*occ)),
                    *fault,
                ),
                Action::Move { occ, hour, fault } => (
                    "admin".to_string(),
                    format!(
                        r#"meeting move meeting:1 occurrence:{} when:"{} {hour:02}:00" confirm:yes"#,
                        date(*occ),
                        date(*occ)
                    ),
                    *fault,
                ),
            };
            arm(&bot, fault).await;
            let reply = text(&bot.say(&who, &command).await);
            arm(&bot, None).await;
            let after = stored(&bot).await;
            if reply.starts_with("Sorry, something went wrong on my side") {
                // A change that failed part-way changed nothing.
                prop_assert_eq!(&after, &before, "half a change was left after a fault: {}", command);
            }
            // The model follows what is stored, as it was at `now`.
            for (original, exception) in &after.0 {
                if before.0.get(original) == Some(exception) {
                    continue;
                }
                let Some(o) = model.get_mut(original) else { continue };
                match exception {
                    None => {
                        o.cancelled_at.get_or_insert(now);
                    }
                    Some(to) => o.starts.push((*to, now)),
                }
            }
            for ((original, member), answer) in &after.1 {
                if before.1.get(&(*original, *member)) == Some(answer) {
                    continue;
                }
                let (Some(o), Some(who)) = (model.get_mut(original), who_of.get(member)) else {
                    continue;
                };
                let answer = ["yes", "maybe", "no"].into_iter().find(|a| a == answer).unwrap();
                o.answers.entry(*who).or_default().push((now, answer));
            }
            before = after;
            let void = void_reminders(&bot).await;
            prop_assert!(
                void.is_empty(),
                "due for a cancelled or moved-away occurrence: {:?}",
                void
            );
        }
        let end = bot.clock.now().timestamp();

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
