//! One whole SchemaBot on this machine for end-to-end tests and the demo: the real webhook and
//! worker code wired to moto (DynamoDB + SQS), MariaDB, and the Tern and GitHub stand-ins.
//!
//! `deliver_all` plays the Lambda event source mapping: it receives from the FIFO queue (with
//! `ApproximateReceiveCount` and `MessageGroupId`), hands the batch to the worker and deletes what
//! the worker acknowledged; failed messages stay for a later receive.

use crate::github_standin::GithubStandin;
use crate::services;
use crate::tern_standin::{TernStandin, TernStandinConfig, TernStandinHandle};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use chrono::Utc;
use schemabot_aws::config::{dynamodb_client, load_sdk_config, sqs_client};
use schemabot_aws::queue::{create_fifo_queue, create_standard_queue, JobQueue};
use schemabot_aws::store::Store;
use schemabot_aws::table::create_table;
use schemabot_aws::RequestCounter;
use schemabot_domain::apply::{Apply, ApplyMode, AuditEvent, Task};
use schemabot_domain::{
    ApplyId, Database, Environment, InstallationId, Login, PrNumber, Repository, State, TaskId,
};
use schemabot_github::{GithubClient, RetryPolicy};
use schemabot_sentinel::SentinelChecker;
use schemabot_tern::{TernClient, TernClientConfig};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use webhook::front_door::HttpEvent;
use webhook::routing::RoutingConfig;
use webhook::signature::{sign, WebhookSecrets};
use worker::batch::TimeBudget;
use worker::config::WorkerConfig;
use worker::deployments::{DeploymentDsns, Deployments};
use worker::trust::TrustedSenders;
use worker::Worker;

pub const WEBHOOK_SECRET: &str = "local-webhook-secret";
pub const REPOSITORY: &str = "acme-payments/schemas";
pub const PR: u64 = 42;
pub const INSTALLATION: u64 = 55667788;
pub const DEPLOYMENT: &str = "payments";

const COMMENT_FIXTURE: &str =
    include_str!("../../functions/webhook/tests/fixtures/issue_comment_cutover.json");
const HTTP_V2: &str =
    include_str!("../../functions/webhook/tests/fixtures/apigw_http_v2_event.json");

/// Everything running, with handles for assertions and fault injection.
pub struct Stack {
    pub worker: Worker,
    pub webhook: webhook::Webhook,
    pub tern: TernStandinHandle,
    pub github: GithubStandin,
    pub store: Store,
    pub sqs: schemabot_aws::SqsClient,
    pub queue_url: String,
    pub poll_queue_url: String,
    /// Counts the worker's DynamoDB/SQS requests per operation.
    pub worker_requests: RequestCounter,
    pub mysql_dsn: String,
    /// The MariaDB schema Spirit "alters" (where `_spirit_sentinel` lives).
    pub schema: String,
    next_comment: AtomicU64,
}

/// What one delivered batch came to.
#[derive(Debug, Clone)]
pub struct BatchOutcome {
    /// Messages handed to the worker.
    pub handed: usize,
    /// Their ids, in batch order.
    pub ids: Vec<String>,
    /// The ids the worker reported failed (handed back to SQS).
    pub failed: Vec<String>,
}

/// Knobs for a stack.
pub struct StackOptions {
    pub tern: TernStandinConfig,
    pub environments: Vec<&'static str>,
    pub max_receive_count: u32,
    pub permission_minimums: Vec<(&'static str, &'static str)>,
    pub lock_lease: Duration,
    pub promotion_order: Vec<&'static str>,
    /// More deployment names (each a database name) served by the same Tern stand-in and
    /// MariaDB, besides [`DEPLOYMENT`].
    pub extra_deployments: Vec<String>,
    /// Who the worker trusts to send jobs; by default the emulator's one sender id.
    pub trusted_senders: TrustedSenders,
    /// Repositories each deployment is owned by (besides the stack's repository, always).
    pub extra_owners: Vec<Repository>,
    /// Deployments (of `extra_deployments`) owned by [`FOREIGN_OWNER`] only, never by the
    /// stack's repository: a PR here naming them must be refused.
    pub foreign_owned: Vec<String>,
    /// `SCHEMABOT_REVIEW_GATES` JSON, parsed like the worker does (default: no gate).
    pub review_gates: Option<String>,
    pub plan_limits: worker::config::PlanLimits,
    /// How long a confirm may take before the sweep settles its lock.
    pub confirm_lease: Duration,
    /// The least time between two looks for locks to settle.
    pub lock_settle_interval: Duration,
}

