//! The meeting itself: a group's format as a script of typed steps, and the
//! run of it that Hearth walks the chair through with a private panel.
//! The steps, their TOML and the templates are in `steps`; the run is the
//! pure machine in [`state`], stored by `db`; what it says is in `words`.
//! The talking stick of a round or shares step is the circle's own,
//! started and ended by the Hearth around these calls.

pub(crate) mod auto;
mod db;
pub mod state;
pub mod steps;
mod words;

use chrono::{DateTime, Utc};

use self::db::{NewRun, RunRow};
use self::state::{Moved, Press, Refusal, Run};
use self::steps::{Bad, Step, StepKind};
use crate::error::{Context, Error, Result, UserError};
use crate::message::{Attachment, Line, Message};
use crate::store::Store;

pub use self::words::PHRASES;

impl From<Bad> for Error {
    fn from(Bad(why): Bad) -> Self {
        Error::User(UserError::Refused(Line::text(format!("Nothing was changed: {why}."))))
    }
}

fn refused(line: Line) -> Error {
    Error::User(UserError::Refused(line))
}

/// The group a script belongs to, as the commands need it.
#[derive(Clone, Copy)]
pub(crate) struct Of<'a> {
    pub id: i64,
    pub name: &'a str,
}

/// `/meeting script show`.
pub(crate) async fn show(store: &Store, group: Of<'_>) -> Result<Message> {
    let listing = words::listing(group.name, &db::steps(store, group.id).await?);
    Ok(words::with_autostart(listing, db::autostart(store, group.id).await?))
}

/// Whether the meeting starts by itself, under a listing.
pub(crate) fn with_autostart(listing: Message, on: bool) -> Message {
    words::with_autostart(listing, on)
}

/// `/meeting script edit autostart:on|off`: whether the meeting starts by
/// itself at each occurrence's start (the caller plans its jobs).
pub(crate) async fn set_autostart(tx: &mut crate::store::Tx, group: Of<'_>, on: bool) -> Result<Message> {
    db::set_autostart(&mut *tx, group.id, on).await?;
    let listing = words::listing(group.name, &db::steps(&mut *tx, group.id).await?);
    Ok(words::with_autostart(listing, on))
}

/// A script may not change under a running meeting: its steps are the run's.
async fn not_running(tx: &mut crate::store::Tx, group: i64) -> Result<()> {
    if db::open_of_group(&mut *tx, group).await?.is_some() {
        return Err(refused(
            Line::text("The group's meeting is running; change its script after ")
                .cmd("meeting end")
                .t("."),
        ));
    }
    Ok(())
}

/// Replaces a group's script (a template, an import) in one write.
async fn replace(store: &Store, group: Of<'_>, steps: &[Step], said: &str) -> Result<Message> {
    let mut tx = store.write().await.context("starting a write")?;
    not_running(&mut tx, group.id).await?;
    db::replace(&mut tx, group.id, steps).await?;
    tx.commit().await.context("saving a script")?;
    Ok(words::listing(group.name, steps).line(Line::text(said.to_string())))
}

/// `/meeting script template`: a copy of one of Hearth's templates.
pub(crate) async fn template(store: &Store, group: Of<'_>, name: &str) -> Result<Message> {
    let Some(steps) = steps::template(name) else {
        return Err(refused(Line::text(format!(
            "There is no template {name}; there are {}.",
            steps::TEMPLATES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ))));
    };
    replace(
        store,
        group,
        &steps?,
        "Copied. Edit any step with /meeting script edit, or fill in the readings.",
    )
    .await
}

/// `/meeting script export`: the script as a TOML file.
pub(crate) async fn export(store: &Store, group: Of<'_>) -> Result<Message> {
    let steps = db::steps(store, group.id).await?;
    if steps.is_empty() {
        return Ok(words::listing(group.name, &steps));
    }
    Ok(Message::titled(format!("{} · meeting script", group.name))
        .text("Another group imports it with /meeting script import.")
        .attach(Attachment {
            filename: "meeting-script.toml".into(),
            mime: "application/toml",
            content: steps::to_toml(&steps),
        }))
}

