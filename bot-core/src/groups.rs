//! Groups and the directory: `/group create|edit|info|list|join|leave|facilitator`.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{Context, Result, UserError};
use crate::io::{Effect, Platform, Response};
use crate::members::{self, Member};
use crate::message::{Line, Message, Span};
use crate::parse::{Bound, name_key};
use crate::store::Store;
use sqlx::SqliteConnection;

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
}

/// `SELECT` of every [`Group`] column, followed by the rest of the query.
macro_rules! select_groups {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, topic, led_by, description, format, location, capacity, ",
            "cost, registration, ends, home_channel, guideline, timezone, reminder_leads, tell_facilitators FROM groups ",
            $rest
        )
    };
}

/// The fields of a group's card as given to create or edit.
struct CardInput<'a> {
    name: Option<&'a str>,
    topic: Option<&'a str>,
    led_by: Option<&'static str>,
    description: Option<&'a str>,
    format: Option<&'static str>,
    location: Option<&'a str>,
    capacity: Option<i64>,
    cost: Option<&'a str>,
    registration: Option<&'a str>,
    ends: Option<NaiveDate>,
    channel: Option<&'a str>,
    guideline: Option<&'a str>,
    tell_facilitators: Option<bool>,
    /// Fields to empty (`clear:location,cost`); a guideline cleared is the default one.
    clear: Vec<&'static str>,
}

/// The fields `/group edit clear:` can empty: the card's optional ones.
pub const CLEARABLE: &[&str] = &[
    "description",
    "location",
    "capacity",
    "cost",
    "registration",
    "ends",
    "guideline",
];

/// `clear:location, cost` as field names, each one that may be cleared.
fn clear_list(raw: Option<&str>) -> Result<Vec<&'static str>, UserError> {
    clear_names(
        raw,
        CLEARABLE,
        "description, location, capacity, cost, registration, ends, guideline",
    )
}

/// A `clear:` option as the field names it lists, each one of `clearable`
/// (named in words by `listed`): the one way every command reads `clear:`.
pub(crate) fn clear_names(
    raw: Option<&str>,
    clearable: &[&'static str],
    listed: &'static str,
) -> Result<Vec<&'static str>, UserError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    let mut fields = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some(field) = clearable.iter().find(|f| f.eq_ignore_ascii_case(part)) else {
            return Err(UserError::NotClearable { clearable: listed });
        };
        if !fields.contains(field) {
            fields.push(*field);
        }
    }
    if fields.is_empty() {
        return Err(UserError::NotClearable { clearable: listed });
    }
    Ok(fields)
}

impl<'a> CardInput<'a> {
    fn from(b: &'a Bound) -> Result<Self, UserError> {
        let name = b.text("name");
        if name.is_some_and(|n| n.starts_with('#')) {
            return Err(UserError::BadValue {
                option: "name",
                why: "can't start with # (that is how groups are referred to by number)",
            });
        }
        Ok(Self {
            name,
            topic: b.text("topic"),
            led_by: b.choice("led_by"),
            description: b.text("description"),
            format: b.choice("format"),
            location: b.text("location"),
            capacity: b.int("capacity"),
            cost: b.text("cost"),
            registration: b.text("registration"),
            ends: b.date("ends"),
            channel: b.text("channel"),
            guideline: b.text("guideline"),
            clear: clear_list(b.text("clear"))?,
            tell_facilitators: b.choice("tell_facilitators").map(|c| c == "on"),
        })
    }

    /// Whether this field is given a value as well as named in `clear`.
    fn set_and_cleared(&self) -> bool {
        self.clear.iter().any(|f| match *f {
            "description" => self.description.is_some(),
            "location" => self.location.is_some(),
            "capacity" => self.capacity.is_some(),
            "cost" => self.cost.is_some(),
            "registration" => self.registration.is_some(),
            "ends" => self.ends.is_some(),
            "guideline" => self.guideline.is_some(),
            _ => false,
        })
    }

    fn clears(&self, field: &str) -> bool {
        self.clear.contains(&field)
    }
}

