//! The meeting itself in the spec: the run of a group's script (`meeting
//! start|next|back|skip|extend|end|phrase`) and the script's own commands
//! (`meeting script …`). `COMMANDS` lists them in its order.

use super::{CIRCLE_MODES, CONFIRM, CommandSpec, GROUP, Kind, ON_OFF, OptSpec, Role, YES_NO, opt, req};

/// A meeting script's step kinds (`script::steps::StepKind` names them back).
pub const STEP_KINDS: &[&str] = &[
    "say",
    "reading",
    "guidelines",
    "round",
    "shares",
    "timed",
    "donation",
    "announcements",
    "milestones",
];
/// The meeting script templates Hearth ships (`script::steps::TEMPLATES`).
pub const SCRIPT_TEMPLATES: &[&str] = &["general", "twelve_step", "smart", "grief"];
/// The chair's quick phrases (`script::PHRASES` has their words).
pub const PHRASES: &[&str] = &["move_on", "own_experience", "one_voice", "wrap_up"];
/// The longest script an import takes (Discord's longest text option).
pub const SCRIPT_TOML_MAX: usize = 6000;

/// A running meeting's commands name its group where several run in one channel.
const RUNNING_GROUP: OptSpec = opt(
    "group",
    "The group whose meeting this is, where several run here",
    Kind::Group,
);
const SCRIPT_GROUP: OptSpec = req(
    "group",
    "The group whose script this is (in a group's home channel, that group)",
    Kind::Group,
);

/// The run of a meeting's script: `meeting next|back|skip|extend|end`.
macro_rules! meeting_press {
    ($name:literal, $description:literal) => {
        CommandSpec {
            name: $name,
            description: $description,
            who: Role::Member,
            options: &[RUNNING_GROUP],
        }
    };
}

pub(super) const MEETING_START: CommandSpec = CommandSpec {
    name: "meeting start",
    description: "Starts the group's meeting from its script; you chair it, with a private panel",
    // Facilitators, and the group's chair or the chair's back-up (checked
    // where it runs: the roles are the group's).
    who: Role::Member,
    options: &[GROUP],
};

pub(super) const MEETING_NEXT: CommandSpec =
    meeting_press!("meeting next", "The meeting's next step (its chair, or a facilitator)");

pub(super) const MEETING_BACK: CommandSpec = meeting_press!(
    "meeting back",
    "Back to the meeting's step before (its chair, or a facilitator)"
);

pub(super) const MEETING_SKIP: CommandSpec =
    meeting_press!("meeting skip", "Skips the meeting's step (its chair, or a facilitator)");

pub(super) const MEETING_EXTEND: CommandSpec = meeting_press!(
    "meeting extend",
    "Two more minutes for the meeting's step (its chair, or a facilitator)"
);

pub(super) const MEETING_END: CommandSpec =
    meeting_press!("meeting end", "Ends the meeting; the chair gets its steps' times");

pub(super) const MEETING_PANEL: CommandSpec = meeting_press!(
    "meeting panel",
    "The running meeting's panel, privately (its chair, the back-up, or a facilitator)"
);

pub(super) const MEETING_PHRASE: CommandSpec = CommandSpec {
    name: "meeting phrase",
    description: "Posts one of the chair's quick phrases in the meeting's channel",
    who: Role::Member,
    options: &[
        req(
            "phrase",
            "move_on, own_experience, one_voice or wrap_up",
            Kind::Choice(PHRASES),
        ),
        RUNNING_GROUP,
    ],
};

pub(super) const SCRIPT_SHOW: CommandSpec = CommandSpec {
    name: "meeting script show",
    description: "The group's meeting script: its steps and their planned minutes",
    who: Role::Member,
    options: &[SCRIPT_GROUP],
};

pub(super) const SCRIPT_EDIT: CommandSpec = CommandSpec {
    name: "meeting script edit",
    description: "Changes, adds (one past the last) or removes a step of the group's script",
    who: Role::Facilitator,
    options: &[
        SCRIPT_GROUP,
        opt(
            "step",
            "The step's number, as script show lists it (needed but for autostart alone)",
            Kind::Int { min: 1, max: 30 },
        ),
        opt(
            "kind",
            "say, reading, guidelines, round, shares, timed, donation, …",
            Kind::Choice(STEP_KINDS),
        ),
        opt("title", "The step's title", Kind::Text { max: 80 }),
        opt(
            "minutes",
            "How long it is planned to take",
            Kind::Int { min: 0, max: 240 },
        ),
        opt(
            "text",
            "What the chair reads, or the reading's own words",
            Kind::Text { max: 1000 },
        ),
        opt("link", "A reading's link (https://…)", Kind::Text { max: 500 }),
        opt(
            "excerpt",
            "A short excerpt of the linked reading",
            Kind::Text { max: 300 },
        ),
        opt("credit", "The reading's credit line", Kind::Text { max: 200 }),
        opt(
            "mode",
            "Shares: queue or balanced (a round goes round)",
            Kind::Choice(CIRCLE_MODES),
        ),
        opt(
            "share_time",
            "Round and shares: time per share, e.g. 3m",
            Kind::Text { max: 20 },
        ),
        opt("remove", "yes: removes the step", Kind::Choice(CONFIRM)),
        opt(
            "mute_others",
            "Round and shares, on Discord: mute the others while one holds the stick",
            Kind::Choice(YES_NO),
        ),
        opt(
            "autostart",
            "on: the meeting starts by itself at each scheduled start",
            Kind::Choice(ON_OFF),
        ),
    ],
};

pub(super) const SCRIPT_TEMPLATE: CommandSpec = CommandSpec {
    name: "meeting script template",
    description: "Copies one of Hearth's script templates to the group, to edit",
    who: Role::Facilitator,
    options: &[
        SCRIPT_GROUP,
        req(
            "template",
            "general, twelve_step, smart or grief",
            Kind::Choice(SCRIPT_TEMPLATES),
        ),
    ],
};

pub(super) const SCRIPT_EXPORT: CommandSpec = CommandSpec {
    name: "meeting script export",
    description: "The group's script as a TOML file, for another group to import",
    who: Role::Facilitator,
    options: &[SCRIPT_GROUP],
};

pub(super) const SCRIPT_IMPORT: CommandSpec = CommandSpec {
    name: "meeting script import",
    description: "Replaces the group's script with a shared one (TOML), checked first",
    who: Role::Facilitator,
    options: &[
        SCRIPT_GROUP,
        req(
            "toml",
            "The script, as an export gives it",
            Kind::Text { max: SCRIPT_TOML_MAX },
        ),
    ],
};
