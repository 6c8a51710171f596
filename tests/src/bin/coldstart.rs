//! Cold-start and memory measurement of a Lambda binary through a local Lambda Runtime API.
//!
//! For each run: a fresh Runtime API with one event already queued, then spawn the binary (clean
//! environment: the Lambda runtime's variables, the AWS endpoint/credentials of this process, the
//! webhook configuration) and time **process spawn → first response received** by the Runtime
//! API. Then read the process's peak RSS (`VmHWM`), send a second event to time a warm
//! invocation, and kill the process. Runs are sequential; one untimed warm-up run loads the
//! binary into the page cache first.
//!
//! Scenarios: `ping` (a signed GitHub `ping` through API Gateway v2: start-up plus verification,
//! no I/O) and `issue_comment` (a signed cutover comment: the DynamoDB dedup write and SQS send,
//! against the emulator at `AWS_ENDPOINT_URL`, into a fresh table and FIFO queue per run). With
//! `--private-moto` the tool starts a moto server of its own for the run (and stops it): the shared
//! one gets slower as other test suites accumulate tables in it.
//!
//! ```text
//! coldstart --binary target/release/webhook [--runs 20] [--json out.json]
//!           [--scenarios ping,issue_comment] [--private-moto]
//! ```

use schemabot_aws::config::{dynamodb_client, load_sdk_config, sqs_client};
use schemabot_aws::queue::create_fifo_queue;
use schemabot_aws::table::create_table;
use schemabot_aws::RequestCounter;
use schemabot_tests::lambda_api::{
    aws_env_from_current, github_http_v2_event, LambdaProcess, RuntimeApi,
};
use schemabot_tests::services::PrivateMoto;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SECRET: &str = "coldstart-webhook-secret";
const COMMENT_FIXTURE: &str =
    include_str!("../../../functions/webhook/tests/fixtures/issue_comment_cutover.json");
const HTTP_V2: &str =
    include_str!("../../../functions/webhook/tests/fixtures/apigw_http_v2_event.json");
const PING: &str = r#"{"zen":"Design for failure.","hook_id":488221123,"hook":{"type":"App","id":488221123,"name":"web","active":true,"events":["issue_comment","pull_request"],"config":{"content_type":"json","insecure_ssl":"0","url":"https://abc123def4.execute-api.us-east-1.amazonaws.com/webhook"},"app_id":1023344},"sender":{"login":"alice-dba","id":583231,"type":"User","site_admin":false}}"#;
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

struct Args {
    binary: PathBuf,
    runs: usize,
    json: Option<PathBuf>,
    scenarios: Vec<Scenario>,
    private_moto: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Ping,
    IssueComment,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Ping => "ping",
            Scenario::IssueComment => "issue_comment",
        }
    }

    fn expected_status(self) -> i64 {
        match self {
            Scenario::Ping => 200,
            Scenario::IssueComment => 202,
        }
    }
}

fn usage() -> String {
    "usage: coldstart --binary PATH [--runs N] [--json PATH] [--scenarios ping,issue_comment] [--private-moto]"
        .to_string()
}

