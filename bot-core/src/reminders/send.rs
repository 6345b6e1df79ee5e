//! Sending meetings' reminders: when a claimed one still goes out (not if
//! its meeting started, a closer one is due too, or its occurrence was
//! cancelled or moved), the digests of several to one place, and the
//! "advance" roll-over that plans the next occurrences. The kinds below are
//! this module's, registered with the jobs engine where the `Hearth` is
//! built; what a reminder says is [`card`]'s.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::error::{Context, Result};
use crate::io::{Delivery, Effect};
use crate::jobs::{self, Due, DueDelivery, Job, Kind, Rendered, Subject};
use crate::meetings::tell::{Claimed, Series, addressed};
use crate::meetings::{self, Occurrence};
use crate::members::Member;
use crate::message::{Line, Message};
use crate::reminders::card;
use crate::reminders::plan::{Scope, plan_in};
use crate::store::{Store, query_as};

/// A reminder of one occurrence, to a member by DM or to the group's channel.
pub(crate) static REMINDER: Kind = Kind::capped("reminder", Subject::Unused);
/// A series' roll-over: plans the occurrences that come within the horizon.
pub(crate) static ADVANCE: Kind = Kind::capped("advance", Subject::Unused);

/// Past this, a reminder says it is late.
const LATE_AFTER_SECS: i64 = 120;

/// Renders this module's kinds when due; registered with the jobs engine
/// where the `Hearth` is built.
pub(crate) fn handler() -> jobs::Handler {
    static ALL: [&Kind; 2] = [&REMINDER, &ADVANCE];
    jobs::Handler::Claim {
        kinds: &ALL,
        render: |store, jobs, now| Box::pin(render(store, jobs, now)),
    }
}

/// A claim of reminders and roll-overs: reminders to one place due at one
/// instant go out as one digest.
async fn render(store: &Store, jobs: &[Job], now: DateTime<Utc>) -> Result<Vec<Rendered>> {
    // When several reminders to one recipient for one occurrence are
    // overdue at once (after downtime), only the one closest to the start
    // goes out: the batch knows which, over the whole table.
    let batch = Batch::load(store, jobs, now).await?;
    let mut out = Vec::new();
    let mut rendered = Vec::new();
    for row in jobs {
        match render_one(store, row, now, &batch).await {
            Ok(Ok((due, part))) => rendered.push((row.id, due, part)),
            Ok(Err(done)) => out.push(done),
            Err(e) => out.push(Rendered::retry(row, &e)),
        }
    }
    out.extend(gather(rendered).into_iter().map(|d| Rendered::Send(Box::new(d))));
    Ok(out)
}

/// One claimed reminder with its entry for a digest, or what became of it
/// (a roll-over carried out, a reminder dropped).
async fn render_one(
    store: &Store,
    row: &Job,
    now: DateTime<Utc>,
    batch: &Batch,
) -> Result<std::result::Result<(Due, Part), Rendered>> {
    if row.kind == ADVANCE.name {
        let meeting = row.meeting_id.unwrap_or_default();
        let mut tx = store.write().await.context("starting a write")?;
        let late = now.timestamp() - row.due_at > LATE_AFTER_SECS;
        plan_in(&mut tx, meeting, now, Scope::All, late).await?;
        jobs::finish_in(&mut tx, row.id, "sent", None, now).await?;
        tx.commit().await.context("committing a roll-over")?;
        return Ok(Err(Rendered::Done));
    }
    if let Some(why) = batch.reminder_void(row, now) {
        return Ok(Err(Rendered::Drop { job: row.id, why }));
    }
    let meeting_id = row.meeting_id.unwrap_or_default();
    let Some(series) = batch.claimed.series.get(&meeting_id) else {
        return Ok(Err(Rendered::Drop {
            job: row.id,
            why: "its series no longer exists",
        }));
    };
    let member = batch.claimed.recipient(row)?;
    let (yes, maybe) = batch
        .counts
        .get(&(meeting_id, row.occurrence))
        .copied()
        .unwrap_or_default();
    let waiting = batch
        .waiting
        .get(&(meeting_id, row.occurrence))
        .copied()
        .unwrap_or_default();
    let counts = (yes, maybe, waiting);
    let place = match member {
        Some(m) => format!("m:{}", m.id),
        None => format!("c:{}:{}", series.community, series.group.home_channel),
    };
    // A closed group's link only to its members and facilitators, by DM
    // (groups::may_show_place).
    let to_members = member.is_some_and(|m| batch.memberships.contains(&(series.group.id, m.id)));
    // One that went out in a digest before (its sender died before recording
    // it) goes with exactly the same reminders again, under the same key.
    let again = row.sent_as.as_ref().filter(|k| batch.whole_again.contains(*k));
    let place = match again {
        Some(key) => (format!("as:{key}"), to_members),
        None => (place, to_members),
    };
    let (mut message, mut part) = reminder(row, series, member, counts, now, place);
    part.sent_as = again.cloned();
    // A role holder is told which role is theirs this time.
    if let Some(m) = member
        && let Some(held) = batch.roles.get(&(series.group.id, m.id))
    {
        let day = crate::when::at(row.starts_at)
            .with_timezone(&series.meeting.zone())
            .date_naive();
        if let Some(line) = crate::roles::reminder_line(held, day) {
            message.lines.insert(0, line);
        }
    }
    Ok(Ok((addressed(series, member, message, row.key.clone()), part)))
}

