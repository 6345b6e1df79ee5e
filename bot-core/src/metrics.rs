//! What Hearth counts for an operator, through the `metrics` facade: a no-op
//! until the binary installs a recorder (`[metrics] listen`). Labels are
//! fixed words (platform, outcome, state), never a member, a community, a
//! channel or anything someone typed.

use crate::error::{Error, Result};
use crate::io::{DeliveryError, Input, InputKind, Platform};

/// Commands handled, by platform and outcome (`ok`, `refused`: a user
/// error such as a missing option or permission, `error`: a fault of ours).
pub const COMMANDS: &str = "hearth_commands_total";
/// Deliveries by platform and outcome (`sent`, `retried`, `failed`).
pub const DELIVERIES: &str = "hearth_deliveries_total";
/// Jobs waiting to go out (reminders, notices, prompts, timers).
pub const PENDING_JOBS: &str = "hearth_pending_jobs";
/// How late, in seconds, the last delivered job went out after its due time.
pub const SCHEDULER_LAG: &str = "hearth_scheduler_lag_seconds";
/// 1 while an adapter is connected to its platform, else 0.
pub const ADAPTER_CONNECTED: &str = "hearth_adapter_connected";

/// Counts a handled input (commands only; presence changes are not commands).
pub fn handled<T>(input: &Input, outcome: &Result<T>) {
    if !matches!(input.kind, InputKind::Command(_)) {
        return;
    }
    let outcome = match outcome {
        Ok(_) => "ok",
        Err(Error::User(_)) => "refused",
        Err(Error::Internal { .. }) => "error",
    };
    metrics::counter!(COMMANDS, "platform" => input.place.platform.as_str(), "outcome" => outcome).increment(1);
}

/// Counts one delivery's outcome as the platform answered it.
pub fn delivery(platform: Platform, outcome: &std::result::Result<(), DeliveryError>) {
    let outcome = match outcome {
        Ok(()) => "sent",
        Err(DeliveryError::Retry(_)) => "retried",
        Err(DeliveryError::Permanent(_)) => "failed",
    };
    metrics::counter!(DELIVERIES, "platform" => platform.as_str(), "outcome" => outcome).increment(1);
}

/// Records whether an adapter is connected.
pub fn adapter_connected(platform: Platform, connected: bool) {
    metrics::gauge!(ADAPTER_CONNECTED, "platform" => platform.as_str()).set(if connected { 1.0 } else { 0.0 });
}

/// The figures read from the jobs table: pending jobs, and how late the
/// last delivered one went out (its recorded send time minus its due time).
pub async fn refresh_from_store(store: &crate::Store) -> Result<()> {
    use crate::error::Context as _;
    let pending: i64 = crate::store::query_scalar("SELECT count(*) FROM jobs WHERE state = 'pending'")
        .fetch_one(store)
        .await
        .context("counting pending jobs")?;
    metrics::gauge!(PENDING_JOBS).set(pending as f64);
    let last: Option<(i64, i64)> = crate::store::query_as(
        "SELECT due_at, done_at FROM jobs WHERE state = 'sent' AND done_at IS NOT NULL ORDER BY done_at DESC, id DESC LIMIT 1",
    )
    .fetch_optional(store)
    .await
    .context("reading the last delivery")?;
    if let Some((due, done)) = last {
        metrics::gauge!(SCHEDULER_LAG).set((done - due).max(0) as f64);
    }
    Ok(())
}
