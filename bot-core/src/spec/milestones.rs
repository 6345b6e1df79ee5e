//! Milestones in the spec: `milestone set|clear`, a member's own choice to
//! have a milestone said at their group's meeting. `COMMANDS` lists them in
//! its order.

use super::{CommandSpec, GROUP, Kind, Role, opt, req};

/// The longest name a milestone is said under.
pub const MILESTONE_NAME_MAX: usize = 40;

pub(super) const MILESTONE_SET: CommandSpec = CommandSpec {
    name: "milestone set",
    description: "Have your milestone said at your group's meeting (30 days, 1 year…)",
    who: Role::Member,
    options: &[
        GROUP,
        req(
            "date",
            "The day it began, YYYY-MM-DD (a recovery date, or any you choose)",
            Kind::Date,
        ),
        opt(
            "name",
            "What to call you (default: your display name)",
            Kind::Text {
                max: MILESTONE_NAME_MAX,
            },
        ),
    ],
};

pub(super) const MILESTONE_CLEAR: CommandSpec = CommandSpec {
    name: "milestone clear",
    description: "Nothing is said for you at the group's meetings from now on",
    who: Role::Member,
    options: &[GROUP],
};