/// At most this many reminders go in one digest: each gets a numbered
/// button, and a card stays short enough to read.
const DIGEST_MAX: usize = 10;
/// The digest's buttons, one per meeting, in order.
const KEYCAPS: [&str; DIGEST_MAX] = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟"];

/// Reminders gathered for one digest: each job, its own delivery, its entry.
type Gathered = Vec<(i64, Due, Part)>;

/// A reminder as one entry of a digest.
struct Part {
    /// Where it goes and the instant it fell due: what a digest's entries share.
    together: (String, i64),
    key: String,
    name: String,
    entry: Line,
    going: String,
    late: bool,
    /// The key of the digest it went out in before, to go out under again.
    sent_as: Option<String>,
}

/// Reminders to one place (a room, a member's DMs) that fell due at the same
/// instant go out together, as one message per [`DIGEST_MAX`]: a room with
/// several meetings starting at once gets one card that lists them instead
/// of a burst of cards, and every one of them arrives with the first. A
/// digest takes the place of its first reminder in due order; everything
/// else goes out as it is.
fn gather(rendered: Vec<(i64, Due, Part)>) -> Vec<DueDelivery> {
    let mut sizes: HashMap<(String, i64), usize> = HashMap::new();
    for (_, _, p) in &rendered {
        *sizes.entry(p.together.clone()).or_default() += 1;
    }
    let mut groups: HashMap<(String, i64), Gathered> = HashMap::new();
    // Each delivery, or the digest group whose first reminder stood there.
    let mut order: Vec<std::result::Result<DueDelivery, (String, i64)>> = Vec::new();
    for (job, due, part) in rendered {
        match part {
            // A digest going out again is one even if one reminder is left of it.
            p if sizes.get(&p.together).copied().unwrap_or(0) > 1 || p.sent_as.is_some() => {
                let members = groups.entry(p.together.clone()).or_default();
                if members.is_empty() {
                    order.push(Err(p.together.clone()));
                }
                members.push((job, due, p));
            }
            _ => order.push(Ok(DueDelivery { jobs: vec![job], due })),
        }
    }
    let mut out = Vec::new();
    for slot in order {
        match slot {
            Ok(delivery) => out.push(delivery),
            Err(together) => {
                let mut members = groups.remove(&together).unwrap_or_default();
                while !members.is_empty() {
                    let rest = members.split_off(members.len().min(DIGEST_MAX));
                    out.extend(digest(std::mem::replace(&mut members, rest)));
                }
            }
        }
    }
    out
}

