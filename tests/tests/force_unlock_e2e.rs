//! `schemabot unlock --force -d <db> -e <env>` end to end: a signed webhook → SQS FIFO → the
//! worker → DynamoDB (moto) and GitHub (REST stand-in). An admin releases another PR's planned
//! lock, that PR is told once and the release is audited; a non-admin, a database the repository
//! does not own, a lock being applied and a lock being confirmed are refused with nothing
//! released; a redelivered command releases once and answers once, even after another PR took
//! the lock.

use chrono::{TimeDelta, Utc};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::command::ApplyFlags;
use schemabot_domain::job::{CommandSource, CommentOrigin, ForceUnlockJob, Job};
use schemabot_domain::lock::{Lock, LockKey, LockOwner, LockStage, LockedPlan};
use schemabot_domain::{
    ApplyId, CommentId, Database, DeliveryId, Environment, InstallationId, Login, PrNumber,
};
use schemabot_tests::harness::{Stack, StackOptions, DEPLOYMENT, INSTALLATION, PR};
use worker::outcome::Attempt;

/// The PR holding the lock (the stack's PR is the one that asks).
const HOLDER: u64 = 41;
const FORCE: &str = "schemabot unlock --force -d payments -e staging";

fn key() -> LockKey {
    LockKey {
        database: Database::parse(DEPLOYMENT).unwrap(),
        environment: Environment::parse("staging").unwrap(),
    }
}

fn owner(pr: u64) -> LockOwner {
    LockOwner {
        repository: Stack::repository(),
        pr: PrNumber(pr),
    }
}

/// A planned lock of `pr` on payments/staging, as `apply` takes it.
async fn lock_for(stack: &Stack, pr: u64) -> Lock {
    let now = Utc::now();
    let plan: LockedPlan = serde_json::from_value(serde_json::json!({
        "head_sha": "4c5d6e7f8091a2b3c9f1", "deployment": DEPLOYMENT, "database_type": "mysql",
        "plan_id": "", "changes": [], "schema_files": {}, "schema_digest": "d1",
        "flags": ApplyFlags::default(),
    }))
    .unwrap();
    let lock = Lock {
        key: key(),
        owner: owner(pr),
        installation_id: InstallationId(INSTALLATION),
        locked_by: Login(format!("author-{pr}")),
        stage: LockStage::Planned,
        plan,
        acquired_at: now,
        lease_expires_at: now + TimeDelta::hours(24),
    };
    let taken = stack.store.acquire_lock(&lock, now).await.unwrap();
    assert!(taken.is_written(), "the lock was free");
    lock
}

/// `pr`'s lock confirmed, and with `apply_id` being applied.
async fn confirmed_lock(stack: &Stack, pr: u64, apply_id: Option<&ApplyId>) {
    let lock = lock_for(stack, pr).await;
    let lease = Utc::now() + TimeDelta::minutes(10);
    let confirm = stack
        .store
        .begin_confirm(
            &key(),
            &owner(pr),
            &lock.plan.head_sha,
            "confirm-1",
            false,
            lease,
        )
        .await
        .unwrap();
    assert!(confirm.is_written());
    if let Some(apply_id) = apply_id {
        let applying = stack
            .store
            .mark_lock_applying(&key(), "confirm-1", apply_id, lease)
            .await
            .unwrap();
        assert!(applying.is_written());
    }
}

/// The PR holding payments/staging, if any.
async fn holder_of(stack: &Stack) -> Option<PrNumber> {
    let lock = stack.store.get_lock(&key()).await.unwrap();
    lock.map(|lock| lock.owner.pr)
}

fn comments_on(stack: &Stack, pr: u64) -> Vec<String> {
    stack
        .github
        .comments(&Stack::repository(), PrNumber(pr))
        .into_iter()
        .map(|c| c.body)
        .collect()
}

async fn say(stack: &Stack, login: &str, body: &str) {
    let (status, reply) = stack.comment(login, body).await;
    assert_eq!(status, 202, "{body}: {reply}");
    assert_eq!(reply["job"], "force_unlock", "{body}: {reply}");
    stack.deliver_all().await;
}

