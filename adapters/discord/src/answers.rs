//! Answering an interaction: at once when the core is quick, else after an
//! ephemeral deferral (Discord drops an answer that comes after 3 seconds).

use bot_core::{Input, Message, Response, Visibility};
use serenity::all::{
    Context, CreateInteractionResponse, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    EditInteractionResponse,
};

use crate::describe;
use crate::handler::{Handler, Target};
use crate::render;

impl Handler {
    /// Runs the input through the core and answers the interaction: at once
    /// when the core is quick, else after an ephemeral deferral.
    pub(crate) async fn answer(&self, ctx: &Context, target: Target<'_>, input: Input) {
        let community = input.place.community.clone();
        let hearth = self.hearth.clone();
        let mut task = tokio::spawn(async move { hearth.handle(&input).await });
        let quick = if self.defer_after.is_zero() {
            None
        } else {
            tokio::time::timeout(self.defer_after, &mut task).await.ok()
        };
        let (deferred, joined) = match quick {
            Some(joined) => (false, joined),
            None => {
                tracing::debug!(interaction = %target.id, "discord: deferring");
                let defer = CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true));
                if let Err(e) = response_execute(ctx, target, defer).await {
                    tracing::warn!(interaction = %target.id, error = %describe(&e), "discord: deferring failed");
                }
                (true, task.await)
            }
        };
        let response = joined.unwrap_or_else(|e| {
            tracing::error!(interaction = %target.id, error = %e, "discord: the core's task failed");
            Response::private(bot_core::error::apology(&target.id.get().to_string()))
        });
        let (visibility, message) = match &response.reply {
            Some(reply) => (reply.visibility, reply.message.clone()),
            None => (Visibility::Private, Message::new().text("Done.")),
        };
        if deferred {
            self.respond_late(ctx, target, visibility, &message).await;
        } else {
            self.respond_now(ctx, target, visibility, &message).await;
        }
        self.effects(ctx, Some(&community), &response).await;
    }

    pub(crate) async fn respond_now(
        &self,
        ctx: &Context,
        target: Target<'_>,
        visibility: Visibility,
        message: &Message,
    ) {
        let reply = render::fill!(
            CreateInteractionResponseMessage::new().ephemeral(visibility == Visibility::Private),
            render::render(message),
            add_file
        );
        let response = CreateInteractionResponse::Message(reply);
        if let Err(e) = response_execute(ctx, target, response).await {
            tracing::warn!(interaction = %target.id, error = %describe(&e), "discord: answering failed");
        }
    }

    /// After an ephemeral deferral: a private reply replaces the "thinking"
    /// message; a public one goes out as a follow-up and the deferral says so.
    async fn respond_late(&self, ctx: &Context, target: Target<'_>, visibility: Visibility, message: &Message) {
        let rendered = render::render(message);
        let result = match visibility {
            Visibility::Private => {
                let edit = render::fill!(EditInteractionResponse::new(), rendered, new_attachment);
                edit_execute(ctx, target, edit).await
            }
            Visibility::Public => {
                let done = EditInteractionResponse::new()
                    .content("Done: the answer is posted in this channel.")
                    .allowed_mentions(render::allowed_mentions(&[]));
                if let Err(e) = edit_execute(ctx, target, done).await {
                    tracing::warn!(interaction = %target.id, error = %describe(&e), "discord: editing the deferral failed");
                }
                let followup = render::fill!(
                    CreateInteractionResponseFollowup::new().ephemeral(false),
                    rendered,
                    add_file
                );
                followup_execute(ctx, target, followup).await
            }
        };
        if let Err(e) = result {
            tracing::warn!(interaction = %target.id, error = %describe(&e), "discord: late answer failed");
        }
    }
}

async fn response_execute(
    ctx: &Context,
    target: Target<'_>,
    response: CreateInteractionResponse,
) -> serenity::Result<()> {
    use serenity::builder::Builder as _;
    response.execute(&ctx.http, (target.id, target.token)).await
}

async fn followup_execute(
    ctx: &Context,
    target: Target<'_>,
    followup: CreateInteractionResponseFollowup,
) -> serenity::Result<()> {
    use serenity::builder::Builder as _;
    followup.execute(&ctx.http, (None, target.token)).await.map(drop)
}

async fn edit_execute(ctx: &Context, target: Target<'_>, edit: EditInteractionResponse) -> serenity::Result<()> {
    use serenity::builder::Builder as _;
    edit.execute(&ctx.http, target.token).await.map(drop)
}
