//! `hearth check --config FILE`: is this configuration ready to run? It reads
//! the config, then connects to each configured platform without answering
//! anyone, and looks at the database. Every line it prints says what to do;
//! it exits non-zero when something must be fixed.
//!
//! It is safe beside a running bot: it takes the database's instance lock
//! first, and when a Hearth holds it (or the Matrix store's own lock), it
//! checks the Matrix session with the stored access token alone and says so,
//! never opening a crypto store in use.

use std::fmt::Write as _;
use std::path::Path;

use bot_core::Store;
use bot_core::store::query_as;

use crate::config::{Config, Database};

/// How a finding reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Fine; nothing to do.
    Ok,
    /// Worth knowing, not wrong.
    Note,
    /// Must be fixed before Hearth runs as it should.
    Fix,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub level: Level,
    pub part: &'static str,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    fn ok(&mut self, part: &'static str, text: impl Into<String>) {
        self.push(Level::Ok, part, text);
    }
    fn note(&mut self, part: &'static str, text: impl Into<String>) {
        self.push(Level::Note, part, text);
    }
    fn fix(&mut self, part: &'static str, text: impl Into<String>) {
        self.push(Level::Fix, part, text);
    }
    fn push(&mut self, level: Level, part: &'static str, text: impl Into<String>) {
        self.findings.push(Finding {
            level,
            part,
            text: text.into(),
        });
    }

    pub fn problems(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Fix).count()
    }

    /// One line per finding: `ok`, `note` or `FIX`, the part, what to do.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let tag = match f.level {
                Level::Ok => "ok  ",
                Level::Note => "note",
                Level::Fix => "FIX ",
            };
            let _ = writeln!(out, "{tag} {}: {}", f.part, f.text);
        }
        out
    }
}

/// Checks everything the config names.
pub async fn check(path: &Path, config: &Config) -> Report {
    let mut report = Report::default();
    report.ok(
        "config",
        format!("{} reads without errors; nothing to do.", path.display()),
    );
    // Held to the end: a bot started meanwhile is refused (a service manager
    // starts it again) rather than open the stores beside the check.
    let (mut bot_running, _lock) = instance(&mut report, config);
    match &config.storage.database {
        Database::Sqlite(path) => database(&mut report, path).await,
        Database::Postgres(pg) => {
            let process = config.storage.process_id();
            // A Hearth that holds the Matrix sync lease has the Matrix store open.
            bot_running |= postgres(&mut report, pg, &process, config.matrix.is_some()).await;
        }
    }
    if config.console.is_some() {
        report.ok(
            "console",
            "runs on the terminal Hearth is started from; nothing to check.",
        );
    }
    #[cfg(feature = "discord")]
    if let Some(discord) = &config.discord {
        self::discord(&mut report, discord).await;
    }
    #[cfg(feature = "matrix")]
    if let Some(matrix) = &config.matrix {
        self::matrix(&mut report, matrix, bot_running).await;
    }
    let _ = bot_running;
    if let Some(metrics) = &config.metrics {
        match std::net::TcpListener::bind(metrics.listen) {
            Ok(_) => report.ok("metrics", format!("{} is free to serve /metrics; nothing to do.", metrics.listen)),
            Err(e) => report.note(
                "metrics",
                format!(
                    "cannot listen on {} now ({e}); if a running Hearth serves it, that is fine, else choose another [metrics] listen.",
                    metrics.listen
                ),
            ),
        }
    }
    report
}

/// Whether a Hearth runs on this database (it holds the instance lock),
/// and the lock when this check could take it.
fn instance(report: &mut Report, config: &Config) -> (bool, Option<bot_core::InstanceLock>) {
    const PART: &str = "running";
    let Database::Sqlite(db) = &config.storage.database else {
        report.ok(
            PART,
            "PostgreSQL has no single-instance lock: any number of Hearth processes share it; the leases below say which works where.",
        );
        return (false, None);
    };
    if config.storage.shared {
        report.note(
            PART,
            "[storage] shared = true: whether a Hearth runs here is told by the Matrix store's own lock, if any.",
        );
        return (false, None);
    }
    let folder = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        // No Hearth runs on a database whose folder is missing (said below).
        return (false, None);
    }
    match bot_core::InstanceLock::take(db) {
        Ok(lock) => {
            report.ok(PART, "no Hearth is running on this database; nothing to do.");
            (false, Some(lock))
        }
        Err(e) if e.starts_with("another Hearth is already running") => {
            report.ok(
                PART,
                "a Hearth is running on this database: this check leaves its stores alone (platforms are asked with the tokens it holds); nothing to do.",
            );
            (true, None)
        }
        // Unknown, so taken as running: a store that may be in use is never opened.
        Err(e) => {
            report.note(
                PART,
                format!(
                    "{e}; this check takes Hearth for running and leaves its stores alone. Run it as Hearth's own user."
                ),
            );
            (true, None)
        }
    }
}

