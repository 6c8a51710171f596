//! The queue is not a trust root: a job runs only when SQS says one of the roles allowed to send
//! that kind of job sent it.
//!
//! SQS stamps every message with the `SenderId` attribute: the sending IAM role's unique id
//! (`AROA…`) followed by `:` and the session name, or an IAM user's unique id (`AIDA…`). The
//! body cannot forge it, so the worker classifies each job by who may send it and compares.

use schemabot_domain::job::{CommandSource, Job};
use schemabot_domain::Repository;
use serde::Deserialize;

/// The principals allowed to send jobs, by role (unique ids, e.g. `AROAEXAMPLEID`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedSenders {
    /// The webhook function's role: every job derived from a GitHub delivery.
    pub webhook: Vec<String>,
    /// Operators (the CLI): operator commands, attributed to the sender.
    #[serde(default)]
    pub operator: Vec<String>,
    /// The worker's own role: the per-apply poll chain.
    pub worker: Vec<String>,
    /// Principals that move dead-lettered messages back (a redrive re-sends them under the
    /// redriver's identity): accepted for every kind of job, so keep this to the break-glass role.
    #[serde(default)]
    pub redrive: Vec<String>,
}

/// Who may send a kind of job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderRole {
    Webhook,
    Operator,
    Worker,
}

impl SenderRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SenderRole::Webhook => "webhook",
            SenderRole::Operator => "operator",
            SenderRole::Worker => "worker",
        }
    }
}

impl TrustedSenders {
    /// `{"webhook": ["AROA…"], "operator": ["AROA…"], "worker": ["AROA…"]}`; the webhook and
    /// worker lists must name at least one principal.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let senders: TrustedSenders = serde_json::from_str(json).map_err(|e| e.to_string())?;
        for (role, ids) in [
            ("webhook", &senders.webhook),
            ("operator", &senders.operator),
            ("worker", &senders.worker),
            ("redrive", &senders.redrive),
        ] {
            if ids
                .iter()
                .any(|id| id.trim().is_empty() || id.contains(':'))
            {
                return Err(format!(
                    "`{role}` lists an empty id or one with a session (`:`); give the role's unique id"
                ));
            }
        }
        if senders.webhook.is_empty() || senders.worker.is_empty() {
            return Err("`webhook` and `worker` must each name at least one principal".into());
        }
        Ok(senders)
    }

    /// The same principal for every role (local runs, where the emulator stamps one id).
    pub fn everyone(principal: &str) -> Self {
        TrustedSenders {
            webhook: vec![principal.to_string()],
            operator: vec![principal.to_string()],
            worker: vec![principal.to_string()],
            redrive: vec![],
        }
    }

    fn allows(&self, role: SenderRole, sender: &str) -> bool {
        let ids = match role {
            SenderRole::Webhook => &self.webhook,
            SenderRole::Operator => &self.operator,
            SenderRole::Worker => &self.worker,
        };
        is_one_of(ids, sender) || is_one_of(&self.redrive, sender)
    }
}

/// Whether `sender` (`AROA…:session` or `AIDA…`) is one of the principals `ids`.
fn is_one_of(ids: &[String], sender: &str) -> bool {
    ids.iter().any(|id| {
        sender == id
            || sender
                .strip_prefix(id.as_str())
                .is_some_and(|rest| rest.starts_with(':'))
    })
}

/// Why a queued job is dropped unrun.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error("no SenderId on the message")]
    NoSender,
    #[error("sender {sender} is not an allowed {role} principal")]
    WrongSender { sender: String, role: &'static str },
    #[error("repository {0} is not on the worker's allowlist")]
    RepositoryNotAllowed(Repository),
    #[error("test-only job refused")]
    TestOnlyJob,
}

impl Untrusted {
    pub fn code(&self) -> &'static str {
        match self {
            Untrusted::NoSender => "no_sender",
            Untrusted::WrongSender { .. } => "wrong_sender",
            Untrusted::RepositoryNotAllowed(_) => "repository_not_allowed",
            Untrusted::TestOnlyJob => "test_only_job",
        }
    }
}

