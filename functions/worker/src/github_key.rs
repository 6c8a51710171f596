//! The worker's GitHub client and where its App key comes from.
//!
//! In AWS the key is a Secrets Manager secret (`SCHEMABOT_GITHUB_PRIVATE_KEY_ARN`). A warm worker
//! lives for hours, so the secret is read again at most every
//! [`schemabot_github::KEY_REREAD_INTERVAL`] and at once when GitHub refuses the App's JWT: an
//! operator rotates the key by storing the new one in the secret, without a redeploy. Locally the
//! key comes from `SCHEMABOT_GITHUB_PRIVATE_KEY[_FILE]` and is fixed.

use crate::config_error::ConfigError;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use schemabot_github::{
    GithubAppConfig, GithubClient, GithubError, KeyRead, KeySource, KeySourceError, PrivateKeyPem,
    RetryPolicy, DEFAULT_API_BASE, ENV_API_URL, ENV_APP_ID, KEY_REREAD_INTERVAL,
};
use std::sync::Arc;

/// The Secrets Manager secret holding the App's PEM key.
pub const ENV_PRIVATE_KEY_ARN: &str = "SCHEMABOT_GITHUB_PRIVATE_KEY_ARN";

/// Why the GitHub client could not be built at start-up.
#[derive(Debug, thiserror::Error)]
pub enum GithubSetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Github(#[from] GithubError),
}

/// The App key as a Secrets Manager secret's string value.
pub struct SecretsManagerKey {
    client: aws_sdk_secretsmanager::Client,
    arn: String,
}

impl SecretsManagerKey {
    pub fn new(client: aws_sdk_secretsmanager::Client, arn: impl Into<String>) -> Self {
        SecretsManagerKey {
            client,
            arn: arn.into(),
        }
    }
}

impl KeySource for SecretsManagerKey {
    fn read_key(&self) -> KeyRead<'_> {
        Box::pin(async move {
            let value = self
                .client
                .get_secret_value()
                .secret_id(&self.arn)
                .send()
                .await
                // The SDK error names the ARN at most, never the secret value.
                .map_err(|e| {
                    KeySourceError(format!(
                        "reading {} failed: {}",
                        self.arn,
                        DisplayErrorContext(e)
                    ))
                })?;
            let pem = value
                .secret_string()
                .ok_or_else(|| KeySourceError(format!("{} has no string value", self.arn)))?;
            Ok(PrivateKeyPem::new(pem))
        })
    }
}

/// The worker's GitHub client from its settings (read through `lookup`, the process environment
/// in production): the key from Secrets Manager when `SCHEMABOT_GITHUB_PRIVATE_KEY_ARN` is set,
/// re-read while the worker runs; else the fixed key from the environment. A key that cannot be
/// read or parsed stops the worker here.
pub async fn github_client(
    secrets: &aws_sdk_secretsmanager::Client,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<GithubClient, GithubSetupError> {
    let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let Some(arn) = non_empty(ENV_PRIVATE_KEY_ARN) else {
        return Ok(GithubClient::new(&GithubAppConfig::from_lookup(&lookup)?)?);
    };
    let app_id = non_empty(ENV_APP_ID)
        .ok_or(ConfigError::Missing(ENV_APP_ID))?
        .trim()
        .parse::<u64>()
        .map_err(|e| ConfigError::Invalid {
            name: ENV_APP_ID,
            reason: e.to_string(),
        })?;
    let api_base = non_empty(ENV_API_URL).unwrap_or_else(|| DEFAULT_API_BASE.to_string());
    let key = SecretsManagerKey::new(secrets.clone(), arn.trim());
    Ok(GithubClient::with_key_source(
        app_id,
        &api_base,
        Arc::new(key),
        KEY_REREAD_INTERVAL,
        RetryPolicy::default(),
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn secrets() -> aws_sdk_secretsmanager::Client {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    fn lookup(vars: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        move |name| map.get(name).map(|v| v.to_string())
    }

    #[tokio::test]
    async fn a_secret_key_needs_a_numeric_app_id_before_anything_is_read() {
        let missing = github_client(&secrets(), lookup(&[(ENV_PRIVATE_KEY_ARN, "arn:x")]))
            .await
            .unwrap_err();
        assert!(missing.to_string().contains(ENV_APP_ID), "{missing}");
        let invalid = github_client(
            &secrets(),
            lookup(&[(ENV_PRIVATE_KEY_ARN, "arn:x"), (ENV_APP_ID, "app")]),
        )
        .await
        .unwrap_err();
        assert!(invalid.to_string().contains("is invalid"), "{invalid}");
    }

    #[tokio::test]
    async fn without_an_arn_the_key_comes_from_the_environment() {
        let error = github_client(&secrets(), lookup(&[(ENV_APP_ID, "1")]))
            .await
            .unwrap_err();
        assert!(matches!(error, GithubSetupError::Github(_)), "{error}");
        assert!(error.to_string().contains("is set"), "{error}");
    }
}