/// Finds a group of the community by name (any case) or `#id`, or says which
/// names come close.
/// The group a command means when it names none: the one whose home is
/// this channel. Several, or none, and the caller is asked which.
pub async fn homed_in(store: &Store, community: i64, channel: &str, command: &'static str) -> Result<Group> {
    let mut homed: Vec<Group> = sqlx::query_as(select_groups!(
        "WHERE community_id = ? AND home_channel = ? AND retired_at IS NULL ORDER BY id LIMIT 6"
    ))
    .bind(community)
    .bind(channel)
    .fetch_all(store.pool())
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
        Some(id) => sqlx::query_as(select_groups!(
            "WHERE community_id = ? AND id = ? AND retired_at IS NULL"
        ))
        .bind(community)
        .bind(id)
        .fetch_optional(store.pool())
        .await
        .context("finding a group by id")?,
        None => sqlx::query_as(select_groups!(
            "WHERE community_id = ? AND name_key = ? AND retired_at IS NULL"
        ))
        .bind(community)
        .bind(name_key(wanted))
        .fetch_optional(store.pool())
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
    sqlx::query_as(select_groups!("WHERE id = ?"))
        .bind(id)
        .fetch_one(store.pool())
        .await
        .context("loading a group")
}

/// The group with this id, if there is one (a group may be gone since).
pub async fn find_by_id(store: &Store, id: i64) -> Result<Option<Group>> {
    sqlx::query_as(select_groups!("WHERE id = ?"))
        .bind(id)
        .fetch_optional(store.pool())
        .await
        .context("finding a group")
}

/// Several groups in one query (those of a batch of deliveries).
pub async fn by_ids(store: &Store, ids: &[i64]) -> Result<Vec<Group>> {
    let list = serde_json::to_string(ids).context("listing groups")?;
    sqlx::query_as(select_groups!("WHERE id IN (SELECT value FROM json_each(?))"))
        .bind(list)
        .fetch_all(store.pool())
        .await
        .context("loading groups")
}

/// A group's own reminder settings: its leads (as written) and whether its
/// channel gets reminders.
pub async fn reminder_settings(conn: &mut SqliteConnection, group: i64) -> Result<(String, bool)> {
    sqlx::query_as("SELECT reminder_leads, channel_reminders FROM groups WHERE id = ?")
        .bind(group)
        .fetch_one(&mut *conn)
        .await
        .context("loading a group's leads")
}

/// Sets a group's reminder leads, as written (`24h,1h`).
pub async fn set_reminder_leads(conn: &mut SqliteConnection, group: i64, leads: &str) -> Result<()> {
    sqlx::query("UPDATE groups SET reminder_leads = ? WHERE id = ?")
        .bind(leads)
        .bind(group)
        .execute(&mut *conn)
        .await
        .context("saving a group's leads")?;
    Ok(())
}

/// Turns reminders in a group's channel on or off.
pub async fn set_channel_reminders(conn: &mut SqliteConnection, group: i64, on: bool) -> Result<()> {
    sqlx::query("UPDATE groups SET channel_reminders = ? WHERE id = ?")
        .bind(on)
        .bind(group)
        .execute(&mut *conn)
        .await
        .context("turning a group's channel reminders on or off")?;
    Ok(())
}

/// Gives a group a zone for its posts, if it has none yet (its first
/// meeting's).
pub async fn adopt_zone(conn: &mut SqliteConnection, group: i64, zone: &str) -> Result<()> {
    sqlx::query("UPDATE groups SET timezone = COALESCE(timezone, ?) WHERE id = ?")
        .bind(zone)
        .bind(group)
        .execute(&mut *conn)
        .await
        .context("setting a group's zone")?;
    Ok(())
}

/// The zone a group's check-in weeks are cut in: fixed the first time it is
/// needed, from the group's zone, else its community's, else UTC.
pub async fn checkin_zone(store: &Store, group: i64) -> Result<String> {
    let fixed: Option<Option<String>> = sqlx::query_scalar("SELECT checkin_zone FROM groups WHERE id = ?")
        .bind(group)
        .fetch_optional(store.pool())
        .await
        .context("reading a group's check-in zone")?;
    Ok(match fixed.flatten() {
        Some(zone) => zone,
        None => sqlx::query_scalar(
            "UPDATE groups SET checkin_zone = COALESCE(checkin_zone, timezone,
                 (SELECT c.timezone FROM communities c WHERE c.id = groups.community_id), 'UTC')
             WHERE id = ? RETURNING checkin_zone",
        )
        .bind(group)
        .fetch_optional(store.pool())
        .await
        .context("fixing a group's check-in zone")?
        .unwrap_or_else(|| "UTC".to_string()),
    })
}

