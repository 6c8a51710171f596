//! A Tern stand-in: a tonic `tern.v1.Tern` server, in-process on the caller's tokio runtime,
//! that simulates Spirit against a real MariaDB.
//!
//! Two layers are modelled, because a Tern restart loses one and not the other:
//! * Tern's storage (applies, tasks, copy checkpoints, terminal outcomes) survives
//!   [`TernStandinHandle::restart`];
//! * Spirit's in-memory migration does not. Until it is resumed (by
//!   [`TernStandinHandle::resume`] or after [`TernStandinConfig::auto_resume_after`]), Progress
//!   reports `STATE_RECOVERING`, as current Tern does, and Cutover is refused. If the sentinel
//!   table disappears while the migration is lost, the copy is lost with it: the migration never
//!   resumes and never swaps (Progress keeps reporting `STATE_RECOVERING`).
//!
//! It speaks the current contract only: requests address an apply by its id alone, an unknown
//! apply is `NOT_FOUND`, Apply honours `idempotency_key`, and `PlanDiff` and `Cancel` are served.
//!
//! With `defer_cutover = "true"` the stand-in creates the real `_spirit_sentinel` table in the
//! target schema when the copy starts, parks at `waitingOnSentinelTable` once copied, and a
//! Cutover drops the table. Like Spirit it watches the table: if it disappears some other way,
//! the apply proceeds to cut over.
//!
//! How fast tables copy is chosen by [`CopyPace`]: manual ([`TernStandinHandle::advance`]), a
//! fixed step per Progress call, or wall-clock time. Faults: [`TernStandinHandle::set_delay`],
//! [`TernStandinHandle::fail_next`], [`TernStandinHandle::lose_next_responses`].

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use mysql_async::prelude::Queryable;
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};
use schemabot_domain::{ApplyId, TaskId};
use schemabot_sentinel::SENTINEL_QUERY;
use schemabot_tern::proto::tern_server::{Tern, TernServer};
use schemabot_tern::{proto, EndpointError, TernEndpoints};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

/// Tern's refusal while Spirit has no in-memory migration.
pub const RECOVERY_REFUSAL: &str = "Schema change is being recovered after a restart. The recovery worker will resume it shortly — try again in a moment.";

/// What a new Apply does to an older apply of the same database whose engine state was lost.
pub const ABANDONED_MESSAGE: &str =
    "Task abandoned: engine has no active schema change (server may have crashed)";

/// Spirit's per-table status strings (`status.State.String()`), as Tern passes them through.
pub mod spirit_status {
    pub const COPY_ROWS: &str = "copyRows";
    pub const WAITING_ON_SENTINEL: &str = "waitingOnSentinelTable";
    pub const CUT_OVER: &str = "cutOver";
    pub const CLOSE: &str = "close";
}

/// Bound on every statement the stand-in runs against MariaDB, so a test fails instead of hanging.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the simulated copy moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyPace {
    /// Only [`TernStandinHandle::advance`] moves an apply (fully deterministic).
    Manual,
    /// After answering a Progress call for an apply, copy `rows` more rows of each table (or
    /// finish a running cut-over). Deterministic, and needs no test-side control.
    PerProgressCall { rows: i64 },
    /// Wall-clock: `rows_per_second` per table; a cut-over takes `cutover_duration`.
    Timed {
        rows_per_second: i64,
        cutover_duration: Duration,
    },
}

/// Stand-in configuration. Start from [`TernStandinConfig::new`] and adjust.
#[derive(Clone)]
pub struct TernStandinConfig {
    /// A DSN with rights to create and drop tables in the target schemas (the local root DSN).
    pub root_dsn: String,
    pub pace: CopyPace,
    /// Rows of a table not listed in `rows_total_by_table`.
    pub default_rows_total: i64,
    pub rows_total_by_table: HashMap<String, i64>,
    /// Resume Spirit's migrations by themselves this long after a restart (`None`: only
    /// [`TernStandinHandle::resume`] does).
    pub auto_resume_after: Option<Duration>,
    /// Run each table's DDL in the target schema when the apply completes.
    pub run_ddl_on_completion: bool,
    /// `CREATE DATABASE IF NOT EXISTS` the target schema on Apply (convenient for tests).
    pub create_missing_schema: bool,
    /// Serve gRPC over TLS (see `crate::test_pki`); the endpoint is then
    /// `https://localhost:<port>`.
    pub tls: Option<ServerTlsConfig>,
}

impl fmt::Debug for TernStandinConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TernStandinConfig")
            .field("root_dsn", &"***")
            .field("pace", &self.pace)
            .field("default_rows_total", &self.default_rows_total)
            .field("rows_total_by_table", &self.rows_total_by_table)
            .field("auto_resume_after", &self.auto_resume_after)
            .field("run_ddl_on_completion", &self.run_ddl_on_completion)
            .field("create_missing_schema", &self.create_missing_schema)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl TernStandinConfig {
    /// Manual pace, 1000 rows per table, no auto-resume, no DDL at completion.
    pub fn new(root_dsn: impl Into<String>) -> Self {
        Self {
            root_dsn: root_dsn.into(),
            pace: CopyPace::Manual,
            default_rows_total: 1000,
            rows_total_by_table: HashMap::new(),
            auto_resume_after: None,
            run_ddl_on_completion: false,
            create_missing_schema: true,
            tls: None,
        }
    }

    /// [`TernStandinConfig::new`] with the local MariaDB root DSN (`SCHEMABOT_TEST_MYSQL_DSN`).
    pub fn from_env() -> Self {
        Self::new(crate::services::mysql_dsn())
    }

    pub fn with_pace(mut self, pace: CopyPace) -> Self {
        self.pace = pace;
        self
    }

    pub fn with_default_rows_total(mut self, rows: i64) -> Self {
        self.default_rows_total = rows;
        self
    }

    pub fn with_rows_total(mut self, table: &str, rows: i64) -> Self {
        self.rows_total_by_table.insert(table.to_string(), rows);
        self
    }

    pub fn with_auto_resume_after(mut self, delay: Duration) -> Self {
        self.auto_resume_after = Some(delay);
        self
    }

    pub fn with_ddl_on_completion(mut self, run: bool) -> Self {
        self.run_ddl_on_completion = run;
        self
    }

    pub fn with_tls(mut self, tls: ServerTlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    fn rows_total_for(&self, table: &str) -> i64 {
        self.rows_total_by_table
            .get(table)
            .copied()
            .unwrap_or(self.default_rows_total)
            .max(0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StandinError {
    #[error("binding the Tern stand-in: {0}")]
    Bind(#[from] std::io::Error),
    #[error("the stand-in's TLS configuration is unusable: {0}")]
    Tls(String),
    #[error("the stand-in's MySQL DSN is not a valid connection URL")]
    InvalidDsn,
    #[error("stand-in database error: {0}")]
    Database(String),
    #[error("`{0}` is not usable as a MySQL identifier")]
    InvalidIdentifier(String),
    #[error("unknown apply {0}")]
    UnknownApply(String),
    #[error("apply {apply_id} cannot be resumed: {reason}")]
    NotResumable { apply_id: String, reason: String },
    #[error("invalid registration: {0}")]
    InvalidRegistration(String),
}

/// Calls that reached the simulated Tern (injected failures are counted separately: they
/// never got that far).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TernCallCounts {
    pub plan: u64,
    pub apply: u64,
    pub progress: u64,
    pub cutover: u64,
    /// Cutover calls answered `accepted = true`.
    pub cutover_accepted: u64,
    /// Schema changes Apply started (a repeated idempotency key starts none).
    pub applies_started: u64,
    pub plan_diff: u64,
    pub cancel: u64,
    /// Revert, SkipRevert, Stop, Start, Health.
    pub other: u64,
    /// Calls refused by [`TernStandinHandle::fail_next`].
    pub injected_failures: u64,
    /// Calls processed whose answer was replaced by `Unavailable` ([`TernStandinHandle::lose_next_responses`]).
    pub lost_responses: u64,
}

/// Where an apply is, as the simulation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandinPhase {
    Copying,
    WaitingOnSentinel,
    CuttingOver,
    Completed,
    Failed(String),
    Stopped,
    Cancelled,
    /// Tern restarted; Spirit's migration is gone until resumed.
    EngineLost,
}

/// One table of an apply created with [`TernStandinHandle::register_apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredTable {
    pub table_name: String,
    pub ddl: String,
    pub rows_total: i64,
}

/// The state [`TernStandinHandle::register_apply`] puts an apply in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisteredPhase {
    Copying {
        rows_copied: i64,
    },
    /// Copied, sentinel created, parked (requires `defer_cutover`).
    WaitingForCutover,
    /// Cutover already triggered: the sentinel is dropped.
    CuttingOver,
    Completed,
    Failed {
        message: String,
    },
    /// As after a restart: known to Tern, not to Spirit. The sentinel exists when
    /// `defer_cutover` is set and `sentinel_present` is true.
    EngineLost {
        copy_done: bool,
        sentinel_present: bool,
    },
}

/// An apply to create directly, bypassing the Apply RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyRegistration {
    pub database: String,
    pub defer_cutover: bool,
    pub tables: Vec<RegisteredTable>,
    pub phase: RegisteredPhase,
}

