//! The apply lifecycle from PR comments, end to end: webhook → SQS → worker → GitHub contents
//! API → Tern stand-in Plan/Apply over MariaDB → DynamoDB locks → progress → cutover →
//! completion, with the lock released on completion and on PR close; and the races, staleness
//! and redeliveries around it.
//!
//! Every test uses its own MariaDB schema as the database (and deployment), so parallel tests
//! never share a lock or a sentinel.

use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::Job;
use schemabot_domain::lock::{LockOwner, LockStage};
use schemabot_domain::{Database, Environment, PrNumber, State};
use schemabot_tests::harness::{Stack, PR};
use schemabot_tests::progress_support::{apply_state, progress_comment};
use std::time::Duration;

mod apply_support;

use apply_support::{attempt, confirm_job, Fixture, HEAD, LOCKED_PLAN, NEXT_HEAD, OTHER_PR};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pr_goes_from_schema_change_to_completed_cutover_and_frees_its_lock() {
    let fx = Fixture::start(|_| {}).await;
    let stack = &fx.stack;

    // 1. The PR is opened: an automatic plan per environment.
    let (status, _) = stack.pull_request_event("opened", HEAD).await;
    assert_eq!(status, 202);
    stack.deliver_all().await;
    assert_eq!(fx.count(PR, "## 📋 Schema Change Plan"), 2);
    assert_eq!(fx.count(PR, "ADD COLUMN `note` varchar(64) NULL"), 2);

    // 2. apply: re-plan, lock, confirmation footer.
    fx.say(PR, "alice", "schemabot apply -e staging --defer-cutover")
        .await;
    let plan = fx
        .comments_on(PR)
        .into_iter()
        .find(|c| c.starts_with(LOCKED_PLAN))
        .expect("the locked plan");
    assert!(
        plan.contains("```\nschemabot apply-confirm -e staging\n```"),
        "{plan}"
    );
    let lock = stack
        .store
        .get_lock(&fx.key("staging"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lock.stage, LockStage::Planned);
    assert_eq!(lock.owner.pr, PrNumber(PR));
    assert_eq!(lock.plan.head_sha, HEAD);
    assert!(lock.plan.flags.defer_cutover);
    assert_eq!(stack.tern.apply_calls(), 0, "apply only plans");

    // 3. apply-confirm: Tern Apply, the lock records the apply, the progress comment appears.
    fx.say(PR, "alice", "schemabot apply-confirm -e staging")
        .await;
    assert_eq!(stack.tern.apply_calls(), 1);
    let apply_id = fx.applying_id("staging").await;
    let apply = stack
        .store
        .get_apply(&apply_id)
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(apply.database.as_str(), fx.database);
    assert!(apply.defer_cutover);
    assert_eq!(apply.pr, PrNumber(PR));

    // An unlock now keeps the lock: the apply is running.
    fx.say(PR, "alice", "schemabot unlock").await;
    let unlock = fx
        .comments_on(PR)
        .into_iter()
        .find(|c| c.contains("Still locked, because a change was confirmed for it"))
        .expect("unlock reply");
    assert!(unlock.contains(apply_id.as_str()), "{unlock}");
    assert!(stack
        .store
        .get_lock(&fx.key("staging"))
        .await
        .unwrap()
        .is_some());

    // 4. Progress to ⏸️ Ready for cutover.
    stack.worker.sweep().await;
    assert_eq!(apply_state(stack, &apply_id).await, State::Running);
    stack.tern.finish_copy(apply_id.as_str()).unwrap();
    stack.worker.sweep().await;
    assert_eq!(
        apply_state(stack, &apply_id).await,
        State::WaitingForCutover
    );
    let progress = progress_comment(stack, &apply_id).await;
    assert!(progress.contains("⏸️ Ready for cutover"), "{progress}");

    // 5. cutover → Cutover Triggered → completed → summary.
    fx.say(
        PR,
        "alice",
        &format!("schemabot cutover {apply_id} -e staging"),
    )
    .await;
    assert_eq!(fx.count(PR, "## Cutover Triggered"), 1);
    for _ in 0..5 {
        stack.worker.sweep().await;
        if apply_state(stack, &apply_id).await == State::Completed {
            break;
        }
        let _ = stack.tern.advance(apply_id.as_str(), 1);
    }
    assert_eq!(apply_state(stack, &apply_id).await, State::Completed);
    assert_eq!(fx.count(PR, "## ✅ Schema Change Applied"), 1);

    // 6. The lock is gone, the applied schema is recorded, the change is live.
    assert_eq!(
        stack.store.get_lock(&fx.key("staging")).await.unwrap(),
        None
    );
    let owner = LockOwner {
        repository: Stack::repository(),
        pr: PrNumber(PR),
    };
    let applied = stack
        .store
        .applied_schemas(&owner, &Database::parse(&fx.database).unwrap())
        .await
        .unwrap();
    assert_eq!(
        applied.get(&Environment::parse("staging").unwrap()),
        Some(&lock.plan.schema_digest)
    );
    assert!(fx.columns().await.contains(&"note".to_string()));
    let trail = stack
        .store
        .list_lock_events(&fx.key("staging"))
        .await
        .unwrap();
    // The automatic plan on `opened` is on the trail too, by the bot.
    assert!(
        trail.iter().any(
            |(event, actor, pr, outcome)| *event == EventKind::PlanPosted
                && actor == "schemabot"
                && *pr == PR
                && *outcome == Outcome::Changes
        ),
        "{trail:?}"
    );
    let events: Vec<EventKind> = trail.into_iter().map(|(event, ..)| event).collect();
    for expected in [
        EventKind::PlanPosted,
        EventKind::LockAcquired,
        EventKind::ApplyConfirmed,
        EventKind::Unlock,
        EventKind::LockReleased,
    ] {
        assert!(events.contains(&expected), "{expected}: {events:?}");
    }
    // A re-plan now finds nothing to do for staging.
    fx.say(PR, "alice", "schemabot apply -e staging").await;
    assert_eq!(fx.count(PR, "## ✅ Nothing to Apply"), 1);
    assert_eq!(
        stack.store.get_lock(&fx.key("staging")).await.unwrap(),
        None
    );

    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_prs_race_for_one_database_and_a_closed_pr_lets_the_other_in() {
    let fx = Fixture::start(|_| {}).await;
    let stack = &fx.stack;
    fx.seed(OTHER_PR, NEXT_HEAD, false);

    // Both PRs comment apply at the same time; their jobs run in different message groups.
    let (a, b) = tokio::join!(
        stack.comment_on(PR, "alice", "schemabot apply -e staging"),
        stack.comment_on(OTHER_PR, "bob", "schemabot apply -e staging"),
    );
    assert_eq!((a.0, b.0), (202, 202));
    stack.deliver_all().await;
    let lock = stack
        .store
        .get_lock(&fx.key("staging"))
        .await
        .unwrap()
        .unwrap();
    let (winner, loser) = if lock.owner.pr == PrNumber(PR) {
        (PR, OTHER_PR)
    } else {
        (OTHER_PR, PR)
    };
    assert_eq!(fx.count(winner, LOCKED_PLAN), 1);
    assert_eq!(fx.count(loser, LOCKED_PLAN), 0);
    let refusal = fx
        .comments_on(loser)
        .into_iter()
        .find(|c| c.contains("## 🔒 Locked by Another Pull Request"))
        .expect("the loser is told who holds the lock");
    assert!(
        refusal.contains(&format!("acme-payments/schemas\\#{winner}")),
        "{refusal}"
    );

    // The loser cannot confirm the winner's plan.
    let loser_login = if loser == PR { "alice" } else { "bob" };
    fx.say(loser, loser_login, "schemabot apply-confirm -e staging")
        .await;
    assert_eq!(stack.tern.apply_calls(), 0);
    assert_eq!(fx.count(loser, "## No Locked Plan"), 1);

    // The winner's PR is closed: its planned lock is released, the loser can take it.
    let (status, body) = stack.pull_request_event_on(winner, "closed", HEAD).await;
    assert_eq!(
        (status, body["job"].as_str()),
        (202, Some("unlock")),
        "{body}"
    );
    stack.deliver_all().await;
    assert_eq!(
        stack.store.get_lock(&fx.key("staging")).await.unwrap(),
        None
    );
    assert_eq!(
        fx.count(winner, "This pull request was closed. Released:"),
        1
    );
    fx.say(loser, loser_login, "schemabot apply -e staging")
        .await;
    let lock = stack
        .store
        .get_lock(&fx.key("staging"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lock.owner.pr, PrNumber(loser));

    // unlock releases it again.
    fx.say(loser, loser_login, "schemabot unlock").await;
    assert_eq!(
        stack.store.get_lock(&fx.key("staging")).await.unwrap(),
        None
    );
    assert_eq!(fx.count(loser, "## 🔓 Locks Released"), 1);
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_push_between_apply_and_confirm_makes_the_plan_stale() {
    let fx = Fixture::start(|_| {}).await;
    let stack = &fx.stack;
    fx.say(PR, "alice", "schemabot apply -e staging").await;
    fx.seed(PR, NEXT_HEAD, false);
    fx.say(PR, "alice", "schemabot apply-confirm -e staging")
        .await;
    let stale = fx
        .comments_on(PR)
        .into_iter()
        .find(|c| c.contains("## ⚠️ Plan Is Stale"))
        .expect("stale reply");
    assert!(
        stale.contains("`4c5d6e7f8091`") && stale.contains("`5d6e7f8091a2`"),
        "{stale}"
    );
    assert!(stale.contains("re-run apply"), "{stale}");
    assert_eq!(stack.tern.apply_calls(), 0);
    let lock = stack
        .store
        .get_lock(&fx.key("staging"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lock.stage, LockStage::Planned);

    // Re-running apply plans the new head; then the confirm goes through.
    fx.say(PR, "alice", "schemabot apply -e staging").await;
    fx.say(PR, "alice", "schemabot apply-confirm -e staging")
        .await;
    assert_eq!(stack.tern.apply_calls(), 1);
    fx.applying_id("staging").await;
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redelivered_or_crashed_confirm_applies_exactly_once() {
    let fx = Fixture::start(|_| {}).await;
    let stack = &fx.stack;
    fx.say(PR, "alice", "schemabot apply -e staging --defer-cutover")
        .await;

    // Two confirm comments race (different commands): one claims the plan, the other waits
    // (a transient error SQS retries) and then finds the apply running.
    let job = confirm_job(7001);
    let rival = confirm_job(7003);
    let (a, b) = tokio::join!(
        stack.worker.run_job(&job, attempt(1)),
        stack.worker.run_job(&rival, attempt(1))
    );
    assert!(a.is_ok() || b.is_ok(), "{a:?} {b:?}");
    for (result, retry) in [(a, &job), (b, &rival)] {
        if result.is_err() {
            stack
                .worker
                .run_job(retry, attempt(2))
                .await
                .expect("retry");
        }
    }
    // SQS redelivers the winning message twice more (after a lost acknowledgement).
    for n in [2, 3] {
        stack
            .worker
            .run_job(&job, attempt(n))
            .await
            .expect("redelivery");
    }
    assert_eq!(stack.tern.apply_calls(), 1, "one Tern Apply");
    let apply_id = fx.applying_id("staging").await;
    assert!(stack.store.get_apply(&apply_id).await.unwrap().is_some());
    let progress_comments = fx
        .comments_on(PR)
        .iter()
        .filter(|c| c.contains(&format!("schemabot:progress:{apply_id}")))
        .count();
    assert_eq!(progress_comments, 1, "{:#?}", fx.comments_on(PR));

    // A redelivered apply (same comment) for a lock that is now applying changes nothing.
    let apply_job = Job::Apply(schemabot_domain::job::ApplyJob {
        origin: match &job {
            Job::ApplyConfirm(c) => c.origin.clone(),
            _ => unreachable!(),
        },
        environment: Environment::parse("staging").unwrap(),
        database: None,
        flags: Default::default(),
    });
    let comments_before = fx.comments_on(PR).len();
    for n in [2, 3] {
        stack
            .worker
            .run_job(&apply_job, attempt(n))
            .await
            .expect("apply");
    }
    let in_progress = fx.count(PR, "## ⏳ Apply Already in Progress");
    assert_eq!(fx.comments_on(PR).len(), comments_before + 1);
    assert!(in_progress >= 1);
    assert_eq!(fx.applying_id("staging").await, apply_id);

    // A second database-less confirm by a new comment is told the apply is running.
    fx.say(PR, "alice", "schemabot apply-confirm -e staging")
        .await;
    assert_eq!(
        fx.count(PR, "## ⏳ Apply Already in Progress"),
        in_progress + 1
    );
    assert_eq!(stack.tern.apply_calls(), 1);
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_confirm_that_crashed_after_tern_accepted_adopts_the_running_apply() {
    let fx = Fixture::start(|_| {}).await;
    let stack = &fx.stack;
    fx.say(PR, "alice", "schemabot apply -e staging --defer-cutover")
        .await;
    let key = fx.key("staging");
    let owner = LockOwner {
        repository: Stack::repository(),
        pr: PrNumber(PR),
    };
    // The crashed attempt: the lock moved to `confirming` and Tern accepted the apply, then
    // the worker died before recording it.
    let job = confirm_job(7002);
    let lock = stack.store.get_lock(&key).await.unwrap().unwrap();
    stack
        .store
        .begin_confirm(
            &key,
            &owner,
            &lock.plan.head_sha,
            &job.id(),
            false,
            chrono::Utc::now() + chrono::TimeDelta::minutes(10),
        )
        .await
        .unwrap();
    let spec = schemabot_tern::ApplySpec {
        deployment: fx.database.clone(),
        environment: "staging".into(),
        database: fx.database.clone(),
        database_type: "mysql".into(),
        defer_cutover: true,
        ddl_changes: lock
            .plan
            .changes
            .iter()
            .map(|c| schemabot_tern::proto::TableChange {
                table_name: c.table.clone(),
                ddl: c.ddl.clone(),
                ..Default::default()
            })
            .collect(),
        // What the crashed attempt sent: the key every attempt of this command sends.
        idempotency_key: worker::apply_start::idempotency_key(&lock, &job.id()),
        ..Default::default()
    };
    let accepted = stack.worker.tern.apply(&spec).await.unwrap();
    let schemabot_tern::ApplyOutcome::Accepted { apply_id: tern_id } = accepted else {
        panic!("{accepted:?}")
    };
    assert_eq!(stack.tern.counts().applies_started, 1);

    // SQS hands the message out again: the retry adopts Tern's apply instead of a second one.
    stack.worker.run_job(&job, attempt(2)).await.expect("retry");
    assert_eq!(stack.tern.counts().applies_started, 1);
    assert_eq!(fx.applying_id("staging").await.as_str(), tern_id);
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_confirm_whose_tern_answer_was_lost_gets_the_same_apply_on_retry() {
    let fx = Fixture::start(|_| {}).await;
    let stack = &fx.stack;
    fx.say(PR, "alice", "schemabot apply -e staging --defer-cutover")
        .await;
    let job = confirm_job(7003);
    // Tern starts the apply, but its answer never arrives.
    stack.tern.lose_next_responses(1);
    let first = stack.worker.run_job(&job, attempt(1)).await;
    assert!(first.is_err(), "an unknown outcome is retried: {first:?}");
    assert_eq!(stack.tern.counts().applies_started, 1);
    stack.worker.run_job(&job, attempt(2)).await.expect("retry");
    stack
        .worker
        .run_job(&job, attempt(3))
        .await
        .expect("redelivery");
    let counts = stack.tern.counts();
    assert_eq!(counts.applies_started, 1, "one schema change on Tern");
    assert_eq!(counts.apply, 2, "the retry asked again, with the same key");
    let tern_id = stack.tern.apply_ids();
    assert_eq!(tern_id.len(), 1);
    assert_eq!(fx.applying_id("staging").await.as_str(), tern_id[0]);
    assert_eq!(fx.count(PR, "Schema Change"), 1, "one progress comment");
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unsafe_changes_need_allow_unsafe_and_production_waits_for_staging() {
    let fx = Fixture::start(|options| {
        options.promotion_order = vec!["staging", "production"];
    })
    .await;
    let stack = &fx.stack;
    fx.seed(PR, HEAD, true);

    // Production first: refused by the promotion order, nothing locked.
    fx.say(PR, "alice", "schemabot apply -e production").await;
    assert_eq!(fx.count(PR, "## 🚦 Apply to staging First"), 1);
    assert_eq!(
        stack.store.get_lock(&fx.key("production")).await.unwrap(),
        None
    );

    // Staging: the plan drops `legacy`, so the footer asks for --allow-unsafe.
    fx.say(PR, "alice", "schemabot apply -e staging").await;
    let plan = fx
        .comments_on(PR)
        .into_iter()
        .find(|c| c.starts_with(LOCKED_PLAN))
        .expect("locked plan");
    assert!(
        plan.contains("schemabot apply-confirm -e staging --allow-unsafe"),
        "{plan}"
    );
    fx.say(PR, "alice", "schemabot apply-confirm -e staging")
        .await;
    assert_eq!(
        fx.count(PR, "## ⚠️ Unsafe Changes Need `--allow-unsafe`"),
        1
    );
    assert_eq!(stack.tern.apply_calls(), 0);
    fx.say(
        PR,
        "alice",
        "schemabot apply-confirm -e staging --allow-unsafe",
    )
    .await;
    assert_eq!(stack.tern.apply_calls(), 1);

    // Staging completes (no deferred cutover): production may go now.
    let apply_id = fx.applying_id("staging").await;
    for _ in 0..6 {
        stack.worker.sweep().await;
        if apply_state(stack, &apply_id).await == State::Completed {
            break;
        }
        let _ = stack.tern.finish_copy(apply_id.as_str());
        let _ = stack.tern.advance(apply_id.as_str(), 1);
    }
    assert_eq!(apply_state(stack, &apply_id).await, State::Completed);
    assert!(!fx.columns().await.contains(&"legacy".to_string()));
    // Production passes the promotion check now. (Its MariaDB is staging's here, so the plan
    // finds the change already live.)
    fx.say(PR, "alice", "schemabot apply -e production --allow-unsafe")
        .await;
    assert_eq!(
        fx.count(PR, "## 🚦 Apply to staging First"),
        1,
        "no second refusal"
    );
    let production = fx
        .comments_on(PR)
        .into_iter()
        .find(|c| c.contains("## ✅ Nothing to Apply"))
        .expect("production planned");
    assert!(
        production.contains("**Environment**: `production`"),
        "{production}"
    );
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apply_needs_the_environment_permission_and_a_schema_change() {
    let fx = Fixture::start(|options| {
        options.permission_minimums = vec![("production", "maintain")];
    })
    .await;
    let stack = &fx.stack;
    stack.grant("carol", "read");
    fx.say(PR, "carol", "schemabot apply -e staging").await;
    assert_eq!(fx.count(PR, "## Permission Denied"), 1);
    fx.say(PR, "bob", "schemabot apply -e production").await;
    assert_eq!(fx.count(PR, "requires `maintain` permission"), 1);
    assert_eq!(
        stack.store.get_lock(&fx.key("staging")).await.unwrap(),
        None
    );
    assert_eq!(
        stack.store.get_lock(&fx.key("production")).await.unwrap(),
        None
    );

    // A database the PR does not change.
    fx.say(PR, "alice", "schemabot apply -e staging -d inventory")
        .await;
    assert_eq!(
        fx.count(PR, "changes no schema directory for database `inventory`"),
        1
    );
    assert_eq!(stack.tern.apply_calls(), 0);
    // Nothing leaked into the wait: the queue is drained.
    tokio::time::sleep(Duration::from_millis(10)).await;
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_staging_that_already_matches_counts_for_the_promotion_order() {
    let fx = Fixture::start(|options| {
        options.promotion_order = vec!["staging", "production"];
    })
    .await;
    // Someone already made the change in staging by hand.
    fx.stack
        .mysql_exec(&[&format!(
            "ALTER TABLE `{}`.`orders` ADD COLUMN note varchar(64) NULL, ADD KEY idx_status (status)",
            fx.database
        )])
        .await;
    fx.say(PR, "alice", "schemabot apply -e production").await;
    assert_eq!(fx.count(PR, "## 🚦 Apply to staging First"), 1);
    fx.say(PR, "alice", "schemabot apply -e staging").await;
    assert_eq!(fx.count(PR, "## ✅ Nothing to Apply"), 1);
    // Production's MariaDB is staging's here, so it also finds nothing: what matters is that
    // the promotion check let it plan.
    fx.say(PR, "alice", "schemabot apply -e production").await;
    assert_eq!(fx.count(PR, "## 🚦 Apply to staging First"), 1);
    assert_eq!(fx.count(PR, "## ✅ Nothing to Apply"), 2);
    fx.cleanup().await;
}
