//! GitHub REST stand-in: an in-process axum server speaking the subset SchemaBot uses, keeping
//! comments and reactions in memory, recording every call, and failing on demand.
//!
//! Routes (GitHub's shapes, trimmed to what clients read plus what octocrab's models require):
//!
//! | route | behaviour |
//! |---|---|
//! | `POST /app/installations/{id}/access_tokens` | needs a Bearer App JWT: RS256 signed with the test App key (verified against its public half), unexpired, `iss` = the app id; returns `{"token":"ghs_…","expires_at":…}` valid one hour by default |
//! | `POST /repos/{o}/{r}/issues/{n}/comments` | creates a comment authored by the App's bot user |
//! | `PATCH /repos/{o}/{r}/issues/comments/{id}` | replaces the body |
//! | `GET /repos/{o}/{r}/issues/{n}/comments` | `per_page` (≤ 100, default 30) / `page`, with a `Link` header |
//! | `POST /repos/{o}/{r}/issues/comments/{id}/reactions` | 201 when new, 200 when already there |
//! | `GET /repos/{o}/{r}/collaborators/{u}/permission` | per-user configured level; unknown users 404 |
//! | `GET /repos/{o}/{r}/pulls/{n}` | seeded head sha ([`GithubStandin::seed_pull_request`]); unknown PRs 404 |
//! | `GET /repos/{o}/{r}/pulls/{n}/files` | the seeded changed files, paginated like comments |
//! | `GET /repos/{o}/{r}/contents/{path}?ref={sha}` | seeded file contents per ref, base64; a directory of seeded files lists them; else 404 |
//!
//! Everything except the token route needs an installation token this stand-in issued and that
//! has not expired or been revoked (else 401 "Bad credentials").

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use schemabot_domain::{CommentId, Login, PrNumber, Repository};
use schemabot_github::{GithubAppConfig, PrivateKeyPem};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The App id the stand-in's helpers configure clients with.
pub const TEST_APP_ID: u64 = 4242;
/// The App's bot user: comments created with an installation token are authored by it.
pub const BOT_LOGIN: &str = "schemabot[bot]";
const BOT_SLUG: &str = "schemabot";
/// A throwaway RSA key for tests only (see the file's first line). It signs nothing real.
pub const TEST_APP_PRIVATE_KEY_PEM: &str = include_str!("../fixtures/github-app-test-key.pem");

const SECONDARY_RATE_LIMIT_MESSAGE: &str = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.";
const DOCS: &str = "https://docs.github.com/rest";

/// Which endpoint a call hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    AccessToken,
    CreateComment,
    UpdateComment,
    ListComments,
    AddReaction,
    CollaboratorPermission,
    GetPullRequest,
    ListPullRequestFiles,
    GetFileContents,
    /// Anything outside the subset (answered 404).
    Unknown,
}

/// The credential a call presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Missing,
    /// A structurally valid App JWT; `app_id` is its `iss` claim.
    AppJwt {
        app_id: u64,
    },
    /// A token this stand-in issued (possibly expired or revoked by now).
    InstallationToken {
        token: String,
        installation: u64,
    },
    /// Anything else, verbatim.
    Unrecognised(String),
}

