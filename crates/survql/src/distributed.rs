//! Cluster mode over [datafusion-distributed](https://github.com/datafusion-contrib/datafusion-distributed):
//! `survql worker` serves survql's functions to coordinators, and a session given worker URLs
//! (`--workers`, `\workers`) plans its queries across them.
//!
//! What makes results identical to a single process:
//! * every survival state merges exactly (counts per time; Cox rows), so where the partial
//!   aggregation runs does not matter;
//! * the final aggregation runs in the coordinator where the plan allows it
//!   (`repartition_aggregations` is off in cluster mode), so most results are evaluated where
//!   the user is; the skipped-NULL counts travel inside the states, and the warnings of
//!   aggregates a worker did evaluate come back after the query ([`crate::worker_warnings`]);
//! * the `km_shared` optimizer rule is off: its function carries its configuration in
//!   memory, which the plan codec of datafusion-distributed 4.0.0 cannot send to a worker
//!   (apache/datafusion#24830). Its results are identical to the unshared functions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{exec_datafusion_err, exec_err, plan_err, DataFusionError, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileGroup, FileGroupPartitioner, FileScanConfig};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::{FunctionRegistry, SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion_distributed::grpc::{create_worker_client, BoxCloneSyncChannel};
use datafusion_distributed::{
    ChannelResolver, DistributedExec, DistributedExt, DistributedLeafExec, GetWorkerInfoRequest,
    ScaleUpLeafNodeEvent, ScaleUpLeafNodeEventResponse, SessionStateBuilderExt, Worker,
    WorkerChannel, WorkerQueryContext, WorkerResolver,
};
use datafusion_survival::WarningSink;