/// Which of these members belong to which groups, as (group, member), members
/// and facilitators alike: who may see a closed group's place.
pub async fn memberships_of(store: &Store, members: &[i64]) -> Result<std::collections::HashSet<(i64, i64)>> {
    let list = serde_json::to_string(members).context("listing members")?;
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT group_id, member_id FROM group_members WHERE member_id IN (SELECT value FROM json_each(?1))
         UNION SELECT group_id, member_id FROM group_facilitators WHERE member_id IN (SELECT value FROM json_each(?1))",
    )
    .bind(list)
    .fetch_all(store.pool())
    .await
    .context("reading members' groups")?;
    Ok(rows.into_iter().collect())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// `/group create`.
pub async fn create(store: &Store, community: i64, here: &str, b: &Bound, now: DateTime<Utc>) -> Result<Message> {
    let card = CardInput::from(b)?;
    let (Some(name), Some(topic), Some(led_by)) = (card.name, card.topic, card.led_by) else {
        return Err(UserError::NothingToChange { command: b.spec.name }.into());
    };
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO groups (community_id, name, name_key, topic, led_by, description, format, location,
                             capacity, cost, registration, ends, home_channel, guideline, tell_facilitators,
                             created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(community)
    .bind(name)
    .bind(name_key(name))
    .bind(topic)
    .bind(led_by)
    .bind(card.description)
    .bind(card.format.unwrap_or("online"))
    .bind(card.location)
    .bind(card.capacity)
    .bind(card.cost)
    .bind(card.registration)
    .bind(card.ends)
    .bind(card.channel.unwrap_or(here))
    .bind(card.guideline.unwrap_or(DEFAULT_GUIDELINE))
    .bind(card.tell_facilitators.unwrap_or(false))
    .bind(now.timestamp())
    .fetch_one(store.pool())
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(UserError::GroupExists { name: name.to_string() }.into());
        }
        Err(e) => return Err(e).context("creating a group"),
    };
    let group = by_id(store, id).await?;
    let mut message = card_message(store, &group, false, no_meetings()).await?;
    message.lines.insert(0, Line::text("Created. This is its info card:"));
    Ok(message)
}

/// `/group edit`, in the caller's write transaction: the fields given take
/// their values, those named in `clear` are emptied. Returns the group as
/// it now is; its series are marked changed, for the feeds.
pub async fn edit(conn: &mut SqliteConnection, group: &Group, b: &Bound) -> Result<Group> {
    let card = CardInput::from(b)?;
    // The group option itself is not a change.
    if b.len() < 2 {
        return Err(UserError::NothingToChange { command: b.spec.name }.into());
    }
    if card.set_and_cleared() {
        return Err(UserError::BadValue {
            option: "clear",
            why: "names a field that is also given a value; give it a value or clear it, not both",
        }
        .into());
    }
    let updated = sqlx::query(
        "UPDATE groups SET
            name = COALESCE(?, name), name_key = COALESCE(?, name_key), topic = COALESCE(?, topic),
            led_by = COALESCE(?, led_by),
            description = CASE WHEN ? THEN NULL ELSE COALESCE(?, description) END,
            format = COALESCE(?, format),
            location = CASE WHEN ? THEN NULL ELSE COALESCE(?, location) END,
            capacity = CASE WHEN ? THEN NULL ELSE COALESCE(?, capacity) END,
            cost = CASE WHEN ? THEN NULL ELSE COALESCE(?, cost) END,
            registration = CASE WHEN ? THEN NULL ELSE COALESCE(?, registration) END,
            ends = CASE WHEN ? THEN NULL ELSE COALESCE(?, ends) END,
            home_channel = COALESCE(?, home_channel),
            guideline = CASE WHEN ? THEN ? ELSE COALESCE(?, guideline) END,
            tell_facilitators = COALESCE(?, tell_facilitators)
         WHERE id = ?",
    )
    .bind(card.name)
    .bind(card.name.map(name_key))
    .bind(card.topic)
    .bind(card.led_by)
    .bind(card.clears("description"))
    .bind(card.description)
    .bind(card.format)
    .bind(card.clears("location"))
    .bind(card.location)
    .bind(card.clears("capacity"))
    .bind(card.capacity)
    .bind(card.clears("cost"))
    .bind(card.cost)
    .bind(card.clears("registration"))
    .bind(card.registration)
    .bind(card.clears("ends"))
    .bind(card.ends)
    .bind(card.channel)
    .bind(card.clears("guideline"))
    .bind(DEFAULT_GUIDELINE)
    .bind(card.guideline)
    .bind(card.tell_facilitators)
    .bind(group.id)
    .execute(&mut *conn)
    .await;
    match updated {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(UserError::GroupExists {
                name: card.name.unwrap_or_default().to_string(),
            }
            .into());
        }
        Err(e) => return Err(e).context("editing a group"),
    }
    sqlx::query_as(select_groups!("WHERE id = ?"))
        .bind(group.id)
        .fetch_one(&mut *conn)
        .await
        .context("reloading a group")
}

