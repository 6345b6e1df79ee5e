//! Groups and the directory: `/group create|edit|info|list|join|leave|facilitator`.
//!
//! Here: the group, finding it, and what other features ask of the tables
//! this module owns. In parts: `card` (the info card and the directory),
//! `edit` (create, edit, retire) and `membership` (join, leave,
//! facilitators).

use chrono::NaiveDate;

use crate::error::{Context, Result, UserError};
use crate::members::Member;
use crate::parse::name_key;
use crate::store::{Db, Store, query, query_as, query_scalar};

/// What a group shows when nobody has written its own guideline.
pub const DEFAULT_GUIDELINE: &str = "What is shared here stays here.";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub topic: String,
    pub led_by: String,
    pub description: Option<String>,
    pub format: String,
    pub location: Option<String>,
    pub capacity: Option<i64>,
    pub cost: Option<String>,
    pub registration: Option<String>,
    pub ends: Option<NaiveDate>,
    pub home_channel: String,
    pub guideline: String,
    pub timezone: Option<String>,
    pub reminder_leads: String,
    /// With registration: someone asking to join is named to its facilitators.
    pub tell_facilitators: bool,
    /// The payment handles the Meeting Guide spec names.
    pub venmo: Option<String>,
    pub square: Option<String>,
    pub paypal: Option<String>,
    pub homegroup_online: Option<String>,
}

/// A query of every [`Group`] column, followed by the rest of the query.
/// `ends` is a date written as text (`2026-12-31`) on both databases;
/// PostgreSQL reads it back as a `DATE`, which is what decodes as one there.
macro_rules! select_groups {
    ($rest:literal) => {
        crate::store::query_as::<crate::groups::Group>(concat!(
            "SELECT id, name, topic, led_by, description, format, location, capacity, ",
            "cost, registration, ends, home_channel, guideline, timezone, reminder_leads, tell_facilitators, ",
            "venmo, square, paypal, homegroup_online FROM groups ",
            $rest
        ))
        .on_postgres(concat!(
            "SELECT id, name, topic, led_by, description, format, location, capacity, ",
            "cost, registration, CAST(ends AS DATE) AS ends, home_channel, guideline, timezone, reminder_leads, ",
            "tell_facilitators, venmo, square, paypal, homegroup_online FROM groups ",
            $rest
        ))
    };
}

mod card;
mod edit;
mod membership;

pub use card::found;
pub use card::{card_message, list, names, no_meetings};
pub(crate) use edit::clear_names;
pub use edit::{create, edit, edited_card, retire, retire_preview};
pub use membership::{facilitator, leave};
pub(crate) use membership::{join, remove, theirs_in};

/// Finds a group of the community by name (any case) or `#id`, or says which
/// names come close.
/// The group a command means when it names none: the one whose home is
/// this channel. Several, or none, and the caller is asked which.
pub async fn homed_in(store: &Store, community: i64, channel: &str, command: &'static str) -> Result<Group> {
    let mut homed: Vec<Group> =
        select_groups!("WHERE community_id = ? AND home_channel = ? AND retired_at IS NULL ORDER BY id LIMIT 6")
            .bind(community)
            .bind(channel)
            .fetch_all(store)
            .await
            .context("finding the group homed in a channel")?;
    if homed.len() == 1
        && let Some(group) = homed.pop()
    {
        return Ok(group);
    }
    Err(UserError::WhichGroup {
        command,
        homed: homed.into_iter().map(|g| g.name).collect(),
    }
    .into())
}

