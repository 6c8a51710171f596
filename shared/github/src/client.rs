//! The GitHub App client: octocrab as the HTTP transport (base URI, TLS, timeouts), ring for the
//! App JWT (app_jwt.rs), and our own token cache, retry layer, request accounting and small wire
//! structs.
//!
//! Requests go through octocrab's raw `_get`/`_post`/`_patch` rather than its typed models: the
//! handful of fields we read are declared here, which keeps us independent of model changes and
//! keeps the Lambda binary small.

use crate::app_jwt::AppJwtSigner;
use crate::config::GithubAppConfig;
use crate::error::GithubError;
use crate::permission::Permission;
use crate::retry::{classify, RateLimitHeaders, RetryPolicy, Verdict};
use crate::stats::{RequestKind, RequestStats};
use crate::token::{InstallationToken, TokenCache};
use chrono::{DateTime, Utc};
use octocrab::Octocrab;
use schemabot_domain::{CommentId, InstallationId, Login, PrNumber, Repository};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Per read/write on the socket; GitHub answers comment writes within a few seconds.
const IO_TIMEOUT: Duration = Duration::from_secs(15);
/// GitHub's maximum page size; most PRs fit in one page.
const COMMENTS_PER_PAGE: usize = 100;
/// A bound on pagination (10 000 comments), so a pathological PR cannot loop forever.
const MAX_COMMENT_PAGES: u32 = 100;
/// GitHub rejects longer comment bodies with 422; refusing early avoids a pointless request.
pub const MAX_COMMENT_CHARS: usize = 65_536;
/// Error messages quote at most this much of GitHub's `message` text.
const MAX_MESSAGE_CHARS: usize = 300;

/// A reaction on a comment (GitHub's fixed set). SchemaBot only uses [`Reaction::Eyes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reaction {
    PlusOne,
    MinusOne,
    Laugh,
    Confused,
    Heart,
    Hooray,
    Rocket,
    Eyes,
}

impl Reaction {
    /// The `content` value GitHub expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Reaction::PlusOne => "+1",
            Reaction::MinusOne => "-1",
            Reaction::Laugh => "laugh",
            Reaction::Confused => "confused",
            Reaction::Heart => "heart",
            Reaction::Hooray => "hooray",
            Reaction::Rocket => "rocket",
            Reaction::Eyes => "eyes",
        }
    }
}

/// An issue/PR comment as far as SchemaBot cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueComment {
    pub id: CommentId,
    pub body: String,
    pub author: Login,
    /// `user.type == "Bot"`: GitHub Apps post as bot users; people cannot.
    pub author_is_bot: bool,
    /// `performed_via_github_app.id`, when GitHub reports which App wrote the comment.
    pub via_app_id: Option<u64>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A file a PR changes (`GET /pulls/{n}/files`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestFile {
    pub filename: String,
    /// `added`, `modified`, `removed`, `renamed`, …
    pub status: String,
}

/// An entry of a repository directory (`GET /contents/{dir}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub name: String,
    /// The path from the repository root.
    pub path: String,
    /// `file`, `dir`, `symlink` or `submodule`.
    pub kind: String,
}

/// A PR as far as planning cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestInfo {
    pub head_sha: String,
    pub state: String,
}

/// A bound on `pulls/{n}/files` pagination (GitHub itself stops at 3 000 files).
const MAX_FILE_PAGES: u32 = 30;

/// The GitHub App client. Build one per process (e.g. before the Lambda runtime loop) and clone
/// it freely: clones share the HTTP connection pool, the installation-token cache and the request
/// counters, which is what makes tokens survive across warm invocations.
///
/// Must be created inside a Tokio runtime (octocrab spawns its request buffer on it).
#[derive(Debug, Clone)]
pub struct GithubClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The HTTP client without credentials: cloned with a fresh App JWT for the token endpoint
    /// and with an installation token for everything else.
    app: Octocrab,
    app_id: u64,
    signer: AppJwtSigner,
    retry: RetryPolicy,
    tokens: TokenCache,
    stats: Arc<RequestStats>,
}

impl GithubClient {
    /// A client with the default [`RetryPolicy`] (3 retries, waits ≤ 10 s).
    pub fn new(config: &GithubAppConfig) -> Result<Self, GithubError> {
        Self::with_retry_policy(config, RetryPolicy::default())
    }

