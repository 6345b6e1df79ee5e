//! The `group …` commands, routed to `groups`, with what a change to a
//! group implies for its meetings, reminders and prompts in the same write.

use crate::error::Result;
use crate::groups::{self, Group};
use crate::io::{Input, Response};
use crate::meetings;
use crate::members;
use crate::parse::Bound;
use crate::{checkins, finder, meeting_guide, reminders, retention, roles};

use super::command::GroupCmd;
use super::{Ctx, Hearth, the_group};

impl Hearth {
    /// Routes a `group …` command.
    pub(super) async fn run_group(
        &self,
        ctx: &Ctx<'_>,
        bound: &Bound,
        command: GroupCmd<'_>,
        group: Option<&Group>,
    ) -> Result<Response> {
        let store = &self.store;
        let community = ctx.community.id;
        Ok(match command {
            GroupCmd::Create => {
                Response::public(groups::create(store, community, &ctx.input.place.channel, bound, ctx.now).await?)
            }
            GroupCmd::Edit => self.group_edit(ctx, bound, the_group(group)?).await?,
            GroupCmd::Retire { confirm } => self.retire(ctx, the_group(group)?, confirm).await?,
            GroupCmd::Info => self.group_info(ctx, the_group(group)?).await?,
            GroupCmd::List {
                topic,
                meeting_guide,
                when: [day, time, after, before],
            } => {
                let filter = finder::Filter::parse(day, time, after, before)?;
                if meeting_guide {
                    // A file for whoever publishes the listing, not a post for the room.
                    Response::private(meeting_guide::message(store, community, ctx.now).await?)
                } else if !filter.is_empty() {
                    self.group_finder(ctx, topic, &filter).await?
                } else {
                    Response::public(groups::list(store, community, topic).await?)
                }
            }
            GroupCmd::Join { user } => self.join(ctx, group, user).await?,
            GroupCmd::Leave => self.leave(ctx, the_group(group)?).await?,
            GroupCmd::Facilitator { user, add } => {
                // A change is the community's news; a change that was not
                // one says something about a person to the admin alone.
                let platform = ctx.input.place.platform;
                match groups::facilitator(store, platform, the_group(group)?, user, add, ctx.now).await? {
                    (message, true) => Response::public(message),
                    (message, false) => Response::private(message),
                }
            }
        })
    }

    /// `/group list` with `day:`, `time:`, `after:` or `before:`: the groups
    /// that meet then in the reader's own zone, nearest first.
    async fn group_finder(&self, ctx: &Ctx<'_>, topic: Option<&str>, filter: &finder::Filter) -> Result<Response> {
        let store = &self.store;
        let zone = ctx.reader_zone();
        let series: Vec<_> = meetings::of_community(store, ctx.community.id)
            .await?
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        let found = finder::upcoming(store, &series, ctx.now).await?;
        let nearest: Vec<_> = finder::nearest_per_group(&found, filter, zone)
            .into_iter()
            .map(|u| (u.group, u.start))
            .collect();
        let message = groups::found(
            store,
            ctx.community.id,
            topic,
            &nearest,
            zone,
            (&filter.describe(), finder::HORIZON_DAYS),
        )
        .await?;
        // Times in the reader's own zone would tell the room where they live.
        Ok(if ctx.me.zone().is_some() {
            Response::private(message)
        } else {
            Response::private_general(message)
        })
    }

    async fn group_edit(&self, ctx: &Ctx<'_>, bound: &Bound, group: &Group) -> Result<Response> {
        let (store, now) = (&self.store, ctx.now);
        // The card and what its `ends` means for every series, in one write.
        let mut tx = self.write().await?;
        let group = groups::edit(&mut tx, group, bound).await?;
        // A raised or cleared capacity opens places: the first in line take
        // them now, told in this write. (No place is free after any other
        // edit, and then this fills none.)
        let waiting = meetings::waiting_to_come(&mut tx, group.id, now).await?;
        self.free_places(&mut tx, waiting, now).await?;
        // Its series are listed with the card's fields: the feeds' `updated` follows.
        meetings::touch_group(&mut tx, group.id, now).await?;
        for meeting in meetings::of_group_in(&mut tx, group.id).await? {
            self.series_changed(&mut tx, &meeting, None, now).await?;
        }
        self.commit_planned(tx).await?;
        Ok(Response::public(
            groups::edited_card(store, &group, meetings::group_meets(store, group.id, now).await?).await?,
        ))
    }

    async fn retire(&self, ctx: &Ctx<'_>, group: &Group, confirm: bool) -> Result<Response> {
        let (store, now) = (&self.store, ctx.now);
        if !confirm {
            let keep = self.config.retention.num_days();
            let series = meetings::of_group(store, group.id).await?.len();
            return Ok(Response::private(groups::retire_preview(group, keep, series)));
        }
        let mut tx = self.write().await?;
        for meeting in meetings::of_group_in(&mut tx, group.id).await? {
            let told = meetings::cancel(&mut tx, &meeting, Some("all"), meeting.zone(), now)
                .await?
                .told;
            self.series_changed(&mut tx, &meeting, Some(&told), now).await?;
        }
        groups::retire(&mut tx, group, now).await?;
        checkins::stop_group(&mut tx, group.id).await?;
        self.commit_planned(tx).await?;
        Ok(Response::public(crate::Message::new().text(format!(
            "Retired {}: it is gone from the group list and the feeds, its meetings are cancelled and its check-in prompts stopped.",
            group.name
        ))))
    }

