//! Classifying adapter errors into retryable and permanent job errors.

use crate::outcome::JobError;

pub fn store(error: schemabot_aws::StoreError) -> JobError {
    if error.is_retryable() {
        JobError::transient(format!("DynamoDB: {error}"))
    } else {
        JobError::permanent(format!("DynamoDB: {error}"))
    }
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
    if error.is_transient() {
        JobError::transient(format!("GitHub: {error}"))
    } else {
        JobError::permanent(format!("GitHub: {error}"))
    }
}

pub fn render(error: schemabot_render::RenderError) -> JobError {
    JobError::permanent(format!("rendering a comment failed: {error}"))
}

pub fn queue(error: schemabot_aws::queue::QueueError) -> JobError {
    if error.is_retryable() {
        JobError::transient(format!("SQS: {error}"))
    } else {
        JobError::permanent(format!("SQS: {error}"))
    }
}

/// Counts a failed Tern call (the caller decides retry or reply).
pub fn tern_failed() {
    schemabot_aws::emf::count("DependencyErrors", &[("Dependency", "Tern")]);
}
