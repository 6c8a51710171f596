//! Where target-database DSNs come from: configuration keyed by `(deployment, environment)`.
//!
//! Locally the map is the JSON in `SCHEMABOT_TARGET_DSNS`. In AWS the same JSON would be the
//! `SecretString` of a Secrets Manager secret, fetched once per cold start by the caller and
//! passed to [`DsnResolver::from_json`]; or a caller can implement [`DsnSource`] directly.
//! This crate never talks to AWS.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use crate::error::SentinelError;

/// The environment variable holding `{"<deployment>":{"<environment>":"mysql://..."}}`.
pub const TARGET_DSNS_ENV: &str = "SCHEMABOT_TARGET_DSNS";

/// A MySQL connection URL with credentials. Its `Debug` is redacted and it has no `Display`,
/// so it cannot end up in a log line or an error by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TargetDsn(String);

impl TargetDsn {
    pub fn new(url: impl Into<String>) -> Self {
        TargetDsn(url.into())
    }

    /// The secret URL itself, for handing to the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TargetDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TargetDsn(***)")
    }
}

/// The seam for secret storage: anything that can produce the DSN of a target database.
pub trait DsnSource: Send + Sync {
    fn target_dsn(
        &self,
        deployment: &str,
        environment: &str,
    ) -> impl Future<Output = Result<TargetDsn, SentinelError>> + Send;

    /// Drops what is remembered about `(deployment, environment)`'s DSN, so the next
    /// [`DsnSource::target_dsn`] reads it afresh (after the database refused the credentials:
    /// the secret may have been rotated). Sources that remember nothing do nothing.
    fn forget(&self, deployment: &str, environment: &str) -> impl Future<Output = ()> + Send {
        let _ = (deployment, environment);
        std::future::ready(())
    }
}

/// DSNs from static configuration.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DsnResolver {
    by_deployment: BTreeMap<String, BTreeMap<String, TargetDsn>>,
}

impl fmt::Debug for DsnResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: which deployments/environments are configured, never their DSNs.
        let names: Vec<(&str, Vec<&str>)> = self
            .by_deployment
            .iter()
            .map(|(dep, envs)| (dep.as_str(), envs.keys().map(String::as_str).collect()))
            .collect();
        f.debug_struct("DsnResolver")
            .field("targets", &names)
            .finish()
    }
}

impl DsnResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads [`TARGET_DSNS_ENV`].
    pub fn from_env() -> Result<Self, SentinelError> {
        let raw = std::env::var(TARGET_DSNS_ENV)
            .map_err(|_| SentinelError::MissingConfiguration(TARGET_DSNS_ENV))?;
        Self::from_json(&raw)
    }

    /// Parses `{"<deployment>":{"<environment>":"mysql://user:pass@host:port"}}`.
    pub fn from_json(json: &str) -> Result<Self, SentinelError> {
        let parsed: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_str(json)
            .map_err(|e| {
                // serde_json's message can quote the offending value (a DSN): keep the position.
                SentinelError::MalformedConfiguration(format!(
                    "{:?} error at line {} column {}",
                    e.classify(),
                    e.line(),
                    e.column()
                ))
            })?;
        let mut resolver = Self::new();
        for (deployment, environments) in parsed {
            for (environment, dsn) in environments {
                resolver = resolver.with_dsn(&deployment, &environment, TargetDsn::new(dsn));
            }
        }
        Ok(resolver)
    }

    pub fn with_dsn(mut self, deployment: &str, environment: &str, dsn: TargetDsn) -> Self {
        self.by_deployment
            .entry(deployment.to_string())
            .or_default()
            .insert(environment.to_string(), dsn);
        self
    }

    pub fn resolve(
        &self,
        deployment: &str,
        environment: &str,
    ) -> Result<&TargetDsn, SentinelError> {
        self.by_deployment
            .get(deployment)
            .ok_or_else(|| SentinelError::UnknownDeployment(deployment.to_string()))?
            .get(environment)
            .ok_or_else(|| SentinelError::UnknownEnvironment {
                deployment: deployment.to_string(),
                environment: environment.to_string(),
            })
    }
}

impl DsnSource for DsnResolver {
    async fn target_dsn(
        &self,
        deployment: &str,
        environment: &str,
    ) -> Result<TargetDsn, SentinelError> {
        self.resolve(deployment, environment).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_by_deployment_and_environment() {
        let resolver =
            DsnResolver::from_json(r#"{"testapp":{"staging":"mysql://u:s3cret@127.0.0.1:3306"}}"#)
                .unwrap();
        assert_eq!(
            resolver.resolve("testapp", "staging").unwrap().expose(),
            "mysql://u:s3cret@127.0.0.1:3306"
        );
        assert_eq!(
            resolver.resolve("other", "staging").unwrap_err(),
            SentinelError::UnknownDeployment("other".into())
        );
        assert!(matches!(
            resolver.resolve("testapp", "production").unwrap_err(),
            SentinelError::UnknownEnvironment { .. }
        ));
    }

    #[test]
    fn debug_output_never_shows_dsns() {
        let resolver =
            DsnResolver::from_json(r#"{"testapp":{"staging":"mysql://u:s3cret@127.0.0.1:3306"}}"#)
                .unwrap();
        let shown = format!("{resolver:?} {:?}", resolver.resolve("testapp", "staging"));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("testapp"), "{shown}");
    }

    #[test]
    fn malformed_configuration_does_not_echo_values() {
        let err = DsnResolver::from_json(r#"{"testapp":"mysql://u:s3cret@h:1"}"#).unwrap_err();
        assert!(matches!(err, SentinelError::MalformedConfiguration(_)));
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[tokio::test]
    async fn resolver_is_a_dsn_source() {
        let resolver = DsnResolver::new().with_dsn("a", "b", TargetDsn::new("mysql://x@h:1"));
        let dsn = resolver.target_dsn("a", "b").await.unwrap();
        assert_eq!(dsn.expose(), "mysql://x@h:1");
    }
}
