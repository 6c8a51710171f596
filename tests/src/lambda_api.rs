//! A local AWS Lambda Runtime API: serves queued events to a real Lambda binary
//! (`/2018-06-01/runtime/invocation/next`) and collects its responses, so tests drive the built
//! `webhook`/`worker` binaries exactly as Lambda does, and benchmarks can time a cold start
//! (process spawn → first response) and read the process's peak RSS.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// What the function answered for one invocation.
#[derive(Debug, Clone)]
pub struct InvocationResult {
    pub request_id: String,
    pub ok: bool,
    pub body: serde_json::Value,
    pub answered_at: Instant,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<VecDeque<(String, serde_json::Value)>>,
    results: Mutex<HashMap<String, InvocationResult>>,
    init_error: Mutex<Option<String>>,
    new_event: Notify,
    new_result: Notify,
    next_id: Mutex<u64>,
}

/// A running Runtime API endpoint on 127.0.0.1.
pub struct RuntimeApi {
    shared: Arc<Shared>,
    address: std::net::SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_event))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RuntimeApi {
            shared,
            address,
            server,
        })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Environment a Lambda process expects besides its own configuration.
    pub fn lambda_env(&self, function_name: &str) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_string()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_string()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function_name}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Queues an event; returns its request id.
    pub fn invoke(&self, event: serde_json::Value) -> String {
        let id = {
            let mut next = lock(&self.shared.next_id);
            *next += 1;
            format!("req-{:08}", *next)
        };
        lock(&self.shared.pending).push_back((id.clone(), event));
        self.shared.new_event.notify_waiters();
        self.shared.new_event.notify_one();
        id
    }

    /// Waits for the answer to `request_id`.
    pub async fn result(&self, request_id: &str, timeout: Duration) -> Option<InvocationResult> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.new_result.notified();
            if let Some(result) = lock(&self.shared.results).get(request_id).cloned() {
                return Some(result);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// An initialisation error the function reported (e.g. a missing secret: fail closed).
    pub fn init_error(&self) -> Option<String> {
        lock(&self.shared.init_error).clone()
    }

    pub fn shutdown(self) {
        self.server.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn next_event(State(shared): State<Arc<Shared>>) -> Response {
    loop {
        let notified = shared.new_event.notified();
        if let Some((id, event)) = lock(&shared.pending).pop_front() {
            let mut headers = HeaderMap::new();
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 60_000)
                .unwrap_or_default();
            let pairs = [
                ("lambda-runtime-aws-request-id", id.clone()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:local".to_string(),
                ),
                ("lambda-runtime-trace-id", format!("Root=1-00000000-{id}")),
            ];
            for (k, v) in pairs {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    headers.insert(k, v);
                }
            }
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            return (StatusCode::OK, headers, event.to_string()).into_response();
        }
        notified.await;
    }
}

fn record(shared: &Shared, id: String, ok: bool, body: &str) {
    let body = serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.to_string()));
    lock(&shared.results).insert(
        id.clone(),
        InvocationResult {
            request_id: id,
            ok,
            body,
            answered_at: Instant::now(),
        },
    );
    shared.new_result.notify_waiters();
}

async fn respond(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: String) -> StatusCode {
    record(&shared, id, true, &body);
    StatusCode::ACCEPTED
}

async fn fail(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: String) -> StatusCode {
    record(&shared, id, false, &body);
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Arc<Shared>>, body: String) -> StatusCode {
    *lock(&shared.init_error) = Some(body);
    shared.new_result.notify_waiters();
    StatusCode::ACCEPTED
}
