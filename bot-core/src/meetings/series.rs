//! A series: its row (local start, IANA zone, RFC 5545 rule, length, place)
//! and its rule expanded in local time; the queries that load, store and
//! mark it; and where it happens.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use chrono_tz::Tz;
use rrule::{RRule, RRuleSet, Unvalidated};

use crate::error::{Context, Error, Result, UserError};
use crate::groups::Group;
use crate::store::{Db, QueryAs, Store, query, query_as, query_scalar};
use crate::when;

pub const DEFAULT_DURATION_MINUTES: i64 = 90;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Meeting {
    pub id: i64,
    pub group_id: i64,
    pub title: Option<String>,
    pub start_local: NaiveDateTime,
    pub timezone: String,
    pub repeat: String,
    pub rrule: String,
    pub duration_minutes: i64,
    pub location: Option<String>,
    pub cancelled: bool,
    /// The group's last day (`/group edit ends:`): no occurrence after it.
    pub group_ends: Option<NaiveDate>,
    /// When it last changed (created, moved, cancelled, its card edited), Unix seconds.
    pub changed_at: i64,
    /// The last instant it may start, Unix seconds: set on the meetings a
    /// `/meeting edit` left before the change.
    pub ends_at: Option<i64>,
    /// The series these meetings became by `/meeting edit`.
    pub continued_by: Option<i64>,
}

/// One occurrence of a series. `original` identifies it (the iCalendar
/// RECURRENCE-ID); `start` is when it happens, which differs once moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub original: DateTime<Utc>,
    pub start: DateTime<Utc>,
}

impl Occurrence {
    pub fn moved(&self) -> bool {
        self.original != self.start
    }
}

impl Meeting {
    pub fn zone(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }

    pub fn duration(&self) -> Duration {
        Duration::minutes(self.duration_minutes)
    }

    pub(super) fn rule_set(&self) -> Result<RRuleSet> {
        rule_set(self.start_local, self.zone(), &self.rrule).map_err(|why| Error::Internal {
            context: "expanding a stored series",
            source: why.into(),
        })
    }

    /// Up to `limit` occurrences starting at or after `from`, before
    /// exceptions, and none after the group's last day.
    pub fn raw_after(&self, from: DateTime<Utc>, limit: u16) -> Result<Vec<DateTime<Utc>>> {
        let set = self.rule_set()?.after(from.with_timezone(&rrule::Tz::Tz(self.zone())));
        let cutoff = self.cutoff();
        Ok(set
            .all(limit)
            .dates
            .into_iter()
            .map(|d| d.to_utc())
            .take_while(|d| cutoff.is_none_or(|c| *d <= c))
            .collect())
    }

    /// The last instant an occurrence may start: the end of the group's last
    /// day, in the series' zone, or where an edit ended this part of it.
    pub fn cutoff(&self) -> Option<DateTime<Utc>> {
        let group = self
            .group_ends
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|ends| when::resolve(ends, self.zone()).0);
        let edited = self.ends_at.and_then(|s| DateTime::from_timestamp(s, 0));
        match (group, edited) {
            (Some(g), Some(e)) => Some(g.min(e)),
            (g, e) => g.or(e),
        }
    }

    /// The series' first occurrence: its start when the rule includes it,
    /// else the rule's first (a rule on Mondays started on a Thursday first
    /// meets that Monday). Feeds and calendars start from it.
    pub fn first(&self) -> Result<Option<DateTime<Utc>>> {
        let start = when::resolve(self.start_local, self.zone()).0;
        Ok(self.raw_after(start - Duration::seconds(1), 1)?.into_iter().next())
    }

    /// The regular occurrences (before exceptions) from the first up to
    /// `before`, at most `limit` of them, and whether that was all.
    pub fn raw_before(&self, before: DateTime<Utc>, limit: u16) -> Result<(Vec<DateTime<Utc>>, bool)> {
        let set = self
            .rule_set()?
            .before(before.with_timezone(&rrule::Tz::Tz(self.zone())));
        let cutoff = self.cutoff();
        let found = set.all(limit);
        let dates: Vec<DateTime<Utc>> = found
            .dates
            .into_iter()
            .map(|d| d.to_utc())
            .take_while(|d| cutoff.is_none_or(|c| *d <= c))
            .collect();
        Ok((dates, !found.limited))
    }

    /// The rule set, for the calendar to write the rule as Hearth expands it.
    pub fn rules(&self) -> Result<RRuleSet> {
        self.rule_set()
    }

    /// The title to show: its own, or the group's name.
    pub fn name<'a>(&'a self, group: &'a str) -> &'a str {
        self.title.as_deref().unwrap_or(group)
    }
}

