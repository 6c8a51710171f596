//! The operator CLI in-process against the real stack (moto, MariaDB, the Tern and GitHub
//! stand-ins, the real worker): it reads what the functions wrote, and its cutover goes through
//! the same queue and worker as a PR comment.

mod cli_support;

use cli_support::{cli, cli_json, cutover_comment, with_worker, ORDERS, USERS};
use schemabot_cli::Exit;
use schemabot_domain::{ApplyId, State};
use schemabot_tests::harness::{Stack, PR, REPOSITORY};
use serde_json::Value;

fn fresh_tern_id() -> String {
    ApplyId::from_random(uuid::Uuid::new_v4().as_u64_pair().0).to_string()
}

async fn stack() -> Stack {
    let stack = Stack::start().await;
    stack.grant("alice-dba", "write");
    stack
}

fn applies_by_id(document: &Value) -> Vec<(String, Value)> {
    document["applies"]
        .as_array()
        .expect("applies is an array")
        .iter()
        .map(|a| {
            (
                a["apply_id"].as_str().unwrap_or_default().to_string(),
                a.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn list_shows_active_applies_with_tables_ready_and_filters_them() {
    let stack = stack().await;
    let waiting = stack.waiting_apply("staging", &[ORDERS, USERS]).await;
    let recovering = stack
        .record_apply(&fresh_tern_id(), "production", &[ORDERS], State::Recovering)
        .await;
    let completed = stack
        .record_apply(&fresh_tern_id(), "staging", &[ORDERS], State::Completed)
        .await;

    let (exit, document) = cli_json(&stack, &["list"]).await;
    assert_eq!(exit, Exit::Success);
    let applies = applies_by_id(&document);
    let ids: Vec<&str> = applies.iter().map(|(id, _)| id.as_str()).collect();
    assert!(ids.contains(&waiting.id.as_str()), "{document:#}");
    assert!(ids.contains(&recovering.id.as_str()), "{document:#}");
    assert!(
        !ids.contains(&completed.id.as_str()),
        "finished applies are not listed"
    );
    let (_, entry) = applies
        .iter()
        .find(|(id, _)| id == waiting.id.as_str())
        .expect("waiting apply listed");
    assert_eq!(entry["state"], "waiting_for_cutover");
    assert_eq!(entry["tables_ready"], 2);
    assert_eq!(entry["tables_total"], 2);
    assert_eq!(entry["repository"], REPOSITORY);
    assert_eq!(entry["pr"], PR);
    assert_eq!(entry["environment"], "staging");
    assert!(entry["elapsed_seconds"].as_i64().is_some_and(|s| s >= 0));
    assert_eq!(entry["terminal"], false);

    let (_, production) = cli_json(&stack, &["list", "--env", "production"]).await;
    let ids: Vec<String> = applies_by_id(&production)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, vec![recovering.id.to_string()]);
    let (_, other_repo) = cli_json(&stack, &["list", "--repo", "someone/else"]).await;
    assert_eq!(other_repo["applies"], serde_json::json!([]));

    let text = cli(&stack, &["list", "--color", "never"]).await;
    assert_eq!(text.exit, Exit::Success, "{}", text.stderr);
    let header = text.stdout.lines().next().unwrap_or_default();
    assert!(header.starts_with("APPLY ID"), "{}", text.stdout);
    let row = text
        .stdout
        .lines()
        .find(|l| l.starts_with(waiting.id.as_str()))
        .expect("a row for the waiting apply");
    assert!(
        row.contains("waiting_for_cutover") && row.contains("2/2") && row.contains("#42"),
        "{row}"
    );
    let colored = cli(&stack, &["list", "--color", "always"]).await;
    assert!(
        colored.stdout.contains("\x1b[33mrecovering\x1b[39m"),
        "{:?}",
        colored.stdout
    );
}

#[tokio::test]
async fn progress_is_the_pr_comment_themed_for_a_terminal() {
    let stack = stack().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;

    let plain = cli(&stack, &["progress", apply.id.as_str(), "--color", "never"]).await;
    assert_eq!(plain.exit, Exit::Success, "{}", plain.stderr);
    let out = &plain.stdout;
    assert!(
        out.starts_with("Schema Change — Waiting for Cutover\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "- orders: {} ⏸️ Ready for cutover",
            "█".repeat(20)
        )),
        "{out}"
    );
    assert!(out.contains("1/1 table(s) ready for cutover"), "{out}");
    assert!(
        out.contains(&format!("  schemabot cutover {} -e staging", apply.id)),
        "{out}"
    );
    assert!(!out.contains('\x1b') && !out.contains("<!--") && !out.contains("**"));

    let colored = cli(
        &stack,
        &["progress", apply.id.as_str(), "--color", "always"],
    )
    .await;
    assert!(
        colored
            .stdout
            .contains(&format!("\x1b[33m{}\x1b[39m", "█".repeat(20))),
        "{:?}",
        colored.stdout
    );

    let (exit, document) = cli_json(&stack, &["progress", apply.id.as_str()]).await;
    assert_eq!(exit, Exit::Success);
    assert_eq!(document["apply_id"], apply.id.as_str());
    assert_eq!(document["state"], "waiting_for_cutover");
    assert_eq!(document["tables_ready"], 1);
    assert_eq!(document["tasks"][0]["table"], "orders");
    assert_eq!(document["tasks"][0]["state"], "waiting_for_cutover");
    assert_eq!(document["tasks"][0]["ready_to_complete"], true);

    // After the worker ran a PR-comment cutover, progress shows what it wrote.
    stack
        .comment("alice-dba", &cutover_comment(apply.id.as_str(), "staging"))
        .await;
    stack.deliver_all().await;
    let (_, document) = cli_json(&stack, &["progress", apply.id.as_str()]).await;
    assert_eq!(document["state"], "cutting_over");
    assert_eq!(document["cutover_triggered_by"], "alice-dba");
}

#[tokio::test]
async fn progress_watch_stops_at_a_terminal_state_with_its_exit_code() {
    let stack = stack().await;
    let completed = stack
        .record_apply(&fresh_tern_id(), "staging", &[ORDERS], State::Completed)
        .await;
    let failed = stack
        .record_apply(&fresh_tern_id(), "staging", &[ORDERS], State::Failed)
        .await;

    let done = cli(
        &stack,
        &[
            "progress",
            completed.id.as_str(),
            "--watch",
            "--interval",
            "100ms",
        ],
    )
    .await;
    assert_eq!(done.exit, Exit::Success, "{}", done.stderr);
    assert!(
        done.stdout.starts_with("Schema Change Completed"),
        "{}",
        done.stdout
    );

    let (exit, document) = cli_json(
        &stack,
        &[
            "progress",
            failed.id.as_str(),
            "--watch",
            "--interval",
            "100ms",
        ],
    )
    .await;
    assert_eq!(exit, Exit::Failed);
    assert_eq!(document["state"], "failed");
    assert_eq!(document["terminal"], true);
}

#[tokio::test]
async fn history_lists_the_audit_trail_the_worker_wrote() {
    let stack = stack().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    stack
        .comment("alice-dba", &cutover_comment(apply.id.as_str(), "staging"))
        .await;
    stack.deliver_all().await;

    let (exit, document) = cli_json(&stack, &["history", apply.id.as_str()]).await;
    assert_eq!(exit, Exit::Success);
    assert_eq!(document["apply_id"], apply.id.as_str());
    let events = document["events"].as_array().expect("events array");
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        names,
        ["apply_registered", "cutover_claimed", "cutover_triggered"],
        "{document:#}"
    );
    let triggered = &events[2];
    assert_eq!(triggered["actor"], "alice-dba");
    assert_eq!(triggered["outcome"], "accepted");
    assert_eq!(triggered["to_state"], "cutting_over");
    assert!(triggered["delivery_id"].is_string());
    assert!(triggered["at"].is_string());

    let text = cli(&stack, &["history", apply.id.as_str()]).await;
    assert_eq!(text.exit, Exit::Success);
    assert!(text.stdout.starts_with("TIME"), "{}", text.stdout);
    assert!(
        text.stdout
            .lines()
            .any(|l| l.contains("cutover_triggered") && l.contains("alice-dba")),
        "{}",
        text.stdout
    );
}

#[tokio::test]
async fn cli_cutover_triggers_once_announces_on_the_pr_and_is_idempotent() {
    let stack = stack().await;
    let apply = stack.waiting_apply("production", &[ORDERS]).await;

    let captured = with_worker(
        &stack,
        cli(
            &stack,
            &["cutover", apply.id.as_str(), "-e", "production", "--json"],
        ),
    )
    .await;
    assert_eq!(captured.exit, Exit::Success, "{}", captured.stderr);
    let report = cli_support::parse_json(&captured);
    assert_eq!(report["outcome"], "triggered");
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["claimed"], true);
    assert_eq!(report["state"], "cutting_over");
    let caller_arn = report["caller_arn"]
        .as_str()
        .expect("caller ARN")
        .to_string();
    assert!(caller_arn.starts_with("arn:aws:"), "{caller_arn}");
    // Attributed to the sender SQS vouches for, not to what the message says.
    let actor = format!("cli:{}", schemabot_tests::services::EMULATOR_SENDER_ID);
    assert_eq!(report["actor"], actor.as_str());
    assert_eq!(report["triggered_by"], actor.as_str());
    assert!(report["job_id"]
        .as_str()
        .is_some_and(|id| id.starts_with("cutover:cli:")));

    assert_eq!(stack.tern.cutover_calls(), 1);
    assert!(!stack.sentinel_present().await, "Tern dropped the sentinel");
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.state, State::CuttingOver);
    assert_eq!(stored.cutover_triggered_by.as_deref(), Some(actor.as_str()));
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0].starts_with("## Cutover Triggered"),
        "{}",
        comments[0]
    );
    assert!(
        comments[0].contains(schemabot_tests::services::EMULATOR_SENDER_ID)
            && comments[0].contains("(SchemaBot CLI)"),
        "{}",
        comments[0]
    );

    let (_, history) = cli_json(&stack, &["history", apply.id.as_str()]).await;
    let cli_events: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == actor.as_str())
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(cli_events, ["cutover_claimed", "cutover_triggered"]);

    // Again: refused as already triggered, naming who did it; no second Tern call.
    let again = with_worker(
        &stack,
        cli(&stack, &["cutover", apply.id.as_str(), "-e", "production"]),
    )
    .await;
    assert_eq!(again.exit, Exit::Refused, "{}", again.stderr);
    assert!(
        again.stdout.contains("already triggered by") && again.stdout.contains(&actor),
        "{}",
        again.stdout
    );
    assert_eq!(stack.tern.cutover_calls(), 1);
}

