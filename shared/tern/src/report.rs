//! Tern's Progress answer as typed values: the overall state normalised, each table's status
//! kept raw for the caller to normalise, and checksum counters while a table is verified.

use std::collections::BTreeSet;
use std::sync::Mutex;

use schemabot_domain::apply::Checksum;
use schemabot_domain::state::normalize::{normalize, proto_state, Normalized};
use schemabot_domain::State;

use crate::proto;

/// Spirit's summary when it has no in-memory migration (after a restart).
pub const ENGINE_IDLE_SUMMARY: &str = "No active schema change";

/// One Progress answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressReport {
    pub apply_id: String,
    /// The overall state; `NoActiveChange` when Tern has no such apply (`NOT_FOUND`), `Unknown`
    /// for a value newer than this `.proto`.
    pub state: Normalized,
    /// The wire value behind `state`.
    pub raw_state: i32,
    pub summary: String,
    pub error_message: String,
    pub started_at: String,
    pub completed_at: String,
    pub tables: Vec<TableReport>,
}

impl ProgressReport {
    /// Tern answered `NOT_FOUND`: the engine has no such change.
    pub fn not_found(apply_id: &str) -> Self {
        ProgressReport {
            apply_id: apply_id.to_string(),
            state: Normalized::NoActiveChange,
            raw_state: proto::State::NoActiveChange as i32,
            summary: String::new(),
            error_message: String::new(),
            started_at: String::new(),
            completed_at: String::new(),
            tables: Vec::new(),
        }
    }

    /// Spirit lost its in-memory migration and Tern reports it as PENDING with the "No active
    /// schema change" summary (servers that predate `STATE_RECOVERING`).
    pub fn engine_is_idle(&self) -> bool {
        self.state == Normalized::State(State::Pending)
            && self.summary.eq_ignore_ascii_case(ENGINE_IDLE_SUMMARY)
    }

    pub(crate) fn from_wire(response: proto::ProgressResponse) -> Self {
        let state = proto_state(response.state);
        if let Normalized::Unknown(raw) = &state {
            log_unknown_once("apply state number", raw);
        }
        ProgressReport {
            apply_id: response.apply_id,
            state,
            raw_state: response.state,
            summary: response.summary,
            error_message: response.error_message,
            started_at: response.started_at,
            completed_at: response.completed_at,
            tables: response
                .tables
                .into_iter()
                .map(TableReport::from_wire)
                .collect(),
        }
    }
}

/// One table of a Progress answer. `status` is the raw engine string (Spirit camelCase such
/// as `waitingOnSentinelTable`, or a canonical state); [`TableReport::normalized_status`]
/// normalises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub task_id: String,
    pub namespace: String,
    pub table_name: String,
    pub ddl: String,
    pub status: String,
    pub rows_copied: i64,
    pub rows_total: i64,
    pub percent: i32,
    pub eta_seconds: i64,
    pub is_instant: bool,
    pub progress_detail: String,
    /// Rows verified so far while the engine checksums the copy.
    pub checksum: Option<Checksum>,
}

impl TableReport {
    /// `status` as a canonical state (Spirit's camelCase, Vitess and storage names). A value
    /// this build does not know is logged once per process and stays unknown.
    pub fn normalized_status(&self) -> Normalized {
        let normalized = normalize(&self.status);
        if let Normalized::Unknown(raw) = &normalized {
            log_unknown_once("table status", raw);
        }
        normalized
    }

    fn from_wire(table: proto::TableProgress) -> Self {
        TableReport {
            task_id: table.task_id,
            namespace: table.namespace,
            table_name: table.table_name,
            ddl: table.ddl,
            status: table.status,
            rows_copied: table.rows_copied,
            rows_total: table.rows_total,
            percent: table.percent_complete,
            eta_seconds: table.eta_seconds,
            is_instant: table.is_instant,
            progress_detail: table.progress_detail,
            checksum: Checksum::from_counts(table.checksum_rows_checked, table.checksum_rows_total),
        }
    }
}

/// Distinct unknown values remembered per process; beyond this each is logged again (bounded
/// memory against a server that sends garbage).
const REMEMBERED_UNKNOWN: usize = 64;

/// Logs a state value this build does not know, once per process: newer servers add values,
/// and a poll every few seconds must not repeat the same warning.
fn log_unknown_once(kind: &'static str, raw: &str) {
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if seen.contains(raw) {
        return;
    }
    if seen.len() < REMEMBERED_UNKNOWN {
        seen.insert(raw.to_string());
    }
    tracing::warn!(
        kind,
        value = raw,
        "Tern reported a value this build does not know; it is kept as unknown and polled again"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_report_normalises_state_and_table_status() {
        let report = ProgressReport::from_wire(proto::ProgressResponse {
            apply_id: "apply-0123456789abcdef".into(),
            state: proto::State::WaitingForCutover as i32,
            tables: vec![proto::TableProgress {
                table_name: "users".into(),
                status: "waitingOnSentinelTable".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(report.state, Normalized::State(State::WaitingForCutover));
        assert_eq!(report.raw_state, 3);
        assert_eq!(
            report.tables[0].normalized_status(),
            Normalized::State(State::WaitingForCutover)
        );
        assert_eq!(report.tables[0].checksum, None);

        let nothing = ProgressReport::from_wire(proto::ProgressResponse::default());
        assert_eq!(nothing.state, Normalized::NoActiveChange);
        let future = ProgressReport::from_wire(proto::ProgressResponse {
            state: 19,
            ..Default::default()
        });
        assert_eq!(future.state, Normalized::Unknown("19".into()));
    }

    #[test]
    fn recovering_and_reverting_are_known_states() {
        for (wire, state) in [
            (proto::State::Recovering, State::Recovering),
            (proto::State::Reverting, State::Reverting),
        ] {
            let report = ProgressReport::from_wire(proto::ProgressResponse {
                state: wire as i32,
                ..Default::default()
            });
            assert_eq!(report.state, Normalized::State(state));
        }
    }

    #[test]
    fn checksum_counters_are_read_while_a_table_verifies() {
        let report = ProgressReport::from_wire(proto::ProgressResponse {
            state: proto::State::Running as i32,
            tables: vec![proto::TableProgress {
                status: "checksum".into(),
                checksum_rows_checked: 450,
                checksum_rows_total: 1000,
                ..Default::default()
            }],
            ..Default::default()
        });
        let checksum = report.tables[0].checksum.unwrap();
        assert_eq!(checksum.percent(), 45);
        // A server past the checksum reports zero totals: no checksum shown.
        assert_eq!(Checksum::from_counts(0, 0), None);
        assert_eq!(Checksum::from_counts(5, -1), None);
        assert_eq!(Checksum::from_counts(2000, 1000).unwrap().percent(), 100);
    }

    #[test]
    fn not_found_reads_as_no_active_change() {
        let report = ProgressReport::not_found("apply-0123456789abcdef");
        assert_eq!(report.state, Normalized::NoActiveChange);
        assert!(report.tables.is_empty());
        assert!(!report.engine_is_idle());
    }

    #[test]
    fn engine_idle_is_pending_with_the_spirit_summary() {
        let report = ProgressReport::from_wire(proto::ProgressResponse {
            state: proto::State::Pending as i32,
            summary: "No active schema change".into(),
            ..Default::default()
        });
        assert!(report.engine_is_idle());
        let report = ProgressReport::from_wire(proto::ProgressResponse {
            state: proto::State::Pending as i32,
            summary: "queued".into(),
            ..Default::default()
        });
        assert!(!report.engine_is_idle());
    }
}
