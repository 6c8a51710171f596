//! The single retry layer: which answers are worth another attempt and how long to wait first.
//!
//! Pure functions over status, headers and body so the policy is unit-tested without HTTP.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How persistent the client is. One instance governs every request of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Further attempts after the first one fails transiently (0 = no retries).
    pub max_retries: u32,
    /// The longest single wait. A server asking for longer (a primary rate limit resetting in
    /// half an hour) is not slept through inside a Lambda invocation: the request fails at once
    /// with [`crate::GithubError::RateLimited`] carrying the requested delay, for the caller to
    /// reschedule.
    pub max_wait: Duration,
    /// First backoff step when the server gave no delay; doubles per retry, with jitter.
    pub base_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            max_wait: Duration::from_secs(10),
            base_backoff: Duration::from_millis(250),
        }
    }
}

impl RetryPolicy {
    /// Fail on the first error (tests of the callers' own recovery use this).
    pub fn no_retries() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (0-based) when the server did not say: exponential,
    /// capped at `max_wait`, with "equal jitter" (a random point in the upper half) so that
    /// concurrent workers do not retry in lock-step.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        let ceiling = self
            .base_backoff
            .saturating_mul(factor)
            .min(self.max_wait)
            .as_millis() as u64;
        let half = ceiling / 2;
        Duration::from_millis(half + random_below(ceiling - half + 1))
    }
}

/// A cheap random number without a `rand` dependency: std's per-process random hash keys.
fn random_below(bound: u64) -> u64 {
    if bound == 0 {
        return 0;
    }
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish() % bound
}

/// The response headers that steer retries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RateLimitHeaders {
    pub retry_after: Option<String>,
    pub remaining: Option<String>,
    pub reset: Option<String>,
}

/// What to do with one HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Success,
    /// 401: the installation token may have been revoked or expired early; refresh once.
    Unauthorized,
    /// 5xx or 408: retry with backoff. For a write, GitHub may have performed it.
    ServerError,
    /// Secondary or primary rate limit: wait as told, then retry. GitHub did not perform it.
    RateLimited(Duration),
    /// Any other 4xx: retrying cannot help.
    Refused,
}

/// GitHub's advice for a secondary rate limit without any header: "wait at least one minute".
const SECONDARY_LIMIT_DEFAULT_WAIT: Duration = Duration::from_secs(60);

pub(crate) fn classify(
    status: u16,
    headers: &RateLimitHeaders,
    body: &str,
    now_epoch_secs: i64,
) -> Verdict {
    match status {
        200..=299 => Verdict::Success,
        401 => Verdict::Unauthorized,
        403 | 429 => {
            if let Some(wait) = headers
                .retry_after
                .as_deref()
                .and_then(|v| parse_retry_after(v, now_epoch_secs))
            {
                return Verdict::RateLimited(wait);
            }
            if headers.remaining.as_deref().map(str::trim) == Some("0") {
                if let Some(wait) = headers
                    .reset
                    .as_deref()
                    .and_then(|v| wait_until_reset(v, now_epoch_secs))
                {
                    return Verdict::RateLimited(wait);
                }
            }
            if status == 429 || body.to_ascii_lowercase().contains("rate limit") {
                Verdict::RateLimited(SECONDARY_LIMIT_DEFAULT_WAIT)
            } else {
                // A plain 403: the App lacks access. Retrying cannot change that.
                Verdict::Refused
            }
        }
        408 | 500..=599 => Verdict::ServerError,
        _ => Verdict::Refused,
    }
}

/// `Retry-After` is delta-seconds (what GitHub sends) or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now_epoch_secs: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = at.timestamp().saturating_sub(now_epoch_secs).max(0);
    Some(Duration::from_secs(delta as u64))
}

/// `x-ratelimit-reset` is the epoch second the window resets; one extra second absorbs clock skew.
fn wait_until_reset(value: &str, now_epoch_secs: i64) -> Option<Duration> {
    let reset = value.trim().parse::<i64>().ok()?;
    let delta = reset.saturating_sub(now_epoch_secs).max(0) as u64;
    Some(Duration::from_secs(delta + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn headers(
        retry_after: Option<&str>,
        remaining: Option<&str>,
        reset: Option<&str>,
    ) -> RateLimitHeaders {
        RateLimitHeaders {
            retry_after: retry_after.map(String::from),
            remaining: remaining.map(String::from),
            reset: reset.map(String::from),
        }
    }

    #[test]
    fn statuses_map_to_verdicts() {
        let none = RateLimitHeaders::default();
        assert_eq!(classify(201, &none, "", NOW), Verdict::Success);
        assert_eq!(classify(401, &none, "", NOW), Verdict::Unauthorized);
        assert_eq!(classify(502, &none, "", NOW), Verdict::ServerError);
        assert_eq!(classify(408, &none, "", NOW), Verdict::ServerError);
        assert_eq!(classify(404, &none, "", NOW), Verdict::Refused);
        assert_eq!(classify(422, &none, "", NOW), Verdict::Refused);
        assert_eq!(
            classify(
                403,
                &none,
                r#"{"message":"Resource not accessible by integration"}"#,
                NOW
            ),
            Verdict::Refused
        );
    }

    #[test]
    fn secondary_rate_limit_uses_retry_after() {
        let verdict = classify(403, &headers(Some("7"), None, None), "", NOW);
        assert_eq!(verdict, Verdict::RateLimited(Duration::from_secs(7)));
        let verdict = classify(429, &headers(Some(" 2 "), None, None), "", NOW);
        assert_eq!(verdict, Verdict::RateLimited(Duration::from_secs(2)));
    }

    #[test]
    fn primary_rate_limit_waits_for_reset() {
        let reset = (NOW + 30).to_string();
        let verdict = classify(403, &headers(None, Some("0"), Some(&reset)), "", NOW);
        assert_eq!(verdict, Verdict::RateLimited(Duration::from_secs(31)));
        // Remaining quota but a 403: not a rate limit.
        let verdict = classify(403, &headers(None, Some("12"), Some(&reset)), "", NOW);
        assert_eq!(verdict, Verdict::Refused);
    }

    #[test]
    fn secondary_limit_without_headers_waits_a_minute() {
        let body = r#"{"message":"You have exceeded a secondary rate limit."}"#;
        assert_eq!(
            classify(403, &RateLimitHeaders::default(), body, NOW),
            Verdict::RateLimited(Duration::from_secs(60))
        );
    }

    #[test]
    fn retry_after_accepts_http_dates() {
        let at = chrono::DateTime::from_timestamp(NOW + 5, 0)
            .unwrap()
            .to_rfc2822();
        assert_eq!(parse_retry_after(&at, NOW), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("soon", NOW), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = RetryPolicy {
            max_retries: 5,
            max_wait: Duration::from_secs(2),
            base_backoff: Duration::from_millis(100),
        };
        for _ in 0..50 {
            let first = policy.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(2);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.backoff(30) <= Duration::from_secs(2));
        }
    }
}
