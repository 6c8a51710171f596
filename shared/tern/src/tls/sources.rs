//! TLS material loaded ahead of resolution: files read and secrets fetched, looked up by name.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::config::EndpointSetting;
use crate::endpoints::EndpointError;

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
            let bytes = std::fs::read(path).map_err(|e| {
                let reason = format!("cannot read {key} {}: {e}", path.display());
                EndpointError::tls(deployment, environment, reason)
            })?;
            self.files.insert(path.to_path_buf(), bytes);
        }
        Ok(())
    }

    /// Adds a secret's SecretString, fetched by the caller.
    pub fn insert_secret(&mut self, arn: impl Into<String>, secret_string: impl Into<String>) {
        self.secrets.insert(arn.into(), secret_string.into());
    }

    pub(super) fn file(&self, key: &str, path: &Path) -> Result<&[u8], String> {
        self.files
            .get(path)
            .map(Vec::as_slice)
            .ok_or_else(|| format!("{key} {} was not read", path.display()))
    }

    pub(super) fn secret(&self, key: &str, arn: &str) -> Result<&str, String> {
        self.secrets.get(arn).map(String::as_str).ok_or_else(|| {
            format!("{key} {arn} was not loaded (only the worker reads Secrets Manager)")
        })
    }
}

/// The SecretString of a `client_identity_secret_arn`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IdentitySecret {
    pub(super) cert_pem: String,
    pub(super) key_pem: String,
}

pub(super) fn parse_identity_secret(secret: &str) -> Result<IdentitySecret, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::{parse_settings, TernEndpoints};
    use crate::tls::test_support::{one, pki};

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
}