impl ApplyRegistration {
    /// A deferred-cutover apply of `tables` (`(name, ddl)`) on schema `database`, in `phase`,
    /// 1000 rows each.
    pub fn deferred(database: &str, tables: &[(&str, &str)], phase: RegisteredPhase) -> Self {
        Self {
            database: database.to_string(),
            defer_cutover: true,
            tables: tables
                .iter()
                .map(|(name, ddl)| RegisteredTable {
                    table_name: name.to_string(),
                    ddl: ddl.to_string(),
                    rows_total: 1000,
                })
                .collect(),
            phase,
        }
    }
}

/// A Progress answer reported for an apply instead of what the simulation would say (the
/// simulation itself carries on underneath). For tests of engine reports Spirit rarely makes,
/// e.g. a table reported `copyRows` again after it waited at the sentinel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForcedReport {
    /// The overall state.
    pub state: proto::State,
    /// Every table's `status` (a Spirit or canonical state string).
    pub table_status: String,
    pub summary: String,
    /// A raw `State` number sent instead of `state` (e.g. one newer than this contract).
    pub state_number: Option<i32>,
    /// `(checksum_rows_checked, checksum_rows_total)` reported for every table.
    pub checksum: Option<(i64, i64)>,
}

impl ForcedReport {
    pub fn new(state: proto::State, table_status: &str) -> Self {
        Self {
            state,
            table_status: table_status.to_string(),
            summary: String::new(),
            state_number: None,
            checksum: None,
        }
    }

    /// Reports the overall state as this raw number.
    pub fn with_state_number(mut self, number: i32) -> Self {
        self.state_number = Some(number);
        self
    }

    /// Reports every table verifying its copy: `checked` of `total` rows.
    pub fn with_checksum(mut self, checked: i64, total: i64) -> Self {
        self.checksum = Some((checked, total));
        self
    }
}

/// Entry point: `TernStandin::start(config)`.
pub struct TernStandin;

impl TernStandin {
    /// Binds `127.0.0.1:0`, checks MariaDB is reachable and serves until the handle is shut
    /// down or dropped.
    pub async fn start(config: TernStandinConfig) -> Result<TernStandinHandle, StandinError> {
        let opts = Opts::from_url(&config.root_dsn).map_err(|_| StandinError::InvalidDsn)?;
        let constraints = PoolConstraints::new(0, 4).ok_or(StandinError::InvalidDsn)?;
        let pool = Pool::new(
            OptsBuilder::from_opts(opts)
                .prefer_socket(false)
                .pool_opts(PoolOpts::default().with_constraints(constraints)),
        );
        // Fail at start, not on the first RPC, when MariaDB is not there.
        bounded(async {
            let mut conn = pool.get_conn().await?;
            conn.ping().await
        })
        .await
        .map_err(StandinError::Database)?;

        let pace = config.pace;
        let mut server = Server::builder();
        if let Some(tls) = config.tls.clone() {
            server = server
                .tls_config(tls)
                .map_err(|e| StandinError::Tls(e.to_string()))?;
        }
        let tls = config.tls.is_some();
        let shared = Arc::new(Shared {
            config,
            pool,
            sim: Mutex::new(Sim {
                applies: Vec::new(),
                pace,
                delay: Duration::ZERO,
                fail_next: 0,
                lose_next: 0,
                fail_plan_diff: 0,
                counts: TernCallCounts::default(),
                forced: HashMap::new(),
                by_idempotency_key: HashMap::new(),
            }),
            serial: tokio::sync::Mutex::new(()),
        });

        // No Nagle: with delayed ACKs on the client, every answer would otherwise wait ~40 ms.
        let incoming =
            TcpIncoming::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?.with_nodelay(Some(true));
        let addr = incoming.local_addr()?;
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let service = TernServer::new(StandinService(Arc::clone(&shared)));
        let endpoint = if tls {
            // The test certificate names localhost (and 127.0.0.1).
            format!("https://localhost:{}", addr.port())
        } else {
            format!("http://{addr}")
        };
        let server = tokio::spawn(
            server.serve_with_incoming_shutdown(service, incoming, async {
                // A dropped sender (handle dropped) also stops the server.
                let _ = shutdown_rx.await;
            }),
        );
        tracing::debug!(%addr, "tern stand-in listening");
        Ok(TernStandinHandle {
            shared,
            addr,
            endpoint,
            shutdown_tx: Some(shutdown_tx),
            server: Some(server),
        })
    }
}

