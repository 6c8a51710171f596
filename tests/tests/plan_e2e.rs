//! `schemabot plan` end to end: webhook → SQS → worker → GitHub contents API → Tern stand-in
//! Plan over the real MariaDB schema → one plan comment per (database, environment), edited by
//! re-plans; and automatic plans on `pull_request` pushes.
//!
//! The database is named after the harness's deployment (`payments`), so its live schema is the
//! MariaDB schema `payments`; the table name is unique per run so parallel runs do not collide.

use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::lock::LockKey;
use schemabot_domain::{Database, Environment};
use schemabot_tests::harness::Stack;
use schemabot_tests::services;

const HEAD: &str = "4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b";
const NEXT_HEAD: &str = "5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b4c";

fn plan_comments(stack: &Stack) -> Vec<String> {
    stack
        .pr_comments()
        .into_iter()
        .filter(|c| c.contains("Schema Change Plan"))
        .collect()
}

#[tokio::test]
async fn plan_comment_is_posted_edited_and_refreshed_on_push() {
    let stack = Stack::start().await;
    // Asking for a plan by comment needs the environments' read minimum (`triage`).
    stack.grant("alice", "triage");
    let table = services::unique("orders_");
    stack
        .mysql_exec(&[
            "CREATE DATABASE IF NOT EXISTS `payments`",
            &format!(
                "CREATE TABLE `payments`.`{table}` (id bigint NOT NULL AUTO_INCREMENT, status varchar(32) NOT NULL, legacy int NULL, PRIMARY KEY (id))"
            ),
        ])
        .await;
    let desired = format!(
        "CREATE TABLE `{table}` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n  `status` varchar(32) NOT NULL,\n  `legacy` int NULL,\n  `note` varchar(64) NULL,\n  PRIMARY KEY (`id`),\n  KEY `idx_status` (`status`)\n);\n"
    );
    stack.seed_pr_files(
        HEAD,
        &[
            (
                "schemas/payments/schemabot.yaml",
                "database: payments\ntype: mysql\n",
            ),
            ("schemas/payments/orders.sql", &desired),
            ("README.md", "docs"),
        ],
    );

    // A file of the schema directory the PR does not touch is still part of the plan (Tern
    // plans the whole directory): its table does not exist yet, so it is created.
    let untouched = services::unique("customers_");
    stack.github.seed_file(
        &Stack::repository(),
        HEAD,
        "schemas/payments/customers.sql",
        &format!("CREATE TABLE `{untouched}` (`id` bigint NOT NULL, PRIMARY KEY (`id`));\n"),
    );

    // 1. `plan -e staging`: one plan comment with the ALTER.
    let (status, body) = stack.comment("alice", "schemabot plan -e staging").await;
    assert_eq!(
        (status, body["job"].as_str()),
        (202, Some("plan")),
        "{body}"
    );
    stack.deliver_all().await;
    let plans = plan_comments(&stack);
    assert_eq!(plans.len(), 1, "{plans:#?}");
    let first = &plans[0];
    assert!(first.contains("**Environment**: `staging`"), "{first}");
    assert!(
        first.contains(&format!(
            "ALTER TABLE `{table}` ADD COLUMN `note` varchar(64) NULL, ADD KEY `idx_status` (`status`)"
        )),
        "{first}"
    );
    assert!(first.contains("```sql"), "{first}");
    assert!(
        first.contains(&format!("CREATE TABLE `{untouched}`")),
        "{first}"
    );
    assert!(first.contains("<!-- schemabot:plan:"), "{first}");
    let comments_after_first = stack.pr_comments().len();
    // The plan is on the (database, environment) audit trail, by the commenter.
    let staging = LockKey {
        database: Database::parse("payments").unwrap(),
        environment: Environment::parse("staging").unwrap(),
    };
    let trail = stack.store.list_lock_events(&staging).await.unwrap();
    assert_eq!(
        trail,
        vec![(
            EventKind::PlanPosted,
            "alice".to_string(),
            schemabot_tests::harness::PR,
            Outcome::Changes
        )]
    );

    // 2. A second plan edits the same comment; the live schema changed meanwhile.
    stack
        .mysql_exec(&[&format!(
            "ALTER TABLE `payments`.`{table}` ADD COLUMN note varchar(64) NULL"
        )])
        .await;
    stack.comment("alice", "schemabot plan -e staging").await;
    stack.deliver_all().await;
    let plans = plan_comments(&stack);
    assert_eq!(plans.len(), 1, "re-plan must edit, not post: {plans:#?}");
    assert!(!plans[0].contains("ADD COLUMN `note`"), "{}", plans[0]);
    assert!(plans[0].contains("ADD KEY `idx_status`"), "{}", plans[0]);
    assert_eq!(stack.pr_comments().len(), comments_after_first);

    // 3. A push drops a column: auto plan for every configured environment, unsafe marked.
    let pushed = format!(
        "CREATE TABLE `{table}` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n  `status` varchar(32) NOT NULL,\n  `note` varchar(64) NULL,\n  PRIMARY KEY (`id`)\n);\n"
    );
    stack.seed_pr_files(
        NEXT_HEAD,
        &[
            (
                "schemas/payments/schemabot.yaml",
                "database: payments\ntype: mysql\n",
            ),
            ("schemas/payments/orders.sql", &pushed),
        ],
    );
    let (status, body) = stack.pull_request_event("synchronize", NEXT_HEAD).await;
    assert_eq!(
        (status, body["job"].as_str()),
        (202, Some("plan")),
        "{body}"
    );
    stack.deliver_all().await;
    let plans = plan_comments(&stack);
    assert_eq!(plans.len(), 2, "one per environment: {plans:#?}");
    let staging = plans
        .iter()
        .find(|c| c.contains("**Environment**: `staging`"))
        .expect("staging plan");
    let production = plans
        .iter()
        .find(|c| c.contains("**Environment**: `production`"))
        .expect("production plan");
    for plan in [staging, production] {
        assert!(plan.contains("DROP COLUMN `legacy`"), "{plan}");
        assert!(plan.contains("Unsafe changes"), "{plan}");
        assert!(plan.contains("`5d6e7f8091a2`"), "{plan}");
    }

    // Closing the PR releases its locks (it holds none: no comment) and plans nothing.
    let before = stack.pr_comments().len();
    let (status, body) = stack.pull_request_event("closed", NEXT_HEAD).await;
    assert_eq!(
        (status, body["job"].as_str()),
        (202, Some("unlock")),
        "{body}"
    );
    stack.deliver_all().await;
    assert_eq!(stack.pr_comments().len(), before);

    stack
        .mysql_exec(&[&format!("DROP TABLE IF EXISTS `payments`.`{table}`")])
        .await;
}

