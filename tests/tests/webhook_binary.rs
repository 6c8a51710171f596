//! The built `webhook` binary run as Lambda runs it: a child process polling a local Lambda
//! Runtime API, configured only through its environment, talking to DynamoDB and SQS on moto.
//! This proves the wiring in `functions/webhook/src/main.rs` (configuration, secrets, clients,
//! the runtime loop and the response shape), which the in-process tests cannot see.

use schemabot_aws::config::{dynamodb_client, load_sdk_config, sqs_client};
use schemabot_aws::queue::{create_fifo_queue, receive, ReceivedMessage};
use schemabot_aws::table::create_table;
use schemabot_aws::RequestCounter;
use schemabot_domain::command::{CommandName, ParseError};
use schemabot_domain::job::{Job, Reply};
use schemabot_tests::lambda_api::{
    aws_env_from_current, github_http_v2_event, LambdaProcess, RuntimeApi,
};
use schemabot_tests::services::{aws_endpoint, unique};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use webhook::signature::sign;

const SECRET: &str = "binary-test-webhook-secret";
/// The repository of the fixtures, the one the binary is configured to serve.
const REPOSITORY: &str = "acme-payments/schemas";
const COMMENT_FIXTURE: &str =
    include_str!("../../functions/webhook/tests/fixtures/issue_comment_cutover.json");
const PULL_FIXTURE: &str =
    include_str!("../../functions/webhook/tests/fixtures/pull_request_synchronize.json");
const HTTP_V2: &str =
    include_str!("../../functions/webhook/tests/fixtures/apigw_http_v2_event.json");
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the `webhook` binary once per test process, with the same cargo, target directory and
/// profile as this test, and returns its path (as cargo reports it).
fn webhook_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_webhook_binary).clone()
}

