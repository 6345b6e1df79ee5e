//! Reading IANA zone names people type, with suggestions when they miss.

use chrono_tz::{TZ_VARIANTS, Tz};

use crate::error::UserError;

/// Abbreviations people write for a zone, and the regions they usually
/// mean. An abbreviation names one half of the year (EST is not EDT), so a
/// member's times would stop following daylight saving: it is refused, with
/// these regions to choose from. Some of them are also old zone names in the
/// IANA database (EST, CET, PST8PDT), which is why they are caught first.
const ABBREVIATIONS: &[(&[&str], &[&str])] = &[
    (
        &["EST", "EDT", "ET", "EASTERN", "EST5EDT"],
        &["America/New_York", "America/Toronto", "America/Detroit"],
    ),
    (
        &["CST", "CDT", "CT", "CENTRAL", "CST6CDT"],
        &[
            "America/Chicago",
            "America/Mexico_City",
            "America/Winnipeg",
            "Asia/Shanghai",
        ],
    ),
    (
        &["MST", "MDT", "MT", "MOUNTAIN", "MST7MDT"],
        &["America/Denver", "America/Phoenix", "America/Edmonton"],
    ),
    (
        &["PST", "PDT", "PT", "PACIFIC", "PST8PDT"],
        &["America/Los_Angeles", "America/Vancouver", "America/Tijuana"],
    ),
    (&["AKST", "AKDT", "ALASKA"], &["America/Anchorage"]),
    (&["HST", "HDT", "HAWAII"], &["Pacific/Honolulu"]),
    (
        &["AST", "ADT", "ATLANTIC"],
        &["America/Halifax", "America/Puerto_Rico", "Asia/Riyadh"],
    ),
    (&["NST", "NDT"], &["America/St_Johns"]),
    (&["GMT", "BST"], &["Europe/London", "Europe/Dublin", "UTC"]),
    (&["IST"], &["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"]),
    (&["WET", "WEST"], &["Europe/Lisbon", "Atlantic/Canary"]),
    (
        &["CET", "CEST", "MET", "MEST", "MEZ", "MESZ"],
        &["Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Rome"],
    ),
    (&["EET", "EEST"], &["Europe/Athens", "Europe/Helsinki", "Europe/Kyiv"]),
    (&["MSK"], &["Europe/Moscow"]),
    (&["JST"], &["Asia/Tokyo"]),
    (&["KST"], &["Asia/Seoul"]),
    (&["HKT"], &["Asia/Hong_Kong"]),
    (&["SGT"], &["Asia/Singapore"]),
    (&["PHT", "PHST"], &["Asia/Manila"]),
    (
        &["AEST", "AEDT"],
        &["Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane"],
    ),
    (&["ACST", "ACDT"], &["Australia/Adelaide", "Australia/Darwin"]),
    (&["AWST"], &["Australia/Perth"]),
    (&["NZST", "NZDT"], &["Pacific/Auckland"]),
    (&["SAST"], &["Africa/Johannesburg"]),
    (&["CAT"], &["Africa/Maputo", "Africa/Harare"]),
    (&["EAT"], &["Africa/Nairobi"]),
    (&["WAT"], &["Africa/Lagos"]),
    (&["BRT"], &["America/Sao_Paulo"]),
    (&["ART"], &["America/Argentina/Buenos_Aires"]),
];

