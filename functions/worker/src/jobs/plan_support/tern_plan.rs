//! Tern's Plan request for a schema directory, and its response as rendered tables and lint.

use super::discovery::SchemaDir;
use schemabot_domain::lock::PlannedChange;
use schemabot_domain::{Environment, PrNumber, Repository};
use schemabot_render::{PlanLint, PlanTable};
use schemabot_tern::proto;
use std::collections::HashMap;

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

/// Tern's Plan request for one schema directory.
pub(crate) fn plan_request(
    dir: &SchemaDir,
    repository: &Repository,
    pr: PrNumber,
    environment: &Environment,
) -> proto::PlanRequest {
    let database = &dir.config.database;
    proto::PlanRequest {
        database: database.clone(),
        r#type: dir.config.database_type.clone(),
        schema_files: HashMap::from([(
            database.clone(),
            proto::SchemaFiles {
                files: dir.files.clone(),
            },
        )]),
        repository: repository.to_string(),
        pull_request: i32::try_from(pr.0).unwrap_or(i32::MAX),
        environment: environment.to_string(),
        ..Default::default()
    }
}
