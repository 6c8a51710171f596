//! Sentinel-check failures. No variant ever carries a DSN or a password: the driver's own
//! messages are rebuilt from safe parts and scrubbed before they get here.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SentinelError {
    #[error("{0} is not set")]
    MissingConfiguration(&'static str),
    /// The DSN map is not valid JSON of the expected shape (position only, never content).
    #[error("target DSN configuration is malformed: {0}")]
    MalformedConfiguration(String),
    #[error("no target database configured for deployment {0:?}")]
    UnknownDeployment(String),
    #[error("no target database configured for environment {environment:?} of deployment {deployment:?}")]
    UnknownEnvironment {
        deployment: String,
        environment: String,
    },
    #[error("the target DSN is not a valid MySQL connection URL")]
    InvalidDsn,
    /// `ssl-mode`/`ssl-ca` in the DSN are unusable. Says which rule, never the DSN.
    #[error("the target DSN's TLS settings are invalid: {0}")]
    InvalidTlsSettings(String),
    #[error("connecting to the target database took longer than {0:?}")]
    ConnectTimeout(Duration),
    #[error("the sentinel query took longer than {0:?}")]
    QueryTimeout(Duration),
    /// The server refused (bad credentials, missing privilege, ...). Retrying will not help.
    #[error("the target database refused the request: {0}")]
    Refused(String),
    /// The DSN's user cannot see the schema at all (missing privilege, wrong schema name). Then an
    /// absent sentinel proves nothing, so no answer is given rather than a false "absent".
    #[error("schema {0:?} is not visible to the sentinel check's database user")]
    SchemaNotVisible(String),
    /// Network or protocol trouble. Retrying may help.
    #[error("the target database could not be reached: {0}")]
    Unreachable(String),
}

impl SentinelError {
    /// Whether retrying the same check later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SentinelError::ConnectTimeout(_)
                | SentinelError::QueryTimeout(_)
                | SentinelError::Unreachable(_)
        )
    }

    /// Maps a driver error to a redacted one. `secrets` (the DSN, its password) are masked
    /// wherever they might still appear.
    pub(crate) fn from_driver(error: &mysql_async::Error, secrets: &[&str]) -> SentinelError {
        use mysql_async::{Error, IoError};
        match error {
            Error::Server(server) => SentinelError::Refused(scrub(
                &format!(
                    "ERROR {} ({}): {}",
                    server.code, server.state, server.message
                ),
                secrets,
            )),
            Error::Io(IoError::Io(io)) => {
                SentinelError::Unreachable(scrub(&io.to_string(), secrets))
            }
            Error::Io(IoError::Tls(tls)) => {
                SentinelError::Unreachable(scrub(&format!("TLS handshake failed: {tls}"), secrets))
            }
            Error::Driver(driver) => {
                SentinelError::Unreachable(scrub(&driver.to_string(), secrets))
            }
            // URL errors quote the URL; other errors are opaque. Say nothing about their text.
            Error::Url(_) => SentinelError::InvalidDsn,
            Error::Other(_) => SentinelError::Unreachable("unexpected driver error".into()),
        }
    }
}

fn scrub(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .fold(text.to_string(), |acc, secret| acc.replace(secret, "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_masks_every_secret() {
        let text = "failed mysql://u:hunter2@db:3306 with hunter2";
        let masked = scrub(text, &["mysql://u:hunter2@db:3306", "hunter2", ""]);
        assert_eq!(masked, "failed *** with ***");
    }

    #[test]
    fn server_errors_keep_code_and_lose_secrets() {
        let error = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1045,
            state: "28000".into(),
            message: "Access denied for user 'root'@'localhost' (password s3cret)".into(),
        });
        let mapped = SentinelError::from_driver(&error, &["s3cret"]);
        assert!(!mapped.is_transient());
        let shown = mapped.to_string();
        assert!(shown.contains("1045"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn url_errors_never_echo_the_url() {
        let error = mysql_async::Opts::from_url("mysql://u:s3cret@db:3306/?bogus_param=1")
            .map(|_| ())
            .map_err(mysql_async::Error::Url)
            .unwrap_err();
        let mapped = SentinelError::from_driver(&error, &[]);
        assert_eq!(mapped, SentinelError::InvalidDsn);
        assert!(!format!("{mapped} {mapped:?}").contains("s3cret"));
    }
}
