//! `/resources list|add|remove`: each community's list of links, by topic.
//! Entries with the topic `crisis` are the community's local crisis lines,
//! which `/crisis` shows above its built-in list.

use chrono::{DateTime, Utc};

use unicode_security::MixedScript as _;

use crate::error::{Context, Result, UserError};
use crate::message::{Line, Message, Span};
use crate::parse::{Bound, name_key};
use crate::store::{Store, query_as, query_scalar};

/// The topic whose entries are local crisis lines.
pub const CRISIS_TOPIC: &str = "crisis";
/// The topic of an entry added without one.
pub const DEFAULT_TOPIC: &str = "general";
/// At most this many entries per community: the list is read in one message.
const PER_COMMUNITY: i64 = 100;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Resource {
    pub id: i64,
    pub title: String,
    pub url: String,
    pub topic: String,
    pub description: Option<String>,
}

/// The resource commands, as the core dispatches them.
pub(crate) enum Cmd<'a> {
    List {
        topic: Option<&'a str>,
    },
    Add {
        title: &'a str,
        url: &'a str,
        topic: Option<&'a str>,
        description: Option<&'a str>,
    },
    Remove {
        resource: &'a str,
    },
}

impl<'a> Cmd<'a> {
    pub(crate) fn from_bound(b: &'a Bound) -> Option<Self> {
        Some(match b.spec.name {
            "resources list" => Cmd::List { topic: b.text("topic") },
            "resources add" => Cmd::Add {
                title: b.text("title")?,
                url: b.text("url")?,
                topic: b.text("topic"),
                description: b.text("description"),
            },
            "resources remove" => Cmd::Remove {
                resource: b.text("resource")?,
            },
            _ => return None,
        })
    }
}

pub(crate) async fn run(store: &Store, cmd: Cmd<'_>, community: i64, now: DateTime<Utc>) -> Result<Message> {
    match cmd {
        Cmd::List { topic } => list(store, community, topic).await,
        Cmd::Add {
            title,
            url,
            topic,
            description,
        } => add(store, community, title, url, topic, description, now).await,
        Cmd::Remove { resource } => remove(store, community, resource).await,
    }
}

