//! The one error type of this crate. Messages carry the operation, the status and GitHub's own
//! short `message` text — never a token, a JWT, the private key or a raw response body.

use crate::stats::RequestKind;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// The App configuration is unusable (missing id, unreadable or invalid key, bad URL).
    #[error("GitHub App configuration: {0}")]
    Config(String),

    /// The caller asked for something this client refuses to send.
    #[error("invalid GitHub request: {0}")]
    InvalidArgument(String),

    /// GitHub answered with an error status that is not a rate limit.
    #[error("GitHub {operation} failed with HTTP {status}: {message}")]
    Status {
        operation: RequestKind,
        status: u16,
        message: String,
    },

    /// GitHub asked us to slow down (secondary or primary rate limit) for longer than this client
    /// is willing to sleep, or the retries ran out. `retry_after` is what the server asked for, so
    /// the caller can reschedule (e.g. through the SQS visibility timeout).
    #[error("GitHub {operation} was rate limited (HTTP {status}); retry after {}s", retry_after.as_secs())]
    RateLimited {
        operation: RequestKind,
        status: u16,
        retry_after: Duration,
    },

    /// No HTTP answer: connection refused or reset, timeout, TLS failure.
    #[error("GitHub {operation} transport error: {message}")]
    Transport {
        operation: RequestKind,
        message: String,
    },

    /// A success status with a body we could not understand.
    #[error("GitHub {operation} returned an unexpected response: {message}")]
    Decode {
        operation: RequestKind,
        message: String,
    },
}

impl GithubError {
    /// Whether trying again later may succeed: 5xx, 408, rate limits and transport failures.
    /// Configuration errors and other 4xx (401, 403 without rate limiting, 404, 422) are final.
    pub fn is_transient(&self) -> bool {
        match self {
            GithubError::Status { status, .. } => *status >= 500 || *status == 408,
            GithubError::RateLimited { .. } | GithubError::Transport { .. } => true,
            GithubError::Config(_)
            | GithubError::InvalidArgument(_)
            | GithubError::Decode { .. } => false,
        }
    }

    /// The HTTP status GitHub answered with, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            GithubError::Status { status, .. } | GithubError::RateLimited { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// How long GitHub asked us to wait, for rate limits.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GithubError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Which request failed, when the failure belongs to one.
    pub fn operation(&self) -> Option<RequestKind> {
        match self {
            GithubError::Status { operation, .. }
            | GithubError::RateLimited { operation, .. }
            | GithubError::Transport { operation, .. }
            | GithubError::Decode { operation, .. } => Some(*operation),
            GithubError::Config(_) | GithubError::InvalidArgument(_) => None,
        }
    }

    /// A failure after which we cannot know whether GitHub performed a write (the request may
    /// have been processed and only the answer lost).
    pub(crate) fn outcome_unknown(&self) -> bool {
        match self {
            GithubError::Status { status, .. } => *status >= 500,
            GithubError::Transport { .. } => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_classification() {
        let status = |status| GithubError::Status {
            operation: RequestKind::CreateComment,
            status,
            message: "x".into(),
        };
        assert!(status(502).is_transient());
        assert!(status(408).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(403).is_transient());
        assert!(!status(422).is_transient());
        let limited = GithubError::RateLimited {
            operation: RequestKind::UpdateComment,
            status: 403,
            retry_after: Duration::from_secs(60),
        };
        assert!(limited.is_transient());
        assert_eq!(limited.status(), Some(403));
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(60)));
        assert_eq!(
            limited.to_string(),
            "GitHub update_comment was rate limited (HTTP 403); retry after 60s"
        );
        assert!(!GithubError::Config("x".into()).is_transient());
    }
}
