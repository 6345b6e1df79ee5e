//! Telling people of a change to a series: a DM notice to each who said
//! they'd come, news in the group's home channel, and the platform's native
//! event mirrored again. All through the jobs table, queued in the change's
//! own write, so a crash after it commits loses nothing, and rendered here
//! when due: the kinds below are this module's, registered with the jobs
//! engine where the `Hearth` is built.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::{Context, Error, Result};
use crate::groups::Group;
use crate::io::{Delivery, Effect, EventDetails, MeetingEvent, Repeats};
use crate::jobs::{self, Due, DueDelivery, Job, Kind, Rendered, Retry, Subject};
use crate::meetings::{self, Change, Meeting};
use crate::members::{self, Member, Within};
use crate::message::Message;
use crate::store::{Db, Store, query_scalar};

/// A DM to one who said they'd come, of a change to a series.
pub(crate) static NOTICE: Kind = Kind::capped("notice", Subject::Unused);
/// A post in a group's home channel, of a change to its meetings.
pub(crate) static NEWS: Kind = Kind::capped("news", Subject::Unused);
/// A series mirrored as the platform's native event: it stands for its
/// series until the next occurrence, so it tries until then.
pub(crate) static EVENT: Kind = Kind {
    name: "event",
    subject: Subject::Unused,
    retry: Retry::UntilGiveUp,
};

