//! The CLI twins of the lifecycle controls (`stop`, `start`, `cancel`, `revert`, `skip-revert`)
//! in-process against the real stack: each sends the same control job as its PR comment through
//! the queue and the real worker, and reads the worker's answer — its `<op>_requested` audit
//! event — back from the store.

mod cli_support;

use cli_support::{cli, cli_json, parse_json, with_worker, ORDERS};
use schemabot_cli::Exit;
use schemabot_domain::{ApplyId, State};
use schemabot_tests::harness::{Stack, PR, REPOSITORY};
use schemabot_tests::services::EMULATOR_SENDER_ID;
use schemabot_tests::tern_standin::{ApplyRegistration, RegisteredPhase, StandinPhase};

fn fresh_tern_id() -> String {
    ApplyId::from_random(uuid::Uuid::new_v4().as_u64_pair().0).to_string()
}

#[tokio::test]
async fn stop_is_accepted_and_attributed_to_the_sender() {
    let stack = Stack::start().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    let id = apply.id.as_str();

    let captured = with_worker(
        &stack,
        cli(&stack, &["stop", id, "-e", "staging", "--json"]),
    )
    .await;
    assert_eq!(captured.exit, Exit::Success, "{}", captured.stderr);
    let report = parse_json(&captured);
    assert_eq!(report["outcome"], "accepted", "{report:#}");
    assert_eq!(report["op"], "stop");
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["apply_id"], id);
    assert_eq!(report["from_state"], "waiting_for_cutover");
    assert_eq!(report["repository"], REPOSITORY);
    assert_eq!(report["pr"], PR);
    assert!(report["job_id"]
        .as_str()
        .is_some_and(|j| j.starts_with("stop:cli:")));
    // Attributed to the sender SQS vouches for, not to what the message says.
    let actor = format!("cli:{EMULATOR_SENDER_ID}");
    assert_eq!(report["actor"], actor.as_str());

    assert_eq!(stack.tern.counts().stop, 1, "the stand-in saw one Stop");
    assert_eq!(stack.tern.phase(id), Some(StandinPhase::Stopped));
    let comments = stack.pr_comments();
    assert!(
        comments
            .iter()
            .any(|c| c.starts_with("## Stop Request Accepted") && c.contains(EMULATOR_SENDER_ID)),
        "{comments:#?}"
    );
    let (_, history) = cli_json(&stack, &["history", id]).await;
    let answers: Vec<(&str, &str)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == actor.as_str())
        .filter_map(|e| Some((e["event"].as_str()?, e["outcome"].as_str()?)))
        .collect();
    assert_eq!(answers, [("stop_requested", "accepted")]);

    // The text answer says what happened and what comes next.
    let other = stack.waiting_apply("staging", &[ORDERS]).await;
    let text = with_worker(
        &stack,
        cli(&stack, &["stop", other.id.as_str(), "-e", "staging"]),
    )
    .await;
    assert_eq!(text.exit, Exit::Success, "{}", text.stderr);
    assert_eq!(
        text.stdout,
        format!(
            "Stop of {id} accepted by Tern (database {db}, environment staging).\n\
             Resume it with: schemabot start {id} -e staging\n",
            id = other.id,
            db = other.database
        )
    );
    assert!(text.stderr.contains("waiting up to 1m"), "{}", text.stderr);
    assert_eq!(stack.tern.counts().stop, 2);
}

