//! The apply tests' fixture: a stack whose deployments include a fresh MariaDB database with
//! an `orders` table, the PR's schema directory for it, and helpers to drive and inspect it.
#![allow(dead_code)]

use schemabot_domain::job::{ApplyConfirmJob, CommentOrigin, Job};
use schemabot_domain::lock::{LockKey, LockStage};
use schemabot_domain::{
    ApplyId, CommentId, Database, DeliveryId, Environment, InstallationId, Login, PrNumber,
};
use schemabot_tests::harness::{Stack, StackOptions, INSTALLATION, PR};
use schemabot_tests::progress_support::ProgressTiming;
use schemabot_tests::services;
use schemabot_tests::tern_standin::TernStandinConfig;
use worker::outcome::Attempt;

pub const HEAD: &str = "4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b";
pub const NEXT_HEAD: &str = "5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b4c";
pub const OTHER_PR: u64 = PR + 1;
pub const LOCKED_PLAN: &str = "## 🔒 Apply Plan — Locked";

/// A stack whose deployments include a fresh database with an `orders` table, and the PR's
/// schema directory for it (adding a column and an index; `drop_legacy` also drops a column).
pub struct Fixture {
    pub stack: Stack,
    pub database: String,
}

impl Fixture {
    pub async fn start(customize: impl FnOnce(&mut StackOptions)) -> Fixture {
        let database = services::unique("shop_");
        let mut options = StackOptions {
            tern: TernStandinConfig::from_env().with_ddl_on_completion(true),
            extra_deployments: vec![database.clone()],
            ..StackOptions::default()
        };
        customize(&mut options);
        let mut stack = Stack::start_with(options).await;
        // Every reconciliation edits the progress comment at once (no 5 s edit spacing).
        ProgressTiming::immediate().apply_to(&mut stack);
        stack
            .mysql_exec(&[
                &format!("CREATE DATABASE `{database}`"),
                &format!(
                    "CREATE TABLE `{database}`.`orders` (id bigint NOT NULL AUTO_INCREMENT, status varchar(32) NOT NULL, legacy int NULL, PRIMARY KEY (id))"
                ),
            ])
            .await;
        stack.grant("alice", "write");
        stack.grant("bob", "write");
        let fixture = Fixture { stack, database };
        fixture.seed(PR, HEAD, false);
        fixture
    }

    pub fn seed(&self, pr: u64, head: &str, drop_legacy: bool) {
        let legacy = if drop_legacy {
            ""
        } else {
            "  `legacy` int NULL,\n"
        };
        let orders = format!(
            "CREATE TABLE `orders` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n  `status` varchar(32) NOT NULL,\n{legacy}  `note` varchar(64) NULL,\n  PRIMARY KEY (`id`),\n  KEY `idx_status` (`status`)\n);\n"
        );
        self.stack.seed_pr_files_on(
            pr,
            head,
            &[
                (
                    "schemas/shop/schemabot.yaml",
                    &format!("database: {}\ntype: mysql\n", self.database),
                ),
                ("schemas/shop/orders.sql", &orders),
            ],
        );
    }

    pub fn key(&self, environment: &str) -> LockKey {
        LockKey {
            database: Database::parse(&self.database).unwrap(),
            environment: Environment::parse(environment).unwrap(),
        }
    }

    pub fn comments_on(&self, pr: u64) -> Vec<String> {
        self.stack
            .github
            .comments(&Stack::repository(), PrNumber(pr))
            .into_iter()
            .map(|c| c.body)
            .collect()
    }

    pub fn count(&self, pr: u64, text: &str) -> usize {
        self.comments_on(pr)
            .iter()
            .filter(|c| c.contains(text))
            .count()
    }

    pub async fn say(&self, pr: u64, login: &str, body: &str) {
        let (status, reply) = self.stack.comment_on(pr, login, body).await;
        assert_eq!(status, 202, "{body}: {reply}");
        self.stack.deliver_all().await;
    }

    /// `apply` then `apply-confirm` in `environment` by alice: the apply Tern started.
    pub async fn apply_and_confirm(&self, environment: &str) -> ApplyId {
        self.say(PR, "alice", &format!("schemabot apply -e {environment}"))
            .await;
        self.say(
            PR,
            "alice",
            &format!("schemabot apply-confirm -e {environment}"),
        )
        .await;
        self.applying_id(environment).await
    }

    pub async fn applying_id(&self, environment: &str) -> ApplyId {
        let lock = self
            .stack
            .store
            .get_lock(&self.key(environment))
            .await
            .unwrap()
            .expect("a lock");
        match lock.stage {
            LockStage::Applying { apply_id, .. } => apply_id,
            other => panic!("expected an applying lock, got {other:?}"),
        }
    }

    pub async fn columns(&self) -> Vec<String> {
        use mysql_async::prelude::Queryable;
        let pool = mysql_async::Pool::new(self.stack.mysql_dsn.as_str());
        let mut conn = pool.get_conn().await.unwrap();
        let columns: Vec<String> = conn
            .exec(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = 'orders' ORDER BY ordinal_position",
                (self.database.as_str(),),
            )
            .await
            .unwrap();
        drop(conn);
        pool.disconnect().await.unwrap();
        columns
    }

    pub async fn cleanup(self) {
        self.stack
            .mysql_exec(&[&format!("DROP DATABASE IF EXISTS `{}`", self.database)])
            .await;
    }
}

pub fn confirm_job(comment_id: u64) -> Job {
    Job::ApplyConfirm(ApplyConfirmJob {
        origin: CommentOrigin {
            delivery_id: DeliveryId::parse(&format!("d-{comment_id}")).unwrap(),
            installation_id: InstallationId(INSTALLATION),
            repository: Stack::repository(),
            pr: PrNumber(PR),
            comment_id: CommentId(comment_id),
            commenter: Login("alice".into()),
        },
        environment: Environment::parse("staging").unwrap(),
        database: None,
        allow_unsafe: false,
    })
}

pub fn attempt(receive_count: u32) -> Attempt {
    Attempt {
        receive_count,
        max_receive_count: 5,
    }
}
