//! RSVPs: `/meeting rsvp`, a button's press taken back, the counts, those
//! who said they'd come, and the buttons that answer.
//!
//! A group's `capacity` is the number of places at each of its meetings
//! (issue 29): a yes past it waits in line (`rsvp_waitlist`), and when one
//! going steps back (maybe, no, a press taken back, leaving the group) the
//! first in line takes the place, in the same write. Who is waiting is told
//! to nobody; counts say how many.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::occurrences::{occurrence, occurrence_ref};
use super::series::{Meeting, Occurrence};
use super::words::time;
use crate::error::{Context, Result, UserError};
use crate::groups::Group;
use crate::members::Member;
use crate::message::{Line, Message};
use crate::store::{Db, Store, query, query_as, query_scalar};

pub const ANSWERS: &[&str] = &["yes", "maybe", "no"];

/// RSVP counts (yes, maybe) of several occurrences at once, by (meeting, occurrence).
pub async fn rsvp_counts_of(store: &Store, occurrences: &[(i64, i64)]) -> Result<HashMap<(i64, i64), (i64, i64)>> {
    let list = serde_json::to_string(occurrences).context("counting RSVPs")?;
    let rows: Vec<(i64, i64, i64, i64)> = query_as(
        "SELECT meeting_id, occurrence, COUNT(*) FILTER (WHERE answer = 'yes'), COUNT(*) FILTER (WHERE answer = 'maybe')
         FROM rsvps WHERE (meeting_id, occurrence) IN
             (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))
         GROUP BY meeting_id, occurrence",
    )
    .on_postgres(
        "SELECT meeting_id, occurrence, COUNT(*) FILTER (WHERE answer = 'yes'), COUNT(*) FILTER (WHERE answer = 'maybe')
         FROM rsvps WHERE (meeting_id, occurrence) IN
             (SELECT CAST(value->>0 AS BIGINT), CAST(value->>1 AS BIGINT) FROM json_array_elements(CAST(? AS JSON)))
         GROUP BY meeting_id, occurrence",
    )
    .bind(list)
    .fetch_all(store)
    .await
    .context("counting RSVPs")?;
    Ok(rows.into_iter().map(|(m, o, y, n)| ((m, o), (y, n))).collect())
}

/// How many wait for a place, of several occurrences at once, by (meeting, occurrence).
pub async fn waiting_of(store: &Store, occurrences: &[(i64, i64)]) -> Result<HashMap<(i64, i64), i64>> {
    let list = serde_json::to_string(occurrences).context("counting waiting lists")?;
    let rows: Vec<(i64, i64, i64)> = query_as(
        "SELECT meeting_id, occurrence, COUNT(*) FROM rsvp_waitlist WHERE (meeting_id, occurrence) IN
             (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))
         GROUP BY meeting_id, occurrence",
    )
    .on_postgres(
        "SELECT meeting_id, occurrence, COUNT(*) FROM rsvp_waitlist WHERE (meeting_id, occurrence) IN
             (SELECT CAST(value->>0 AS BIGINT), CAST(value->>1 AS BIGINT) FROM json_array_elements(CAST(? AS JSON)))
         GROUP BY meeting_id, occurrence",
    )
    .bind(list)
    .fetch_all(store)
    .await
    .context("counting waiting lists")?;
    Ok(rows.into_iter().map(|(m, o, n)| ((m, o), n)).collect())
}

/// How many wait for a place at one occurrence.
pub async fn waiting_count(store: &Store, meeting: i64, occurrence: DateTime<Utc>) -> Result<i64> {
    query_scalar("SELECT COUNT(*) FROM rsvp_waitlist WHERE meeting_id = ? AND occurrence = ?")
        .bind(meeting)
        .bind(occurrence.timestamp())
        .fetch_one(store)
        .await
        .context("counting a waiting list")
}

