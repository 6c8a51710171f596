//! The Tern stand-in, driven through the real Tern client, against the local MariaDB
//! (`scripts/services.sh start`, then source `.local/services.env`).

use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use schemabot_domain::state::normalize::Normalized;
use schemabot_domain::State;
use schemabot_sentinel::{SentinelChecker, TargetDsn};
use schemabot_tern::proto;
use schemabot_tern::{
    ApplyOutcome, ApplySpec, Caller, Control, ControlOutcome, CutoverOutcome, ProgressReport,
    TernClient, TernClientConfig, TernError, TernTarget,
};
use schemabot_tests::services;
use schemabot_tests::tern_standin::{
    spirit_status, ApplyRegistration, CopyPace, ForcedReport, RegisteredPhase, StandinPhase,
    TernStandin, TernStandinConfig, TernStandinHandle, RECOVERY_REFUSAL,
};

const DEPLOYMENT: &str = "testapp";
const ENVIRONMENT: &str = "staging";

struct Fixture {
    standin: TernStandinHandle,
    client: TernClient,
    sentinel: SentinelChecker,
    schema: String,
}

impl Fixture {
    async fn start(config: TernStandinConfig) -> Fixture {
        Self::start_with_client(config, TernClientConfig::default()).await
    }

    async fn start_with_client(config: TernStandinConfig, client: TernClientConfig) -> Fixture {
        let standin = TernStandin::start(config).await.expect("stand-in starts");
        let endpoints = standin.endpoints(DEPLOYMENT, ENVIRONMENT).unwrap();
        let schema = services::unique("tern_");
        admin(&format!("CREATE DATABASE `{schema}`")).await;
        admin(&format!(
            "CREATE TABLE `{schema}`.`users` (id int NOT NULL PRIMARY KEY)"
        ))
        .await;
        Fixture {
            standin,
            client: TernClient::new(endpoints, client),
            sentinel: SentinelChecker::default(),
            schema,
        }
    }

    fn target(&self, apply_id: &str) -> TernTarget {
        TernTarget::new(DEPLOYMENT, ENVIRONMENT, apply_id)
    }

    async fn apply_deferred(&self) -> String {
        match self.client.apply(&self.deferred_spec("")).await.unwrap() {
            ApplyOutcome::Accepted { apply_id } => apply_id,
            other => panic!("apply refused: {other:?}"),
        }
    }

    fn deferred_spec(&self, idempotency_key: &str) -> ApplySpec {
        ApplySpec {
            deployment: DEPLOYMENT.into(),
            environment: ENVIRONMENT.into(),
            database: self.schema.clone(),
            database_type: "mysql".into(),
            ddl_changes: vec![proto::TableChange {
                table_name: "users".into(),
                ddl: "ALTER TABLE users ADD COLUMN email varchar(255)".into(),
                change_type: proto::ChangeType::Alter as i32,
                ..Default::default()
            }],
            defer_cutover: true,
            caller: Caller::PullRequest {
                repository: "org/repo".into(),
                pr: 12,
            }
            .to_string(),
            idempotency_key: idempotency_key.into(),
            ..Default::default()
        }
    }

    async fn progress(&self, apply_id: &str) -> ProgressReport {
        self.client.progress(&self.target(apply_id)).await.unwrap()
    }

    async fn cutover(&self, apply_id: &str) -> CutoverOutcome {
        self.client.cutover(&self.target(apply_id)).await.unwrap()
    }

    async fn sentinel_present(&self) -> bool {
        self.sentinel
            .sentinel_present(&TargetDsn::new(services::mysql_dsn()), &self.schema)
            .await
            .unwrap()
    }

    async fn finish(self) {
        self.sentinel.disconnect_all().await;
        self.standin.shutdown().await;
        admin(&format!("DROP DATABASE IF EXISTS `{}`", self.schema)).await;
    }
}

