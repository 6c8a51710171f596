//! Jobs: what the webhook (and the CLI) enqueue on SQS and the worker performs.
//!
//! Serialized as JSON inside a versioned envelope so that a worker can refuse (DLQ) a message it
//! does not understand instead of misreading it.

use crate::apply::ApplyMode;
use crate::command::{ApplyFlags, CommandName, ParseError};
use crate::ids::{
    ApplyId, CommentId, Database, DeliveryId, Environment, InstallationId, Login, PrNumber,
    Repository, TaskId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Current envelope version. Bump when a job's meaning changes incompatibly.
pub const JOB_SCHEMA_VERSION: u32 = 1;

/// The message body on the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEnvelope {
    pub v: u32,
    pub job: Job,
}

impl JobEnvelope {
    pub fn new(job: Job) -> Self {
        JobEnvelope {
            v: JOB_SCHEMA_VERSION,
            job,
        }
    }
}

/// The PR comment a job answers: where to react and reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentOrigin {
    pub delivery_id: DeliveryId,
    pub installation_id: InstallationId,
    pub repository: Repository,
    pub pr: PrNumber,
    pub comment_id: CommentId,
    pub commenter: Login,
}

impl CommentOrigin {
    /// `<kind>:<repository>:<comment id>`: the [`Job::id`] of a job one comment asked for.
    fn job_id(&self, kind: &str) -> String {
        format!("{kind}:{}:{}", self.repository, self.comment_id)
    }
}

/// Where a cutover command came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CommandSource {
    PrComment(CommentOrigin),
    /// The operator CLI; `actor` is the caller's AWS identity (ARN). IAM replaced the GitHub
    /// permission check.
    Cli {
        request_id: String,
        actor: String,
    },
}

impl CommandSource {
    /// The comment that asked, unless the CLI did.
    pub fn origin(&self) -> Option<&CommentOrigin> {
        match self {
            CommandSource::PrComment(origin) => Some(origin),
            CommandSource::Cli { .. } => None,
        }
    }

    fn job_id(&self, kind: &str) -> String {
        match self {
            CommandSource::PrComment(origin) => origin.job_id(kind),
            CommandSource::Cli { request_id, .. } => format!("{kind}:cli:{request_id}"),
        }
    }
}

/// `schemabot stop|start|cancel|revert|skip-revert [<apply-id>] -e <env>`, from a PR comment or
/// the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlJob {
    pub source: CommandSource,
    pub op: crate::control::ControlOp,
    /// `None`: the PR's one controllable apply in the environment (PR comments only).
    pub apply_id: Option<ApplyId>,
    pub environment: Environment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutoverJob {
    pub source: CommandSource,
    pub apply_id: ApplyId,
    pub environment: Environment,
}

/// A reply the worker posts without doing anything else (syntax errors, help, refusals the webhook
/// can decide on its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Help,
    Syntax {
        error: ParseError,
    },
    UnknownEnvironment {
        command: CommandName,
        given: Environment,
        configured: Vec<Environment>,
    },
    RepositoryNotRegistered,
    /// Recognised, but this deployment does not handle it yet.
    NotAvailableYet {
        command: CommandName,
    },
    /// `apply`/`apply-confirm` on a pull request that is no longer open: a closed one can be
    /// reopened, a merged one cannot (its change needs a new pull request).
    ApplyBlockedPrNotOpen {
        command: CommandName,
        merged: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyJob {
    pub origin: CommentOrigin,
    pub reply: Reply,
}

/// Re-poll one active apply (a delayed message; one chain per apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollJob {
    pub apply_id: ApplyId,
    /// Which link of the chain this is; the store keeps the current one so chains never multiply.
    pub chain_seq: u64,
}

/// One table of an apply being registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterTask {
    pub task_id: TaskId,
    /// The schema (or keyspace) the table lives in.
    pub namespace: String,
    pub table: String,
    pub ddl: String,
}

/// Brings an apply Tern accepted into SchemaBot: its record and tasks, the PR's progress
/// comment and its poll chain. What the apply flow sends once Tern answered an Apply (tests and
/// the demo send it directly). Idempotent: re-running it finds what an earlier run created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterApplyJob {
    pub apply_id: ApplyId,
    /// The apply id on the Tern side.
    pub tern_apply_id: String,
    pub repository: Repository,
    pub pr: PrNumber,
    pub installation_id: InstallationId,
    pub database: Database,
    /// `mysql` or `vitess`, as Tern expects it.
    pub database_type: String,
    pub deployment: String,
    pub environment: Environment,
    /// The schema Spirit alters (where `_spirit_sentinel` lives).
    pub target_schema: String,
    pub mode: ApplyMode,
    pub defer_cutover: bool,
    pub requested_by: Option<Login>,
    /// When Tern accepted the apply.
    pub started_at: DateTime<Utc>,
    pub tasks: Vec<RegisterTask>,
    /// The declarative schema the apply was planned from (namespace → file → content).
    #[serde(default)]
    pub desired_schema: crate::apply::SchemaFiles,
    /// Set on a rollback: the apply whose schema change it takes back.
    #[serde(default)]
    pub rollback_of: Option<ApplyId>,
}