pub async fn rsvp_counts(store: &Store, meeting: i64, occurrence: DateTime<Utc>) -> Result<(i64, i64)> {
    let (yes, maybe): (i64, i64) = query_as(
        "SELECT COUNT(*) FILTER (WHERE answer = 'yes'), COUNT(*) FILTER (WHERE answer = 'maybe')
         FROM rsvps WHERE meeting_id = ? AND occurrence = ?",
    )
    .bind(meeting)
    .bind(occurrence.timestamp())
    .fetch_one(store)
    .await
    .context("counting RSVPs")?;
    Ok((yes, maybe))
}

/// Members who said yes or maybe to an occurrence, or wait for a place at
/// it: those told of changes (each once: one waiting has no yes or maybe).
pub async fn attendees(db: impl Into<Db<'_>>, meeting: i64, occurrence: DateTime<Utc>) -> Result<Vec<Member>> {
    query_as(
        "SELECT m.id, m.external_id, m.display_name, m.timezone FROM members m
         WHERE m.id IN (SELECT member_id FROM rsvps WHERE meeting_id = ? AND occurrence = ?
                          AND answer IN ('yes', 'maybe')
                        UNION SELECT member_id FROM rsvp_waitlist WHERE meeting_id = ? AND occurrence = ?)
         ORDER BY m.id",
    )
    .bind(meeting)
    .bind(occurrence.timestamp())
    .bind(meeting)
    .bind(occurrence.timestamp())
    .fetch_all(db)
    .await
    .context("listing attendees")
}

/// The command (without prefix) that answers an occurrence's RSVP.
pub fn rsvp_command(meeting: &Meeting, occurrence: &Occurrence, answer: &str) -> String {
    let day = occurrence_ref(meeting, occurrence);
    format!("meeting rsvp meeting:{} occurrence:{day} answer:{answer}", meeting.id)
}

pub fn rsvp_buttons(message: Message, meeting: &Meeting, occurrence: &Occurrence) -> Message {
    let cmd = |answer: &str| rsvp_command(meeting, occurrence, answer);
    message
        .button("Going", "👍", cmd("yes"))
        .button("Maybe", "🤔", cmd("maybe"))
        .button("Not this time", "👎", cmd("no"))
}

fn with_line(message: Message, line: Option<Line>) -> Message {
    match line {
        Some(line) => message.line(line),
        None => message,
    }
}

/// An RSVP as asked: which series and occurrence (`wanted`, as typed), by
/// whom, which answer, read in the reader's zone at `now`.
#[derive(Clone, Copy)]
pub struct Rsvp<'a> {
    pub meeting: &'a Meeting,
    pub group: &'a Group,
    pub me: &'a Member,
    pub wanted: Option<&'a str>,
    pub answer: &'a str,
    pub reader_zone: Tz,
    pub now: DateTime<Utc>,
}

/// What an RSVP did: the answer to its author, the occurrence it was for,
/// and those it gave a place to (the first in line, when one going stepped
/// back), for the caller to tell in the same write.
pub struct Answered {
    pub message: Message,
    pub occurrence: Occurrence,
    pub placed: Vec<Member>,
}