async fn admin(sql: &str) {
    let mut conn = mysql_async::Conn::from_url(services::mysql_dsn())
        .await
        .unwrap();
    conn.query_drop(sql).await.unwrap();
    conn.disconnect().await.unwrap();
}

async fn column_exists(schema: &str, table: &str, column: &str) -> bool {
    let mut conn = mysql_async::Conn::from_url(services::mysql_dsn())
        .await
        .unwrap();
    let count: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
            (schema, table, column),
        )
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    count.unwrap_or(0) > 0
}

fn state(report: &ProgressReport) -> Option<State> {
    report.state.state()
}

#[tokio::test]
async fn deferred_apply_waits_on_the_sentinel_and_cutover_completes_it() {
    let fx = Fixture::start(
        TernStandinConfig::from_env()
            .with_pace(CopyPace::PerProgressCall { rows: 50 })
            .with_default_rows_total(100)
            .with_ddl_on_completion(true),
    )
    .await;

    let apply_id = fx.apply_deferred().await;
    assert!(apply_id.starts_with("apply-") && apply_id.len() == 22);
    // Spirit creates the sentinel when the copy starts.
    assert!(fx.sentinel_present().await);

    let first = fx.progress(&apply_id).await;
    assert_eq!(state(&first), Some(State::Running));
    assert_eq!(first.apply_id, apply_id);
    let table = &first.tables[0];
    assert_eq!(table.status, spirit_status::COPY_ROWS);
    assert!(table.task_id.starts_with("task-") && table.task_id.len() == 21);
    assert_eq!(
        (table.rows_copied, table.rows_total, table.percent),
        (0, 100, 0)
    );
    assert_eq!(table.eta_seconds, 2);
    assert_eq!(table.checksum, None);

    let second = fx.progress(&apply_id).await;
    assert_eq!(second.tables[0].percent, 50);

    let waiting = fx.progress(&apply_id).await;
    assert_eq!(state(&waiting), Some(State::WaitingForCutover));
    assert_eq!(waiting.tables[0].status, spirit_status::WAITING_ON_SENTINEL);
    assert_eq!(
        waiting.tables[0].normalized_status(),
        Normalized::State(State::WaitingForCutover)
    );
    assert_eq!(waiting.tables[0].percent, 100);
    // Parked: more polling does not move it.
    assert_eq!(
        state(&fx.progress(&apply_id).await),
        Some(State::WaitingForCutover)
    );
    assert!(fx.sentinel_present().await);

    assert_eq!(fx.cutover(&apply_id).await, CutoverOutcome::Accepted);
    assert!(!fx.sentinel_present().await, "cutover drops the sentinel");

    let cutting = fx.progress(&apply_id).await;
    assert_eq!(state(&cutting), Some(State::CuttingOver));
    assert_eq!(cutting.tables[0].status, spirit_status::CUT_OVER);

    let done = fx.progress(&apply_id).await;
    assert_eq!(state(&done), Some(State::Completed));
    assert_eq!(done.tables[0].status, spirit_status::CLOSE);
    assert!(!done.completed_at.is_empty());
    assert!(
        column_exists(&fx.schema, "users", "email").await,
        "the ALTER ran"
    );

    // A second cutover is refused, not repeated.
    assert!(matches!(
        fx.cutover(&apply_id).await,
        CutoverOutcome::NotAccepted { .. }
    ));
    let counts = fx.standin.counts();
    assert_eq!(counts.apply, 1);
    assert_eq!(counts.cutover, 2);
    assert_eq!(counts.cutover_accepted, 1);
    assert_eq!(counts.progress, 6);
    fx.finish().await;
}

