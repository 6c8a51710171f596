//! Plan and PlanDiff: each namespace's `CREATE TABLE` files diffed against the live schema.

use schemabot_tern::proto;
use tonic::Status;

use super::state::Shared;

impl Shared {
    /// The same diff as `Plan`, read-only: no plan id.
    pub(super) async fn plan_diff(
        &self,
        request: proto::PlanRequest,
    ) -> Result<proto::PlanDiffResponse, Status> {
        {
            let mut sim = self.sim();
            sim.counts.plan_diff += 1;
            if sim.fail_plan_diff > 0 {
                sim.fail_plan_diff -= 1;
                return Err(Status::unavailable(
                    "tern stand-in: cannot reach the database to diff (injected)",
                ));
            }
        }
        let (changes, errors) = self.diff(&request).await;
        Ok(proto::PlanDiffResponse {
            engine: proto::Engine::Spirit as i32,
            changes,
            errors,
            ..Default::default()
        })
    }

    /// Diffs each namespace's `CREATE TABLE` files against the live schema of the same name
    /// (see [`crate::schema_diff`]). Without schema files the plan is empty.
    pub(super) async fn plan(&self, request: proto::PlanRequest) -> proto::PlanResponse {
        self.sim().counts.plan += 1;
        let (changes, errors) = self.diff(&request).await;
        proto::PlanResponse {
            plan_id: format!("plan-{:016x}", uuid::Uuid::new_v4().as_u64_pair().0),
            engine: proto::Engine::Spirit as i32,
            changes,
            errors,
            ..Default::default()
        }
    }

    /// Per namespace: the changes that would make the live schema the desired one, and the
    /// namespaces that could not be diffed.
    async fn diff(&self, request: &proto::PlanRequest) -> (Vec<proto::SchemaChange>, Vec<String>) {
        let (mut changes, mut errors) = (Vec::new(), Vec::new());
        let mut namespaces: Vec<_> = request.schema_files.iter().collect();
        namespaces.sort_by(|a, b| a.0.cmp(b.0));
        for (namespace, files) in namespaces {
            match self.plan_namespace(namespace, &files.files).await {
                Ok(table_changes) if table_changes.is_empty() => {}
                // Like Tern, the live schema before the change is captured for a rollback.
                Ok(table_changes) => match self.live_files(namespace).await {
                    Ok(original_files) => changes.push(proto::SchemaChange {
                        namespace: namespace.clone(),
                        table_changes,
                        original_files,
                        original_files_captured: true,
                        ..Default::default()
                    }),
                    Err(error) => errors.push(format!("{namespace}: {error}")),
                },
                Err(error) => errors.push(format!("{namespace}: {error}")),
            }
        }
        (changes, errors)
    }
}