pub async fn find(store: &Store, community: i64, wanted: &str) -> Result<Group> {
    let by_id = wanted.strip_prefix('#').and_then(|n| n.parse::<i64>().ok());
    let found: Option<Group> = match by_id {
        Some(id) => select_groups!("WHERE community_id = ? AND id = ? AND retired_at IS NULL")
            .bind(community)
            .bind(id)
            .fetch_optional(store)
            .await
            .context("finding a group by id")?,
        None => select_groups!("WHERE community_id = ? AND name_key = ? AND retired_at IS NULL")
            .bind(community)
            .bind(name_key(wanted))
            .fetch_optional(store)
            .await
            .context("finding a group by name")?,
    };
    if let Some(group) = found {
        return Ok(group);
    }
    let names = names(store, community).await?;
    let wanted = name_key(wanted);
    let suggestions = names
        .into_iter()
        .filter(|n| {
            let k = name_key(n);
            k.contains(&wanted) || strsim::jaro_winkler(&k, &wanted) > 0.85
        })
        .take(3)
        .collect();
    Err(UserError::GroupNotFound { suggestions }.into())
}

pub async fn by_id(store: &Store, id: i64) -> Result<Group> {
    select_groups!("WHERE id = ?")
        .bind(id)
        .fetch_one(store)
        .await
        .context("loading a group")
}

/// The group with this id, if there is one (a group may be gone since).
pub async fn find_by_id(store: &Store, id: i64) -> Result<Option<Group>> {
    select_groups!("WHERE id = ?")
        .bind(id)
        .fetch_optional(store)
        .await
        .context("finding a group")
}

/// Several groups in one query (those of a batch of deliveries).
pub async fn by_ids(store: &Store, ids: &[i64]) -> Result<Vec<Group>> {
    let list = serde_json::to_string(ids).context("listing groups")?;
    select_groups!("WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id")
        .on_postgres(concat!(
            "SELECT id, name, topic, led_by, description, format, location, capacity, cost, registration, ",
            "CAST(ends AS DATE) AS ends, home_channel, guideline, timezone, reminder_leads, tell_facilitators, ",
            "venmo, square, paypal, homegroup_online FROM groups ",
            "WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(? AS JSON))) ORDER BY id"
        ))
        .bind(list)
        .fetch_all(store)
        .await
        .context("loading groups")
}

/// A group's own reminder settings: its leads (as written) and whether its
/// channel gets reminders.
pub async fn reminder_settings(db: impl Into<Db<'_>>, group: i64) -> Result<(String, bool)> {
    query_as("SELECT reminder_leads, channel_reminders FROM groups WHERE id = ?")
        .bind(group)
        .fetch_one(db)
        .await
        .context("loading a group's leads")
}

/// Sets a group's reminder leads, as written (`24h,1h`).
pub async fn set_reminder_leads(db: impl Into<Db<'_>>, group: i64, leads: &str) -> Result<()> {
    query("UPDATE groups SET reminder_leads = ? WHERE id = ?")
        .bind(leads)
        .bind(group)
        .execute(db)
        .await
        .context("saving a group's leads")?;
    Ok(())
}

/// Turns reminders in a group's channel on or off.
pub async fn set_channel_reminders(db: impl Into<Db<'_>>, group: i64, on: bool) -> Result<()> {
    query("UPDATE groups SET channel_reminders = ? WHERE id = ?")
        .bind(on)
        .bind(group)
        .execute(db)
        .await
        .context("turning a group's channel reminders on or off")?;
    Ok(())
}

/// Gives a group a zone for its posts, if it has none yet (its first
/// meeting's).
pub async fn adopt_zone(db: impl Into<Db<'_>>, group: i64, zone: &str) -> Result<()> {
    query("UPDATE groups SET timezone = COALESCE(timezone, ?) WHERE id = ?")
        .bind(zone)
        .bind(group)
        .execute(db)
        .await
        .context("setting a group's zone")?;
    Ok(())
}

