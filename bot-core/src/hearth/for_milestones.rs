//! The `milestone …` commands, routed to `milestones`: a member's own
//! choice, for a group they belong to, answered to them alone.

use crate::error::{Result, UserError};
use crate::groups::{self, Group};
use crate::io::Response;
use crate::message::Line;
use crate::milestones;

use super::command::MilestoneCmd;
use super::{Ctx, Hearth, the_group};

impl Hearth {
    /// Routes a `milestone …` command.
    pub(super) async fn run_milestone(
        &self,
        ctx: &Ctx<'_>,
        command: MilestoneCmd<'_>,
        group: Option<&Group>,
    ) -> Result<Response> {
        let group = the_group(group)?;
        let g = (group.id, group.name.as_str());
        let message = match command {
            MilestoneCmd::Set { began, name } => {
                if !groups::belongs(&self.store, group.id, ctx.me.id).await? {
                    return Err(UserError::Refused(
                        Line::text(format!(
                            "Milestones are said to the group's own members; join {} first with ",
                            group.name
                        ))
                        .cmd("group join")
                        .t("."),
                    )
                    .into());
                }
                // The day as the group's calendar reads it: where it meets.
                let zone = group
                    .timezone
                    .as_deref()
                    .and_then(|z| z.parse().ok())
                    .unwrap_or(ctx.community.zone());
                let today = ctx.now.with_timezone(&zone).date_naive();
                milestones::set(&self.store, g, ctx.me.id, (began, name), today).await?
            }
            MilestoneCmd::Clear => milestones::clear(&self.store, g, ctx.me.id).await?,
        };
        Ok(Response::private(message))
    }
}