/// The running stand-in and its controls. All controls take `&self` and are thread-safe.
pub struct TernStandinHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    endpoint: String,
    shutdown_tx: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl fmt::Debug for TernStandinHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TernStandinHandle")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl TernStandinHandle {
    /// `http://127.0.0.1:<port>`, or `https://localhost:<port>` with TLS.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Endpoint configuration routing `(deployment, environment)` here.
    pub fn endpoints(
        &self,
        deployment: &str,
        environment: &str,
    ) -> Result<TernEndpoints, EndpointError> {
        TernEndpoints::new().with_endpoint(deployment, environment, &self.endpoint)
    }

    /// `{"<deployment>":{"<environment>":"<endpoint>"}}`, the `SCHEMABOT_TERN_ENDPOINTS` format.
    pub fn endpoints_json(&self, deployment: &str, environment: &str) -> String {
        serde_json::json!({ deployment: { environment: self.endpoint } }).to_string()
    }

    /// Stops serving and waits for the server task; closes the MariaDB pool.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "tern stand-in server ended with an error")
                }
                Err(error) => tracing::warn!(%error, "tern stand-in server task failed"),
            }
        }
        if let Err(error) = self.shared.pool.clone().disconnect().await {
            tracing::debug!(error = %describe_db_error(&error), "closing the stand-in pool");
        }
    }

    /// Simulates a Tern/Spirit restart: every in-flight migration forgets its in-memory state.
    /// Tern's storage (applies, checkpoints) and the tables in MariaDB — including
    /// `_spirit_sentinel` — stay.
    pub fn restart(&self) {
        let now = Instant::now();
        let mut sim = self.shared.sim();
        for apply in sim.applies.iter_mut() {
            if apply.outcome == Outcome::Active {
                apply.engine = None;
                apply.engine_lost_at = Some(now);
            }
        }
    }

    /// Tern resumes `apply_id` from Spirit's checkpoint: the copy continues where it was; once
    /// copied, the apply waits again if the sentinel still exists, otherwise it cuts over.
    pub fn resume(&self, apply_id: &str) -> Result<(), StandinError> {
        let mut sim = self.shared.sim();
        let apply = sim
            .find_mut(apply_id)
            .ok_or_else(|| StandinError::UnknownApply(apply_id.to_string()))?;
        if apply.outcome != Outcome::Active {
            return Err(StandinError::NotResumable {
                apply_id: apply_id.to_string(),
                reason: format!("it is {:?}", apply.phase()),
            });
        }
        if apply.engine.is_none() {
            apply.resume_engine(Instant::now());
        }
        Ok(())
    }

    /// [`TernStandinHandle::resume`] for every apply that lost its engine state.
    pub fn resume_all(&self) {
        let now = Instant::now();
        let mut sim = self.shared.sim();
        for apply in sim.applies.iter_mut() {
            if apply.outcome == Outcome::Active && apply.engine.is_none() {
                apply.resume_engine(now);
            }
        }
    }

    /// Copies `rows` more rows of every table of `apply_id`, or finishes its cut-over if one is
    /// running. The resulting state is reported by the next RPC.
    pub fn advance(&self, apply_id: &str, rows: i64) -> Result<(), StandinError> {
        let mut sim = self.shared.sim();
        let apply = sim
            .find_mut(apply_id)
            .ok_or_else(|| StandinError::UnknownApply(apply_id.to_string()))?;
        apply.step(rows);
        Ok(())
    }

    /// Copies every table of `apply_id` to the end.
    pub fn finish_copy(&self, apply_id: &str) -> Result<(), StandinError> {
        self.advance(apply_id, i64::MAX)
    }

    /// Latency added to every RPC before it is processed.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.sim().delay = delay;
    }

    pub fn set_pace(&self, pace: CopyPace) {
        self.shared.sim().pace = pace;
    }

    /// The next `n` RPCs fail with `Unavailable` without reaching the simulated Tern.
    pub fn fail_next(&self, n: u32) {
        self.shared.sim().fail_next = n;
    }

    /// The next `n` PlanDiff calls answer `Unavailable` (other RPCs are served).
    pub fn fail_plan_diff(&self, n: u32) {
        self.shared.sim().fail_plan_diff = n;
    }

    /// The next `n` RPCs are processed (their effects happen) but answer `Unavailable`, as if
    /// the response was lost on the way back.
    pub fn lose_next_responses(&self, n: u32) {
        self.shared.sim().lose_next = n;
    }

    /// Reports `report` for `apply_id` from now on, until [`TernStandinHandle::clear_forced_report`].
    pub fn force_report(&self, apply_id: &str, report: ForcedReport) {
        self.shared
            .sim()
            .forced
            .insert(apply_id.to_ascii_lowercase(), report);
    }

    /// Reports the simulation's own view of `apply_id` again.
    pub fn clear_forced_report(&self, apply_id: &str) {
        self.shared
            .sim()
            .forced
            .remove(&apply_id.to_ascii_lowercase());
    }

    /// Clears delay and pending injected failures.
    pub fn clear_faults(&self) {
        let mut sim = self.shared.sim();
        sim.delay = Duration::ZERO;
        sim.fail_next = 0;
        sim.lose_next = 0;
    }

    pub fn counts(&self) -> TernCallCounts {
        self.shared.sim().counts
    }

    /// Cutover calls that reached Tern.
    pub fn cutover_calls(&self) -> u64 {
        self.counts().cutover
    }

    /// Cutover calls answered `accepted = true`.
    pub fn cutovers_accepted(&self) -> u64 {
        self.counts().cutover_accepted
    }

    pub fn progress_calls(&self) -> u64 {
        self.counts().progress
    }

    pub fn apply_calls(&self) -> u64 {
        self.counts().apply
    }

    /// The simulation's view of an apply (not settled: the next RPC may move it on).
    pub fn phase(&self, apply_id: &str) -> Option<StandinPhase> {
        self.shared.sim().find(apply_id).map(SimApply::phase)
    }

    /// Ids of all applies, oldest first.
    pub fn apply_ids(&self) -> Vec<String> {
        self.shared
            .sim()
            .applies
            .iter()
            .map(|a| a.apply_id.clone())
            .collect()
    }

    /// Creates an apply directly in the given state (creating or dropping the real sentinel
    /// table to match). Returns its Tern apply id.
    pub async fn register_apply(
        &self,
        registration: ApplyRegistration,
    ) -> Result<String, StandinError> {
        let shared = &self.shared;
        let _serial = shared.serial.lock().await;
        let sentinel_wanted = match &registration.phase {
            RegisteredPhase::WaitingForCutover => {
                if !registration.defer_cutover {
                    return Err(StandinError::InvalidRegistration(
                        "waiting for cutover requires defer_cutover".into(),
                    ));
                }
                Some(true)
            }
            RegisteredPhase::Copying { .. } => registration.defer_cutover.then_some(true),
            RegisteredPhase::CuttingOver => Some(false),
            RegisteredPhase::EngineLost {
                sentinel_present, ..
            } => registration.defer_cutover.then_some(*sentinel_present),
            RegisteredPhase::Completed | RegisteredPhase::Failed { .. } => None,
        };
        if shared.config.create_missing_schema {
            shared.create_schema(&registration.database).await?;
        }
        match sentinel_wanted {
            Some(true) => shared.create_sentinel(&registration.database).await?,
            Some(false) => shared.drop_sentinel(&registration.database).await?,
            None => {}
        }

        let now = Instant::now();
        let mut apply = SimApply {
            apply_id: new_apply_id(),
            database: registration.database,
            defer_cutover: registration.defer_cutover,
            tasks: registration
                .tables
                .into_iter()
                .map(|table| SimTask {
                    task_id: new_task_id(),
                    namespace: String::new(),
                    table_name: table.table_name,
                    ddl: table.ddl,
                    change_type: proto::ChangeType::Alter as i32,
                    rows_total: table.rows_total.max(0),
                    rows_copied: 0,
                })
                .collect(),
            started_at: Utc::now(),
            completed_at: None,
            outcome: Outcome::Active,
            engine: Some(Migration::copying(now)),
            engine_lost_at: None,
            reached_sentinel_wait: false,
            copy_lost: false,
            cutover_accepted: false,
        };
        match registration.phase {
            RegisteredPhase::Copying { rows_copied } => apply.step(rows_copied),
            RegisteredPhase::WaitingForCutover => {
                apply.copy_everything();
                apply.enter_phase(Phase::WaitingOnSentinel);
            }
            RegisteredPhase::CuttingOver => {
                apply.copy_everything();
                apply.reached_sentinel_wait = apply.defer_cutover;
                apply.cutover_accepted = true;
                apply.enter_phase(Phase::CuttingOver {
                    since: now,
                    finish_requested: false,
                });
            }
            RegisteredPhase::Completed => apply.finish(Ok(())),
            RegisteredPhase::Failed { message } => apply.finish(Err(message)),
            RegisteredPhase::EngineLost { copy_done, .. } => {
                if copy_done {
                    apply.copy_everything();
                    apply.reached_sentinel_wait = apply.defer_cutover;
                }
                apply.engine = None;
                apply.engine_lost_at = Some(now);
            }
        }
        let apply_id = apply.apply_id.clone();
        shared.sim().applies.push(apply);
        Ok(apply_id)
    }
}

impl Drop for TernStandinHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Simulation state

/// Tern's durable view of an apply's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Active,
    Stopped,
    Cancelled,
    Completed,
    Failed(String),
}

/// Spirit's in-memory migration.
#[derive(Debug, Clone, Copy)]
struct Migration {
    phase: Phase,
    /// Last time wall-clock progress was credited (timed pace).
    last_tick: Instant,
}

