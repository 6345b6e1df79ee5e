//! Work that must have one owner at a time among the processes sharing a
//! database (the retention sweep, the Matrix account's sync), held through
//! `bot_core::leases`: taken when free, renewed every `RENEW_EVERY` seconds
//! in the background, let go on a clean stop.
//!
//! A holder that cannot renew its lease (the database out of reach) counts
//! it as lost after `TERM - RENEW_EVERY` seconds without a renewal: it has
//! stopped the work before the lease runs out and another process may take
//! it. Fail-over after a holder dies: at most `TERM + RENEW_EVERY` seconds.

use std::future::Future;
use std::time::Duration;

use bot_core::Hearth;
use bot_core::leases::{self, RENEW_EVERY, TERM};
use tokio::sync::watch;
use tokio::time::Instant;

/// How often a lease is renewed, or asked for again while another holds it.
pub const EVERY: Duration = Duration::from_secs(RENEW_EVERY as u64);
/// How long a holder goes on without a renewal before it counts the lease
/// as lost: before its term runs out, so never two holders at once.
pub const GIVE_UP: Duration = Duration::from_secs((TERM - RENEW_EVERY) as u64);

/// A lease this process holds, renewed in the background.
pub struct Held {
    hearth: Hearth,
    name: &'static str,
    holder: String,
    lost: watch::Receiver<bool>,
    renewing: tokio::task::JoinHandle<()>,
}

/// Asks once for the lease `name`: whether this process holds it now.
async fn ask(hearth: &Hearth, name: &'static str, holder: &str) -> bool {
    let asked = tokio::time::timeout(EVERY, leases::hold(hearth.store(), name, holder, hearth.now())).await;
    match asked {
        Ok(Ok(held)) => held,
        Ok(Err(e)) => {
            tracing::warn!(lease = name, error = %e, "could not ask for a lease");
            false
        }
        Err(_) => {
            tracing::warn!(lease = name, "asking for a lease took too long");
            false
        }
    }
}

/// Takes the lease `name` for `holder`, waiting while another process holds
/// it; `None` when `stopped` resolves first.
pub async fn take(
    hearth: &Hearth,
    name: &'static str,
    holder: &str,
    stopped: impl Future<Output = ()>,
) -> Option<Held> {
    tokio::pin!(stopped);
    let mut waited = false;
    loop {
        if ask(hearth, name, holder).await {
            tracing::info!(lease = name, holder, "lease taken");
            return Some(Held::renewed(hearth.clone(), name, holder.to_string()));
        }
        if !waited {
            waited = true;
            tracing::info!(lease = name, "another process holds the lease; waiting for it");
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = &mut stopped => return None,
        }
    }
}

/// Takes the lease `name` for `holder` if it is free, without waiting.
pub async fn try_take(hearth: &Hearth, name: &'static str, holder: &str) -> Option<Held> {
    ask(hearth, name, holder)
        .await
        .then(|| Held::renewed(hearth.clone(), name, holder.to_string()))
}

impl Held {
    fn renewed(hearth: Hearth, name: &'static str, holder: String) -> Self {
        let (lose, lost) = watch::channel(false);
        let renewing = {
            let hearth = hearth.clone();
            let holder = holder.clone();
            tokio::spawn(async move {
                let mut last = Instant::now();
                loop {
                    tokio::time::sleep(EVERY).await;
                    let asked = tokio::time::timeout(EVERY, leases::hold(hearth.store(), name, &holder, hearth.now()));
                    match asked.await {
                        Ok(Ok(true)) => last = Instant::now(),
                        Ok(Ok(false)) => {
                            tracing::warn!(lease = name, "the lease was taken by another process");
                            break;
                        }
                        Ok(Err(e)) => tracing::warn!(lease = name, error = %e, "could not renew the lease"),
                        Err(_) => tracing::warn!(lease = name, "renewing the lease took too long"),
                    }
                    if last.elapsed() >= GIVE_UP {
                        tracing::warn!(
                            lease = name,
                            "the lease could not be renewed in time; letting the work go"
                        );
                        break;
                    }
                }
                let _ = lose.send(true);
            })
        };
        Self {
            hearth,
            name,
            holder,
            lost,
            renewing,
        }
    }

    /// Resolves once the lease is lost (taken by another, or not renewed in time).
    pub fn lost(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut lost = self.lost.clone();
        async move {
            let _ = lost.wait_for(|l| *l).await;
        }
    }

    /// Whether the lease has been lost.
    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Stops renewing and lets go of the lease, so another process takes it
    /// at once rather than when its term runs out.
    pub async fn let_go(self) {
        self.renewing.abort();
        if let Err(e) = leases::let_go(self.hearth.store(), self.name, &self.holder).await {
            tracing::warn!(lease = self.name, error = %e, "could not let go of the lease; it runs out by itself");
        } else {
            tracing::info!(lease = self.name, "lease let go");
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renewing.abort();
    }
}
