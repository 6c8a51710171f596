//! Against the local MariaDB (`scripts/services.sh start`, then source `.local/services.env`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mysql_async::prelude::Queryable;
use schemabot_sentinel::{DsnResolver, SentinelChecker, SentinelConfig, SentinelError, TargetDsn};

fn root_dsn() -> String {
    std::env::var("SCHEMABOT_TEST_MYSQL_DSN").expect(
        "SCHEMABOT_TEST_MYSQL_DSN is not set: run `scripts/services.sh start` and source .local/services.env",
    )
}

fn unique_schema(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{nanos:x}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

async fn admin(sql: &str) {
    let mut conn = mysql_async::Conn::from_url(root_dsn()).await.unwrap();
    conn.query_drop(sql).await.unwrap();
    conn.disconnect().await.unwrap();
}

#[tokio::test]
async fn sentinel_appears_and_disappears() {
    let schema = unique_schema("sentinel");
    admin(&format!("CREATE DATABASE `{schema}`")).await;
    let checker = SentinelChecker::default();
    let dsn = TargetDsn::new(root_dsn());

    assert!(!checker.sentinel_present(&dsn, &schema).await.unwrap());

    admin(&format!(
        "CREATE TABLE `{schema}`.`_spirit_sentinel` (id int NOT NULL PRIMARY KEY)"
    ))
    .await;
    assert!(checker.sentinel_present(&dsn, &schema).await.unwrap());
    // Another schema's sentinel does not count.
    admin(&format!("CREATE DATABASE `{schema}_other`")).await;
    assert!(!checker
        .sentinel_present(&dsn, &format!("{schema}_other"))
        .await
        .unwrap());
    admin(&format!("DROP DATABASE `{schema}_other`")).await;

    // The same check through configuration keyed by (deployment, environment).
    let resolver = DsnResolver::new().with_dsn("testapp", "staging", dsn.clone());
    assert!(checker
        .sentinel_present_for(&resolver, "testapp", "staging", &schema)
        .await
        .unwrap());
    assert!(matches!(
        checker
            .sentinel_present_for(&resolver, "testapp", "production", &schema)
            .await,
        Err(SentinelError::UnknownEnvironment { .. })
    ));

    admin(&format!("DROP TABLE `{schema}`.`_spirit_sentinel`")).await;
    assert!(!checker.sentinel_present(&dsn, &schema).await.unwrap());

    checker.disconnect_all().await;
    admin(&format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn schema_names_are_bound_not_interpolated() {
    let checker = SentinelChecker::default();
    let dsn = TargetDsn::new(root_dsn());
    // Would match every schema if it were spliced into the SQL.
    let hostile = "x' OR '1'='1";
    assert!(matches!(
        checker.sentinel_present(&dsn, hostile).await,
        Err(SentinelError::SchemaNotVisible(_))
    ));
    checker.disconnect_all().await;
}

#[tokio::test]
async fn wrong_password_is_refused_without_revealing_it() {
    let password = "Wr0ng-Pa55word-zq9";
    let root = root_dsn();
    let (scheme_user, host) = root.rsplit_once('@').unwrap();
    let user_part = scheme_user.split_once("://").unwrap().1;
    let user = user_part.split(':').next().unwrap();
    let dsn = TargetDsn::new(format!("mysql://{user}:{password}@{host}"));

    let checker = SentinelChecker::default();
    let err = checker.sentinel_present(&dsn, "mysql").await.unwrap_err();
    assert!(matches!(err, SentinelError::Refused(_)), "{err:?}");
    assert!(!err.is_transient());
    let shown = format!("{err} | {err:?}");
    assert!(!shown.contains(password), "{shown}");
    assert!(shown.contains("1045"), "access denied expected: {shown}");
}

#[tokio::test]
async fn unreachable_server_is_transient() {
    let checker = SentinelChecker::new(SentinelConfig {
        connect_timeout: Duration::from_secs(1),
        ..SentinelConfig::default()
    });
    // Port 9 (discard) is closed on localhost.
    let dsn = TargetDsn::new("mysql://root:s3cret@127.0.0.1:9");
    let err = checker.sentinel_present(&dsn, "db").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("s3cret"));
}

#[tokio::test]
async fn a_user_who_cannot_see_the_schema_gets_no_answer_rather_than_absent() {
    let schema = unique_schema("hidden");
    let user = format!("u{}", &schema[schema.len() - 8..]);
    admin(&format!("CREATE DATABASE `{schema}`")).await;
    admin(&format!(
        "CREATE TABLE `{schema}`.`_spirit_sentinel` (id int NOT NULL PRIMARY KEY)"
    ))
    .await;
    admin(&format!(
        "CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw'"
    ))
    .await;
    let host = root_dsn().rsplit_once('@').unwrap().1.to_string();
    let dsn = TargetDsn::new(format!("mysql://{user}:pw@{host}"));
    let checker = SentinelChecker::default();
    // Without any grant the sentinel is invisible: that must not read as "absent".
    let err = checker.sentinel_present(&dsn, &schema).await.unwrap_err();
    assert!(matches!(err, SentinelError::SchemaNotVisible(_)), "{err:?}");
    assert!(!err.is_transient());
    // With a grant on the schema the real answer comes back.
    admin(&format!(
        "GRANT SELECT ON `{schema}`.* TO '{user}'@'127.0.0.1'"
    ))
    .await;
    assert!(checker.sentinel_present(&dsn, &schema).await.unwrap());
    checker.disconnect_all().await;
    admin(&format!("DROP USER '{user}'@'127.0.0.1'")).await;
    admin(&format!("DROP DATABASE `{schema}`")).await;
}
