//! Planning meetings' reminders: for every occurrence within the longest
//! possible lead, the jobs each recipient (and the group's channel) is owed,
//! kept in step with RSVPs, settings and changes to the series. Its jobs are
//! written through the engine's `jobs::put_with`, and rendered by
//! `reminders::send` when due.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::error::{Context, Error, Result};
use crate::io::Platform;
use crate::jobs;
use crate::meetings::tell::EVENT;
use crate::meetings::{self, Meeting, Occurrence};
use crate::members::{self, Within};
use crate::reminders::send::{ADVANCE, REMINDER};
use crate::reminders::{self, Recipient, Settings};
use crate::roles;
use crate::store::{Db, query, query_as};

/// The longest a reminder can come before its meeting: the longest lead (7
/// days) plus a day for quiet hours that move it earlier. Every occurrence
/// starting within this of now has its reminders planned.
pub const HORIZON_SECS: i64 = 8 * 86_400;
/// At most this many occurrences are planned at once (a daily series has 8).
const MAX_PLANNED_OCCURRENCES: usize = 32;

/// Whose reminders a plan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everyone: the group's channel and every DM recipient, and the roll-over.
    All,
    /// One member's DMs only (their RSVP or settings changed).
    Member(i64),
}

fn reminder_key(meeting: i64, occ: &Occurrence, lead: i64, member: Option<i64>) -> String {
    let who = member.map_or_else(|| "c".to_string(), |m| format!("m{m}"));
    format!(
        "r:{meeting}:{}:{}:{lead}:{who}",
        occ.original.timestamp(),
        occ.start.timestamp()
    )
}

#[derive(Debug, Clone)]
struct Planned {
    key: String,
    kind: &'static str,
    due: i64,
    occ: Occurrence,
    lead: i64,
    member: Option<i64>,
    /// The latest it is still worth trying (see the `give_up_at` column).
    give_up: Option<i64>,
}

/// Makes the pending reminders of a series match what is wanted now, for
/// every occurrence starting within [`HORIZON_SECS`]:
/// * creates the missing ones whose time is still to come;
/// * keeps the wanted ones that are overdue or waiting to retry;
/// * moves a changed one, unless it is retrying or claimed;
/// * removes the ones no longer wanted (a cancelled occurrence, an RSVP of
///   no, DMs turned off), unless a sender holds them.
///
/// With `catch_up` (the roll-over ran late because Hearth was down), the
/// latest past lead of each recipient is kept, to be sent late.
pub async fn plan_in(
    db: impl Into<Db<'_>>,
    meeting_id: i64,
    now: DateTime<Utc>,
    scope: Scope,
    catch_up: bool,
) -> Result<()> {
    let mut db = db.into();
    let Some(meeting) = meetings::by_id_in(&mut db, meeting_id).await? else {
        return Ok(());
    };
    let (group_leads, in_channel) = crate::groups::reminder_settings(&mut db, meeting.group_id).await?;
    let Some((platform, _)) = members::community_of(&mut db, Within::Group(meeting.group_id)).await? else {
        return Err(Error::Internal {
            context: "loading a series' group",
            source: "its community is gone".into(),
        });
    };
    let group_leads = reminders::parse_leads(&group_leads).unwrap_or_else(|_| vec![86_400, 3600]);
    let horizon = now + Duration::seconds(HORIZON_SECS);
    let coming = meetings::upcoming_in(&mut db, &meeting, now, MAX_PLANNED_OCCURRENCES + 1).await?;
    let mut within: Vec<Occurrence> = coming.iter().copied().filter(|o| o.start <= horizon).collect();
    within.truncate(MAX_PLANNED_OCCURRENCES);
    let beyond: Vec<Occurrence> = coming.iter().copied().skip(within.len()).collect();

    let recipients = recipients(&mut db, &meeting, &within, scope).await?;
    let channel = (scope == Scope::All && in_channel).then_some(group_leads.as_slice());
    let mut wanted = reminders_wanted(&meeting, &within, &recipients, channel, &group_leads);
    // Where meetings are mirrored as native events, the event moves on to
    // the next occurrence as each one starts.
    if scope == Scope::All && platform.mirrors_events() {
        wanted.extend(events_wanted(meeting.id, &within, beyond.first()));
    }
    // Where the chair has a back-up, they are told if the chair is late.
    if scope == Scope::All && roles::has_chair_backup(&mut db, meeting.group_id).await? {
        wanted.extend(late_checks_wanted(&meeting, &within));
    }
    // Where the group chose it, the meeting starts by itself.
    if scope == Scope::All && crate::script::auto::on(&mut db, meeting.group_id).await? {
        wanted.extend(autostarts_wanted(&meeting, &within));
    }
    let create = to_create(&wanted, catch_up, now);
    let advance = match beyond.first() {
        Some(next) if scope == Scope::All => Some(roll_over(meeting.id, next, now)),
        _ => None,
    };
    save(
        &mut db,
        &meeting,
        platform,
        scope,
        &wanted,
        &create,
        advance.as_ref(),
        now,
    )
    .await
}

