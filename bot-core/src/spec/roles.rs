//! Service roles in the spec: `role list|assign|signup|release`. `COMMANDS`
//! lists them in its order.

use super::{CommandSpec, GROUP, Kind, OptSpec, Role, opt, req};

/// The service roles a group can use (`roles::Kind` names them back).
pub const ROLE_KINDS: &[&str] = &["chair", "cohost", "timekeeper", "secretary", "reader", "greeter"];
/// Which place `/role release` frees.
pub const ROLE_PLACES: &[&str] = &["holder", "backup", "role"];

const ROLE: OptSpec = req(
    "role",
    "chair, cohost, timekeeper, secretary, reader or greeter",
    Kind::Choice(ROLE_KINDS),
);

pub(super) const ROLE_LIST: CommandSpec = CommandSpec {
    name: "role list",
    description: "A group's service roles: who holds each, until when, the back-ups, the open ones",
    who: Role::Member,
    options: &[GROUP],
};

pub(super) const ROLE_ASSIGN: CommandSpec = CommandSpec {
    name: "role assign",
    description: "Gives a service role (and its back-up) to members of the group, or opens it",
    who: Role::Facilitator,
    options: &[
        GROUP,
        ROLE,
        opt("user", "Who holds it (none: the role is open to sign up)", Kind::User),
        opt("backup", "Who steps in when the holder cannot", Kind::User),
        opt("until", "The last day of the term (YYYY-MM-DD)", Kind::Date),
    ],
};

pub(super) const ROLE_SIGNUP: CommandSpec = CommandSpec {
    name: "role signup",
    description: "Takes an open service role in your group (the chair and co-host are assigned)",
    who: Role::Member,
    options: &[
        GROUP,
        ROLE,
        opt("until", "The last day you'll serve (YYYY-MM-DD)", Kind::Date),
    ],
};

pub(super) const ROLE_RELEASE: CommandSpec = CommandSpec {
    name: "role release",
    description: "Gives up your service role; facilitators free anyone's, or stop using a role",
    who: Role::Member,
    options: &[
        GROUP,
        ROLE,
        opt(
            "place",
            "holder or backup (default: yours); role: the group stops using it",
            Kind::Choice(ROLE_PLACES),
        ),
    ],
};
