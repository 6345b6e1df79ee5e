//! The core service: takes one input, checks it against the spec and the
//! caller's role, runs it, and answers with a reply and effects.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::clock::Clock;
use crate::error::{Context, Error, Result, UserError, apology};
use crate::groups::{self, Group};
use crate::io::{Actor, Input, InputKind, Place, Platform, Response};
use crate::meetings::{self, Meeting};
use crate::members::{self, Community, Member};
use crate::message::{Line, Span};
use crate::parse::{self, Bound};
use crate::spec::{CommandSpec, Kind, Role};
use crate::store::Store;
use crate::{calendar, checkins, circle, crisis, help, jobs, meeting_guide, privacy, reminders, resources, retention};

/// Settings the core needs from the configuration.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The zone a new community starts with.
    pub default_timezone: Tz,
    /// How long finished deliveries and past RSVPs are kept.
    pub retention: chrono::Duration,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            default_timezone: Tz::UTC,
            retention: chrono::Duration::days(i64::from(crate::retention::DEFAULT_DAYS)),
        }
    }
}

/// Hearth's core. Cheap to clone; every adapter holds one.
#[derive(Debug, Clone)]
pub struct Hearth {
    store: Store,
    clock: Arc<dyn Clock>,
    config: CoreConfig,
    /// Bumped whenever the jobs table changes, so each platform's scheduler
    /// loop re-reads its next due time. A watch, not a `Notify`: every loop
    /// sees every change, and one that was busy sending sees it afterwards.
    jobs_changed: Arc<tokio::sync::watch::Sender<u64>>,
    /// Who is in voice, in memory only (see [`circle::voice`]).
    voice: Arc<circle::voice::Voice>,
    /// The job kinds the features own, for the engine to carry out.
    kinds: Arc<jobs::Registry>,
}

/// Every feature's job kinds, registered with the engine: the one place
/// that knows which feature carries out which kind.
fn job_kinds() -> jobs::Registry {
    jobs::Registry::default()
        .with(reminders::send::handler())
        .with(meetings::tell::handler())
        .with(circle::timers())
        .with(checkins::prompts())
}

/// Who and where, resolved to stored rows, with one `now` for the whole input.
struct Ctx<'a> {
    input: &'a Input,
    now: DateTime<Utc>,
    community: Community,
    me: Member,
    /// The running circle a circle command means, once found.
    circle: Option<i64>,
}

