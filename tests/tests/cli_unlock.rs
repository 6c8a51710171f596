//! The CLI twin of `unlock --force`: `schemabot unlock -d <db> -e <env>` in-process against the
//! real stack sends the force-unlock job through the queue and the real worker, and reads the
//! worker's recorded answer back from the store.

mod cli_support;

use chrono::{TimeDelta, Utc};
use cli_support::{cli, cli_json, with_worker};
use schemabot_cli::Exit;
use schemabot_domain::command::ApplyFlags;
use schemabot_domain::lock::{Lock, LockKey, LockOwner, LockStage, LockedPlan};
use schemabot_domain::{ApplyId, Database, Environment, InstallationId, Login, PrNumber};
use schemabot_tests::harness::{Stack, DEPLOYMENT, INSTALLATION, REPOSITORY};
use schemabot_tests::services::EMULATOR_SENDER_ID;

const HOLDER: u64 = 41;
const UNLOCK: [&str; 5] = ["unlock", "-d", DEPLOYMENT, "-e", "staging"];

fn key() -> LockKey {
    LockKey {
        database: Database::parse(DEPLOYMENT).unwrap(),
        environment: Environment::parse("staging").unwrap(),
    }
}

fn holder() -> LockOwner {
    LockOwner {
        repository: Stack::repository(),
        pr: PrNumber(HOLDER),
    }
}

/// PR 41's planned lock on payments/staging.
async fn planned_lock(stack: &Stack) -> Lock {
    let now = Utc::now();
    let plan: LockedPlan = serde_json::from_value(serde_json::json!({
        "head_sha": "4c5d6e7f8091a2b3c9f1", "deployment": DEPLOYMENT, "database_type": "mysql",
        "plan_id": "", "changes": [], "schema_files": {}, "schema_digest": "d1",
        "flags": ApplyFlags::default(),
    }))
    .unwrap();
    let lock = Lock {
        key: key(),
        owner: holder(),
        installation_id: InstallationId(INSTALLATION),
        locked_by: Login("bob".into()),
        stage: LockStage::Planned,
        plan,
        acquired_at: now,
        lease_expires_at: now + TimeDelta::hours(24),
    };
    assert!(stack
        .store
        .acquire_lock(&lock, now)
        .await
        .unwrap()
        .is_written());
    lock
}

fn holder_comments(stack: &Stack) -> Vec<String> {
    stack
        .github
        .comments(&Stack::repository(), PrNumber(HOLDER))
        .into_iter()
        .map(|c| c.body)
        .collect()
}

#[tokio::test]
async fn unlock_releases_the_lock_whoever_holds_it_and_tells_that_pr() {
    let stack = Stack::start().await;
    planned_lock(&stack).await;

    let (exit, report) = with_worker(&stack, cli_json(&stack, &UNLOCK)).await;
    assert_eq!(exit, Exit::Success, "{report:#}");
    assert_eq!(report["outcome"], "released", "{report:#}");
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["database"], DEPLOYMENT);
    assert_eq!(report["environment"], "staging");
    assert_eq!(report["repository"], REPOSITORY);
    assert_eq!(report["pr"], HOLDER);
    assert_eq!(report["locked_by"], "bob");
    assert!(report["job_id"]
        .as_str()
        .is_some_and(|j| j.starts_with("unlock:cli:")));
    // Attributed to the sender SQS vouches for.
    let actor = format!("cli:{EMULATOR_SENDER_ID}");
    assert_eq!(report["actor"], actor.as_str());

    assert_eq!(stack.store.get_lock(&key()).await.unwrap(), None);
    let told = holder_comments(&stack);
    assert_eq!(told.len(), 1, "{told:#?}");
    assert!(
        told[0].starts_with("## 🔓 Your Lock Was Released")
            && told[0].contains(EMULATOR_SENDER_ID)
            && told[0].contains("(SchemaBot CLI)"),
        "{}",
        told[0]
    );
    let trail = stack.store.list_lock_events(&key()).await.unwrap();
    assert!(
        trail.iter().any(
            |(event, who, pr, outcome)| event.as_str() == "lock_force_released"
                && *who == actor
                && *pr == HOLDER
                && outcome.as_str() == "released"
        ),
        "{trail:?}"
    );

    // Again: nothing left to release, which is what was asked (exit 0), and no second notice.
    let text = with_worker(&stack, cli(&stack, &UNLOCK)).await;
    assert_eq!(text.exit, Exit::Success, "{}", text.stderr);
    assert_eq!(
        text.stdout,
        format!("No lock on {DEPLOYMENT} in staging: nothing to release.\n")
    );
    assert!(text.stderr.contains("waiting up to 1m"), "{}", text.stderr);
    assert_eq!(holder_comments(&stack).len(), 1);
}

#[tokio::test]
async fn a_lock_being_applied_is_kept_and_exits_2() {
    let stack = Stack::start().await;
    let lock = planned_lock(&stack).await;
    let lease = Utc::now() + TimeDelta::minutes(10);
    let apply_id = ApplyId::parse("apply-00000000000000f2").unwrap();
    let (store, key, holder) = (&stack.store, key(), holder());
    let confirm = store.begin_confirm(&key, &holder, &lock.plan.head_sha, "c-1", false, lease);
    assert!(confirm.await.unwrap().is_written());
    let applying = store.mark_lock_applying(&key, "c-1", &apply_id, lease);
    assert!(applying.await.unwrap().is_written());

    let (exit, report) = with_worker(&stack, cli_json(&stack, &UNLOCK)).await;
    assert_eq!(exit, Exit::Refused, "{report:#}");
    assert_eq!(report["outcome"], "applying");
    assert_eq!(report["apply_id"], apply_id.as_str());
    assert_eq!(report["exit_code"], 2);
    let kept = stack.store.get_lock(&key).await.unwrap().expect("kept");
    assert!(matches!(kept.stage, LockStage::Applying { .. }));
    assert!(holder_comments(&stack).is_empty());
}

#[tokio::test]
async fn no_answer_within_the_timeout_exits_3_and_the_unlock_happens_later() {
    let stack = Stack::start().await;
    planned_lock(&stack).await;
    // Nobody runs the worker.
    let mut args = UNLOCK.to_vec();
    args.extend(["--timeout", "1s"]);
    let (exit, report) = cli_json(&stack, &args).await;
    assert_eq!(exit, Exit::Failed, "{report:#}");
    assert_eq!(report["outcome"], "timed_out");
    assert_eq!(report["exit_code"], 3);

    stack.deliver_all().await;
    assert_eq!(stack.store.get_lock(&key()).await.unwrap(), None);
    assert_eq!(holder_comments(&stack).len(), 1);
}
