//! Where the local services are: `scripts/services.sh start` exports these variables.
//! A test that needs a service and does not find it fails loudly instead of skipping.

/// The moto (DynamoDB + SQS) endpoint, from `AWS_ENDPOINT_URL`.
pub fn aws_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run `scripts/services.sh start` and source .local/services.env (the README's test command does this)")
}

/// A root DSN for the local MariaDB, from `SCHEMABOT_TEST_MYSQL_DSN`.
pub fn mysql_dsn() -> String {
    std::env::var("SCHEMABOT_TEST_MYSQL_DSN")
        .expect("SCHEMABOT_TEST_MYSQL_DSN is not set: run `scripts/services.sh start` and source .local/services.env (the README's test command does this)")
}

/// A short unique suffix for per-test tables, queues and schemas, so tests share one emulator
/// without interfering.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// An AWS SDK configuration pointed at the local emulator.
pub async fn aws_config() -> aws_config::SdkConfig {
    let _ = aws_endpoint();
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