/// What asked for a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlanTrigger {
    /// `schemabot plan` in a PR comment.
    Comment {
        comment_id: CommentId,
        commenter: Login,
    },
    /// A `pull_request` event (`opened`, `synchronize`, `reopened`).
    PullRequest { action: String },
}

/// Plan the schema changes of a PR and post (or edit) one plan comment per (database,
/// environment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanJob {
    pub delivery_id: DeliveryId,
    pub installation_id: InstallationId,
    pub repository: Repository,
    pub pr: PrNumber,
    /// The PR head commit, when the event named it; a comment does not, so the worker looks it up.
    pub head_sha: Option<String>,
    /// `None` = every configured environment.
    pub environment: Option<Environment>,
    /// `None` = every database the PR changes.
    pub database: Option<Database>,
    pub trigger: PlanTrigger,
}

impl PlanJob {
    /// The comment that asked for the plan; `None` for a plan on a push.
    pub fn comment_origin(&self) -> Option<CommentOrigin> {
        let PlanTrigger::Comment {
            comment_id,
            commenter,
        } = &self.trigger
        else {
            return None;
        };
        Some(CommentOrigin {
            delivery_id: self.delivery_id.clone(),
            installation_id: self.installation_id,
            repository: self.repository.clone(),
            pr: self.pr,
            comment_id: *comment_id,
            commenter: commenter.clone(),
        })
    }
}

/// `schemabot apply -e <env> [-d <db>] [flags]`: re-plan, lock (database, environment) for the
/// PR and show the plan with its confirmation footer (`-y` confirms at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyJob {
    pub origin: CommentOrigin,
    pub environment: Environment,
    pub database: Option<Database>,
    pub flags: ApplyFlags,
}

/// `schemabot apply-confirm -e <env> [-d <db>] [--allow-unsafe]`: execute the PR's locked plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyConfirmJob {
    pub origin: CommentOrigin,
    pub environment: Environment,
    pub database: Option<Database>,
    pub allow_unsafe: bool,
}

/// `schemabot rollback <apply-id> -e <env> [--defer-cutover]`: plan the schema the database had
/// before that apply and lock it for the apply's PR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackJob {
    pub source: CommandSource,
    pub apply_id: ApplyId,
    pub environment: Environment,
    pub defer_cutover: bool,
}

/// `schemabot rollback-confirm -e <env>`: apply the rollback plan this PR locked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackConfirmJob {
    pub origin: CommentOrigin,
    pub environment: Environment,
}

/// Why a PR's locks are being released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UnlockTrigger {
    /// `schemabot unlock [-d <db>] [-e <env>]`.
    Command {
        origin: CommentOrigin,
        database: Option<Database>,
        /// Only this environment's locks (`None`: every environment).
        #[serde(default)]
        environment: Option<Environment>,
    },
    /// The pull request was closed (merged or not).
    PullRequestClosed {
        delivery_id: DeliveryId,
        installation_id: InstallationId,
        repository: Repository,
        pr: PrNumber,
    },
}

/// Release the locks a PR holds that are not being applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockJob {
    pub trigger: UnlockTrigger,
}

impl UnlockJob {
    pub fn repository(&self) -> &Repository {
        match &self.trigger {
            UnlockTrigger::Command { origin, .. } => &origin.repository,
            UnlockTrigger::PullRequestClosed { repository, .. } => repository,
        }
    }

    pub fn pr(&self) -> PrNumber {
        match &self.trigger {
            UnlockTrigger::Command { origin, .. } => origin.pr,
            UnlockTrigger::PullRequestClosed { pr, .. } => *pr,
        }
    }

    pub fn installation_id(&self) -> InstallationId {
        match &self.trigger {
            UnlockTrigger::Command { origin, .. } => origin.installation_id,
            UnlockTrigger::PullRequestClosed {
                installation_id, ..
            } => *installation_id,
        }
    }
}

/// `schemabot unlock --force -d <db> -e <env>` from an admin's PR comment, or `schemabot unlock
/// -d <db> -e <env>` on the CLI: release whichever PR's lock on (database, environment), unless
/// it is being confirmed or applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForceUnlockJob {
    pub source: CommandSource,
    pub database: Database,
    pub environment: Environment,
}

/// A job on the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    Cutover(CutoverJob),
    Control(ControlJob),
    Reply(ReplyJob),
    Poll(PollJob),
    RegisterApply(RegisterApplyJob),
    Plan(PlanJob),
    Apply(ApplyJob),
    ApplyConfirm(ApplyConfirmJob),
    Unlock(UnlockJob),
    ForceUnlock(ForceUnlockJob),
    Rollback(RollbackJob),
    RollbackConfirm(RollbackConfirmJob),
}

