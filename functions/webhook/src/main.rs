//! Lambda entry point: wiring only. Configuration or secret problems stop the function at start-up
//! (fail closed) instead of answering requests unverified.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use schemabot_aws::config::{dynamodb_client, sqs_client};
use schemabot_aws::queue::JobQueue;
use schemabot_aws::store::Store;
use std::sync::Arc;
use webhook::config::{load_secrets, WebhookConfig};
use webhook::front_door::HttpEvent;
use webhook::intake::Intake;
use webhook::Webhook;

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

    let config = WebhookConfig::from_env()?;
    let sdk = schemabot_aws::config::load_sdk_config().await;
    let secrets = load_secrets(&sdk).await?;
    let requests = schemabot_aws::metrics::RequestCounter::new();
    let webhook = Arc::new(Webhook {
        secrets,
        routing: config.routing,
        intake: Intake {
            store: Store::new(dynamodb_client(&sdk, &requests), config.table),
            queue: JobQueue::new(sqs_client(&sdk, &requests), config.queue_url),
        },
    });

    lambda_runtime::run(service_fn(move |event: LambdaEvent<HttpEvent>| {
        let webhook = Arc::clone(&webhook);
        async move { Ok::<_, Error>(webhook.handle_event(event.payload).await) }
    }))
    .await
}