/// The card after an edit; `meets` says how often it meets
/// (`meetings::group_meets`).
pub async fn edited_card(store: &Store, group: &Group, meets: Line) -> Result<Message> {
    let mut message = card_message(store, group, false, meets).await?;
    message.lines.insert(0, Line::text("Updated. The info card now reads:"));
    Ok(message)
}

/// `/group retire` without `confirm`: what retiring would do to the group
/// and its `series` meeting series.
pub fn retire_preview(group: &Group, keep_days: i64, series: usize) -> Message {
    Message::titled(format!("Retire {}?", group.name))
        .text(format!(
            "Retiring hides {} from the group list, the Meeting Guide feed and calendars, cancels its {series} meeting series (those who said they'd come are told) and stops its check-in prompts. No one can join it any more.",
            group.name
        ))
        .text(format!(
            "Its records (members, RSVPs, the meetings it held) are kept {keep_days} days, then removed. It can't be undone."
        ))
        .line(Line::text("To retire it: ").cmd(format!("group retire group:#{} confirm:yes", group.id)))
}

/// `/group retire confirm:yes`, in the caller's write transaction: the
/// group is hidden, its name free for a new group, its check-in prompts
/// stopped. Its series are the caller's to cancel (they return with it).
pub async fn retire(conn: &mut SqliteConnection, group: &Group, now: DateTime<Utc>) -> Result<Vec<i64>> {
    sqlx::query("UPDATE groups SET retired_at = ?, name_key = ? WHERE id = ? AND retired_at IS NULL")
        .bind(now.timestamp())
        .bind(format!("#retired:{}", group.id))
        .bind(group.id)
        .execute(&mut *conn)
        .await
        .context("retiring a group")?;
    sqlx::query_scalar("UPDATE checkin_schedules SET stopped = 1 WHERE group_id = ? AND stopped = 0 RETURNING id")
        .bind(group.id)
        .fetch_all(&mut *conn)
        .await
        .context("stopping a retired group's check-ins")
}

async fn member_count(store: &Store, group: i64) -> Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM group_members WHERE group_id = ?")
        .bind(group)
        .fetch_one(store.pool())
        .await
        .context("counting members")
}

pub(crate) async fn facilitators(store: &Store, group: i64) -> Result<Vec<Member>> {
    facilitators_in(store.pool(), group).await
}

/// A group's facilitators, read where the caller is (a pool, or its write).
pub(crate) async fn facilitators_in<'e>(exec: impl sqlx::SqliteExecutor<'e>, group: i64) -> Result<Vec<Member>> {
    sqlx::query_as(
        "SELECT m.id, m.external_id, m.display_name, m.timezone FROM group_facilitators f
         JOIN members m ON m.id = f.member_id WHERE f.group_id = ? ORDER BY m.display_name",
    )
    .bind(group)
    .fetch_all(exec)
    .await
    .context("listing facilitators")
}

