//! SDK configuration from the environment. `AWS_ENDPOINT_URL` (standard) points the clients at a
//! local emulator; nothing here knows whether it is talking to AWS or to moto.

use crate::metrics::RequestCounter;
use crate::{DynamoClient, SqsClient};
use aws_config::{BehaviorVersion, SdkConfig};

/// Region, credentials and endpoint from the standard environment/profile chain.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// A DynamoDB client whose requests are counted in `counter`.
pub fn dynamodb_client(sdk: &SdkConfig, counter: &RequestCounter) -> DynamoClient {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(counter.interceptor())
        .build();
    DynamoClient::from_conf(config)
}

/// An SQS client whose requests are counted in `counter`.
pub fn sqs_client(sdk: &SdkConfig, counter: &RequestCounter) -> SqsClient {
    let config = aws_sdk_sqs::config::Builder::from(sdk)
        .interceptor(counter.interceptor())
        .build();
    SqsClient::from_conf(config)
}
