//! The GitHub App's JWT (RS256), signed with ring.
//!
//! GitHub authenticates an App by a short-lived JWT signed with the App's private key; the App
//! trades it for installation tokens. octocrab can sign it through `jsonwebtoken`, but only with
//! aws-lc (a second crypto library beside the ring that rustls already uses: about 0.3 MB of the
//! worker's deploy zip, docs/performance.md) or with the `rsa` crate, whose private-key
//! operations are not constant time (RUSTSEC-2023-0071, no fixed release). The token is three
//! base64url parts, so it is made here with ring's `RsaKeyPair` (blinded RSA) and sent as a
//! bearer token.

use crate::error::GithubError;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use std::fmt;

/// GitHub accepts App JWTs valid for at most 10 minutes.
const LIFETIME_SECS: i64 = 9 * 60;
/// `iat` is set this far in the past, as GitHub advises, to absorb clock drift.
const BACKDATE_SECS: i64 = 60;

/// Signs the App's JWTs with one key; built again when the key is rotated.
pub(crate) struct AppJwtSigner {
    app_id: u64,
    key_pair: RsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for AppJwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppJwtSigner")
            .field("app_id", &self.app_id)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl AppJwtSigner {
    /// Accepts the key as GitHub issues it (`BEGIN RSA PRIVATE KEY`, PKCS#1) or converted to
    /// PKCS#8 (`BEGIN PRIVATE KEY`). The error never quotes the key.
    pub(crate) fn from_pem(app_id: u64, pem: &str) -> Result<Self, GithubError> {
        let invalid =
            || GithubError::Config("the GitHub App private key is not a valid RSA PEM key".into());
        let (label, der) = pem_block(pem).ok_or_else(invalid)?;
        let key_pair = match label {
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            _ => return Err(invalid()),
        }
        .map_err(|_| invalid())?;
        Ok(AppJwtSigner {
            app_id,
            key_pair,
            rng: SystemRandom::new(),
        })
    }

    /// The public half (PKCS#1 DER): tells whether a key read again is a different key.
    pub(crate) fn public_key(&self) -> &[u8] {
        self.key_pair.public().as_ref()
    }

    /// A JWT for `now`: `iat` a minute back, `exp` nine minutes ahead, `iss` the App id.
    pub(crate) fn token(&self, now: DateTime<Utc>) -> Result<String, GithubError> {
        let issued = now.timestamp() - BACKDATE_SECS;
        let claims = format!(
            r#"{{"iat":{issued},"exp":{},"iss":{}}}"#,
            now.timestamp() + LIFETIME_SECS,
            self.app_id
        );
        let mut token = String::with_capacity(600);
        URL_SAFE_NO_PAD.encode_string(br#"{"alg":"RS256","typ":"JWT"}"#, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.as_bytes(), &mut token);
        let mut signature = vec![0; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                GithubError::Config("cannot sign the GitHub App JWT with the configured key".into())
            })?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }
}

/// The label and decoded body of the first PEM block in `text`.
fn pem_block(text: &str) -> Option<(&str, Vec<u8>)> {
    let begin = text.find("-----BEGIN ")?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body_and_end = &rest[label_end + "-----".len()..];
    let end_marker = format!("-----END {label}-----");
    let body = &body_and_end[..body_and_end.find(&end_marker)?];
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD.decode(compact).ok()?;
    Some((label, der))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    use serde_json::Value;

    /// The workspace's throwaway test key (PKCS#1, preceded by a line saying so).
    const TEST_KEY: &str = include_str!("../../../tests/fixtures/github-app-test-key.pem");

    fn decode_json(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn tokens_are_rs256_with_the_claims_github_wants_and_verify_with_the_public_key() {
        let signer = AppJwtSigner::from_pem(4242, TEST_KEY).unwrap();
        let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let token = signer.token(now).unwrap();

        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode_json(parts[0]),
            serde_json::json!({"alg": "RS256", "typ": "JWT"})
        );
        assert_eq!(
            decode_json(parts[1]),
            serde_json::json!({"iat": 1_789_999_940, "exp": 1_790_000_540, "iss": 4242})
        );

        let public = signer.key_pair.public().as_ref().to_vec();
        let verifier = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public);
        let signed = format!("{}.{}", parts[0], parts[1]);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert!(verifier.verify(signed.as_bytes(), &signature).is_ok());

        // The same signature over other claims does not verify.
        let other = format!("{}.{}", parts[0], URL_SAFE_NO_PAD.encode(br#"{"iss":1}"#));
        assert!(verifier.verify(other.as_bytes(), &signature).is_err());
    }

    #[test]
    fn pkcs8_keys_are_accepted_too() {
        // PKCS#8 wraps the PKCS#1 key: AlgorithmIdentifier(rsaEncryption, NULL) + OCTET STRING.
        let (_, pkcs1) = pem_block(TEST_KEY).unwrap();
        let mut octets = vec![0x04];
        push_der_len(&mut octets, pkcs1.len());
        octets.extend_from_slice(&pkcs1);
        let mut inner = vec![0x02, 0x01, 0x00];
        inner.extend_from_slice(&[
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
            0x00,
        ]);
        inner.extend_from_slice(&octets);
        let mut pkcs8 = vec![0x30];
        push_der_len(&mut pkcs8, inner.len());
        pkcs8.extend_from_slice(&inner);
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(&pkcs8)
        );
        let signer = AppJwtSigner::from_pem(7, &pem).unwrap();
        assert!(signer.token(Utc::now()).is_ok());
    }

    fn push_der_len(out: &mut Vec<u8>, len: usize) {
        assert!(len < 0x1_0000);
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }

    #[test]
    fn unusable_keys_are_refused_without_quoting_them() {
        let cases = [
            String::new(),
            "not a pem".to_string(),
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----".to_string(),
            "-----BEGIN RSA PRIVATE KEY-----\n@@@@\n-----END RSA PRIVATE KEY-----".to_string(),
            TEST_KEY.replace("RSA PRIVATE KEY", "EC PRIVATE KEY"),
            TEST_KEY.replace("-----END RSA PRIVATE KEY-----", ""),
        ];
        for pem in cases {
            let error = AppJwtSigner::from_pem(1, &pem).unwrap_err();
            let message = error.to_string();
            assert!(message.contains("not a valid RSA PEM key"), "{message}");
            assert!(!message.contains("MII"), "{message}");
        }
    }

    #[test]
    fn debug_output_hides_the_key() {
        let signer = AppJwtSigner::from_pem(4242, TEST_KEY).unwrap();
        let debug = format!("{signer:?}");
        assert!(
            debug.contains("4242") && debug.contains("redacted"),
            "{debug}"
        );
    }
}
