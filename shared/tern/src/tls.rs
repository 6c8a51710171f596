//! TLS for Tern endpoints. One environment's endpoint is configured either as a URI string or as
//! an object that also says where its CA bundle and client identity come from: files (local
//! runs) or Secrets Manager secrets (AWS, fetched by the worker at start-up into
//! [`TlsSources`]). Either way it resolves to a [`TernEndpoint`] whose [`TlsMaterial`] is PEM,
//! checked before any call.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::endpoints::EndpointError;

/// One environment's endpoint as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSetting {
    /// `http://host:port`, bare `host:port` (plain), or `https://host:port` (TLS, server
    /// verified against the system roots).
    Address(String),
    /// The object form: TLS with a CA of its own, a client certificate, a server name.
    Detailed(EndpointSpec),
}

/// The object form of an endpoint. Unknown keys are refused.
///
/// `ca_*` and `client_*` apply to `https://` addresses only; at most one CA source and at most
/// one client identity source. Without a CA the system roots verify the server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// `https://host:port` or `http://host:port` (bare `host:port` means http).
    pub address: String,
    /// A PEM file of the CA certificates that may sign Tern's certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// A secret whose SecretString is that PEM bundle.
    #[serde(default)]
    pub ca_secret_arn: Option<String>,
    /// The client certificate chain (PEM) for mTLS; needs `client_key_file`.
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// The client's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
    /// A secret whose SecretString is `{"cert_pem": "...", "key_pem": "..."}`.
    #[serde(default)]
    pub client_identity_secret_arn: Option<String>,
    /// The name Tern's certificate must carry, when it is not the address's host (an address
    /// by IP, for example).
    #[serde(default)]
    pub tls_server_name: Option<String>,
}

impl<'de> Deserialize<'de> for EndpointSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SettingVisitor;

        impl<'de> Visitor<'de> for SettingVisitor {
            type Value = EndpointSetting;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an endpoint URI string or an object with \"address\"")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(EndpointSetting::Address(value.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                // Through the derived impl, so unknown keys keep serde's precise message.
                EndpointSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(EndpointSetting::Detailed)
            }
        }

        deserializer.deserialize_any(SettingVisitor)
    }
}

impl From<&str> for EndpointSetting {
    fn from(address: &str) -> Self {
        EndpointSetting::Address(address.to_string())
    }
}

impl EndpointSetting {
    pub fn address(&self) -> &str {
        match self {
            EndpointSetting::Address(address) => address,
            EndpointSetting::Detailed(spec) => &spec.address,
        }
    }

    /// The Secrets Manager secrets this endpoint's TLS material comes from.
    pub fn secret_arns(&self) -> Vec<&str> {
        match self {
            EndpointSetting::Address(_) => Vec::new(),
            EndpointSetting::Detailed(spec) => {
                [&spec.ca_secret_arn, &spec.client_identity_secret_arn]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect()
            }
        }
    }

    /// The files this endpoint's TLS material comes from, with the key naming each.
    fn files(&self) -> Vec<(&'static str, &Path)> {
        match self {
            EndpointSetting::Address(_) => Vec::new(),
            EndpointSetting::Detailed(spec) => [
                ("ca_file", &spec.ca_file),
                ("client_cert_file", &spec.client_cert_file),
                ("client_key_file", &spec.client_key_file),
            ]
            .into_iter()
            .filter_map(|(key, path)| path.as_deref().map(|path| (key, path)))
            .collect(),
        }
    }