impl Migration {
    fn copying(now: Instant) -> Self {
        Migration {
            phase: Phase::Copying,
            last_tick: now,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Copying,
    WaitingOnSentinel,
    CuttingOver {
        since: Instant,
        finish_requested: bool,
    },
}

#[derive(Debug, Clone)]
struct SimTask {
    task_id: String,
    namespace: String,
    table_name: String,
    ddl: String,
    change_type: i32,
    rows_total: i64,
    /// Also Spirit's checkpoint: a resumed migration continues from here.
    rows_copied: i64,
}

#[derive(Debug, Clone)]
struct SimApply {
    apply_id: String,
    database: String,
    defer_cutover: bool,
    tasks: Vec<SimTask>,
    started_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    outcome: Outcome,
    engine: Option<Migration>,
    engine_lost_at: Option<Instant>,
    /// Latched once the copy parked at the sentinel: never reset.
    reached_sentinel_wait: bool,
    /// The sentinel vanished while the migration was lost: Spirit's copy is gone for good.
    copy_lost: bool,
    /// Tern accepted a Cutover (dropped the sentinel itself).
    cutover_accepted: bool,
}

/// A step of the simulation that needs MariaDB.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DatabaseStep {
    None,
    /// Copy finished (deferred) or waiting: is the sentinel still there?
    CheckSentinel,
    /// Cut-over done: close the migration (and run the DDL if configured).
    Finish,
}

impl SimApply {
    fn phase(&self) -> StandinPhase {
        match (&self.outcome, &self.engine) {
            (Outcome::Completed, _) => StandinPhase::Completed,
            (Outcome::Failed(message), _) => StandinPhase::Failed(message.clone()),
            (Outcome::Stopped, _) => StandinPhase::Stopped,
            (Outcome::Cancelled, _) => StandinPhase::Cancelled,
            (Outcome::Active, None) => StandinPhase::EngineLost,
            (Outcome::Active, Some(migration)) => match migration.phase {
                Phase::Copying => StandinPhase::Copying,
                Phase::WaitingOnSentinel => StandinPhase::WaitingOnSentinel,
                Phase::CuttingOver { .. } => StandinPhase::CuttingOver,
            },
        }
    }

    fn is_terminal(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Completed | Outcome::Failed(_) | Outcome::Cancelled
        )
    }

    /// Lost its migration after it parked at the sentinel: whether resuming needs the sentinel.
    fn waits_for_recovery(&self) -> bool {
        self.outcome == Outcome::Active
            && self.engine.is_none()
            && self.defer_cutover
            && self.reached_sentinel_wait
            && !self.cutover_accepted
            && !self.copy_lost
    }

    fn copy_done(&self) -> bool {
        self.tasks.iter().all(|t| t.rows_copied >= t.rows_total)
    }

    fn copy_everything(&mut self) {
        for task in &mut self.tasks {
            task.rows_copied = task.rows_total;
        }
    }

    fn enter_phase(&mut self, phase: Phase) {
        if let Some(migration) = self.engine.as_mut() {
            if phase == Phase::WaitingOnSentinel {
                self.reached_sentinel_wait = true;
            }
            migration.phase = phase;
        }
    }

    fn resume_engine(&mut self, now: Instant) {
        if self.copy_lost {
            return;
        }
        self.engine = Some(Migration::copying(now));
        self.engine_lost_at = None;
    }

    /// One unit of progress: copy rows, or finish a running cut-over.
    fn step(&mut self, rows: i64) {
        let Some(migration) = self.engine.as_mut() else {
            return;
        };
        match &mut migration.phase {
            Phase::Copying => {
                for task in &mut self.tasks {
                    task.rows_copied = task
                        .rows_copied
                        .saturating_add(rows.max(0))
                        .min(task.rows_total);
                }
            }
            Phase::CuttingOver {
                finish_requested, ..
            } => *finish_requested = true,
            Phase::WaitingOnSentinel => {}
        }
    }

    /// Everything that follows from time alone.
    fn advance_in_memory(
        &mut self,
        pace: CopyPace,
        auto_resume_after: Option<Duration>,
        now: Instant,
    ) {
        if self.outcome != Outcome::Active {
            return;
        }
        if self.engine.is_none() {
            match (auto_resume_after, self.engine_lost_at) {
                (Some(after), Some(lost_at)) if now.duration_since(lost_at) >= after => {
                    self.resume_engine(now)
                }
                _ => return,
            }
        }
        if let CopyPace::Timed {
            rows_per_second,
            cutover_duration,
        } = pace
        {
            let mut rows_to_copy = 0;
            if let Some(migration) = self.engine.as_mut() {
                match &mut migration.phase {
                    Phase::Copying => {
                        let elapsed_micros = now.duration_since(migration.last_tick).as_micros();
                        let rows = elapsed_micros.saturating_mul(rows_per_second.max(0) as u128)
                            / 1_000_000;
                        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
                        // Keep the fraction for later: only move the tick when whole rows were copied.
                        if rows > 0 {
                            migration.last_tick = now;
                            rows_to_copy = rows;
                        }
                    }
                    Phase::CuttingOver {
                        since,
                        finish_requested,
                    } => {
                        if now.duration_since(*since) >= cutover_duration {
                            *finish_requested = true;
                        }
                    }
                    Phase::WaitingOnSentinel => {}
                }
            }
            self.step(rows_to_copy);
        }
        // Without the sentinel there is nothing to wait for: straight to the cut-over.
        if !self.defer_cutover && self.copy_done() && self.current_phase() == Some(Phase::Copying) {
            self.enter_phase(Phase::CuttingOver {
                since: now,
                finish_requested: false,
            });
        }
    }

    fn current_phase(&self) -> Option<Phase> {
        self.engine.map(|m| m.phase)
    }

    fn database_step(&self) -> DatabaseStep {
        if self.outcome != Outcome::Active {
            return DatabaseStep::None;
        }
        match self.current_phase() {
            Some(Phase::Copying) if self.defer_cutover && self.copy_done() => {
                DatabaseStep::CheckSentinel
            }
            Some(Phase::WaitingOnSentinel) => DatabaseStep::CheckSentinel,
            Some(Phase::CuttingOver {
                finish_requested: true,
                ..
            }) => DatabaseStep::Finish,
            _ => DatabaseStep::None,
        }
    }

    /// Spirit's reaction to the sentinel table being there or not.
    fn observe_sentinel(&mut self, present: bool, now: Instant) {
        let cutting_over = Phase::CuttingOver {
            since: now,
            finish_requested: false,
        };
        match self.current_phase() {
            Some(Phase::Copying) if self.copy_done() => self.enter_phase(if present {
                Phase::WaitingOnSentinel
            } else {
                cutting_over
            }),
            Some(Phase::WaitingOnSentinel) if !present => self.enter_phase(cutting_over),
            _ => {}
        }
    }

    fn finish(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.copy_everything();
                self.outcome = Outcome::Completed;
            }
            Err(message) => self.outcome = Outcome::Failed(message),
        }
        self.completed_at = Some(Utc::now());
        self.engine = None;
        self.engine_lost_at = None;
    }

    fn progress_response(&self, pace: CopyPace) -> proto::ProgressResponse {
        let phase = self.phase();
        let (state, summary, error_message) = match &phase {
            StandinPhase::Copying => {
                let copied: i64 = self.tasks.iter().map(|t| t.rows_copied).sum();
                let total: i64 = self.tasks.iter().map(|t| t.rows_total).sum();
                (
                    proto::State::Running,
                    format!("Copying rows: {copied}/{total}"),
                    String::new(),
                )
            }
            StandinPhase::WaitingOnSentinel => (
                proto::State::WaitingForCutover,
                "Waiting for cutover: sentinel table _spirit_sentinel present".to_string(),
                String::new(),
            ),
            StandinPhase::CuttingOver => (
                proto::State::CuttingOver,
                "Cutting over".to_string(),
                String::new(),
            ),
            StandinPhase::Completed => (
                proto::State::Completed,
                "Schema change completed".to_string(),
                String::new(),
            ),
            StandinPhase::Failed(message) => (
                proto::State::Failed,
                "Schema change failed".to_string(),
                message.clone(),
            ),
            StandinPhase::Stopped => (
                proto::State::Stopped,
                "Schema change stopped".to_string(),
                String::new(),
            ),
            StandinPhase::Cancelled => (
                proto::State::Cancelled,
                "Schema change cancelled".to_string(),
                String::new(),
            ),
            StandinPhase::EngineLost => (
                proto::State::Recovering,
                "Recovering schema change after a restart".to_string(),
                String::new(),
            ),
        };
        let table_status = match &phase {
            StandinPhase::Copying => spirit_status::COPY_ROWS,
            StandinPhase::WaitingOnSentinel => spirit_status::WAITING_ON_SENTINEL,
            StandinPhase::CuttingOver => spirit_status::CUT_OVER,
            StandinPhase::Completed => spirit_status::CLOSE,
            StandinPhase::Failed(_) => "failed",
            StandinPhase::Stopped => "stopped",
            StandinPhase::Cancelled => "cancelled",
            StandinPhase::EngineLost => "recovering",
        };
        let copy_rate = match pace {
            CopyPace::Timed {
                rows_per_second, ..
            } => rows_per_second,
            CopyPace::PerProgressCall { rows } => rows,
            CopyPace::Manual => 0,
        };
        let tables = self
            .tasks
            .iter()
            .map(|task| {
                let remaining = (task.rows_total - task.rows_copied).max(0);
                let eta_seconds = if phase == StandinPhase::Copying && copy_rate > 0 {
                    (remaining + copy_rate - 1) / copy_rate
                } else {
                    0
                };
                proto::TableProgress {
                    task_id: task.task_id.clone(),
                    namespace: task.namespace.clone(),
                    table_name: task.table_name.clone(),
                    ddl: task.ddl.clone(),
                    status: table_status.to_string(),
                    rows_copied: task.rows_copied,
                    rows_total: task.rows_total,
                    percent_complete: percent(task.rows_copied, task.rows_total),
                    eta_seconds,
                    is_instant: false,
                    shards: Vec::new(),
                    progress_detail: format!("{}/{} rows", task.rows_copied, task.rows_total),
                    change_type: task.change_type,
                    checksum_rows_checked: 0,
                    checksum_rows_total: 0,
                }
            })
            .collect();
        proto::ProgressResponse {
            apply_id: self.apply_id.clone(),
            state: state as i32,
            engine: proto::Engine::Spirit as i32,
            summary,
            error_message,
            tables,
            started_at: self.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            completed_at: self
                .completed_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                .unwrap_or_default(),
            volume: 0,
            metadata: HashMap::new(),
        }
    }
}

