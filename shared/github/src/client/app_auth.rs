//! App authentication: installation access tokens (cached) and sending requests as an installation.

use super::request::{decode, describe, ApiCall, ApiReply, Credentials, Presented, Replay, Verb};
use super::{GithubClient, InstallationClient};
use crate::error::GithubError;
use crate::stats::RequestKind;
use crate::token::InstallationToken;
use chrono::{DateTime, Utc};
use schemabot_domain::InstallationId;
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
            let crab = self
                .inner
                .core
                .app
                .user_access_token(signed.jwt)
                .map_err(|e| GithubError::InvalidArgument(describe(&e)))?;
            Ok((
                crab,
                Presented::AppJwt {
                    key_generation: signed.generation,
                },
            ))
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
        let crab = self
            .inner
            .core
            .app
            .user_access_token(token.secret.clone())
            .map_err(|e| GithubError::InvalidArgument(describe(&e)))?;
        Ok((
            crab,
            Presented::Installation {
                installation,
                secret: token.secret,
            },
        ))
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
}
