//! The App and its installation tokens: JWT verification, token issuing, credential checks.

use super::state::{lock, Credential, GithubStandin, IssuedToken, StandinState};
use super::wire::{rfc3339, Answer};
use chrono::Utc;
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;

/// The App id the stand-in's helpers configure clients with.
pub const TEST_APP_ID: u64 = 4242;
/// The App's bot user: comments created with an installation token are authored by it.
pub const BOT_LOGIN: &str = "schemabot[bot]";
pub(super) const BOT_SLUG: &str = "schemabot";
/// A throwaway RSA key for tests only (see the file's first line). It signs nothing real.
pub const TEST_APP_PRIVATE_KEY_PEM: &str = include_str!("../../fixtures/github-app-test-key.pem");
/// A second throwaway key, for tests that rotate the App key ([`GithubStandin::rotate_app_key`]).
pub const ROTATED_APP_PRIVATE_KEY_PEM: &str =
    include_str!("../../fixtures/github-app-test-key-rotated.pem");

impl GithubStandin {
    /// Lifetime of tokens issued from now on (default one hour).
    pub fn set_token_ttl(&self, ttl: Duration) {
        lock(&self.state).token_ttl =
            chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1));
    }

    /// Invalidates every issued token: the next call with one gets 401 "Bad credentials".
    pub fn revoke_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    /// Rotates the App key as an operator does on GitHub: from now on only JWTs signed with
    /// `new_pem` (PKCS#1, like the fixtures) are accepted; the old key's get 401. Tokens already
    /// issued stay valid, as on GitHub.
    ///
    /// # Panics
    /// If `new_pem` is not a PKCS#1 RSA key: a broken test fixture.
    pub fn rotate_app_key(&self, new_pem: &str) {
        let pair = key_pair_from_pem(new_pem).expect("the rotated App key is a PKCS#1 RSA PEM key");
        lock(&self.state).app_public_key = Some(pair.public().as_ref().to_vec());
    }

    /// How many installation tokens were issued.
    pub fn issued_tokens(&self) -> u64 {
        lock(&self.state).issued_tokens
    }
}

impl StandinState {
    /// What the `Authorization` header presents.
    pub(super) fn identify(&self, authorization: &str) -> Credential {
        let Some(presented) = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("token "))
            .map(str::trim)
        else {
            return if authorization.is_empty() {
                Credential::Missing
            } else {
                Credential::Unrecognised(authorization.to_string())
            };
        };
        if let Some(issued) = self.tokens.get(presented) {
            return Credential::InstallationToken {
                token: presented.to_string(),
                installation: issued.installation,
            };
        }
        let app_key: &[u8] = match &self.app_public_key {
            Some(rotated) => rotated,
            None => test_app_public_key(),
        };
        if let Some(app_id) = app_id_from_jwt(presented, app_key) {
            return Credential::AppJwt { app_id };
        }
        Credential::Unrecognised(presented.to_string())
    }

    /// The App behind a valid, unexpired installation token.
    pub(super) fn installation_app(&self, credential: &Credential) -> Option<u64> {
        let token = credential.installation_token()?;
        let issued = self.tokens.get(token)?;
        (issued.expires_at > Utc::now()).then_some(issued.app_id)
    }

    /// `POST /app/installations/{id}/access_tokens`.
    pub(super) fn issue_token(&mut self, installation: u64, credential: &Credential) -> Answer {
        let Credential::AppJwt { app_id } = credential else {
            return Answer::message(401, "A JSON web token could not be decoded");
        };
        self.issued_tokens += 1;
        let token = format!("ghs_standin{:06}i{installation}", self.issued_tokens);
        let expires_at = Utc::now() + self.token_ttl;
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                installation,
                app_id: *app_id,
                expires_at,
            },
        );
        Answer::json(
            201,
            json!({
                "token": token,
                "expires_at": rfc3339(expires_at),
                "permissions": { "issues": "write", "pull_requests": "write", "metadata": "read" },
                "repository_selection": "all",
            }),
        )
    }
}

/// The test key without its explanatory first line.
pub(super) fn test_key_pem() -> &'static str {
    TEST_APP_PRIVATE_KEY_PEM
        .find("-----BEGIN")
        .map(|start| &TEST_APP_PRIVATE_KEY_PEM[start..])
        .unwrap_or(TEST_APP_PRIVATE_KEY_PEM)
}