fn percent(copied: i64, total: i64) -> i32 {
    if total <= 0 {
        return 100;
    }
    ((copied.clamp(0, total) * 100) / total) as i32
}

fn new_apply_id() -> String {
    ApplyId::from_random(uuid::Uuid::new_v4().as_u64_pair().0).to_string()
}

fn new_task_id() -> String {
    TaskId::from_random(uuid::Uuid::new_v4().as_u64_pair().0).to_string()
}

struct Sim {
    /// Oldest first.
    applies: Vec<SimApply>,
    pace: CopyPace,
    delay: Duration,
    fail_next: u32,
    lose_next: u32,
    /// PlanDiff calls to answer `Unavailable` (Tern unable to diff).
    fail_plan_diff: u32,
    counts: TernCallCounts,
    /// Forced Progress answers by lower-cased apply id.
    forced: HashMap<String, ForcedReport>,
    /// Apply ids by the idempotency key of the request that started them.
    by_idempotency_key: HashMap<String, String>,
}

impl Sim {
    fn find(&self, apply_id: &str) -> Option<&SimApply> {
        self.applies
            .iter()
            .find(|a| a.apply_id.eq_ignore_ascii_case(apply_id))
    }

    fn find_mut(&mut self, apply_id: &str) -> Option<&mut SimApply> {
        self.applies
            .iter_mut()
            .find(|a| a.apply_id.eq_ignore_ascii_case(apply_id))
    }

    /// The apply a request names, or `NOT_FOUND` as Tern answers.
    fn target(&self, apply_id: &str) -> Result<String, Status> {
        self.find(apply_id)
            .map(|a| a.apply_id.clone())
            .ok_or_else(|| Status::not_found(format!("apply {apply_id:?} not found")))
    }
}

struct Shared {
    config: TernStandinConfig,
    pool: Pool,
    sim: Mutex<Sim>,
    /// Serialises RPC processing (like Tern's per-database locking), so concurrent Cutovers
    /// are decided one after the other.
    serial: tokio::sync::Mutex<()>,
}

impl Shared {
    fn sim(&self) -> MutexGuard<'_, Sim> {
        // A test that panicked while holding the lock leaves consistent data behind.
        self.sim.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fault injection and latency, before an RPC reaches the simulation.
    async fn enter(&self) -> Result<(), Status> {
        let delay = {
            let mut sim = self.sim();
            if sim.fail_next > 0 {
                sim.fail_next -= 1;
                sim.counts.injected_failures += 1;
                return Err(Status::unavailable(
                    "tern stand-in: injected unavailability",
                ));
            }
            sim.delay
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(())
    }

    /// Replaces a processed answer by `Unavailable` when a lost response was requested.
    fn leave<T>(&self, result: Result<T, Status>) -> Result<Response<T>, Status> {
        let mut sim = self.sim();
        if sim.lose_next > 0 {
            sim.lose_next -= 1;
            sim.counts.lost_responses += 1;
            return Err(Status::unavailable(
                "tern stand-in: response lost after processing (injected)",
            ));
        }
        result.map(Response::new)
    }

    /// Brings an apply up to date: time-based progress, auto-resume, and the steps that look
    /// at or change MariaDB (sentinel wait, completion).
    async fn settle(&self, apply_id: &str) {
        let lost_at_sentinel = self
            .sim()
            .find(apply_id)
            .filter(|a| a.waits_for_recovery())
            .map(|a| a.database.clone());
        if let Some(database) = lost_at_sentinel {
            if let Ok(false) = self.sentinel_exists(&database).await {
                if let Some(apply) = self.sim().find_mut(apply_id) {
                    tracing::debug!(%apply_id, "tern stand-in: sentinel gone while the engine was down; the copy is lost");
                    apply.copy_lost = true;
                }
            }
        }
        let step = {
            let mut sim = self.sim();
            let pace = sim.pace;
            let Some(apply) = sim.find_mut(apply_id) else {
                return;
            };
            apply.advance_in_memory(pace, self.config.auto_resume_after, Instant::now());
            (apply.database_step(), apply.database.clone())
        };
        if let (DatabaseStep::CheckSentinel, database) = &step {
            match self.sentinel_exists(database).await {
                Ok(present) => {
                    if let Some(apply) = self.sim().find_mut(apply_id) {
                        apply.observe_sentinel(present, Instant::now());
                    }
                }
                Err(error) => tracing::warn!(%error, "tern stand-in: sentinel check failed"),
            }
        }
        let finishing = {
            let sim = self.sim();
            sim.find(apply_id)
                .filter(|a| a.database_step() == DatabaseStep::Finish)
                .map(|a| {
                    let ddls: Vec<String> = a.tasks.iter().map(|t| t.ddl.clone()).collect();
                    (a.database.clone(), ddls)
                })
        };
        if let Some((database, ddls)) = finishing {
            let result = if self.config.run_ddl_on_completion {
                self.run_ddl(&database, &ddls).await
            } else {
                Ok(())
            };
            if let Some(apply) = self.sim().find_mut(apply_id) {
                if apply.database_step() == DatabaseStep::Finish {
                    apply.finish(result);
                }
            }
        }
    }

    async fn sentinel_exists(&self, database: &str) -> Result<bool, String> {
        bounded(async {
            let mut conn = self.pool.get_conn().await?;
            let count: Option<u64> = conn.exec_first(SENTINEL_QUERY, (database,)).await?;
            Ok(count.unwrap_or(0) > 0)
        })
        .await
    }

    async fn create_schema(&self, database: &str) -> Result<(), StandinError> {
        let sql = format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(database)?);
        self.execute(&sql).await
    }

