//! Milestones a member chooses to have said at their group's meeting: the
//! date something began (a recovery date, or any date they choose) and an
//! optional name to be called by. The script's `milestones` step reads out
//! those that fall since the group's last meeting, by the one rule in
//! [`chip`]. Nothing is said for anyone who did not opt in, and clearing
//! takes effect at once. The rows are the member's own (`member_id`), so
//! `/mydata` and `/forgetme` cover them; nothing here is logged.

use chrono::{Days, Months, NaiveDate};

use crate::error::{Context, Error, Result, UserError};
use crate::message::{Line, Message};
use crate::store::{Db, query, query_as};

/// The milestones a group marks, in the order they come: (days, words)
/// first, then (months, words); whole years follow, each its own.
const BY_DAYS: &[(u64, &str)] = &[(1, "24 hours"), (30, "30 days"), (60, "60 days"), (90, "90 days")];
const BY_MONTHS: &[(u32, &str)] = &[(6, "6 months"), (9, "9 months")];
/// The most years counted (a date a century back is a typing slip, not a milestone).
const YEARS_MAX: u32 = 100;

/// The milestone of one that began on `began` falling in `(after, upto]`
/// (days as the group's calendar reads them), the greatest if several do:
/// 24 hours, 30/60/90 days, 6 and 9 months, 1 year, then N years. A month
/// counted from the 31st lands on the month's last day.
pub fn chip(began: NaiveDate, after: NaiveDate, upto: NaiveDate) -> Option<String> {
    let within = |d: Option<NaiveDate>| d.is_some_and(|d| after < d && d <= upto);
    let mut said = None;
    for (days, words) in BY_DAYS {
        if within(began.checked_add_days(Days::new(*days))) {
            said = Some((*words).to_string());
        }
    }
    for (months, words) in BY_MONTHS {
        if within(began.checked_add_months(Months::new(*months))) {
            said = Some((*words).to_string());
        }
    }
    for years in 1..=YEARS_MAX {
        let Some(d) = began.checked_add_months(Months::new(12 * years)) else {
            break;
        };
        if d > upto {
            break;
        }
        if within(Some(d)) {
            said = Some(if years == 1 {
                "1 year".into()
            } else {
                format!("{years} years")
            });
        }
    }
    said
}

fn refused(line: Line) -> Error {
    Error::User(UserError::Refused(line))
}

/// `/milestone set`: `member` of `group` opts in, with the date and the name.
pub(crate) async fn set(
    db: impl Into<Db<'_>>,
    (group, group_name): (i64, &str),
    member: i64,
    (began, name): (NaiveDate, Option<&str>),
    today: NaiveDate,
) -> Result<Message> {
    if began > today {
        return Err(refused(Line::text(
            "That date is still to come: a milestone counts from a day that has been.",
        )));
    }
    if today.years_since(began).is_none_or(|years| years >= YEARS_MAX) {
        return Err(refused(Line::text(format!(
            "{} is a century ago: check the year? (For 2025, write 2025-03-01.)",
            began.format("%-d %B %Y")
        ))));
    }
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    query(
        "INSERT INTO milestones (group_id, member_id, began_on, name) VALUES (?, ?, ?, ?)
         ON CONFLICT (group_id, member_id) DO UPDATE SET began_on = excluded.began_on, name = excluded.name",
    )
    .bind(group)
    .bind(member)
    .bind(began.format("%Y-%m-%d").to_string())
    .bind(name)
    .execute(db)
    .await
    .context("saving a milestone")?;
    let called = match name {
        Some(n) => format!(" as {n}"),
        None => " by your display name".into(),
    };
    Ok(Message::titled(format!("Milestones · {group_name}")).line(
        Line::text(format!(
            "Saved. At the meeting's milestones step, a milestone that falls since the last meeting \
             (24 hours, 30, 60 or 90 days, 6 or 9 months, a year, N years) is said{called}, counted from {}. ",
            began.format("%-d %B %Y")
        ))
        .cmd("milestone clear")
        .t(" stops it at once."),
    ))
}

/// `/milestone clear`: nothing is said for `member` in `group` from now on.
pub(crate) async fn clear(db: impl Into<Db<'_>>, (group, group_name): (i64, &str), member: i64) -> Result<Message> {
    let gone = query("DELETE FROM milestones WHERE group_id = ? AND member_id = ?")
        .bind(group)
        .bind(member)
        .execute(db)
        .await
        .context("clearing a milestone")?
        .rows_affected();
    let said = if gone > 0 {
        "Cleared: nothing will be said for you."
    } else {
        "You had no milestone here; nothing will be said for you."
    };
    Ok(Message::titled(format!("Milestones · {group_name}")).text(said))
}

/// One who left the group has no milestone said there (and none kept).
pub(crate) async fn left_group(db: impl Into<Db<'_>>, group: i64, member: i64) -> Result<()> {
    query("DELETE FROM milestones WHERE group_id = ? AND member_id = ?")
        .bind(group)
        .bind(member)
        .execute(db)
        .await
        .context("clearing a milestone of one who left")?;
    Ok(())
}

/// The milestones to say at `group`'s meeting: those of its members (and
/// facilitators) who opted in, falling in `(after, upto]`, as (name, words),
/// by name.
pub(crate) async fn due(
    db: impl Into<Db<'_>>,
    group: i64,
    after: NaiveDate,
    upto: NaiveDate,
) -> Result<Vec<(String, String)>> {
    let rows: Vec<(String, String)> = query_as(
        "SELECT ms.began_on, COALESCE(ms.name, m.display_name) FROM milestones ms
         JOIN members m ON m.id = ms.member_id
         WHERE ms.group_id = ?1
           AND (EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = ?1 AND gm.member_id = ms.member_id)
                OR EXISTS (SELECT 1 FROM group_facilitators gf
                           WHERE gf.group_id = ?1 AND gf.member_id = ms.member_id))",
    )
    .bind(group)
    .fetch_all(db)
    .await
    .context("reading a group's milestones")?;
    let mut said: Vec<(String, String)> = rows
        .into_iter()
        .filter_map(|(began, name)| {
            let began = NaiveDate::parse_from_str(&began, "%Y-%m-%d").ok()?;
            Some((name, chip(began, after, upto)?))
        })
        .collect();
    said.sort();
    Ok(said)
}

#[cfg(test)]
mod tests;
