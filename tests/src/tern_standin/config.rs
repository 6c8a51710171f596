//! Stand-in configuration (copy pace, rows, resume, DDL, TLS) and its errors.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use tonic::transport::ServerTlsConfig;

/// How the simulated copy moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyPace {
    /// Only [`TernStandinHandle::advance`](super::TernStandinHandle::advance) moves an apply
    /// (fully deterministic).
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
    /// [`TernStandinHandle::resume`](super::TernStandinHandle::resume) does).
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

    pub(super) fn rows_total_for(&self, table: &str) -> i64 {
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
