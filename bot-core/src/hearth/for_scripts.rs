//! The meeting itself, routed to `script`: its script's commands, and the
//! run of it, whose round and shares steps run on the talking stick. The
//! panel goes to the run's chair alone: as the reply when they pressed, by
//! direct message when a facilitator did.

use chrono::Duration;

use crate::circle;
use crate::error::{Error, Result, UserError};
use crate::groups::Group;
use crate::io::{Effect, Response};
use crate::meetings;
use crate::members;
use crate::message::{Line, Message};
use crate::roles::{self, Gate};
use crate::script::{self, Turn, state::Press};
use crate::spec::Role;

use super::command::ScriptCmd;
use crate::reminders::plan::{Scope, plan_group_in};

/// A listing with whether the meeting starts by itself under it.
fn words_with_autostart(message: Message, on: bool) -> Message {
    script::with_autostart(message, on)
}
use super::{Ctx, Hearth};

/// How early a meeting may be started and still be the scheduled one.
const EARLY_START_MINUTES: i64 = 30;

fn of(group: &Group) -> script::Of<'_> {
    script::Of {
        id: group.id,
        name: &group.name,
    }
}

impl Hearth {
    /// `meeting script …`.
    pub(super) async fn meeting_script(&self, ctx: &Ctx<'_>, group: &Group, cmd: ScriptCmd<'_>) -> Result<Response> {
        let g = of(group);
        let message = match cmd {
            ScriptCmd::Show => script::show(&self.store, g).await?,
            ScriptCmd::Edit(edit) if edit.autostart.is_some() => {
                let mut message = None;
                if edit.step.is_some() {
                    message = Some(script::edit(&self.store, g, &edit).await?);
                }
                let mut tx = self.write().await?;
                let listing = script::set_autostart(&mut tx, g, edit.autostart == Some(true)).await?;
                // Its start (and the chair's panel) are planned, or unplanned, with the meetings' reminders.
                plan_group_in(&mut tx, group.id, ctx.now, Scope::All).await?;
                self.commit_planned(tx).await?;
                message.map_or(listing, |m| words_with_autostart(m, edit.autostart == Some(true)))
            }
            ScriptCmd::Edit(edit) => script::edit(&self.store, g, &edit).await?,
            ScriptCmd::Template(name) => script::template(&self.store, g, name).await?,
            ScriptCmd::Export => script::export(&self.store, g).await?,
            ScriptCmd::Import(text) => script::import(&self.store, g, text).await?,
        };
        Ok(Response::private_general(message))
    }

    fn card<'g>(&self, ctx: &Ctx<'_>, group: &'g Group) -> script::Card<'g> {
        script::Card {
            guideline: &group.guideline,
            zone: group
                .timezone
                .as_deref()
                .and_then(|z| z.parse().ok())
                .unwrap_or(ctx.community.zone()),
        }
    }

    /// The scheduled meeting being started now, if one is: (series, original start).
    async fn scheduled_now(&self, ctx: &Ctx<'_>, group: &Group) -> Result<Option<(i64, i64)>> {
        for meeting in meetings::of_group(&self.store, group.id).await? {
            let after = ctx.now - Duration::minutes(meeting.duration_minutes);
            if let Some(next) = meetings::upcoming(&self.store, &meeting, after, 1).await?.first()
                && next.start <= ctx.now + Duration::minutes(EARLY_START_MINUTES)
            {
                return Ok(Some((meeting.id, next.original.timestamp())));
            }
        }
        Ok(None)
    }

    /// `meeting start`: the caller chairs the group's meeting.
    pub(super) async fn meeting_start(&self, ctx: &Ctx<'_>, group: &Group) -> Result<Response> {
        if self.role(ctx, Some(group)).await? < Role::Facilitator
            && !roles::may(&self.store, group.id, ctx.me.id, Gate::Start, ctx.now).await?
        {
            return Err(UserError::Refused(Line::text(format!(
                "Only a facilitator of {}, or its chair or the chair's back-up, starts its meeting.",
                group.name
            )))
            .into());
        }
        let scheduled = self.scheduled_now(ctx, group).await?;
        let channel = &ctx.input.place.channel;
        let card = self.card(ctx, group);
        let turn = script::start(
            &self.store,
            (of(group), &card),
            Some(ctx.me.id),
            channel,
            scheduled,
            false,
            ctx.now,
        )
        .await?;
        self.carry_out(ctx, group, turn).await
    }

