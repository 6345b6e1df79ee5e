//! From an input to its feature: who and where, which group or meeting the
//! command means, whether the caller may, and the route to the feature.

use crate::error::{Error, Result, UserError};
use crate::groups::{self, Group};
use crate::io::{Input, InputKind, Invocation, Response};
use crate::meetings::{self, Meeting};
use crate::members;
use crate::parse::{self, Bound};
use crate::spec::{Kind, Role};
use crate::{circle, crisis, help, privacy, resources, script};

use super::command::{Command, GroupCmd};
use super::{Ctx, Hearth};

/// The commands that act on a running circle (all of the stick's but `circle start`).
fn acts_on_a_circle(command: &str) -> bool {
    (command.starts_with("circle ") && command != "circle start") || command.starts_with("hand ")
}

/// The commands that act on a running meeting, whose group is the one running here.
fn acts_on_a_run(command: &str) -> bool {
    matches!(
        command,
        "meeting next"
            | "meeting back"
            | "meeting skip"
            | "meeting extend"
            | "meeting end"
            | "meeting phrase"
            | "meeting panel"
    )
}

impl Hearth {
    pub(super) async fn try_handle(&self, input: &Input) -> Result<Response> {
        let (invocation, undo) = match &input.kind {
            InputKind::Command(invocation) => (invocation, false),
            InputKind::Undo(invocation) => (invocation, true),
            InputKind::Presence(change) => return self.presence(input, change).await,
            InputKind::Banned => return self.banned(input).await,
        };
        self.command(input, invocation, undo).await
    }

    /// A command, or the undoing of a button press (`undo`).
    async fn command(&self, input: &Input, invocation: &Invocation, undo: bool) -> Result<Response> {
        let bound = parse::bind(invocation)?;
        let mut ctx = self.ctx(input).await?;
        let (group, meeting) = self.named(&mut ctx, &bound).await?;
        let role = self.permitted(&ctx, &bound, group.as_ref()).await?;
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

    /// Who and where, resolved to stored rows, with one `now`.
    async fn ctx<'i>(&self, input: &'i Input) -> Result<Ctx<'i>> {
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
        Ok(Ctx {
            input,
            now,
            community,
            me,
            circle: None,
        })
    }

    /// The group and meeting the command means: named, at home here, or
    /// (for a running circle's commands) the circle's.
    async fn named(&self, ctx: &mut Ctx<'_>, bound: &Bound) -> Result<(Option<Group>, Option<Meeting>)> {
        let mut meeting = None;
        let group = match (bound.spec.option("group").map(|o| o.kind), bound.int("meeting")) {
            (Some(Kind::Group), _) => match bound.text("group") {
                Some(name) => Some(groups::find(&self.store, ctx.community.id, name).await?),
                // A command that needs a group means, unnamed, the one at home here.
                None if bound.spec.option("group").is_some_and(|o| o.required) => Some(
                    groups::homed_in(&self.store, ctx.community.id, &ctx.input.place.channel, bound.spec.name).await?,
                ),
                None => None,
            },
            (_, Some(id)) => {
                let (m, g) = meetings::find(&self.store, ctx.community.id, id).await?;
                meeting = Some(m);
                Some(g)
            }
            _ => None,
        };
        let group = match group {
            None if acts_on_a_circle(bound.spec.name) => self.circle_group(ctx, bound).await?,
            None if acts_on_a_run(bound.spec.name) => Some(self.running_group(ctx, bound).await?),
            group => group,
        };
        Ok((group, meeting))
    }

    /// A running meeting's commands, unnamed, mean the one meeting running
    /// here, else the group at home here.
    async fn running_group(&self, ctx: &Ctx<'_>, bound: &Bound) -> Result<Group> {
        let channel = &ctx.input.place.channel;
        match script::running_at(&self.store, ctx.community.id, channel)
            .await?
            .as_slice()
        {
            [only] => groups::by_id(&self.store, *only).await,
            _ => groups::homed_in(&self.store, ctx.community.id, channel, bound.spec.name).await,
        }
    }

    /// A running circle's commands act on the circle they mean, and answer
    /// to its group's facilitators.
    async fn circle_group(&self, ctx: &mut Ctx<'_>, bound: &Bound) -> Result<Option<Group>> {
        let found = circle::target(
            &self.store,
            ctx.community.id,
            &ctx.input.place.channel,
            ctx.me.id,
            bound.int("circle"),
        )
        .await?;
        ctx.circle = found.map(|(id, _)| id);
        Ok(match found.and_then(|(_, group)| group) {
            Some(id) => Some(groups::by_id(&self.store, id).await?),
            None => None,
        })
    }

    /// The caller's role for the command, if it is enough for it.
    async fn permitted(&self, ctx: &Ctx<'_>, bound: &Bound, group: Option<&Group>) -> Result<Role> {
        let mut role = self.role(ctx, group).await?;
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
                group: group.map(|g| g.name.clone()),
            }
            .into());
        }
        Ok(role)
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
        if matches!(command, Command::Group(GroupCmd::Join { user: Some(_) })) && role < Role::Facilitator {
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

    /// Routes a command to its family's runner, or, for a command that is
    /// one call, to its feature.
    async fn run(
        &self,
        ctx: &Ctx<'_>,
        bound: &Bound,
        command: Command<'_>,
        group: Option<&Group>,
        meeting: Option<&Meeting>,
    ) -> Result<Response> {
        Ok(match command {
            Command::Help { command, family } => Response::private_general(match family {
                Some(family) => help::family(family),
                None => help::help(command),
            }),
            Command::Group(cmd) => self.run_group(ctx, bound, cmd, group).await?,
            Command::Timezone { zone, dates } => self.timezone(ctx, zone, dates).await?,
            Command::Meeting(cmd) => self.run_meeting(ctx, bound, cmd, group, meeting).await?,
            Command::Reminders(asked) => self.reminders(ctx, asked, group).await?,
            Command::Crisis { country } => {
                let local = resources::crisis_lines(&self.store, ctx.community.id).await?;
                Response::private(crisis::crisis(country, &local))
            }
            // The talking stick.
            Command::CircleStart {
                mode,
                share_time,
                auto_advance,
                mute_others,
            } => {
                let start = circle::Start {
                    group: group.map(|g| g.id),
                    mode,
                    share_time,
                    auto_advance,
                    mute_others,
                    seated: None,
                    carried: Vec::new(),
                };
                self.circle_start(ctx, group, start).await?
            }
            Command::CircleEnd => circle::end(&self.store, &self.circle_caller(ctx, group).await?, ctx.now).await?,
            Command::Circle(action) => self.circle_act(ctx, group, action).await?,
            Command::Checkin(cmd) => self.checkin(ctx, cmd, group).await?,
            Command::Role(cmd) => self.run_role(ctx, cmd, group).await?,
            Command::Milestone(cmd) => self.run_milestone(ctx, cmd, group).await?,
            Command::Resources(cmd) => self.resources(ctx, cmd).await?,
            // privacy
            Command::MyData => {
                Response::private(privacy::mydata(&self.store, &ctx.me, ctx.input.place.platform.as_str()).await?)
            }
            Command::ForgetMe { confirm } => self.forget_me(ctx, confirm).await?,
            Command::Publish { on, slug } => self.publish_community(ctx, on, slug).await?,
        })
    }
}