#[tokio::test]
async fn refusals_exit_2_with_the_reason() {
    let stack = stack().await;
    let recovering = stack
        .record_apply(&fresh_tern_id(), "staging", &[ORDERS], State::Recovering)
        .await;
    let running = stack
        .record_apply(&fresh_tern_id(), "staging", &[ORDERS], State::Running)
        .await;
    let waiting = stack.waiting_apply("staging", &[ORDERS]).await;

    for (apply_id, env, reason) in [
        (recovering.id.as_str(), "staging", "recovering"),
        (running.id.as_str(), "staging", "not_available"),
        (waiting.id.as_str(), "production", "environment_mismatch"),
    ] {
        let captured = with_worker(
            &stack,
            cli(&stack, &["cutover", apply_id, "-e", env, "--json"]),
        )
        .await;
        let report = cli_support::parse_json(&captured);
        assert_eq!(captured.exit, Exit::Refused, "{report:#}");
        assert_eq!(report["outcome"], "refused");
        assert_eq!(report["reason"], reason);
        assert_eq!(report["exit_code"], 2);
    }
    let text = with_worker(
        &stack,
        cli(
            &stack,
            &["cutover", recovering.id.as_str(), "-e", "staging"],
        ),
    )
    .await;
    assert!(
        text.stdout.contains("is recovering") && text.stdout.contains("⏸️ Ready for cutover"),
        "{}",
        text.stdout
    );
    assert_eq!(stack.tern.cutover_calls(), 0);
}

