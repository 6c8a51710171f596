//! Classifying adapter errors into retryable and permanent job errors.

use crate::outcome::JobError;

/// `message` as a job error: retried when `transient`, permanent otherwise.
pub(crate) fn classify(transient: bool, message: String) -> JobError {
    if transient {
        JobError::Transient(message)
    } else {
        JobError::Permanent(message)
    }
}

pub fn store(error: schemabot_aws::StoreError) -> JobError {
    classify(error.is_retryable(), format!("DynamoDB: {error}"))
}

pub fn github(error: schemabot_github::GithubError) -> JobError {
    schemabot_aws::emf::count("DependencyErrors", &[("Dependency", "GitHub")]);
    if let Some(wait) = error.retry_after() {
        // Longer than the client may sleep inside one invocation: SQS holds the job instead.
        return JobError::RetryAfter {
            wait,
            reason: format!("GitHub: {error}"),
        };
    }
    classify(error.is_transient(), format!("GitHub: {error}"))
}

pub fn render(error: schemabot_render::RenderError) -> JobError {
    JobError::permanent(format!("rendering a comment failed: {error}"))
}

pub fn queue(error: schemabot_aws::queue::QueueError) -> JobError {
    classify(error.is_retryable(), format!("SQS: {error}"))
}

/// Counts a failed Tern call (the caller decides retry or reply).
pub fn tern_failed() {
    schemabot_aws::emf::count("DependencyErrors", &[("Dependency", "Tern")]);
}

/// A failed Tern `call`, counted: retried through SQS (`Err`) while it is transient and `retry`
/// allows; otherwise handed back (`Ok`) for the job to answer.
pub fn tern(
    error: schemabot_tern::TernError,
    call: &str,
    retry: bool,
) -> Result<schemabot_tern::TernError, JobError> {
    tern_failed();
    if error.is_transient() && retry {
        Err(JobError::transient(format!("{call}: {error}")))
    } else {
        Ok(error)
    }
}