/// The rule set of a series: its rule from its first occurrence, placed in
/// its zone by the time rule of [`when::resolve`] (a local time that happens
/// twice is the first), so no start the schedule command accepts is refused.
pub(super) fn rule_set(start: NaiveDateTime, zone: Tz, rule: &str) -> std::result::Result<RRuleSet, String> {
    // Whole seconds: rrule builds each occurrence from hour, minute and
    // second, so a start with a fraction would never match its own first one.
    let start = start.with_nanosecond(0).unwrap_or(start);
    let first = when::resolve(start, zone).0.with_timezone(&rrule::Tz::Tz(zone));
    rule.parse::<RRule<Unvalidated>>()
        .map_err(|e| e.to_string())?
        .build(first)
        .map_err(|e| e.to_string())
}

/// A query of [`Meeting`] rows, written with `select_meetings!`. PostgreSQL
/// reads the same columns with the local start and the group's last day
/// cast from their text to the types the row holds (SQLite decodes them from
/// the text itself), and an id list bound as JSON through its own function.
pub(super) fn select(sql: &'static str) -> QueryAs<Meeting> {
    query_as(sql).on_postgres(select_on_postgres(sql))
}

fn select_on_postgres(sql: &str) -> String {
    sql.replacen(" start_local, ", " CAST(start_local AS TIMESTAMP) AS start_local, ", 1)
        .replacen(
            "(SELECT g.ends FROM groups g WHERE g.id = meetings.group_id) AS group_ends",
            "CAST((SELECT g.ends FROM groups g WHERE g.id = meetings.group_id) AS DATE) AS group_ends",
            1,
        )
        .replace(
            "SELECT value FROM json_each(?)",
            "SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(? AS JSON))",
        )
}

/// A local start as the row keeps it (`start_local`): the text SQLite's
/// driver always wrote for it, so old and new rows compare alike.
pub(super) fn local_text(t: NaiveDateTime) -> String {
    t.format("%F %T%.f").to_string()
}

pub async fn find(store: &Store, community: i64, id: i64) -> Result<(Meeting, Group)> {
    let meeting: Option<Meeting> = select(select_meetings!(
        "WHERE id = ? AND group_id IN (SELECT id FROM groups WHERE community_id = ?)"
    ))
    .bind(id)
    .bind(community)
    .fetch_optional(store)
    .await
    .context("finding a meeting")?;
    let Some(meeting) = meeting else {
        return Err(UserError::MeetingNotFound.into());
    };
    let group = crate::groups::by_id(store, meeting.group_id).await?;
    Ok((meeting, group))
}

pub async fn by_id(store: &Store, id: i64) -> Result<Option<Meeting>> {
    by_id_in(store, id).await
}

/// Several series in one query (those of a batch of deliveries).
pub async fn by_ids(store: &Store, ids: &[i64]) -> Result<Vec<Meeting>> {
    let list = serde_json::to_string(ids).context("listing meetings")?;
    select(select_meetings!("WHERE id IN (SELECT value FROM json_each(?))"))
        .bind(list)
        .fetch_all(store)
        .await
        .context("loading meetings")
}