/// One digest of reminders that share a place and a due instant, sent where
/// the first of them would have gone.
fn digest(members: Gathered) -> Option<DueDelivery> {
    let jobs: Vec<i64> = members.iter().map(|(job, ..)| *job).collect();
    let (_, first, _) = members.first()?;
    let Due::Send(Delivery { community, effect }) = first else {
        return None;
    };
    let community = community.clone();
    let key = match &members[0].2.sent_as {
        Some(key) => key.clone(),
        None => jobs::joint_key(members.iter().map(|(_, _, p)| p.key.as_str())),
    };
    let mut message = Message::titled(format!("Reminders: {} meetings", members.len()));
    for (i, (_, _, part)) in members.iter().enumerate() {
        let mut line = Line::new().b(format!("{}. {}", i + 1, part.name));
        line.0.extend(part.entry.0.iter().cloned());
        message = message.line(line);
    }
    if members.iter().any(|(_, _, p)| p.late) {
        message = message.text("(Sent late: I was offline when these were due.)");
    }
    message = message
        .line(
            Line::text("To answer maybe or not this time: ")
                .cmd("meeting rsvp")
                .t("."),
        )
        .line(
            Line::text("If you need support right now, ")
                .cmd("crisis")
                .t(" lists crisis lines."),
        );
    for ((_, _, part), emoji) in members.iter().zip(KEYCAPS) {
        message = message.button(format!("Going: {}", part.name), emoji, part.going.clone());
    }
    let effect = match effect {
        Effect::Dm { user, .. } => Effect::Dm {
            user: user.clone(),
            message,
            key: Some(key),
        },
        Effect::Post { channel, .. } => Effect::Post {
            channel: channel.clone(),
            message,
            key: Some(key),
        },
        _ => return None,
    };
    Some(DueDelivery {
        jobs,
        due: Due::Send(Delivery { community, effect }),
    })
}

/// What a batch of claimed jobs needs to be put into words, read in a few
/// queries for the whole batch rather than several per job.
struct Batch {
    claimed: Claimed,
    counts: HashMap<(i64, i64), (i64, i64)>,
    /// How many wait for a place, by (meeting, occurrence).
    waiting: HashMap<(i64, i64), i64>,
    /// (group, member) for the batch's recipients: who may see a link.
    memberships: HashSet<(i64, i64)>,
    /// The roles the batch's recipients hold, by (group, member).
    roles: crate::roles::Held,
    /// Cancelled (None) and moved (Some) occurrences among the batch's.
    exceptions: HashMap<(i64, i64), Option<i64>>,
    /// For each (series, occurrence, recipient) of a reminder in the batch,
    /// the shortest lead of its pending reminders already due, in the whole
    /// table: only that one goes out after downtime.
    closest: HashMap<(i64, i64, Option<i64>), i64>,
    /// The digests that went out before (their keys, see `Job::sent_as`)
    /// whose still pending reminders are all in this batch: these go out
    /// again under the same key. A digest with some of its reminders
    /// recorded sent went out; one with some claimed elsewhere goes under a
    /// new key rather than risk the platform dropping a part as a repeat.
    whole_again: HashSet<String>,
}