pub async fn is_facilitator(store: &Store, group: i64, member: i64) -> Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM group_facilitators WHERE group_id = ? AND member_id = ?")
            .bind(group)
            .bind(member)
            .fetch_optional(store.pool())
            .await
            .context("checking a facilitator")?;
    Ok(found.is_some())
}

/// Whether `member` belongs to `group`: a member of it, or one of its facilitators.
pub async fn belongs(store: &Store, group: i64, member: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM group_members WHERE group_id = ?1 AND member_id = ?2
         UNION ALL SELECT 1 FROM group_facilitators WHERE group_id = ?1 AND member_id = ?2 LIMIT 1",
    )
    .bind(group)
    .bind(member)
    .fetch_optional(store.pool())
    .await
    .context("checking a group's membership")?;
    Ok(found.is_some())
}

/// Whether `member` facilitates any group of `community`.
pub async fn facilitates_any(store: &Store, community: i64, member: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM group_facilitators f JOIN groups g ON g.id = f.group_id
         WHERE f.member_id = ? AND g.community_id = ? AND g.retired_at IS NULL LIMIT 1",
    )
    .bind(member)
    .bind(community)
    .fetch_optional(store.pool())
    .await
    .context("checking a facilitator of any group")?;
    Ok(found.is_some())
}

fn led_by_label(led_by: &str) -> &'static str {
    if led_by == "professional" {
        "Professionally facilitated"
    } else {
        "Peer-led"
    }
}

/// A closed group (one that needs registration) keeps its link for its
/// members: a conference link often carries its password.
pub fn is_closed(group: &Group) -> bool {
    group.registration.is_some()
}

/// Whether `place` holds a link.
pub fn has_link(place: &str) -> bool {
    let lower = place.to_ascii_lowercase();
    lower.contains("https://") || lower.contains("http://")
}

/// Whether `place` (the group's or one of its meetings') may be said to its
/// readers: anything of an open group, anything but a link of a closed one,
/// and everything to its own members and facilitators (`to_members`). The one
/// rule for the directory, the feed, cards, reminders and events.
pub fn may_show_place(group: &Group, place: &str, to_members: bool) -> bool {
    to_members || !is_closed(group) || !has_link(place)
}

/// How and where the group meets; a closed group's link only when
/// `show_link` (its members' own view). A place keeps its case: a link's
/// path and password are case-sensitive.
fn format_label(group: &Group, show_link: bool, lower: bool) -> String {
    let how = match group.format.as_str() {
        "in_person" => "In person",
        "hybrid" => "Hybrid (in person and online)",
        _ => "Online",
    };
    let how = if lower { how.to_lowercase() } else { how.to_string() };
    match &group.location {
        Some(place) if !may_show_place(group, place, show_link) => format!("{how}: the link is for members"),
        Some(place) => format!("{how}: {place}"),
        None => how,
    }
}

