//! GitHub webhook signature verification (`X-Hub-Signature-256: sha256=<hex>`).
//!
//! HMAC-SHA256 over the raw body, compared in constant time. Up to two secrets are accepted so a
//! secret can be rotated without dropping deliveries. The keyed HMAC state is prepared once at
//! start-up, so a request only pays for hashing its body.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Most secrets accepted at once: the current one and the one being rotated out.
pub const MAX_SECRETS: usize = 2;

/// Fewest characters a webhook secret may have: a short one can be guessed, and then anyone can
/// sign a command.
pub const MIN_SECRET_CHARS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("no webhook secret is configured")]
    Missing,
    #[error("at most {MAX_SECRETS} webhook secrets may be configured (current and previous)")]
    TooMany,
    /// `position` is 1-based; the secret itself is never shown.
    #[error("webhook secret {position} is shorter than {MIN_SECRET_CHARS} characters")]
    TooShort { position: usize },
}

/// Why a signature was refused. Deliberately coarse: callers answer 401 for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("signature is not of the form sha256=<64 hex digits>")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
}

/// The configured webhook secrets, pre-keyed. Never printed.
#[derive(Clone)]
pub struct WebhookSecrets {
    keyed: Vec<HmacSha256>,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WebhookSecrets({} configured, redacted)",
            self.keyed.len()
        )
    }
}

impl WebhookSecrets {
    /// Builds the verifier from one or two secrets, each at least [`MIN_SECRET_CHARS`] long.
    pub fn new<S: AsRef<[u8]>>(secrets: &[S]) -> Result<Self, SecretsError> {
        match secrets.len() {
            0 => return Err(SecretsError::Missing),
            n if n > MAX_SECRETS => return Err(SecretsError::TooMany),
            _ => {}
        }
        let mut keyed = Vec::with_capacity(secrets.len());
        for (index, secret) in secrets.iter().map(AsRef::as_ref).enumerate() {
            let too_short = SecretsError::TooShort {
                position: index + 1,
            };
            if char_count(secret) < MIN_SECRET_CHARS {
                return Err(too_short);
            }
            keyed.push(HmacSha256::new_from_slice(secret).map_err(|_| too_short)?);
        }
        Ok(WebhookSecrets { keyed })
    }

    /// Verifies `header` (the `X-Hub-Signature-256` value) against the raw `body`.
    pub fn verify(&self, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let expected = decode_signature(header)?;
        // Every configured secret is tried, so timing does not reveal which one matched.
        let mut matched = false;
        for keyed in &self.keyed {
            let mut mac = keyed.clone();
            mac.update(body);
            matched |= mac.verify_slice(&expected).is_ok();
        }
        matched.then_some(()).ok_or(SignatureError::Mismatch)
    }
}

/// Characters of a UTF-8 secret; bytes of anything else.
fn char_count(secret: &[u8]) -> usize {
    std::str::from_utf8(secret).map_or(secret.len(), |text| text.chars().count())
}

fn decode_signature(header: &str) -> Result<[u8; 32], SignatureError> {
    let hex_part = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).map_err(|_| SignatureError::Malformed)?;
    Ok(out)
}

/// Computes the header value GitHub would send (used by tests, the demo and benchmarks).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; the `else` cannot be reached.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GITHUB_SECRET: &str = "It's a Secret to Everybody";
    const GITHUB_BODY: &str = "Hello, World!";
    const GITHUB_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_documented_vector() {
        assert_eq!(
            sign(GITHUB_SECRET.as_bytes(), GITHUB_BODY.as_bytes()),
            GITHUB_SIGNATURE
        );
        let secrets = WebhookSecrets::new(&[GITHUB_SECRET]).unwrap();
        assert_eq!(
            secrets.verify(GITHUB_BODY.as_bytes(), Some(GITHUB_SIGNATURE)),
            Ok(())
        );
    }

    #[test]
    fn tampered_body_wrong_secret_and_bad_headers_are_refused() {
        let secrets = WebhookSecrets::new(&[GITHUB_SECRET]).unwrap();
        assert_eq!(
            secrets.verify(b"Hello, World?", Some(GITHUB_SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
        let other = WebhookSecrets::new(&["another webhook secret"]).unwrap();
        assert_eq!(
            other.verify(GITHUB_BODY.as_bytes(), Some(GITHUB_SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
        for bad in [
            "",
            "sha256=",
            "sha256=deadbeef",
            "sha256=not-hex!",
            "sha1=abc",
            "757107ea",
        ] {
            assert!(
                secrets.verify(GITHUB_BODY.as_bytes(), Some(bad)).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            secrets.verify(GITHUB_BODY.as_bytes(), None),
            Err(SignatureError::Missing)
        );
    }

    const NEW_SECRET: &str = "the-new-webhook-secret";

    #[test]
    fn either_of_two_secrets_verifies_during_rotation() {
        let secrets = WebhookSecrets::new(&[NEW_SECRET, GITHUB_SECRET]).unwrap();
        assert!(secrets
            .verify(GITHUB_BODY.as_bytes(), Some(GITHUB_SIGNATURE))
            .is_ok());
        let new_sig = sign(NEW_SECRET.as_bytes(), GITHUB_BODY.as_bytes());
        assert!(secrets
            .verify(GITHUB_BODY.as_bytes(), Some(&new_sig))
            .is_ok());
    }

    #[test]
    fn no_secret_fails_closed_three_are_too_many_and_short_ones_are_refused() {
        let none: [&str; 0] = [];
        assert_eq!(
            WebhookSecrets::new(&none).unwrap_err(),
            SecretsError::Missing
        );
        assert_eq!(
            WebhookSecrets::new(&[NEW_SECRET, NEW_SECRET, NEW_SECRET]).unwrap_err(),
            SecretsError::TooMany
        );
        for (secrets, position) in [
            (vec![""], 1),
            (vec!["hunter2"], 1),
            (vec![NEW_SECRET, "nineteen-characters"], 2),
            // Characters, not bytes: 19 two-byte characters are still too short.
            (vec!["ééééééééééééééééééé"], 1),
        ] {
            assert_eq!(
                WebhookSecrets::new(&secrets).unwrap_err(),
                SecretsError::TooShort { position },
                "{secrets:?}"
            );
        }
        assert!(WebhookSecrets::new(&["twenty-characters-ok"]).is_ok());
        // The Debug form never shows a secret, nor does an error.
        let s = WebhookSecrets::new(&[NEW_SECRET]).unwrap();
        assert!(!format!("{s:?}").contains(NEW_SECRET));
        let error = WebhookSecrets::new(&["hunter2"]).unwrap_err().to_string();
        assert!(!error.contains("hunter2"), "{error}");
    }
}