impl Job {
    /// A stable id: the same for every redelivery of the same request. Used as the SQS
    /// deduplication id, the claim's command id and the hidden marker in comments.
    pub fn id(&self) -> String {
        match self {
            Job::Cutover(j) => j.source.job_id("cutover"),
            Job::Control(j) => j.source.job_id(j.op.as_str()),
            Job::Reply(j) => j.origin.job_id("reply"),
            Job::Poll(j) => format!("poll:{}:{}", j.apply_id, j.chain_seq),
            Job::RegisterApply(j) => format!("register:{}", j.apply_id),
            Job::Plan(j) => match &j.trigger {
                PlanTrigger::Comment { comment_id, .. } => {
                    format!("plan:{}:{}", j.repository, comment_id)
                }
                PlanTrigger::PullRequest { .. } => {
                    format!("plan:{}:{}:delivery:{}", j.repository, j.pr, j.delivery_id)
                }
            },
            Job::Apply(j) => j.origin.job_id("apply"),
            Job::ApplyConfirm(j) => j.origin.job_id("apply-confirm"),
            Job::Unlock(j) => match &j.trigger {
                UnlockTrigger::Command { origin, .. } => origin.job_id("unlock"),
                UnlockTrigger::PullRequestClosed {
                    repository,
                    pr,
                    delivery_id,
                    ..
                } => format!("unlock:{repository}:{}:delivery:{delivery_id}", pr.0),
            },
            Job::ForceUnlock(j) => j.source.job_id("unlock"),
            Job::Rollback(j) => j.source.job_id("rollback"),
            Job::RollbackConfirm(j) => j.origin.job_id("rollback-confirm"),
        }
    }

    /// The PR comment that asked for the job; `None` for the CLI and for automatic work (polls,
    /// plans on push, a closed PR).
    pub fn comment_origin(&self) -> Option<CommentOrigin> {
        let origin = match self {
            Job::Cutover(j) => j.source.origin(),
            Job::Control(j) => j.source.origin(),
            Job::Rollback(j) => j.source.origin(),
            Job::ForceUnlock(j) => j.source.origin(),
            Job::Reply(j) => Some(&j.origin),
            Job::Apply(j) => Some(&j.origin),
            Job::ApplyConfirm(j) => Some(&j.origin),
            Job::RollbackConfirm(j) => Some(&j.origin),
            Job::Unlock(j) => match &j.trigger {
                UnlockTrigger::Command { origin, .. } => Some(origin),
                UnlockTrigger::PullRequestClosed { .. } => None,
            },
            Job::Plan(j) => return j.comment_origin(),
            Job::Poll(_) | Job::RegisterApply(_) => None,
        };
        origin.cloned()
    }

    /// The SQS FIFO message group: per apply for apply commands, per PR for replies.
    pub fn message_group(&self) -> String {
        match self {
            Job::Cutover(j) => format!("apply:{}", j.apply_id),
            // A PR's controls run in the order they were commented (an inferred apply id is
            // only known in the worker).
            Job::Control(j) => match (&j.source, &j.apply_id) {
                (CommandSource::PrComment(o), _) => format!("pr:{}:{}", o.repository, o.pr),
                (CommandSource::Cli { .. }, Some(id)) => format!("apply:{id}"),
                (CommandSource::Cli { request_id, .. }, None) => format!("cli:{request_id}"),
            },
            Job::Poll(j) => format!("apply:{}", j.apply_id),
            Job::RegisterApply(j) => format!("apply:{}", j.apply_id),
            Job::Reply(j) => format!("pr:{}:{}", j.origin.repository, j.origin.pr),
            Job::Plan(j) => format!("pr:{}:{}", j.repository, j.pr),
            // A PR's apply, apply-confirm and unlock run in the order they were commented.
            Job::Apply(j) => format!("pr:{}:{}", j.origin.repository, j.origin.pr),
            Job::ApplyConfirm(j) => format!("pr:{}:{}", j.origin.repository, j.origin.pr),
            Job::Unlock(j) => format!("pr:{}:{}", j.repository(), j.pr()),
            Job::ForceUnlock(j) => match &j.source {
                CommandSource::PrComment(o) => format!("pr:{}:{}", o.repository, o.pr),
                // One operator unlock of a lock at a time.
                CommandSource::Cli { .. } => format!("lock:{}:{}", j.database, j.environment),
            },
            // The lock a rollback takes belongs to the apply's PR, whoever asks.
            Job::Rollback(j) => match &j.source {
                CommandSource::PrComment(o) => format!("pr:{}:{}", o.repository, o.pr),
                CommandSource::Cli { .. } => format!("apply:{}", j.apply_id),
            },
            Job::RollbackConfirm(j) => format!("pr:{}:{}", j.origin.repository, j.origin.pr),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Job::Cutover(_) => "cutover",
            Job::Control(_) => "control",
            Job::Reply(_) => "reply",
            Job::Poll(_) => "poll",
            Job::RegisterApply(_) => "register_apply",
            Job::Plan(_) => "plan",
            Job::Apply(_) => "apply",
            Job::ApplyConfirm(_) => "apply_confirm",
            Job::Unlock(_) => "unlock",
            Job::ForceUnlock(_) => "force_unlock",
            Job::Rollback(_) => "rollback",
            Job::RollbackConfirm(_) => "rollback_confirm",
        }
    }
}

#[cfg(test)]
mod tests;
