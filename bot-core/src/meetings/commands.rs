//! `/meeting schedule|cancel|move|list`.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::clash::{Except, clash, clash_error, first_slots};
use super::news::{Change, Changed, News, PREVIEW, Told, kept, notes};
use super::occurrences::{occurrence, occurrence_ref, upcoming, upcoming_in};
use super::rsvps::{attendees, rsvp_counts, waiting_count};
use super::rule::{duration_minutes, repeat_error, series_rule};
use super::series::{DEFAULT_DURATION_MINUTES, Meeting, NewSeries, insert, of_community, of_group, touch};
use super::words::time;
use crate::error::{Context, Result, UserError};
use crate::groups::Group;
use crate::message::{Line, Message};
use crate::parse::Bound;
use crate::store::{Db, Store, query};
use crate::when;

/// `/meeting schedule`, in the caller's write transaction. Returns the news
/// (the group's to hear, the reply's words: [`news_message`]) and the new
/// series.
pub async fn schedule(
    db: impl Into<Db<'_>>,
    group: &Group,
    default_zone: Tz,
    order: Option<when::DateOrder>,
    b: &Bound,
    now: DateTime<Utc>,
) -> Result<(News, Meeting)> {
    let mut db = db.into();
    let zone = b.zone("timezone").unwrap_or(default_zone);
    let asked = when::parse(b.text("when").unwrap_or_default(), zone, order, now)?;
    let (first, note) = when::resolve(asked, zone);
    let start = first.with_timezone(&zone).naive_local();
    let duration = duration_minutes(b.text("duration"))?.unwrap_or(DEFAULT_DURATION_MINUTES);
    let (label, rule) = series_rule(b.text("repeat"), b.int("count"), b.date("until"), start, zone)?;
    // Refused before anything is stored: a rule that never meets again, or
    // (unless confirmed) one that meets when the group already does.
    let slots = first_slots(start, zone, &rule, duration, now)?;
    if b.choice("confirm").is_none()
        && let Some((other, occ)) = clash(&mut db, group.id, &slots, Except::Nothing, now).await?
    {
        return Err(clash_error(&other, group, &occ, "meeting schedule"));
    }
    let new = NewSeries {
        title: b.text("title"),
        start,
        zone,
        label: &label,
        rule: &rule,
        duration,
        location: b.text("where"),
    };
    let meeting = insert(&mut db, group, new, now).await?;
    let next = upcoming_in(&mut db, &meeting, now, PREVIEW).await?;
    let Some(first) = next.first().copied() else {
        return Err(repeat_error("gives no meeting after now; check the date in when, and count or until").into());
    };
    let news = News::Scheduled {
        next: kept(&next),
        note: notes(
            note.map(|n| n.explain(asked, zone)),
            when::reading(b.text("when").unwrap_or_default(), asked, now, zone),
        ),
        skipped: first.start != when::resolve(start, zone).0 && first.start > now,
    };
    Ok((news, meeting))
}

/// `/meeting cancel`: one occurrence (default the next) or `all`, in the
/// caller's write transaction (with the notices and the plan it implies).
/// Returns what [`Changed`] holds.
pub async fn cancel(
    db: impl Into<Db<'_>>,
    meeting: &Meeting,
    wanted: Option<&str>,
    reader: Tz,
    now: DateTime<Utc>,
) -> Result<Changed> {
    let mut db = db.into();
    if wanted.is_some_and(|w| w.eq_ignore_ascii_case("all")) {
        if meeting.cancelled {
            return Err(UserError::SeriesCancelled { meeting: meeting.id }.into());
        }
        let coming = upcoming_in(&mut db, meeting, now, 50).await?;
        query("UPDATE meetings SET cancelled = TRUE, updated_at = ? WHERE id = ?")
            .bind(now.timestamp())
            .bind(meeting.id)
            .execute(&mut db)
            .await
            .context("cancelling a series")?;
        let mut told = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for occ in coming {
            for member in attendees(&mut db, meeting.id, occ.original).await? {
                if seen.insert(member.id) {
                    told.push((
                        member,
                        Change::SeriesCancelled {
                            start: occ.start.timestamp(),
                        },
                    ));
                }
            }
        }
        return Ok(Changed {
            news: News::SeriesCancelled,
            note: None,
            told,
        });
    }
    let (occ, which) = occurrence(&mut db, meeting, wanted, reader, now).await?;
    let change = Change::Cancelled {
        start: occ.start.timestamp(),
    };
    let one = Exception {
        meeting: meeting.id,
        original: occ.original,
        moved_to: None,
        doing: "cancelling an occurrence",
    };
    let told = except_one(&mut db, one, change, now).await?;
    Ok(Changed {
        news: News::Cancelled {
            start: occ.start.timestamp(),
        },
        note: which,
        told,
    })
}

/// One occurrence cancelled (`moved_to` empty) or moved, as
/// `meeting_exceptions` keeps it; `doing` names the write if it fails.
struct Exception {
    meeting: i64,
    original: DateTime<Utc>,
    moved_to: Option<i64>,
    doing: &'static str,
}

