//! The cutover command end to end: a signed webhook → SQS FIFO → the worker → Tern (gRPC
//! stand-in over a real MariaDB sentinel) → GitHub (REST stand-in), with DynamoDB on moto.

use futures::future::join_all;
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{AuditEvent, CutoverClaim};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::{CommandSource, CommentOrigin, CutoverJob, Job, JobEnvelope};
use schemabot_domain::{
    ApplyId, CommentId, DeliveryId, Environment, InstallationId, Login, PrNumber, State,
};
use schemabot_tests::github_standin::CallKind;
use schemabot_tests::harness::{Stack, StackOptions, INSTALLATION, PR};
use worker::outcome::Attempt;

const ORDERS: (&str, &str) = (
    "orders",
    "ALTER TABLE `orders` ADD INDEX `idx_status` (`status`)",
);

const DYNAMODB_OPERATIONS: [&str; 8] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "TransactWriteItems",
    "BatchWriteItem",
];

fn dynamodb_requests(stack: &Stack) -> u64 {
    DYNAMODB_OPERATIONS
        .iter()
        .map(|op| stack.worker_requests.get(op))
        .sum()
}

fn cutover_command(id: &ApplyId, env: &str) -> String {
    format!("Traffic is low, going ahead.\n\nschemabot cutover {id} -e {env}")
}

