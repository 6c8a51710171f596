//! The one answer to a job that failed for good: posted on the PR the command came from, audited
//! in the log and counted, then the message is removed (retrying cannot help, and a FIFO group
//! must not wait behind it). Jobs without a PR comment (polls, automatic plans) are only logged.

use crate::outcome::{Attempt, JobError};
use crate::post::ReplyTo;
use crate::{errors, Worker};
use schemabot_domain::job::Job;
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
    // Automatic work (polls, plans on push, a closed PR) was not asked for by anyone.
    let Some(origin) = job.comment_origin() else {
        return Ok(());
    };
    let marker_id = format!("{}:failed", job.id());
    let delivery = origin.delivery_id.to_string();
    let body = render_command_failed(cause_of(reason), Some(&delivery), &marker_id)
        .map_err(errors::render)?;
    ReplyTo::comment(worker, &origin)
        .post_once(&worker.store, &marker_id, &body)
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