use crate::worker_warnings;
use tonic::codegen::http::{HeaderMap, HeaderValue};
use tonic::transport::{Channel, Endpoint, Server};
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
        .add_service(worker_warnings::WarningsServer)
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
/// (registered on top: `with_aggregate_functions` would replace the built-ins). Their warnings
/// go to the sink of the coordinator session the task belongs to, which takes them after the
/// query (see [`worker_warnings`]); skipped-row counts mostly travel in the states instead.
async fn worker_session(ctx: WorkerQueryContext) -> Result<SessionState> {
    let sink = match ctx.headers.get(worker_warnings::SESSION_HEADER) {
        Some(session) => worker_warnings::sink_for(session.to_str().unwrap_or_default()),
        None => WarningSink::default(),
    };
    // The session's settings come with the task (gRPC metadata named after the setting): the
    // caps (SET survql.max_groups, ...) apply here as on the coordinator.
    for (name, value) in ctx.headers.iter() {
        if let Ok(value) = value.to_str() {
            datafusion_survival::apply_propagated_setting(name.as_str(), value)?;
        }
    }
    let mut state = ctx.builder.build();
    for udaf in datafusion_survival::all_functions_with_warnings(&sink) {
        state.register_udaf(udaf)?;
    }
    for udf in datafusion_survival::scalar_functions() {
        state.register_udf(udf)?;
    }
    let pool = std::sync::Arc::clone(&state.runtime_env().memory_pool);
    for udwf in datafusion_survival::window_functions_with_memory(&sink, Some(pool)) {
        state.register_udwf(udwf)?;
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
pub struct Channels(Arc<Mutex<HashMap<Url, Channel>>>);

impl Channels {
    async fn channel(&self, url: &Url) -> Result<Channel> {
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
        let channel = BoxCloneSyncChannel::new(self.channel(url).await?);
        Ok(create_worker_client(channel))
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
        let mut client = create_worker_client(BoxCloneSyncChannel::new(channel));
        let info = tokio::time::timeout(
            CONNECT_TIMEOUT,
            client.get_worker_info(GetWorkerInfoRequest {}),
        )
        .await
        .map_err(|_| {
            exec_datafusion_err!("survql worker {url} did not answer within {CONNECT_TIMEOUT:?}")
        })?
        .map_err(|e| exec_datafusion_err!("survql worker {url} did not answer: {e}"))?;
        if info.version != expected {
            return exec_err!(
                "survql worker {url} runs a different build ({}) from this process ({expected}); \
                 every process of a cluster must run the same survql build, because the \
                 aggregate states they exchange must have the same layout",
                if info.version.is_empty() {
                    "no version reported"
                } else {
                    info.version.as_str()
                }
            );
        }
    }
    Ok(())
}

/// A session connected to workers: its queries are planned across them.
pub struct Cluster {
    /// A session like the local one (same tables, functions, settings and memory pool) whose
    /// queries are planned across `urls`.
    pub ctx: SessionContext,
    pub urls: Vec<Url>,
    channels: Channels,
    /// Sent with every task, so workers can hand back the warnings of this session's tasks.
    session_id: String,
}

impl Cluster {
    /// Checks each worker answers with this build, then plans `local`'s queries across them.
    pub async fn connect(local: &SessionContext, urls: Vec<Url>) -> Result<Cluster> {
        let channels = Channels::default();
        check_workers(&channels, &urls).await?;
        let session_id = worker_warnings::new_session_id();
        let mut headers = HeaderMap::new();
        headers.insert(
            worker_warnings::SESSION_HEADER,
            HeaderValue::from_str(&session_id)
                .map_err(|e| exec_datafusion_err!("session id {session_id}: {e}"))?,
        );
        let mut builder = SessionStateBuilder::new_from_existing(local.state())
            .with_distributed_worker_resolver(Workers(urls.clone()))
            .with_distributed_channel_resolver(channels.clone())
            .with_distributed_planner()
            .with_distributed_scale_up_leaf_node_handler(even_file_scan_tasks)
            .with_distributed_passthrough_headers(headers)?
            // survql's settings travel with each task (the caps; the convention is in the plan).
            .with_distributed_option_extension(
                local
                    .state()
                    .config()
                    .options()
                    .extensions
                    .get::<datafusion_survival::SurvqlOptions>()
                    .cloned()
                    .unwrap_or_default(),
            );
        if let Some(config) = builder.config() {
            // Final aggregation in the coordinator where the plan allows it: results are
            // evaluated where the user is; the partial states are per-time counts.
            config.options_mut().optimizer.repartition_aggregations = false;
        }
        let ctx = SessionContext::new_with_state(builder.build());
        ctx.remove_optimizer_rule(datafusion_survival::km_shared::RULE_NAME);
        Ok(Cluster {
            ctx,
            urls,
            channels,
            session_id,
        })
    }

    /// Moves the warnings of aggregates the workers evaluated for this session into `sink`
    /// (call after each query; a worker that does not answer is skipped).
    pub async fn take_worker_warnings(&self, sink: &WarningSink) {
        for url in &self.urls {
            let Ok(channel) = self.channels.channel(url).await else {
                continue;
            };
            let take = worker_warnings::take_from(channel, &self.session_id);
            if let Ok(Ok(parts)) = tokio::time::timeout(PROBE_TIMEOUT, take).await {
                sink.absorb(parts);
            }
        }
    }
}

/// Whether a physical plan runs (in part) on workers.
pub fn is_distributed(plan: &Arc<dyn ExecutionPlan>) -> bool {
    if plan.is::<DistributedExec>() {
        return true;
    }
    plan.children().iter().any(|c| is_distributed(c))
}

/// Whether a plan reads an in-memory table (one workers cannot read).
pub fn reads_memory_table(plan: &Arc<dyn ExecutionPlan>) -> bool {
    if let Some(source) = plan.downcast_ref::<DataSourceExec>() {
        if source
            .data_source()
            .downcast_ref::<MemorySourceConfig>()
            .is_some()
        {
            return true;
        }
    }
    plan.children().iter().any(|c| reads_memory_table(c))
}

/// `EXPLAIN query` in cluster mode. DataFusion's EXPLAIN shows the single-process physical
/// plan (the distributed planner runs after it); this shows the optimized logical plan and the
/// distributed plan (stages, tasks, network boundaries) the query would run with. `None` for
/// any other statement (and for EXPLAIN VERBOSE / ANALYZE, which DataFusion handles).
pub async fn explain_distributed(
    ctx: &SessionContext,
    df: &DataFrame,
) -> Result<Option<RecordBatch>> {
    let LogicalPlan::Explain(explain) = df.logical_plan() else {
        return Ok(None);
    };
    if explain.verbose {
        return Ok(None);
    }
    let inner = DataFrame::new(ctx.state(), explain.plan.as_ref().clone());
    let logical = inner
        .clone()
        .into_optimized_plan()?
        .display_indent()
        .to_string();
    let physical = inner.create_physical_plan().await?;
    let label = if is_distributed(&physical) {
        "distributed_plan"
    } else {
        "physical_plan"
    };
    let shown = datafusion_distributed::display_plan_ascii(physical.as_ref(), false);
    let schema = Arc::new(Schema::new(vec![
        Field::new("plan_type", DataType::Utf8, false),
        Field::new("plan", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["logical_plan", label])),
            Arc::new(StringArray::from(vec![logical, shown])),
        ],
    )?;
    Ok(Some(batch))
}

/// How long a worker may take to answer the health check after a failed query.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// A query that failed in cluster mode: if some workers no longer answer (killed, machine
/// down, network cut), says which, since the transport error itself names none.
pub async fn explain_failure(urls: &[Url], error: DataFusionError) -> DataFusionError {
    let mut gone = vec![];
    for url in urls {
        let probe = async {
            let endpoint = Endpoint::from_shared(url.to_string()).ok()?;
            let channel = endpoint
                .connect_timeout(PROBE_TIMEOUT)
                .connect()
                .await
                .ok()?;
            let mut client = create_worker_client(BoxCloneSyncChannel::new(channel));
            client.get_worker_info(GetWorkerInfoRequest {}).await.ok()
        };
        let answered = tokio::time::timeout(PROBE_TIMEOUT, probe)
            .await
            .ok()
            .flatten();
        if answered.is_none() {
            gone.push(url.to_string());
        }
    }
    if gone.is_empty() {
        return error;
    }
    exec_datafusion_err!(
        "the query failed because survql worker(s) {} stopped answering; restart them, or \
         continue without them (\\workers URL,... with the others, \\workers off for this \
         process). Cause: {error}",
        gone.join(", ")
    )
}

/// Splits a Parquet/CSV scan into per-task variants. datafusion-distributed 4.0.0's own
/// handler can give tasks different numbers of file groups (5 small files over 3 tasks of 2
/// partitions: groups 2, 2, 1), which its planner then rejects with "Different partition count
/// where provided in two different variants of DistributedLeafExec". Same split, with every
/// task padded to the same number of file groups (an empty group reads nothing).
fn even_file_scan_tasks(ev: ScaleUpLeafNodeEvent) -> Option<Result<ScaleUpLeafNodeEventResponse>> {
    let source = ev.plan.downcast_ref::<DataSourceExec>()?;
    let file_scan = source.data_source().downcast_ref::<FileScanConfig>()?;
    let tasks = ev.task_count.max(1);
    let slots = ev.plan.output_partitioning().partition_count() * tasks;
    let groups: Vec<FileGroup> = if file_scan.output_partitioning.is_some() {
        // Partitioned files keep their grouping: deal the files round robin.
        let mut groups = vec![vec![]; slots];
        let files = file_scan.file_groups.iter().flat_map(|g| g.iter().cloned());
        for (i, file) in files.enumerate() {
            groups[i % slots].push(file);
        }
        groups.into_iter().map(FileGroup::new).collect()
    } else {
        FileGroupPartitioner::new()
            .with_target_partitions(slots)
            .with_repartition_file_min_size(0)
            .with_preserve_order_within_groups(!file_scan.output_ordering.is_empty())
            .repartition_file_groups(&file_scan.file_groups)
            .unwrap_or_else(|| file_scan.file_groups.clone())
    };
    let mut template = file_scan.clone();
    template.file_groups.clear();
    let mut scans = vec![template; tasks];
    for (i, group) in groups.into_iter().enumerate() {
        scans[i % tasks].file_groups.push(group);
    }
    let width = scans
        .iter()
        .map(|s| s.file_groups.len())
        .max()
        .unwrap_or(0)
        .max(1);
    for scan in &mut scans {
        scan.file_groups
            .resize_with(width, || FileGroup::new(vec![]));
    }
    let variants = scans
        .into_iter()
        .map(|scan| DataSourceExec::from_data_source(scan) as Arc<dyn ExecutionPlan>);
    Some(
        DistributedLeafExec::try_new(Arc::clone(ev.plan), variants)
            .map(|leaf| ScaleUpLeafNodeEventResponse::new(Arc::new(leaf))),
    )
}