/// The reminders each occurrence is owed: the group's channel's (`channel`,
/// its leads, when it gets them) and each DM recipient's, at their leads
/// (else the group's), moved out of their quiet hours.
fn reminders_wanted(
    meeting: &Meeting,
    within: &[Occurrence],
    recipients: &HashMap<i64, Vec<Recipient>>,
    channel: Option<&[i64]>,
    group_leads: &[i64],
) -> Vec<Planned> {
    let zone = meeting.zone();
    let mut wanted: Vec<Planned> = Vec::new();
    for occ in within {
        let mut who: Vec<(Option<i64>, Vec<i64>, Settings, Tz)> = Vec::new();
        if let Some(leads) = channel {
            who.push((None, leads.to_vec(), Settings::default(), zone));
        }
        for r in recipients.get(&occ.original.timestamp()).into_iter().flatten() {
            let settings = r.settings.clone();
            let leads = settings.leads().unwrap_or_else(|| group_leads.to_vec());
            let their_zone = r.timezone.as_deref().and_then(|z| z.parse().ok()).unwrap_or(zone);
            who.push((Some(r.id), leads, settings, their_zone));
        }
        for (member, leads, settings, their_zone) in who {
            for lead in leads {
                let due = occ.start - Duration::seconds(lead);
                let due = if member.is_some() {
                    settings.outside_quiet(due, occ.start, their_zone)
                } else {
                    due
                };
                wanted.push(Planned {
                    key: reminder_key(meeting.id, occ, lead, member),
                    kind: REMINDER.name,
                    due: due.timestamp(),
                    occ: *occ,
                    lead,
                    member,
                    give_up: Some(occ.start.timestamp()),
                });
            }
        }
    }
    wanted
}

/// The native event's moves, one as each occurrence starts. Each tries
/// until the next occurrence starts, when the next one takes over: a
/// failure at one start must not leave the event behind.
fn events_wanted(meeting: i64, within: &[Occurrence], first_beyond: Option<&Occurrence>) -> Vec<Planned> {
    let mut wanted = Vec::new();
    for (i, occ) in within.iter().enumerate() {
        let next = within.get(i + 1).or(first_beyond);
        wanted.push(Planned {
            key: format!("ep:{}:{}", meeting, occ.start.timestamp()),
            kind: EVENT.name,
            due: occ.start.timestamp(),
            occ: *occ,
            lead: 0,
            member: None,
            give_up: next.map(|n| n.start.timestamp()),
        });
    }
    wanted
}

/// The chair-late checks, one at each occurrence's start plus
/// [`roles::late::AFTER_SECS`], worth trying until the meeting ends.
fn late_checks_wanted(meeting: &Meeting, within: &[Occurrence]) -> Vec<Planned> {
    within
        .iter()
        .map(|occ| Planned {
            key: roles::late::key(meeting.id, occ.original.timestamp(), occ.start.timestamp()),
            kind: roles::late::LATE.name,
            due: occ.start.timestamp() + roles::late::AFTER_SECS,
            occ: *occ,
            lead: 0,
            member: None,
            give_up: Some(occ.start.timestamp() + meeting.duration_minutes * 60),
        })
        .collect()
}

/// The meeting's start at each occurrence's start, and the chair's panel a
/// moment later, worth trying until the meeting ends.
fn autostarts_wanted(meeting: &Meeting, within: &[Occurrence]) -> Vec<Planned> {
    use crate::script::auto;
    let mut wanted = Vec::new();
    for occ in within {
        let (original, start) = (occ.original.timestamp(), occ.start.timestamp());
        let give_up = Some(start + meeting.duration_minutes * 60);
        wanted.push(Planned {
            key: auto::start_key(meeting.id, original, start),
            kind: auto::START.name,
            due: start,
            occ: *occ,
            lead: 0,
            member: None,
            give_up,
        });
        wanted.push(Planned {
            key: auto::panel_key(meeting.id, original, start),
            kind: auto::PANEL.name,
            due: start + auto::PANEL_AFTER_SECS,
            occ: *occ,
            lead: 0,
            member: None,
            give_up,
        });
    }
    wanted
}

