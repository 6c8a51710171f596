//! A Cutover call whose answer was lost stays "unknown" until evidence settles it: a later
//! refusal from Tern (which refuses precisely because the first call worked) never turns into
//! "Nothing was changed", and two attempts of one message running at once call Tern once.
//! Real webhook, SQS (moto), MariaDB sentinel and the Tern stand-in.

use schemabot_domain::job::{CommandSource, CommentOrigin, CutoverJob, Job};
use schemabot_domain::{
    ApplyId, CommentId, DeliveryId, Environment, InstallationId, Login, PrNumber, State,
};
use schemabot_tests::harness::{Stack, INSTALLATION, PR};
use worker::outcome::Attempt;

const ORDERS: (&str, &str) = ("orders", "ALTER TABLE orders ADD COLUMN note varchar(64)");

fn command(id: &ApplyId) -> String {
    format!("schemabot cutover {id} -e staging")
}

fn headings(stack: &Stack) -> Vec<String> {
    stack
        .pr_comments()
        .iter()
        .map(|c| c.lines().next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_lost_answer_then_a_refusal_reports_the_cutover_that_happened() {
    let stack = Stack::start().await;
    stack.grant("alice", "write");
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;

    // Tern performs the cutover, but its answer is lost: the worker sees UNAVAILABLE.
    stack.tern.lose_next_responses(1);
    stack.comment("alice", &command(&apply.id)).await;
    assert_eq!(stack.deliver_batch().await, 1);
    assert_eq!(stack.tern.counts().cutover_accepted, 1, "it did happen");
    assert!(stack.pr_comments().is_empty(), "nothing said yet");

    // The sentinel check cannot tell (a sentinel is back, e.g. the check raced a slow drop):
    // only Tern's report and a refusal are left. Tern refuses the repeat ("already in progress").
    stack
        .mysql_exec(&[&format!(
            "CREATE TABLE `{}`.`_spirit_sentinel` (id int)",
            stack.schema
        )])
        .await;
    stack.deliver_all().await;

    let headings = headings(&stack);
    assert_eq!(headings.len(), 1, "{headings:#?}");
    assert!(
        headings[0].contains("Cutover Triggered"),
        "the reply says what happened: {headings:#?}"
    );
    let all = stack.pr_comments().join("\n");
    assert!(!all.contains("Nothing was changed"), "{all}");
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.state, State::CuttingOver);
    assert_eq!(stack.tern.counts().cutover_accepted, 1);
}

#[tokio::test]
async fn a_genuine_refusal_after_a_lost_answer_is_reported_only_once_proven() {
    let stack = Stack::start().await;
    stack.grant("alice", "write");
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    // The first call fails before reaching the engine; Tern then refuses outright while the
    // engine still waits with its sentinel: nothing changed, and the evidence proves it.
    stack.tern.fail_next(1);
    stack.comment("alice", &command(&apply.id)).await;
    assert_eq!(stack.deliver_batch().await, 1);
    stack
        .tern
        .force_refusal_of_next_cutover("Cutover window closed by policy");
    stack.deliver_all().await;

    let headings = headings(&stack);
    assert_eq!(headings.len(), 1, "{headings:#?}");
    assert!(headings[0].contains("Not Accepted"), "{headings:#?}");
    assert!(stack.sentinel_present().await);
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.state, State::WaitingForCutover);
    assert!(stored.claim.is_none(), "released once proven");
}

#[tokio::test]
async fn one_message_run_twice_at_once_calls_tern_once_and_says_one_thing() {
    let stack = Stack::start().await;
    stack.grant("alice", "write");
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    let job = Job::Cutover(CutoverJob {
        source: CommandSource::PrComment(CommentOrigin {
            delivery_id: DeliveryId::parse("delivery-twice").unwrap(),
            installation_id: InstallationId(INSTALLATION),
            repository: Stack::repository(),
            pr: PrNumber(PR),
            comment_id: CommentId(777),
            commenter: Login("alice".into()),
        }),
        apply_id: apply.id.clone(),
        environment: Environment::parse("staging").unwrap(),
    });
    // A visibility timeout expired mid-run: SQS hands the same message to a second invocation.
    let second = Attempt {
        receive_count: 2,
        ..Attempt::first()
    };
    let (a, b) = tokio::join!(
        stack.worker.run_job(&job, Attempt::first()),
        stack.worker.run_job(&job, second)
    );
    // One of them may be told to come back later (the other is calling Tern); its retry finds
    // the cutover recorded and only makes sure the reply is there.
    let retried = [a, b].into_iter().filter(|r| r.is_err()).count();
    assert!(retried <= 1);
    if retried == 1 {
        stack
            .worker
            .run_job(
                &job,
                Attempt {
                    receive_count: 3,
                    ..Attempt::first()
                },
            )
            .await
            .unwrap();
    }

    assert_eq!(stack.tern.cutover_calls(), 1, "one Tern Cutover");
    let headings = headings(&stack);
    assert_eq!(headings.len(), 1, "{headings:#?}");
    assert!(headings[0].contains("Cutover Triggered"), "{headings:#?}");
}