/// `/meeting rsvp`, in the caller's write transaction.
pub async fn rsvp(db: impl Into<Db<'_>>, asked: &Rsvp<'_>) -> Result<Answered> {
    let mut db = db.into();
    let (meeting, group, me, answer) = (asked.meeting, asked.group, asked.me, asked.answer);
    let (wanted, reader_zone, now) = (asked.wanted, asked.reader_zone, asked.now);
    let (occ, which) = occurrence(&mut db, meeting, wanted, reader_zone, now).await?;
    if occ.start + meeting.duration() <= now {
        return Err(UserError::BadValue {
            option: "occurrence",
            why: "is a meeting that has already taken place; RSVPs are for meetings to come, which /meeting list shows",
        }
        .into());
    }
    if occ.start <= now {
        return Err(UserError::BadValue {
            option: "occurrence",
            why: "is a meeting under way now; RSVPs are for meetings to come, which /meeting list shows",
        }
        .into());
    }
    let key = (meeting.id, occ.original.timestamp());
    let name = meeting.name(&group.name);
    let (line, placed) = if answer == "yes" {
        // A place that opened before this answer (an erasure's, whose fill
        // did not run) goes to those in line first; this member, if among
        // them, hears it in the answer below, not in a notice as well.
        let mut placed = fill_places(&mut db, key, now).await?;
        placed.retain(|m| m.id != me.id);
        let line = match say_yes(&mut db, key, me.id, now).await? {
            None => Line::text(format!("Thanks, you're going to {name} on "))
                .push(time(occ.start, reader_zone))
                .t(". I'll remind you before it starts."),
            Some(place) => waiting_line(name, place, time(occ.start, reader_zone)),
        };
        (line, placed)
    } else {
        // Out of line first: a place filled here never goes to the member
        // saying maybe or no, nor tells them "a place for you".
        say_not_yes(&mut db, key, me.id, answer, now).await?;
        let placed = fill_places(&mut db, key, now).await?;
        let line = match answer {
            "maybe" => Line::text(format!("Noted: maybe for {name} on "))
                .push(time(occ.start, reader_zone))
                .t(". I'll remind you before it starts."),
            _ => Line::text(format!(
                "Thanks for letting us know. You're welcome at {name} any time."
            )),
        };
        (line, placed)
    };
    Ok(Answered {
        message: with_line(Message::new().line(line), which),
        occurrence: occ,
        placed,
    })
}

/// The answer to a yes that waits: kindly, with its place in line.
fn waiting_line(name: &str, place: i64, when: crate::message::Span) -> Line {
    Line::text(format!("Thank you for wanting to come. Every place at {name} on "))
        .push(when)
        .t(format!(
            " is taken for now, so you're on its waiting list: number {place} in line. \
             If a place frees up, it's yours, and I'll tell you privately. \
             Nobody else sees who is waiting; answer maybe or no any time to step out of line."
        ))
}

/// A yes (`key`: meeting, original start): a place when one is free, `None`;
/// else the member waits, and their place in line is returned. The count
/// and the insert are one statement, so two yeses for the last place cannot
/// both take it (and writes are one at a time on either database).
async fn say_yes(
    db: &mut Db<'_>,
    (meeting, occurrence): (i64, i64),
    member: i64,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let going = query(
        "INSERT INTO rsvps (meeting_id, occurrence, member_id, answer, answered_at)
         SELECT m.id, ?, ?, 'yes', ? FROM meetings m JOIN groups g ON g.id = m.group_id
         WHERE m.id = ?
           AND NOT EXISTS (SELECT 1 FROM rsvp_waitlist w
                           WHERE w.meeting_id = m.id AND w.occurrence = ? AND w.member_id = ?)
           AND (g.capacity IS NULL
                OR EXISTS (SELECT 1 FROM rsvps r WHERE r.meeting_id = m.id AND r.occurrence = ?
                             AND r.member_id = ? AND r.answer = 'yes')
                OR (SELECT COUNT(*) FROM rsvps r WHERE r.meeting_id = m.id AND r.occurrence = ?
                      AND r.answer = 'yes') < g.capacity)
         ON CONFLICT (meeting_id, occurrence, member_id) DO UPDATE SET answer = excluded.answer,
             answered_at = excluded.answered_at",
    )
    .bind(occurrence)
    .bind(member)
    .bind(now.timestamp())
    .bind(meeting)
    .bind(occurrence)
    .bind(member)
    .bind(occurrence)
    .bind(member)
    .bind(occurrence)
    .execute(&mut *db)
    .await
    .context("saving an RSVP")?
    .rows_affected();
    if going == 1 {
        return Ok(None);
    }
    // Waiting is their answer now: a maybe or no before it gives way.
    query("DELETE FROM rsvps WHERE meeting_id = ? AND occurrence = ? AND member_id = ?")
        .bind(meeting)
        .bind(occurrence)
        .bind(member)
        .execute(&mut *db)
        .await
        .context("a yes that waits")?;
    query(
        "INSERT INTO rsvp_waitlist (meeting_id, occurrence, member_id, asked_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (meeting_id, occurrence, member_id) DO NOTHING",
    )
    .bind(meeting)
    .bind(occurrence)
    .bind(member)
    .bind(now.timestamp())
    .execute(&mut *db)
    .await
    .context("joining a waiting list")?;
    let place: i64 = query_scalar(
        "SELECT COUNT(*) FROM rsvp_waitlist WHERE meeting_id = ? AND occurrence = ?
           AND id <= (SELECT id FROM rsvp_waitlist WHERE meeting_id = ? AND occurrence = ? AND member_id = ?)",
    )
    .bind(meeting)
    .bind(occurrence)
    .bind(meeting)
    .bind(occurrence)
    .bind(member)
    .fetch_one(&mut *db)
    .await
    .context("finding a place in line")?;
    Ok(Some(place))
}

