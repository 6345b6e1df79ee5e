//! The `hearth` binary: loads the configuration, opens the store, and runs the
//! configured adapters over one core until they finish or a signal arrives.

mod backup;
mod check;
mod config;
mod lease;
mod metrics;
mod store_copy;
#[cfg(any(feature = "discord", feature = "matrix"))]
mod supervise;
mod web;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use bot_core::{Clock, CoreConfig, Hearth, ManualClock, Outbox, Scheduler, Store, SystemClock};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use tokio::io::BufReader;
use tokio::task::JoinSet;

use crate::config::{Config, Database};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Hearth: meetings, check-ins, the talking stick and resources for peer support groups"
)]
struct Cli {
    /// A TOML configuration file (see config/hearth.example.toml). Without one,
    /// Hearth runs the console on hearth.db in the working directory.
    #[arg(long, env = "HEARTH_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Try Hearth in this terminal, or drive it from a script on standard input.
    Console(ConsoleArgs),
    /// Writes a file from the database named by --config, e.g. for a website.
    #[command(subcommand)]
    Export(Export),
    /// Checks the config, each platform it names and the database, answering
    /// no one; exits non-zero when something needs fixing.
    Check,
    /// The store itself: moving a SQLite store into PostgreSQL.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Copies the database consistently, even while Hearth runs.
    Backup {
        /// The new file to write (never overwritten).
        #[arg(long)]
        to: PathBuf,
    },
    /// Setting up the Discord bot.
    #[cfg(feature = "discord")]
    #[command(subcommand)]
    Discord(DiscordSetup),
}