/// The info card: what people ask before joining a group.
/// `show_link`: the reader belongs to the group (see [`format_label`]);
/// `meets`: how often it meets, and when next (`meetings::group_meets`).
pub async fn card_message(store: &Store, group: &Group, show_link: bool, meets: Line) -> Result<Message> {
    let (members, leaders) = tokio::join!(member_count(store, group.id), facilitators(store, group.id));
    let (members, leaders) = (members?, leaders?);
    let mut led = Line::text(led_by_label(&group.led_by));
    for (i, f) in leaders.iter().enumerate() {
        led = led.t(if i == 0 { ", by " } else { ", " }).push(Span::User {
            id: f.external_id.clone(),
            name: f.display_name.clone(),
        });
    }
    let term = match group.ends {
        Some(ends) => format!("Fixed term, until {}", ends.format("%a %-d %b %Y")),
        None => "Ongoing".to_string(),
    };
    let size = match group.capacity {
        Some(cap) => format!("{members} of {cap} places taken"),
        None => format!("{members} member{}", if members == 1 { "" } else { "s" }),
    };
    let not_stated = || "Not stated; ask a facilitator".to_string();
    let mut message = Message::titled(&group.name);
    if let Some(description) = &group.description {
        message = message.text(description);
    }
    let message = message
        .field("Focus", Line::text(&group.topic))
        .field("Led", led)
        .field("Meets", meets)
        .field("Term", Line::text(term))
        .field("Size", Line::text(size))
        .field("Cost", Line::text(group.cost.clone().unwrap_or_else(not_stated)))
        .field(
            "Registration",
            match &group.registration {
                Some(r) if group.tell_facilitators => Line::text(format!("{r} ("))
                    .cmd(format!("group join group:#{}", group.id))
                    .t(" tells its facilitators you'd like to join)"),
                Some(r) => Line::text(r),
                None => Line::text("None needed: ").cmd(format!("group join group:#{}", group.id)),
            },
        )
        .field("Format", Line::text(format_label(group, show_link, false)))
        .field(
            "Home",
            Line::new().push(Span::Channel {
                id: group.home_channel.clone(),
            }),
        )
        .field("Confidentiality", Line::text(&group.guideline));
    // Registration means registration: no one-click way in.
    Ok(match group.registration {
        Some(_) => message,
        None => message.button("Join", "➕", format!("group join group:#{}", group.id)),
    })
}

/// What a group's card says of its meetings before it has any.
pub fn no_meetings() -> Line {
    Line::text("No meetings scheduled yet")
}

/// The community's group names, in order.
pub async fn names(store: &Store, community: i64) -> Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM groups WHERE community_id = ? AND retired_at IS NULL ORDER BY name_key")
        .bind(community)
        .fetch_all(store.pool())
        .await
        .context("listing group names")
}

async fn all(store: &Store, community: i64) -> Result<Vec<Group>> {
    sqlx::query_as(select_groups!(
        "WHERE community_id = ? AND retired_at IS NULL ORDER BY name_key"
    ))
    .bind(community)
    .fetch_all(store.pool())
    .await
    .context("listing groups")
}

/// `/group list [topic]` as text; the Meeting Guide format is [`crate::meeting_guide`]'s.
pub async fn list(store: &Store, community: i64, topic: Option<&str>) -> Result<Message> {
    let wanted = topic.map(name_key);
    let mut groups = all(store, community).await?;
    groups.retain(|g| wanted.as_ref().is_none_or(|w| name_key(&g.topic).contains(w.as_str())));
    if groups.is_empty() {
        return Ok(Message::new().line(match topic {
            Some(_) => Line::text("No group here is about that yet. ")
                .cmd("group list")
                .t(" shows them all."),
            None => Line::text("No groups yet. An admin can start one with ")
                .cmd("group create")
                .t("."),
        }));
    }
    // One query for every group's size, not one per group.
    let counts: std::collections::HashMap<i64, i64> = sqlx::query_as(
        "SELECT gm.group_id, COUNT(*) FROM group_members gm JOIN groups g ON g.id = gm.group_id
         WHERE g.community_id = ? GROUP BY gm.group_id",
    )
    .bind(community)
    .fetch_all(store.pool())
    .await
    .context("counting members of every group")?
    .into_iter()
    .collect();
    let mut message = Message::titled("Groups");
    for g in &groups {
        let members = counts.get(&g.id).copied().unwrap_or(0);
        message = message.line(Line::new().b(&g.name).t(format!(
            " (#{}): {} · {} · {} · {} member{}",
            g.id,
            g.topic,
            led_by_label(&g.led_by).to_lowercase(),
            format_label(g, false, true),
            members,
            if members == 1 { "" } else { "s" }
        )));
    }
    Ok(message.line(Line::new().cmd("group info group:NAME").t(" shows a group's card.")))
}

/// What `/group join` did (in the caller's write transaction), for the core to answer and replan.
pub(crate) struct Joined {
    pub response: Response,
    /// Whose reminders change: the member now in the group, if any.
    pub member: Option<i64>,
}