    /// Whether the caller may press the chair's buttons: whoever chairs this
    /// run, a facilitator, or the group's service role that `gate` names
    /// (the chair; for +2 min, the timekeeper too).
    async fn may_chair(&self, ctx: &Ctx<'_>, group: &Group, gate: Gate) -> Result<()> {
        let run = script::running(&self.store, group.id).await?;
        let chair = run.and_then(|r| r.chair_member_id);
        if chair == Some(ctx.me.id)
            || self.role(ctx, Some(group)).await? >= Role::Facilitator
            || roles::may(&self.store, group.id, ctx.me.id, gate, ctx.now).await?
        {
            return Ok(());
        }
        let who = if gate == Gate::Extend {
            "the meeting's chair or timekeeper"
        } else {
            "the meeting's chair"
        };
        Err(UserError::Refused(Line::text(format!(
            "Only {who}, or a facilitator of {}, moves the meeting on.",
            group.name
        )))
        .into())
    }

    /// Next, Back, Skip, +2 min, End.
    pub(super) async fn meeting_press(&self, ctx: &Ctx<'_>, group: &Group, press: Press) -> Result<Response> {
        let gate = if press == Press::Extend {
            Gate::Extend
        } else {
            Gate::MoveSteps
        };
        self.may_chair(ctx, group, gate).await?;
        let card = self.card(ctx, group);
        let turn = script::press(&self.store, (of(group), &card), press, ctx.now).await?;
        self.carry_out(ctx, group, turn).await
    }

    /// The running meeting's panel, privately: for its chair, the chair's
    /// back-up and facilitators (the button a meeting that started by itself
    /// posts); anyone else is kindly told it is the chair's.
    pub(super) async fn meeting_panel(&self, ctx: &Ctx<'_>, group: &Group) -> Result<Response> {
        let run = script::running(&self.store, group.id).await?;
        let chair = run.and_then(|r| r.chair_member_id);
        let may = chair == Some(ctx.me.id)
            || self.role(ctx, Some(group)).await? >= Role::Facilitator
            || roles::may(&self.store, group.id, ctx.me.id, Gate::Start, ctx.now).await?;
        if !may {
            return Ok(Response::private_general(Message::new().text(
                "This panel is for the meeting's chair. You're in the right place: the meeting has begun, \
                 and you're welcome to simply join in.",
            )));
        }
        let (_, panel) = script::panel(&self.store, of(group), ctx.now).await?;
        Ok(Response::private(panel))
    }

    /// A quick phrase, posted in the meeting's channel.
    pub(super) async fn meeting_phrase(&self, ctx: &Ctx<'_>, group: &Group, phrase: &str) -> Result<Response> {
        self.may_chair(ctx, group, Gate::MoveSteps).await?;
        let (run, _) = script::panel(&self.store, of(group), ctx.now).await?;
        let Some(message) = script::phrase(phrase) else {
            return Ok(Response::none());
        };
        let key = format!("run:{}:phrase:{phrase}:{}", run.id, ctx.now.timestamp());
        Ok(
            Response::private_general(Message::new().text("Posted.")).with_effect(Effect::Post {
                channel: run.channel,
                message,
                key: Some(key),
            }),
        )
    }

