//! The sentinel query, on small connection pools kept for the life of the process so that a
//! warm Lambda does not reconnect on every invocation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Pool, PoolConstraints, PoolOpts};

use crate::dsn::{DsnSource, TargetDsn};
use crate::error::SentinelError;

/// The schema is bound, never interpolated.
pub const SENTINEL_QUERY: &str = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = '_spirit_sentinel'";

/// What actually runs: [`SENTINEL_QUERY`] plus, in the same round trip, whether the schema is
/// visible to this user at all. `information_schema` hides what a user has no privilege on, so
/// without the visibility check a missing grant would read as "sentinel absent" — which the
/// worker treats as "the cutover happened".
pub const CHECK_QUERY: &str = "SELECT (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?), (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = '_spirit_sentinel')";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentinelConfig {
    /// Getting a connection (from the pool, or a new one).
    pub connect_timeout: Duration,
    /// Running the query on it.
    pub query_timeout: Duration,
    /// Upper bound of each pool: a Lambda runs one check at a time, so this stays tiny.
    pub max_connections: usize,
    /// Idle connections older than this are closed (the server would drop them anyway).
    pub idle_timeout: Duration,
}

impl Default for SentinelConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            query_timeout: Duration::from_secs(3),
            max_connections: 2,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Checks for Spirit's sentinel table. Keep one per process and use it on one tokio runtime
/// (its pools' connections belong to the runtime they were opened on).
#[derive(Debug)]
pub struct SentinelChecker {
    config: SentinelConfig,
    /// Keyed by the DSN itself (it never leaves this map), so rotated credentials get a new pool.
    pools: Mutex<HashMap<TargetDsn, Pool>>,
}

impl Default for SentinelChecker {
    fn default() -> Self {
        Self::new(SentinelConfig::default())
    }
}

impl SentinelChecker {
    pub fn new(config: SentinelConfig) -> Self {
        Self {
            config,
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `<schema>._spirit_sentinel` exists on the database behind `dsn`.
    pub async fn sentinel_present(
        &self,
        dsn: &TargetDsn,
        schema: &str,
    ) -> Result<bool, SentinelError> {
        let pool = self.pool_for(dsn)?;
        let secrets = secrets_of(dsn);
        match self.count_sentinels(&pool, schema, &secrets).await {
            // A pooled connection may have died while the process was idle (a frozen Lambda);
            // the pool drops it, so one more attempt gets a fresh one.
            Err(SentinelError::Unreachable(reason)) => {
                tracing::debug!(%reason, "sentinel check failed on a pooled connection; retrying once");
                self.count_sentinels(&pool, schema, &secrets).await
            }
            other => other,
        }
        .map(|count| count > 0)
    }

    /// [`SentinelChecker::sentinel_present`] on the target database of
    /// `(deployment, environment)`, its DSN taken from `source`.
    pub async fn sentinel_present_for(
        &self,
        source: &impl DsnSource,
        deployment: &str,
        environment: &str,
        schema: &str,
    ) -> Result<bool, SentinelError> {
        let dsn = source.target_dsn(deployment, environment).await?;
        match self.sentinel_present(&dsn, schema).await {
            // Refused credentials may be a rotated secret: read the DSN again and, if it
            // changed, try once with the new one.
            Err(SentinelError::Refused(reason)) => {
                source.forget(deployment, environment).await;
                let fresh = source.target_dsn(deployment, environment).await?;
                if fresh == dsn {
                    return Err(SentinelError::Refused(reason));
                }
                tracing::info!("target database refused the cached DSN; using the re-read secret");
                self.sentinel_present(&fresh, schema).await
            }
            other => other,
        }
    }

    /// Closes every pool (for a clean shutdown; not needed between invocations).
    pub async fn disconnect_all(&self) {
        let pools: Vec<Pool> = self
            .pools
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .drain()
            .map(|(_, pool)| pool)
            .collect();
        for pool in pools {
            if let Err(error) = pool.disconnect().await {
                let reason = SentinelError::from_driver(&error, &[]);
                tracing::debug!(%reason, "closing a sentinel pool failed");
            }
        }
    }

    async fn count_sentinels(
        &self,
        pool: &Pool,
        schema: &str,
        secrets: &[&str],
    ) -> Result<u64, SentinelError> {
        let mut conn = tokio::time::timeout(self.config.connect_timeout, pool.get_conn())
            .await
            .map_err(|_| SentinelError::ConnectTimeout(self.config.connect_timeout))?
            .map_err(|e| SentinelError::from_driver(&e, secrets))?;
        let row: Option<(u64, u64)> = tokio::time::timeout(
            self.config.query_timeout,
            conn.exec_first(CHECK_QUERY, (schema, schema)),
        )
        .await
        .map_err(|_| SentinelError::QueryTimeout(self.config.query_timeout))?
        .map_err(|e| SentinelError::from_driver(&e, secrets))?;
        match row {
            Some((visible, sentinels)) if visible > 0 => Ok(sentinels),
            _ => Err(SentinelError::SchemaNotVisible(schema.to_string())),
        }
    }

    fn pool_for(&self, dsn: &TargetDsn) -> Result<Pool, SentinelError> {
        let mut pools = self
            .pools
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(pool) = pools.get(dsn) {
            return Ok(pool.clone());
        }
        // The DSN's own TLS choice (ssl-mode, ssl-ca), see the `tls` module.
        let opts = crate::tls::driver_opts(dsn.expose())?;
        let constraints = PoolConstraints::new(0, self.config.max_connections.max(1))
            .ok_or(SentinelError::InvalidDsn)?;
        let pool_opts = PoolOpts::default()
            .with_constraints(constraints)
            .with_inactive_connection_ttl(self.config.idle_timeout);
        let opts = opts.pool_opts(pool_opts);
        // Creating a pool opens nothing; connections are made on first use.
        let pool = Pool::new(opts);
        pools.insert(dsn.clone(), pool.clone());
        Ok(pool)
    }
}

fn secrets_of(dsn: &TargetDsn) -> Vec<&str> {
    std::iter::once(dsn.expose())
        .chain(password_in(dsn.expose()))
        .collect()
}

/// The password part of `scheme://user:password@host...`, without decoding, as it could
/// appear in an echoed URL.
fn password_in(url: &str) -> Option<&str> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let userinfo = after_scheme.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then_some(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_password_in_a_dsn() {
        assert_eq!(password_in("mysql://root:pw@127.0.0.1:3306"), Some("pw"));
        assert_eq!(password_in("mysql://root:p:w@h:1/db"), Some("p:w"));
        assert_eq!(password_in("mysql://root@h:1"), None);
        assert_eq!(password_in("mysql://h:1"), None);
    }

    #[test]
    fn the_query_is_the_reference_query() {
        assert_eq!(
            SENTINEL_QUERY,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = '_spirit_sentinel'"
        );
    }

    #[tokio::test]
    async fn an_invalid_dsn_is_refused_without_echo() {
        let checker = SentinelChecker::default();
        let err = checker
            .sentinel_present(&TargetDsn::new("postgres://u:s3cret@h:1"), "db")
            .await
            .unwrap_err();
        assert_eq!(err, SentinelError::InvalidDsn);
        assert!(!format!("{err} {err:?}").contains("s3cret"));
    }
}
