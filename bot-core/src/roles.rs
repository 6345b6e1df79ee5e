//! Service roles: the jobs a group shares out (chair, co-host, timekeeper,
//! secretary, reader, greeter), who holds each for which term, and a back-up.
//!
//! Here: the kinds, the tables `group_roles` and `role_holders`, the gates
//! other features ask ([`holds`], [`may`]: only the chair moves a meeting's
//! steps), and the words of `/role list|assign|signup|release`. In parts:
//! `commands` (what each command changes) and `late` (the back-up told when
//! the chair has not started a meeting five minutes after its start).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::error::{Context, Result};
use crate::members::Member;
use crate::store::{Db, query_as, query_scalar};

mod commands;
pub(crate) mod late;
#[cfg(test)]
mod tests;

pub(crate) use commands::{Assign, Release, Which, assign, list, release, signup};

/// The roles Hearth knows, in the order a listing shows them. The names are
/// the ones typed (`role:timekeeper`) and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Chair,
    /// The co-host or security host: lets people in, handles disruption.
    Cohost,
    Timekeeper,
    /// The secretary or treasurer: announcements, the group's money.
    Secretary,
    Reader,
    Greeter,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Chair,
        Kind::Cohost,
        Kind::Timekeeper,
        Kind::Secretary,
        Kind::Reader,
        Kind::Greeter,
    ];

    /// The name typed and stored (`spec::ROLE_KINDS` lists the same).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Chair => "chair",
            Kind::Cohost => "cohost",
            Kind::Timekeeper => "timekeeper",
            Kind::Secretary => "secretary",
            Kind::Reader => "reader",
            Kind::Greeter => "greeter",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// What people call it.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Chair => "Chair",
            Kind::Cohost => "Co-host (security host)",
            Kind::Timekeeper => "Timekeeper",
            Kind::Secretary => "Secretary (treasurer)",
            Kind::Reader => "Reader",
            Kind::Greeter => "Greeter",
        }
    }

    /// Its sign-up button's emoji: one per kind, since a platform that
    /// presses with reactions (Matrix) tells buttons apart by emoji alone.
    pub fn emoji(self) -> &'static str {
        match self {
            Kind::Chair => "🪑",
            Kind::Cohost => "🛡️",
            Kind::Timekeeper => "⏱️",
            Kind::Secretary => "📋",
            Kind::Reader => "📖",
            Kind::Greeter => "👋",
        }
    }

    /// Whether a member may take it by signing up. The chair runs the
    /// meeting and the co-host can remove people: a facilitator chooses who.
    pub fn self_serve(self) -> bool {
        !matches!(self, Kind::Chair | Kind::Cohost)
    }
}

/// What a role lets its holder do in a meeting (the script's run asks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Next, back, skip, end: only the chair.
    MoveSteps,
    /// Another two minutes for a share: the chair or the timekeeper.
    Extend,
    /// Starting the meeting: the chair, or the chair's back-up (who is told
    /// to open it when the chair is late).
    Start,
}

impl Gate {
    /// The roles that open it.
    pub fn roles(self) -> &'static [Kind] {
        match self {
            Gate::MoveSteps | Gate::Start => &[Kind::Chair],
            Gate::Extend => &[Kind::Chair, Kind::Timekeeper],
        }
    }
}

/// A place in a role: its holder or its back-up, with the term's last day.
#[derive(Debug, Clone)]
pub struct Place {
    pub member: Member,
    pub last_day: Option<NaiveDate>,
}

impl Place {
    /// Whether the term covers `day` (the group's local date).
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.last_day.is_none_or(|last| day <= last)
    }
}

/// A role a group uses, with its places as they are on `day`: a holder or
/// back-up whose term ended is no longer there.
#[derive(Debug, Clone)]
pub struct Holding {
    pub kind: Kind,
    pub holder: Option<Place>,
    pub backup: Option<Place>,
}

/// The date it is in the group's zone (its own, else its community's) at `now`.
pub async fn today(db: impl Into<Db<'_>>, group: i64, now: DateTime<Utc>) -> Result<NaiveDate> {
    Ok(now.with_timezone(&zone(db, group).await?).date_naive())
}

/// The zone a group's terms are read in: its own, else its community's.
pub async fn zone(db: impl Into<Db<'_>>, group: i64) -> Result<Tz> {
    let zone: Option<String> = query_scalar(
        "SELECT COALESCE(g.timezone, c.timezone) FROM groups g JOIN communities c ON c.id = g.community_id
         WHERE g.id = ?",
    )
    .bind(group)
    .fetch_optional(db)
    .await
    .context("reading a group's zone")?;
    Ok(zone.and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC))
}

