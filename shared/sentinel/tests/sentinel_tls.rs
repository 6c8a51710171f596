//! TLS to the local MariaDB (`scripts/services.sh start` serves it with a test certificate for
//! localhost and 127.0.0.1; source `.local/services.env` for the DSN and the CA file).

use std::time::{SystemTime, UNIX_EPOCH};

use mysql_async::prelude::Queryable;
use schemabot_sentinel::{connection_opts, SentinelChecker, SentinelError, TargetDsn};

fn root_dsn() -> String {
    std::env::var("SCHEMABOT_TEST_MYSQL_DSN").expect(
        "SCHEMABOT_TEST_MYSQL_DSN is not set: run `scripts/services.sh start` and source .local/services.env",
    )
}

/// The CA that signed the local MariaDB's certificate.
fn test_ca() -> String {
    std::env::var("SCHEMABOT_TEST_MYSQL_CA").expect(
        "SCHEMABOT_TEST_MYSQL_CA is not set: run `scripts/services.sh start` and source .local/services.env",
    )
}

/// `root@127.0.0.1:<port>` with other credentials and a query string.
fn dsn_as(user: &str, password: &str, query: &str) -> String {
    let host = root_dsn().rsplit_once('@').unwrap().1.to_string();
    format!("mysql://{user}:{password}@{host}?{query}")
}

fn root_with(query: &str) -> String {
    format!("{}?{query}", root_dsn())
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{nanos:x}", std::process::id())
}

async fn admin(sql: &str) {
    let mut conn = mysql_async::Conn::from_url(root_dsn()).await.unwrap();
    conn.query_drop(sql).await.unwrap();
    conn.disconnect().await.unwrap();
}

/// `Ssl_cipher` of a session opened with the checker's options for `dsn` (empty: plain).
async fn session_cipher(dsn: &str) -> Result<String, mysql_async::Error> {
    let opts = connection_opts(&TargetDsn::new(dsn)).expect("valid DSN");
    let mut conn = mysql_async::Conn::new(opts).await?;
    let row: Option<(String, String)> = conn.query_first("SHOW STATUS LIKE 'Ssl_cipher'").await?;
    conn.disconnect().await?;
    Ok(row.map(|(_, cipher)| cipher).unwrap_or_default())
}

/// A PEM file holding a CA that signed nothing.
fn unrelated_ca_file() -> std::path::PathBuf {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let pem = params.self_signed(&key).unwrap().pem();
    let path = std::env::temp_dir().join(format!("{}.pem", unique("unrelated_ca")));
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test]
async fn ssl_mode_required_encrypts_the_session() {
    assert!(!session_cipher(&root_with("ssl-mode=required"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        session_cipher(&root_with("ssl-mode=disabled"))
            .await
            .unwrap(),
        ""
    );
    // No ssl-mode: plain, as before.
    assert_eq!(session_cipher(&root_dsn()).await.unwrap(), "");
}

#[tokio::test]
async fn the_checker_reaches_a_user_that_requires_tls_only_with_ssl_mode() {
    let schema = unique("tls");
    let user = format!("t{}", &schema[schema.len() - 8..]);
    admin(&format!("CREATE DATABASE `{schema}`")).await;
    admin(&format!(
        "CREATE TABLE `{schema}`.`_spirit_sentinel` (id int NOT NULL PRIMARY KEY)"
    ))
    .await;
    admin(&format!(
        "CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'Tls-pa55' REQUIRE SSL"
    ))
    .await;
    admin(&format!(
        "GRANT SELECT ON `{schema}`.* TO '{user}'@'127.0.0.1'"
    ))
    .await;

    let checker = SentinelChecker::default();
    let ca = test_ca();
    for query in [
        "ssl-mode=required".to_string(),
        format!("ssl-mode=verify_identity&ssl-ca={ca}"),
        format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"),
    ] {
        let dsn = TargetDsn::new(dsn_as(&user, "Tls-pa55", &query));
        assert!(
            checker.sentinel_present(&dsn, &schema).await.unwrap(),
            "{query}"
        );
    }
    // The same user without TLS is turned away by the server.
    let plain = TargetDsn::new(dsn_as(&user, "Tls-pa55", "ssl-mode=disabled"));
    let err = checker.sentinel_present(&plain, &schema).await.unwrap_err();
    assert!(matches!(err, SentinelError::Refused(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("Tls-pa55"));

    checker.disconnect_all().await;
    admin(&format!("DROP USER '{user}'@'127.0.0.1'")).await;
    admin(&format!("DROP DATABASE `{schema}`")).await;
}

#[tokio::test]
async fn verify_identity_trusts_the_given_ca_only() {
    let ca = test_ca();
    let cipher = session_cipher(&root_with(&format!("ssl-mode=verify_identity&ssl-ca={ca}")))
        .await
        .unwrap();
    assert!(!cipher.is_empty());

    let checker = SentinelChecker::default();
    // The built-in (Mozilla) roots do not know the test CA.
    let dsn = TargetDsn::new(root_with("ssl-mode=verify_identity"));
    let err = checker.sentinel_present(&dsn, "mysql").await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("UnknownIssuer"), "{shown}");
    assert!(!shown.contains("schemabot@"), "{shown}");

    // Nor does an unrelated CA.
    let unrelated = unrelated_ca_file();
    let dsn = TargetDsn::new(root_with(&format!(
        "ssl-mode=verify_ca&ssl-ca={}",
        unrelated.display()
    )));
    let err = checker.sentinel_present(&dsn, "mysql").await.unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    let _ = std::fs::remove_file(unrelated);

    // A missing CA file is a configuration error, not a connection attempt.
    let dsn = TargetDsn::new(root_with(
        "ssl-mode=verify_identity&ssl-ca=/nonexistent/ca.pem",
    ));
    let err = checker.sentinel_present(&dsn, "mysql").await.unwrap_err();
    assert!(
        matches!(err, SentinelError::InvalidTlsSettings(_)),
        "{err:?}"
    );
    checker.disconnect_all().await;
}

/// Why `ssl-mode=verify_ca` also checks the host name: the driver's switch for skipping that
/// check has no effect with this rustls. If this test fails, the driver learnt to skip it, and
/// `verify_ca` could become a chain-only check.
#[tokio::test]
async fn the_driver_cannot_skip_the_host_name_check() {
    let pem = std::fs::read(test_ca()).unwrap();
    let ssl = mysql_async::SslOpts::default()
        .with_root_certs(vec![pem.into()])
        .with_disable_built_in_roots(true)
        .with_danger_skip_domain_validation(true)
        .with_danger_tls_hostname_override(Some("not-in-the-certificate.example"));
    let opts =
        mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(&root_dsn()).unwrap())
            .prefer_socket(false)
            .ssl_opts(ssl);
    let err = mysql_async::Conn::new(opts).await.map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("not valid for name"), "{err}");
}
