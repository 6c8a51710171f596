//! Replies to the lifecycle controls (stop, start, cancel, revert, skip-revert): one template,
//! one typed variant per outcome.

use crate::engine::{render, Template};
use crate::error::RenderError;
use crate::lock::Denial;
use crate::target::{apply_command, CutoverTarget};
use schemabot_domain::audit::Outcome;
use schemabot_domain::control::{ControlOp, StateRefusal};
use schemabot_domain::{ApplyId, Database, Environment, State};
use serde::Serialize;
use serde_json::{json, Value};

/// One apply a control without an apply id could mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlCandidate {
    pub apply_id: ApplyId,
    pub database: Database,
    pub state: State,
}

/// Every answer to a control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlReply {
    Accepted {
        op: ControlOp,
        target: CutoverTarget,
        requested_by: Option<String>,
        /// What a Stop returns: until when the change can be resumed.
        resume_deadline: Option<String>,
    },
    AlreadyDone {
        op: ControlOp,
        target: CutoverTarget,
        state: State,
    },
    AlreadyRequested {
        op: ControlOp,
        target: CutoverTarget,
        by: String,
    },
    Refused {
        op: ControlOp,
        target: CutoverTarget,
        refusal: StateRefusal,
        state: State,
    },
    NotAccepted {
        op: ControlOp,
        target: CutoverTarget,
        message: String,
    },
    Failed {
        op: ControlOp,
        target: CutoverTarget,
        error: String,
    },
    NoApply {
        op: ControlOp,
        environment: Environment,
    },
    Ambiguous {
        op: ControlOp,
        environment: Environment,
        candidates: Vec<ControlCandidate>,
    },
    NotFound {
        op: ControlOp,
        apply_id: ApplyId,
    },
    EnvironmentMismatch {
        op: ControlOp,
        target: CutoverTarget,
        requested: Environment,
    },
    PermissionDenied {
        op: ControlOp,
        environment: Environment,
        denied: Denial,
    },
}

impl ControlReply {
    /// The metric and audit outcome of the reply.
    pub fn outcome(&self) -> Outcome {
        match self {
            ControlReply::Accepted { .. } => Outcome::Accepted,
            ControlReply::AlreadyDone { .. } => Outcome::AlreadyDone,
            ControlReply::AlreadyRequested { .. } => Outcome::AlreadyRequested,
            ControlReply::Refused { refusal, .. } => refusal.code(),
            ControlReply::NotAccepted { .. } => Outcome::NotAccepted,
            ControlReply::Failed { .. } => Outcome::Failed,
            ControlReply::NoApply { .. } => Outcome::NoApply,
            ControlReply::Ambiguous { .. } => Outcome::Ambiguous,
            ControlReply::NotFound { .. } => Outcome::ApplyNotFound,
            ControlReply::EnvironmentMismatch { .. } => Outcome::EnvironmentMismatch,
            ControlReply::PermissionDenied { .. } => Outcome::PermissionDenied,
        }
    }

    fn op(&self) -> ControlOp {
        match self {
            ControlReply::Accepted { op, .. }
            | ControlReply::AlreadyDone { op, .. }
            | ControlReply::AlreadyRequested { op, .. }
            | ControlReply::Refused { op, .. }
            | ControlReply::NotAccepted { op, .. }
            | ControlReply::Failed { op, .. }
            | ControlReply::NoApply { op, .. }
            | ControlReply::Ambiguous { op, .. }
            | ControlReply::NotFound { op, .. }
            | ControlReply::EnvironmentMismatch { op, .. }
            | ControlReply::PermissionDenied { op, .. } => *op,
        }
    }
}

fn title(op: ControlOp) -> &'static str {
    match op {
        ControlOp::Stop => "Stop",
        ControlOp::Start => "Start",
        ControlOp::Cancel => "Cancel",
        ControlOp::Revert => "Revert",
        ControlOp::SkipRevert => "Skip-Revert",
    }
}

/// Renders `reply`, ending with the hidden `marker`.
pub fn render_control_reply(reply: &ControlReply, marker: &str) -> Result<String, RenderError> {
    let op = reply.op();
    let mut view = match reply {
        ControlReply::Accepted {
            target,
            requested_by,
            resume_deadline,
            ..
        } => json!({
            "kind": "accepted", "target": target, "requested_by": requested_by,
            "resume_deadline": resume_deadline,
            "start": target.command(ControlOp::Start), "cancel": target.command(ControlOp::Cancel),
        }),
        ControlReply::AlreadyDone { target, state, .. } => {
            json!({ "kind": "already_done", "target": target, "state": state })
        }
        ControlReply::AlreadyRequested { target, by, .. } => {
            json!({ "kind": "already_requested", "target": target, "by": by })
        }
        ControlReply::Refused {
            target,
            refusal,
            state,
            ..
        } => json!({
            "kind": "refused", "target": target, "reason": refusal.code(), "state": state,
            "cutover": target.command("cutover"),
        }),
        ControlReply::NotAccepted {
            target, message, ..
        } => json!({ "kind": "not_accepted", "target": target, "message": message }),
        ControlReply::Failed { target, error, .. } => {
            json!({ "kind": "failed", "target": target, "error": error })
        }
        ControlReply::NoApply { environment, .. } => {
            json!({ "kind": "no_apply", "environment": environment })
        }
        ControlReply::Ambiguous {
            environment,
            candidates,
            ..
        } => {
            let candidates: Vec<Value> = candidates
                .iter()
                .map(|c| {
                    json!({
                        "database": c.database, "state": c.state,
                        "command": apply_command(op, &c.apply_id, environment),
                    })
                })
                .collect();
            json!({ "kind": "ambiguous", "environment": environment, "candidates": candidates })
        }
        ControlReply::NotFound { apply_id, .. } => {
            json!({ "kind": "not_found", "apply_id": apply_id })
        }
        ControlReply::EnvironmentMismatch {
            target, requested, ..
        } => json!({
            "kind": "environment_mismatch", "target": target, "requested": requested,
            "retry": target.command(op),
        }),
        ControlReply::PermissionDenied {
            environment,
            denied,
            ..
        } => json!({
            "kind": "permission_denied", "environment": environment, "login": denied.login,
            "required": denied.required, "actual": denied.actual,
        }),
    };
    view["name"] = json!(op.as_str());
    view["op_title"] = json!(title(op));
    view["usage"] = json!(op.command().usage());
    render(Template::ControlReply, &view, marker)
}

#[cfg(test)]
mod tests;