async fn database(report: &mut Report, path: &Path) {
    const PART: &str = "database";
    if !path.exists() {
        database_to_create(report, PART, path);
        return;
    }
    // Read-only, never migrated: a database older or newer than this build
    // is reported below, not changed.
    let store = match Store::open_read_only(path).await {
        Ok(store) => store,
        Err(e) => {
            report.fix(
                PART,
                format!("{e:#}: check [storage] path and that Hearth's user may read and write it."),
            );
            return;
        }
    };
    migrations(report, PART, path, &store).await;
    pending_jobs(report, PART, &store).await;
    store.close().await;
}

/// A PostgreSQL database: that it answers (read only: nothing is created
/// or migrated), its schema against this build's, the jobs waiting, and
/// which leases are held, by whom, and which this process would take.
/// Whether another process holds the Matrix sync lease (a Hearth runs).
async fn postgres(report: &mut Report, pg: &crate::config::Postgres, process: &str, matrix: bool) -> bool {
    const PART: &str = "database";
    let shown = pg.shown();
    let password = match pg.password() {
        Ok(p) => p,
        Err(e) => {
            report.fix(PART, format!("{e:#}"));
            return false;
        }
    };
    let store = match Store::connect_postgres(&pg.url, password.as_deref()).await {
        Ok(store) => store,
        Err(e) => {
            report.fix(
                PART,
                format!(
                    "cannot connect to {shown} ({e:#}): check [storage] url, that the server runs and lets Hearth's user in, and the password (password_env or password_file)."
                ),
            );
            return false;
        }
    };
    let reachable = query_as::<(i64,)>("SELECT CAST(1 AS BIGINT)").fetch_one(&store).await;
    if let Err(e) = reachable {
        report.fix(
            PART,
            format!("cannot read {shown} ({e}): check the server and Hearth's user's rights."),
        );
        store.close().await;
        return false;
    }
    report.ok(PART, format!("{shown} answers; nothing to do."));
    let schema = match store.schema().await {
        Ok(schema) => schema,
        Err(e) => {
            report.fix(PART, format!("cannot read its migrations ({e:#})."));
            store.close().await;
            return false;
        }
    };
    let known = Store::known_migrations(bot_core::store::Backend::Postgres).len();
    match schema {
        bot_core::Schema::Current => report.ok(PART, format!("its {known} migrations are current; nothing to do.")),
        bot_core::Schema::NotHearth => {
            report.ok(
                PART,
                format!("{shown} has no Hearth tables yet: Hearth creates them at its first start (or `hearth store copy` fills it from a SQLite file). Nothing to do."),
            );
            store.close().await;
            return false;
        }
        bot_core::Schema::Older(missing) => report.note(
            PART,
            format!(
                "the next start upgrades it with migrations {} (they only add, never lose data); back it up first (pg_dump).",
                missing.iter().map(|v| format!("{v:04}")).collect::<Vec<_>>().join(", ")
            ),
        ),
        other => report.fix(PART, other.refusal().unwrap_or_default()),
    }
    pending_jobs(report, PART, &store).await;
    let now = chrono::Utc::now();
    let mut running = false;
    match bot_core::leases::all(&store, now).await {
        Ok(held) => {
            for wanted in [bot_core::leases::RETENTION, bot_core::leases::MATRIX_SYNC] {
                let holder = held.iter().find(|(name, _, _)| name == wanted);
                let takes = wanted != bot_core::leases::MATRIX_SYNC || matrix;
                let text = match holder {
                    Some((_, who, until)) if !takes => {
                        running = true;
                        format!(
                            "lease {wanted}: held by {who} until {}; this process has no [matrix] and never takes it.",
                            at(*until)
                        )
                    }
                    None if !takes => format!("lease {wanted}: free; this process has no [matrix] and never takes it."),
                    Some((_, who, until)) if who == process => {
                        format!(
                            "lease {wanted}: held by this process's id {who} (until {}).",
                            at(*until)
                        )
                    }
                    Some((_, who, until)) => {
                        if wanted == bot_core::leases::MATRIX_SYNC {
                            running = true;
                        }
                        format!(
                            "lease {wanted}: held by {who} until {} (renewed every {} s); this process ({process}) takes it if that one stops.",
                            at(*until),
                            bot_core::leases::RENEW_EVERY
                        )
                    }
                    None => format!("lease {wanted}: free; this process ({process}) would take it at start."),
                };
                report.ok("leases", text);
            }
        }
        Err(e) => report.fix("leases", format!("cannot read the leases ({e:#}).")),
    }
    store.close().await;
    running
}

