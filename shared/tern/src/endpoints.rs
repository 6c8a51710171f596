//! Which Tern serves a `(deployment, environment)`: configuration, never stored on an apply,
//! so a changed address takes effect on the next call.

use std::collections::BTreeMap;

/// The environment variable holding the endpoint map as JSON:
/// `{"testapp":{"staging":"http://127.0.0.1:50051"}}`.
pub const TERN_ENDPOINTS_ENV: &str = "SCHEMABOT_TERN_ENDPOINTS";

/// Why an endpoint could not be configured or resolved. The wording of the resolution errors
/// follows SchemaBot's own, so operators see familiar messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{TERN_ENDPOINTS_ENV} is not set")]
    MissingConfiguration,
    #[error(
        "tern endpoint configuration is not a JSON object of deployment -> environment -> URI: {0}"
    )]
    MalformedConfiguration(String),
    #[error("tern endpoint for {deployment}/{environment} is not a valid URI")]
    InvalidUri {
        deployment: String,
        environment: String,
    },
    #[error(
        "tern endpoint for {deployment}/{environment} uses TLS, which this build does not support"
    )]
    TlsUnsupported {
        deployment: String,
        environment: String,
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

/// Map of deployment → environment → Tern endpoint URI (`http://host:port`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TernEndpoints {
    by_deployment: BTreeMap<String, BTreeMap<String, String>>,
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

    /// Parses `{"<deployment>":{"<environment>":"<uri>"}}`. A bare `host:port` (SchemaBot's own
    /// config format) is accepted and means `http://host:port`. An empty address is kept and
    /// reported when it is resolved, like SchemaBot does.
    pub fn from_json(json: &str) -> Result<Self, EndpointError> {
        let parsed: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_str(json)
            .map_err(|e| EndpointError::MalformedConfiguration(e.to_string()))?;
        let mut endpoints = Self::new();
        for (deployment, environments) in parsed {
            for (environment, address) in environments {
                endpoints = endpoints.with_endpoint(&deployment, &environment, &address)?;
            }
        }
        Ok(endpoints)
    }

    /// Adds (or replaces) one endpoint, validating and normalising its URI.
    pub fn with_endpoint(
        mut self,
        deployment: &str,
        environment: &str,
        address: &str,
    ) -> Result<Self, EndpointError> {
        let uri = normalise_uri(deployment, environment, address)?;
        self.by_deployment
            .entry(deployment.to_string())
            .or_default()
            .insert(environment.to_string(), uri);
        Ok(self)
    }

    /// The endpoint URI for `(deployment, environment)`.
    pub fn resolve(&self, deployment: &str, environment: &str) -> Result<&str, EndpointError> {
        let environments = self
            .by_deployment
            .get(deployment)
            .ok_or_else(|| EndpointError::UnknownDeployment(deployment.to_string()))?;
        let uri =
            environments
                .get(environment)
                .ok_or_else(|| EndpointError::UnknownEnvironment {
                    deployment: deployment.to_string(),
                    environment: environment.to_string(),
                })?;
        if uri.is_empty() {
            return Err(EndpointError::NotConfigured {
                deployment: deployment.to_string(),
                environment: environment.to_string(),
            });
        }
        Ok(uri)
    }

    /// Every configured `(deployment, environment, uri)`, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.by_deployment.iter().flat_map(|(deployment, envs)| {
            envs.iter()
                .map(move |(env, uri)| (deployment.as_str(), env.as_str(), uri.as_str()))
        })
    }
}

fn normalise_uri(
    deployment: &str,
    environment: &str,
    address: &str,
) -> Result<String, EndpointError> {
    let address = address.trim();
    if address.is_empty() {
        return Ok(String::new());
    }
    let invalid = || EndpointError::InvalidUri {
        deployment: deployment.to_string(),
        environment: environment.to_string(),
    };
    let with_scheme = if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    };
    let uri: tonic::codegen::http::Uri = with_scheme.parse().map_err(|_| invalid())?;
    match uri.scheme_str() {
        Some("http") => {}
        // tonic is built without a TLS stack here; fail at configuration time, not per call.
        Some("https") => {
            return Err(EndpointError::TlsUnsupported {
                deployment: deployment.to_string(),
                environment: environment.to_string(),
            })
        }
        _ => return Err(invalid()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid());
    }
    Ok(with_scheme)
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
        assert!(matches!(
            TernEndpoints::from_json(r#"{"testapp":{"staging":"https://tern:443"}}"#),
            Err(EndpointError::TlsUnsupported { .. })
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
