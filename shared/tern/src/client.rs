//! A typed Tern client: one lazily connected channel per endpoint, cached for the life of the
//! process (a warm Lambda reuses it), with connect and per-request timeouts.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use schemabot_domain::state::normalize::{normalize, proto_state, Normalized};
use schemabot_domain::State;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use crate::endpoints::TernEndpoints;
use crate::error::TernError;
use crate::proto;
use crate::proto::tern_client::TernClient as GrpcTernClient;

/// Timeouts for Tern calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TernClientConfig {
    /// Establishing the HTTP/2 connection.
    pub connect_timeout: Duration,
    /// One whole RPC, also sent to Tern as the gRPC deadline.
    pub request_timeout: Duration,
}

impl Default for TernClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// Which apply, on which Tern. `tern_apply_id` is Tern's id for the apply (may be empty to
/// mean "the active change of this database", as Tern allows).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TernTarget {
    pub deployment: String,
    pub environment: String,
    pub tern_apply_id: String,
    pub database: String,
    /// `mysql` or `vitess`.
    pub database_type: String,
}

pub type CutoverTarget = TernTarget;
pub type ProgressTarget = TernTarget;

/// What Tern said to a Cutover request that it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutoverOutcome {
    Accepted,
    /// A refusal that is not an error (for example, recovering after a restart).
    NotAccepted {
        message: String,
    },
}

/// What Tern said to an Apply request that it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    Accepted { apply_id: String },
    NotAccepted { message: String },
}

/// Spirit's summary when it has no in-memory migration (after a restart).
pub const ENGINE_IDLE_SUMMARY: &str = "No active schema change";

/// One Progress answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressReport {
    pub apply_id: String,
    /// The overall state; `NoActiveChange` when Tern knows nothing for the query, `Unknown` for
    /// a value newer than this `.proto` (log it).
    pub state: Normalized,
    /// The wire value behind `state`.
    pub raw_state: i32,
    pub summary: String,
    pub error_message: String,
    pub started_at: String,
    pub completed_at: String,
    pub tables: Vec<TableReport>,
}

impl ProgressReport {
    /// Spirit lost its in-memory migration (Tern restarted) and has not resumed it yet:
    /// PENDING overall with the "No active schema change" summary.
    pub fn engine_is_idle(&self) -> bool {
        self.state == Normalized::State(State::Pending)
            && self.summary.eq_ignore_ascii_case(ENGINE_IDLE_SUMMARY)
    }

    fn from_wire(response: proto::ProgressResponse) -> Self {
        ProgressReport {
            apply_id: response.apply_id,
            state: proto_state(response.state),
            raw_state: response.state,
            summary: response.summary,
            error_message: response.error_message,
            started_at: response.started_at,
            completed_at: response.completed_at,
            tables: response
                .tables
                .into_iter()
                .map(TableReport::from_wire)
                .collect(),
        }
    }
}

/// One table of a Progress answer. `status` is the raw engine string (Spirit camelCase such
/// as `waitingOnSentinelTable`, or a canonical state); the caller normalises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub task_id: String,
    pub namespace: String,
    pub table_name: String,
    pub ddl: String,
    pub status: String,
    pub rows_copied: i64,
    pub rows_total: i64,
    pub percent: i32,
    pub eta_seconds: i64,
    pub is_instant: bool,
    pub progress_detail: String,
    pub ready_to_complete: bool,
}

impl TableReport {
    /// `status` as a canonical state (Spirit's camelCase, Vitess and storage names).
    pub fn normalized_status(&self) -> Normalized {
        normalize(&self.status)
    }

    fn from_wire(table: proto::TableProgress) -> Self {
        TableReport {
            task_id: table.task_id,
            namespace: table.namespace,
            table_name: table.table_name,
            ddl: table.ddl,
            status: table.status,
            rows_copied: table.rows_copied,
            rows_total: table.rows_total,
            percent: table.percent_complete,
            eta_seconds: table.eta_seconds,
            is_instant: table.is_instant,
            progress_detail: table.progress_detail,
            ready_to_complete: table.ready_to_complete,
        }
    }
}

