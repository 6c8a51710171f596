//! How a job ended, split by audience and retryability.
//!
//! * user errors are answered with a reply comment and acknowledged (never retried);
//! * transient errors (Tern/GitHub/AWS unavailable) are retried through SQS visibility, with
//!   exponential backoff;
//! * a dependency that said when to come back (a GitHub rate limit) is retried after exactly that
//!   delay ([`JobError::RetryAfter`]);
//! * permanent errors (a message we cannot read, a configuration that cannot match, a bug) are
//!   answered once on the PR when there is one, audited, and removed from the queue: retrying
//!   cannot help, and a FIFO group must not wait behind them.

use std::fmt;
use std::time::Duration;

#[derive(Debug)]
pub enum JobError {
    Transient(String),
    /// Retry once `wait` has passed (the dependency said so).
    RetryAfter {
        wait: Duration,
        reason: String,
    },
    Permanent(String),
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Transient(m) => write!(f, "transient: {m}"),
            JobError::RetryAfter { wait, reason } => {
                write!(f, "retry after {}s: {reason}", wait.as_secs())
            }
            JobError::Permanent(m) => write!(f, "permanent: {m}"),
        }
    }
}

impl std::error::Error for JobError {}

impl JobError {
    pub fn transient(error: impl fmt::Display) -> Self {
        JobError::Transient(error.to_string())
    }

    pub fn permanent(error: impl fmt::Display) -> Self {
        JobError::Permanent(error.to_string())
    }

    /// Retried (with backoff or after a known delay); the opposite of permanent.
    pub fn is_transient(&self) -> bool {
        !matches!(self, JobError::Permanent(_))
    }

    /// The delay a dependency asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            JobError::RetryAfter { wait, .. } => Some(*wait),
            _ => None,
        }
    }
}

/// Where a message is in its retry life: the receive count SQS reports and the configured maximum
/// (the redrive policy's maxReceiveCount). On the last attempt a job posts its failure reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub receive_count: u32,
    pub max_receive_count: u32,
}

impl Attempt {
    pub fn first() -> Self {
        Attempt {
            receive_count: 1,
            max_receive_count: 5,
        }
    }

    pub fn is_first(&self) -> bool {
        self.receive_count <= 1
    }

    pub fn is_final(&self) -> bool {
        self.receive_count >= self.max_receive_count
    }

    /// Visibility timeout before the next try: exponential, capped (seconds).
    pub fn backoff_seconds(&self) -> i32 {
        let exponent = self.receive_count.saturating_sub(1).min(6);
        (5_i32 << exponent).min(300)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let at = |n| Attempt {
            receive_count: n,
            max_receive_count: 5,
        };
        assert_eq!(at(1).backoff_seconds(), 5);
        assert_eq!(at(2).backoff_seconds(), 10);
        assert_eq!(at(4).backoff_seconds(), 40);
        assert_eq!(at(30).backoff_seconds(), 300);
        assert!(at(5).is_final() && !at(4).is_final() && at(1).is_first());
    }
}
