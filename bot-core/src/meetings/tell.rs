//! Telling people of a change to a series: a DM notice to each who said
//! they'd come, news in the group's home channel, and the platform's native
//! event mirrored again. All through the jobs table, queued in the change's
//! own write, so a crash after it commits loses nothing. Moved out of the
//! jobs engine (issue 26); it still writes its rows of the jobs table itself.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use crate::error::{Context, Error, Result};
use crate::groups::Group;
use crate::io::{EventDetails, MeetingEvent};
use crate::meetings::{self, Meeting};
use crate::members::{self, Within};
use crate::store::Store;

/// The platform a series' group is on, as the jobs table names it.
async fn series_platform(conn: &mut SqliteConnection, meeting: &Meeting) -> Result<&'static str> {
    match members::community_of(&mut *conn, Within::Group(meeting.group_id)).await? {
        Some((platform, _)) => Ok(platform.as_str()),
        None => Err(Error::Internal {
            context: "finding a series' platform",
            source: "its group's community is gone".into(),
        }),
    }
}

/// Tells each recipient of a change by DM, through the jobs table: a stable
/// key made once, so a retry is never a second message, and two changes in
/// one second are two notices.
pub async fn queue_notices(
    conn: &mut SqliteConnection,
    meeting: &Meeting,
    told: &meetings::Told,
    now: DateTime<Utc>,
) -> Result<()> {
    let platform = series_platform(&mut *conn, meeting).await?;
    let change_id = uuid::Uuid::new_v4().simple().to_string();
    for (member, change) in told {
        let payload = serde_json::to_string(change).context("writing a notice")?;
        sqlx::query(
            "INSERT INTO jobs (key, kind, due_at, run_at, platform, meeting_id, member_id, payload)
             VALUES (?, 'notice', ?, ?, ?, ?, ?, ?)",
        )
        .bind(format!("n:{}:{change_id}:m{}", meeting.id, member.id))
        .bind(now.timestamp())
        .bind(now.timestamp())
        .bind(platform)
        .bind(meeting.id)
        .bind(member.id)
        .bind(&payload)
        .execute(&mut *conn)
        .await
        .context("queueing a notice")?;
    }
    Ok(())
}

/// Tells a group's home channel of a change to its meetings, through the
/// jobs table like the notices: queued in the change's own write, so a crash
/// after it commits cannot lose the post, and under a stable key, so a retry
/// is never a second post.
pub async fn queue_news(
    conn: &mut SqliteConnection,
    meeting: &Meeting,
    news: &meetings::News,
    now: DateTime<Utc>,
) -> Result<()> {
    let platform = series_platform(&mut *conn, meeting).await?;
    let payload = serde_json::to_string(news).context("writing a group's news")?;
    sqlx::query(
        "INSERT INTO jobs (key, kind, due_at, run_at, platform, meeting_id, payload)
         VALUES (?, 'news', ?, ?, ?, ?, ?)",
    )
    .bind(format!("h:{}:{}", meeting.id, uuid::Uuid::new_v4().simple()))
    .bind(now.timestamp())
    .bind(now.timestamp())
    .bind(platform)
    .bind(meeting.id)
    .bind(&payload)
    .execute(&mut *conn)
    .await
    .context("queueing a group's news")?;
    Ok(())
}

/// Asks the platform to mirror a series' next occurrence as a native event,
/// where it has them. Rendered when due, so it always shows the latest state;
/// one pending mirror per series is enough.
pub async fn queue_event(conn: &mut SqliteConnection, meeting: i64, now: DateTime<Utc>) -> Result<()> {
    let Some((platform, _)) = members::community_of(&mut *conn, Within::Meeting(meeting)).await? else {
        return Ok(());
    };
    if !platform.mirrors_events() {
        return Ok(());
    }
    let waiting: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE meeting_id = ? AND kind = 'event' AND key LIKE 'e:%' AND state = 'pending'
           AND lease_owner IS NULL",
    )
    .bind(meeting)
    .fetch_optional(&mut *conn)
    .await
    .context("finding a waiting mirror")?;
    if waiting.is_some() {
        return Ok(());
    }
    // It tries until the next occurrence starts, when that one's own job
    // mirrors the series again.
    let next = match meetings::by_id_in(&mut *conn, meeting).await? {
        Some(m) => meetings::upcoming_in(&mut *conn, &m, now, 1)
            .await?
            .first()
            .map(|o| o.start),
        None => None,
    };
    sqlx::query(
        "INSERT INTO jobs (key, kind, due_at, run_at, platform, meeting_id, give_up_at)
         VALUES (?, 'event', ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
    )
    .bind(format!("e:{meeting}:{}", uuid::Uuid::new_v4().simple()))
    .bind(now.timestamp())
    .bind(now.timestamp())
    .bind(platform.as_str())
    .bind(meeting)
    .bind(next.map(|n| n.timestamp()))
    .execute(&mut *conn)
    .await
    .context("queueing a native event")?;
    Ok(())
}

/// A series as the platform's native event: its next occurrence, or none
/// left (the mirror is then removed).
pub(crate) async fn native_event(
    store: &Store,
    meeting: &Meeting,
    group: &Group,
    now: DateTime<Utc>,
) -> Result<MeetingEvent> {
    let next = meetings::upcoming(store, meeting, now, 1).await?.into_iter().next();
    Ok(MeetingEvent {
        meeting: meeting.id,
        next: next.map(|occ| EventDetails {
            title: meeting.name(&group.name).to_string(),
            description: format!(
                "{}. RSVP and reminders with Hearth: /meeting rsvp meeting:{}. (Hearth meeting {})",
                meetings::cadence(meeting),
                meeting.id,
                meeting.id
            ),
            start: occ.start,
            end: occ.start + meeting.duration(),
            // A native event is public to the whole server.
            location: match meetings::where_it_is(meeting, group, false) {
                meetings::Where::Place(place) => Some(place),
                meetings::Where::Channel(_) => None,
            },
            home_channel: group.home_channel.clone(),
        }),
    })
}
