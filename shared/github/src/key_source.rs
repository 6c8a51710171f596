//! Where the App's private key comes from when it may change while the process runs.
//!
//! A GitHub App key is rotated by adding a new key on GitHub, storing it where the worker reads
//! it (e.g. a Secrets Manager secret) and deleting the old one. A warm Lambda keeps its client for
//! hours, so a key read once at start-up would keep signing with a deleted key. The client
//! therefore asks a [`KeySource`] again at most every [`KEY_REREAD_INTERVAL`] and at once when
//! GitHub refuses a JWT. The source is a seam: this crate knows no secret store; the worker
//! implements it over Secrets Manager.

use crate::config::PrivateKeyPem;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// How long a key read from a [`KeySource`] is used before the source is asked again (unless
/// GitHub refuses it first).
pub const KEY_REREAD_INTERVAL: Duration = Duration::from_secs(300);

/// The future [`KeySource::read_key`] returns.
pub type KeyRead<'a> =
    Pin<Box<dyn Future<Output = Result<PrivateKeyPem, KeySourceError>> + Send + 'a>>;

/// Reads the App's current private key (PEM).
pub trait KeySource: Send + Sync {
    /// The key as the source holds it now. Called when the client is built, when the re-read
    /// interval has passed, and after GitHub refused a JWT signed with the key in use.
    fn read_key(&self) -> KeyRead<'_>;
}

/// Why a [`KeySource`] could not produce a key. The message must name where it looked (an ARN,
/// a path) and never quote key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeySourceError(pub String);
