//! The core service: takes one input, checks it against the spec and the
//! caller's role, runs it, and answers with a reply and effects.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::clock::Clock;
use crate::error::{Error, Result, UserError, apology};
use crate::groups::{self, Group};
use crate::help;
use crate::io::{Actor, Input, InputKind, Place, Response};
use crate::members::{self, Community, Member};
use crate::parse::{self, Bound};
use crate::spec::{CommandSpec, Kind, Role};
use crate::store::Store;

/// Settings the core needs from the configuration.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The zone a new community starts with.
    pub default_timezone: Tz,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            default_timezone: Tz::UTC,
        }
    }
}

/// Hearth's core. Cheap to clone; every adapter holds one.
#[derive(Debug, Clone)]
pub struct Hearth {
    store: Store,
    clock: Arc<dyn Clock>,
    config: CoreConfig,
}

/// Who and where, resolved to stored rows, with one `now` for the whole input.
struct Ctx<'a> {
    input: &'a Input,
    now: DateTime<Utc>,
    community: Community,
    me: Member,
}

/// Every command, as the core handles it.
pub(crate) enum Command<'a> {
    Help(Option<&'static CommandSpec>),
    GroupCreate,
    GroupEdit,
    GroupInfo,
    GroupList {
        topic: Option<&'a str>,
        meeting_guide: bool,
    },
    GroupJoin,
    GroupLeave,
    GroupFacilitator {
        user: &'a str,
        add: bool,
    },
    Timezone(Option<Tz>),
}

impl<'a> Command<'a> {
    pub(crate) fn from_bound(b: &'a Bound) -> Option<Self> {
        Some(match b.spec.name {
            "help" => Command::Help(b.command("command")),
            "group create" => Command::GroupCreate,
            "group edit" => Command::GroupEdit,
            "group info" => Command::GroupInfo,
            "group list" => Command::GroupList {
                topic: b.text("topic"),
                meeting_guide: b.choice("format") == Some("meeting_guide"),
            },
            "group join" => Command::GroupJoin,
            "group leave" => Command::GroupLeave,
            "group facilitator" => Command::GroupFacilitator {
                user: b.text("user")?,
                add: b.choice("action")? == "add",
            },
            "timezone" => Command::Timezone(b.zone("zone")),
            _ => return None,
        })
    }
}

/// A short id to quote for an internal error.
fn error_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

impl Hearth {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: CoreConfig) -> Self {
        Self { store, clock, config }
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
        match self.try_handle(input).await {
            Ok(response) => response,
            Err(Error::User(e)) => {
                tracing::debug!(platform = input.place.platform.as_str(), "user error");
                Response::private(e.to_message())
            }
            Err(Error::Internal { context, source }) => {
                let id = error_id();
                tracing::error!(error_id = %id, context, error = %source, "internal error");
                Response::private(apology(&id))
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
        let invocation = match &input.kind {
            InputKind::Command(invocation) => invocation,
            // No feature follows voice presence yet; the talking stick will.
            InputKind::Presence(_) => return Ok(Response::none()),
        };
        let bound = parse::bind(invocation)?;
        let now = self.clock.now();
        let community = self.community(&input.place, now).await?;
        let me = members::member(
            &self.store,
            input.place.platform,
            &input.actor.user,
            &input.actor.name,
            now,
        )
        .await?;
        let ctx = Ctx {
            input,
            now,
            community,
            me,
        };
        let group = match bound.spec.option("group").map(|o| o.kind) {
            Some(Kind::Group) => match bound.text("group") {
                Some(name) => Some(groups::find(&self.store, ctx.community.id, name).await?),
                None => None,
            },
            _ => None,
        };
        let role = self.role(&ctx, group.as_ref()).await?;
        if role < bound.spec.who {
            return Err(UserError::NotPermitted {
                command: bound.spec.name,
                needs: bound.spec.who,
                group: group.map(|g| g.name),
            }
            .into());
        }
        tracing::info!(
            platform = input.place.platform.as_str(),
            community = ctx.community.id,
            member = ctx.me.id,
            command = bound.spec.name,
            "command"
        );
        let Some(command) = Command::from_bound(&bound) else {
            return Err(Error::Internal {
                context: "dispatching a command",
                source: format!("no handler for {}", bound.spec.name).into(),
            });
        };
        self.run(&ctx, &bound, command, group.as_ref()).await
    }

    async fn run(&self, ctx: &Ctx<'_>, bound: &Bound, command: Command<'_>, group: Option<&Group>) -> Result<Response> {
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
        Ok(match command {
            Command::Help(command) => Response::private(help::help(command)),
            Command::GroupCreate => {
                Response::public(groups::create(store, community, &ctx.input.place.channel, bound, ctx.now).await?)
            }
            Command::GroupEdit => Response::public(groups::edit(store, the_group()?, bound).await?),
            Command::GroupInfo => Response::public(groups::card_message(store, the_group()?).await?),
            Command::GroupList { topic, meeting_guide } => {
                Response::public(groups::list(store, community, topic, meeting_guide, ctx.now).await?)
            }
            Command::GroupJoin => Response::private(groups::join(store, the_group()?, &ctx.me, ctx.now).await?),
            Command::GroupLeave => Response::private(groups::leave(store, the_group()?, &ctx.me).await?),
            Command::GroupFacilitator { user, add } => {
                Response::public(groups::facilitator(store, platform, the_group()?, user, add, ctx.now).await?)
            }
            Command::Timezone(zone) => {
                Response::private(members::timezone(store, &ctx.me, &ctx.community, zone, ctx.now).await?)
            }
        })
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
