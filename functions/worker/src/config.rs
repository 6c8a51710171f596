//! Worker configuration from the environment. Names and endpoints come from variables; secrets
//! (GitHub App key, target DSNs) from Secrets Manager in AWS or from variables/files locally.

use crate::deployments::Deployments;
use crate::trust::TrustedSenders;
use schemabot_domain::{Environment, IdError, Repository};
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
    /// Minimum repository permission to ask for a plan by comment, per environment (default
    /// `triage`): plans show the live schema's DDL.
    pub read_minimums: BTreeMap<Environment, Permission>,
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
    /// The repositories this stack serves (required, re-checked on every GitHub-derived job).
    pub repositories: Vec<Repository>,
    /// Who may send which jobs (the queue is not a trust root).
    pub trusted_senders: TrustedSenders,
    /// Accept `register_apply` jobs from the queue. Tests only: never set from the environment.
    pub accept_test_jobs: bool,
    /// The time a job may need: none starts with less left before the invocation's deadline.
    pub job_budget: Duration,
    /// The most a plan reads from a PR.
    pub plan_limits: PlanLimits,
    /// How long a `confirming`/`applying` lock may wait for its confirm to finish before the
    /// sweep settles it from evidence.
    pub confirm_lease: Duration,
    /// The least time between two looks for locks to settle (the sweep runs every minute).
    pub lock_settle_interval: Duration,
    /// The review gate of each protected environment (`SCHEMABOT_REVIEW_GATES`).
    pub review_gates: crate::review_config::ReviewGates,
}

/// Caps on what one plan reads from a PR: schema directories, and `.sql` files over all of them.
/// Past a cap the PR is answered instead of planned (a PR touching hundreds of files would
/// otherwise cost hundreds of GitHub requests and a comment per database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    pub max_dirs: usize,
    pub max_files: usize,
}

impl Default for PlanLimits {
    fn default() -> Self {
        PlanLimits {
            max_dirs: 10,
            max_files: 200,
        }
    }
}

impl WorkerConfig {
    pub fn permission_minimum(&self, environment: &Environment) -> Permission {
        self.permission_minimums
            .get(environment)
            .copied()
            .unwrap_or(Permission::Write)
    }

    pub fn read_minimum(&self, environment: &Environment) -> Permission {
        self.read_minimums
            .get(environment)
            .copied()
            .unwrap_or(Permission::Triage)
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let text = |name: &str| var(name).unwrap_or_default();
        let required = |name: &'static str| var(name).ok_or(ConfigError::Missing(name));
        let number = |name: &'static str, default: u64| {
            positive_number(name, var(name), "not a positive whole number")
                .map(|n| n.unwrap_or(default))
        };
        let seconds = |name: &'static str, default| number(name, default).map(Duration::from_secs);
        let environments = parse_list(
            "SCHEMABOT_ENVIRONMENTS",
            &text("SCHEMABOT_ENVIRONMENTS"),
            Environment::parse,
        )?;
        let minimums = |name: &'static str, floor| {
            let minimums = parse_minimums(name, &text(name))?;
            check_minimums(name, &minimums, &environments, floor).map(|()| minimums)
        };
        let permission_minimums = minimums("SCHEMABOT_PERMISSION_MINIMUMS", Permission::Write)?;
        let read_minimums = minimums("SCHEMABOT_READ_MINIMUMS", Permission::Read)?;
        let max_receive_count = match var("SCHEMABOT_MAX_RECEIVE_COUNT") {
            Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "SCHEMABOT_MAX_RECEIVE_COUNT",
                reason: "not a positive number".into(),
            })?,
            None => 5,
        };
        let deployments = Deployments::from_json(&required("SCHEMABOT_DEPLOYMENTS")?)?;
        let lease_minutes = positive_number(
            "SCHEMABOT_LOCK_LEASE_MINUTES",
            var("SCHEMABOT_LOCK_LEASE_MINUTES"),
            "not a positive number of minutes",
        )?;
        let promotion_order =
            parse_promotion_order(&text("SCHEMABOT_PROMOTION_ORDER"), &environments)?;
        let repositories = parse_repositories(&text("SCHEMABOT_REPOSITORIES"))?;
        let trusted_senders = TrustedSenders::from_json(&required("SCHEMABOT_TRUSTED_SENDERS")?)
            .map_err(|reason| ConfigError::Invalid {
                name: "SCHEMABOT_TRUSTED_SENDERS",
                reason,
            })?;
        let review_gates = crate::review_config::ReviewGates::parse(
            &text("SCHEMABOT_REVIEW_GATES"),
            &environments,
        )?;
        let defaults = PlanLimits::default();
        Ok(WorkerConfig {
            repositories,
            trusted_senders,
            accept_test_jobs: false,
            plan_limits: PlanLimits {
                max_dirs: number("SCHEMABOT_PLAN_MAX_DIRS", defaults.max_dirs as u64)? as usize,
                max_files: number("SCHEMABOT_PLAN_MAX_FILES", defaults.max_files as u64)? as usize,
            },
            lock_settle_interval: seconds("SCHEMABOT_LOCK_SETTLE_INTERVAL_SECONDS", 120)?,
            confirm_lease: seconds("SCHEMABOT_CONFIRM_LEASE_SECONDS", 600)?,
            job_budget: seconds("SCHEMABOT_JOB_BUDGET_SECONDS", 20)?,
            table: required("SCHEMABOT_TABLE")?,
            queue_url: required("SCHEMABOT_QUEUE_URL")?,
            poll_queue_url: var("SCHEMABOT_POLL_QUEUE_URL"),
            max_receive_count,
            environments,
            permission_minimums,
            read_minimums,
            deployments,
            abandon_grace: Duration::from_secs(300),
            poll_interval: Duration::from_secs(12),
            sweep_concurrency: 16,
            min_edit_interval: Duration::from_secs(5),
            lock_lease: Duration::from_secs(lease_minutes.unwrap_or(24 * 60) * 60),
            promotion_order,
            review_gates,
        })
    }
}

