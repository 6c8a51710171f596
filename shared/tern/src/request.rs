//! What the client sends: which apply on which Tern, an Apply request with its exactly-once key
//! and caller, the lifecycle controls, and the read-only schema diff's answer.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::proto;

/// Which apply, on which Tern: the endpoint is chosen by `(deployment, environment)`, and the
/// request carries only Tern's apply id and the environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TernTarget {
    pub deployment: String,
    pub environment: String,
    pub tern_apply_id: String,
}

impl TernTarget {
    pub fn new(
        deployment: impl Into<String>,
        environment: impl Into<String>,
        tern_apply_id: impl Into<String>,
    ) -> Self {
        TernTarget {
            deployment: deployment.into(),
            environment: environment.into(),
            tern_apply_id: tern_apply_id.into(),
        }
    }

    /// The Tern side of a stored apply.
    pub fn for_apply(apply: &schemabot_domain::apply::Apply) -> Self {
        TernTarget::new(
            apply.deployment.clone(),
            apply.environment.to_string(),
            apply.tern_apply_id.clone(),
        )
    }
}

/// Who asked Tern for a change, as Tern's audit log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A PR comment: `webhook:org/repo#12`.
    PullRequest { repository: String, pr: u64 },
    /// The operator CLI: `cli:<principal>`.
    Cli { principal: String },
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::PullRequest { repository, pr } => write!(f, "webhook:{repository}#{pr}"),
            Caller::Cli { principal } => write!(f, "cli:{principal}"),
        }
    }
}

/// An Apply request: the planned changes for one database.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApplySpec {
    pub deployment: String,
    pub environment: String,
    pub database: String,
    pub database_type: String,
    pub plan_id: String,
    pub ddl_changes: Vec<proto::TableChange>,
    /// Spirit stops at the sentinel wait until a Cutover call.
    pub defer_cutover: bool,
    pub allow_unsafe: bool,
    pub skip_revert: bool,
    /// Namespace → (file name → content): the declarative schema the plan was made from.
    pub schema_files: BTreeMap<String, BTreeMap<String, String>>,
    /// Who asked ([`Caller`]'s text), for Tern's audit log.
    pub caller: String,
    /// The same key on a repeated request returns the apply the first one started.
    pub idempotency_key: String,
}

impl ApplySpec {
    pub(crate) fn to_wire(&self) -> proto::ApplyRequest {
        // Tern reads booleans as the string "true"; absence means false.
        let options: HashMap<String, String> = [
            ("defer_cutover", self.defer_cutover),
            ("allow_unsafe", self.allow_unsafe),
            ("skip_revert", self.skip_revert),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(key, _)| (key.to_string(), "true".to_string()))
        .collect();
        proto::ApplyRequest {
            plan_id: self.plan_id.clone(),
            options,
            database: self.database.clone(),
            r#type: self.database_type.clone(),
            ddl_changes: self.ddl_changes.clone(),
            environment: self.environment.clone(),
            caller: self.caller.clone(),
            idempotency_key: self.idempotency_key.clone(),
            schema_files: schema_files_to_wire(&self.schema_files),
            ..Default::default()
        }
    }
}

/// Namespace → (file name → content) in the wire's shape.
pub fn schema_files_to_wire(
    files: &BTreeMap<String, BTreeMap<String, String>>,
) -> HashMap<String, proto::SchemaFiles> {
    files
        .iter()
        .map(|(namespace, files)| {
            let files = files.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            (namespace.clone(), proto::SchemaFiles { files })
        })
        .collect()
}

/// What Tern said to an Apply request that it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    Accepted { apply_id: String },
    NotAccepted { message: String },
}

/// What Tern said to a Cutover request that it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutoverOutcome {
    Accepted,
    /// A refusal that is not an error (for example, recovering after a restart).
    NotAccepted {
        message: String,
    },
}

/// A lifecycle control addressed to one apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Control {
    Cutover,
    Stop,
    Start,
    Cancel,
    Revert,
    SkipRevert,
}

impl Control {
    pub fn rpc_name(self) -> &'static str {
        match self {
            Control::Cutover => "cutover",
            Control::Stop => "stop",
            Control::Start => "start",
            Control::Cancel => "cancel",
            Control::Revert => "revert",
            Control::SkipRevert => "skip_revert",
        }
    }
}

/// What Tern said to a control request that it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlOutcome {
    /// Accepted. `resume_deadline` is what a Stop returns: until when Spirit can resume.
    Accepted { resume_deadline: Option<String> },
    /// A refusal that is not an error (e.g. not in a state that allows it).
    NotAccepted { message: String },
}

impl ControlOutcome {
    pub(crate) fn of(accepted: bool, error_message: String) -> Self {
        if accepted {
            ControlOutcome::Accepted {
                resume_deadline: None,
            }
        } else {
            ControlOutcome::NotAccepted {
                message: error_message,
            }
        }
    }
}

/// The outcome of asking whether a desired schema is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDiff {
    /// Every remaining change (empty: the desired schema is live).
    pub changes: Vec<proto::TableChange>,
    /// Errors Tern reported while diffing (the diff is then not evidence of anything).
    pub errors: Vec<String>,
}

impl SchemaDiff {
    pub(crate) fn from_changes(changes: Vec<proto::SchemaChange>, errors: Vec<String>) -> Self {
        SchemaDiff {
            changes: changes
                .into_iter()
                .flat_map(|change| change.table_changes)
                .collect(),
            errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_spec_sends_booleans_as_true_strings_and_its_exactly_once_key() {
        let spec = ApplySpec {
            deployment: "testapp".into(),
            environment: "staging".into(),
            database: "testapp".into(),
            database_type: "mysql".into(),
            defer_cutover: true,
            caller: Caller::PullRequest {
                repository: "org/repo".into(),
                pr: 12,
            }
            .to_string(),
            idempotency_key: "key-1".into(),
            ..Default::default()
        };
        let wire = spec.to_wire();
        assert_eq!(
            wire.options.get("defer_cutover").map(String::as_str),
            Some("true")
        );
        assert_eq!(wire.options.len(), 1);
        assert_eq!(wire.caller, "webhook:org/repo#12");
        assert_eq!(wire.idempotency_key, "key-1");
        assert_eq!(wire.r#type, "mysql");
        assert_eq!(wire.environment, "staging");
    }

    #[test]
    fn callers_read_as_tern_logs_them() {
        let cli = Caller::Cli {
            principal: "arn:aws:iam::1:role/dba".into(),
        };
        assert_eq!(cli.to_string(), "cli:arn:aws:iam::1:role/dba");
    }

    #[test]
    fn a_diff_flattens_every_namespace() {
        let change = |table: &str| proto::TableChange {
            table_name: table.into(),
            ..Default::default()
        };
        let diff = SchemaDiff::from_changes(
            vec![
                proto::SchemaChange {
                    table_changes: vec![change("a"), change("b")],
                    ..Default::default()
                },
                proto::SchemaChange {
                    table_changes: vec![change("c")],
                    ..Default::default()
                },
            ],
            vec![],
        );
        assert_eq!(diff.changes.len(), 3);
    }
}
