//! Warnings of aggregates that a worker evaluated, handed back to the coordinator.
//!
//! Most survival aggregates are evaluated in the coordinator (their skipped-row counts travel
//! in the states). But the distributed planner may evaluate one on a worker, e.g. a CTE's
//! aggregate that becomes the broadcast side of a join, or anything below a shuffle; its
//! warnings would then be printed nowhere. So every coordinator session sends a session id
//! (the passthrough header [`SESSION_HEADER`]) with its tasks; a worker collects the warnings
//! of that session's tasks in one sink, and the coordinator takes them after each query over
//! a small gRPC service served next to the worker's own (`survql.Warnings/Take`).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use datafusion_survival::{WarningParts, WarningSink};
use tonic::codegen::{http, Body, BoxFuture, Context, Poll, Service, StdError};
use tonic::server::NamedService;

/// The passthrough header carrying a coordinator session's id to its workers.
pub const SESSION_HEADER: &str = "x-survql-session";

const SERVICE: &str = "survql.Warnings";
const TAKE_PATH: &str = "/survql.Warnings/Take";

/// Per coordinator session, the warnings of the tasks this worker ran for it.
static SINKS: LazyLock<Mutex<HashMap<String, WarningSink>>> = LazyLock::new(Default::default);

/// The sink the tasks of coordinator session `session` report to (on a worker).
pub fn sink_for(session: &str) -> WarningSink {
    let mut sinks = SINKS.lock().unwrap_or_else(|e| e.into_inner());
    sinks.entry(session.to_owned()).or_default().clone()
}

/// Takes (and forgets) what session `session`'s tasks recorded on this worker.
fn take(session: &str) -> WarningParts {
    let sink = SINKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(session);
    sink.map(|s| s.take_parts()).unwrap_or_default()
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TakeRequest {
    #[prost(string, tag = "1")]
    pub session: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SkippedRows {
    #[prost(string, tag = "1")]
    pub expression: String,
    #[prost(uint64, tag = "2")]
    pub rows: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TakeResponse {
    #[prost(message, repeated, tag = "1")]
    pub skipped: Vec<SkippedRows>,
    #[prost(string, repeated, tag = "2")]
    pub messages: Vec<String>,
    #[prost(uint64, tag = "3")]
    pub dropped: u64,
}

impl From<WarningParts> for TakeResponse {
    fn from(parts: WarningParts) -> Self {
        TakeResponse {
            skipped: parts
                .skipped
                .into_iter()
                .map(|(expression, rows)| SkippedRows { expression, rows })
                .collect(),
            messages: parts.messages,
            dropped: parts.dropped,
        }
    }
}

impl From<TakeResponse> for WarningParts {
    fn from(r: TakeResponse) -> Self {
        WarningParts {
            skipped: r
                .skipped
                .into_iter()
                .map(|s| (s.expression, s.rows))
                .collect(),
            messages: r.messages,
            dropped: r.dropped,
        }
    }
}

/// The `survql.Warnings` gRPC service of a worker (what `tonic-build` would generate for
/// `service Warnings { rpc Take(TakeRequest) returns (TakeResponse); }`).
#[derive(Clone, Default)]
pub struct WarningsServer;

impl NamedService for WarningsServer {
    const NAME: &'static str = SERVICE;
}

struct TakeMethod;

impl tonic::server::UnaryService<TakeRequest> for TakeMethod {
    type Response = TakeResponse;
    type Future = BoxFuture<tonic::Response<TakeResponse>, tonic::Status>;
    fn call(&mut self, request: tonic::Request<TakeRequest>) -> Self::Future {
        let parts = take(&request.get_ref().session);
        Box::pin(async move { Ok(tonic::Response::new(parts.into())) })
    }
}

impl<B> Service<http::Request<B>> for WarningsServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() == TAKE_PATH {
            return Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                Ok(grpc.unary(TakeMethod, req).await)
            });
        }
        Box::pin(async move {
            let mut response = http::Response::new(tonic::body::Body::default());
            let headers = response.headers_mut();
            headers.insert(
                tonic::Status::GRPC_STATUS,
                (tonic::Code::Unimplemented as i32).into(),
            );
            headers.insert(
                http::header::CONTENT_TYPE,
                tonic::metadata::GRPC_CONTENT_TYPE,
            );
            Ok(response)
        })
    }
}

/// Takes what coordinator session `session` left on the worker behind `channel`.
pub async fn take_from(
    channel: tonic::transport::Channel,
    session: &str,
) -> Result<WarningParts, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_static(TAKE_PATH);
    let request = tonic::Request::new(TakeRequest {
        session: session.to_owned(),
    });
    let response: tonic::Response<TakeResponse> = grpc
        .unary(request, path, tonic_prost::ProstCodec::default())
        .await?;
    Ok(response.into_inner().into())
}

/// A new session id: unique across the coordinators of a cluster.
pub fn new_session_id() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let host = hostname_hint();
    format!("{host}-{}-{nanos}-{n}", std::process::id())
}

fn hostname_hint() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty() && h.is_ascii())
        .unwrap_or_else(|| "host".to_owned())
}
