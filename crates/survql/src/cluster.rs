//! Cluster mode over [datafusion-distributed](https://github.com/datafusion-contrib/datafusion-distributed):
//! `survql worker` serves survql's functions to coordinators, and a session given worker URLs
//! (`--workers`, `\workers`) plans its queries across them.
//!
//! What makes results identical to a single process:
//! * every survival state merges exactly (counts per time; Cox rows), so where the partial
//!   aggregation runs does not matter;
//! * the final aggregation runs in the coordinator (`repartition_aggregations` is off in
//!   cluster mode), so results are evaluated, and warnings reported, where the user is; the
//!   skipped-NULL counts travel inside the states;
//! * the `km_shared` optimizer rule is off: its function carries its configuration in
//!   memory, which the plan codec of datafusion-distributed 4.0.0 cannot send to a worker
//!   (apache/datafusion#24830). Its results are identical to the unshared functions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::common::{exec_datafusion_err, exec_err, plan_err, DataFusionError, Result};
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::{FunctionRegistry, SessionState, SessionStateBuilder};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion_distributed::grpc::{create_worker_client, BoxCloneSyncChannel};
use datafusion_distributed::{
    ChannelResolver, DistributedExec, DistributedExt, GetWorkerInfoRequest,
    SessionStateBuilderExt, Worker, WorkerChannel, WorkerQueryContext, WorkerResolver,
};
use datafusion_survival::WarningSink;
use tonic::transport::{Endpoint, Server};
use url::Url;

/// What every process of a cluster must agree on: the survql version, the layout version of
/// the aggregate states, and the commit the binary was built from. Workers report it; a
/// coordinator refuses workers that report anything else.
pub const BUILD: &str = concat!(
    "survql ",
    env!("CARGO_PKG_VERSION"),
    ", commit ",
    env!("SURVQL_BUILD_COMMIT"),
);

/// The full version string: [`BUILD`] and the state format of the survival functions.
pub fn build_version() -> String {
    format!(
        "{BUILD}, state format {}",
        datafusion_survival::STATE_FORMAT
    )
}

