//! RSVPs: `/meeting rsvp`, a button's press taken back, the counts, those
//! who said they'd come, and the buttons that answer.

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
use crate::store::{Db, Store, query, query_as};

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

/// Members who said yes or maybe to an occurrence: those told of changes.
pub async fn attendees(db: impl Into<Db<'_>>, meeting: i64, occurrence: DateTime<Utc>) -> Result<Vec<Member>> {
    query_as(
        "SELECT m.id, m.external_id, m.display_name, m.timezone FROM rsvps r JOIN members m ON m.id = r.member_id
         WHERE r.meeting_id = ? AND r.occurrence = ? AND r.answer IN ('yes', 'maybe') ORDER BY m.id",
    )
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

/// `/meeting rsvp`, in the caller's write transaction.
pub async fn rsvp(db: impl Into<Db<'_>>, asked: &Rsvp<'_>) -> Result<Message> {
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
    query(
        "INSERT INTO rsvps (meeting_id, occurrence, member_id, answer, answered_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (meeting_id, occurrence, member_id) DO UPDATE SET answer = excluded.answer,
             answered_at = excluded.answered_at",
    )
    .bind(meeting.id)
    .bind(occ.original.timestamp())
    .bind(me.id)
    .bind(answer)
    .bind(now.timestamp())
    .execute(&mut db)
    .await
    .context("saving an RSVP")?;
    let name = meeting.name(&group.name);
    let line = match answer {
        "yes" => Line::text(format!("Thanks, you're going to {name} on "))
            .push(time(occ.start, reader_zone))
            .t(". I'll remind you before it starts."),
        "maybe" => Line::text(format!("Noted: maybe for {name} on "))
            .push(time(occ.start, reader_zone))
            .t(". I'll remind you before it starts."),
        _ => Line::text(format!(
            "Thanks for letting us know. You're welcome at {name} any time."
        )),
    };
    Ok(with_line(Message::new().line(line), which))
}

/// An RSVP button's press taken back: the member's answer for the
/// occurrence goes, when it is still `answer` (a press of another button
/// since then stands). `None` when nothing changed.
pub async fn take_back_rsvp(db: impl Into<Db<'_>>, asked: &Rsvp<'_>) -> Result<Option<Message>> {
    let mut db = db.into();
    let (meeting, group, me, answer) = (asked.meeting, asked.group, asked.me, asked.answer);
    let (wanted, reader_zone, now) = (asked.wanted, asked.reader_zone, asked.now);
    // The press named the same occurrence: the same one is found, and the
    // answer when it was pressed already said which it took.
    let (occ, _) = occurrence(&mut db, meeting, wanted, reader_zone, now).await?;
    if occ.start <= now {
        return Ok(None);
    }
    let gone = query("DELETE FROM rsvps WHERE meeting_id = ? AND occurrence = ? AND member_id = ? AND answer = ?")
        .bind(meeting.id)
        .bind(occ.original.timestamp())
        .bind(me.id)
        .bind(answer)
        .execute(&mut db)
        .await
        .context("taking back an RSVP")?
        .rows_affected();
    if gone == 0 {
        return Ok(None);
    }
    let name = meeting.name(&group.name);
    Ok(Some(
        Message::new().line(
            Line::text(format!("Your answer for {name} on "))
                .push(time(occ.start, reader_zone))
                .t(" is taken back: no answer for now. Press a button again any time."),
        ),
    ))
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
