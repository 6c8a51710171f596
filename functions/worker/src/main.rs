//! Lambda entry point: wiring only. One function receives SQS batches (commands on the FIFO
//! queue, delayed polls on the standard queue) and the EventBridge schedule (progress sweep).
//! Configuration and secret problems stop it at start-up.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use schemabot_aws::config::{dynamodb_client, load_sdk_config, sqs_client};
use schemabot_aws::queue::JobQueue;
use schemabot_aws::store::Store;
use schemabot_aws::RequestCounter;
use schemabot_sentinel::SentinelChecker;
use schemabot_tern::{TernClient, TernClientConfig};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use worker::batch::TimeBudget;
use worker::config::WorkerConfig;
use worker::deployments::DeploymentDsns;
use worker::github_key;
use worker::Worker;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(true)
        .without_time()
        .init();

    let worker = match start().await {
        Ok(worker) => Arc::new(worker),
        Err(error) => {
            // In the JSON log, where alarms and searches look; Lambda reports the exit as an init
            // error. The messages name variables and ARNs, never key material or DSNs.
            tracing::error!(error = %error, "the worker cannot start");
            return Err(error);
        }
    };

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let worker = Arc::clone(&worker);
        async move {
            let budget = TimeBudget {
                deadline: deadline_instant(event.context.deadline),
                per_job: worker.config.job_budget,
            };
            dispatch(&worker, event.payload, budget).await
        }
    }))
    .await
}

/// Configuration, secrets and clients; any problem stops the function before it takes an event.
async fn start() -> Result<Worker, Error> {
    let mut config = WorkerConfig::from_env()?;
    let sdk = load_sdk_config().await;
    let requests = RequestCounter::new();
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    // The App key from Secrets Manager, re-read while the worker runs (a rotated key needs no
    // redeploy); locally the fixed key from the environment.
    let github = github_key::github_client(&secrets, |name| std::env::var(name).ok()).await?;
    // Tern's CA bundles and client identities from Secrets Manager, then every endpoint's TLS
    // material is checked: unusable material stops the worker here.
    config.deployments.load_tern_secrets(&secrets).await?;
    let tern = TernClient::new(
        config.deployments.tern_endpoints()?,
        TernClientConfig::default(),
    );
    let mut queue = JobQueue::new(sqs_client(&sdk, &requests), config.queue_url.clone());
    if let Some(poll_queue) = &config.poll_queue_url {
        queue = queue.with_delay_queue(poll_queue.clone());
    }
    Ok(Worker {
        store: Store::new(dynamodb_client(&sdk, &requests), config.table.clone()),
        queue,
        tern,
        github,
        sentinel: SentinelChecker::default(),
        dsns: DeploymentDsns::new(config.deployments.clone(), Some(secrets)),
        config,
    })
}

/// SQS batches carry `Records`; the schedule sends an EventBridge-shaped event.
async fn dispatch(worker: &Worker, payload: Value, budget: TimeBudget) -> Result<Value, Error> {
    if payload.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(payload)?;
        let response = worker.handle_sqs_within(event, budget).await;
        return Ok(serde_json::to_value(response)?);
    }
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let report = worker.sweep().await;
        return Ok(serde_json::to_value(report)?);
    }
    Err("unrecognised event: expected an SQS batch or the scheduled sweep".into())
}

/// The invocation's deadline (milliseconds since the epoch, from the runtime API) as an instant.
fn deadline_instant(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis();
    let left = u128::from(deadline_ms).checked_sub(now_ms)?;
    Some(Instant::now() + Duration::from_millis(u64::try_from(left).ok()?))
}
