//! The pieces the plan job is built from, each against its stand-in: the GitHub client's PR,
//! PR-files and contents calls, and the Tern stand-in's Plan over the real MariaDB schema.

use mysql_async::prelude::Queryable;
use schemabot_domain::{InstallationId, PrNumber, Repository};
use schemabot_github::{GithubClient, RequestKind, RetryPolicy};
use schemabot_tern::{proto, TernClient, TernClientConfig};
use schemabot_tests::github_standin::{CallKind, GithubStandin};
use schemabot_tests::services;
use schemabot_tests::tern_standin::{TernStandin, TernStandinConfig};
use std::collections::HashMap;
use std::time::Duration;

fn repo() -> Repository {
    Repository::parse("octo/widgets").unwrap()
}

async fn admin(sql: &str) {
    let mut conn = mysql_async::Conn::from_url(services::mysql_dsn())
        .await
        .unwrap();
    conn.query_drop(sql).await.unwrap();
    conn.disconnect().await.unwrap();
}

#[tokio::test]
async fn pull_request_files_and_contents_come_from_the_github_api() {
    let standin = GithubStandin::start().await.unwrap();
    let client = GithubClient::with_retry_policy(
        &standin.app_config(),
        RetryPolicy {
            max_retries: 1,
            max_wait: Duration::from_secs(1),
            base_backoff: Duration::from_millis(10),
        },
    )
    .unwrap();
    let gh = client.installation(InstallationId(77));
    let pr = PrNumber(12);
    // 150 files: two pages of 100.
    let mut names: Vec<String> = (0..149).map(|i| format!("docs/page{i}.md")).collect();
    names.push("schemas/app/orders.sql".into());
    let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "modified")).collect();
    standin.seed_pull_request(&repo(), pr, "abc123", &files);
    let text =
        "CREATE TABLE `orders` (\n  `id` bigint NOT NULL, -- ünïcode ✓\n  PRIMARY KEY (`id`)\n);\n";
    standin.seed_file(&repo(), "abc123", "schemas/app/orders.sql", text);

    let info = gh.get_pull_request(&repo(), pr).await.unwrap();
    assert_eq!(info.head_sha, "abc123");
    assert_eq!(info.state, "open");

    let listed = gh.list_pull_request_files(&repo(), pr).await.unwrap();
    assert_eq!(listed.len(), 150);
    assert_eq!(listed[149].filename, "schemas/app/orders.sql");
    assert_eq!(listed[149].status, "modified");
    assert_eq!(standin.count(CallKind::ListPullRequestFiles), 2);

    let read = gh
        .get_file_contents(&repo(), "schemas/app/orders.sql", "abc123")
        .await
        .unwrap();
    assert_eq!(read.as_deref(), Some(text));
    assert_eq!(
        gh.get_file_contents(&repo(), "schemas/app/orders.sql", "other")
            .await
            .unwrap(),
        None,
        "a file missing at that ref is None"
    );
    standin.seed_file(
        &repo(),
        "abc123",
        "schemas/app/schemabot.yaml",
        "database: app\n",
    );
    standin.seed_file(&repo(), "abc123", "schemas/app/nested/x.sql", "");
    let listing = gh
        .list_directory(&repo(), "schemas/app", "abc123")
        .await
        .unwrap()
        .unwrap();
    let names: Vec<(&str, &str)> = listing
        .iter()
        .map(|e| (e.name.as_str(), e.kind.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("nested", "dir"),
            ("orders.sql", "file"),
            ("schemabot.yaml", "file")
        ]
    );
    assert_eq!(listing[1].path, "schemas/app/orders.sql");
    assert_eq!(
        gh.list_directory(&repo(), "schemas/none", "abc123")
            .await
            .unwrap(),
        None
    );
    assert!(gh.get_pull_request(&repo(), PrNumber(99)).await.is_err());
    let stats = client.stats();
    assert_eq!(stats.count(RequestKind::GetPullRequest), 2);
    assert_eq!(stats.count(RequestKind::GetFileContents), 2);
}

#[tokio::test]
async fn the_tern_standin_plans_creates_alters_and_unsafe_drops() {
    let standin = TernStandin::start(TernStandinConfig::from_env())
        .await
        .unwrap();
    let client = TernClient::new(
        standin.endpoints("app", "staging").unwrap(),
        TernClientConfig::default(),
    );
    let schema = services::unique("plan_");
    admin(&format!("CREATE DATABASE `{schema}`")).await;
    admin(&format!(
        "CREATE TABLE `{schema}`.`orders` (id bigint NOT NULL, status varchar(16) NOT NULL, legacy int NULL, PRIMARY KEY (id))"
    ))
    .await;
    admin(&format!(
        "CREATE TABLE `{schema}`.`same` (id bigint NOT NULL, PRIMARY KEY (id))"
    ))
    .await;
    let files = HashMap::from([
        (
            "orders.sql".to_string(),
            "CREATE TABLE orders (\n id bigint NOT NULL,\n status varchar(16) NOT NULL,\n note text,\n PRIMARY KEY (id),\n KEY idx_status (status)\n);".to_string(),
        ),
        (
            "ledger.sql".to_string(),
            "CREATE TABLE ledger (id bigint NOT NULL, PRIMARY KEY (id));".to_string(),
        ),
        (
            "same.sql".to_string(),
            "CREATE TABLE same (id bigint NOT NULL, PRIMARY KEY (id));".to_string(),
        ),
        ("README.md".to_string(), "not SQL".to_string()),
    ]);
    let response = client
        .plan(
            "app",
            "staging",
            proto::PlanRequest {
                database: schema.clone(),
                r#type: "mysql".into(),
                schema_files: HashMap::from([(schema.clone(), proto::SchemaFiles { files })]),
                repository: "octo/widgets".into(),
                pull_request: 12,
                environment: "staging".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(response.plan_id.starts_with("plan-"));
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert!(response.lint_violations.is_empty());
    assert_eq!(response.changes.len(), 1);
    assert_eq!(response.changes[0].namespace, schema);
    let changes = &response.changes[0].table_changes;
    let by_table: HashMap<&str, &proto::TableChange> =
        changes.iter().map(|c| (c.table_name.as_str(), c)).collect();
    assert_eq!(changes.len(), 2, "{changes:#?}");
    let ledger = by_table["ledger"];
    assert_eq!(ledger.change_type, proto::ChangeType::Create as i32);
    assert!(ledger.ddl.starts_with("CREATE TABLE ledger"));
    let orders = by_table["orders"];
    assert_eq!(orders.change_type, proto::ChangeType::Alter as i32);
    assert_eq!(
        orders.ddl,
        "ALTER TABLE `orders` ADD COLUMN note text, DROP COLUMN `legacy`, ADD KEY idx_status (status)"
    );
    assert!(orders.is_unsafe);
    assert!(orders.unsafe_reason.contains("`legacy`"));
    assert_eq!(standin.counts().plan, 1);

    // Statements other than CREATE TABLE are reported, not guessed at.
    let bad = client
        .plan(
            "app",
            "staging",
            proto::PlanRequest {
                database: schema.clone(),
                schema_files: HashMap::from([(
                    schema.clone(),
                    proto::SchemaFiles {
                        files: HashMap::from([(
                            "x.sql".to_string(),
                            "DROP TABLE orders;".to_string(),
                        )]),
                    },
                )]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(bad.errors.len(), 1, "{:?}", bad.errors);
    admin(&format!("DROP DATABASE `{schema}`")).await;
    standin.shutdown().await;
}