/// What to create now: leads still to come, and with `catch_up` the latest
/// past one per (occurrence, recipient).
fn to_create(wanted: &[Planned], catch_up: bool, now: DateTime<Utc>) -> Vec<&Planned> {
    let mut create: Vec<&Planned> = wanted.iter().filter(|p| p.due > now.timestamp()).collect();
    if catch_up {
        let mut latest: HashMap<(i64, Option<i64>), &Planned> = HashMap::new();
        for p in wanted
            .iter()
            .filter(|p| p.kind == REMINDER.name && p.due <= now.timestamp())
        {
            let slot = latest.entry((p.occ.original.timestamp(), p.member)).or_insert(p);
            if p.due > slot.due {
                *slot = p;
            }
        }
        create.extend(latest.into_values());
    }
    create
}

/// The roll-over: when the next unplanned occurrence comes within the
/// horizon. (Only moved occurrences crowding the horizon could leave one
/// unplanned inside it: then an hour on, not a busy loop.)
fn roll_over(meeting: i64, next: &Occurrence, now: DateTime<Utc>) -> Planned {
    let at = next.start - Duration::seconds(HORIZON_SECS);
    let at = if at <= now { now + Duration::hours(1) } else { at };
    // Keyed by its time too: a roll-over that finds the same occurrence
    // still crowded out plans a new one, never reuses its own spent key.
    Planned {
        key: format!(
            "a:{}:{}:{}:{}",
            meeting,
            next.original.timestamp(),
            next.start.timestamp(),
            at.timestamp()
        ),
        kind: ADVANCE.name,
        due: at.timestamp(),
        occ: *next,
        lead: 0,
        member: None,
        give_up: None,
    }
}

/// For each occurrence (by original start), who gets a DM: those who said
/// yes or maybe (unless they turned DMs off) and the group's members who
/// turned DMs on and did not say no nor wait for a place. Five queries,
/// whatever the group's size, each asked of the table's owner.
async fn recipients(
    db: impl Into<Db<'_>>,
    meeting: &Meeting,
    occurrences: &[Occurrence],
    scope: Scope,
) -> Result<HashMap<i64, Vec<Recipient>>> {
    let mut db = db.into();
    let (Some(first), Some(last)) = (occurrences.first(), occurrences.last()) else {
        return Ok(HashMap::new());
    };
    let originals: HashSet<i64> = occurrences.iter().map(|o| o.original.timestamp()).collect();
    let span = originals.iter().fold(
        (first.original.timestamp(), last.original.timestamp()),
        |(lo, hi), o| (lo.min(*o), hi.max(*o)),
    );
    let only = match scope {
        Scope::All => None,
        Scope::Member(m) => Some(m),
    };
    // Scoped to one member, each query goes by that member's index, so an
    // RSVP's plan costs the same in a group of 10 or of 10,000.
    let mut rsvps = meetings::rsvps_between(&mut db, meeting.id, span, only).await?;
    // One waiting for a place has none: not reminded as if going (with the
    // way in to a full meeting), but once a place is theirs.
    let waiting = meetings::waiting_between(&mut db, meeting.id, span, only).await?;
    rsvps.extend(waiting.into_iter().map(|(o, m)| (o, m, WAITING.to_string())));
    let always = reminders::dm_on_in_group(&mut db, meeting.group_id, only).await?;
    let holders = roles::holders_of_group(&mut db, meeting.group_id, only).await?;
    let holder_ids: Vec<i64> = holders.iter().map(|(id, _)| *id).collect();
    let answered = answered(&mut db, &rsvps, &holder_ids).await?;
    let mut out = by_occurrence(&originals, &rsvps, &answered, &always);
    with_role_holders(&mut out, occurrences, meeting.zone(), (&rsvps, &answered), &holders);
    Ok(out)
}

