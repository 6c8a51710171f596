//! GitHub App configuration: which app, its signing key and which API to talk to.

use crate::error::GithubError;
use std::fmt;

/// The public GitHub API; GitHub Enterprise Server uses `https://HOST/api/v3`.
pub const DEFAULT_API_BASE: &str = "https://api.github.com";

pub const ENV_APP_ID: &str = "SCHEMABOT_GITHUB_APP_ID";
pub const ENV_PRIVATE_KEY: &str = "SCHEMABOT_GITHUB_PRIVATE_KEY";
pub const ENV_PRIVATE_KEY_FILE: &str = "SCHEMABOT_GITHUB_PRIVATE_KEY_FILE";
pub const ENV_API_URL: &str = "SCHEMABOT_GITHUB_API_URL";

/// The App's RSA private key in PEM form. Its `Debug` never shows the key, so a config can be
/// logged or put in an error without leaking it.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyPem(String);

impl PrivateKeyPem {
    /// Accepts the PEM text. Environment variables often carry it with literal `\n` escapes
    /// instead of newlines; those are turned back into newlines.
    pub fn new(pem: impl Into<String>) -> Self {
        let pem = pem.into();
        if !pem.contains('\n') && pem.contains("\\n") {
            PrivateKeyPem(pem.replace("\\n", "\n"))
        } else {
            PrivateKeyPem(pem)
        }
    }

    /// The PEM text. Only for handing to the JWT signer; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyPem(<redacted>)")
    }
}

/// Everything needed to act as the GitHub App.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubAppConfig {
    pub app_id: u64,
    pub private_key_pem: PrivateKeyPem,
    /// API root without a trailing slash, e.g. `https://api.github.com`,
    /// `https://ghe.example.com/api/v3` or a local stand-in `http://127.0.0.1:PORT`.
    pub api_base: String,
}

impl GithubAppConfig {
    /// Builds a config from values the caller already holds (e.g. the key read from Secrets
    /// Manager), validating the API base.
    pub fn new(
        app_id: u64,
        private_key_pem: PrivateKeyPem,
        api_base: &str,
    ) -> Result<Self, GithubError> {
        if app_id == 0 {
            return Err(GithubError::Config(
                "the GitHub App id must be positive".into(),
            ));
        }
        if private_key_pem.expose().trim().is_empty() {
            return Err(GithubError::Config(
                "the GitHub App private key is empty".into(),
            ));
        }
        Ok(GithubAppConfig {
            app_id,
            private_key_pem,
            api_base: normalise_api_base(api_base)?,
        })
    }

    /// Reads `SCHEMABOT_GITHUB_APP_ID`, `SCHEMABOT_GITHUB_PRIVATE_KEY` (PEM text) or
    /// `SCHEMABOT_GITHUB_PRIVATE_KEY_FILE` (a path to it), and `SCHEMABOT_GITHUB_API_URL`
    /// (default `https://api.github.com`).
    pub fn from_env() -> Result<Self, GithubError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`GithubAppConfig::from_env`], reading variables through `lookup` (tests pass a map
    /// instead of mutating the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, GithubError> {
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let raw_app_id = non_empty(ENV_APP_ID)
            .ok_or_else(|| GithubError::Config(format!("{ENV_APP_ID} is not set")))?;
        let app_id = raw_app_id
            .trim()
            .parse::<u64>()
            .map_err(|_| GithubError::Config(format!("{ENV_APP_ID} is not a number")))?;

        let key = match (non_empty(ENV_PRIVATE_KEY), non_empty(ENV_PRIVATE_KEY_FILE)) {
            (Some(_), Some(_)) => {
                return Err(GithubError::Config(format!(
                    "set only one of {ENV_PRIVATE_KEY} and {ENV_PRIVATE_KEY_FILE}"
                )))
            }
            (Some(pem), None) => PrivateKeyPem::new(pem),
            (None, Some(path)) => {
                let pem = std::fs::read_to_string(path.trim()).map_err(|e| {
                    // The path is not secret; the file's content never reaches the message.
                    GithubError::Config(format!(
                        "cannot read {ENV_PRIVATE_KEY_FILE} ({}): {}",
                        path.trim(),
                        e.kind()
                    ))
                })?;
                PrivateKeyPem::new(pem)
            }
            (None, None) => {
                return Err(GithubError::Config(format!(
                    "neither {ENV_PRIVATE_KEY} nor {ENV_PRIVATE_KEY_FILE} is set"
                )))
            }
        };

        let api_base = non_empty(ENV_API_URL).unwrap_or_else(|| DEFAULT_API_BASE.to_string());
        Self::new(app_id, key, &api_base)
    }
}

fn normalise_api_base(raw: &str) -> Result<String, GithubError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let has_host = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty());
    if !has_host {
        return Err(GithubError::Config(format!(
            "{ENV_API_URL} must be an http(s) URL, got `{trimmed}`"
        )));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn reads_inline_key_and_defaults_to_public_api() {
        let config = GithubAppConfig::from_lookup(lookup(&[
            (ENV_APP_ID, "12345"),
            (
                ENV_PRIVATE_KEY,
                "-----BEGIN RSA PRIVATE KEY-----\\nabc\\n-----END RSA PRIVATE KEY-----",
            ),
        ]))
        .unwrap();
        assert_eq!(config.app_id, 12345);
        assert_eq!(config.api_base, DEFAULT_API_BASE);
        assert!(config
            .private_key_pem
            .expose()
            .contains("-----\nabc\n-----"));
    }

    #[test]
    fn reads_key_file_and_trims_api_url() {
        let dir = std::env::temp_dir().join(format!("schemabot-gh-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.pem");
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nxyz\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let config = GithubAppConfig::from_lookup(lookup(&[
            (ENV_APP_ID, "7"),
            (ENV_PRIVATE_KEY_FILE, path.to_str().unwrap()),
            (ENV_API_URL, "https://ghe.example.com/api/v3/"),
        ]))
        .unwrap();
        assert_eq!(config.api_base, "https://ghe.example.com/api/v3");
        assert!(config.private_key_pem.expose().contains("xyz"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn refuses_missing_or_ambiguous_settings() {
        assert!(GithubAppConfig::from_lookup(lookup(&[(ENV_PRIVATE_KEY, "k")])).is_err());
        assert!(GithubAppConfig::from_lookup(lookup(&[(ENV_APP_ID, "1")])).is_err());
        assert!(GithubAppConfig::from_lookup(lookup(&[
            (ENV_APP_ID, "1"),
            (ENV_PRIVATE_KEY, "k"),
            (ENV_PRIVATE_KEY_FILE, "/nonexistent"),
        ]))
        .is_err());
        assert!(GithubAppConfig::from_lookup(lookup(&[
            (ENV_APP_ID, "1"),
            (ENV_PRIVATE_KEY, "k"),
            (ENV_API_URL, "ftp://x"),
        ]))
        .is_err());
    }

    #[test]
    fn debug_output_never_contains_the_key() {
        let config = GithubAppConfig::new(
            1,
            PrivateKeyPem::new("SUPER-SECRET-PEM"),
            "http://127.0.0.1:1",
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("SUPER-SECRET"), "{shown}");
        let missing_file = GithubAppConfig::from_lookup(lookup(&[
            (ENV_APP_ID, "1"),
            (ENV_PRIVATE_KEY_FILE, "/nonexistent/key.pem"),
        ]))
        .unwrap_err();
        assert!(missing_file.to_string().contains("/nonexistent/key.pem"));
    }
}
