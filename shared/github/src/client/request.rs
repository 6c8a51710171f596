//! The request core: one HTTP exchange, the retry loop around it, and shared wire helpers.

use crate::app_key::AppKey;
use crate::error::GithubError;
use crate::retry::{classify, RateLimitHeaders, RetryPolicy, Verdict};
use crate::stats::{RequestKind, RequestStats};
use crate::token::TokenCache;
use chrono::Utc;
use octocrab::Octocrab;
use schemabot_domain::{InstallationId, Repository};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// GitHub's maximum page size; most PRs fit in one page.
pub(crate) const PER_PAGE: usize = 100;
/// Error messages quote at most this much of GitHub's `message` text.
const MAX_MESSAGE_CHARS: usize = 300;

/// The octocrab handle to send with and what it presents, to act on it if GitHub refuses it.
pub(crate) type Credentials = (Octocrab, Presented);

/// The credential a request carries.
pub(crate) enum Presented {
    /// An App JWT signed by this generation of the App key (see `crate::app_key`).
    AppJwt { key_generation: u64 },
    /// An installation token from the cache.
    Installation {
        installation: InstallationId,
        secret: String,
    },
}

/// Whether a request may be sent again after a failure that may hide its success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    Always,
    OnlyIfNotPerformed,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Verb {
    Get,
    Post,
    Patch,
}

/// One REST request. It goes through octocrab's raw `_get`/`_post`/`_patch` rather than its
/// typed models: each operation declares the few fields it reads, which keeps us independent of
/// model changes and keeps the Lambda binary small.
pub(crate) struct ApiCall {
    pub kind: RequestKind,
    pub verb: Verb,
    /// Relative to the API base. Relative paths matter: octocrab only attaches credentials to
    /// requests without an authority (or for api.github.com).
    pub path: String,
    pub body: Option<serde_json::Value>,
}

impl ApiCall {
    pub fn get(kind: RequestKind, path: String) -> Self {
        ApiCall {
            kind,
            verb: Verb::Get,
            path,
            body: None,
        }
    }
}

pub(crate) struct ApiReply {
    pub status: u16,
    pub rate_limit: RateLimitHeaders,
    pub link: Option<String>,
    pub body: String,
}

struct Failure {
    error: GithubError,
    /// The delay the server asked for, if it asked.
    server_wait: Option<Duration>,
}

/// What every request shares: the HTTP client without credentials, the retry policy, the App
/// key (re-read on 401), the installation-token cache (dropped entries on 401) and the request
/// counters.
#[derive(Debug)]
pub(crate) struct Core {
    /// Cloned with a fresh App JWT for the token endpoint and with an installation token for
    /// everything else.
    pub app: Octocrab,
    pub retry: RetryPolicy,
    pub app_key: AppKey,
    pub tokens: TokenCache,
    pub stats: Arc<RequestStats>,
}

impl Core {
    /// Sends `call` with the retry policy. This is the crate's only retry layer.
    ///
    /// `credentials` is asked before every attempt, so a token refreshed or a key re-read after
    /// a 401 is used.
    /// (A closure rather than an enum keeps the token request — itself sent through here — from
    /// making this future's type recursive.)
    pub async fn execute<F, Fut>(
        &self,
        call: &ApiCall,
        replay: Replay,
        credentials: F,
    ) -> Result<ApiReply, GithubError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Credentials, GithubError>>,
    {
        let policy = &self.retry;
        let mut retries_done = 0u32;
        let mut reauthenticated = false;
        loop {
            let (crab, presented) = credentials().await?;

            self.stats.record_attempt(call.kind);
            let failure = match send_once(&crab, call).await {
                Ok(reply) => {
                    let now = Utc::now().timestamp();
                    match classify(reply.status, &reply.rate_limit, &reply.body, now) {
                        Verdict::Success => return Ok(reply),
                        Verdict::Unauthorized => {
                            if !reauthenticated && self.reauthenticate(call, presented).await {
                                reauthenticated = true;
                                self.stats.record_retry();
                                continue;
                            }
                            return Err(status_error(call.kind, &reply));
                        }
                        Verdict::Refused => return Err(status_error(call.kind, &reply)),
                        Verdict::ServerError => Failure {
                            error: status_error(call.kind, &reply),
                            server_wait: None,
                        },
                        Verdict::RateLimited(wait) => Failure {
                            error: GithubError::RateLimited {
                                operation: call.kind,
                                status: reply.status,
                                retry_after: wait,
                            },
                            server_wait: Some(wait),
                        },
                    }
                }
                Err(error) => Failure {
                    error,
                    server_wait: None,
                },
            };

            if !failure.error.is_transient() || retries_done >= policy.max_retries {
                return Err(failure.error);
            }
            if replay == Replay::OnlyIfNotPerformed && failure.error.outcome_unknown() {
                return Err(failure.error);
            }
            let wait = match failure.server_wait {
                Some(wait) if wait > policy.max_wait => return Err(failure.error),
                Some(wait) => wait,
                None => policy.backoff(retries_done),
            };
            tracing::warn!(
                operation = %call.kind,
                status = failure.error.status(),
                error = %failure.error,
                wait_ms = wait.as_millis() as u64,
                retry = retries_done + 1,
                "transient GitHub failure; retrying"
            );
            tokio::time::sleep(wait).await;
            retries_done += 1;
            self.stats.record_retry();
        }
    }

