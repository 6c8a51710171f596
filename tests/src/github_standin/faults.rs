//! Fault injection: queued failures, each consumed by one matching request.

use super::state::{lock, CallKind, Fault, FaultAction, GithubStandin, StandinState};
use super::wire::Answer;
use chrono::Utc;

const SECONDARY_RATE_LIMIT_MESSAGE: &str = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.";

/// What a consumed fault does to the request.
pub(super) enum Injected {
    /// Answer this instead of serving the request.
    Answer(Answer),
    /// Serve the request, then answer 502.
    LoseResponse,
}

impl GithubStandin {
    /// The next `n` requests of any kind get `status` (e.g. 502) and have no effect.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.push_faults(n, None, FaultAction::Fail(status));
    }

    /// Like [`GithubStandin::fail_next`], counting only requests of `kind`.
    pub fn fail_next_on(&self, kind: CallKind, n: usize, status: u16) {
        self.push_faults(n, Some(kind), FaultAction::Fail(status));
    }

    /// The next `n` requests get GitHub's secondary rate limit: 403, `Retry-After`, message.
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.push_faults(
            n,
            None,
            FaultAction::SecondaryRateLimit { retry_after_secs },
        );
    }

    pub fn rate_limit_next_on(&self, kind: CallKind, n: usize, retry_after_secs: u64) {
        self.push_faults(
            n,
            Some(kind),
            FaultAction::SecondaryRateLimit { retry_after_secs },
        );
    }

    /// The next `n` requests hit the primary rate limit: 403, `x-ratelimit-remaining: 0`,
    /// `x-ratelimit-reset` = now + `reset_in_secs`.
    pub fn primary_rate_limit_next(&self, n: usize, reset_in_secs: u64) {
        self.push_faults(n, None, FaultAction::PrimaryRateLimit { reset_in_secs });
    }

    /// The next `n` comment creations are performed but answered with 502, as if the response
    /// were lost: the comment exists although the client saw a failure.
    pub fn lose_next_response(&self, n: usize) {
        self.lose_next_response_on(CallKind::CreateComment, n);
    }

    pub fn lose_next_response_on(&self, kind: CallKind, n: usize) {
        self.push_faults(n, Some(kind), FaultAction::LoseResponse);
    }

    /// Drops faults that were not triggered.
    pub fn clear_faults(&self) {
        lock(&self.state).faults.clear();
    }

    fn push_faults(&self, n: usize, only: Option<CallKind>, action: FaultAction) {
        let mut state = lock(&self.state);
        for _ in 0..n {
            state.faults.push_back(Fault { only, action });
        }
    }
}

impl StandinState {
    /// Consumes the first queued fault that applies to `kind`, if any.
    pub(super) fn take_fault(&mut self, kind: CallKind) -> Option<Injected> {
        let position = self
            .faults
            .iter()
            .position(|f| f.only.is_none_or(|only| only == kind))?;
        let fault = self.faults.remove(position)?;
        Some(match fault.action {
            FaultAction::Fail(status) => {
                Injected::Answer(Answer::message(status, "Server Error (injected)"))
            }
            FaultAction::SecondaryRateLimit { retry_after_secs } => {
                let mut answer = Answer::message(403, SECONDARY_RATE_LIMIT_MESSAGE);
                answer
                    .headers
                    .push(("retry-after", retry_after_secs.to_string()));
                Injected::Answer(answer)
            }
            FaultAction::PrimaryRateLimit { reset_in_secs } => {
                let reset = Utc::now().timestamp() + reset_in_secs as i64;
                let mut answer = Answer::message(403, "API rate limit exceeded for installation.");
                answer.headers.push(("x-ratelimit-limit", "5000".into()));
                answer.headers.push(("x-ratelimit-remaining", "0".into()));
                answer
                    .headers
                    .push(("x-ratelimit-reset", reset.to_string()));
                Injected::Answer(answer)
            }
            FaultAction::LoseResponse => Injected::LoseResponse,
        })
    }
}
