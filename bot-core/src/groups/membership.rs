//! Who is in a group: `/group join` (with registration and requests to
//! join), `/group leave` and `/group facilitator`.

use chrono::{DateTime, Utc};

use super::{Group, facilitators_in};
use crate::error::{Context, Result, UserError};
use crate::io::{Effect, Platform, Response};
use crate::members::{self, Member};
use crate::message::{Line, Message, Span};
use crate::store::{Db, Store, query, query_scalar};

/// What `/group join` did (in the caller's write transaction), for the core to answer and replan.
pub(crate) struct Joined {
    pub response: Response,
    /// Whose reminders change: the member now in the group, if any.
    pub member: Option<i64>,
}

/// `/group join`: joins; for a group that needs registration, answers with
/// how to register and, if the group wants, tells its facilitators of the
/// request. `admit`: a facilitator adds that person (once they registered).
///
/// TRANSITIONAL (issue 27): takes the SQLite connection while the core's
/// callers pass their `sqlx` transaction; becomes `db: impl Into<Db<'_>>`
/// once they pass a `Tx`.
pub(crate) async fn join(
    conn: &mut sqlx::SqliteConnection,
    group: &Group,
    me: &Member,
    admit: Option<&Member>,
    now: DateTime<Utc>,
) -> Result<Joined> {
    let mut db = Db::from(conn);
    if let Some(person) = admit {
        let mention = Span::User {
            id: person.external_id.clone(),
            name: person.display_name.clone(),
        };
        let line = if add_member(&mut db, group, person.id, now).await? {
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
        Some(how) if !is_member(&mut db, group.id, me.id).await? => Some(how),
        _ => None,
    };
    let Some(registration) = registration else {
        let message = if add_member(&mut db, group, me.id, now).await? {
            welcome(group)
        } else {
            Message::new().text(format!("You're already in {}.", group.name))
        };
        return Ok(Joined {
            response: Response::private(message),
            member: Some(me.id),
        });
    };
    ask_to_join(&mut db, group, me, registration, now).await
}

/// Registration first: how to register, and the facilitators told (at most
/// once a day per person) when the group wants that.
async fn ask_to_join(
    db: &mut Db<'_>,
    group: &Group,
    me: &Member,
    registration: &str,
    now: DateTime<Utc>,
) -> Result<Joined> {
    let mut line = Line::text(format!("{} asks people to register first: {registration}.", group.name));
    let mut notices = Vec::new();
    if group.tell_facilitators {
        let told: Option<i64> = query_scalar(
            "INSERT INTO join_requests (group_id, member_id, told_at) VALUES (?, ?, ?)
             ON CONFLICT (group_id, member_id) DO UPDATE SET told_at = excluded.told_at
             WHERE join_requests.told_at <= ?
             RETURNING told_at",
        )
        .bind(group.id)
        .bind(me.id)
        .bind(now.timestamp())
        .bind(now.timestamp() - 24 * 60 * 60)
        .fetch_optional(&mut *db)
        .await
        .context("recording a request to join")?;
        let leaders = facilitators_in(&mut *db, group.id).await?;
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

async fn is_member(db: &mut Db<'_>, group: i64, member: i64) -> Result<bool> {
    query_scalar("SELECT EXISTS (SELECT 1 FROM group_members WHERE group_id = ? AND member_id = ?)")
        .bind(group)
        .bind(member)
        .fetch_one(db)
        .await
        .context("checking membership")
}

/// Adds `member` to the group: `true` when they were not in it. A full group refuses.
async fn add_member(db: &mut Db<'_>, group: &Group, member: i64, now: DateTime<Utc>) -> Result<bool> {
    // Capacity and membership are checked in the same statement, so two people
    // taking the last place at once cannot both get it.
    let joined = query(
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
    .execute(&mut *db)
    .await
    .context("joining a group")?;
    if joined.rows_affected() == 1 {
        query("DELETE FROM join_requests WHERE group_id = ? AND member_id = ?")
            .bind(group.id)
            .bind(member)
            .execute(&mut *db)
            .await
            .context("a request to join, granted")?;
        return Ok(true);
    }
    match (is_member(db, group.id, member).await?, group.capacity) {
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
///
/// TRANSITIONAL (issue 27): takes the SQLite connection while the core's
/// callers pass their `sqlx` transaction; becomes `db: impl Into<Db<'_>>`
/// once they pass a `Tx`.
pub async fn leave(conn: &mut sqlx::SqliteConnection, group: &Group, me: &Member) -> Result<Message> {
    let left = query("DELETE FROM group_members WHERE group_id = ? AND member_id = ?")
        .bind(group.id)
        .bind(me.id)
        .execute(conn)
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
        query("INSERT INTO group_facilitators (group_id, member_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
    } else {
        query("DELETE FROM group_facilitators WHERE group_id = ? AND member_id = ?")
    }
    .bind(group.id)
    .bind(person.id)
    .execute(store)
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