/// The (event, actor, PR, outcome) trail of payments/staging.
async fn trail(stack: &Stack) -> Vec<(EventKind, String, u64, Outcome)> {
    stack.store.list_lock_events(&key()).await.unwrap()
}

async fn stack() -> Stack {
    let stack = Stack::start().await;
    stack.grant("alice-admin", "admin");
    stack.grant("bob-writer", "write");
    stack
}

#[tokio::test]
async fn an_admin_releases_another_prs_planned_lock_and_that_pr_is_told_once() {
    let stack = stack().await;
    lock_for(&stack, HOLDER).await;

    say(&stack, "alice-admin", FORCE).await;

    assert_eq!(stack.store.get_lock(&key()).await.unwrap(), None);
    assert!(stack
        .store
        .pr_lock_keys(&owner(HOLDER))
        .await
        .unwrap()
        .is_empty());
    let told = comments_on(&stack, HOLDER);
    assert_eq!(told.len(), 1, "{told:#?}");
    assert!(
        told[0].starts_with("## 🔓 Your Lock Was Released"),
        "{}",
        told[0]
    );
    // Who released it (not notified again) and from which PR.
    assert!(told[0].contains("@\u{200b}alice-admin"), "{}", told[0]);
    assert!(told[0].contains(&format!("schemas\\#{PR}")), "{}", told[0]);
    let replies = comments_on(&stack, PR);
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert!(
        replies[0].starts_with("## 🔓 Lock Released"),
        "{}",
        replies[0]
    );
    assert!(
        replies[0].contains(&format!("schemas\\#{HOLDER}")),
        "{}",
        replies[0]
    );

    let released: Vec<_> = trail(&stack)
        .await
        .into_iter()
        .filter(|(event, ..)| event.as_str() == "lock_force_released")
        .collect();
    assert_eq!(
        released,
        [(
            EventKind::parse("lock_force_released"),
            "alice-admin".to_string(),
            HOLDER,
            Outcome::Released
        )]
    );
    // The database is free: the PR that asked can take the lock now.
    lock_for(&stack, PR).await;
}

#[tokio::test]
async fn a_non_admin_is_refused_and_nothing_is_released() {
    let stack = stack().await;
    lock_for(&stack, HOLDER).await;

    say(&stack, "bob-writer", FORCE).await;

    assert_eq!(holder_of(&stack).await, Some(PrNumber(HOLDER)));
    assert!(comments_on(&stack, HOLDER).is_empty());
    let replies = comments_on(&stack, PR);
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert!(
        replies[0].starts_with("## Permission Denied"),
        "{}",
        replies[0]
    );
    assert!(
        replies[0].contains("requires `admin` permission on this repository; you have `write`"),
        "{}",
        replies[0]
    );
    assert!(trail(&stack).await.contains(&(
        EventKind::parse("lock_force_release_refused"),
        "bob-writer".to_string(),
        PR,
        Outcome::PermissionDenied
    )));

    // GitHub not answering is a refusal too (fail closed), once the retries are spent.
    stack.github.remove_permission("bob-writer");
    say(&stack, "bob-writer", FORCE).await;
    assert_eq!(holder_of(&stack).await, Some(PrNumber(HOLDER)));
}

