//! The single source of truth for every command: names, descriptions, options,
//! their types and choices, and who may use them. `/help`, the text parser and
//! the Discord registration are all generated from [`COMMANDS`].

use std::fmt;

mod milestones;
mod roles;
mod script;

pub use milestones::MILESTONE_NAME_MAX;
pub use roles::{ROLE_KINDS, ROLE_PLACES};
pub use script::{PHRASES, SCRIPT_TEMPLATES, SCRIPT_TOML_MAX, STEP_KINDS};

/// The roles, lowest first: each includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Member,
    Facilitator,
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Member => "member",
            Role::Facilitator => "facilitator",
            Role::Admin => "admin",
        })
    }
}

/// What a value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text of at most `max` characters, on one line.
    Text { max: usize },
    /// A whole number in a range.
    Int { min: i64, max: i64 },
    /// One of a fixed set, matched without regard to case.
    Choice(&'static [&'static str]),
    /// A person: a platform user id or mention.
    User,
    /// A group of this community, by name (or `#id`).
    Group,
    /// An IANA time zone name such as `Europe/Berlin`.
    Timezone,
    /// A channel or room of this community.
    Channel,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// The name of a command in this spec.
    Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// Full name, words separated by one space: `group create`.
    pub name: &'static str,
    pub description: &'static str,
    /// The least role that may use it. Facilitator commands are checked
    /// against the group named by their `group` option.
    pub who: Role,
    pub options: &'static [OptSpec],
}

impl OptSpec {
    /// Whether it must be typed: a required group is not, where the channel
    /// is one group's home (that group is meant).
    pub const fn must_be_typed(&self) -> bool {
        self.required && !matches!(self.kind, Kind::Group)
    }
}

impl CommandSpec {
    pub fn option(&self, name: &str) -> Option<&'static OptSpec> {
        self.options.iter().find(|o| o.name == name)
    }
}

const fn req(name: &'static str, description: &'static str, kind: Kind) -> OptSpec {
    OptSpec {
        name,
        description,
        kind,
        required: true,
    }
}

const fn opt(name: &'static str, description: &'static str, kind: Kind) -> OptSpec {
    OptSpec {
        name,
        description,
        kind,
        required: false,
    }
}

pub const NAME_MAX: usize = 80;
pub const LED_BY: &[&str] = &["peer", "professional"];
pub const FORMATS: &[&str] = &["online", "in_person", "hybrid"];
pub const LIST_FORMATS: &[&str] = &["text", "meeting_guide"];
pub const FACILITATOR_ACTIONS: &[&str] = &["add", "remove"];
pub const RSVP_ANSWERS: &[&str] = &["yes", "maybe", "no"];
pub const ON_OFF: &[&str] = &["on", "off"];
/// `/meeting calendar feed:` (issue 29).
pub const CALENDAR_FEED: &[&str] = &["subscribe", "revoke"];
/// The longest slug of a community's web address (`/community publish`).
pub const SLUG_MAX: usize = 40;
/// The talking stick's modes (`circle::state::Mode` names them back).
pub const CIRCLE_MODES: &[&str] = &["round", "queue", "balanced"];
/// How a community reads a date like 03/12 (`when::DateOrder` names them back).
pub const DATE_ORDERS: &[&str] = &["day_first", "month_first"];
/// What a check-in's `mood` accepts.
pub const MOOD_CHOICES: &[&str] = &["1", "2", "3", "4", "5", "pass"];
/// The longest a resource's title, link, topic and description may be.
pub const RESOURCE_TITLE_MAX: usize = 100;
pub const RESOURCE_URL_MAX: usize = 500;
pub const RESOURCE_TOPIC_MAX: usize = 40;
pub const RESOURCE_DESCRIPTION_MAX: usize = 300;
pub const YES_NO: &[&str] = &["yes", "no"];
pub const CONFIRM: &[&str] = &["yes"];

const GROUP_NAME: Kind = Kind::Text { max: NAME_MAX };
const TOPIC: Kind = Kind::Text { max: 60 };
const DESCRIPTION: Kind = Kind::Text { max: 1000 };
const SHORT: Kind = Kind::Text { max: 200 };
const CAPACITY: Kind = Kind::Int { min: 2, max: 10_000 };
/// The group finder's words (`weekday`, `evening`) and times (`18:00`).
const FINDER_WORDS: Kind = Kind::Text { max: 60 };
const CLOCK: Kind = Kind::Text { max: 5 };