    async fn group_info(&self, ctx: &Ctx<'_>, group: &Group) -> Result<Response> {
        let store = &self.store;
        // A closed group's link is for its members: their own view of the card.
        let meets = meetings::group_meets(store, group.id, ctx.now).await?;
        Ok(
            if groups::is_closed(group) && groups::belongs(store, group.id, ctx.me.id).await? {
                Response::private(groups::card_message(store, group, true, meets).await?)
            } else {
                Response::public(groups::card_message(store, group, false, meets).await?)
            },
        )
    }

    async fn join(&self, ctx: &Ctx<'_>, group: Option<&Group>, user: Option<&str>) -> Result<Response> {
        let (store, now) = (&self.store, ctx.now);
        let admit = match user {
            Some(user) => Some(members::named_member(store, ctx.input.place.platform, user, now).await?),
            None => None,
        };
        // The membership and the reminders it brings, in one write.
        let mut tx = self.write().await?;
        let joined = groups::join(&mut tx, the_group(group)?, &ctx.me, admit.as_ref(), now).await?;
        if let Some(member) = joined.member {
            reminders::plan::plan_group_in(
                &mut tx,
                the_group(group)?.id,
                now,
                reminders::plan::Scope::Member(member),
            )
            .await?;
        }
        self.commit_planned(tx).await?;
        Ok(joined.response)
    }

    /// Places a member gave up, as (meeting, original start, start): each
    /// goes to the first in line there, told in this write.
    pub(super) async fn free_places(
        &self,
        tx: &mut crate::store::Tx,
        freed: Vec<(i64, i64, i64)>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        for (meeting, original, start) in freed {
            let placed = meetings::fill_places(&mut *tx, (meeting, original), now).await?;
            if placed.is_empty() {
                continue;
            }
            if let Some(series) = meetings::by_id_in(&mut *tx, meeting).await? {
                let occurrence = meetings::Occurrence {
                    original: crate::when::at(original),
                    start: crate::when::at(start),
                };
                self.placed(&mut *tx, &series, &occurrence, placed, now).await?;
            }
        }
        Ok(())
    }

    /// A ban: the person is out of each of the community's groups as if they
    /// had left each one (their places in meetings to come freed for the
    /// first in line, their roles open, their milestones gone, their
    /// reminders unplanned), in one write. Someone Hearth never saw, or in
    /// none of its groups there, changes nothing. Logged by ids alone.
    pub(super) async fn banned(&self, input: &Input) -> Result<Response> {
        let now = self.clock.now();
        let place = &input.place;
        let Some(member) = members::find(&self.store, place.platform, &input.actor.user).await? else {
            return Ok(Response::none());
        };
        let mut tx = self.write().await?;
        let groups = groups::theirs_in(&mut tx, place.platform, &place.community, member.id).await?;
        if groups.is_empty() {
            return Ok(Response::none());
        }
        for &group in &groups {
            groups::remove(&mut tx, group, member.id).await?;
            let freed = retention::left_group(&mut tx, group, member.id, now).await?;
            self.free_places(&mut tx, freed, now).await?;
            crate::milestones::left_group(&mut tx, group, member.id).await?;
            let scope = if roles::left_group(&mut tx, group, member.id).await? > 0 {
                reminders::plan::Scope::All
            } else {
                reminders::plan::Scope::Member(member.id)
            };
            reminders::plan::plan_group_in(&mut tx, group, now, scope).await?;
        }
        self.commit_planned(tx).await?;
        tracing::info!(
            platform = place.platform.as_str(),
            member = member.id,
            groups = groups.len(),
            "banned: out of the community's groups"
        );
        Ok(Response::none())
    }

    async fn leave(&self, ctx: &Ctx<'_>, group: &Group) -> Result<Response> {
        let now = ctx.now;
        let mut tx = self.write().await?;
        let message = groups::leave(&mut tx, group, &ctx.me).await?;
        let freed = retention::left_group(&mut tx, group.id, ctx.me.id, now).await?;
        self.free_places(&mut tx, freed, now).await?;
        crate::milestones::left_group(&mut tx, group.id, ctx.me.id).await?;
        // Their roles are open again; a chair's back-up no longer checks the start.
        let scope = if roles::left_group(&mut tx, group.id, ctx.me.id).await? > 0 {
            reminders::plan::Scope::All
        } else {
            reminders::plan::Scope::Member(ctx.me.id)
        };
        reminders::plan::plan_group_in(&mut tx, group.id, now, scope).await?;
        self.commit_planned(tx).await?;
        Ok(Response::private(message))
    }
}