/// An Apply request: the planned changes for one database.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApplySpec {
    pub deployment: String,
    pub environment: String,
    pub database: String,
    pub database_type: String,
    pub plan_id: String,
    pub ddl_changes: Vec<proto::TableChange>,
    /// Spirit stops at the sentinel wait until a Cutover call.
    pub defer_cutover: bool,
    pub allow_unsafe: bool,
    pub skip_revert: bool,
    /// Namespace → (file name → content): the declarative schema the plan was made from.
    pub schema_files: BTreeMap<String, BTreeMap<String, String>>,
    /// Who asked (a GitHub login), for Tern's audit log.
    pub caller: String,
    /// Further Tern options, sent as given.
    pub extra_options: BTreeMap<String, String>,
}

impl ApplySpec {
    fn to_wire(&self) -> proto::ApplyRequest {
        let mut options: HashMap<String, String> = self
            .extra_options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Tern reads booleans as the string "true"; absence means false.
        if self.defer_cutover {
            options.insert("defer_cutover".into(), "true".into());
        }
        if self.allow_unsafe {
            options.insert("allow_unsafe".into(), "true".into());
        }
        if self.skip_revert {
            options.insert("skip_revert".into(), "true".into());
        }
        if !self.environment.is_empty() {
            options.insert("environment".into(), self.environment.clone());
        }
        if !self.caller.is_empty() {
            options.insert("caller".into(), self.caller.clone());
        }
        proto::ApplyRequest {
            plan_id: self.plan_id.clone(),
            options,
            database: self.database.clone(),
            r#type: self.database_type.clone(),
            ddl_changes: self.ddl_changes.clone(),
            environment: self.environment.clone(),
            caller: self.caller.clone(),
            schema_files: self
                .schema_files
                .iter()
                .map(|(namespace, files)| {
                    let files = files.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    (namespace.clone(), proto::SchemaFiles { files })
                })
                .collect(),
            ..Default::default()
        }
    }
}

/// The Tern client. Cheap to share behind an `Arc`; create it once per process.
#[derive(Debug)]
pub struct TernClient {
    endpoints: TernEndpoints,
    config: TernClientConfig,
    /// Keyed by endpoint URI, so a changed address gets a fresh channel.
    channels: Mutex<HashMap<String, Channel>>,
}

impl TernClient {
    pub fn new(endpoints: TernEndpoints, config: TernClientConfig) -> Self {
        Self {
            endpoints,
            config,
            channels: Mutex::new(HashMap::new()),
        }
    }

    /// Endpoints from `SCHEMABOT_TERN_ENDPOINTS`, default timeouts.
    pub fn from_env() -> Result<Self, TernError> {
        Ok(Self::new(
            TernEndpoints::from_env()?,
            TernClientConfig::default(),
        ))
    }

    pub fn endpoints(&self) -> &TernEndpoints {
        &self.endpoints
    }

    pub fn config(&self) -> TernClientConfig {
        self.config
    }

    /// The generated gRPC client for `(deployment, environment)`, on the cached channel, for
    /// the RPCs without a typed wrapper. Must be called within a tokio runtime (the channel's
    /// connection task is spawned on it).
    pub fn grpc(
        &self,
        deployment: &str,
        environment: &str,
    ) -> Result<GrpcTernClient<Channel>, TernError> {
        let uri = self.endpoints.resolve(deployment, environment)?;
        // A poisoned lock only means another thread panicked while inserting; the map is intact.
        let mut channels = self
            .channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let channel = match channels.get(uri) {
            Some(channel) => channel.clone(),
            None => {
                let endpoint = Endpoint::from_shared(uri.to_string())
                    .map_err(|_| {
                        TernError::Endpoint(crate::EndpointError::InvalidUri {
                            deployment: deployment.to_string(),
                            environment: environment.to_string(),
                        })
                    })?
                    .connect_timeout(self.config.connect_timeout)
                    .tcp_nodelay(true);
                // Lazy: nothing is dialled until the first call, and a dropped connection is
                // re-established by the channel itself on the next call.
                let channel = endpoint.connect_lazy();
                channels.insert(uri.to_string(), channel.clone());
                channel
            }
        };
        Ok(GrpcTernClient::new(channel))
    }