    /// Checks the address and which keys go together, without reading anything.
    pub fn check_shape(&self, deployment: &str, environment: &str) -> Result<(), EndpointError> {
        let EndpointSetting::Detailed(spec) = self else {
            return normalise_uri(deployment, environment, self.address()).map(|_| ());
        };
        let tls_error = |reason: &str| EndpointError::Tls {
            deployment: deployment.to_string(),
            environment: environment.to_string(),
            reason: reason.to_string(),
        };
        let Some((_, transport)) = normalise_uri(deployment, environment, &spec.address)? else {
            return Err(EndpointError::InvalidUri {
                deployment: deployment.to_string(),
                environment: environment.to_string(),
            });
        };
        let has_tls_keys = spec.ca_file.is_some()
            || spec.ca_secret_arn.is_some()
            || spec.client_cert_file.is_some()
            || spec.client_key_file.is_some()
            || spec.client_identity_secret_arn.is_some()
            || spec.tls_server_name.is_some();
        if transport == Transport::Plain && has_tls_keys {
            return Err(EndpointError::PlainWithTlsSettings {
                deployment: deployment.to_string(),
                environment: environment.to_string(),
            });
        }
        if spec.ca_file.is_some() && spec.ca_secret_arn.is_some() {
            return Err(tls_error("give ca_file or ca_secret_arn, not both"));
        }
        match (&spec.client_cert_file, &spec.client_key_file) {
            (Some(_), None) => return Err(tls_error("client_cert_file needs client_key_file")),
            (None, Some(_)) => return Err(tls_error("client_key_file needs client_cert_file")),
            (Some(_), Some(_)) if spec.client_identity_secret_arn.is_some() => {
                return Err(tls_error(
                    "give client_cert_file/client_key_file or client_identity_secret_arn, not both",
                ))
            }
            _ => {}
        }
        let empty_path = self
            .files()
            .into_iter()
            .find(|(_, path)| path.as_os_str().is_empty());
        if let Some((key, _)) = empty_path {
            return Err(tls_error(&format!("{key} is empty")));
        }
        if self.secret_arns().iter().any(|arn| arn.trim().is_empty()) {
            return Err(tls_error("a secret ARN is empty"));
        }
        if spec
            .tls_server_name
            .as_deref()
            .is_some_and(|name| name.trim().is_empty())
        {
            return Err(tls_error("tls_server_name is empty"));
        }
        Ok(())
    }

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
        let tls_error = |reason: String| EndpointError::Tls {
            deployment: deployment.to_string(),
            environment: environment.to_string(),
            reason,
        };
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

/// TLS material read ahead of resolution: files by path, secrets by ARN. `Debug` lists the
/// names only.
#[derive(Clone, Default)]
pub struct TlsSources {
    files: BTreeMap<PathBuf, Vec<u8>>,
    secrets: BTreeMap<String, String>,
}

impl fmt::Debug for TlsSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSources")
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TlsSources {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every file `setting` names (each path once).
    pub fn read_files(
        &mut self,
        deployment: &str,
        environment: &str,
        setting: &EndpointSetting,
    ) -> Result<(), EndpointError> {
        for (key, path) in setting.files() {
            if self.files.contains_key(path) {
                continue;
            }
            let bytes = std::fs::read(path).map_err(|e| EndpointError::Tls {
                deployment: deployment.to_string(),
                environment: environment.to_string(),
                reason: format!("cannot read {key} {}: {e}", path.display()),
            })?;
            self.files.insert(path.to_path_buf(), bytes);
        }
        Ok(())
    }

    /// Adds a secret's SecretString, fetched by the caller.
    pub fn insert_secret(&mut self, arn: impl Into<String>, secret_string: impl Into<String>) {
        self.secrets.insert(arn.into(), secret_string.into());
    }

    pub fn has_secret(&self, arn: &str) -> bool {
        self.secrets.contains_key(arn)
    }

    fn file(&self, key: &str, path: &Path) -> Result<&[u8], String> {
        self.files
            .get(path)
            .map(Vec::as_slice)
            .ok_or_else(|| format!("{key} {} was not read", path.display()))
    }

    fn secret(&self, key: &str, arn: &str) -> Result<&str, String> {
        self.secrets.get(arn).map(String::as_str).ok_or_else(|| {
            format!("{key} {arn} was not loaded (only the worker reads Secrets Manager)")
        })
    }
}

/// The SecretString of a `client_identity_secret_arn`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentitySecret {
    cert_pem: String,
    key_pem: String,
}

