//! TLS material as PEM: building it, tonic's client TLS configuration, and checking the PEM.

use std::fmt;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use super::uri::describe;

/// What a TLS connection to one Tern needs, as PEM. `Debug` never shows key material.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct TlsMaterial {
    /// Trusted CA certificates; `None` means the system roots.
    ca_pem: Option<Vec<u8>>,
    /// Client certificate chain and private key, for servers that require mTLS.
    identity: Option<(Vec<u8>, Vec<u8>)>,
    /// The name the server's certificate must carry, when it is not the URI's host.
    server_name: Option<String>,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field(
                "roots",
                &if self.ca_pem.is_some() {
                    "configured CA"
                } else {
                    "system"
                },
            )
            .field("client_identity", &self.identity.as_ref().map(|_| "***"))
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl TlsMaterial {
    /// Verifies the server against the system's root certificates, no client certificate.
    pub fn system_roots() -> Self {
        Self::default()
    }

    /// Verifies the server against these CA certificates (PEM) instead of the system roots.
    pub fn with_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Presents this certificate chain (PEM) and proves it with `key_pem`.
    pub fn with_client_identity(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.identity = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Expects this name in the server's certificate (and sends it as SNI).
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    pub fn has_client_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// tonic's client TLS configuration; `handshake_timeout` bounds the TLS handshake.
    pub fn client_config(&self, handshake_timeout: Duration) -> ClientTlsConfig {
        let mut config = ClientTlsConfig::new().timeout(handshake_timeout);
        config = match &self.ca_pem {
            Some(pem) => config.ca_certificate(Certificate::from_pem(pem)),
            None => config.with_native_roots(),
        };
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        if let Some(name) = &self.server_name {
            config = config.domain_name(name.clone());
        }
        config
    }

    /// Parses the PEM and builds the connector for `uri` once, without dialling: what would
    /// otherwise fail on every call (or, for a CA bundle without certificates, fail every
    /// handshake) fails here. The reason never quotes the PEM.
    pub fn check(&self, uri: &str) -> Result<(), String> {
        if let Some(pem) = &self.ca_pem {
            let count = count_certificates(pem).map_err(|()| "the CA bundle is not valid PEM")?;
            if count == 0 {
                return Err("the CA bundle holds no PEM certificate".into());
            }
        }
        if let Some((cert, key)) = &self.identity {
            let count =
                count_certificates(cert).map_err(|()| "the client certificate is not valid PEM")?;
            if count == 0 {
                return Err("the client certificate file holds no PEM certificate".into());
            }
            PrivateKeyDer::from_pem_slice(key).map_err(|_| {
                "the client key holds no PEM private key (PKCS#8, PKCS#1 or SEC1)".to_string()
            })?;
        }
        Endpoint::from_shared(uri.to_string())
            .map_err(|e| describe(&e))?
            .tls_config(self.client_config(Duration::from_secs(1)))
            .map(|_| ())
            .map_err(|e| describe(&e))
    }
}

fn count_certificates(pem: &[u8]) -> Result<usize, ()> {
    CertificateDer::pem_slice_iter(pem)
        .try_fold(0, |count, cert| cert.map(|_| count + 1))
        .map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::{EndpointError, TernEndpoints};
    use crate::tls::test_support::{one, pki, TempDir};

    #[test]
    fn unreadable_files_and_unusable_pem_are_clear_errors() {
        let pki = pki();
        let dir = TempDir::new();
        let missing = dir.0.join("absent.pem").display().to_string();
        let err = TernEndpoints::from_json(&one(
            serde_json::json!({"address": "https://t:1", "ca_file": missing}),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("cannot read ca_file"), "{err}");
        assert!(err.to_string().contains("absent.pem"), "{err}");

        let not_pem = dir.write("notes.txt", "not a certificate");
        let err = TernEndpoints::from_json(&one(
            serde_json::json!({"address": "https://t:1", "ca_file": not_pem}),
        ))
        .unwrap_err();
        assert!(
            err.to_string().contains("holds no PEM certificate"),
            "{err}"
        );

        // A key that is not the certificate's: refused, and the key is not quoted.
        let err = TernEndpoints::from_json(&one(serde_json::json!({
            "address": "https://t:1",
            "ca_file": dir.write("ca.pem", &pki.ca_pem),
            "client_cert_file": dir.write("client.pem", &pki.client_cert_pem),
            "client_key_file": dir.write("other.key", &pki.other_key_pem),
        })))
        .unwrap_err();
        assert!(matches!(err, EndpointError::Tls { .. }), "{err}");
        assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");

        let err = TernEndpoints::from_json(&one(serde_json::json!({
            "address": "https://t:1",
            "client_cert_file": dir.write("client2.pem", &pki.client_cert_pem),
            "client_key_file": dir.write("empty.key", ""),
        })))
        .unwrap_err();
        assert!(err.to_string().contains("no PEM private key"), "{err}");
    }

    #[test]
    fn explicit_material_needs_an_https_address() {
        let pki = pki();
        let material = TlsMaterial::system_roots().with_ca_pem(pki.ca_pem.as_bytes());
        let endpoints = TernEndpoints::new()
            .with_tls_endpoint(
                "testapp",
                "staging",
                "https://localhost:1",
                material.clone(),
            )
            .unwrap();
        assert_eq!(
            endpoints
                .resolve_endpoint("testapp", "staging")
                .unwrap()
                .tls(),
            Some(&material)
        );
        assert!(matches!(
            TernEndpoints::new().with_tls_endpoint(
                "testapp",
                "staging",
                "http://localhost:1",
                material
            ),
            Err(EndpointError::PlainWithTlsSettings { .. })
        ));
    }
}
