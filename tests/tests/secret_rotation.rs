//! A DSN secret rotated in Secrets Manager is used without a redeploy: when the target database
//! refuses the cached credentials, the worker reads the secret again and retries once. Real
//! MariaDB user, real secret (moto).

use mysql_async::prelude::Queryable;
use schemabot_sentinel::SentinelChecker;
use schemabot_tests::services;
use worker::deployments::{DeploymentDsns, Deployments};

async fn root_exec(statements: &[String]) {
    let pool = mysql_async::Pool::new(services::mysql_dsn().as_str());
    let mut conn = pool.get_conn().await.expect("MariaDB");
    for sql in statements {
        conn.query_drop(sql.as_str()).await.expect("SQL");
    }
    drop(conn);
    pool.disconnect().await.expect("disconnect");
}

/// The local MariaDB's DSN (`mysql://root:…@host:port`) for another user.
fn dsn_for(user: &str, password: &str) -> String {
    let root = services::mysql_dsn();
    let host = root.rsplit('@').next().expect("host");
    format!("mysql://{user}:{password}@{host}")
}

#[tokio::test]
async fn a_rotated_dsn_secret_is_used_without_a_redeploy() {
    let user = services::unique("rot_");
    let schema = services::unique("rotdb_");
    root_exec(&[
        format!("CREATE DATABASE `{schema}`"),
        format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'first-password'"),
        format!("GRANT SELECT ON `{schema}`.* TO '{user}'@'%'"),
        format!("CREATE TABLE `{schema}`.`_spirit_sentinel` (id int)"),
    ])
    .await;

    let sdk = schemabot_aws::config::load_sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let arn = secrets
        .create_secret()
        .name(services::unique("dsn-"))
        .secret_string(dsn_for(&user, "first-password"))
        .send()
        .await
        .expect("create the secret")
        .arn()
        .expect("ARN")
        .to_string();
    let config = serde_json::json!({"payments": {"production": {
        "tern_endpoint": "http://127.0.0.1:1",
        "dsn_secret_arn": arn,
        "repositories": [],
    }}});
    let deployments = Deployments::from_json(&config.to_string()).expect("deployments");
    // The cache would keep the old DSN for minutes: only the refusal makes it read again.
    let dsns = DeploymentDsns::new(deployments, Some(secrets.clone()));
    let checker = SentinelChecker::default();
    assert!(checker
        .sentinel_present_for(&dsns, "payments", "production", &schema)
        .await
        .expect("first check"));

    // Rotation: the database takes the new password, the secret holds it; the worker keeps
    // running with the old DSN cached (and a pooled connection with it closed).
    root_exec(&[format!(
        "ALTER USER '{user}'@'%' IDENTIFIED BY 'second-password'"
    )])
    .await;
    secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(dsn_for(&user, "second-password"))
        .send()
        .await
        .expect("rotate the secret");
    checker.disconnect_all().await;

    let after = checker
        .sentinel_present_for(&dsns, "payments", "production", &schema)
        .await
        .expect("the check after the rotation uses the new secret");
    assert!(after);

    root_exec(&[
        format!("DROP USER '{user}'@'%'"),
        format!("DROP DATABASE `{schema}`"),
    ])
    .await;
}