/// Whether `member` holds `kind` in `group` at `now` (its term not ended).
pub async fn holds(db: impl Into<Db<'_>>, group: i64, member: i64, kind: Kind, now: DateTime<Utc>) -> Result<bool> {
    holds_place(db, group, member, (kind, false), now).await
}

/// Whether `member` holds `kind`'s place (its back-up's when `backup`) in
/// `group` at `now`.
async fn holds_place(
    db: impl Into<Db<'_>>,
    group: i64,
    member: i64,
    (kind, backup): (Kind, bool),
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut db = db.into();
    let term: Option<Option<String>> = query_scalar(
        "SELECT last_day FROM role_holders WHERE group_id = ? AND kind = ? AND backup = ? AND member_id = ?",
    )
    .bind(group)
    .bind(kind.name())
    .bind(backup)
    .bind(member)
    .fetch_optional(&mut db)
    .await
    .context("checking a role")?;
    let Some(last_day) = term else {
        return Ok(false);
    };
    let today = today(&mut db, group, now).await?;
    Ok(day_of(last_day.as_deref()).is_none_or(|last| today <= last))
}

/// Whether `member` may do what `gate` guards in `group`'s meeting at
/// `now`: they hold one of the roles that open it. (What a facilitator may
/// besides is the caller's to add.)
pub async fn may(db: impl Into<Db<'_>>, group: i64, member: i64, gate: Gate, now: DateTime<Utc>) -> Result<bool> {
    let mut db = db.into();
    for kind in gate.roles() {
        if holds(&mut db, group, member, *kind, now).await? {
            return Ok(true);
        }
    }
    if gate == Gate::Start {
        return holds_place(&mut db, group, member, (Kind::Chair, true), now).await;
    }
    Ok(false)
}

