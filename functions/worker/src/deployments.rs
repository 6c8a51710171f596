//! The deployments map: `(deployment, environment)` → Tern endpoint and target-database DSN.
//!
//! `SCHEMABOT_DEPLOYMENTS` holds JSON such as
//! `{"payments": {"production": {"tern_endpoint": "http://10.0.1.5:50051",
//!   "dsn_secret_arn": "arn:aws:secretsmanager:…"}}}`. Locally `dsn` may hold the DSN itself.
//! DSNs fetched from Secrets Manager are cached for the life of the (warm) process.

use crate::config::ConfigError;
use schemabot_sentinel::{DsnSource, SentinelError, TargetDsn};
use schemabot_tern::TernEndpoints;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use tokio::sync::Mutex;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentEnvironment {
    pub tern_endpoint: String,
    #[serde(default)]
    dsn: Option<String>,
    #[serde(default)]
    dsn_secret_arn: Option<String>,
}

impl std::fmt::Debug for DeploymentEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeploymentEnvironment")
            .field("tern_endpoint", &self.tern_endpoint)
            .field("dsn", &self.dsn.as_ref().map(|_| "***"))
            .field("dsn_secret_arn", &self.dsn_secret_arn)
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Deployments {
    by_name: BTreeMap<String, BTreeMap<String, DeploymentEnvironment>>,
}

impl Deployments {
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let by_name: BTreeMap<String, BTreeMap<String, DeploymentEnvironment>> =
            serde_json::from_str(json).map_err(|e| ConfigError::Invalid {
                name: "SCHEMABOT_DEPLOYMENTS",
                reason: e.to_string(),
            })?;
        for (dep, envs) in &by_name {
            for (env, settings) in envs {
                if settings.dsn.is_none() && settings.dsn_secret_arn.is_none() {
                    return Err(ConfigError::Invalid {
                        name: "SCHEMABOT_DEPLOYMENTS",
                        reason: format!("{dep}/{env} has neither dsn nor dsn_secret_arn"),
                    });
                }
            }
        }
        let deployments = Deployments { by_name };
        deployments.tern_endpoints()?;
        Ok(deployments)
    }

    /// A single-deployment map (tests, demo).
    pub fn single(deployment: &str, environment: &str, tern_endpoint: &str, dsn: &str) -> Self {
        let mut by_name = BTreeMap::new();
        by_name
            .entry(deployment.to_string())
            .or_insert_with(BTreeMap::new)
            .insert(
                environment.to_string(),
                DeploymentEnvironment {
                    tern_endpoint: tern_endpoint.to_string(),
                    dsn: Some(dsn.to_string()),
                    dsn_secret_arn: None,
                },
            );
        Deployments { by_name }
    }

    /// Adds (or replaces) one environment of a deployment.
    pub fn with(
        mut self,
        deployment: &str,
        environment: &str,
        tern_endpoint: &str,
        dsn: &str,
    ) -> Self {
        self.by_name
            .entry(deployment.to_string())
            .or_default()
            .insert(
                environment.to_string(),
                DeploymentEnvironment {
                    tern_endpoint: tern_endpoint.to_string(),
                    dsn: Some(dsn.to_string()),
                    dsn_secret_arn: None,
                },
            );
        self
    }

    pub fn tern_endpoints(&self) -> Result<TernEndpoints, ConfigError> {
        let mut endpoints = TernEndpoints::new();
        for (dep, envs) in &self.by_name {
            for (env, settings) in envs {
                endpoints = endpoints
                    .with_endpoint(dep, env, &settings.tern_endpoint)
                    .map_err(|e| ConfigError::Invalid {
                        name: "SCHEMABOT_DEPLOYMENTS",
                        reason: e.to_string(),
                    })?;
            }
        }
        Ok(endpoints)
    }

    fn get(
        &self,
        deployment: &str,
        environment: &str,
    ) -> Result<&DeploymentEnvironment, SentinelError> {
        self.by_name
            .get(deployment)
            .ok_or_else(|| SentinelError::UnknownDeployment(deployment.to_string()))?
            .get(environment)
            .ok_or_else(|| SentinelError::UnknownEnvironment {
                deployment: deployment.to_string(),
                environment: environment.to_string(),
            })
    }
}

/// Resolves target DSNs: inline ones directly, secret ones from Secrets Manager (cached).
pub struct DeploymentDsns {
    deployments: Deployments,
    secrets: Option<aws_sdk_secretsmanager::Client>,
    cache: Mutex<HashMap<String, TargetDsn>>,
}

impl DeploymentDsns {
    pub fn new(deployments: Deployments, secrets: Option<aws_sdk_secretsmanager::Client>) -> Self {
        DeploymentDsns {
            deployments,
            secrets,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl DsnSource for DeploymentDsns {
    async fn target_dsn(
        &self,
        deployment: &str,
        environment: &str,
    ) -> Result<TargetDsn, SentinelError> {
        let settings = self.deployments.get(deployment, environment)?;
        if let Some(dsn) = &settings.dsn {
            return Ok(TargetDsn::new(dsn.clone()));
        }
        let arn = settings
            .dsn_secret_arn
            .clone()
            .ok_or_else(|| SentinelError::UnknownDeployment(deployment.to_string()))?;
        let mut cache = self.cache.lock().await;
        if let Some(dsn) = cache.get(&arn) {
            return Ok(dsn.clone());
        }
        let client = self.secrets.as_ref().ok_or_else(|| {
            SentinelError::Unreachable("no Secrets Manager client configured".into())
        })?;
        let value = client
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            // The SDK error names the ARN at most, never the secret value.
            .map_err(|e| {
                SentinelError::Unreachable(format!("reading the DSN secret failed: {e}"))
            })?;
        let dsn = TargetDsn::new(value.secret_string().unwrap_or_default().trim().to_string());
        cache.insert(arn, dsn.clone());
        Ok(dsn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployments_parse_and_never_print_dsns() {
        let d = Deployments::from_json(
            r#"{"payments":{"production":{"tern_endpoint":"http://10.0.0.1:50051","dsn":"mysql://u:hunter2@h/x"}}}"#,
        )
        .unwrap();
        assert!(!format!("{d:?}").contains("hunter2"));
        assert!(d
            .tern_endpoints()
            .unwrap()
            .resolve("payments", "production")
            .is_ok());
        assert!(Deployments::from_json(r#"{"p":{"e":{"tern_endpoint":"http://x:1"}}}"#).is_err());
        assert!(Deployments::from_json(
            r#"{"p":{"e":{"tern_endpoint":"http://x:1","dsn":"d","extra":1}}}"#
        )
        .is_err());
    }

    #[tokio::test]
    async fn inline_dsns_resolve_and_unknown_targets_fail() {
        let d = DeploymentDsns::new(
            Deployments::single("p", "staging", "http://x:1", "mysql://a@b/c"),
            None,
        );
        assert_eq!(
            d.target_dsn("p", "staging").await.unwrap().expose(),
            "mysql://a@b/c"
        );
        assert!(d.target_dsn("p", "production").await.is_err());
        assert!(d.target_dsn("q", "staging").await.is_err());
    }
}