#[tokio::test]
async fn refusals_exit_2_without_asking_tern() {
    let stack = Stack::start().await;
    let waiting = stack.waiting_apply("staging", &[ORDERS]).await;
    let running = stack
        .record_apply(&fresh_tern_id(), "staging", &[ORDERS], State::Running)
        .await;

    // Only a stopped apply can be started.
    let (exit, report) = with_worker(
        &stack,
        cli_json(&stack, &["start", waiting.id.as_str(), "-e", "staging"]),
    )
    .await;
    assert_eq!(exit, Exit::Refused, "{report:#}");
    assert_eq!(report["outcome"], "not_stopped");
    assert_eq!(report["exit_code"], 2);
    let text = with_worker(
        &stack,
        cli(&stack, &["start", waiting.id.as_str(), "-e", "staging"]),
    )
    .await;
    assert_eq!(text.exit, Exit::Refused);
    assert_eq!(
        text.stdout,
        format!(
            "Start refused: {id} is waiting_for_cutover, not stopped; only a stopped apply can be \
             started.\nTo finish it instead: schemabot cutover {id} -e staging\n",
            id = waiting.id
        )
    );

    // A running apply is where `start` leads: nothing to do, and not a failure.
    let (exit, report) = with_worker(
        &stack,
        cli_json(&stack, &["start", running.id.as_str(), "-e", "staging"]),
    )
    .await;
    assert_eq!(exit, Exit::Success, "{report:#}");
    assert_eq!(report["outcome"], "already_done");

    // Revert outside a revert window, and a control naming the wrong environment.
    for (args, outcome) in [
        (
            ["revert", running.id.as_str(), "-e", "staging"],
            "no_revert_window",
        ),
        (
            ["stop", waiting.id.as_str(), "-e", "production"],
            "environment_mismatch",
        ),
    ] {
        let (exit, report) = with_worker(&stack, cli_json(&stack, &args)).await;
        assert_eq!(exit, Exit::Refused, "{args:?}: {report:#}");
        assert_eq!(report["outcome"], outcome, "{args:?}");
    }
    let counts = stack.tern.counts();
    assert_eq!(
        (counts.stop, counts.start, counts.revert, counts.cancel),
        (0, 0, 0, 0),
        "Tern was never asked"
    );
}

#[tokio::test]
async fn tern_not_accepting_a_control_exits_2() {
    let stack = Stack::start().await;
    // SchemaBot believes the change stopped; Tern still runs it, and refuses to start it.
    let tern_id = stack
        .tern
        .register_apply(ApplyRegistration::deferred(
            &stack.schema,
            &[ORDERS],
            RegisteredPhase::WaitingForCutover,
        ))
        .await
        .expect("register with Tern");
    let apply = stack
        .record_apply(&tern_id, "staging", &[ORDERS], State::Stopped)
        .await;

    let (exit, report) = with_worker(
        &stack,
        cli_json(&stack, &["start", apply.id.as_str(), "-e", "staging"]),
    )
    .await;
    assert_eq!(exit, Exit::Refused, "{report:#}");
    assert_eq!(report["outcome"], "not_accepted");
    assert_eq!(report["from_state"], "stopped");
    assert_eq!(stack.tern.counts().start, 1, "one Start reached Tern");
}

#[tokio::test]
async fn unknown_applies_exit_4_and_nothing_is_enqueued() {
    let stack = Stack::start().await;
    let unknown = fresh_tern_id();
    for op in ["stop", "start", "cancel", "revert", "skip-revert"] {
        let (exit, document) = cli_json(&stack, &[op, unknown.as_str(), "-e", "staging"]).await;
        assert_eq!(exit, Exit::NotFound, "{op}: {document:#}");
        assert_eq!(document["error"]["kind"], "apply_not_found");
        assert_eq!(document["exit_code"], 4);
    }
    assert_eq!(stack.deliver_all().await, 0, "no job was enqueued");
}

#[tokio::test]
async fn no_answer_within_the_timeout_exits_3_and_the_request_stays_queued() {
    let stack = Stack::start().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;

    // Nobody runs the worker.
    let (exit, report) = cli_json(
        &stack,
        &[
            "cancel",
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
    assert_eq!(report["exit_code"], 3);

    // The worker catches up later and the cancel happens, once.
    stack.deliver_all().await;
    assert_eq!(stack.tern.counts().cancel, 1);
    assert_eq!(
        stack.tern.phase(apply.id.as_str()),
        Some(StandinPhase::Cancelled)
    );
}
