//! Webhook configuration from the environment. Secrets come from Secrets Manager in AWS
//! (`SCHEMABOT_WEBHOOK_SECRET_ARN`) or `SCHEMABOT_WEBHOOK_SECRETS` locally (shapes in
//! [`crate::secret_value`]). Every problem — a missing or malformed variable, an empty repository
//! allowlist, a malformed or weak secret — is an error here, and the function refuses to start.
//! Messages name variables and ARNs, never secret values.

use crate::autoplan::{AutoplanConfigError, AutoplanPolicy, ASSOCIATIONS_VAR};
use crate::routing::RoutingConfig;
use crate::secret_value::{self, SecretValueError};
use crate::signature::WebhookSecrets;
use schemabot_domain::{Environment, IdError, Repository};

const REPOSITORIES_VAR: &str = "SCHEMABOT_REPOSITORIES";
const SECRETS_VAR: &str = "SCHEMABOT_WEBHOOK_SECRETS";
const SECRET_ARN_VAR: &str = "SCHEMABOT_WEBHOOK_SECRET_ARN";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name}: {source}")]
    Invalid { name: &'static str, source: IdError },
    #[error(
        "{REPOSITORIES_VAR} is empty: list the repositories (owner/name, comma-separated) allowed \
         to use SchemaBot; refusing to start (fail closed)"
    )]
    NoRepositories,
    #[error("{0}")]
    Autoplan(#[from] AutoplanConfigError),
    #[error(
        "no webhook secret is configured: set {SECRET_ARN_VAR} (Secrets Manager) or \
         {SECRETS_VAR}; refusing to start (fail closed)"
    )]
    NoSecret,
    /// `origin` names where the value came from (a variable, or the secret's ARN).
    #[error("{origin}: {error}; refusing to start (fail closed)")]
    BadSecret {
        origin: String,
        error: SecretValueError,
    },
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

/// Reads one variable; `None` when unset (or not Unicode).
type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

fn list(vars: Vars<'_>, var: &str) -> Vec<String> {
    vars(var)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn required(vars: Vars<'_>, var: &'static str) -> Result<String, ConfigError> {
    vars(var)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(var))
}

/// The comma-separated list in `var`, each entry parsed with `parse`.
fn parsed_list<T>(
    vars: Vars<'_>,
    var: &'static str,
    parse: impl Fn(&str) -> Result<T, IdError>,
) -> Result<Vec<T>, ConfigError> {
    list(vars, var)
        .iter()
        .map(|item| parse(item).map_err(|source| ConfigError::Invalid { name: var, source }))
        .collect()
}

impl WebhookConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        WebhookConfig::from_vars(&|var| std::env::var(var).ok())
    }

    /// The configuration from `vars` (the process environment in production; a map in tests).
    pub fn from_vars(vars: Vars<'_>) -> Result<Self, ConfigError> {
        let environments = parsed_list(vars, "SCHEMABOT_ENVIRONMENTS", Environment::parse)?;
        if environments.is_empty() {
            return Err(ConfigError::Missing("SCHEMABOT_ENVIRONMENTS"));
        }
        let owned = parsed_list(vars, "SCHEMABOT_OWNED_ENVIRONMENTS", Environment::parse)?;
        if let Some(stray) = owned.iter().find(|e| !environments.contains(e)) {
            return Err(ConfigError::OwnedNotConfigured(stray.to_string()));
        }
        let repositories = parsed_list(vars, REPOSITORIES_VAR, Repository::parse)?;
        if repositories.is_empty() {
            return Err(ConfigError::NoRepositories);
        }
        let autoplan = match vars(ASSOCIATIONS_VAR) {
            Some(value) => AutoplanPolicy::parse(&value)?,
            None => AutoplanPolicy::default(),
        };
        let primary = !matches!(
            vars("SCHEMABOT_PRIMARY").as_deref(),
            Some("false" | "0" | "no")
        );
        Ok(WebhookConfig {
            routing: RoutingConfig {
                environments,
                owned,
                primary,
                repositories,
                autoplan,
            },
            queue_url: required(vars, "SCHEMABOT_QUEUE_URL")?,
            table: required(vars, "SCHEMABOT_TABLE")?,
        })
    }
}

/// Parses a secret value as stored in Secrets Manager (`arn` names it in errors).
pub fn secrets_from_secret_string(arn: &str, value: &str) -> Result<WebhookSecrets, ConfigError> {
    secret_value::parse(value).map_err(|error| ConfigError::BadSecret {
        origin: format!("the webhook secret in Secrets Manager ({SECRET_ARN_VAR}={arn})"),
        error,
    })
}

/// Parses the local `SCHEMABOT_WEBHOOK_SECRETS` value; unset or blank is no secret at all.
pub fn secrets_from_local_value(value: Option<&str>) -> Result<WebhookSecrets, ConfigError> {
    match value {
        Some(value) if !value.trim().is_empty() => {
            secret_value::parse(value).map_err(|error| ConfigError::BadSecret {
                origin: SECRETS_VAR.to_string(),
                error,
            })
        }
        _ => Err(ConfigError::NoSecret),
    }
}

/// Loads the webhook secrets: Secrets Manager when `SCHEMABOT_WEBHOOK_SECRET_ARN` is set,
/// otherwise `SCHEMABOT_WEBHOOK_SECRETS`. Missing both is a start-up error (fail closed).
pub async fn load_secrets(sdk: &aws_config::SdkConfig) -> Result<WebhookSecrets, ConfigError> {
    if let Ok(arn) = std::env::var(SECRET_ARN_VAR) {
        let arn = arn.trim();
        if !arn.is_empty() {
            let client = aws_sdk_secretsmanager::Client::new(sdk);
            let out = client
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| ConfigError::SecretsManager(e.to_string()))?;
            let value = out
                .secret_string()
                .ok_or_else(|| ConfigError::SecretsManager("secret has no string value".into()))?;
            return secrets_from_secret_string(arn, value);
        }
    }
    secrets_from_local_value(std::env::var(SECRETS_VAR).ok().as_deref())
}

#[cfg(test)]
mod tests;
