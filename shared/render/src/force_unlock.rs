//! Force unlocks (`schemabot unlock --force -d <db> -e <env>` by an admin, or the CLI's
//! `unlock`): the answer to the command ([`ForceUnlockReply`], one template with a kind per
//! outcome) and the notice on the pull request whose lock was released
//! ([`LockReleasedNotice`]). Every value from users goes through the templates' escape filters.

use crate::actor::Actor;
use crate::engine::{render, Template};
use crate::error::RenderError;
use crate::lock::{command_text, Denial};
use serde_json::json;

/// The usage line of force-unlock replies.
const USAGE: &str = "schemabot unlock --force -d <database> -e <environment>";

/// Every answer to a force unlock, on the pull request that asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForceUnlockReply {
    /// `holder`'s planned lock was released.
    Released {
        database: String,
        environment: String,
        /// `owner/repo#123`.
        holder: String,
        /// Who took the lock.
        locked_by: String,
    },
    /// No lock on (database, environment).
    NoLock {
        database: String,
        environment: String,
    },
    /// Kept: being applied (`apply_id`), or confirmed a moment ago (`None`).
    Kept {
        database: String,
        environment: String,
        holder: String,
        apply_id: Option<String>,
    },
    /// The commenter is not an admin of the repository.
    PermissionDenied(Denial),
}

/// Told on the pull request whose lock was released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockReleasedNotice {
    pub database: String,
    pub environment: String,
    /// Who released it.
    pub by: Actor,
    /// The pull request the command came from (`owner/repo#123`); `None` for the CLI.
    pub from: Option<String>,
}

/// Renders the answer to a force unlock, ending with the hidden `marker`.
pub fn render_force_unlock_reply(
    reply: &ForceUnlockReply,
    marker: &str,
) -> Result<String, RenderError> {
    let mut view = match reply {
        ForceUnlockReply::Released {
            database,
            environment,
            holder,
            locked_by,
        } => json!({
            "kind": "released", "database": database, "environment": environment,
            "holder": holder, "locked_by": locked_by,
            "apply": command_text("apply", environment, None),
        }),
        ForceUnlockReply::NoLock {
            database,
            environment,
        } => json!({ "kind": "no_lock", "database": database, "environment": environment }),
        ForceUnlockReply::Kept {
            database,
            environment,
            holder,
            apply_id,
        } => json!({
            "kind": "kept", "database": database, "environment": environment,
            "holder": holder, "apply_id": apply_id,
            "cancel": apply_id.as_ref().map(|id| format!("schemabot cancel {id} -e {environment}")),
        }),
        ForceUnlockReply::PermissionDenied(denied) => json!({
            "kind": "permission_denied", "login": denied.login, "actual": denied.actual,
            "command": "schemabot unlock --force", "required": "admin",
        }),
    };
    view["usage"] = json!(USAGE);
    render(Template::ForceUnlock, &view, marker)
}

/// Renders the notice for the pull request whose lock was released, ending with `marker`.
pub fn render_lock_released_notice(
    notice: &LockReleasedNotice,
    marker: &str,
) -> Result<String, RenderError> {
    let view = json!({
        "database": notice.database, "environment": notice.environment,
        "by": notice.by.view(), "from": notice.from,
        "apply": command_text("apply", &notice.environment, None),
    });
    render(Template::LockReleasedNotice, &view, marker)
}

#[cfg(test)]
mod tests;
