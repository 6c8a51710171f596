//! Helpers for the progress tests (`tests/tests/progress_*.rs`): registering applies through the
//! register-apply job, tuning the worker's timing, reading back tasks, comments and poll links.

use crate::github_standin::CallKind;
use crate::harness::{Stack, DEPLOYMENT, INSTALLATION, PR};
use crate::tern_standin::{ApplyRegistration, RegisteredPhase};
use chrono::Utc;
use schemabot_aws::store::ApplySnapshot;
use schemabot_domain::apply::{ApplyMode, CommentKind, SchemaFiles};
use schemabot_domain::job::{Job, JobEnvelope, PollJob, RegisterApplyJob, RegisterTask};
use schemabot_domain::{
    ApplyId, Database, Environment, InstallationId, Login, PrNumber, State, TaskId,
};
use std::time::Duration;
use worker::outcome::Attempt;

/// `(table, ddl)` of the test's one-table apply.
pub const ORDERS: (&str, &str) = (
    "orders",
    "ALTER TABLE `orders` ADD INDEX `idx_status` (`status`)",
);

/// The worker timing the progress tests use, applied to a started stack.
#[derive(Debug, Clone, Copy)]
pub struct ProgressTiming {
    pub min_edit_interval: Duration,
    pub poll_interval: Duration,
}

impl ProgressTiming {
    /// No edit rate limit and undelayed poll messages: every reconciliation shows its effect
    /// at once, and poll links can be received immediately.
    pub fn immediate() -> Self {
        ProgressTiming {
            min_edit_interval: Duration::ZERO,
            poll_interval: Duration::ZERO,
        }
    }

    pub fn apply_to(self, stack: &mut Stack) {
        stack.worker.config.min_edit_interval = self.min_edit_interval;
        stack.worker.config.poll_interval = self.poll_interval;
    }
}

/// A started stack with [`ProgressTiming::immediate`] and `alice-dba` allowed to cut over.
pub async fn progress_stack() -> Stack {
    let mut stack = Stack::start().await;
    ProgressTiming::immediate().apply_to(&mut stack);
    stack.grant("alice-dba", "write");
    stack
}

/// The register-apply job the apply flow would send for Tern apply `tern_id`.
pub fn register_job(
    stack: &Stack,
    tern_id: &str,
    environment: &str,
    tables: &[(&str, &str)],
) -> RegisterApplyJob {
    let apply_id = ApplyId::parse(tern_id).expect("Tern apply id");
    RegisterApplyJob {
        apply_id,
        tern_apply_id: tern_id.to_string(),
        repository: Stack::repository(),
        pr: PrNumber(PR),
        installation_id: InstallationId(INSTALLATION),
        database: Database::parse(&stack.schema).expect("database"),
        database_type: "mysql".into(),
        deployment: DEPLOYMENT.into(),
        environment: Environment::parse(environment).expect("environment"),
        target_schema: stack.schema.clone(),
        mode: ApplyMode::Atomic,
        defer_cutover: true,
        requested_by: Some(Login("alice-dba".into())),
        started_at: Utc::now(),
        tasks: tables
            .iter()
            .map(|(table, ddl)| RegisterTask {
                // Our ids, not Tern's: reconciliation matches tables by name then.
                task_id: TaskId::from_random(uuid::Uuid::new_v4().as_u64_pair().0),
                namespace: stack.schema.clone(),
                table: (*table).to_string(),
                ddl: (*ddl).to_string(),
            })
            .collect(),
        desired_schema: Default::default(),
        rollback_of: None,
    }
}

/// Creates an apply in `phase` on the Tern stand-in (with the real sentinel when deferred) and
/// registers it through the FIFO queue and the worker, as the apply flow will. Returns its id.
pub async fn register_apply(
    stack: &Stack,
    environment: &str,
    tables: &[(&str, &str)],
    phase: RegisteredPhase,
) -> ApplyId {
    register_with(
        stack,
        ApplyRegistration::deferred(&stack.schema, tables, phase),
        environment,
    )
    .await
}

/// [`register_apply`] for an explicit Tern registration.
pub async fn register_with(
    stack: &Stack,
    registration: ApplyRegistration,
    environment: &str,
) -> ApplyId {
    register_with_schema(stack, registration, environment, SchemaFiles::new()).await
}

