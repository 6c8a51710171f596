//! Typed identifiers and names, parsed once at the boundary.
//!
//! Every value here is validated on construction, so code further in never re-checks a raw string.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a raw string was refused as an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("`{0}` is not an apply id (expected `apply-` followed by hex digits)")]
    ApplyId(String),
    #[error("`{0}` is not a task id (expected `task-` followed by hex digits)")]
    TaskId(String),
    #[error("`{0}` is not a valid environment name")]
    Environment(String),
    #[error("`{0}` is not a valid delivery id")]
    DeliveryId(String),
    #[error("`{0}` is not a repository name of the form owner/name")]
    Repository(String),
    #[error("`{0}` is not a valid database name")]
    Database(String),
}

/// `raw` lower-cased, when that is one of `prefixes` followed by hex digits, 80 bytes at most.
fn prefixed_hex(raw: &str, prefixes: &[&str]) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    let is_hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = lower.len() <= 80
        && prefixes
            .iter()
            .any(|p| lower.strip_prefix(p).is_some_and(is_hex));
    valid.then_some(lower)
}

/// Non-empty, at most `max` bytes, and only ASCII letters, digits and the bytes of `extra`.
fn is_name(s: &str, max: usize, extra: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $name::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::parse(s)
            }
        }
    };
}

string_newtype!(
    /// SchemaBot's public apply id: `apply-` or `apply_` followed by hex digits, stored lower-case
    /// (`apply-0123456789abcdef`). Users may type it in any case; it is canonicalised here.
    ApplyId
);

impl ApplyId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        prefixed_hex(raw, &["apply-", "apply_"])
            .map(ApplyId)
            .ok_or_else(|| IdError::ApplyId(raw.to_string()))
    }

    /// A fresh id in Tern's format: `apply-` + 16 lower-case hex characters.
    pub fn from_random(random: u64) -> Self {
        ApplyId(format!("apply-{random:016x}"))
    }
}

string_newtype!(
    /// A task id: `task-` followed by hex digits (Tern uses 16), stored lower-case.
    TaskId
);

impl TaskId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        prefixed_hex(raw, &["task-"])
            .map(TaskId)
            .ok_or_else(|| IdError::TaskId(raw.to_string()))
    }

    pub fn from_random(random: u64) -> Self {
        TaskId(format!("task-{random:016x}"))
    }
}

string_newtype!(
    /// An environment name as written after `-e`, lower-cased. Whether it is *configured* is decided
    /// later against configuration ([`crate::config::Environments`]), never hard-coded.
    Environment
);

impl Environment {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let lower = raw.to_ascii_lowercase();
        is_name(&lower, 64, b"-_.")
            .then_some(Environment(lower))
            .ok_or_else(|| IdError::Environment(raw.to_string()))
    }
}

string_newtype!(
    /// GitHub's `X-GitHub-Delivery` header (a GUID), also used as the SQS deduplication id.
    /// Restricted to the characters SQS accepts in a deduplication id.
    DeliveryId
);

impl DeliveryId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        is_name(raw, 128, b"-_.:")
            .then(|| DeliveryId(raw.to_string()))
            .ok_or_else(|| IdError::DeliveryId(raw.to_string()))
    }
}

string_newtype!(
    /// `owner/name`, as in `repository.full_name`. Compared case-insensitively by GitHub, so it is
    /// stored lower-cased.
    Repository
);

impl Repository {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let lower = raw.to_ascii_lowercase();
        let valid_part = |p: &str| is_name(p, 100, b"-_.");
        match lower.split_once('/') {
            Some((owner, name)) if valid_part(owner) && valid_part(name) => Ok(Repository(lower)),
            _ => Err(IdError::Repository(raw.to_string())),
        }
    }

    pub fn owner(&self) -> &str {
        self.0.split_once('/').map(|(o, _)| o).unwrap_or(&self.0)
    }

    pub fn name(&self) -> &str {
        self.0.split_once('/').map(|(_, n)| n).unwrap_or("")
    }
}

string_newtype!(
    /// A database (or schema/keyspace) name as given after `-d` or stored on an apply.
    Database
);

impl Database {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        is_name(raw, 64, b"_-")
            .then(|| Database(raw.to_string()))
            .ok_or_else(|| IdError::Database(raw.to_string()))
    }
}

/// A pull request number within a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PrNumber(pub u64);

/// A GitHub issue-comment id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommentId(pub u64);

/// A GitHub App installation id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstallationId(pub u64);

/// A GitHub login (user name). Kept verbatim; it is escaped whenever it is rendered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Login(pub String);

/// `Display` as the wrapped value.
macro_rules! display_inner {
    ($($name:ident),+) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )+};
}

display_inner!(PrNumber, CommentId, Login);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_ids_accept_dash_and_underscore_and_canonicalise_case() {
        assert_eq!(
            ApplyId::parse("APPLY-ABC123").unwrap().as_str(),
            "apply-abc123"
        );
        assert_eq!(
            ApplyId::parse("apply_abc123").unwrap().as_str(),
            "apply_abc123"
        );
        for bad in [
            "apply-",
            "apply-xyz",
            "apply",
            "apply-12 3",
            "aply-123",
            "apply:12",
        ] {
            assert!(ApplyId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ApplyId::from_random(0x0123_4567_89ab_cdef).as_str(),
            "apply-0123456789abcdef"
        );
    }

    #[test]
    fn environments_are_lower_cased_and_restricted() {
        assert_eq!(Environment::parse("Staging").unwrap().as_str(), "staging");
        assert!(Environment::parse("").is_err());
        assert!(Environment::parse("prod`uction").is_err());
        assert!(Environment::parse("a b").is_err());
    }

    #[test]
    fn repositories_need_owner_and_name() {
        let r = Repository::parse("Octocat/Hello-World").unwrap();
        assert_eq!((r.owner(), r.name()), ("octocat", "hello-world"));
        for bad in ["octocat", "/x", "x/", "a/b/c", "a b/c"] {
            assert!(Repository::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delivery_ids_are_sqs_safe() {
        assert!(DeliveryId::parse("72d3162e-cc78-11e3-81ab-4c9367dc0958").is_ok());
        assert!(DeliveryId::parse("").is_err());
        assert!(DeliveryId::parse("a\nb").is_err());
        assert!(DeliveryId::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn ids_deserialize_through_validation() {
        let ok: ApplyId = serde_json::from_str("\"apply-ab\"").unwrap();
        assert_eq!(ok.as_str(), "apply-ab");
        assert!(serde_json::from_str::<ApplyId>("\"nope\"").is_err());
    }
}
