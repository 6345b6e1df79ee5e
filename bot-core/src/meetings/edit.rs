//! `/meeting edit`: a series changed from one of its meetings on. The series
//! keeps its number with the new values; the meetings before the change go
//! to a row of their own that ends there (see migration 0014), so they keep
//! their time, RSVPs and reminders. RSVPs move with their meetings where the
//! date maps one to one, and each member who said they'd come is told once.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use rrule::{RRule, Unvalidated};

use super::clash::{Except, clash, clash_error, first_slots};
use super::news::{Change, Changed, News, PREVIEW, kept, notes};
use super::occurrences::{exceptions, upcoming_in};
use super::rsvps::attendees as attendees_at;
use super::rule::{REPEATS, duration_minutes, series_rule, shortcut_rule};
use super::series::{Meeting, by_id_in, local_text, select};
use crate::error::{Context, Error, Result, UserError};
use crate::groups::Group;
use crate::store::{Db, query, query_as, query_scalar};
use crate::when::{self, at};

/// The fields `/meeting edit clear:` can empty.
pub const CLEARABLE: &[&str] = &["title", "where"];

/// What `/meeting edit` changes, as typed.
#[derive(Debug, Clone, Default)]
pub struct Edit<'a> {
    /// The first day the new values apply (default: the next meeting's).
    pub from: Option<NaiveDate>,
    pub when: Option<&'a str>,
    pub duration: Option<&'a str>,
    pub title: Option<&'a str>,
    pub place: Option<&'a str>,
    pub repeat: Option<&'a str>,
    /// Fields to empty: `title` (back to the group's name), `where`.
    pub clear: Vec<&'static str>,
    pub order: Option<when::DateOrder>,
    /// `confirm:yes`: even onto a time the group already meets.
    pub confirmed: bool,
}

impl Edit<'_> {
    fn changes_nothing(&self) -> bool {
        self.when.is_none()
            && self.duration.is_none()
            && self.title.is_none()
            && self.place.is_none()
            && self.repeat.is_none()
            && self.clear.is_empty()
    }
}

/// `clear:title,where` as field names, each one that may be cleared.
pub fn clear_list(raw: Option<&str>) -> std::result::Result<Vec<&'static str>, UserError> {
    crate::groups::clear_names(raw, CLEARABLE, "title, where")
}

/// What an edit gives its caller: the change (news, notices), and the
/// meetings left before it as their own series, when there are any.
pub struct Edited {
    pub changed: Changed,
    pub earlier: Option<Meeting>,
}

fn no_meeting_left() -> Error {
    UserError::BadValue {
        option: "from",
        why: "leaves no meeting of the series to change; give an earlier date, or see /meeting list",
    }
    .into()
}

fn day_start(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    when::resolve(date.and_hms_opt(0, 0, 0).unwrap_or_default(), zone).0
}

/// `/meeting edit`, in the caller's write transaction.
pub async fn edit(
    db: impl Into<Db<'_>>,
    meeting: &Meeting,
    group: &Group,
    e: &Edit<'_>,
    now: DateTime<Utc>,
) -> Result<Edited> {
    let mut db = db.into();
    check_asked(meeting, e)?;
    let zone = meeting.zone();
    let split = split_at(meeting, e.from, now)?;
    let asked = asked_start(meeting, e, split, now)?;
    let (first, note) = when::resolve(asked, zone);
    if first < split {
        return Err(UserError::BadValue {
            option: "when",
            why: "is before the first meeting the edit changes; give a later time, or an earlier from",
        }
        .into());
    }
    let new = new_values(meeting, e, first, split)?;
    let slots = first_slots(new.start_local, zone, &new.rrule, new.duration_minutes, now)?;
    if !e.confirmed
        && let Some((other, occ)) = clash(&mut db, group.id, &slots, Except::Series(meeting.id), now).await?
    {
        return Err(clash_error(&other, group, &occ, "meeting edit"));
    }

    let old_exceptions = exceptions(&mut db, meeting.id).await?;
    let earlier = match meeting.first()? {
        Some(f) if f < split => Some(split_off(&mut db, meeting, split, now).await?),
        _ => None,
    };
    let told = carry_over(&mut db, meeting, &new, &old_exceptions, split).await?;
    save(&mut db, &new, now).await?;
    let next = upcoming_in(&mut db, &new, now, PREVIEW).await?;
    Ok(Edited {
        changed: Changed {
            news: News::Edited {
                next: kept(&next),
                note: notes(
                    note.map(|n| n.explain(asked, zone)),
                    e.when.and_then(|w| when::reading(w, asked, now, zone)),
                ),
                earlier: earlier.as_ref().map(|m| m.id),
            },
            note: None,
            told,
        },
        earlier,
    })
}