    /// Asks Tern to cut over (drop Spirit's sentinel). Tern only accepts while the apply waits
    /// for cutover; other answers come back as [`CutoverOutcome::NotAccepted`].
    pub async fn cutover(&self, target: &CutoverTarget) -> Result<CutoverOutcome, TernError> {
        let mut grpc = self.grpc(&target.deployment, &target.environment)?;
        let request = proto::CutoverRequest {
            database: target.database.clone(),
            r#type: target.database_type.clone(),
            environment: target.environment.clone(),
            apply_id: target.tern_apply_id.clone(),
        };
        let response = self.bounded(grpc.cutover(self.request(request))).await;
        let response = log_failure("cutover", target, response)?;
        tracing::info!(
            deployment = %target.deployment,
            environment = %target.environment,
            tern_apply_id = %target.tern_apply_id,
            accepted = response.accepted,
            "tern cutover answered"
        );
        Ok(if response.accepted {
            CutoverOutcome::Accepted
        } else {
            CutoverOutcome::NotAccepted {
                message: response.error_message,
            }
        })
    }

    /// Reads an apply's progress. Read-only on Tern's side.
    pub async fn progress(&self, target: &ProgressTarget) -> Result<ProgressReport, TernError> {
        let mut grpc = self.grpc(&target.deployment, &target.environment)?;
        let request = proto::ProgressRequest {
            database: target.database.clone(),
            r#type: target.database_type.clone(),
            environment: target.environment.clone(),
            apply_id: target.tern_apply_id.clone(),
        };
        let response = self.bounded(grpc.progress(self.request(request))).await;
        let response = log_failure("progress", target, response)?;
        Ok(ProgressReport::from_wire(response))
    }

    /// Starts an apply; Tern answers at once with its apply id and runs it asynchronously.
    pub async fn apply(&self, spec: &ApplySpec) -> Result<ApplyOutcome, TernError> {
        let mut grpc = self.grpc(&spec.deployment, &spec.environment)?;
        let response = self
            .bounded(grpc.apply(self.request(spec.to_wire())))
            .await?;
        if !response.accepted {
            return Ok(ApplyOutcome::NotAccepted {
                message: response.error_message,
            });
        }
        if response.apply_id.is_empty() {
            return Err(TernError::InvalidResponse(
                "apply accepted without an apply id".into(),
            ));
        }
        Ok(ApplyOutcome::Accepted {
            apply_id: response.apply_id,
        })
    }

    /// Plans declarative schema files against the live database.
    pub async fn plan(
        &self,
        deployment: &str,
        environment: &str,
        request: proto::PlanRequest,
    ) -> Result<proto::PlanResponse, TernError> {
        let mut grpc = self.grpc(deployment, environment)?;
        self.bounded(grpc.plan(self.request(request))).await
    }

    /// Tern's health status string.
    pub async fn health(&self, deployment: &str, environment: &str) -> Result<String, TernError> {
        let mut grpc = self.grpc(deployment, environment)?;
        let response = self
            .bounded(grpc.health(self.request(proto::HealthRequest {})))
            .await?;
        Ok(response.status)
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        // Tells Tern our deadline (grpc-timeout), so it can give up when we have.
        request.set_timeout(self.config.request_timeout);
        request
    }

    /// Runs a call under the request timeout, classifying its failure.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<Response<T>, Status>>,
    ) -> Result<T, TernError> {
        let timeout = self.config.request_timeout;
        match tokio::time::timeout(timeout, call).await {
            Err(_elapsed) => Err(TernError::Timeout(timeout)),
            Ok(Err(status)) => Err(match TernError::from_status(status) {
                TernError::Timeout(_) => TernError::Timeout(timeout),
                other => other,
            }),
            Ok(Ok(response)) => Ok(response.into_inner()),
        }
    }
}

