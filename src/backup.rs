//! `hearth backup --to FILE`: a consistent copy of the database, taken
//! beside a running bot without stopping it. SQLite's `VACUUM INTO` reads
//! one snapshot (a read transaction on the WAL) and writes it as a compact,
//! self-contained file; the copy is written beside the target and renamed
//! into place only once it is whole and checked.

use std::path::Path;

use anyhow::{Context as _, bail};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// What the copy holds, for the report.
#[derive(Debug)]
pub struct Copied {
    pub groups: i64,
    pub meetings: i64,
    pub pending_jobs: i64,
    pub bytes: u64,
}

pub async fn backup(db: &Path, to: &Path) -> anyhow::Result<Copied> {
    if !db.exists() {
        bail!("the database {} does not exist: check [storage] path", db.display());
    }
    if to.exists() {
        bail!(
            "{} already exists: give a new file name (backups never overwrite)",
            to.display()
        );
    }
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    // The copy holds everything the bot does, check-in notes included: it is
    // readable by its owner alone from the first byte (VACUUM INTO writes
    // into an empty file that exists).
    private_file(&partial)?;
    // Never migrating: the copy is the file as the running bot has it.
    let source = open(db).await?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().as_ref())
        .execute(&source)
        .await;
    source.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e).with_context(|| format!("copying {} to {}", db.display(), partial.display()));
    }
    let checked = check(&partial).await;
    let copied = match checked {
        Ok(copied) => copied,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, to).with_context(|| format!("renaming {} to {}", partial.display(), to.display()))?;
    Ok(copied)
}

/// Creates `path`, empty, readable and writable by its owner alone.
fn private_file(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(())
}

/// Opens the copy, checks its integrity and counts what it holds.
async fn check(copy: &Path) -> anyhow::Result<Copied> {
    let pool = open(copy).await?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .context("checking the copy")?;
    if integrity != "ok" {
        pool.close().await;
        bail!("the copy failed SQLite's integrity check ({integrity}); the database itself may be damaged");
    }
    let count = |query: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(query)
                .fetch_one(&pool)
                .await
                .context("counting what the copy holds")
        }
    };
    let groups = count("SELECT count(*) FROM groups").await?;
    let meetings = count("SELECT count(*) FROM meetings").await?;
    let pending_jobs = count("SELECT count(*) FROM jobs WHERE state = 'pending'").await?;
    pool.close().await;
    let bytes = std::fs::metadata(copy).map(|m| m.len()).unwrap_or(0);
    Ok(Copied {
        groups,
        meetings,
        pending_jobs,
        bytes,
    })
}

/// Opens an existing file (never creating one). Nothing here writes to the
/// source; read-write only so that a WAL file with no -shm beside it opens.
pub(crate) async fn open(path: &Path) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(std::time::Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .with_context(|| format!("opening {}", path.display()))
}
