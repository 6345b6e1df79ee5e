//! People and communities as the core knows them, and `/timezone`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::error::{Context, Result};
use crate::io::Platform;
use crate::message::{Line, Message};
use crate::store::{Db, Store, query, query_as, query_scalar};
use crate::when::DateOrder;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Community {
    pub id: i64,
    pub timezone: String,
}

impl Community {
    pub fn zone(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }
}

/// Something that belongs to one community, to ask which community and
/// platform it is with [`community_of`].
#[derive(Debug, Clone, Copy)]
pub enum Within {
    Community(i64),
    Group(i64),
    Meeting(i64),
    Circle(i64),
}

/// Which community and platform this is: the platform, and the community's
/// own id there. The one place that asks; `None` when it is gone.
pub async fn community_of(db: impl Into<Db<'_>>, within: Within) -> Result<Option<(Platform, String)>> {
    let (sql, id) = match within {
        Within::Community(id) => ("SELECT platform, external_id FROM communities WHERE id = ?", id),
        Within::Group(id) => (
            "SELECT c.platform, c.external_id FROM groups g JOIN communities c ON c.id = g.community_id WHERE g.id = ?",
            id,
        ),
        Within::Meeting(id) => (
            "SELECT c.platform, c.external_id FROM meetings m JOIN groups g ON g.id = m.group_id
             JOIN communities c ON c.id = g.community_id WHERE m.id = ?",
            id,
        ),
        Within::Circle(id) => (
            "SELECT c.platform, c.external_id FROM circles ci JOIN communities c ON c.id = ci.community_id
             WHERE ci.id = ?",
            id,
        ),
    };
    let row: Option<(String, String)> = query_as(sql)
        .bind(id)
        .fetch_optional(db)
        .await
        .context("finding a community")?;
    Ok(row.and_then(|(platform, id)| Platform::parse(&platform).map(|p| (p, id))))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub id: i64,
    pub external_id: String,
    pub display_name: String,
    pub timezone: Option<String>,
}

impl Member {
    pub fn zone(&self) -> Option<Tz> {
        self.timezone.as_deref().and_then(|z| z.parse().ok())
    }
}

/// The community with this platform id, created with `default_zone` on first sight.
pub async fn community(
    store: &Store,
    platform: Platform,
    external_id: &str,
    default_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Community> {
    // Read first: every command names its community, and a write per
    // command would take the database's write lock for nothing.
    let known: Option<Community> =
        query_as("SELECT id, timezone FROM communities WHERE platform = ? AND external_id = ?")
            .bind(platform.as_str())
            .bind(external_id)
            .fetch_optional(store)
            .await
            .context("finding a community")?;
    if let Some(community) = known {
        return Ok(community);
    }
    query_as(
        "INSERT INTO communities (platform, external_id, timezone, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (platform, external_id) DO UPDATE SET platform = excluded.platform
         RETURNING id, timezone",
    )
    .bind(platform.as_str())
    .bind(external_id)
    .bind(default_zone.name())
    .bind(now.timestamp())
    .fetch_one(store)
    .await
    .context("upserting a community")
}

/// The person with this platform id, created on first sight; their display
/// name is kept current (it is shown back, never used for identity).
pub async fn member(
    store: &Store,
    platform: Platform,
    external_id: &str,
    display_name: &str,
    now: DateTime<Utc>,
) -> Result<Member> {
    // Read first: a write only when the person is new or renamed.
    let known = find(store, platform, external_id).await?;
    if let Some(member) = known.filter(|m| m.display_name == display_name) {
        return Ok(member);
    }
    query_as(
        "INSERT INTO members (platform, external_id, display_name, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (platform, external_id) DO UPDATE SET display_name = excluded.display_name
         RETURNING id, external_id, display_name, timezone",
    )
    .bind(platform.as_str())
    .bind(external_id)
    .bind(display_name)
    .bind(now.timestamp())
    .fetch_one(store)
    .await
    .context("upserting a member")
}

/// The person with this platform id, if Hearth knows them; never creates
/// one: what a platform reports about someone (a voice move, a mute carried
/// out) does not bring back a member who erased themselves.
pub async fn find(store: &Store, platform: Platform, external_id: &str) -> Result<Option<Member>> {
    query_as("SELECT id, external_id, display_name, timezone FROM members WHERE platform = ? AND external_id = ?")
        .bind(platform.as_str())
        .bind(external_id)
        .fetch_optional(store)
        .await
        .context("finding a member")
}

/// A person named in a command (who may never have spoken yet), without
/// touching their display name if Hearth already knows them.
pub async fn named_member(store: &Store, platform: Platform, external_id: &str, now: DateTime<Utc>) -> Result<Member> {
    query_as(
        "INSERT INTO members (platform, external_id, display_name, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (platform, external_id) DO UPDATE SET platform = excluded.platform
         RETURNING id, external_id, display_name, timezone",
    )
    .bind(platform.as_str())
    .bind(external_id)
    .bind(external_id)
    .bind(now.timestamp())
    .fetch_one(store)
    .await
    .context("upserting a named member")
}

/// Several members in one query (those of a batch of deliveries).
pub async fn by_ids(store: &Store, ids: &[i64]) -> Result<Vec<Member>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = serde_json::to_string(ids).context("listing members")?;
    query_as("SELECT id, external_id, display_name, timezone FROM members WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id")
        .on_postgres(
            "SELECT id, external_id, display_name, timezone FROM members
         WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(? AS JSON))) ORDER BY id",
        )
        .bind(list)
        .fetch_all(store)
        .await
        .context("loading members")
}