/// Replaces the run-specific parts of a comment (ids, schema names, times, markers) so
/// snapshots are stable.
fn normalise(stack: &Stack, apply: Option<&ApplyId>, body: &str) -> String {
    let mut text = body.replace(&stack.schema, "<schema>");
    if let Some(id) = apply {
        text = text.replace(id.as_str(), "<apply-id>");
    }
    let mut out = String::new();
    for line in text.lines() {
        let line = if line.starts_with("<!-- schemabot:") {
            "<!-- schemabot:<marker> -->".to_string()
        } else {
            mask_times(line)
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `2026-11-24 06:40:02 UTC` → `<time>`.
fn mask_times(line: &str) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < line.len() {
        let candidate = line.get(i..i + 23);
        let is_time = candidate.is_some_and(|c| {
            let b = c.as_bytes();
            b[4] == b'-'
                && b[7] == b'-'
                && b[10] == b' '
                && b[13] == b':'
                && c.ends_with(" UTC")
                && b[..4].iter().all(u8::is_ascii_digit)
        });
        if is_time {
            out.push_str("<time>");
            i += 23;
        } else {
            let ch = line[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

async fn stack() -> Stack {
    let stack = Stack::start().await;
    stack.grant("alice-dba", "write");
    stack
}

#[tokio::test]
async fn happy_path_from_signed_webhook_to_cutover_triggered_and_sentinel_gone() {
    let stack = stack().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    assert!(
        stack.sentinel_present().await,
        "the stand-in holds the sentinel while waiting"
    );

    let (status, body) = stack
        .comment("alice-dba", &cutover_command(&apply.id, "staging"))
        .await;
    assert_eq!(status, 202, "{body}");
    let dynamo_before = dynamodb_requests(&stack);
    let github_before = stack.github.total_calls();
    stack.deliver_all().await;
    let dynamo_used = dynamodb_requests(&stack) - dynamo_before;
    let github_used = stack.github.total_calls() - github_before;

    assert_eq!(stack.tern.cutover_calls(), 1);
    assert!(
        !stack.sentinel_present().await,
        "Tern's Cutover drops the sentinel"
    );
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.state, State::CuttingOver);
    assert_eq!(stored.cutover_triggered_by.as_deref(), Some("alice-dba"));
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0].starts_with("## Cutover Triggered"),
        "{}",
        comments[0]
    );
    let snapshot = stack.store.load_snapshot(&apply.id).await.unwrap().unwrap();
    assert!(snapshot
        .comments
        .iter()
        .any(|c| c.kind == schemabot_domain::apply::CommentKind::Cutover));
    // The command comment got its 👀.
    assert_eq!(stack.github.count(CallKind::AddReaction), 1);
    // Audit trail: claim and trigger, with who and which delivery.
    let events = stack.store.list_events(&apply.id).await.unwrap();
    let names: Vec<&EventKind> = events.iter().map(|e| &e.event).collect();
    assert!(
        names.contains(&&EventKind::CutoverClaimed)
            && names.contains(&&EventKind::CutoverTriggered),
        "{names:?}"
    );
    assert!(events
        .iter()
        .filter(|e| e.event != EventKind::ApplyRegistered)
        .all(|e| e.actor == "alice-dba" && e.delivery_id.is_some()));

    // Budget: ≤ 4 DynamoDB and ≤ 4 GitHub requests per cutover, token included.
    println!("request budget: dynamodb={dynamo_used} github={github_used}");
    assert!(dynamo_used <= 4, "DynamoDB requests: {dynamo_used}");
    assert!(github_used <= 4, "GitHub requests: {github_used}");
    insta::assert_snapshot!(
        "cutover_triggered",
        normalise(&stack, Some(&apply.id), &comments[0])
    );
}

#[tokio::test]
async fn the_token_is_cached_so_a_second_cutover_costs_three_github_requests() {
    let stack = stack().await;
    let first = stack.waiting_apply("staging", &[ORDERS]).await;
    stack
        .comment("alice-dba", &cutover_command(&first.id, "staging"))
        .await;
    stack.deliver_all().await;
    let second = stack
        .waiting_apply(
            "production",
            &[("payments", "ALTER TABLE `payments` ADD COLUMN `note` text")],
        )
        .await;
    let before = stack.github.total_calls();
    stack
        .comment("alice-dba", &cutover_command(&second.id, "production"))
        .await;
    stack.deliver_all().await;
    assert_eq!(
        stack.github.total_calls() - before,
        3,
        "reaction + permission + comment, no token"
    );
    assert_eq!(stack.tern.cutovers_accepted(), 2);
}

#[tokio::test]
async fn the_same_delivery_three_times_cuts_over_once() {
    let stack = stack().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    let command = cutover_command(&apply.id, "staging");
    for _ in 0..3 {
        stack
            .deliver_comment("alice-dba", &command, 777, "same-delivery-guid")
            .await;
    }
    stack.deliver_all().await;
    assert_eq!(stack.tern.cutover_calls(), 1);
    assert_eq!(stack.pr_comments().len(), 1);
}

#[tokio::test]
async fn a_duplicated_sqs_message_cuts_over_once_and_stays_quiet() {
    let stack = stack().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    let job = Job::Cutover(CutoverJob {
        source: CommandSource::PrComment(origin("alice-dba", 4242)),
        apply_id: apply.id.clone(),
        environment: Environment::parse("staging").unwrap(),
    });
    // Two copies of the same job with different deduplication ids: SQS delivers both.
    for copy in 0..2 {
        stack
            .sqs
            .send_message()
            .queue_url(&stack.queue_url)
            .message_group_id(job.message_group())
            .message_deduplication_id(format!("copy-{copy}"))
            .message_body(serde_json::to_string(&JobEnvelope::new(job.clone())).unwrap())
            .send()
            .await
            .unwrap();
    }
    stack.deliver_all().await;
    assert_eq!(stack.tern.cutover_calls(), 1);
    let comments = stack.pr_comments();
    assert_eq!(
        comments.len(),
        1,
        "the duplicate must not reply: {comments:#?}"
    );
}

fn origin(login: &str, comment: u64) -> CommentOrigin {
    CommentOrigin {
        delivery_id: DeliveryId::parse(&format!("delivery-{comment}")).unwrap(),
        installation_id: InstallationId(INSTALLATION),
        repository: Stack::repository(),
        pr: PrNumber(PR),
        comment_id: CommentId(comment),
        commenter: Login(login.to_string()),
    }
}

#[tokio::test]
async fn twenty_concurrent_cutover_commands_by_different_users_trigger_once() {
    let stack = Stack::start().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    let jobs: Vec<Job> = (0..20)
        .map(|i| {
            let login = format!("dba-{i}");
            stack.grant(&login, "write");
            Job::Cutover(CutoverJob {
                source: CommandSource::PrComment(origin(&login, 5000 + i)),
                apply_id: apply.id.clone(),
                environment: Environment::parse("staging").unwrap(),
            })
        })
        .collect();
    let results = join_all(
        jobs.iter()
            .map(|job| stack.worker.run_job(job, Attempt::first())),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(stack.tern.cutover_calls(), 1, "exactly one Tern Cutover");
    let comments = stack.pr_comments();
    let triggered = comments
        .iter()
        .filter(|c| c.starts_with("## Cutover Triggered"))
        .count();
    assert_eq!(triggered, 1);
    // Everyone else is told, truthfully, that it is already under way and by whom.
    assert_eq!(comments.len(), 20, "{comments:#?}");
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    let winner = stored.cutover_triggered_by.clone().unwrap();
    for other in comments
        .iter()
        .filter(|c| !c.starts_with("## Cutover Triggered"))
    {
        assert!(other.contains("already"), "{other}");
        assert!(
            other.contains(&winner),
            "names the winner {winner}: {other}"
        );
    }
}

#[tokio::test]
async fn a_worker_that_dies_after_the_tern_call_is_rerun_without_a_second_cutover() {
    let stack = stack().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    let job = Job::Cutover(CutoverJob {
        source: CommandSource::PrComment(origin("alice-dba", 9001)),
        apply_id: apply.id.clone(),
        environment: Environment::parse("staging").unwrap(),
    });
    // The first run: it claimed and called Tern, then died before writing the new state.
    let claim = CutoverClaim {
        command_id: job.id(),
        actor: "alice-dba".into(),
        claimed_at: chrono::Utc::now(),
        tern_called_at: None,
        tern_call_open: false,
    };
    let event = AuditEvent {
        apply_id: apply.id.clone(),
        at: chrono::Utc::now(),
        event: EventKind::CutoverClaimed,
        actor: "alice-dba".into(),
        delivery_id: None,
        from_state: Some(State::WaitingForCutover),
        to_state: None,
        outcome: Outcome::Claimed,
        message: None,
    };
    assert!(matches!(
        stack
            .store
            .claim_cutover(&apply, &claim, &event)
            .await
            .unwrap(),
        WriteOutcome::Written(_)
    ));
    let target = schemabot_tern::TernTarget {
        deployment: apply.deployment.clone(),
        environment: "staging".into(),
        tern_apply_id: apply.tern_apply_id.clone(),
    };
    stack.worker.tern.cutover(&target).await.unwrap();
    assert_eq!(stack.tern.cutover_calls(), 1);

    // SQS redelivers the command (second receive).
    let rerun = stack
        .worker
        .run_job(
            &job,
            Attempt {
                receive_count: 2,
                max_receive_count: 3,
            },
        )
        .await;
    assert!(rerun.is_ok(), "{rerun:?}");
    assert_eq!(
        stack.tern.cutover_calls(),
        1,
        "the sentinel showed the cutover happened"
    );
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 1);
    assert!(comments[0].starts_with("## Cutover Triggered"));
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.state, State::CuttingOver);

    // And a third delivery of the same message changes nothing.
    stack
        .worker
        .run_job(
            &job,
            Attempt {
                receive_count: 3,
                max_receive_count: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (stack.tern.cutover_calls(), stack.pr_comments().len()),
        (1, 1)
    );
}

#[tokio::test]
async fn tern_down_is_retried_then_cutover_failed_with_the_apply_left_consistent() {
    let stack = Stack::start_with(StackOptions {
        max_receive_count: 3,
        ..StackOptions::default()
    })
    .await;
    stack.grant("alice-dba", "write");
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    stack.tern.fail_next(100);
    stack
        .comment("alice-dba", &cutover_command(&apply.id, "staging"))
        .await;
    stack.deliver_all().await;
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0].starts_with("## Cutover Failed"),
        "{}",
        comments[0]
    );
    insta::assert_snapshot!(
        "cutover_failed",
        normalise(&stack, Some(&apply.id), &comments[0])
    );
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.state, State::WaitingForCutover, "nothing happened");
    assert!(
        stored.claim.is_none(),
        "the claim is released so the cutover can be retried"
    );
    assert!(stack.sentinel_present().await);

    // Once Tern is back, a new command works.
    stack.tern.clear_faults();
    stack
        .comment("alice-dba", &cutover_command(&apply.id, "staging"))
        .await;
    stack.deliver_all().await;
    assert_eq!(stack.tern.cutovers_accepted(), 1);
}

