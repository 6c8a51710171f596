//! The plan comment: one per (database, environment) on a PR, edited by every re-plan. Shows the
//! DDL per table, unsafe changes, lint violations and Tern's errors.

use crate::engine::{self, Template};
use crate::error::RenderError;
use crate::escape;
use crate::review::short;
use serde::Serialize;

/// One table change of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTable {
    pub namespace: String,
    pub table: String,
    /// `create`, `alter`, `drop`, …
    pub change: String,
    pub ddl: String,
    /// `Some(reason)` when the change is unsafe (drops data).
    pub unsafe_reason: Option<String>,
}

impl From<schemabot_domain::lock::PlannedChange> for PlanTable {
    fn from(change: schemabot_domain::lock::PlannedChange) -> Self {
        PlanTable {
            namespace: change.namespace,
            table: change.table,
            change: change.change,
            ddl: change.ddl,
            unsafe_reason: change.unsafe_reason,
        }
    }
}

/// One lint violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanLint {
    pub severity: String,
    pub table: String,
    pub message: String,
}

/// What a plan comment shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanComment {
    pub database: String,
    pub environment: String,
    /// The PR head commit the plan was made at.
    pub commit: Option<String>,
    /// What asked for the plan, e.g. "a push" or "@alice's command" (escaped by the caller's
    /// choice of constructor: [`PlanComment::trigger_comment`] and friends).
    pub trigger: PlanTriggerText,
    pub tables: Vec<PlanTable>,
    pub lint: Vec<PlanLint>,
    pub errors: Vec<String>,
    /// Set on `apply`'s plan: the lock it took and how to confirm it.
    pub lock: Option<PlanLock>,
}

/// The lock footer of an `apply` plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanLock {
    /// The exact `apply-confirm` command to comment.
    pub confirm: String,
    /// When another PR may take the lock over (already formatted, UTC).
    pub expires_at: Option<String>,
    pub needs_unsafe: bool,
    /// `-y` confirmed it in the same step.
    pub confirmed: bool,
}

/// Who or what asked for the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanTriggerText {
    Command { login: String },
    PullRequest { action: String },
}

#[derive(Serialize)]
struct TableView {
    name: String,
    change: &'static str,
    ddl: String,
    #[serde(rename = "unsafe")]
    is_unsafe: bool,
}

#[derive(Serialize)]
struct UnsafeView {
    name: String,
    reason: String,
}

/// What the plan body partial shows: errors, table changes, unsafe changes, lint.
#[derive(Serialize)]
pub(crate) struct PlanBody {
    tables: Vec<TableView>,
    #[serde(rename = "unsafe")]
    unsafe_changes: Vec<UnsafeView>,
    lint: Vec<PlanLint>,
    errors: Vec<String>,
}

impl PlanBody {
    pub(crate) fn new(tables: &[PlanTable], lint: &[PlanLint], errors: &[String]) -> Self {
        PlanBody {
            tables: tables
                .iter()
                .map(|t| TableView {
                    name: qualified(t),
                    change: change_label(&t.change),
                    ddl: t.ddl.clone(),
                    is_unsafe: t.unsafe_reason.is_some(),
                })
                .collect(),
            unsafe_changes: tables
                .iter()
                .filter_map(|t| {
                    t.unsafe_reason.as_ref().map(|reason| UnsafeView {
                        name: qualified(t),
                        reason: if reason.trim().is_empty() {
                            "unsafe change".to_string()
                        } else {
                            reason.clone()
                        },
                    })
                })
                .collect(),
            lint: lint.to_vec(),
            errors: errors.to_vec(),
        }
    }
}

#[derive(Serialize)]
struct PlanView {
    database: String,
    environment: String,
    commit: Option<String>,
    trigger: String,
    #[serde(flatten)]
    body: PlanBody,
    lock: Option<PlanLock>,
}

fn change_label(change: &str) -> &'static str {
    match change {
        "create" => "create table",
        "alter" => "alter table",
        "drop" => "drop table",
        "vschema" => "VSchema change",
        _ => "schema change",
    }
}

fn qualified(t: &PlanTable) -> String {
    if t.namespace.is_empty() {
        t.table.clone()
    } else {
        format!("{}.{}", t.namespace, t.table)
    }
}