pub async fn by_id_in(db: impl Into<Db<'_>>, id: i64) -> Result<Option<Meeting>> {
    select(select_meetings!("WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
        .context("loading a meeting")
}

pub async fn of_group(store: &Store, group: i64) -> Result<Vec<Meeting>> {
    of_group_in(store, group).await
}

/// A group's live series, on the caller's connection.
pub async fn of_group_in(db: impl Into<Db<'_>>, group: i64) -> Result<Vec<Meeting>> {
    select(select_meetings!("WHERE group_id = ? AND cancelled = FALSE ORDER BY id"))
        .bind(group)
        .fetch_all(db)
        .await
        .context("listing a group's meetings")
}

pub async fn of_community(store: &Store, community: i64) -> Result<Vec<(Meeting, String)>> {
    let meetings: Vec<Meeting> = select(select_meetings!(
        "WHERE cancelled = FALSE AND group_id IN (SELECT id FROM groups WHERE community_id = ?) ORDER BY id"
    ))
    .bind(community)
    .fetch_all(store)
    .await
    .context("listing a community's meetings")?;
    // One query for the group names, not one per meeting.
    let names: HashMap<i64, String> = query_as("SELECT id, name FROM groups WHERE community_id = ?")
        .bind(community)
        .fetch_all(store)
        .await
        .context("naming a community's groups")?
        .into_iter()
        .collect();
    Ok(meetings
        .into_iter()
        .map(|m| {
            let name = names.get(&m.group_id).cloned().unwrap_or_default();
            (m, name)
        })
        .collect())
}

/// Where a meeting happens, as reminders and events say it: the series' own
/// place; else the group's address, for groups that meet in person; else its
/// conference link; else its home channel. A closed group's link is said only
/// to its members (`to_members`: the reader is one), by
/// [`groups::may_show_place`](crate::groups::may_show_place).
pub fn where_it_is(meeting: &Meeting, group: &Group, to_members: bool) -> Where {
    let shown = |place: &&String| crate::groups::may_show_place(group, place, to_members);
    if let Some(place) = meeting.location.as_ref().filter(shown) {
        return Where::Place(place.clone());
    }
    match group.location.as_ref().filter(shown) {
        Some(place) => Where::Place(place.clone()),
        None => Where::Channel(group.home_channel.clone()),
    }
}

/// A place as written (an address, a link, a room), or a channel by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    Place(String),
    Channel(String),
}

/// A series about to be stored.
pub(super) struct NewSeries<'a> {
    pub(super) title: Option<&'a str>,
    pub(super) start: NaiveDateTime,
    pub(super) zone: Tz,
    pub(super) label: &'a str,
    pub(super) rule: &'a str,
    pub(super) duration: i64,
    pub(super) location: Option<&'a str>,
}

