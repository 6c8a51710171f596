//! Which Tern serves a `(deployment, environment)`: configuration, never stored on an apply,
//! so a changed address takes effect on the next call.

use std::collections::BTreeMap;

use crate::tls::{
    normalise_uri, EndpointSetting, TernEndpoint, TlsMaterial, TlsSources, Transport,
};

/// The environment variable holding the endpoint map as JSON:
/// `{"testapp":{"staging":"http://127.0.0.1:50051"}}`, each endpoint a URI string or an
/// object ([`crate::tls::EndpointSpec`]).
pub const TERN_ENDPOINTS_ENV: &str = "SCHEMABOT_TERN_ENDPOINTS";

/// Why an endpoint could not be configured or resolved. The wording of the resolution errors
/// follows SchemaBot's own, so operators see familiar messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{TERN_ENDPOINTS_ENV} is not set")]
    MissingConfiguration,
    #[error(
        "tern endpoint configuration is not a JSON object of deployment -> environment -> endpoint: {0}"
    )]
    MalformedConfiguration(String),
    #[error("tern endpoint for {deployment}/{environment} is not a valid URI")]
    InvalidUri {
        deployment: String,
        environment: String,
    },
    #[error(
        "tern endpoint for {deployment}/{environment} is plain http but has TLS settings: use an https:// address"
    )]
    PlainWithTlsSettings {
        deployment: String,
        environment: String,
    },
    /// Unusable TLS material: unreadable file, PEM without certificates, key without
    /// certificate, a secret not loaded... Never quotes the material itself.
    #[error("TLS for tern endpoint {deployment}/{environment}: {reason}")]
    Tls {
        deployment: String,
        environment: String,
        reason: String,
    },
    #[error("unknown deployment: {0}")]
    UnknownDeployment(String),
    #[error("unknown environment \"{environment}\" for deployment \"{deployment}\"")]
    UnknownEnvironment {
        deployment: String,
        environment: String,
    },
    #[error("endpoint not configured for {deployment}/{environment}")]
    NotConfigured {
        deployment: String,
        environment: String,
    },
}

impl EndpointError {
    pub(crate) fn invalid_uri(deployment: &str, environment: &str) -> Self {
        EndpointError::InvalidUri {
            deployment: deployment.to_string(),
            environment: environment.to_string(),
        }
    }

    pub(crate) fn tls(deployment: &str, environment: &str, reason: impl Into<String>) -> Self {
        EndpointError::Tls {
            deployment: deployment.to_string(),
            environment: environment.to_string(),
            reason: reason.into(),
        }
    }
}

/// Configured endpoints, as parsed: deployment → environment → setting.
pub type EndpointSettings = BTreeMap<String, BTreeMap<String, EndpointSetting>>;

/// Map of deployment → environment → Tern endpoint (URI and, for `https://`, TLS material).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TernEndpoints {
    by_deployment: BTreeMap<String, BTreeMap<String, TernEndpoint>>,
}

impl TernEndpoints {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads [`TERN_ENDPOINTS_ENV`].
    pub fn from_env() -> Result<Self, EndpointError> {
        let raw =
            std::env::var(TERN_ENDPOINTS_ENV).map_err(|_| EndpointError::MissingConfiguration)?;
        Self::from_json(&raw)
    }

    /// Parses `{"<deployment>":{"<environment>":<endpoint>}}` and reads the files it names.
    /// An endpoint is a URI string (a bare `host:port`, SchemaBot's own config format, means
    /// `http://host:port`; an empty one is kept and reported when it is resolved, like
    /// SchemaBot does) or an object. Secret ARNs are refused here: only the worker fetches
    /// them ([`TernEndpoints::from_settings`]).
    pub fn from_json(json: &str) -> Result<Self, EndpointError> {
        let settings = parse_settings(json)?;
        let mut sources = TlsSources::new();
        for (deployment, environments) in &settings {
            for (environment, setting) in environments {
                setting.check_shape(deployment, environment)?;
                sources.read_files(deployment, environment, setting)?;
            }
        }
        Self::from_settings(&settings, &sources)
    }

    /// Resolves parsed settings with TLS material already read into `sources`.
    pub fn from_settings(
        settings: &EndpointSettings,
        sources: &TlsSources,
    ) -> Result<Self, EndpointError> {
        let mut endpoints = Self::new();
        for (deployment, environments) in settings {
            for (environment, setting) in environments {
                endpoints = endpoints.with_setting(deployment, environment, setting, sources)?;
            }
        }
        Ok(endpoints)
    }

    /// Adds (or replaces) one endpoint given as a URI string, validating and normalising it.
    /// `https://` verifies the server against the system roots.
    pub fn with_endpoint(
        self,
        deployment: &str,
        environment: &str,
        address: &str,
    ) -> Result<Self, EndpointError> {
        let setting = EndpointSetting::from(address);
        self.with_setting(deployment, environment, &setting, &TlsSources::new())
    }

    /// Adds (or replaces) one `https://` endpoint with explicit TLS material.
    pub fn with_tls_endpoint(
        self,
        deployment: &str,
        environment: &str,
        address: &str,
        material: TlsMaterial,
    ) -> Result<Self, EndpointError> {
        let uri = match normalise_uri(deployment, environment, address)? {
            Some((uri, Transport::Tls)) => uri,
            Some((_, Transport::Plain)) => {
                return Err(EndpointError::PlainWithTlsSettings {
                    deployment: deployment.to_string(),
                    environment: environment.to_string(),
                })
            }
            None => return Err(EndpointError::invalid_uri(deployment, environment)),
        };
        material
            .check(&uri)
            .map_err(|reason| EndpointError::tls(deployment, environment, reason))?;
        Ok(self.insert(
            deployment,
            environment,
            TernEndpoint {
                uri,
                tls: Some(material),
            },
        ))
    }

