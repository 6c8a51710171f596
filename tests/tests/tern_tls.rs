//! The real Tern client and the stand-in over TLS, with a test PKI made by each test: server
//! verification against a CA, mTLS, and the refusals (no client certificate, wrong CA). The
//! stand-in needs the local MariaDB (`scripts/services.sh start`, then source
//! `.local/services.env`).

use std::time::{Duration, Instant};

use schemabot_tern::{
    TernClient, TernClientConfig, TernEndpoints, TernError, TernTarget, TlsMaterial,
};
use schemabot_tests::services;
use schemabot_tests::tern_standin::{TernStandin, TernStandinConfig, TernStandinHandle};
use schemabot_tests::test_pki::{TempDir, TestPki};
use tonic::transport::ServerTlsConfig;
use worker::deployments::Deployments;

const DEPLOYMENT: &str = "testapp";
const ENVIRONMENT: &str = "staging";

/// A refused handshake must come back well within this (the connect timeout is 2 s).
const FAST: Duration = Duration::from_secs(4);

async fn standin(tls: ServerTlsConfig) -> TernStandinHandle {
    TernStandin::start(TernStandinConfig::from_env().with_tls(tls))
        .await
        .expect("stand-in starts")
}

fn client_for(endpoints: TernEndpoints) -> TernClient {
    TernClient::new(endpoints, TernClientConfig::default())
}

fn client_with(address: &str, material: TlsMaterial) -> TernClient {
    client_for(
        TernEndpoints::new()
            .with_tls_endpoint(DEPLOYMENT, ENVIRONMENT, address, material)
            .expect("valid TLS endpoint"),
    )
}

/// Calls Health and returns the outcome with how long it took.
async fn timed_health(client: &TernClient) -> (Result<String, TernError>, Duration) {
    let started = Instant::now();
    let result = client.health(DEPLOYMENT, ENVIRONMENT).await;
    (result, started.elapsed())
}

#[tokio::test]
async fn the_client_verifies_the_stand_in_against_the_test_ca() {
    let pki = TestPki::generate();
    let standin = standin(pki.server_tls()).await;
    assert!(
        standin.endpoint().starts_with("https://localhost:"),
        "{}",
        standin.endpoint()
    );
    let client = client_with(
        standin.endpoint(),
        TlsMaterial::system_roots().with_ca_pem(pki.ca_pem.as_bytes()),
    );

    let status = client.health(DEPLOYMENT, ENVIRONMENT).await.unwrap();
    assert!(!status.is_empty());
    // A second RPC on the same TLS channel; an unknown apply is an answer, not a failure.
    let report = client
        .progress(&TernTarget::new(
            DEPLOYMENT,
            ENVIRONMENT,
            "apply-0123456789abcdef",
        ))
        .await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(standin.progress_calls(), 1);
    standin.shutdown().await;
}

#[tokio::test]
async fn the_object_form_with_files_carries_mtls() {
    let pki = TestPki::generate();
    let dir = TempDir::new("tern_tls_").unwrap();
    let files = pki.write_to(dir.path()).unwrap();
    let standin = standin(pki.server_tls_requiring_client_cert()).await;
    let json = serde_json::json!({ DEPLOYMENT: { ENVIRONMENT: {
        "address": standin.endpoint(),
        "ca_file": files.ca,
        "client_cert_file": files.client_cert,
        "client_key_file": files.client_key,
    }}})
    .to_string();
    let client = client_for(TernEndpoints::from_json(&json).unwrap());

    let (result, _) = timed_health(&client).await;
    assert!(result.is_ok(), "{result:?}");
    standin.shutdown().await;
}

#[tokio::test]
async fn mtls_refuses_a_missing_or_foreign_client_certificate_fast_and_says_why() {
    let pki = TestPki::generate();
    let standin = standin(pki.server_tls_requiring_client_cert()).await;
    let client = client_with(
        standin.endpoint(),
        TlsMaterial::system_roots().with_ca_pem(pki.ca_pem.as_bytes()),
    );

    let (result, took) = timed_health(&client).await;
    let err = result.unwrap_err();
    assert!(took < FAST, "took {took:?}: {err}");
    let shown = err.to_string();
    assert!(shown.contains("CertificateRequired"), "{shown}");

    // A certificate from another CA is refused by the server.
    let client = client_with(
        standin.endpoint(),
        TlsMaterial::system_roots()
            .with_ca_pem(pki.ca_pem.as_bytes())
            .with_client_identity(
                pki.other_client_cert_pem.as_bytes(),
                pki.other_client_key_pem.as_bytes(),
            ),
    );
    let (result, took) = timed_health(&client).await;
    let err = result.unwrap_err();
    assert!(took < FAST, "took {took:?}: {err}");
    assert!(err.to_string().contains("UnknownCA"), "{err}");

    // The same client with the certificate gets through.
    let client = client_with(
        standin.endpoint(),
        TlsMaterial::system_roots()
            .with_ca_pem(pki.ca_pem.as_bytes())
            .with_client_identity(
                pki.client_cert_pem.as_bytes(),
                pki.client_key_pem.as_bytes(),
            ),
    );
    let (result, _) = timed_health(&client).await;
    assert!(result.is_ok(), "{result:?}");
    standin.shutdown().await;
}