/// A positive whole number from `value` (`None` when unset); `reason` says what is wrong.
fn positive_number(
    name: &'static str,
    value: Option<String>,
    reason: &str,
) -> Result<Option<u64>, ConfigError> {
    value
        .map(|v| match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError::Invalid {
                name,
                reason: reason.into(),
            }),
        })
        .transpose()
}

/// `a, b` → the listed ids (blank entries skipped), each parsed by `parse`.
fn parse_list<T>(
    name: &'static str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, IdError>,
) -> Result<Vec<T>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| parse(item).map_err(|source| ConfigError::Id { name, source }))
        .collect()
}

/// `acme/payments,acme/orders` → the repository allowlist. Empty is a configuration error: a
/// worker serving "every repository the App is installed on" is not a safe default.
pub fn parse_repositories(text: &str) -> Result<Vec<Repository>, ConfigError> {
    let repositories = parse_list("SCHEMABOT_REPOSITORIES", text, Repository::parse)?;
    if repositories.is_empty() {
        return Err(ConfigError::Invalid {
            name: "SCHEMABOT_REPOSITORIES",
            reason: "empty: list the owner/name repositories this stack serves".into(),
        });
    }
    Ok(repositories)
}

/// `staging,production` → the promotion order. Every name must be a configured environment, so
/// a typo cannot silently disable the check.
pub fn parse_promotion_order(
    text: &str,
    configured: &[Environment],
) -> Result<Vec<Environment>, ConfigError> {
    let order = parse_list("SCHEMABOT_PROMOTION_ORDER", text, Environment::parse)?;
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
    parse_minimums("SCHEMABOT_PERMISSION_MINIMUMS", json)
}

fn parse_minimums(
    name: &'static str,
    json: &str,
) -> Result<BTreeMap<Environment, Permission>, ConfigError> {
    if json.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let raw: BTreeMap<String, String> =
        serde_json::from_str(json).map_err(|e| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        })?;
    raw.into_iter()
        .map(|(env, perm)| {
            let env =
                Environment::parse(&env).map_err(|source| ConfigError::Id { name, source })?;
            let perm = Permission::parse(&perm).ok_or_else(|| ConfigError::Invalid {
                name,
                reason: format!("`{perm}` is not a GitHub permission"),
            })?;
            Ok((env, perm))
        })
        .collect()
}

/// Minimums must name configured environments (a typo must not silently fall back to the
/// default), and mutating commands need at least `write` (`floor`).
fn check_minimums(
    name: &'static str,
    minimums: &BTreeMap<Environment, Permission>,
    environments: &[Environment],
    floor: Permission,
) -> Result<(), ConfigError> {
    for (environment, permission) in minimums {
        if !environments.contains(environment) {
            return Err(ConfigError::Invalid {
                name,
                reason: format!("`{environment}` is not in SCHEMABOT_ENVIRONMENTS"),
            });
        }
        if !permission.at_least(floor) {
            return Err(ConfigError::Invalid {
                name,
                reason: format!(
                    "`{environment}` asks for `{}`, below the least allowed, `{}`",
                    permission.as_str(),
                    floor.as_str()
                ),
            });
        }
    }
    Ok(())
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

    #[test]
    fn minimums_name_configured_environments_and_mutations_need_write() {
        let environments = vec![Environment::parse("production").unwrap()];
        let check = |json: &str, floor| {
            check_minimums(
                "X",
                &parse_minimums("X", json).unwrap(),
                &environments,
                floor,
            )
        };
        assert!(check(r#"{"production":"admin"}"#, Permission::Write).is_ok());
        let typo = check(r#"{"prodution":"admin"}"#, Permission::Write).unwrap_err();
        assert!(
            typo.to_string().contains("not in SCHEMABOT_ENVIRONMENTS"),
            "{typo}"
        );
        let low = check(r#"{"production":"triage"}"#, Permission::Write).unwrap_err();
        assert!(low.to_string().contains("below the least allowed"), "{low}");
        assert!(check(r#"{"production":"triage"}"#, Permission::Read).is_ok());
        assert!(parse_minimums("X", "not json").is_err());
    }

    #[test]
    fn the_repository_allowlist_is_required() {
        let err = parse_repositories(" , ").unwrap_err().to_string();
        assert!(err.contains("SCHEMABOT_REPOSITORIES"), "{err}");
        assert!(parse_repositories("acme/x,not-a-repo").is_err());
        assert_eq!(parse_repositories("Acme/X, acme/y").unwrap().len(), 2);
    }
}
