//! Field changes that ride along with a state transition or a progress update. Each change is
//! written by the same request that checks the version, and applied to the caller's snapshot to
//! return the record as now stored.

use crate::codec::{self, attr};
use crate::condition::UpdateSpec;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::{Apply, Checksum, Task};
use schemabot_domain::state::reconcile::ProgressUpdate;

/// What to do with an optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Change<T> {
    #[default]
    Keep,
    Set(T),
    /// Remove the value (the attribute is deleted).
    Clear,
}

impl<T: Clone> Change<T> {
    fn apply_to(&self, field: &mut Option<T>) {
        match self {
            Change::Keep => {}
            Change::Set(value) => *field = Some(value.clone()),
            Change::Clear => *field = None,
        }
    }

    fn write(&self, spec: &mut UpdateSpec, attribute: &str, encode: fn(&T) -> AttributeValue) {
        match self {
            Change::Keep => {}
            Change::Set(value) => {
                spec.set(attribute, encode(value));
            }
            Change::Clear => {
                spec.remove(attribute);
            }
        }
    }
}

fn encode_time(at: &DateTime<Utc>) -> AttributeValue {
    codec::time(*at)
}

fn encode_u64(value: &u64) -> AttributeValue {
    codec::n(value)
}

/// Changes to a task besides its state and version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskChanges {
    pub rows_copied: Option<u64>,
    pub rows_total: Option<u64>,
    pub percent: Option<u8>,
    pub eta_seconds: Change<u64>,
    pub checksum: Change<Checksum>,
    pub error_message: Change<String>,
    pub started_at: Change<DateTime<Utc>>,
    pub completed_at: Change<DateTime<Utc>>,
    pub engine_silent_since: Change<DateTime<Utc>>,
}

impl TaskChanges {
    /// These changes plus the progress numbers the reconciliation decided to store.
    pub fn with_progress(mut self, progress: &ProgressUpdate) -> Self {
        self.rows_copied = Some(progress.rows_copied);
        self.rows_total = Some(progress.rows_total);
        self.percent = Some(progress.percent);
        self.eta_seconds = progress.eta_seconds.map_or(Change::Clear, Change::Set);
        self.checksum = progress.checksum.map_or(Change::Clear, Change::Set);
        self
    }

    pub(crate) fn write(&self, spec: &mut UpdateSpec) {
        if let Some(rows) = self.rows_copied {
            spec.set(attr::ROWS_COPIED, codec::n(rows));
        }
        if let Some(rows) = self.rows_total {
            spec.set(attr::ROWS_TOTAL, codec::n(rows));
        }
        if let Some(percent) = self.percent {
            spec.set(attr::PERCENT, codec::n(percent));
        }
        self.eta_seconds.write(spec, attr::ETA_SECONDS, encode_u64);
        self.checksum
            .write(spec, attr::CHECKSUM_ROWS_CHECKED, |c: &Checksum| {
                codec::n(c.rows_checked)
            });
        self.checksum
            .write(spec, attr::CHECKSUM_ROWS_TOTAL, |c: &Checksum| {
                codec::n(c.rows_total)
            });
        self.error_message
            .write(spec, attr::ERROR_MESSAGE, |message| {
                codec::s(message.as_str())
            });
        self.started_at.write(spec, attr::STARTED_AT, encode_time);
        self.completed_at
            .write(spec, attr::COMPLETED_AT, encode_time);
        self.engine_silent_since
            .write(spec, attr::ENGINE_SILENT_SINCE, encode_time);
    }

    pub(crate) fn apply_to(&self, task: &mut Task) {
        if let Some(rows) = self.rows_copied {
            task.rows_copied = rows;
        }
        if let Some(rows) = self.rows_total {
            task.rows_total = rows;
        }
        if let Some(percent) = self.percent {
            task.percent = percent;
        }
        self.eta_seconds.apply_to(&mut task.eta_seconds);
        self.checksum.apply_to(&mut task.checksum);
        self.error_message.apply_to(&mut task.error_message);
        self.started_at.apply_to(&mut task.started_at);
        self.completed_at.apply_to(&mut task.completed_at);
        self.engine_silent_since
            .apply_to(&mut task.engine_silent_since);
    }
}

/// Changes to an apply besides its state and version. (Claims and the cutover trigger have their
/// own operations, guarded by the claim.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyChanges {
    pub started_at: Change<DateTime<Utc>>,
    pub completed_at: Change<DateTime<Utc>>,
    pub error_message: Change<String>,
}

impl ApplyChanges {
    pub(crate) fn write(&self, spec: &mut UpdateSpec) {
        self.started_at.write(spec, attr::STARTED_AT, encode_time);
        self.completed_at
            .write(spec, attr::COMPLETED_AT, encode_time);
        self.error_message
            .write(spec, attr::ERROR_MESSAGE, |message| {
                codec::s(message.as_str())
            });
    }

    pub(crate) fn apply_to(&self, apply: &mut Apply) {
        self.started_at.apply_to(&mut apply.started_at);
        self.completed_at.apply_to(&mut apply.completed_at);
        self.error_message.apply_to(&mut apply.error_message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_changes_write_and_apply_the_same_fields() {
        let changes = TaskChanges::default().with_progress(&ProgressUpdate {
            rows_copied: 5,
            rows_total: 10,
            percent: 50,
            eta_seconds: None,
            checksum: None,
        });
        let mut spec = UpdateSpec::default();
        changes.write(&mut spec);
        assert_eq!(
            spec.update_expression(),
            "SET #rows_copied = :v0, #rows_total = :v1, #percent = :v2 REMOVE #eta_seconds, #checksum_rows_checked, #checksum_rows_total"
        );
    }
}