/// Every command, as the core handles it.
pub(crate) enum Command<'a> {
    Help {
        command: Option<&'static CommandSpec>,
        /// The first word of several commands (`meeting`), to list them.
        family: Option<&'a str>,
    },
    GroupCreate,
    GroupEdit,
    GroupInfo,
    GroupList {
        topic: Option<&'a str>,
        meeting_guide: bool,
    },
    GroupJoin {
        user: Option<&'a str>,
    },
    GroupLeave,
    GroupRetire {
        confirm: bool,
    },
    GroupFacilitator {
        user: &'a str,
        add: bool,
    },
    Timezone {
        zone: Option<Tz>,
        dates: Option<crate::when::DateOrder>,
    },
    MeetingSchedule,
    MeetingList,
    MeetingCancel {
        occurrence: Option<&'a str>,
    },
    MeetingMove {
        occurrence: Option<&'a str>,
        when: &'a str,
        confirmed: bool,
    },
    MeetingEdit(meetings::Edit<'a>),
    MeetingRsvp {
        occurrence: Option<&'a str>,
        answer: &'static str,
    },
    /// A press of an RSVP button taken back: the answer goes, if it is
    /// still this one.
    MeetingRsvpTakenBack {
        occurrence: Option<&'a str>,
        answer: &'static str,
    },
    MeetingCalendar,
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
    // resources
    Resources(resources::Cmd<'a>),
    // privacy
    MyData,
    ForgetMe {
        confirm: bool,
    },
}

impl<'a> Command<'a> {
    /// What undoes this command when its button press is taken back,
    /// where that has a meaning.
    fn undone(self) -> Option<Self> {
        match self {
            Command::MeetingRsvp { occurrence, answer } => Some(Command::MeetingRsvpTakenBack { occurrence, answer }),
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
            "group create" => Command::GroupCreate,
            "group edit" => Command::GroupEdit,
            "group info" => Command::GroupInfo,
            "group list" => Command::GroupList {
                topic: b.text("topic"),
                meeting_guide: b.choice("format") == Some("meeting_guide"),
            },
            "group join" => Command::GroupJoin { user: b.text("user") },
            "group leave" => Command::GroupLeave,
            "group retire" => Command::GroupRetire {
                confirm: b.choice("confirm") == Some("yes"),
            },
            "group facilitator" => Command::GroupFacilitator {
                user: b.text("user")?,
                add: b.choice("action")? == "add",
            },
            "timezone" => Command::Timezone {
                zone: b.zone("zone"),
                dates: b.choice("dates").and_then(crate::when::DateOrder::parse),
            },
            "meeting schedule" => Command::MeetingSchedule,
            "meeting list" => Command::MeetingList,
            "meeting cancel" => Command::MeetingCancel {
                occurrence: b.text("occurrence"),
            },
            "meeting move" => Command::MeetingMove {
                occurrence: b.text("occurrence"),
                when: b.text("when")?,
                confirmed: b.choice("confirm") == Some("yes"),
            },
            "meeting edit" => Command::MeetingEdit(meetings::Edit {
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
            "meeting rsvp" => Command::MeetingRsvp {
                occurrence: b.text("occurrence"),
                answer: b.choice("answer")?,
            },
            "meeting calendar" => Command::MeetingCalendar,
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
            // check-ins
            name if name.starts_with("checkin ") => Command::Checkin(checkins::Cmd::from_bound(b)?),
            // resources
            name if name.starts_with("resources ") => Command::Resources(resources::Cmd::from_bound(b)?),
            // privacy
            "mydata" => Command::MyData,
            "forgetme" => Command::ForgetMe {
                confirm: b.choice("confirm") == Some("yes"),
            },
            _ => return None,
        })
    }
}

/// Commits a command's write.
async fn commit(tx: sqlx::Transaction<'static, sqlx::Sqlite>) -> Result<()> {
    tx.commit().await.context("committing a change")
}

/// The series as it is inside the write about to change it: another change
/// may have committed since it was looked up.
async fn reload(conn: &mut sqlx::SqliteConnection, meeting: &Meeting) -> Result<Meeting> {
    meetings::by_id_in(&mut *conn, meeting.id)
        .await?
        .ok_or_else(|| UserError::MeetingNotFound.into())
}

/// The commands that act on a running circle (all of the stick's but `circle start`).
fn acts_on_a_circle(command: &str) -> bool {
    (command.starts_with("circle ") && command != "circle start") || command.starts_with("hand ")
}

/// A change to a group's meetings is the group's news, told in its home
/// channel, where its members look. Typed there, the answer is the news;
/// typed elsewhere, or with a line for the one who typed it alone (which
/// date it took, in their own zone), they get it privately, told where it
/// went, and the post is queued in the change's own write
/// ([`meetings::tell::queue_news`]): a crash after the commit cannot lose it.
async fn announce(
    conn: &mut sqlx::SqliteConnection,
    here: &str,
    (meeting, group): (&Meeting, &Group),
    news: &meetings::News,
    note: Option<Line>,
    now: DateTime<Utc>,
) -> Result<Response> {
    let message = meetings::news_message(news, meeting, group);
    if here == group.home_channel && note.is_none() {
        return Ok(Response::public(message));
    }
    meetings::tell::queue_news(conn, meeting, news, now).await?;
    let mut mine = message;
    if let Some(note) = note {
        mine = mine.line(note);
    }
    mine = mine.line(
        Line::text("Posted in ")
            .push(Span::Channel {
                id: group.home_channel.clone(),
            })
            .t(", the group's home."),
    );
    Ok(Response::private_general(mine))
}

/// A short id to quote for an internal error.
fn error_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

impl Hearth {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: CoreConfig) -> Self {
        Self {
            store,
            clock,
            config,
            jobs_changed: Arc::new(tokio::sync::watch::Sender::new(0)),
            voice: Arc::default(),
            kinds: Arc::new(job_kinds()),
        }
    }

    /// Follows changes to the jobs table: `changed()` on the receiver
    /// resolves after the next change, or at once if one came since it last
    /// looked.
    pub fn jobs_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.jobs_changed.subscribe()
    }

    /// The earliest pending job of these platforms.
    pub async fn next_due(&self, platforms: &[Platform]) -> Result<Option<DateTime<Utc>>> {
        jobs::next_due(&self.store, platforms).await
    }

    /// What is due on `platform` at `now`, rendered for sending (at most `limit`).
    /// Each job is claimed for `owner` (one id per running scheduler) first.
    pub async fn take_due(
        &self,
        platform: Platform,
        owner: &str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<jobs::DueDelivery>> {
        jobs::take_due(&self.store, &self.kinds, platform, owner, now, limit).await
    }

    /// Renews `owner`'s claims on jobs still being sent.
    pub async fn extend_claims(&self, owner: &str, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
        jobs::extend_claims(&self.store, owner, ids, now).await
    }

    /// Frees every claim left by a process that is gone: for a process that
    /// holds the database's single-instance lock, at start.
    pub async fn release_claims(&self) -> Result<u64> {
        jobs::release_claims(&self.store, self.clock.now()).await
    }

    /// Records a delivery's outcome.
    pub async fn delivered(
        &self,
        job: i64,
        outcome: &std::result::Result<(), crate::DeliveryError>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        jobs::delivered(&self.store, &self.kinds, job, outcome, now).await
    }

    /// Records a round of outcomes in one transaction.
    pub async fn delivered_all(
        &self,
        outcomes: &[(i64, std::result::Result<(), crate::DeliveryError>)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        jobs::delivered_all(&self.store, &self.kinds, outcomes, now).await
    }

    /// Up to 25 suggestions (label, value) for an option being typed: the
    /// community's groups for a group option, its meetings for a meeting
    /// option. Anything else, or any failure, suggests nothing.
    pub async fn suggest(&self, place: &Place, command: &str, option: &str, typed: &str) -> Vec<(String, String)> {
        let Some(spec) = crate::spec::command(command) else {
            return Vec::new();
        };
        let Some(opt) = spec.option(option) else {
            return Vec::new();
        };
        let found: Result<Vec<(String, String)>> = async {
            let community = self.community(place, self.clock.now()).await?;
            let typed = typed.trim().to_lowercase();
            Ok(match (opt.kind, option) {
                (Kind::Group, _) => groups::names(&self.store, community.id)
                    .await?
                    .into_iter()
                    .filter(|n| n.to_lowercase().contains(&typed))
                    .map(|n| (n.clone(), n))
                    .collect(),
                (Kind::Int { .. }, "meeting") => meetings::of_community(&self.store, community.id)
                    .await?
                    .into_iter()
                    .map(|(m, group)| {
                        let label = format!("{} · {} (meeting {})", m.name(&group), meetings::cadence(&m), m.id);
                        (label, m.id.to_string())
                    })
                    .filter(|(label, _)| label.to_lowercase().contains(&typed))
                    .collect(),
                _ => Vec::new(),
            })
        }
        .await;
        let mut found = found.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "suggestions failed");
            Vec::new()
        });
        found.truncate(25);
        found
    }

    /// The platform carried out (or could not) an [`Effect::Mute`]; the
    /// answer's effects are for the adapter to carry out in turn (a note to
    /// the facilitator when the permission is missing). `stage`: it was a
    /// stage, so a suppress, and its undoing is an unsuppress.
    pub async fn muted(
        &self,
        community: &str,
        user: &str,
        mute: bool,
        stage: bool,
        report: crate::io::MuteReport,
    ) -> Result<Response> {
        let now = self.clock.now();
        let place = Place {
            platform: Platform::Discord,
            community: community.to_string(),
            channel: String::new(),
        };
        let community = self.community(&place, now).await?;
        // A member who erased themselves (an unmute `/forgetme` asked for)
        // has no record left to update, and is not brought back by one.
        let Some(member) = members::find(&self.store, Platform::Discord, user).await? else {
            return Ok(Response::none());
        };
        circle::muted(&self.store, community.id, member.id, mute, stage, report).await
    }

    /// Every server mute the bot applied on `platform` and has not undone,
    /// as unmute effects: for start-up (after a crash) and shutdown.
    pub async fn mutes_to_release(&self, platform: Platform) -> Result<Vec<crate::io::Effect>> {
        circle::mutes_to_release(&self.store, platform).await
    }

    /// An adapter posted a live status message (an [`Effect::Status`]) and
    /// tells its platform id, so later changes edit it.
    pub async fn status_posted(&self, key: &str, message_id: &str) -> Result<()> {
        circle::status_posted(&self.store, key, message_id).await
    }

    /// Deletes finished deliveries and past RSVPs older than the retention period.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<retention::Swept> {
        retention::sweep(&self.store, self.config.retention, now).await
    }

    /// Ends an RSVP's write, given or taken back: the answer and this
    /// member's reminders change in one commit. Only the member's reminders
    /// are re-planned, so the cost stays flat in the group's size.
    async fn commit_rsvp(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        meeting: i64,
        me: &Member,
        now: DateTime<Utc>,
    ) -> Result<()> {
        reminders::plan::plan_in(&mut tx, meeting, now, reminders::plan::Scope::Member(me.id), false).await?;
        commit(tx).await?;
        self.planned();
        Ok(())
    }

    fn planned(&self) {
        self.jobs_changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Handles one input. Never fails: a user error becomes a private reply
    /// that says what to fix; an internal error is logged with an id and the
    /// user gets an apology quoting it.
    pub async fn handle(&self, input: &Input) -> Response {
        let handled = self.try_handle(input).await;
        crate::metrics::handled(input, &handled);
        match handled {
            Ok(response) => response,
            Err(Error::User(e)) => {
                tracing::debug!(platform = input.place.platform.as_str(), "user error");
                Response::private_general(e.to_message())
            }
            Err(Error::Internal { context, source }) => {
                let id = error_id();
                tracing::error!(error_id = %id, context, error = %source, "internal error");
                Response::private_general(apology(&id))
            }
        }
    }

    /// Records `actor` as the community's admin when it has none recorded:
    /// how the console's first speaker becomes its admin. Returns whether
    /// the actor is the recorded admin afterwards.
    pub async fn claim_admin(&self, place: &Place, actor: &Actor) -> Result<bool> {
        let now = self.clock.now();
        let community = self.community(place, now).await?;
        let me = members::member(&self.store, place.platform, &actor.user, &actor.name, now).await?;
        members::claim_admin(&self.store, community.id, me.id).await
    }

    async fn community(&self, place: &Place, now: DateTime<Utc>) -> Result<Community> {
        members::community(
            &self.store,
            place.platform,
            &place.community,
            self.config.default_timezone,
            now,
        )
        .await
    }

    async fn try_handle(&self, input: &Input) -> Result<Response> {
        let (invocation, undo) = match &input.kind {
            InputKind::Command(invocation) => (invocation, false),
            InputKind::Undo(invocation) => (invocation, true),
            InputKind::Presence(change) => return self.presence(input, change).await,
        };
        let bound = parse::bind(invocation)?;
        let now = self.clock.now();
        // Two reads on two connections, side by side.
        let (community, me) = tokio::join!(
            self.community(&input.place, now),
            members::member(
                &self.store,
                input.place.platform,
                &input.actor.user,
                &input.actor.name,
                now,
            )
        );
        let (community, me) = (community?, me?);
        let mut ctx = Ctx {
            input,
            now,
            community,
            me,
            circle: None,
        };
        let mut meeting = None;
        let group = match (bound.spec.option("group").map(|o| o.kind), bound.int("meeting")) {
            (Some(Kind::Group), _) => match bound.text("group") {
                Some(name) => Some(groups::find(&self.store, ctx.community.id, name).await?),
                // A command that needs a group means, unnamed, the one at home here.
                None if bound.spec.option("group").is_some_and(|o| o.required) => {
                    Some(groups::homed_in(&self.store, ctx.community.id, &input.place.channel, bound.spec.name).await?)
                }
                None => None,
            },
            (_, Some(id)) => {
                let (m, g) = meetings::find(&self.store, ctx.community.id, id).await?;
                meeting = Some(m);
                Some(g)
            }
            _ => None,
        };
        // A running circle's commands act on the circle they mean, and answer
        // to its group's facilitators.
        let group = match group {
            None if acts_on_a_circle(bound.spec.name) => {
                let found = circle::target(
                    &self.store,
                    ctx.community.id,
                    &input.place.channel,
                    ctx.me.id,
                    bound.int("circle"),
                )
                .await?;
                ctx.circle = found.map(|(id, _)| id);
                match found.and_then(|(_, group)| group) {
                    Some(id) => Some(groups::by_id(&self.store, id).await?),
                    None => None,
                }
            }
            group => group,
        };
        let mut role = self.role(&ctx, group.as_ref()).await?;
        // resources: the list is the community's, not one group's; a facilitator
        // of any of its groups may edit it, as admins trusted them with members.
        if bound.spec.name.starts_with("resources ")
            && role == Role::Member
            && groups::facilitates_any(&self.store, ctx.community.id, ctx.me.id).await?
        {
            role = Role::Facilitator;
        }
        if role < bound.spec.who {
            return Err(UserError::NotPermitted {
                command: bound.spec.name,
                needs: bound.spec.who,
                group: group.map(|g| g.name),
            }
            .into());
        }
        // Every command is logged alike, with neither its name nor who used
        // it: a line that said "one of the private ones" would, by being
        // different, name who asked for a crisis line, checked in, or looked
        // at or erased their own data.
        tracing::info!(
            platform = input.place.platform.as_str(),
            community = ctx.community.id,
            "command"
        );
        let Some(command) = Command::from_bound(&bound) else {
            return Err(Error::Internal {
                context: "dispatching a command",
                source: format!("no handler for {}", bound.spec.name).into(),
            });
        };
        let command = match (undo, command) {
            (false, command) => command,
            (true, command) => match command.undone() {
                Some(undone) => undone,
                None => return Ok(Response::none()),
            },
        };
        self.beyond_the_spec(&ctx, &command, role, group.as_ref()).await?;
        self.run(&ctx, &bound, command, group.as_ref(), meeting.as_ref()).await
    }

    /// The rules the spec's one role per command does not say: adding
    /// someone else to a group and changing its reminder defaults are its
    /// facilitators' call; crisis lines are admins' work.
    async fn beyond_the_spec(
        &self,
        ctx: &Ctx<'_>,
        command: &Command<'_>,
        role: Role,
        group: Option<&Group>,
    ) -> Result<()> {
        let group_name = || group.map(|g| g.name.clone());
        if matches!(command, Command::GroupJoin { user: Some(_) }) && role < Role::Facilitator {
            return Err(UserError::OnlyRole {
                needs: Role::Facilitator,
                group: group_name(),
                to: "add someone else to a group",
            }
            .into());
        }
        // Everyone may use /reminders for themselves: the refusal says what
        // only facilitators may do, and what to type for one's own.
        if matches!(command, Command::Reminders { .. }) && group.is_some() && role < Role::Facilitator {
            return Err(UserError::OnlyRole {
                needs: Role::Facilitator,
                group: group_name(),
                to: "change a group's reminders; for your own, leave out group",
            }
            .into());
        }
        if let Command::Resources(cmd) = command
            && role < Role::Admin
            && resources::touches_crisis(&self.store, ctx.community.id, cmd).await?
        {
            return Err(UserError::OnlyRole {
                needs: Role::Admin,
                group: None,
                to: "add or remove crisis lines",
            }
            .into());
        }
        Ok(())
    }

    async fn run(
        &self,
        ctx: &Ctx<'_>,
        bound: &Bound,
        command: Command<'_>,
        group: Option<&Group>,
        meeting: Option<&Meeting>,
    ) -> Result<Response> {
        let store = &self.store;
        let community = ctx.community.id;
        let platform = ctx.input.place.platform;
        // Commands with a required `group` option have it resolved by now.
        let the_group = || {
            group.ok_or(Error::Internal {
                context: "running a group command",
                source: "group option not resolved".into(),
            })
        };
        let the_meeting = || {
            meeting.ok_or(Error::Internal {
                context: "running a meeting command",
                source: "meeting option not resolved".into(),
            })
        };
        let now = ctx.now;
        let reader_zone = ctx.me.zone().unwrap_or(ctx.community.zone());
        Ok(match command {
            Command::Help { command, family } => Response::private_general(match family {
                Some(family) => help::family(family),
                None => help::help(command),
            }),
            Command::GroupCreate => {
                Response::public(groups::create(store, community, &ctx.input.place.channel, bound, ctx.now).await?)
            }
            Command::GroupEdit => {
                // The card and what its `ends` means for every series, in one write.
                let mut tx = jobs::write(store).await?;
                let group = groups::edit(&mut tx, the_group()?, bound).await?;
                // Its series are listed with the card's fields: the feeds' `updated` follows.
                meetings::touch_group(&mut tx, group.id, now).await?;
                for meeting in meetings::of_group_in(&mut *tx, group.id).await? {
                    self.series_changed(&mut tx, &meeting, None, now).await?;
                }
                commit(tx).await?;
                self.planned();
                Response::public(
                    groups::edited_card(store, &group, meetings::group_meets(store, group.id, now).await?).await?,
                )
            }
            Command::GroupRetire { confirm } => {
                let group = the_group()?;
                if !confirm {
                    let keep = self.config.retention.num_days();
                    let series = meetings::of_group(store, group.id).await?.len();
                    return Ok(Response::private(groups::retire_preview(group, keep, series)));
                }
                let mut tx = jobs::write(store).await?;
                for meeting in meetings::of_group_in(&mut *tx, group.id).await? {
                    let told = meetings::cancel(&mut tx, &meeting, Some("all"), meeting.zone(), now)
                        .await?
                        .told;
                    self.series_changed(&mut tx, &meeting, Some(&told), now).await?;
                }
                for schedule in groups::retire(&mut tx, group, now).await? {
                    jobs::cancel(&mut *tx, checkins::KIND.name, schedule).await?;
                }
                commit(tx).await?;
                self.planned();
                Response::public(crate::Message::new().text(format!(
                    "Retired {}: it is gone from the group list and the feeds, its meetings are cancelled and its check-in prompts stopped.",
                    group.name
                )))
            }
            Command::GroupInfo => {
                let group = the_group()?;
                // A closed group's link is for its members: their own view of the card.
                let meets = meetings::group_meets(store, group.id, now).await?;
                if groups::is_closed(group) && groups::belongs(store, group.id, ctx.me.id).await? {
                    Response::private(groups::card_message(store, group, true, meets).await?)
                } else {
                    Response::public(groups::card_message(store, group, false, meets).await?)
                }
            }
            Command::GroupList { topic, meeting_guide } => {
                if meeting_guide {
                    // A file for whoever publishes the listing, not a post for the room.
                    Response::private(meeting_guide::message(store, community, now).await?)
                } else {
                    Response::public(groups::list(store, community, topic).await?)
                }
            }
            Command::GroupJoin { user } => {
                let admit = match user {
                    Some(user) => Some(members::named_member(store, platform, user, now).await?),
                    None => None,
                };
                // The membership and the reminders it brings, in one write.
                let mut tx = jobs::write(store).await?;
                let joined = groups::join(&mut tx, the_group()?, &ctx.me, admit.as_ref(), now).await?;
                if let Some(member) = joined.member {
                    reminders::plan::plan_group_in(
                        &mut tx,
                        the_group()?.id,
                        now,
                        reminders::plan::Scope::Member(member),
                    )
                    .await?;
                }
                commit(tx).await?;
                self.planned();
                joined.response
            }
            Command::GroupLeave => {
                let mut tx = jobs::write(store).await?;
                let message = groups::leave(&mut tx, the_group()?, &ctx.me).await?;
                retention::left_group(&mut tx, the_group()?.id, ctx.me.id, now).await?;
                reminders::plan::plan_group_in(
                    &mut tx,
                    the_group()?.id,
                    now,
                    reminders::plan::Scope::Member(ctx.me.id),
                )
                .await?;
                commit(tx).await?;
                self.planned();
                Response::private(message)
            }
            Command::GroupFacilitator { user, add } => {
                // A change is the community's news; a change that was not
                // one says something about a person to the admin alone.
                match groups::facilitator(store, platform, the_group()?, user, add, ctx.now).await? {
                    (message, true) => Response::public(message),
                    (message, false) => Response::private(message),
                }
            }
            Command::Timezone { zone, dates } => {
                // The zone, the date order, and the reminders and prompts read
                // in the zone (quiet hours, the daily check-in), in one write.
                let mut tx = jobs::write(store).await?;
                let message = members::timezone(&mut tx, &ctx.me, &ctx.community, zone, dates, now).await?;
                if zone.is_some() {
                    reminders::plan::plan_member_in(&mut tx, ctx.me.id, now).await?;
                    checkins::member_moved(&mut tx, ctx.me.id, now).await?;
                }
                commit(tx).await?;
                self.planned();
                Response::private(message)
            }
            Command::MeetingSchedule => {
                let group = the_group()?;
                let default_zone = ctx
                    .me
                    .zone()
                    .or_else(|| group.timezone.as_deref().and_then(|z| z.parse().ok()))
                    .unwrap_or(ctx.community.zone());
                let mut tx = jobs::write(store).await?;
                let order = members::date_order(&mut *tx, &ctx.me).await?;
                let (news, meeting) = meetings::schedule(&mut tx, group, default_zone, order, bound, now).await?;
                let changed = meetings::Changed {
                    news,
                    note: None,
                    told: Vec::new(),
                };
                self.publish(tx, &ctx.input.place.channel, (&meeting, group), changed, now)
                    .await?
            }
            Command::MeetingList => {
                let message = meetings::list(store, community, group, reader_zone, now).await?;
                // Times in the reader's own zone would tell the room where they live.
                if ctx.me.zone().is_some() {
                    Response::private(message)
                } else {
                    Response::private_general(message)
                }
            }
            // A change and all it implies (the exception, the notices, the
            // plan, the native event, the prompts at meeting start) commit in
            // one write, read inside it: a failure anywhere leaves nothing.
            Command::MeetingCancel { occurrence } => {
                let mut tx = jobs::write(store).await?;
                let meeting = reload(&mut tx, the_meeting()?).await?;
                let meeting = meetings::for_date(&mut tx, meeting, occurrence).await?;
                let changed = meetings::cancel(&mut tx, &meeting, occurrence, reader_zone, now).await?;
                // The whole series includes the meetings an edit left before
                // its change, a series of their own.
                if matches!(changed.news, meetings::News::SeriesCancelled) {
                    for earlier in meetings::earlier_parts(&mut tx, &meeting).await? {
                        let told = meetings::cancel(&mut tx, &earlier, Some("all"), reader_zone, now)
                            .await?
                            .told;
                        self.series_changed(&mut tx, &earlier, Some(&told), now).await?;
                    }
                }
                self.publish(tx, &ctx.input.place.channel, (&meeting, the_group()?), changed, now)
                    .await?
            }
            Command::MeetingMove {
                occurrence,
                when,
                confirmed,
            } => {
                let mut tx = jobs::write(store).await?;
                let meeting = reload(&mut tx, the_meeting()?).await?;
                let meeting = meetings::for_date(&mut tx, meeting, occurrence).await?;
                let to = meetings::ToWhen {
                    text: when,
                    reader: reader_zone,
                    order: members::date_order(&mut *tx, &ctx.me).await?,
                    confirmed,
                };
                let changed = meetings::move_one(&mut tx, &meeting, the_group()?, occurrence, &to, now).await?;
                self.publish(tx, &ctx.input.place.channel, (&meeting, the_group()?), changed, now)
                    .await?
            }
            Command::MeetingEdit(mut edit) => {
                edit.clear = meetings::edit_clear_list(bound.text("clear"))?;
                let mut tx = jobs::write(store).await?;
                let meeting = reload(&mut tx, the_meeting()?).await?;
                edit.order = members::date_order(&mut *tx, &ctx.me).await?;
                let edited = meetings::edit(&mut tx, &meeting, the_group()?, &edit, now).await?;
                // The meetings left before the change are a series of their
                // own now: their reminders and native event, in the same write.
                if let Some(earlier) = &edited.earlier {
                    self.series_changed(&mut tx, earlier, None, now).await?;
                }
                let meeting = reload(&mut tx, &meeting).await?;
                self.publish(
                    tx,
                    &ctx.input.place.channel,
                    (&meeting, the_group()?),
                    edited.changed,
                    now,
                )
                .await?
            }
            Command::MeetingRsvp { occurrence, answer } => {
                let mut tx = jobs::write(store).await?;
                let meeting = reload(&mut tx, the_meeting()?).await?;
                let meeting = meetings::for_date(&mut tx, meeting, occurrence).await?;
                let message = meetings::rsvp(
                    &mut tx,
                    &meeting,
                    the_group()?,
                    &ctx.me,
                    occurrence,
                    answer,
                    reader_zone,
                    now,
                )
                .await?;
                self.commit_rsvp(tx, meeting.id, &ctx.me, now).await?;
                Response::private(message)
            }
            Command::MeetingRsvpTakenBack { occurrence, answer } => {
                let mut tx = jobs::write(store).await?;
                let meeting = reload(&mut tx, the_meeting()?).await?;
                let meeting = meetings::for_date(&mut tx, meeting, occurrence).await?;
                let Some(message) = meetings::take_back_rsvp(
                    &mut tx,
                    &meeting,
                    the_group()?,
                    &ctx.me,
                    occurrence,
                    answer,
                    reader_zone,
                    now,
                )
                .await?
                else {
                    return Ok(Response::none());
                };
                self.commit_rsvp(tx, meeting.id, &ctx.me, now).await?;
                Response::private(message)
            }
            Command::MeetingCalendar => {
                let series: Vec<(Meeting, String)> = match group {
                    Some(g) => meetings::of_group(store, g.id)
                        .await?
                        .into_iter()
                        .map(|m| (m, g.name.clone()))
                        .collect(),
                    None => meetings::of_community(store, community).await?,
                };
                let name = group.map_or("Meetings", |g| g.name.as_str());
                let file = calendar::calendar(store, name, &series, now).await?;
                Response::private_general(
                    crate::Message::new()
                        .text(format!(
                            "The calendar of {} series; open it with your calendar app.",
                            series.len()
                        ))
                        .attach(file),
                )
            }
            Command::Reminders(asked) => match group {
                Some(group) => {
                    let mut tx = jobs::write(store).await?;
                    let message = reminders::group_settings(&mut tx, group, asked).await?;
                    reminders::plan::plan_group_in(&mut tx, group.id, now, reminders::plan::Scope::All).await?;
                    commit(tx).await?;
                    self.planned();
                    Response::private_general(message)
                }
                None => {
                    let mut tx = jobs::write(store).await?;
                    let mut message = reminders::member_settings(&mut tx, &ctx.me, asked).await?;
                    if let Some(note) = checkins::quiet_note(&mut tx, ctx.me.id).await? {
                        message = message.line(note);
                    }
                    reminders::plan::plan_member_in(&mut tx, ctx.me.id, now).await?;
                    // Quiet hours move the daily check-in prompt too.
                    checkins::member_moved(&mut tx, ctx.me.id, now).await?;
                    commit(tx).await?;
                    self.planned();
                    Response::private(message)
                }
            },
            Command::Crisis { country } => {
                let local = resources::crisis_lines(store, community).await?;
                Response::private(crisis::crisis(country, &local))
            }
            // The talking stick.
            Command::CircleStart {
                mode,
                share_time,
                auto_advance,
                mute_others,
            } => {
                let caller = self.circle_caller(ctx, group).await?;
                let start = circle::Start {
                    group: group.map(|g| g.id),
                    mode,
                    share_time,
                    auto_advance,
                    mute_others,
                    seated: self.seated(ctx).await?,
                };
                let response = circle::start(store, &caller, &start, now).await?;
                self.planned();
                response
            }
            Command::CircleEnd => circle::end(store, &self.circle_caller(ctx, group).await?, now).await?,
            Command::Circle(action) => {
                let response = circle::act(store, &self.circle_caller(ctx, group).await?, action, now).await?;
                self.planned();
                response
            }
            // check-ins
            Command::Checkin(cmd) => {
                let asker = checkins::Asker {
                    me: &ctx.me,
                    community: &ctx.community,
                    platform,
                };
                let (response, planned) = checkins::run(store, cmd, &asker, group, now).await?;
                if planned {
                    self.planned();
                }
                response
            }
            // resources: the list is read by all; additions are public so the community sees them.
            Command::Resources(cmd) => {
                let listing = matches!(cmd, resources::Cmd::List { .. });
                let message = resources::run(store, cmd, community, now).await?;
                if listing {
                    Response::private_general(message)
                } else {
                    Response::public(message)
                }
            }
            // privacy
            Command::MyData => Response::private(privacy::mydata(store, &ctx.me, platform.as_str()).await?),
            Command::ForgetMe { confirm } => {
                // A server mute the bot holds on them is undone first: its record
                // goes with everything else, and nobody is left muted by the bot.
                let unmutes = if confirm {
                    circle::mutes_of_member(store, ctx.me.id).await?
                } else {
                    Vec::new()
                };
                let (message, erased) = privacy::forgetme(store, &ctx.me, community, confirm, now).await?;
                if erased {
                    self.planned();
                }
                unmutes
                    .into_iter()
                    .fold(Response::private(message), Response::with_effect)
            }
        })
    }

    async fn circle_caller<'c>(&self, ctx: &'c Ctx<'_>, group: Option<&Group>) -> Result<circle::Caller<'c>> {
        Ok(circle::Caller {
            platform: ctx.input.place.platform,
            community: ctx.community.id,
            guild: &ctx.input.place.community,
            channel: &ctx.input.place.channel,
            me: &ctx.me,
            facilitator: self.role(ctx, group).await? >= Role::Facilitator,
            may_mute: ctx.input.actor.may_mute,
            circle: ctx.circle,
        })
    }

    /// Everyone in a voice channel or call of `place.community` now, as the
    /// platform reports it on (re)connecting: each joins where they are, and
    /// whoever the core still had in voice but is not listed has left.
    pub async fn voice_snapshot(&self, place: &Place, present: &[(Actor, String)]) -> Response {
        let mut response = Response::none();
        let now = self.clock.now();
        let mut gone = async {
            let community = self.community(place, now).await?;
            circle::in_voice(&self.store, community.id).await
        }
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "reading voice presence");
            Vec::new()
        });
        gone.extend(self.voice.everyone(place.platform, &place.community));
        let leaves = gone
            .into_iter()
            .filter(|(user, _)| !present.iter().any(|(a, _)| a.user == *user))
            .map(|(user, name)| (Actor::member(user, name), String::new(), false));
        let joins = present.iter().map(|(a, c)| (a.clone(), c.clone(), true));
        for (actor, channel, here) in leaves.chain(joins) {
            let input = Input {
                actor,
                place: Place {
                    channel: channel.clone(),
                    ..place.clone()
                },
                kind: InputKind::Presence(crate::io::PresenceChange {
                    channel,
                    present: here,
                    until: None,
                }),
            };
            response.effects.extend(self.handle(&input).await.effects);
        }
        response
    }

    /// How many people Hearth holds as in a voice channel or call of the
    /// community `place` names (platform id) right now. Held in memory only.
    pub fn in_voice(&self, platform: Platform, community: &str) -> usize {
        self.voice.everyone(platform, community).len()
    }

    /// Someone joined or left a voice channel or call. It is held in memory;
    /// it is recorded (and the person becomes a member, if they were not)
    /// only where a circle runs.
    async fn presence(&self, input: &Input, change: &crate::io::PresenceChange) -> Result<Response> {
        let now = self.clock.now();
        let place = &input.place;
        let actor = &input.actor;
        self.voice.set(
            place.platform,
            &place.community,
            &actor.user,
            &actor.name,
            &change.channel,
            change.present,
            change.until,
            actor.may_mute,
            now,
        );
        let community = self.community(place, now).await?;
        let joins_circle = change.present
            && !change.channel.is_empty()
            && circle::runs_at(&self.store, community.id, &change.channel).await?;
        let me = if joins_circle {
            Some(members::member(&self.store, place.platform, &actor.user, &actor.name, now).await?)
        } else {
            members::find(&self.store, place.platform, &actor.user).await?
        };
        // Someone Hearth does not know, where no circle runs: nothing to keep.
        let Some(me) = me else {
            return Ok(Response::none());
        };
        // One voice channel or call at a time: joining one leaves the others;
        // a leave without a channel leaves wherever the person was.
        let mut moves: Vec<(String, bool, Option<DateTime<Utc>>)> =
            circle::voice_channels_of(&self.store, community.id, me.id)
                .await?
                .into_iter()
                .filter(|c| *c != change.channel && (change.present || change.channel.is_empty()))
                .map(|c| (c, false, None))
                .collect();
        if !change.channel.is_empty() {
            moves.push((change.channel.clone(), change.present, change.until));
        }
        let mut response = Response::none();
        for (channel, present, until) in moves {
            let here = circle::Here {
                present,
                may_mute: input.actor.may_mute,
            };
            let changed = circle::presence(
                &self.store,
                place.platform,
                community.id,
                &place.community,
                &channel,
                &me,
                here,
                until,
                now,
            )
            .await?;
            response.effects.extend(changed.effects);
        }
        self.planned();
        Ok(response)
    }

    /// The voice channel or call the caller is in, with who is there, as
    /// held in memory: the people a circle started now begins with. They
    /// join it, so they are members from here on.
    async fn seated(&self, ctx: &Ctx<'_>) -> Result<Option<circle::Seated>> {
        let place = &ctx.input.place;
        let Some(channel) = self
            .voice
            .channel_of(place.platform, &place.community, &ctx.input.actor.user, ctx.now)
        else {
            return Ok(None);
        };
        let mut people = Vec::new();
        for seat in self
            .voice
            .in_channel(place.platform, &place.community, &channel, ctx.now)
        {
            let member = members::member(&self.store, place.platform, &seat.user, &seat.name, ctx.now).await?;
            people.push(circle::Sitter {
                member: member.id,
                since: seat.since,
                until: seat.until,
                may_mute: seat.may_mute,
            });
        }
        Ok(Some(circle::Seated { channel, people }))
    }

    /// What a change to a series implies, in the change's own write: its
    /// notices, its plan, its native event and the group's prompts at
    /// meeting start.
    async fn series_changed(
        &self,
        conn: &mut sqlx::SqliteConnection,
        meeting: &Meeting,
        told: Option<&meetings::Told>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some(told) = told {
            meetings::tell::queue_notices(&mut *conn, meeting, told, now).await?;
        }
        reminders::plan::plan_in(&mut *conn, meeting.id, now, reminders::plan::Scope::All, false).await?;
        meetings::tell::queue_event(&mut *conn, meeting.id, now).await?;
        checkins::meetings_moved(&mut *conn, meeting.group_id, now).await?;
        Ok(())
    }

    /// The end of a schedule, cancel or move: all it implies
    /// ([`Self::series_changed`]) and its news ([`announce`]) in its write,
    /// then the commit. Returns the answer to the one who typed it.
    async fn publish(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        here: &str,
        (meeting, group): (&Meeting, &Group),
        changed: meetings::Changed,
        now: DateTime<Utc>,
    ) -> Result<Response> {
        let meetings::Changed { news, note, told } = changed;
        self.series_changed(&mut tx, meeting, Some(&told), now).await?;
        let answer = announce(&mut tx, here, (meeting, group), &news, note, now).await?;
        commit(tx).await?;
        self.planned();
        Ok(answer)
    }

    /// The caller's role, for `group` when the command names one.
    async fn role(&self, ctx: &Ctx<'_>, group: Option<&Group>) -> Result<Role> {
        let actor = &ctx.input.actor;
        if actor.platform_admin || members::is_recorded_admin(&self.store, ctx.community.id, ctx.me.id).await? {
            return Ok(Role::Admin);
        }
        if actor.platform_facilitator {
            return Ok(Role::Facilitator);
        }
        if let Some(group) = group
            && groups::is_facilitator(&self.store, group.id, ctx.me.id).await?
        {
            return Ok(Role::Facilitator);
        }
        Ok(Role::Member)
    }
}