    /// What a press means beyond the run: the step's post, its talking
    /// stick begun or ended, and the panel to the chair.
    async fn carry_out(&self, ctx: &Ctx<'_>, group: &Group, turn: Turn) -> Result<Response> {
        let mut effects = Vec::new();
        let mut balance = None;
        if let Some(id) = turn.end_circle {
            balance = self.end_stick(ctx, group, &turn, id, &mut effects).await;
        }
        // Unique per step and press: a platform's idempotent send must not
        // take two quick steps for one.
        let step = turn.entered.map_or_else(|| "end".to_string(), |i| i.to_string());
        let step_key = format!("run:{}:step:{step}:{}", turn.run.id, ctx.now.timestamp());
        if let Some(post) = turn.post.clone() {
            effects.push(Effect::Post {
                channel: turn.run.channel.clone(),
                message: post,
                key: Some(step_key),
            });
        }
        let mut stick = Ok(());
        if let Some(step) = turn.entered.and_then(|i| turn.steps.get(i))
            && step.kind.uses_the_stick()
        {
            stick = self.start_stick(ctx, group, &turn, step, &mut effects).await;
        }
        let mut panel = turn.panel;
        // The step has moved on either way; why its stick did not begin
        // (a circle already running there) is the chair's to know.
        match stick {
            Ok(()) => {}
            Err(Error::User(e)) => {
                panel.lines.push(Line::text("The talking stick did not start:"));
                panel
                    .lines
                    .push(e.to_message().lines.into_iter().next().unwrap_or_default());
            }
            Err(e) => return Err(e),
        }
        if let Some(balance) = balance {
            panel.lines.push(Line::text(String::new()));
            panel.lines.extend(balance.title.map(Line::text));
            panel.lines.extend(balance.lines);
        }
        let chair = turn.run.chair_member_id;
        let mut response = if chair == Some(ctx.me.id) || chair.is_none() {
            Response::private(panel)
        } else {
            let chair = members::by_ids(&self.store, &chair.into_iter().collect::<Vec<_>>()).await?;
            let mut told = Response::private_general(Message::new().text("Done; the chair's panel shows it."));
            if let Some(chair) = chair.first() {
                told.effects.push(Effect::Dm {
                    user: chair.external_id.clone(),
                    message: panel,
                    key: Some(format!("run:{}:panel:{}", turn.run.id, ctx.now.timestamp())),
                });
            }
            told
        };
        response.effects.extend(effects);
        Ok(response)
    }

    /// Ends the stick of the step just left; the balance, for the one who pressed.
    async fn end_stick(
        &self,
        ctx: &Ctx<'_>,
        group: &Group,
        turn: &Turn,
        circle: i64,
        effects: &mut Vec<crate::io::Effect>,
    ) -> Option<Message> {
        let mut caller = self.circle_caller(ctx, Some(group)).await.ok()?;
        caller.circle = Some(circle);
        caller.facilitator = true;
        caller.channel = &turn.run.channel;
        // Ended already (by /circle end): nothing to do.
        let ended = circle::end(&self.store, &caller, ctx.now).await.ok()?;
        // The room's "circle has ended" would read as the meeting's end: the
        // status message says it, and the next step's post follows.
        effects.extend(ended.effects.into_iter().filter(|e| !matches!(e, Effect::Post { .. })));
        ended.reply.map(|r| r.message)
    }

    /// Begins a round or shares step's stick in the meeting's channel (or
    /// the chair's voice channel), with those of the last step's stick.
    async fn start_stick(
        &self,
        ctx: &Ctx<'_>,
        group: &Group,
        turn: &Turn,
        step: &script::steps::Step,
        effects: &mut Vec<Effect>,
    ) -> Result<()> {
        let mut caller = self.circle_caller(ctx, Some(group)).await?;
        caller.circle = None;
        caller.channel = &turn.run.channel;
        let carried = match turn.run.circle_id {
            Some(last) => circle::present(&self.store, last).await?,
            None => Vec::new(),
        };
        let share_time = step.share_secs.map(|s| format!("{s}s"));
        let start = circle::Start {
            group: Some(group.id),
            mode: Some(step.stick_mode().as_str()),
            share_time: share_time.as_deref(),
            // The share ends when the holder or the chair says so, never by the bot.
            auto_advance: false,
            // Where the step sets it (on Discord, with the chair in voice
            // and allowed to mute; else the chair is told why the stick did not start).
            mute_others: step.mute_others,
            seated: self.seated(ctx).await?,
            carried,
        };
        let (id, started) = circle::start_numbered(&self.store, &caller, &start, ctx.now).await?;
        script::set_circle(&self.store, turn.run.id, Some(id)).await?;
        self.planned();
        if let Some(reply) = started.reply {
            effects.push(Effect::Post {
                channel: turn.run.channel.clone(),
                message: reply.message,
                key: Some(format!("run:{}:circle:{id}", turn.run.id)),
            });
        }
        effects.extend(started.effects);
        Ok(())
    }
}
