//! A community on the web (issue 29): `/community publish on|off` and the
//! slug of its URLs, the slugs of its groups' calendars, and members' private
//! "my meetings" calendar links. The HTTP server is the binary's; this module
//! owns the tables it reads and the rules of what a public page may hold.
//!
//! What is public: only a published community's groups and their series,
//! closed groups' links left out (the rule of [`groups::may_show_place`]),
//! never a member's name. A private link shows its member only their own
//! groups' meetings.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::calendar::{self, Audience};
use crate::error::{Context, Result, UserError};
use crate::groups::{self, Group};
use crate::meetings::{self, Meeting};
use crate::message::{Line, Message};
use crate::store::{Db, Store, query, query_as, query_scalar};

pub use crate::spec::SLUG_MAX;

/// A community's slug as typed: 3 to 40 lower-case ASCII letters, digits and
/// dashes, not starting or ending with a dash. URLs stay readable and need
/// no escaping.
pub fn parse_slug(raw: &str) -> std::result::Result<String, UserError> {
    let slug = raw.trim().to_ascii_lowercase();
    let fits = (3..=SLUG_MAX).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if fits {
        Ok(slug)
    } else {
        Err(UserError::BadValue {
            option: "slug",
            why: "3 to 40 letters a-z, digits and dashes, e.g. grief-support",
        })
    }
}

/// The community a slug names, if it is published; `None` for an unknown
/// slug and for one whose community has not opted in alike.
pub async fn published(store: &Store, slug: &str) -> Result<Option<i64>> {
    query_scalar("SELECT community_id FROM published_communities WHERE slug = ? AND published = TRUE")
        .bind(slug)
        .fetch_optional(store)
        .await
        .context("finding a published community")
}

/// The community's slug and whether it is published.
pub async fn state(db: impl Into<Db<'_>>, community: i64) -> Result<Option<(String, bool)>> {
    query_as("SELECT slug, published FROM published_communities WHERE community_id = ?")
        .bind(community)
        .fetch_optional(db)
        .await
        .context("reading whether a community is published")
}

/// What `/community publish` did, for its answer.
pub enum Publishing {
    On { slug: String },
    Off { slug: Option<String> },
}