/// The community (its own id on its platform) of each of these groups, in
/// one query: [`community_of`] for a batch.
pub async fn communities_of_groups(store: &Store, groups: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
    let list = serde_json::to_string(groups).context("listing communities")?;
    let rows: Vec<(i64, String)> = query_as(
        "SELECT g.id, c.external_id FROM groups g JOIN communities c ON c.id = g.community_id
         WHERE g.id IN (SELECT value FROM json_each(?))",
    )
    .on_postgres(
        "SELECT g.id, c.external_id FROM groups g JOIN communities c ON c.id = g.community_id
         WHERE g.id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(? AS JSON)))",
    )
    .bind(list)
    .fetch_all(store)
    .await
    .context("finding communities")?;
    Ok(rows.into_iter().collect())
}

pub async fn is_recorded_admin(store: &Store, community: i64, member: i64) -> Result<bool> {
    query_scalar("SELECT EXISTS (SELECT 1 FROM community_admins WHERE community_id = ? AND member_id = ?)")
        .bind(community)
        .bind(member)
        .fetch_one(store)
        .await
        .context("checking a recorded admin")
}

/// Records `member` as the community's admin if it has none recorded yet.
/// Returns whether they are now its recorded admin.
pub async fn claim_admin(store: &Store, community: i64, member: i64) -> Result<bool> {
    query(
        "INSERT INTO community_admins (community_id, member_id)
         SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM community_admins WHERE community_id = ?)",
    )
    .bind(community)
    .bind(member)
    .bind(community)
    .execute(store)
    .await
    .context("claiming a community's admin")?;
    is_recorded_admin(store, community, member).await
}

async fn set_zone(db: &mut Db<'_>, member: i64, zone: Tz) -> Result<()> {
    query("UPDATE members SET timezone = ? WHERE id = ?")
        .bind(zone.name())
        .bind(member)
        .execute(db)
        .await
        .context("setting a member's zone")?;
    Ok(())
}

/// How `member` writes numeric dates, as they set it.
async fn date_setting(db: impl Into<Db<'_>>, member: i64) -> Result<Option<DateOrder>> {
    let order: Option<String> = query_scalar("SELECT date_order FROM date_settings WHERE member_id = ?")
        .bind(member)
        .fetch_optional(db)
        .await
        .context("loading a member's date order")?;
    Ok(order.as_deref().and_then(DateOrder::parse))
}

/// How `me` writes numeric dates: as they set it, else as their zone's
/// people do, else unknown (an ambiguous date is then asked back).
pub async fn date_order(db: impl Into<Db<'_>>, me: &Member) -> Result<Option<DateOrder>> {
    Ok(date_setting(db, me.id)
        .await?
        .or_else(|| me.zone().and_then(DateOrder::of_zone)))
}