/// The platform a series' group is on, as the jobs table names it.
async fn series_platform(db: impl Into<Db<'_>>, meeting: &Meeting) -> Result<crate::io::Platform> {
    let mut db = db.into();
    match members::community_of(&mut db, Within::Group(meeting.group_id)).await? {
        Some((platform, _)) => Ok(platform),
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
    db: impl Into<Db<'_>>,
    meeting: &Meeting,
    told: &meetings::Told,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut db = db.into();
    let platform = series_platform(&mut db, meeting).await?;
    let change_id = uuid::Uuid::new_v4().simple().to_string();
    for (member, change) in told {
        let payload = serde_json::to_string(change).context("writing a notice")?;
        let key = format!("n:{}:{change_id}:m{}", meeting.id, member.id);
        let job = jobs::NewJob {
            key: &key,
            kind: NOTICE.name,
            due: now,
            platform,
            subject: 0,
            member: Some(member.id),
        };
        let details = jobs::Details {
            meeting: Some(meeting.id),
            payload: Some(&payload),
            ..jobs::Details::default()
        };
        jobs::put_with(&mut db, &job, &details).await?;
    }
    Ok(())
}

/// Tells a group's home channel of a change to its meetings, through the
/// jobs table like the notices: queued in the change's own write, so a crash
/// after it commits cannot lose the post, and under a stable key, so a retry
/// is never a second post.
pub async fn queue_news(
    db: impl Into<Db<'_>>,
    meeting: &Meeting,
    news: &meetings::News,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut db = db.into();
    let platform = series_platform(&mut db, meeting).await?;
    let payload = serde_json::to_string(news).context("writing a group's news")?;
    let key = format!("h:{}:{}", meeting.id, uuid::Uuid::new_v4().simple());
    let job = jobs::NewJob {
        key: &key,
        kind: NEWS.name,
        due: now,
        platform,
        subject: 0,
        member: None,
    };
    let details = jobs::Details {
        meeting: Some(meeting.id),
        payload: Some(&payload),
        ..jobs::Details::default()
    };
    jobs::put_with(&mut db, &job, &details).await
}

/// Asks the platform to mirror a series' next occurrence as a native event,
/// where it has them. Rendered when due, so it always shows the latest state;
/// one pending mirror per series is enough.
pub async fn queue_event(db: impl Into<Db<'_>>, meeting: i64, now: DateTime<Utc>) -> Result<()> {
    let mut db = db.into();
    let Some((platform, _)) = members::community_of(&mut db, Within::Meeting(meeting)).await? else {
        return Ok(());
    };
    if !platform.mirrors_events() {
        return Ok(());
    }
    let waiting: Option<i64> = query_scalar(
        "SELECT id FROM jobs WHERE meeting_id = ? AND kind = ? AND key LIKE 'e:%' AND state = 'pending'
           AND lease_owner IS NULL",
    )
    .bind(meeting)
    .bind(EVENT.name)
    .fetch_optional(&mut db)
    .await
    .context("finding a waiting mirror")?;
    if waiting.is_some() {
        return Ok(());
    }
    // It tries until the next occurrence starts, when that one's own job
    // mirrors the series again.
    let next = match meetings::by_id_in(&mut db, meeting).await? {
        Some(m) => meetings::upcoming_in(&mut db, &m, now, 1)
            .await?
            .first()
            .map(|o| o.start),
        None => None,
    };
    let key = format!("e:{meeting}:{}", uuid::Uuid::new_v4().simple());
    let job = jobs::NewJob {
        key: &key,
        kind: EVENT.name,
        due: now,
        platform,
        subject: 0,
        member: None,
    };
    let details = jobs::Details {
        meeting: Some(meeting),
        give_up_at: next.map(|n| n.timestamp()),
        ..jobs::Details::default()
    };
    jobs::put_with(&mut db, &job, &details).await
}

/// How far past the next meeting a native event's [`Repeats`] look: over a year, so a
/// clock change or a yearly date is among them.
const REPEATS_AHEAD_DAYS: i64 = 400;

/// A series as the platform's native event: its next occurrence, or none
/// left (the mirror is then removed), with its meetings to come for a
/// platform whose events repeat.
pub(crate) async fn native_event(
    store: &Store,
    meeting: &Meeting,
    group: &Group,
    now: DateTime<Utc>,
) -> Result<MeetingEvent> {
    let mut starts: Vec<DateTime<Utc>> = meetings::upcoming(store, meeting, now, 500)
        .await?
        .into_iter()
        .map(|o| o.start)
        .collect();
    starts.sort_unstable();
    // The window opens at the next meeting, however far off it is: a series
    // that starts in two years still has its event and its year to come.
    let until = starts.first().map_or(now, |first| *first.max(&now)) + chrono::Duration::days(REPEATS_AHEAD_DAYS);
    starts.retain(|s| *s <= until);
    let rule = meeting.rrule.to_ascii_uppercase();
    let open_ended = meeting.cutoff().is_none()
        && !["COUNT=", "UNTIL=", "RDATE", "EXDATE"]
            .iter()
            .any(|part| rule.contains(part));
    Ok(MeetingEvent {
        meeting: meeting.id,
        next: starts.first().map(|start| EventDetails {
            title: meeting.name(&group.name).to_string(),
            description: format!(
                "{}. RSVP and reminders with Hearth: /meeting rsvp meeting:{}. (Hearth meeting {})",
                meetings::cadence(meeting),
                meeting.id,
                meeting.id
            ),
            start: *start,
            end: *start + meeting.duration(),
            // A native event is public to the whole server.
            location: match meetings::where_it_is(meeting, group, false) {
                meetings::Where::Place(place) => Some(place),
                meetings::Where::Channel(_) => None,
            },
            home_channel: group.home_channel.clone(),
            repeats: Repeats {
                starts: starts.clone(),
                until,
                open_ended,
            },
        }),
    })
}

// ------------------------------------------------------------ rendering

/// A series as its jobs are rendered: loaded once per series per claim, not
/// once per job.
pub(crate) struct Series {
    pub meeting: Meeting,
    pub group: Group,
    /// Its community's own id on its platform.
    pub community: String,
}

/// What a claim of a series' jobs needs to be put into words: the series
/// with their groups and communities, and the members addressed, read in a
/// few queries for the whole claim.
pub(crate) struct Claimed {
    pub series: HashMap<i64, Series>,
    pub members: HashMap<i64, Member>,
}

impl Claimed {
    pub(crate) async fn load(store: &Store, rows: &[&Job]) -> Result<Self> {
        let mut meeting_ids: Vec<i64> = rows.iter().filter_map(|r| r.meeting_id).collect();
        meeting_ids.sort_unstable();
        meeting_ids.dedup();
        let meetings = meetings::by_ids(store, &meeting_ids).await?;
        let mut group_ids: Vec<i64> = meetings.iter().map(|m| m.group_id).collect();
        group_ids.sort_unstable();
        group_ids.dedup();
        let groups: HashMap<i64, Group> = crate::groups::by_ids(store, &group_ids)
            .await?
            .into_iter()
            .map(|g| (g.id, g))
            .collect();
        let communities = members::communities_of_groups(store, &group_ids).await?;
        let series = meetings
            .into_iter()
            .filter_map(|meeting| {
                let group = groups.get(&meeting.group_id)?.clone();
                let community = communities.get(&meeting.group_id)?.clone();
                Some((
                    meeting.id,
                    Series {
                        meeting,
                        group,
                        community,
                    },
                ))
            })
            .collect();
        let member_ids: Vec<i64> = rows.iter().filter_map(|r| r.member_id).collect();
        let members = members::by_ids(store, &member_ids)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        Ok(Self { series, members })
    }

    /// The member a job is addressed to: `None` for a channel's; an error
    /// when they are gone.
    pub(crate) fn recipient(&self, row: &Job) -> Result<Option<&Member>> {
        match row.member_id {
            Some(id) => Ok(Some(self.members.get(&id).ok_or_else(|| Error::Internal {
                context: "rendering a job",
                source: "its recipient is gone".into(),
            })?)),
            None => Ok(None),
        }
    }
}

/// A series' message, to its recipient by DM or, with none, to its group's
/// home channel, under the job's key.
pub(crate) fn addressed(series: &Series, member: Option<&Member>, message: Message, key: String) -> Due {
    let effect = match member {
        Some(m) => Effect::Dm {
            user: m.external_id.clone(),
            message,
            key: Some(key),
        },
        None => Effect::Post {
            channel: series.group.home_channel.clone(),
            message,
            key: Some(key),
        },
    };
    Due::Send(Delivery {
        community: series.community.clone(),
        effect,
    })
}

/// Renders this module's kinds when due; registered with the jobs engine
/// where the `Hearth` is built.
pub(crate) fn handler() -> jobs::Handler {
    static ALL: [&Kind; 3] = [&NOTICE, &NEWS, &EVENT];
    jobs::Handler::Claim {
        kinds: &ALL,
        render: |store, jobs, now| Box::pin(render(store, jobs, now)),
    }
}

/// A claim of this module's jobs, each rendered on its own.
async fn render(store: &Store, jobs: &[Job], now: DateTime<Utc>) -> Result<Vec<Rendered>> {
    let claimed = Claimed::load(store, &jobs.iter().collect::<Vec<_>>()).await?;
    let mut out = Vec::new();
    for row in jobs {
        out.push(match render_one(store, row, &claimed, now).await {
            Ok(rendered) => rendered,
            Err(e) => Rendered::retry(row, &e),
        });
    }
    Ok(out)
}

/// One notice, news post or native event, as it stands now.
async fn render_one(store: &Store, row: &Job, claimed: &Claimed, now: DateTime<Utc>) -> Result<Rendered> {
    let Some(series) = claimed.series.get(&row.meeting_id.unwrap_or_default()) else {
        return Ok(Rendered::Drop {
            job: row.id,
            why: "its series no longer exists",
        });
    };
    let member = claimed.recipient(row)?;
    let message = if row.kind == EVENT.name {
        let event = native_event(store, &series.meeting, &series.group, now).await?;
        return Ok(Rendered::Send(Box::new(DueDelivery {
            jobs: vec![row.id],
            due: Due::Mirror {
                community: series.community.clone(),
                event,
            },
        })));
    } else if row.kind == NOTICE.name {
        let change: Change =
            serde_json::from_str(row.payload.as_deref().unwrap_or_default()).context("reading a notice")?;
        let zone = member.and_then(Member::zone).unwrap_or(series.meeting.zone());
        meetings::notice(&change, &series.meeting, &series.group, zone)
    } else {
        // News: no recipient, posted in the group's home channel.
        let news: meetings::News =
            serde_json::from_str(row.payload.as_deref().unwrap_or_default()).context("reading a group's news")?;
        meetings::news_message(&news, &series.meeting, &series.group)
    };
    Ok(Rendered::Send(Box::new(DueDelivery {
        jobs: vec![row.id],
        due: addressed(series, member, message, row.key.clone()),
    })))
}