fn day_of(text: Option<&str>) -> Option<NaiveDate> {
    text.and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

/// A place in a role as stored, with its member.
#[derive(sqlx::FromRow)]
struct PlaceRow {
    kind: String,
    backup: bool,
    last_day: Option<String>,
    id: i64,
    external_id: String,
    display_name: String,
    timezone: Option<String>,
}

/// The roles `group` uses, in [`Kind::ALL`]'s order, with their places as
/// they are on `day`.
pub async fn of_group(db: impl Into<Db<'_>>, group: i64, day: NaiveDate) -> Result<Vec<Holding>> {
    let mut db = db.into();
    let used: Vec<String> = query_scalar("SELECT kind FROM group_roles WHERE group_id = ?")
        .bind(group)
        .fetch_all(&mut db)
        .await
        .context("listing a group's roles")?;
    let places: Vec<PlaceRow> = query_as(
        "SELECT h.kind, h.backup, h.last_day, m.id, m.external_id, m.display_name, m.timezone
         FROM role_holders h JOIN members m ON m.id = h.member_id WHERE h.group_id = ?",
    )
    .bind(group)
    .fetch_all(&mut db)
    .await
    .context("listing a group's role holders")?;
    let mut out: Vec<Holding> = Kind::ALL
        .into_iter()
        .filter(|k| used.iter().any(|u| u == k.name()))
        .map(|kind| Holding {
            kind,
            holder: None,
            backup: None,
        })
        .collect();
    for row in places {
        let Some(holding) = out.iter_mut().find(|h| h.kind.name() == row.kind) else {
            continue;
        };
        let place = Place {
            member: Member {
                id: row.id,
                external_id: row.external_id,
                display_name: row.display_name,
                timezone: row.timezone,
            },
            last_day: day_of(row.last_day.as_deref()),
        };
        if !place.covers(day) {
            continue;
        }
        if row.backup {
            holding.backup = Some(place);
        } else {
            holding.holder = Some(place);
        }
    }
    Ok(out)
}

/// The holders of `group`'s roles (not their back-ups), each with the last
/// day of their term, `only` one member's where given: whom a meeting's
/// reminders also go to.
pub async fn holders_of_group(
    db: impl Into<Db<'_>>,
    group: i64,
    only: Option<i64>,
) -> Result<Vec<(i64, Option<NaiveDate>)>> {
    let rows: Vec<(i64, Option<String>)> = query_as(
        "SELECT member_id, last_day FROM role_holders
         WHERE group_id = ? AND backup = ? AND (? IS NULL OR member_id = ?) ORDER BY member_id",
    )
    .on_postgres(
        "SELECT member_id, last_day FROM role_holders
         WHERE group_id = ? AND backup = ? AND (CAST(? AS BIGINT) IS NULL OR member_id = ?) ORDER BY member_id",
    )
    .bind(group)
    .bind(false)
    .bind(only)
    .bind(only)
    .fetch_all(db)
    .await
    .context("listing a group's role holders")?;
    // One member may hold several roles: their term is the longest of them.
    let mut out: Vec<(i64, Option<NaiveDate>)> = Vec::new();
    for (member, last_day) in rows {
        let last = day_of(last_day.as_deref());
        match out.last_mut() {
            Some((m, l)) if *m == member => {
                *l = if l.is_none() || last.is_none() {
                    None
                } else {
                    (*l).max(last)
                }
            }
            _ => out.push((member, last)),
        }
    }
    Ok(out)
}

/// Whether `group` has a chair's back-up to tell when the chair is late.
pub async fn has_chair_backup(db: impl Into<Db<'_>>, group: i64) -> Result<bool> {
    query_scalar("SELECT EXISTS (SELECT 1 FROM role_holders WHERE group_id = ? AND kind = ? AND backup = ?)")
        .bind(group)
        .bind(Kind::Chair.name())
        .bind(true)
        .fetch_one(db)
        .await
        .context("looking for a chair's back-up")
}

/// Retention: places whose term ended more than a day ago (a day of slack
/// for the group's zone) are let go; the roles stay, open.
pub async fn sweep_ended(store: &crate::store::Store, now: DateTime<Utc>) -> Result<u64> {
    let before = (now - chrono::Duration::days(1))
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    Ok(crate::store::query("DELETE FROM role_holders WHERE last_day < ?")
        .bind(before)
        .execute(store)
        .await
        .context("sweeping ended role terms")?
        .rows_affected())
}

/// A member left `group`: the places they held in its roles are open again,
/// in the caller's write.
pub async fn left_group(db: impl Into<Db<'_>>, group: i64, member: i64) -> Result<u64> {
    Ok(
        crate::store::query("DELETE FROM role_holders WHERE group_id = ? AND member_id = ?")
            .bind(group)
            .bind(member)
            .execute(db)
            .await
            .context("freeing a leaver's roles")?
            .rows_affected(),
    )
}

/// The roles members hold, by (group, member), each with its term's last day.
pub type Held = std::collections::HashMap<(i64, i64), Vec<(Kind, Option<NaiveDate>)>>;

/// The roles each of `members` holds (not backs up), by (group, member),
/// with their terms' last days: what a reminder to them says. One query
/// for a whole batch.
pub async fn held_by(store: &crate::store::Store, members: &[i64]) -> Result<Held> {
    let mut out = Held::new();
    if members.is_empty() {
        return Ok(out);
    }
    let list = serde_json::to_string(members).context("listing members")?;
    let rows: Vec<(i64, i64, String, Option<String>)> = query_as(
        "SELECT group_id, member_id, kind, last_day FROM role_holders
         WHERE backup = ? AND member_id IN (SELECT value FROM json_each(?))",
    )
    .on_postgres(
        "SELECT group_id, member_id, kind, last_day FROM role_holders
         WHERE backup = ? AND member_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(? AS JSON)))",
    )
    .bind(false)
    .bind(list)
    .fetch_all(store)
    .await
    .context("reading members' roles")?;
    for (group, member, kind, last_day) in rows {
        if let Some(kind) = Kind::parse(&kind) {
            out.entry((group, member))
                .or_default()
                .push((kind, day_of(last_day.as_deref())));
        }
    }
    for kinds in out.values_mut() {
        kinds.sort_by_key(|(k, _)| *k);
    }
    Ok(out)
}

/// The line a holder's reminder opens with: the roles they hold on `day`.
pub fn reminder_line(held: &[(Kind, Option<NaiveDate>)], day: NaiveDate) -> Option<crate::message::Line> {
    let names: Vec<&str> = held
        .iter()
        .filter(|(_, last)| last.is_none_or(|l| day <= l))
        .map(|(k, _)| k.name())
        .collect();
    match names.as_slice() {
        [] => None,
        [one] => Some(crate::message::Line::text(format!("You're this meeting's {one}."))),
        [first @ .., last] => Some(crate::message::Line::text(format!(
            "You're this meeting's {} and {last}.",
            first.join(", ")
        ))),
    }
}
