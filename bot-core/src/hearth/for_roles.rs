//! The `role …` commands, routed to `roles`: a change to who holds a role
//! and the reminders it brings or takes away commit in one write.

use crate::error::Result;
use crate::groups::Group;
use crate::io::Response;
use crate::members::{self, Member};
use crate::reminders::plan::{Scope, plan_group_in};
use crate::roles;
use crate::spec::Role;

use super::command::RoleCmd;
use super::{Ctx, Hearth, the_group};

impl Hearth {
    /// Routes a `role …` command.
    pub(super) async fn run_role(
        &self,
        ctx: &Ctx<'_>,
        command: RoleCmd<'_>,
        group: Option<&Group>,
    ) -> Result<Response> {
        let group = the_group(group)?;
        let now = ctx.now;
        match command {
            RoleCmd::List => {
                let day = roles::today(&self.store, group.id, now).await?;
                let message = roles::list(group, &roles::of_group(&self.store, group.id, day).await?);
                // In the group's own place, for all there; elsewhere, to the asker.
                Ok(if ctx.input.place.channel == group.home_channel {
                    Response::public(message)
                } else {
                    Response::private_general(message)
                })
            }
            RoleCmd::Assign {
                kind,
                user,
                backup,
                until,
            } => {
                let holder = self.person(ctx, user).await?;
                let backup = self.person(ctx, backup).await?;
                let asked = roles::Assign {
                    kind,
                    holder: holder.as_ref(),
                    backup: backup.as_ref(),
                    last_day: until,
                };
                let mut tx = self.write().await?;
                let message = roles::assign(&mut tx, group, asked, now).await?;
                // A holder is reminded, and a chair's back-up checks the start.
                plan_group_in(&mut tx, group.id, now, Scope::All).await?;
                self.commit_planned(tx).await?;
                Ok(Response::public(message))
            }
            RoleCmd::Signup { kind, until } => {
                let mut tx = self.write().await?;
                let message = roles::signup(&mut tx, group, kind, &ctx.me, until, now).await?;
                plan_group_in(&mut tx, group.id, now, Scope::Member(ctx.me.id)).await?;
                self.commit_planned(tx).await?;
                Ok(Response::public(message))
            }
            RoleCmd::Release { kind, which } => {
                let facilitator = self.role(ctx, Some(group)).await? >= Role::Facilitator;
                let asked = roles::Release {
                    kind,
                    which,
                    me: &ctx.me,
                    facilitator,
                };
                let mut tx = self.write().await?;
                let message = roles::release(&mut tx, group, asked, now).await?;
                plan_group_in(&mut tx, group.id, now, Scope::All).await?;
                self.commit_planned(tx).await?;
                Ok(Response::public(message))
            }
        }
    }

    /// The person a `user` option names, if it names one.
    async fn person(&self, ctx: &Ctx<'_>, user: Option<&str>) -> Result<Option<Member>> {
        Ok(match user {
            Some(user) => Some(members::named_member(&self.store, ctx.input.place.platform, user, ctx.now).await?),
            None => None,
        })
    }
}