#[tokio::test]
async fn a_lock_being_applied_or_confirmed_is_never_force_released() {
    let stack = stack().await;
    let apply_id = ApplyId::parse("apply-00000000000000f1").unwrap();
    confirmed_lock(&stack, HOLDER, Some(&apply_id)).await;

    say(&stack, "alice-admin", FORCE).await;

    let lock = stack.store.get_lock(&key()).await.unwrap().expect("kept");
    assert!(matches!(lock.stage, LockStage::Applying { .. }));
    assert!(comments_on(&stack, HOLDER).is_empty());
    let replies = comments_on(&stack, PR);
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert!(replies[0].starts_with("## 🔒 Lock Kept"), "{}", replies[0]);
    assert!(
        replies[0].contains(&format!("`schemabot cancel {apply_id} -e staging`")),
        "{}",
        replies[0]
    );
    assert!(trail(&stack).await.contains(&(
        EventKind::parse("lock_force_release_refused"),
        "alice-admin".to_string(),
        HOLDER,
        Outcome::Applying
    )));

    // A confirm in flight: kept, and the reply says the lease settles it.
    let other = Stack::start().await;
    other.grant("alice-admin", "admin");
    confirmed_lock(&other, HOLDER, None).await;
    say(&other, "alice-admin", FORCE).await;
    let lock = other.store.get_lock(&key()).await.unwrap().expect("kept");
    assert!(matches!(lock.stage, LockStage::Confirming { .. }));
    let replies = comments_on(&other, PR);
    assert!(replies[0].contains("lease expires"), "{}", replies[0]);
}

#[tokio::test]
async fn no_lock_is_answered_as_such() {
    let stack = stack().await;
    say(&stack, "alice-admin", FORCE).await;
    let replies = comments_on(&stack, PR);
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert!(
        replies[0].starts_with("## 🔓 Nothing To Unlock"),
        "{}",
        replies[0]
    );
}

#[tokio::test]
async fn a_redelivered_force_unlock_releases_once_and_answers_once() {
    let stack = stack().await;
    lock_for(&stack, HOLDER).await;
    let job = Job::ForceUnlock(ForceUnlockJob {
        source: CommandSource::PrComment(CommentOrigin {
            delivery_id: DeliveryId::parse("delivery-7001").unwrap(),
            installation_id: InstallationId(INSTALLATION),
            repository: Stack::repository(),
            pr: PrNumber(PR),
            comment_id: CommentId(7001),
            commenter: Login("alice-admin".into()),
        }),
        database: key().database,
        environment: key().environment,
    });
    let attempt = |receive_count| Attempt {
        receive_count,
        max_receive_count: 5,
    };
    stack.worker.run_job(&job, attempt(1)).await.unwrap();
    assert_eq!(stack.store.get_lock(&key()).await.unwrap(), None);
    // Meanwhile another PR takes the free lock: the redeliveries must leave it alone.
    lock_for(&stack, 43).await;
    for receive_count in [2, 3] {
        stack
            .worker
            .run_job(&job, attempt(receive_count))
            .await
            .unwrap();
    }

    assert_eq!(holder_of(&stack).await, Some(PrNumber(43)));
    assert_eq!(comments_on(&stack, HOLDER).len(), 1);
    assert!(comments_on(&stack, 43).is_empty());
    let replies = comments_on(&stack, PR);
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert!(
        replies[0].contains(&format!("schemas\\#{HOLDER}")),
        "{}",
        replies[0]
    );
    let releases = trail(&stack)
        .await
        .into_iter()
        .filter(|(event, ..)| event.as_str() == "lock_force_released")
        .count();
    assert_eq!(releases, 1);
}

#[tokio::test]
async fn a_database_the_repository_does_not_own_is_refused() {
    let stack = Stack::start_with(StackOptions {
        extra_deployments: vec!["ledger".into()],
        foreign_owned: vec!["ledger".into()],
        ..StackOptions::default()
    })
    .await;
    stack.grant("alice-admin", "admin");
    let ledger = LockKey {
        database: Database::parse("ledger").unwrap(),
        environment: Environment::parse("staging").unwrap(),
    };

    say(
        &stack,
        "alice-admin",
        "schemabot unlock --force -d ledger -e staging",
    )
    .await;

    let replies = comments_on(&stack, PR);
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert!(
        replies[0].starts_with("## 🚫 Not Configured For This Repository")
            && replies[0].contains("`schemabot unlock --force`"),
        "{}",
        replies[0]
    );
    let trail = stack.store.list_lock_events(&ledger).await.unwrap();
    assert_eq!(
        trail,
        [(
            EventKind::parse("lock_force_release_refused"),
            "alice-admin".to_string(),
            PR,
            Outcome::RepositoryNotAllowed
        )]
    );
}
