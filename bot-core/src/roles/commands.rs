//! What `/role list|assign|signup|release` change and say. Each runs in
//! the caller's write; the caller re-plans the group's reminders in it.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Holding, Kind, Place, of_group, today};
use crate::error::{Context, Result, UserError};
use crate::groups::Group;
use crate::members::Member;
use crate::message::{Line, Message, Span};
use crate::store::{Db, query, query_scalar};

fn mention(m: &Member) -> Span {
    Span::User {
        id: m.external_id.clone(),
        name: m.display_name.clone(),
    }
}

fn refused(line: Line) -> crate::error::Error {
    UserError::Refused(line).into()
}

fn term(place: &Place) -> String {
    place
        .last_day
        .map_or_else(String::new, |d| format!(" until {}", d.format("%a %-d %b %Y")))
}

/// `/role list`: each role the group uses, its holder and back-up and their
/// terms, open roles with a button to sign up, and the roles it does not use.
pub(crate) fn list(group: &Group, roles: &[Holding]) -> Message {
    let mut message = Message::titled(format!("Service roles: {}", group.name));
    if roles.is_empty() {
        return message.line(
            Line::text(format!(
                "{} uses no service roles yet. A facilitator adds one with ",
                group.name
            ))
            .cmd(format!("role assign group:#{} role:chair", group.id))
            .t("."),
        );
    }
    for holding in roles {
        let mut line = Line::new().b(holding.kind.title()).t(": ");
        line = match &holding.holder {
            Some(p) => line.push(mention(&p.member)).t(term(p)),
            None => line.t("open"),
        };
        if let Some(b) = &holding.backup {
            line = line.t(" · back-up ").push(mention(&b.member)).t(term(b));
        }
        message = message.line(line);
        if holding.holder.is_none() && holding.kind.self_serve() {
            message = message.button(
                format!("Sign up: {}", holding.kind.name()),
                holding.kind.emoji(),
                format!("role signup group:#{} role:{}", group.id, holding.kind.name()),
            );
        }
    }
    let unused: Vec<&str> = Kind::ALL
        .into_iter()
        .filter(|k| !roles.iter().any(|h| h.kind == *k))
        .map(Kind::name)
        .collect();
    if !unused.is_empty() {
        message = message.text(format!("Not used here: {}.", unused.join(", ")));
    }
    message
}

/// What `/role assign` asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Assign<'a> {
    pub kind: Kind,
    pub holder: Option<&'a Member>,
    pub backup: Option<&'a Member>,
    pub last_day: Option<NaiveDate>,
}

/// Whether `member` is in `group` (a member or one of its facilitators).
async fn belongs(db: impl Into<Db<'_>>, group: i64, member: i64) -> Result<bool> {
    query_scalar(
        "SELECT EXISTS (SELECT 1 FROM group_members WHERE group_id = ?1 AND member_id = ?2
         UNION ALL SELECT 1 FROM group_facilitators WHERE group_id = ?1 AND member_id = ?2)",
    )
    .bind(group)
    .bind(member)
    .fetch_one(db)
    .await
    .context("checking a group's membership")
}