#[tokio::test]
async fn a_pr_without_schema_changes_gets_no_plan_comment_and_an_unchanged_schema_says_so() {
    let stack = Stack::start().await;
    // Asking for a plan by comment needs the environments' read minimum (`triage`).
    stack.grant("alice", "triage");
    stack.seed_pr_files(HEAD, &[("README.md", "docs")]);
    stack.comment("alice", "schemabot plan").await;
    stack.deliver_all().await;
    assert!(
        plan_comments(&stack).is_empty(),
        "{:#?}",
        stack.pr_comments()
    );

    let table = services::unique("same_");
    stack
        .mysql_exec(&[
            "CREATE DATABASE IF NOT EXISTS `payments`",
            &format!("CREATE TABLE `payments`.`{table}` (id bigint NOT NULL, PRIMARY KEY (id))"),
        ])
        .await;
    stack.seed_pr_files(
        HEAD,
        &[
            ("db/schemabot.yaml", "database: payments\n"),
            (
                "db/same.sql",
                &format!("CREATE TABLE `{table}` (`id` bigint NOT NULL, PRIMARY KEY (`id`));"),
            ),
        ],
    );
    stack
        .comment("alice", "schemabot plan -e production -d payments")
        .await;
    stack.deliver_all().await;
    let plans = plan_comments(&stack);
    assert_eq!(plans.len(), 1, "{plans:#?}");
    assert!(plans[0].contains("No schema changes"), "{}", plans[0]);
    stack
        .mysql_exec(&[&format!("DROP TABLE IF EXISTS `payments`.`{table}`")])
        .await;
}

