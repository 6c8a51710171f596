//! The GitHub App key rotated in Secrets Manager is used without rebuilding the client: when
//! GitHub refuses the App's JWT, the worker reads the secret again and retries once with the new
//! key; a malformed key in the secret never replaces the working one. Real secret (moto), the
//! GitHub stand-in verifying App JWTs against the key it currently accepts.

use schemabot_domain::{InstallationId, PrNumber, Repository};
use schemabot_github::{GithubClient, GithubError, RequestKind, RetryPolicy};
use schemabot_tests::github_standin::{
    CallKind, GithubStandin, ROTATED_APP_PRIVATE_KEY_PEM, TEST_APP_ID, TEST_APP_PRIVATE_KEY_PEM,
};
use schemabot_tests::services;
use std::sync::Arc;
use std::time::Duration;
use worker::github_key::{github_client, SecretsManagerKey, ENV_PRIVATE_KEY_ARN};

const INSTALLATION: InstallationId = InstallationId(31);
const PR: PrNumber = PrNumber(5);
const MALFORMED_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----";

fn repo() -> Repository {
    Repository::parse("octo/keys").expect("repository")
}

/// The fixture as an operator stores it: the PEM only, without the fixture's note.
fn pem(fixture: &str) -> &str {
    fixture
        .find("-----BEGIN")
        .map_or(fixture, |start| &fixture[start..])
}

async fn secrets() -> aws_sdk_secretsmanager::Client {
    let sdk = schemabot_aws::config::load_sdk_config().await;
    aws_sdk_secretsmanager::Client::new(&sdk)
}

async fn create_secret(secrets: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    secrets
        .create_secret()
        .name(services::unique("github-app-key-"))
        .secret_string(value)
        .send()
        .await
        .expect("create the secret")
        .arn()
        .expect("ARN")
        .to_string()
}

async fn put_secret(secrets: &aws_sdk_secretsmanager::Client, arn: &str, value: &str) {
    secrets
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .expect("rotate the secret");
}

/// The statuses the stand-in answered the token requests with, in order.
fn token_statuses(standin: &GithubStandin) -> Vec<u16> {
    standin
        .calls()
        .iter()
        .filter(|c| c.kind == CallKind::AccessToken)
        .map(|c| c.status)
        .collect()
}

#[tokio::test]
async fn a_rotated_app_key_is_used_without_rebuilding_the_client() {
    let standin = GithubStandin::start().await.expect("stand-in");
    let secrets = secrets().await;
    let arn = create_secret(&secrets, pem(TEST_APP_PRIVATE_KEY_PEM)).await;
    // The worker's own wiring, with the production re-read interval: only GitHub's refusal can
    // make it read the secret again within this test.
    let app_id = TEST_APP_ID.to_string();
    let api = standin.base_url();
    let client = github_client(&secrets, |name| match name {
        ENV_PRIVATE_KEY_ARN => Some(arn.clone()),
        schemabot_github::ENV_APP_ID => Some(app_id.clone()),
        schemabot_github::ENV_API_URL => Some(api.clone()),
        _ => None,
    })
    .await
    .expect("the worker's GitHub client");
    let gh = client.installation(INSTALLATION);
    gh.create_comment(&repo(), PR, "before the rotation")
        .await
        .expect("a comment with the first key");
    assert_eq!(token_statuses(&standin), vec![201]);

    // Rotation: GitHub accepts only the new key, the secret holds it, and the installation token
    // the worker cached is gone, so the next call needs a new JWT.
    standin.rotate_app_key(ROTATED_APP_PRIVATE_KEY_PEM);
    put_secret(&secrets, &arn, pem(ROTATED_APP_PRIVATE_KEY_PEM)).await;
    standin.revoke_tokens();

    gh.create_comment(&repo(), PR, "after the rotation")
        .await
        .expect("the same client signs with the rotated key");
    // The old key's JWT was refused once, the new key's accepted.
    assert_eq!(token_statuses(&standin), vec![201, 401, 201]);
    let bodies: Vec<String> = standin
        .comments(&repo(), PR)
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(bodies, ["before the rotation", "after the rotation"]);
    standin.shutdown().await;
}

#[tokio::test]
async fn a_malformed_key_in_the_secret_keeps_the_working_one_until_it_fails_too() {
    let standin = GithubStandin::start().await.expect("stand-in");
    let secrets = secrets().await;
    let arn = create_secret(&secrets, pem(TEST_APP_PRIVATE_KEY_PEM)).await;
    // Re-read before every JWT, so the malformed value is seen at once.
    let client = GithubClient::with_key_source(
        TEST_APP_ID,
        &standin.base_url(),
        Arc::new(SecretsManagerKey::new(secrets.clone(), arn.clone())),
        Duration::ZERO,
        RetryPolicy::no_retries(),
    )
    .await
    .expect("client");
    let gh = client.installation(INSTALLATION);

    put_secret(&secrets, &arn, MALFORMED_PEM).await;
    gh.create_comment(&repo(), PR, "signed with the old key")
        .await
        .expect("the malformed key is ignored");

    // GitHub now refuses the old key and the secret still holds nothing usable: the call fails
    // with GitHub's refusal, once, without a retry loop.
    standin.rotate_app_key(ROTATED_APP_PRIVATE_KEY_PEM);
    standin.revoke_tokens();
    let refused = gh
        .create_comment(&repo(), PR, "no usable key")
        .await
        .expect_err("no key GitHub accepts");
    assert!(
        matches!(
            refused,
            GithubError::Status {
                operation: RequestKind::AccessToken,
                status: 401,
                ..
            }
        ),
        "{refused}"
    );
    assert!(!refused.to_string().contains("AAAA"), "{refused}");
    assert_eq!(token_statuses(&standin), vec![201, 401]);

    // The operator fixes the secret: the same client recovers.
    put_secret(&secrets, &arn, pem(ROTATED_APP_PRIVATE_KEY_PEM)).await;
    gh.create_comment(&repo(), PR, "signed with the rotated key")
        .await
        .expect("the rotated key from the secret");
    assert_eq!(standin.comments(&repo(), PR).len(), 2);
    standin.shutdown().await;
}

#[tokio::test]
async fn a_malformed_key_stops_the_worker_at_start_up_without_quoting_it() {
    let secrets = secrets().await;
    let arn = create_secret(&secrets, MALFORMED_PEM).await;
    let error = GithubClient::with_key_source(
        TEST_APP_ID,
        "http://127.0.0.1:9",
        Arc::new(SecretsManagerKey::new(secrets, arn)),
        Duration::from_secs(300),
        RetryPolicy::default(),
    )
    .await
    .expect_err("an unusable key at start-up");
    let message = error.to_string();
    assert!(message.contains("not a valid RSA PEM key"), "{message}");
    assert!(!message.contains("AAAA"), "{message}");
}
