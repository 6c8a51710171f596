//! Why the worker's configuration could not be read: every variant stops the function at
//! start-up with one clear log line.

use schemabot_domain::IdError;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{name}: {source}")]
    Id { name: &'static str, source: IdError },
    #[error("could not read secret for {what}: {reason}")]
    Secret { what: &'static str, reason: String },
}
