//! SchemaBot's GitHub App client, used by the worker.
//!
//! * Authenticates as a GitHub App (app id + RSA key → JWT → installation access token) and
//!   caches each installation's token in the client until 5 minutes before it expires, so a warm
//!   Lambda reuses it; one refresh at a time per installation.
//! * The App key is fixed, or re-read from a [`KeySource`] at most every few minutes and at once
//!   when GitHub refuses a JWT, so a rotated key is used without a redeploy.
//! * Typed operations, one HTTP request each on the happy path: 👀 reaction, create/update/list
//!   comments, find a comment by its hidden marker, collaborator permission.
//! * Exactly one retry layer (octocrab's own `retry` feature stays off): 5xx, connection failures
//!   and rate limits are retried a bounded number of times, waiting what GitHub asks for
//!   (`Retry-After`, `x-ratelimit-reset`) or an exponential backoff with jitter.
//! * Every HTTP attempt is counted per kind ([`RequestStats`]) for budget tests and metrics.
//! * Neither the private key nor tokens ever reach logs or error messages.

mod app_jwt;
mod app_key;
mod client;
mod config;
mod error;
mod key_source;
mod permission;
mod retry;
mod stats;
mod token;

pub use client::comments::{IssueComment, MAX_COMMENT_CHARS};
pub use client::contents::DirectoryEntry;
pub use client::pulls::{PullRequestFile, PullRequestInfo};
pub use client::reactions::Reaction;
pub use client::reviews::PullRequestReview;
pub use client::{GithubClient, InstallationClient};
pub use config::{
    GithubAppConfig, PrivateKeyPem, DEFAULT_API_BASE, ENV_API_URL, ENV_APP_ID, ENV_PRIVATE_KEY,
    ENV_PRIVATE_KEY_FILE,
};
pub use error::GithubError;
pub use key_source::{KeyRead, KeySource, KeySourceError, KEY_REREAD_INTERVAL};
pub use permission::{Permission, UnknownPermission};
pub use retry::RetryPolicy;
pub use stats::{RequestCounts, RequestKind, RequestStats};
pub use token::TOKEN_REFRESH_MARGIN;