/// A lease's end, as a time.
fn at(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%H:%M:%S UTC").to_string())
        .unwrap_or_else(|| timestamp.to_string())
}

/// The jobs waiting, and those overdue.
async fn pending_jobs(report: &mut Report, part: &'static str, store: &Store) {
    let overdue_since = chrono::Utc::now().timestamp() - 300;
    let pending = query_as::<(i64, i64)>(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN run_at <= ? THEN 1 ELSE 0 END), 0) FROM jobs WHERE state = 'pending'",
    )
    .bind(overdue_since)
    .fetch_one(store)
    .await;
    match pending {
        Ok((pending, overdue)) if overdue > 0 => report.note(
            part,
            format!(
                "{pending} jobs pending, {overdue} of them due more than 5 minutes ago: normal while Hearth is stopped (it catches up at start); if it is running, read its log for delivery errors."
            ),
        ),
        Ok((pending, _)) => report.ok(part, format!("{pending} jobs pending, none overdue; nothing to do.")),
        Err(_) => {}
    }
}

/// The database does not exist yet: whether Hearth can create it.
fn database_to_create(report: &mut Report, part: &'static str, path: &Path) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let probe = dir.join(format!(".hearth-check-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            report.ok(
                part,
                format!("{} does not exist yet; Hearth creates it at its first start. Nothing to do.", path.display()),
            );
        }
        Err(e) => report.fix(
            part,
            format!(
                "{} does not exist and its folder {} is not writable ({e}): create the folder for Hearth's user, or change [storage] path.",
                path.display(),
                dir.display()
            ),
        ),
    }
}

/// Whether the database's migrations are all applied, and all known to
/// this build.
async fn migrations(report: &mut Report, part: &'static str, path: &Path, store: &Store) {
    let applied = query_as::<(i64, bool)>("SELECT version, success FROM _sqlx_migrations ORDER BY version")
        .fetch_all(store)
        .await;
    let known = Store::known_migrations(store.backend());
    match applied {
        Err(_) => report.fix(
            part,
            format!(
                "{} is not a Hearth database (it has no migrations table): point [storage] path at Hearth's file.",
                path.display()
            ),
        ),
        Ok(applied) => {
            let failed: Vec<i64> = applied.iter().filter(|(_, ok)| !ok).map(|(v, _)| *v).collect();
            let unknown: Vec<i64> = applied.iter().map(|(v, _)| *v).filter(|v| !known.contains(v)).collect();
            let missing: Vec<String> = known
                .iter()
                .filter(|v| !applied.iter().any(|(a, _)| a == *v))
                .map(|v| format!("{v:04}"))
                .collect();
            if !failed.is_empty() {
                report.fix(
                    part,
                    format!("migration {failed:?} did not finish: restore the last backup (see the README's \"Backups\") and start Hearth again."),
                );
            } else if !unknown.is_empty() {
                report.fix(
                    part,
                    format!(
                        "written by a newer Hearth (migrations {unknown:?} are unknown to this one): run that version or a later one; migrations never go backwards."
                    ),
                );
            } else if !missing.is_empty() {
                report.note(
                    part,
                    format!(
                        "the next start upgrades it with migrations {} (they only add, never lose data); take a backup first: hearth backup --config FILE --to FILE.",
                        missing.join(", ")
                    ),
                );
            } else {
                report.ok(
                    part,
                    format!(
                        "{} opens and its {} migrations are current; nothing to do.",
                        path.display(),
                        applied.len()
                    ),
                );
            }
        }
    }
}