/// A maybe or no: out of any line, the answer saved. A place it gave up
/// (the member was going) is for the caller to fill.
async fn say_not_yes(
    db: &mut Db<'_>,
    (meeting, occurrence): (i64, i64),
    member: i64,
    answer: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    query("DELETE FROM rsvp_waitlist WHERE meeting_id = ? AND occurrence = ? AND member_id = ?")
        .bind(meeting)
        .bind(occurrence)
        .bind(member)
        .execute(&mut *db)
        .await
        .context("stepping out of a waiting list")?;
    query(
        "INSERT INTO rsvps (meeting_id, occurrence, member_id, answer, answered_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (meeting_id, occurrence, member_id) DO UPDATE SET answer = excluded.answer,
             answered_at = excluded.answered_at",
    )
    .bind(meeting)
    .bind(occurrence)
    .bind(member)
    .bind(answer)
    .bind(now.timestamp())
    .execute(&mut *db)
    .await
    .context("saving an RSVP")?;
    Ok(())
}

/// The places `member` holds at meetings still to come (where they now
/// happen, moved or not; a cancelled one has no places), as (meeting,
/// original start, start), in `group` alone when it is given: those a
/// member leaving it, or erasing their data, frees for the first in line.
pub(crate) async fn places_held(
    db: impl Into<Db<'_>>,
    member: i64,
    group: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, i64, i64)>> {
    let held: Vec<(i64, i64, i64, i64)> = query_as(
        "SELECT m.group_id, r.meeting_id, r.occurrence, COALESCE(e.moved_to, r.occurrence) FROM rsvps r
         JOIN meetings m ON m.id = r.meeting_id
         LEFT JOIN meeting_exceptions e ON e.meeting_id = r.meeting_id AND e.occurrence = r.occurrence
         WHERE r.member_id = ? AND r.answer = 'yes' AND m.cancelled = FALSE
           AND (e.occurrence IS NULL OR e.moved_to IS NOT NULL)
           AND COALESCE(e.moved_to, r.occurrence) >= ?",
    )
    .bind(member)
    .bind(now.timestamp())
    .fetch_all(db)
    .await
    .context("finding the places a member holds")?;
    Ok(held
        .into_iter()
        .filter(|(of, ..)| group.is_none_or(|g| g == *of))
        .map(|(_, meeting, original, start)| (meeting, original, start))
        .collect())
}

/// The occurrences of `group`'s meetings still to come, and still
/// happening, where someone waits for a place, as (meeting, original
/// start, start): those a raised capacity may fill.
pub(crate) async fn waiting_to_come(
    db: impl Into<Db<'_>>,
    group: i64,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, i64, i64)>> {
    query_as(
        "SELECT DISTINCT w.meeting_id, w.occurrence, COALESCE(e.moved_to, w.occurrence) FROM rsvp_waitlist w
         JOIN meetings m ON m.id = w.meeting_id
         LEFT JOIN meeting_exceptions e ON e.meeting_id = w.meeting_id AND e.occurrence = w.occurrence
         WHERE m.group_id = ? AND m.cancelled = FALSE
           AND (e.occurrence IS NULL OR e.moved_to IS NOT NULL)
           AND COALESCE(e.moved_to, w.occurrence) >= ?
         ORDER BY w.meeting_id, w.occurrence",
    )
    .bind(group)
    .bind(now.timestamp())
    .fetch_all(db)
    .await
    .context("finding the waiting lists to come")
}