/// Renders the plan comment, ending with the hidden `marker`.
pub fn render_plan(plan: &PlanComment, marker: &str) -> Result<String, RenderError> {
    let trigger = match &plan.trigger {
        PlanTriggerText::Command { login } => {
            format!("{}'s command", escape::quiet_mention(login))
        }
        PlanTriggerText::PullRequest { action } => match action.as_str() {
            "opened" => "the opened pull request".to_string(),
            "reopened" => "the reopened pull request".to_string(),
            "synchronize" => "a push to the pull request".to_string(),
            other => format!("pull request event {}", escape::code(other)),
        },
    };
    let view = PlanView {
        database: plan.database.clone(),
        environment: plan.environment.clone(),
        commit: plan.commit.as_deref().map(short),
        trigger,
        body: PlanBody::new(&plan.tables, &plan.lint, &plan.errors),
        lock: plan.lock.clone(),
    };
    engine::render(Template::Plan, &view, marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PlanComment {
        PlanComment {
            database: "payments".into(),
            environment: "staging".into(),
            commit: Some("4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b".into()),
            trigger: PlanTriggerText::Command {
                login: "alice".into(),
            },
            tables: vec![
                PlanTable {
                    namespace: "payments".into(),
                    table: "orders".into(),
                    change: "alter".into(),
                    ddl: "ALTER TABLE `orders` ADD COLUMN `note` varchar(64) NULL, ADD INDEX `idx_status` (`status`)".into(),
                    unsafe_reason: None,
                },
                PlanTable {
                    namespace: "payments".into(),
                    table: "refunds".into(),
                    change: "alter".into(),
                    ddl: "ALTER TABLE `refunds` DROP COLUMN `legacy`".into(),
                    unsafe_reason: Some("drops column `legacy` and its data".into()),
                },
                PlanTable {
                    namespace: "payments".into(),
                    table: "ledger".into(),
                    change: "create".into(),
                    ddl: "CREATE TABLE `ledger` (\n  `id` bigint NOT NULL,\n  PRIMARY KEY (`id`)\n)".into(),
                    unsafe_reason: None,
                },
            ],
            lint: vec![PlanLint {
                severity: "warning".into(),
                table: "ledger".into(),
                message: "table has no <created_at> column @team".into(),
            }],
            errors: vec![],
            lock: None,
        }
    }

    #[test]
    fn an_apply_plan_carries_the_lock_and_the_confirm_command() {
        let locked = PlanComment {
            lock: Some(PlanLock {
                confirm: "schemabot apply-confirm -e staging --allow-unsafe".into(),
                expires_at: Some("2026-11-25 10:00 UTC".into()),
                needs_unsafe: true,
                confirmed: false,
            }),
            ..plan()
        };
        let body = render_plan(&locked, "apply:octo/schemas:1001:payments").unwrap();
        assert!(body.starts_with("## 🔒 Apply Plan"), "{body}");
        assert!(
            body.contains("```\nschemabot apply-confirm -e staging --allow-unsafe\n```"),
            "{body}"
        );
        insta::assert_snapshot!("plan_locked_for_apply", body);
        let confirmed = PlanComment {
            lock: Some(PlanLock {
                confirm: "schemabot apply-confirm -e staging".into(),
                expires_at: None,
                needs_unsafe: false,
                confirmed: true,
            }),
            tables: vec![],
            ..plan()
        };
        let body = render_plan(&confirmed, "m").unwrap();
        assert!(body.contains("Confirmed with `-y`"), "{body}");
        insta::assert_snapshot!("plan_locked_and_confirmed", body);
    }

    #[test]
    fn a_plan_with_changes_unsafe_changes_and_lint() {
        let body = render_plan(&plan(), "plan:octo/schemas:7:payments:staging").unwrap();
        assert!(
            body.contains("```sql\nALTER TABLE `orders` ADD COLUMN"),
            "{body}"
        );
        assert!(body.contains("<!-- schemabot:plan:octo/schemas:7:payments:staging -->"));
        assert!(!body.contains("@team"), "mentions are broken: {body}");
        insta::assert_snapshot!("plan_with_changes", body);
    }

    #[test]
    fn an_empty_plan_and_a_plan_with_errors() {
        let empty = PlanComment {
            tables: vec![],
            lint: vec![],
            trigger: PlanTriggerText::PullRequest {
                action: "synchronize".into(),
            },
            ..plan()
        };
        let body = render_plan(&empty, "m").unwrap();
        assert!(body.contains("No schema changes"), "{body}");
        insta::assert_snapshot!("plan_empty", body);

        let failed = PlanComment {
            errors: vec!["syntax error near `CREATE TABLE orders (`\nline 2".into()],
            ..empty
        };
        let body = render_plan(&failed, "m").unwrap();
        assert!(!body.contains("No schema changes"), "{body}");
        assert!(body.contains("### ❌ Errors"));
        insta::assert_snapshot!("plan_errors", body);
    }
}
