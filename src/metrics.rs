//! `[metrics]`: Prometheus metrics on a small HTTP listener of their own
//! (metrics-exporter-prometheus). What is counted, and under which names, is
//! `bot_core::metrics`; this installs the exporter and keeps the figures
//! read from the database (pending jobs, scheduler lag) fresh.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

/// How often pending jobs and the scheduler's lag are read from the database.
const REFRESH: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where to serve `/metrics`, e.g. "127.0.0.1:9184". Keep it on a
    /// loopback or private address: the figures are for the operator.
    pub listen: SocketAddr,
}

/// Installs the recorder and its listener, and starts the refresh task,
/// which ends when `stopped` resolves. Every metric carries the label
/// `process`, this process's id, so that the processes sharing a database
/// are told apart (the database's own figures, pending jobs, are the same
/// in each).
pub fn serve(
    config: &MetricsConfig,
    store: bot_core::Store,
    process: &str,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .add_global_label("process", process)
        .with_http_listener(config.listen)
        .install()
        .with_context(|| format!("serving metrics on {} ([metrics] listen)", config.listen))?;
    describe();
    tracing::info!(listen = %config.listen, "metrics: serving /metrics");
    tokio::spawn(async move {
        let refreshing = async {
            let mut every = tokio::time::interval(REFRESH);
            loop {
                every.tick().await;
                if let Err(e) = bot_core::metrics::refresh_from_store(&store).await {
                    tracing::warn!(error = %e, "metrics: reading the jobs table failed");
                }
            }
        };
        tokio::select! {
            () = refreshing => {}
            () = stopped => {}
        }
    });
    Ok(())
}

fn describe() {
    use bot_core::metrics as m;
    metrics::describe_counter!(
        m::COMMANDS,
        "Commands handled, by platform and outcome (ok, refused, error)."
    );
    metrics::describe_counter!(
        m::DELIVERIES,
        "Deliveries by platform and outcome as the platform answered (sent, retried, failed)."
    );
    metrics::describe_gauge!(m::PENDING_JOBS, "Jobs waiting to go out.");
    metrics::describe_gauge!(
        m::SCHEDULER_LAG,
        metrics::Unit::Seconds,
        "How late the last delivered job went out after its due time."
    );
    metrics::describe_gauge!(m::ADAPTER_CONNECTED, "1 while the adapter is connected, else 0.");
}
