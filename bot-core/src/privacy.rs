//! `/mydata` and `/forgetme`: everything Hearth holds about a member, shown to
//! them, or erased.
//!
//! Every row a member wrote or chose names them in a `member_id` column (each
//! feature's migration keeps to that). This module finds those tables in the
//! schema itself rather than from a list, so a table a later feature adds is
//! exported and erased without anyone remembering to come here: the one place
//! where a module reads every other module's tables, on purpose.

use serde_json::{Map, Value, json};

use crate::error::{Context, Result};
use crate::members::Member;
use crate::message::{Attachment, Line, Message};
use crate::store::{Backend, Store, query, query_as, query_scalar};

/// The tables with a `member_id` column, by name (in byte order on both
/// databases, so the export reads the same).
pub(crate) async fn member_tables(store: &Store) -> Result<Vec<String>> {
    query_scalar(
        "SELECT m.name FROM sqlite_master m
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'
           AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = 'member_id')
         ORDER BY m.name",
    )
    .on_postgres(
        "SELECT CAST(t.table_name AS TEXT) FROM information_schema.tables t
         WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
           AND t.table_name NOT LIKE '\\_sqlx%'
           AND EXISTS (SELECT 1 FROM information_schema.columns c
                       WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name
                         AND c.column_name = 'member_id')
         ORDER BY CAST(t.table_name AS TEXT) COLLATE \"C\"",
    )
    .fetch_all(store)
    .await
    .context("listing the tables that name members")
}

/// What people call a table's rows.
fn label(table: &str) -> String {
    match table {
        "community_admins" => "Communities where you are a recorded admin".into(),
        "group_members" => "Group memberships".into(),
        "group_facilitators" => "Groups you facilitate".into(),
        "rsvps" => "RSVPs".into(),
        "reminder_settings" => "Reminder settings".into(),
        "jobs" => "Deliveries to you (pending and recent)".into(),
        "checkins" => "Check-ins, with their notes".into(),
        "checkin_settings" => "Check-in settings".into(),
        "date_settings" => "How you write dates".into(),
        "join_requests" => "Requests to join groups that ask people to register".into(),
        "voice_presence" => "Voice channels Hearth sees you in".into(),
        "circle_participants" => "Talking circles you took part in".into(),
        "circle_mutes" => "Server mutes Hearth holds on you".into(),
        "role_holders" => "Service roles you hold or back up".into(),
        "calendar_feeds" => "Your private calendar link (only a fingerprint of it is kept)".into(),
        other => other.replace('_', " "),
    }
}