#[cfg(feature = "discord")]
#[derive(Debug, Subcommand)]
enum DiscordSetup {
    /// Prints the link that adds the bot to a server with the permissions Hearth uses.
    Invite {
        /// The application id (the developer portal's General Information);
        /// without it, Discord is asked with the configured token.
        #[arg(long)]
        application_id: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Copies a SQLite store into an empty PostgreSQL database (created
    /// tables and all), then compares every table's rows. Stop Hearth first.
    Copy {
        /// The SQLite file (opened read-only, never changed).
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database: postgres://user@host:port/database.
        #[arg(long)]
        to: String,
        /// The environment variable holding the PostgreSQL password (else
        /// the URL's, or none).
        #[arg(long)]
        password_env: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum Export {
    /// The Meeting Guide JSON feed (what /group list format:meeting_guide gives).
    MeetingGuide {
        /// The community, as platform:id (e.g. discord:123456789012345678,
        /// console:local); needed when the database holds more than one.
        #[arg(long)]
        community: Option<String>,
        /// Where to write it.
        #[arg(long, default_value = "meeting-guide.json")]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct ConsoleArgs {
    /// The SQLite file (created on first use), or a PostgreSQL database
    /// (postgres://user@host:port/database, the password in the URL or
    /// PGPASSWORD).
    #[arg(long, default_value = "hearth.db")]
    db: String,
    /// Who speaks first; the community's first speaker is its admin.
    #[arg(long = "as", default_value = "admin")]
    speaker: String,
    /// Start a manual clock at this instant (RFC 3339, e.g. 2026-03-19T10:00:00Z);
    /// then `/wait 2h` moves it.
    #[arg(long)]
    clock: Option<DateTime<Utc>>,
    /// Share the database file with a Hearth already running on it (e.g. a
    /// bot), instead of refusing to start beside it.
    #[arg(long)]
    shared: bool,
}

fn init_logs(default: &str) {
    init_logs_as(default, config::LogFormat::Text);
}

fn init_logs_as(default: &str, format: config::LogFormat) {
    let wanted = log_directives(std::env::var("RUST_LOG").ok().as_deref(), default);
    let filter =
        tracing_subscriber::EnvFilter::try_new(&wanted).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        config::LogFormat::Text => logs.init(),
        config::LogFormat::Json => logs.json().init(),
    }
}

/// Hearth's own crates, as log targets.
const OWN_CRATES: &[&str] = &[
    "hearth",
    "bot_core",
    "hearth_console",
    "hearth_discord",
    "hearth_matrix",
];

/// The log filter: `default`, with what `RUST_LOG` asks. A bare level in it
/// (`RUST_LOG=debug`) raises Hearth's own crates only: dependencies' debug
/// and trace output carries request bodies and tokens (serenity's HTTP span
/// logs interaction tokens and whole bodies: check-in histories, `/mydata`,
/// crisis answers), so it stays off unless a directive names the crate on
/// purpose (`RUST_LOG=debug,serenity=debug`). A `RUST_LOG` that does not
/// mention it keeps matrix-sdk's key-backup warning (once per sync) out.
fn log_directives(rust_log: Option<&str>, default: &str) -> String {
    let Some(rust_log) = rust_log.map(str::trim).filter(|l| !l.is_empty()) else {
        return default.to_string();
    };
    let mut named = Vec::new();
    let mut level = None;
    for directive in rust_log.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match directive.parse::<tracing_subscriber::filter::LevelFilter>() {
            Ok(bare) => level = Some(bare),
            Err(_) => named.push(directive.to_string()),
        }
    }
    let mut out: Vec<String> = default.split(',').map(str::to_string).collect();
    if let Some(level) = level {
        let default_level = out
            .first()
            .and_then(|d| d.parse::<tracing_subscriber::filter::LevelFilter>().ok())
            .unwrap_or(tracing_subscriber::filter::LevelFilter::WARN);
        // Quieter than the default applies to everything; louder, to Hearth alone.
        if level < default_level {
            out[0] = level.to_string();
        }
        out.extend(OWN_CRATES.iter().map(|c| format!("{c}={level}")));
    }
    out.extend(named);
    if !rust_log.contains("backups") {
        out.push("matrix_sdk_crypto::backups=error".to_string());
    }
    out.join(",")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match (cli.command, cli.config) {
        (Some(Command::Console(args)), _) => {
            init_logs("warn");
            let db = console_database(&args.db);
            console(db, args.speaker, args.clock, args.shared, CoreConfig::default()).await
        }
        (Some(Command::Export(Export::MeetingGuide { community, out })), config) => {
            init_logs("warn");
            let path = config.context("hearth export needs --config FILE, to find the database")?;
            let config = Config::load(&path)?;
            export_meeting_guide(&config.storage.database, community.as_deref(), &out).await
        }
        (Some(Command::Store(StoreCommand::Copy { from, to, password_env })), _) => {
            init_logs("warn");
            store_copy::run(&from, &to, password_env.as_deref()).await
        }
        (Some(command @ (Command::Check | Command::Backup { .. })), config) => {
            init_logs("warn,matrix_sdk=error,matrix_sdk_base=error,matrix_sdk_crypto=error");
            let path = config.context("this command needs --config FILE (or HEARTH_CONFIG)")?;
            let config = Config::load(&path)?;
            operate(command, &path, config).await
        }
        #[cfg(feature = "discord")]
        (Some(command @ Command::Discord(_)), config) => {
            init_logs("warn,matrix_sdk=error,matrix_sdk_base=error,matrix_sdk_crypto=error");
            let path = config.context("this command needs --config FILE (or HEARTH_CONFIG)")?;
            let config = Config::load(&path)?;
            operate(command, &path, config).await
        }
        (None, Some(path)) => {
            let config = Config::load(&path)?;
            // matrix-sdk logs harmless 404s at login as errors; its warnings are enough.
            // Its key-backup upload task runs after every sync and warns each time
            // that the account has no backup (none is wanted; see the Matrix README).
            init_logs_as(
                "info,matrix_sdk=warn,matrix_sdk_base=warn,matrix_sdk_crypto=warn,matrix_sdk_sqlite=warn,\
                 matrix_sdk_crypto::backups=error",
                config.log_format,
            );
            let core = CoreConfig {
                default_timezone: config.community.timezone,
                retention: chrono::Duration::days(i64::from(config.storage.retention_days)),
                web_url: config.web.as_ref().and_then(|w| w.public_url.clone()),
            };
            serve(config, core).await
        }
        (None, None) => {
            init_logs("warn");
            console(
                Database::Sqlite(PathBuf::from("hearth.db")),
                "admin".into(),
                None,
                false,
                CoreConfig::default(),
            )
            .await
        }
    }
}

/// The console's `--db`: a PostgreSQL URL, else a file.
fn console_database(db: &str) -> Database {
    if config::is_postgres_url(db) {
        Database::Postgres(config::Postgres {
            url: db.to_string(),
            password_env: std::env::var_os("PGPASSWORD").map(|_| "PGPASSWORD".to_string()),
            password_file: None,
            max_connections: 4,
        })
    } else {
        Database::Sqlite(PathBuf::from(db))
    }
}

async fn console(
    db: Database,
    speaker: String,
    start: Option<DateTime<Utc>>,
    shared: bool,
    core: CoreConfig,
) -> anyhow::Result<()> {
    let (store, lock) = open_store(&db, shared).await?;
    let manual = start.map(ManualClock::new);
    let clock: Arc<dyn Clock> = match &manual {
        Some(clock) => Arc::new(clock.clone()),
        None => Arc::new(SystemClock),
    };
    let hearth = Hearth::new(store.clone(), clock, core);
    if lock.is_some() {
        only_process(&hearth).await?;
    }
    // Retention: a console session is short, so one sweep at its start,
    // unless another process holds the sweep's lease (PostgreSQL).
    let holder = format!("console:{}", std::process::id());
    if let Some(held) = lease::try_take(&hearth, bot_core::leases::RETENTION, &holder).await {
        let swept = hearth.sweep(hearth.now()).await;
        held.let_go().await;
        swept.context("deleting what is past retention")?;
    }
    let options = hearth_console::Options {
        speaker,
        clock: manual,
        interactive: std::io::stdin().is_terminal(),
        own_scheduler: true,
    };
    let session = hearth_console::Console::new(hearth, options, std::io::stdout());
    let stdin = BufReader::new(tokio::io::stdin());
    tokio::select! {
        finished = session.run(stdin) => finished.context("console input or output failed")?,
        () = shutdown_signal() => tracing::info!("shutting down on a signal"),
    }
    store.close().await;
    Ok(())
}

/// Runs every configured adapter at once over one core and one store until a
/// signal. One scheduler delivers for them all.
///
/// With a platform adapter (Discord, Matrix) configured, Hearth runs until it
/// is asked to stop, whatever the console does: under a service manager
/// standard input is empty, and a bot that stopped when its console did
/// would look like a clean, wanted exit. A platform adapter that ends
/// without being asked is an error, for the service manager to restart.
async fn serve(config: Config, core: CoreConfig) -> anyhow::Result<()> {
    let process = config.storage.process_id();
    let (store, lock) = open_store(&config.storage.database, config.storage.shared).await?;
    tracing::info!(
        process = %process,
        database = %database_shown(&config.storage.database),
        version = env!("CARGO_PKG_VERSION"),
        "hearth starting"
    );
    let hearth = Hearth::new(store.clone(), Arc::new(SystemClock), core);
    if lock.is_some() {
        only_process(&hearth).await?;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    if let Some(metrics) = &config.metrics {
        metrics::serve(metrics, store.clone(), &process, until_stopped())?;
    }
    let mut adapters = start_adapters(config, &hearth, &process, &until_stopped)?;
    let sweeper = sweep_hourly(hearth.clone(), process.clone(), until_stopped.clone());
    let scheduler = Scheduler::new(hearth, std::mem::take(&mut adapters.outboxes)).with_owner(process);
    let mut scheduler = tokio::spawn(scheduler.run(until_stopped()));
    let (outcome, scheduler_done) = run_until_stopped(&mut adapters, &mut scheduler).await;
    let _ = stop.send(true);
    // Everything below (the delivery in flight, unmuting a circle) fits in
    // 10 s from the signal, as a service manager expects; then Hearth exits.
    let deadline = tokio::time::Instant::now() + SHUTDOWN_WITHIN;
    // The console waits on standard input, which no signal closes; the others stop cleanly.
    let drain = async {
        while let Some(joined) = adapters.running.join_next().await {
            if let Ok((name, Err(e))) = joined {
                tracing::warn!(adapter = name, error = %e, "adapter stopped with an error");
            }
        }
    };
    if tokio::time::timeout_at(deadline, drain).await.is_err() {
        adapters.running.abort_all();
    }
    // The scheduler finishes the deliveries it has started and records them.
    if !scheduler_done && tokio::time::timeout_at(deadline, &mut scheduler).await.is_err() {
        tracing::warn!("the scheduler did not finish in time; what it held goes out at the next start");
        scheduler.abort();
    }
    // The sweep lets go of its lease, for another process to take at once.
    if tokio::time::timeout_at(deadline, sweeper).await.is_err() {
        tracing::warn!("the retention sweep did not stop in time; its lease runs out by itself");
    }
    store.close().await;
    drop(lock);
    outcome
}

/// The running adapters, and the outboxes the scheduler delivers through.
struct Adapters {
    running: JoinSet<(&'static str, anyhow::Result<()>)>,
    outboxes: Vec<Arc<dyn Outbox>>,
    /// How many adapters besides the console run (the platforms, the web
    /// server): while one does, the console's end does not end Hearth.
    platforms: usize,
}

/// Starts every configured adapter. The platforms connect in their own
/// tasks: a homeserver that is down holds back neither Discord nor the
/// scheduler, and its adapter keeps trying; a login the homeserver refuses,
/// or a wrong configuration, ends its task at once with the error, and
/// Hearth with it.
fn start_adapters<S, Stop>(
    config: Config,
    hearth: &Hearth,
    process: &str,
    until_stopped: &S,
) -> anyhow::Result<Adapters>
where
    S: Fn() -> Stop + Clone + Send + Sync + 'static,
    Stop: std::future::Future<Output = ()> + Send + 'static,
{
    let mut adapters = Adapters {
        running: JoinSet::new(),
        outboxes: Vec::new(),
        platforms: 0,
    };
    #[cfg(feature = "discord")]
    if let Some(discord) = config.discord {
        adapters
            .outboxes
            .push(Arc::new(hearth_discord::DiscordOutbox::from_config(&discord)?));
        let run = supervise::discord(hearth.clone(), discord, until_stopped.clone());
        adapters.running.spawn(async move { ("discord", run.await) });
        adapters.platforms += 1;
    }
    #[cfg(feature = "matrix")]
    if let Some(matrix) = config.matrix {
        // Deliveries go out while this process holds the Matrix sync lease
        // and is connected (see `MatrixOutbox`).
        let outbox = hearth_matrix::MatrixOutbox::detached();
        outbox.set_leased(false);
        adapters.outboxes.push(Arc::new(outbox.clone()));
        let run = supervise::matrix(
            hearth.clone(),
            matrix,
            outbox,
            process.to_string(),
            until_stopped.clone(),
        );
        adapters.running.spawn(async move { ("matrix", run.await) });
        adapters.platforms += 1;
    }
    if let Some(console) = config.console {
        let options = hearth_console::Options {
            speaker: console.speaker,
            clock: None,
            interactive: std::io::stdin().is_terminal(),
            own_scheduler: false,
        };
        let session = hearth_console::Console::new(hearth.clone(), options, std::io::stdout());
        adapters.outboxes.push(session.outbox());
        let stdin = BufReader::new(tokio::io::stdin());
        adapters.running.spawn(async move {
            let ran = session.run(stdin).await.context("console input or output failed");
            ("console", ran)
        });
    }
    if let Some(web) = &config.web {
        let server = web::serve(web, hearth.clone(), until_stopped())?;
        adapters.running.spawn(async move { ("web", server.await) });
        adapters.platforms += 1;
    }
    // Only the platforms use them; a console-only build has none.
    let _ = (until_stopped, process);
    Ok(adapters)
}

/// Waits for a signal, or for what ends Hearth without one: the scheduler
/// stopping, an adapter failing, a platform adapter ending unasked, or the
/// console ending when it runs alone. Returns the outcome and whether the
/// scheduler has ended.
async fn run_until_stopped(
    adapters: &mut Adapters,
    scheduler: &mut tokio::task::JoinHandle<()>,
) -> (anyhow::Result<()>, bool) {
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            // Reminders must never stop silently while the bot keeps answering:
            // a scheduler that ends (a panic) ends the process, for its supervisor to restart.
            ended = &mut *scheduler => {
                return (Err(match ended {
                    Err(e) if e.is_panic() => anyhow::anyhow!("the scheduler panicked; stopping so that a supervisor restarts Hearth"),
                    _ => anyhow::anyhow!("the scheduler stopped unexpectedly"),
                }), true);
            }
            Some(joined) = adapters.running.join_next() => match joined {
                Ok(("console", Ok(()))) if adapters.platforms > 0 => {
                    tracing::info!("console input ended; the platform adapters go on until a signal");
                }
                Ok(("console", Ok(()))) => {
                    tracing::info!(adapter = "console", "adapter finished; shutting down");
                    return (Ok(()), false);
                }
                Ok((name, Ok(()))) => {
                    return (Err(anyhow::anyhow!(
                        "the {name} adapter stopped though no signal asked it to; exiting with an error so that a service manager restarts Hearth"
                    )), false);
                }
                Ok((name, Err(e))) => return (Err(e.context(format!("the {name} adapter stopped"))), false),
                Err(e) => return (Err(anyhow::anyhow!("an adapter task failed: {e}")), false),
            },
            () = &mut signal => {
                tracing::info!("shutting down on a signal");
                return (Ok(()), false);
            }
        }
    }
}

/// Retention: what is past its time is deleted every hour, by the one
/// process holding the retention lease (on SQLite, the only one: it takes
/// it at start). It sweeps as soon as it takes the lease, then hourly; a
/// clean stop lets go of it.
fn sweep_hourly<S, Stop>(hearth: Hearth, process: String, stopped: S) -> tokio::task::JoinHandle<()>
where
    S: Fn() -> Stop + Send + 'static,
    Stop: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Some(held) = lease::take(&hearth, bot_core::leases::RETENTION, &process, stopped()).await else {
                return;
            };
            let sweeping = async {
                let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
                loop {
                    hourly.tick().await;
                    match hearth.sweep(hearth.now()).await {
                        Ok(gone) => tracing::info!(
                            jobs = gone.jobs,
                            rsvps = gone.rsvps,
                            groups = gone.groups,
                            "retention sweep"
                        ),
                        Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
                    }
                }
            };
            tokio::select! {
                () = sweeping => {}
                () = held.lost() => {
                    tracing::warn!("the retention lease was lost; another process sweeps");
                    continue;
                }
                () = stopped() => {}
            }
            held.let_go().await;
            return;
        }
    })
}

