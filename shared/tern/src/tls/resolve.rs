//! Resolving a configured endpoint with its loaded sources into a checked [`TernEndpoint`].

use super::config::EndpointSetting;
use super::material::TlsMaterial;
use super::sources::{parse_identity_secret, TlsSources};
use super::uri::{normalise_uri, Transport};
use crate::endpoints::EndpointError;

impl EndpointSetting {
    /// The endpoint with its TLS material, from `sources` (files read and secrets fetched
    /// beforehand). The material is checked: a CA bundle without certificates, a key that
    /// does not parse or does not match its certificate, a missing secret are errors here.
    pub fn resolve(
        &self,
        deployment: &str,
        environment: &str,
        sources: &TlsSources,
    ) -> Result<TernEndpoint, EndpointError> {
        self.check_shape(deployment, environment)?;
        let Some((uri, transport)) = normalise_uri(deployment, environment, self.address())? else {
            // An empty address string: reported when it is resolved for a call.
            return Ok(TernEndpoint {
                uri: String::new(),
                tls: None,
            });
        };
        if transport == Transport::Plain {
            return Ok(TernEndpoint { uri, tls: None });
        }
        let tls_error = |reason: String| EndpointError::tls(deployment, environment, reason);
        let mut material = TlsMaterial::system_roots();
        if let EndpointSetting::Detailed(spec) = self {
            if let Some(path) = &spec.ca_file {
                material = material.with_ca_pem(sources.file("ca_file", path).map_err(tls_error)?);
            }
            if let Some(arn) = &spec.ca_secret_arn {
                let pem = sources.secret("ca_secret_arn", arn).map_err(tls_error)?;
                material = material.with_ca_pem(pem.as_bytes());
            }
            if let (Some(cert), Some(key)) = (&spec.client_cert_file, &spec.client_key_file) {
                material = material.with_client_identity(
                    sources.file("client_cert_file", cert).map_err(tls_error)?,
                    sources.file("client_key_file", key).map_err(tls_error)?,
                );
            }
            if let Some(arn) = &spec.client_identity_secret_arn {
                let secret = sources
                    .secret("client_identity_secret_arn", arn)
                    .map_err(tls_error)?;
                let identity = parse_identity_secret(secret)
                    .map_err(|reason| tls_error(format!("secret {arn}: {reason}")))?;
                material = material.with_client_identity(identity.cert_pem, identity.key_pem);
            }
            if let Some(name) = &spec.tls_server_name {
                material = material.with_server_name(name.trim());
            }
        }
        material.check(&uri).map_err(tls_error)?;
        Ok(TernEndpoint {
            uri,
            tls: Some(material),
        })
    }
}

/// A resolved endpoint: the URI and, for `https://`, the TLS material.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TernEndpoint {
    pub(crate) uri: String,
    pub(crate) tls: Option<TlsMaterial>,
}

impl TernEndpoint {
    /// `http(s)://host:port`; empty when the address was configured empty.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// `None` for plain `http://`.
    pub fn tls(&self) -> Option<&TlsMaterial> {
        self.tls.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use crate::endpoints::TernEndpoints;
    use crate::tls::test_support::{one, pki, TempDir};
    use crate::tls::TlsMaterial;

    #[test]
    fn https_with_a_ca_file_and_client_identity_files_resolves() {
        let pki = pki();
        let dir = TempDir::new();
        let json = one(serde_json::json!({
            "address": "https://tern.internal:9443",
            "ca_file": dir.write("ca.pem", &pki.ca_pem),
            "client_cert_file": dir.write("client.pem", &pki.client_cert_pem),
            "client_key_file": dir.write("client.key", &pki.client_key_pem),
        }));
        let endpoints = TernEndpoints::from_json(&json).unwrap();
        let endpoint = endpoints.resolve_endpoint("testapp", "staging").unwrap();
        assert_eq!(endpoint.uri(), "https://tern.internal:9443");
        let tls = endpoint.tls().unwrap();
        assert!(tls.has_client_identity());
        // Debug names the parts, never the key.
        let shown = format!("{endpoints:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(shown.contains("configured CA"), "{shown}");
    }

    #[test]
    fn https_strings_use_the_system_roots_and_http_stays_plain() {
        let endpoints = TernEndpoints::from_json(
            r#"{"testapp":{"staging":"https://tern.internal:9443","production":"tern:9090"}}"#,
        )
        .unwrap();
        let staging = endpoints.resolve_endpoint("testapp", "staging").unwrap();
        assert_eq!(staging.tls(), Some(&TlsMaterial::system_roots()));
        let production = endpoints.resolve_endpoint("testapp", "production").unwrap();
        assert_eq!(production.uri(), "http://tern:9090");
        assert!(production.tls().is_none());
    }
}
