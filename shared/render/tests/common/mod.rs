//! Fixed fixtures for the snapshot tests: one apply of `testapp` in `staging`, started at a fixed
//! time, and tables built per state. `now()` is fixed so elapsed times are stable.
#![allow(dead_code)] // each test file uses a different subset

use chrono::{DateTime, Duration, TimeZone, Utc};
use schemabot_domain::apply::{Apply, ApplyMode, Task};
use schemabot_domain::{
    ApplyId, Database, Environment, InstallationId, PrNumber, Repository, State, TaskId,
};

pub const APPLY_ID: &str = "apply-0123456789abcdef";
pub const MARKER: &str = "progress:apply-0123456789abcdef";

/// When the fixture apply started: 2026-05-15 12:34:56 UTC.
pub fn started() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 15, 12, 34, 56).unwrap()
}

/// The fixed render time: 12m 5s after the start.
pub fn now() -> DateTime<Utc> {
    started() + Duration::seconds(725)
}

/// Applies `change` to `value` and returns it (for one-off tweaks of a fixture).
pub fn with<T>(mut value: T, change: impl FnOnce(&mut T)) -> T {
    change(&mut value);
    value
}

pub fn apply(state: State) -> Apply {
    let terminal = state.is_terminal() || state == State::Stopped;
    Apply {
        id: ApplyId::parse(APPLY_ID).unwrap(),
        tern_apply_id: "tern-7f3a".into(),
        repository: Repository::parse("octo-org/shop").unwrap(),
        pr: PrNumber(42),
        installation_id: InstallationId(7),
        database: Database::parse("testapp").unwrap(),
        database_type: "mysql".into(),
        deployment: "default".into(),
        environment: Environment::parse("staging").unwrap(),
        target_schema: "testapp".into(),
        state,
        version: 3,
        mode: ApplyMode::Atomic,
        defer_cutover: true,
        requested_by: None,
        created_at: started() - Duration::seconds(4),
        started_at: Some(started()),
        completed_at: terminal.then(now),
        error_message: None,
        claim: None,
        cutover_triggered_by: None,
        cutover_triggered_at: None,
        desired_schema: Default::default(),
        rollback_of: None,
    }
}

/// A table in `state` with the progress numbers that state usually has.
pub fn task(table: &str, state: State) -> Task {
    let (percent, rows_copied, ready) = match state {
        State::Pending | State::Cancelled => (0, 0, false),
        State::Running => (32, 32_000, false),
        State::Stopped => (72, 72_000, false),
        State::Failed => (45, 45_000, false),
        State::Recovering => (100, 100_000, true),
        State::WaitingForCutover | State::CuttingOver => (100, 100_000, true),
        _ => (100, 100_000, false),
    };
    Task {
        apply_id: ApplyId::parse(APPLY_ID).unwrap(),
        task_id: TaskId::from_random(table.len() as u64),
        namespace: "testapp".into(),
        table: table.into(),
        ddl: format!("ALTER TABLE `{table}` ADD INDEX `idx_status`(`status`)"),
        state,
        version: 2,
        ready_to_complete: ready,
        rows_copied,
        rows_total: 100_000,
        percent,
        eta_seconds: (state == State::Running).then_some(195),
        error_message: None,
        started_at: Some(started()),
        completed_at: None,
        engine_silent_since: None,
        checksum: None,
    }
}
