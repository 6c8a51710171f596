//! The client handles: [`GithubClient`] per process, [`InstallationClient`] per installation.

pub(crate) mod app_auth;
pub(crate) mod collaborators;
pub(crate) mod comments;
pub(crate) mod contents;
pub(crate) mod pulls;
pub(crate) mod reactions;
pub(crate) mod request;
pub(crate) mod reviews;

use crate::app_jwt::AppJwtSigner;
use crate::app_key::AppKey;
use crate::config::GithubAppConfig;
use crate::error::GithubError;
use crate::key_source::KeySource;
use crate::retry::RetryPolicy;
use crate::stats::RequestStats;
use crate::token::TokenCache;
use chrono::{DateTime, Utc};
use octocrab::Octocrab;
use request::{describe, Core};
use schemabot_domain::InstallationId;
use std::sync::Arc;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Per read/write on the socket; GitHub answers comment writes within a few seconds.
const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// The GitHub App client. Build one per process (e.g. before the Lambda runtime loop) and clone
/// it freely: clones share the HTTP connection pool, the installation-token cache and the request
/// counters, which is what makes tokens survive across warm invocations.
///
/// Must be created inside a Tokio runtime (octocrab spawns its request buffer on it).
#[derive(Debug, Clone)]
pub struct GithubClient {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub core: Core,
    pub app_id: u64,
}

impl GithubClient {
    /// A client with the default [`RetryPolicy`] (3 retries, waits ≤ 10 s).
    pub fn new(config: &GithubAppConfig) -> Result<Self, GithubError> {
        Self::with_retry_policy(config, RetryPolicy::default())
    }

    /// A client signing with the fixed key of `config`.
    pub fn with_retry_policy(
        config: &GithubAppConfig,
        retry: RetryPolicy,
    ) -> Result<Self, GithubError> {
        // The key error is summarised: the underlying message is not needed and must not echo
        // any part of the key.
        let signer = AppJwtSigner::from_pem(config.app_id, config.private_key_pem.expose())?;
        Self::build(config, AppKey::fixed(config.app_id, signer), retry)
    }

    /// A client whose App key comes from `source`: read once now (a key that cannot be read or
    /// parsed is an error here, as at start-up), then again at most every `reread_every`
    /// ([`crate::KEY_REREAD_INTERVAL`] in production) and at once when GitHub refuses a JWT, so
    /// a rotated key is used without rebuilding the client.
    pub async fn with_key_source(
        app_id: u64,
        api_base: &str,
        source: Arc<dyn KeySource>,
        reread_every: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, GithubError> {
        let pem = source.read_key().await.map_err(|e| {
            GithubError::Config(format!("cannot read the GitHub App private key: {e}"))
        })?;
        let config = GithubAppConfig::new(app_id, pem, api_base)?;
        let signer = AppJwtSigner::from_pem(app_id, config.private_key_pem.expose())?;
        let key = AppKey::from_source(app_id, signer, Some(source), reread_every);
        Self::build(&config, key, retry)
    }

    fn build(
        config: &GithubAppConfig,
        app_key: AppKey,
        retry: RetryPolicy,
    ) -> Result<Self, GithubError> {
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
                core: Core {
                    app,
                    retry,
                    app_key,
                    tokens: TokenCache::default(),
                    stats: Arc::new(RequestStats::default()),
                },
                app_id: config.app_id,
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
        self.inner.core.stats.clone()
    }

    pub fn app_id(&self) -> u64 {
        self.inner.app_id
    }

    /// When the cached token of this installation expires, if one is cached.
    pub async fn cached_token_expiry(&self, installation: InstallationId) -> Option<DateTime<Utc>> {
        self.inner.core.tokens.expiry(installation).await
    }
}

/// [`GithubClient`] bound to one installation. Cheap to create and clone.
#[derive(Debug, Clone)]
pub struct InstallationClient {
    pub(crate) client: GithubClient,
    pub(crate) installation: InstallationId,
}

impl InstallationClient {
    pub fn installation_id(&self) -> InstallationId {
        self.installation
    }
}

#[cfg(test)]
mod tests {
    use super::reactions::Reaction;
    use super::*;
    use schemabot_domain::{CommentId, Login, PrNumber, Repository};

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
        send(gh.list_pull_request_reviews(repo, PrNumber(1)));
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
