//! The configured form of an endpoint (URI string or object) and its shape checks.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::uri::{normalise_uri, Transport};
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
    pub(super) fn files(&self) -> Vec<(&'static str, &Path)> {
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
        let tls_error = |reason: &str| EndpointError::tls(deployment, environment, reason);
        let Some((_, transport)) = normalise_uri(deployment, environment, &spec.address)? else {
            return Err(EndpointError::invalid_uri(deployment, environment));
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::{parse_settings, TernEndpoints};
    use crate::tls::test_support::one;

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
}
