//! The webhook's pure decision: given a PR comment and this stack's configuration, which job (if
//! any) to enqueue. No I/O, so every rule is unit-tested.
//!
//! Several stacks may share one GitHub App, each owning some environments. A command for an
//! environment this stack does not own is ignored silently (its owner answers); anything that
//! names no environment we could route by is answered only by the primary stack, so a comment is
//! never answered twice.
//!
//! Only the repositories of the allowlist are served (an empty list serves none), and
//! `apply`/`apply-confirm` only on a pull request that is still open.

use crate::autoplan::AutoplanPolicy;
use crate::github_event::{PrComment, PrState, PullRequestEvent};
use schemabot_domain::command::{Command, ParseOutcome};
use schemabot_domain::job::{
    ApplyConfirmJob, ApplyJob, CommandSource, CommentOrigin, ControlJob, CutoverJob,
    ForceUnlockJob, Job, PlanJob, PlanTrigger, Reply, ReplyJob, RollbackConfirmJob, RollbackJob,
    UnlockJob, UnlockTrigger,
};
use schemabot_domain::{DeliveryId, Environment, Repository};

/// Routing configuration of one stack.
#[derive(Debug, Clone, Default)]
pub struct RoutingConfig {
    /// Every environment of the deployment (the only valid `-e` values).
    pub environments: Vec<Environment>,
    /// The environments this stack answers for; empty = all.
    pub owned: Vec<Environment>,
    /// Whether this stack answers comments that name no environment.
    pub primary: bool,
    /// Repositories allowed to use SchemaBot; nothing listed serves nothing (the configuration
    /// refuses to start with an empty list).
    pub repositories: Vec<Repository>,
    /// Which pull requests are planned automatically when opened, pushed to or reopened.
    pub autoplan: AutoplanPolicy,
}

impl RoutingConfig {
    fn owns(&self, env: &Environment) -> bool {
        self.owned.is_empty() || self.owned.contains(env)
    }

    fn is_configured(&self, env: &Environment) -> bool {
        self.environments.contains(env)
    }

    fn allows_repository(&self, repo: &Repository) -> bool {
        self.repositories.contains(repo)
    }
}

/// What to do with a PR comment.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// Nothing to do; the message says why (returned to GitHub as `{"message": …}`).
    Ignored(&'static str),
    Enqueue(Box<Job>),
}

