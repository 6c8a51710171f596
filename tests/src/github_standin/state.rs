//! The stand-in's shared state, the handle to it, and the recording of every call.

use chrono::{DateTime, Utc};
use schemabot_domain::{CommentId, Login, PrNumber, Repository};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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
    ListReviews,
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
pub(super) enum FaultAction {
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
pub(super) struct Fault {
    pub only: Option<CallKind>,
    pub action: FaultAction,
}

#[derive(Debug, Clone)]
pub(super) struct IssuedToken {
    pub installation: u64,
    pub app_id: u64,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(super) struct PermissionEntry {
    /// The legacy field: admin, write, read or none.
    pub permission: String,
    pub role_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct SeededPull {
    pub head_sha: String,
    /// (filename, status)
    pub files: Vec<(String, String)>,
    /// `None` = [`super::pulls::DEFAULT_PR_AUTHOR`].
    pub author: Option<String>,
    /// `None` = `main`.
    pub base_ref: Option<String>,
    /// `None` = `open`.
    pub state: Option<String>,
}

/// A review as set on the stand-in.
#[derive(Debug, Clone)]
pub(super) struct SeededReview {
    pub id: u64,
    pub login: String,
    pub state: String,
    pub commit_id: String,
}

#[derive(Debug)]
pub(super) struct StandinState {
    pub base_url: String,
    pub next_comment_id: u64,
    pub next_reaction_id: u64,
    pub issued_tokens: u64,
    pub comments: Vec<StoredComment>,
    pub reactions: Vec<StoredReaction>,
    pub tokens: HashMap<String, IssuedToken>,
    pub permissions: HashMap<String, PermissionEntry>,
    pub faults: VecDeque<Fault>,
    pub calls: Vec<RecordedCall>,
    pub token_ttl: chrono::Duration,
    /// The public half of the App key GitHub accepts JWTs from (PKCS#1 DER); `None` = the
    /// fixture key [`super::TEST_APP_PRIVATE_KEY_PEM`].
    pub app_public_key: Option<Vec<u8>>,
    pub latency: Duration,
    /// (repo, pr) → seeded pull request.
    pub pulls: HashMap<(String, u64), SeededPull>,
    /// (repo, ref, path) → file text.
    pub contents: HashMap<(String, String, String), String>,
    /// (repo, pr) → reviews, oldest first.
    pub reviews: HashMap<(String, u64), Vec<SeededReview>>,
    pub next_review_id: u64,
}

impl StandinState {
    /// An empty stand-in serving at `base_url`.
    pub fn new(base_url: String) -> StandinState {
        StandinState {
            base_url,
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
            app_public_key: None,
            latency: Duration::ZERO,
            pulls: HashMap::new(),
            contents: HashMap::new(),
            reviews: HashMap::new(),
            next_review_id: 7_000_001,
        }
    }
}

pub(super) type Shared = Arc<Mutex<StandinState>>;

pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, StandinState> {
    // A panicking test thread must not hide the state from the next assertion.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running stand-in. Dropping it stops the server too; [`GithubStandin::shutdown`] also waits.
#[derive(Debug)]
pub struct GithubStandin {
    pub(super) state: Shared,
    pub(super) addr: SocketAddr,
    pub(super) stop: Option<oneshot::Sender<()>>,
    pub(super) server: Option<JoinHandle<()>>,
}

impl GithubStandin {
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

    /// Forgets recorded calls (state and faults stay).
    pub fn clear_calls(&self) {
        lock(&self.state).calls.clear();
    }
}
