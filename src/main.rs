//! The `hearth` binary: loads the configuration, opens the store, and runs the
//! configured adapters over one core until they finish or a signal arrives.

mod config;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use bot_core::{Clock, CoreConfig, Hearth, ManualClock, Store, SystemClock};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use tokio::io::BufReader;

use crate::config::Config;

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
}

#[derive(Debug, clap::Args)]
struct ConsoleArgs {
    /// The SQLite file (created on first use).
    #[arg(long, default_value = "hearth.db")]
    db: PathBuf,
    /// Who speaks first; the community's first speaker is its admin.
    #[arg(long = "as", default_value = "admin")]
    speaker: String,
    /// Start a manual clock at this instant (RFC 3339, e.g. 2026-03-19T10:00:00Z);
    /// then `/wait 2h` moves it.
    #[arg(long)]
    clock: Option<DateTime<Utc>>,
}

fn init_logs(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match (cli.command, cli.config) {
        (Some(Command::Console(args)), _) => {
            init_logs("warn");
            console(args.db, args.speaker, args.clock, CoreConfig::default()).await
        }
        (None, Some(path)) => {
            let config = Config::load(&path)?;
            init_logs("info");
            let core = CoreConfig {
                default_timezone: config.community.timezone,
            };
            match (config.console, config.discord) {
                (Some(console_config), None) => console(config.storage.path, console_config.speaker, None, core).await,
                (None, Some(discord_config)) => discord(config.storage.path, discord_config, core).await,
                (Some(_), Some(_)) => anyhow::bail!("[console] and [discord] cannot run together yet; choose one"),
                (None, None) => anyhow::bail!("no adapter is configured"),
            }
        }
        (None, None) => {
            init_logs("warn");
            console(PathBuf::from("hearth.db"), "admin".into(), None, CoreConfig::default()).await
        }
    }
}

async fn console(db: PathBuf, speaker: String, start: Option<DateTime<Utc>>, core: CoreConfig) -> anyhow::Result<()> {
    let store = Store::open(&db)
        .await
        .with_context(|| format!("opening the database {}", db.display()))?;
    let manual = start.map(ManualClock::new);
    let clock: Arc<dyn Clock> = match &manual {
        Some(clock) => Arc::new(clock.clone()),
        None => Arc::new(SystemClock),
    };
    let hearth = Hearth::new(store.clone(), clock, core);
    let options = hearth_console::Options {
        speaker,
        clock: manual,
        interactive: std::io::stdin().is_terminal(),
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

/// Runs the Discord adapter, and the scheduler that delivers its reminders
/// through `DiscordOutbox`, until a signal or until the adapter stops.
async fn discord(db: PathBuf, config: hearth_discord::DiscordConfig, core: CoreConfig) -> anyhow::Result<()> {
    let store = Store::open(&db)
        .await
        .with_context(|| format!("opening the database {}", db.display()))?;
    let hearth = Hearth::new(store.clone(), Arc::new(SystemClock), core);
    let outbox: Arc<dyn bot_core::Outbox> = Arc::new(hearth_discord::DiscordOutbox::from_config(&config)?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let scheduler =
        tokio::spawn(bot_core::Scheduler::new(hearth.clone(), vec![outbox]).run(until_stopped(stopped.clone())));
    let adapter = hearth_discord::run(hearth, config, until_stopped(stopped));
    tokio::pin!(adapter);
    let ran = tokio::select! {
        ran = &mut adapter => ran,
        () = shutdown_signal() => {
            tracing::info!("shutting down on a signal");
            let _ = stop.send(true);
            adapter.await
        }
    };
    let _ = stop.send(true);
    if let Err(e) = scheduler.await {
        tracing::error!(error = %e, "the scheduler task failed");
    }
    store.close().await;
    ran.context("the Discord adapter stopped")
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