/// The group card's fields, shared by `group create` (where the first three
/// are required) and `group edit` (where all are optional).
macro_rules! group_card_options {
    ($first:ident) => {
        [
            $first("name", "The group's name", GROUP_NAME),
            $first(
                "topic",
                "What the group is about, e.g. grief, recovery, caregiving",
                TOPIC,
            ),
            $first("led_by", "Peer-led or professionally facilitated", Kind::Choice(LED_BY)),
            opt(
                "description",
                "A few sentences for people deciding whether to join",
                DESCRIPTION,
            ),
            opt("format", "Online, in person or hybrid", Kind::Choice(FORMATS)),
            opt("location", "Where it meets in person, or the link it meets at", SHORT),
            opt("capacity", "How many members it can take", CAPACITY),
            opt(
                "cost",
                "What it costs, e.g. free, or a sliding scale",
                Kind::Text { max: 100 },
            ),
            opt("registration", "How to register, if needed", SHORT),
            opt("ends", "For a fixed-term group, its last day (YYYY-MM-DD)", Kind::Date),
            opt("channel", "Its home channel, if not this one", Kind::Channel),
            opt("guideline", "Its confidentiality guideline", Kind::Text { max: 500 }),
            opt(
                "tell_facilitators",
                "on: with registration, someone asking to join is named to its facilitators",
                Kind::Choice(ON_OFF),
            ),
        ]
    };
}

const GROUP_CREATE_OPTIONS: [OptSpec; 13] = group_card_options!(req);
const GROUP_EDIT_OPTIONS: [OptSpec; 19] = {
    let card: [OptSpec; 13] = group_card_options!(opt);
    let mut all = [req("group", "The group to edit", Kind::Group); 19];
    let mut i = 0;
    while i < card.len() {
        all[i + 1] = card[i];
        i += 1;
    }
    // One way to empty any optional field, the same on every platform
    // (a typed Discord option cannot carry a "-").
    all[14] = opt(
        "clear",
        "Fields to empty, comma-separated: description, location, capacity, cost, registration, ends",
        Kind::Text { max: 100 },
    );
    // The payment handles the Meeting Guide spec names, which a meeting's
    // donation step shows (never pressing anyone).
    all[15] = opt("venmo", "The group's Venmo handle, e.g. @group", PAYMENT);
    all[16] = opt("square", "The group's Square Cash tag, e.g. $group", PAYMENT);
    all[17] = opt("paypal", "The group's PayPal.me name", PAYMENT);
    all[18] = opt("homegroup_online", "The group's Homegroup Online link or name", PAYMENT);
    all
};
const PAYMENT: Kind = Kind::Text { max: 100 };

const GROUP: OptSpec = req(
    "group",
    "The group (in a group's home channel, that group)",
    Kind::Group,
);
const MEETING: OptSpec = req(
    "meeting",
    "The meeting's number, as /meeting list shows it",
    Kind::Int { min: 1, max: i64::MAX },
);
/// Which running circle, where several run: buttons always say.
const CIRCLE: OptSpec = opt(
    "circle",
    "The circle's number, where several run here (its status shows it)",
    Kind::Int { min: 1, max: i64::MAX },
);
const OCCURRENCE: OptSpec = opt(
    "occurrence",
    "next (the default), or the date of one meeting (YYYY-MM-DD), yours or the meeting's",
    Kind::Text { max: 20 },
);