/// How long connecting to a worker may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 pings on every worker connection: a worker that stops answering (killed machine,
/// cut network) fails the query after at most `KEEPALIVE_INTERVAL + KEEPALIVE_TIMEOUT`.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs a worker on `listen` (`HOST:PORT`, port 0 picks a free one) until Ctrl-C or SIGTERM.
/// Prints `survql worker listening on http://ADDR (VERSION)` once it accepts connections.
pub async fn run_worker(
    listen: &str,
    runtime: Arc<RuntimeEnv>,
    version: Option<String>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| exec_datafusion_err!("survql worker: cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let version = version.unwrap_or_else(build_version);
    let worker = Worker::from_session_builder(worker_session)
        .with_runtime_env(runtime)
        .with_version(version.clone());
    println!("survql worker listening on http://{addr} ({version})");
    use std::io::Write;
    std::io::stdout().flush()?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(worker.into_worker_server())
        .serve_with_incoming_shutdown(incoming, shutdown_signal())
        .await
        .map_err(|e| exec_datafusion_err!("survql worker on {addr}: {e}"))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The session a worker runs each task in: DataFusion's defaults plus every survql function
/// (registered on top: `with_aggregate_functions` would replace the built-ins). Warnings are
/// not reported here: the skipped-row counts travel in the states to the coordinator.
async fn worker_session(ctx: WorkerQueryContext) -> Result<SessionState> {
    let mut state = ctx.builder.build();
    for udaf in datafusion_survival::all_functions_with_warnings(&WarningSink::default()) {
        state.register_udaf(udaf)?;
    }
    Ok(state)
}

/// Parses `--workers` / `\workers` URLs: `http://host:port` (a missing scheme means http).
pub fn parse_worker_urls(text: &str) -> Result<Vec<Url>> {
    let mut urls = vec![];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let with_scheme = if part.contains("://") {
            part.to_owned()
        } else {
            format!("http://{part}")
        };
        let url = Url::parse(&with_scheme)
            .map_err(|e| exec_datafusion_err!("--workers: '{part}' is not a URL: {e}"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return plan_err!("--workers: '{part}' must be an http:// or https:// URL");
        }
        if url.port_or_known_default().is_none() || url.host_str().is_none() {
            return plan_err!("--workers: '{part}' needs a host and port");
        }
        urls.push(url);
    }
    if urls.is_empty() {
        return plan_err!("--workers: no worker URL given");
    }
    Ok(urls)
}

/// The fixed list of workers a session was given.
#[derive(Clone)]
struct Workers(Vec<Url>);

impl WorkerResolver for Workers {
    fn get_urls(&self) -> Result<Vec<Url>, DataFusionError> {
        Ok(self.0.clone())
    }
}

/// Connections to workers with a connect timeout and HTTP/2 keep-alive (the default resolver
/// has neither, so a worker that vanishes without closing its socket would hang a query).
#[derive(Clone, Default)]
pub struct Channels(Arc<Mutex<HashMap<Url, BoxCloneSyncChannel>>>);

impl Channels {
    async fn channel(&self, url: &Url) -> Result<BoxCloneSyncChannel> {
        if let Some(c) = self.0.lock().ok().and_then(|m| m.get(url).cloned()) {
            return Ok(c);
        }
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| exec_datafusion_err!("worker {url}: invalid URL: {e}"))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(true);
        let channel = endpoint.connect().await.map_err(|e| {
            exec_datafusion_err!(
                "cannot reach survql worker {url}: {} (is `survql worker` running there?)",
                error_chain(&e)
            )
        })?;
        let channel = BoxCloneSyncChannel::new(channel);
        if let Ok(mut m) = self.0.lock() {
            m.insert(url.clone(), channel.clone());
        }
        Ok(channel)
    }
}

#[async_trait]
impl ChannelResolver for Channels {
    async fn get_worker_client_for_url(
        &self,
        url: &Url,
    ) -> Result<Box<dyn WorkerChannel>, DataFusionError> {
        Ok(create_worker_client(self.channel(url).await?))
    }
}

/// An error and its sources, one line ("transport error: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Asks every worker for its version; an unreachable worker or another build is an error.
pub async fn check_workers(channels: &Channels, urls: &[Url]) -> Result<()> {
    let expected = build_version();
    for url in urls {
        let channel = channels.channel(url).await?;
        let mut client = create_worker_client(channel);
        let info = tokio::time::timeout(CONNECT_TIMEOUT, client.get_worker_info(GetWorkerInfoRequest {}))
            .await
            .map_err(|_| exec_datafusion_err!("survql worker {url} did not answer within {CONNECT_TIMEOUT:?}"))?
            .map_err(|e| exec_datafusion_err!("survql worker {url} did not answer: {e}"))?;
        if info.version != expected {
            return exec_err!(
                "survql worker {url} runs a different build ({}) from this process ({expected}); \
                 every process of a cluster must run the same survql build, because the \
                 aggregate states they exchange must have the same layout",
                if info.version.is_empty() { "no version reported" } else { info.version.as_str() }
            );
        }
    }
    Ok(())
}

/// A session like `local` (same tables, functions, settings and memory pool) whose queries
/// are planned across `urls`, after checking each worker answers with this build.
pub async fn distributed_context(local: &SessionContext, urls: &[Url]) -> Result<SessionContext> {
    let channels = Channels::default();
    check_workers(&channels, urls).await?;
    let mut state = local.state();
    state.remove_optimizer_rule(datafusion_survival::km_shared::RULE_NAME);
    let mut builder = SessionStateBuilder::new_from_existing(state)
        .with_distributed_worker_resolver(Workers(urls.to_vec()))
        .with_distributed_channel_resolver(channels)
        .with_distributed_planner();
    if let Some(config) = builder.config() {
        // Final aggregation in the coordinator: results are evaluated (and warnings
        // reported) where the user is; the partial states are per-time counts.
        config.options_mut().optimizer.repartition_aggregations = false;
    }
    Ok(SessionContext::new_with_state(builder.build()))
}

/// Whether a physical plan runs (in part) on workers.
pub fn is_distributed(plan: &Arc<dyn ExecutionPlan>) -> bool {
    if plan.as_any().downcast_ref::<DistributedExec>().is_some() {
        return true;
    }
    plan.children().iter().any(|c| is_distributed(c))
}

/// Whether a plan reads an in-memory table (one workers cannot read).
pub fn reads_memory_table(plan: &Arc<dyn ExecutionPlan>) -> bool {
    if let Some(source) = plan.as_any().downcast_ref::<DataSourceExec>() {
        if source
            .data_source()
            .as_any()
            .downcast_ref::<MemorySourceConfig>()
            .is_some()
        {
            return true;
        }
    }
    plan.children().iter().any(|c| reads_memory_table(c))
}