fn build_webhook_binary() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let exe = std::env::current_exe().expect("path of the test executable");
    // <target-dir>[/<triple>]/<profile-dir>/deps/webhook_binary-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in <target>/<profile>/deps");
    let profile_name = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("profile directory name");
    let profile = if profile_name == "debug" {
        "dev"
    } else {
        profile_name
    };
    let mut target_dir = profile_dir
        .parent()
        .expect("target directory")
        .to_path_buf();
    let mut triple = None;
    if !target_dir.join("CACHEDIR.TAG").exists() {
        if let Some(parent) = target_dir.parent() {
            if parent.join("CACHEDIR.TAG").exists() {
                triple = target_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .map(str::to_string);
                target_dir = parent.to_path_buf();
            }
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut command = std::process::Command::new(cargo);
    command
        .args(["build", "--quiet", "-p", "webhook", "--bin", "webhook"])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--profile")
        .arg(profile)
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    if let Some(triple) = &triple {
        command.args(["--target", triple]);
    }
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run cargo build for the webhook binary");
    assert!(
        output.status.success(),
        "cargo build -p webhook --bin webhook failed: {}",
        output.status
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "webhook")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the webhook executable")
}

/// A fresh table and FIFO queue on moto, and the environment that points the binary at them.
struct Aws {
    sqs: schemabot_aws::SqsClient,
    queue_url: String,
    table: String,
}

impl Aws {
    async fn fresh() -> Aws {
        let _ = aws_endpoint();
        let sdk = load_sdk_config().await;
        let counter = RequestCounter::new();
        let dynamo = dynamodb_client(&sdk, &counter);
        let sqs = sqs_client(&sdk, &counter);
        let table = unique("webhook-bin-");
        create_table(&dynamo, &table).await.expect("create table");
        let queue_url = create_fifo_queue(&sqs, &format!("{}.fifo", unique("webhook-bin-")))
            .await
            .expect("create FIFO queue");
        Aws {
            sqs,
            queue_url,
            table,
        }
    }

    /// The function's environment: the Lambda runtime's variables, AWS endpoint/credentials, and
    /// the webhook configuration (`secrets: None` leaves the webhook secret out entirely).
    fn env(&self, api: &RuntimeApi, secrets: Option<&str>) -> Vec<(String, String)> {
        let mut env = api.lambda_env("webhook");
        env.extend(aws_env_from_current());
        env.push(("SCHEMABOT_ENVIRONMENTS".into(), "staging,production".into()));
        env.push(("SCHEMABOT_REPOSITORIES".into(), REPOSITORY.into()));
        env.push(("SCHEMABOT_QUEUE_URL".into(), self.queue_url.clone()));
        env.push(("SCHEMABOT_TABLE".into(), self.table.clone()));
        if let Some(secrets) = secrets {
            env.push(("SCHEMABOT_WEBHOOK_SECRETS".into(), secrets.into()));
        }
        env
    }

    /// Every message in the queue (received and deleted), waiting `wait` for late arrivals.
    async fn drain(&self, wait: Duration) -> Vec<ReceivedMessage> {
        let mut all = Vec::new();
        loop {
            let batch = receive(&self.sqs, &self.queue_url, 10, wait)
                .await
                .expect("receive from the queue");
            if batch.is_empty() {
                return all;
            }
            for m in &batch {
                if let Some(handle) = &m.receipt_handle {
                    schemabot_aws::queue::delete_message(&self.sqs, &self.queue_url, handle)
                        .await
                        .expect("delete message");
                }
            }
            all.extend(batch);
        }
    }
}

/// The cutover comment as a new PR comment (a fresh comment id) with `body`.
fn comment_payload(body: &str) -> String {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(5_000_000_000);
    let mut v: Value = serde_json::from_str(COMMENT_FIXTURE).expect("fixture is JSON");
    v["comment"]["body"] = json!(body);
    v["comment"]["id"] = json!(NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    v.to_string()
}

fn http_v2(event: &str, delivery: &str, signature: Option<&str>, body: &str) -> Value {
    let template: Value = serde_json::from_str(HTTP_V2).expect("fixture is JSON");
    github_http_v2_event(&template, event, delivery, signature, body)
}

/// The API Gateway v2 response the function returned: status and parsed JSON body.
fn http_response(answer: &Value) -> (i64, Value) {
    let status = answer["statusCode"]
        .as_i64()
        .unwrap_or_else(|| panic!("no statusCode in {answer}"));
    let body = answer["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_else(|| panic!("no JSON body in {answer}"));
    (status, body)
}

#[tokio::test]
async fn a_signed_cutover_comment_through_the_runtime_api_is_accepted_and_enqueued_once() {
    let aws = Aws::fresh().await;
    let api = RuntimeApi::start().await.expect("runtime API");
    let mut function = LambdaProcess::spawn(&webhook_binary(), &aws.env(&api, Some(SECRET)))
        .expect("spawn the webhook binary");

    let payload = comment_payload(
        "Production traffic is low, going ahead.\r\n\r\nschemabot cutover apply-0123456789abcdef -e production",
    );
    let signature = sign(SECRET.as_bytes(), payload.as_bytes());
    let delivery = "5f0e1c2a-aa10-11f0-8de9-0242ac120002";
    let id = api.invoke(http_v2(
        "issue_comment",
        delivery,
        Some(&signature),
        &payload,
    ));
    let answer = api
        .result(&id, ANSWER_TIMEOUT)
        .await
        .unwrap_or_else(|| panic!("no answer; stderr: {}", dead_stderr(&mut function)));
    assert!(answer.ok, "invocation error: {}", answer.body);
    let (status, body) = http_response(&answer.body);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["job"], "cutover", "{body}");
    assert_eq!(
        answer.body["headers"]["content-type"], "application/json",
        "{}",
        answer.body
    );

    let messages = aws.drain(Duration::from_secs(1)).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let envelope = messages[0].envelope().expect("a job envelope");
    match &envelope.job {
        Job::Cutover(job) => {
            assert_eq!(job.apply_id.as_str(), "apply-0123456789abcdef");
            assert_eq!(job.environment.as_str(), "production");
        }
        other => panic!("expected a cutover job, got {other:?}"),
    }

    // The process is still polling for the next event (a warm Lambda), until killed.
    assert!(function
        .wait_exit(Duration::from_millis(100))
        .await
        .is_none());
    function.kill();
    api.shutdown();
}

#[tokio::test]
async fn a_bad_signature_through_the_runtime_api_is_401_and_enqueues_nothing() {
    let aws = Aws::fresh().await;
    let api = RuntimeApi::start().await.expect("runtime API");
    let mut function = LambdaProcess::spawn(&webhook_binary(), &aws.env(&api, Some(SECRET)))
        .expect("spawn the webhook binary");

    let payload = comment_payload("schemabot cutover apply-0123456789abcdef -e production");
    let wrong = sign(b"not-the-webhook-secret", payload.as_bytes());
    for (name, signature) in [("wrong secret", Some(wrong.as_str())), ("missing", None)] {
        let id = api.invoke(http_v2(
            "issue_comment",
            &uuid::Uuid::new_v4().to_string(),
            signature,
            &payload,
        ));
        let answer = api
            .result(&id, ANSWER_TIMEOUT)
            .await
            .unwrap_or_else(|| panic!("{name}: no answer; stderr: {}", dead_stderr(&mut function)));
        assert!(answer.ok, "{name}: invocation error: {}", answer.body);
        let (status, body) = http_response(&answer.body);
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["error"], "invalid webhook signature", "{name}");
    }
    assert!(aws.drain(Duration::from_secs(1)).await.is_empty());
    function.kill();
    api.shutdown();
}

/// Starts the binary with `env` while an event is already waiting, and checks that it stops
/// before fetching it, non-zero, with exactly one line of output: a JSON log line at ERROR whose
/// `error` field contains `expected` (and none of `hidden`).
async fn assert_fails_closed(
    name: &str,
    env: &[(String, String)],
    api: RuntimeApi,
    expected: &str,
    hidden: &[&str],
) {
    // An event is already waiting: a function that started anyway would answer it.
    let payload = comment_payload("schemabot cutover apply-0123456789abcdef -e production");
    let id = api.invoke(http_v2(
        "issue_comment",
        &uuid::Uuid::new_v4().to_string(),
        Some(&sign(SECRET.as_bytes(), payload.as_bytes())),
        &payload,
    ));
    let mut function =
        LambdaProcess::spawn(&webhook_binary(), env).expect("spawn the webhook binary");
    let status = function
        .wait_exit(Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("{name}: the function kept running misconfigured"));
    assert!(
        !status.success(),
        "{name}: exited successfully misconfigured"
    );
    let stdout = function.stdout();
    let stderr = function.stderr();
    let lines: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "{name}: exactly one line expected; stdout: {stdout} stderr: {stderr}"
    );
    // The reason is in the JSON log, at ERROR, where alarms and log searches look.
    let start_error: Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|_| panic!("{name}: not a JSON line: {}", lines[0]));
    assert_eq!(start_error["level"], "ERROR", "{name}: {start_error}");
    let message = start_error["fields"]["message"]
        .as_str()
        .unwrap_or_default();
    let error = start_error["fields"]["error"].as_str().unwrap_or_default();
    assert!(message.contains("cannot start"), "{name}: {start_error}");
    assert!(error.contains(expected), "{name}: {start_error}");
    for secret in hidden {
        assert!(
            !lines[0].contains(secret),
            "{name}: the log shows a secret: {start_error}"
        );
    }
    assert!(
        api.result(&id, Duration::from_millis(200)).await.is_none(),
        "{name}: the function answered an event misconfigured"
    );
    assert_eq!(
        api.pending(),
        1,
        "{name}: the function fetched an event misconfigured"
    );
    function.kill();
    api.shutdown();
}

