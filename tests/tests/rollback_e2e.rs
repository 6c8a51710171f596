//! Rollback end to end: an apply completes through PR comments (webhook → SQS → worker → Tern
//! stand-in over MariaDB → DynamoDB → GitHub stand-in); `rollback` plans the schema the database
//! had before it (captured by Tern when the apply was planned) and locks it; `rollback-confirm`
//! applies it through the ordinary progress and cutover machinery, and the original schema is
//! live again. Refusals (not terminal, wrong environment, not the latest, the other kind of
//! confirmation) make no Tern call; redeliveries post one plan and apply once. The CLI's
//! `rollback` sends the same job and plans on the apply's pull request.

mod apply_support;
mod cli_support;

use apply_support::{attempt, Fixture};
use cli_support::{cli, parse_json, with_worker};
use schemabot_cli::Exit;
use schemabot_domain::job::{CommandSource, CommentOrigin, Job, RollbackConfirmJob, RollbackJob};
use schemabot_domain::lock::LockStage;
use schemabot_domain::{
    ApplyId, CommentId, DeliveryId, Environment, InstallationId, Login, PrNumber, State,
};
use schemabot_tests::harness::{Stack, INSTALLATION, PR};
use schemabot_tests::progress_support::apply_state;
use schemabot_tests::services::EMULATOR_SENDER_ID;

const ROLLBACK_PLAN: &str = "## ⏪ Schema Rollback Plan — Staging";
const NOT_ALLOWED: &str = "## Rollback Not Allowed";

fn origin(comment: u64) -> CommentOrigin {
    CommentOrigin {
        delivery_id: DeliveryId::parse(&format!("d-{comment}")).unwrap(),
        installation_id: InstallationId(INSTALLATION),
        repository: Stack::repository(),
        pr: PrNumber(PR),
        comment_id: CommentId(comment),
        commenter: Login("alice".into()),
    }
}

fn staging() -> Environment {
    Environment::parse("staging").unwrap()
}