/// How long stopping may take after a signal, under systemd's and Docker's 10 s.
const SHUTDOWN_WITHIN: std::time::Duration = std::time::Duration::from_secs(9);

/// `hearth export meeting-guide`: the same file as the command, for a
/// website to serve. It reads beside a running bot, never taking its lock,
/// and never writes: a database older or newer than this build is reported
/// and left as it is.
async fn export_meeting_guide(db: &Database, community: Option<&str>, out: &std::path::Path) -> anyhow::Result<()> {
    let store = open_read_only(db).await?;
    if let Some(why) = store.schema().await?.refusal() {
        store.close().await;
        anyhow::bail!("{}: {why}", database_shown(db));
    }
    let named = match community {
        Some(c) => Some(
            c.split_once(':')
                .context("--community is platform:id, e.g. discord:123456789012345678")?,
        ),
        None => None,
    };
    let Some(id) = bot_core::meeting_guide::community_for_export(&store, named).await? else {
        anyhow::bail!(match named {
            Some(_) => "no community by that platform:id in the database",
            None => "the database holds no community, or several: name one with --community platform:id",
        });
    };
    let now = chrono::Utc::now();
    let (json, listed, left_out) = bot_core::meeting_guide::file(&store, id, now, false).await?;
    std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
    let plural = if listed == 1 { "" } else { "s" };
    let mut report = format!("Wrote {listed} meeting{plural} to {}.\n", out.display());
    for why in left_out {
        report.push_str(&format!("Left out: {why}\n"));
    }
    std::io::Write::write_all(&mut std::io::stdout(), report.as_bytes()).context("writing the report")?;
    store.close().await;
    Ok(())
}