/// `/meeting script import`: a shared script replaces the group's, checked first.
pub(crate) async fn import(store: &Store, group: Of<'_>, text: &str) -> Result<Message> {
    let steps = steps::from_toml(text)?;
    replace(store, group, &steps, "Imported.").await
}

/// `/meeting script edit`, as typed: the step to change (one past the last
/// adds one), and what to set.
pub(crate) struct Edit<'a> {
    pub step: Option<i64>,
    pub remove: bool,
    pub kind: Option<&'a str>,
    pub title: Option<&'a str>,
    pub minutes: Option<i64>,
    pub text: Option<&'a str>,
    pub link: Option<&'a str>,
    pub excerpt: Option<&'a str>,
    pub credit: Option<&'a str>,
    pub mode: Option<&'a str>,
    pub share_time: Option<&'a str>,
    pub mute_others: Option<bool>,
    pub autostart: Option<bool>,
}

pub(crate) async fn edit(store: &Store, group: Of<'_>, e: &Edit<'_>) -> Result<Message> {
    let Some(step) = e.step else {
        return Err(Bad("name the step to change (step:N), or give only autostart".into()).into());
    };
    let mut tx = store.write().await.context("starting a write")?;
    not_running(&mut tx, group.id).await?;
    let mut steps = db::steps(&mut tx, group.id).await?;
    let i = usize::try_from(step - 1).unwrap_or(usize::MAX);
    if i > steps.len() {
        return Err(refused(Line::text(format!(
            "The script has {} steps: step can be 1 to {} (one past the last adds a step).",
            steps.len(),
            steps.len() + 1
        ))));
    }
    if e.remove {
        if i < steps.len() {
            steps.remove(i);
        }
    } else {
        let step = edited(steps.get(i).cloned(), e)?;
        steps::check(&step)?;
        if i < steps.len() {
            steps[i] = step;
        } else if steps.len() < steps::STEPS_MAX {
            steps.push(step);
        } else {
            return Err(Bad(format!("a script has at most {} steps", steps::STEPS_MAX)).into());
        }
    }
    db::replace(&mut tx, group.id, &steps).await?;
    tx.commit().await.context("saving a script")?;
    Ok(words::listing(group.name, &steps))
}

/// A step with the edit's fields set (a new one needs a kind and a title).
fn edited(old: Option<Step>, e: &Edit<'_>) -> Result<Step> {
    let kind = match e.kind {
        Some(k) => StepKind::parse(k).ok_or_else(|| Bad("kind is not a step kind".into()))?,
        None => old
            .as_ref()
            .map(|s| s.kind)
            .ok_or_else(|| Bad("a new step needs a kind and a title".into()))?,
    };
    let title = e
        .title
        .map(str::to_string)
        .or_else(|| old.as_ref().map(|s| s.title.clone()));
    let title = title.ok_or_else(|| Bad("a new step needs a kind and a title".into()))?;
    let set = |new: Option<&str>, old: Option<String>| new.map(str::to_string).or(old);
    let old = old.unwrap_or(Step {
        kind,
        title: title.clone(),
        minutes: 5,
        text: None,
        link: None,
        excerpt: None,
        credit: None,
        mode: None,
        share_secs: None,
        mute_others: false,
    });
    let mode = match e.mode {
        Some(m) => Some(
            crate::circle::state::Mode::parse(m).ok_or_else(|| Bad("mode must be round, queue or balanced".into()))?,
        ),
        None => old.mode.filter(|_| kind.uses_the_stick()),
    };
    let share_secs = match e.share_time {
        Some(t) => Some(steps::share_secs(t).ok_or_else(|| Bad("share_time must be from 30s to 60m, e.g. 3m".into()))?),
        None => old.share_secs.filter(|_| kind.uses_the_stick()),
    };
    Ok(Step {
        kind,
        title,
        minutes: e.minutes.unwrap_or(old.minutes),
        text: set(e.text, old.text),
        link: set(e.link, old.link),
        excerpt: set(e.excerpt, old.excerpt),
        credit: set(e.credit, old.credit),
        mode,
        share_secs,
        // Asked for on a step off the stick, it is refused by `steps::check`.
        mute_others: e.mute_others.unwrap_or(old.mute_others && kind.uses_the_stick()),
    })
}

