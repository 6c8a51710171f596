//! Lambda entry point: wiring only. One function receives SQS batches (commands on the FIFO
//! queue, delayed polls on the standard queue) and the EventBridge schedule (progress sweep).
//! Configuration and secret problems stop it at start-up.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use schemabot_aws::config::{dynamodb_client, load_sdk_config, sqs_client};
use schemabot_aws::queue::JobQueue;
use schemabot_aws::store::Store;
use schemabot_aws::RequestCounter;
use schemabot_github::{GithubAppConfig, GithubClient, PrivateKeyPem};
use schemabot_sentinel::SentinelChecker;
use schemabot_tern::{TernClient, TernClientConfig};
use serde_json::Value;
use std::sync::Arc;
use worker::config::{ConfigError, WorkerConfig};
use worker::deployments::DeploymentDsns;
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
        async move { dispatch(&worker, event.payload).await }
    }))
    .await
}

/// Configuration, secrets and clients; any problem stops the function before it takes an event.
async fn start() -> Result<Worker, Error> {
    let mut config = WorkerConfig::from_env()?;
    let sdk = load_sdk_config().await;
    let requests = RequestCounter::new();
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let github = GithubClient::new(&github_config(&secrets).await?)?;
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
async fn dispatch(worker: &Worker, payload: Value) -> Result<Value, Error> {
    if payload.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(payload)?;
        let response = worker.handle_sqs(event).await;
        return Ok(serde_json::to_value(response)?);
    }
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let report = worker.sweep().await;
        return Ok(serde_json::to_value(report)?);
    }
    Err("unrecognised event: expected an SQS batch or the scheduled sweep".into())
}

/// The GitHub App key from Secrets Manager (`SCHEMABOT_GITHUB_PRIVATE_KEY_ARN`) or, locally, from
/// `SCHEMABOT_GITHUB_PRIVATE_KEY[_FILE]`.
async fn github_config(secrets: &aws_sdk_secretsmanager::Client) -> Result<GithubAppConfig, Error> {
    let Some(arn) = std::env::var("SCHEMABOT_GITHUB_PRIVATE_KEY_ARN")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(GithubAppConfig::from_env()?);
    };
    let app_id = std::env::var("SCHEMABOT_GITHUB_APP_ID")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or(ConfigError::Missing("SCHEMABOT_GITHUB_APP_ID"))?;
    let pem = secrets
        .get_secret_value()
        .secret_id(arn.trim())
        .send()
        .await
        .map_err(|e| ConfigError::Secret {
            what: "the GitHub App private key",
            reason: e.to_string(),
        })?
        .secret_string()
        .map(str::to_string)
        .ok_or(ConfigError::Secret {
            what: "the GitHub App private key",
            reason: "the secret has no string value".into(),
        })?;
    let api = std::env::var("SCHEMABOT_GITHUB_API_URL")
        .unwrap_or_else(|_| "https://api.github.com".into());
    Ok(GithubAppConfig::new(app_id, PrivateKeyPem::new(pem), &api)?)
}
