//! A script's steps: their kinds, the TOML a script is shared as, and the
//! templates Hearth ships. Reading a script checks every step and names the
//! first thing wrong; nothing is half-read.

use serde::{Deserialize, Serialize};

use crate::circle::state::Mode;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// Words for the chair alone.
    Say,
    /// The group's own text, or a link with a short excerpt and a credit, posted.
    Reading,
    /// The group's guidelines from its card, posted.
    Guidelines,
    /// A check-in or check-out round on the talking stick.
    Round,
    /// Open sharing on the talking stick.
    Shares,
    /// A countdown only (a meditation, a video, a break).
    Timed,
    /// The group's payment handles, never pressed on anyone.
    Donation,
    Announcements,
    /// Milestones, said by those who choose to (see [`StepKind::Milestones`]'s words).
    Milestones,
}

impl StepKind {
    pub const NAMES: &'static [&'static str] = crate::spec::STEP_KINDS;

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Say => "say",
            StepKind::Reading => "reading",
            StepKind::Guidelines => "guidelines",
            StepKind::Round => "round",
            StepKind::Shares => "shares",
            StepKind::Timed => "timed",
            StepKind::Donation => "donation",
            StepKind::Announcements => "announcements",
            StepKind::Milestones => "milestones",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            StepKind::Say,
            StepKind::Reading,
            StepKind::Guidelines,
            StepKind::Round,
            StepKind::Shares,
            StepKind::Timed,
            StepKind::Donation,
            StepKind::Announcements,
            StepKind::Milestones,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether the step runs on the talking stick.
    pub fn uses_the_stick(self) -> bool {
        matches!(self, StepKind::Round | StepKind::Shares)
    }
}

/// One step as the group wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    pub title: String,
    pub minutes: i64,
    pub text: Option<String>,
    pub link: Option<String>,
    pub excerpt: Option<String>,
    pub credit: Option<String>,
    /// Round and shares: the stick's mode (round steps always go round).
    pub mode: Option<Mode>,
    pub share_secs: Option<i64>,
    /// Round and shares: the stick runs with `mute_others` (on Discord, the
    /// others in the voice channel are server-muted while one holds it).
    pub mute_others: bool,
}

impl Step {
    /// The planned length in seconds.
    pub fn planned_secs(&self) -> i64 {
        self.minutes * 60
    }

    /// The mode the stick runs in for this step.
    pub fn stick_mode(&self) -> Mode {
        match self.kind {
            StepKind::Round => Mode::Round,
            _ => self.mode.unwrap_or(Mode::Queue),
        }
    }
}

/// The longest a step's words may be, and the most steps a script has.
pub const TITLE_MAX: usize = 80;
pub const TEXT_MAX: usize = 1000;
pub const EXCERPT_MAX: usize = 300;
pub const LINK_MAX: usize = 500;
pub const CREDIT_MAX: usize = 200;
pub const STEPS_MAX: usize = 30;
pub const MINUTES_MAX: i64 = 240;

/// A script as shared: TOML with a `steps` array (and an optional name).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    steps: Vec<FileStep>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStep {
    kind: String,
    title: String,
    minutes: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    excerpt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    share_time: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    mute_others: bool,
}

/// What is wrong with a script, said so that its author can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad(pub String);

/// Reads a script from TOML: every step checked, or the first fault named.
pub fn from_toml(text: &str) -> Result<Vec<Step>, Bad> {
    let file: File =
        toml::from_str(text).map_err(|e| Bad(format!("that isn't a script I can read: {}", e.message())))?;
    if file.steps.is_empty() {
        return Err(Bad("a script needs at least one step".into()));
    }
    if file.steps.len() > STEPS_MAX {
        return Err(Bad(format!(
            "a script has at most {STEPS_MAX} steps; this one has {}",
            file.steps.len()
        )));
    }
    file.steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| step_from_file(s).map_err(|Bad(why)| Bad(format!("step {}: {why}", i + 1))))
        .collect()
}

fn step_from_file(s: FileStep) -> Result<Step, Bad> {
    let kind = StepKind::parse(s.kind.trim())
        .ok_or_else(|| Bad(format!("kind must be one of {}", StepKind::NAMES.join(", "))))?;
    let mode = match s.mode.as_deref().map(str::trim) {
        None => None,
        Some(m) => Some(Mode::parse(m).ok_or_else(|| Bad("mode must be round, queue or balanced".into()))?),
    };
    let share_secs = match s.share_time.as_deref() {
        None => None,
        Some(t) => Some(share_secs(t).ok_or_else(|| Bad("share_time must be from 30s to 60m, e.g. 3m or 90s".into()))?),
    };
    let step = Step {
        kind,
        title: s.title.trim().to_string(),
        minutes: s.minutes,
        text: tidy(s.text),
        link: tidy(s.link),
        excerpt: tidy(s.excerpt),
        credit: tidy(s.credit),
        mode,
        share_secs,
        mute_others: s.mute_others,
    };
    check(&step)?;
    Ok(step)
}

