//! One process at a time on a `store_dir`: an exclusive lock on
//! `store_dir/hearth.lock`, held for as long as a client has the crypto
//! store open, and let go by the kernel when the process dies, however it
//! dies.
//!
//! Two clients on one crypto store each keep the Olm account in memory: they
//! make one-time keys with the same ids, and whichever saves last wins, so
//! members' new devices open sessions the bot cannot decrypt. So the bot
//! holds this lock while it runs, `hearth check` looks at a store in use
//! only through the homeserver, and the adapter's own reconnect lets the old
//! client go before the new one opens the store. matrix-sdk's cross-process
//! crypto-store lock (see `session::build_client`) guards the SDK's own
//! writers besides.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

const LOCK_FILE: &str = "hearth.lock";

/// The held lock; dropping it lets go.
#[derive(Debug)]
pub(crate) struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the lock, or `None` when another client (in this process or
    /// another) holds it.
    pub(crate) fn try_take(store_dir: &Path) -> anyhow::Result<Option<Self>> {
        let path = store_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
        }
    }

    /// Takes the lock, waiting up to `patience` for a client that is being
    /// dropped (the adapter's previous connection) to let go of it.
    pub(crate) async fn take(store_dir: &Path, patience: Duration) -> anyhow::Result<Self> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Some(lock) = Self::try_take(store_dir)? {
                return Ok(lock);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "the Matrix store in {} is in use by another Hearth (it holds {}): stop that one first, \
                     or give this one a store_dir of its own",
                    store_dir.display(),
                    store_dir.join(LOCK_FILE).display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Whether another client holds `store_dir`'s lock right now.
pub(crate) fn in_use(store_dir: &Path) -> anyhow::Result<bool> {
    Ok(store_dir.join(LOCK_FILE).exists() && StoreLock::try_take(store_dir)?.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_for_the_first_then_takes_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::take(dir.path(), Duration::ZERO).await.unwrap();

        let busy = StoreLock::take(dir.path(), Duration::from_millis(200)).await;
        let seen_in_use = in_use(dir.path()).unwrap();
        drop(first);
        let after = StoreLock::take(dir.path(), Duration::ZERO).await;
        let taken_after = after.is_ok();
        drop(after);

        assert!(busy.unwrap_err().to_string().contains("in use by another Hearth"));
        assert!(seen_in_use);
        assert!(taken_after);
        assert!(!in_use(dir.path()).unwrap());
    }
}
