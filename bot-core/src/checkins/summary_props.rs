//! Property: over random answers, waits, erasures, re-joins and questions,
//! any two summaries a facilitator can see either cover the same people's
//! answers (and then say the same thing) or differ by at least five people's.
//! So no two can be subtracted to reveal fewer than five people's moods. A
//! summary covers people's answers in one week: two weeks share none, so
//! their summaries differ by every answerer of both.
//!
//! A model replays the same actions independently of the code under test;
//! each summary shown is checked against the model's count of the people it
//! covers, so the property speaks of what the summary really holds.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, Utc};
use proptest::prelude::*;

use crate::tests::{Bot, at, text};

/// Eight members; the first two also facilitate the group.
const PEOPLE: usize = 8;
const FACILITATORS: usize = 2;

fn name(who: usize) -> String {
    format!("person-{who}")
}

#[derive(Debug, Clone)]
enum Action {
    /// `who` checks in to the group: a mood 1–5, or 0 for a pass.
    Answer {
        who: usize,
        mood: u8,
    },
    Wait {
        hours: i64,
    },
    /// `who` (not a facilitator) erases themselves.
    Forget {
        who: usize,
    },
    /// `who` joins the group (again, after an erasure).
    Join {
        who: usize,
    },
    /// A facilitator, or the admin (2), asks for the summary.
    Ask {
        who: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        10 => (0..PEOPLE, 0..=5u8).prop_map(|(who, mood)| Action::Answer { who, mood }),
        2 => (1..60i64).prop_map(|hours| Action::Wait { hours }),
        1 => (FACILITATORS..PEOPLE).prop_map(|who| Action::Forget { who }),
        1 => (FACILITATORS..PEOPLE).prop_map(|who| Action::Join { who }),
        4 => (0..=FACILITATORS).prop_map(|who| Action::Ask { who }),
    ]
}

/// A person as the model knows them: the same name after an erasure is
/// someone new to Hearth.
type Identity = (usize, u32);
/// A person's answers in one week (its Monday, in days since 1970).
type Covered = (Identity, i64);

#[derive(Debug, Default)]
struct Model {
    generation: Vec<u32>,
    member: Vec<bool>,
    /// (identity, mood or pass, when).
    answers: Vec<(Identity, Option<u8>, DateTime<Utc>)>,
}

impl Model {
    fn new() -> Self {
        Self {
            generation: vec![0; PEOPLE],
            member: vec![true; PEOPLE],
            answers: Vec::new(),
        }
    }

    fn current(&self, who: usize) -> Identity {
        (who, self.generation[who])
    }

    /// The summary asked for at `now` by `asker` (None: the admin, who never
    /// answers): whether it shows, who it covers, its counts and passes.
    fn summary(&self, asker: Option<Identity>, now: DateTime<Utc>) -> (bool, BTreeSet<Covered>, [i64; 5], i64) {
        let today = now.date_naive();
        let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        let from = (monday - Duration::days(7))
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc();
        let to = from + Duration::days(7);
        let mut by_person: BTreeMap<Identity, Vec<i64>> = BTreeMap::new();
        for (who, mood, t) in &self.answers {
            if *t >= from && *t < to && Some(*who) != asker {
                by_person.entry(*who).or_default().extend(mood.map(i64::from));
            }
        }
        let mut counts = [0; 5];
        let mut passes = 0;
        let mut answerers = 0;
        for moods in by_person.values() {
            if moods.is_empty() {
                passes += 1;
                continue;
            }
            let mean = moods.iter().sum::<i64>() as f64 / moods.len() as f64;
            counts[((mean + 0.5).floor() as usize).clamp(1, 5) - 1] += 1;
            answerers += 1;
        }
        let week = from.timestamp() / 86_400;
        (
            answerers >= 5,
            by_person.keys().map(|who| (*who, week)).collect(),
            counts,
            passes,
        )
    }
}

