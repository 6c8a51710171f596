//! The worker Lambda: performs queued jobs (cutover commands, replies, per-apply polls) and the
//! scheduled progress sweep. Every job is idempotent: SQS may deliver a message more than once,
//! and a crashed attempt is re-run from what DynamoDB, Tern and the sentinel say.

pub mod apply_start;
pub mod batch;
pub mod config;
mod config_error;
pub mod deployments;
pub mod errors;
mod failure_reply;
pub mod github_key;
pub mod jobs;
mod lock_audit;
pub mod outcome;
mod ownership;
pub mod post;
pub mod progress;
pub mod review_config;
pub mod trust;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use batch::{QueuedMessage, RetryAt, TimeBudget};
use config::WorkerConfig;
use deployments::DeploymentDsns;
use outcome::{Attempt, JobError};
use schemabot_aws::queue::JobQueue;
use schemabot_aws::store::Store;
use schemabot_domain::job::{Job, JobEnvelope, UnlockTrigger, JOB_SCHEMA_VERSION};
use schemabot_github::GithubClient;
use schemabot_sentinel::SentinelChecker;
use schemabot_tern::TernClient;

/// Everything a warm worker keeps between invocations: clients (with their connection pools and
/// the GitHub token cache) and configuration.
pub struct Worker {
    pub config: WorkerConfig,
    pub store: Store,
    pub queue: JobQueue,
    pub tern: TernClient,
    pub github: GithubClient,
    pub sentinel: SentinelChecker,
    pub dsns: DeploymentDsns,
}

impl Worker {
    /// Handles one SQS batch with FIFO semantics and partial batch failures, without a deadline
    /// (tests, the demo). See [`Worker::handle_sqs_within`].
    pub async fn handle_sqs(&self, event: SqsEvent) -> SqsBatchResponse {
        self.handle_sqs_within(event, TimeBudget::unlimited()).await
    }

    /// Handles one SQS batch: no job starts with less than a job's budget left before the
    /// invocation's deadline; a message handed back gets its visibility set for when it should
    /// be seen again (backoff, or the delay a dependency asked for).
    pub async fn handle_sqs_within(&self, event: SqsEvent, budget: TimeBudget) -> SqsBatchResponse {
        let messages = event
            .records
            .into_iter()
            .map(|m| QueuedMessage::from_sqs(m, self.config.max_receive_count))
            .collect();
        let (response, _) = batch::process(
            messages,
            budget,
            // Boxed: keeps the Lambda entry point's future within the compiler's layout depth.
            |message| Box::pin(self.run_message(message)),
            |message, retry| self.hand_back(message, retry),
        )
        .await;
        response
    }

    async fn run_message(&self, message: QueuedMessage) -> Result<(), JobError> {
        let envelope: JobEnvelope = serde_json::from_str(&message.body)
            .map_err(|e| JobError::permanent(format!("unreadable job: {e}")))?;
        if envelope.v != JOB_SCHEMA_VERSION {
            return Err(JobError::permanent(format!(
                "job schema version {} is not supported (this worker speaks {JOB_SCHEMA_VERSION})",
                envelope.v
            )));
        }
        let policy = trust::TrustPolicy {
            senders: &self.config.trusted_senders,
            repositories: &self.config.repositories,
            accept_test_jobs: self.config.accept_test_jobs,
        };
        match trust::admit(policy, envelope.job, message.sender_id.as_deref()) {
            Ok(job) => {
                let result = self.run_job(&job, message.attempt).await;
                if let Err(JobError::Permanent(reason)) = &result {
                    // A failed answer is retried with the job; the answer is posted once.
                    Box::pin(failure_reply::answer(self, &job, message.attempt, reason)).await?;
                }
                result
            }
            Err(untrusted) => {
                // Dropped, not retried: the sender will not change on redelivery.
                tracing::error!(
                    target: "security",
                    reason = untrusted.code(),
                    error = %untrusted,
                    message_id = %message.message_id,
                    "queued job dropped unrun: not sent by a trusted principal"
                );
                schemabot_aws::emf::count("UntrustedJobs", &[("Reason", untrusted.code())]);
                Ok(())
            }
        }
    }

    /// Runs one job. Public so tests and the demo drive the same code path as SQS does.
    pub async fn run_job(&self, job: &Job, attempt: Attempt) -> Result<(), JobError> {
        use tracing::Instrument;
        let span = job_span(job, attempt);
        // Boxed: the job futures are deep enough to overflow the compiler's layout depth when the
        // Lambda entry point stores them inline.
        Box::pin(self.run_job_in_span(job, attempt).instrument(span)).await
    }