    /// What Spirit does on start with defer-cutover.
    async fn create_sentinel(&self, database: &str) -> Result<(), StandinError> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {}.`_spirit_sentinel` (id int NOT NULL PRIMARY KEY)",
            quote_ident(database)?
        );
        self.execute(&sql).await
    }

    /// What Tern's Cutover does.
    async fn drop_sentinel(&self, database: &str) -> Result<(), StandinError> {
        let sql = format!(
            "DROP TABLE IF EXISTS {}.`_spirit_sentinel`",
            quote_ident(database)?
        );
        self.execute(&sql).await
    }

    async fn execute(&self, sql: &str) -> Result<(), StandinError> {
        bounded(async {
            let mut conn = self.pool.get_conn().await?;
            conn.query_drop(sql).await
        })
        .await
        .map_err(StandinError::Database)
    }

    async fn run_ddl(&self, database: &str, ddls: &[String]) -> Result<(), String> {
        let use_schema = format!("USE {}", quote_ident(database).map_err(|e| e.to_string())?);
        bounded(async {
            let mut conn = self.pool.get_conn().await?;
            conn.query_drop(&use_schema).await?;
            for ddl in ddls.iter().filter(|ddl| !ddl.trim().is_empty()) {
                conn.query_drop(ddl).await?;
            }
            Ok(())
        })
        .await
    }

    // --- RPCs -------------------------------------------------------------------------------

    async fn apply(&self, request: proto::ApplyRequest) -> Result<proto::ApplyResponse, Status> {
        let _serial = self.serial.lock().await;
        self.sim().counts.apply += 1;
        if request.database.is_empty() {
            return Err(Status::invalid_argument("database is required"));
        }
        quote_ident(&request.database).map_err(|e| Status::invalid_argument(e.to_string()))?;
        if request.ddl_changes.is_empty() {
            return Ok(refused_apply("no changes to apply"));
        }
        let defer_cutover = option_is_true(&request.options, "defer_cutover");
        if !request.idempotency_key.is_empty() {
            if let Some(apply_id) = self.sim().by_idempotency_key.get(&request.idempotency_key) {
                return Ok(proto::ApplyResponse {
                    accepted: true,
                    apply_id: apply_id.clone(),
                    apply_operation_id: format!("op-{apply_id}"),
                    ..Default::default()
                });
            }
        }

        // One schema change per database. An apply whose engine state was lost is abandoned,
        // as Tern's stale-task check does.
        {
            let mut sim = self.sim();
            for other in sim
                .applies
                .iter_mut()
                .filter(|a| a.database == request.database && a.outcome == Outcome::Active)
            {
                if other.engine.is_some() {
                    return Ok(refused_apply(
                        "schema change already in progress for this database",
                    ));
                }
                other.finish(Err(ABANDONED_MESSAGE.to_string()));
            }
        }
        let database_error = |e: StandinError| Status::internal(e.to_string());
        if self.config.create_missing_schema {
            self.create_schema(&request.database)
                .await
                .map_err(database_error)?;
        }
        if defer_cutover {
            self.create_sentinel(&request.database)
                .await
                .map_err(database_error)?;
        }

        let apply = SimApply {
            apply_id: new_apply_id(),
            database: request.database.clone(),
            defer_cutover,
            tasks: request
                .ddl_changes
                .iter()
                .map(|change| SimTask {
                    task_id: new_task_id(),
                    namespace: change.namespace.clone(),
                    table_name: change.table_name.clone(),
                    ddl: change.ddl.clone(),
                    change_type: change.change_type,
                    rows_total: self.config.rows_total_for(&change.table_name),
                    rows_copied: 0,
                })
                .collect(),
            started_at: Utc::now(),
            completed_at: None,
            outcome: Outcome::Active,
            engine: Some(Migration::copying(Instant::now())),
            engine_lost_at: None,
            reached_sentinel_wait: false,
            copy_lost: false,
            cutover_accepted: false,
        };
        let apply_id = apply.apply_id.clone();
        tracing::debug!(%apply_id, database = %apply.database, defer_cutover, "tern stand-in: apply started");
        let mut sim = self.sim();
        sim.applies.push(apply);
        sim.counts.applies_started += 1;
        if !request.idempotency_key.is_empty() {
            sim.by_idempotency_key
                .insert(request.idempotency_key.clone(), apply_id.clone());
        }
        Ok(proto::ApplyResponse {
            accepted: true,
            error_message: String::new(),
            apply_operation_id: format!("op-{apply_id}"),
            apply_id,
        })
    }

    async fn progress(
        &self,
        request: proto::ProgressRequest,
    ) -> Result<proto::ProgressResponse, Status> {
        let _serial = self.serial.lock().await;
        let apply_id = {
            let mut sim = self.sim();
            sim.counts.progress += 1;
            sim.target(&request.apply_id)?
        };
        self.settle(&apply_id).await;

        let mut sim = self.sim();
        let pace = sim.pace;
        let Some(apply) = sim.find_mut(&apply_id) else {
            return Err(Status::internal(format!("apply {apply_id} vanished")));
        };
        let mut response = apply.progress_response(pace);
        // Report first, then move on: every state is observed at least once.
        if let CopyPace::PerProgressCall { rows } = pace {
            apply.step(rows);
        }
        if let Some(forced) = sim.forced.get(&apply_id.to_ascii_lowercase()) {
            response.state = forced.state_number.unwrap_or(forced.state as i32);
            response.summary = forced.summary.clone();
            for table in &mut response.tables {
                table.status = forced.table_status.clone();
                if let Some((checked, total)) = forced.checksum {
                    table.checksum_rows_checked = checked;
                    table.checksum_rows_total = total;
                }
            }
        }
        Ok(response)
    }

    async fn cutover(
        &self,
        request: proto::CutoverRequest,
    ) -> Result<proto::CutoverResponse, Status> {
        let _serial = self.serial.lock().await;
        let apply_id = {
            let mut sim = self.sim();
            sim.counts.cutover += 1;
            sim.target(&request.apply_id)?
        };
        self.settle(&apply_id).await;

        let database = {
            let sim = self.sim();
            let Some(apply) = sim.find(&apply_id) else {
                return Err(Status::internal(format!("apply {apply_id} not found")));
            };
            let refusal = match apply.phase() {
                StandinPhase::WaitingOnSentinel => None,
                StandinPhase::EngineLost => Some(RECOVERY_REFUSAL.to_string()),
                _ if !apply.defer_cutover => {
                    Some("schema change was not started with defer_cutover".to_string())
                }
                StandinPhase::Copying => Some(format!(
                    "Apply {apply_id} is not waiting for cutover (still copying rows)"
                )),
                StandinPhase::CuttingOver => Some(format!(
                    "Cutover of apply {apply_id} is already in progress"
                )),
                StandinPhase::Completed => Some(format!("Apply {apply_id} has already completed")),
                StandinPhase::Failed(message) => {
                    Some(format!("Apply {apply_id} has failed: {message}"))
                }
                StandinPhase::Stopped => Some(format!("Apply {apply_id} is stopped")),
                StandinPhase::Cancelled => Some(format!("Apply {apply_id} was cancelled")),
            };
            if let Some(message) = refusal {
                return Ok(proto::CutoverResponse {
                    accepted: false,
                    error_message: message,
                });
            }
            apply.database.clone()
        };

        self.drop_sentinel(&database)
            .await
            .map_err(|e| Status::internal(format!("cutover failed: {e}")))?;
        let mut sim = self.sim();
        sim.counts.cutover_accepted += 1;
        if let Some(apply) = sim.find_mut(&apply_id) {
            // A restart() between the drop and here leaves the engine gone; resuming then finds
            // no sentinel and completes, as Spirit would.
            apply.cutover_accepted = true;
            if apply.current_phase() == Some(Phase::WaitingOnSentinel) {
                apply.enter_phase(Phase::CuttingOver {
                    since: Instant::now(),
                    finish_requested: false,
                });
            }
        }
        tracing::debug!(%apply_id, "tern stand-in: cutover accepted, sentinel dropped");
        Ok(proto::CutoverResponse {
            accepted: true,
            error_message: String::new(),
        })
    }

    async fn stop(&self, request: proto::StopRequest) -> Result<proto::StopResponse, Status> {
        let _serial = self.serial.lock().await;
        let mut sim = self.sim();
        sim.counts.other += 1;
        let apply_id = sim.target(&request.apply_id)?;
        let Some(apply) = sim.find_mut(&apply_id) else {
            return Err(Status::not_found(format!("apply {apply_id:?} not found")));
        };
        if apply.outcome != Outcome::Active {
            return Ok(proto::StopResponse {
                error_message: "no active schema change to stop".into(),
                skipped_count: 1,
                ..Default::default()
            });
        }
        // Spirit stops and keeps its checkpoint, resumable within binlog retention.
        apply.outcome = Outcome::Stopped;
        apply.engine = None;
        apply.engine_lost_at = None;
        let deadline = Utc::now() + chrono::TimeDelta::days(7);
        Ok(proto::StopResponse {
            accepted: true,
            error_message: String::new(),
            resume_deadline: deadline.to_rfc3339_opts(SecondsFormat::Secs, true),
            stopped_count: 1,
            skipped_count: 0,
        })
    }

    async fn start(&self, request: proto::StartRequest) -> Result<proto::StartResponse, Status> {
        let _serial = self.serial.lock().await;
        let mut sim = self.sim();
        sim.counts.other += 1;
        let apply_id = sim.target(&request.apply_id)?;
        let Some(apply) = sim.find_mut(&apply_id) else {
            return Err(Status::not_found(format!("apply {apply_id:?} not found")));
        };
        if apply.outcome != Outcome::Stopped {
            return Ok(proto::StartResponse {
                error_message: "no stopped schema change to start".into(),
                skipped_count: 1,
                ..Default::default()
            });
        }
        apply.outcome = Outcome::Active;
        apply.resume_engine(Instant::now());
        Ok(proto::StartResponse {
            accepted: true,
            error_message: String::new(),
            started_count: 1,
            skipped_count: 0,
        })
    }

    async fn cancel(&self, request: proto::CancelRequest) -> Result<proto::CancelResponse, Status> {
        let _serial = self.serial.lock().await;
        let (database, defer_cutover) = {
            let mut sim = self.sim();
            sim.counts.cancel += 1;
            let apply_id = sim.target(&request.apply_id)?;
            let Some(apply) = sim.find_mut(&apply_id) else {
                return Err(Status::not_found(format!("apply {apply_id:?} not found")));
            };
            if apply.is_terminal() {
                return Ok(proto::CancelResponse {
                    error_message: format!("apply {apply_id} has already ended"),
                    skipped_count: 1,
                    ..Default::default()
                });
            }
            apply.outcome = Outcome::Cancelled;
            apply.completed_at = Some(Utc::now());
            apply.engine = None;
            apply.engine_lost_at = None;
            (apply.database.clone(), apply.defer_cutover)
        };
        // Spirit cleans up after itself: nothing is left waiting on the sentinel.
        if defer_cutover {
            self.drop_sentinel(&database)
                .await
                .map_err(|e| Status::internal(format!("cancel cleanup failed: {e}")))?;
        }
        Ok(proto::CancelResponse {
            accepted: true,
            error_message: String::new(),
            cancelled_count: 1,
            skipped_count: 0,
        })
    }

    /// The same diff as `Plan`, read-only: no plan id.
    async fn plan_diff(
        &self,
        request: proto::PlanRequest,
    ) -> Result<proto::PlanDiffResponse, Status> {
        {
            let mut sim = self.sim();
            sim.counts.plan_diff += 1;
            if sim.fail_plan_diff > 0 {
                sim.fail_plan_diff -= 1;
                return Err(Status::unavailable(
                    "tern stand-in: cannot reach the database to diff (injected)",
                ));
            }
        }
        let (changes, errors) = self.diff(&request).await;
        Ok(proto::PlanDiffResponse {
            engine: proto::Engine::Spirit as i32,
            changes,
            errors,
            ..Default::default()
        })
    }

    /// Diffs each namespace's `CREATE TABLE` files against the live schema of the same name
    /// (see [`crate::schema_diff`]). Without schema files the plan is empty, as before.
    async fn plan(&self, request: proto::PlanRequest) -> proto::PlanResponse {
        self.sim().counts.plan += 1;
        let (changes, errors) = self.diff(&request).await;
        proto::PlanResponse {
            plan_id: format!("plan-{:016x}", uuid::Uuid::new_v4().as_u64_pair().0),
            engine: proto::Engine::Spirit as i32,
            changes,
            errors,
            ..Default::default()
        }
    }

    /// Per namespace: the changes that would make the live schema the desired one, and the
    /// namespaces that could not be diffed.
    async fn diff(&self, request: &proto::PlanRequest) -> (Vec<proto::SchemaChange>, Vec<String>) {
        let (mut changes, mut errors) = (Vec::new(), Vec::new());
        let mut namespaces: Vec<_> = request.schema_files.iter().collect();
        namespaces.sort_by(|a, b| a.0.cmp(b.0));
        for (namespace, files) in namespaces {
            match self.plan_namespace(namespace, &files.files).await {
                Ok(table_changes) if table_changes.is_empty() => {}
                Ok(table_changes) => changes.push(proto::SchemaChange {
                    namespace: namespace.clone(),
                    table_changes,
                    ..Default::default()
                }),
                Err(error) => errors.push(format!("{namespace}: {error}")),
            }
        }
        (changes, errors)
    }

    async fn plan_namespace(
        &self,
        namespace: &str,
        files: &HashMap<String, String>,
    ) -> Result<Vec<proto::TableChange>, String> {
        use crate::schema_diff::{diff_table, parse_create_table, statements, TableDiff};
        let schema = quote_ident(namespace).map_err(|e| e.to_string())?;
        let mut names: Vec<_> = files.keys().filter(|n| n.ends_with(".sql")).collect();
        names.sort();
        let mut changes = Vec::new();
        for name in names {
            for statement in statements(&files[name]) {
                let Some(desired) = parse_create_table(&statement) else {
                    return Err(format!(
                        "{name}: only CREATE TABLE statements are supported"
                    ));
                };
                let table = quote_ident(&desired.name).map_err(|e| e.to_string())?;
                let show = format!("SHOW CREATE TABLE {schema}.{table}");
                let live_sql: Option<String> = bounded(async {
                    let mut conn = self.pool.get_conn().await?;
                    match conn.query_first::<(String, String), _>(&show).await {
                        Ok(row) => Ok(row.map(|(_, create)| create)),
                        // 1146: no such table; 1049: no such schema.
                        Err(mysql_async::Error::Server(e)) if e.code == 1146 || e.code == 1049 => {
                            Ok(None)
                        }
                        Err(other) => Err(other),
                    }
                })
                .await?;
                let live = live_sql.as_deref().and_then(parse_create_table);
                let change = match diff_table(&statement, &desired, live.as_ref()) {
                    None => continue,
                    Some(TableDiff::Create { ddl }) => proto::TableChange {
                        table_name: desired.name.clone(),
                        ddl,
                        change_type: proto::ChangeType::Create as i32,
                        namespace: namespace.to_string(),
                        is_unsafe: false,
                        unsafe_reason: String::new(),
                    },
                    Some(TableDiff::Alter { ddl, unsafe_reason }) => proto::TableChange {
                        table_name: desired.name.clone(),
                        ddl,
                        change_type: proto::ChangeType::Alter as i32,
                        namespace: namespace.to_string(),
                        is_unsafe: unsafe_reason.is_some(),
                        unsafe_reason: unsafe_reason.unwrap_or_default(),
                    },
                };
                changes.push(change);
            }
        }
        Ok(changes)
    }
}

