//! The apply a command reply is about, as comments name it: its id, database and environment.

use schemabot_domain::apply::Apply;
use schemabot_domain::{ApplyId, Database, Environment};
use serde::Serialize;
use std::fmt::Display;

/// The exact command `schemabot <name> <apply id> -e <environment>`.
pub(crate) fn apply_command(
    name: impl Display,
    apply_id: &ApplyId,
    environment: &Environment,
) -> String {
    format!("schemabot {name} {apply_id} -e {environment}")
}

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

    /// `schemabot <name> <apply id> -e <environment>` for this apply.
    pub(crate) fn command(&self, name: impl Display) -> String {
        apply_command(name, &self.apply_id, &self.environment)
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
