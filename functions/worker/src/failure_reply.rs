//! The one answer to a job that failed for good: posted on the PR the command came from, audited
//! in the log and counted, then the message is removed (retrying cannot help, and a FIFO group
//! must not wait behind it). Jobs without a PR comment (polls, automatic plans) are only logged.

use crate::outcome::{Attempt, JobError};
use crate::post::{hidden_marker, post_once};
use crate::{errors, Worker};
use schemabot_domain::job::{CommentOrigin, Job, PlanTrigger, UnlockTrigger};
use schemabot_render::{render_command_failed, FailureCause};

/// Answers a permanently failed `job`. A failure to post is returned (the job is retried, and
/// the answer is still posted once).
pub(crate) async fn answer(
    worker: &Worker,
    job: &Job,
    attempt: Attempt,
    reason: &str,
) -> Result<(), JobError> {
    tracing::error!(
        target: "audit",
        job = %job.id(),
        kind = job.kind(),
        receive_count = attempt.receive_count,
        "job failed permanently; answered and removed"
    );
    schemabot_aws::emf::count("PermanentFailures", &[("Job", job.kind())]);
    let Some(target) = reply_target(job) else {
        return Ok(());
    };
    let marker_id = format!("{}:failed", job.id());
    let body = render_command_failed(cause_of(reason), Some(target.delivery.as_str()), &marker_id)
        .map_err(errors::render)?;
    let github = worker.github.installation(target.origin_installation);
    post_once(
        &github,
        &target.repository,
        target.pr,
        &hidden_marker(&marker_id),
        &body,
        &worker.store,
    )
    .await
    .map(drop)
}

/// What the PR may be told about a permanent failure: which kind, never the error itself.
fn cause_of(reason: &str) -> FailureCause {
    let dependency = ["GitHub:", "DynamoDB:", "SQS:", "Tern"]
        .iter()
        .any(|prefix| reason.starts_with(prefix));
    if dependency {
        FailureCause::DependencyRefused
    } else {
        FailureCause::Internal
    }
}

struct ReplyTarget {
    origin_installation: schemabot_domain::InstallationId,
    repository: schemabot_domain::Repository,
    pr: schemabot_domain::PrNumber,
    delivery: String,
}

impl From<&CommentOrigin> for ReplyTarget {
    fn from(origin: &CommentOrigin) -> Self {
        ReplyTarget {
            origin_installation: origin.installation_id,
            repository: origin.repository.clone(),
            pr: origin.pr,
            delivery: origin.delivery_id.to_string(),
        }
    }
}

/// Where a job's answer goes: the PR of the comment that asked. Automatic work (polls, plans on
/// push, a closed PR) was not asked for by anyone.
fn reply_target(job: &Job) -> Option<ReplyTarget> {
    let origin = match job {
        Job::Cutover(j) => j.source.origin(),
        Job::Control(j) => j.source.origin(),
        Job::Rollback(j) => j.source.origin(),
        Job::ForceUnlock(j) => j.source.origin(),
        Job::RollbackConfirm(j) => Some(&j.origin),
        Job::Reply(j) => Some(&j.origin),
        Job::Apply(j) => Some(&j.origin),
        Job::ApplyConfirm(j) => Some(&j.origin),
        Job::Unlock(j) => match &j.trigger {
            UnlockTrigger::Command { origin, .. } => Some(origin),
            UnlockTrigger::PullRequestClosed { .. } => None,
        },
        Job::Plan(j) => {
            return matches!(j.trigger, PlanTrigger::Comment { .. }).then(|| ReplyTarget {
                origin_installation: j.installation_id,
                repository: j.repository.clone(),
                pr: j.pr,
                delivery: j.delivery_id.to_string(),
            })
        }
        Job::Poll(_) | Job::RegisterApply(_) => None,
    };
    origin.map(ReplyTarget::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pr_learns_the_kind_of_failure_not_the_error() {
        assert_eq!(
            cause_of("GitHub: 403 Resource not accessible by integration"),
            FailureCause::DependencyRefused
        );
        assert_eq!(
            cause_of("DynamoDB: ValidationException"),
            FailureCause::DependencyRefused
        );
        assert_eq!(
            cause_of("rendering a comment failed: template"),
            FailureCause::Internal
        );
    }
}