#[tokio::test]
async fn github_5xx_and_secondary_rate_limits_are_retried_into_one_comment() {
    let stack = stack().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    stack
        .comment("alice-dba", &cutover_command(&apply.id, "staging"))
        .await;
    stack.github.fail_next(2, 502);
    stack.github.rate_limit_next(1, 1);
    stack.deliver_all().await;
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(comments[0].starts_with("## Cutover Triggered"));
    assert_eq!(stack.tern.cutover_calls(), 1);
}

#[tokio::test]
async fn refusals_make_no_tern_call() {
    let stack = stack().await;
    stack.grant("rita-read", "read");
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;

    // Read permission only.
    stack
        .comment("rita-read", &cutover_command(&apply.id, "staging"))
        .await;
    // Wrong environment.
    stack
        .comment("alice-dba", &cutover_command(&apply.id, "production"))
        .await;
    stack.deliver_all().await;

    // A command from another repository naming this repository's apply.
    let foreign = stack.waiting_apply("staging", &[ORDERS]).await;
    let job = Job::Cutover(CutoverJob {
        source: CommandSource::PrComment(CommentOrigin {
            repository: "acme-payments/elsewhere".parse().unwrap(),
            ..origin("alice-dba", 31337)
        }),
        apply_id: foreign.id.clone(),
        environment: Environment::parse("staging").unwrap(),
    });
    stack.worker.run_job(&job, Attempt::first()).await.unwrap();

    assert_eq!(stack.tern.cutover_calls(), 0);
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 2, "{comments:#?}");
    assert!(
        comments[0].starts_with("## Permission Denied"),
        "{}",
        comments[0]
    );
    insta::assert_snapshot!(
        "permission_denied",
        normalise(&stack, Some(&apply.id), &comments[0])
    );
    insta::assert_snapshot!(
        "environment_mismatch",
        normalise(&stack, Some(&apply.id), &comments[1])
    );
    // The foreign-repository refusal went to the other repository's PR and never named the apply's
    // details.
    let elsewhere = stack
        .github
        .comments(&"acme-payments/elsewhere".parse().unwrap(), PrNumber(PR));
    assert_eq!(elsewhere.len(), 1);
    assert!(
        elsewhere[0].body.starts_with("## Apply Not Found"),
        "{}",
        elsewhere[0].body
    );
    assert!(
        !elsewhere[0].body.contains(&stack.schema),
        "must not reveal the database"
    );
    for apply in [&apply, &foreign] {
        let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
        assert_eq!(
            (stored.state, stored.claim.is_none()),
            (State::WaitingForCutover, true)
        );
    }
}