    pub fn with_retry_policy(
        config: &GithubAppConfig,
        retry: RetryPolicy,
    ) -> Result<Self, GithubError> {
        // The key error is summarised: the underlying message is not needed and must not echo
        // any part of the key.
        let signer = AppJwtSigner::from_pem(config.app_id, config.private_key_pem.expose())?;
        let app = Octocrab::builder()
            .base_uri(config.api_base.as_str())
            .map_err(|_| {
                GithubError::Config(format!("invalid GitHub API URL `{}`", config.api_base))
            })?
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(IO_TIMEOUT))
            .set_write_timeout(Some(IO_TIMEOUT))
            .build()
            .map_err(|e| {
                GithubError::Config(format!("cannot build the HTTP client: {}", describe(&e)))
            })?;
        Ok(GithubClient {
            inner: Arc::new(Inner {
                app,
                app_id: config.app_id,
                signer,
                retry,
                tokens: TokenCache::default(),
                stats: Arc::new(RequestStats::default()),
            }),
        })
    }

    /// Operations on behalf of one installation (the id comes from the webhook payload).
    pub fn installation(&self, installation: InstallationId) -> InstallationClient {
        InstallationClient {
            client: self.clone(),
            installation,
        }
    }

    /// Live request counters shared by all clones (for tests and metrics).
    pub fn stats(&self) -> Arc<RequestStats> {
        self.inner.stats.clone()
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    pub fn app_id(&self) -> u64 {
        self.inner.app_id
    }

    /// When the cached token of this installation expires, if one is cached.
    pub async fn cached_token_expiry(&self, installation: InstallationId) -> Option<DateTime<Utc>> {
        self.inner.tokens.expiry(installation).await
    }

    async fn installation_token(
        &self,
        installation: InstallationId,
    ) -> Result<InstallationToken, GithubError> {
        self.inner
            .tokens
            .get_or_refresh(installation, || {
                self.request_installation_token(installation)
            })
            .await
    }

    async fn request_installation_token(
        &self,
        installation: InstallationId,
    ) -> Result<InstallationToken, GithubError> {
        let call = ApiCall {
            kind: RequestKind::AccessToken,
            verb: Verb::Post,
            path: format!("/app/installations/{}/access_tokens", installation.0),
            body: None,
        };
        // A fresh JWT per attempt: a retry after a long Retry-After wait must not send an
        // expired one.
        let as_app = || {
            let credentials = self.inner.signer.token(Utc::now()).and_then(|jwt| {
                self.inner
                    .app
                    .user_access_token(jwt)
                    .map(|crab| (crab, None))
                    .map_err(|e| GithubError::InvalidArgument(describe(&e)))
            });
            std::future::ready(credentials)
        };
        let reply = self.execute(&call, Replay::Always, as_app).await?;
        let wire: AccessTokenWire = decode(call.kind, &reply.body)?;
        tracing::debug!(
            installation = installation.0,
            expires_at = %wire.expires_at,
            "obtained a GitHub installation token"
        );
        Ok(InstallationToken {
            secret: wire.token,
            expires_at: wire.expires_at,
        })
    }

    /// An octocrab handle sending the installation's (cached) token. It shares the App client's
    /// connection pool.
    async fn as_installation(
        &self,
        installation: InstallationId,
    ) -> Result<Credentials, GithubError> {
        let token = self.installation_token(installation).await?;
        let crab = self
            .inner
            .app
            .user_access_token(token.secret.clone())
            .map_err(|e| GithubError::InvalidArgument(describe(&e)))?;
        Ok((crab, Some((installation, token.secret))))
    }

    /// Sends `call` with the retry policy. This is the crate's only retry layer.
    ///
    /// `credentials` is asked before every attempt, so a token refreshed after a 401 is used.
    /// (A closure rather than an enum keeps the token request — itself sent through here — from
    /// making this future's type recursive.)
    async fn execute<F, Fut>(
        &self,
        call: &ApiCall,
        replay: Replay,
        credentials: F,
    ) -> Result<ApiReply, GithubError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Credentials, GithubError>>,
    {
        let policy = &self.inner.retry;
        let mut retries_done = 0u32;
        let mut refreshed_after_401 = false;
        loop {
            let (crab, token) = credentials().await?;

            self.inner.stats.record_attempt(call.kind);
            let failure = match send_once(&crab, call).await {
                Ok(reply) => {
                    let now = Utc::now().timestamp();
                    match classify(reply.status, &reply.rate_limit, &reply.body, now) {
                        Verdict::Success => return Ok(reply),
                        Verdict::Unauthorized => match token {
                            // A revoked or early-expired token: fetch a new one and try once more.
                            Some((id, secret)) if !refreshed_after_401 => {
                                tracing::warn!(
                                    operation = %call.kind,
                                    "GitHub refused the installation token; refreshing it"
                                );
                                self.inner.tokens.invalidate(id, &secret).await;
                                refreshed_after_401 = true;
                                self.inner.stats.record_retry();
                                continue;
                            }
                            _ => return Err(status_error(call.kind, &reply)),
                        },
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
            self.inner.stats.record_retry();
        }
    }
}

/// [`GithubClient`] bound to one installation. Cheap to create and clone.
#[derive(Debug, Clone)]
pub struct InstallationClient {
    client: GithubClient,
    installation: InstallationId,
}

impl InstallationClient {
    pub fn installation_id(&self) -> InstallationId {
        self.installation
    }

    /// Adds a reaction to an issue/PR comment (👀 acknowledges a command). Adding one that is
    /// already there succeeds, so retrying is safe. One request.
    pub async fn add_reaction(
        &self,
        repo: &Repository,
        comment: CommentId,
        reaction: Reaction,
    ) -> Result<(), GithubError> {
        let call = ApiCall {
            kind: RequestKind::AddReaction,
            verb: Verb::Post,
            path: format!(
                "{}/issues/comments/{}/reactions",
                repo_path(repo),
                comment.0
            ),
            body: Some(serde_json::json!({ "content": reaction.as_str() })),
        };
        self.send(&call, Replay::Always).await.map(drop)
    }

    /// Creates a comment on a PR and returns its id. One request on the happy path.
    ///
    /// **Not idempotent.** Transient failures are retried, and a 5xx or a dropped connection can
    /// hide a comment GitHub did create, so a retry may post a duplicate. Callers that must post
    /// exactly once put a hidden marker (`<!-- schemabot:… -->`, written by the render crate)
    /// in the body and either use
    /// [`InstallationClient::create_marked_comment`], or — when re-running a job whose earlier
    /// attempt may have posted — call [`InstallationClient::find_comment_with_marker`] before
    /// posting again.
    pub async fn create_comment(
        &self,
        repo: &Repository,
        pr: PrNumber,
        body: &str,
    ) -> Result<CommentId, GithubError> {
        self.create_comment_once(repo, pr, body, Replay::Always)
            .await
    }

    /// Creates a comment whose body contains `marker`, at most once. Failures where GitHub
    /// certainly did nothing (rate limits) are retried as usual; after a failure that may hide a
    /// created comment (5xx, lost connection) the PR is searched for `marker` before posting
    /// again. Costs one request on the happy path, extra list requests only after such failures.
    pub async fn create_marked_comment(
        &self,
        repo: &Repository,
        pr: PrNumber,
        marker: &str,
        body: &str,
    ) -> Result<CommentId, GithubError> {
        if marker.trim().is_empty() || !body.contains(marker) {
            return Err(GithubError::InvalidArgument(
                "the comment body must contain its (non-empty) marker".into(),
            ));
        }
        let policy = self.client.retry_policy().clone();
        let mut retries_done = 0u32;
        loop {
            let error = match self
                .create_comment_once(repo, pr, body, Replay::OnlyIfNotPerformed)
                .await
            {
                Ok(id) => return Ok(id),
                Err(error) if error.outcome_unknown() && retries_done < policy.max_retries => error,
                Err(error) => return Err(error),
            };
            let wait = policy.backoff(retries_done);
            tracing::warn!(
                %error,
                wait_ms = wait.as_millis() as u64,
                "comment creation outcome unknown; checking for it before posting again"
            );
            tokio::time::sleep(wait).await;
            retries_done += 1;
            self.client.inner.stats.record_retry();
            if let Some(existing) = self.find_comment_with_marker(repo, pr, marker).await? {
                return Ok(existing);
            }
        }
    }

    async fn create_comment_once(
        &self,
        repo: &Repository,
        pr: PrNumber,
        body: &str,
        replay: Replay,
    ) -> Result<CommentId, GithubError> {
        check_body(body)?;
        let call = ApiCall {
            kind: RequestKind::CreateComment,
            verb: Verb::Post,
            path: format!("{}/issues/{}/comments", repo_path(repo), pr.0),
            body: Some(serde_json::json!({ "body": body })),
        };
        let reply = self.send(&call, replay).await?;
        let created: CommentWire = decode(call.kind, &reply.body)?;
        Ok(CommentId(created.id))
    }

    /// Replaces a comment's body. Idempotent (same body, same result). One request.
    pub async fn update_comment(
        &self,
        repo: &Repository,
        comment: CommentId,
        body: &str,
    ) -> Result<(), GithubError> {
        check_body(body)?;
        let call = ApiCall {
            kind: RequestKind::UpdateComment,
            verb: Verb::Patch,
            path: format!("{}/issues/comments/{}", repo_path(repo), comment.0),
            body: Some(serde_json::json!({ "body": body })),
        };
        self.send(&call, Replay::Always).await.map(drop)
    }

    /// All comments on a PR, oldest first (100 per request).
    pub async fn list_comments(
        &self,
        repo: &Repository,
        pr: PrNumber,
    ) -> Result<Vec<IssueComment>, GithubError> {
        let mut all = Vec::new();
        self.scan_comments(repo, pr, |page| {
            all.extend(page);
            false
        })
        .await?;
        Ok(all)
    }

    /// The oldest comment on the PR whose body contains `marker` and that was written by a bot
    /// (by this App, when GitHub says which App). People cannot forge a bot comment, so quoting a
    /// marker in a human comment never redirects SchemaBot's edits. Stops paging at the first
    /// match.
    pub async fn find_comment_with_marker(
        &self,
        repo: &Repository,
        pr: PrNumber,
        marker: &str,
    ) -> Result<Option<CommentId>, GithubError> {
        if marker.trim().is_empty() {
            return Err(GithubError::InvalidArgument("empty comment marker".into()));
        }
        let app_id = self.client.app_id();
        let mut found = None;
        self.scan_comments(repo, pr, |page| {
            found = page
                .into_iter()
                .find(|c| {
                    c.author_is_bot
                        && c.via_app_id.is_none_or(|id| id == app_id)
                        && c.body.contains(marker)
                })
                .map(|c| c.id);
            found.is_some()
        })
        .await?;
        Ok(found)
    }

    /// Pages through the PR's comments, handing each page to `visit` until it returns `true`.
    async fn scan_comments(
        &self,
        repo: &Repository,
        pr: PrNumber,
        mut visit: impl FnMut(Vec<IssueComment>) -> bool,
    ) -> Result<(), GithubError> {
        for page in 1..=MAX_COMMENT_PAGES {
            let call = ApiCall {
                kind: RequestKind::ListComments,
                verb: Verb::Get,
                path: format!(
                    "{}/issues/{}/comments?per_page={COMMENTS_PER_PAGE}&page={page}",
                    repo_path(repo),
                    pr.0
                ),
                body: None,
            };
            let reply = self.send(&call, Replay::Always).await?;
            let wire: Vec<CommentWire> = decode(call.kind, &reply.body)?;
            let received = wire.len();
            let comments = wire.into_iter().map(IssueComment::from).collect();
            if visit(comments) || !has_next_page(reply.link.as_deref(), received) {
                return Ok(());
            }
        }
        tracing::warn!(%repo, pr = pr.0, "stopped paging PR comments at the page limit");
        Ok(())
    }

    /// The user's effective permission on the repository. A 404 (not a collaborator, or no such
    /// user) is [`Permission::None`]; any other failure is an error, so callers fail closed.
    /// One request.
    pub async fn collaborator_permission(
        &self,
        repo: &Repository,
        login: &Login,
    ) -> Result<Permission, GithubError> {
        if login.0.is_empty() {
            return Err(GithubError::InvalidArgument("empty login".into()));
        }
        let call = ApiCall {
            kind: RequestKind::CollaboratorPermission,
            verb: Verb::Get,
            path: format!(
                "{}/collaborators/{}/permission",
                repo_path(repo),
                encode_path_segment(&login.0)
            ),
            body: None,
        };
        match self.send(&call, Replay::Always).await {
            Ok(reply) => {
                let wire: PermissionWire = decode(call.kind, &reply.body)?;
                Ok(Permission::from_response(
                    wire.role_name.as_deref(),
                    wire.permission.as_deref(),
                ))
            }
            Err(GithubError::Status { status: 404, .. }) => Ok(Permission::None),
            Err(other) => Err(other),
        }
    }

    /// The PR's head commit and state. One request.
    pub async fn get_pull_request(
        &self,
        repo: &Repository,
        pr: PrNumber,
    ) -> Result<PullRequestInfo, GithubError> {
        let call = ApiCall {
            kind: RequestKind::GetPullRequest,
            verb: Verb::Get,
            path: format!("{}/pulls/{}", repo_path(repo), pr.0),
            body: None,
        };
        let reply = self.send(&call, Replay::Always).await?;
        let wire: PullWire = decode(call.kind, &reply.body)?;
        Ok(PullRequestInfo {
            head_sha: wire.head.sha,
            state: wire.state.unwrap_or_default(),
        })
    }

    /// Every file the PR changes (100 per request).
    pub async fn list_pull_request_files(
        &self,
        repo: &Repository,
        pr: PrNumber,
    ) -> Result<Vec<PullRequestFile>, GithubError> {
        let mut all = Vec::new();
        for page in 1..=MAX_FILE_PAGES {
            let call = ApiCall {
                kind: RequestKind::ListPullRequestFiles,
                verb: Verb::Get,
                path: format!(
                    "{}/pulls/{}/files?per_page={COMMENTS_PER_PAGE}&page={page}",
                    repo_path(repo),
                    pr.0
                ),
                body: None,
            };
            let reply = self.send(&call, Replay::Always).await?;
            let wire: Vec<PullFileWire> = decode(call.kind, &reply.body)?;
            let received = wire.len();
            all.extend(wire.into_iter().map(|f| PullRequestFile {
                filename: f.filename,
                status: f.status.unwrap_or_default(),
            }));
            if !has_next_page(reply.link.as_deref(), received) {
                return Ok(all);
            }
        }
        tracing::warn!(%repo, pr = pr.0, "stopped paging PR files at the page limit");
        Ok(all)
    }

    /// A file's text at a commit (the contents API, base64). `Ok(None)` when the file does not
    /// exist at that commit. One request.
    pub async fn get_file_contents(
        &self,
        repo: &Repository,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<String>, GithubError> {
        if path.is_empty() || git_ref.is_empty() {
            return Err(GithubError::InvalidArgument("empty path or ref".into()));
        }
        let encoded_path = path
            .split('/')
            .map(encode_path_segment)
            .collect::<Vec<_>>()
            .join("/");
        let call = ApiCall {
            kind: RequestKind::GetFileContents,
            verb: Verb::Get,
            path: format!(
                "{}/contents/{encoded_path}?ref={}",
                repo_path(repo),
                encode_path_segment(git_ref)
            ),
            body: None,
        };
        let reply = match self.send(&call, Replay::Always).await {
            Ok(reply) => reply,
            Err(GithubError::Status { status: 404, .. }) => return Ok(None),
            Err(other) => return Err(other),
        };
        let wire: ContentsWire = decode(call.kind, &reply.body)?;
        if wire.encoding.as_deref().is_some_and(|e| e != "base64") {
            return Err(GithubError::Decode {
                operation: call.kind,
                message: "file contents are not base64-encoded".into(),
            });
        }
        let packed: String = wire
            .content
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let bytes = decode_base64(&packed).ok_or_else(|| GithubError::Decode {
            operation: call.kind,
            message: "invalid base64 in file contents".into(),
        })?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| GithubError::Decode {
                operation: call.kind,
                message: "file contents are not UTF-8".into(),
            })
    }

    /// The entries of a directory at a commit. `Ok(None)` when there is no such directory (or
    /// the path is a file). One request (GitHub lists up to 1 000 entries).
    pub async fn list_directory(
        &self,
        repo: &Repository,
        dir: &str,
        git_ref: &str,
    ) -> Result<Option<Vec<DirectoryEntry>>, GithubError> {
        if git_ref.is_empty() {
            return Err(GithubError::InvalidArgument("empty ref".into()));
        }
        let encoded_dir = dir
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(encode_path_segment)
            .collect::<Vec<_>>()
            .join("/");
        let call = ApiCall {
            kind: RequestKind::ListDirectory,
            verb: Verb::Get,
            path: format!(
                "{}/contents/{encoded_dir}?ref={}",
                repo_path(repo),
                encode_path_segment(git_ref)
            ),
            body: None,
        };
        let reply = match self.send(&call, Replay::Always).await {
            Ok(reply) => reply,
            Err(GithubError::Status { status: 404, .. }) => return Ok(None),
            Err(other) => return Err(other),
        };
        // A file answers with an object, a directory with an array.
        let Ok(entries) = serde_json::from_str::<Vec<DirEntryWire>>(&reply.body) else {
            return Ok(None);
        };
        Ok(Some(
            entries
                .into_iter()
                .map(|e| DirectoryEntry {
                    name: e.name,
                    path: e.path,
                    kind: e.kind,
                })
                .collect(),
        ))
    }

    async fn send(&self, call: &ApiCall, replay: Replay) -> Result<ApiReply, GithubError> {
        let client = &self.client;
        client
            .execute(call, replay, || client.as_installation(self.installation))
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// One HTTP exchange

/// The octocrab handle to send with and, for installation requests, which token it carries
/// (to drop it from the cache if GitHub refuses it).
type Credentials = (Octocrab, Option<(InstallationId, String)>);

/// Whether a request may be sent again after a failure that may hide its success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    Always,
    OnlyIfNotPerformed,
}

#[derive(Debug, Clone, Copy)]
enum Verb {
    Get,
    Post,
    Patch,
}

struct ApiCall {
    kind: RequestKind,
    verb: Verb,
    /// Relative to the API base. Relative paths matter: octocrab only attaches credentials to
    /// requests without an authority (or for api.github.com).
    path: String,
    body: Option<serde_json::Value>,
}

struct ApiReply {
    status: u16,
    rate_limit: RateLimitHeaders,
    link: Option<String>,
    body: String,
}

struct Failure {
    error: GithubError,
    /// The delay the server asked for, if it asked.
    server_wait: Option<Duration>,
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
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    truncate(text.lines().next().unwrap_or_default())
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

fn decode<T: serde::de::DeserializeOwned>(
    operation: RequestKind,
    body: &str,
) -> Result<T, GithubError> {
    serde_json::from_str(body).map_err(|e| GithubError::Decode {
        operation,
        // serde's message names the field and position, not the content.
        message: truncate(&e.to_string()),
    })
}

fn check_body(body: &str) -> Result<(), GithubError> {
    let chars = body.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err(GithubError::InvalidArgument(format!(
            "comment body has {chars} characters; GitHub accepts at most {MAX_COMMENT_CHARS}"
        )));
    }
    Ok(())
}

/// `/repos/{owner}/{name}`. `Repository` admits only `[a-z0-9._-]`, so no escaping is needed.
fn repo_path(repo: &Repository) -> String {
    format!("/repos/{}/{}", repo.owner(), repo.name())
}

/// Percent-encodes everything but RFC 3986 unreserved characters (logins are not validated).
fn encode_path_segment(raw: &str) -> String {
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
fn has_next_page(link: Option<&str>, received: usize) -> bool {
    match link {
        Some(link) => link
            .split(',')
            .any(|part| part.split(';').skip(1).any(|p| p.trim() == "rel=\"next\"")),
        None => received >= COMMENTS_PER_PAGE,
    }
}

/// Standard base64 (with or without padding); `None` on any invalid character.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let trimmed = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in trimmed.bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Wire shapes: only the fields we read.

#[derive(Deserialize)]
struct PullWire {
    head: PullHeadWire,
    state: Option<String>,
}

#[derive(Deserialize)]
struct PullHeadWire {
    sha: String,
}

#[derive(Deserialize)]
struct PullFileWire {
    filename: String,
    status: Option<String>,
}

#[derive(Deserialize)]
struct DirEntryWire {
    name: String,
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct ContentsWire {
    content: Option<String>,
    encoding: Option<String>,
}

/// The token response. Deliberately not `Debug`: it holds the token.
#[derive(Deserialize)]
struct AccessTokenWire {
    token: String,
    expires_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct CommentWire {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<UserWire>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    performed_via_github_app: Option<AppWire>,
}

#[derive(Deserialize)]
struct UserWire {
    login: String,
    #[serde(rename = "type", default)]
    account_type: Option<String>,
}

#[derive(Deserialize)]
struct AppWire {
    id: u64,
}

#[derive(Deserialize)]
struct PermissionWire {
    #[serde(default)]
    permission: Option<String>,
    #[serde(default)]
    role_name: Option<String>,
}

#[derive(Deserialize)]
struct ErrorWire {
    #[serde(default)]
    message: Option<String>,
}

impl From<CommentWire> for IssueComment {
    fn from(wire: CommentWire) -> Self {
        let (author, author_is_bot) = match wire.user {
            Some(user) => {
                let is_bot = user.account_type.as_deref() == Some("Bot");
                (Login(user.login), is_bot)
            }
            None => (Login(String::new()), false),
        };
        IssueComment {
            id: CommentId(wire.id),
            body: wire.body.unwrap_or_default(),
            author,
            author_is_bot,
            via_app_id: wire.performed_via_github_app.map(|app| app.id),
            created_at: wire.created_at,
            updated_at: wire.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker spawns these futures on a multi-threaded runtime; this only has to compile.
    #[allow(dead_code)]
    fn operations_are_send(gh: &InstallationClient, repo: &Repository, login: &Login) {
        fn send<T: Send>(_: T) {}
        send(gh.add_reaction(repo, CommentId(1), Reaction::Eyes));
        send(gh.create_comment(repo, PrNumber(1), "x"));
        send(gh.create_marked_comment(repo, PrNumber(1), "m", "x m"));
        send(gh.update_comment(repo, CommentId(1), "x"));
        send(gh.list_comments(repo, PrNumber(1)));
        send(gh.find_comment_with_marker(repo, PrNumber(1), "m"));
        send(gh.collaborator_permission(repo, login));
        send(gh.get_pull_request(repo, PrNumber(1)));
        send(gh.list_pull_request_files(repo, PrNumber(1)));
        send(gh.get_file_contents(repo, "a/b.sql", "abc"));
        send(gh.list_directory(repo, "a", "abc"));
    }

    #[test]
    fn base64_file_contents_decode_like_github_sends_them() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8gd29ybGQ").unwrap(), b"hello world");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("a*b=").is_none());
    }

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
    fn comment_wire_maps_bot_and_app() {
        let wire: CommentWire = serde_json::from_str(
            r#"{"id":7,"body":"hi","user":{"login":"schemabot[bot]","type":"Bot"},
                "created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T03:04:06Z",
                "performed_via_github_app":{"id":99,"slug":"schemabot"}}"#,
        )
        .unwrap();
        let comment = IssueComment::from(wire);
        assert_eq!(comment.id, CommentId(7));
        assert!(comment.author_is_bot);
        assert_eq!(comment.via_app_id, Some(99));
        assert_eq!(comment.author.0, "schemabot[bot]");
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

    #[test]
    fn oversized_bodies_are_refused_before_sending() {
        assert!(check_body(&"x".repeat(MAX_COMMENT_CHARS)).is_ok());
        assert!(check_body(&"x".repeat(MAX_COMMENT_CHARS + 1)).is_err());
    }

    #[test]
    fn invalid_key_is_a_config_error_without_key_material() {
        let config = GithubAppConfig::new(
            1,
            crate::config::PrivateKeyPem::new(
                "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key\n-----END RSA PRIVATE KEY-----",
            ),
            "http://127.0.0.1:9",
        )
        .unwrap();
        let error = GithubClient::new(&config).unwrap_err();
        assert!(matches!(error, GithubError::Config(_)));
        assert!(!error.to_string().contains("not-a-key"));
    }
}