/// Free places at an occurrence (`key`: meeting, original start) go to
/// those waiting, first in line first, in the caller's write: each leaves
/// the line and is going. A cancelled occurrence or series has no places
/// to give. Returns them, for the caller to tell (through
/// the jobs table, in the same write, so the telling is neither lost nor
/// repeated). Each step takes one place, so the loop ends with the line or
/// the places.
pub(crate) async fn fill_places(
    db: impl Into<Db<'_>>,
    (meeting, occurrence): (i64, i64),
    now: DateTime<Utc>,
) -> Result<Vec<Member>> {
    let mut db = db.into();
    let mut placed = Vec::new();
    loop {
        let next: Option<i64> = query_scalar(
            "DELETE FROM rsvp_waitlist WHERE id = (
                 SELECT w.id FROM rsvp_waitlist w
                 JOIN meetings m ON m.id = w.meeting_id JOIN groups g ON g.id = m.group_id
                 WHERE w.meeting_id = ? AND w.occurrence = ? AND m.cancelled = FALSE
                   AND NOT EXISTS (SELECT 1 FROM meeting_exceptions e WHERE e.meeting_id = w.meeting_id
                                     AND e.occurrence = w.occurrence AND e.moved_to IS NULL)
                   AND (g.capacity IS NULL
                        OR (SELECT COUNT(*) FROM rsvps r WHERE r.meeting_id = w.meeting_id
                              AND r.occurrence = w.occurrence AND r.answer = 'yes') < g.capacity)
                 ORDER BY w.id LIMIT 1)
             RETURNING member_id",
        )
        .bind(meeting)
        .bind(occurrence)
        .fetch_optional(&mut db)
        .await
        .context("taking the first in line")?;
        let Some(member) = next else {
            return Ok(placed);
        };
        query(
            "INSERT INTO rsvps (meeting_id, occurrence, member_id, answer, answered_at) VALUES (?, ?, ?, 'yes', ?)
             ON CONFLICT (meeting_id, occurrence, member_id) DO UPDATE SET answer = excluded.answer,
                 answered_at = excluded.answered_at",
        )
        .bind(meeting)
        .bind(occurrence)
        .bind(member)
        .bind(now.timestamp())
        .execute(&mut db)
        .await
        .context("giving a place to the first in line")?;
        let who: Member = query_as("SELECT id, external_id, display_name, timezone FROM members WHERE id = ?")
            .bind(member)
            .fetch_one(&mut db)
            .await
            .context("reading who got a place")?;
        placed.push(who);
    }
}

