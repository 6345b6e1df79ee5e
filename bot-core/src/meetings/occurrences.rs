//! A series' occurrences with its exceptions (cancelled and moved ones)
//! applied: the next ones, whether it still meets, and the one a command
//! names by `next` or its date.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::series::{Meeting, Occurrence, of_group};
use super::words::{cadence, time};
use crate::error::{Context, Result, UserError};
use crate::message::{Line, Span};
use crate::store::{Db, Store, query_as};
use crate::when::{self, at};

/// Cancelled (None) and moved (Some) occurrences among these (series,
/// original start) pairs: one query for a batch of deliveries.
pub async fn exceptions_of(store: &Store, occurrences: &[(i64, i64)]) -> Result<HashMap<(i64, i64), Option<i64>>> {
    let list = serde_json::to_string(occurrences).context("listing occurrences")?;
    let rows: Vec<(i64, i64, Option<i64>)> = query_as(
        "SELECT meeting_id, occurrence, moved_to FROM meeting_exceptions WHERE (meeting_id, occurrence) IN
             (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))",
    )
    .on_postgres(
        "SELECT meeting_id, occurrence, moved_to FROM meeting_exceptions WHERE (meeting_id, occurrence) IN
             (SELECT CAST(value->>0 AS BIGINT), CAST(value->>1 AS BIGINT) FROM json_array_elements(CAST(? AS JSON)))",
    )
    .bind(list)
    .fetch_all(store)
    .await
    .context("loading exceptions of a batch")?;
    Ok(rows.into_iter().map(|(m, o, to)| ((m, o), to)).collect())
}

/// Cancelled (None) and moved (Some) occurrences of a series, by original start.
pub(crate) async fn exceptions(db: impl Into<Db<'_>>, meeting: i64) -> Result<HashMap<i64, Option<i64>>> {
    let rows: Vec<(i64, Option<i64>)> =
        query_as("SELECT occurrence, moved_to FROM meeting_exceptions WHERE meeting_id = ?")
            .bind(meeting)
            .fetch_all(db)
            .await
            .context("loading exceptions")?;
    Ok(rows.into_iter().collect())
}

/// The next `limit` occurrences that start after `after`, exceptions applied.
pub async fn upcoming(store: &Store, meeting: &Meeting, after: DateTime<Utc>, limit: usize) -> Result<Vec<Occurrence>> {
    upcoming_in(store, meeting, after, limit).await
}

/// [`upcoming`] on a connection the caller holds (inside a write transaction).
pub async fn upcoming_in(
    db: impl Into<Db<'_>>,
    meeting: &Meeting,
    after: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Occurrence>> {
    if meeting.cancelled {
        return Ok(Vec::new());
    }
    let exceptions = exceptions(db, meeting.id).await?;
    let mut found: Vec<Occurrence> = meeting
        .raw_after(after + Duration::seconds(1), (limit + exceptions.len()).min(500) as u16)?
        .into_iter()
        .filter_map(|original| match exceptions.get(&original.timestamp()) {
            None => Some(Occurrence {
                original,
                start: original,
            }),
            Some(_) => None,
        })
        .collect();
    // A moved occurrence counts where it now happens; one whose original
    // falls after the group's last day is gone with the rest.
    let cutoff = meeting.cutoff();
    found.extend(exceptions.iter().filter_map(|(original, moved)| {
        let start = at((*moved)?);
        let kept = start > after && cutoff.is_none_or(|c| *original <= c.timestamp());
        kept.then(|| Occurrence {
            original: at(*original),
            start,
        })
    }));
    found.sort_by_key(|o| o.start);
    found.truncate(limit);
    Ok(found)
}

/// Whether a series still meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Going,
    /// No occurrence after now: its rule ran out, or its group's last day
    /// passed. The last occurrence's start, when it could be found.
    Ended(Option<DateTime<Utc>>),
}

/// Whether `meeting` has an occurrence after `now`, and if not, when it last met.
pub async fn status_in(db: impl Into<Db<'_>>, meeting: &Meeting, now: DateTime<Utc>) -> Result<Status> {
    let mut db = db.into();
    if !upcoming_in(&mut db, meeting, now, 1).await?.is_empty() {
        return Ok(Status::Going);
    }
    let exceptions = exceptions(&mut db, meeting.id).await?;
    let (regular, complete) = meeting.raw_before(now, 5000)?;
    if !complete {
        return Ok(Status::Ended(None));
    }
    let cutoff = meeting.cutoff();
    let moved = exceptions
        .iter()
        .filter(|(o, _)| cutoff.is_none_or(|c| **o <= c.timestamp()))
        .filter_map(|(_, m)| m.map(at))
        .filter(|m| *m <= now);
    let last = regular
        .into_iter()
        .filter(|o| !exceptions.contains_key(&o.timestamp()))
        .chain(moved)
        .max();
    Ok(Status::Ended(last))
}

