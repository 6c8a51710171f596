//! Tern's Plan request for a schema directory, and its response as rendered tables and lint.

use super::discovery::SchemaDir;
use crate::Worker;
use schemabot_domain::lock::PlannedChange;
use schemabot_domain::{Environment, PrNumber, Repository};
use schemabot_render::{PlanLint, PlanTable};
use schemabot_tern::proto;
use std::collections::{BTreeMap, HashMap};

fn change_name(change_type: i32) -> &'static str {
    match proto::ChangeType::try_from(change_type) {
        Ok(proto::ChangeType::Create) => "create",
        Ok(proto::ChangeType::Alter) => "alter",
        Ok(proto::ChangeType::Drop) => "drop",
        Ok(proto::ChangeType::Vschema) => "vschema",
        _ => "other",
    }
}

/// The table changes of a Tern plan, flattened across namespaces, as the plan comment shows them.
pub(crate) fn plan_tables(response: &proto::PlanResponse) -> Vec<PlanTable> {
    planned_changes(response)
        .into_iter()
        .map(PlanTable::from)
        .collect()
}

/// The table changes of a Tern plan, flattened across namespaces (a table's own namespace, or its
/// schema change's).
pub(crate) fn planned_changes(response: &proto::PlanResponse) -> Vec<PlannedChange> {
    response
        .changes
        .iter()
        .flat_map(|change| {
            change.table_changes.iter().map(move |t| PlannedChange {
                namespace: if t.namespace.is_empty() {
                    change.namespace.clone()
                } else {
                    t.namespace.clone()
                },
                table: t.table_name.clone(),
                change: change_name(t.change_type).to_string(),
                ddl: t.ddl.clone(),
                unsafe_reason: t.is_unsafe.then(|| t.unsafe_reason.clone()),
            })
        })
        .collect()
}

/// At most this much captured schema (file names and contents) is kept with a locked plan: the
/// lock is one DynamoDB item (400 KB at most) that also holds the plan and the PR's files.
const MAX_ORIGINAL_BYTES: usize = 128 * 1024;

/// The live schema Tern captured with the plan (file name → content), when it captured it for
/// every namespace that changes and it fits beside the plan: what a rollback of the resulting
/// apply plans back to.
pub(crate) fn original_files(response: &proto::PlanResponse) -> Option<BTreeMap<String, String>> {
    if response.changes.is_empty() || !response.changes.iter().all(|c| c.original_files_captured) {
        return None;
    }
    let files: BTreeMap<String, String> = response
        .changes
        .iter()
        .flat_map(|c| c.original_files.iter())
        .map(|(name, content)| (name.clone(), content.clone()))
        .collect();
    let bytes: usize = files
        .iter()
        .map(|(name, content)| name.len() + content.len())
        .sum();
    if bytes > MAX_ORIGINAL_BYTES {
        tracing::warn!(
            bytes,
            "the captured schema is too large to keep: this apply cannot be rolled back"
        );
        return None;
    }
    Some(files)
}

/// The lint violations of a Tern plan.
pub(crate) fn plan_lint(response: &proto::PlanResponse) -> Vec<PlanLint> {
    response
        .lint_violations
        .iter()
        .map(|l| PlanLint {
            severity: if l.severity.is_empty() {
                "warning".to_string()
            } else {
                l.severity.clone()
            },
            table: l.table.clone(),
            message: l.message.clone(),
        })
        .collect()
}

/// Whether a Tern endpoint serves `deployment` in `environment`.
pub(crate) fn has_deployment(worker: &Worker, deployment: &str, environment: &Environment) -> bool {
    let endpoints = worker.config.deployments.tern_endpoints();
    endpoints.is_ok_and(|e| e.resolve(deployment, environment.as_str()).is_ok())
}

/// Tern's Plan request for one schema directory.
pub(crate) fn plan_request(
    dir: &SchemaDir,
    repository: &Repository,
    pr: PrNumber,
    environment: &Environment,
) -> proto::PlanRequest {
    files_plan_request(
        &dir.config.database,
        &dir.config.database_type,
        dir.files.clone(),
        repository,
        pr,
        environment,
    )
}

/// Tern's Plan request for the database's schema given as files (file name → content).
pub(crate) fn files_plan_request(
    database: &str,
    database_type: &str,
    files: HashMap<String, String>,
    repository: &Repository,
    pr: PrNumber,
    environment: &Environment,
) -> proto::PlanRequest {
    proto::PlanRequest {
        database: database.to_string(),
        r#type: database_type.to_string(),
        schema_files: HashMap::from([(database.to_string(), proto::SchemaFiles { files })]),
        repository: repository.to_string(),
        pull_request: i32::try_from(pr.0).unwrap_or(i32::MAX),
        environment: environment.to_string(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(files: &[(&str, String)], captured: bool) -> proto::PlanResponse {
        proto::PlanResponse {
            changes: vec![proto::SchemaChange {
                namespace: "payments".into(),
                original_files: files
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
                original_files_captured: captured,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_captured_schema_is_kept_only_when_whole_and_small_enough() {
        let small = [("orders.sql", "CREATE TABLE orders (id int)".to_string())];
        assert_eq!(
            original_files(&captured(&small, true)).map(|f| f.len()),
            Some(1)
        );
        assert_eq!(original_files(&captured(&small, false)), None);
        assert_eq!(original_files(&proto::PlanResponse::default()), None);
        let large = [("orders.sql", "x".repeat(MAX_ORIGINAL_BYTES + 1))];
        assert_eq!(original_files(&captured(&large, true)), None);
    }
}
