//! The gRPC surface: `impl Tern for StandinService`, each call between `enter` and `leave`.

use std::sync::Arc;

use schemabot_tern::proto;
use schemabot_tern::proto::tern_server::Tern;
use tonic::{Request, Response, Status};

use super::state::Shared;

/// The `tern.v1.Tern` service: fault injection around each call, then the simulation.
pub(super) struct StandinService(pub(super) Arc<Shared>);

#[tonic::async_trait]
impl Tern for StandinService {
    async fn plan(
        &self,
        request: Request<proto::PlanRequest>,
    ) -> Result<Response<proto::PlanResponse>, Status> {
        self.0.enter().await?;
        let result = Ok(self.0.plan(request.into_inner()).await);
        self.0.leave(result)
    }

    async fn plan_diff(
        &self,
        request: Request<proto::PlanRequest>,
    ) -> Result<Response<proto::PlanDiffResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.plan_diff(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn cancel(
        &self,
        request: Request<proto::CancelRequest>,
    ) -> Result<Response<proto::CancelResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.cancel(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn apply(
        &self,
        request: Request<proto::ApplyRequest>,
    ) -> Result<Response<proto::ApplyResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.apply(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn progress(
        &self,
        request: Request<proto::ProgressRequest>,
    ) -> Result<Response<proto::ProgressResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.progress(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn cutover(
        &self,
        request: Request<proto::CutoverRequest>,
    ) -> Result<Response<proto::CutoverResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.cutover(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn revert(
        &self,
        request: Request<proto::RevertRequest>,
    ) -> Result<Response<proto::RevertResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.revert(request.into_inner());
        self.0.leave(result)
    }

    async fn skip_revert(
        &self,
        request: Request<proto::SkipRevertRequest>,
    ) -> Result<Response<proto::SkipRevertResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.skip_revert(request.into_inner());
        self.0.leave(result)
    }

    async fn health(
        &self,
        _request: Request<proto::HealthRequest>,
    ) -> Result<Response<proto::HealthResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.health();
        self.0.leave(result)
    }

    async fn stop(
        &self,
        request: Request<proto::StopRequest>,
    ) -> Result<Response<proto::StopResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.stop(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn start(
        &self,
        request: Request<proto::StartRequest>,
    ) -> Result<Response<proto::StartResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.start(request.into_inner()).await;
        self.0.leave(result)
    }
}
