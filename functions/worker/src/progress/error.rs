//! Why reconciling an apply (or keeping its comments) failed, and whether trying again later
//! can help.

use crate::outcome::JobError;
use schemabot_domain::ApplyId;

#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error("apply {0} is not stored")]
    ApplyNotFound(ApplyId),
    #[error(transparent)]
    Store(#[from] schemabot_aws::StoreError),
    #[error("Tern: {0}")]
    Tern(#[from] schemabot_tern::TernError),
    #[error("GitHub: {0}")]
    Github(#[from] schemabot_github::GithubError),
    #[error("rendering a comment failed: {0}")]
    Render(#[from] schemabot_render::RenderError),
    #[error(transparent)]
    Queue(#[from] schemabot_aws::queue::QueueError),
    #[error("reading the poll chain of {apply_id} failed: {reason}")]
    PollChain { apply_id: ApplyId, reason: String },
    /// Another run holds this comment's write (its lease has not expired): try again later.
    #[error("another run is writing the {kind} comment of {apply_id}")]
    CommentBusy {
        apply_id: ApplyId,
        kind: &'static str,
    },
}

impl ProgressError {
    /// Whether the same work may succeed later.
    pub fn is_transient(&self) -> bool {
        match self {
            ProgressError::ApplyNotFound(_) | ProgressError::Render(_) => false,
            ProgressError::Store(e) => e.is_retryable(),
            ProgressError::Tern(e) => e.is_transient(),
            ProgressError::Github(e) => e.is_transient(),
            ProgressError::Queue(e) => e.is_retryable(),
            ProgressError::PollChain { .. } | ProgressError::CommentBusy { .. } => true,
        }
    }
}

impl From<ProgressError> for JobError {
    fn from(error: ProgressError) -> Self {
        if error.is_transient() {
            JobError::transient(error)
        } else {
            JobError::permanent(error)
        }
    }
}
