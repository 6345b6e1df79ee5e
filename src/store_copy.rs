//! `hearth store copy --from hearth.db --to postgres://…`: moving a
//! community's SQLite store into PostgreSQL. The file is opened read-only
//! and never changed; the PostgreSQL database is created to the current
//! schema, must be empty, and is written in one transaction, then every
//! table's rows are counted in both (`bot_core::store::copy`).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use bot_core::Store;

use crate::config::{is_postgres_url, shown_url};

pub async fn run(from: &Path, to: &str, password_env: Option<&str>) -> anyhow::Result<()> {
    if !is_postgres_url(to) {
        anyhow::bail!(
            "--to {to:?} is not a PostgreSQL database: give its URL, postgres://user@host:port/database (create the database first, e.g. createdb hearth)"
        );
    }
    let shown = shown_url(to);
    if !from.exists() {
        anyhow::bail!(
            "{} does not exist: give --from the SQLite file Hearth uses ([storage] path)",
            from.display()
        );
    }
    let password = match password_env {
        Some(var) => Some(
            std::env::var(var)
                .ok()
                .filter(|p| !p.trim().is_empty())
                .with_context(|| format!("--password-env {var}: that environment variable is empty or unset"))?,
        ),
        None => None,
    };
    let source = Store::open_read_only(from)
        .await
        .with_context(|| format!("opening {} read-only", from.display()))?;
    if let Some(why) = source.schema().await?.refusal() {
        source.close().await;
        anyhow::bail!("{} cannot be copied as it is: {why}", from.display());
    }
    let target = Store::open_postgres(to, password.as_deref(), 4)
        .await
        .with_context(|| format!("opening the PostgreSQL database {shown}"))?;
    let copied = bot_core::store::copy(&source, &target).await;
    source.close().await;
    target.close().await;
    let counts = copied
        .map_err(|e| anyhow::anyhow!("{e}. The SQLite file is as it was; fix what is said and run the copy again."))?;
    let width = counts.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
    let mut report = format!("Copied {} into {shown}:\n", from.display());
    for (table, rows) in &counts {
        let _ = writeln!(report, "  {table:<width$}  {rows}");
    }
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let _ = writeln!(
        report,
        "{total} rows in {} tables; each table holds as many rows in PostgreSQL as in the file.\n\
         Next: in [storage], replace path with url = \"{shown}\" (the password in password_env or password_file), and start Hearth.",
        counts.len()
    );
    std::io::Write::write_all(&mut std::io::stdout(), report.as_bytes()).context("writing the report")?;
    Ok(())
}