fn refused_apply(message: &str) -> proto::ApplyResponse {
    proto::ApplyResponse {
        accepted: false,
        error_message: message.to_string(),
        ..Default::default()
    }
}

fn option_is_true(options: &HashMap<String, String>, key: &str) -> bool {
    options
        .get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Backtick-quotes a schema name for SQL (the sentinel DDL cannot take a bound parameter).
fn quote_ident(name: &str) -> Result<String, StandinError> {
    if name.is_empty() || name.chars().count() > 64 || name.contains('\0') {
        return Err(StandinError::InvalidIdentifier(name.to_string()));
    }
    Ok(format!("`{}`", name.replace('`', "``")))
}

/// Runs a database operation under [`DATABASE_TIMEOUT`], describing failures without the DSN.
async fn bounded<T>(
    operation: impl std::future::Future<Output = Result<T, mysql_async::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(DATABASE_TIMEOUT, operation).await {
        Err(_) => Err(format!(
            "no answer from MariaDB within {DATABASE_TIMEOUT:?}"
        )),
        Ok(result) => result.map_err(|e| describe_db_error(&e)),
    }
}

fn describe_db_error(error: &mysql_async::Error) -> String {
    use mysql_async::Error;
    match error {
        Error::Server(server) => format!(
            "ERROR {} ({}): {}",
            server.code, server.state, server.message
        ),
        Error::Io(io) => format!("i/o error: {io}"),
        Error::Driver(driver) => format!("driver error: {driver}"),
        // These can quote the connection URL.
        Error::Url(_) => "invalid connection URL".to_string(),
        Error::Other(_) => "unexpected driver error".to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// gRPC surface

struct StandinService(Arc<Shared>);

#[tonic::async_trait]
impl Tern for StandinService {
    async fn plan(
        &self,
        request: Request<proto::PlanRequest>,
    ) -> Result<Response<proto::PlanResponse>, Status> {
        self.0.enter().await?;
        let result = Ok(self.0.plan(request.into_inner()).await);
        self.0.leave(result)
    }

    async fn plan_diff(
        &self,
        request: Request<proto::PlanRequest>,
    ) -> Result<Response<proto::PlanDiffResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.plan_diff(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn cancel(
        &self,
        request: Request<proto::CancelRequest>,
    ) -> Result<Response<proto::CancelResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.cancel(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn apply(
        &self,
        request: Request<proto::ApplyRequest>,
    ) -> Result<Response<proto::ApplyResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.apply(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn progress(
        &self,
        request: Request<proto::ProgressRequest>,
    ) -> Result<Response<proto::ProgressResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.progress(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn cutover(
        &self,
        request: Request<proto::CutoverRequest>,
    ) -> Result<Response<proto::CutoverResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.cutover(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn revert(
        &self,
        _request: Request<proto::RevertRequest>,
    ) -> Result<Response<proto::RevertResponse>, Status> {
        self.0.enter().await?;
        self.0.sim().counts.other += 1;
        let result = Ok(proto::RevertResponse {
            accepted: false,
            error_message: "the Tern stand-in has no revert window".into(),
        });
        self.0.leave(result)
    }

    async fn skip_revert(
        &self,
        _request: Request<proto::SkipRevertRequest>,
    ) -> Result<Response<proto::SkipRevertResponse>, Status> {
        self.0.enter().await?;
        self.0.sim().counts.other += 1;
        let result = Ok(proto::SkipRevertResponse {
            accepted: false,
            error_message: "the Tern stand-in has no revert window".into(),
        });
        self.0.leave(result)
    }

    async fn health(
        &self,
        _request: Request<proto::HealthRequest>,
    ) -> Result<Response<proto::HealthResponse>, Status> {
        self.0.enter().await?;
        self.0.sim().counts.other += 1;
        let result = Ok(proto::HealthResponse {
            status: "SERVING".into(),
        });
        self.0.leave(result)
    }

    async fn stop(
        &self,
        request: Request<proto::StopRequest>,
    ) -> Result<Response<proto::StopResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.stop(request.into_inner()).await;
        self.0.leave(result)
    }

    async fn start(
        &self,
        request: Request<proto::StartRequest>,
    ) -> Result<Response<proto::StartResponse>, Status> {
        self.0.enter().await?;
        let result = self.0.start(request.into_inner()).await;
        self.0.leave(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_with(rows_total: &[i64], defer_cutover: bool) -> SimApply {
        SimApply {
            apply_id: new_apply_id(),
            database: "db".into(),
            defer_cutover,
            tasks: rows_total
                .iter()
                .map(|&total| SimTask {
                    task_id: new_task_id(),
                    namespace: String::new(),
                    table_name: "t".into(),
                    ddl: String::new(),
                    change_type: 0,
                    rows_total: total,
                    rows_copied: 0,
                })
                .collect(),
            started_at: Utc::now(),
            completed_at: None,
            outcome: Outcome::Active,
            engine: Some(Migration::copying(Instant::now())),
            engine_lost_at: None,
            reached_sentinel_wait: false,
            copy_lost: false,
            cutover_accepted: false,
        }
    }

    #[test]
    fn ids_have_tern_format() {
        let apply = new_apply_id();
        assert!(apply.starts_with("apply-") && apply.len() == 22, "{apply}");
        let task = new_task_id();
        assert!(task.starts_with("task-") && task.len() == 21, "{task}");
    }

    #[test]
    fn deferred_copy_waits_on_the_sentinel_then_cuts_over() {
        let now = Instant::now();
        let mut apply = apply_with(&[100, 50], true);
        apply.step(60);
        assert_eq!(apply.tasks[0].rows_copied, 60);
        assert_eq!(apply.tasks[1].rows_copied, 50);
        assert_eq!(apply.database_step(), DatabaseStep::None);
        apply.step(60);
        apply.advance_in_memory(CopyPace::Manual, None, now);
        assert_eq!(apply.database_step(), DatabaseStep::CheckSentinel);
        apply.observe_sentinel(true, now);
        assert_eq!(apply.phase(), StandinPhase::WaitingOnSentinel);
        assert!(apply.reached_sentinel_wait);
        apply.observe_sentinel(false, now);
        assert_eq!(apply.phase(), StandinPhase::CuttingOver);
        apply.step(1);
        assert_eq!(apply.database_step(), DatabaseStep::Finish);
        apply.finish(Ok(()));
        assert_eq!(apply.phase(), StandinPhase::Completed);
    }

    #[test]
    fn without_defer_the_copy_goes_straight_to_cut_over() {
        let mut apply = apply_with(&[10], false);
        apply.step(10);
        apply.advance_in_memory(CopyPace::Manual, None, Instant::now());
        assert_eq!(apply.phase(), StandinPhase::CuttingOver);
        assert!(!apply.reached_sentinel_wait);
    }

    #[test]
    fn timed_pace_credits_elapsed_time() {
        let start = Instant::now();
        let mut apply = apply_with(&[1000], true);
        apply.engine = Some(Migration::copying(start));
        let pace = CopyPace::Timed {
            rows_per_second: 100,
            cutover_duration: Duration::from_millis(10),
        };
        apply.advance_in_memory(pace, None, start + Duration::from_millis(2500));
        assert_eq!(apply.tasks[0].rows_copied, 250);
    }

    #[test]
    fn auto_resume_brings_the_engine_back() {
        let start = Instant::now();
        let mut apply = apply_with(&[10], true);
        apply.engine = None;
        apply.engine_lost_at = Some(start);
        let after = Some(Duration::from_secs(1));
        apply.advance_in_memory(CopyPace::Manual, after, start + Duration::from_millis(500));
        assert_eq!(apply.phase(), StandinPhase::EngineLost);
        apply.advance_in_memory(CopyPace::Manual, after, start + Duration::from_secs(2));
        assert_eq!(apply.phase(), StandinPhase::Copying);
    }

    #[test]
    fn engine_lost_reports_recovering() {
        let mut apply = apply_with(&[10], true);
        apply.engine = None;
        let response = apply.progress_response(CopyPace::Manual);
        assert_eq!(response.state, proto::State::Recovering as i32);
        assert_eq!(response.tables[0].status, "recovering");
    }

    #[test]
    fn a_lost_copy_never_resumes() {
        let mut apply = apply_with(&[10], true);
        apply.engine = None;
        apply.reached_sentinel_wait = true;
        assert!(apply.waits_for_recovery());
        apply.copy_lost = true;
        assert!(!apply.waits_for_recovery());
        apply.resume_engine(Instant::now());
        assert_eq!(apply.phase(), StandinPhase::EngineLost);
    }

    #[test]
    fn identifiers_are_quoted_safely() {
        assert_eq!(quote_ident("app").unwrap(), "`app`");
        assert_eq!(quote_ident("a`b").unwrap(), "`a``b`");
        assert!(quote_ident("").is_err());
        assert!(quote_ident(&"x".repeat(65)).is_err());
    }

    #[test]
    fn percent_is_bounded() {
        assert_eq!(percent(0, 0), 100);
        assert_eq!(percent(50, 200), 25);
        assert_eq!(percent(300, 200), 100);
    }
}
