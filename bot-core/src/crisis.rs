//! `/crisis`: crisis lines, privately. The built-in list comes from
//! `shared/crisis-lines-verified.md` (checked 2026-11-26 against each
//! service's own or a health authority's page); a country without a verified
//! entry gets the international directory instead of a guess.

use crate::message::{Line, Message, Span};

struct CrisisLine {
    country: &'static str,
    name: &'static str,
    service: &'static str,
    call: &'static str,
    other: Option<&'static str>,
    hours: &'static str,
}

const LINES: &[CrisisLine] = &[
    CrisisLine {
        country: "US",
        name: "United States",
        service: "988 Suicide & Crisis Lifeline",
        call: "988",
        other: Some("text 988; chat at 988lifeline.org"),
        hours: "24/7",
    },
    CrisisLine {
        country: "CA",
        name: "Canada",
        service: "9-8-8 Suicide Crisis Helpline",
        call: "988",
        other: Some("text 988"),
        hours: "24/7, English and French",
    },
    CrisisLine {
        country: "GB",
        name: "United Kingdom",
        service: "Samaritans",
        call: "116 123 (free)",
        other: Some("email jo@samaritans.org"),
        hours: "24/7",
    },
    CrisisLine {
        country: "IE",
        name: "Ireland",
        service: "Samaritans Ireland",
        call: "116 123 (free)",
        other: None,
        hours: "24/7",
    },
    CrisisLine {
        country: "AU",
        name: "Australia",
        service: "Lifeline",
        call: "13 11 14",
        other: None,
        hours: "24/7",
    },
    CrisisLine {
        country: "NZ",
        name: "New Zealand",
        service: "1737 Need to talk?",
        call: "1737",
        other: Some("text 1737"),
        hours: "24/7",
    },
    CrisisLine {
        country: "DE",
        name: "Germany",
        service: "TelefonSeelsorge",
        call: "0800 111 0 111, 0800 111 0 222 or 116 123",
        other: Some("chat and mail at telefonseelsorge.de"),
        hours: "24/7, free",
    },
    CrisisLine {
        country: "AT",
        name: "Austria",
        service: "TelefonSeelsorge",
        call: "142",
        other: Some("chat in the evening hours"),
        hours: "24/7, free",
    },
    CrisisLine {
        country: "CH",
        name: "Switzerland",
        service: "Die Dargebotene Hand / La Main Tendue",
        call: "143",
        other: None,
        hours: "24 hours",
    },
    CrisisLine {
        country: "FR",
        name: "France",
        service: "3114, numéro national de prévention du suicide",
        call: "3114",
        other: None,
        hours: "24/7, free",
    },
    CrisisLine {
        country: "BE",
        name: "Belgium",
        service: "Centre de Prévention du Suicide",
        call: "0800 32 123",
        other: None,
        hours: "24 hours, free",
    },
    CrisisLine {
        country: "NL",
        name: "Netherlands",
        service: "113 Zelfmoordpreventie",
        call: "113 or 0800-0113 (both free)",
        other: Some("chat at 113.nl"),
        hours: "24/7",
    },
    CrisisLine {
        country: "NO",
        name: "Norway",
        service: "Mental Helse Hjelpetelefonen",
        call: "116 123",
        other: Some("chat at sidetmedord.no"),
        hours: "24 hours",
    },
    CrisisLine {
        country: "FI",
        name: "Finland",
        service: "MIELI Kriisipuhelin",
        call: "09 2525 0111 (in Finnish)",
        other: None,
        hours: "24 hours",
    },
    CrisisLine {
        country: "PL",
        name: "Poland",
        service: "Kryzysowy Telefon Zaufania",
        call: "116 123",
        other: None,
        hours: "hours not confirmed",
    },
    CrisisLine {
        country: "PT",
        name: "Portugal",
        service: "SNS 24 psychological counselling",
        call: "808 24 24 24, option 4",
        other: None,
        hours: "24/7",
    },
];

const DIRECTORY: &str = "https://findahelpline.com";

fn entry(l: &CrisisLine) -> Line {
    let mut text = format!("{} ({}): {}, call {}", l.name, l.country, l.service, l.call);
    if let Some(other) = l.other {
        text.push_str(&format!("; {other}"));
    }
    text.push_str(&format!(". {}.", l.hours));
    Line::text(text)
}

/// The crisis lines message, the asked country first.
pub fn crisis(country: Option<&str>) -> Message {
    let wanted = country.map(|c| {
        let c = c.trim().to_ascii_uppercase();
        if c == "UK" { "GB".to_string() } else { c }
    });
    let mut message =
        Message::titled("Crisis lines").text("If you are in danger right now, call your local emergency number.");
    match wanted.as_deref() {
        Some(code) => match LINES.iter().find(|l| l.country == code) {
            Some(l) => {
                message = message.line(entry(l));
            }
            None => {
                message = message.text(format!(
                    "I don't have a checked line for {code} yet, so rather than guess I'll point you to a directory:"
                ));
            }
        },
        None => {
            for l in LINES {
                message = message.line(entry(l));
            }
        }
    }
    message
        .line(
            Line::text("Anywhere else: ")
                .push(Span::Link {
                    label: "Find A Helpline".into(),
                    url: DIRECTORY.into(),
                })
                .t(" lists services by country."),
        )
        .line(Line::text("Add a country to see just its line, e.g. ").cmd("crisis country:GB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_country_gets_its_verified_line() {
        let text = crisis(Some("uk")).plain("/");
        assert!(text.contains("Samaritans, call 116 123 (free)"), "{text}");
        assert!(!text.contains("United States"));
    }

    #[test]
    fn an_unknown_country_gets_the_directory_not_a_guess() {
        let text = crisis(Some("IT")).plain("/");
        assert!(text.contains("I don't have a checked line for IT"));
        assert!(text.contains("findahelpline.com"));
    }

    #[test]
    fn retired_numbers_never_appear() {
        let text = crisis(None).plain("/");
        for retired in ["08457 90 90 90", "1850 60 90 90", "199 284 284", "0900-0113"] {
            assert!(!text.contains(retired), "{retired}");
        }
        assert_eq!(LINES.len(), 16);
    }
}