pub(super) async fn insert(
    db: impl Into<Db<'_>>,
    group: &Group,
    new: NewSeries<'_>,
    now: DateTime<Utc>,
) -> Result<Meeting> {
    let NewSeries {
        title,
        start,
        zone,
        label,
        rule,
        duration,
        location,
    } = new;
    let mut db = db.into();
    let id: i64 = query_scalar(
        "INSERT INTO meetings (group_id, title, start_local, timezone, repeat, rrule, duration_minutes, location, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(group.id)
    .bind(title)
    .bind(local_text(start))
    .bind(zone.name())
    .bind(label)
    .bind(rule)
    .bind(duration)
    .bind(location)
    .bind(now.timestamp())
    .fetch_one(&mut db)
    .await
    .context("inserting a meeting")?;
    // The first meeting's zone becomes the group's, for its posts.
    crate::groups::adopt_zone(&mut db, group.id, zone.name()).await?;
    by_id_in(&mut db, id).await?.ok_or_else(|| Error::Internal {
        context: "reloading a meeting",
        source: "meeting vanished".into(),
    })
}

/// Marks a group's live series changed (their card's fields changed), for
/// the feeds' `updated`.
pub(crate) async fn touch_group(db: impl Into<Db<'_>>, group: i64, now: DateTime<Utc>) -> Result<()> {
    query("UPDATE meetings SET updated_at = ? WHERE group_id = ? AND cancelled = FALSE")
        .bind(now.timestamp())
        .bind(group)
        .execute(db)
        .await
        .context("marking a group's series changed")?;
    Ok(())
}

/// Each series of a community with its Meeting Guide slug, if it has kept one.
pub(crate) async fn guide_slugs(store: &Store, community: i64) -> Result<Vec<(i64, Option<String>)>> {
    query_as("SELECT m.id, m.guide_slug FROM meetings m JOIN groups g ON g.id = m.group_id WHERE g.community_id = ?")
        .bind(community)
        .fetch_all(store)
        .await
        .context("reading meeting slugs")
}

/// Keeps a series' first Meeting Guide slug, so its feed entry's address
/// never changes.
pub(crate) async fn keep_guide_slug(db: impl Into<Db<'_>>, meeting: i64, slug: &str) -> Result<()> {
    query("UPDATE meetings SET guide_slug = ? WHERE id = ? AND guide_slug IS NULL")
        .bind(slug)
        .bind(meeting)
        .execute(db)
        .await
        .context("keeping a meeting's slug")?;
    Ok(())
}

/// Records that a series changed now: the feeds' `updated` follows it.
pub(crate) async fn touch(db: impl Into<Db<'_>>, meeting: i64, now: DateTime<Utc>) -> Result<()> {
    query("UPDATE meetings SET updated_at = ? WHERE id = ?")
        .bind(now.timestamp())
        .bind(meeting)
        .execute(db)
        .await
        .context("recording a series' change")?;
    Ok(())
}

/// The live (not cancelled) series of a group, by id.
pub(crate) async fn live_of_group(db: impl Into<Db<'_>>, group: i64) -> Result<Vec<i64>> {
    query_scalar("SELECT id FROM meetings WHERE group_id = ? AND cancelled = FALSE")
        .bind(group)
        .fetch_all(db)
        .await
        .context("listing a group's series")
}

/// The live series a member is part of, by id: those of `groups` (theirs)
/// and those they answered an RSVP for.
pub(crate) async fn live_of_member(db: impl Into<Db<'_>>, groups: &[i64], member: i64) -> Result<Vec<i64>> {
    let groups = serde_json::to_string(groups).context("listing a member's groups")?;
    query_scalar(
        "SELECT DISTINCT m.id FROM meetings m WHERE m.cancelled = FALSE AND (
             m.group_id IN (SELECT value FROM json_each(?))
             OR m.id IN (SELECT meeting_id FROM rsvps WHERE member_id = ?))",
    )
    .on_postgres(
        "SELECT DISTINCT m.id FROM meetings m WHERE m.cancelled = FALSE AND (
             m.group_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(? AS JSON)))
             OR m.id IN (SELECT meeting_id FROM rsvps WHERE member_id = ?))",
    )
    .bind(groups)
    .bind(member)
    .fetch_all(db)
    .await
    .context("listing a member's series")
}

#[cfg(test)]
mod tests {
    use super::select_on_postgres;

    #[test]
    fn postgres_reads_a_meeting_row_with_its_text_columns_cast() {
        let sql = select_on_postgres(select_meetings!("WHERE id IN (SELECT value FROM json_each(?))"));
        assert!(sql.contains("CAST(start_local AS TIMESTAMP) AS start_local, "), "{sql}");
        assert!(sql.contains("AS DATE) AS group_ends"), "{sql}");
        assert!(sql.contains("json_array_elements_text(CAST(? AS JSON))"), "{sql}");
        assert!(!sql.contains("json_each"), "{sql}");
    }
}
