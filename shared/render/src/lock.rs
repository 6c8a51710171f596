//! Replies of the apply lifecycle: `apply`, `apply-confirm`, `unlock` and a closed PR. Each
//! variant has its own template; every value from users or Tern goes through the templates'
//! escape filters.

use crate::engine::{self, Template};
use crate::error::RenderError;
use crate::review::{short, GateView};
use schemabot_domain::audit::Outcome;
use schemabot_domain::lock::LockKey;
use schemabot_domain::review::Shortfall;
use schemabot_domain::Login;
use serde::Serialize;
use serde_json::{json, Value};

/// A (database, environment) a reply lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockedTarget {
    pub database: String,
    pub environment: String,
    /// The apply holding it, for locks kept because they are being applied.
    pub apply_id: Option<String>,
}

/// Which command a reply answers (for its usage line and the command to retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockCommand {
    Plan,
    Apply,
    ApplyConfirm,
    Unlock,
    Rollback,
    RollbackConfirm,
}

impl LockCommand {
    fn name(self) -> &'static str {
        match self {
            LockCommand::Plan => "plan",
            LockCommand::Apply => "apply",
            LockCommand::ApplyConfirm => "apply-confirm",
            LockCommand::Unlock => "unlock",
            LockCommand::Rollback => "rollback",
            LockCommand::RollbackConfirm => "rollback-confirm",
        }
    }

    fn usage(self) -> &'static str {
        match self {
            LockCommand::Plan => "schemabot plan [-e <environment>] [-d <database>]",
            LockCommand::Apply => {
                "schemabot apply -e <environment> [-d <database>] [--defer-cutover] [--allow-unsafe]"
            }
            LockCommand::ApplyConfirm => {
                "schemabot apply-confirm -e <environment> [-d <database>] [--allow-unsafe]"
            }
            LockCommand::Unlock => "schemabot unlock [-d <database>]",
            LockCommand::Rollback => "schemabot rollback <apply-id> -e <environment>",
            LockCommand::RollbackConfirm => "schemabot rollback-confirm -e <environment>",
        }
    }
}

/// The command text to suggest: `schemabot <command> -e <env>` plus `-d <db>` when given.
pub fn command_text(command: &str, environment: &str, database: Option<&str>) -> String {
    let database = database.map(|d| format!(" -d {d}")).unwrap_or_default();
    format!("schemabot {command} -e {environment}{database}")
}

/// A commenter below a command's permission minimum; `actual` is `None` when GitHub could not
/// tell (the check fails closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub login: Login,
    pub required: &'static str,
    pub actual: Option<&'static str>,
}

/// Every reply of the apply lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockReply {
    /// Another PR holds the lock.
    HeldByOther {
        command: LockCommand,
        key: LockKey,
        /// `owner/repo#123`.
        owner: String,
        /// `planned`, `confirming`, `applying`.
        stage: String,
        /// When a planned lock may be taken over (formatted, UTC).
        expires_at: Option<String>,
        /// The command to comment again later.
        retry: String,
    },
    /// This PR's own apply holds the lock.
    ApplyInProgress {
        command: LockCommand,
        key: LockKey,
        apply_id: Option<String>,
        retry: String,
    },
    /// The PR changes no schema directory (for `database`, when `-d` was given).
    NoSchemaChanges { database: Option<String> },
    /// The plan is empty: nothing to lock.
    UpToDate {
        key: LockKey,
        commit: Option<String>,
    },
    /// `apply-confirm` without a locked plan.
    NoLock {
        environment: String,
        database: Option<String>,
        apply: String,
    },
    Stale {
        key: LockKey,
        planned: String,
        current: String,
        apply: String,
    },
    UnsafeNeedsFlag {
        key: LockKey,
        tables: Vec<String>,
        confirm: String,
    },
    /// Promotion order: `required` must apply this schema before `environment`.
    PromotionRequired {
        key: LockKey,
        required: String,
        order: Vec<String>,
        apply: String,
    },
    /// Tern refused or could not be reached; `locked` says whether the plan stays locked.
    Refused {
        command: LockCommand,
        key: LockKey,
        reason: String,
        detail: Option<String>,
        locked: bool,
        retry: String,
    },
    /// `unlock`, or a closed PR (`closed`).
    Unlocked {
        released: Vec<LockedTarget>,
        kept: Vec<LockedTarget>,
        closed: bool,
    },
    PermissionDenied {
        command: LockCommand,
        environment: String,
        denied: Denial,
    },
    /// The environment's review gate is closed: what is missing and what to do next.
    ReviewRequired {
        command: LockCommand,
        environment: String,
        login: String,
        missing: Vec<Shortfall>,
        /// The PR head approvals must be on, when it is known.
        head: Option<String>,
        /// The command to comment again (after a refused `-y`: `apply` without it).
        retry: String,
        /// After a refused `-y`: the confirm command to comment once the plan is approved.
        confirm: Option<String>,
    },
}