fn log_failure<T>(
    rpc: &'static str,
    target: &TernTarget,
    result: Result<T, TernError>,
) -> Result<T, TernError> {
    if let Err(error) = &result {
        tracing::warn!(
            rpc,
            deployment = %target.deployment,
            environment = %target.environment,
            tern_apply_id = %target.tern_apply_id,
            transient = error.is_transient(),
            %error,
            "tern call failed"
        );
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_report_normalises_state_and_table_status() {
        let report = ProgressReport::from_wire(proto::ProgressResponse {
            apply_id: "apply-0123456789abcdef".into(),
            state: proto::State::WaitingForCutover as i32,
            tables: vec![proto::TableProgress {
                table_name: "users".into(),
                status: "waitingOnSentinelTable".into(),
                ready_to_complete: true,
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(report.state, Normalized::State(State::WaitingForCutover));
        assert_eq!(report.raw_state, 3);
        assert_eq!(
            report.tables[0].normalized_status(),
            Normalized::State(State::WaitingForCutover)
        );
        assert!(report.tables[0].ready_to_complete);

        let nothing = ProgressReport::from_wire(proto::ProgressResponse::default());
        assert_eq!(nothing.state, Normalized::NoActiveChange);
        let future = ProgressReport::from_wire(proto::ProgressResponse {
            state: 99,
            ..Default::default()
        });
        assert!(matches!(future.state, Normalized::Unknown(_)));
    }

    #[test]
    fn apply_spec_sends_booleans_as_true_strings() {
        let spec = ApplySpec {
            deployment: "testapp".into(),
            environment: "staging".into(),
            database: "testapp".into(),
            database_type: "mysql".into(),
            defer_cutover: true,
            caller: "octocat".into(),
            ..Default::default()
        };
        let wire = spec.to_wire();
        assert_eq!(
            wire.options.get("defer_cutover").map(String::as_str),
            Some("true")
        );
        assert!(!wire.options.contains_key("allow_unsafe"));
        assert_eq!(
            wire.options.get("caller").map(String::as_str),
            Some("octocat")
        );
        assert_eq!(wire.r#type, "mysql");
        assert_eq!(wire.environment, "staging");
    }

    #[test]
    fn engine_idle_is_pending_with_the_spirit_summary() {
        let report = ProgressReport::from_wire(proto::ProgressResponse {
            apply_id: "apply-0123456789abcdef".into(),
            state: proto::State::Pending as i32,
            summary: "No active schema change".into(),
            ..Default::default()
        });
        assert!(report.engine_is_idle());
        let report = ProgressReport::from_wire(proto::ProgressResponse {
            state: proto::State::Pending as i32,
            summary: "queued".into(),
            ..Default::default()
        });
        assert!(!report.engine_is_idle());
    }

    #[tokio::test]
    async fn unreachable_tern_is_a_transient_error() {
        // Port 9 (discard) on localhost is closed in any sane test environment.
        let endpoints = TernEndpoints::new()
            .with_endpoint("testapp", "staging", "http://127.0.0.1:9")
            .unwrap();
        let client = TernClient::new(
            endpoints,
            TernClientConfig {
                connect_timeout: Duration::from_millis(500),
                request_timeout: Duration::from_secs(2),
            },
        );
        let target = CutoverTarget {
            deployment: "testapp".into(),
            environment: "staging".into(),
            tern_apply_id: "apply-0123456789abcdef".into(),
            database: "testapp".into(),
            database_type: "mysql".into(),
        };
        let err = client.cutover(&target).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    }

    #[tokio::test]
    async fn unknown_deployment_is_permanent_and_never_dials() {
        let client = TernClient::new(TernEndpoints::new(), TernClientConfig::default());
        let err = client
            .progress(&ProgressTarget {
                deployment: "nope".into(),
                environment: "staging".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(!err.is_transient());
        assert_eq!(err.to_string(), "unknown deployment: nope");
    }
}
