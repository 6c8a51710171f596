//! The deployments map: `(deployment, environment)` → Tern endpoint, target-database DSN and the
//! sources allowed to change that database.
//!
//! `SCHEMABOT_DEPLOYMENTS` holds JSON such as
//! `{"payments": {"production": {"tern_endpoint": "http://10.0.1.5:50051",
//!   "dsn_secret_arn": "arn:aws:secretsmanager:…", "repositories": ["acme/payments"],
//!   "schema_dirs": ["schema/payments"]}}}`. Locally `dsn` may hold the DSN itself.
//! `repositories` is required (an empty list denies every repository); `schema_dirs` is optional.
//!
//! `tern_endpoint` is a URI string or an object for TLS (`schemabot_tern::EndpointSpec`):
//! `{"address": "https://tern.internal:9443", "ca_secret_arn": "…",
//!   "client_identity_secret_arn": "…"}` in AWS, `ca_file`/`client_cert_file`/`client_key_file`
//! locally. Files are read when the map is parsed, secrets by [`Deployments::load_tern_secrets`]
//! at start-up; the worker does not start with unusable TLS material.

use crate::config_error::ConfigError;
use schemabot_domain::ownership::{SchemaDirPrefix, SourcePolicy};
use schemabot_domain::Repository;
use schemabot_sentinel::{DsnSource, SentinelError, TargetDsn};
use schemabot_tern::{EndpointSetting, TernEndpoints, TlsSources};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentEnvironment {
    pub tern_endpoint: EndpointSetting,
    #[serde(default)]
    dsn: Option<String>,
    #[serde(default)]
    dsn_secret_arn: Option<String>,
    /// Required: naming no repository must be a decision, not an omission.
    repositories: Vec<Repository>,
    #[serde(default)]
    schema_dirs: Vec<SchemaDirPrefix>,
}

impl std::fmt::Debug for DeploymentEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeploymentEnvironment")
            .field("tern_endpoint", &self.tern_endpoint)
            .field("dsn", &self.dsn.as_ref().map(|_| "***"))
            .field("dsn_secret_arn", &self.dsn_secret_arn)
            .field("repositories", &self.repositories)
            .field("schema_dirs", &self.schema_dirs)
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Deployments {
    by_name: BTreeMap<String, BTreeMap<String, DeploymentEnvironment>>,
    /// The Tern endpoints' TLS material: files read at parse time, secrets at start-up.
    tern_tls: TlsSources,
    /// The resolved endpoints, built on first use (checking TLS material loads the system
    /// roots, which is not for every job); reset whenever the map or its material changes.
    tern: OnceLock<Result<TernEndpoints, schemabot_tern::EndpointError>>,
}

