//! The web's commands (issue 29): `/community publish` and the private
//! calendar link of `/meeting calendar subscribe|revoke`, routed to
//! [`crate::publish`].

use crate::error::Result;
use crate::io::Response;
use crate::message::Message;
use crate::publish;

use super::{Ctx, Hearth};

impl Hearth {
    /// `/community publish on|off [slug]` (admins).
    pub(super) async fn publish_community(&self, ctx: &Ctx<'_>, on: bool, slug: Option<&str>) -> Result<Response> {
        let done = publish::set(&self.store, ctx.community.id, on, slug, ctx.now).await?;
        Ok(Response::private_general(publish::answer(
            &done,
            self.config.web_url.as_deref(),
        )))
    }

    /// `/meeting calendar subscribe|revoke`: the link is the caller's
    /// alone (anyone holding it reads their meetings), so it is said
    /// privately, and never logged.
    pub(super) async fn calendar_feed(&self, ctx: &Ctx<'_>, feed: &str) -> Result<Response> {
        if feed == "revoke" {
            let ended = publish::revoke(&self.store, ctx.me.id).await?;
            return Ok(Response::private(Message::new().text(if ended > 0 {
                "Your calendar link is ended: calendar apps that read it now get nothing. /meeting calendar subscribe gives a new one."
            } else {
                "You had no calendar link; nothing changed."
            })));
        }
        let Some(base) = self.config.web_url.as_deref() else {
            return Ok(Response::private_general(Message::new().text(
                "This Hearth serves no calendar links: its operator turns them on with [web] public_url in the config file. /meeting calendar gives a file meanwhile.",
            )));
        };
        let token = publish::subscribe(&self.store, ctx.me.id, ctx.now).await?;
        Ok(Response::private(
            Message::new()
                .text(format!(
                    "Your meetings, as a calendar that stays current: {}/my/{token}.ics",
                    base.trim_end_matches('/')
                ))
                .text("Add it to your calendar app as a subscription (\"from URL\"). Keep it to yourself: anyone with the link sees your meetings. Asking again gives a new link and ends this one; /meeting calendar revoke ends it."),
        ))
    }
}
