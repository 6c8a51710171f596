//! The ownership check every command passes before any lock, Tern call or comment with DDL:
//! the repository must be on the worker's allowlist and among the sources the deployments map
//! allows to change that database in that environment.

use crate::Worker;
use schemabot_domain::ownership::{check_source, OwnershipRefusal};
use schemabot_domain::{Database, Environment, Repository};

/// Checks that `repository` (from schema directory `directory`, when known) may change
/// `database` — served by `deployment` — in `environment`.
pub(crate) fn check(
    worker: &Worker,
    deployment: &str,
    database: &Database,
    environment: &Environment,
    repository: &Repository,
    directory: Option<&str>,
) -> Result<(), OwnershipRefusal> {
    let policy = worker
        .config
        .deployments
        .source_policy(deployment, environment.as_str());
    let verdict = check_source(
        policy.as_ref(),
        database,
        environment,
        repository,
        directory,
    );
    if let Err(refusal) = &verdict {
        tracing::warn!(
            target: "security",
            reason = %refusal.code(),
            %database,
            %environment,
            %repository,
            "ownership check refused the command"
        );
        schemabot_aws::emf::count("OwnershipRefusals", &[("Reason", refusal.code().as_str())]);
    }
    verdict
}