/// Refuses an edit of a cancelled series, one that changes nothing, and
/// one that both gives a field and clears it.
fn check_asked(meeting: &Meeting, e: &Edit<'_>) -> Result<()> {
    if meeting.cancelled {
        return Err(UserError::SeriesCancelled { meeting: meeting.id }.into());
    }
    if e.changes_nothing() {
        return Err(UserError::BadValue {
            option: "meeting",
            why: "edit needs something to change: when, duration, title, where, repeat or clear",
        }
        .into());
    }
    if (e.clear.contains(&"title") && e.title.is_some()) || (e.clear.contains(&"where") && e.place.is_some()) {
        return Err(UserError::BadValue {
            option: "clear",
            why: "names a field that is also given a value; give it a value or clear it, not both",
        }
        .into());
    }
    Ok(())
}

/// The local start the edited series asks for: `when` as typed (a time
/// alone on the first changed meeting's day), else that meeting's own.
fn asked_start(meeting: &Meeting, e: &Edit<'_>, split: DateTime<Utc>, now: DateTime<Utc>) -> Result<NaiveDateTime> {
    let zone = meeting.zone();
    let anchor = meeting
        .raw_after(split, 1)?
        .first()
        .map(|o| o.with_timezone(&zone).naive_local());
    Ok(match e.when {
        None => anchor.ok_or_else(no_meeting_left)?,
        Some(text) => match when::time_only(text) {
            // A time alone keeps the days: the series from then on, at that time.
            Some(clock) => anchor.ok_or_else(no_meeting_left)?.date().and_time(clock),
            None => when::parse(text, zone, e.order, now)?,
        },
    })
}

/// The series with the edit's values, first meeting at `first`: its length,
/// its rule (the new one, or the old one carried over), title and place.
fn new_values(meeting: &Meeting, e: &Edit<'_>, first: DateTime<Utc>, split: DateTime<Utc>) -> Result<Meeting> {
    let zone = meeting.zone();
    let mut new = meeting.clone();
    new.start_local = first.with_timezone(&zone).naive_local();
    new.duration_minutes = duration_minutes(e.duration)?.unwrap_or(meeting.duration_minutes);
    let (label, rule) = match e.repeat {
        Some(repeat) => series_rule(Some(repeat), None, None, new.start_local, zone)?,
        None => carried_rule(meeting, new.start_local, split)?,
    };
    (new.repeat, new.rrule) = (label, rule);
    if let Some(title) = e.title {
        new.title = Some(title.to_string());
    }
    if let Some(place) = e.place {
        new.location = Some(place.to_string());
    }
    if e.clear.contains(&"title") {
        new.title = None;
    }
    if e.clear.contains(&"where") {
        new.location = None;
    }
    Ok(new)
}

/// The first instant the edit changes: the start of `from` (default the
/// next meeting's day) in the series' zone, and never before now.
fn split_at(meeting: &Meeting, from: Option<NaiveDate>, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let zone = meeting.zone();
    let after_now = now + Duration::seconds(1);
    let day = match from {
        Some(day) if day < now.with_timezone(&zone).date_naive() => {
            return Err(UserError::BadValue {
                option: "from",
                why: "is in the past; give today or a later day (YYYY-MM-DD)",
            }
            .into());
        }
        Some(day) => day,
        None => meeting
            .raw_after(after_now, 1)?
            .first()
            .map(|o| o.with_timezone(&zone).date_naive())
            .ok_or(UserError::NoSuchOccurrence)?,
    };
    Ok(day_start(day, zone).max(after_now))
}

