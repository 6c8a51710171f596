//! Creating an apply directly in a given state, bypassing the Apply RPC.

use std::time::Instant;

use schemabot_tern::proto;

use super::config::StandinError;
use super::handle::TernStandinHandle;
use super::model::{new_task_id, Phase, SimApply, SimTask};

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

impl TernStandinHandle {
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
        let mut apply = SimApply::new(
            registration.database,
            registration.defer_cutover,
            registration
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
        );
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