impl LockReply {
    /// The outcome metrics and audit events record.
    pub fn outcome(&self) -> Outcome {
        match self {
            LockReply::HeldByOther { .. } => Outcome::HeldByOther,
            LockReply::ApplyInProgress { .. } => Outcome::ApplyInProgress,
            LockReply::NoSchemaChanges { .. } => Outcome::NoSchemaChanges,
            LockReply::UpToDate { .. } => Outcome::UpToDate,
            LockReply::NoLock { .. } => Outcome::NoLock,
            LockReply::Stale { .. } => Outcome::Stale,
            LockReply::UnsafeNeedsFlag { .. } => Outcome::UnsafeNeedsFlag,
            LockReply::PromotionRequired { .. } => Outcome::PromotionRequired,
            LockReply::Refused { .. } => Outcome::Refused,
            LockReply::Unlocked { .. } => Outcome::Unlocked,
            LockReply::PermissionDenied { .. } => Outcome::PermissionDenied,
            LockReply::ReviewRequired { .. } => Outcome::ReviewRequired,
        }
    }
}

/// Renders `reply`, ending with the hidden `marker`.
pub fn render_lock_reply(reply: &LockReply, marker: &str) -> Result<String, RenderError> {
    let (template, view): (Template, Value) = match reply {
        LockReply::HeldByOther {
            command,
            key,
            owner,
            stage,
            expires_at,
            retry,
        } => (
            Template::LockHeld,
            json!({
                "command": command.name(), "usage": command.usage(), "database": key.database,
                "environment": key.environment, "owner": owner, "stage": stage,
                "expires_at": expires_at, "retry": retry,
            }),
        ),
        LockReply::ApplyInProgress {
            command,
            key,
            apply_id,
            retry,
        } => (
            Template::ApplyInProgress,
            json!({
                "usage": command.usage(), "database": key.database, "environment": key.environment,
                "apply_id": apply_id, "retry": retry,
            }),
        ),
        LockReply::NoSchemaChanges { database } => (
            Template::ApplyNoSchema,
            json!({ "database": database, "usage": LockCommand::Apply.usage() }),
        ),
        LockReply::UpToDate { key, commit } => (
            Template::ApplyUpToDate,
            json!({
                "database": key.database, "environment": key.environment,
                "commit": commit.as_deref().map(short),
            }),
        ),
        LockReply::NoLock {
            environment,
            database,
            apply,
        } => (
            Template::ApplyNoLock,
            json!({
                "environment": environment, "database": database, "apply": apply,
                "usage": LockCommand::ApplyConfirm.usage(),
            }),
        ),
        LockReply::Stale {
            key,
            planned,
            current,
            apply,
        } => (
            Template::PlanStale,
            json!({
                "database": key.database, "environment": key.environment,
                "planned": short(planned), "current": short(current),
                "apply": apply,
            }),
        ),
        LockReply::UnsafeNeedsFlag {
            key,
            tables,
            confirm,
        } => (
            Template::UnsafeNeedsFlag,
            json!({
                "database": key.database, "environment": key.environment, "tables": tables,
                "confirm": confirm, "usage": LockCommand::ApplyConfirm.usage(),
            }),
        ),
        LockReply::PromotionRequired {
            key,
            required,
            order,
            apply,
        } => (
            Template::PromotionRequired,
            json!({
                "database": key.database, "environment": key.environment, "required": required,
                "order": order.join(" → "), "apply": apply,
            }),
        ),
        LockReply::Refused {
            command,
            key,
            reason,
            detail,
            locked,
            retry,
        } => (
            Template::ApplyRefused,
            json!({
                "usage": command.usage(), "database": key.database, "environment": key.environment,
                "reason": reason, "detail": detail, "locked": locked, "retry": retry,
            }),
        ),
        LockReply::Unlocked {
            released,
            kept,
            closed,
        } => (
            Template::Unlock,
            json!({
                "released": released, "kept": kept, "closed": closed,
                "usage": LockCommand::Unlock.usage(),
            }),
        ),
        LockReply::PermissionDenied {
            command,
            environment,
            denied,
        } => (
            Template::CommandPermissionDenied,
            json!({
                "command": format!("schemabot {}", command.name()), "usage": command.usage(),
                "environment": environment, "login": denied.login, "required": denied.required,
                "actual": denied.actual,
            }),
        ),
        LockReply::ReviewRequired {
            command,
            environment,
            login,
            missing,
            head,
            retry,
            confirm,
        } => (
            Template::ReviewRequired,
            json!({
                "command": format!("schemabot {}", command.name()), "usage": command.usage(),
                "retry": retry, "confirm": confirm,
                "gate": GateView::new(login, environment, missing, head.as_deref()),
            }),
        ),
    };
    engine::render(template, &view, marker)
}

#[cfg(test)]
mod tests;