#[tokio::test]
async fn unknown_applies_exit_4_and_nothing_is_enqueued() {
    let stack = stack().await;
    let unknown = fresh_tern_id();
    for command in [
        vec!["cutover", unknown.as_str(), "-e", "staging"],
        vec!["progress", unknown.as_str()],
        vec!["history", unknown.as_str()],
    ] {
        let (exit, document) = cli_json(&stack, &command).await;
        assert_eq!(exit, Exit::NotFound, "{command:?}: {document:#}");
        assert_eq!(document["error"]["kind"], "apply_not_found");
        assert_eq!(document["exit_code"], 4);
        let text = cli(&stack, &command).await;
        assert_eq!(text.exit, Exit::NotFound);
        assert!(
            text.stderr.contains(&format!("apply {unknown} not found")),
            "{}",
            text.stderr
        );
    }
    assert_eq!(stack.deliver_all().await, 0, "no job was enqueued");
}

#[tokio::test]
async fn no_outcome_within_the_timeout_exits_3_and_the_request_stays_queued() {
    let stack = stack().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;

    // Nobody runs the worker.
    let (exit, report) = cli_json(
        &stack,
        &[
            "cutover",
            apply.id.as_str(),
            "-e",
            "staging",
            "--timeout",
            "1s",
        ],
    )
    .await;
    assert_eq!(exit, Exit::Failed, "{report:#}");
    assert_eq!(report["outcome"], "timed_out");
    assert_eq!(report["claimed"], false);
    assert_eq!(report["exit_code"], 3);

    // The worker catches up later and the cutover happens, once.
    stack.deliver_all().await;
    assert_eq!(stack.tern.cutover_calls(), 1);
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.state, State::CuttingOver);
}