/// `/group join`: joins; for a group that needs registration, answers with
/// how to register and, if the group wants, tells its facilitators of the
/// request. `admit`: a facilitator adds that person (once they registered).
pub(crate) async fn join(
    conn: &mut SqliteConnection,
    group: &Group,
    me: &Member,
    admit: Option<&Member>,
    now: DateTime<Utc>,
) -> Result<Joined> {
    if let Some(person) = admit {
        let mention = Span::User {
            id: person.external_id.clone(),
            name: person.display_name.clone(),
        };
        let line = if add_member(&mut *conn, group, person.id, now).await? {
            Line::new().push(mention).t(format!(" is now in {}.", group.name))
        } else {
            Line::new().push(mention).t(format!(" was already in {}.", group.name))
        };
        let welcome = Effect::Dm {
            user: person.external_id.clone(),
            message: welcome(group),
            key: Some(format!("group:{}:admitted:{}:{}", group.id, person.id, now.timestamp())),
        };
        return Ok(Joined {
            response: Response::private_general(Message::new().line(line)).with_effect(welcome),
            member: Some(person.id),
        });
    }
    let registration = match group.registration.as_deref() {
        Some(how) if !is_member(&mut *conn, group.id, me.id).await? => Some(how),
        _ => None,
    };
    let Some(registration) = registration else {
        let message = if add_member(&mut *conn, group, me.id, now).await? {
            welcome(group)
        } else {
            Message::new().text(format!("You're already in {}.", group.name))
        };
        return Ok(Joined {
            response: Response::private(message),
            member: Some(me.id),
        });
    };
    ask_to_join(conn, group, me, registration, now).await
}

/// Registration first: how to register, and the facilitators told (at most
/// once a day per person) when the group wants that.
async fn ask_to_join(
    conn: &mut SqliteConnection,
    group: &Group,
    me: &Member,
    registration: &str,
    now: DateTime<Utc>,
) -> Result<Joined> {
    let mut line = Line::text(format!("{} asks people to register first: {registration}.", group.name));
    let mut notices = Vec::new();
    if group.tell_facilitators {
        let told: Option<i64> = sqlx::query_scalar(
            "INSERT INTO join_requests (group_id, member_id, told_at) VALUES (?, ?, ?)
             ON CONFLICT (group_id, member_id) DO UPDATE SET told_at = excluded.told_at
             WHERE join_requests.told_at <= ?
             RETURNING 1",
        )
        .bind(group.id)
        .bind(me.id)
        .bind(now.timestamp())
        .bind(now.timestamp() - 24 * 60 * 60)
        .fetch_optional(&mut *conn)
        .await
        .context("recording a request to join")?;
        let leaders = facilitators_in(&mut *conn, group.id).await?;
        if !leaders.is_empty() {
            line = line.t(" Its facilitators know you'd like to join.");
        }
        if told.is_some() {
            let request = Message::new().line(
                Line::new()
                    .push(Span::User {
                        id: me.external_id.clone(),
                        name: me.display_name.clone(),
                    })
                    .t(format!(
                        " would like to join {}, which needs registration: {registration}. ",
                        group.name
                    ))
                    .t("Once they have registered, ")
                    .cmd(format!("group join group:#{} user:{}", group.id, me.external_id))
                    .t(" adds them."),
            );
            notices = leaders
                .into_iter()
                .map(|f| Effect::Dm {
                    user: f.external_id,
                    message: request.clone(),
                    key: Some(format!("group:{}:request:{}:{}", group.id, me.id, now.timestamp())),
                })
                .collect();
        }
    }
    let answer = Message::new().line(line.t(" Once you have registered, a facilitator adds you."));
    Ok(Joined {
        response: notices
            .into_iter()
            .fold(Response::private(answer), Response::with_effect),
        member: None,
    })
}

fn welcome(group: &Group) -> Message {
    Message::new().line(
        Line::text(format!("You've joined {}. Its home is ", group.name))
            .push(Span::Channel {
                id: group.home_channel.clone(),
            })
            .t(". Welcome."),
    )
}

async fn is_member(conn: &mut SqliteConnection, group: i64, member: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM group_members WHERE group_id = ? AND member_id = ?")
        .bind(group)
        .bind(member)
        .fetch_optional(&mut *conn)
        .await
        .context("checking membership")?;
    Ok(found.is_some())
}

