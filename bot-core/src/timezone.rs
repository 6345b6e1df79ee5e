//! Reading IANA zone names people type, with suggestions when they miss.

use chrono_tz::{TZ_VARIANTS, Tz};

use crate::error::UserError;

/// A zone from its IANA name, ignoring case; otherwise the closest names.
pub fn parse(raw: &str) -> Result<Tz, UserError> {
    let raw = raw.trim();
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
    fn nonsense_gets_no_suggestions() {
        assert_eq!(parse("xyzzy-qq"), Err(UserError::BadTimezone { suggestions: vec![] }));
    }
}