#[tokio::test]
async fn a_server_outside_the_trusted_roots_is_refused() {
    let pki = TestPki::generate();
    let standin = standin(pki.server_tls()).await;

    // Trusting only an unrelated CA.
    let client = client_with(
        standin.endpoint(),
        TlsMaterial::system_roots().with_ca_pem(pki.other_ca_pem.as_bytes()),
    );
    let (result, took) = timed_health(&client).await;
    let err = result.unwrap_err();
    assert!(took < FAST, "took {took:?}: {err}");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    // The plain https:// string form trusts the system roots, which do not know the test CA.
    let client = client_for(
        TernEndpoints::new()
            .with_endpoint(DEPLOYMENT, ENVIRONMENT, standin.endpoint())
            .unwrap(),
    );
    let (result, _) = timed_health(&client).await;
    let err = result.unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    // Plain gRPC to a TLS port gets nowhere either.
    let plain = standin.endpoint().replace("https://", "http://");
    let client = client_for(
        TernEndpoints::new()
            .with_endpoint(DEPLOYMENT, ENVIRONMENT, &plain)
            .unwrap(),
    );
    let (result, took) = timed_health(&client).await;
    assert!(result.is_err(), "{result:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    standin.shutdown().await;
}

#[tokio::test]
async fn the_server_name_can_differ_from_the_address() {
    let pki = TestPki::generate();
    let standin = standin(pki.server_tls()).await;
    let by_ip = format!("https://127.0.0.1:{}", standin.addr().port());

    // The certificate names 127.0.0.1 too; verified against "localhost" it still passes.
    let client = client_with(
        &by_ip,
        TlsMaterial::system_roots()
            .with_ca_pem(pki.ca_pem.as_bytes())
            .with_server_name("localhost"),
    );
    let (result, _) = timed_health(&client).await;
    assert!(result.is_ok(), "{result:?}");

    // A name the certificate does not carry is refused.
    let client = client_with(
        &by_ip,
        TlsMaterial::system_roots()
            .with_ca_pem(pki.ca_pem.as_bytes())
            .with_server_name("tern.example.internal"),
    );
    let (result, _) = timed_health(&client).await;
    let err = result.unwrap_err();
    assert!(err.to_string().contains("not valid for name"), "{err}");
    standin.shutdown().await;
}

/// A secret in the local emulator; returns its ARN.
async fn create_secret(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) -> String {
    client
        .create_secret()
        .name(services::unique(name))
        .secret_string(value)
        .send()
        .await
        .expect("create the secret")
        .arn()
        .expect("the secret's ARN")
        .to_string()
}

#[tokio::test]
async fn the_worker_takes_the_ca_and_client_identity_from_secrets_manager() {
    let _ = services::aws_endpoint();
    let pki = TestPki::generate();
    let standin = standin(pki.server_tls_requiring_client_cert()).await;
    let sdk = schemabot_aws::config::load_sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let ca_arn = create_secret(&secrets, "tern-ca-", &pki.ca_pem).await;
    let identity = serde_json::json!({
        "cert_pem": pki.client_cert_pem,
        "key_pem": pki.client_key_pem,
    });
    let identity_arn = create_secret(&secrets, "tern-id-", &identity.to_string()).await;
    let config = |ca_arn: &str| {
        serde_json::json!({ DEPLOYMENT: { ENVIRONMENT: {
            "tern_endpoint": {
                "address": standin.endpoint(),
                "ca_secret_arn": ca_arn,
                "client_identity_secret_arn": identity_arn,
            },
            "dsn": "mysql://sentinel@127.0.0.1:1/unused",
            "repositories": [],
        }}})
        .to_string()
    };

    let mut deployments = Deployments::from_json(&config(&ca_arn)).unwrap();
    // Until the secrets are loaded there are no endpoints to call.
    let err = deployments.tern_endpoints().unwrap_err();
    assert!(err.to_string().contains("was not loaded"), "{err}");
    deployments.load_tern_secrets(&secrets).await.unwrap();
    let client = client_for(deployments.tern_endpoints().unwrap());
    let (result, _) = timed_health(&client).await;
    assert!(result.is_ok(), "{result:?}");

    // A secret that does not exist stops start-up, naming the ARN.
    let missing = format!("{ca_arn}-missing");
    let mut deployments = Deployments::from_json(&config(&missing)).unwrap();
    let err = deployments
        .load_tern_secrets(&secrets)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&missing), "{err}");
    assert!(!err.contains("PRIVATE KEY"), "{err}");
    standin.shutdown().await;
}