impl Credential {
    pub fn installation_token(&self) -> Option<&str> {
        match self {
            Credential::InstallationToken { token, .. } => Some(token),
            _ => None,
        }
    }
}

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub kind: CallKind,
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// The JSON body, if there was one (`Value::String` if it was not JSON).
    pub body: Option<Value>,
    pub credential: Credential,
    /// The status the stand-in answered with.
    pub status: u16,
    pub received_at: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredComment {
    pub id: CommentId,
    pub repo: Repository,
    pub pr: PrNumber,
    pub body: String,
    pub author: Login,
    pub author_is_bot: bool,
    /// The App that wrote it, for comments created with an installation token.
    pub app_id: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many times it was edited.
    pub edits: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReaction {
    pub id: u64,
    pub comment_id: CommentId,
    pub content: String,
    pub by: Login,
}

#[derive(Debug, Clone, Copy)]
enum FaultAction {
    /// Answer with this status without doing anything.
    Fail(u16),
    /// 403 with `Retry-After` and GitHub's secondary-rate-limit message.
    SecondaryRateLimit { retry_after_secs: u64 },
    /// 403 with `x-ratelimit-remaining: 0` and a reset this far ahead.
    PrimaryRateLimit { reset_in_secs: u64 },
    /// Perform the request, then answer 502 as if the response were lost on the way back.
    LoseResponse,
}

#[derive(Debug, Clone, Copy)]
struct Fault {
    only: Option<CallKind>,
    action: FaultAction,
}

#[derive(Debug, Clone)]
struct IssuedToken {
    installation: u64,
    app_id: u64,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct PermissionEntry {
    /// The legacy field: admin, write, read or none.
    permission: String,
    role_name: Option<String>,
}

#[derive(Debug)]
struct StandinState {
    base_url: String,
    next_comment_id: u64,
    next_reaction_id: u64,
    issued_tokens: u64,
    comments: Vec<StoredComment>,
    reactions: Vec<StoredReaction>,
    tokens: HashMap<String, IssuedToken>,
    permissions: HashMap<String, PermissionEntry>,
    faults: VecDeque<Fault>,
    calls: Vec<RecordedCall>,
    token_ttl: chrono::Duration,
    latency: Duration,
    /// (repo, pr) → seeded pull request.
    pulls: HashMap<(String, u64), SeededPull>,
    /// (repo, ref, path) → file text.
    contents: HashMap<(String, String, String), String>,
}

#[derive(Debug, Clone, Default)]
struct SeededPull {
    head_sha: String,
    /// (filename, status)
    files: Vec<(String, String)>,
}

type Shared = Arc<Mutex<StandinState>>;

fn lock(shared: &Shared) -> MutexGuard<'_, StandinState> {
    // A panicking test thread must not hide the state from the next assertion.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running stand-in. Dropping it stops the server too; [`GithubStandin::shutdown`] also waits.
#[derive(Debug)]
pub struct GithubStandin {
    state: Shared,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl GithubStandin {
    /// Binds `127.0.0.1:0` and serves on the current Tokio runtime.
    pub async fn start() -> std::io::Result<GithubStandin> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state: Shared = Arc::new(Mutex::new(StandinState {
            base_url: format!("http://{addr}"),
            next_comment_id: 1_000_001,
            next_reaction_id: 5_000_001,
            issued_tokens: 0,
            comments: Vec::new(),
            reactions: Vec::new(),
            tokens: HashMap::new(),
            permissions: HashMap::new(),
            faults: VecDeque::new(),
            calls: Vec::new(),
            token_ttl: chrono::Duration::hours(1),
            latency: Duration::ZERO,
            pulls: HashMap::new(),
            contents: HashMap::new(),
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::error!(%error, "GitHub stand-in stopped with an error");
            }
        });
        Ok(GithubStandin {
            state,
            addr,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:PORT`, to use as the API base.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration for this stand-in with the test App id and key.
    pub fn app_config(&self) -> GithubAppConfig {
        GithubAppConfig::new(
            TEST_APP_ID,
            PrivateKeyPem::new(test_key_pem()),
            &self.base_url(),
        )
        .expect("the stand-in's URL and test key form a valid config")
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    // ---- configuration ------------------------------------------------------------------

    /// Sets a user's permission by level name: `admin`, `maintain`, `write`, `triage`, `read` or
    /// `none`. The response carries `role_name` = the level and the legacy `permission` field as
    /// GitHub fills it (maintain → write, triage → read).
    pub fn set_permission(&self, login: &str, level: &str) {
        let level = level.to_ascii_lowercase();
        let legacy = match level.as_str() {
            "admin" => "admin",
            "maintain" | "write" => "write",
            "triage" | "read" => "read",
            _ => "none",
        };
        self.set_permission_fields(login, legacy, Some(&level));
    }

    /// Sets the raw response fields, e.g. a custom role: `("write", Some("release-manager"))`.
    pub fn set_permission_fields(&self, login: &str, permission: &str, role_name: Option<&str>) {
        lock(&self.state).permissions.insert(
            login.to_ascii_lowercase(),
            PermissionEntry {
                permission: permission.to_string(),
                role_name: role_name.map(str::to_string),
            },
        );
    }

    /// Makes the user unknown again (the permission endpoint answers 404).
    pub fn remove_permission(&self, login: &str) {
        lock(&self.state)
            .permissions
            .remove(&login.to_ascii_lowercase());
    }

    /// Adds a comment by a person (not through the API), e.g. the command comment.
    pub fn seed_comment(
        &self,
        repo: &Repository,
        pr: PrNumber,
        author: &str,
        body: &str,
    ) -> CommentId {
        let mut state = lock(&self.state);
        state.insert_comment(repo, pr, body, Login(author.to_string()), false, None)
    }

    /// Lifetime of tokens issued from now on (default one hour).
    /// Seeds (or replaces) a pull request: its head commit and the files it changes, as
    /// `(filename, status)` with GitHub's statuses (`added`, `modified`, `removed`, …).
    pub fn seed_pull_request(
        &self,
        repo: &Repository,
        pr: PrNumber,
        head_sha: &str,
        files: &[(&str, &str)],
    ) {
        lock(&self.state).pulls.insert(
            (repo.to_string(), pr.0),
            SeededPull {
                head_sha: head_sha.to_string(),
                files: files
                    .iter()
                    .map(|(f, st)| ((*f).to_string(), (*st).to_string()))
                    .collect(),
            },
        );
    }

    /// Seeds a file's text at a ref (commit sha or branch).
    pub fn seed_file(&self, repo: &Repository, git_ref: &str, path: &str, text: &str) {
        lock(&self.state).contents.insert(
            (repo.to_string(), git_ref.to_string(), path.to_string()),
            text.to_string(),
        );
    }

    pub fn set_token_ttl(&self, ttl: Duration) {
        lock(&self.state).token_ttl =
            chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1));
    }

    /// Invalidates every issued token: the next call with one gets 401 "Bad credentials".
    pub fn revoke_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    /// Delay before every response (to simulate GitHub's latency).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    // ---- fault injection (queued; each matching request consumes one) ----------------------

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

    // ---- inspection -----------------------------------------------------------------------

    /// The PR's comments, oldest first.
    pub fn comments(&self, repo: &Repository, pr: PrNumber) -> Vec<StoredComment> {
        lock(&self.state)
            .comments
            .iter()
            .filter(|c| &c.repo == repo && c.pr == pr)
            .cloned()
            .collect()
    }

    pub fn comment(&self, id: CommentId) -> Option<StoredComment> {
        lock(&self.state)
            .comments
            .iter()
            .find(|c| c.id == id)
            .cloned()
    }

    /// Reactions on one comment.
    pub fn reactions(&self, comment_id: CommentId) -> Vec<StoredReaction> {
        lock(&self.state)
            .reactions
            .iter()
            .filter(|r| r.comment_id == comment_id)
            .cloned()
            .collect()
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.state).calls.clone()
    }

    /// How many calls of `kind` arrived (failed ones included).
    pub fn count(&self, kind: CallKind) -> usize {
        lock(&self.state)
            .calls
            .iter()
            .filter(|c| c.kind == kind)
            .count()
    }

    /// All calls, every kind.
    pub fn total_calls(&self) -> usize {
        lock(&self.state).calls.len()
    }

    /// How many installation tokens were issued.
    pub fn issued_tokens(&self) -> u64 {
        lock(&self.state).issued_tokens
    }

    /// Forgets recorded calls (state and faults stay).
    pub fn clear_calls(&self) {
        lock(&self.state).calls.clear();
    }
}

impl Drop for GithubStandin {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The test key without its explanatory first line.
fn test_key_pem() -> &'static str {
    TEST_APP_PRIVATE_KEY_PEM
        .find("-----BEGIN")
        .map(|start| &TEST_APP_PRIVATE_KEY_PEM[start..])
        .unwrap_or(TEST_APP_PRIVATE_KEY_PEM)
}

// ---------------------------------------------------------------------------------------------
// Request handling

enum Route {
    AccessToken {
        installation: u64,
    },
    CreateComment {
        repo: Repository,
        pr: PrNumber,
    },
    ListComments {
        repo: Repository,
        pr: PrNumber,
    },
    UpdateComment {
        repo: Repository,
        id: CommentId,
    },
    AddReaction {
        repo: Repository,
        id: CommentId,
    },
    /// Permissions are configured per user, the same for every repository.
    CollaboratorPermission {
        login: String,
    },
    GetPullRequest {
        repo: Repository,
        pr: PrNumber,
    },
    ListPullRequestFiles {
        repo: Repository,
        pr: PrNumber,
    },
    GetFileContents {
        repo: Repository,
        path: String,
    },
    Unknown,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let repo = |owner: &str, name: &str| Repository::parse(&format!("{owner}/{name}")).ok();
        let number = |raw: &str| raw.parse::<u64>().ok();
        let parsed =
            match (method.as_str(), segments.as_slice()) {
                ("POST", ["app", "installations", id, "access_tokens"]) => {
                    number(id).map(|installation| Route::AccessToken { installation })
                }
                ("POST", ["repos", o, r, "issues", "comments", id, "reactions"]) => repo(o, r)
                    .zip(number(id))
                    .map(|(repo, id)| Route::AddReaction {
                        repo,
                        id: CommentId(id),
                    }),
                ("PATCH", ["repos", o, r, "issues", "comments", id]) => repo(o, r)
                    .zip(number(id))
                    .map(|(repo, id)| Route::UpdateComment {
                        repo,
                        id: CommentId(id),
                    }),
                ("POST", ["repos", o, r, "issues", n, "comments"]) => repo(o, r)
                    .zip(number(n))
                    .map(|(repo, n)| Route::CreateComment {
                        repo,
                        pr: PrNumber(n),
                    }),
                ("GET", ["repos", o, r, "issues", n, "comments"]) => {
                    repo(o, r)
                        .zip(number(n))
                        .map(|(repo, n)| Route::ListComments {
                            repo,
                            pr: PrNumber(n),
                        })
                }
                ("GET", ["repos", o, r, "pulls", n]) => {
                    repo(o, r)
                        .zip(number(n))
                        .map(|(repo, n)| Route::GetPullRequest {
                            repo,
                            pr: PrNumber(n),
                        })
                }
                ("GET", ["repos", o, r, "pulls", n, "files"]) => {
                    repo(o, r)
                        .zip(number(n))
                        .map(|(repo, n)| Route::ListPullRequestFiles {
                            repo,
                            pr: PrNumber(n),
                        })
                }
                ("GET", ["repos", o, r, "contents", rest @ ..]) if !rest.is_empty() => repo(o, r)
                    .map(|repo| Route::GetFileContents {
                        repo,
                        path: rest
                            .iter()
                            .map(|s| percent_decode(s))
                            .collect::<Vec<_>>()
                            .join("/"),
                    }),
                ("GET", ["repos", o, r, "collaborators", user, "permission"]) => {
                    repo(o, r).map(|_| Route::CollaboratorPermission {
                        login: percent_decode(user),
                    })
                }
                _ => None,
            };
        parsed.unwrap_or(Route::Unknown)
    }

    fn kind(&self) -> CallKind {
        match self {
            Route::AccessToken { .. } => CallKind::AccessToken,
            Route::CreateComment { .. } => CallKind::CreateComment,
            Route::ListComments { .. } => CallKind::ListComments,
            Route::UpdateComment { .. } => CallKind::UpdateComment,
            Route::AddReaction { .. } => CallKind::AddReaction,
            Route::CollaboratorPermission { .. } => CallKind::CollaboratorPermission,
            Route::GetPullRequest { .. } => CallKind::GetPullRequest,
            Route::ListPullRequestFiles { .. } => CallKind::ListPullRequestFiles,
            Route::GetFileContents { .. } => CallKind::GetFileContents,
            Route::Unknown => CallKind::Unknown,
        }
    }
}

/// A response before it becomes an axum one.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body,
        }
    }

    fn message(status: u16, message: &str) -> Answer {
        Answer::json(
            status,
            json!({ "message": message, "documentation_url": DOCS, "status": status.to_string() }),
        )
    }
}

async fn handle(
    axum::extract::State(shared): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = lock(&shared).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let route = Route::parse(&method, uri.path());
    let query = uri.query().unwrap_or_default().to_string();
    let json_body = (!body.is_empty()).then(|| {
        serde_json::from_slice::<Value>(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    });
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();

    let mut state = lock(&shared);
    let credential = state.identify(&authorization);
    let answer = state.answer(&route, &credential, &query, json_body.as_ref());
    state.calls.push(RecordedCall {
        kind: route.kind(),
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| uri.path().to_string()),
        body: json_body,
        credential,
        status: answer.status,
        received_at: Instant::now(),
    });
    drop(state);
    into_response(answer)
}

fn into_response(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(answer.body)).into_response();
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

impl StandinState {
    fn identify(&self, authorization: &str) -> Credential {
        let Some(presented) = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("token "))
            .map(str::trim)
        else {
            return if authorization.is_empty() {
                Credential::Missing
            } else {
                Credential::Unrecognised(authorization.to_string())
            };
        };
        if let Some(issued) = self.tokens.get(presented) {
            return Credential::InstallationToken {
                token: presented.to_string(),
                installation: issued.installation,
            };
        }
        if let Some(app_id) = app_id_from_jwt(presented) {
            return Credential::AppJwt { app_id };
        }
        Credential::Unrecognised(presented.to_string())
    }

    fn answer(
        &mut self,
        route: &Route,
        credential: &Credential,
        query: &str,
        body: Option<&Value>,
    ) -> Answer {
        if let Route::Unknown = route {
            return Answer::message(404, "Not Found");
        }
        let kind = route.kind();
        let mut lose_response = false;
        if let Some(position) = self
            .faults
            .iter()
            .position(|f| f.only.is_none_or(|only| only == kind))
        {
            let fault = self.faults.remove(position);
            match fault.map(|f| f.action) {
                Some(FaultAction::Fail(status)) => {
                    return Answer::message(status, "Server Error (injected)")
                }
                Some(FaultAction::SecondaryRateLimit { retry_after_secs }) => {
                    let mut answer = Answer::message(403, SECONDARY_RATE_LIMIT_MESSAGE);
                    answer
                        .headers
                        .push(("retry-after", retry_after_secs.to_string()));
                    return answer;
                }
                Some(FaultAction::PrimaryRateLimit { reset_in_secs }) => {
                    let reset = Utc::now().timestamp() + reset_in_secs as i64;
                    let mut answer =
                        Answer::message(403, "API rate limit exceeded for installation.");
                    answer.headers.push(("x-ratelimit-limit", "5000".into()));
                    answer.headers.push(("x-ratelimit-remaining", "0".into()));
                    answer
                        .headers
                        .push(("x-ratelimit-reset", reset.to_string()));
                    return answer;
                }
                Some(FaultAction::LoseResponse) => lose_response = true,
                None => {}
            }
        }

        let answer = match route {
            Route::AccessToken { installation } => self.issue_token(*installation, credential),
            _ => match self.installation_app(credential) {
                Some(app_id) => self.serve(route, app_id, query, body),
                None => Answer::message(401, "Bad credentials"),
            },
        };
        if lose_response {
            return Answer::message(502, "Bad Gateway (response lost after the write)");
        }
        answer
    }

    /// The App behind a valid, unexpired installation token.
    fn installation_app(&self, credential: &Credential) -> Option<u64> {
        let token = credential.installation_token()?;
        let issued = self.tokens.get(token)?;
        (issued.expires_at > Utc::now()).then_some(issued.app_id)
    }

    fn issue_token(&mut self, installation: u64, credential: &Credential) -> Answer {
        let Credential::AppJwt { app_id } = credential else {
            return Answer::message(401, "A JSON web token could not be decoded");
        };
        self.issued_tokens += 1;
        let token = format!("ghs_standin{:06}i{installation}", self.issued_tokens);
        let expires_at = Utc::now() + self.token_ttl;
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                installation,
                app_id: *app_id,
                expires_at,
            },
        );
        Answer::json(
            201,
            json!({
                "token": token,
                "expires_at": rfc3339(expires_at),
                "permissions": { "issues": "write", "pull_requests": "write", "metadata": "read" },
                "repository_selection": "all",
            }),
        )
    }

    fn serve(&mut self, route: &Route, app_id: u64, query: &str, body: Option<&Value>) -> Answer {
        match route {
            Route::CreateComment { repo, pr } => {
                let Some(text) = body_text(body) else {
                    return Answer::message(422, "Invalid request.\n\n\"body\" wasn't supplied.");
                };
                let id = self.insert_comment(
                    repo,
                    *pr,
                    &text,
                    Login(BOT_LOGIN.to_string()),
                    true,
                    Some(app_id),
                );
                match self.comments.iter().find(|c| c.id == id) {
                    Some(comment) => Answer::json(201, self.comment_json(comment)),
                    None => Answer::message(500, "comment vanished"),
                }
            }
            Route::UpdateComment { repo, id } => {
                let Some(text) = body_text(body) else {
                    return Answer::message(422, "Invalid request.\n\n\"body\" wasn't supplied.");
                };
                let Some(comment) = self
                    .comments
                    .iter_mut()
                    .find(|c| c.id == *id && &c.repo == repo)
                else {
                    return Answer::message(404, "Not Found");
                };
                comment.body = text;
                comment.updated_at = Utc::now();
                comment.edits += 1;
                let comment = comment.clone();
                Answer::json(200, self.comment_json(&comment))
            }
            Route::ListComments { repo, pr } => self.list_comments(repo, *pr, query),
            Route::AddReaction { repo, id } => {
                let content = body
                    .and_then(|b| b.get("content"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                const CONTENTS: [&str; 8] = [
                    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
                ];
                if !CONTENTS.contains(&content.as_str()) {
                    return Answer::message(422, "Validation Failed");
                }
                if !self.comments.iter().any(|c| c.id == *id && &c.repo == repo) {
                    return Answer::message(404, "Not Found");
                }
                let bot = Login(BOT_LOGIN.to_string());
                if let Some(existing) = self
                    .reactions
                    .iter()
                    .find(|r| r.comment_id == *id && r.content == content && r.by == bot)
                {
                    return Answer::json(200, reaction_json(existing));
                }
                let reaction = StoredReaction {
                    id: self.next_reaction_id,
                    comment_id: *id,
                    content,
                    by: bot,
                };
                self.next_reaction_id += 1;
                let answer = Answer::json(201, reaction_json(&reaction));
                self.reactions.push(reaction);
                answer
            }
            Route::CollaboratorPermission { login } => {
                match self.permissions.get(&login.to_ascii_lowercase()) {
                    Some(entry) => Answer::json(
                        200,
                        json!({
                            "permission": entry.permission,
                            "role_name": entry.role_name,
                            "user": user_json(&self.base_url, login, false),
                        }),
                    ),
                    None => Answer::message(404, "Not Found"),
                }
            }
            Route::GetPullRequest { repo, pr } => match self.pulls.get(&(repo.to_string(), pr.0)) {
                Some(pull) => Answer::json(
                    200,
                    json!({
                        "number": pr.0,
                        "state": "open",
                        "head": {"sha": pull.head_sha, "ref": "feature"},
                        "base": {"ref": "main"},
                    }),
                ),
                None => Answer::message(404, "Not Found"),
            },
            Route::ListPullRequestFiles { repo, pr } => self.list_files(repo, *pr, query),
            Route::GetFileContents { repo, path } => {
                let git_ref = query
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(key, _)| *key == "ref")
                    .map(|(_, value)| percent_decode(value))
                    .unwrap_or_else(|| "main".to_string());
                match self
                    .contents
                    .get(&(repo.to_string(), git_ref.clone(), path.clone()))
                {
                    Some(text) => {
                        let encoded = base64_lines(text.as_bytes());
                        Answer::json(
                            200,
                            json!({
                                "type": "file",
                                "path": path,
                                "encoding": "base64",
                                "size": text.len(),
                                "content": encoded,
                            }),
                        )
                    }
                    None => self.list_seeded_directory(repo, &git_ref, path),
                }
            }
            Route::AccessToken { .. } | Route::Unknown => Answer::message(404, "Not Found"),
        }
    }

    /// A directory listing (GitHub's array form) of the files seeded under `dir` at `git_ref`;
    /// 404 when none are.
    fn list_seeded_directory(&self, repo: &Repository, git_ref: &str, dir: &str) -> Answer {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let mut children = std::collections::BTreeMap::new();
        for (seeded_repo, seeded_ref, path) in self.contents.keys() {
            if seeded_repo != repo.as_str() || seeded_ref != git_ref {
                continue;
            }
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let (name, kind) = match rest.split_once('/') {
                Some((sub, _)) => (sub.to_string(), "dir"),
                None => (rest.to_string(), "file"),
            };
            children.insert(name, kind);
        }
        if children.is_empty() {
            return Answer::message(404, "Not Found");
        }
        let entries: Vec<Value> = children
            .into_iter()
            .map(|(name, kind)| {
                json!({"name": name, "path": format!("{prefix}{name}"), "type": kind})
            })
            .collect();
        Answer::json(200, Value::Array(entries))
    }

    fn list_files(&self, repo: &Repository, pr: PrNumber, query: &str) -> Answer {
        let Some(pull) = self.pulls.get(&(repo.to_string(), pr.0)) else {
            return Answer::message(404, "Not Found");
        };
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| *key == name)
                .and_then(|(_, value)| value.parse::<usize>().ok())
        };
        let per_page = param("per_page").unwrap_or(30).clamp(1, 100);
        let page = param("page").unwrap_or(1).max(1);
        let last_page = pull.files.len().div_ceil(per_page).max(1);
        let items: Vec<Value> = pull
            .files
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|(filename, status)| {
                json!({"filename": filename, "status": status, "additions": 1, "deletions": 0, "changes": 1})
            })
            .collect();
        let mut answer = Answer::json(200, Value::Array(items));
        if page < last_page {
            answer.headers.push((
                "link",
                format!(
                    "<{}/repos/{}/pulls/{}/files?per_page={per_page}&page={}>; rel=\"next\"",
                    self.base_url,
                    repo,
                    pr.0,
                    page + 1
                ),
            ));
        }
        answer
    }

    fn list_comments(&self, repo: &Repository, pr: PrNumber, query: &str) -> Answer {
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| *key == name)
                .and_then(|(_, value)| value.parse::<usize>().ok())
        };
        let per_page = param("per_page").unwrap_or(30).clamp(1, 100);
        let page = param("page").unwrap_or(1).max(1);
        let all: Vec<&StoredComment> = self
            .comments
            .iter()
            .filter(|c| &c.repo == repo && c.pr == pr)
            .collect();
        let last_page = all.len().div_ceil(per_page).max(1);
        let items: Vec<Value> = all
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|c| self.comment_json(c))
            .collect();

        let mut answer = Answer::json(200, Value::Array(items));
        let page_url = |n: usize| {
            format!(
                "{}/repos/{}/issues/{}/comments?per_page={per_page}&page={n}",
                self.base_url, repo, pr.0
            )
        };
        let mut links = Vec::new();
        if page < last_page {
            links.push(format!("<{}>; rel=\"next\"", page_url(page + 1)));
            links.push(format!("<{}>; rel=\"last\"", page_url(last_page)));
        }
        if page > 1 {
            links.push(format!("<{}>; rel=\"first\"", page_url(1)));
            links.push(format!("<{}>; rel=\"prev\"", page_url(page - 1)));
        }
        if !links.is_empty() {
            answer.headers.push(("link", links.join(", ")));
        }
        answer
    }

    fn insert_comment(
        &mut self,
        repo: &Repository,
        pr: PrNumber,
        body: &str,
        author: Login,
        author_is_bot: bool,
        app_id: Option<u64>,
    ) -> CommentId {
        let id = CommentId(self.next_comment_id);
        self.next_comment_id += 1;
        let now = Utc::now();
        self.comments.push(StoredComment {
            id,
            repo: repo.clone(),
            pr,
            body: body.to_string(),
            author,
            author_is_bot,
            app_id,
            created_at: now,
            updated_at: now,
            edits: 0,
        });
        id
    }

    fn comment_json(&self, comment: &StoredComment) -> Value {
        let base = &self.base_url;
        let repo = &comment.repo;
        json!({
            "id": comment.id.0,
            "node_id": format!("IC_standin{}", comment.id.0),
            "url": format!("{base}/repos/{repo}/issues/comments/{}", comment.id.0),
            "html_url": format!("https://github.com/{repo}/pull/{}#issuecomment-{}", comment.pr.0, comment.id.0),
            "issue_url": format!("{base}/repos/{repo}/issues/{}", comment.pr.0),
            "body": comment.body,
            "user": user_json(base, &comment.author.0, comment.author_is_bot),
            "created_at": rfc3339(comment.created_at),
            "updated_at": rfc3339(comment.updated_at),
            "author_association": if comment.author_is_bot { "NONE" } else { "MEMBER" },
            "performed_via_github_app": comment.app_id.map(|id| json!({
                "id": id,
                "slug": BOT_SLUG,
                "node_id": format!("A_standin{id}"),
                "name": "SchemaBot",
            })),
            "reactions": self.reaction_summary(comment),
        })
    }

    fn reaction_summary(&self, comment: &StoredComment) -> Value {
        let count = |content: &str| {
            self.reactions
                .iter()
                .filter(|r| r.comment_id == comment.id && r.content == content)
                .count()
        };
        let total = self
            .reactions
            .iter()
            .filter(|r| r.comment_id == comment.id)
            .count();
        json!({
            "url": format!("{}/repos/{}/issues/comments/{}/reactions", self.base_url, comment.repo, comment.id.0),
            "total_count": total,
            "+1": count("+1"), "-1": count("-1"), "laugh": count("laugh"), "confused": count("confused"),
            "heart": count("heart"), "hooray": count("hooray"), "rocket": count("rocket"), "eyes": count("eyes"),
        })
    }
}

fn reaction_json(reaction: &StoredReaction) -> Value {
    json!({
        "id": reaction.id,
        "node_id": format!("REA_standin{}", reaction.id),
        "content": reaction.content,
        "user": user_json("https://api.github.com", &reaction.by.0, true),
        "created_at": rfc3339(Utc::now()),
    })
}

/// A user object with every field octocrab's `Author` model requires.
fn user_json(base: &str, login: &str, is_bot: bool) -> Value {
    let escaped = percent_encode(login);
    let api = format!("{base}/users/{escaped}");
    json!({
        "login": login,
        "id": stable_id(login),
        "node_id": format!("U_standin{}", stable_id(login)),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", stable_id(login)),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("https://github.com/{escaped}"),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": if is_bot { "Bot" } else { "User" },
        "site_admin": false,
    })
}

/// Standard base64 in 60-character lines, as GitHub's contents API sends it.
fn base64_lines(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    let mut lines = String::with_capacity(out.len() + out.len() / 60 + 1);
    for (i, c) in out.chars().enumerate() {
        if i > 0 && i % 60 == 0 {
            lines.push('\n');
        }
        lines.push(c);
    }
    lines.push('\n');
    lines
}

fn body_text(body: Option<&Value>) -> Option<String> {
    body?.get("body")?.as_str().map(str::to_string)
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A deterministic positive id per login (FNV-1a), so the same user keeps the same id.
fn stable_id(login: &str) -> u64 {
    let hash = login.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % 100_000_000 + 1
}

fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(value)) => {
                out.push(value);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The public half of the test App key (PKCS#1 `RSAPublicKey` DER), as GitHub keeps it.
fn test_app_public_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| test_app_key_pair().public().as_ref().to_vec())
}

/// The test App key (the fixture is PKCS#1 PEM).
fn test_app_key_pair() -> ring::signature::RsaKeyPair {
    use base64::Engine as _;
    let body: String = test_key_pem()
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("the test key fixture is base64 PEM");
    ring::signature::RsaKeyPair::from_der(&der).expect("the test key fixture is a PKCS#1 RSA key")
}

/// The `iss` claim of an unexpired RS256 JWT whose signature verifies with the test App key,
/// as GitHub checks an App's JWT.
fn app_id_from_jwt(jwt: &str) -> Option<u64> {
    let mut parts = jwt.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || signature.is_empty() {
        return None;
    }
    let signed = &jwt[..header.len() + 1 + payload.len()];
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        test_app_public_key(),
    )
    .verify(signed.as_bytes(), &base64url_decode(signature)?)
    .ok()?;
    let header: Value = serde_json::from_slice(&base64url_decode(header)?).ok()?;
    if header.get("alg")?.as_str()? != "RS256" {
        return None;
    }
    let claims: Value = serde_json::from_slice(&base64url_decode(payload)?).ok()?;
    let exp = claims.get("exp")?.as_i64()?;
    if exp <= Utc::now().timestamp() {
        return None;
    }
    match claims.get("iss")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut bit_count = 0u32;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            out.push((bits >> bit_count) as u8);
            bits &= (1 << bit_count) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trip_of_a_known_value() {
        assert_eq!(
            base64url_decode("eyJhbGciOiJSUzI1NiJ9").as_deref(),
            Some(br#"{"alg":"RS256"}"#.as_slice())
        );
        assert!(base64url_decode("a+b").is_none());
    }

    fn base64url(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn signed_jwt(claims: &Value) -> String {
        let pair = test_app_key_pair();
        let signed = format!(
            "{}.{}",
            base64url(br#"{"alg":"RS256","typ":"JWT"}"#),
            base64url(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .unwrap();
        format!("{signed}.{}", base64url(&signature))
    }

    #[test]
    fn app_jwts_need_the_test_keys_signature_and_a_future_exp() {
        let exp = Utc::now().timestamp() + 300;
        let good = signed_jwt(&json!({"iss": 4242, "exp": exp}));
        assert_eq!(app_id_from_jwt(&good), Some(4242));

        let (signed, signature) = good.rsplit_once('.').unwrap();
        let first = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{signed}.{first}{}", &signature[1..]);
        assert_eq!(app_id_from_jwt(&forged), None);

        let other_claims = base64url(json!({"iss": 1, "exp": exp}).to_string().as_bytes());
        let (header, rest) = good.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let swapped = format!("{header}.{other_claims}.{signature}");
        assert_eq!(app_id_from_jwt(&swapped), None);

        let expired = signed_jwt(&json!({"iss": 4242, "exp": exp - 600}));
        assert_eq!(app_id_from_jwt(&expired), None);
    }

    #[test]
    fn routes_are_recognised() {
        let post = Method::POST;
        assert!(matches!(
            Route::parse(&post, "/repos/o/r/issues/comments/5/reactions"),
            Route::AddReaction {
                id: CommentId(5),
                ..
            }
        ));
        assert!(matches!(
            Route::parse(&post, "/repos/o/r/issues/7/comments"),
            Route::CreateComment {
                pr: PrNumber(7),
                ..
            }
        ));
        assert!(matches!(
            Route::parse(&Method::GET, "/repos/o/r/collaborators/a%5Bbot%5D/permission"),
            Route::CollaboratorPermission { ref login, .. } if login == "a[bot]"
        ));
        assert!(matches!(
            Route::parse(&Method::DELETE, "/repos/o/r/issues/7/comments"),
            Route::Unknown
        ));
    }
}