/// The series' rule, kept, for a new first meeting: a shortcut is worked out
/// again from it ("monthly" is the same weekday position), and a count
/// becomes the meetings still left of it.
fn carried_rule(meeting: &Meeting, start: NaiveDateTime, split: DateTime<Utc>) -> Result<(String, String)> {
    let unreadable = |why: rrule::RRuleError| Error::Internal {
        context: "reading a stored rule",
        source: why.into(),
    };
    let old: RRule<Unvalidated> = meeting.rrule.parse().map_err(unreadable)?;
    let base = match meeting.repeat.as_str() {
        "custom" => meeting.rrule.clone(),
        shortcut if REPEATS.contains(&shortcut) => shortcut_rule(shortcut, start),
        _ => meeting.rrule.clone(),
    };
    // The rule's own words are kept: rrule writes BYDAY=1FR back as FR
    // (every Friday), so only its end is read from the parsed rule.
    let mut parts: Vec<String> = base
        .split(';')
        .filter(|p| {
            let key = p.split('=').next().unwrap_or_default();
            !key.eq_ignore_ascii_case("COUNT") && !key.eq_ignore_ascii_case("UNTIL")
        })
        .map(String::from)
        .collect();
    if let Some(count) = old.get_count() {
        let (before, _) = meeting.raw_before(split, u16::try_from(count).unwrap_or(u16::MAX))?;
        let left = count.saturating_sub(before.len() as u32);
        if left == 0 {
            return Err(no_meeting_left());
        }
        parts.push(format!("COUNT={left}"));
    }
    if let Some(until) = old.get_until() {
        parts.push(format!("UNTIL={}", until.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ")));
    }
    Ok((meeting.repeat.clone(), parts.join(";")))
}

/// Moves the meetings before `split` to a series of their own, ending
/// there and continued by this one, with their RSVPs, waiting lists (in
/// their order: the rows keep their ids) and exceptions.
async fn split_off(
    db: impl Into<Db<'_>>,
    meeting: &Meeting,
    split: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Meeting> {
    let mut db = db.into();
    let ends = (split - Duration::seconds(1)).timestamp();
    let id: i64 = query_scalar(
        "INSERT INTO meetings (group_id, title, start_local, timezone, repeat, rrule, duration_minutes, location,
             created_at, updated_at, ends_at, continued_by)
         SELECT group_id, title, start_local, timezone, repeat, rrule, duration_minutes, location,
             created_at, ?1, CASE WHEN ends_at < ?2 THEN ends_at ELSE ?2 END, id
         FROM meetings WHERE id = ?3 RETURNING id",
    )
    .bind(now.timestamp())
    .bind(ends)
    .bind(meeting.id)
    .fetch_one(&mut db)
    .await
    .context("keeping a series' earlier meetings")?;
    for moving in [
        "UPDATE rsvps SET meeting_id = ? WHERE meeting_id = ? AND occurrence < ?",
        "UPDATE rsvp_waitlist SET meeting_id = ? WHERE meeting_id = ? AND occurrence < ?",
        "UPDATE meeting_exceptions SET meeting_id = ? WHERE meeting_id = ? AND occurrence < ?",
    ] {
        query(moving)
            .bind(id)
            .bind(meeting.id)
            .bind(split.timestamp())
            .execute(&mut db)
            .await
            .context("moving earlier meetings' answers")?;
    }
    by_id_in(&mut db, id).await?.ok_or_else(|| Error::Internal {
        context: "reloading a series' earlier meetings",
        source: "meeting vanished".into(),
    })
}

/// The new series' meeting on the day `old` was on, in the series' zone.
fn same_day(new: &Meeting, old: i64, zone: Tz) -> Result<Option<DateTime<Utc>>> {
    let day = at(old).with_timezone(&zone).date_naive();
    Ok(new
        .raw_after(day_start(day, zone), 1)?
        .into_iter()
        .find(|o| o.with_timezone(&zone).date_naive() == day))
}

/// RSVPs, waiting lists and exceptions from `split` on follow their
/// meetings to the new series where the day maps one to one; the rest go.
/// Returns who to tell: each member who said yes or maybe, or waits for a
/// place, once.
async fn carry_over(
    db: impl Into<Db<'_>>,
    old: &Meeting,
    new: &Meeting,
    old_exceptions: &HashMap<i64, Option<i64>>,
    split: DateTime<Utc>,
) -> Result<Vec<(crate::members::Member, Change)>> {
    let mut db = db.into();
    let rsvps: Vec<Answer> = query_as(
        "SELECT member_id, occurrence, answer, answered_at FROM rsvps WHERE meeting_id = ? AND occurrence >= ?",
    )
    .bind(old.id)
    .bind(split.timestamp())
    .fetch_all(&mut db)
    .await
    .context("reading the RSVPs an edit moves")?;
    let waiting: Vec<Waiting> = query_as(
        "SELECT member_id, occurrence, asked_at FROM rsvp_waitlist WHERE meeting_id = ? AND occurrence >= ?
         ORDER BY id",
    )
    .bind(old.id)
    .bind(split.timestamp())
    .fetch_all(&mut db)
    .await
    .context("reading the waiting lists an edit moves")?;
    let originals = rsvps
        .iter()
        .map(|r| r.1)
        .chain(waiting.iter().map(|w| w.1))
        .chain(old_exceptions.keys().copied().filter(|o| *o >= split.timestamp()));
    let map = new_days(new, old.zone(), originals)?;
    // Who is told, read before the RSVPs move.
    let mut attendees = Vec::new();
    for original in map.keys() {
        for member in attendees_at(&mut db, old.id, at(*original)).await? {
            attendees.push((member, *original));
        }
    }
    move_answers(&mut db, old.id, split, (&rsvps, &waiting), old_exceptions, &map).await?;
    Ok(who_to_tell(attendees, old_exceptions, &map))
}

/// Each of these original starts (once) with the new series' meeting on
/// its day, if there is one.
fn new_days(new: &Meeting, zone: Tz, originals: impl Iterator<Item = i64>) -> Result<HashMap<i64, Option<i64>>> {
    let mut map: HashMap<i64, Option<i64>> = HashMap::new();
    for original in originals {
        if let std::collections::hash_map::Entry::Vacant(slot) = map.entry(original) {
            slot.insert(same_day(new, original, zone)?.map(|d| d.timestamp()));
        }
    }
    Ok(map)
}

/// One answer, as an edit moves it: (member, original start, answer,
/// answered at).
type Answer = (i64, i64, String, Option<i64>);

/// One waiting for a place, as an edit moves it: (member, original start,
/// asked at), read in line order.
type Waiting = (i64, i64, i64);

/// Clears the answers, waiting lists and exceptions from `split` on, and
/// writes back those whose meeting has a day in `map`, on that day: the
/// waiting in their order, so each keeps their place in line.
async fn move_answers(
    db: impl Into<Db<'_>>,
    meeting: i64,
    split: DateTime<Utc>,
    (rsvps, waiting): (&[Answer], &[Waiting]),
    old_exceptions: &HashMap<i64, Option<i64>>,
    map: &HashMap<i64, Option<i64>>,
) -> Result<()> {
    let mut db = db.into();
    for clearing in [
        "DELETE FROM rsvps WHERE meeting_id = ? AND occurrence >= ?",
        "DELETE FROM rsvp_waitlist WHERE meeting_id = ? AND occurrence >= ?",
        "DELETE FROM meeting_exceptions WHERE meeting_id = ? AND occurrence >= ?",
    ] {
        query(clearing)
            .bind(meeting)
            .bind(split.timestamp())
            .execute(&mut db)
            .await
            .context("clearing the meetings an edit changes")?;
    }
    for (member, original, answer, answered_at) in rsvps {
        let Some(Some(to)) = map.get(original) else { continue };
        query("INSERT INTO rsvps (meeting_id, occurrence, member_id, answer, answered_at) VALUES (?, ?, ?, ?, ?)")
            .bind(meeting)
            .bind(*to)
            .bind(*member)
            .bind(answer)
            .bind(*answered_at)
            .execute(&mut db)
            .await
            .context("moving an RSVP with its meeting")?;
    }
    for (member, original, asked_at) in waiting {
        let Some(Some(to)) = map.get(original) else { continue };
        query("INSERT INTO rsvp_waitlist (meeting_id, occurrence, member_id, asked_at) VALUES (?, ?, ?, ?)")
            .bind(meeting)
            .bind(*to)
            .bind(*member)
            .bind(*asked_at)
            .execute(&mut db)
            .await
            .context("moving a waiting list with its meeting")?;
    }
    for (original, moved) in old_exceptions.iter().filter(|(o, _)| **o >= split.timestamp()) {
        let Some(Some(to)) = map.get(original) else { continue };
        query("INSERT INTO meeting_exceptions (meeting_id, occurrence, moved_to) VALUES (?, ?, ?)")
            .bind(meeting)
            .bind(*to)
            .bind(*moved)
            .execute(&mut db)
            .await
            .context("keeping a meeting's exception")?;
    }
    Ok(())
}

/// Each member's meetings, earliest first: the first that still happens
/// is named in their notice; those that no longer happen are listed.
fn who_to_tell(
    attendees: Vec<(crate::members::Member, i64)>,
    old_exceptions: &HashMap<i64, Option<i64>>,
    map: &HashMap<i64, Option<i64>>,
) -> Vec<(crate::members::Member, Change)> {
    let mut by_member: BTreeMap<i64, (crate::members::Member, Vec<i64>)> = BTreeMap::new();
    for (member, original) in attendees {
        by_member
            .entry(member.id)
            .or_insert_with(|| (member, Vec::new()))
            .1
            .push(original);
    }
    let was = |original: i64| match old_exceptions.get(&original) {
        Some(Some(moved)) => Some(*moved),
        Some(None) => None,
        None => Some(original),
    };
    let mut told = Vec::new();
    for (_, (member, mut originals)) in by_member {
        originals.sort_unstable();
        let mut next = None;
        let mut gone = Vec::new();
        for original in originals {
            let Some(from) = was(original) else { continue };
            match map.get(&original).copied().flatten() {
                Some(to) if next.is_none() => {
                    let now_at = match old_exceptions.get(&original) {
                        Some(Some(moved)) => *moved,
                        _ => to,
                    };
                    next = Some((to, from, now_at));
                }
                Some(_) => {}
                None => gone.push(from),
            }
        }
        if next.is_some() || !gone.is_empty() {
            told.push((member, Change::Edited { next, gone }));
        }
    }
    told
}

/// Writes the series' new values.
async fn save(db: impl Into<Db<'_>>, new: &Meeting, now: DateTime<Utc>) -> Result<()> {
    query(
        "UPDATE meetings SET title = ?, start_local = ?, repeat = ?, rrule = ?, duration_minutes = ?, location = ?,
             updated_at = ? WHERE id = ?",
    )
    .bind(&new.title)
    .bind(local_text(new.start_local))
    .bind(&new.repeat)
    .bind(&new.rrule)
    .bind(new.duration_minutes)
    .bind(&new.location)
    .bind(now.timestamp())
    .bind(new.id)
    .execute(db)
    .await
    .context("editing a series")?;
    Ok(())
}

/// The series a command means when it names `meeting` with a date before
/// an edit changed it: the earlier meetings' own series, which a button
/// posted before the edit still calls by the old number.
pub async fn for_date(db: impl Into<Db<'_>>, meeting: Meeting, wanted: Option<&str>) -> Result<Meeting> {
    let Some(date) = wanted.and_then(|w| NaiveDate::parse_from_str(w.trim(), "%Y-%m-%d").ok()) else {
        return Ok(meeting);
    };
    if date >= meeting.start_local.date() {
        return Ok(meeting);
    }
    let earlier: Option<Meeting> = select(select_meetings!(
        "WHERE continued_by = ? AND start_local <= ? ORDER BY start_local DESC, id DESC LIMIT 1"
    ))
    .bind(meeting.id)
    .bind(local_text(date.and_hms_opt(23, 59, 59).unwrap_or_default()))
    .fetch_optional(db)
    .await
    .context("finding a series' earlier meetings")?;
    Ok(earlier.unwrap_or(meeting))
}

/// The series an edit left before its change, that this one continues:
/// cancelling "all" of a series cancels them too.
pub async fn earlier_parts(db: impl Into<Db<'_>>, meeting: &Meeting) -> Result<Vec<Meeting>> {
    select(select_meetings!(
        "WHERE continued_by = ? AND cancelled = FALSE ORDER BY id"
    ))
    .bind(meeting.id)
    .fetch_all(db)
    .await
    .context("finding a series' earlier parts")
}