fn parse_identity_secret(secret: &str) -> Result<IdentitySecret, String> {
    serde_json::from_str(secret).map_err(|e| {
        // serde's message can quote a value (the key): keep the kind and the position.
        format!(
            "not JSON {{\"cert_pem\": ..., \"key_pem\": ...}} ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })
}

/// Plain or TLS, from the URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Plain,
    Tls,
}

/// `host:port` → `http://host:port`; checks scheme and host. `None` for an empty address.
pub(crate) fn normalise_uri(
    deployment: &str,
    environment: &str,
    address: &str,
) -> Result<Option<(String, Transport)>, EndpointError> {
    let address = address.trim();
    if address.is_empty() {
        return Ok(None);
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
    let transport = match uri.scheme_str() {
        Some("http") => Transport::Plain,
        Some("https") => Transport::Tls,
        _ => return Err(invalid()),
    };
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid());
    }
    Ok(Some((with_scheme, transport)))
}

/// An error and its causes on one line (tonic's own message is often just "transport error").
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::{parse_settings, TernEndpoints};

    /// A CA, and a client certificate it signed with its key, all PEM.
    struct Pki {
        ca_pem: String,
        client_cert_pem: String,
        client_key_pem: String,
        other_key_pem: String,
    }

    fn pki() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca_params, ca_key);
        let client_key = KeyPair::generate().unwrap();
        let client_cert_pem = CertificateParams::new(vec!["schemabot".to_string()])
            .unwrap()
            .signed_by(&client_key, &issuer)
            .unwrap()
            .pem();
        Pki {
            ca_pem,
            client_cert_pem,
            client_key_pem: client_key.serialize_pem(),
            other_key_pem: KeyPair::generate().unwrap().serialize_pem(),
        }
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "schemabot-tern-tls-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, name: &str, content: &str) -> String {
            let path = self.0.join(name);
            std::fs::write(&path, content).unwrap();
            path.display().to_string()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn one(endpoint: serde_json::Value) -> String {
        serde_json::json!({ "testapp": { "staging": endpoint } }).to_string()
    }

    #[test]
    fn strings_and_objects_parse_into_settings() {
        let settings = parse_settings(
            r#"{"testapp":{"staging":"tern:9090","production":{"address":"https://tern.internal:9443","ca_secret_arn":"arn:ca","client_identity_secret_arn":"arn:id","tls_server_name":"tern.internal"}}}"#,
        )
        .unwrap();
        assert_eq!(
            settings["testapp"]["staging"],
            EndpointSetting::Address("tern:9090".into())
        );
        let EndpointSetting::Detailed(spec) = &settings["testapp"]["production"] else {
            panic!("object form expected");
        };
        assert_eq!(spec.address, "https://tern.internal:9443");
        assert_eq!(
            settings["testapp"]["production"].secret_arns(),
            vec!["arn:ca", "arn:id"]
        );
    }

    #[test]
    fn unknown_keys_and_missing_address_are_refused() {
        let err = TernEndpoints::from_json(&one(
            serde_json::json!({"address": "https://tern:9443", "ca_fle": "/etc/ca.pem"}),
        ))
        .unwrap_err();
        assert!(
            matches!(&err, EndpointError::MalformedConfiguration(m) if m.contains("unknown field `ca_fle`")),
            "{err}"
        );
        let err = TernEndpoints::from_json(&one(serde_json::json!({"ca_file": "/etc/ca.pem"})))
            .unwrap_err();
        assert!(
            matches!(&err, EndpointError::MalformedConfiguration(m) if m.contains("missing field `address`")),
            "{err}"
        );
        assert!(matches!(
            TernEndpoints::from_json(&one(serde_json::json!(["https://tern:9443"]))),
            Err(EndpointError::MalformedConfiguration(_))
        ));
        assert!(matches!(
            TernEndpoints::from_json(&one(serde_json::json!({"address": ""}))),
            Err(EndpointError::InvalidUri { .. })
        ));
    }

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

    #[test]
    fn tls_settings_on_plain_http_are_refused() {
        for address in ["http://tern:9090", "tern:9090"] {
            let err = TernEndpoints::from_json(&one(
                serde_json::json!({"address": address, "ca_file": "/etc/ca.pem"}),
            ))
            .unwrap_err();
            assert!(
                matches!(err, EndpointError::PlainWithTlsSettings { .. }),
                "{err}"
            );
        }
        // Without TLS keys the object form is just an address.
        let endpoints =
            TernEndpoints::from_json(&one(serde_json::json!({"address": "tern:9090"}))).unwrap();
        assert_eq!(
            endpoints.resolve("testapp", "staging").unwrap(),
            "http://tern:9090"
        );
    }

    #[test]
    fn incomplete_or_conflicting_tls_settings_are_refused() {
        let cases = [
            (
                serde_json::json!({"address": "https://t:1", "client_cert_file": "/c.pem"}),
                "client_cert_file needs client_key_file",
            ),
            (
                serde_json::json!({"address": "https://t:1", "client_key_file": "/c.key"}),
                "client_key_file needs client_cert_file",
            ),
            (
                serde_json::json!({"address": "https://t:1", "ca_file": "/ca.pem", "ca_secret_arn": "arn:x"}),
                "not both",
            ),
            (
                serde_json::json!({"address": "https://t:1", "client_cert_file": "/c.pem", "client_key_file": "/c.key", "client_identity_secret_arn": "arn:x"}),
                "not both",
            ),
            (
                serde_json::json!({"address": "https://t:1", "ca_file": ""}),
                "ca_file is empty",
            ),
        ];
        for (endpoint, expected) in cases {
            let err = TernEndpoints::from_json(&one(endpoint.clone())).unwrap_err();
            assert!(
                matches!(&err, EndpointError::Tls { reason, .. } if reason.contains(expected)),
                "{endpoint}: {err}"
            );
        }
    }

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
    fn secrets_resolve_only_once_loaded() {
        let pki = pki();
        let json = one(serde_json::json!({
            "address": "https://t:1",
            "ca_secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:ca",
            "client_identity_secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:id",
        }));
        let err = TernEndpoints::from_json(&json).unwrap_err();
        assert!(err.to_string().contains("was not loaded"), "{err}");

        let settings = parse_settings(&json).unwrap();
        let mut sources = TlsSources::new();
        sources.insert_secret("arn:aws:secretsmanager:us-east-1:1:secret:ca", &*pki.ca_pem);
        sources.insert_secret(
            "arn:aws:secretsmanager:us-east-1:1:secret:id",
            serde_json::json!({"cert_pem": pki.client_cert_pem, "key_pem": pki.client_key_pem})
                .to_string(),
        );
        let endpoints = TernEndpoints::from_settings(&settings, &sources).unwrap();
        let tls = endpoints
            .resolve_endpoint("testapp", "staging")
            .unwrap()
            .tls()
            .unwrap();
        assert!(tls.has_client_identity());
        assert!(!format!("{sources:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn identity_secrets_are_strict_and_never_echoed() {
        let pki = pki();
        let settings = parse_settings(&one(serde_json::json!({
            "address": "https://t:1",
            "client_identity_secret_arn": "arn:id",
        })))
        .unwrap();
        for secret in [
            serde_json::json!({"cert_pem": pki.client_cert_pem, "key_pem": pki.client_key_pem, "ca_pem": "x"}).to_string(),
            serde_json::json!({"cert_pem": pki.client_cert_pem}).to_string(),
            serde_json::json!(pki.client_key_pem).to_string(),
            pki.client_key_pem.clone(),
        ] {
            let mut sources = TlsSources::new();
            sources.insert_secret("arn:id", secret);
            let err = TernEndpoints::from_settings(&settings, &sources).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(shown.contains("not JSON"), "{shown}");
            assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        }
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