fn parse_args() -> Result<Args, BoxError> {
    let mut binary = None;
    let mut runs = 20;
    let mut json = None;
    let mut scenarios = vec![Scenario::Ping, Scenario::IssueComment];
    let mut private_moto = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{arg} needs a value\n{}", usage()))
        };
        match arg.as_str() {
            "--binary" => binary = Some(PathBuf::from(value()?)),
            "--runs" => runs = value()?.parse()?,
            "--json" => json = Some(PathBuf::from(value()?)),
            "--scenarios" => {
                scenarios = value()?
                    .split(',')
                    .map(|s| match s.trim() {
                        "ping" => Ok(Scenario::Ping),
                        "issue_comment" => Ok(Scenario::IssueComment),
                        other => Err(format!("unknown scenario `{other}`")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--private-moto" => private_moto = true,
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`\n{}", usage()).into()),
        }
    }
    let binary = binary.ok_or_else(usage)?;
    if runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(Args {
        binary,
        runs,
        json,
        scenarios,
        private_moto,
    })
}

/// Where the function sends its work: a fresh table and FIFO queue on the emulator.
struct Target {
    endpoint: String,
    table: String,
    queue_url: String,
}

async fn fresh_target(endpoint: Option<&str>) -> Result<Target, BoxError> {
    let endpoint = match endpoint {
        Some(e) => e.to_string(),
        None => std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
            "AWS_ENDPOINT_URL is not set: run scripts/services.sh start and source .local/services.env"
        })?,
    };
    // The functions' own SDK configuration (environment only, the project's HTTPS client).
    let sdk = load_sdk_config()
        .await
        .into_builder()
        .endpoint_url(&endpoint)
        .build();
    let counter = RequestCounter::new();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let table = format!("coldstart-{}", &suffix[..12]);
    create_table(&dynamodb_client(&sdk, &counter), &table).await?;
    let queue_url = create_fifo_queue(
        &sqs_client(&sdk, &counter),
        &format!("coldstart-{}.fifo", &suffix[..12]),
    )
    .await?;
    Ok(Target {
        endpoint,
        table,
        queue_url,
    })
}

fn function_env(api: &RuntimeApi, target: &Target) -> Vec<(String, String)> {
    let mut env = api.lambda_env("webhook");
    env.extend(
        aws_env_from_current()
            .into_iter()
            .filter(|(k, _)| k != "AWS_ENDPOINT_URL"),
    );
    env.push(("AWS_ENDPOINT_URL".into(), target.endpoint.clone()));
    env.push(("SCHEMABOT_WEBHOOK_SECRETS".into(), SECRET.into()));
    env.push(("SCHEMABOT_ENVIRONMENTS".into(), "staging,production".into()));
    // Required: the repository of the comment fixture.
    env.push((
        "SCHEMABOT_REPOSITORIES".into(),
        "acme-payments/schemas".into(),
    ));
    env.push(("SCHEMABOT_QUEUE_URL".into(), target.queue_url.clone()));
    env.push(("SCHEMABOT_TABLE".into(), target.table.clone()));
    env
}

/// A signed event for `scenario`; every call is a fresh delivery (and a fresh comment), so the
/// issue_comment path always does its full dedup write + enqueue.
fn event(scenario: Scenario, template: &Value, seq: u64) -> Result<Value, BoxError> {
    let delivery = uuid::Uuid::new_v4().to_string();
    let (name, body) = match scenario {
        Scenario::Ping => ("ping", PING.to_string()),
        Scenario::IssueComment => {
            let mut v: Value = serde_json::from_str(COMMENT_FIXTURE)?;
            v["comment"]["id"] = json!(3_000_000_000_u64 + seq);
            ("issue_comment", v.to_string())
        }
    };
    let signature = webhook::signature::sign(SECRET.as_bytes(), body.as_bytes());
    Ok(github_http_v2_event(
        template,
        name,
        &delivery,
        Some(&signature),
        &body,
    ))
}

struct Sample {
    cold_ms: f64,
    peak_rss_kib: u64,
    warm_ms: f64,
    peak_rss_after_warm_kib: u64,
}

fn status_of(answer: &Value) -> Option<i64> {
    answer["statusCode"].as_i64()
}

async fn one_run(
    binary: &std::path::Path,
    scenario: Scenario,
    template: &Value,
    endpoint: &str,
    seq: &mut u64,
) -> Result<Sample, BoxError> {
    // A fresh table and queue per run (before the clock starts): moto slows as a queue fills.
    let target = fresh_target(Some(endpoint)).await?;
    let api = RuntimeApi::start().await?;
    *seq += 1;
    let first = api.invoke(event(scenario, template, *seq)?);
    let mut function = LambdaProcess::spawn(binary, &function_env(&api, &target))?;
    let Some(answer) = api.result(&first, ANSWER_TIMEOUT).await else {
        function.kill();
        return Err(format!(
            "{}: no answer within {ANSWER_TIMEOUT:?}; stderr: {}",
            scenario.name(),
            function.stderr()
        )
        .into());
    };
    let cold = answer.answered_at.duration_since(function.started_at());
    let peak_rss_kib = function
        .peak_rss_kib()
        .ok_or("process gone before RSS read")?;
    if !answer.ok || status_of(&answer.body) != Some(scenario.expected_status()) {
        return Err(format!("{}: unexpected answer {}", scenario.name(), answer.body).into());
    }

    *seq += 1;
    let sent = Instant::now();
    let second = api.invoke(event(scenario, template, *seq)?);
    let warm = api
        .result(&second, ANSWER_TIMEOUT)
        .await
        .ok_or("no answer to the warm invocation")?;
    if status_of(&warm.body) != Some(scenario.expected_status()) {
        return Err(format!("{}: unexpected warm answer {}", scenario.name(), warm.body).into());
    }
    let warm_ms = warm.answered_at.duration_since(sent).as_secs_f64() * 1e3;
    let peak_rss_after_warm_kib = function.peak_rss_kib().unwrap_or(peak_rss_kib);
    function.kill();
    api.shutdown();
    Ok(Sample {
        cold_ms: cold.as_secs_f64() * 1e3,
        peak_rss_kib,
        warm_ms,
        peak_rss_after_warm_kib,
    })
}

/// median, p90 (nearest rank), min, max.
fn summary(values: &[f64]) -> Value {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return Value::Null;
    }
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let p90 = v[((n as f64 * 0.9).ceil() as usize).clamp(1, n) - 1];
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    json!({"median": round(median), "p90": round(p90), "min": round(v[0]), "max": round(v[n - 1])})
}

fn machine() -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu,
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "loadavg_at_start": read("/proc/loadavg").trim(),
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    let binary = std::fs::canonicalize(&args.binary)?;
    let binary_bytes = std::fs::metadata(&binary)?.len();
    let template: Value = serde_json::from_str(HTTP_V2)?;
    let machine = machine();
    let moto = args.private_moto.then(PrivateMoto::start);
    // Checks the endpoint and the emulator once up front; every run then gets its own.
    let endpoint = fresh_target(moto.as_ref().map(PrivateMoto::endpoint))
        .await?
        .endpoint;
    let mut seq = 0;
    let mut results = serde_json::Map::new();

    println!(
        "{} ({:.1} MiB), {} runs per scenario",
        binary.display(),
        binary_bytes as f64 / 1_048_576.0,
        args.runs
    );
    println!("| scenario | cold start median (ms) | p90 (ms) | peak RSS median (MiB) | p90 (MiB) | warm invoke median (ms) |");
    println!("|---|---|---|---|---|---|");
    for &scenario in &args.scenarios {
        // Untimed warm-up: page cache, emulator connection pools.
        one_run(&binary, scenario, &template, &endpoint, &mut seq).await?;
        let mut samples = Vec::with_capacity(args.runs);
        for _ in 0..args.runs {
            samples.push(one_run(&binary, scenario, &template, &endpoint, &mut seq).await?);
        }
        let cold: Vec<f64> = samples.iter().map(|s| s.cold_ms).collect();
        let rss: Vec<f64> = samples
            .iter()
            .map(|s| s.peak_rss_kib as f64 / 1024.0)
            .collect();
        let warm: Vec<f64> = samples.iter().map(|s| s.warm_ms).collect();
        let rss_warm: Vec<f64> = samples
            .iter()
            .map(|s| s.peak_rss_after_warm_kib as f64 / 1024.0)
            .collect();
        let (cold_s, rss_s, warm_s) = (summary(&cold), summary(&rss), summary(&warm));
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            scenario.name(),
            cold_s["median"].as_f64().unwrap_or(f64::NAN),
            cold_s["p90"].as_f64().unwrap_or(f64::NAN),
            rss_s["median"].as_f64().unwrap_or(f64::NAN),
            rss_s["p90"].as_f64().unwrap_or(f64::NAN),
            warm_s["median"].as_f64().unwrap_or(f64::NAN),
        );
        results.insert(
            scenario.name().to_string(),
            json!({
                "cold_start_ms": cold_s,
                "peak_rss_mib": rss_s,
                "warm_invoke_ms": warm_s,
                "peak_rss_after_warm_mib": summary(&rss_warm),
                "samples": {
                    "cold_start_ms": cold,
                    "peak_rss_kib": samples.iter().map(|s| s.peak_rss_kib).collect::<Vec<_>>(),
                    "warm_invoke_ms": warm,
                },
            }),
        );
    }
    let report = json!({
        "binary": binary.display().to_string(),
        "binary_bytes": binary_bytes,
        "runs": args.runs,
        "measure": "process spawn -> first response received by the Runtime API; peak RSS = VmHWM after the first response",
        "machine": machine,
        "moto": if args.private_moto { "private (fresh for this run)" } else { "shared (AWS_ENDPOINT_URL)" },
        "loadavg_at_end": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "scenarios": results,
    });
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
