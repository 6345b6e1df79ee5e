//! Voice and the talking stick: who is in a voice channel or call (held in
//! memory), the circle commands' caller, and the platform's reports on the
//! server mutes the bot asked for.

use chrono::{DateTime, Utc};

use crate::circle;
use crate::error::Result;
use crate::groups::Group;
use crate::io::{Actor, Input, InputKind, Place, Platform, Response};
use crate::members;
use crate::spec::Role;

use super::{Ctx, Hearth};

impl Hearth {
    /// `circle start`: the caller, then the people in their voice channel
    /// or call, who begin the circle.
    pub(super) async fn circle_start(
        &self,
        ctx: &Ctx<'_>,
        group: Option<&Group>,
        mut start: circle::Start<'_>,
    ) -> Result<Response> {
        let caller = self.circle_caller(ctx, group).await?;
        start.seated = self.seated(ctx).await?;
        let response = circle::start(&self.store, &caller, &start, ctx.now).await?;
        self.planned();
        Ok(response)
    }

    /// A running circle's command.
    pub(super) async fn circle_act(
        &self,
        ctx: &Ctx<'_>,
        group: Option<&Group>,
        action: circle::Action,
    ) -> Result<Response> {
        let response = circle::act(&self.store, &self.circle_caller(ctx, group).await?, action, ctx.now).await?;
        self.planned();
        Ok(response)
    }

    pub(super) async fn circle_caller<'c>(
        &self,
        ctx: &'c Ctx<'_>,
        group: Option<&Group>,
    ) -> Result<circle::Caller<'c>> {
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
    pub(super) async fn presence(&self, input: &Input, change: &crate::io::PresenceChange) -> Result<Response> {
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
    pub(super) async fn seated(&self, ctx: &Ctx<'_>) -> Result<Option<circle::Seated>> {
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
}
