//! A CLI cutover and a PR-comment cutover racing on one apply: whichever the worker sees
//! first claims the cutover, the other is told it was already triggered — exactly one Tern
//! Cutover call and one Cutover Triggered comment, whoever wins.

mod cli_support;

use cli_support::{cli, cutover_comment, parse_json, with_worker, ORDERS};
use schemabot_cli::Exit;
use schemabot_domain::State;
use schemabot_tests::harness::Stack;
use std::time::Duration;

/// One race: the comment is posted `comment_delay` after the CLI starts (varying it lets either
/// side reach the queue first).
async fn race(comment_delay: Duration) -> Option<String> {
    let stack = Stack::start().await;
    stack.grant("alice-dba", "write");
    let apply = stack.waiting_apply("production", &[ORDERS]).await;
    let id = apply.id.to_string();

    let args = ["cutover", id.as_str(), "-e", "production", "--json"];
    let command = Box::pin(cli(&stack, &args));
    let comment = Box::pin(async {
        tokio::time::sleep(comment_delay).await;
        stack
            .comment("alice-dba", &cutover_comment(&id, "production"))
            .await
    });
    let (captured, (status, _)) =
        with_worker(&stack, async { tokio::join!(command, comment) }).await;
    assert_eq!(status, 202, "the webhook accepted the comment");
    // Whatever is still queued (the loser's job, if the CLI finished first) runs too.
    stack.deliver_all().await;

    assert_eq!(
        stack.tern.cutover_calls(),
        1,
        "exactly one Tern Cutover (delay {comment_delay:?})"
    );
    let comments = stack.pr_comments();
    let triggered: Vec<&String> = comments
        .iter()
        .filter(|c| c.starts_with("## Cutover Triggered"))
        .collect();
    assert_eq!(triggered.len(), 1, "{comments:#?}");

    let report = parse_json(&captured);
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.state, State::CuttingOver);
    let winner = stored.cutover_triggered_by.clone();
    match captured.exit {
        Exit::Success => {
            assert_eq!(report["outcome"], "triggered");
            assert_eq!(winner.as_deref(), report["actor"].as_str());
            assert!(triggered[0].contains("(SchemaBot CLI)"), "{}", triggered[0]);
            // The commenter was told it had already been triggered.
            assert!(
                comments
                    .iter()
                    .any(|c| c.starts_with("## Cutover Already Triggered")),
                "{comments:#?}"
            );
        }
        Exit::Refused => {
            assert_eq!(report["outcome"], "refused", "{report:#}");
            assert_eq!(report["reason"], "already_triggered");
            assert_eq!(winner.as_deref(), Some("alice-dba"));
            assert_eq!(report["triggered_by"], "alice-dba");
        }
        other => panic!("unexpected exit {other:?}: {report:#}"),
    }
    winner
}

#[tokio::test]
async fn cli_and_pr_comment_racing_trigger_exactly_one_cutover() {
    let mut winners = Vec::new();
    for delay_ms in [0, 150, 400] {
        winners.push(race(Duration::from_millis(delay_ms)).await);
    }
    println!("winners by comment delay (0, 150, 400 ms): {winners:?}");
}