#[cfg(feature = "discord")]
async fn discord(report: &mut Report, config: &hearth_discord::DiscordConfig) {
    const PART: &str = "discord";
    let access = match hearth_discord::perms::access(config).await {
        Ok(access) => access,
        Err(e) => {
            report.fix(PART, format!("{e:#}"));
            return;
        }
    };
    report.ok(
        PART,
        format!(
            "the token is accepted: the bot is {} ({}); nothing to do.",
            access.bot_name, access.bot_id
        ),
    );
    if access.guilds.is_empty() {
        report.fix(
            PART,
            "the bot is in no server yet: open the link `hearth discord invite --config FILE` prints, and add it to yours.",
        );
    }
    for guild in &access.guilds {
        if guild.missing.is_empty() {
            report.ok(
                PART,
                format!(
                    "server {} ({}): every permission Hearth uses is granted; nothing to do.",
                    guild.name, guild.id
                ),
            );
            continue;
        }
        let lacking: Vec<String> = guild
            .missing
            .iter()
            .map(|n| format!("{} ({})", n.name, n.for_what))
            .collect();
        report.fix(
            PART,
            format!(
                "server {} ({}) does not grant {}: give Hearth's role these in Server Settings > Roles, or invite it again with the link `hearth discord invite` prints.",
                guild.name,
                guild.id,
                lacking.join(", ")
            ),
        );
    }
    for wanted in &config.guilds {
        if !access.guilds.iter().any(|g| g.id == *wanted) {
            report.fix(
                PART,
                format!(
                    "[discord] guilds lists {wanted}, but the bot is not in that server: invite it there (hearth discord invite) or remove the id."
                ),
            );
        }
    }
}

#[cfg(feature = "matrix")]
async fn matrix(report: &mut Report, config: &hearth_matrix::MatrixConfig, bot_running: bool) {
    use hearth_matrix::check::Checked;
    const PART: &str = "matrix";
    if !bot_running && !writable(report, PART, config) {
        return;
    }
    let checked = match hearth_matrix::check::check(config, bot_running).await {
        Ok(checked) => checked,
        Err(e) => {
            report.fix(
                PART,
                format!(
                    "cannot log in or restore the session: {e:#}. Check homeserver, user_id and the password (password_env or password_file)."
                ),
            );
            return;
        }
    };
    match checked {
        Checked::InUse { user_id, device_id } => report.ok(
            PART,
            format!(
                "the running Hearth holds store_dir {}, so it was not opened: the stored access token was checked with the homeserver alone (whoami), and it is {user_id}'s on device {device_id}; nothing to do.",
                config.store_dir.display()
            ),
        ),
        Checked::TokenRefused { device_id, soft_logout } => {
            let next = if soft_logout {
                "it logs in again to the same device, keeping its keys"
            } else {
                "the device is gone: it logs in again as a new device, and keeps the old keys in store_dir/retired"
            };
            let text = format!(
                "{} refuses the stored access token of device {device_id}; nothing was changed. At its next start (or now, if it runs) Hearth logs in again with the password: {next}.",
                config.homeserver
            );
            if config.has_password() {
                report.note(PART, text);
            } else {
                report.fix(PART, format!("{text} Configure password_env or password_file for that."));
            }
        }
        Checked::Opened {
            device_id,
            encryption_ready,
            logged_in,
        } => {
            let how = if logged_in { "logged in (a new device)" } else { "session restored" };
            report.ok(
                PART,
                format!(
                    "{how}: logged in as {} on {} (device {device_id}); nothing to do.",
                    config.user_id, config.homeserver
                ),
            );
            if encryption_ready {
                report.ok(
                    PART,
                    "encryption is ready: the device has its keys, kept in store_dir (back it up with the database); nothing to do.",
                );
            } else {
                report.fix(
                    PART,
                    "encryption is not ready: the device has no keys. Stop Hearth, move store_dir aside and run hearth check again to log in as a new device.",
                );
            }
        }
    }
}

/// Whether store_dir can be written (checked only when no bot holds it).
#[cfg(feature = "matrix")]
fn writable(report: &mut Report, part: &'static str, config: &hearth_matrix::MatrixConfig) -> bool {
    let probe = config.store_dir.join(format!(".hearth-check-{}", std::process::id()));
    let writable = std::fs::create_dir_all(&config.store_dir).and_then(|()| std::fs::write(&probe, b"check"));
    let _ = std::fs::remove_file(&probe);
    if let Err(e) = writable {
        report.fix(
            part,
            format!(
                "the store_dir {} is not writable ({e}): create it for Hearth's user, or change [matrix] store_dir.",
                config.store_dir.display()
            ),
        );
        return false;
    }
    report.ok(
        part,
        format!(
            "the store_dir {} is writable; nothing to do.",
            config.store_dir.display()
        ),
    );
    true
}