#[tokio::test]
async fn without_a_webhook_secret_the_binary_fails_closed_and_answers_nothing() {
    let aws = Aws::fresh().await;
    for (name, secrets) in [("unset", None), ("blank", Some("  "))] {
        let api = RuntimeApi::start().await.expect("runtime API");
        let env = aws.env(&api, secrets);
        assert_fails_closed(name, &env, api, "SCHEMABOT_WEBHOOK_SECRETS", &[]).await;
    }
    assert!(aws.drain(Duration::from_millis(0)).await.is_empty());
}

#[tokio::test]
async fn any_misconfiguration_stops_the_binary_with_one_clear_json_log_line() {
    let aws = Aws::fresh().await;
    let long = "a-perfectly-long-webhook-secret";
    let pair_with_unknown_key = format!(r#"{{"current":"{long}","next":"{long}-2"}}"#);
    let comma_list = format!("{long},{long}-2");
    // (case, webhook secret value, a variable to set (or remove, with `None`), expected error)
    let cases = [
        (
            "short secret",
            Some("hunter2-secret"),
            None,
            "SCHEMABOT_WEBHOOK_SECRETS: webhook secret 1 is shorter than 20 characters",
        ),
        (
            "comma-separated secrets",
            Some(comma_list.as_str()),
            None,
            "comma-separated lists are not accepted",
        ),
        (
            "unknown key in the JSON secret",
            Some(pair_with_unknown_key.as_str()),
            None,
            "is not a well-formed JSON object",
        ),
        (
            "empty repository allowlist",
            Some(SECRET),
            Some(("SCHEMABOT_REPOSITORIES", Some(" "))),
            "SCHEMABOT_REPOSITORIES is empty",
        ),
        (
            "no repository allowlist",
            Some(SECRET),
            Some(("SCHEMABOT_REPOSITORIES", None)),
            "SCHEMABOT_REPOSITORIES is empty",
        ),
        (
            "unknown autoplan association",
            Some(SECRET),
            Some(("SCHEMABOT_AUTOPLAN_ASSOCIATIONS", Some("OWNER,ADMINS"))),
            "SCHEMABOT_AUTOPLAN_ASSOCIATIONS names `ADMINS`",
        ),
    ];
    for (name, secrets, change, expected) in cases {
        let api = RuntimeApi::start().await.expect("runtime API");
        let mut env = aws.env(&api, secrets);
        if let Some((var, value)) = change {
            env.retain(|(k, _)| k != var);
            if let Some(value) = value {
                env.push((var.to_string(), value.to_string()));
            }
        }
        let hidden = [long, "hunter2"];
        assert_fails_closed(name, &env, api, expected, &hidden).await;
    }
    assert!(aws.drain(Duration::from_millis(0)).await.is_empty());
}

/// Sends one signed delivery to the running function and returns its HTTP answer.
async fn deliver(
    api: &RuntimeApi,
    function: &mut LambdaProcess,
    event: &str,
    payload: &str,
) -> (i64, Value) {
    let signature = sign(SECRET.as_bytes(), payload.as_bytes());
    let id = api.invoke(http_v2(
        event,
        &uuid::Uuid::new_v4().to_string(),
        Some(&signature),
        payload,
    ));
    let answer = api
        .result(&id, ANSWER_TIMEOUT)
        .await
        .unwrap_or_else(|| panic!("no answer; stderr: {}", dead_stderr(function)));
    assert!(answer.ok, "invocation error: {}", answer.body);
    http_response(&answer.body)
}

#[tokio::test]
async fn prose_stray_words_closed_prs_and_forks_through_the_runtime_api() {
    let aws = Aws::fresh().await;
    let api = RuntimeApi::start().await.expect("runtime API");
    let mut function = LambdaProcess::spawn(&webhook_binary(), &aws.env(&api, Some(SECRET)))
        .expect("spawn the webhook binary");

    // A command mentioned in a sentence runs nothing and is answered by nobody.
    let prose = comment_payload("LGTM, but do not run schemabot apply-confirm -e production yet.");
    let (status, body) = deliver(&api, &mut function, "issue_comment", &prose).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("no SchemaBot command found")),
        "{body}"
    );
    assert!(aws.drain(Duration::from_millis(200)).await.is_empty());

    // A stray word after a command is refused with a reply naming it.
    let stray = comment_payload("schemabot apply -e production please");
    let (status, body) = deliver(&api, &mut function, "issue_comment", &stray).await;
    assert_eq!(
        (status, body["job"].as_str()),
        (202, Some("reply")),
        "{body}"
    );
    let messages = aws.drain(Duration::from_secs(1)).await;
    let reply = match messages
        .first()
        .and_then(|m| m.envelope().ok())
        .map(|e| e.job)
    {
        Some(Job::Reply(job)) => job.reply,
        other => panic!("expected a reply job, got {other:?}"),
    };
    assert!(
        matches!(
            reply,
            Reply::Syntax {
                error: ParseError::UnexpectedWord { ref word, .. }
            } if word == "please"
        ),
        "{reply:?}"
    );

    // An apply on a merged pull request is refused, not enqueued.
    let mut merged: Value = serde_json::from_str(&comment_payload("schemabot apply -e staging"))
        .expect("fixture is JSON");
    merged["issue"]["state"] = json!("closed");
    merged["issue"]["pull_request"]["merged_at"] = json!("2026-11-24T07:00:00Z");
    let (status, body) = deliver(&api, &mut function, "issue_comment", &merged.to_string()).await;
    assert_eq!(
        (status, body["job"].as_str()),
        (202, Some("reply")),
        "{body}"
    );
    let messages = aws.drain(Duration::from_secs(1)).await;
    match messages
        .first()
        .and_then(|m| m.envelope().ok())
        .map(|e| e.job)
    {
        Some(Job::Reply(job)) => assert_eq!(
            job.reply,
            Reply::ApplyBlockedPrNotOpen {
                command: CommandName::Apply,
                merged: true
            }
        ),
        other => panic!("expected a reply job, got {other:?}"),
    }

    // A pull request from a fork gets no automatic plan.
    let mut fork: Value = serde_json::from_str(PULL_FIXTURE).expect("fixture is JSON");
    fork["action"] = json!("opened");
    fork["pull_request"]["head"]["repo"]["full_name"] = json!("mallory/schemas");
    let (status, body) = deliver(&api, &mut function, "pull_request", &fork.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("fork")),
        "{body}"
    );
    assert!(aws.drain(Duration::from_millis(200)).await.is_empty());

    function.kill();
    api.shutdown();
}

/// The stderr of a function that stopped answering (kills it first so the read ends).
fn dead_stderr(function: &mut LambdaProcess) -> String {
    function.kill();
    function.stderr()
}
