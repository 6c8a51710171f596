//! Helpers for the CLI tests: run `schemabot` in-process against a [`Stack`]'s table and queue,
//! and play the Lambda event source mapping while a command waits for the worker.
#![allow(dead_code)] // each test file uses a different subset

use schemabot_cli::{run_captured, Captured, Exit};
use schemabot_tests::harness::Stack;
use serde_json::Value;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub const ORDERS: (&str, &str) = (
    "orders",
    "ALTER TABLE `orders` ADD INDEX `idx_status` (`status`)",
);
pub const USERS: (&str, &str) = (
    "users",
    "ALTER TABLE `users` ADD COLUMN `nickname` VARCHAR(64)",
);

/// `schemabot <args…> --table <stack's table> --queue-url <stack's queue>`, in-process.
pub async fn cli(stack: &Stack, args: &[&str]) -> Captured {
    let mut argv: Vec<String> = vec!["schemabot".into()];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv.extend([
        "--table".to_string(),
        stack.store.table_name().to_string(),
        "--queue-url".to_string(),
        stack.queue_url.clone(),
    ]);
    Box::pin(run_captured(argv)).await
}

/// Runs `command` with `--json` and parses its one JSON document (panics with the output if it
/// does not parse: that is what the test checks).
pub async fn cli_json(stack: &Stack, args: &[&str]) -> (Exit, Value) {
    let mut with_json: Vec<&str> = args.to_vec();
    with_json.push("--json");
    let captured = cli(stack, &with_json).await;
    let document = parse_json(&captured);
    (captured.exit, document)
}

pub fn parse_json(captured: &Captured) -> Value {
    serde_json::from_str(&captured.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            captured.stdout, captured.stderr
        )
    })
}

/// Awaits `work` while delivering the FIFO queue to the worker in a loop, as Lambda would,
/// until `work` finishes (the CLI waits for the worker's outcome, so someone has to run it).
pub async fn with_worker<F: Future>(stack: &Stack, work: F) -> F::Output {
    let done = AtomicBool::new(false);
    // Boxed: the CLI, webhook and worker futures together are too big for a test thread's
    // stack in debug builds.
    let work = Box::pin(async {
        let output = work.await;
        done.store(true, Ordering::SeqCst);
        output
    });
    let drive = Box::pin(async {
        while !done.load(Ordering::SeqCst) {
            stack.deliver_all().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let (output, ()) = tokio::join!(work, drive);
    output
}

/// A PR comment asking for the cutover, as an operator writes it.
pub fn cutover_comment(apply_id: &str, env: &str) -> String {
    format!("Quiet hour, cutting over.\n\nschemabot cutover {apply_id} -e {env}")
}