/// The repository that owns [`StackOptions::foreign_owned`] deployments.
pub const FOREIGN_OWNER: &str = "acme-payments/payments-service";

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            tern: TernStandinConfig::new(services::mysql_dsn()),
            environments: vec!["staging", "production"],
            max_receive_count: 3,
            permission_minimums: vec![],
            lock_lease: Duration::from_secs(24 * 60 * 60),
            promotion_order: vec![],
            extra_deployments: vec![],
            trusted_senders: TrustedSenders::everyone(services::EMULATOR_SENDER_ID),
            extra_owners: vec![],
            foreign_owned: vec![],
            review_gates: None,
            plan_limits: Default::default(),
            confirm_lease: Duration::from_secs(600),
            lock_settle_interval: Duration::from_secs(120),
        }
    }
}

impl Stack {
    pub async fn start() -> Stack {
        Stack::start_with(StackOptions::default()).await
    }

    pub async fn start_with(options: StackOptions) -> Stack {
        let sdk = load_sdk_config().await;
        let mysql_dsn = services::mysql_dsn();
        let worker_requests = RequestCounter::new();
        let webhook_requests = RequestCounter::new();
        let dynamo = dynamodb_client(&sdk, &worker_requests);
        let sqs = sqs_client(&sdk, &worker_requests);
        let table = services::unique("schemabot-");
        create_table(&dynamo, &table).await.expect("create table");
        let queue_url = create_fifo_queue(&sqs, &format!("{}.fifo", services::unique("jobs-")))
            .await
            .expect("create FIFO queue");
        let poll_queue_url = create_standard_queue(&sqs, &services::unique("polls-"))
            .await
            .expect("create poll queue");

        let tern = TernStandin::start(options.tern)
            .await
            .expect("start Tern stand-in");
        let github = GithubStandin::start().await.expect("start GitHub stand-in");
        let schema = services::unique("app_");

        let mut deployments = Deployments::default();
        for env in &options.environments {
            deployments = deployments.with(DEPLOYMENT, env, tern.endpoint(), &mysql_dsn);
            for name in &options.extra_deployments {
                deployments = deployments.with(name, env, tern.endpoint(), &mysql_dsn);
            }
        }
        let owners = std::iter::once(Stack::repository()).chain(options.extra_owners.clone());
        for owner in owners {
            deployments = deployments.owned_by(DEPLOYMENT, &owner);
            for name in &options.extra_deployments {
                if !options.foreign_owned.contains(name) {
                    deployments = deployments.owned_by(name, &owner);
                }
            }
        }
        let foreign = Repository::parse(FOREIGN_OWNER).expect("repository");
        for name in &options.foreign_owned {
            deployments = deployments.owned_by(name, &foreign);
        }
        let environments: Vec<Environment> = options
            .environments
            .iter()
            .map(|e| Environment::parse(e).expect("environment"))
            .collect();
        let minimums = serde_json::to_string(
            &options
                .permission_minimums
                .iter()
                .map(|(e, p)| ((*e).to_string(), (*p).to_string()))
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .expect("json");
        let config = WorkerConfig {
            table: table.clone(),
            queue_url: queue_url.clone(),
            poll_queue_url: Some(poll_queue_url.clone()),
            max_receive_count: options.max_receive_count,
            environments: environments.clone(),
            permission_minimums: worker::config::parse_permission_minimums(&minimums)
                .expect("minimums"),
            read_minimums: Default::default(),
            deployments: deployments.clone(),
            abandon_grace: Duration::from_secs(300),
            poll_interval: Duration::from_secs(12),
            sweep_concurrency: 16,
            min_edit_interval: Duration::from_secs(5),
            lock_lease: options.lock_lease,
            promotion_order: options
                .promotion_order
                .iter()
                .map(|e| Environment::parse(e).expect("environment"))
                .collect(),
            repositories: vec![Stack::repository()],
            trusted_senders: options.trusted_senders.clone(),
            accept_test_jobs: true,
            job_budget: Duration::from_secs(20),
            plan_limits: options.plan_limits,
            confirm_lease: options.confirm_lease,
            lock_settle_interval: options.lock_settle_interval,
            review_gates: worker::review_config::ReviewGates::parse(
                options.review_gates.as_deref().unwrap_or_default(),
                &environments,
            )
            .expect("review gates"),
        };
        let github_client = GithubClient::with_retry_policy(
            &github.app_config(),
            RetryPolicy {
                max_retries: 3,
                max_wait: Duration::from_secs(2),
                base_backoff: Duration::from_millis(20),
            },
        )
        .expect("GitHub client");
        let tern_client = TernClient::new(
            deployments.tern_endpoints().expect("endpoints"),
            TernClientConfig {
                connect_timeout: Duration::from_millis(500),
                request_timeout: Duration::from_secs(2),
            },
        );
        let worker = Worker {
            config,
            store: Store::new(dynamo.clone(), table.clone()),
            queue: JobQueue::new(sqs.clone(), queue_url.clone())
                .with_delay_queue(poll_queue_url.clone()),
            tern: tern_client,
            github: github_client,
            sentinel: SentinelChecker::default(),
            dsns: DeploymentDsns::new(deployments, None),
        };
        let webhook_dynamo = dynamodb_client(&sdk, &webhook_requests);
        let webhook_sqs = sqs_client(&sdk, &webhook_requests);
        let webhook = webhook::Webhook {
            secrets: WebhookSecrets::new(&[WEBHOOK_SECRET]).expect("secret"),
            routing: RoutingConfig {
                environments,
                owned: vec![],
                primary: true,
                // The allowlist is required in production; the stack serves its one repository.
                repositories: vec![Stack::repository()],
                autoplan: webhook::autoplan::AutoplanPolicy::default(),
            },
            intake: webhook::intake::Intake {
                store: Store::new(webhook_dynamo, table.clone()),
                queue: JobQueue::new(webhook_sqs, queue_url.clone()),
            },
        };
        Stack {
            worker,
            webhook,
            tern,
            github,
            store: Store::new(dynamo, table),
            sqs,
            queue_url,
            poll_queue_url,
            worker_requests,
            mysql_dsn,
            schema,
            next_comment: AtomicU64::new(1_000),
        }
    }

    pub fn repository() -> Repository {
        Repository::parse(REPOSITORY).expect("repository")
    }

    /// Grants `login` a repository permission on the GitHub stand-in.
    pub fn grant(&self, login: &str, permission: &str) {
        self.github.set_permission(login, permission);
    }

    /// A signed `issue_comment` delivery through the webhook (API Gateway v2 shape), as GitHub
    /// sends it. Returns the HTTP status and JSON body. Each call is a new comment unless
    /// `comment_id` is given; `delivery_id` defaults to a fresh GUID.
    pub async fn comment(&self, login: &str, body: &str) -> (i64, Value) {
        let id = self.next_comment.fetch_add(1, Ordering::Relaxed);
        self.deliver_comment(login, body, id, &uuid::Uuid::new_v4().to_string())
            .await
    }

    pub async fn deliver_comment(
        &self,
        login: &str,
        body: &str,
        comment_id: u64,
        delivery_id: &str,
    ) -> (i64, Value) {
        self.deliver_comment_on(PR, login, body, comment_id, delivery_id)
            .await
    }

    /// A new comment on pull request `pr` of the stack's repository (see [`Stack::comment`]).
    pub async fn comment_on(&self, pr: u64, login: &str, body: &str) -> (i64, Value) {
        let id = self.next_comment.fetch_add(1, Ordering::Relaxed);
        self.deliver_comment_on(pr, login, body, id, &uuid::Uuid::new_v4().to_string())
            .await
    }

    pub async fn deliver_comment_on(
        &self,
        pr: u64,
        login: &str,
        body: &str,
        comment_id: u64,
        delivery_id: &str,
    ) -> (i64, Value) {
        let mut payload: Value = serde_json::from_str(COMMENT_FIXTURE).expect("fixture");
        payload["issue"]["number"] = json!(pr);
        payload["comment"]["body"] = json!(body);
        payload["comment"]["id"] = json!(comment_id);
        payload["comment"]["user"]["login"] = json!(login);
        payload["sender"]["login"] = json!(login);
        let payload = payload.to_string();
        let mut event: Value = serde_json::from_str(HTTP_V2).expect("fixture");
        event["headers"]["x-github-event"] = json!("issue_comment");
        event["headers"]["x-github-delivery"] = json!(delivery_id);
        event["headers"]["x-hub-signature-256"] =
            json!(sign(WEBHOOK_SECRET.as_bytes(), payload.as_bytes()));
        event["body"] = json!(payload);
        let event: HttpEvent = serde_json::from_value(event).expect("event");
        let response = self.webhook.handle_event(event).await;
        let body = match &response.body {
            Some(aws_lambda_events::encodings::Body::Text(t)) => {
                serde_json::from_str(t).unwrap_or(Value::Null)
            }
            _ => Value::Null,
        };
        (response.status_code, body)
    }

    /// Receives one batch (up to 10) from the FIFO queue and runs it through the worker like the
    /// Lambda event source mapping. Returns how many messages were handed to the worker.
    pub async fn deliver_batch(&self) -> usize {
        self.deliver_batch_with(TimeBudget::unlimited(), true)
            .await
            .handed
    }

    /// [`Stack::deliver_batch`] with the invocation's time budget. `skip_waits` makes the
    /// messages the worker handed back visible at once (time passes instantly in tests);
    /// without it they keep the visibility the worker set, as in SQS.
    pub async fn deliver_batch_with(&self, budget: TimeBudget, skip_waits: bool) -> BatchOutcome {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let messages = received.messages().to_vec();
        if messages.is_empty() {
            return BatchOutcome {
                handed: 0,
                ids: vec![],
                failed: vec![],
            };
        }
        let records: Vec<SqsMessage> = messages
            .iter()
            .map(|m| {
                let mut record = SqsMessage::default();
                record.message_id = m.message_id().map(str::to_string);
                record.receipt_handle = m.receipt_handle().map(str::to_string);
                record.body = m.body().map(str::to_string);
                if let Some(attributes) = m.attributes() {
                    for (k, v) in attributes {
                        record.attributes.insert(k.as_str().to_string(), v.clone());
                    }
                }
                record
            })
            .collect();
        let count = records.len();
        let mut event = SqsEvent::default();
        event.records = records;
        let response = self.worker.handle_sqs_within(event, budget).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        for m in &messages {
            let id = m.message_id().unwrap_or_default();
            let Some(handle) = m.receipt_handle() else {
                continue;
            };
            if failed.iter().any(|f| f == id) {
                if !skip_waits {
                    continue;
                }
                // Time passes in tests instantly: make the retry visible again now.
                let _ = self
                    .sqs
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await;
            } else {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete");
            }
        }
        BatchOutcome {
            handed: count,
            ids: messages
                .iter()
                .filter_map(|m| m.message_id().map(str::to_string))
                .collect(),
            failed,
        }
    }

    /// Delivers until the queue is empty (bounded), returning the number of worker invocations.
    pub async fn deliver_all(&self) -> usize {
        let mut invocations = 0;
        for _ in 0..50 {
            if self.deliver_batch().await == 0 {
                // FIFO groups with an in-flight failure become visible again at once; one more
                // look makes sure nothing is left.
                if self.deliver_batch().await == 0 {
                    return invocations;
                }
            }
            invocations += 1;
        }
        invocations
    }

    /// Creates an apply waiting for cutover: the Tern stand-in holds it at the sentinel (the real
    /// `_spirit_sentinel` exists in MariaDB) and DynamoDB has the apply and its tasks.
    pub async fn waiting_apply(&self, environment: &str, tables: &[(&str, &str)]) -> Apply {
        use crate::tern_standin::{ApplyRegistration, RegisteredPhase};
        let tern_id = self
            .tern
            .register_apply(ApplyRegistration::deferred(
                &self.schema,
                tables,
                RegisteredPhase::WaitingForCutover,
            ))
            .await
            .expect("register with Tern");
        self.record_apply(&tern_id, environment, tables, State::WaitingForCutover)
            .await
    }

    /// Stores an apply (and one task per table) in DynamoDB in `state`.
    pub async fn record_apply(
        &self,
        tern_id: &str,
        environment: &str,
        tables: &[(&str, &str)],
        state: State,
    ) -> Apply {
        let now = Utc::now();
        let id = ApplyId::parse(tern_id).expect("Tern apply id");
        let apply = Apply {
            id: id.clone(),
            tern_apply_id: tern_id.to_string(),
            repository: Stack::repository(),
            pr: PrNumber(PR),
            installation_id: InstallationId(INSTALLATION),
            database: Database::parse(&self.schema).expect("db"),
            database_type: "mysql".into(),
            deployment: DEPLOYMENT.into(),
            environment: Environment::parse(environment).expect("env"),
            target_schema: self.schema.clone(),
            state,
            version: 1,
            mode: ApplyMode::Atomic,
            defer_cutover: true,
            requested_by: Some(Login("alice-dba".into())),
            created_at: now,
            started_at: Some(now),
            completed_at: None,
            error_message: None,
            claim: None,
            cutover_triggered_by: None,
            cutover_triggered_at: None,
            desired_schema: Default::default(),
            rollback_of: None,
        };
        let tasks: Vec<Task> = tables
            .iter()
            .enumerate()
            .map(|(i, (table, ddl))| Task {
                apply_id: id.clone(),
                task_id: TaskId::from_random(0xa000 + i as u64),
                namespace: self.schema.clone(),
                table: (*table).to_string(),
                ddl: (*ddl).to_string(),
                state,
                version: 1,
                ready_to_complete: state == State::WaitingForCutover,
                rows_copied: 1000,
                rows_total: 1000,
                percent: 100,
                eta_seconds: None,
                error_message: None,
                started_at: Some(now),
                completed_at: None,
                engine_silent_since: None,
                checksum: None,
            })
            .collect();
        let event = AuditEvent {
            apply_id: id,
            at: now,
            event: schemabot_domain::audit::EventKind::ApplyRegistered,
            actor: "test".into(),
            delivery_id: None,
            from_state: None,
            to_state: Some(state),
            outcome: schemabot_domain::audit::Outcome::Registered,
            message: None,
        };
        let outcome = self
            .store
            .create_apply(&apply, &tasks, &event)
            .await
            .expect("create apply");
        assert!(outcome.is_written(), "apply already existed");
        apply
    }

    /// Comments on the PR as a reader sees them, oldest first.
    pub fn pr_comments(&self) -> Vec<String> {
        self.github
            .comments(&Stack::repository(), PrNumber(PR))
            .into_iter()
            .map(|c| c.body)
            .collect()
    }

    /// Whether `_spirit_sentinel` exists in the stack's schema (checked with the real checker).
    pub async fn sentinel_present(&self) -> bool {
        SentinelChecker::default()
            .sentinel_present(
                &schemabot_sentinel::TargetDsn::new(self.mysql_dsn.clone()),
                &self.schema,
            )
            .await
            .expect("sentinel check")
    }
}
