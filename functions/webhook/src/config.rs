//! Webhook configuration from the environment. Secrets come from Secrets Manager in AWS
//! (`SCHEMABOT_WEBHOOK_SECRET_ARN`) or `SCHEMABOT_WEBHOOK_SECRETS` locally; without one the
//! function refuses to start.

use crate::routing::RoutingConfig;
use crate::signature::{SecretsError, WebhookSecrets};
use schemabot_domain::{Environment, IdError, Repository};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name}: {source}")]
    Invalid { name: &'static str, source: IdError },
    #[error("{0}")]
    Secrets(#[from] SecretsError),
    #[error(
        "no webhook secret is configured: set SCHEMABOT_WEBHOOK_SECRET_ARN (Secrets Manager) or \
         SCHEMABOT_WEBHOOK_SECRETS; refusing to start (fail closed)"
    )]
    NoSecret,
    #[error("could not read the webhook secret from Secrets Manager: {0}")]
    SecretsManager(String),
    #[error("SCHEMABOT_OWNED_ENVIRONMENTS names `{0}`, which is not in SCHEMABOT_ENVIRONMENTS")]
    OwnedNotConfigured(String),
}

/// Everything the webhook needs besides its AWS clients.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub routing: RoutingConfig,
    pub queue_url: String,
    pub table: String,
}

fn list(var: &str) -> Vec<String> {
    std::env::var(var)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn required(var: &'static str) -> Result<String, ConfigError> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(var))
}

fn environment_list(var: &'static str) -> Result<Vec<Environment>, ConfigError> {
    list(var)
        .iter()
        .map(|e| Environment::parse(e).map_err(|source| ConfigError::Invalid { name: var, source }))
        .collect()
}

impl WebhookConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let environments = environment_list("SCHEMABOT_ENVIRONMENTS")?;
        if environments.is_empty() {
            return Err(ConfigError::Missing("SCHEMABOT_ENVIRONMENTS"));
        }
        let owned = environment_list("SCHEMABOT_OWNED_ENVIRONMENTS")?;
        if let Some(stray) = owned.iter().find(|e| !environments.contains(e)) {
            return Err(ConfigError::OwnedNotConfigured(stray.to_string()));
        }
        let repositories = list("SCHEMABOT_REPOSITORIES")
            .iter()
            .map(|r| {
                Repository::parse(r).map_err(|source| ConfigError::Invalid {
                    name: "SCHEMABOT_REPOSITORIES",
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let primary = !matches!(
            std::env::var("SCHEMABOT_PRIMARY").as_deref(),
            Ok("false" | "0" | "no")
        );
        Ok(WebhookConfig {
            routing: RoutingConfig {
                environments,
                owned,
                primary,
                repositories,
            },
            queue_url: required("SCHEMABOT_QUEUE_URL")?,
            table: required("SCHEMABOT_TABLE")?,
        })
    }
}

/// Parses a secret value as stored in Secrets Manager: a JSON object with `current` and optional
/// `previous` keys, a JSON array, or a comma-separated string.
pub fn secrets_from_secret_string(value: &str) -> Result<WebhookSecrets, ConfigError> {
    #[derive(serde::Deserialize)]
    struct Pair {
        current: String,
        #[serde(default)]
        previous: Option<String>,
    }
    if let Ok(pair) = serde_json::from_str::<Pair>(value) {
        let mut all = vec![pair.current];
        all.extend(pair.previous);
        return Ok(WebhookSecrets::new(&all)?);
    }
    if let Ok(array) = serde_json::from_str::<Vec<String>>(value) {
        return Ok(WebhookSecrets::new(&array)?);
    }
    Ok(WebhookSecrets::from_comma_separated(value)?)
}

/// Loads the webhook secrets: Secrets Manager when `SCHEMABOT_WEBHOOK_SECRET_ARN` is set,
/// otherwise `SCHEMABOT_WEBHOOK_SECRETS`. Missing both is a start-up error (fail closed).
pub async fn load_secrets(sdk: &aws_config::SdkConfig) -> Result<WebhookSecrets, ConfigError> {
    if let Ok(arn) = std::env::var("SCHEMABOT_WEBHOOK_SECRET_ARN") {
        if !arn.trim().is_empty() {
            let client = aws_sdk_secretsmanager::Client::new(sdk);
            let out = client
                .get_secret_value()
                .secret_id(arn.trim())
                .send()
                .await
                .map_err(|e| ConfigError::SecretsManager(e.to_string()))?;
            let value = out
                .secret_string()
                .ok_or_else(|| ConfigError::SecretsManager("secret has no string value".into()))?;
            return secrets_from_secret_string(value);
        }
    }
    match WebhookSecrets::from_comma_separated(
        &std::env::var("SCHEMABOT_WEBHOOK_SECRETS").unwrap_or_default(),
    ) {
        Err(SecretsError::Missing) => Err(ConfigError::NoSecret),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_strings_in_all_supported_shapes() {
        assert!(secrets_from_secret_string(r#"{"current":"a","previous":"b"}"#).is_ok());
        assert!(secrets_from_secret_string(r#"{"current":"a"}"#).is_ok());
        assert!(secrets_from_secret_string(r#"["a","b"]"#).is_ok());
        assert!(secrets_from_secret_string("a,b").is_ok());
        assert!(matches!(
            secrets_from_secret_string(""),
            Err(ConfigError::Secrets(SecretsError::Missing))
        ));
        assert!(matches!(
            secrets_from_secret_string(r#"{"current":""}"#),
            Err(ConfigError::Secrets(SecretsError::Missing))
        ));
    }
}
