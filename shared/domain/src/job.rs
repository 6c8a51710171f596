//! Jobs: what the webhook (and the CLI) enqueue on SQS and the worker performs.
//!
//! Serialized as JSON inside a versioned envelope so that a worker can refuse (DLQ) a message it
//! does not understand instead of misreading it.

use crate::command::{CommandName, ParseError};
use crate::ids::{
    ApplyId, CommentId, DeliveryId, Environment, InstallationId, Login, PrNumber, Repository,
};
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

/// Where a cutover command came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CommandSource {
    PrComment(CommentOrigin),
    /// The operator CLI; `actor` is the caller's AWS identity (ARN). IAM replaced the GitHub
    /// permission check.
    Cli { request_id: String, actor: String },
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

/// A job on the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    Cutover(CutoverJob),
    Reply(ReplyJob),
    Poll(PollJob),
}

impl Job {
    /// A stable id: the same for every redelivery of the same request. Used as the SQS
    /// deduplication id, the claim's command id and the hidden marker in comments.
    pub fn id(&self) -> String {
        match self {
            Job::Cutover(j) => match &j.source {
                CommandSource::PrComment(o) => format!("cutover:{}:{}", o.repository, o.comment_id),
                CommandSource::Cli { request_id, .. } => format!("cutover:cli:{request_id}"),
            },
            Job::Reply(j) => format!("reply:{}:{}", j.origin.repository, j.origin.comment_id),
            Job::Poll(j) => format!("poll:{}:{}", j.apply_id, j.chain_seq),
        }
    }

    /// The SQS FIFO message group: per apply for apply commands, per PR for replies.
    pub fn message_group(&self) -> String {
        match self {
            Job::Cutover(j) => format!("apply:{}", j.apply_id),
            Job::Poll(j) => format!("apply:{}", j.apply_id),
            Job::Reply(j) => format!("pr:{}:{}", j.origin.repository, j.origin.pr),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Job::Cutover(_) => "cutover",
            Job::Reply(_) => "reply",
            Job::Poll(_) => "poll",
        }
    }
}
