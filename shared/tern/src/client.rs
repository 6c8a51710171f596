//! A typed Tern client: one lazily connected channel per endpoint, cached for the life of the
//! process (a warm Lambda reuses it), with connect and per-request timeouts.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};

use crate::endpoints::{EndpointError, TernEndpoints};
use crate::error::TernError;
use crate::proto;
use crate::proto::tern_client::TernClient as GrpcTernClient;
use crate::report::ProgressReport;
use crate::request::{
    ApplyOutcome, ApplySpec, Control, ControlOutcome, CutoverOutcome, SchemaDiff, TernTarget,
};

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

/// The Tern client. Cheap to share behind an `Arc`; create it once per process.
#[derive(Debug)]
pub struct TernClient {
    endpoints: TernEndpoints,
    config: TernClientConfig,
    /// Keyed by endpoint (URI and TLS material), so a changed address gets a fresh channel.
    channels: Mutex<HashMap<crate::TernEndpoint, Channel>>,
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

    /// The generated gRPC client for `(deployment, environment)`, on the cached channel, for
    /// the RPCs without a typed wrapper. Must be called within a tokio runtime (the channel's
    /// connection task is spawned on it).
    pub fn grpc(
        &self,
        deployment: &str,
        environment: &str,
    ) -> Result<GrpcTernClient<Channel>, TernError> {
        let target = self.endpoints.resolve_endpoint(deployment, environment)?;
        // A poisoned lock only means another thread panicked while inserting; the map is intact.
        let mut channels = self
            .channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(channel) = channels.get(target) {
            return Ok(GrpcTernClient::new(channel.clone()));
        }
        let mut endpoint = Endpoint::from_shared(target.uri().to_string())
            .map_err(|_| EndpointError::invalid_uri(deployment, environment))?
            .connect_timeout(self.config.connect_timeout)
            .tcp_nodelay(true);
        if let Some(tls) = target.tls() {
            // The handshake is bounded like the connect; a refused certificate fails the call at
            // once rather than waiting for the request timeout.
            endpoint = endpoint
                .tls_config(tls.client_config(self.config.connect_timeout))
                .map_err(|e| {
                    EndpointError::tls(deployment, environment, crate::tls::describe(&e))
                })?;
        }
        // Lazy: nothing is dialled until the first call, and a dropped connection is
        // re-established by the channel itself on the next call.
        let channel = endpoint.connect_lazy();
        channels.insert(target.clone(), channel.clone());
        Ok(GrpcTernClient::new(channel))
    }

    /// Asks Tern to cut over (drop Spirit's sentinel). Tern only accepts while the apply waits
    /// for cutover; other answers come back as [`CutoverOutcome::NotAccepted`].
    pub async fn cutover(&self, target: &TernTarget) -> Result<CutoverOutcome, TernError> {
        Ok(match self.control(Control::Cutover, target).await? {
            ControlOutcome::Accepted { .. } => CutoverOutcome::Accepted,
            ControlOutcome::NotAccepted { message } => CutoverOutcome::NotAccepted { message },
        })
    }

    /// Sends one lifecycle control for the apply `target` names.
    pub async fn control(
        &self,
        action: Control,
        target: &TernTarget,
    ) -> Result<ControlOutcome, TernError> {
        let mut grpc = self.grpc(&target.deployment, &target.environment)?;
        let (apply_id, environment) = (target.tern_apply_id.clone(), target.environment.clone());
        // Every control request carries the same two fields, and every answer says whether it
        // was accepted and, if not, why.
        macro_rules! control {
            ($rpc:ident, $request:ident) => {
                control!($rpc, $request, |r| ControlOutcome::of(
                    r.accepted,
                    r.error_message
                ))
            };
            ($rpc:ident, $request:ident, $answer:expr) => {
                self.bounded(grpc.$rpc(self.request(proto::$request {
                    apply_id,
                    environment,
                })))
                .await
                .map($answer)
            };
        }
        let answer = match action {
            Control::Cutover => control!(cutover, CutoverRequest),
            Control::Stop => control!(stop, StopRequest, |r| {
                match ControlOutcome::of(r.accepted, r.error_message) {
                    ControlOutcome::Accepted { .. } => ControlOutcome::Accepted {
                        resume_deadline: Some(r.resume_deadline)
                            .filter(|deadline| !deadline.is_empty()),
                    },
                    refused => refused,
                }
            }),
            Control::Start => control!(start, StartRequest),
            Control::Cancel => control!(cancel, CancelRequest),
            Control::Revert => control!(revert, RevertRequest),
            Control::SkipRevert => control!(skip_revert, SkipRevertRequest),
        };
        let outcome = log_failure(action.rpc_name(), target, answer)?;
        tracing::info!(
            rpc = action.rpc_name(),
            deployment = %target.deployment,
            environment = %target.environment,
            tern_apply_id = %target.tern_apply_id,
            accepted = matches!(outcome, ControlOutcome::Accepted { .. }),
            "tern control answered"
        );
        Ok(outcome)
    }

    /// Reads an apply's progress. Read-only on Tern's side. An apply Tern does not know
    /// (`NOT_FOUND`) is a report of no active change: evidence, not a failure to retry.
    pub async fn progress(&self, target: &TernTarget) -> Result<ProgressReport, TernError> {
        let mut grpc = self.grpc(&target.deployment, &target.environment)?;
        let request = proto::ProgressRequest {
            apply_id: target.tern_apply_id.clone(),
            environment: target.environment.clone(),
        };
        match self.bounded(grpc.progress(self.request(request))).await {
            Ok(response) => Ok(ProgressReport::from_wire(response)),
            Err(TernError::Rejected(status)) if status.code() == Code::NotFound => {
                tracing::info!(tern_apply_id = %target.tern_apply_id, "Tern has no such apply (NOT_FOUND)");
                Ok(ProgressReport::not_found(&target.tern_apply_id))
            }
            Err(error) => log_failure("progress", target, Err(error)),
        }
    }

    /// Starts an apply; Tern answers at once with its apply id and runs it asynchronously. With
    /// the same `idempotency_key`, Tern answers with the apply the first request started.
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

    /// What still separates the live database from the desired schema in `request`: Tern's
    /// read-only `PlanDiff`, or `Plan` on a server that does not implement it.
    pub async fn schema_diff(
        &self,
        deployment: &str,
        environment: &str,
        request: proto::PlanRequest,
    ) -> Result<SchemaDiff, TernError> {
        let mut grpc = self.grpc(deployment, environment)?;
        match self
            .bounded(grpc.plan_diff(self.request(request.clone())))
            .await
        {
            Ok(diff) => Ok(SchemaDiff::from_changes(diff.changes, diff.errors)),
            Err(TernError::Rejected(status)) if status.code() == Code::Unimplemented => {
                tracing::info!("Tern has no PlanDiff; asking Plan instead");
                let plan = self.bounded(grpc.plan(self.request(request))).await?;
                Ok(SchemaDiff::from_changes(plan.changes, plan.errors))
            }
            Err(error) => Err(error),
        }
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
        let target = TernTarget::new("testapp", "staging", "apply-0123456789abcdef");
        let err = client.cutover(&target).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        let err = client.progress(&target).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    }

    #[tokio::test]
    async fn unknown_deployment_is_permanent_and_never_dials() {
        let client = TernClient::new(TernEndpoints::new(), TernClientConfig::default());
        let err = client
            .progress(&TernTarget::new("nope", "staging", "apply-01"))
            .await
            .unwrap_err();
        assert!(!err.is_transient());
        assert_eq!(err.to_string(), "unknown deployment: nope");
    }
}