/// One table's rows in words, for the summary; the file has every field.
/// Settings are said as settings, and answers and deliveries are counted by
/// kind, rather than rows shown as rows.
fn in_words(table: &str, rows: &[Value]) -> String {
    let first = rows.first().unwrap_or(&Value::Null);
    let text = |k: &str| first.get(k).and_then(Value::as_str).map(str::to_string);
    let flag = |k: &str| first.get(k).and_then(Value::as_i64);
    let hhmm = |k: &str| text(k).map(|t| t.chars().take(5).collect::<String>());
    let by = |k: &str| {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for row in rows {
            let v = row.get(k).and_then(Value::as_str).unwrap_or("other").to_string();
            match counts.iter_mut().find(|(name, _)| *name == v) {
                Some((_, n)) => *n += 1,
                None => counts.push((v, 1)),
            }
        }
        counts
            .iter()
            .map(|(v, n)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match table {
        "reminder_settings" => format!(
            "Reminders: before meetings {}; by DM {}; quiet hours {}.",
            text("leads").unwrap_or_else(|| "as each group sets".into()),
            match flag("dm") {
                Some(1) => "on",
                Some(0) => "off",
                _ => "for meetings you RSVP'd to",
            },
            match (hhmm("quiet_start"), hhmm("quiet_end")) {
                (Some(a), Some(b)) => format!("{a}-{b}"),
                _ => "none".into(),
            }
        ),
        "checkin_settings" => format!(
            "Check-ins: {}; facilitators {} told when you answer 1.",
            hhmm("remind_at").map_or("no daily prompt".into(), |t| format!("a daily prompt at {t}")),
            if flag("tell_facilitators") == Some(1) {
                "are"
            } else {
                "are not"
            }
        ),
        "date_settings" => format!(
            "How you write dates: {}.",
            text("date_order").unwrap_or_default().replace('_', " ")
        ),
        "checkins" => format!("Check-ins you shared: {}, with their notes (in the file).", rows.len()),
        "rsvps" => format!("RSVPs: {} ({}).", rows.len(), by("answer")),
        "jobs" => format!(
            "Deliveries to you, pending and recent: {} ({}).",
            rows.len(),
            by("state")
        ),
        _ => format!("{}: {}.", label(table), rows.len()),
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every row of `table` that names `member`, as JSON objects.
///
/// Both databases give the same JSON: instants (Unix seconds) as UTC dates,
/// and flags (BOOLEAN on PostgreSQL) as 1 or 0, as SQLite stores them.
async fn rows(store: &Store, table: &str, member: i64) -> Result<Vec<Value>> {
    let columns: Vec<(String, String)> = query_as("SELECT name, type FROM pragma_table_info(?) ORDER BY cid")
        .on_postgres(
            "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = ?
             ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(store)
        .await
        .context("reading a table's columns")?;
    let backend = store.backend();
    let pairs: Vec<String> = columns
        .iter()
        .map(|(c, kind)| {
            let q = quoted(c);
            // Instants are stored as Unix seconds; people read them as dates.
            let value = match backend {
                Backend::Sqlite if crate::when::is_instant(c) => format!(
                    "CASE typeof({q}) WHEN 'integer' THEN strftime('%Y-%m-%dT%H:%M:%SZ', {q}, 'unixepoch') ELSE {q} END"
                ),
                Backend::Postgres if crate::when::is_instant(c) && matches!(kind.as_str(), "bigint" | "integer") => {
                    format!("to_char(to_timestamp({q}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
                }
                Backend::Postgres if kind == "boolean" => format!("CAST({q} AS INTEGER)"),
                _ => q,
            };
            format!("'{}', {value}", c.replace('\'', "''"))
        })
        .collect();
    // Rows in the order of their columns' values, the same on both (no
    // table here is ordered by when its rows were written).
    let order: Vec<String> = columns.iter().map(|(c, _)| quoted(c)).collect();
    let sql = match backend {
        Backend::Sqlite => format!(
            "SELECT json_object({}) FROM {} WHERE member_id = ? ORDER BY {}",
            pairs.join(", "),
            quoted(table),
            order.join(", ")
        ),
        Backend::Postgres => format!(
            "SELECT CAST(json_build_object({}) AS TEXT) FROM {} WHERE member_id = ? ORDER BY {}",
            pairs.join(", "),
            quoted(table),
            order.join(", ")
        ),
    };
    // Table and column names come from the schema, quoted; the member is bound.
    let found: Vec<String> = query_scalar(sql)
        .bind(member)
        .fetch_all(store)
        .await
        .context("reading a member's rows")?;
    found
        .iter()
        .map(|row| serde_json::from_str(row).context("reading a member's row as JSON"))
        .collect()
}

/// Each table's rows naming `member`, in table order, empty tables left out.
async fn everything(store: &Store, member: i64) -> Result<Vec<(String, Vec<Value>)>> {
    let mut all = Vec::new();
    for table in member_tables(store).await? {
        let found = rows(store, &table, member).await?;
        if !found.is_empty() {
            all.push((table, found));
        }
    }
    Ok(all)
}

/// The groups `member` belongs to or facilitates, with both roles named.
async fn memberships(store: &Store, member: i64) -> Result<Vec<String>> {
    let found: Vec<(String, bool, bool)> = query_as(
        "SELECT g.name,
                EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.member_id = ?1),
                EXISTS (SELECT 1 FROM group_facilitators f WHERE f.group_id = g.id AND f.member_id = ?1)
         FROM groups g
         WHERE g.id IN (SELECT group_id FROM group_members WHERE member_id = ?1
                        UNION SELECT group_id FROM group_facilitators WHERE member_id = ?1)
         ORDER BY g.name_key, g.id",
    )
    .bind(member)
    .fetch_all(store)
    .await
    .context("listing a member's groups")?;
    Ok(found
        .into_iter()
        .map(|(name, member, facilitator)| {
            let roles: Vec<&str> = [(member, "member"), (facilitator, "facilitator")]
                .into_iter()
                .filter_map(|(has, role)| has.then_some(role))
                .collect();
            format!("{name} ({})", roles.join(", "))
        })
        .collect())
}

/// `/mydata`: a summary, and every row in an attached JSON file.
pub(crate) async fn mydata(store: &Store, me: &Member, platform: &str) -> Result<Message> {
    let tables = everything(store, me.id).await?;
    let groups = memberships(store, me.id).await?;
    let mut message = Message::titled("Everything Hearth holds about you")
        .text(format!(
            "You: {} ({} user {}); time zone {}.",
            me.display_name,
            platform,
            me.external_id,
            me.timezone.as_deref().unwrap_or("not set")
        ))
        .text(if groups.is_empty() {
            "Groups: none.".to_string()
        } else {
            format!("Groups: {}.", groups.join("; "))
        });
    for (table, found) in &tables {
        message = message.text(in_words(table, found));
    }
    // The one table that names a member other than by `member_id`: a
    // meeting's chair (its steps' times, nothing anyone said).
    let chaired = crate::script::chaired(store, me.id).await?;
    if !chaired.is_empty() {
        message = message.text(format!("Meetings you chaired: {}.", chaired.len()));
    }
    let chaired: Vec<Value> = chaired
        .into_iter()
        .map(|(group, started, ended)| json!({ "group": group, "started_at": started, "ended_at": ended }))
        .collect();
    let mut data = Map::new();
    data.insert(
        "you".into(),
        json!({
            "platform": platform,
            "user_id": me.external_id,
            "display_name": me.display_name,
            "timezone": me.timezone,
            "groups": groups,
            "meetings_chaired": chaired,
        }),
    );
    let mut by_table = Map::new();
    for (table, found) in tables {
        by_table.insert(table, Value::Array(found));
    }
    data.insert("rows".into(), Value::Object(by_table));
    let content = serde_json::to_string_pretty(&Value::Object(data)).context("writing /mydata")?;
    Ok(message
        .line(
            Line::text("Every row is in the attached file. ")
                .cmd("forgetme")
                .t(" erases all of it."),
        )
        .attach(Attachment {
            filename: "hearth-mydata.json".into(),
            mime: "application/json",
            content,
        }))
}

/// Groups of which `member` is the only facilitator.
async fn sole_facilitator_of(store: &Store, member: i64) -> Result<Vec<String>> {
    query_scalar(
        "SELECT g.name FROM group_facilitators f JOIN groups g ON g.id = f.group_id
         WHERE f.member_id = ?
           AND (SELECT COUNT(*) FROM group_facilitators o WHERE o.group_id = f.group_id) = 1
         ORDER BY g.name_key, g.id",
    )
    .bind(member)
    .fetch_all(store)
    .await
    .context("finding groups with one facilitator")
}

/// Who can appoint a facilitator in `community`: its recorded admins other
/// than `member`, by name.
async fn appointers(store: &Store, community: i64, member: i64) -> Result<Vec<String>> {
    query_scalar(
        "SELECT m.display_name FROM community_admins a JOIN members m ON m.id = a.member_id
         WHERE a.community_id = ? AND a.member_id <> ? ORDER BY m.display_name, m.id",
    )
    .bind(community)
    .bind(member)
    .fetch_all(store)
    .await
    .context("listing a community's admins")
}

/// `/forgetme`: without `confirm`, what would be erased; with it, erases.
/// Returns the answer and whether anything was erased (pending deliveries
/// among it, so the scheduler looks again).
pub(crate) async fn forgetme(
    store: &Store,
    me: &Member,
    community: i64,
    confirm: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Message, bool)> {
    let tables = everything(store, me.id).await?;
    let sole = sole_facilitator_of(store, me.id).await?;
    let mut message = Message::titled(if confirm { "Erased" } else { "What /forgetme erases" });
    message = message.text(format!(
        "{} your name and user id as Hearth knows them ({}), and your settings.",
        if confirm { "Erased:" } else { "It would erase" },
        me.display_name
    ));
    for (table, found) in &tables {
        message = message.text(format!("  {}: {}", label(table), found.len()));
    }
    message = message.text("Groups and meetings you set up stay for their members, with nothing left that names you.");
    message = message.text(
        "Your moods in groups' past weeks stay in those weeks' summaries as anonymous counts, with no name, note or time, so that no summary changes and gives you away.",
    );
    if !sole.is_empty() {
        let admins = appointers(store, community, me.id).await?;
        let who = if admins.is_empty() {
            "A community admin (Manage Server on Discord, power level 100 on Matrix)".to_string()
        } else {
            format!("A community admin ({})", admins.join(", "))
        };
        message = message.line(
            Line::text(format!(
                "You {} the only facilitator of {}. {who} can appoint another with ",
                if confirm { "were" } else { "are" },
                sole.join(", ")
            ))
            .cmd("group facilitator")
            .t("."),
        );
    }
    if !confirm {
        return Ok((
            message.line(
                Line::text("To erase it all, for good: ")
                    .cmd("forgetme confirm:yes")
                    .t("."),
            ),
            false,
        ));
    }
    let member_tables = member_tables(store).await?;
    let kept = crate::checkins::closed_weeks_of(store, me.id, now).await?;
    let mut tx = store.begin().await.context("starting to forget a member")?;
    crate::checkins::keep(&mut tx, kept).await?;
    for table in member_tables {
        // The table's name comes from the schema, quoted; the member is bound.
        query(format!("DELETE FROM {} WHERE member_id = ?", quoted(&table)))
            .bind(me.id)
            .execute(&mut tx)
            .await
            .context("erasing a member's rows")?;
    }
    // Whatever else names them by reference is cleared by the schema's own
    // ON DELETE rules.
    query("DELETE FROM members WHERE id = ?")
        .bind(me.id)
        .execute(&mut tx)
        .await
        .context("erasing a member")?;
    tx.commit().await.context("committing a member's erasure")?;
    Ok((message.text("Nothing of it is left in Hearth."), true))
}