/// Adds `member` to the group: `true` when they were not in it. A full group refuses.
async fn add_member(conn: &mut SqliteConnection, group: &Group, member: i64, now: DateTime<Utc>) -> Result<bool> {
    // Capacity and membership are checked in the same statement, so two people
    // taking the last place at once cannot both get it.
    let joined = sqlx::query(
        "INSERT INTO group_members (group_id, member_id, joined_at)
         SELECT g.id, ?, ? FROM groups g
         WHERE g.id = ?
           AND NOT EXISTS (SELECT 1 FROM group_members WHERE group_id = g.id AND member_id = ?)
           AND (g.capacity IS NULL OR (SELECT COUNT(*) FROM group_members WHERE group_id = g.id) < g.capacity)",
    )
    .bind(member)
    .bind(now.timestamp())
    .bind(group.id)
    .bind(member)
    .execute(&mut *conn)
    .await
    .context("joining a group")?;
    if joined.rows_affected() == 1 {
        sqlx::query("DELETE FROM join_requests WHERE group_id = ? AND member_id = ?")
            .bind(group.id)
            .bind(member)
            .execute(&mut *conn)
            .await
            .context("a request to join, granted")?;
        return Ok(true);
    }
    match (is_member(&mut *conn, group.id, member).await?, group.capacity) {
        (true, _) => Ok(false),
        (false, Some(capacity)) => Err(UserError::GroupFull {
            name: group.name.clone(),
            capacity,
        }
        .into()),
        (false, None) => Err(crate::error::Error::Internal {
            context: "joining a group",
            source: "insert refused without a capacity".into(),
        }),
    }
}

/// `/group leave`, in the caller's write transaction.
pub async fn leave(conn: &mut SqliteConnection, group: &Group, me: &Member) -> Result<Message> {
    let left = sqlx::query("DELETE FROM group_members WHERE group_id = ? AND member_id = ?")
        .bind(group.id)
        .bind(me.id)
        .execute(&mut *conn)
        .await
        .context("leaving a group")?;
    Ok(Message::new().text(if left.rows_affected() == 1 {
        format!("You've left {}. You're welcome back any time.", group.name)
    } else {
        format!("You weren't in {}, so there was nothing to leave.", group.name)
    }))
}

/// `/group facilitator`.
pub async fn facilitator(
    store: &Store,
    platform: Platform,
    group: &Group,
    user: &str,
    add: bool,
    now: DateTime<Utc>,
) -> Result<(Message, bool)> {
    let person = members::named_member(store, platform, user, now).await?;
    let mention = Span::User {
        id: person.external_id.clone(),
        name: person.display_name.clone(),
    };
    let changed = if add {
        sqlx::query("INSERT OR IGNORE INTO group_facilitators (group_id, member_id) VALUES (?, ?)")
    } else {
        sqlx::query("DELETE FROM group_facilitators WHERE group_id = ? AND member_id = ?")
    }
    .bind(group.id)
    .bind(person.id)
    .execute(store.pool())
    .await
    .context("changing facilitators")?
    .rows_affected()
        == 1;
    let line = match (add, changed) {
        (true, true) => Line::new().push(mention).t(format!(" now facilitates {}.", group.name)),
        (true, false) => Line::new()
            .push(mention)
            .t(format!(" already facilitates {}.", group.name)),
        (false, true) => Line::new()
            .push(mention)
            .t(format!(" no longer facilitates {}.", group.name)),
        (false, false) => Line::new()
            .push(mention)
            .t(format!(" wasn't a facilitator of {}, so nothing changed.", group.name)),
    };
    let mut message = Message::new().line(line);
    if add && changed {
        message.pings.push(person.external_id);
    }
    Ok((message, changed))
}

/// The groups a member belongs to (not those they only facilitate), by id.
pub(crate) async fn groups_of_member(conn: &mut SqliteConnection, member: i64) -> Result<Vec<i64>> {
    sqlx::query_scalar("SELECT group_id FROM group_members WHERE member_id = ?")
        .bind(member)
        .fetch_all(&mut *conn)
        .await
        .context("listing a member's groups")
}