async fn set_date_order(db: &mut Db<'_>, member: i64, order: DateOrder) -> Result<()> {
    query(
        "INSERT INTO date_settings (member_id, date_order) VALUES (?, ?)
         ON CONFLICT (member_id) DO UPDATE SET date_order = excluded.date_order",
    )
    .bind(member)
    .bind(order.name())
    .execute(db)
    .await
    .context("saving a member's date order")?;
    Ok(())
}

/// How a date order reads, with an example.
fn order_words(order: DateOrder) -> &'static str {
    match order {
        DateOrder::DayFirst => "day first (03/12 is 3 December)",
        DateOrder::MonthFirst => "month first (03/12 is 12 March)",
    }
}

/// `/timezone [zone] [dates]`: shows or sets the caller's own zone, and how
/// they write numeric dates, in the caller's write transaction (with the
/// plans that follow the zone).
pub async fn timezone(
    db: impl Into<crate::store::Db<'_>>,
    me: &Member,
    community: &Community,
    zone: Option<Tz>,
    dates: Option<DateOrder>,
    now: DateTime<Utc>,
) -> Result<Message> {
    let mut db: Db<'_> = db.into();
    if let Some(order) = dates {
        set_date_order(&mut db, me.id, order).await?;
    }
    let zone_line = timezone_line(&mut db, me, community, zone, now).await?;
    let set = date_setting(&mut db, me.id).await?;
    let by_zone = zone.or(me.zone()).and_then(DateOrder::of_zone);
    let dates_line = match (set, by_zone) {
        (Some(order), _) => Line::text(format!("You write dates {}.", order_words(order))),
        (None, Some(order)) => Line::text(format!(
            "Numeric dates are read {}, as in your zone; change it with ",
            order_words(order)
        ))
        .cmd("timezone dates:day_first")
        .t(" or ")
        .cmd("timezone dates:month_first")
        .t("."),
        (None, None) => Line::text("A date like 03/12 is asked back, since it reads two ways; ")
            .cmd("timezone dates:day_first")
            .t(" or ")
            .cmd("timezone dates:month_first")
            .t(" says how you write them. 2026-12-03 always works."),
    };
    Ok(zone_line.line(dates_line))
}

/// The zone part of `/timezone`: sets it if given, and says it.
async fn timezone_line(
    db: &mut Db<'_>,
    me: &Member,
    community: &Community,
    zone: Option<Tz>,
    now: DateTime<Utc>,
) -> Result<Message> {
    let local = |z: Tz| now.with_timezone(&z).format("%a %-d %b, %H:%M").to_string();
    Ok(match zone {
        Some(zone) => {
            set_zone(db, me.id, zone).await?;
            Message::new().line(Line::text(format!(
                "Your time zone is now {} (it's {} there). I'll show you times in it.",
                zone.name(),
                local(zone)
            )))
        }
        None => match me.zone() {
            Some(zone) => Message::new().line(Line::text(format!(
                "Your time zone is {} (it's {} there).",
                zone.name(),
                local(zone)
            ))),
            None => Message::new().line(
                Line::text(format!(
                    "You haven't set a time zone, so I use this community's: {}. Set yours with ",
                    community.zone().name()
                ))
                .cmd("timezone zone:Europe/Berlin")
                .t(" (your own zone's name)."),
            ),
        },
    })
}

/// The zone each of `ids` set for themselves (`None`: none set), for those
/// still recorded, in one query whatever their number.
pub(crate) async fn zones_of(db: impl Into<Db<'_>>, ids: &[i64]) -> Result<Vec<(i64, Option<String>)>> {
    let list = serde_json::to_string(ids).context("listing members")?;
    query_as("SELECT id, timezone FROM members WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id")
        .on_postgres(
            "SELECT id, timezone FROM members
             WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(? AS JSON))) ORDER BY id",
        )
        .bind(list)
        .fetch_all(db)
        .await
        .context("reading members' zones")
}

/// The zone of the community with this id, if there is one.
pub async fn community_zone(store: &Store, community: i64) -> Result<Option<Tz>> {
    let zone: Option<String> = query_scalar("SELECT timezone FROM communities WHERE id = ?")
        .bind(community)
        .fetch_optional(store)
        .await
        .context("reading a community's zone")?;
    Ok(zone.map(|z| z.parse().unwrap_or(Tz::UTC)))
}
