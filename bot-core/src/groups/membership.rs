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
pub(crate) async fn join(
    db: impl Into<crate::store::Db<'_>>,
    group: &Group,
    me: &Member,
    admit: Option<&Member>,
    now: DateTime<Utc>,
) -> Result<Joined> {
    let mut db: Db<'_> = db.into();
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
pub async fn leave(db: impl Into<crate::store::Db<'_>>, group: &Group, me: &Member) -> Result<Message> {
    let left = query("DELETE FROM group_members WHERE group_id = ? AND member_id = ?")
        .bind(group.id)
        .bind(me.id)
        .execute(db)
        .await
        .context("leaving a group")?;
    Ok(Message::new().text(if left.rows_affected() == 1 {
        format!("You've left {}. You're welcome back any time.", group.name)
    } else {
        format!("You weren't in {}, so there was nothing to leave.", group.name)
    }))
}

/// The groups of a community (by platform id) where `member` has a place:
/// as a member or facilitator, an answer or a place in line for one of its
/// meetings (open groups take RSVPs from anyone), a role or a milestone; in
/// the caller's transaction. None when Hearth never saw the community.
pub(crate) async fn theirs_in(
    db: impl Into<Db<'_>>,
    platform: Platform,
    community: &str,
    member: i64,
) -> Result<Vec<i64>> {
    query_scalar(
        "SELECT g.id FROM groups g JOIN communities c ON c.id = g.community_id
         WHERE c.platform = ?1 AND c.external_id = ?2 AND g.id IN
           (SELECT group_id FROM group_members WHERE member_id = ?3
            UNION SELECT group_id FROM group_facilitators WHERE member_id = ?3
            UNION SELECT m.group_id FROM rsvps r JOIN meetings m ON m.id = r.meeting_id WHERE r.member_id = ?3
            UNION SELECT m.group_id FROM rsvp_waitlist w JOIN meetings m ON m.id = w.meeting_id WHERE w.member_id = ?3
            UNION SELECT group_id FROM role_holders WHERE member_id = ?3
            UNION SELECT group_id FROM milestones WHERE member_id = ?3)
         ORDER BY g.id",
    )
    .bind(platform.as_str())
    .bind(community)
    .bind(member)
    .fetch_all(db)
    .await
    .context("finding a member's groups in a community")
}

/// Out of a group without a word, as a member and as a facilitator (a
/// ban), in the caller's write transaction.
pub(crate) async fn remove(db: impl Into<Db<'_>>, group: i64, member: i64) -> Result<()> {
    let mut db = db.into();
    for table in ["group_members", "group_facilitators"] {
        // The table's name is one of the two above, not input.
        query(format!("DELETE FROM {table} WHERE group_id = ? AND member_id = ?"))
            .bind(group)
            .bind(member)
            .execute(&mut db)
            .await
            .context("removing a member from a group")?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::super::{
        adopt_zone, belongs, by_ids, checkin_zone, facilitates_any, find, find_by_id, groups_of_member, homed_in,
        is_facilitator, memberships_of, reminder_settings, set_channel_reminders, set_reminder_leads,
    };
    use super::*;
    use crate::members::Within;

    /// The queries of groups and members, straight on the store (no command
    /// in between), so they run alike on SQLite and, with
    /// `HEARTH_TEST_POSTGRES`, on PostgreSQL.
    #[tokio::test]
    async fn groups_and_members_read_and_write_alike_on_either_store() {
        let store = Store::for_test().await.unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap();
        let community = members::community(&store, Platform::Discord, "guild", chrono_tz::UTC, now)
            .await
            .unwrap();
        let again = members::community(&store, Platform::Discord, "guild", chrono_tz::UTC, now)
            .await
            .unwrap();
        assert_eq!(again.id, community.id);
        let ann = members::member(&store, Platform::Discord, "ann", "Ann", now)
            .await
            .unwrap();
        let renamed = members::member(&store, Platform::Discord, "ann", "Annie", now)
            .await
            .unwrap();
        assert_eq!((renamed.id, renamed.display_name.as_str()), (ann.id, "Annie"));
        let bob = members::named_member(&store, Platform::Discord, "bob", now)
            .await
            .unwrap();
        let cat = members::member(&store, Platform::Discord, "cat", "Cat", now)
            .await
            .unwrap();
        let id: i64 = query_scalar(
            "INSERT INTO groups (community_id, name, name_key, topic, led_by, format, capacity, ends, home_channel,
                                 guideline, registration, tell_facilitators)
             VALUES (?, 'Grief circle', 'grief circle', 'grief', 'peer', 'online', 2, '2026-12-31', 'chan', 'g',
                     'write to us', TRUE)
             RETURNING id",
        )
        .bind(community.id)
        .fetch_one(&store)
        .await
        .unwrap();

        let group = find_by_id(&store, id).await.unwrap().unwrap();
        assert_eq!(group.ends, NaiveDate::from_ymd_opt(2026, 12, 31));
        assert!(group.tell_facilitators);
        assert_eq!(find(&store, community.id, "GRIEF Circle").await.unwrap().id, id);
        assert_eq!(find(&store, community.id, &format!("#{id}")).await.unwrap().id, id);
        assert_eq!(homed_in(&store, community.id, "chan", "x").await.unwrap().id, id);
        assert_eq!(by_ids(&store, &[id, id + 1]).await.unwrap().len(), 1);

        let (added, _) = facilitator(&store, Platform::Discord, &group, "bob", true, now)
            .await
            .unwrap();
        let (twice, _) = facilitator(&store, Platform::Discord, &group, "bob", true, now)
            .await
            .unwrap();
        assert!(added.pings.contains(&"bob".to_string()) && twice.pings.is_empty());
        assert!(is_facilitator(&store, id, bob.id).await.unwrap());
        assert!(!is_facilitator(&store, id, ann.id).await.unwrap());
        assert!(facilitates_any(&store, community.id, bob.id).await.unwrap());
        assert!(!facilitates_any(&store, community.id, ann.id).await.unwrap());

        let mut tx = store.write().await.unwrap();
        assert!(add_member(&mut tx.db(), &group, ann.id, now).await.unwrap());
        assert!(!add_member(&mut tx.db(), &group, ann.id, now).await.unwrap());
        // Asking to join tells the facilitators once a day.
        let asked = ask_to_join(&mut tx.db(), &group, &cat, "write to us", now)
            .await
            .unwrap();
        let asked_again = ask_to_join(&mut tx.db(), &group, &cat, "write to us", now)
            .await
            .unwrap();
        assert_eq!(
            (asked.response.effects.len(), asked_again.response.effects.len()),
            (1, 0)
        );
        assert!(add_member(&mut tx.db(), &group, cat.id, now).await.unwrap());
        // Two places, both taken.
        assert!(add_member(&mut tx.db(), &group, bob.id, now).await.is_err());
        tx.commit().await.unwrap();

        let expected: std::collections::HashSet<(i64, i64)> = [(id, ann.id), (id, bob.id)].into_iter().collect();
        assert_eq!(memberships_of(&store, &[ann.id, bob.id]).await.unwrap(), expected);
        assert!(belongs(&store, id, ann.id).await.unwrap() && belongs(&store, id, bob.id).await.unwrap());
        let dan = members::named_member(&store, Platform::Discord, "dan", now)
            .await
            .unwrap();
        assert!(!belongs(&store, id, dan.id).await.unwrap());
        assert_eq!(groups_of_member(&store, ann.id).await.unwrap(), vec![id]);
        assert_eq!(
            super::super::facilitators(&store, id)
                .await
                .unwrap()
                .iter()
                .map(|m| m.id)
                .collect::<Vec<_>>(),
            vec![bob.id]
        );

        assert_eq!(
            reminder_settings(&store, id).await.unwrap(),
            ("24h,1h".to_string(), true)
        );
        set_reminder_leads(&store, id, "2h").await.unwrap();
        set_channel_reminders(&store, id, false).await.unwrap();
        assert_eq!(reminder_settings(&store, id).await.unwrap(), ("2h".to_string(), false));
        adopt_zone(&store, id, "Europe/Paris").await.unwrap();
        adopt_zone(&store, id, "Asia/Tokyo").await.unwrap();
        assert_eq!(checkin_zone(&store, id).await.unwrap(), "Europe/Paris");
        assert_eq!(checkin_zone(&store, id).await.unwrap(), "Europe/Paris");

        assert_eq!(members::by_ids(&store, &[ann.id, bob.id]).await.unwrap().len(), 2);
        assert_eq!(
            members::communities_of_groups(&store, &[id])
                .await
                .unwrap()
                .get(&id)
                .map(String::as_str),
            Some("guild")
        );
        assert_eq!(
            members::zones_of(&store, &[ann.id]).await.unwrap(),
            vec![(ann.id, None)]
        );
        assert_eq!(
            members::community_of(&store, Within::Group(id)).await.unwrap(),
            Some((Platform::Discord, "guild".to_string()))
        );
        assert!(members::claim_admin(&store, community.id, ann.id).await.unwrap());
        assert!(!members::claim_admin(&store, community.id, bob.id).await.unwrap());
        assert!(members::is_recorded_admin(&store, community.id, ann.id).await.unwrap());
        assert_eq!(members::date_order(&store, &ann).await.unwrap(), None);
    }
}