/// A run that moved: what the Hearth needs to carry it out.
pub(crate) struct Turn {
    pub run: RunRow,
    pub steps: Vec<Step>,
    /// The step now running, when it began on this press (not after +2 min).
    pub entered: Option<usize>,
    /// The talking stick to end: the step it ran for is over.
    pub end_circle: Option<i64>,
    /// The chair's panel (or, once it ended, the record).
    pub panel: Message,
    /// What the room reads.
    pub post: Option<Message>,
}

/// What a step says in the room, with the group's card in hand.
pub(crate) struct Card<'a> {
    pub guideline: &'a str,
    pub zone: chrono_tz::Tz,
}

/// `/meeting start`: a run of the group's script, its chair the caller.
pub(crate) async fn start(
    store: &Store,
    (group, card): (Of<'_>, &Card<'_>),
    chair: Option<i64>,
    channel: &str,
    meeting: Option<(i64, i64)>,
    autostarted: bool,
    now: DateTime<Utc>,
) -> Result<Turn> {
    let mut tx = store.write().await.context("starting a write")?;
    if db::open_of_group(&mut tx, group.id).await?.is_some() {
        return Err(refused(
            Line::text("The group's meeting is already running; ")
                .cmd("meeting next")
                .t(" and the panel go on with it."),
        ));
    }
    let steps = db::steps(&mut tx, group.id).await?;
    if steps.is_empty() {
        return Err(refused(
            Line::text("The group has no script yet: ")
                .cmd("meeting script template")
                .t(" copies one to start from."),
        ));
    }
    let run = db::create(
        &mut tx,
        &NewRun {
            group: group.id,
            meeting,
            chair,
            channel,
            autostarted,
        },
        now.timestamp(),
    )
    .await?;
    let state = Run::new(steps.len(), now.timestamp());
    let handles = crate::groups::payment_handles(&mut tx, group.id).await?;
    let said = milestones_at(&mut tx, &steps[0], (group.id, run.id), card.zone, now).await?;
    tx.commit().await.context("starting a meeting")?;
    tracing::info!(run = run.id, group = group.id, "meeting started");
    let public = words::Public {
        group: group.name,
        guideline: card.guideline,
        handles: &handles,
        zone: card.zone,
        milestones: &said,
    };
    Ok(Turn {
        panel: words::panel((group.id, group.name), &steps, &state, now.timestamp()),
        post: Some(words::step_post(&steps[0], &public, now)),
        entered: Some(0),
        end_circle: None,
        run,
        steps,
    })
}

/// How far back a milestones step looks when the group has no earlier meeting.
const MILESTONES_DAYS: u64 = 7;
/// The furthest back it looks, however long since the last meeting.
const MILESTONES_DAYS_MAX: u64 = 366;

