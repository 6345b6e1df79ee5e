//! The `meeting …` commands, routed to `meetings` and `calendar`: a change
//! to a series and all it implies (the exception, the notices, the plan, the
//! native event, the prompts at meeting start) commit in one write, read
//! inside it: a failure anywhere leaves nothing.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result, UserError};
use crate::groups::Group;
use crate::io::Response;
use crate::meetings::{self, Meeting};
use crate::members::{self, Member};
use crate::message::{Line, Span};
use crate::parse::Bound;
use crate::store::Tx;
use crate::{calendar, checkins, reminders};

use super::command::MeetingCmd;
use super::{Ctx, Hearth};

/// The series as it is inside the write about to change it: another change
/// may have committed since it was looked up.
async fn reload(tx: &mut Tx, meeting: &Meeting) -> Result<Meeting> {
    meetings::by_id_in(&mut *tx, meeting.id)
        .await?
        .ok_or_else(|| UserError::MeetingNotFound.into())
}

/// The meeting a meeting command names: resolved by now.
fn the_meeting(meeting: Option<&Meeting>) -> Result<&Meeting> {
    meeting.ok_or(Error::Internal {
        context: "running a meeting command",
        source: "meeting option not resolved".into(),
    })
}

/// A change to a group's meetings is the group's news, told in its home
/// channel, where its members look. Typed there, the answer is the news;
/// typed elsewhere, or with a line for the one who typed it alone (which
/// date it took, in their own zone), they get it privately, told where it
/// went, and the post is queued in the change's own write
/// ([`meetings::tell::queue_news`]): a crash after the commit cannot lose it.
async fn announce(
    tx: &mut Tx,
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
    meetings::tell::queue_news(&mut *tx, meeting, news, now).await?;
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

impl Hearth {
    /// Routes a `meeting …` command.
    pub(super) async fn run_meeting(
        &self,
        ctx: &Ctx<'_>,
        bound: &Bound,
        command: MeetingCmd<'_>,
        group: Option<&Group>,
        meeting: Option<&Meeting>,
    ) -> Result<Response> {
        let the_group = || super::the_group(group);
        match command {
            MeetingCmd::Schedule => self.schedule(ctx, bound, the_group()?).await,
            MeetingCmd::List => {
                let message = meetings::list(&self.store, ctx.community.id, group, ctx.reader_zone(), ctx.now).await?;
                // Times in the reader's own zone would tell the room where they live.
                Ok(if ctx.me.zone().is_some() {
                    Response::private(message)
                } else {
                    Response::private_general(message)
                })
            }
            MeetingCmd::Cancel { occurrence } => self.cancel(ctx, (the_meeting(meeting)?, group), occurrence).await,
            MeetingCmd::Move {
                occurrence,
                when,
                confirmed,
            } => {
                let to = (when, confirmed);
                self.move_one(ctx, (the_meeting(meeting)?, group), occurrence, to).await
            }
            MeetingCmd::Edit(edit) => self.edit(ctx, bound, (the_meeting(meeting)?, group), edit).await,
            MeetingCmd::Rsvp { occurrence, answer } => {
                self.rsvp(ctx, (the_meeting(meeting)?, group), (occurrence, answer), false)
                    .await
            }
            MeetingCmd::RsvpTakenBack { occurrence, answer } => {
                self.rsvp(ctx, (the_meeting(meeting)?, group), (occurrence, answer), true)
                    .await
            }
            MeetingCmd::Calendar { feed: Some(feed) } => self.calendar_feed(ctx, feed).await,
            MeetingCmd::Calendar { feed: None } => self.calendar(ctx, group).await,
            MeetingCmd::Start => self.meeting_start(ctx, the_group()?).await,
            MeetingCmd::Press(press) => self.meeting_press(ctx, the_group()?, press).await,
            MeetingCmd::Phrase(phrase) => self.meeting_phrase(ctx, the_group()?, phrase).await,
            MeetingCmd::Panel => self.meeting_panel(ctx, the_group()?).await,
            MeetingCmd::Script(cmd) => self.meeting_script(ctx, the_group()?, cmd).await,
        }
    }

    /// Opens a change's write and reads the series in it, as it is for
    /// the date `occurrence` names.
    async fn write_for_date(&self, meeting: &Meeting, occurrence: Option<&str>) -> Result<(Tx, Meeting)> {
        let mut tx = self.write().await?;
        let meeting = reload(&mut tx, meeting).await?;
        let meeting = meetings::for_date(&mut tx, meeting, occurrence).await?;
        Ok((tx, meeting))
    }

    async fn schedule(&self, ctx: &Ctx<'_>, bound: &Bound, group: &Group) -> Result<Response> {
        let now = ctx.now;
        let default_zone = ctx
            .me
            .zone()
            .or_else(|| group.timezone.as_deref().and_then(|z| z.parse().ok()))
            .unwrap_or(ctx.community.zone());
        let mut tx = self.write().await?;
        let order = members::date_order(&mut tx, &ctx.me).await?;
        let (news, meeting) = meetings::schedule(&mut tx, group, default_zone, order, bound, now).await?;
        let changed = meetings::Changed {
            news,
            note: None,
            told: Vec::new(),
        };
        self.publish(tx, &ctx.input.place.channel, (&meeting, group), changed, now)
            .await
    }

    async fn cancel(
        &self,
        ctx: &Ctx<'_>,
        (meeting, group): (&Meeting, Option<&Group>),
        occurrence: Option<&str>,
    ) -> Result<Response> {
        let (now, reader_zone) = (ctx.now, ctx.reader_zone());
        let (mut tx, meeting) = self.write_for_date(meeting, occurrence).await?;
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
        self.publish(
            tx,
            &ctx.input.place.channel,
            (&meeting, super::the_group(group)?),
            changed,
            now,
        )
        .await
    }

    async fn move_one(
        &self,
        ctx: &Ctx<'_>,
        (meeting, group): (&Meeting, Option<&Group>),
        occurrence: Option<&str>,
        (when, confirmed): (&str, bool),
    ) -> Result<Response> {
        let now = ctx.now;
        let (mut tx, meeting) = self.write_for_date(meeting, occurrence).await?;
        let to = meetings::ToWhen {
            text: when,
            reader: ctx.reader_zone(),
            order: members::date_order(&mut tx, &ctx.me).await?,
            confirmed,
        };
        let group = super::the_group(group)?;
        let changed = meetings::move_one(&mut tx, &meeting, group, occurrence, &to, now).await?;
        self.publish(tx, &ctx.input.place.channel, (&meeting, group), changed, now)
            .await
    }

    async fn edit(
        &self,
        ctx: &Ctx<'_>,
        bound: &Bound,
        (meeting, group): (&Meeting, Option<&Group>),
        mut edit: meetings::Edit<'_>,
    ) -> Result<Response> {
        let now = ctx.now;
        edit.clear = meetings::edit_clear_list(bound.text("clear"))?;
        let mut tx = self.write().await?;
        let meeting = reload(&mut tx, meeting).await?;
        edit.order = members::date_order(&mut tx, &ctx.me).await?;
        let edited = meetings::edit(&mut tx, &meeting, super::the_group(group)?, &edit, now).await?;
        // The meetings left before the change are a series of their
        // own now: their reminders and native event, in the same write.
        if let Some(earlier) = &edited.earlier {
            self.series_changed(&mut tx, earlier, None, now).await?;
        }
        let meeting = reload(&mut tx, &meeting).await?;
        self.publish(
            tx,
            &ctx.input.place.channel,
            (&meeting, super::the_group(group)?),
            edited.changed,
            now,
        )
        .await
    }

    /// An RSVP given, or (`taken_back`, a button press undone) taken back:
    /// the answer and this member's reminders in one write.
    async fn rsvp(
        &self,
        ctx: &Ctx<'_>,
        (meeting, group): (&Meeting, Option<&Group>),
        (occurrence, answer): (Option<&str>, &'static str),
        taken_back: bool,
    ) -> Result<Response> {
        let now = ctx.now;
        let (mut tx, meeting) = self.write_for_date(meeting, occurrence).await?;
        let (group, zone) = (super::the_group(group)?, ctx.reader_zone());
        let asked = meetings::Rsvp {
            meeting: &meeting,
            group,
            me: &ctx.me,
            wanted: occurrence,
            answer,
            reader_zone: zone,
            now,
        };
        let answered = if taken_back {
            meetings::take_back_rsvp(&mut tx, &asked).await?
        } else {
            Some(meetings::rsvp(&mut tx, &asked).await?)
        };
        let Some(answered) = answered else {
            return Ok(Response::none());
        };
        let meetings::Answered {
            message,
            occurrence,
            placed,
        } = answered;
        self.placed(&mut tx, &meeting, &occurrence, placed, now).await?;
        self.commit_rsvp(tx, meeting.id, &ctx.me, now).await?;
        Ok(Response::private(message))
    }

    /// Those a freed place went to (the first in line), told privately by a
    /// notice queued in the same write, so it goes once even across a
    /// crash; their reminders are planned as for any who is going.
    pub(super) async fn placed(
        &self,
        tx: &mut Tx,
        meeting: &Meeting,
        occurrence: &meetings::Occurrence,
        placed: Vec<Member>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if placed.is_empty() {
            return Ok(());
        }
        let change = meetings::Change::PlaceFreed {
            original: occurrence.original.timestamp(),
            start: occurrence.start.timestamp(),
        };
        let ids: Vec<i64> = placed.iter().map(|m| m.id).collect();
        let told: meetings::Told = placed.into_iter().map(|m| (m, change.clone())).collect();
        meetings::tell::queue_notices(&mut *tx, meeting, &told, now).await?;
        for id in ids {
            reminders::plan::plan_in(&mut *tx, meeting.id, now, reminders::plan::Scope::Member(id), false).await?;
        }
        Ok(())
    }

    async fn calendar(&self, ctx: &Ctx<'_>, group: Option<&Group>) -> Result<Response> {
        let store = &self.store;
        let series: Vec<(Meeting, String)> = match group {
            Some(g) => meetings::of_group(store, g.id)
                .await?
                .into_iter()
                .map(|m| (m, g.name.clone()))
                .collect(),
            None => meetings::of_community(store, ctx.community.id).await?,
        };
        let name = group.map_or("Meetings", |g| g.name.as_str());
        // A closed group's link is only for those who belong to it or lead it.
        let theirs = crate::groups::theirs(store, ctx.me.id).await?;
        let (file, members_only) =
            calendar::calendar(store, name, &series, ctx.now, calendar::Audience::Of(&theirs)).await?;
        let message = crate::Message::new()
            .text(format!(
                "The calendar of {} series; open it with your calendar app.",
                series.len()
            ))
            .attach(file);
        // A file with a closed group's link, for its member, is theirs
        // alone: a DM on Matrix, never the room.
        Ok(if members_only {
            Response::private(message)
        } else {
            Response::private_general(message)
        })
    }

    /// Ends an RSVP's write, given or taken back: the answer and this
    /// member's reminders change in one commit. Only the member's reminders
    /// are re-planned, so the cost stays flat in the group's size.
    async fn commit_rsvp(&self, mut tx: Tx, meeting: i64, me: &Member, now: DateTime<Utc>) -> Result<()> {
        reminders::plan::plan_in(&mut tx, meeting, now, reminders::plan::Scope::Member(me.id), false).await?;
        self.commit_planned(tx).await?;
        Ok(())
    }

    /// What a change to a series implies, in the change's own write: its
    /// notices, its plan, its native event and the group's prompts at
    /// meeting start.
    pub(super) async fn series_changed(
        &self,
        tx: &mut Tx,
        meeting: &Meeting,
        told: Option<&meetings::Told>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some(told) = told {
            meetings::tell::queue_notices(&mut *tx, meeting, told, now).await?;
        }
        reminders::plan::plan_in(&mut *tx, meeting.id, now, reminders::plan::Scope::All, false).await?;
        meetings::tell::queue_event(&mut *tx, meeting.id, now).await?;
        checkins::meetings_moved(&mut *tx, meeting.group_id, now).await?;
        Ok(())
    }

    /// The end of a schedule, cancel or move: all it implies
    /// ([`Self::series_changed`]) and its news ([`announce`]) in its write,
    /// then the commit. Returns the answer to the one who typed it.
    async fn publish(
        &self,
        mut tx: Tx,
        here: &str,
        (meeting, group): (&Meeting, &Group),
        changed: meetings::Changed,
        now: DateTime<Utc>,
    ) -> Result<Response> {
        let meetings::Changed { news, note, told } = changed;
        self.series_changed(&mut tx, meeting, Some(&told), now).await?;
        let answer = announce(&mut tx, here, (meeting, group), &news, note, now).await?;
        self.commit_planned(tx).await?;
        Ok(answer)
    }
}
