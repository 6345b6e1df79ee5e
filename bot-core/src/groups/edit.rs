//! A group's card written: `/group create`, `/group edit` (with `clear:`)
//! and `/group retire`.

use chrono::{DateTime, NaiveDate, Utc};

use super::card::{card_message, no_meetings};
use super::{DEFAULT_GUIDELINE, Group, by_id};
use crate::error::{Context, Result, UserError};
use crate::message::{Line, Message};
use crate::parse::{Bound, name_key};
use crate::store::{Db, Store, query, query_scalar};

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
    /// The payment handles (Meeting Guide's venmo, square, paypal, homegroup_online).
    payments: [Option<&'a str>; 4],
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
    "venmo",
    "square",
    "paypal",
    "homegroup_online",
];

/// The payment handles' names, as options and columns.
const PAYMENTS: [&str; 4] = ["venmo", "square", "paypal", "homegroup_online"];

/// `clear:location, cost` as field names, each one that may be cleared.
fn clear_list(raw: Option<&str>) -> Result<Vec<&'static str>, UserError> {
    clear_names(
        raw,
        CLEARABLE,
        "description, location, capacity, cost, registration, ends, guideline, venmo, square, paypal, homegroup_online",
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
            payments: PAYMENTS.map(|p| b.text(p)),
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
            other => PAYMENTS
                .iter()
                .zip(&self.payments)
                .any(|(p, v)| *p == other && v.is_some()),
        })
    }

    fn clears(&self, field: &str) -> bool {
        self.clear.contains(&field)
    }
}

/// A date as both databases keep it: `2026-12-31` (PostgreSQL reads it
/// back as a `DATE`, see `select_groups!`).
fn date_text(d: NaiveDate) -> String {
    d.format("%F").to_string()
}

/// `/group create`.
pub async fn create(store: &Store, community: i64, here: &str, b: &Bound, now: DateTime<Utc>) -> Result<Message> {
    let card = CardInput::from(b)?;
    let (Some(name), Some(topic), Some(led_by)) = (card.name, card.topic, card.led_by) else {
        return Err(UserError::NothingToChange { command: b.spec.name }.into());
    };
    let inserted = query_scalar::<i64>(
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
    .bind(card.ends.map(date_text))
    .bind(card.channel.unwrap_or(here))
    .bind(card.guideline.unwrap_or(DEFAULT_GUIDELINE))
    .bind(card.tell_facilitators.unwrap_or(false))
    .bind(now.timestamp())
    .fetch_one(store)
    .await;
    let id = match inserted {
        Ok(id) => id,
        // A name taken in the community: the UNIQUE (community, name) refused it.
        Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
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
pub async fn edit(db: impl Into<crate::store::Db<'_>>, group: &Group, b: &Bound) -> Result<Group> {
    let mut db: Db<'_> = db.into();
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
    let updated = query(
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
            tell_facilitators = COALESCE(?, tell_facilitators),
            venmo = CASE WHEN ? THEN NULL ELSE COALESCE(?, venmo) END,
            square = CASE WHEN ? THEN NULL ELSE COALESCE(?, square) END,
            paypal = CASE WHEN ? THEN NULL ELSE COALESCE(?, paypal) END,
            homegroup_online = CASE WHEN ? THEN NULL ELSE COALESCE(?, homegroup_online) END
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
    .bind(card.ends.map(date_text))
    .bind(card.channel)
    .bind(card.clears("guideline"))
    .bind(DEFAULT_GUIDELINE)
    .bind(card.guideline)
    .bind(card.tell_facilitators);
    let updated = PAYMENTS
        .iter()
        .zip(card.payments)
        .fold(updated, |q, (p, v)| q.bind(card.clears(p)).bind(v))
        .bind(group.id)
        .execute(&mut db)
        .await;
    match updated {
        Ok(_) => {}
        // A name taken in the community: the UNIQUE (community, name) refused it.
        Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
            return Err(UserError::GroupExists {
                name: card.name.unwrap_or_default().to_string(),
            }
            .into());
        }
        Err(e) => return Err(e).context("editing a group"),
    }
    select_groups!("WHERE id = ?")
        .bind(group.id)
        .fetch_one(&mut db)
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
/// group is hidden and its name free for a new group. Its series and its
/// check-in prompts are the caller's to end, in the same write
/// (`meetings::cancel`, `checkins::stop_group`).
pub async fn retire(db: impl Into<crate::store::Db<'_>>, group: &Group, now: DateTime<Utc>) -> Result<()> {
    query("UPDATE groups SET retired_at = ?, name_key = ? WHERE id = ? AND retired_at IS NULL")
        .bind(now.timestamp())
        .bind(format!("#retired:{}", group.id))
        .bind(group.id)
        .execute(db)
        .await
        .context("retiring a group")?;
    Ok(())
}
