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

/// What each country of the list is called, as people type it: in English
/// and in the languages of the list (German, French, Dutch, Norwegian,
/// Finnish, Polish, Portuguese, Irish), written without accents (the input's
/// are folded away before matching), plus its ISO 3166 codes. Names match
/// anywhere in what was typed ("I'm in Germany"); codes of two or three
/// letters, which are also words ("no", "at", "can", "aus"), only when they
/// are all that was typed or typed in capitals.
const NAMES: &[(&str, &[&str], &[&str])] = &[
    (
        "US",
        &["us", "usa"],
        &[
            "usa",
            "u s a",
            "u s",
            "united states",
            "united states of america",
            "the states",
            "america",
            "american",
            "new england",
            "etats unis",
            "etats unis d amerique",
            "vereinigte staaten",
            "vereinigte staaten von amerika",
            "verenigde staten",
            "amerika",
            "amerikas forente stater",
            "forente stater",
            "yhdysvallat",
            "stany zjednoczone",
            "estados unidos",
            "estados unidos da america",
        ],
    ),
    ("CA", &["ca", "can"], &["canada", "kanada", "canadian"]),
    (
        "GB",
        &["gb", "gbr"],
        &[
            "uk",
            "u k",
            "united kingdom",
            "great britain",
            "britain",
            "british",
            "england",
            "scotland",
            "scottish",
            "wales",
            "welsh",
            "northern ireland",
            "royaume uni",
            "grande bretagne",
            "angleterre",
            "ecosse",
            "pays de galles",
            "irlande du nord",
            "vereinigtes konigreich",
            "grossbritannien",
            "schottland",
            "nordirland",
            "verenigd koninkrijk",
            "groot brittannie",
            "engeland",
            "schotland",
            "noord ierland",
            "storbritannia",
            "det forente kongerike",
            "det forente kongeriket",
            "skottland",
            "englanti",
            "iso britannia",
            "yhdistynyt kuningaskunta",
            "skotlanti",
            "pohjois irlanti",
            "wielka brytania",
            "zjednoczone krolestwo",
            "anglia",
            "szkocja",
            "walia",
            "irlandia polnocna",
            "reino unido",
            "gra bretanha",
            "inglaterra",
            "escocia",
            "pais de gales",
            "irlanda do norte",
        ],
    ),
    (
        "IE",
        &["ie", "irl"],
        &[
            "ireland",
            "irish",
            "republic of ireland",
            "eire",
            "irlande",
            "irland",
            "ierland",
            "irlanti",
            "irlandia",
            "irlanda",
            "poblacht na heireann",
        ],
    ),
    (
        "AU",
        &["au", "aus"],
        &["australia", "australian", "australie", "australien", "new south wales"],
    ),
    (
        "NZ",
        &["nz", "nzl"],
        &[
            "new zealand",
            "new zealander",
            "aotearoa",
            "nouvelle zelande",
            "neuseeland",
            "nieuw zeeland",
            "uusi seelanti",
            "nowa zelandia",
            "nova zelandia",
        ],
    ),
    (
        "DE",
        &["de", "deu", "ger", "brd"],
        &[
            "germany",
            "german",
            "deutschland",
            "allemagne",
            "duitsland",
            "tyskland",
            "saksa",
            "niemcy",
            "alemanha",
            "bundesrepublik deutschland",
        ],
    ),
    (
        "AT",
        &["at", "aut"],
        &[
            "austria",
            "austrian",
            "osterreich",
            "oesterreich",
            "autriche",
            "oostenrijk",
            "osterrike",
            "itavalta",
        ],
    ),
    (
        "CH",
        &["ch", "che"],
        &[
            "switzerland",
            "swiss",
            "schweiz",
            "suisse",
            "svizzera",
            "svizra",
            "zwitserland",
            "sveits",
            "sveitsi",
            "szwajcaria",
            "suica",
            "helvetia",
            "confoederatio helvetica",
        ],
    ),
    (
        "FR",
        &["fr", "fra"],
        &[
            "france",
            "french",
            "frankreich",
            "frankrijk",
            "frankrike",
            "ranska",
            "francja",
            "franca",
        ],
    ),
    (
        "BE",
        &["be", "bel"],
        &[
            "belgium", "belgian", "belgique", "belgie", "belgien", "belgia", "belgica",
        ],
    ),
    (
        "NL",
        &["nl", "nld"],
        &[
            "netherlands",
            "the netherlands",
            "holland",
            "dutch",
            "nederland",
            "pays bas",
            "niederlande",
            "alankomaat",
            "hollanti",
            "holandia",
            "niderlandy",
            "paises baixos",
            "holanda",
        ],
    ),
    (
        "NO",
        &["no", "nor"],
        &[
            "norway",
            "norwegian",
            "norge",
            "noreg",
            "norvege",
            "norwegen",
            "noorwegen",
            "norja",
            "norwegia",
            "noruega",
        ],
    ),
    (
        "FI",
        &["fi", "fin"],
        &["finland", "finnish", "suomi", "finlande", "finnland", "finlandia"],
    ),
    (
        "PL",
        &["pl", "pol"],
        &["poland", "polish", "polska", "pologne", "polen", "puola", "polonia"],
    ),
    (
        "PT",
        &["pt", "prt"],
        &["portugal", "portuguese", "portugalia", "portugali"],
    ),
    // Places that hold a name above but are not that country: matched, so
    // their words are taken, and mapped to no line ("South America" is not
    // the United States).
    (
        "",
        &[],
        &[
            "south america",
            "latin america",
            "central america",
            "north america",
            "sudamerika",
            "lateinamerika",
            "mittelamerika",
            "nordamerika",
            "amerique du sud",
            "amerique latine",
            "amerique centrale",
            "amerique du nord",
            "zuid amerika",
            "latijns amerika",
            "noord amerika",
            "ameryka poludniowa",
            "ameryka lacinska",
            "ameryka polnocna",
            "america do sul",
            "america latina",
            "america do norte",
        ],
    ),
];

