//! App authentication: installation access tokens (cached) and sending requests as an installation.

use super::request::{
    decode, describe, has_next_page, ApiCall, ApiReply, Credentials, Presented, Replay, Verb,
    PER_PAGE,
};
use super::{GithubClient, InstallationClient};
use crate::error::GithubError;
use crate::stats::RequestKind;
use crate::token::InstallationToken;
use chrono::{DateTime, Utc};
use octocrab::Octocrab;
use schemabot_domain::InstallationId;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The token response. Deliberately not `Debug`: it holds the token.
#[derive(Deserialize)]
struct AccessTokenWire {
    token: String,
    expires_at: DateTime<Utc>,
}

impl GithubClient {
    async fn installation_token(
        &self,
        installation: InstallationId,
    ) -> Result<InstallationToken, GithubError> {
        self.inner
            .core
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
        // expired one, and a retry after a 401 must use the key read again.
        let as_app = || async {
            let signed = self.inner.core.app_key.jwt(Utc::now()).await?;
            let presented = Presented::AppJwt {
                key_generation: signed.generation,
            };
            Ok((self.presenting(signed.jwt)?, presented))
        };
        let reply = self
            .inner
            .core
            .execute(&call, Replay::Always, as_app)
            .await?;
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
        Ok((
            self.presenting(token.secret.clone())?,
            Presented::Installation {
                installation,
                secret: token.secret,
            },
        ))
    }

    /// The App client's handle (same connection pool) sending `secret` as its bearer token.
    fn presenting(&self, secret: String) -> Result<Octocrab, GithubError> {
        self.inner
            .core
            .app
            .user_access_token(secret)
            .map_err(|e| GithubError::InvalidArgument(describe(&e)))
    }
}

impl InstallationClient {
    /// Sends `call` with this installation's token, through the retry core.
    pub(crate) async fn send(
        &self,
        call: &ApiCall,
        replay: Replay,
    ) -> Result<ApiReply, GithubError> {
        let client = &self.client;
        client
            .inner
            .core
            .execute(call, replay, || client.as_installation(self.installation))
            .await
    }

    /// GETs the list at `path` page by page ([`PER_PAGE`] a page, at most `max_pages`), handing
    /// each page to `visit` until it returns `true`. `Ok(false)` when the page bound cut it short.
    pub(crate) async fn scan_pages<T: DeserializeOwned>(
        &self,
        kind: RequestKind,
        path: &str,
        max_pages: u32,
        mut visit: impl FnMut(Vec<T>) -> bool,
    ) -> Result<bool, GithubError> {
        for page in 1..=max_pages {
            let call = ApiCall::get(kind, format!("{path}?per_page={PER_PAGE}&page={page}"));
            let reply = self.send(&call, Replay::Always).await?;
            let wire: Vec<T> = decode(kind, &reply.body)?;
            let received = wire.len();
            if visit(wire) || !has_next_page(reply.link.as_deref(), received) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