    /// Adds (or replaces) one endpoint from its setting, TLS material taken from `sources`.
    pub fn with_setting(
        self,
        deployment: &str,
        environment: &str,
        setting: &EndpointSetting,
        sources: &TlsSources,
    ) -> Result<Self, EndpointError> {
        let endpoint = setting.resolve(deployment, environment, sources)?;
        Ok(self.insert(deployment, environment, endpoint))
    }

    fn insert(mut self, deployment: &str, environment: &str, endpoint: TernEndpoint) -> Self {
        self.by_deployment
            .entry(deployment.to_string())
            .or_default()
            .insert(environment.to_string(), endpoint);
        self
    }

    /// The endpoint URI for `(deployment, environment)`.
    pub fn resolve(&self, deployment: &str, environment: &str) -> Result<&str, EndpointError> {
        self.resolve_endpoint(deployment, environment)
            .map(TernEndpoint::uri)
    }

    /// The endpoint for `(deployment, environment)`, with its TLS material.
    pub fn resolve_endpoint(
        &self,
        deployment: &str,
        environment: &str,
    ) -> Result<&TernEndpoint, EndpointError> {
        let environments = self
            .by_deployment
            .get(deployment)
            .ok_or_else(|| EndpointError::UnknownDeployment(deployment.to_string()))?;
        let endpoint =
            environments
                .get(environment)
                .ok_or_else(|| EndpointError::UnknownEnvironment {
                    deployment: deployment.to_string(),
                    environment: environment.to_string(),
                })?;
        if endpoint.uri.is_empty() {
            return Err(EndpointError::NotConfigured {
                deployment: deployment.to_string(),
                environment: environment.to_string(),
            });
        }
        Ok(endpoint)
    }

    /// Every configured `(deployment, environment, uri)`, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.by_deployment.iter().flat_map(|(deployment, envs)| {
            envs.iter()
                .map(move |(env, endpoint)| (deployment.as_str(), env.as_str(), endpoint.uri()))
        })
    }
}

/// Parses the endpoint map without reading files or checking addresses.
pub fn parse_settings(json: &str) -> Result<EndpointSettings, EndpointError> {
    serde_json::from_str(json).map_err(|e| EndpointError::MalformedConfiguration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str =
        r#"{"testapp":{"staging":"http://127.0.0.1:50051","production":"tern.internal:9090"}}"#;

    #[test]
    fn resolves_configured_endpoints() {
        let endpoints = TernEndpoints::from_json(CONFIG).unwrap();
        assert_eq!(
            endpoints.resolve("testapp", "staging").unwrap(),
            "http://127.0.0.1:50051"
        );
        // SchemaBot's host:port form gets a scheme.
        assert_eq!(
            endpoints.resolve("testapp", "production").unwrap(),
            "http://tern.internal:9090"
        );
        assert_eq!(endpoints.iter().count(), 2);
    }

    #[test]
    fn unknown_deployment_and_environment_use_schemabot_wording() {
        let endpoints = TernEndpoints::from_json(CONFIG).unwrap();
        let err = endpoints.resolve("payments", "staging").unwrap_err();
        assert_eq!(err, EndpointError::UnknownDeployment("payments".into()));
        assert_eq!(err.to_string(), "unknown deployment: payments");

        let err = endpoints.resolve("testapp", "qa").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"unknown environment "qa" for deployment "testapp""#
        );
    }

    #[test]
    fn empty_address_is_reported_on_resolution() {
        let endpoints = TernEndpoints::from_json(r#"{"testapp":{"staging":""}}"#).unwrap();
        assert_eq!(
            endpoints
                .resolve("testapp", "staging")
                .unwrap_err()
                .to_string(),
            "endpoint not configured for testapp/staging"
        );
    }

    #[test]
    fn malformed_configuration_is_rejected() {
        assert!(matches!(
            TernEndpoints::from_json(r#"["http://127.0.0.1:1"]"#),
            Err(EndpointError::MalformedConfiguration(_))
        ));
        assert!(matches!(
            TernEndpoints::from_json(r#"{"testapp":{"staging":5}}"#),
            Err(EndpointError::MalformedConfiguration(_))
        ));
        assert!(matches!(
            TernEndpoints::from_json(r#"{"testapp":{"staging":"ftp://host:1"}}"#),
            Err(EndpointError::InvalidUri { .. })
        ));
        assert!(matches!(
            TernEndpoints::from_json(r#"{"testapp":{"staging":"http://"}}"#),
            Err(EndpointError::InvalidUri { .. })
        ));
    }

    #[test]
    fn with_endpoint_builds_and_replaces() {
        let endpoints = TernEndpoints::new()
            .with_endpoint("testapp", "staging", "http://127.0.0.1:1")
            .unwrap()
            .with_endpoint("testapp", "staging", "http://127.0.0.1:2")
            .unwrap();
        assert_eq!(
            endpoints.resolve("testapp", "staging").unwrap(),
            "http://127.0.0.1:2"
        );
    }
}