/// The zone a group's check-in weeks are cut in: fixed the first time it is
/// needed, from the group's zone, else its community's, else UTC.
pub async fn checkin_zone(store: &Store, group: i64) -> Result<String> {
    let fixed: Option<Option<String>> = query_scalar("SELECT checkin_zone FROM groups WHERE id = ?")
        .bind(group)
        .fetch_optional(store)
        .await
        .context("reading a group's check-in zone")?;
    Ok(match fixed.flatten() {
        Some(zone) => zone,
        None => query_scalar(
            "UPDATE groups SET checkin_zone = COALESCE(checkin_zone, timezone,
                 (SELECT c.timezone FROM communities c WHERE c.id = groups.community_id), 'UTC')
             WHERE id = ? RETURNING checkin_zone",
        )
        .bind(group)
        .fetch_optional(store)
        .await
        .context("fixing a group's check-in zone")?
        .unwrap_or_else(|| "UTC".to_string()),
    })
}

/// Which of these members belong to which groups, as (group, member), members
/// and facilitators alike: who may see a closed group's place.
pub async fn memberships_of(store: &Store, members: &[i64]) -> Result<std::collections::HashSet<(i64, i64)>> {
    let list = serde_json::to_string(members).context("listing members")?;
    let rows: Vec<(i64, i64)> = query_as(
        "SELECT group_id, member_id FROM group_members WHERE member_id IN (SELECT value FROM json_each(?1))
         UNION SELECT group_id, member_id FROM group_facilitators WHERE member_id IN (SELECT value FROM json_each(?1))",
    )
    .on_postgres(
        "SELECT group_id, member_id FROM group_members
         WHERE member_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(?1 AS JSON)))
         UNION SELECT group_id, member_id FROM group_facilitators
         WHERE member_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(?1 AS JSON)))",
    )
    .bind(list)
    .fetch_all(store)
    .await
    .context("reading members' groups")?;
    Ok(rows.into_iter().collect())
}

pub(crate) async fn facilitators(store: &Store, group: i64) -> Result<Vec<Member>> {
    facilitators_in(store, group).await
}

/// A group's facilitators, read where the caller is (a pool, or its write).
pub(crate) async fn facilitators_in(db: impl Into<Db<'_>>, group: i64) -> Result<Vec<Member>> {
    query_as(
        "SELECT m.id, m.external_id, m.display_name, m.timezone FROM group_facilitators f
         JOIN members m ON m.id = f.member_id WHERE f.group_id = ? ORDER BY m.display_name, m.id",
    )
    .bind(group)
    .fetch_all(db)
    .await
    .context("listing facilitators")
}

pub async fn is_facilitator(store: &Store, group: i64, member: i64) -> Result<bool> {
    query_scalar("SELECT EXISTS (SELECT 1 FROM group_facilitators WHERE group_id = ? AND member_id = ?)")
        .bind(group)
        .bind(member)
        .fetch_one(store)
        .await
        .context("checking a facilitator")
}

/// Whether `member` belongs to `group`: a member of it, or one of its facilitators.
pub async fn belongs(store: &Store, group: i64, member: i64) -> Result<bool> {
    query_scalar(
        "SELECT EXISTS (SELECT 1 FROM group_members WHERE group_id = ?1 AND member_id = ?2
         UNION ALL SELECT 1 FROM group_facilitators WHERE group_id = ?1 AND member_id = ?2)",
    )
    .bind(group)
    .bind(member)
    .fetch_one(store)
    .await
    .context("checking a group's membership")
}

/// Whether `member` facilitates any group of `community`.
pub async fn facilitates_any(store: &Store, community: i64, member: i64) -> Result<bool> {
    query_scalar(
        "SELECT EXISTS (SELECT 1 FROM group_facilitators f JOIN groups g ON g.id = f.group_id
         WHERE f.member_id = ? AND g.community_id = ? AND g.retired_at IS NULL)",
    )
    .bind(member)
    .bind(community)
    .fetch_one(store)
    .await
    .context("checking a facilitator of any group")
}

/// A closed group (one that needs registration) keeps its link for its
/// members: a conference link often carries its password.
pub fn is_closed(group: &Group) -> bool {
    group.registration.is_some()
}

