//! Fuzzing by property: arbitrary bytes and command-shaped text through the
//! text parser, the spec binder and `when`, in zones with clock changes.
//! Nothing may panic; every refusal is a user error with words for a person.
//! The counts of inputs run are printed (`--nocapture`) for the record.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono_tz::Tz;
use proptest::prelude::*;

use super::at;
use crate::{parse, when};

static RAN: AtomicUsize = AtomicUsize::new(0);

const ZONES: &[Tz] = &[
    chrono_tz::UTC,
    chrono_tz::America::New_York,
    chrono_tz::Europe::Berlin,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Pacific::Chatham,
];

fn check(text: &str) {
    RAN.fetch_add(1, Ordering::Relaxed);
    match parse::parse_command(text) {
        Ok(invocation) => {
            if let Err(e) = parse::bind(&invocation) {
                assert!(!e.to_message().plain("/").is_empty());
            }
        }
        Err(e) => assert!(!e.to_message().plain("/").is_empty()),
    }
    // Around both of New York's 2026 clock changes, and in between.
    for now in ["2026-03-08T06:30:00Z", "2026-11-01T05:45:00Z", "2026-06-01T12:00:00Z"] {
        for zone in ZONES {
            for order in [None, Some(when::DateOrder::DayFirst), Some(when::DateOrder::MonthFirst)] {
                if let Ok(local) = when::parse(text, *zone, order, at(now)) {
                    let _ = when::resolve(local, *zone);
                }
            }
            let _ = when::time_only(text);
        }
    }
}

/// Text shaped like what people type: command words, option names, quotes
/// of every kind, times, zones, mentions and stray punctuation.
fn command_like() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "group",
        "meeting",
        "schedule",
        "rsvp",
        "move",
        "cancel",
        "when:",
        "repeat:",
        "timezone:",
        "in",
        "tomorrow",
        "tue",
        "19:00",
        "7pm",
        "2026-11-01",
        "01:30",
        "02:30",
        "\"",
        "“",
        "”",
        "'",
        "@everyone",
        "@room",
        "<@1>",
        "group:#1",
        "count:",
        "until:",
        "FREQ=DAILY;",
        "BYMINUTE=0,1",
        "in 2h",
        "in -3d",
        "in 99999999999 years",
        "noon",
        "midnight",
        "24:00",
        "23:59:60",
        "\u{0}",
        "\u{202e}",
        "🙂",
        ":",
        "::",
        "  ",
    ]);
    prop::collection::vec(word, 0..12).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser_or_when(bytes in prop::collection::vec(any::<u8>(), 0..160)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn command_like_text_never_panics_the_parser_or_when(text in command_like()) {
        check(&text);
    }

    #[test]
    fn arbitrary_unicode_never_panics_the_parser_or_when(text in "\\PC{0,120}") {
        check(&text);
    }
}

#[test]
fn zz_report_how_many_inputs_ran() {
    // Runs last by name in a single-threaded run; informational only.
    println!("fuzz inputs run so far: {}", RAN.load(Ordering::Relaxed));
}