/// An RSVP button's press taken back: the member's answer for the
/// occurrence goes, when it is still `answer` (a press of another button
/// since then stands); a yes that was waiting leaves the line. `None` when
/// nothing changed.
pub async fn take_back_rsvp(db: impl Into<Db<'_>>, asked: &Rsvp<'_>) -> Result<Option<Answered>> {
    let mut db = db.into();
    let (meeting, group, me, answer) = (asked.meeting, asked.group, asked.me, asked.answer);
    let (wanted, reader_zone, now) = (asked.wanted, asked.reader_zone, asked.now);
    // The press named the same occurrence: the same one is found, and the
    // answer when it was pressed already said which it took.
    let (occ, _) = occurrence(&mut db, meeting, wanted, reader_zone, now).await?;
    if occ.start <= now {
        return Ok(None);
    }
    let key = (meeting.id, occ.original.timestamp());
    let gone = query("DELETE FROM rsvps WHERE meeting_id = ? AND occurrence = ? AND member_id = ? AND answer = ?")
        .bind(key.0)
        .bind(key.1)
        .bind(me.id)
        .bind(answer)
        .execute(&mut db)
        .await
        .context("taking back an RSVP")?
        .rows_affected();
    let left_line = if answer == "yes" && gone == 0 {
        query("DELETE FROM rsvp_waitlist WHERE meeting_id = ? AND occurrence = ? AND member_id = ?")
            .bind(key.0)
            .bind(key.1)
            .bind(me.id)
            .execute(&mut db)
            .await
            .context("stepping out of a waiting list")?
            .rows_affected()
    } else {
        0
    };
    if gone == 0 && left_line == 0 {
        return Ok(None);
    }
    let placed = if answer == "yes" && gone == 1 {
        fill_places(&mut db, key, now).await?
    } else {
        Vec::new()
    };
    let name = meeting.name(&group.name);
    let line = if left_line == 1 {
        Line::text(format!("You're off the waiting list for {name} on "))
            .push(time(occ.start, reader_zone))
            .t(". Press a button again any time.")
    } else {
        Line::text(format!("Your answer for {name} on "))
            .push(time(occ.start, reader_zone))
            .t(" is taken back: no answer for now. Press a button again any time.")
    };
    Ok(Some(Answered {
        message: Message::new().line(line),
        occurrence: occ,
        placed,
    }))
}

/// The answers to a series between two occurrences (original starts, both
/// included), as (occurrence, member, answer): everyone's, or `only` one
/// member's, read by that member's index so its cost stays flat in the
/// group's size. For the reminder planner.
pub(crate) async fn rsvps_between(
    db: impl Into<Db<'_>>,
    meeting: i64,
    (lo, hi): (i64, i64),
    only: Option<i64>,
) -> Result<Vec<(i64, i64, String)>> {
    match only {
        None => query_as(
            "SELECT occurrence, member_id, answer FROM rsvps WHERE meeting_id = ? AND occurrence BETWEEN ? AND ?",
        )
        .bind(meeting)
        .bind(lo)
        .bind(hi),
        Some(member) => query_as(
            "SELECT occurrence, member_id, answer FROM rsvps INDEXED BY rsvps_by_member
             WHERE member_id = ? AND meeting_id = ? AND occurrence BETWEEN ? AND ?",
        )
        // PostgreSQL has no index hints: its planner picks the member's index.
        .on_postgres(
            "SELECT occurrence, member_id, answer FROM rsvps
             WHERE member_id = ? AND meeting_id = ? AND occurrence BETWEEN ? AND ?",
        )
        .bind(member)
        .bind(meeting)
        .bind(lo)
        .bind(hi),
    }
    .fetch_all(db)
    .await
    .context("reading RSVPs for a plan")
}

/// Those waiting for a place at a series' occurrences between two original
/// starts (both included), as (occurrence, member): everyone, or `only` one
/// member, by that member's index. For the reminder planner: one waiting is
/// not going, and is reminded once a place is theirs.
pub(crate) async fn waiting_between(
    db: impl Into<Db<'_>>,
    meeting: i64,
    (lo, hi): (i64, i64),
    only: Option<i64>,
) -> Result<Vec<(i64, i64)>> {
    match only {
        None => query_as(
            "SELECT occurrence, member_id FROM rsvp_waitlist WHERE meeting_id = ? AND occurrence BETWEEN ? AND ?",
        )
        .bind(meeting)
        .bind(lo)
        .bind(hi),
        Some(member) => query_as(
            "SELECT occurrence, member_id FROM rsvp_waitlist
             WHERE member_id = ? AND meeting_id = ? AND occurrence BETWEEN ? AND ?",
        )
        .bind(member)
        .bind(meeting)
        .bind(lo)
        .bind(hi),
    }
    .fetch_all(db)
    .await
    .context("reading waiting lists for a plan")
}