/// The public half of the test App key (PKCS#1 `RSAPublicKey` DER), as GitHub keeps it.
fn test_app_public_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| test_app_key_pair().public().as_ref().to_vec())
}

/// The test App key (the fixture is PKCS#1 PEM).
fn test_app_key_pair() -> ring::signature::RsaKeyPair {
    key_pair_from_pem(TEST_APP_PRIVATE_KEY_PEM).expect("the test key fixture is a PKCS#1 RSA key")
}

/// A PKCS#1 PEM key (text before the `BEGIN` line, like the fixtures' note, is skipped).
fn key_pair_from_pem(pem: &str) -> Option<ring::signature::RsaKeyPair> {
    use base64::Engine as _;
    let start = pem.find("-----BEGIN RSA PRIVATE KEY-----")?;
    let body: String = pem[start..]
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()?;
    ring::signature::RsaKeyPair::from_der(&der).ok()
}

/// The `iss` claim of an unexpired RS256 JWT whose signature verifies with `app_key` (the
/// public half of the App key), as GitHub checks an App's JWT.
fn app_id_from_jwt(jwt: &str, app_key: &[u8]) -> Option<u64> {
    let mut parts = jwt.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || signature.is_empty() {
        return None;
    }
    let signed = &jwt[..header.len() + 1 + payload.len()];
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, app_key)
        .verify(signed.as_bytes(), &base64url_decode(signature)?)
        .ok()?;
    let header: Value = serde_json::from_slice(&base64url_decode(header)?).ok()?;
    if header.get("alg")?.as_str()? != "RS256" {
        return None;
    }
    let claims: Value = serde_json::from_slice(&base64url_decode(payload)?).ok()?;
    let exp = claims.get("exp")?.as_i64()?;
    if exp <= Utc::now().timestamp() {
        return None;
    }
    match claims.get("iss")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut bit_count = 0u32;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            out.push((bits >> bit_count) as u8);
            bits &= (1 << bit_count) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trip_of_a_known_value() {
        assert_eq!(
            base64url_decode("eyJhbGciOiJSUzI1NiJ9").as_deref(),
            Some(br#"{"alg":"RS256"}"#.as_slice())
        );
        assert!(base64url_decode("a+b").is_none());
    }

    fn base64url(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn signed_jwt(claims: &Value) -> String {
        signed_jwt_with(&test_app_key_pair(), claims)
    }

    fn signed_jwt_with(pair: &ring::signature::RsaKeyPair, claims: &Value) -> String {
        let signed = format!(
            "{}.{}",
            base64url(br#"{"alg":"RS256","typ":"JWT"}"#),
            base64url(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .unwrap();
        format!("{signed}.{}", base64url(&signature))
    }

    #[test]
    fn app_jwts_need_the_test_keys_signature_and_a_future_exp() {
        let exp = Utc::now().timestamp() + 300;
        let good = signed_jwt(&json!({"iss": 4242, "exp": exp}));
        assert_eq!(app_id_from_jwt(&good, test_app_public_key()), Some(4242));

        let (signed, signature) = good.rsplit_once('.').unwrap();
        let first = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{signed}.{first}{}", &signature[1..]);
        assert_eq!(app_id_from_jwt(&forged, test_app_public_key()), None);

        let other_claims = base64url(json!({"iss": 1, "exp": exp}).to_string().as_bytes());
        let (header, rest) = good.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let swapped = format!("{header}.{other_claims}.{signature}");
        assert_eq!(app_id_from_jwt(&swapped, test_app_public_key()), None);

        let expired = signed_jwt(&json!({"iss": 4242, "exp": exp - 600}));
        assert_eq!(app_id_from_jwt(&expired, test_app_public_key()), None);
    }

    #[test]
    fn after_a_rotation_only_the_new_keys_jwts_are_accepted() {
        let exp = Utc::now().timestamp() + 300;
        let old = signed_jwt(&json!({"iss": 4242, "exp": exp}));
        let rotated = key_pair_from_pem(ROTATED_APP_PRIVATE_KEY_PEM).unwrap();
        let new = signed_jwt_with(&rotated, &json!({"iss": 4242, "exp": exp}));
        let new_public = rotated.public().as_ref().to_vec();
        assert_eq!(app_id_from_jwt(&new, test_app_public_key()), None);
        assert_eq!(app_id_from_jwt(&new, &new_public), Some(4242));
        assert_eq!(app_id_from_jwt(&old, &new_public), None);
        assert!(key_pair_from_pem("not a key").is_none());
    }
}
