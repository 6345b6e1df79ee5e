//! A member's own commands, routed to their features: time zone, reminders,
//! check-ins, resources and their data (`/mydata`, `/forgetme`).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::error::Result;
use crate::groups::Group;
use crate::io::Response;
use crate::members;
use crate::store::Tx;
use crate::{checkins, circle, privacy, reminders, resources};

use super::{Ctx, Hearth};

/// What a change to a member's zone or quiet hours implies, in its write:
/// their reminders and their daily check-in prompt, read in the zone, move.
async fn moved(tx: &mut Tx, member: i64, now: DateTime<Utc>) -> Result<()> {
    reminders::plan::plan_member_in(&mut *tx, member, now).await?;
    checkins::member_moved(&mut *tx, member, now).await?;
    Ok(())
}

impl Hearth {
    /// The zone, the date order, and the reminders and prompts read in the
    /// zone (quiet hours, the daily check-in), in one write.
    pub(super) async fn timezone(
        &self,
        ctx: &Ctx<'_>,
        zone: Option<Tz>,
        dates: Option<crate::when::DateOrder>,
    ) -> Result<Response> {
        let now = ctx.now;
        let mut tx = self.write().await?;
        let message = members::timezone(&mut tx, &ctx.me, &ctx.community, zone, dates, now).await?;
        if zone.is_some() {
            moved(&mut tx, ctx.me.id, now).await?;
        }
        self.commit_planned(tx).await?;
        Ok(Response::private(message))
    }

    /// `/reminders`: a group's (its facilitators'), or the caller's own.
    pub(super) async fn reminders(
        &self,
        ctx: &Ctx<'_>,
        asked: reminders::Asked<'_>,
        group: Option<&Group>,
    ) -> Result<Response> {
        let now = ctx.now;
        let mut tx = self.write().await?;
        if let Some(group) = group {
            let message = reminders::group_settings(&mut tx, group, asked).await?;
            reminders::plan::plan_group_in(&mut tx, group.id, now, reminders::plan::Scope::All).await?;
            self.commit_planned(tx).await?;
            return Ok(Response::private_general(message));
        }
        let mut message = reminders::member_settings(&mut tx, &ctx.me, asked).await?;
        if let Some(note) = checkins::quiet_note(&mut tx, ctx.me.id).await? {
            message = message.line(note);
        }
        // Quiet hours move the daily check-in prompt too.
        moved(&mut tx, ctx.me.id, now).await?;
        self.commit_planned(tx).await?;
        Ok(Response::private(message))
    }

    /// The check-in commands.
    pub(super) async fn checkin(
        &self,
        ctx: &Ctx<'_>,
        cmd: checkins::Cmd<'_>,
        group: Option<&Group>,
    ) -> Result<Response> {
        let asker = checkins::Asker {
            me: &ctx.me,
            community: &ctx.community,
            platform: ctx.input.place.platform,
        };
        let (response, planned) = checkins::run(&self.store, cmd, &asker, group, ctx.now).await?;
        if planned {
            self.planned();
        }
        Ok(response)
    }

    /// resources: the list is read by all; additions are public so the
    /// community sees them.
    pub(super) async fn resources(&self, ctx: &Ctx<'_>, cmd: resources::Cmd<'_>) -> Result<Response> {
        let listing = matches!(cmd, resources::Cmd::List { .. });
        let message = resources::run(&self.store, cmd, ctx.community.id, ctx.now).await?;
        Ok(if listing {
            Response::private_general(message)
        } else {
            Response::public(message)
        })
    }

    /// `/forgetme`: a server mute the bot holds on them is undone first: its
    /// record goes with everything else, and nobody is left muted by the bot.
    pub(super) async fn forget_me(&self, ctx: &Ctx<'_>, confirm: bool) -> Result<Response> {
        let unmutes = if confirm {
            circle::mutes_of_member(&self.store, ctx.me.id).await?
        } else {
            Vec::new()
        };
        let held = if confirm {
            crate::meetings::places_held(&self.store, ctx.me.id, None, ctx.now).await?
        } else {
            Vec::new()
        };
        let (message, erased) = privacy::forgetme(&self.store, &ctx.me, ctx.community.id, confirm, ctx.now).await?;
        if erased {
            // The places they held go to the first in line. A write of its
            // own, after the erasure's: should it not happen, the next RSVP
            // to that meeting fills the place first.
            if !held.is_empty() {
                let mut tx = self.write().await?;
                self.free_places(&mut tx, held, ctx.now).await?;
                self.commit_planned(tx).await?;
            }
            self.planned();
        }
        Ok(unmutes
            .into_iter()
            .fold(Response::private(message), Response::with_effect))
    }
}