/// The group uses `kind` from now on (nothing if it did).
async fn use_role(db: impl Into<Db<'_>>, group: i64, kind: Kind) -> Result<bool> {
    Ok(
        query("INSERT INTO group_roles (group_id, kind) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(group)
            .bind(kind.name())
            .execute(db)
            .await
            .context("adding a role")?
            .rows_affected()
            == 1,
    )
}

/// Puts `member` in a role's place (holder or back-up), replacing whoever was there.
async fn seat(
    db: impl Into<Db<'_>>,
    (group, kind, backup): (i64, Kind, bool),
    member: i64,
    last_day: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<()> {
    query(
        "INSERT INTO role_holders (group_id, kind, backup, member_id, last_day, assigned_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (group_id, kind, backup) DO UPDATE SET member_id = excluded.member_id,
           last_day = excluded.last_day, assigned_at = excluded.assigned_at",
    )
    .bind(group)
    .bind(kind.name())
    .bind(backup)
    .bind(member)
    .bind(last_day.map(|d| d.format("%Y-%m-%d").to_string()))
    .bind(now.timestamp())
    .execute(db)
    .await
    .context("seating a role holder")?;
    Ok(())
}

/// Refuses a last day already past, in the group's calendar.
fn check_last_day(last_day: Option<NaiveDate>, today: NaiveDate) -> Result<()> {
    match last_day {
        Some(d) if d < today => Err(refused(Line::text(format!(
            "until is before today ({}) in the group's calendar: give the term's last day, still to come. Nothing changed.",
            today.format("%Y-%m-%d")
        )))),
        _ => Ok(()),
    }
}

/// `/role assign` (facilitators): the group uses the role; the holder and
/// back-up given take their places. Both must be in the group, and not the
/// same person.
pub(crate) async fn assign(
    db: impl Into<Db<'_>>,
    group: &Group,
    asked: Assign<'_>,
    now: DateTime<Utc>,
) -> Result<Message> {
    let mut db = db.into();
    let today = today(&mut db, group.id, now).await?;
    check_last_day(asked.last_day, today)?;
    if let (Some(h), Some(b)) = (asked.holder, asked.backup)
        && h.id == b.id
    {
        return Err(refused(Line::text(
            "The holder and the back-up must be two people: the back-up steps in when the holder cannot.",
        )));
    }
    for person in [asked.holder, asked.backup].into_iter().flatten() {
        if !belongs(&mut db, group.id, person.id).await? {
            return Err(refused(
                Line::new()
                    .push(mention(person))
                    .t(format!(
                        " isn't in {}: a role goes to one of its members. Add them with ",
                        group.name
                    ))
                    .cmd(format!("group join group:#{} user:{}", group.id, person.external_id))
                    .t(" first."),
            ));
        }
    }
    let added = use_role(&mut db, group.id, asked.kind).await?;
    let mut message = Message::new();
    let mut said = false;
    if let Some(h) = asked.holder {
        seat(&mut db, (group.id, asked.kind, false), h.id, asked.last_day, now).await?;
        let term = asked
            .last_day
            .map_or(String::new(), |d| format!(" until {}", d.format("%a %-d %b %Y")));
        message = message.line(Line::new().push(mention(h)).t(format!(
            " is {}'s {}{term}.",
            group.name,
            asked.kind.name()
        )));
        message.pings.push(h.external_id.clone());
        said = true;
    }
    if let Some(b) = asked.backup {
        // The back-up's term is the holder's, where one was given with it.
        let last_day = match asked.holder {
            Some(_) => asked.last_day,
            None => asked.last_day.or(holder_last_day(&mut db, group.id, asked.kind).await?),
        };
        seat(&mut db, (group.id, asked.kind, true), b.id, last_day, now).await?;
        message = message.line(Line::new().push(mention(b)).t(format!(
            " backs up {}'s {}.",
            group.name,
            asked.kind.name()
        )));
        message.pings.push(b.external_id.clone());
        said = true;
    }
    if !said {
        message = message.text(if added {
            format!(
                "{} now uses the role {}; it is open for someone to take.",
                group.name,
                asked.kind.name()
            )
        } else {
            format!(
                "{} already uses the role {}; name a user or a backup to fill it.",
                group.name,
                asked.kind.name()
            )
        });
    }
    Ok(message)
}

async fn holder_last_day(db: impl Into<Db<'_>>, group: i64, kind: Kind) -> Result<Option<NaiveDate>> {
    let day: Option<Option<String>> =
        query_scalar("SELECT last_day FROM role_holders WHERE group_id = ? AND kind = ? AND backup = ?")
            .bind(group)
            .bind(kind.name())
            .bind(false)
            .fetch_optional(db)
            .await
            .context("reading a role's term")?;
    Ok(super::day_of(day.flatten().as_deref()))
}

/// `/role signup`: `me` takes an open role the group uses, if anyone may
/// take it by signing up and they are in the group. The check and the
/// taking are one statement: two people pressing at once cannot both get it.
pub(crate) async fn signup(
    db: impl Into<Db<'_>>,
    group: &Group,
    kind: Kind,
    me: &Member,
    last_day: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<Message> {
    let mut db = db.into();
    let today = today(&mut db, group.id, now).await?;
    check_last_day(last_day, today)?;
    if !kind.self_serve() {
        return Err(refused(Line::text(format!(
            "The {} is chosen by {}'s facilitators, not by signing up: ask one of them.",
            kind.name(),
            group.name
        ))));
    }
    if !belongs(&mut db, group.id, me.id).await? {
        return Err(refused(
            Line::text(format!("Roles are for {}'s members: join it first with ", group.name))
                .cmd(format!("group join group:#{}", group.id))
                .t("."),
        ));
    }
    let taken = query(
        "INSERT INTO role_holders (group_id, kind, backup, member_id, last_day, assigned_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM group_roles WHERE group_id = ?1 AND kind = ?2)
         ON CONFLICT (group_id, kind, backup) DO UPDATE SET member_id = excluded.member_id,
           last_day = excluded.last_day, assigned_at = excluded.assigned_at
         WHERE role_holders.last_day IS NOT NULL AND role_holders.last_day < ?7",
    )
    .bind(group.id)
    .bind(kind.name())
    .bind(false)
    .bind(me.id)
    .bind(last_day.map(|d| d.format("%Y-%m-%d").to_string()))
    .bind(now.timestamp())
    .bind(today.format("%Y-%m-%d").to_string())
    .execute(&mut db)
    .await
    .context("signing up for a role")?
    .rows_affected()
        == 1;
    if taken {
        let term = last_day.map_or(String::new(), |d| format!(" until {}", d.format("%a %-d %b %Y")));
        return Ok(Message::new().line(Line::new().push(mention(me)).t(format!(
            " is {}'s {}{term}. Thank you for your service.",
            group.name,
            kind.name()
        ))));
    }
    let roles = of_group(&mut db, group.id, today).await?;
    Err(refused(match roles.iter().find(|h| h.kind == kind) {
        None => Line::text(format!(
            "{} doesn't use the role {}; nothing changed. ",
            group.name,
            kind.name()
        ))
        .cmd(format!("role list group:#{}", group.id))
        .t(" shows the roles it uses."),
        Some(Holding { holder: Some(p), .. }) if p.member.id == me.id => {
            Line::text(format!("You are {}'s {} already.", group.name, kind.name()))
        }
        Some(_) => Line::text(format!(
            "Someone holds {}'s {} already; nothing changed. ",
            group.name,
            kind.name()
        ))
        .cmd(format!("role list group:#{}", group.id))
        .t(" shows the open roles."),
    }))
}

/// Which place `/role release` frees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Holder,
    Backup,
    /// The group stops using the role (facilitators).
    Role,
}

/// What `/role release` asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Release<'a> {
    pub kind: Kind,
    pub which: Option<Which>,
    pub me: &'a Member,
    pub facilitator: bool,
}

/// `/role release`: the holder or back-up gives up their place, or a
/// facilitator frees one (or stops using the role).
pub(crate) async fn release(
    db: impl Into<Db<'_>>,
    group: &Group,
    asked: Release<'_>,
    now: DateTime<Utc>,
) -> Result<Message> {
    let mut db = db.into();
    if asked.which == Some(Which::Role) && !asked.facilitator {
        return Err(refused(Line::text(format!(
            "Only {}'s facilitators can stop the group using a role; nothing changed.",
            group.name
        ))));
    }
    let today = today(&mut db, group.id, now).await?;
    let roles = of_group(&mut db, group.id, today).await?;
    let Some(holding) = roles.iter().find(|h| h.kind == asked.kind) else {
        return Err(refused(Line::text(format!(
            "{} doesn't use the role {}; nothing changed.",
            group.name,
            asked.kind.name()
        ))));
    };
    let mine = |p: &Option<Place>| p.as_ref().is_some_and(|p| p.member.id == asked.me.id);
    let which = match asked.which {
        Some(w) => w,
        None if mine(&holding.backup) && !mine(&holding.holder) => Which::Backup,
        None => Which::Holder,
    };
    let place = match which {
        Which::Holder => &holding.holder,
        Which::Backup => &holding.backup,
        Which::Role => &None,
    };
    if !asked.facilitator && (which == Which::Role || !mine(place)) {
        return Err(refused(Line::text(format!(
            "Only {}'s {} itself or the group's facilitators can free that place; nothing changed.",
            group.name,
            match which {
                Which::Backup => format!("{}'s back-up", asked.kind.name()),
                _ => asked.kind.name().to_string(),
            }
        ))));
    }
    let name = asked.kind.name();
    if which == Which::Role {
        return stop_using(&mut db, group, asked.kind).await;
    }
    let Some(place) = place else {
        return Err(refused(Line::text(format!(
            "Nobody holds that place in {}'s {name}; nothing changed.",
            group.name
        ))));
    };
    query("DELETE FROM role_holders WHERE group_id = ? AND kind = ? AND backup = ?")
        .bind(group.id)
        .bind(name)
        .bind(which == Which::Backup)
        .execute(&mut db)
        .await
        .context("freeing a role")?;
    let what = if which == Which::Backup {
        format!("{name}'s back-up")
    } else {
        name.to_string()
    };
    let line = if place.member.id == asked.me.id {
        Line::text(format!(
            "You are no longer {}'s {what}. Thank you for your service; the place is open.",
            group.name
        ))
    } else {
        Line::new()
            .push(mention(&place.member))
            .t(format!(" is no longer {}'s {what}; the place is open.", group.name))
    };
    Ok(Message::new().line(line))
}

/// The group stops using a role: its places go with it.
async fn stop_using(db: impl Into<Db<'_>>, group: &Group, kind: Kind) -> Result<Message> {
    query("DELETE FROM group_roles WHERE group_id = ? AND kind = ?")
        .bind(group.id)
        .bind(kind.name())
        .execute(db)
        .await
        .context("removing a role")?;
    Ok(Message::new().text(format!("{} no longer uses the role {}.", group.name, kind.name())))
}