/// How often and how long a group meets, and when next, for its info card;
/// a series that has ended says when.
pub async fn group_meets(store: &Store, group: i64, now: DateTime<Utc>) -> Result<Line> {
    let series = of_group(store, group).await?;
    if series.is_empty() {
        return Ok(crate::groups::no_meetings());
    }
    let mut conn = store.acquire().await.context("reading a group's series")?;
    let mut said = Vec::new();
    let mut next = None;
    for m in &series {
        let mut words = cadence(m);
        match status_in(&mut conn, m, now).await? {
            Status::Going => {
                if let Some(o) = upcoming_in(&mut conn, m, now, 1).await?.first()
                    && next.is_none_or(|(at, _)| o.start < at)
                {
                    next = Some((o.start, m.zone()));
                }
            }
            Status::Ended(Some(last)) => words.push_str(&format!(
                " (ended: last met {})",
                last.with_timezone(&m.zone()).format("%a %-d %b %Y")
            )),
            Status::Ended(None) => words.push_str(" (ended)"),
        }
        said.push(words);
    }
    let mut line = Line::text(said.join("; "));
    if let Some((at, zone)) = next {
        line = line.t(". Next: ").push(Span::Time { at, zone });
    }
    Ok(line)
}

/// Finds an occurrence of a live series by `next` or the date it is on: the
/// one originally on that date (what its buttons and `/meeting list` call
/// it), else one moved onto that date. A date is read in the meeting's zone
/// and in the reader's: where the two differ, the answer's second part says
/// which was taken, in words.
pub async fn occurrence(
    db: impl Into<Db<'_>>,
    meeting: &Meeting,
    wanted: Option<&str>,
    reader: Tz,
    now: DateTime<Utc>,
) -> Result<(Occurrence, Option<Line>)> {
    let mut db = db.into();
    if meeting.cancelled {
        return Err(UserError::SeriesCancelled { meeting: meeting.id }.into());
    }
    let wanted = wanted.map(str::trim).unwrap_or("next");
    if wanted.eq_ignore_ascii_case("next") {
        return upcoming_in(&mut db, meeting, now, 1)
            .await?
            .into_iter()
            .next()
            .map(|o| (o, None))
            .ok_or_else(|| UserError::NoSuchOccurrence.into());
    }
    let Ok(date) = NaiveDate::parse_from_str(wanted, "%Y-%m-%d") else {
        return Err(UserError::BadValue {
            option: "occurrence",
            why: "must be next, or the date of one meeting (YYYY-MM-DD)",
        }
        .into());
    };
    let zone = meeting.zone();
    let exceptions = exceptions(&mut db, meeting.id).await?;
    let theirs = on_date(meeting, &exceptions, date, zone);
    if reader == zone {
        return Ok((theirs?, None));
    }
    let yours = on_date(meeting, &exceptions, date, reader);
    let day = |o: &Occurrence, z: Tz| o.start.with_timezone(&z).date_naive();
    match (theirs, yours) {
        (Ok(t), Ok(y)) if t.original == y.original => Ok((t, None)),
        (Ok(t), other) => {
            if day(&t, reader) == date && other.is_err() {
                return Ok((t, None));
            }
            let mut line = Line::text(format!(
                "I took {date} in {}, where it meets: for you that is ",
                zone.name()
            ))
            .push(time(t.start, reader))
            .t(".");
            if let Ok(y) = other {
                line = line
                    .t(format!(" On your {date} there is another, at "))
                    .push(time(y.start, reader))
                    .t(format!(": name it occurrence:{}.", occurrence_ref(meeting, &y)));
            }
            Ok((t, Some(line)))
        }
        (Err(_), Ok(y)) => Ok((
            y,
            Some(
                Line::text(format!(
                    "I took {date} as your date, in {}: the meeting at ",
                    reader.name()
                ))
                .push(time(y.start, reader))
                .t(format!(
                    ", which is {} in {}, where it meets.",
                    y.start.with_timezone(&zone).format("%a %-d %b"),
                    zone.name()
                )),
            ),
        )),
        (Err(e), Err(_)) => Err(e),
    }
}

/// The occurrence on `date` in `zone`, exceptions applied: the one
/// originally on that date, else one moved onto it.
fn on_date(meeting: &Meeting, exceptions: &HashMap<i64, Option<i64>>, date: NaiveDate, zone: Tz) -> Result<Occurrence> {
    let day_start = when::resolve(date.and_hms_opt(0, 0, 0).unwrap_or_default(), zone).0;
    let original = meeting
        .raw_after(day_start, 1)?
        .into_iter()
        .find(|o| o.with_timezone(&zone).date_naive() == date);
    if let Some(original) = original {
        return match exceptions.get(&original.timestamp()) {
            Some(None) => Err(UserError::OccurrenceCancelled.into()),
            Some(Some(moved)) => Ok(Occurrence {
                original,
                start: at(*moved),
            }),
            None => Ok(Occurrence {
                original,
                start: original,
            }),
        };
    }
    // No regular one that day: a moved occurrence answers to the date it now happens on.
    let cutoff = meeting.cutoff();
    exceptions
        .iter()
        .filter_map(|(o, m)| Some((*o, (*m)?)))
        .filter(|(o, _)| cutoff.is_none_or(|c| *o <= c.timestamp()))
        .find(|(_, m)| at(*m).with_timezone(&zone).date_naive() == date)
        .map(|(original, moved)| Occurrence {
            original: at(original),
            start: at(moved),
        })
        .ok_or_else(|| UserError::NoSuchOccurrence.into())
}

/// How an occurrence is referred to in commands and buttons.
pub fn occurrence_ref(meeting: &Meeting, occurrence: &Occurrence) -> String {
    occurrence
        .original
        .with_timezone(&meeting.zone())
        .format("%Y-%m-%d")
        .to_string()
}
