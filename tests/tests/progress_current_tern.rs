//! What a current Tern reports, through the worker's sweep: checksum progress while a table
//! verifies, and a `State` number newer than this build (kept, polled again, never terminal).

use schemabot_domain::State;
use schemabot_tern::proto;
use schemabot_tests::progress_support::*;
use schemabot_tests::tern_standin::{ForcedReport, RegisteredPhase};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checksum_progress_appears_in_the_progress_comment() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::Copying { rows_copied: 1000 },
    )
    .await;
    stack.tern.force_report(
        id.as_str(),
        ForcedReport::new(proto::State::Running, "checksum").with_checksum(450, 1000),
    );
    stack.worker.sweep().await;
    let body = progress_comment(&stack, &id).await;
    assert!(
        body.contains(&format!(
            "{}{} verifying checksum 45%",
            "🟨".repeat(9),
            "⬜".repeat(11)
        )),
        "{body}"
    );
    assert!(body.contains("Checksum: 450 / 1,000 rows"), "{body}");
    let task = &snapshot(&stack, &id).await.tasks[0];
    assert_eq!(task.checksum.map(|c| c.percent()), Some(45));

    // The checksum finishes; Spirit parks at the sentinel: the verification line goes.
    stack.tern.clear_forced_report(id.as_str());
    stack.tern.finish_copy(id.as_str()).expect("finish copy");
    stack.worker.sweep().await;
    let body = progress_comment(&stack, &id).await;
    assert!(body.contains("⏸️ Ready for cutover"), "{body}");
    assert!(!body.contains("verifying checksum"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_state_number_newer_than_this_build_is_kept_and_polled_again() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::Copying { rows_copied: 300 },
    )
    .await;
    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::Running);

    // e.g. CATCHING_UP on a newer server, with a table status this build has never seen.
    stack.tern.force_report(
        id.as_str(),
        ForcedReport::new(proto::State::Running, "catchingUp").with_state_number(19),
    );
    for _ in 0..3 {
        let report = stack.worker.sweep().await;
        assert_eq!((report.failed, report.ended), (0, 0), "{report:?}");
        assert_eq!(task_states(&stack, &id).await, vec![State::Running]);
    }
    let polls_before = stack.tern.progress_calls();
    stack.worker.sweep().await;
    assert_eq!(
        stack.tern.progress_calls(),
        polls_before + 1,
        "still polled"
    );

    // The server moves on to a state this build knows: followed as usual.
    stack.tern.clear_forced_report(id.as_str());
    stack.tern.finish_copy(id.as_str()).expect("finish copy");
    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::WaitingForCutover);
}