/// A role holder is reminded of each meeting in their term, as one who said
/// yes is: with their own leads and quiet hours, unless they said no to it
/// or turned DMs off (once each, whatever else brings them a reminder).
fn with_role_holders(
    out: &mut HashMap<i64, Vec<Recipient>>,
    occurrences: &[Occurrence],
    zone: Tz,
    (rsvps, answered): (&[(i64, i64, String)], &[Recipient]),
    holders: &[(i64, Option<chrono::NaiveDate>)],
) {
    for occ in occurrences {
        let day = occ.start.with_timezone(&zone).date_naive();
        let list = out.entry(occ.original.timestamp()).or_default();
        for (member, last_day) in holders {
            let said_no = rsvps
                .iter()
                .any(|(o, m, a)| *o == occ.original.timestamp() && m == member && a == "no");
            let Some(r) = answered.iter().find(|r| r.id == *member) else {
                continue;
            };
            if last_day.is_none_or(|last| day <= last)
                && !said_no
                && r.settings.dm != Some(false)
                && !list.iter().any(|x| x.id == *member)
            {
                list.push(r.clone());
            }
        }
    }
}

/// Those who said yes or maybe to some occurrence, and the group's role
/// holders, with their settings and zone: two queries, whatever their number.
async fn answered(db: impl Into<Db<'_>>, rsvps: &[(i64, i64, String)], holders: &[i64]) -> Result<Vec<Recipient>> {
    let mut db = db.into();
    let mut yes_or_maybe: Vec<i64> = rsvps
        .iter()
        .filter(|(_, _, a)| matches!(a.as_str(), "yes" | "maybe"))
        .map(|(_, m, _)| *m)
        .chain(holders.iter().copied())
        .collect();
    yes_or_maybe.sort_unstable();
    yes_or_maybe.dedup();
    if yes_or_maybe.is_empty() {
        return Ok(Vec::new());
    }
    let zones = members::zones_of(&mut db, &yes_or_maybe).await?;
    let mut settings = reminders::settings_of(&mut db, &yes_or_maybe).await?;
    Ok(zones
        .into_iter()
        .map(|(id, timezone)| Recipient {
            id,
            timezone,
            settings: settings.remove(&id).unwrap_or_default(),
        })
        .collect())
}

/// The answer a plan reads for one who waits for a place (`rsvp_waitlist`).
const WAITING: &str = "waiting";

/// Who gets a DM for each occurrence: the yes and maybe answers (unless
/// DMs are off), in answer order, then those with DMs always on who did
/// not say no and do not wait for a place, each once.
fn by_occurrence(
    originals: &HashSet<i64>,
    rsvps: &[(i64, i64, String)],
    answered: &[Recipient],
    always: &[Recipient],
) -> HashMap<i64, Vec<Recipient>> {
    let by_id: HashMap<i64, &Recipient> = answered.iter().chain(always.iter()).map(|r| (r.id, r)).collect();
    let mut said: HashMap<(i64, i64), &str> = HashMap::new();
    for (occ, member, answer) in rsvps {
        said.insert((*occ, *member), answer.as_str());
    }
    let mut out = HashMap::new();
    for occ in originals {
        let mut list: Vec<Recipient> = Vec::new();
        let mut seen = HashSet::new();
        for (o, member, answer) in rsvps {
            if o == occ
                && matches!(answer.as_str(), "yes" | "maybe")
                && let Some(r) = by_id.get(member)
                && r.settings.dm != Some(false)
                && seen.insert(*member)
            {
                list.push((*r).clone());
            }
        }
        for r in always {
            if !matches!(said.get(&(*occ, r.id)), Some(&("no" | WAITING))) && seen.insert(r.id) {
                list.push(r.clone());
            }
        }
        out.insert(*occ, list);
    }
    out
}

#[expect(clippy::too_many_arguments, reason = "one plan's parts, all needed to write it")]
async fn save(
    db: impl Into<Db<'_>>,
    meeting: &Meeting,
    platform: Platform,
    scope: Scope,
    wanted: &[Planned],
    create: &[&Planned],
    advance: Option<&Planned>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut db = db.into();
    let only = match scope {
        Scope::All => None,
        Scope::Member(m) => Some(m),
    };
    let pending = pending(&mut db, meeting.id, only, now).await?;
    let mut wanted_due: HashMap<&str, i64> = wanted.iter().map(|p| (p.key.as_str(), p.due)).collect();
    if let Some(a) = advance {
        wanted_due.insert(a.key.as_str(), a.due);
    }
    let mut existing = HashSet::new();
    for (id, key, kind, due, attempts, claimed) in pending {
        if kind != REMINDER.name && only.is_some() {
            continue;
        }
        existing.insert(key.clone());
        match wanted_due.get(key.as_str()) {
            None if !claimed => {
                query("DELETE FROM jobs WHERE id = ?")
                    .bind(id)
                    .execute(&mut db)
                    .await
                    .context("removing a job")?;
            }
            Some(new_due) if *new_due != due && attempts == 0 && !claimed => {
                query("UPDATE jobs SET due_at = ?, run_at = ? WHERE id = ?")
                    .bind(*new_due)
                    .bind(*new_due)
                    .bind(id)
                    .execute(&mut db)
                    .await
                    .context("moving a job")?;
            }
            _ => {}
        }
    }
    for job in create.iter().copied().chain(advance) {
        if !existing.contains(&job.key) {
            put(&mut db, meeting.id, platform, job).await?;
        }
    }
    Ok(())
}