    /// After a 401: drops what GitHub refused and tells whether new credentials are worth one
    /// more attempt.
    async fn reauthenticate(&self, call: &ApiCall, presented: Presented) -> bool {
        match presented {
            // A revoked or early-expired token: the next attempt fetches a new one.
            Presented::Installation {
                installation,
                secret,
            } => {
                tracing::warn!(
                    operation = %call.kind,
                    "GitHub refused the installation token; refreshing it"
                );
                self.tokens.invalidate(installation, &secret).await;
                true
            }
            // The App key may have been rotated: worth a retry only if a new key was read.
            Presented::AppJwt { key_generation } => {
                tracing::warn!(
                    operation = %call.kind,
                    "GitHub refused the App JWT; reading the App key again"
                );
                self.app_key.reload_after_refusal(key_generation).await
            }
        }
    }
}

async fn send_once(crab: &Octocrab, call: &ApiCall) -> Result<ApiReply, GithubError> {
    let path = call.path.as_str();
    let sent = match call.verb {
        Verb::Get => crab._get(path).await,
        Verb::Post => crab._post(path, call.body.as_ref()).await,
        Verb::Patch => crab._patch(path, call.body.as_ref()).await,
    };
    let response = sent.map_err(|e| request_error(call.kind, &e))?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let status = response.status().as_u16();
    let rate_limit = RateLimitHeaders {
        retry_after: header("retry-after"),
        remaining: header("x-ratelimit-remaining"),
        reset: header("x-ratelimit-reset"),
    };
    let link = header("link");
    tracing::debug!(operation = %call.kind, status, "GitHub answered");
    let body = crab
        .body_to_string(response)
        .await
        .map_err(|e| request_error(call.kind, &e))?;
    Ok(ApiReply {
        status,
        rate_limit,
        link,
        body,
    })
}

fn request_error(operation: RequestKind, error: &octocrab::Error) -> GithubError {
    match error {
        octocrab::Error::Service { .. } | octocrab::Error::Hyper { .. } => GithubError::Transport {
            operation,
            message: describe(error),
        },
        other => GithubError::InvalidArgument(format!("{operation}: {}", describe(other))),
    }
}

/// An error and its causes on one line, bounded. octocrab's errors name URLs and I/O causes,
/// never header values, so no credential can appear here.
pub(crate) fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    for cause in std::iter::successors(error.source(), |cause| cause.source()) {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
    }
    truncate(text.lines().next().unwrap_or_default())
}

#[derive(Deserialize)]
struct ErrorWire {
    #[serde(default)]
    message: Option<String>,
}

fn status_error(operation: RequestKind, reply: &ApiReply) -> GithubError {
    let message = serde_json::from_str::<ErrorWire>(&reply.body)
        .ok()
        .and_then(|e| e.message)
        .unwrap_or_else(|| "no error message".to_string());
    GithubError::Status {
        operation,
        status: reply.status,
        message: truncate(&message),
    }
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Parses a JSON answer; the error names the field and position, never the content.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    operation: RequestKind,
    body: &str,
) -> Result<T, GithubError> {
    serde_json::from_str(body).map_err(|e| GithubError::Decode {
        operation,
        message: truncate(&e.to_string()),
    })
}

/// `/repos/{owner}/{name}`. `Repository` admits only `[a-z0-9._-]`, so no escaping is needed.
pub(crate) fn repo_path(repo: &Repository) -> String {
    format!("/repos/{}/{}", repo.owner(), repo.name())
}

/// Percent-encodes everything but RFC 3986 unreserved characters (logins are not validated).
pub(crate) fn encode_path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Follows GitHub's `Link: <…>; rel="next"`. We build the next URL ourselves (page + 1) rather
/// than following the absolute one, which octocrab would send without credentials. Without a
/// Link header, a full page means there may be more.
pub(crate) fn has_next_page(link: Option<&str>, received: usize) -> bool {
    match link {
        Some(link) => link
            .split(',')
            .any(|part| part.split(';').skip(1).any(|p| p.trim() == "rel=\"next\"")),
        None => received >= PER_PAGE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_page_follows_link_rel_next() {
        let link = r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last""#;
        assert!(has_next_page(Some(link), 100));
        let last = r#"<https://api.github.com/x?page=1>; rel="first", <https://api.github.com/x?page=4>; rel="prev""#;
        assert!(!has_next_page(Some(last), 100));
        assert!(has_next_page(None, 100));
        assert!(!has_next_page(None, 99));
    }

    #[test]
    fn logins_are_percent_encoded() {
        assert_eq!(encode_path_segment("octo-cat"), "octo-cat");
        assert_eq!(
            encode_path_segment("dependabot[bot]"),
            "dependabot%5Bbot%5D"
        );
        assert_eq!(encode_path_segment("../x"), "..%2Fx");
    }

    #[test]
    fn status_errors_quote_only_github_message_bounded() {
        let reply = ApiReply {
            status: 422,
            rate_limit: RateLimitHeaders::default(),
            link: None,
            body: format!(r#"{{"message":"{}"}}"#, "x".repeat(1000)),
        };
        let error = status_error(RequestKind::CreateComment, &reply);
        assert_eq!(error.status(), Some(422));
        assert!(error.to_string().chars().count() < 400);
    }
}