/// Turns publishing on (with `slug`, or the one it had) or off.
pub async fn set(
    store: &Store,
    community: i64,
    on: bool,
    slug: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Publishing> {
    let had = state(store, community).await?;
    if !on {
        query("UPDATE published_communities SET published = FALSE, changed_at = ? WHERE community_id = ?")
            .bind(now.timestamp())
            .bind(community)
            .execute(store)
            .await
            .context("unpublishing a community")?;
        return Ok(Publishing::Off {
            slug: had.map(|(s, _)| s),
        });
    }
    let had = had.map(|(kept, _)| kept);
    let slug = match (slug, &had) {
        (Some(raw), _) => parse_slug(raw)?,
        (None, Some(kept)) => kept.clone(),
        (None, None) => {
            return Err(UserError::Refused(
                Line::text("Give the address its name the first time, e.g. ")
                    .cmd("community publish on slug:grief-support")
                    .t(": the pages will be at /c/grief-support/."),
            )
            .into());
        }
    };
    let mut tx = store.write().await.context("publishing a community")?;
    // Another community's address, now or before, is never given again.
    let taken: Option<i64> = query_scalar(
        "SELECT community_id FROM published_communities WHERE slug = ? AND community_id <> ?
         UNION SELECT community_id FROM former_slugs WHERE slug = ? AND community_id <> ?",
    )
    .bind(&slug)
    .bind(community)
    .bind(&slug)
    .bind(community)
    .fetch_optional(&mut tx)
    .await
    .context("checking a slug")?;
    if taken.is_some() {
        return Err(UserError::Refused(Line::text(format!(
            "The address /c/{slug}/ is taken; choose another slug. Nothing changed."
        )))
        .into());
    }
    if let Some(old) = had.filter(|old| *old != slug) {
        query("INSERT INTO former_slugs (slug, community_id) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING")
            .bind(old)
            .bind(community)
            .execute(&mut tx)
            .await
            .context("keeping a former slug")?;
    }
    query("DELETE FROM former_slugs WHERE slug = ?")
        .bind(&slug)
        .execute(&mut tx)
        .await
        .context("taking back a former slug")?;
    query(
        "INSERT INTO published_communities (community_id, slug, published, changed_at) VALUES (?, ?, TRUE, ?)
         ON CONFLICT (community_id) DO UPDATE SET slug = excluded.slug, published = TRUE, changed_at = excluded.changed_at",
    )
    .bind(community)
    .bind(&slug)
    .bind(now.timestamp())
    .execute(&mut tx)
    .await
    .context("publishing a community")?;
    tx.commit().await.context("publishing a community")?;
    Ok(Publishing::On { slug })
}

/// Where a former slug's community is now: its current slug, while it is
/// published. The old address sends visitors there.
pub async fn moved(store: &Store, former: &str) -> Result<Option<String>> {
    query_scalar(
        "SELECT p.slug FROM former_slugs f JOIN published_communities p ON p.community_id = f.community_id
         WHERE f.slug = ? AND p.published = TRUE",
    )
    .bind(former)
    .fetch_optional(store)
    .await
    .context("following a former slug")
}

/// How long a browser or a cache may keep a public page or feed
/// (`Cache-Control: max-age`): what unpublishing says it may linger.
pub const PUBLIC_CACHE_SECS: u64 = 300;

/// The answer to `/community publish`, with the addresses under `base`
/// (`[web] public_url`) when the operator serves them.
pub fn answer(done: &Publishing, base: Option<&str>) -> Message {
    let at = |slug: &str| match base {
        Some(base) => format!("{}/c/{slug}/", base.trim_end_matches('/')),
        None => format!("/c/{slug}/"),
    };
    let mut message = match done {
        Publishing::On { slug } => Message::new()
            .text(format!(
                "Published: this community's groups and meetings are on the web at {}, with the Meeting Guide feed at {}meeting-guide.json and a calendar per group.",
                at(slug),
                at(slug)
            ))
            .text("Member names are never shown, nor the links of groups that ask people to register. Turn it off with /community publish off."),
        Publishing::Off { slug: Some(slug) } => Message::new().text(format!(
            "Unpublished: {} and every address under it now answer as if they never existed (a copy someone already fetched may stay in their browser or a cache for up to {} minutes). The slug stays this community's.",
            at(slug),
            PUBLIC_CACHE_SECS / 60
        )),
        Publishing::Off { slug: None } => Message::new().text("This community was not published; nothing changed."),
    };
    if base.is_none() && matches!(done, Publishing::On { .. }) {
        message = message
            .text("This Hearth serves no web pages yet: its operator turns them on with [web] in the config file.");
    }
    message
}

/// A readable slug of a name: lower-case ASCII letters and digits joined by dashes.
pub fn slugify(name: &str) -> String {
    crate::meeting_guide::slugify(name)
}

/// The community's live groups with their URL slugs: the name's slug, and
/// for a second group of the same slug, that slug, two dashes and its id
/// (so neither changes when another group comes or goes). A name's slug
/// never holds two dashes running, so no name can take a second group's.
pub(crate) async fn groups(store: &Store, community: i64) -> Result<Vec<(String, Group)>> {
    let ids: Vec<i64> = query_scalar("SELECT id FROM groups WHERE community_id = ? AND retired_at IS NULL ORDER BY id")
        .bind(community)
        .fetch_all(store)
        .await
        .context("listing a published community's groups")?;
    let mut found = groups::by_ids(store, &ids).await?;
    found.sort_by_key(|g| g.id);
    let mut taken = HashSet::new();
    Ok(found
        .into_iter()
        .map(|g| {
            let base = slugify(&g.name);
            let slug = if taken.insert(base.clone()) {
                base
            } else {
                format!("{base}--{}", g.id)
            };
            (slug, g)
        })
        .collect())
}

/// The community's live groups as (URL slug, name), for a page to list.
pub async fn group_names(store: &Store, community: i64) -> Result<Vec<(String, String)>> {
    Ok(groups(store, community)
        .await?
        .into_iter()
        .map(|(slug, g)| (slug, g.name))
        .collect())
}

/// A calendar feed: the iCalendar text.
pub struct Feed {
    pub body: String,
}

/// A published group's calendar, by its slug; `None` when the community
/// has no such group.
pub async fn group_calendar(store: &Store, community: i64, slug: &str, now: DateTime<Utc>) -> Result<Option<Feed>> {
    let Some((_, group)) = groups(store, community).await?.into_iter().find(|(s, _)| s == slug) else {
        return Ok(None);
    };
    let series: Vec<(Meeting, String)> = meetings::of_group(store, group.id)
        .await?
        .into_iter()
        .map(|m| (m, group.name.clone()))
        .collect();
    let body = calendar::feed(store, &group.name, &series, now, Audience::Public).await?;
    Ok(Some(Feed { body }))
}

/// A fresh private calendar token: 244 random bits (two v4 UUIDs) as hex.
fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// What is stored of a token: its SHA-256, as hex.
fn token_hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// A new private calendar link's token for `member`; the link they had
/// before stops working (one link at a time: asking again replaces a
/// link shared by mistake).
pub async fn subscribe(store: &Store, member: i64, now: DateTime<Utc>) -> Result<String> {
    let token = new_token();
    let mut tx = store.write().await.context("starting a calendar link")?;
    query("DELETE FROM calendar_feeds WHERE member_id = ?")
        .bind(member)
        .execute(&mut tx)
        .await
        .context("ending an earlier calendar link")?;
    query("INSERT INTO calendar_feeds (token_hash, member_id, created_at) VALUES (?, ?, ?)")
        .bind(token_hash(&token))
        .bind(member)
        .bind(now.timestamp())
        .execute(&mut tx)
        .await
        .context("keeping a calendar link")?;
    tx.commit().await.context("committing a calendar link")?;
    Ok(token)
}

/// Ends the member's private calendar link; how many there were.
pub async fn revoke(store: &Store, member: i64) -> Result<u64> {
    Ok(query("DELETE FROM calendar_feeds WHERE member_id = ?")
        .bind(member)
        .execute(store)
        .await
        .context("ending a calendar link")?
        .rows_affected())
}

/// The private feed a token opens: the meetings of the groups its member
/// belongs to or facilitates, with their links (they are the member's
/// own); `None` for a revoked or unknown token.
pub async fn member_calendar(store: &Store, token: &str, now: DateTime<Utc>) -> Result<Option<Feed>> {
    let member: Option<i64> = query_scalar("SELECT member_id FROM calendar_feeds WHERE token_hash = ?")
        .bind(token_hash(token))
        .fetch_optional(store)
        .await
        .context("opening a calendar link")?;
    let Some(member) = member else { return Ok(None) };
    let ids = groups::theirs(store, member).await?;
    let names: HashMap<i64, String> = groups::by_ids(store, &ids)
        .await?
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect();
    let mut series = Vec::new();
    for id in &ids {
        let name = names.get(id).cloned().unwrap_or_default();
        series.extend(
            meetings::of_group(store, *id)
                .await?
                .into_iter()
                .map(|m| (m, name.clone())),
        );
    }
    let body = calendar::feed(store, "My meetings", &series, now, Audience::Of(&ids)).await?;
    Ok(Some(Feed { body }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slug_is_short_lower_case_and_plain() {
        assert_eq!(parse_slug(" Grief-Support ").unwrap(), "grief-support");
        for bad in [
            "ab",
            "-grief",
            "grief-",
            "grief support",
            "grief/..",
            "é-group",
            &"x".repeat(41),
        ] {
            assert!(parse_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_hash_of_the_token_is_kept_and_tokens_differ() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
