//! A login's repository permission, checked against a required minimum. Fails closed: when
//! GitHub cannot answer, the job is retried, and the command refused on the final attempt.
//! Commands reach it through their shared command context's `authorize`.

use crate::errors;
use crate::outcome::{Attempt, JobError};
use crate::Worker;
use schemabot_domain::{InstallationId, Login, Repository};
use schemabot_github::Permission;
use schemabot_render::Denial;

/// The outcome of a permission check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PermissionCheck {
    Granted,
    /// `actual` is `None` when GitHub did not answer (fail closed).
    Denied(Denial),
}

/// Checks that `login` has at least `required` on `repository` (fail closed, as above).
pub(crate) async fn check(
    worker: &Worker,
    installation: InstallationId,
    repository: &Repository,
    login: &Login,
    required: Permission,
    attempt: Attempt,
) -> Result<PermissionCheck, JobError> {
    let github = worker.github.installation(installation);
    let actual = match github.collaborator_permission(repository, login).await {
        Ok(actual) if actual.at_least(required) => return Ok(PermissionCheck::Granted),
        Ok(actual) => Some(actual.as_str()),
        Err(error) if error.is_transient() && !attempt.is_final() => {
            return Err(errors::github(error))
        }
        Err(error) => {
            tracing::warn!(%error, "permission could not be verified; refusing (fail closed)");
            None
        }
    };
    Ok(PermissionCheck::Denied(Denial {
        login: login.clone(),
        required: required.as_str(),
        actual,
    }))
}