/// What the worker trusts, from its configuration.
#[derive(Debug, Clone, Copy)]
pub struct TrustPolicy<'a> {
    pub senders: &'a TrustedSenders,
    pub repositories: &'a [Repository],
    /// `register_apply` jobs (tests only). Never set from the environment.
    pub accept_test_jobs: bool,
}

/// Admits `job` sent by `sender`, or says why not. An operator job's actor becomes the sender:
/// the body's claim of who asked is not evidence.
pub fn admit(policy: TrustPolicy<'_>, job: Job, sender: Option<&str>) -> Result<Job, Untrusted> {
    let role = required_role(&job);
    if matches!(job, Job::RegisterApply(_)) && !policy.accept_test_jobs {
        return Err(Untrusted::TestOnlyJob);
    }
    let sender = sender.ok_or(Untrusted::NoSender)?;
    if !policy.senders.allows(role, sender) {
        return Err(Untrusted::WrongSender {
            sender: sender.to_string(),
            role: role.as_str(),
        });
    }
    if let Some(repository) = github_repository(&job) {
        if !policy.repositories.contains(repository) {
            return Err(Untrusted::RepositoryNotAllowed(repository.clone()));
        }
    }
    let mut job = job;
    if let Some(CommandSource::Cli { actor, .. }) = command_source_mut(&mut job) {
        *actor = sender.to_string();
    }
    Ok(job)
}

fn required_role(job: &Job) -> SenderRole {
    match job {
        Job::Cutover(cutover) => role_of(&cutover.source),
        Job::Control(control) => role_of(&control.source),
        // An admin's `unlock --force` comes through the webhook; the CLI's `unlock` only from
        // the operator role.
        Job::ForceUnlock(force) => role_of(&force.source),
        Job::Rollback(rollback) => role_of(&rollback.source),
        Job::Reply(_) | Job::Plan(_) | Job::Apply(_) | Job::Unlock(_) => SenderRole::Webhook,
        Job::ApplyConfirm(_) | Job::RollbackConfirm(_) => SenderRole::Webhook,
        Job::Poll(_) | Job::RegisterApply(_) => SenderRole::Worker,
    }
}

fn role_of(source: &CommandSource) -> SenderRole {
    match source {
        CommandSource::PrComment(_) => SenderRole::Webhook,
        CommandSource::Cli { .. } => SenderRole::Operator,
    }
}

/// The source of a job that may come from a PR comment or the CLI.
fn command_source_mut(job: &mut Job) -> Option<&mut CommandSource> {
    match job {
        Job::Cutover(j) => Some(&mut j.source),
        Job::Control(j) => Some(&mut j.source),
        Job::ForceUnlock(j) => Some(&mut j.source),
        Job::Rollback(j) => Some(&mut j.source),
        _ => None,
    }
}

/// The repository a GitHub-derived job acts for.
fn github_repository(job: &Job) -> Option<&Repository> {
    match job {
        Job::Cutover(j) => pr_repository(&j.source),
        Job::Control(j) => pr_repository(&j.source),
        Job::ForceUnlock(j) => pr_repository(&j.source),
        Job::Rollback(j) => pr_repository(&j.source),
        Job::Reply(j) => Some(&j.origin.repository),
        Job::Apply(j) => Some(&j.origin.repository),
        Job::ApplyConfirm(j) => Some(&j.origin.repository),
        Job::RollbackConfirm(j) => Some(&j.origin.repository),
        Job::Plan(j) => Some(&j.repository),
        Job::Unlock(j) => Some(j.repository()),
        Job::Poll(_) | Job::RegisterApply(_) => None,
    }
}

fn pr_repository(source: &CommandSource) -> Option<&Repository> {
    match source {
        CommandSource::PrComment(origin) => Some(&origin.repository),
        CommandSource::Cli { .. } => None,
    }
}

#[cfg(test)]
mod tests;