/// Opens (creating and migrating as needed) the database: a SQLite file,
/// holding its single-instance lock unless `shared`, or a PostgreSQL
/// database, which any number of processes share (no lock).
async fn open_store(db: &Database, shared: bool) -> anyhow::Result<(Store, Option<bot_core::InstanceLock>)> {
    match db {
        Database::Sqlite(path) => {
            let lock = if shared {
                None
            } else {
                Some(bot_core::InstanceLock::take(path).map_err(anyhow::Error::msg)?)
            };
            let store = Store::open(path)
                .await
                .with_context(|| format!("opening the database {}", path.display()))?;
            Ok((store, lock))
        }
        Database::Postgres(pg) => {
            let password = pg.password()?;
            let store = Store::open_postgres(&pg.url, password.as_deref(), pg.max_connections)
                .await
                .with_context(|| format!("opening the PostgreSQL database {}", pg.shown()))?;
            Ok((store, None))
        }
    }
}

/// The only process on a SQLite file (it holds the instance lock): what a
/// killed one had claimed goes out again now, with the same keys, for the
/// platforms to de-duplicate, and the work it held (its leases) is free at
/// once. Never on PostgreSQL, where other processes hold claims and leases:
/// a dead one's run out by themselves.
async fn only_process(hearth: &Hearth) -> anyhow::Result<()> {
    let released = hearth.release_claims().await.context("releasing old claims")?;
    if released > 0 {
        tracing::info!(released, "released the claims of a previous run");
    }
    let held = bot_core::leases::all(hearth.store(), hearth.now())
        .await
        .context("reading old leases")?;
    for (name, holder, _) in held {
        bot_core::leases::let_go(hearth.store(), &name, &holder)
            .await
            .context("letting go of a previous run's lease")?;
    }
    Ok(())
}