/// Sweeps (moving the stand-in's apply along) until `id` is completed.
async fn until_completed(fx: &Fixture, id: &ApplyId) {
    let stack = &fx.stack;
    for _ in 0..8 {
        stack.worker.sweep().await;
        match apply_state(stack, id).await {
            State::Completed => return,
            State::WaitingForCutover => {
                fx.say(PR, "alice", &format!("schemabot cutover {id} -e staging"))
                    .await;
            }
            _ => {
                let _ = stack.tern.finish_copy(id.as_str());
                let _ = stack.tern.advance(id.as_str(), 1);
            }
        }
    }
    assert_eq!(apply_state(stack, id).await, State::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completed_apply_is_rolled_back_to_the_schema_before_it() {
    let fx = Fixture::start(|_| {}).await;
    let stack = &fx.stack;

    // The PR's change: adds `note` and an index (the fixture's schema directory).
    let applied = fx.apply_and_confirm("staging").await;

    // Still running: refused, and Tern is not asked to plan anything.
    let plans = stack.tern.counts().plan;
    fx.say(
        PR,
        "alice",
        &format!("schemabot rollback {applied} -e staging"),
    )
    .await;
    let refusal = fx
        .comments_on(PR)
        .into_iter()
        .find(|c| c.starts_with(NOT_ALLOWED))
        .expect("refused while running");
    assert!(refusal.contains("has not finished"), "{refusal}");
    assert_eq!(stack.tern.counts().plan, plans);

    until_completed(&fx, &applied).await;
    assert!(fx.columns().await.contains(&"note".to_string()));

    // The wrong environment is refused with the command to use.
    fx.say(
        PR,
        "alice",
        &format!("schemabot rollback {applied} -e production"),
    )
    .await;
    assert_eq!(fx.count(PR, "That apply ran in `staging`"), 1);
    assert_eq!(stack.tern.counts().plan, plans);

    // rollback: the plan drops what the apply added, and the lock holds it for this PR. Three
    // deliveries of the same command post one plan.
    let rollback = Job::Rollback(RollbackJob {
        source: CommandSource::PrComment(origin(9101)),
        apply_id: applied.clone(),
        environment: staging(),
        defer_cutover: false,
    });
    for n in 1..=3 {
        stack
            .worker
            .run_job(&rollback, attempt(n))
            .await
            .expect("rollback");
    }
    assert_eq!(fx.count(PR, ROLLBACK_PLAN), 1, "{:#?}", fx.comments_on(PR));
    let plan = fx
        .comments_on(PR)
        .into_iter()
        .find(|c| c.starts_with(ROLLBACK_PLAN))
        .unwrap();
    assert!(plan.contains("DROP COLUMN `note`"), "{plan}");
    assert!(
        plan.contains("schemabot rollback-confirm -e staging"),
        "{plan}"
    );
    let lock = stack
        .store
        .get_lock(&fx.key("staging"))
        .await
        .unwrap()
        .expect("the rollback lock");
    assert_eq!(lock.stage, LockStage::Planned);
    assert_eq!(lock.plan.rollback_of.as_ref(), Some(&applied));

    // apply-confirm does not take a rollback plan.
    let applies = stack.tern.apply_calls();
    fx.say(PR, "alice", "schemabot apply-confirm -e staging")
        .await;
    assert_eq!(fx.count(PR, "holds the rollback plan of"), 1);
    assert_eq!(stack.tern.apply_calls(), applies);

    // rollback-confirm, delivered three times: one Tern Apply, one rollback apply.
    let confirm = Job::RollbackConfirm(RollbackConfirmJob {
        origin: origin(9102),
        environment: staging(),
    });
    for n in 1..=3 {
        stack
            .worker
            .run_job(&confirm, attempt(n))
            .await
            .expect("rollback-confirm");
    }
    assert_eq!(stack.tern.apply_calls(), applies + 1);
    let rolled_back = fx.applying_id("staging").await;
    assert_ne!(rolled_back, applied);
    let record = stack.store.get_apply(&rolled_back).await.unwrap().unwrap();
    assert_eq!(record.rollback_of.as_ref(), Some(&applied));
    until_completed(&fx, &rolled_back).await;
    assert_eq!(fx.count(PR, "## ⏪ Schema Rollback Applied"), 1);

    // The schema from before the apply is live again: `note` is gone, the rest kept.
    let columns = fx.columns().await;
    assert!(!columns.contains(&"note".to_string()), "{columns:?}");
    assert!(columns.contains(&"legacy".to_string()), "{columns:?}");
    assert_eq!(
        stack.store.get_lock(&fx.key("staging")).await.unwrap(),
        None
    );

    // The first apply is no longer the latest: refused, naming the rollback.
    fx.say(
        PR,
        "alice",
        &format!("schemabot rollback {applied} -e staging"),
    )
    .await;
    let later = fx
        .comments_on(PR)
        .into_iter()
        .rfind(|c| c.starts_with(NOT_ALLOWED))
        .unwrap();
    assert!(later.contains(rolled_back.as_str()), "{later}");
    // Nothing left to confirm.
    fx.say(PR, "alice", "schemabot rollback-confirm -e staging")
        .await;
    assert_eq!(fx.count(PR, "## 🔒 No Rollback Plan"), 1);
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollback_needs_write_permission_and_an_apply_of_this_pr() {
    let fx = Fixture::start(|_| {}).await;
    let stack = &fx.stack;
    stack.grant("mallory", "read");
    let unknown = ApplyId::parse("apply-00000000000000aa").unwrap();
    fx.say(
        PR,
        "alice",
        &format!("schemabot rollback {unknown} -e staging"),
    )
    .await;
    assert_eq!(fx.count(PR, "## Apply Not Found"), 1);

    let applied = fx.apply_and_confirm("staging").await;
    until_completed(&fx, &applied).await;
    let plans = stack.tern.counts().plan;
    fx.say(
        PR,
        "mallory",
        &format!("schemabot rollback {applied} -e staging"),
    )
    .await;
    assert_eq!(stack.tern.counts().plan, plans, "refused before planning");
    assert!(
        fx.comments_on(PR)
            .iter()
            .any(|c| c.contains("rollback") && c.contains("`write`")),
        "{:#?}",
        fx.comments_on(PR)
    );
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cli_twin_plans_the_rollback_on_the_apply_pr() {
    let fx = Fixture::start(|_| {}).await;
    let stack = &fx.stack;
    let applied = fx.apply_and_confirm("staging").await;

    // Refused while running: exit 2, nothing planned.
    let plans = stack.tern.counts().plan;
    let running = with_worker(
        stack,
        cli(
            stack,
            &["rollback", applied.as_str(), "-e", "staging", "--json"],
        ),
    )
    .await;
    assert_eq!(running.exit, Exit::Refused, "{}", running.stderr);
    assert_eq!(parse_json(&running)["outcome"], "not_terminal");
    assert_eq!(stack.tern.counts().plan, plans);

    until_completed(&fx, &applied).await;
    // The apply's pull request was closed since: the plan could never be confirmed there.
    stack
        .github
        .set_pull_state(&Stack::repository(), PrNumber(PR), "closed");
    let closed = with_worker(
        stack,
        cli(
            stack,
            &["rollback", applied.as_str(), "-e", "staging", "--json"],
        ),
    )
    .await;
    assert_eq!(closed.exit, Exit::Refused, "{}", closed.stderr);
    assert_eq!(parse_json(&closed)["outcome"], "pr_not_open");
    assert_eq!(stack.tern.counts().plan, plans);
    assert_eq!(
        stack.store.get_lock(&fx.key("staging")).await.unwrap(),
        None
    );
    stack
        .github
        .set_pull_state(&Stack::repository(), PrNumber(PR), "open");

    let planned = with_worker(
        stack,
        cli(
            stack,
            &["rollback", applied.as_str(), "-e", "staging", "--json"],
        ),
    )
    .await;
    assert_eq!(planned.exit, Exit::Success, "{}", planned.stderr);
    let report = parse_json(&planned);
    assert_eq!(report["outcome"], "planned", "{report:#}");
    assert_eq!(report["confirm"], "schemabot rollback-confirm -e staging");
    assert_eq!(report["pr"], PR);
    // Attributed to the sender SQS vouches for, on the apply's pull request.
    assert_eq!(
        report["actor"],
        format!("cli:{EMULATOR_SENDER_ID}").as_str()
    );
    let plan = fx
        .comments_on(PR)
        .into_iter()
        .find(|c| c.starts_with(ROLLBACK_PLAN))
        .expect("the rollback plan on the apply's PR");
    assert!(plan.contains(EMULATOR_SENDER_ID), "{plan}");
    let lock = stack
        .store
        .get_lock(&fx.key("staging"))
        .await
        .unwrap()
        .expect("locked for the PR");
    assert_eq!(lock.owner.pr, PrNumber(PR));
    assert_eq!(lock.plan.rollback_of.as_ref(), Some(&applied));

    // Confirmed on the PR, as the reply says.
    fx.say(PR, "alice", "schemabot rollback-confirm -e staging")
        .await;
    let rolled_back = fx.applying_id("staging").await;
    until_completed(&fx, &rolled_back).await;
    assert!(!fx.columns().await.contains(&"note".to_string()));
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_rollback_can_be_asked_for_again() {
    let fx = Fixture::start(|_| {}).await;
    let stack = &fx.stack;
    let applied = fx.apply_and_confirm("staging").await;
    until_completed(&fx, &applied).await;
    let rollback = format!("schemabot rollback {applied} -e staging");
    fx.say(PR, "alice", &rollback).await;
    fx.say(PR, "alice", "schemabot rollback-confirm -e staging")
        .await;
    let first = fx.applying_id("staging").await;

    // While it runs, asking again is refused and names it.
    fx.say(PR, "alice", &rollback).await;
    let running = fx
        .comments_on(PR)
        .into_iter()
        .rfind(|c| c.starts_with(NOT_ALLOWED))
        .expect("refused while the rollback runs");
    assert!(
        running.contains(&format!("`{first}` already rolls this apply back")),
        "{running}"
    );

    // Cancelled, it changed nothing: the same rollback can be planned and applied again.
    stack.worker.sweep().await;
    fx.say(PR, "alice", &format!("schemabot cancel {first} -e staging"))
        .await;
    for _ in 0..4 {
        stack.worker.sweep().await;
        if apply_state(stack, &first).await == State::Cancelled {
            break;
        }
    }
    assert_eq!(apply_state(stack, &first).await, State::Cancelled);
    assert!(fx.columns().await.contains(&"note".to_string()));
    fx.say(PR, "alice", &rollback).await;
    assert_eq!(fx.count(PR, ROLLBACK_PLAN), 2, "{:#?}", fx.comments_on(PR));
    fx.say(PR, "alice", "schemabot rollback-confirm -e staging")
        .await;
    let second = fx.applying_id("staging").await;
    assert_ne!(second, first);
    until_completed(&fx, &second).await;
    assert!(!fx.columns().await.contains(&"note".to_string()));
    fx.cleanup().await;
}