/// One summary a facilitator saw: who asked, who it covers, what it said.
struct Seen {
    asker: usize,
    covers: BTreeSet<Covered>,
    said: String,
}

fn run_case(actions: &[Action]) -> std::result::Result<(), TestCaseError> {
    crate::tests::block_on_case(async {
        let bot = Bot::new().await;
        bot.clock.set(at("2026-03-19T10:00:00Z"));
        bot.say("admin", r#"group create name:"Grief circle" topic:grief led_by:peer"#)
            .await;
        for who in 0..PEOPLE {
            bot.say(&name(who), "group join group:#1").await;
        }
        for who in 0..FACILITATORS {
            bot.say(
                "admin",
                &format!("group facilitator group:#1 user:{} action:add", name(who)),
            )
            .await;
        }
        let mut model = Model::new();
        let mut seen: Vec<Seen> = Vec::new();
        for action in actions {
            let now = crate::Clock::now(&bot.clock);
            match action {
                Action::Answer { who, mood } => {
                    let said = if *mood == 0 {
                        "pass".to_string()
                    } else {
                        mood.to_string()
                    };
                    let reply = text(
                        &bot.say(&name(*who), &format!("checkin share mood:{said} group:#1"))
                            .await,
                    );
                    if model.member[*who] {
                        prop_assert!(reply.starts_with("Thank you"), "{}", reply);
                        let identity = model.current(*who);
                        model.answers.push((identity, (*mood > 0).then_some(*mood), now));
                    } else {
                        prop_assert!(reply.starts_with("Only Grief circle's members"), "{}", reply);
                    }
                }
                Action::Wait { hours } => {
                    bot.clock.advance(Duration::hours(*hours));
                }
                Action::Forget { who } => {
                    bot.say(&name(*who), "forgetme confirm:yes").await;
                    // Answers in the week still open simply go; closed weeks keep theirs.
                    let today = now.date_naive();
                    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
                    let open = monday.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
                    let gone = model.current(*who);
                    model.answers.retain(|(person, _, t)| *person != gone || *t < open);
                    model.generation[*who] += 1;
                    model.member[*who] = false;
                }
                Action::Join { who } => {
                    bot.say(&name(*who), "group join group:#1").await;
                    model.member[*who] = true;
                }
                Action::Ask { who } => {
                    let (asker, as_model) = if *who < FACILITATORS {
                        (name(*who), Some(model.current(*who)))
                    } else {
                        ("admin".to_string(), None)
                    };
                    let said = text(&bot.say(&asker, "checkin summary group:#1").await);
                    let (shown, covers, counts, passes) = model.summary(as_model, now);
                    prop_assert_eq!(!said.starts_with("Not enough"), shown, "{}", said);
                    if shown {
                        for (i, count) in counts.iter().enumerate() {
                            let line = format!("{}: {count}\n", super::mood_words(i as i64 + 1));
                            prop_assert!(said.contains(&line), "{:?} not in {}", line, said);
                        }
                        let passed = format!("Passes: {passes} ");
                        prop_assert!(said.contains(&passed), "{:?} not in {}", passed, said);
                        seen.push(Seen {
                            asker: *who,
                            covers,
                            said,
                        });
                    }
                }
            }
        }
        for (i, a) in seen.iter().enumerate() {
            for b in seen.iter().skip(i + 1).filter(|b| b.asker == a.asker) {
                if a.covers == b.covers {
                    prop_assert_eq!(&a.said, &b.said, "the same people, told alike");
                } else {
                    let apart = a.covers.symmetric_difference(&b.covers).count();
                    prop_assert!(
                        apart >= 5,
                        "two summaries {} people apart:\n{}\n---\n{}",
                        apart,
                        a.said,
                        b.said
                    );
                }
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_two_summaries_a_facilitator_sees_cover_the_same_people_or_five_apart(
        actions in prop::collection::vec(action(), 1..120),
    ) {
        run_case(&actions)?;
    }
}
