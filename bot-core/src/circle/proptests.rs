//! Property tests of the talking stick: any interleaving of joins, leaves,
//! raises, passes, nexts, mode switches and restarts (a save to SQLite and a
//! load back) keeps the stick fair.

use std::collections::HashSet;

use proptest::prelude::*;

use super::db;
use super::state::{Event, Mode, State};
use crate::store::Store;

#[derive(Debug, Clone)]
enum Op {
    Join(i64),
    Leave(i64),
    Raise(i64),
    Lower(i64),
    Pass(i64),
    Next,
    Mode(Mode),
    Wait(i64),
    Restart,
}

const PEOPLE: i64 = 5;

fn op() -> impl Strategy<Value = Op> {
    let who = 1..=PEOPLE;
    prop_oneof![
        4 => who.clone().prop_map(Op::Join),
        2 => who.clone().prop_map(Op::Leave),
        3 => who.clone().prop_map(Op::Raise),
        1 => who.clone().prop_map(Op::Lower),
        3 => who.prop_map(Op::Pass),
        4 => Just(Op::Next),
        1 => prop_oneof![Just(Mode::Round), Just(Mode::Queue), Just(Mode::Balanced)].prop_map(Op::Mode),
        3 => (1i64..400).prop_map(Op::Wait),
        1 => Just(Op::Restart),
    ]
}

/// A database with one community, the people and one circle, and a runtime to reach it.
struct Disk {
    rt: tokio::runtime::Runtime,
    store: Store,
    circle: i64,
}

impl Disk {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (store, circle) = rt.block_on(async {
            let store = Store::in_memory().await.unwrap();
            let now = chrono::Utc::now();
            let community =
                crate::members::community(&store, crate::Platform::Console, "local", chrono_tz::Tz::UTC, now)
                    .await
                    .unwrap();
            let mut first = 0;
            for n in 1..=PEOPLE {
                let m = crate::members::member(&store, crate::Platform::Console, &format!("p{n}"), "p", now)
                    .await
                    .unwrap();
                assert_eq!(m.id, n, "member ids are 1..=PEOPLE");
                first = first.max(m.id);
            }
            let mut conn = store.acquire().await.unwrap();
            let circle = db::create(
                &mut conn,
                &db::NewCircle {
                    community: community.id,
                    channel: "voice",
                    home_channel: "voice",
                    group: None,
                    facilitator: first,
                    mode: Mode::Round,
                    share_secs: None,
                    auto_advance: false,
                    mute_others: false,
                    in_voice: true,
                },
                now,
            )
            .await
            .unwrap();
            drop(conn);
            (store, circle.id)
        });
        Self { rt, store, circle }
    }

    /// Saves over what was last saved and loads it back.
    fn restart(&self, saved: &State, state: &State) -> State {
        self.rt.block_on(async {
            let mut conn = self.store.acquire().await.unwrap();
            db::save(&mut conn, self.circle, saved, state).await.unwrap();
            db::load(&mut conn, self.circle).await.unwrap()
        })
    }
}

fn turn_events(events: &[Event]) -> Vec<(i64, bool)> {
    events
        .iter()
        .filter_map(|e| match *e {
            Event::Given { member } => Some((member, true)),
            Event::PassedAhead { member } => Some((member, false)),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_stick_stays_fair_under_any_interleaving(ops in proptest::collection::vec(op(), 1..80)) {
        let disk = Disk::new();
        let mut state = State::new(Mode::Round);
        let mut saved = state.clone();
        let mut now = 1_000_000;
        // Who has had a turn (or passed) in the current round, kept apart from the machine.
        let mut turned: HashSet<i64> = HashSet::new();

        for op in ops {
            let before = state.clone();
            let events = match op {
                Op::Join(m) => state.join(m, now),
                Op::Leave(m) => state.leave(m, now),
                Op::Raise(m) => state.raise(m, now).unwrap_or_default(),
                Op::Lower(m) => state.lower(m).unwrap_or_default(),
                Op::Pass(m) => state.pass(m, now).unwrap_or_default(),
                Op::Next => state.next(now),
                Op::Mode(mode) => state.set_mode(mode, now),
                Op::Wait(secs) => {
                    now += secs;
                    Vec::new()
                }
                Op::Restart => {
                    let loaded = disk.restart(&saved, &state);
                    prop_assert_eq!(&loaded, &state, "a restart loses nothing");
                    saved = loaded.clone();
                    state = loaded;
                    Vec::new()
                }
            };

            // The holder is always a present participant, or there is none.
            if let Some(h) = state.holder {
                prop_assert!(state.is_present(h), "holder {h} is not present after {op:?}");
            }
            let present: HashSet<i64> = state.present().map(|p| p.member).collect();

            for (member, given) in turn_events(&events) {
                // Round: no second turn before everyone present had one; passes count.
                if state.mode == Mode::Round && turned.contains(&member) {
                    prop_assert!(
                        present.is_subset(&turned),
                        "{member} got a second turn before {:?} had one, after {op:?}",
                        present.difference(&turned).collect::<Vec<_>>()
                    );
                    turned.clear();
                }
                turned.insert(member);

                // Balanced: the new holder is a raised hand that spoke least, ties by raise time.
                if given && state.mode == Mode::Balanced {
                    let raised_before = before.participant(member).and_then(|p| p.hand).is_some()
                        || matches!(op, Op::Raise(m) if m == member);
                    prop_assert!(raised_before, "{member} got the stick in balanced mode without a raised hand");
                    let spoke = state.participant(member).map(|p| p.spoken_secs).unwrap_or_default();
                    let raised = before.participant(member).and_then(|p| p.hand);
                    for other in state.present().filter(|p| p.hand.is_some() && p.member != member) {
                        prop_assert!(
                            spoke < other.spoken_secs
                                || (spoke == other.spoken_secs
                                    && raised.is_none_or(|r| other.hand.is_some_and(|o| (r.at, r.seq) <= (o.at, o.seq)))),
                            "{member} ({spoke} s) was picked over {} ({} s)",
                            other.member,
                            other.spoken_secs
                        );
                    }
                }
            }
        }
    }
}
