//! The AWS side of the CLI: the caller's own credentials and region (the SDK's default chain,
//! `AWS_ENDPOINT_URL` for a local emulator), checked once up front so a missing credential or
//! region is reported as such instead of as an obscure request failure.

use crate::error::{classify, error_chain, CliError};
use aws_config::SdkConfig;
use aws_sdk_sts::config::ProvideCredentials;
use schemabot_aws::config::{dynamodb_client, load_sdk_config_with_profiles, sqs_client};
use schemabot_aws::error::SdkFailure;
use schemabot_aws::queue::JobQueue;
use schemabot_aws::{RequestCounter, Store};

/// Loaded AWS configuration with credentials known to resolve.
pub struct Aws {
    sdk: SdkConfig,
}

impl Aws {
    pub async fn connect() -> Result<Aws, CliError> {
        let sdk = load_sdk_config_with_profiles().await;
        if sdk.region().is_none() {
            return Err(CliError::Config(
                "no AWS region configured: set AWS_REGION or a region in your AWS profile"
                    .to_string(),
            ));
        }
        let provider = sdk.credentials_provider().ok_or_else(|| {
            CliError::Credentials("no credentials provider is configured".to_string())
        })?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| CliError::Credentials(error_chain(&e)))?;
        Ok(Aws { sdk })
    }

    pub fn store(&self, table: &str) -> Store {
        Store::new(dynamodb_client(&self.sdk, &RequestCounter::new()), table)
    }

    pub fn queue(&self, queue_url: &str) -> JobQueue {
        JobQueue::new(sqs_client(&self.sdk, &RequestCounter::new()), queue_url)
    }

    /// The caller's identity ARN (user or assumed role): who the audit trail and the PR will
    /// name as having triggered the cutover.
    pub async fn caller_arn(&self) -> Result<String, CliError> {
        let sts = aws_sdk_sts::Client::new(&self.sdk);
        let identity = sts.get_caller_identity().send().await.map_err(|e| {
            classify("STS", SdkFailure::new("GetCallerIdentity", &e), || {
                "STS is not available at the configured endpoint".to_string()
            })
        })?;
        identity
            .arn()
            .map(str::to_string)
            .ok_or_else(|| CliError::Internal("STS GetCallerIdentity returned no ARN".to_string()))
    }
}