impl Deployments {
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let by_name: BTreeMap<String, BTreeMap<String, DeploymentEnvironment>> =
            serde_json::from_str(json).map_err(|e| ConfigError::Invalid {
                name: "SCHEMABOT_DEPLOYMENTS",
                reason: e.to_string(),
            })?;
        let mut tern_tls = TlsSources::new();
        for (dep, envs) in &by_name {
            for (env, settings) in envs {
                if settings.dsn.is_none() && settings.dsn_secret_arn.is_none() {
                    return Err(ConfigError::Invalid {
                        name: "SCHEMABOT_DEPLOYMENTS",
                        reason: format!("{dep}/{env} has neither dsn nor dsn_secret_arn"),
                    });
                }
                settings
                    .tern_endpoint
                    .check_shape(dep, env)
                    .and_then(|()| tern_tls.read_files(dep, env, &settings.tern_endpoint))
                    .map_err(invalid_endpoint)?;
            }
        }
        let deployments = Deployments {
            by_name,
            tern_tls,
            tern: OnceLock::new(),
        };
        // With secrets the full check waits for `load_tern_secrets`.
        if deployments.tern_secret_arns().is_empty() {
            deployments.tern_endpoints()?;
        }
        Ok(deployments)
    }

    /// Every Secrets Manager secret the Tern endpoints' TLS material comes from.
    pub fn tern_secret_arns(&self) -> BTreeSet<String> {
        self.by_name
            .values()
            .flat_map(BTreeMap::values)
            .flat_map(|settings| settings.tern_endpoint.secret_arns())
            .map(str::to_string)
            .collect()
    }

    /// Fetches the Tern TLS secrets (CA bundles, client identities) once, at start-up. Does
    /// nothing when no endpoint names a secret.
    pub async fn load_tern_secrets(
        &mut self,
        client: &aws_sdk_secretsmanager::Client,
    ) -> Result<(), ConfigError> {
        for arn in self.tern_secret_arns() {
            let value = client
                .get_secret_value()
                .secret_id(&arn)
                .send()
                .await
                // The SDK error names the ARN at most, never the secret value.
                .map_err(|e| ConfigError::Secret {
                    what: "a Tern TLS secret",
                    reason: format!("{arn}: {e}"),
                })?;
            let text = value.secret_string().ok_or_else(|| ConfigError::Secret {
                what: "a Tern TLS secret",
                reason: format!("{arn} has no string value"),
            })?;
            self.tern_tls.insert_secret(arn.clone(), text);
        }
        self.tern = OnceLock::new();
        Ok(())
    }

    /// Adds (or replaces) one environment of a deployment, with an inline DSN.
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
                    tern_endpoint: EndpointSetting::from(tern_endpoint),
                    dsn: Some(dsn.to_string()),
                    dsn_secret_arn: None,
                    repositories: vec![],
                    schema_dirs: vec![],
                },
            );
        self.tern = OnceLock::new();
        self
    }

    /// Allows `repository` to target `deployment` in every environment configured so far.
    pub fn owned_by(mut self, deployment: &str, repository: &Repository) -> Self {
        for settings in self
            .by_name
            .get_mut(deployment)
            .into_iter()
            .flat_map(|e| e.values_mut())
        {
            if !settings.repositories.contains(repository) {
                settings.repositories.push(repository.clone());
            }
        }
        self
    }

    /// The sources allowed to change `deployment` in `environment`; `None` when that deployment
    /// has no such environment.
    pub fn source_policy(&self, deployment: &str, environment: &str) -> Option<SourcePolicy> {
        let settings = self.by_name.get(deployment)?.get(environment)?;
        Some(SourcePolicy {
            repositories: settings.repositories.clone(),
            schema_dirs: settings.schema_dirs.clone(),
        })
    }

    /// The Tern endpoints with their TLS material (checked).
    pub fn tern_endpoints(&self) -> Result<TernEndpoints, ConfigError> {
        self.tern
            .get_or_init(|| {
                let mut endpoints = TernEndpoints::new();
                for (dep, envs) in &self.by_name {
                    for (env, settings) in envs {
                        endpoints = endpoints.with_setting(
                            dep,
                            env,
                            &settings.tern_endpoint,
                            &self.tern_tls,
                        )?;
                    }
                }
                Ok(endpoints)
            })
            .clone()
            .map_err(invalid_endpoint)
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

fn invalid_endpoint(error: schemabot_tern::EndpointError) -> ConfigError {
    ConfigError::Invalid {
        name: "SCHEMABOT_DEPLOYMENTS",
        reason: error.to_string(),
    }
}

/// Resolves target DSNs: inline ones directly, secret ones from Secrets Manager — cached for at
/// most [`DSN_CACHE_TTL`], and forgotten at once when the database refuses them, so a rotated
/// secret is picked up without a redeploy.
pub struct DeploymentDsns {
    deployments: Deployments,
    secrets: Option<aws_sdk_secretsmanager::Client>,
    cache: Mutex<HashMap<String, (TargetDsn, Instant)>>,
}

/// How long a DSN read from Secrets Manager is reused.
pub const DSN_CACHE_TTL: Duration = Duration::from_secs(300);

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
        if let Some((dsn, read_at)) = cache.get(&arn) {
            if read_at.elapsed() < DSN_CACHE_TTL {
                return Ok(dsn.clone());
            }
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
        cache.insert(arn, (dsn.clone(), Instant::now()));
        Ok(dsn)
    }

    async fn forget(&self, deployment: &str, environment: &str) {
        let Ok(settings) = self.deployments.get(deployment, environment) else {
            return;
        };
        if let Some(arn) = &settings.dsn_secret_arn {
            self.cache.lock().await.remove(arn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployments_parse_and_never_print_dsns() {
        let d = Deployments::from_json(
            r#"{"payments":{"production":{"tern_endpoint":"http://10.0.0.1:50051","dsn":"mysql://u:hunter2@h/x","repositories":["acme/payments"]}}}"#,
        )
        .unwrap();
        assert!(!format!("{d:?}").contains("hunter2"));
        assert!(d
            .tern_endpoints()
            .unwrap()
            .resolve("payments", "production")
            .is_ok());
        assert!(Deployments::from_json(
            r#"{"p":{"e":{"tern_endpoint":"http://x:1","repositories":[]}}}"#
        )
        .is_err());
        assert!(Deployments::from_json(
            r#"{"p":{"e":{"tern_endpoint":"http://x:1","dsn":"d","repositories":[],"extra":1}}}"#
        )
        .is_err());
        let missing =
            Deployments::from_json(r#"{"p":{"e":{"tern_endpoint":"http://x:1","dsn":"d"}}}"#)
                .unwrap_err()
                .to_string();
        assert!(
            missing.contains("missing field `repositories`"),
            "{missing}"
        );
    }

    #[test]
    fn each_environment_names_the_sources_allowed_to_change_it() {
        let d = Deployments::from_json(
            r#"{"payments":{"production":{"tern_endpoint":"http://x:1","dsn":"d","repositories":["acme/payments"],"schema_dirs":["schema/payments"]},"staging":{"tern_endpoint":"http://x:1","dsn":"d","repositories":[]}}}"#,
        )
        .unwrap();
        let production = d.source_policy("payments", "production").unwrap();
        assert_eq!(production.repositories.len(), 1);
        assert_eq!(production.schema_dirs[0].as_str(), "schema/payments");
        assert!(d
            .source_policy("payments", "staging")
            .unwrap()
            .repositories
            .is_empty());
        assert!(d.source_policy("payments", "qa").is_none());
        assert!(d.source_policy("orders", "production").is_none());
        for bad in [
            r#""repositories":["not-a-repo"]"#,
            r#""repositories":[],"schema_dirs":["../up"]"#,
        ] {
            let json =
                format!(r#"{{"p":{{"e":{{"tern_endpoint":"http://x:1","dsn":"d",{bad}}}}}}}"#);
            assert!(Deployments::from_json(&json).is_err(), "{bad}");
        }
    }

    #[test]
    fn tern_endpoints_take_the_object_form_strictly() {
        let d = Deployments::from_json(
            r#"{"p":{"e":{"tern_endpoint":{"address":"https://tern.internal:9443","ca_secret_arn":"arn:ca","client_identity_secret_arn":"arn:id"},"dsn":"d","repositories":[]},"f":{"tern_endpoint":"tern:9090","dsn":"d","repositories":[]}}}"#,
        )
        .unwrap();
        assert_eq!(
            d.tern_secret_arns().into_iter().collect::<Vec<_>>(),
            vec!["arn:ca".to_string(), "arn:id".to_string()]
        );
        // The secrets come at start-up; until then the endpoints cannot be built.
        let err = d.tern_endpoints().unwrap_err().to_string();
        assert!(err.contains("arn:ca was not loaded"), "{err}");

        for (endpoint, expected) in [
            (
                r#"{"address":"https://t:1","ca_fle":"/ca.pem"}"#,
                "unknown field `ca_fle`",
            ),
            (
                r#"{"address":"http://t:1","ca_file":"/ca.pem"}"#,
                "plain http but has TLS settings",
            ),
            (
                r#"{"address":"https://t:1","client_cert_file":"/c.pem"}"#,
                "client_cert_file needs client_key_file",
            ),
            (
                r#"{"address":"https://t:1","ca_file":"/nonexistent/ca.pem"}"#,
                "cannot read ca_file /nonexistent/ca.pem",
            ),
        ] {
            let json = format!(
                r#"{{"p":{{"e":{{"tern_endpoint":{endpoint},"dsn":"d","repositories":[]}}}}}}"#
            );
            let err = Deployments::from_json(&json).unwrap_err().to_string();
            assert!(err.contains(expected), "{endpoint}: {err}");
            assert!(err.contains("SCHEMABOT_DEPLOYMENTS"), "{err}");
        }
    }

    #[test]
    fn added_environments_are_seen_by_the_endpoints() {
        let d = Deployments::default().with("p", "staging", "http://x:1", "mysql://a@b/c");
        assert!(d
            .tern_endpoints()
            .unwrap()
            .resolve("p", "production")
            .is_err());
        let d = d.with("p", "production", "http://x:2", "mysql://a@b/c");
        assert_eq!(
            d.tern_endpoints()
                .unwrap()
                .resolve("p", "production")
                .unwrap(),
            "http://x:2"
        );
    }

    #[tokio::test]
    async fn inline_dsns_resolve_and_unknown_targets_fail() {
        let d = DeploymentDsns::new(
            Deployments::default().with("p", "staging", "http://x:1", "mysql://a@b/c"),
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
