//! SDK configuration from the environment. `AWS_ENDPOINT_URL` (standard) points the clients at a
//! local emulator; nothing here knows whether it is talking to AWS or to moto.
//!
//! **HTTPS client.** The AWS SDK crates are built without their `default-https-client` feature
//! (rustls on aws-lc): every configuration made here carries [`https_client`] (rustls on ring)
//! instead. ring is the only rustls crypto provider in the workspace. A second provider would
//! put aws-lc back into the webhook's deploy zip (about 0.5 MB), and rustls will not choose
//! between two providers for code that relies on its crate features (mysql_async). See
//! docs/performance.md, "Deploy zip sizes". Build SDK clients from [`load_sdk_config`] or
//! [`load_sdk_config_with_profiles`]: an `SdkConfig` from `aws_config::load_defaults` alone has
//! no HTTP client (the clients made by [`dynamodb_client`] and [`sqs_client`] get one anyway).

use crate::metrics::RequestCounter;
use crate::{DynamoClient, SqsClient};
use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::meta::region::ProvideRegion;
use aws_config::retry::{RetryConfig, RetryMode};
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::{SharedCredentialsProvider, SharedHttpClient};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use std::time::Duration;

/// The HTTPS client for every AWS SDK client: hyper 1 and rustls with ring, native root
/// certificates. It is the SDK's default client with ring in place of aws-lc: connect and read
/// timeouts and the sleep implementation come from each SDK client's configuration, and
/// `HTTPS_PROXY`/`NO_PROXY` are honoured as the default client does for the current behaviour
/// version.
pub fn https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, runtime_components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The SDK configuration of the Lambda functions (and of the tests that stand in for them), from
/// the environment alone:
///
/// * the region from `AWS_REGION` (or `AWS_DEFAULT_REGION`);
/// * the credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
///   This is how Lambda hands a function its execution role's credentials, and it is the first
///   source the SDK's default chain tries;
/// * `AWS_ENDPOINT_URL` when set (a local emulator);
/// * retries in standard mode with 3 attempts and a 3.1 s connect timeout, the SDK's defaults.
///   `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE` are honoured.
///
/// It leaves out the rest of aws-config's provider chain, none of which exists in Lambda:
/// * shared config and credentials files (profiles);
/// * SSO, web identity, ECS and IMDS credentials;
/// * service-specific `AWS_ENDPOINT_URL_<SERVICE>`.
///
/// Leaving them out keeps the chain, its STS client and profile parsing out of the functions'
/// deploy zips and start-up (docs/performance.md, "Deploy zip sizes"). The CLI runs with the
/// operator's profiles and uses [`load_sdk_config_with_profiles`].
pub async fn load_sdk_config() -> SdkConfig {
    let region = EnvironmentVariableRegionProvider::new().region().await;
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .retry_config(retry_config_from_env())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(SDK_DEFAULT_CONNECT_TIMEOUT)
                .build(),
        )
        .http_client(https_client());
    if let Some(url) = env_var("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(url);
    }
    builder.build()
}

/// Region, credentials and endpoint from the SDK's full default chain: environment, profiles,
/// SSO, web identity, ECS, IMDS. For the operator CLI.
pub async fn load_sdk_config_with_profiles() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

/// aws-config's default connect timeout (`default_provider::timeout_config`).
const SDK_DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Standard retries, adjusted by `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE` as the SDK's default
/// chain does.
fn retry_config_from_env() -> RetryConfig {
    retry_config(env_var("AWS_MAX_ATTEMPTS"), env_var("AWS_RETRY_MODE"))
}

/// An unusable value is reported and ignored; the SDK's default chain would panic on it.
fn retry_config(max_attempts: Option<String>, mode: Option<String>) -> RetryConfig {
    let mut config = RetryConfig::standard();
    if let Some(value) = max_attempts {
        match value.parse::<u32>() {
            Ok(attempts) if attempts > 0 => config = config.with_max_attempts(attempts),
            _ => tracing::warn!(%value, "AWS_MAX_ATTEMPTS is not a positive integer; ignored"),
        }
    }
    if let Some(value) = mode {
        match value.parse::<RetryMode>() {
            Ok(mode) => config = config.with_retry_mode(mode),
            Err(_) => tracing::warn!(%value, "AWS_RETRY_MODE is not a retry mode; ignored"),
        }
    }
    config
}

/// A DynamoDB client whose requests are counted in `counter`.
pub fn dynamodb_client(sdk: &SdkConfig, counter: &RequestCounter) -> DynamoClient {
    let mut config =
        aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(counter.interceptor());
    if sdk.http_client().is_none() {
        config = config.http_client(https_client());
    }
    DynamoClient::from_conf(config.build())
}

/// An SQS client whose requests are counted in `counter`.
pub fn sqs_client(sdk: &SdkConfig, counter: &RequestCounter) -> SqsClient {
    let mut config = aws_sdk_sqs::config::Builder::from(sdk).interceptor(counter.interceptor());
    if sdk.http_client().is_none() {
        config = config.http_client(https_client());
    }
    SqsClient::from_conf(config.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_standard_with_three_attempts_unless_the_environment_says_otherwise() {
        let default = retry_config(None, None);
        assert_eq!(default.mode(), RetryMode::Standard);
        assert_eq!(default.max_attempts(), 3);
        assert_eq!(default, RetryConfig::standard());

        let tuned = retry_config(Some("1".into()), Some("adaptive".into()));
        assert_eq!(tuned.max_attempts(), 1);
        assert_eq!(tuned.mode(), RetryMode::Adaptive);

        for (attempts, mode) in [("0", "sometimes"), ("many", ""), ("-1", "STANDARD ")] {
            let ignored = retry_config(Some(attempts.into()), Some(mode.into()));
            assert_eq!(ignored.max_attempts(), 3, "{attempts}");
        }
    }

    /// mysql_async builds its TLS configuration with `rustls::ClientConfig::builder()`, which
    /// takes the provider from rustls' crate features and panics when there is none or more than
    /// one (ring and aws-lc). `cargo test --workspace` unifies features as `cargo lambda build`
    /// does, so this fails if a dependency brings a second provider back.
    #[test]
    fn rustls_has_exactly_one_crypto_provider_from_its_crate_features() {
        let _ = rustls::ClientConfig::builder();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }

    #[tokio::test]
    async fn the_functions_config_has_an_https_client_credentials_and_the_sdk_timeouts() {
        let sdk = load_sdk_config().await;
        assert!(sdk.http_client().is_some());
        assert!(sdk.credentials_provider().is_some());
        assert_eq!(
            sdk.timeout_config().and_then(|t| t.connect_timeout()),
            Some(SDK_DEFAULT_CONNECT_TIMEOUT)
        );
    }
}
