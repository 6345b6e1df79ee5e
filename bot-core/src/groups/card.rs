//! A group's info card and the directory (`/group info`, `/group list`).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{Group, facilitators, may_show_place};
use crate::error::{Context, Result};
use crate::message::{Line, Message, Span};
use crate::parse::name_key;
use crate::store::{Store, query_as, query_scalar};

async fn member_count(store: &Store, group: i64) -> Result<i64> {
    query_scalar("SELECT COUNT(*) FROM group_members WHERE group_id = ?")
        .bind(group)
        .fetch_one(store)
        .await
        .context("counting members")
}

fn led_by_label(led_by: &str) -> &'static str {
    if led_by == "professional" {
        "Professionally facilitated"
    } else {
        "Peer-led"
    }
}

/// How and where the group meets; a closed group's link only when
/// `show_link` (its members' own view). A place keeps its case: a link's
/// path and password are case-sensitive.
fn format_label(group: &Group, show_link: bool, lower: bool) -> String {
    let how = match group.format.as_str() {
        "in_person" => "In person",
        "hybrid" => "Hybrid (in person and online)",
        _ => "Online",
    };
    let how = if lower { how.to_lowercase() } else { how.to_string() };
    match &group.location {
        Some(place) if !may_show_place(group, place, show_link) => format!("{how}: the link is for members"),
        Some(place) => format!("{how}: {place}"),
        None => how,
    }
}

/// The info card: what people ask before joining a group.
/// `show_link`: the reader belongs to the group (see [`format_label`]);
/// `meets`: how often it meets, and when next (`meetings::group_meets`).
pub async fn card_message(store: &Store, group: &Group, show_link: bool, meets: Line) -> Result<Message> {
    let (members, leaders) = tokio::join!(member_count(store, group.id), facilitators(store, group.id));
    let (members, leaders) = (members?, leaders?);
    let mut led = Line::text(led_by_label(&group.led_by));
    for (i, f) in leaders.iter().enumerate() {
        led = led.t(if i == 0 { ", by " } else { ", " }).push(Span::User {
            id: f.external_id.clone(),
            name: f.display_name.clone(),
        });
    }
    let term = match group.ends {
        Some(ends) => format!("Fixed term, until {}", ends.format("%a %-d %b %Y")),
        None => "Ongoing".to_string(),
    };
    let size = match group.capacity {
        Some(cap) => format!("{members} of {cap} places taken"),
        None => format!("{members} member{}", if members == 1 { "" } else { "s" }),
    };
    let not_stated = || "Not stated; ask a facilitator".to_string();
    let mut message = Message::titled(&group.name);
    if let Some(description) = &group.description {
        message = message.text(description);
    }
    let message = message
        .field("Focus", Line::text(&group.topic))
        .field("Led", led)
        .field("Meets", meets)
        .field("Term", Line::text(term))
        .field("Size", Line::text(size))
        .field("Cost", Line::text(group.cost.clone().unwrap_or_else(not_stated)))
        .field(
            "Registration",
            match &group.registration {
                Some(r) if group.tell_facilitators => Line::text(format!("{r} ("))
                    .cmd(format!("group join group:#{}", group.id))
                    .t(" tells its facilitators you'd like to join)"),
                Some(r) => Line::text(r),
                None => Line::text("None needed: ").cmd(format!("group join group:#{}", group.id)),
            },
        )
        .field("Format", Line::text(format_label(group, show_link, false)))
        .field(
            "Home",
            Line::new().push(Span::Channel {
                id: group.home_channel.clone(),
            }),
        )
        .field("Confidentiality", Line::text(&group.guideline));
    let handles = super::payment_handles(store, group.id).await?;
    let message = if handles.is_empty() {
        message
    } else {
        let listed: Vec<String> = handles.iter().map(|(name, h)| format!("{name} {h}")).collect();
        message.field(
            "Contributions",
            Line::text(format!("{} (never expected)", listed.join(" · "))),
        )
    };
    // Registration means registration: no one-click way in.
    Ok(match group.registration {
        Some(_) => message,
        None => message.button("Join", "➕", format!("group join group:#{}", group.id)),
    })
}