fn tidy(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A share time as typed (`3m`, `90s`), within the stick's limits.
pub fn share_secs(typed: &str) -> Option<i64> {
    let secs = i64::try_from(humantime::parse_duration(typed.trim()).ok()?.as_secs()).ok()?;
    (30..=3600).contains(&secs).then_some(secs)
}

/// A share time as a script writes it.
fn share_time(secs: i64) -> String {
    if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// One step's faults, whichever way it was written (a file, `/meeting script edit`).
pub fn check(step: &Step) -> Result<(), Bad> {
    let long = |what: &str, value: &Option<String>, max: usize| match value {
        Some(v) if v.chars().count() > max => Err(Bad(format!("{what} is longer than {max} characters"))),
        _ => Ok(()),
    };
    if step.title.is_empty() {
        return Err(Bad("every step needs a title".into()));
    }
    if step.title.chars().count() > TITLE_MAX {
        return Err(Bad(format!("the title is longer than {TITLE_MAX} characters")));
    }
    if !(0..=MINUTES_MAX).contains(&step.minutes) {
        return Err(Bad(format!("minutes must be from 0 to {MINUTES_MAX}")));
    }
    long("text", &step.text, TEXT_MAX)?;
    long("excerpt", &step.excerpt, EXCERPT_MAX)?;
    long("link", &step.link, LINK_MAX)?;
    long("credit", &step.credit, CREDIT_MAX)?;
    for value in [&step.title].into_iter().chain(
        [&step.text, &step.link, &step.excerpt, &step.credit]
            .into_iter()
            .flatten(),
    ) {
        if value.chars().any(char::is_control) {
            return Err(Bad("each value must be on one line".into()));
        }
    }
    if let Some(link) = &step.link
        && !(link.starts_with("https://") || link.starts_with("http://"))
    {
        return Err(Bad("a link must start with https://".into()));
    }
    if step.link.is_some() && step.kind != StepKind::Reading {
        return Err(Bad("only a reading has a link".into()));
    }
    if (step.mode.is_some() || step.share_secs.is_some()) && !step.kind.uses_the_stick() {
        return Err(Bad("only round and shares steps have a mode or a share_time".into()));
    }
    if step.mute_others && !step.kind.uses_the_stick() {
        return Err(Bad("only round and shares steps have mute_others".into()));
    }
    if step.kind == StepKind::Round && step.mode.is_some_and(|m| m != Mode::Round) {
        return Err(Bad(
            "a round goes round: leave out its mode, or make it a shares step".into()
        ));
    }
    Ok(())
}

/// A script as TOML: one `steps` array, each step an inline table on its own
/// line, so that the lines joined with spaces (as a chat option carries it)
/// read the same.
pub fn to_toml(steps: &[Step]) -> String {
    let mut out = String::from("steps = [\n");
    for s in steps {
        let file = FileStep {
            kind: s.kind.as_str().to_string(),
            title: s.title.clone(),
            minutes: s.minutes,
            text: s.text.clone(),
            link: s.link.clone(),
            excerpt: s.excerpt.clone(),
            credit: s.credit.clone(),
            mode: s.mode.map(|m| m.as_str().to_string()),
            share_time: s.share_secs.map(share_time),
            mute_others: s.mute_others,
        };
        out.push_str("  ");
        out.push_str(&inline(&file));
        out.push_str(",\n");
    }
    out.push_str("]\n");
    out
}

/// One step as an inline table.
fn inline(s: &FileStep) -> String {
    let quote = |v: &str| toml::Value::String(v.to_string()).to_string();
    let mut parts = vec![
        format!("kind = {}", quote(&s.kind)),
        format!("title = {}", quote(&s.title)),
        format!("minutes = {}", s.minutes),
    ];
    for (name, value) in [
        ("text", &s.text),
        ("link", &s.link),
        ("excerpt", &s.excerpt),
        ("credit", &s.credit),
        ("mode", &s.mode),
        ("share_time", &s.share_time),
    ] {
        if let Some(v) = value {
            parts.push(format!("{name} = {}", quote(v)));
        }
    }
    if s.mute_others {
        parts.push("mute_others = true".to_string());
    }
    format!("{{ {} }}", parts.join(", "))
}

/// The templates Hearth ships: (name people type, file).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("general", include_str!("../../templates/general.toml")),
    ("twelve_step", include_str!("../../templates/twelve_step.toml")),
    ("smart", include_str!("../../templates/smart.toml")),
    ("grief", include_str!("../../templates/grief.toml")),
];

/// A template's steps by its name.
pub fn template(name: &str) -> Option<Result<Vec<Step>, Bad>> {
    TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, file)| from_toml(file))
}