#[tokio::test]
async fn a_redelivered_plan_job_and_a_lost_github_answer_leave_one_comment_per_environment() {
    use schemabot_domain::job::{Job, PlanJob, PlanTrigger};
    use schemabot_domain::{CommentId, DeliveryId, InstallationId, Login, PrNumber};
    use schemabot_tests::github_standin::CallKind;
    use schemabot_tests::harness::{INSTALLATION, PR};
    use worker::outcome::Attempt;

    let stack = Stack::start().await;
    // Asking for a plan by comment needs the environments' read minimum (`triage`).
    stack.grant("alice", "triage");
    let table = services::unique("redo_");
    stack
        .mysql_exec(&["CREATE DATABASE IF NOT EXISTS `payments`"])
        .await;
    stack.seed_pr_files(
        HEAD,
        &[
            ("schemas/payments/schemabot.yaml", "database: payments\n"),
            (
                "schemas/payments/new.sql",
                &format!("CREATE TABLE `{table}` (`id` bigint NOT NULL, PRIMARY KEY (`id`));"),
            ),
        ],
    );
    let job = Job::Plan(PlanJob {
        delivery_id: DeliveryId::parse("d-redo").unwrap(),
        installation_id: InstallationId(INSTALLATION),
        repository: Stack::repository(),
        pr: PrNumber(PR),
        head_sha: None,
        environment: None,
        database: None,
        trigger: PlanTrigger::Comment {
            comment_id: CommentId(77),
            commenter: Login("alice".into()),
        },
    });
    // The first comment creation is performed but its answer lost: the job fails or finds it.
    stack
        .github
        .lose_next_response_on(CallKind::CreateComment, 1);
    let first = stack.worker.run_job(&job, Attempt::first()).await;
    let retry = Attempt {
        receive_count: 2,
        max_receive_count: 5,
    };
    if first.is_err() {
        stack.worker.run_job(&job, retry).await.expect("retry");
    }
    // A plain redelivery edits what is there.
    stack.worker.run_job(&job, retry).await.expect("redelivery");
    let plans = plan_comments(&stack);
    assert_eq!(plans.len(), 2, "one per environment: {plans:#?}");
    for plan in &plans {
        assert!(plan.contains(&format!("CREATE TABLE `{table}`")), "{plan}");
    }
}

#[tokio::test]
async fn a_plan_by_comment_needs_the_read_minimum_and_shows_no_ddl_otherwise() {
    let stack = Stack::start().await;
    stack.grant("mallory", "read");
    stack.seed_pr_files(
        HEAD,
        &[
            (
                "schemas/payments/schemabot.yaml",
                "database: payments\ntype: mysql\n",
            ),
            (
                "schemas/payments/orders.sql",
                "CREATE TABLE `orders` (`id` bigint NOT NULL, PRIMARY KEY (`id`));\n",
            ),
        ],
    );
    for login in ["mallory", "someone-outside"] {
        let (status, _) = stack.comment(login, "schemabot plan -e production").await;
        assert_eq!(status, 202);
    }
    stack.deliver_all().await;

    assert_eq!(stack.tern.counts().plan, 0, "no plan asked of Tern");
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 2, "{comments:#?}");
    for comment in &comments {
        assert!(comment.starts_with("## Permission Denied"), "{comment}");
        assert!(comment.contains("`triage`"), "{comment}");
        assert!(!comment.contains("CREATE TABLE"), "{comment}");
    }
}

#[tokio::test]
async fn a_pull_request_past_the_plan_caps_is_answered_not_planned() {
    let stack = Stack::start_with(schemabot_tests::harness::StackOptions {
        plan_limits: worker::config::PlanLimits {
            max_dirs: 2,
            max_files: 200,
        },
        ..Default::default()
    })
    .await;
    stack.grant("alice", "write");
    let files: Vec<(String, String)> = (0..3)
        .flat_map(|i| {
            [
                (
                    format!("schemas/db{i}/schemabot.yaml"),
                    "database: payments\n".to_string(),
                ),
                (
                    format!("schemas/db{i}/t.sql"),
                    "CREATE TABLE `t` (`id` int NOT NULL, PRIMARY KEY (`id`));\n".to_string(),
                ),
            ]
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    stack.seed_pr_files(HEAD, &borrowed);
    stack.comment("alice", "schemabot plan -e staging").await;
    stack.comment("alice", "schemabot apply -e staging").await;
    stack.deliver_all().await;

    assert_eq!(stack.tern.counts().plan, 0);
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 2, "{comments:#?}");
    for comment in &comments {
        assert!(comment.starts_with("## ✋ Too Large To Plan"), "{comment}");
        assert!(
            comment.contains("changes 3 schema directories"),
            "{comment}"
        );
    }
}