/// Lower case, accents folded away (`Österreich` → `osterreich`), letters
/// the folding leaves alone spelled out (`ß` → `ss`, `ø` → `o`), and
/// everything that is not a letter or digit a space.
fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd().flat_map(char::to_lowercase) {
        match c {
            'ß' => out.push_str("ss"),
            'ø' => out.push('o'),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ł' => out.push('l'),
            'đ' | 'ð' => out.push('d'),
            'þ' => out.push_str("th"),
            c if unicode_normalization::char::is_combining_mark(c) => {}
            c if c.is_alphanumeric() => out.push(c),
            _ => out.push(' '),
        }
    }
    out
}

/// Whether `needle` (words) occurs in `hay` (words) as whole words, and where.
fn find_words(hay: &[&str], needle: &[&str]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()] == *needle)
}

/// The countries of the list that `typed` names, in the order typed. Names
/// are matched longest first, so "Northern Ireland" is not also Ireland.
fn countries(typed: &str) -> Vec<&'static str> {
    let folded = fold(typed);
    let words: Vec<&str> = folded.split_whitespace().collect();
    let capitals: Vec<String> = typed
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_uppercase()))
        .map(str::to_ascii_lowercase)
        .collect();
    // Leave aside the words people add around a country.
    let bare: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !matches!(*w, "country" | "land" | "pays" | "code" | "in" | "the"))
        .collect();
    let mut candidates: Vec<(usize, usize, &'static str)> = Vec::new();
    for (code, codes, names) in NAMES {
        for name in names.iter() {
            let needle: Vec<&str> = name.split(' ').collect();
            if let Some(at) = find_words(&words, &needle) {
                candidates.push((needle.len(), at, code));
            }
        }
        for c in codes.iter() {
            let whole = bare.len() == 1 && bare[0] == *c;
            let in_capitals = capitals.iter().any(|w| w == c);
            if whole || in_capitals {
                let at = words.iter().position(|w| w == c).unwrap_or(0);
                candidates.push((1, at, code));
            }
        }
    }
    // Longest names first; a shorter one inside a longer one's words is not counted again.
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut found: Vec<(usize, &'static str)> = Vec::new();
    for (len, at, code) in candidates {
        if taken.iter().any(|(s, l)| at < s + l && *s < at + len) {
            continue;
        }
        taken.push((at, len));
        if !found.iter().any(|(_, c)| *c == code) {
            found.push((at, code));
        }
    }
    if found.is_empty() {
        // A slip of the keyboard in a one-word name: "Germnay", "Austrlia".
        for w in bare.iter().filter(|w| w.chars().count() >= 5) {
            let best = NAMES
                .iter()
                .flat_map(|(code, _, names)| names.iter().map(move |n| (code, n)))
                .filter(|(_, n)| !n.contains(' '))
                .map(|(code, n)| (strsim::jaro_winkler(w, n), *code))
                .filter(|(score, _)| *score >= 0.92)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((_, code)) = best
                && !found.iter().any(|(_, c)| *c == code)
            {
                found.push((0, code));
            }
        }
    }
    found.sort_by_key(|(at, _)| *at);
    found
        .into_iter()
        .map(|(_, code)| code)
        .filter(|c| !c.is_empty())
        .collect()
}

/// The crisis lines message: the community's own local lines first, then
/// the built-in list: the lines of the countries asked for, or all of them.
/// It never refuses: what it cannot place gets every line and the
/// directory, with one sentence saying so.
pub(crate) fn crisis(country: Option<&str>, local: &[Resource]) -> Message {
    let asked = country.map(str::trim).filter(|c| !c.is_empty());
    let wanted: Vec<&CrisisLine> = asked
        .map(countries)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|code| LINES.iter().find(|l| l.country == code))
        .collect();
    let mut message =
        Message::titled("Crisis lines").text("If you are in danger right now, call your local emergency number.");
    if !local.is_empty() {
        message = message.line(Line::new().b("This community's local lines"));
        for r in local {
            message = message.line(resources::entry(r));
        }
        message = message.line(Line::new().b("Lines by country"));
    }
    if asked.is_some() && wanted.is_empty() {
        message = message.text(
            "I didn't recognise that as a country I have a checked line for, so here are all of them, \
             and a directory for the rest:",
        );
    }
    if wanted.is_empty() {
        for l in LINES {
            message = message.line(entry(l));
        }
    } else {
        for l in wanted {
            message = message
                .line(entry(l))
                .text(format!("Checked on {} against {}.", l.checked, l.source));
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
        .line(Line::text("Add a country to see just its line, e.g. ").cmd("crisis Germany"))
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

    /// Whether the answer shows `line`, and how many of the list it shows.
    fn shows(text: &str, line: &CrisisLine) -> bool {
        text.contains(&entry(line).plain("/"))
    }

    fn shown(text: &str) -> usize {
        LINES.iter().filter(|l| shows(text, l)).count()
    }

    const UNRECOGNISED: &str = "I didn't recognise that as a country";

    // The answer to an unknown country changed on purpose: every line and
    // the directory instead of the directory alone.
    #[test]
    fn an_unknown_country_gets_every_line_and_the_directory_not_a_guess() {
        for typed in ["IT", "Italy", "Narnia", "zz", "???", "12345"] {
            let text = crisis(Some(typed), &[]).plain("/");

            assert!(text.contains(UNRECOGNISED), "{typed}: {text}");
            assert_eq!(shown(&text), LINES.len(), "{typed}: {text}");
            assert!(text.contains("findahelpline.com"), "{typed}");
        }
    }

    #[test]
    fn every_country_is_found_under_each_of_its_names_and_codes_in_any_case() {
        for (code, codes, names) in NAMES.iter().filter(|(code, ..)| !code.is_empty()) {
            let line = LINES.iter().find(|l| l.country == *code).unwrap();
            let mut typed: Vec<String> = Vec::new();
            for name in names.iter() {
                let title: String = name
                    .split(' ')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<String>>()
                    .join(" ");
                typed.extend([
                    name.to_string(),
                    name.to_uppercase(),
                    title.clone(),
                    format!("I'm in {title} right now"),
                    format!("country:{title}"),
                    format!("  {name}  please "),
                ]);
            }
            for c in codes.iter() {
                typed.extend([c.to_string(), c.to_uppercase(), format!("I am in {}", c.to_uppercase())]);
            }
            for t in typed {
                let text = crisis(Some(&t), &[]).plain("/");
                assert!(shows(&text, line), "{t:?} should show {code}: {text}");
                assert!(!text.contains(UNRECOGNISED), "{t:?}");
                // And typed as a command, through the parser.
                let bound = crate::parse::bind(&crate::parse::parse_command(&format!("crisis {t}")).unwrap()).unwrap();
                let text = crisis(bound.text("country"), &[]).plain("/");
                assert!(shows(&text, line), "/crisis {t:?} should show {code}: {text}");
            }
        }
    }

    #[test]
    fn names_in_the_languages_of_the_list_with_or_without_accents() {
        for (typed, code) in [
            ("Österreich", "AT"),
            ("osterreich", "AT"),
            ("Großbritannien", "GB"),
            ("Grossbritannien", "GB"),
            ("België", "BE"),
            ("Éire", "IE"),
            ("États-Unis", "US"),
            ("U.S.A.", "US"),
            ("Østerrike", "AT"),
            ("Itävalta", "AT"),
            ("Suíça", "CH"),
            ("Zjednoczone Królestwo", "GB"),
            ("Países Baixos", "NL"),
            ("Deutschland", "DE"),
            ("the UK", "GB"),
            ("Germnay", "DE"),
        ] {
            assert_eq!(countries(typed), vec![code], "{typed}");
        }
    }

    #[test]
    fn a_longer_name_wins_over_the_shorter_inside_it() {
        assert_eq!(countries("Northern Ireland"), vec!["GB"]);
        assert_eq!(countries("New South Wales"), vec!["AU"]);
        assert!(countries("South America").is_empty());
        assert_eq!(countries("Germany or Austria"), vec!["DE", "AT"]);
    }

    #[test]
    fn short_codes_that_are_also_words_count_only_alone_or_in_capitals() {
        assert!(countries("no idea where I am").is_empty());
        assert!(countries("help us").is_empty());
        assert!(countries("ich bin aus Berlin").is_empty());
        assert_eq!(countries("no"), vec!["NO"]);
        assert_eq!(countries("help, I'm in the US"), vec!["US"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(50))]

        #[test]
        fn fifty_random_strings_each_get_at_least_one_line(typed in "\\PC{0,60}") {
            let text = crisis(Some(&typed), &[]).plain("/");
            proptest::prop_assert!(shown(&text) >= 1, "{}", text);
            proptest::prop_assert!(text.contains("findahelpline.com"));
            // Typed as a command, it is never refused either.
            let bound = crate::parse::bind(&crate::parse::parse_command(&format!("crisis {typed}")).unwrap());
            proptest::prop_assert!(bound.is_ok());
        }
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
