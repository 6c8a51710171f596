//! Lambda entry point: wiring only. Configuration or secret problems stop the function at start-up
//! (fail closed) instead of answering requests unverified, with exactly one JSON log line saying
//! why.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use schemabot_aws::config::{dynamodb_client, sqs_client};
use schemabot_aws::queue::JobQueue;
use schemabot_aws::store::Store;
use std::sync::Arc;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use webhook::config::{load_secrets, WebhookConfig};
use webhook::front_door::HttpEvent;
use webhook::intake::Intake;
use webhook::Webhook;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (filter, ignored_rust_log) = webhook::logging::log_filter_from_env();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .without_time()
        .finish()
        .with(filter)
        .init();
    if let Some(value) = ignored_rust_log {
        tracing::warn!(
            rust_log = %value,
            default = webhook::logging::DEFAULT_FILTER,
            "RUST_LOG is not a list of level and target=level directives; using the default"
        );
    }

    let webhook = match start().await {
        Ok(webhook) => Arc::new(webhook),
        Err(error) => {
            // One line, in the JSON log, where alarms and searches look. The messages name
            // variables and ARNs, never secret values. The process then exits non-zero without
            // returning the error, which would print it a second time as plain text on stderr;
            // Lambda reports the exit as an init error and retries the start on the next request.
            tracing::error!(
                error = %error,
                "the webhook cannot start and answers no request until this is fixed (fail closed)"
            );
            let _ = std::io::Write::flush(&mut std::io::stdout());
            std::process::exit(1);
        }
    };

    lambda_runtime::run(service_fn(move |event: LambdaEvent<HttpEvent>| {
        let webhook = Arc::clone(&webhook);
        async move { Ok::<_, Error>(webhook.handle_event(event.payload).await) }
    }))
    .await
}

/// Configuration, secrets and clients; any problem stops the function before it takes a request.
async fn start() -> Result<Webhook, Error> {
    let config = WebhookConfig::from_env()?;
    let sdk = schemabot_aws::config::load_sdk_config().await;
    let secrets = load_secrets(&sdk).await?;
    let requests = schemabot_aws::metrics::RequestCounter::new();
    Ok(Webhook {
        secrets,
        routing: config.routing,
        intake: Intake {
            store: Store::new(dynamodb_client(&sdk, &requests), config.table),
            queue: JobQueue::new(sqs_client(&sdk, &requests), config.queue_url),
        },
    })
}