#[tokio::test]
async fn restart_loses_engine_state_until_resumed() {
    let fx = Fixture::start(TernStandinConfig::from_env()).await;
    let apply_id = fx.apply_deferred().await;
    fx.standin.finish_copy(&apply_id).unwrap();
    assert_eq!(
        state(&fx.progress(&apply_id).await),
        Some(State::WaitingForCutover)
    );

    fx.standin.restart();
    let idle = fx.progress(&apply_id).await;
    // Current Tern reports the restart itself.
    assert_eq!(state(&idle), Some(State::Recovering));
    assert_eq!(idle.raw_state, proto::State::Recovering as i32);
    assert_eq!(idle.tables[0].status, "recovering");
    // The sentinel is in MariaDB, not in Tern's memory.
    assert!(fx.sentinel_present().await);

    match fx.cutover(&apply_id).await {
        CutoverOutcome::NotAccepted { message } => assert_eq!(message, RECOVERY_REFUSAL),
        other => panic!("cutover during recovery must be refused, got {other:?}"),
    }
    assert!(
        fx.sentinel_present().await,
        "a refused cutover leaves the sentinel"
    );

    fx.standin.resume(&apply_id).unwrap();
    let back = fx.progress(&apply_id).await;
    assert_eq!(state(&back), Some(State::WaitingForCutover));

    assert_eq!(fx.cutover(&apply_id).await, CutoverOutcome::Accepted);
    assert_eq!(fx.standin.cutovers_accepted(), 1);
    assert_eq!(fx.standin.cutover_calls(), 2);
    fx.finish().await;
}

#[tokio::test]
async fn restart_after_cutover_resumes_to_completion() {
    let fx = Fixture::start(TernStandinConfig::from_env()).await;
    let apply_id = fx.apply_deferred().await;
    fx.standin.finish_copy(&apply_id).unwrap();
    fx.progress(&apply_id).await;
    assert_eq!(fx.cutover(&apply_id).await, CutoverOutcome::Accepted);

    fx.standin.restart();
    assert_eq!(
        state(&fx.progress(&apply_id).await),
        Some(State::Recovering)
    );
    fx.standin.resume(&apply_id).unwrap();
    // Copy finished, sentinel gone: Spirit proceeds to cut over, never back to waiting.
    assert_eq!(
        state(&fx.progress(&apply_id).await),
        Some(State::CuttingOver)
    );
    fx.standin.advance(&apply_id, 0).unwrap();
    assert_eq!(state(&fx.progress(&apply_id).await), Some(State::Completed));
    fx.finish().await;
}