#[tokio::test]
async fn every_cutover_reply_from_a_real_scenario() {
    let mut stack = stack().await;
    // Unknown apply.
    stack
        .comment(
            "alice-dba",
            "schemabot cutover apply-00000000000000ff -e staging",
        )
        .await;
    // Syntax errors and an unconfigured environment (decided by the webhook).
    stack
        .comment("alice-dba", "schemabot cutover -e staging")
        .await;
    stack
        .comment("alice-dba", "schemabot cutover apply-00000000000000ff")
        .await;
    stack
        .comment(
            "alice-dba",
            "schemabot cutover apply-00000000000000ff -e qa",
        )
        .await;
    stack.deliver_all().await;

    // Not available (still running), recovering, already triggered, not accepted.
    let running = stack
        .record_apply(
            "apply-00000000000000a1",
            "staging",
            &[ORDERS],
            State::Running,
        )
        .await;
    let recovering = stack
        .record_apply(
            "apply-00000000000000a2",
            "staging",
            &[ORDERS],
            State::Recovering,
        )
        .await;
    stack
        .comment("alice-dba", &cutover_command(&running.id, "staging"))
        .await;
    stack
        .comment("alice-dba", &cutover_command(&recovering.id, "staging"))
        .await;
    stack.deliver_all().await;

    let waiting = stack.waiting_apply("staging", &[ORDERS]).await;
    stack
        .comment("alice-dba", &cutover_command(&waiting.id, "staging"))
        .await;
    stack.deliver_all().await;
    stack
        .comment("alice-dba", &cutover_command(&waiting.id, "staging"))
        .await;
    stack.deliver_all().await;

    // Tern restarted (Spirit lost its memory) before the sweep noticed: Tern refuses.
    let refused = stack.waiting_apply("staging", &[ORDERS]).await;
    stack.tern.restart();
    stack
        .comment("alice-dba", &cutover_command(&refused.id, "staging"))
        .await;
    stack.deliver_all().await;

    // Repository not registered (this stack only serves another repository).
    stack.webhook.routing.repositories = vec!["acme-payments/other".parse().unwrap()];
    stack
        .comment("alice-dba", &cutover_command(&waiting.id, "staging"))
        .await;
    stack.deliver_all().await;

    let comments = stack.pr_comments();
    let expected_starts = [
        "## Apply Not Found",
        "## Missing Apply ID",
        "## Missing Environment",
        "## Unknown Environment",
        "## Cutover Not Available",
        "## Cutover — Recovery In Progress",
        "## Cutover Triggered",
        "## Cutover Already Triggered",
        "## Cutover Not Accepted",
        "**Repository not registered.**",
    ];
    assert_eq!(comments.len(), expected_starts.len(), "{comments:#?}");
    for (body, start) in comments.iter().zip(expected_starts) {
        assert!(body.starts_with(start), "expected {start:?}, got {body}");
        if start != "## Cutover Triggered" {
            assert!(
                body.contains("schemabot help"),
                "every reply links to help: {body}"
            );
        }
    }
    let names = [
        "apply_not_found",
        "missing_apply_id",
        "missing_environment",
        "unknown_environment",
        "cutover_not_available",
        "cutover_recovering",
        "cutover_triggered_second",
        "cutover_already_triggered",
        "cutover_not_accepted",
        "repository_not_registered",
    ];
    let ids = [&running.id, &recovering.id, &waiting.id, &refused.id];
    for (name, body) in names.iter().zip(&comments) {
        let mut text = normalise(&stack, None, body);
        for (i, id) in ids.iter().enumerate() {
            text = text.replace(id.as_str(), &format!("<apply-{i}>"));
        }
        insta::assert_snapshot!(*name, text);
    }
    assert_eq!(
        stack.tern.cutover_calls(),
        2,
        "the triggered one and the refused one"
    );
}

