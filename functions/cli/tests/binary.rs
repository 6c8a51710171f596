//! The `schemabot` binary as a script sees it: exit codes and one JSON document, for the
//! failures that need no running service (usage, credentials, network).

use serde_json::Value;
use std::process::{Command, Output};

/// The binary with a clean environment: no credentials, no profile files, no instance metadata.
fn schemabot(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schemabot"))
        .args(args)
        .env_clear()
        .env("HOME", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("SCHEMABOT_TABLE", "schemabot")
        .envs(env.iter().copied())
        .output()
        .expect("run schemabot")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn help_documents_the_exit_codes() {
    let output = schemabot(&["--help"], &[]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for line in ["Exit codes:", "4   apply not found", "64  usage error"] {
        assert!(help.contains(line), "{help}");
    }
    let cutover_help = schemabot(&["cutover", "--help"], &[]);
    assert_eq!(cutover_help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&cutover_help.stdout).contains("--timeout"));
}

#[test]
fn usage_errors_exit_64() {
    for args in [
        vec![],
        vec!["frobnicate"],
        vec!["progress", "apply-not-hex"],
        vec!["cutover", "apply-00ab"],
        vec!["cutover", "apply-00ab", "-e", "prod", "--timeout", "soon"],
    ] {
        let output = schemabot(&args, &[]);
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn missing_credentials_are_named_as_such() {
    let output = schemabot(&["list", "--json"], &[]);
    assert_eq!(output.status.code(), Some(5));
    let document = json(&output);
    assert_eq!(document["error"]["kind"], "credentials");
    assert_eq!(document["exit_code"], 5);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no usable AWS credentials"), "{stderr}");
}

#[test]
fn missing_configuration_is_named_as_such() {
    let output = schemabot(&["history", "apply-00ab"], &[("SCHEMABOT_TABLE", "")]);
    assert_eq!(output.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SCHEMABOT_TABLE"), "{stderr}");
}

#[test]
fn an_unreachable_endpoint_is_a_network_error() {
    let output = schemabot(
        &["progress", "apply-00ab", "--json"],
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            // Nothing listens on port 1; one attempt keeps the test fast.
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_MAX_ATTEMPTS", "1"),
        ],
    );
    assert_eq!(output.status.code(), Some(5));
    let document = json(&output);
    assert_eq!(document["error"]["kind"], "network");
    let message = document["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("could not reach DynamoDB"), "{message}");
    assert!(!message.contains("DispatchFailure {"), "{message}");
}