/// [`register_with`], the apply keeping `desired_schema` (namespace → file → content) as the
/// apply flow does.
pub async fn register_with_schema(
    stack: &Stack,
    registration: ApplyRegistration,
    environment: &str,
    desired_schema: SchemaFiles,
) -> ApplyId {
    let tables: Vec<(String, String)> = registration
        .tables
        .iter()
        .map(|t| (t.table_name.clone(), t.ddl.clone()))
        .collect();
    let tern_id = stack
        .tern
        .register_apply(registration)
        .await
        .expect("register with Tern");
    let borrowed: Vec<(&str, &str)> = tables
        .iter()
        .map(|(t, d)| (t.as_str(), d.as_str()))
        .collect();
    let mut job = register_job(stack, &tern_id, environment, &borrowed);
    job.desired_schema = desired_schema;
    let apply_id = job.apply_id.clone();
    stack
        .worker
        .queue
        .send(&JobEnvelope::new(Job::RegisterApply(job)))
        .await
        .expect("enqueue the register job");
    stack.deliver_all().await;
    apply_id
}

/// Runs a register-apply job directly (no queue), as attempt `attempt`.
pub async fn run_register(stack: &Stack, job: RegisterApplyJob, receive_count: u32) {
    let attempt = Attempt {
        receive_count,
        max_receive_count: 3,
    };
    stack
        .worker
        .run_job(&Job::RegisterApply(job), attempt)
        .await
        .expect("register job");
}

pub async fn snapshot(stack: &Stack, apply_id: &ApplyId) -> ApplySnapshot {
    stack
        .store
        .load_snapshot(apply_id)
        .await
        .expect("load apply")
        .expect("apply stored")
}

pub async fn apply_state(stack: &Stack, apply_id: &ApplyId) -> State {
    snapshot(stack, apply_id).await.apply.state
}

pub async fn task_states(stack: &Stack, apply_id: &ApplyId) -> Vec<State> {
    snapshot(stack, apply_id)
        .await
        .tasks
        .iter()
        .map(|t| t.state)
        .collect()
}

/// The current body of the apply's tracked comment of `kind`.
pub async fn tracked_comment(
    stack: &Stack,
    apply_id: &ApplyId,
    kind: CommentKind,
) -> Option<String> {
    let snapshot = snapshot(stack, apply_id).await;
    let record = snapshot.comment(kind)?;
    stack.github.comment(record.comment_id).map(|c| c.body)
}

/// The progress comment's current body (it must exist).
pub async fn progress_comment(stack: &Stack, apply_id: &ApplyId) -> String {
    tracked_comment(stack, apply_id, CommentKind::Progress)
        .await
        .expect("a progress comment is tracked")
}

/// Comment edits GitHub received so far.
pub fn github_edits(stack: &Stack) -> usize {
    stack.github.count(CallKind::UpdateComment)
}

/// Comments GitHub created so far.
pub fn github_creates(stack: &Stack) -> usize {
    stack.github.count(CallKind::CreateComment)
}

/// PR comments whose body contains `text`.
pub fn comments_containing(stack: &Stack, text: &str) -> usize {
    stack
        .pr_comments()
        .iter()
        .filter(|body| body.contains(text))
        .count()
}

/// Receives (and deletes) every message on the poll queue, returning their poll jobs.
pub async fn drain_poll_queue(stack: &Stack) -> Vec<PollJob> {
    let mut polls = Vec::new();
    // Two empty receives in a row: SQS (moto) may answer empty once while messages exist.
    let mut empty = 0;
    while empty < 2 {
        let received = stack
            .sqs
            .receive_message()
            .queue_url(&stack.poll_queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive polls");
        let messages = received.messages();
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        for message in messages {
            let envelope: JobEnvelope =
                serde_json::from_str(message.body().unwrap_or_default()).expect("poll envelope");
            match envelope.job {
                Job::Poll(poll) => polls.push(poll),
                other => panic!("unexpected job on the poll queue: {other:?}"),
            }
            if let Some(handle) = message.receipt_handle() {
                stack
                    .sqs
                    .delete_message()
                    .queue_url(&stack.poll_queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete poll");
            }
        }
    }
    polls
}

/// Runs a poll job through the worker as SQS would deliver it.
pub async fn run_poll(stack: &Stack, poll: &PollJob) {
    stack
        .worker
        .run_job(&Job::Poll(poll.clone()), Attempt::first())
        .await
        .expect("poll job");
}

/// The cutover command as a DBA writes it.
pub fn cutover_command(apply_id: &ApplyId, environment: &str) -> String {
    format!("schemabot cutover {apply_id} -e {environment}")
}