/// The abbreviation `raw` is, as the table spells it, and the regions it
/// usually means ("EST", "Eastern Time", "cest").
fn abbreviation(raw: &str) -> Option<(&'static str, &'static [&'static str])> {
    let key: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let key = key
        .strip_suffix("STANDARDTIME")
        .or_else(|| key.strip_suffix("DAYLIGHTTIME"))
        .or_else(|| key.strip_suffix("TIME"))
        .filter(|k| !k.is_empty())
        .unwrap_or(&key);
    ABBREVIATIONS.iter().find_map(|(names, regions)| {
        let name = names.iter().find(|n| **n == key)?;
        Some((*name, *regions))
    })
}

/// A zone from its IANA name, ignoring case; otherwise the closest names.
/// An abbreviation is refused, with the regions it usually means.
pub fn parse(raw: &str) -> Result<Tz, UserError> {
    let raw = raw.trim();
    // Named back as the table spells it, never as typed: nothing a user
    // types is repeated into an answer that could carry a mention.
    if let Some((name, regions)) = abbreviation(raw) {
        return Err(UserError::ZoneAbbreviation {
            typed: name.to_string(),
            suggestions: regions.to_vec(),
        });
    }
    if let Ok(tz) = Tz::from_str_insensitive(raw) {
        return Ok(tz);
    }
    Err(UserError::BadTimezone {
        suggestions: suggest(raw),
    })
}

/// Up to three zone names close to what was typed: by whole name, and by the
/// city part alone so that "Berlin" finds Europe/Berlin.
fn suggest(raw: &str) -> Vec<&'static str> {
    let typed = raw.to_lowercase().replace(' ', "_");
    let mut scored: Vec<(f64, &'static str)> = TZ_VARIANTS
        .iter()
        .map(|tz| {
            let name = tz.name();
            let lower = name.to_lowercase();
            let city = lower.rsplit('/').next().unwrap_or(&lower);
            let score = strsim::jaro_winkler(&typed, &lower).max(strsim::jaro_winkler(&typed, city));
            (score, name)
        })
        .filter(|(score, _)| *score >= 0.85)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, name)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_without_regard_to_case() {
        assert_eq!(parse("europe/berlin"), Ok(chrono_tz::Europe::Berlin));
    }

    #[test]
    fn a_city_alone_suggests_its_zone() {
        let Err(UserError::BadTimezone { suggestions }) = parse("Berlin") else {
            panic!("Berlin alone is not a zone name");
        };
        assert_eq!(suggestions.first(), Some(&"Europe/Berlin"));
    }

    #[test]
    fn a_misspelling_suggests_the_zone_meant() {
        let Err(UserError::BadTimezone { suggestions }) = parse("Amerca/New_Yrok") else {
            panic!("misspelt");
        };
        assert!(suggestions.contains(&"America/New_York"), "{suggestions:?}");
    }

    #[test]
    fn abbreviations_are_refused_with_the_regions_they_mean() {
        for (typed, first) in [
            ("EST", "America/New_York"),
            ("est", "America/New_York"),
            ("Eastern Time", "America/New_York"),
            ("PST", "America/Los_Angeles"),
            ("PDT", "America/Los_Angeles"),
            ("PST8PDT", "America/Los_Angeles"),
            ("CET", "Europe/Berlin"),
            ("CEST", "Europe/Berlin"),
            ("MEZ", "Europe/Berlin"),
            ("GMT", "Europe/London"),
            ("IST", "Asia/Kolkata"),
            ("AEST", "Australia/Sydney"),
        ] {
            let Err(UserError::ZoneAbbreviation { suggestions, .. }) = parse(typed) else {
                panic!("{typed} is an abbreviation");
            };
            assert_eq!(suggestions.first(), Some(&first), "{typed}");
        }
    }

    #[test]
    fn every_suggested_region_is_a_real_zone_that_is_accepted() {
        for (_, regions) in ABBREVIATIONS {
            for region in regions.iter() {
                assert_eq!(parse(region).map(|z| z.name()), Ok(*region));
            }
        }
        assert_eq!(parse("UTC"), Ok(Tz::UTC));
        assert_eq!(parse("US/Eastern"), Ok(chrono_tz::US::Eastern));
    }

    #[test]
    fn nonsense_gets_no_suggestions() {
        assert_eq!(parse("xyzzy-qq"), Err(UserError::BadTimezone { suggestions: vec![] }));
    }
}