/// The series' pending reminders and roll-overs in a plan's scope (`only`
/// one member's reminders), for occurrences still to start (the scheduler
/// drops those that started): id, key, kind, due, attempts, and whether a
/// sender holds it now.
async fn pending(
    db: impl Into<Db<'_>>,
    meeting: i64,
    only: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, String, String, i64, i64, bool)>> {
    match only {
        None => query_as(
            "SELECT id, key, kind, due_at, attempts, lease_owner IS NOT NULL AND lease_until > ? FROM jobs
             WHERE meeting_id = ? AND state = 'pending' AND starts_at > ?
               AND (kind IN (?, ?, ?, ?, ?) OR (kind = ? AND key LIKE 'ep:%'))",
        )
        .bind(now.timestamp())
        .bind(meeting)
        .bind(now.timestamp())
        .bind(REMINDER.name)
        .bind(ADVANCE.name)
        .bind(roles::late::LATE.name)
        .bind(crate::script::auto::START.name)
        .bind(crate::script::auto::PANEL.name)
        .bind(EVENT.name),
        Some(member) => query_as(
            "SELECT id, key, kind, due_at, attempts, lease_owner IS NOT NULL AND lease_until > ? FROM jobs
             INDEXED BY jobs_by_member
             WHERE member_id = ? AND meeting_id = ? AND state = 'pending' AND starts_at > ? AND kind = ?",
        )
        // PostgreSQL has no index hints: its planner picks the member's index.
        .on_postgres(
            "SELECT id, key, kind, due_at, attempts, lease_owner IS NOT NULL AND lease_until > ? FROM jobs
             WHERE member_id = ? AND meeting_id = ? AND state = 'pending' AND starts_at > ? AND kind = ?",
        )
        .bind(now.timestamp())
        .bind(member)
        .bind(meeting)
        .bind(now.timestamp())
        .bind(REMINDER.name),
    }
    .fetch_all(db)
    .await
    .context("loading a series' jobs")
}

/// Writes one planned job through the engine.
async fn put(db: impl Into<Db<'_>>, meeting: i64, platform: Platform, job: &Planned) -> Result<()> {
    let mut db = db.into();
    let Some(due) = DateTime::from_timestamp(job.due, 0) else {
        return Ok(());
    };
    let new = jobs::NewJob {
        key: &job.key,
        kind: job.kind,
        due,
        platform,
        subject: 0,
        member: job.member,
    };
    let details = jobs::Details {
        meeting: Some(meeting),
        occurrence: job.occ.original.timestamp(),
        starts_at: job.occ.start.timestamp(),
        lead_secs: job.lead,
        payload: None,
        give_up_at: job.give_up,
    };
    jobs::put_with(&mut db, &new, &details).await
}

/// Re-plans every live series of a group (after its members or leads
/// change), in the caller's write transaction.
pub async fn plan_group_in(db: impl Into<Db<'_>>, group: i64, now: DateTime<Utc>, scope: Scope) -> Result<()> {
    let mut db = db.into();
    for id in meetings::live_of_group(&mut db, group).await? {
        plan_in(&mut db, id, now, scope, false).await?;
    }
    Ok(())
}

/// Re-plans one member's reminders in every series they are part of (after
/// their settings or zone change), in the caller's write transaction.
pub async fn plan_member_in(db: impl Into<Db<'_>>, member: i64, now: DateTime<Utc>) -> Result<()> {
    let mut db = db.into();
    let groups = crate::groups::groups_of_member(&mut db, member).await?;
    for id in meetings::live_of_member(&mut db, &groups, member).await? {
        plan_in(&mut db, id, now, Scope::Member(member), false).await?;
    }
    Ok(())
}