#[tokio::test]
async fn configuration_errors_exit_5_and_usage_errors_64() {
    let stack = stack().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;

    let no_queue = schemabot_cli::run_captured([
        "schemabot",
        "cutover",
        apply.id.as_str(),
        "-e",
        "staging",
        "--table",
        stack.store.table_name(),
        "--queue-url",
        "",
        "--json",
    ])
    .await;
    assert_eq!(no_queue.exit, Exit::Environment, "{}", no_queue.stderr);
    let document = cli_support::parse_json(&no_queue);
    assert_eq!(document["error"]["kind"], "configuration");
    assert!(no_queue.stderr.contains("SCHEMABOT_QUEUE_URL"));

    let missing_table =
        schemabot_cli::run_captured(["schemabot", "list", "--table", "no-such-table", "--json"])
            .await;
    assert_eq!(
        missing_table.exit,
        Exit::Environment,
        "{}",
        missing_table.stderr
    );
    let document = cli_support::parse_json(&missing_table);
    assert_eq!(document["error"]["kind"], "configuration");
    assert!(document["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("`no-such-table` does not exist")));

    let usage = cli(&stack, &["cutover", apply.id.as_str()]).await;
    assert_eq!(usage.exit, Exit::Usage);
    assert!(usage.stderr.contains("--env"), "{}", usage.stderr);
    let bad_id = cli(&stack, &["progress", "apply-xyz"]).await;
    assert_eq!(bad_id.exit, Exit::Usage);
}

#[tokio::test]
async fn tern_refusing_exits_2_and_tern_unreachable_exits_3() {
    let stack = stack().await;

    // Spirit lost its memory before the sweep noticed: Tern answers, but does not accept.
    let refused = stack.waiting_apply("staging", &[ORDERS]).await;
    stack.tern.restart();
    let captured = with_worker(
        &stack,
        cli(
            &stack,
            &["cutover", refused.id.as_str(), "-e", "staging", "--json"],
        ),
    )
    .await;
    let report = cli_support::parse_json(&captured);
    assert_eq!(captured.exit, Exit::Refused, "{report:#}");
    assert_eq!(report["outcome"], "not_accepted");
    assert!(
        report["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{report:#}"
    );
    assert_eq!(report["claimed"], true);

    // Tern unreachable on every attempt: the worker gives up on the last one.
    let unreachable = stack.waiting_apply("staging", &[ORDERS]).await;
    stack.tern.fail_next(1_000);
    let captured = with_worker(
        &stack,
        cli(
            &stack,
            &["cutover", unreachable.id.as_str(), "-e", "staging"],
        ),
    )
    .await;
    assert_eq!(
        captured.exit,
        Exit::Failed,
        "{}\n{}",
        captured.stdout,
        captured.stderr
    );
    assert!(
        captured.stdout.starts_with("Cutover failed for"),
        "{}",
        captured.stdout
    );
    stack.tern.fail_next(0);
    let stored = stack
        .store
        .get_apply(&unreachable.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, State::WaitingForCutover);
    assert!(stored.claim.is_none(), "the claim was released for a retry");
}
