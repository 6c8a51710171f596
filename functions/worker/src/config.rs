//! Worker configuration from the environment. Names and endpoints come from variables; secrets
//! (GitHub App key, target DSNs) from Secrets Manager in AWS or from variables/files locally.

use crate::deployments::Deployments;
use schemabot_domain::Environment;
use schemabot_github::Permission;
use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::config_error::ConfigError;

/// Tunables of the worker; defaults suit production, tests shorten them.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub table: String,
    /// The FIFO job queue (commands).
    pub queue_url: String,
    /// The standard queue for delayed per-apply polls.
    pub poll_queue_url: Option<String>,
    /// The redrive policy's maxReceiveCount: the attempt that posts a final failure reply.
    pub max_receive_count: u32,
    pub environments: Vec<Environment>,
    /// Minimum repository permission to trigger a cutover, per environment (default `write`).
    pub permission_minimums: BTreeMap<Environment, Permission>,
    pub deployments: Deployments,
    /// How long a running task may be reported "no active change" before it is abandoned.
    pub abandon_grace: Duration,
    /// Delay between polls of one active apply.
    pub poll_interval: Duration,
    /// Most applies reconciled at once by a sweep.
    pub sweep_concurrency: usize,
    /// Least time between two edits of one progress comment.
    pub min_edit_interval: Duration,
    /// How long an unconfirmed `apply` lock keeps other PRs out.
    pub lock_lease: Duration,
    /// Promotion order (`staging,production`): an environment applies a schema only after every
    /// earlier one applied the same schema for the PR. Empty = no order.
    pub promotion_order: Vec<Environment>,
}

impl WorkerConfig {
    pub fn permission_minimum(&self, environment: &Environment) -> Permission {
        self.permission_minimums
            .get(environment)
            .copied()
            .unwrap_or(Permission::Write)
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| var(name).ok_or(ConfigError::Missing(name));
        let environments = var("SCHEMABOT_ENVIRONMENTS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|e| {
                Environment::parse(e).map_err(|source| ConfigError::Id {
                    name: "SCHEMABOT_ENVIRONMENTS",
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let permission_minimums =
            parse_permission_minimums(&var("SCHEMABOT_PERMISSION_MINIMUMS").unwrap_or_default())?;
        let max_receive_count = match var("SCHEMABOT_MAX_RECEIVE_COUNT") {
            Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "SCHEMABOT_MAX_RECEIVE_COUNT",
                reason: "not a positive number".into(),
            })?,
            None => 5,
        };
        let deployments = Deployments::from_json(&required("SCHEMABOT_DEPLOYMENTS")?)?;
        let lock_lease = match var("SCHEMABOT_LOCK_LEASE_MINUTES") {
            Some(v) => match v.trim().parse::<u64>() {
                Ok(minutes) if minutes > 0 => Duration::from_secs(minutes * 60),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "SCHEMABOT_LOCK_LEASE_MINUTES",
                        reason: "not a positive number of minutes".into(),
                    })
                }
            },
            None => Duration::from_secs(24 * 60 * 60),
        };
        let promotion_order = parse_promotion_order(
            &var("SCHEMABOT_PROMOTION_ORDER").unwrap_or_default(),
            &environments,
        )?;
        Ok(WorkerConfig {
            table: required("SCHEMABOT_TABLE")?,
            queue_url: required("SCHEMABOT_QUEUE_URL")?,
            poll_queue_url: var("SCHEMABOT_POLL_QUEUE_URL"),
            max_receive_count,
            environments,
            permission_minimums,
            deployments,
            abandon_grace: Duration::from_secs(300),
            poll_interval: Duration::from_secs(12),
            sweep_concurrency: 16,
            min_edit_interval: Duration::from_secs(5),
            lock_lease,
            promotion_order,
        })
    }
}

/// `staging,production` → the promotion order. Every name must be a configured environment, so
/// a typo cannot silently disable the check.
pub fn parse_promotion_order(
    text: &str,
    configured: &[Environment],
) -> Result<Vec<Environment>, ConfigError> {
    let order = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|e| {
            Environment::parse(e).map_err(|source| ConfigError::Id {
                name: "SCHEMABOT_PROMOTION_ORDER",
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(unknown) = order.iter().find(|e| !configured.contains(e)) {
        return Err(ConfigError::Invalid {
            name: "SCHEMABOT_PROMOTION_ORDER",
            reason: format!("`{unknown}` is not in SCHEMABOT_ENVIRONMENTS"),
        });
    }
    Ok(order)
}

/// `{"production": "maintain"}` → per-environment minimums. Empty → all `write`.
pub fn parse_permission_minimums(
    json: &str,
) -> Result<BTreeMap<Environment, Permission>, ConfigError> {
    if json.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let raw: BTreeMap<String, String> =
        serde_json::from_str(json).map_err(|e| ConfigError::Invalid {
            name: "SCHEMABOT_PERMISSION_MINIMUMS",
            reason: e.to_string(),
        })?;
    raw.into_iter()
        .map(|(env, perm)| {
            let env = Environment::parse(&env).map_err(|source| ConfigError::Id {
                name: "SCHEMABOT_PERMISSION_MINIMUMS",
                source,
            })?;
            let perm = Permission::parse(&perm).ok_or_else(|| ConfigError::Invalid {
                name: "SCHEMABOT_PERMISSION_MINIMUMS",
                reason: format!("`{perm}` is not a GitHub permission"),
            })?;
            Ok((env, perm))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_minimums_parse_and_default_to_write() {
        let m = parse_permission_minimums(r#"{"production":"maintain"}"#).unwrap();
        assert_eq!(
            m.get(&"production".parse().unwrap()),
            Some(&Permission::Maintain)
        );
        assert!(parse_permission_minimums(r#"{"production":"superuser"}"#).is_err());
        assert!(parse_permission_minimums("").unwrap().is_empty());
    }
}
