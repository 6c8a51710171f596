//! Reading the configured webhook secret value: the Secrets Manager secret's string in AWS, the
//! `SCHEMABOT_WEBHOOK_SECRETS` variable locally. The same three shapes are accepted in both:
//!
//! * a JSON object `{"current": "…", "previous": "…"}` (`previous` optional or `null`, no other
//!   key);
//! * a JSON array of one or two strings;
//! * a single secret (surrounding whitespace trimmed).
//!
//! Anything else is refused at start-up rather than guessed at: a value that opens like JSON but
//! is not one of those shapes, or a single value with a comma (the old "a,b" list form, which
//! would otherwise be taken as one long secret and fail every delivery). Every secret must have at
//! least [`MIN_SECRET_CHARS`](crate::signature::MIN_SECRET_CHARS) characters. Errors never
//! contain the value, nor serde_json's messages (which can quote it).

use crate::signature::{SecretsError, WebhookSecrets};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretValueError {
    #[error("the value is empty")]
    Empty,
    #[error(
        "the value is not a well-formed JSON object of the form {{\"current\": \"…\", \
         \"previous\": \"…\"}} (`current` a string, `previous` an optional string, no other key, \
         none repeated; at line {line}, column {column})"
    )]
    NotAPair { line: usize, column: usize },
    #[error(
        "the value is not a well-formed JSON array of one or two strings (at line {line}, column \
         {column})"
    )]
    NotAnArray { line: usize, column: usize },
    #[error(
        "the value holds a comma outside JSON; comma-separated lists are not accepted: give one \
         secret, or a JSON array [\"current\", \"previous\"]"
    )]
    CommaList,
    #[error("{0}")]
    Secrets(#[from] SecretsError),
}

/// The JSON object form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    current: String,
    #[serde(default)]
    previous: Option<String>,
}

/// Parses a configured secret value into the verifier.
pub fn parse(value: &str) -> Result<WebhookSecrets, SecretValueError> {
    let value = value.trim();
    let secrets: Vec<String> = match value.as_bytes().first() {
        None => return Err(SecretValueError::Empty),
        Some(b'{') => {
            let pair: Pair =
                serde_json::from_str(value).map_err(|e| SecretValueError::NotAPair {
                    line: e.line(),
                    column: e.column(),
                })?;
            std::iter::once(pair.current).chain(pair.previous).collect()
        }
        Some(b'[') => serde_json::from_str(value).map_err(|e| SecretValueError::NotAnArray {
            line: e.line(),
            column: e.column(),
        })?,
        Some(_) if value.contains(',') => return Err(SecretValueError::CommaList),
        Some(_) => vec![value.to_string()],
    };
    Ok(WebhookSecrets::new(&secrets)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::sign;

    const CURRENT: &str = "current-webhook-secret-0123";
    const PREVIOUS: &str = "previous-webhook-secret-0123";

    /// Which of the two test secrets the parsed verifier accepts.
    fn accepts(value: &str) -> (bool, bool) {
        let secrets = parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
        let body = b"{}";
        let verifies = |secret: &str| {
            secrets
                .verify(body, Some(&sign(secret.as_bytes(), body)))
                .is_ok()
        };
        (verifies(CURRENT), verifies(PREVIOUS))
    }

    #[test]
    fn the_three_accepted_shapes() {
        let pair = format!(r#"{{"current":"{CURRENT}","previous":"{PREVIOUS}"}}"#);
        assert_eq!(accepts(&pair), (true, true));
        assert_eq!(
            accepts(&format!(r#" {{"current":"{CURRENT}"}} "#)),
            (true, false)
        );
        assert_eq!(
            accepts(&format!(r#"{{"current":"{CURRENT}","previous":null}}"#)),
            (true, false)
        );
        assert_eq!(
            accepts(&format!(r#"["{CURRENT}","{PREVIOUS}"]"#)),
            (true, true)
        );
        assert_eq!(accepts(&format!(r#"["{PREVIOUS}"]"#)), (false, true));
        assert_eq!(accepts(&format!("{CURRENT}\n")), (true, false));
        // A comma inside JSON is part of the secret.
        assert!(parse(r#"["a,b-twenty-characters-long"]"#).is_ok());
    }

    #[test]
    fn malformed_json_is_refused_not_guessed() {
        for value in [
            format!(r#"{{"current":"{CURRENT}","other":"x"}}"#),
            format!(r#"{{"current":"{CURRENT}","current":"{PREVIOUS}"}}"#),
            format!(r#"{{"previous":"{PREVIOUS}"}}"#),
            format!(r#"{{"current":"{CURRENT}","previous":5}}"#),
            format!(r#"{{"current":"{CURRENT}""#),
            format!(r#"{{"current":"{CURRENT}"}} trailing"#),
            "{}".to_string(),
        ] {
            assert!(
                matches!(parse(&value), Err(SecretValueError::NotAPair { .. })),
                "{value}"
            );
        }
        for value in [
            format!(r#"["{CURRENT}", 5]"#),
            format!(r#"["{CURRENT}""#),
            format!(r#"[{{"current":"{CURRENT}"}}]"#),
        ] {
            assert!(
                matches!(parse(&value), Err(SecretValueError::NotAnArray { .. })),
                "{value}"
            );
        }
    }

    #[test]
    fn comma_lists_empty_values_and_weak_secrets_are_refused() {
        assert_eq!(
            parse(&format!("{CURRENT},{PREVIOUS}")).unwrap_err(),
            SecretValueError::CommaList
        );
        assert_eq!(parse(" , ").unwrap_err(), SecretValueError::CommaList);
        for empty in ["", "  \n"] {
            assert_eq!(parse(empty).unwrap_err(), SecretValueError::Empty);
        }
        assert_eq!(
            parse("hunter2").unwrap_err(),
            SecretValueError::Secrets(SecretsError::TooShort { position: 1 })
        );
        assert_eq!(
            parse(&format!(r#"{{"current":"{CURRENT}","previous":"short"}}"#)).unwrap_err(),
            SecretValueError::Secrets(SecretsError::TooShort { position: 2 })
        );
        assert_eq!(
            parse(r#"{"current":""}"#).unwrap_err(),
            SecretValueError::Secrets(SecretsError::TooShort { position: 1 })
        );
        assert_eq!(
            parse("[]").unwrap_err(),
            SecretValueError::Secrets(SecretsError::Missing)
        );
        assert_eq!(
            parse(&format!(r#"["{CURRENT}","{PREVIOUS}","{CURRENT}"]"#)).unwrap_err(),
            SecretValueError::Secrets(SecretsError::TooMany)
        );
    }

    #[test]
    fn errors_never_show_the_value() {
        let secret = "hunter2-but-in-json-quotes";
        for value in [
            format!(r#"{{"current":5,"previous":"{secret}"}}"#),
            format!(r#"["{secret}", 7]"#),
            format!(r#"{{"{secret}":"x"}}"#),
            format!("{secret},{secret}"),
            "hunter2".to_string(),
        ] {
            let message = parse(&value).unwrap_err().to_string();
            assert!(!message.contains("hunter2"), "{value} → {message}");
        }
    }
}
