//! The checks every command on one apply runs before its own decision, in one order: the apply
//! belongs to the commenting PR, the environment matches, the repository owns the database, the
//! commenter has the environment's permission. Each command maps an [`ApplyRefusal`] to its own
//! reply; the ownership refusal has one reply for all of them.

use super::Command;
use crate::errors;
use crate::jobs::permission::PermissionCheck;
use crate::outcome::JobError;
use crate::post::ReplyTo;
use schemabot_domain::apply::Apply;
use schemabot_domain::audit::EventKind;
use schemabot_domain::ownership::OwnershipRefusal;
use schemabot_domain::Environment;
use schemabot_render::{render_not_owned, Denial};

/// Why a command on an apply stops before its own decision.
#[derive(Debug)]
pub(crate) enum ApplyRefusal {
    /// Another repository's or pull request's apply: answered as not found, never revealed.
    OtherPullRequest,
    /// The command named another environment than the apply's.
    EnvironmentMismatch,
    /// The apply's repository may not change its database (the configuration changed).
    NotOwned(OwnershipRefusal),
    /// The commenter lacks the environment's minimum.
    PermissionDenied(Denial),
}

impl Command<'_> {
    /// Runs the checks on `apply` for a command naming `environment`; `None` lets it proceed.
    /// Fails only when the permission check is to be retried.
    pub async fn check_apply(
        &self,
        apply: &Apply,
        environment: &Environment,
    ) -> Result<Option<ApplyRefusal>, JobError> {
        if let Some(origin) = self.origin() {
            if apply.repository != origin.repository || apply.pr != origin.pr {
                return Ok(Some(ApplyRefusal::OtherPullRequest));
            }
        }
        if &apply.environment != environment {
            return Ok(Some(ApplyRefusal::EnvironmentMismatch));
        }
        if let Err(refusal) = crate::ownership::check(
            self.worker,
            &apply.deployment,
            &apply.database,
            &apply.environment,
            &apply.repository,
            None,
        ) {
            return Ok(Some(ApplyRefusal::NotOwned(refusal)));
        }
        Ok(match self.authorize(&apply.environment).await? {
            PermissionCheck::Denied(denied) => Some(ApplyRefusal::PermissionDenied(denied)),
            PermissionCheck::Granted => None,
        })
    }

    /// Answers an ownership refusal: audited as `event` on the apply, counted, and the Not
    /// Configured reply posted once.
    pub async fn refuse_not_owned(
        &self,
        reply_to: &ReplyTo,
        apply: &Apply,
        event: EventKind,
        refusal: &OwnershipRefusal,
    ) -> Result<(), JobError> {
        self.count(&refusal.code());
        self.audit(apply, event, refusal.code(), Some(refusal.message()))
            .await;
        let body = render_not_owned(self.name, refusal, self.job_id).map_err(errors::render)?;
        self.post_once(reply_to, self.job_id, &body).await
    }
}