/// Decides what a parsed PR comment means for this stack.
pub fn route(
    delivery_id: &DeliveryId,
    comment: &PrComment<'_>,
    parsed: ParseOutcome,
    config: &RoutingConfig,
) -> Routed {
    if parsed == ParseOutcome::NotAddressed {
        return Routed::Ignored("no SchemaBot command found");
    }
    let named_env = parsed.environment().cloned();
    match &named_env {
        Some(env) if config.is_configured(env) && !config.owns(env) => {
            return Routed::Ignored("environment handled by another instance")
        }
        // Unknown environments and commands without one are answered by the primary only.
        Some(env) if !config.is_configured(env) && !config.primary => {
            return Routed::Ignored("unknown environment is answered by the primary instance")
        }
        None if !config.primary => {
            return Routed::Ignored(
                "command without environment is answered by the primary instance",
            )
        }
        _ => {}
    }

    let origin = CommentOrigin {
        delivery_id: delivery_id.clone(),
        installation_id: comment.installation_id,
        repository: comment.repository.clone(),
        pr: comment.pr,
        comment_id: comment.comment_id,
        commenter: comment.commenter.clone(),
    };
    let reply = |reply: Reply| {
        Routed::Enqueue(Box::new(Job::Reply(ReplyJob {
            origin: origin.clone(),
            reply,
        })))
    };

    if !config.allows_repository(&comment.repository) {
        return reply(Reply::RepositoryNotRegistered);
    }
    let command = match parsed {
        ParseOutcome::NotAddressed => return Routed::Ignored("no SchemaBot command found"),
        ParseOutcome::Error { error, .. } => return reply(Reply::Syntax { error }),
        ParseOutcome::Command(command) => command,
    };
    if let Some(env) = command.environment() {
        if !config.is_configured(env) {
            return reply(Reply::UnknownEnvironment {
                command: command.name(),
                given: env.clone(),
                configured: config.environments.clone(),
            });
        }
    }
    if matches!(
        command,
        Command::Apply { .. }
            | Command::ApplyConfirm { .. }
            | Command::Rollback { .. }
            | Command::RollbackConfirm { .. }
    ) && comment.pr_state != PrState::Open
    {
        // What a closed pull request holds may never be merged, and a merged one's change is
        // already on its way through its own deploys: neither is applied from here.
        return reply(Reply::ApplyBlockedPrNotOpen {
            command: command.name(),
            merged: comment.pr_state == PrState::Merged,
        });
    }
    let job = match command {
        Command::Help => return reply(Reply::Help),
        Command::Cutover {
            apply_id,
            environment,
        } => Job::Cutover(CutoverJob {
            source: CommandSource::PrComment(origin),
            apply_id,
            environment,
        }),
        Command::Plan {
            environment,
            database,
        } => Job::Plan(PlanJob {
            delivery_id: origin.delivery_id.clone(),
            installation_id: origin.installation_id,
            repository: origin.repository.clone(),
            pr: origin.pr,
            head_sha: None,
            environment,
            database,
            trigger: PlanTrigger::Comment {
                comment_id: origin.comment_id,
                commenter: origin.commenter.clone(),
            },
        }),
        Command::Apply {
            environment,
            database,
            flags,
        } => Job::Apply(ApplyJob {
            origin,
            environment,
            database,
            flags,
        }),
        Command::ApplyConfirm {
            environment,
            database,
            allow_unsafe,
        } => Job::ApplyConfirm(ApplyConfirmJob {
            origin,
            environment,
            database,
            allow_unsafe,
        }),
        Command::Unlock {
            database,
            environment,
        } => Job::Unlock(UnlockJob {
            trigger: UnlockTrigger::Command {
                origin,
                database,
                environment,
            },
        }),
        Command::ForceUnlock {
            database,
            environment,
        } => Job::ForceUnlock(ForceUnlockJob {
            source: CommandSource::PrComment(origin),
            database,
            environment,
        }),
        Command::Rollback {
            apply_id,
            environment,
            defer_cutover,
        } => Job::Rollback(RollbackJob {
            source: CommandSource::PrComment(origin),
            apply_id,
            environment,
            defer_cutover,
        }),
        Command::RollbackConfirm { environment } => Job::RollbackConfirm(RollbackConfirmJob {
            origin,
            environment,
        }),
        other => match other.control() {
            Some((op, apply_id, environment)) => Job::Control(ControlJob {
                source: CommandSource::PrComment(origin),
                op,
                apply_id: apply_id.cloned(),
                environment: environment.clone(),
            }),
            None => {
                return reply(Reply::NotAvailableYet {
                    command: other.name(),
                })
            }
        },
    };
    Routed::Enqueue(Box::new(job))
}

/// Decides what a `pull_request` event means for this stack: an automatic plan of every
/// configured environment on `opened`, `synchronize` and `reopened`. The event names no
/// environment, so only the primary stack plans; an unregistered repository is ignored (there is
/// no comment to answer), and so are pull requests the autoplan policy leaves out (forks, authors
/// without an allowed association).
pub fn route_pull_request(
    delivery_id: &DeliveryId,
    event: &PullRequestEvent<'_>,
    config: &RoutingConfig,
) -> Routed {
    if &*event.action == "closed" {
        // Every stack keeps its own locks, so every stack releases them (no primary check).
        if !config.allows_repository(&event.repository) {
            return Routed::Ignored("repository not registered");
        }
        return Routed::Enqueue(Box::new(Job::Unlock(UnlockJob {
            trigger: UnlockTrigger::PullRequestClosed {
                delivery_id: delivery_id.clone(),
                installation_id: event.installation_id,
                repository: event.repository.clone(),
                pr: event.pr,
            },
        })));
    }
    if !matches!(&*event.action, "opened" | "synchronize" | "reopened") {
        return Routed::Ignored("pull_request action ignored");
    }
    if !config.primary {
        return Routed::Ignored("pull_request events are handled by the primary instance");
    }
    if !config.allows_repository(&event.repository) {
        return Routed::Ignored("repository not registered");
    }
    if let Some(why) = config.autoplan.refusal(event) {
        return Routed::Ignored(why);
    }
    Routed::Enqueue(Box::new(Job::Plan(PlanJob {
        delivery_id: delivery_id.clone(),
        installation_id: event.installation_id,
        repository: event.repository.clone(),
        pr: event.pr,
        head_sha: Some(event.head_sha.clone()),
        environment: None,
        database: None,
        trigger: PlanTrigger::PullRequest {
            action: event.action.to_string(),
        },
    })))
}

#[cfg(test)]
mod refusal_tests;
#[cfg(test)]
mod tests;
