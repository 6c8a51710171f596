//! Every lock can be settled: a `confirming` lock whose confirm stopped is settled by the sweep
//! once its lease ends — adopted when Tern accepted the apply, released (and the PR told) when
//! the confirm never reached Tern. Real webhook, SQS (moto), Tern stand-in over MariaDB.

use schemabot_domain::job::{ApplyConfirmJob, CommentOrigin, Job};
use schemabot_domain::lock::{LockKey, LockOwner, LockStage};
use schemabot_domain::{
    CommentId, Database, DeliveryId, Environment, InstallationId, Login, PrNumber,
};
use schemabot_tests::harness::{Stack, StackOptions, INSTALLATION, PR};
use schemabot_tests::services;
use schemabot_tests::tern_standin::TernStandinConfig;
use std::time::Duration;
use worker::outcome::Attempt;

const HEAD: &str = "8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90123";
const LEASE: Duration = Duration::from_millis(800);

struct Fixture {
    stack: Stack,
    database: String,
}

impl Fixture {
    async fn start() -> Fixture {
        let database = services::unique("lease_");
        let stack = Stack::start_with(StackOptions {
            tern: TernStandinConfig::from_env(),
            extra_deployments: vec![database.clone()],
            confirm_lease: LEASE,
            // Look for locks to settle on every sweep.
            lock_settle_interval: Duration::ZERO,
            ..StackOptions::default()
        })
        .await;
        stack
            .mysql_exec(&[
                &format!("CREATE DATABASE `{database}`"),
                &format!(
                    "CREATE TABLE `{database}`.`orders` (id bigint NOT NULL, PRIMARY KEY (id))"
                ),
            ])
            .await;
        stack.seed_pr_files(
            HEAD,
            &[
                (
                    "db/shop/schemabot.yaml",
                    &format!("database: {database}\ntype: mysql\n"),
                ),
                (
                    "db/shop/orders.sql",
                    "CREATE TABLE `orders` (\n  `id` bigint NOT NULL,\n  `note` varchar(64) NULL,\n  PRIMARY KEY (`id`)\n);\n",
                ),
            ],
        );
        stack.grant("alice", "write");
        let (status, _) = stack
            .comment("alice", "schemabot apply -e staging --defer-cutover")
            .await;
        assert_eq!(status, 202);
        stack.deliver_all().await;
        Fixture { stack, database }
    }

    fn key(&self) -> LockKey {
        LockKey {
            database: Database::parse(&self.database).unwrap(),
            environment: Environment::parse("staging").unwrap(),
        }
    }

    fn confirm_job(&self, comment: u64) -> Job {
        Job::ApplyConfirm(ApplyConfirmJob {
            origin: CommentOrigin {
                delivery_id: DeliveryId::parse(&format!("delivery-{comment}")).unwrap(),
                installation_id: InstallationId(INSTALLATION),
                repository: Stack::repository(),
                pr: PrNumber(PR),
                comment_id: CommentId(comment),
                commenter: Login("alice".into()),
            },
            environment: Environment::parse("staging").unwrap(),
            database: None,
            allow_unsafe: false,
        })
    }

    async fn stage(&self) -> Option<LockStage> {
        self.stack
            .store
            .get_lock(&self.key())
            .await
            .unwrap()
            .map(|l| l.stage)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_confirm_that_died_after_tern_accepted_is_adopted_by_the_sweep() {
    let fx = Fixture::start().await;
    let stack = &fx.stack;
    // Tern starts the apply; its answer is lost and the worker never comes back for the job.
    stack.tern.lose_next_responses(1);
    let died = stack
        .worker
        .run_job(&fx.confirm_job(9001), Attempt::first())
        .await;
    assert!(died.is_err(), "{died:?}");
    assert_eq!(stack.tern.counts().applies_started, 1);
    assert!(matches!(
        fx.stage().await,
        Some(LockStage::Confirming { .. })
    ));

    // Before the lease ends the sweep leaves it alone.
    let early = stack.worker.sweep().await;
    assert_eq!(early.locks.due, 0, "{early:?}");

    tokio::time::sleep(LEASE + Duration::from_millis(300)).await;
    let report = stack.worker.sweep().await;
    assert_eq!(report.locks.adopted, 1, "{report:?}");
    assert_eq!(
        stack.tern.counts().applies_started,
        1,
        "no second schema change"
    );
    let Some(LockStage::Applying { apply_id, .. }) = fx.stage().await else {
        panic!("the lock follows the apply: {:?}", fx.stage().await);
    };
    assert_eq!(stack.tern.apply_ids(), vec![apply_id.to_string()]);
    assert!(stack.store.get_apply(&apply_id).await.unwrap().is_some());
    let comments = stack.pr_comments();
    assert!(
        comments.iter().any(|c| c.contains(apply_id.as_str())
            && c.contains(&format!("schemabot:progress:{apply_id}"))),
        "the progress comment appears: {comments:#?}"
    );
    // Settled once: the next sweep has nothing due.
    tokio::time::sleep(LEASE + Duration::from_millis(300)).await;
    assert_eq!(stack.worker.sweep().await.locks.due, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_confirm_that_died_before_calling_tern_is_released_and_the_pr_told() {
    let fx = Fixture::start().await;
    let stack = &fx.stack;
    let job = fx.confirm_job(9002);
    // The worker moved the lock to `confirming` and died before it called Tern.
    let lock = stack.store.get_lock(&fx.key()).await.unwrap().unwrap();
    let owner = LockOwner {
        repository: Stack::repository(),
        pr: PrNumber(PR),
    };
    stack
        .store
        .begin_confirm(
            &fx.key(),
            &owner,
            &lock.plan.head_sha,
            &job.id(),
            false,
            chrono::Utc::now() + chrono::TimeDelta::from_std(LEASE).unwrap(),
        )
        .await
        .unwrap();
    let before = stack.pr_comments().len();

    tokio::time::sleep(LEASE + Duration::from_millis(300)).await;
    let report = stack.worker.sweep().await;
    assert_eq!(report.locks.released, 1, "{report:?}");
    assert_eq!(fx.stage().await, None, "the database is free");
    assert_eq!(stack.tern.counts().apply, 0, "Tern was never asked");
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), before + 1, "{comments:#?}");
    let told = comments.last().unwrap();
    assert!(told.contains("stopped before it reached Tern"), "{told}");
    // Another PR can take the database now.
    assert!(stack.store.pr_lock_keys(&owner).await.unwrap().is_empty());
}