/// At a milestones step, the milestones of those who opted in that fall
/// since the group's last meeting on an earlier day (or in the last
/// [`MILESTONES_DAYS`]), up to today as the group's calendar reads it.
async fn milestones_at(
    tx: &mut crate::store::Tx,
    step: &Step,
    (group, run): (i64, i64),
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>> {
    if step.kind != StepKind::Milestones {
        return Ok(Vec::new());
    }
    let today = now.with_timezone(&zone).date_naive();
    let (midnight, _) = crate::when::resolve(today.and_time(chrono::NaiveTime::MIN), zone);
    let last = db::previous_start(&mut *tx, group, run, midnight.timestamp()).await?;
    let floor = today - chrono::Days::new(MILESTONES_DAYS_MAX);
    let after = match last {
        Some(at) => crate::when::at(at).with_timezone(&zone).date_naive().max(floor),
        None => today - chrono::Days::new(MILESTONES_DAYS),
    };
    crate::milestones::due(&mut *tx, group, after, today).await
}

/// The group's running meeting, and whether `member` chairs it.
pub(crate) async fn running(store: &Store, group: i64) -> Result<Option<RunRow>> {
    db::open_of_group(store, group).await
}

/// The groups whose meeting runs at `channel`.
pub(crate) async fn running_at(store: &Store, community: i64, channel: &str) -> Result<Vec<i64>> {
    db::open_groups_at(store, community, channel).await
}

fn no_meeting() -> Error {
    refused(
        Line::text("The group's meeting isn't running. A facilitator starts it with ")
            .cmd("meeting start")
            .t("."),
    )
}

/// Next, Back, Skip, +2 min or End, by the chair or a facilitator.
pub(crate) async fn press(
    store: &Store,
    (group, card): (Of<'_>, &Card<'_>),
    press: Press,
    now: DateTime<Utc>,
) -> Result<Turn> {
    let mut tx = store.write().await.context("starting a write")?;
    let Some(run) = db::open_of_group(&mut tx, group.id).await? else {
        return Err(no_meeting());
    };
    let steps = db::steps(&mut tx, group.id).await?;
    let before = db::load(&mut tx, &run, steps.len()).await?;
    let mut state = before.clone();
    let moved = state.press(press, now.timestamp()).map_err(|r| match r {
        Refusal::AtTheStart => refused(Line::text("This is the first step; there is nothing before it.")),
        Refusal::Over => no_meeting(),
    })?;
    db::save(&mut tx, run.id, &before, &state).await?;
    let handles = crate::groups::payment_handles(&mut tx, group.id).await?;
    let said = match moved {
        Moved::To(i) => milestones_at(&mut tx, &steps[i], (group.id, run.id), card.zone, now).await?,
        _ => Vec::new(),
    };
    tx.commit().await.context("moving a meeting on")?;
    let public = words::Public {
        group: group.name,
        guideline: card.guideline,
        handles: &handles,
        zone: card.zone,
        milestones: &said,
    };
    let t = now.timestamp();
    let (entered, panel, post) = match moved {
        Moved::Extended => (None, words::panel((group.id, group.name), &steps, &state, t), None),
        Moved::To(i) => (
            Some(i),
            words::panel((group.id, group.name), &steps, &state, t),
            Some(words::step_post(&steps[i], &public, now)),
        ),
        Moved::Ended => (
            None,
            words::record(group.name, &steps, &state),
            Some(words::ended_post(group.name)),
        ),
    };
    let stick_over = moved != Moved::Extended && run.circle_id.is_some();
    Ok(Turn {
        end_circle: run.circle_id.filter(|_| stick_over),
        entered,
        panel,
        post,
        run,
        steps,
    })
}

/// The panel as it stands (after a restart, or for the chair to see again).
pub(crate) async fn panel(store: &Store, group: Of<'_>, now: DateTime<Utc>) -> Result<(RunRow, Message)> {
    let Some(run) = db::open_of_group(store, group.id).await? else {
        return Err(no_meeting());
    };
    let steps = db::steps(store, group.id).await?;
    let state = db::load(store, &run, steps.len()).await?;
    Ok((
        run.clone(),
        words::panel((group.id, group.name), &steps, &state, now.timestamp()),
    ))
}

/// A quick phrase by its name, for the room.
pub(crate) fn phrase(name: &str) -> Option<Message> {
    PHRASES
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(.., words)| Message::new().text(*words))
}

/// Records the talking stick a run's step runs on.
pub(crate) async fn set_circle(store: &Store, run: i64, circle: Option<i64>) -> Result<()> {
    db::set_circle(store, run, circle).await
}

/// The meetings `member` chaired: (group, started, ended), Unix seconds,
/// for `/mydata`. (`/forgetme` erases the chair from them by the schema's
/// `ON DELETE SET NULL`.)
pub(crate) async fn chaired(store: &Store, member: i64) -> Result<Vec<(String, i64, Option<i64>)>> {
    db::chaired(store, member).await
}

/// Ended runs older than `before` go, with their times.
pub(crate) async fn sweep(store: &Store, before: i64) -> Result<u64> {
    db::sweep(store, before).await
}

#[cfg(test)]
mod tests;
