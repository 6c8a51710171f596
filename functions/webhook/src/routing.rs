//! The webhook's pure decision: given a PR comment and this stack's configuration, which job (if
//! any) to enqueue. No I/O, so every rule is unit-tested.
//!
//! Several stacks may share one GitHub App, each owning some environments. A command for an
//! environment this stack does not own is ignored silently (its owner answers); anything that
//! names no environment we could route by is answered only by the primary stack, so a comment is
//! never answered twice.

use crate::github_event::PrComment;
use schemabot_domain::command::{Command, ParseOutcome};
use schemabot_domain::job::{CommandSource, CommentOrigin, CutoverJob, Job, Reply, ReplyJob};
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
    /// Repositories allowed to use SchemaBot; empty = all.
    pub repositories: Vec<Repository>,
}

impl RoutingConfig {
    fn owns(&self, env: &Environment) -> bool {
        self.owned.is_empty() || self.owned.contains(env)
    }

    fn is_configured(&self, env: &Environment) -> bool {
        self.environments.contains(env)
    }

    fn allows_repository(&self, repo: &Repository) -> bool {
        self.repositories.is_empty() || self.repositories.contains(repo)
    }
}

/// What to do with a PR comment.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// Nothing to do; the message says why (returned to GitHub as `{"message": …}`).
    Ignored(&'static str),
    Enqueue(Job),
}

/// Decides what a parsed PR comment means for this stack.
pub fn route(
    delivery_id: &DeliveryId,
    comment: &PrComment<'_>,
    parsed: ParseOutcome,
    environment_hint: Option<Environment>,
    config: &RoutingConfig,
) -> Routed {
    let named_env = match &parsed {
        ParseOutcome::NotAddressed => return Routed::Ignored("no SchemaBot command found"),
        ParseOutcome::Command(command) => command.environment().cloned(),
        ParseOutcome::Error(_) => environment_hint,
    };
    match &named_env {
        Some(env) if config.is_configured(env) && !config.owns(env) => {
            return Routed::Ignored("environment handled by another instance")
        }
        // Unknown environments and commands without one are answered by the primary only.
        Some(env) if !config.is_configured(env) && !config.primary => {
            return Routed::Ignored("unknown environment is answered by the primary instance")
        }
        None if !config.primary => {
            return Routed::Ignored("command without environment is answered by the primary instance")
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
    let reply = |reply: Reply| Routed::Enqueue(Job::Reply(ReplyJob { origin: origin.clone(), reply }));

    if !config.allows_repository(&comment.repository) {
        return reply(Reply::RepositoryNotRegistered);
    }
    let command = match parsed {
        ParseOutcome::NotAddressed => return Routed::Ignored("no SchemaBot command found"),
        ParseOutcome::Error(error) => return reply(Reply::Syntax { error }),
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
    match command {
        Command::Help => reply(Reply::Help),
        Command::Cutover {
            apply_id,
            environment,
        } => Routed::Enqueue(Job::Cutover(CutoverJob {
            source: CommandSource::PrComment(origin),
            apply_id,
            environment,
        })),
        other => reply(Reply::NotAvailableYet {
            command: other.name(),
        }),
    }
}