/// Every command Hearth has. A command is listed here only once it works end
/// to end on every adapter.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "help",
        description: "Lists the commands, or one command's options",
        who: Role::Member,
        options: &[opt("command", "A command to explain, e.g. group create", Kind::Command)],
    },
    CommandSpec {
        name: "group create",
        description: "Creates a group; its home is this channel unless you name another",
        who: Role::Admin,
        options: &GROUP_CREATE_OPTIONS,
    },
    CommandSpec {
        name: "group edit",
        description: "Edits a group's info card",
        who: Role::Facilitator,
        options: &GROUP_EDIT_OPTIONS,
    },
    CommandSpec {
        name: "group info",
        description: "A group's info card: what it is, who leads it, when it meets",
        who: Role::Member,
        options: &[GROUP],
    },
    CommandSpec {
        name: "group list",
        description: "The directory of this community's groups",
        who: Role::Member,
        options: &[
            opt("topic", "Only groups about this topic", TOPIC),
            opt(
                "format",
                "text, or meeting_guide for a JSON listing",
                Kind::Choice(LIST_FORMATS),
            ),
            // The group finder (finder.rs): when groups meet, in the reader's own zone.
            opt(
                "day",
                "Meeting on: weekday, weekend, or days such as tue,thu",
                FINDER_WORDS,
            ),
            opt(
                "time",
                "Meeting in the morning, afternoon, evening (17:00-21:00) or night, your time",
                FINDER_WORDS,
            ),
            opt("after", "Starting at or after this time of yours (HH:MM)", CLOCK),
            opt("before", "Starting before this time of yours (HH:MM)", CLOCK),
        ],
    },
    CommandSpec {
        name: "group join",
        description: "Joins a group, or says how to register where it needs registration",
        who: Role::Member,
        options: &[
            GROUP,
            opt(
                "user",
                "Facilitators: add this person, e.g. once they have registered",
                Kind::User,
            ),
        ],
    },
    CommandSpec {
        name: "group leave",
        description: "Leaves a group",
        who: Role::Member,
        options: &[GROUP],
    },
    CommandSpec {
        name: "group retire",
        description: "Retires a group: hidden, its meetings cancelled; first says what, then asks you to confirm",
        who: Role::Admin,
        options: &[
            GROUP,
            opt("confirm", "yes, to retire it for good", Kind::Choice(CONFIRM)),
        ],
    },
    CommandSpec {
        name: "group facilitator",
        description: "Appoints or removes a group's facilitator",
        who: Role::Admin,
        options: &[
            GROUP,
            req("user", "The person", Kind::User),
            req("action", "add or remove", Kind::Choice(FACILITATOR_ACTIONS)),
        ],
    },
    CommandSpec {
        name: "meeting schedule",
        description: "Schedules a group's meeting or series, with a preview of the dates",
        who: Role::Facilitator,
        options: &[
            GROUP,
            req(
                "when",
                "First meeting: 2026-12-01 19:00, tomorrow 19:00, tue 19:00 or in 2h",
                Kind::Text { max: 60 },
            ),
            opt(
                "repeat",
                "once, daily, weekly, biweekly, monthly, or an RRULE",
                Kind::Text { max: 200 },
            ),
            opt(
                "timezone",
                "The zone it meets in (default: yours, else the community's)",
                Kind::Timezone,
            ),
            opt(
                "duration",
                "How long each meeting lasts, e.g. 90m (default 90m)",
                Kind::Text { max: 20 },
            ),
            opt(
                "count",
                "For a fixed term: how many meetings, e.g. 8",
                Kind::Int { min: 1, max: 520 },
            ),
            opt("until", "For a fixed term: the last day (YYYY-MM-DD)", Kind::Date),
            opt("title", "A title, if not the group's name", Kind::Text { max: 100 }),
            opt("where", "A voice channel, room, link or place", Kind::Text { max: 200 }),
            opt(
                "confirm",
                "yes: schedule it even though the group already meets then",
                Kind::Choice(CONFIRM),
            ),
        ],
    },
    CommandSpec {
        name: "meeting list",
        description: "Upcoming meetings in your time, with their numbers and RSVPs",
        who: Role::Member,
        options: &[opt("group", "Only this group's meetings", Kind::Group)],
    },
    CommandSpec {
        name: "meeting cancel",
        description: "Cancels one meeting (default the next) or the whole series",
        who: Role::Facilitator,
        options: &[
            MEETING,
            opt(
                "occurrence",
                "next (the default), a date (YYYY-MM-DD), or all for the series",
                Kind::Text { max: 20 },
            ),
        ],
    },
    CommandSpec {
        name: "meeting move",
        description: "Moves one meeting of a series to another time",
        who: Role::Facilitator,
        options: &[
            MEETING,
            req(
                "when",
                "The new time, e.g. 2026-12-02 19:00, or 18:00 to keep its day",
                Kind::Text { max: 60 },
            ),
            OCCURRENCE,
            opt(
                "confirm",
                "yes: move it even onto a time the group already meets",
                Kind::Choice(CONFIRM),
            ),
        ],
    },
    CommandSpec {
        name: "meeting edit",
        description: "Changes a series from one meeting on: time, length, title, place or repeat",
        who: Role::Facilitator,
        options: &[
            MEETING,
            opt(
                "from",
                "The first day to change (YYYY-MM-DD; default the next meeting's)",
                Kind::Date,
            ),
            opt(
                "when",
                "The new time, e.g. 18:00 to keep the days, or wed 18:00 for new ones",
                Kind::Text { max: 60 },
            ),
            opt(
                "duration",
                "How long each meeting lasts, e.g. 90m",
                Kind::Text { max: 20 },
            ),
            opt("title", "A title, if not the group's name", Kind::Text { max: 100 }),
            opt("where", "A voice channel, room, link or place", Kind::Text { max: 200 }),
            opt(
                "repeat",
                "once, daily, weekly, biweekly, monthly, or an RRULE",
                Kind::Text { max: 200 },
            ),
            opt(
                "clear",
                "Fields to empty, comma-separated: title (back to the group's name), where",
                Kind::Text { max: 40 },
            ),
            opt(
                "confirm",
                "yes: change it even onto a time the group already meets",
                Kind::Choice(CONFIRM),
            ),
        ],
    },
    CommandSpec {
        name: "meeting rsvp",
        description: "Says whether you're coming; no is always fine",
        who: Role::Member,
        options: &[
            MEETING,
            req("answer", "yes, maybe or no", Kind::Choice(RSVP_ANSWERS)),
            OCCURRENCE,
        ],
    },
    CommandSpec {
        name: "meeting calendar",
        description: "An iCalendar (.ics) file of the meetings, for your calendar app",
        who: Role::Member,
        // `feed` first: `/meeting calendar subscribe` fills it.
        options: &[
            opt(
                "feed",
                "subscribe: a private link that stays current (a new one ends the old); revoke: end it",
                Kind::Choice(CALENDAR_FEED),
            ),
            opt("group", "Only this group's meetings", Kind::Group),
        ],
    },
    // Issue 29: the community on the web.
    CommandSpec {
        name: "community publish",
        description: "Publishes the groups on the web, or stops",
        who: Role::Admin,
        options: &[
            req("state", "on or off", Kind::Choice(ON_OFF)),
            opt(
                "slug",
                "The address's name, e.g. grief-support for /c/grief-support/ (needed the first time)",
                Kind::Text { max: SLUG_MAX },
            ),
        ],
    },
    // The meeting itself: its script and the run of it.
    script::MEETING_START,
    script::MEETING_NEXT,
    script::MEETING_BACK,
    script::MEETING_SKIP,
    script::MEETING_EXTEND,
    script::MEETING_END,
    script::MEETING_PHRASE,
    script::MEETING_PANEL,
    script::SCRIPT_SHOW,
    script::SCRIPT_EDIT,
    script::SCRIPT_TEMPLATE,
    script::SCRIPT_EXPORT,
    script::SCRIPT_IMPORT,
    CommandSpec {
        name: "reminders",
        description: "Your reminder settings; with group, that group's lead times",
        who: Role::Member,
        options: &[
            opt("leads", "How long before meetings, e.g. 24h,1h", Kind::Text { max: 60 }),
            opt(
                "dm",
                "on: DM me for all my groups' meetings; off: never",
                Kind::Choice(ON_OFF),
            ),
            opt(
                "quiet",
                "No DMs in these hours, e.g. 22:00-08:00 or 10pm-8am, or off",
                Kind::Text { max: 20 },
            ),
            opt(
                "group",
                "Set this group's lead times instead (facilitators)",
                Kind::Group,
            ),
            opt(
                "channel",
                "With group: on or off, the reminders in the group's home channel",
                Kind::Choice(ON_OFF),
            ),
            opt(
                "clear",
                "Back to the defaults, comma-separated: leads, dm, quiet (with group: leads)",
                Kind::Text { max: 40 },
            ),
        ],
    },
    CommandSpec {
        name: "timezone",
        description: "Shows or sets your time zone, e.g. Europe/Berlin, and how you write dates",
        who: Role::Member,
        options: &[
            opt("zone", "An IANA zone name such as America/New_York", Kind::Timezone),
            opt(
                "dates",
                "How you write dates: day_first (31/12) or month_first (12/31)",
                Kind::Choice(DATE_ORDERS),
            ),
        ],
    },
    CommandSpec {
        name: "crisis",
        description: "Crisis lines, shown only to you",
        who: Role::Member,
        options: &[opt(
            "country",
            "A country, by name or code, e.g. Germany, UK or US",
            Kind::Text { max: 100 },
        )],
    },
    // check-ins
    CommandSpec {
        name: "checkin share",
        description: "A private check-in: how you are today, from 1 to 5, or pass",
        who: Role::Member,
        options: &[
            opt(
                "mood",
                "1 struggling, 2 low, 3 okay, 4 good, 5 great, or pass",
                Kind::Choice(MOOD_CHOICES),
            ),
            opt(
                "note",
                "A few words for yourself; only you will ever see them",
                Kind::Text { max: 500 },
            ),
            opt(
                "group",
                "Count it, without your name, in this group's summary",
                Kind::Group,
            ),
            opt(
                "prompt",
                "The prompt you are answering (its buttons fill this in)",
                Kind::Text { max: 40 },
            ),
        ],
    },
    CommandSpec {
        name: "checkin history",
        description: "Your own recent check-ins and how they trend, shown only to you",
        who: Role::Member,
        options: &[],
    },
    CommandSpec {
        name: "checkin schedule",
        description: "Posts check-in prompts with mood buttons in the group's channel",
        who: Role::Facilitator,
        options: &[
            GROUP,
            req(
                "when",
                "First prompt: tue 19:00, 2026-12-01 19:00; or meeting_start, now, list, off",
                Kind::Text { max: 60 },
            ),
            opt(
                "schedule",
                "With when:off, stop only this schedule (when:list shows their numbers)",
                Kind::Int { min: 1, max: i64::MAX },
            ),
            opt(
                "repeat",
                "once, daily, weekly, biweekly, monthly, or an RRULE",
                Kind::Text { max: 200 },
            ),
            opt(
                "question",
                "The question to ask (default: How are you today?)",
                Kind::Text { max: 200 },
            ),
        ],
    },
    CommandSpec {
        name: "checkin remind",
        description: "Your daily check-in prompt by DM, and who is told when you answer 1",
        who: Role::Member,
        options: &[
            opt(
                "time",
                "A daily prompt at this time of yours, e.g. 20:00 or 8pm, or off",
                Kind::Text { max: 8 },
            ),
            opt(
                "tell_facilitators",
                "on: when you answer 1 to a group, its facilitators are told (not your note)",
                Kind::Choice(ON_OFF),
            ),
        ],
    },
    CommandSpec {
        name: "checkin summary",
        description: "A group's last whole week of check-ins, only when 5 people besides you answered",
        who: Role::Facilitator,
        options: &[GROUP],
    },
    // The talking stick.
    CommandSpec {
        name: "circle start",
        description: "Opens a talking circle in your voice channel or call, or here",
        who: Role::Facilitator,
        options: &[
            opt("group", "The group whose circle this is", Kind::Group),
            opt(
                "mode",
                "round (the default), queue, or balanced (least spoken first)",
                Kind::Choice(CIRCLE_MODES),
            ),
            opt(
                "share_time",
                "Time per share, e.g. 3m, with a gentle notice before the end",
                Kind::Text { max: 20 },
            ),
            opt(
                "auto_advance",
                "yes: the stick moves on by itself when the share time is up",
                Kind::Choice(YES_NO),
            ),
            opt(
                "mute_others",
                "yes (Discord): server-mute all but the holder and you while it runs",
                Kind::Choice(YES_NO),
            ),
        ],
    },
    CommandSpec {
        name: "circle mode",
        description: "Switches the circle to round, queue or balanced",
        who: Role::Facilitator,
        options: &[
            req("mode", "round, queue or balanced", Kind::Choice(CIRCLE_MODES)),
            CIRCLE,
        ],
    },
    CommandSpec {
        name: "circle join",
        description: "Joins the circle here, where no voice channel or call tells Hearth you're in",
        who: Role::Member,
        options: &[CIRCLE],
    },
    CommandSpec {
        name: "circle leave",
        description: "Leaves the circle here",
        who: Role::Member,
        options: &[CIRCLE],
    },
    CommandSpec {
        name: "circle pass",
        description: "Passes your turn, no questions asked",
        who: Role::Member,
        options: &[CIRCLE],
    },
    CommandSpec {
        name: "circle next",
        description: "Hands the stick on (its holder, or a facilitator)",
        who: Role::Member,
        options: &[CIRCLE],
    },
    CommandSpec {
        name: "circle status",
        description: "Who holds the stick, time left, who is next, raised hands",
        who: Role::Member,
        options: &[CIRCLE],
    },
    CommandSpec {
        name: "circle end",
        description: "Ends the circle; you privately get its balance of speaking time",
        who: Role::Facilitator,
        options: &[CIRCLE],
    },
    CommandSpec {
        name: "hand raise",
        description: "Raises your hand to speak in the circle",
        who: Role::Member,
        options: &[CIRCLE],
    },
    CommandSpec {
        name: "hand lower",
        description: "Lowers your raised hand",
        who: Role::Member,
        options: &[CIRCLE],
    },
    // service roles
    roles::ROLE_LIST,
    roles::ROLE_ASSIGN,
    roles::ROLE_SIGNUP,
    roles::ROLE_RELEASE,
    milestones::MILESTONE_SET,
    milestones::MILESTONE_CLEAR,
    // resources
    CommandSpec {
        name: "resources list",
        description: "The community's resources: reading, links, local crisis lines",
        who: Role::Member,
        options: &[opt(
            "topic",
            "Only this topic, e.g. crisis",
            Kind::Text {
                max: RESOURCE_TOPIC_MAX,
            },
        )],
    },
    CommandSpec {
        name: "resources add",
        description: "Adds a link to the community's resources; topic crisis (admins only) is a local crisis line",
        who: Role::Facilitator,
        options: &[
            req(
                "title",
                "What the link is called",
                Kind::Text {
                    max: RESOURCE_TITLE_MAX,
                },
            ),
            req(
                "url",
                "The address (https://…), or a phone number to call or text: tel:+44 116 123, sms:…",
                Kind::Text { max: RESOURCE_URL_MAX },
            ),
            opt(
                "topic",
                "A topic such as reading or crisis (default: general)",
                Kind::Text {
                    max: RESOURCE_TOPIC_MAX,
                },
            ),
            opt(
                "description",
                "A sentence about it",
                Kind::Text {
                    max: RESOURCE_DESCRIPTION_MAX,
                },
            ),
        ],
    },
    CommandSpec {
        name: "resources remove",
        description: "Removes a resource from the community's list (a crisis line: admins only)",
        who: Role::Facilitator,
        options: &[req(
            "resource",
            "Its number, as /resources list shows it, or its title",
            Kind::Text {
                max: RESOURCE_TITLE_MAX,
            },
        )],
    },
    // privacy
    CommandSpec {
        name: "mydata",
        description: "Everything Hearth holds about you, shown only to you, as a file",
        who: Role::Member,
        options: &[],
    },
    CommandSpec {
        name: "forgetme",
        description: "Erases everything Hearth holds about you; first says what, then asks you to confirm",
        who: Role::Member,
        options: &[opt("confirm", "yes, to erase it all for good", Kind::Choice(CONFIRM))],
    },
];

/// The command with this exact full name.
pub fn command(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_description_fits_discord_limits() {
        for c in COMMANDS {
            assert!(c.description.len() <= 100, "{}", c.name);
            assert!(c.name.split(' ').count() <= 3, "{}", c.name);
            for o in c.options {
                assert!(o.description.len() <= 100, "{} {}", c.name, o.name);
                assert!(
                    o.name.len() <= 32 && o.name.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                    "{} {}",
                    c.name,
                    o.name
                );
            }
        }
    }

    #[test]
    fn required_options_come_first_as_discord_demands() {
        for c in COMMANDS {
            let first_optional = c.options.iter().position(|o| !o.required).unwrap_or(c.options.len());
            assert!(c.options[first_optional..].iter().all(|o| !o.required), "{}", c.name);
        }
    }

    #[test]
    fn command_names_are_unique() {
        let mut names: Vec<_> = COMMANDS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len());
    }
}
