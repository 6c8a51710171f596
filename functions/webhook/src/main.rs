//! Lambda entry point: wiring only. Configuration or secret problems stop the function at start-up
//! (fail closed) instead of answering requests unverified.

use lambda_runtime::{service_fn, Error, LambdaEvent};
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
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let secrets = load_secrets(&sdk).await?;
    let webhook = Arc::new(Webhook {
        secrets,
        routing: config.routing,
        intake: Intake {
            store: Store::new(aws_sdk_dynamodb_client(&sdk), config.table),
            queue: JobQueue::new(aws_sdk_sqs_client(&sdk), config.queue_url),
        },
    });

    lambda_runtime::run(service_fn(move |event: LambdaEvent<HttpEvent>| {
        let webhook = Arc::clone(&webhook);
        async move { Ok::<_, Error>(webhook.handle_event(event.payload).await) }
    }))
    .await
}

fn aws_sdk_dynamodb_client(sdk: &aws_config::SdkConfig) -> schemabot_aws::DynamoClient {
    schemabot_aws::DynamoClient::new(sdk)
}

fn aws_sdk_sqs_client(sdk: &aws_config::SdkConfig) -> schemabot_aws::SqsClient {
    schemabot_aws::SqsClient::new(sdk)
}
