//! `/crisis`: crisis lines, privately. The built-in list comes from
//! `shared/crisis-lines-verified.md` (checked 2026-11-26 against each
//! service's own or a health authority's page); a country without a verified
//! entry gets the international directory instead of a guess.

use crate::message::{Line, Message, Span};
use crate::resources::{self, Resource};

struct CrisisLine {
    country: &'static str,
    name: &'static str,
    service: &'static str,
    call: &'static str,
    other: Option<&'static str>,
    hours: &'static str,
    /// The page it was checked against (shared/crisis-lines-verified.md).
    source: &'static str,
    /// When it was checked, YYYY-MM-DD.
    checked: &'static str,
}

/// When the built-in list was last checked, as the answer says.
const CHECKED: &str = "2026-11-26";

const LINES: &[CrisisLine] = &[
    CrisisLine {
        country: "US",
        name: "United States",
        service: "988 Suicide & Crisis Lifeline",
        call: "988",
        other: Some("text 988; chat at 988lifeline.org"),
        hours: "24/7",
        source: "health.wyo.gov (988 page); cdcr.ca.gov, 2022-07-19",
        checked: CHECKED,
    },
    CrisisLine {
        country: "CA",
        name: "Canada",
        service: "9-8-8 Suicide Crisis Helpline",
        call: "988",
        other: Some("text 988"),
        hours: "24/7, English and French",
        source: "Government of Canada launch notice, 2023-11-30",
        checked: CHECKED,
    },
    CrisisLine {
        country: "GB",
        name: "United Kingdom",
        service: "Samaritans",
        call: "116 123 (free)",
        other: Some("email jo@samaritans.org"),
        hours: "24/7",
        source: "samaritans.org/how-we-can-help/contact-samaritan/",
        checked: CHECKED,
    },
    CrisisLine {
        country: "IE",
        name: "Ireland",
        service: "Samaritans Ireland",
        call: "116 123 (free)",
        other: None,
        hours: "24/7",
        source: "samaritans.org; oireachtas.ie",
        checked: CHECKED,
    },
    CrisisLine {
        country: "AU",
        name: "Australia",
        service: "Lifeline",
        call: "13 11 14",
        other: None,
        hours: "24/7",
        source: "lifelineh2h.org.au (telephone crisis support FAQ)",
        checked: CHECKED,
    },
    CrisisLine {
        country: "NZ",
        name: "New Zealand",
        service: "1737 Need to talk?",
        call: "1737",
        other: Some("text 1737"),
        hours: "24/7",
        source: "health.govt.nz",
        checked: CHECKED,
    },
    CrisisLine {
        country: "DE",
        name: "Germany",
        service: "TelefonSeelsorge",
        call: "0800 111 0 111, 0800 111 0 222 or 116 123",
        other: Some("chat and mail at telefonseelsorge.de"),
        hours: "24/7, free",
        source: "sites of the churches that run it",
        checked: CHECKED,
    },
    CrisisLine {
        country: "AT",
        name: "Austria",
        service: "TelefonSeelsorge",
        call: "142",
        other: Some("chat in the evening hours"),
        hours: "24/7, free",
        source: "katholisch.at/telefonseelsorge",
        checked: CHECKED,
    },
    CrisisLine {
        country: "CH",
        name: "Switzerland",
        service: "Die Dargebotene Hand / La Main Tendue",
        call: "143",
        other: None,
        hours: "24 hours",
        source: "143.ch (FAQ)",
        checked: CHECKED,
    },
    CrisisLine {
        country: "FR",
        name: "France",
        service: "3114, numéro national de prévention du suicide",
        call: "3114",
        other: None,
        hours: "24/7, free",
        source: "3114.fr; ars.sante.fr",
        checked: CHECKED,
    },
    CrisisLine {
        country: "BE",
        name: "Belgium",
        service: "Centre de Prévention du Suicide",
        call: "0800 32 123",
        other: None,
        hours: "24 hours, free",
        source: "preventionsuicide.be",
        checked: CHECKED,
    },
    CrisisLine {
        country: "NL",
        name: "Netherlands",
        service: "113 Zelfmoordpreventie",
        call: "113 or 0800-0113 (both free)",
        other: Some("chat at 113.nl"),
        hours: "24/7",
        source: "113.nl",
        checked: CHECKED,
    },
    CrisisLine {
        country: "NO",
        name: "Norway",
        service: "Mental Helse Hjelpetelefonen",
        call: "116 123",
        other: Some("chat at sidetmedord.no"),
        hours: "24 hours",
        source: "a Norwegian municipality's health page, 2023",
        checked: CHECKED,
    },
    CrisisLine {
        country: "FI",
        name: "Finland",
        service: "MIELI Kriisipuhelin",
        call: "09 2525 0111 (in Finnish)",
        other: None,
        hours: "24 hours",
        source: "mieli.fi/helpline; mentalhealth.fi",
        checked: CHECKED,
    },
    CrisisLine {
        country: "PL",
        name: "Poland",
        service: "Kryzysowy Telefon Zaufania",
        call: "116 123",
        other: None,
        hours: "hours not confirmed",
        source: "policja.gov.pl (regional police page)",
        checked: CHECKED,
    },
    CrisisLine {
        country: "PT",
        name: "Portugal",
        service: "SNS 24 psychological counselling",
        call: "808 24 24 24, option 4",
        other: None,
        hours: "24/7",
        source: "sns24.gov.pt",
        checked: CHECKED,
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

/// The crisis lines message: the community's own local lines first, then
/// the built-in list (the asked country's line, or all of them).
pub(crate) fn crisis(country: Option<&str>, local: &[Resource]) -> Message {
    let wanted = country.map(|c| {
        let c = c.trim().to_ascii_uppercase();
        if c == "UK" { "GB".to_string() } else { c }
    });
    let mut message =
        Message::titled("Crisis lines").text("If you are in danger right now, call your local emergency number.");
    if !local.is_empty() {
        message = message.line(Line::new().b("This community's local lines"));
        for r in local {
            message = message.line(resources::entry(r));
        }
        message = message.line(Line::new().b("Lines by country"));
    }
    match wanted.as_deref() {
        Some(code) => match LINES.iter().find(|l| l.country == code) {
            Some(l) => {
                message = message
                    .line(entry(l))
                    .text(format!("Checked on {} against {}.", l.checked, l.source));
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
        .text(format!(
            "This list was last checked on {CHECKED}, each line against its service's own or a health authority's page."
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_country_gets_its_verified_line() {
        let text = crisis(Some("uk"), &[]).plain("/");
        assert!(text.contains("Samaritans, call 116 123 (free)"), "{text}");
        assert!(!text.contains("United States"));
    }

    #[test]
    fn an_unknown_country_gets_the_directory_not_a_guess() {
        let text = crisis(Some("IT"), &[]).plain("/");
        assert!(text.contains("I don't have a checked line for IT"));
        assert!(text.contains("findahelpline.com"));
    }

    #[test]
    fn retired_numbers_never_appear() {
        let text = crisis(None, &[]).plain("/");
        for retired in ["08457 90 90 90", "1850 60 90 90", "199 284 284", "0900-0113"] {
            assert!(!text.contains(retired), "{retired}");
        }
        assert_eq!(LINES.len(), 16);
    }

    #[test]
    fn every_built_in_line_carries_its_source_and_date() {
        for l in LINES {
            assert!(l.source.trim().len() >= 5, "{} has no source", l.country);
            assert!(
                chrono::NaiveDate::parse_from_str(l.checked, "%Y-%m-%d").is_ok(),
                "{} has no date",
                l.country
            );
        }
        let text = crisis(None, &[]).plain("/");
        assert!(text.contains("last checked on 2026-11-26"), "{text}");
    }

    #[test]
    fn local_lines_come_first() {
        let local = [Resource {
            id: 1,
            title: "Town helpline".into(),
            url: "https://town.example/help".into(),
            topic: "crisis".into(),
            description: Some("call 555 0100".into()),
        }];
        let text = crisis(Some("GB"), &local).plain("/");
        let town = text.find("Town helpline").unwrap();
        let samaritans = text.find("Samaritans").unwrap();
        assert!(town < samaritans, "{text}");
    }
}
