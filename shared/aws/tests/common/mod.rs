//! Shared setup for the tests against the local moto server (`scripts/services.sh start`, then
//! `source .local/services.env`). Every test creates its own uniquely named table or queue.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use schemabot_aws::config::{dynamodb_client, load_sdk_config, sqs_client};
use schemabot_aws::table::create_table;
use schemabot_aws::{DynamoClient, RequestCounter, SqsClient, Store};
use schemabot_domain::apply::{Apply, ApplyMode, AuditEvent, Task};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::{
    ApplyId, Database, Environment, InstallationId, Login, PrNumber, Repository, State, TaskId,
};

pub struct LocalAws {
    pub counter: RequestCounter,
    pub dynamo: DynamoClient,
    pub sqs: SqsClient,
}

/// Clients for the local emulator. Fails (never skips) when the emulator is not configured, and
/// refuses anything but a loopback endpoint so a test can never touch a real account.
pub async fn local_aws() -> LocalAws {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set. Start the local services and load their environment: \
             `scripts/services.sh start && source .local/services.env`"
        )
    });
    assert!(
        endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
        "AWS_ENDPOINT_URL={endpoint} is not a local emulator; refusing to run against it"
    );
    let sdk = load_sdk_config().await;
    let counter = RequestCounter::new();
    LocalAws {
        dynamo: dynamodb_client(&sdk, &counter),
        sqs: sqs_client(&sdk, &counter),
        counter,
    }
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A store on a fresh table, and the counter of its DynamoDB requests.
pub async fn fresh_store() -> (Store, RequestCounter) {
    let aws = local_aws().await;
    let table = unique("schemabot-test");
    create_table(&aws.dynamo, &table)
        .await
        .expect("create the test table");
    (Store::new(aws.dynamo, table), aws.counter)
}

pub fn random_u64() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

pub fn at(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

pub fn apply_in(state: State) -> Apply {
    Apply {
        id: ApplyId::from_random(random_u64()),
        tern_apply_id: format!("tern-{}", random_u64()),
        repository: Repository::parse("octo/shop").unwrap(),
        pr: PrNumber(42),
        installation_id: InstallationId(7),
        database: Database::parse("orders").unwrap(),
        database_type: "mysql".into(),
        deployment: "main".into(),
        environment: Environment::parse("production").unwrap(),
        target_schema: "orders".into(),
        state,
        version: 1,
        mode: ApplyMode::Atomic,
        defer_cutover: true,
        requested_by: Some(Login("alice".into())),
        created_at: Utc::now(),
        started_at: Some(Utc::now()),
        completed_at: None,
        error_message: None,
        claim: None,
        cutover_triggered_by: None,
        cutover_triggered_at: None,
        desired_schema: Default::default(),
        rollback_of: None,
    }
}

pub fn task_of(apply: &Apply, state: State) -> Task {
    Task {
        apply_id: apply.id.clone(),
        task_id: TaskId::from_random(random_u64()),
        namespace: "orders".into(),
        table: "line_items".into(),
        ddl: "ALTER TABLE line_items ADD COLUMN note TEXT".into(),
        state,
        version: 1,
        ready_to_complete: state == State::WaitingForCutover,
        rows_copied: 1_000,
        rows_total: 1_000,
        percent: 100,
        eta_seconds: None,
        error_message: None,
        started_at: Some(Utc::now()),
        completed_at: None,
        engine_silent_since: None,
        checksum: None,
    }
}

pub fn event(apply_id: &ApplyId, name: &str, from: Option<State>, to: Option<State>) -> AuditEvent {
    AuditEvent {
        apply_id: apply_id.clone(),
        at: Utc::now(),
        // The store keeps any text: tests name events freely.
        event: EventKind::parse(name),
        actor: "test".into(),
        delivery_id: None,
        from_state: from,
        to_state: to,
        outcome: Outcome::parse("requested"),
        message: None,
    }
}

/// Stores a new apply with one task in `state`.
pub async fn seeded(store: &Store, state: State) -> (Apply, Task) {
    let apply = apply_in(state);
    let task = task_of(&apply, state);
    let created = store
        .create_apply(
            &apply,
            std::slice::from_ref(&task),
            &event(&apply.id, "apply_created", None, Some(state)),
        )
        .await
        .expect("create apply");
    assert!(
        created.is_written(),
        "fresh apply must be written: {created:?}"
    );
    (apply, task)
}