/// Opens an existing database to read only: never created, migrated or
/// written (`hearth export`, `hearth check`).
async fn open_read_only(db: &Database) -> anyhow::Result<Store> {
    match db {
        Database::Sqlite(path) => {
            if !path.exists() {
                anyhow::bail!(
                    "the database {} does not exist yet; start Hearth once first",
                    path.display()
                );
            }
            Store::open_read_only(path)
                .await
                .with_context(|| format!("opening the database {}", path.display()))
        }
        Database::Postgres(pg) => {
            let password = pg.password()?;
            Store::connect_postgres(&pg.url, password.as_deref())
                .await
                .with_context(|| format!("connecting to the PostgreSQL database {}", pg.shown()))
        }
    }
}

/// The database as messages and logs name it (never with a password).
fn database_shown(db: &Database) -> String {
    match db {
        Database::Sqlite(path) => path.display().to_string(),
        Database::Postgres(pg) => pg.shown(),
    }
}

/// Resolves on ctrl-c or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `hearth check`, `hearth backup`, `hearth discord invite`: what an
/// operator runs beside (or before) the bot.
async fn operate(command: Command, path: &std::path::Path, config: Config) -> anyhow::Result<()> {
    let say =
        |text: &str| std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes()).context("writing the report");
    match command {
        Command::Check => {
            let report = check::check(path, &config).await;
            say(&report.render())?;
            match report.problems() {
                0 => Ok(()),
                n => anyhow::bail!("{n} thing(s) to fix: see the lines marked FIX, then run hearth check again"),
            }
        }
        Command::Backup { to } => {
            let Database::Sqlite(path) = &config.storage.database else {
                anyhow::bail!(
                    "hearth backup copies a SQLite file; a PostgreSQL database is backed up with PostgreSQL's own tools (pg_dump, or your provider's backups)"
                );
            };
            let copied = backup::backup(path, &to).await?;
            say(&format!(
                "Backed up {} to {} ({} KiB): {} groups, {} meetings, {} pending jobs.\n",
                path.display(),
                to.display(),
                copied.bytes / 1024,
                copied.groups,
                copied.meetings,
                copied.pending_jobs
            ))
        }
        #[cfg(feature = "discord")]
        Command::Discord(DiscordSetup::Invite { application_id }) => {
            let id = match application_id {
                Some(id) => id,
                None => {
                    let discord = config
                        .discord
                        .as_ref()
                        .context("the config has no [discord] section; add one, or pass --application-id")?;
                    hearth_discord::perms::access(discord).await?.bot_id
                }
            };
            let mut text = format!(
                "{}\n\nIt asks for these permissions, each for what Hearth does with it:\n",
                hearth_discord::perms::invite_url(id)
            );
            for n in hearth_discord::perms::NEEDED {
                text.push_str(&format!("- {}: {}\n", n.name, n.for_what));
            }
            text.push_str("No privileged gateway intent is needed (Hearth asks for servers and voice states only).\n");
            say(&text)
        }
        Command::Console(_) | Command::Export(_) | Command::Store(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::log_directives;

    #[test]
    fn a_bare_level_raises_hearths_own_crates_and_no_dependency() {
        let filter = log_directives(Some("debug"), "info,matrix_sdk=warn");

        assert!(filter.starts_with("info,matrix_sdk=warn,"), "{filter}");
        for own in [
            "hearth=debug",
            "bot_core=debug",
            "hearth_discord=debug",
            "hearth_matrix=debug",
        ] {
            assert!(filter.split(',').any(|d| d == own), "{own} not in {filter}");
        }
        assert!(!filter.contains("serenity"), "{filter}");
    }

    #[test]
    fn a_dependency_named_on_purpose_is_heard_and_a_quieter_level_applies_to_all() {
        let named = log_directives(Some("trace,serenity=debug"), "warn");
        let quiet = log_directives(Some("error"), "info,matrix_sdk=warn");
        let none = log_directives(None, "info");

        assert!(named.split(',').any(|d| d == "serenity=debug"), "{named}");
        assert!(named.starts_with("warn,"), "{named}");
        assert!(quiet.starts_with("error,"), "{quiet}");
        assert_eq!(none, "info");
    }
}