/// What a group's card says of its meetings before it has any.
pub fn no_meetings() -> Line {
    Line::text("No meetings scheduled yet")
}

/// The community's group names, in order.
pub async fn names(store: &Store, community: i64) -> Result<Vec<String>> {
    query_scalar("SELECT name FROM groups WHERE community_id = ? AND retired_at IS NULL ORDER BY name_key")
        .bind(community)
        .fetch_all(store)
        .await
        .context("listing group names")
}

async fn all(store: &Store, community: i64) -> Result<Vec<Group>> {
    select_groups!("WHERE community_id = ? AND retired_at IS NULL ORDER BY name_key")
        .bind(community)
        .fetch_all(store)
        .await
        .context("listing groups")
}

/// `/group list [topic]` as text; the Meeting Guide format is [`crate::meeting_guide`]'s.
pub async fn list(store: &Store, community: i64, topic: Option<&str>) -> Result<Message> {
    let wanted = topic.map(name_key);
    let mut groups = all(store, community).await?;
    groups.retain(|g| wanted.as_ref().is_none_or(|w| name_key(&g.topic).contains(w.as_str())));
    if groups.is_empty() {
        return Ok(Message::new().line(match topic {
            Some(_) => Line::text("No group here is about that yet. ")
                .cmd("group list")
                .t(" shows them all."),
            None => Line::text("No groups yet. An admin can start one with ")
                .cmd("group create")
                .t("."),
        }));
    }
    // One query for every group's size, not one per group.
    let counts: std::collections::HashMap<i64, i64> = query_as(
        "SELECT gm.group_id, COUNT(*) FROM group_members gm JOIN groups g ON g.id = gm.group_id
         WHERE g.community_id = ? GROUP BY gm.group_id",
    )
    .bind(community)
    .fetch_all(store)
    .await
    .context("counting members of every group")?
    .into_iter()
    .collect();
    let mut message = Message::titled("Groups");
    for g in &groups {
        let members = counts.get(&g.id).copied().unwrap_or(0);
        message = message.line(Line::new().b(&g.name).t(format!(
            " (#{}): {} · {} · {} · {} member{}",
            g.id,
            g.topic,
            led_by_label(&g.led_by).to_lowercase(),
            format_label(g, false, true),
            members,
            if members == 1 { "" } else { "s" }
        )));
    }
    Ok(message.line(Line::new().cmd("group info group:NAME").t(" shows a group's card.")))
}

/// `/group list` with the finder's `day:`/`time:`: the groups that meet when
/// the reader asked (`asked`, in words), each with its nearest such meeting,
/// nearest first. `nearest` is (group, start), found by `finder` within
/// `horizon_days`.
pub async fn found(
    store: &Store,
    community: i64,
    topic: Option<&str>,
    nearest: &[(i64, DateTime<Utc>)],
    zone: Tz,
    (asked, horizon_days): (&str, i64),
) -> Result<Message> {
    let wanted = topic.map(name_key);
    let groups: std::collections::HashMap<i64, Group> = all(store, community)
        .await?
        .into_iter()
        .filter(|g| wanted.as_ref().is_none_or(|w| name_key(&g.topic).contains(w.as_str())))
        .map(|g| (g.id, g))
        .collect();
    let rows: Vec<(&Group, DateTime<Utc>)> = nearest
        .iter()
        .filter_map(|(id, at)| Some((groups.get(id)?, *at)))
        .collect();
    let heading = format!("Groups meeting {asked}, your time ({})", zone.name());
    if rows.is_empty() {
        return Ok(Message::titled(heading).line(
            Line::text(format!("No group meets then in the next {horizon_days} days. "))
                .cmd("group list")
                .t(" shows them all."),
        ));
    }
    let mut message = Message::titled(heading);
    for (g, at) in rows {
        message = message.line(
            Line::new()
                .b(&g.name)
                .t(format!(
                    " (#{}): {} · {} · {} · next: ",
                    g.id,
                    g.topic,
                    led_by_label(&g.led_by).to_lowercase(),
                    format_label(g, false, true),
                ))
                .push(Span::Time { at, zone }),
        );
    }
    Ok(message.line(Line::new().cmd("group info group:NAME").t(" shows a group's card.")))
}
