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
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
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
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            ),
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

    /// Events queued and not yet fetched by the function (`/invocation/next`).
    pub fn pending(&self) -> usize {
        lock(&self.shared.pending).len()
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

async fn respond(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    record(&shared, id, true, &body);
    StatusCode::ACCEPTED
}

async fn fail(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    record(&shared, id, false, &body);
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Arc<Shared>>, body: String) -> StatusCode {
    *lock(&shared.init_error) = Some(body);
    shared.new_result.notify_waiters();
    StatusCode::ACCEPTED
}

/// A Lambda binary running as a child process with exactly the environment it is given (nothing
/// inherited), its stdout (the JSON log) in a temporary file and stderr kept for diagnostics.
/// Killed by PID and reaped on [`LambdaProcess::kill`] or drop, so a failing test leaks no
/// process; the log file goes on drop.
pub struct LambdaProcess {
    child: std::process::Child,
    started_at: Instant,
    stdout_path: std::path::PathBuf,
}

impl LambdaProcess {
    /// Spawns `binary`; `started_at` is taken just before the spawn (the cold-start origin).
    pub fn spawn(binary: &std::path::Path, env: &[(String, String)]) -> std::io::Result<Self> {
        let mut command = std::process::Command::new(binary);
        command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        // A file, not a pipe: nobody reads stdout while the function runs, and a full pipe
        // would block it.
        let stdout_path =
            std::env::temp_dir().join(format!("lambda-stdout-{}.log", uuid::Uuid::new_v4()));
        let stdout = std::fs::File::create(&stdout_path)?;
        command
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .stderr(std::process::Stdio::piped());
        let started_at = Instant::now();
        let child = command.spawn()?;
        Ok(LambdaProcess {
            child,
            started_at,
            stdout_path,
        })
    }

    /// What the process has written to stdout so far (its JSON log lines).
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn started_at(&self) -> Instant {
        self.started_at
    }

    /// Peak resident set size so far (`VmHWM`), in KiB; `None` once the process is gone.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.pid())
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// What the process wrote to stderr. Reads to end of file: call it once the process exited.
    pub fn stderr(&mut self) -> String {
        use std::io::Read;
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    }

    /// SIGKILL by PID (if still running) and reap.
    pub fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.stdout_path);
    }
}

/// Peak resident set size (`VmHWM` in `/proc/<pid>/status`) in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The standard AWS variables of this process (endpoint, region, credentials), to pass to a
/// Lambda child that otherwise gets a clean environment.
pub fn aws_env_from_current() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_") && !k.starts_with("AWS_LAMBDA_"))
        .collect()
}

/// A GitHub delivery in an API Gateway HTTP API (v2) event built from `template` (a v2 event with
/// an empty body): the GitHub headers set (lower-case, as API Gateway v2 delivers them) and
/// `body` as the text body.
pub fn github_http_v2_event(
    template: &serde_json::Value,
    event: &str,
    delivery: &str,
    signature: Option<&str>,
    body: &str,
) -> serde_json::Value {
    let mut v = template.clone();
    v["headers"]["x-github-event"] = serde_json::Value::from(event);
    v["headers"]["x-github-delivery"] = serde_json::Value::from(delivery);
    v["headers"]["content-length"] = serde_json::Value::from(body.len().to_string());
    match signature {
        Some(sig) => v["headers"]["x-hub-signature-256"] = serde_json::Value::from(sig),
        None => {
            if let Some(headers) = v["headers"].as_object_mut() {
                headers.remove("x-hub-signature-256");
            }
        }
    }
    v["body"] = serde_json::Value::from(body);
    v["isBase64Encoded"] = serde_json::Value::from(false);
    v
}
