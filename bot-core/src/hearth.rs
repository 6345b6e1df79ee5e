//! The core service: takes one input, checks it against the spec and the
//! caller's role, runs it, and answers with a reply and effects.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::clock::Clock;
use crate::error::{Context, Error, Result, apology};
use crate::groups::{self, Group};
use crate::io::{Actor, Input, Place, Platform, Response};
use crate::meetings;
use crate::members::{self, Community, Member};
use crate::spec::{Kind, Role};
use crate::store::{Store, Tx};
use crate::{checkins, circle, jobs, reminders, retention, roles};

mod command;
mod dispatch;
mod for_groups;
mod for_meetings;
mod for_members;
mod for_roles;
mod for_scripts;
mod for_web;
mod voice;

#[cfg(test)]
pub(crate) use command::Command;

/// Settings the core needs from the configuration.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The zone a new community starts with.
    pub default_timezone: Tz,
    /// How long finished deliveries and past RSVPs are kept.
    pub retention: chrono::Duration,
    /// Where this Hearth's web pages are reached (`[web] public_url`), for
    /// the links it gives; `None` when it serves none.
    pub web_url: Option<String>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            default_timezone: Tz::UTC,
            retention: chrono::Duration::days(i64::from(crate::retention::DEFAULT_DAYS)),
            web_url: None,
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
        .with(roles::late::handler())
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

impl Ctx<'_> {
    /// The zone the caller reads times in: their own, else the community's.
    fn reader_zone(&self) -> Tz {
        self.me.zone().unwrap_or(self.community.zone())
    }
}

/// The group a group command names: commands with a required `group`
/// option have it resolved by now.
fn the_group(group: Option<&Group>) -> Result<&Group> {
    group.ok_or(Error::Internal {
        context: "running a group command",
        source: "group option not resolved".into(),
    })
}

/// Commits a command's write.
async fn commit(tx: Tx) -> Result<()> {
    tx.commit().await.context("committing a change")
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

    /// Deletes finished deliveries and past RSVPs older than the retention period.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<retention::Swept> {
        retention::sweep(&self.store, self.config.retention, now).await
    }

    /// Opens a command's write ([`Store::write`]).
    async fn write(&self) -> Result<Tx> {
        self.store.write().await.context("starting a write")
    }

    /// Commits a write that changed the jobs, and wakes the schedulers.
    async fn commit_planned(&self, tx: Tx) -> Result<()> {
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
