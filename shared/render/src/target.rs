//! The apply a command reply is about, as comments name it: its id, database and environment.

use schemabot_domain::apply::Apply;
use schemabot_domain::{ApplyId, Database, Environment};
use serde::Serialize;

/// The apply a reply is about (cutover, controls, the review gate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CutoverTarget {
    pub apply_id: ApplyId,
    pub database: Database,
    /// The apply's own environment.
    pub environment: Environment,
}

impl CutoverTarget {
    pub fn of(apply: &Apply) -> Self {
        CutoverTarget {
            apply_id: apply.id.clone(),
            database: apply.database.clone(),
            environment: apply.environment.clone(),
        }
    }

    pub(crate) fn view(&self) -> TargetView {
        TargetView {
            database: self.database.to_string(),
            environment: self.environment.to_string(),
        }
    }
}

/// The `**Database**: … | **Environment**: …` line (raw; escaped by the partial).
#[derive(Debug, Serialize)]
pub(crate) struct TargetView {
    database: String,
    environment: String,
}
