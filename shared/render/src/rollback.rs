//! Replies of `rollback` and `rollback-confirm`: the rollback plan comment (the lock footer tells
//! how to confirm or abandon it) and every refusal, each naming the apply and what to do next.

use crate::engine::{self, Template};
use crate::error::RenderError;
use crate::escape;
use crate::plan::{PlanBody, PlanLint, PlanTable};
use crate::target::CutoverTarget;
use schemabot_domain::audit::Outcome;
use schemabot_domain::rollback::RollbackRefusal;
use schemabot_domain::{ApplyId, Database, Environment, State};
use serde::Serialize;
use serde_json::json;

/// The apply a rollback reply is about.
pub type RollbackTarget = CutoverTarget;

/// The rollback plan comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPlan {
    pub target: RollbackTarget,
    /// Who asked: a GitHub login, or the CLI identity.
    pub requested_by: String,
    pub tables: Vec<PlanTable>,
    pub lint: Vec<PlanLint>,
    pub errors: Vec<String>,
    /// When another PR may take the lock over (formatted, UTC).
    pub expires_at: Option<String>,
}

/// Every other answer of `rollback` and `rollback-confirm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackReply {
    /// No such apply on this pull request.
    NotFound { apply_id: ApplyId },
    EnvironmentMismatch {
        target: RollbackTarget,
        requested: Environment,
    },
    NotAllowed {
        target: RollbackTarget,
        state: State,
        refusal: RollbackRefusal,
    },
    /// The live schema already is the one before the apply.
    NothingToRollback { target: RollbackTarget },
    /// The apply's pull request is closed or merged (a CLI request): the rollback plan is
    /// locked and confirmed on an open one.
    PrNotOpen {
        target: RollbackTarget,
        repository: String,
        pr: u64,
    },
    /// Tern could not plan; nothing was locked.
    PlanFailed {
        target: RollbackTarget,
        error: String,
    },
    /// `rollback-confirm` with no rollback plan locked in the environment.
    NoRollbackPlan { environment: Environment },
    /// `rollback-confirm` with several.
    SeveralRollbackPlans {
        environment: Environment,
        databases: Vec<Database>,
    },
}

impl RollbackReply {
    /// The outcome audit events and metrics record.
    pub fn outcome(&self) -> Outcome {
        match self {
            RollbackReply::NotFound { .. } => Outcome::ApplyNotFound,
            RollbackReply::EnvironmentMismatch { .. } => Outcome::EnvironmentMismatch,
            RollbackReply::NotAllowed { refusal, .. } => refusal.code(),
            RollbackReply::NothingToRollback { .. } => Outcome::NothingToRollback,
            RollbackReply::PrNotOpen { .. } => Outcome::PrNotOpen,
            RollbackReply::PlanFailed { .. } => Outcome::PlanFailed,
            RollbackReply::NoRollbackPlan { .. } => Outcome::NoLock,
            RollbackReply::SeveralRollbackPlans { .. } => Outcome::SeveralRollbackPlans,
        }
    }
}

/// `schemabot rollback <apply-id> -e <env>`.
pub fn rollback_command(apply_id: &ApplyId, environment: &Environment) -> String {
    format!("schemabot rollback {apply_id} -e {environment}")
}

/// `schemabot rollback-confirm -e <env>`.
pub fn rollback_confirm_command(environment: &Environment) -> String {
    format!("schemabot rollback-confirm -e {environment}")
}

/// An environment as a title suffix: `production` → `Production`.
fn title(environment: &Environment) -> String {
    let mut chars = environment.as_str().chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[derive(Serialize)]
struct PlanView<'a> {
    title: String,
    apply_id: &'a ApplyId,
    database: &'a Database,
    environment: &'a Environment,
    rollback_of: &'a ApplyId,
    #[serde(flatten)]
    body: PlanBody,
    expires_at: &'a Option<String>,
    confirm: String,
    unlock: String,
    requested_by: String,
}

/// Renders the rollback plan comment, ending with the hidden `marker`.
pub fn render_rollback_plan(plan: &RollbackPlan, marker: &str) -> Result<String, RenderError> {
    let target = &plan.target;
    let view = PlanView {
        title: title(&target.environment),
        apply_id: &target.apply_id,
        database: &target.database,
        environment: &target.environment,
        rollback_of: &target.apply_id,
        body: PlanBody::new(&plan.tables, &plan.lint, &plan.errors),
        expires_at: &plan.expires_at,
        confirm: rollback_confirm_command(&target.environment),
        unlock: format!("schemabot unlock -d {}", target.database),
        requested_by: format!("{}'s command", escape::quiet_mention(&plan.requested_by)),
    };
    engine::render(Template::RollbackPlan, &view, marker)
}

/// Renders `reply`, ending with the hidden `marker`.
pub fn render_rollback_reply(reply: &RollbackReply, marker: &str) -> Result<String, RenderError> {
    let about = |kind: &str, t: &RollbackTarget| {
        json!({
            "kind": kind, "apply_id": t.apply_id, "database": t.database,
            "environment": t.environment,
        })
    };
    let mut view = match reply {
        RollbackReply::NotFound { apply_id } => {
            json!({ "kind": "not_found", "apply_id": apply_id })
        }
        RollbackReply::EnvironmentMismatch { target, requested } => {
            let mut view = about("environment_mismatch", target);
            view["requested"] = json!(requested);
            view["retry"] = json!(target.command("rollback"));
            view
        }
        RollbackReply::NotAllowed {
            target,
            state,
            refusal,
        } => {
            let mut view = about("not_allowed", target);
            view["state"] = json!(state);
            view["reason"] = json!(refusal.code().as_str());
            match refusal {
                RollbackRefusal::NotLatest { latest } => view["latest"] = json!(latest),
                RollbackRefusal::AlreadyRolledBack { rollback, state } => {
                    view["rollback"] = json!(rollback);
                    view["rollback_state"] = json!(state);
                }
                _ => {}
            }
            for op in ["stop", "cancel"] {
                view[op] = json!(target.command(op));
            }
            view
        }
        RollbackReply::NothingToRollback { target } => about("nothing_to_rollback", target),
        RollbackReply::PrNotOpen {
            target,
            repository,
            pr,
        } => {
            let mut view = about("pr_not_open", target);
            view["pull_request"] = json!(format!("{repository}#{pr}"));
            view
        }
        RollbackReply::PlanFailed { target, error } => {
            let mut view = about("plan_failed", target);
            view["error"] = json!(error);
            view["retry"] = json!(target.command("rollback"));
            view
        }
        RollbackReply::NoRollbackPlan { environment } => {
            json!({ "kind": "no_rollback_plan", "environment": environment })
        }
        RollbackReply::SeveralRollbackPlans {
            environment,
            databases,
        } => json!({
            "kind": "several_rollback_plans", "environment": environment, "databases": databases,
        }),
    };
    view["usage"] = json!("schemabot rollback <apply-id> -e <environment>");
    engine::render(Template::RollbackReply, &view, marker)
}

#[cfg(test)]
mod tests;
