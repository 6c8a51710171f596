//! A confirmed apply whose registration meets a transient Tern failure: the first `Progress`
//! after Tern accepted answers `UNAVAILABLE` once. The retry must finish the registration — the
//! apply record, the progress comment, the lock following the apply — instead of taking an
//! earlier comment of the job for its reply and stopping (`apply -y` used to end with the locked
//! plan and nothing after it, the lock stuck in `applying` and the change untracked).
//!
//! Real local services (moto, MariaDB, the stand-ins) and the worker's own batch handling.

use schemabot_domain::lock::{LockKey, LockStage};
use schemabot_domain::{ApplyId, Database, Environment, PrNumber, State};
use schemabot_tests::harness::{Stack, StackOptions, PR};
use schemabot_tests::progress_support::{apply_state, ProgressTiming};
use schemabot_tests::services;
use schemabot_tests::tern_standin::TernStandinConfig;

const HEAD: &str = "4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b";
const LOCKED_PLAN: &str = "## 🔒 Apply Plan — Locked";

/// A stack with a fresh database (an `orders` table) and a PR that adds a column to it.
struct Fixture {
    stack: Stack,
    database: String,
}

impl Fixture {
    async fn start() -> Fixture {
        let database = services::unique("shop_");
        let mut stack = Stack::start_with(StackOptions {
            tern: TernStandinConfig::from_env().with_ddl_on_completion(true),
            extra_deployments: vec![database.clone()],
            ..StackOptions::default()
        })
        .await;
        ProgressTiming::immediate().apply_to(&mut stack);
        stack
            .mysql_exec(&[
                &format!("CREATE DATABASE `{database}`"),
                &format!(
                    "CREATE TABLE `{database}`.`orders` (id bigint NOT NULL AUTO_INCREMENT, status varchar(32) NOT NULL, PRIMARY KEY (id))"
                ),
            ])
            .await;
        stack.grant("alice", "write");
        stack.seed_pr_files_on(
            PR,
            HEAD,
            &[
                (
                    "schemas/shop/schemabot.yaml",
                    &format!("database: {database}\ntype: mysql\n"),
                ),
                (
                    "schemas/shop/orders.sql",
                    "CREATE TABLE `orders` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n  `status` varchar(32) NOT NULL,\n  `note` varchar(64) NULL,\n  PRIMARY KEY (`id`)\n);\n",
                ),
            ],
        );
        Fixture { stack, database }
    }

    fn key(&self) -> LockKey {
        LockKey {
            database: Database::parse(&self.database).unwrap(),
            environment: Environment::parse("staging").unwrap(),
        }
    }

    fn count(&self, text: &str) -> usize {
        self.stack
            .pr_comments()
            .iter()
            .filter(|c| c.contains(text))
            .count()
    }

    async fn say(&self, body: &str) {
        let (status, reply) = self.stack.comment("alice", body).await;
        assert_eq!(status, 202, "{body}: {reply}");
        self.stack.deliver_all().await;
    }

    /// The lock's apply id; panics unless the lock is `applying`.
    async fn applying_id(&self) -> ApplyId {
        let lock = self.stack.store.get_lock(&self.key()).await.unwrap();
        match lock.map(|l| l.stage) {
            Some(LockStage::Applying { apply_id, .. }) => apply_id,
            other => panic!(
                "expected an applying lock, got {other:?}; comments: {:#?}",
                self.stack.pr_comments()
            ),
        }
    }

    /// The apply is registered, has exactly one progress comment, and the lock follows it to
    /// its end: released once the apply completed.
    async fn assert_registered_and_followed(&self) {
        let stack = &self.stack;
        assert_eq!(stack.tern.counts().applies_started, 1, "one Tern apply");
        let apply_id = self.applying_id().await;
        assert!(
            stack.store.get_apply(&apply_id).await.unwrap().is_some(),
            "the apply is registered"
        );
        let marker = format!("schemabot:progress:{apply_id}");
        assert_eq!(self.count(&marker), 1, "{:#?}", stack.pr_comments());
        assert_eq!(self.count("Apply Already in Progress"), 0);

        for _ in 0..6 {
            stack.worker.sweep().await;
            if apply_state(stack, &apply_id).await == State::Completed {
                break;
            }
            let _ = stack.tern.finish_copy(apply_id.as_str());
            let _ = stack.tern.advance(apply_id.as_str(), 1);
        }
        assert_eq!(apply_state(stack, &apply_id).await, State::Completed);
        assert_eq!(
            stack.store.get_lock(&self.key()).await.unwrap(),
            None,
            "the lock is released with the apply"
        );
        assert_eq!(self.count("## ✅ Schema Change Applied"), 1);
    }

    async fn cleanup(self) {
        self.stack
            .mysql_exec(&[&format!("DROP DATABASE IF EXISTS `{}`", self.database)])
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apply_y_whose_first_progress_fails_registers_on_retry() {
    let fx = Fixture::start().await;
    fx.stack.tern.fail_next_progress(1);
    fx.say("schemabot apply -e staging -y").await;

    assert_eq!(
        fx.stack.tern.counts().injected_failures,
        1,
        "Progress failed once"
    );
    assert_eq!(fx.count(LOCKED_PLAN), 1, "{:#?}", fx.stack.pr_comments());
    // The plan comment has a marker of its own, apart from the job's replies.
    let plan_marker = format!(":plan:{} -->", fx.database);
    assert_eq!(fx.count(&plan_marker), 1, "{:#?}", fx.stack.pr_comments());
    assert_eq!(
        fx.stack.tern.counts().plan,
        1,
        "the retry does not plan again"
    );
    fx.assert_registered_and_followed().await;
    assert_eq!(fx.stack.pr_comments().len(), 3, "plan, progress, summary");
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apply_confirm_whose_first_progress_fails_registers_on_retry() {
    let fx = Fixture::start().await;
    fx.say("schemabot apply -e staging").await;
    assert_eq!(
        fx.stack
            .store
            .get_lock(&fx.key())
            .await
            .unwrap()
            .map(|l| l.stage),
        Some(LockStage::Planned),
        "{:#?}",
        fx.stack.pr_comments()
    );
    fx.stack.tern.fail_next_progress(1);
    fx.say("schemabot apply-confirm -e staging").await;

    assert_eq!(
        fx.stack.tern.counts().injected_failures,
        1,
        "Progress failed once"
    );
    fx.assert_registered_and_followed().await;
    assert_eq!(fx.count(LOCKED_PLAN), 1);
    assert_eq!(
        fx.stack
            .github
            .comments(&Stack::repository(), PrNumber(PR))
            .len(),
        3,
        "plan, progress, summary: {:#?}",
        fx.stack.pr_comments()
    );
    fx.cleanup().await;
}
