//! Databases are owned: a pull request of a repository the deployments map does not bind to a
//! database cannot plan, lock, apply or cut it over — whatever its own `schemabot.yaml` names.
//! Signed webhooks → SQS → the worker's own batch handling, on the real local services.

use schemabot_domain::lock::LockKey;
use schemabot_domain::{Database, Environment};
use schemabot_tests::harness::{Stack, StackOptions, DEPLOYMENT};
use schemabot_tests::services;
use schemabot_tests::tern_standin::TernStandinConfig;
use worker::deployments::Deployments;

const HEAD: &str = "7a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
const NOT_OWNED: &str = "## 🚫 Not Configured For This Repository";

/// A stack where the database the PR names is served, but owned by another repository.
async fn foreign_database() -> (Stack, String) {
    let database = services::unique("pay_");
    let stack = Stack::start_with(StackOptions {
        tern: TernStandinConfig::from_env(),
        extra_deployments: vec![database.clone()],
        foreign_owned: vec![database.clone()],
        ..StackOptions::default()
    })
    .await;
    stack
        .mysql_exec(&[
            &format!("CREATE DATABASE `{database}`"),
            &format!("CREATE TABLE `{database}`.`ledger` (id bigint NOT NULL, PRIMARY KEY (id))"),
        ])
        .await;
    stack.seed_pr_files(
        HEAD,
        &[
            (
                "side/schema/schemabot.yaml",
                &format!("database: {database}\ntype: mysql\n"),
            ),
            (
                "side/schema/ledger.sql",
                "CREATE TABLE `ledger` (\n  `id` bigint NOT NULL,\n  `amount` bigint NULL,\n  PRIMARY KEY (`id`)\n);\n",
            ),
        ],
    );
    stack.grant("mallory", "admin");
    (stack, database)
}

fn key(database: &str, environment: &str) -> LockKey {
    LockKey {
        database: Database::parse(database).unwrap(),
        environment: Environment::parse(environment).unwrap(),
    }
}

#[tokio::test]
async fn a_repository_not_bound_to_the_database_cannot_lock_or_apply_it() {
    let (stack, database) = foreign_database().await;
    for command in [
        "schemabot apply -e production",
        "schemabot apply -e staging --defer-cutover",
        "schemabot apply-confirm -e production",
    ] {
        let (status, body) = stack.comment("mallory", command).await;
        assert_eq!(status, 202, "{command}: {body}");
    }
    stack.deliver_all().await;

    let counts = stack.tern.counts();
    assert_eq!(
        (counts.plan, counts.apply, counts.plan_diff),
        (0, 0, 0),
        "no Tern call for a database this repository does not own"
    );
    for environment in ["staging", "production"] {
        assert!(
            stack
                .store
                .get_lock(&key(&database, environment))
                .await
                .unwrap()
                .is_none(),
            "no lock written in {environment}"
        );
    }
    let comments = stack.pr_comments();
    let refusals: Vec<&String> = comments
        .iter()
        .filter(|c| c.starts_with(NOT_OWNED))
        .collect();
    assert_eq!(refusals.len(), 2, "apply twice refused: {comments:#?}");
    for refusal in &refusals {
        assert!(
            refusal.contains(&format!(
                "Database `{database}` is not configured for this repository"
            )),
            "{refusal}"
        );
        assert!(
            refusal.contains("`acme-payments/schemas` is not among the repositories"),
            "{refusal}"
        );
        assert!(!refusal.contains("ALTER TABLE"), "no DDL: {refusal}");
    }
    // apply-confirm finds no lock to run: nothing was ever locked.
    assert!(
        comments.iter().any(|c| c.starts_with("## No Locked Plan")),
        "{comments:#?}"
    );
}

#[tokio::test]
async fn plans_name_the_refusal_and_never_show_ddl() {
    let (stack, database) = foreign_database().await;
    // An automatic plan on push and one asked for by comment.
    let (status, _) = stack.pull_request_event("synchronize", HEAD).await;
    assert!(status == 200 || status == 202, "{status}");
    let (status, _) = stack
        .comment("mallory", "schemabot plan -e production")
        .await;
    assert_eq!(status, 202);
    stack.deliver_all().await;

    assert_eq!(stack.tern.counts().plan, 0, "no plan asked of Tern");
    let comments = stack.pr_comments();
    assert!(!comments.is_empty());
    for comment in &comments {
        assert!(!comment.contains("ALTER TABLE"), "{comment}");
        assert!(!comment.contains("`amount`"), "{comment}");
    }
    assert!(
        comments
            .iter()
            .any(|c| c.contains(&database) && c.contains("is not configured for this repository")),
        "{comments:#?}"
    );
}

#[tokio::test]
async fn a_cutover_is_refused_once_the_repository_no_longer_owns_the_database() {
    let mut stack = Stack::start().await;
    stack.grant("alice", "write");
    let apply = stack
        .waiting_apply(
            "staging",
            &[("orders", "ALTER TABLE orders ADD COLUMN x int")],
        )
        .await;
    // The operator removed this repository from the deployment: its applies can no longer be
    // cut over from its PRs.
    let endpoint = stack.tern.endpoint().to_string();
    stack.worker.config.deployments =
        Deployments::default().with(DEPLOYMENT, "staging", &endpoint, &stack.mysql_dsn);

    stack
        .comment(
            "alice",
            &format!("schemabot cutover {} -e staging", apply.id),
        )
        .await;
    stack.deliver_all().await;

    assert_eq!(stack.tern.cutover_calls(), 0);
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(comments[0].starts_with(NOT_OWNED), "{}", comments[0]);
    let stored = stack.store.get_apply(&apply.id).await.unwrap().unwrap();
    assert!(stored.claim.is_none(), "nothing claimed");
}