/// An http(s) URL with a host and nothing that could break out of a link:
/// no spaces, quotes or angle brackets, no user name before the host (the
/// `https://samaritans.org@elsewhere.example` trick), and no host label that
/// mixes scripts (`samarіtans.org` with a Cyrillic і). What is kept is the
/// URL as `url` writes it: the host in ASCII, punycode for any other script.
pub(crate) fn check_url(raw: &str) -> std::result::Result<String, UserError> {
    let raw = raw.trim();
    let bad = |why| UserError::BadValue { option: "url", why };
    let lower = raw.to_ascii_lowercase();
    for scheme in PHONE_SCHEMES {
        if let Some(number) = lower.strip_prefix(scheme).and_then(|r| r.strip_prefix(':')) {
            return phone_number(scheme, number);
        }
    }
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or(bad("must start with https:// or http://"))?;
    if raw
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`' | '\\'))
    {
        return Err(bad("cannot contain spaces, quotes or angle brackets"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad(
            "cannot have a name and @ before the site's address; give the address as the site itself shows it",
        ));
    }
    let parsed =
        url::Url::parse(raw).map_err(|_| bad("needs a web address after https://, e.g. https://example.org/page"))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("needs a web address after https://, e.g. https://example.org/page"));
    }
    if let Some(url::Host::Domain(domain)) = parsed.host() {
        let (unicode, decoded) = idna::domain_to_unicode(domain);
        if decoded.is_err() {
            return Err(bad("has a site name that is not a valid address"));
        }
        if !unicode.split('.').all(|label| label.is_single_script()) {
            return Err(bad(
                "mixes alphabets in the site's name (say, a Cyrillic letter among Latin ones), as look-alike addresses do",
            ));
        }
    }
    Ok(parsed.to_string())
}

/// Links that are phone numbers: to call, or to text. Local crisis lines
/// usually are.
const PHONE_SCHEMES: [&str; 2] = ["tel", "sms"];

/// `tel:+44 116 123` as `tel:+44116123`: digits alone, with a leading `+`
/// for a country code; spaces, dashes, dots and brackets as people write
/// them are dropped. From 3 digits (short lines such as 988) to E.164's 15.
fn phone_number(scheme: &str, raw: &str) -> std::result::Result<String, UserError> {
    let bad = UserError::BadValue {
        option: "url",
        why: "after tel: or sms: takes a phone number: digits, + first for a country code, e.g. tel:+44 116 123",
    };
    let raw = raw.trim();
    let (plus, rest) = match raw.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", raw),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
    {
        return Err(bad);
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if !(3..=15).contains(&digits.len()) {
        return Err(bad);
    }
    Ok(format!("{scheme}:{plus}{digits}"))
}

/// The number a `tel:` or `sms:` link calls or texts, and whether to text it.
pub(crate) fn phone_of(url: &str) -> Option<(&str, bool)> {
    if let Some(number) = url.strip_prefix("tel:") {
        return Some((number, false));
    }
    url.strip_prefix("sms:").map(|number| (number, true))
}

/// A link's host as ASCII (punycode for other scripts), to show beside its
/// label: a label can say anything, the host says where the link goes.
pub(crate) fn ascii_host(url: &str) -> Option<String> {
    url::Url::parse(url).ok()?.host_str().map(ToString::to_string)
}

async fn add(
    store: &Store,
    community: i64,
    title: &str,
    url: &str,
    topic: Option<&str>,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Message> {
    let title = title.trim();
    if title.is_empty() {
        return Err(UserError::Empty { option: "title" }.into());
    }
    let url = check_url(url)?;
    let topic = topic.map(name_key).filter(|t| !t.is_empty());
    let topic = topic.as_deref().unwrap_or(DEFAULT_TOPIC);
    let description = description.map(str::trim).filter(|d| !d.is_empty());
    let count: i64 = query_scalar("SELECT COUNT(*) FROM resources WHERE community_id = ?")
        .bind(community)
        .fetch_one(store)
        .await
        .context("counting resources")?;
    if count >= PER_COMMUNITY {
        return Err(UserError::BadValue {
            option: "title",
            why: "the list is full (100 entries); remove one first",
        }
        .into());
    }
    let added = query_scalar::<i64>(
        "INSERT INTO resources (community_id, title, title_key, url, topic, description, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (community_id, title_key) DO NOTHING RETURNING id",
    )
    .bind(community)
    .bind(title)
    .bind(name_key(title))
    .bind(&url)
    .bind(topic)
    .bind(description)
    .bind(now.timestamp())
    .fetch_optional(store)
    .await
    .context("adding a resource")?;
    let Some(id) = added else {
        return Err(UserError::BadValue {
            option: "title",
            why: "is already on the list; remove the old entry first or choose another title",
        }
        .into());
    };
    let mut message = Message::new().line(
        Line::text(format!("Added resource {id} to {topic}: "))
            .push(Span::Link {
                label: title.to_string(),
                url,
            })
            .t("."),
    );
    if topic == CRISIS_TOPIC {
        message = message.line(
            Line::text("It is a local crisis line now: ")
                .cmd("crisis")
                .t(" shows it first."),
        );
    }
    Ok(message)
}

/// The entry `wanted` names: its number (`3` or `#3`), else its title in any case.
async fn find(store: &Store, community: i64, wanted: &str) -> Result<Option<Resource>> {
    let wanted = wanted.trim();
    if let Ok(id) = wanted.strip_prefix('#').unwrap_or(wanted).parse::<i64>() {
        let found: Option<Resource> =
            query_as("SELECT id, title, url, topic, description FROM resources WHERE community_id = ? AND id = ?")
                .bind(community)
                .bind(id)
                .fetch_optional(store)
                .await
                .context("finding a resource by id")?;
        if found.is_some() {
            return Ok(found);
        }
    }
    query_as("SELECT id, title, url, topic, description FROM resources WHERE community_id = ? AND title_key = ?")
        .bind(community)
        .bind(name_key(wanted))
        .fetch_optional(store)
        .await
        .context("finding a resource by title")
}

/// Whether the command adds or removes one of the community's crisis lines:
/// what `/crisis` shows people in need first is its admins' work alone.
pub(crate) async fn touches_crisis(store: &Store, community: i64, cmd: &Cmd<'_>) -> Result<bool> {
    Ok(match cmd {
        Cmd::List { .. } => false,
        Cmd::Add { topic, .. } => topic.is_some_and(|t| name_key(t) == CRISIS_TOPIC),
        Cmd::Remove { resource } => find(store, community, resource)
            .await?
            .is_some_and(|r| r.topic == CRISIS_TOPIC),
    })
}

async fn remove(store: &Store, community: i64, wanted: &str) -> Result<Message> {
    let removed: Option<String> = match find(store, community, wanted).await? {
        Some(found) => query_scalar("DELETE FROM resources WHERE community_id = ? AND id = ? RETURNING title")
            .bind(community)
            .bind(found.id)
            .fetch_optional(store)
            .await
            .context("removing a resource")?,
        None => None,
    };
    // A miss is a refusal, answered to the one who typed it alone.
    match removed {
        Some(title) => Ok(Message::new().line(Line::text("Removed ").b(title).t(" from the resources."))),
        None => Err(UserError::NoSuchResource.into()),
    }
}

/// The community's entries, optionally of one topic, by topic then title.
pub(crate) async fn of_community(store: &Store, community: i64, topic: Option<&str>) -> Result<Vec<Resource>> {
    query_as(
        "SELECT id, title, url, topic, description FROM resources
         WHERE community_id = ? AND (? IS NULL OR topic = ?) ORDER BY topic, title_key",
    )
    .bind(community)
    .bind(topic)
    .bind(topic)
    .fetch_all(store)
    .await
    .context("listing resources")
}

/// One entry as a line: its number, its title as a link, its description.
pub(crate) fn entry(r: &Resource) -> Line {
    // A number is shown as one, to tap on a phone: "call 116 123".
    if let Some((number, text)) = phone_of(&r.url) {
        let mut line = Line::text(format!("{}. ", r.id))
            .b(r.title.clone())
            .t(if text { ", text " } else { ", call " })
            .push(Span::Link {
                label: number.to_string(),
                url: r.url.clone(),
            });
        if let Some(d) = &r.description {
            line = line.t(format!(" — {d}"));
        }
        return line;
    }
    let mut line = Line::text(format!("{}. ", r.id)).push(Span::Link {
        label: r.title.clone(),
        url: r.url.clone(),
    });
    if let Some(host) = ascii_host(&r.url) {
        line = line.t(format!(" ({host})"));
    }
    if let Some(d) = &r.description {
        line = line.t(format!(" — {d}"));
    }
    line
}

async fn list(store: &Store, community: i64, topic: Option<&str>) -> Result<Message> {
    let topic = topic.map(name_key).filter(|t| !t.is_empty());
    let found = of_community(store, community, topic.as_deref()).await?;
    let mut message = Message::titled("Resources");
    if found.is_empty() {
        let line = match &topic {
            Some(t) => Line::text(format!("There are no resources about {t} yet. ")),
            None => Line::text("There are no resources yet. "),
        };
        return Ok(message.line(
            line.t("Facilitators can add one with ")
                .cmd("resources add title:… url:… topic:…"),
        ));
    }
    let mut shown: Option<&str> = None;
    for r in &found {
        if shown != Some(r.topic.as_str()) {
            message = message.line(Line::new().b(r.topic.clone()));
            shown = Some(&r.topic);
        }
        message = message.line(entry(r));
    }
    Ok(message)
}

/// The community's local crisis lines, for `/crisis`.
pub(crate) async fn crisis_lines(store: &Store, community: i64) -> Result<Vec<Resource>> {
    of_community(store, community, Some(CRISIS_TOPIC)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list through its own SQL alone, so this runs on PostgreSQL as well
    /// (`HEARTH_TEST_POSTGRES`): added, found by number and by title in any
    /// case, listed by topic, refused twice, removed.
    #[tokio::test]
    async fn the_list_reads_and_writes_alike_on_either_database() {
        let store = Store::for_test().await.unwrap();
        crate::store::query(
            "INSERT INTO communities (id, platform, external_id, timezone) VALUES (1, 'console', 'local', 'UTC')",
        )
        .execute(&store)
        .await
        .unwrap();
        let now = chrono::DateTime::from_timestamp(1_773_914_400, 0).unwrap();
        let add = |title: &'static str, topic: Option<&'static str>| {
            let store = store.clone();
            async move {
                let cmd = Cmd::Add {
                    title,
                    url: "https://example.org",
                    topic,
                    description: None,
                };
                run(&store, cmd, 1, now).await
            }
        };

        add("Samaritans", Some("Crisis")).await.unwrap();
        add("Grief notes", None).await.unwrap();
        let twice = add("SAMARITANS", Some("crisis")).await;
        let by_number = find(&store, 1, "#1").await.unwrap().map(|r| r.title);
        let by_title = find(&store, 1, "grief NOTES").await.unwrap().map(|r| r.id);
        let crisis: Vec<String> = crisis_lines(&store, 1)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.title)
            .collect();
        let all: Vec<String> = of_community(&store, 1, None)
            .await
            .unwrap()
            .into_iter()
            .map(|r| format!("{}: {}", r.topic, r.title))
            .collect();
        let removed = run(&store, Cmd::Remove { resource: "samaritans" }, 1, now)
            .await
            .unwrap();
        let left = of_community(&store, 1, None).await.unwrap().len();

        assert!(twice.is_err(), "one entry per title");
        assert_eq!(by_number.as_deref(), Some("Samaritans"));
        assert_eq!(by_title, Some(2));
        assert_eq!(crisis, ["Samaritans"]);
        assert_eq!(
            all,
            ["crisis: Samaritans", format!("{DEFAULT_TOPIC}: Grief notes").as_str()]
        );
        assert!(
            removed.plain("/").contains("Removed Samaritans"),
            "{}",
            removed.plain("/")
        );
        assert_eq!(left, 1);
        assert_eq!(
            crate::meeting_guide::community_for_export(&store, None).await.unwrap(),
            Some(1)
        );
        assert_eq!(
            crate::meeting_guide::community_for_export(&store, Some(("console", "local")))
                .await
                .unwrap(),
            Some(1)
        );
        crate::metrics::refresh_from_store(&store).await.unwrap();
    }

    #[test]
    fn only_http_urls_with_a_host_pass() {
        assert!(check_url("https://example.org/a?b=c").is_ok());
        assert!(check_url("http://example.org").is_ok());
        for bad in [
            "javascript:alert(1)",
            "ftp://example.org",
            "https://",
            "https://exa mple.org",
            "https://example.org/<script>",
            "example.org",
            "https://@everyone",
            "https://samaritans.org@elsewhere.example/help",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_links_keep_their_digits_and_refuse_anything_else() {
        assert_eq!(check_url("tel:+44 116 123").unwrap(), "tel:+44116123");
        assert_eq!(check_url("SMS:(555) 010-9999").unwrap(), "sms:5550109999");
        assert_eq!(check_url("tel:988").unwrap(), "tel:988");
        for bad in [
            "tel:",
            "tel:12",
            "tel:+44 116 123 ext",
            "sms:javascript:alert(1)",
            "tel:1234567890123456",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_are_kept_in_ascii_and_labels_that_mix_scripts_are_refused() {
        let cyrillic_i = "https://samar\u{456}tans.org/help";
        let as_punycode = format!(
            "https://{}/help",
            idna::domain_to_ascii("samar\u{456}tans.org").unwrap()
        );

        let german = check_url("https://b\u{fc}cher.example/liste").unwrap();

        assert_eq!(german, "https://xn--bcher-kva.example/liste");
        assert_eq!(ascii_host(&german).as_deref(), Some("xn--bcher-kva.example"));
        assert!(
            check_url(cyrillic_i)
                .unwrap_err()
                .to_string()
                .contains("mixes alphabets")
        );
        assert!(
            check_url(&as_punycode)
                .unwrap_err()
                .to_string()
                .contains("mixes alphabets")
        );
        assert!(
            check_url("https://\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.example").is_ok(),
            "one script, shown as punycode"
        );
    }
}