    async fn run_job_in_span(&self, job: &Job, attempt: Attempt) -> Result<(), JobError> {
        let job_id = job.id();
        let result = match job {
            // Boxed: the cutover flow's future is deep enough to overflow the compiler's layout
            // depth of the Lambda entry point's future when stored inline.
            Job::Cutover(cutover) => {
                Box::pin(jobs::cutover::run(self, cutover, &job_id, attempt)).await
            }
            Job::Control(control) => {
                Box::pin(jobs::control::run(self, control, &job_id, attempt)).await
            }
            Job::Reply(reply) => jobs::reply::run(self, reply, &job_id, attempt).await,
            Job::Poll(poll) => jobs::poll::run(self, poll).await,
            Job::RegisterApply(register) => Box::pin(progress::register::run(self, register)).await,
            Job::Plan(plan) => Box::pin(jobs::plan::run(self, plan, &job_id, attempt)).await,
            Job::Apply(apply) => Box::pin(jobs::apply::run(self, apply, &job_id, attempt)).await,
            Job::ApplyConfirm(confirm) => {
                Box::pin(jobs::confirm::run(self, confirm, &job_id, attempt)).await
            }
            Job::Unlock(unlock) => {
                Box::pin(jobs::unlock::run(self, unlock, &job_id, attempt)).await
            }
            Job::ForceUnlock(force) => {
                Box::pin(jobs::force_unlock::run(self, force, &job_id, attempt)).await
            }
            Job::Rollback(rollback) => {
                Box::pin(jobs::rollback::run(self, rollback, &job_id, attempt)).await
            }
            Job::RollbackConfirm(confirm) => {
                Box::pin(jobs::rollback::confirm(self, confirm, &job_id, attempt)).await
            }
        };
        match &result {
            Ok(()) => tracing::info!("job done"),
            Err(error) => tracing::warn!(%error, "job failed"),
        }
        result
    }

    async fn hand_back(&self, message: QueuedMessage, retry: RetryAt) {
        let Some(handle) = message.receipt_handle.as_deref() else {
            return;
        };
        // The visibility belongs to the queue the message came from: commands (FIFO) or polls.
        let queue_url = match message.source_queue.as_deref() {
            Some(name) if !name.ends_with(".fifo") => match self.queue.delay_queue_url() {
                Some(url) => url.to_string(),
                None => return,
            },
            _ => self.queue.queue_url().to_string(),
        };
        let seconds = match retry {
            RetryAt::Backoff => message.attempt.backoff_seconds(),
            RetryAt::After(wait) => visibility_seconds(wait),
            RetryAt::Now => 0,
        };
        if let Err(error) = self
            .queue
            .client()
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(handle)
            .visibility_timeout(seconds)
            .send()
            .await
        {
            tracing::warn!(%error, "could not set the retry delay; SQS's visibility timeout applies");
        }
    }
}

/// A requested delay as an SQS visibility timeout: whole seconds, rounded up, at most SQS's
/// 12-hour limit.
fn visibility_seconds(wait: std::time::Duration) -> i32 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.clamp(1, 43_200) as i32
}

/// The correlation fields of a job's log lines: delivery_id, apply_id, repo, pr.
fn job_span(job: &Job, attempt: Attempt) -> tracing::Span {
    let span = tracing::info_span!(
        "job",
        job = %job.id(),
        kind = job.kind(),
        attempt = attempt.receive_count,
        apply_id = tracing::field::Empty,
        repo = tracing::field::Empty,
        pr = tracing::field::Empty,
        delivery_id = tracing::field::Empty,
    );
    let apply_id = match job {
        Job::Cutover(j) => Some(&j.apply_id),
        Job::Control(j) => j.apply_id.as_ref(),
        Job::Rollback(j) => Some(&j.apply_id),
        Job::Poll(j) => Some(&j.apply_id),
        Job::RegisterApply(j) => Some(&j.apply_id),
        _ => None,
    };
    if let Some(apply_id) = apply_id {
        span.record("apply_id", apply_id.as_str());
    }
    if let Some(origin) = job.comment_origin() {
        span.record("repo", origin.repository.as_str());
        span.record("pr", origin.pr.0);
        span.record("delivery_id", origin.delivery_id.as_str());
        return span;
    }
    // Jobs without an asking comment name their PR (and delivery) themselves.
    match job {
        Job::Unlock(j) => {
            span.record("repo", j.repository().as_str());
            span.record("pr", j.pr().0);
            if let UnlockTrigger::PullRequestClosed { delivery_id, .. } = &j.trigger {
                span.record("delivery_id", delivery_id.as_str());
            }
        }
        Job::RegisterApply(j) => {
            span.record("repo", j.repository.as_str());
            span.record("pr", j.pr.0);
        }
        Job::Plan(j) => {
            span.record("repo", j.repository.as_str());
            span.record("pr", j.pr.0);
            span.record("delivery_id", j.delivery_id.as_str());
        }
        _ => {}
    }
    span
}