#[tokio::test]
async fn a_cli_cutover_is_recorded_even_while_github_is_down() {
    let stack = Stack::start().await;
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    let job = Job::Cutover(CutoverJob {
        source: CommandSource::Cli {
            request_id: "9f1c2b3a-4d5e-4f70-8192-a3b4c5d6e7f8".into(),
            actor: "arn:aws:sts::123456789012:assumed-role/oncall/dana".into(),
        },
        apply_id: apply.id.clone(),
        environment: Environment::parse("staging").unwrap(),
    });
    stack.github.fail_next(100, 502);
    let first = stack.worker.run_job(&job, Attempt::first()).await;
    assert!(matches!(first, Err(ref e) if e.is_transient()), "{first:?}");
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(
        stored.state,
        State::CuttingOver,
        "recorded before the comment"
    );
    assert_eq!(
        stored.cutover_triggered_by.as_deref(),
        Some("cli:arn:aws:sts::123456789012:assumed-role/oncall/dana")
    );
    assert_eq!(stack.tern.cutover_calls(), 1);
    assert!(stack.pr_comments().is_empty());

    // GitHub is back: SQS redelivers, and only the comment is posted.
    stack.github.clear_faults();
    stack
        .worker
        .run_job(
            &job,
            Attempt {
                receive_count: 2,
                max_receive_count: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!(stack.tern.cutover_calls(), 1);
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].starts_with("## Cutover Triggered"),
        "{}",
        comments[0]
    );
}