#[tokio::test]
async fn a_sentinel_dropped_while_the_engine_is_down_loses_the_copy() {
    let fx = Fixture::start(
        TernStandinConfig::from_env().with_auto_resume_after(Duration::from_millis(100)),
    )
    .await;
    let apply_id = fx
        .standin
        .register_apply(ApplyRegistration::deferred(
            &fx.schema,
            &[("users", "ALTER TABLE users ADD COLUMN a int")],
            RegisteredPhase::EngineLost {
                copy_done: true,
                sentinel_present: false,
            },
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        let report = fx.progress(&apply_id).await;
        assert_eq!(
            state(&report),
            Some(State::Recovering),
            "never resumes, never swaps"
        );
    }
    assert!(!column_exists(&fx.schema, "users", "a").await);
    fx.finish().await;
}

#[tokio::test]
async fn automatic_resume_after_a_delay() {
    let fx = Fixture::start(
        TernStandinConfig::from_env().with_auto_resume_after(Duration::from_millis(200)),
    )
    .await;
    let apply_id = fx.apply_deferred().await;
    fx.standin.finish_copy(&apply_id).unwrap();
    fx.progress(&apply_id).await;
    fx.standin.restart();
    assert_eq!(
        state(&fx.progress(&apply_id).await),
        Some(State::Recovering)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        state(&fx.progress(&apply_id).await),
        Some(State::WaitingForCutover)
    );
    fx.finish().await;
}

#[tokio::test]
async fn injected_unavailability_is_transient_then_succeeds() {
    let fx = Fixture::start(TernStandinConfig::from_env()).await;
    let apply_id = fx.apply_deferred().await;
    fx.standin.fail_next(2);
    for _ in 0..2 {
        let err = fx.client.progress(&fx.target(&apply_id)).await.unwrap_err();
        assert!(matches!(err, TernError::Unavailable(_)), "{err:?}");
        assert!(err.is_transient());
    }
    assert_eq!(state(&fx.progress(&apply_id).await), Some(State::Running));
    let counts = fx.standin.counts();
    assert_eq!(counts.injected_failures, 2);
    assert_eq!(counts.progress, 1, "injected failures never reach Tern");
    fx.finish().await;
}

#[tokio::test]
async fn a_lost_cutover_response_still_dropped_the_sentinel() {
    let fx = Fixture::start(TernStandinConfig::from_env()).await;
    let apply_id = fx
        .standin
        .register_apply(ApplyRegistration::deferred(
            &fx.schema,
            &[("users", "ALTER TABLE users ADD COLUMN b int")],
            RegisteredPhase::WaitingForCutover,
        ))
        .await
        .unwrap();
    assert!(fx.sentinel_present().await);
    assert_eq!(
        fx.standin.phase(&apply_id),
        Some(StandinPhase::WaitingOnSentinel)
    );

    fx.standin.lose_next_responses(1);
    let err = fx.client.cutover(&fx.target(&apply_id)).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    // The outcome is unknown to the caller, but the evidence is in MariaDB.
    assert!(!fx.sentinel_present().await);
    assert_eq!(fx.standin.cutovers_accepted(), 1);
    assert_eq!(
        state(&fx.progress(&apply_id).await),
        Some(State::CuttingOver)
    );
    fx.finish().await;
}

#[tokio::test]
async fn latency_beyond_the_request_timeout_is_a_transient_timeout() {
    let fx = Fixture::start_with_client(
        TernStandinConfig::from_env(),
        TernClientConfig {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_millis(300),
        },
    )
    .await;
    let apply_id = fx.apply_deferred().await;
    fx.standin.set_delay(Duration::from_secs(1));
    let err = fx.client.progress(&fx.target(&apply_id)).await.unwrap_err();
    assert!(matches!(err, TernError::Timeout(_)), "{err:?}");
    assert!(err.is_transient());
    fx.standin.set_delay(Duration::ZERO);
    assert_eq!(state(&fx.progress(&apply_id).await), Some(State::Running));
    fx.finish().await;
}

#[tokio::test]
async fn concurrent_cutovers_are_accepted_exactly_once() {
    let fx = Arc::new(Fixture::start(TernStandinConfig::from_env()).await);
    let apply_id = fx
        .standin
        .register_apply(ApplyRegistration::deferred(
            &fx.schema,
            &[("users", "ALTER TABLE users ADD COLUMN c int")],
            RegisteredPhase::WaitingForCutover,
        ))
        .await
        .unwrap();
    let calls = (0..5).map(|_| {
        let fx = Arc::clone(&fx);
        let apply_id = apply_id.clone();
        tokio::spawn(async move { fx.cutover(&apply_id).await })
    });
    let mut accepted = 0;
    for call in calls {
        if call.await.unwrap() == CutoverOutcome::Accepted {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
    assert_eq!(fx.standin.cutover_calls(), 5);
    assert_eq!(fx.standin.cutovers_accepted(), 1);
    let Ok(fx) = Arc::try_unwrap(fx) else {
        panic!("fixture still shared")
    };
    fx.finish().await;
}

#[tokio::test]
async fn unknown_applies_and_early_cutovers() {
    let fx = Fixture::start(TernStandinConfig::from_env()).await;
    let unknown = "apply-00000000deadbeef";
    // NOT_FOUND on the wire is evidence ("no such change"), not a failure to retry.
    let report = fx.progress(unknown).await;
    assert_eq!(report.state, Normalized::NoActiveChange);
    assert!(report.tables.is_empty());

    let err = fx.client.cutover(&fx.target(unknown)).await.unwrap_err();
    assert!(matches!(&err, TernError::Rejected(s) if s.code() == tonic::Code::NotFound));
    assert!(!err.is_transient());

    // Still copying: refused, sentinel untouched.
    let apply_id = fx.apply_deferred().await;
    assert!(matches!(
        fx.cutover(&apply_id).await,
        CutoverOutcome::NotAccepted { .. }
    ));
    assert!(fx.sentinel_present().await);
    assert_eq!(fx.standin.cutovers_accepted(), 0);
    fx.finish().await;
}

#[tokio::test]
async fn timed_pace_reaches_the_sentinel_wait_by_itself() {
    let fx = Fixture::start(
        TernStandinConfig::from_env()
            .with_default_rows_total(100)
            .with_pace(CopyPace::Timed {
                rows_per_second: 1000,
                cutover_duration: Duration::from_millis(100),
            }),
    )
    .await;
    let apply_id = fx.apply_deferred().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        state(&fx.progress(&apply_id).await),
        Some(State::WaitingForCutover)
    );
    assert_eq!(fx.cutover(&apply_id).await, CutoverOutcome::Accepted);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(state(&fx.progress(&apply_id).await), Some(State::Completed));
    fx.finish().await;
}

#[tokio::test]
async fn health_and_a_second_apply_on_the_same_database() {
    let fx = Fixture::start(TernStandinConfig::from_env()).await;
    assert_eq!(
        fx.client.health(DEPLOYMENT, ENVIRONMENT).await.unwrap(),
        "SERVING"
    );
    let first = fx.apply_deferred().await;
    let spec = ApplySpec {
        deployment: DEPLOYMENT.into(),
        environment: ENVIRONMENT.into(),
        database: fx.schema.clone(),
        database_type: "mysql".into(),
        ddl_changes: vec![proto::TableChange {
            table_name: "users".into(),
            ddl: "ALTER TABLE users ADD COLUMN d int".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(matches!(
        fx.client.apply(&spec).await.unwrap(),
        ApplyOutcome::NotAccepted { .. }
    ));
    // After a restart the stale apply is abandoned and the new one runs.
    fx.standin.restart();
    assert!(matches!(
        fx.client.apply(&spec).await.unwrap(),
        ApplyOutcome::Accepted { .. }
    ));
    assert!(matches!(
        fx.standin.phase(&first),
        Some(StandinPhase::Failed(_))
    ));
    fx.finish().await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_apply() {
    let fx = Fixture::start(TernStandinConfig::from_env()).await;
    let spec = fx.deferred_spec("schemabot-confirm-0123");
    // The answer to the first request is lost: the caller cannot know it started anything.
    fx.standin.lose_next_responses(1);
    let err = fx.client.apply(&spec).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    let ApplyOutcome::Accepted { apply_id } = fx.client.apply(&spec).await.unwrap() else {
        panic!("the retry must be accepted");
    };
    let ApplyOutcome::Accepted { apply_id: again } = fx.client.apply(&spec).await.unwrap() else {
        panic!("the retry must be accepted");
    };
    assert_eq!(apply_id, again);
    let counts = fx.standin.counts();
    assert_eq!((counts.apply, counts.applies_started), (3, 1));
    // Another key is another change (refused here: one active change per database).
    assert!(matches!(
        fx.client.apply(&fx.deferred_spec("other")).await.unwrap(),
        ApplyOutcome::NotAccepted { .. }
    ));
    fx.finish().await;
}

#[tokio::test]
async fn stop_start_and_cancel_address_the_apply_by_id() {
    let fx = Fixture::start(TernStandinConfig::from_env()).await;
    let apply_id = fx.apply_deferred().await;
    let target = fx.target(&apply_id);

    let ControlOutcome::Accepted { resume_deadline } =
        fx.client.control(Control::Stop, &target).await.unwrap()
    else {
        panic!("stop refused");
    };
    let deadline = resume_deadline.expect("Stop returns the resume deadline");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&deadline).is_ok(),
        "{deadline}"
    );
    assert_eq!(state(&fx.progress(&apply_id).await), Some(State::Stopped));
    assert!(matches!(
        fx.client.control(Control::Stop, &target).await.unwrap(),
        ControlOutcome::NotAccepted { .. }
    ));

    assert!(matches!(
        fx.client.control(Control::Start, &target).await.unwrap(),
        ControlOutcome::Accepted { .. }
    ));
    assert_eq!(state(&fx.progress(&apply_id).await), Some(State::Running));

    assert!(matches!(
        fx.client.control(Control::Cancel, &target).await.unwrap(),
        ControlOutcome::Accepted { .. }
    ));
    assert_eq!(state(&fx.progress(&apply_id).await), Some(State::Cancelled));
    assert!(
        !fx.sentinel_present().await,
        "cancel leaves no sentinel behind"
    );
    assert!(matches!(
        fx.client.control(Control::Cancel, &target).await.unwrap(),
        ControlOutcome::NotAccepted { .. }
    ));
    // Revert needs a revert window, which Spirit has not.
    assert!(matches!(
        fx.client.control(Control::Revert, &target).await.unwrap(),
        ControlOutcome::NotAccepted { .. }
    ));
    assert_eq!(fx.standin.counts().cancel, 2);
    fx.finish().await;
}

#[tokio::test]
async fn unknown_state_numbers_and_checksum_progress_come_through() {
    let fx = Fixture::start(TernStandinConfig::from_env()).await;
    let apply_id = fx.apply_deferred().await;
    fx.standin.force_report(
        &apply_id,
        ForcedReport::new(proto::State::Running, "checksum").with_state_number(19),
    );
    let report = fx.progress(&apply_id).await;
    assert_eq!(report.state, Normalized::Unknown("19".into()));
    assert_eq!(report.raw_state, 19);

    fx.standin.force_report(
        &apply_id,
        ForcedReport::new(proto::State::Running, "checksum").with_checksum(450, 1000),
    );
    let report = fx.progress(&apply_id).await;
    let checksum = report.tables[0].checksum.expect("checksum counters");
    assert_eq!((checksum.rows_checked, checksum.rows_total), (450, 1000));
    assert_eq!(checksum.percent(), 45);
    fx.finish().await;
}

#[tokio::test]
async fn schema_diff_tells_whether_the_desired_schema_is_live() {
    let fx = Fixture::start(TernStandinConfig::from_env()).await;
    let files = |ddl: &str| {
        let mut request = proto::PlanRequest {
            database: fx.schema.clone(),
            r#type: "mysql".into(),
            ..Default::default()
        };
        request.schema_files.insert(
            fx.schema.clone(),
            proto::SchemaFiles {
                files: [("users.sql".to_string(), ddl.to_string())].into(),
            },
        );
        request
    };
    let live = "CREATE TABLE users (id int NOT NULL, PRIMARY KEY (id));";
    let diff = fx
        .client
        .schema_diff(DEPLOYMENT, ENVIRONMENT, files(live))
        .await
        .unwrap();
    assert!(
        diff.changes.is_empty() && diff.errors.is_empty(),
        "{diff:?}"
    );

    let wanted = "CREATE TABLE users (id int NOT NULL, email varchar(255), PRIMARY KEY (id));";
    let diff = fx
        .client
        .schema_diff(DEPLOYMENT, ENVIRONMENT, files(wanted))
        .await
        .unwrap();
    assert_eq!(diff.changes.len(), 1);
    assert!(
        diff.changes[0].ddl.contains("email"),
        "{:?}",
        diff.changes[0]
    );
    let counts = fx.standin.counts();
    assert_eq!(
        (counts.plan_diff, counts.plan),
        (2, 0),
        "read-only PlanDiff, no stored plan"
    );
    fx.finish().await;
}