/// Whether `place` holds a way into a conference: a link, written with its
/// scheme or without ("zoom.us/j/881?pwd=…", "discord.gg/AbCd",
/// "meet.google.com/abc-defg-hij"), or a dial-in's passcode or PIN. Erring
/// this way only hides a closed group's place from strangers.
pub fn has_link(place: &str) -> bool {
    let mut links = linkify::LinkFinder::new();
    links.kinds(&[linkify::LinkKind::Url]).url_must_have_scheme(false);
    let lower = place.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    links.links(place).next().is_some()
        || words.iter().any(|w| ["passcode", "password", "pwd", "pin"].contains(w))
        || words.windows(2).any(|pair| pair == ["meeting", "id"])
}

/// Whether `place` (the group's or one of its meetings') may be said to its
/// readers: anything of an open group, anything but a link of a closed one,
/// and everything to its own members and facilitators (`to_members`). The one
/// rule for the directory, the feed, cards, reminders and events.
pub fn may_show_place(group: &Group, place: &str, to_members: bool) -> bool {
    to_members || !is_closed(group) || !has_link(place)
}

/// The groups a member belongs to (not those they only facilitate), by id.
pub(crate) async fn groups_of_member(db: impl Into<Db<'_>>, member: i64) -> Result<Vec<i64>> {
    query_scalar("SELECT group_id FROM group_members WHERE member_id = ? ORDER BY group_id")
        .bind(member)
        .fetch_all(db)
        .await
        .context("listing a member's groups")
}

/// The live groups a member belongs to or facilitates, by id: those whose
/// closed links are theirs to see in their own calendars.
pub(crate) async fn theirs(db: impl Into<Db<'_>>, member: i64) -> Result<Vec<i64>> {
    query_scalar(
        "SELECT g.id FROM groups g WHERE g.retired_at IS NULL AND g.id IN
           (SELECT group_id FROM group_members WHERE member_id = ?
            UNION SELECT group_id FROM group_facilitators WHERE member_id = ?)
         ORDER BY g.id",
    )
    .bind(member)
    .bind(member)
    .fetch_all(db)
    .await
    .context("listing the groups a member belongs to or leads")
}

/// The group's payment handles, as the Meeting Guide spec names them:
/// (name to show, handle) for those it has.
pub async fn payment_handles(db: impl Into<Db<'_>>, group: i64) -> Result<Vec<(&'static str, String)>> {
    type Handles = (Option<String>, Option<String>, Option<String>, Option<String>);
    let row: Option<Handles> = query_as("SELECT venmo, square, paypal, homegroup_online FROM groups WHERE id = ?")
        .bind(group)
        .fetch_optional(db)
        .await
        .context("loading a group's payment handles")?;
    let Some((venmo, square, paypal, homegroup)) = row else {
        return Ok(Vec::new());
    };
    Ok([
        ("Venmo", venmo),
        ("Square", square),
        ("PayPal", paypal),
        ("Homegroup", homegroup),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.filter(|v| !v.trim().is_empty()).map(|v| (name, v)))
    .collect())
}

#[cfg(test)]
mod tests {
    use super::has_link;

    #[test]
    fn a_way_into_a_conference_is_found_however_it_is_written() {
        for place in [
            "https://zoom.us/j/1",
            "zoom.us/j/8812345?pwd=Xy12",
            "Join at discord.gg/AbCd",
            "meet.google.com/abc-defg-hij",
            "www.example.org",
            "Dial 646 558 8656, meeting ID 881 2345",
            "Phone in, passcode: 4321",
            "PIN 9988",
        ] {
            assert!(has_link(place), "{place}");
        }
        for place in [
            "St Mary's Hall, room 4",
            "Spin studio, 2nd floor",
            "The library",
            "12 Main St.",
        ] {
            assert!(!has_link(place), "{place}");
        }
    }
}
