//! Every command, as the core handles it: a bound command read into one
//! value per command family, for the Hearth to route.

use chrono_tz::Tz;

use crate::parse::Bound;
use crate::script::state::Press;
use crate::spec::CommandSpec;
use crate::{checkins, circle, meetings, reminders, resources, roles, script};

/// Every command, as the core handles it.
pub(crate) enum Command<'a> {
    Help {
        command: Option<&'static CommandSpec>,
        /// The first word of several commands (`meeting`), to list them.
        family: Option<&'a str>,
    },
    Group(GroupCmd<'a>),
    Timezone {
        zone: Option<Tz>,
        dates: Option<crate::when::DateOrder>,
    },
    Meeting(MeetingCmd<'a>),
    Reminders(reminders::Asked<'a>),
    Crisis {
        country: Option<&'a str>,
    },
    // The talking stick.
    CircleStart {
        mode: Option<&'static str>,
        share_time: Option<&'a str>,
        auto_advance: bool,
        mute_others: bool,
    },
    CircleEnd,
    Circle(circle::Action),
    // check-ins
    Checkin(checkins::Cmd<'a>),
    // service roles
    Role(RoleCmd<'a>),
    // milestones
    Milestone(MilestoneCmd<'a>),
    // resources
    Resources(resources::Cmd<'a>),
    // privacy
    MyData,
    ForgetMe {
        confirm: bool,
    },
    // the web (issue 29)
    Publish {
        on: bool,
        slug: Option<&'a str>,
    },
}

/// The `group …` commands.
pub(crate) enum GroupCmd<'a> {
    Create,
    Edit,
    Info,
    List {
        topic: Option<&'a str>,
        meeting_guide: bool,
        /// The finder's day:, time:, after: and before:, as typed.
        when: [Option<&'a str>; 4],
    },
    Join {
        user: Option<&'a str>,
    },
    Leave,
    Retire {
        confirm: bool,
    },
    Facilitator {
        user: &'a str,
        add: bool,
    },
}

/// The `role …` commands.
pub(crate) enum RoleCmd<'a> {
    List,
    Assign {
        kind: roles::Kind,
        user: Option<&'a str>,
        backup: Option<&'a str>,
        until: Option<chrono::NaiveDate>,
    },
    Signup {
        kind: roles::Kind,
        until: Option<chrono::NaiveDate>,
    },
    Release {
        kind: roles::Kind,
        which: Option<roles::Which>,
    },
}

impl<'a> RoleCmd<'a> {
    fn from_bound(b: &'a Bound) -> Option<Self> {
        let kind = || b.choice("role").and_then(roles::Kind::parse);
        Some(match b.spec.name {
            "role list" => RoleCmd::List,
            "role assign" => RoleCmd::Assign {
                kind: kind()?,
                user: b.text("user"),
                backup: b.text("backup"),
                until: b.date("until"),
            },
            "role signup" => RoleCmd::Signup {
                kind: kind()?,
                until: b.date("until"),
            },
            "role release" => RoleCmd::Release {
                kind: kind()?,
                which: b.choice("place").map(|p| match p {
                    "backup" => roles::Which::Backup,
                    "role" => roles::Which::Role,
                    _ => roles::Which::Holder,
                }),
            },
            _ => return None,
        })
    }
}

/// The `milestone …` commands.
pub(crate) enum MilestoneCmd<'a> {
    Set {
        began: chrono::NaiveDate,
        name: Option<&'a str>,
    },
    Clear,
}

/// The `meeting …` commands.
pub(crate) enum MeetingCmd<'a> {
    Schedule,
    List,
    Cancel {
        occurrence: Option<&'a str>,
    },
    Move {
        occurrence: Option<&'a str>,
        when: &'a str,
        confirmed: bool,
    },
    Edit(meetings::Edit<'a>),
    Rsvp {
        occurrence: Option<&'a str>,
        answer: &'static str,
    },
    /// A press of an RSVP button taken back: the answer goes, if it is
    /// still this one.
    RsvpTakenBack {
        occurrence: Option<&'a str>,
        answer: &'static str,
    },
    Calendar {
        /// `subscribe` or `revoke`: the private link, not the file.
        feed: Option<&'static str>,
    },
    /// The meeting itself: a run of the group's script.
    Start,
    Press(Press),
    Phrase(&'static str),
    /// The running meeting's panel, privately.
    Panel,
    Script(ScriptCmd<'a>),
}

/// The `meeting script …` commands.
pub(crate) enum ScriptCmd<'a> {
    Show,
    Edit(script::Edit<'a>),
    Template(&'static str),
    Export,
    Import(&'a str),
}

impl<'a> Command<'a> {
    /// What undoes this command when its button press is taken back,
    /// where that has a meaning.
    pub(super) fn undone(self) -> Option<Self> {
        match self {
            Command::Meeting(MeetingCmd::Rsvp { occurrence, answer }) => {
                Some(Command::Meeting(MeetingCmd::RsvpTakenBack { occurrence, answer }))
            }
            Command::Circle(circle::Action::Raise) => Some(Command::Circle(circle::Action::Lower)),
            _ => None,
        }
    }

    pub(crate) fn from_bound(b: &'a Bound) -> Option<Self> {
        Some(match b.spec.name {
            "help" => Command::Help {
                command: b.command("command"),
                family: b.text("command"),
            },
            name if name.starts_with("group ") => Command::Group(GroupCmd::from_bound(b)?),
            "timezone" => Command::Timezone {
                zone: b.zone("zone"),
                dates: b.choice("dates").and_then(crate::when::DateOrder::parse),
            },
            name if name.starts_with("meeting ") => Command::Meeting(MeetingCmd::from_bound(b)?),
            "reminders" => Command::Reminders(reminders::Asked {
                leads: b.text("leads"),
                dm: b.choice("dm"),
                quiet: b.text("quiet"),
                clear: b.text("clear"),
                channel: b.choice("channel"),
            }),
            "crisis" => Command::Crisis {
                country: b.text("country"),
            },
            // The talking stick.
            name if name.starts_with("circle ") || name.starts_with("hand ") => Self::of_the_stick(b)?,
            // check-ins
            name if name.starts_with("checkin ") => Command::Checkin(checkins::Cmd::from_bound(b)?),
            name if name.starts_with("role ") => Command::Role(RoleCmd::from_bound(b)?),
            "milestone set" => Command::Milestone(MilestoneCmd::Set {
                began: b.date("date")?,
                name: b.text("name"),
            }),
            "milestone clear" => Command::Milestone(MilestoneCmd::Clear),
            // resources
            name if name.starts_with("resources ") => Command::Resources(resources::Cmd::from_bound(b)?),
            // privacy
            "mydata" => Command::MyData,
            "forgetme" => Command::ForgetMe {
                confirm: b.choice("confirm") == Some("yes"),
            },
            "community publish" => Command::Publish {
                on: b.choice("state")? == "on",
                slug: b.text("slug"),
            },
            _ => return None,
        })
    }

    /// The talking stick's commands: `circle …` and `hand …`.
    fn of_the_stick(b: &'a Bound) -> Option<Self> {
        Some(match b.spec.name {
            "circle start" => Command::CircleStart {
                mode: b.choice("mode"),
                share_time: b.text("share_time"),
                auto_advance: b.choice("auto_advance") == Some("yes"),
                mute_others: b.choice("mute_others") == Some("yes"),
            },
            "circle mode" => Command::Circle(circle::Action::Mode(circle::state::Mode::parse(b.choice("mode")?)?)),
            "circle join" => Command::Circle(circle::Action::Join),
            "circle leave" => Command::Circle(circle::Action::Leave),
            "circle pass" => Command::Circle(circle::Action::Pass),
            "circle next" => Command::Circle(circle::Action::Next),
            "circle status" => Command::Circle(circle::Action::Status),
            "circle end" => Command::CircleEnd,
            "hand raise" => Command::Circle(circle::Action::Raise),
            "hand lower" => Command::Circle(circle::Action::Lower),
            _ => return None,
        })
    }
}

impl<'a> GroupCmd<'a> {
    fn from_bound(b: &'a Bound) -> Option<Self> {
        Some(match b.spec.name {
            "group create" => GroupCmd::Create,
            "group edit" => GroupCmd::Edit,
            "group info" => GroupCmd::Info,
            "group list" => GroupCmd::List {
                topic: b.text("topic"),
                meeting_guide: b.choice("format") == Some("meeting_guide"),
                when: ["day", "time", "after", "before"].map(|o| b.text(o)),
            },
            "group join" => GroupCmd::Join { user: b.text("user") },
            "group leave" => GroupCmd::Leave,
            "group retire" => GroupCmd::Retire {
                confirm: b.choice("confirm") == Some("yes"),
            },
            "group facilitator" => GroupCmd::Facilitator {
                user: b.text("user")?,
                add: b.choice("action")? == "add",
            },
            _ => return None,
        })
    }
}

impl<'a> MeetingCmd<'a> {
    fn from_bound(b: &'a Bound) -> Option<Self> {
        Some(match b.spec.name {
            "meeting schedule" => MeetingCmd::Schedule,
            "meeting list" => MeetingCmd::List,
            "meeting cancel" => MeetingCmd::Cancel {
                occurrence: b.text("occurrence"),
            },
            "meeting move" => MeetingCmd::Move {
                occurrence: b.text("occurrence"),
                when: b.text("when")?,
                confirmed: b.choice("confirm") == Some("yes"),
            },
            "meeting edit" => MeetingCmd::Edit(meetings::Edit {
                from: b.date("from"),
                when: b.text("when"),
                duration: b.text("duration"),
                title: b.text("title"),
                place: b.text("where"),
                repeat: b.text("repeat"),
                // Checked when it runs, so a wrong name gets its own answer.
                clear: Vec::new(),
                order: None,
                confirmed: b.choice("confirm") == Some("yes"),
            }),
            "meeting rsvp" => MeetingCmd::Rsvp {
                occurrence: b.text("occurrence"),
                answer: b.choice("answer")?,
            },
            "meeting calendar" => MeetingCmd::Calendar { feed: b.choice("feed") },
            "meeting start" => MeetingCmd::Start,
            "meeting next" => MeetingCmd::Press(Press::Next),
            "meeting back" => MeetingCmd::Press(Press::Back),
            "meeting skip" => MeetingCmd::Press(Press::Skip),
            "meeting extend" => MeetingCmd::Press(Press::Extend),
            "meeting end" => MeetingCmd::Press(Press::End),
            "meeting phrase" => MeetingCmd::Phrase(b.choice("phrase")?),
            "meeting panel" => MeetingCmd::Panel,
            name if name.starts_with("meeting script ") => MeetingCmd::Script(ScriptCmd::from_bound(b)?),
            _ => return None,
        })
    }
}

impl<'a> ScriptCmd<'a> {
    fn from_bound(b: &'a Bound) -> Option<Self> {
        Some(match b.spec.name {
            "meeting script show" => ScriptCmd::Show,
            "meeting script edit" => ScriptCmd::Edit(script::Edit {
                step: b.int("step"),
                remove: b.choice("remove") == Some("yes"),
                kind: b.choice("kind"),
                title: b.text("title"),
                minutes: b.int("minutes"),
                text: b.text("text"),
                link: b.text("link"),
                excerpt: b.text("excerpt"),
                credit: b.text("credit"),
                mode: b.choice("mode"),
                share_time: b.text("share_time"),
                mute_others: b.choice("mute_others").map(|c| c == "yes"),
                autostart: b.choice("autostart").map(|c| c == "on"),
            }),
            "meeting script template" => ScriptCmd::Template(b.choice("template")?),
            "meeting script export" => ScriptCmd::Export,
            "meeting script import" => ScriptCmd::Import(b.text("toml")?),
            _ => return None,
        })
    }
}