impl Batch {
    async fn load(store: &Store, rows: &[Job], now: DateTime<Utc>) -> Result<Self> {
        let reminders: Vec<&Job> = rows.iter().filter(|r| r.kind == REMINDER.name).collect();
        let claimed = Claimed::load(store, &reminders).await?;
        let member_ids: Vec<i64> = reminders.iter().filter_map(|r| r.member_id).collect();
        let occurrences: Vec<(i64, i64)> = reminders
            .iter()
            .filter_map(|r| Some((r.meeting_id?, r.occurrence)))
            .collect();
        let counts = meetings::rsvp_counts_of(store, &occurrences).await?;
        let waiting = meetings::waiting_of(store, &occurrences).await?;
        let memberships = crate::groups::memberships_of(store, &member_ids).await?;
        let roles = crate::roles::held_by(store, &member_ids).await?;
        let exceptions = meetings::exceptions_of(store, &occurrences).await?;
        let recipients: Vec<(i64, i64, Option<i64>)> = reminders
            .iter()
            .filter_map(|r| Some((r.meeting_id?, r.occurrence, r.member_id)))
            .collect();
        let list = serde_json::to_string(&recipients).context("listing reminders' recipients")?;
        let closest: Vec<(i64, i64, Option<i64>, i64)> = query_as(
            "SELECT j.meeting_id, j.occurrence, j.member_id, MIN(j.lead_secs)
             FROM json_each(?) t JOIN jobs j
               ON j.meeting_id = json_extract(t.value, '$[0]') AND j.occurrence = json_extract(t.value, '$[1]')
              AND j.member_id IS json_extract(t.value, '$[2]')
             WHERE j.state = 'pending' AND j.kind = ? AND j.due_at <= ?
             GROUP BY j.meeting_id, j.occurrence, j.member_id",
        )
        .on_postgres(
            "SELECT j.meeting_id, j.occurrence, j.member_id, MIN(j.lead_secs)
             FROM json_array_elements(CAST(? AS JSON)) t JOIN jobs j
               ON j.meeting_id = CAST(t.value->>0 AS BIGINT) AND j.occurrence = CAST(t.value->>1 AS BIGINT)
              AND j.member_id IS NOT DISTINCT FROM CAST(t.value->>2 AS BIGINT)
             WHERE j.state = 'pending' AND j.kind = ? AND j.due_at <= ?
             GROUP BY j.meeting_id, j.occurrence, j.member_id",
        )
        .bind(list)
        .bind(REMINDER.name)
        .bind(now.timestamp())
        .fetch_all(store)
        .await
        .context("finding the closest due reminders")?;
        let mut here: HashMap<&str, i64> = HashMap::new();
        for key in reminders.iter().filter_map(|r| r.sent_as.as_deref()) {
            *here.entry(key).or_default() += 1;
        }
        let keys: Vec<&str> = here.keys().copied().collect();
        let pending = jobs::pending_of_deliveries(store, &keys).await?;
        let whole_again = here
            .into_iter()
            .filter(|(key, n)| pending.get(*key) == Some(n))
            .map(|(key, _)| key.to_string())
            .collect();
        Ok(Self {
            claimed,
            counts,
            waiting,
            memberships,
            roles,
            exceptions,
            whole_again,
            closest: closest
                .into_iter()
                .map(|(m, o, who, lead)| ((m, o, who), lead))
                .collect(),
        })
    }

    /// Why a claimed reminder is not to go out, if it is not: its meeting
    /// started, a closer reminder is due too, or its series or occurrence
    /// changed since it was planned (a second line of defence: the change
    /// re-plans in its own transaction).
    fn reminder_void(&self, row: &Job, now: DateTime<Utc>) -> Option<&'static str> {
        let meeting = row.meeting_id.unwrap_or_default();
        if now.timestamp() >= row.starts_at {
            return Some("its meeting had already started");
        }
        if self
            .closest
            .get(&(meeting, row.occurrence, row.member_id))
            .is_some_and(|lead| *lead < row.lead_secs)
        {
            return Some("a later overdue reminder supersedes it");
        }
        if self.claimed.series.get(&meeting).is_some_and(|s| s.meeting.cancelled) {
            return Some("its series was cancelled");
        }
        match self.exceptions.get(&(meeting, row.occurrence)) {
            Some(None) => Some("its occurrence was cancelled"),
            Some(Some(to)) if *to != row.starts_at => Some("its occurrence moved"),
            None if row.starts_at != row.occurrence => Some("its occurrence moved back"),
            _ => None,
        }
    }
}

/// A reminder card ([`card::card`]), and the same reminder as an
/// entry of a digest.
fn reminder(
    row: &Job,
    ctx: &Series,
    member: Option<&Member>,
    counts: (i64, i64, i64),
    now: DateTime<Utc>,
    (place_key, to_members): (String, bool),
) -> (Message, Part) {
    let Series { meeting, group, .. } = ctx;
    let zone = member.and_then(Member::zone).unwrap_or(meeting.zone());
    let occ = Occurrence {
        original: crate::when::at(row.occurrence),
        start: crate::when::at(row.starts_at),
    };
    let name = meeting.name(&group.name).to_string();
    let late = now.timestamp() - row.due_at > LATE_AFTER_SECS;
    let (message, entry) = card::card(meeting, group, &occ, zone, counts, now, late, to_members);
    let part = Part {
        together: (place_key, row.due_at),
        key: row.key.clone(),
        name,
        entry,
        going: meetings::rsvp_command(meeting, &occ, "yes"),
        late,
        sent_as: None,
    };
    (message, part)
}