/// Writes one occurrence's exception, marks its series changed, and returns
/// those who said they'd come to it, each with `change` to be told.
async fn except_one(db: impl Into<Db<'_>>, one: Exception, change: Change, now: DateTime<Utc>) -> Result<Told> {
    let mut db = db.into();
    query(
        "INSERT INTO meeting_exceptions (meeting_id, occurrence, moved_to) VALUES (?, ?, ?)
         ON CONFLICT (meeting_id, occurrence) DO UPDATE SET moved_to = excluded.moved_to",
    )
    .bind(one.meeting)
    .bind(one.original.timestamp())
    .bind(one.moved_to)
    .execute(&mut db)
    .await
    .context(one.doing)?;
    touch(&mut db, one.meeting, now).await?;
    Ok(attendees(&mut db, one.meeting, one.original)
        .await?
        .into_iter()
        .map(|member| (member, change.clone()))
        .collect())
}

/// `/meeting move`: one occurrence to a new time, in the caller's write
/// transaction. Returns what [`Changed`] holds.
pub async fn move_one(
    db: impl Into<Db<'_>>,
    meeting: &Meeting,
    group: &Group,
    wanted: Option<&str>,
    to_when: &ToWhen<'_>,
    now: DateTime<Utc>,
) -> Result<Changed> {
    let mut db = db.into();
    let zone = meeting.zone();
    let (occ, which) = occurrence(&mut db, meeting, wanted, to_when.reader, now).await?;
    // A time alone keeps the meeting's own date: `when:18:00` moves the
    // occurrence named, not to today.
    let asked = match when::time_only(to_when.text) {
        Some(clock) => occ.start.with_timezone(&zone).date_naive().and_time(clock),
        None => when::parse(to_when.text, zone, to_when.order, now)?,
    };
    let (to, note) = when::resolve(asked, zone);
    if to <= now {
        return Err(UserError::BadValue {
            option: "when",
            why: "is in the past; give a time still to come",
        }
        .into());
    }
    if !to_when.confirmed
        && let Some((other, clashing)) = clash(
            &mut db,
            group.id,
            &[(to, meeting.duration())],
            Except::One(meeting.id, occ.original),
            now,
        )
        .await?
    {
        return Err(clash_error(&other, group, &clashing, "meeting move"));
    }
    let change = Change::Moved {
        original: occ.original.timestamp(),
        from: occ.start.timestamp(),
        to: to.timestamp(),
    };
    let one = Exception {
        meeting: meeting.id,
        original: occ.original,
        moved_to: Some(to.timestamp()),
        doing: "moving an occurrence",
    };
    let told = except_one(&mut db, one, change, now).await?;
    Ok(Changed {
        news: News::Moved {
            from: occ.start.timestamp(),
            to: to.timestamp(),
            note: notes(
                note.map(|n| n.explain(asked, zone)),
                when::reading(to_when.text, asked, now, zone),
            ),
        },
        note: which,
        told,
    })
}

/// The new time a `/meeting move` asks for, as typed, with what reads it.
pub struct ToWhen<'a> {
    pub text: &'a str,
    /// The mover's zone, in which an occurrence's date may be named too.
    pub reader: Tz,
    pub order: Option<when::DateOrder>,
    /// `confirm:yes`: moved even onto a time the group already meets.
    pub confirmed: bool,
}

/// `/meeting list`: upcoming occurrences in the reader's zone.
pub async fn list(
    store: &Store,
    community: i64,
    group: Option<&Group>,
    reader_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Message> {
    let series: Vec<(Meeting, String)> = match group {
        Some(g) => of_group(store, g.id)
            .await?
            .into_iter()
            .map(|m| (m, g.name.clone()))
            .collect(),
        None => of_community(store, community).await?,
    };
    let horizon = now + Duration::days(31);
    let mut rows = Vec::new();
    for (meeting, group_name) in &series {
        for occ in upcoming(store, meeting, now, 6).await? {
            if occ.start <= horizon {
                rows.push((occ, meeting, group_name));
            }
        }
    }
    rows.sort_by_key(|(o, m, _)| (o.start, m.id));
    rows.truncate(15);
    if rows.is_empty() {
        return Ok(Message::new().line(
            Line::text("No meetings in the next month. A facilitator can add one with ")
                .cmd("meeting schedule")
                .t("."),
        ));
    }
    let mut message = Message::titled("Upcoming meetings");
    for (occ, meeting, group_name) in rows {
        let (yes, maybe) = rsvp_counts(store, meeting.id, occ.original).await?;
        let waiting = waiting_count(store, meeting.id, occ.original).await?;
        let mut line = Line::new()
            .push(time(occ.start, reader_zone))
            .t(" · ")
            .b(meeting.name(group_name))
            .t(format!(
                " (meeting {}, {}) · {}",
                meeting.id,
                occurrence_ref(meeting, &occ),
                counts_text(yes, maybe, waiting)
            ));
        if occ.moved() {
            line = line.t(" · moved");
        }
        message = message.line(line);
    }
    Ok(message.line(Line::text("RSVP with ").cmd("meeting rsvp meeting:N occurrence:DATE answer:yes")))
}

/// How many answered, never who; those waiting for a place only when some are.
fn counts_text(yes: i64, maybe: i64, waiting: i64) -> String {
    match (yes, maybe, waiting) {
        (0, 0, 0) => "no RSVPs yet".into(),
        (_, _, 0) => format!("{yes} going, {maybe} maybe"),
        _ => format!("{yes} going, {maybe} maybe, {waiting} waiting for a place"),
    }
}
