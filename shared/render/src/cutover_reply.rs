//! The worker's answers to a cutover command that did not lead to a Tern cutover
//! ([`CutoverReply`]), each naming the apply it is about.

use crate::actor::Actor;
use crate::engine::Template;
use crate::error::RenderError;
use crate::escape;
use crate::format;
use crate::lock::Denial;
use crate::replies::reply;
use crate::target::CutoverTarget;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::Apply;
use schemabot_domain::audit::Outcome;
use schemabot_domain::command::CommandName;
use schemabot_domain::review::Shortfall;
use schemabot_domain::{ApplyId, Environment, Login, State};
use serde_json::json;

/// Messages from Tern and transport errors are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 1_000;

/// What the worker answers to a cutover command that did not lead to a Tern cutover (the
/// accepted case is the Cutover Triggered comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutoverReply {
    /// No apply with this id on this pull request (other repositories' applies are never
    /// revealed).
    ApplyNotFound { apply_id: ApplyId },
    /// The command named another environment than the apply's.
    EnvironmentMismatch {
        target: CutoverTarget,
        requested: Environment,
    },
    /// The commenter lacks the permission the cutover requires.
    PermissionDenied {
        target: CutoverTarget,
        denied: Denial,
    },
    /// The apply is not waiting for cutover.
    NotAvailable { target: CutoverTarget, state: State },
    /// The apply is recovering after a Tern/Spirit restart; cutover is refused until it is ready
    /// again.
    Recovering { target: CutoverTarget },
    /// Someone already triggered (or claimed) the cutover; no second Tern call was made.
    AlreadyTriggered {
        target: CutoverTarget,
        state: State,
        by: Option<Actor>,
        at: Option<DateTime<Utc>>,
    },
    /// Tern answered but did not accept the cutover; `message` is Tern's.
    NotAccepted {
        target: CutoverTarget,
        message: String,
    },
    /// Tern could not be reached (transport error) even after `attempts` tries.
    Failed {
        target: CutoverTarget,
        error: String,
        attempts: u32,
    },
    /// The environment's review gate is closed: what is missing and what to do next.
    ReviewRequired {
        target: CutoverTarget,
        login: Login,
        missing: Vec<Shortfall>,
        /// The PR head approvals must be on, when it is known.
        head: Option<String>,
    },
}

impl CutoverReply {
    /// The outcome metrics and audit events record for this reply as a refusal (a `Failed`
    /// reply whose Tern call may have worked is recorded as an unknown outcome by its caller).
    pub fn outcome(&self) -> Outcome {
        match self {
            CutoverReply::ApplyNotFound { .. } => Outcome::ApplyNotFound,
            CutoverReply::EnvironmentMismatch { .. } => Outcome::EnvironmentMismatch,
            CutoverReply::PermissionDenied { .. } => Outcome::PermissionDenied,
            CutoverReply::NotAvailable { .. } => Outcome::NotAvailable,
            CutoverReply::Recovering { .. } => Outcome::Recovering,
            CutoverReply::AlreadyTriggered { .. } => Outcome::AlreadyTriggered,
            CutoverReply::NotAccepted { .. } => Outcome::NotAccepted,
            CutoverReply::Failed { .. } => Outcome::Failed,
            CutoverReply::ReviewRequired { .. } => Outcome::ReviewRequired,
        }
    }

    /// The "already triggered" reply for `apply`, naming whoever triggered it, or else whoever
    /// holds the claim, and when.
    pub fn already_triggered(apply: &Apply) -> Self {
        let claim = apply.claim.as_ref();
        let by = apply
            .cutover_triggered_by
            .as_deref()
            .or(claim.map(|c| c.actor.as_str()))
            .map(Actor::from_stored);
        let at = apply.cutover_triggered_at.or(claim.map(|c| c.claimed_at));
        CutoverReply::AlreadyTriggered {
            target: CutoverTarget::of(apply),
            state: apply.state,
            by,
            at,
        }
    }
}

/// Why a cutover is not available in `state`, and what to do (fixed wording).
fn not_available_hint(state: State) -> &'static str {
    match state {
        State::Stopped => "The schema change is stopped; start it again, and run the cutover once every table is ready for cutover.",
        State::Failed | State::Cancelled | State::Reverted => {
            "The schema change has ended, so there is nothing to cut over."
        }
        State::CuttingOver | State::Completed | State::RevertWindow | State::Reverting => {
            "The cutover has already happened."
        }
        State::Recovering => "The schema change is recovering after a restart; cutover will be available once recovery completes.",
        _ => "Cutover becomes available once every table has copied its rows: the progress comment above then shows `⏸️ Ready for cutover` and the command to run.",
    }
}

/// Where a cutover that was already triggered stands (fixed wording).
fn already_triggered_note(state: State) -> &'static str {
    match state {
        State::CuttingOver => "The table swap is in progress.",
        State::Completed => "The schema change has completed.",
        State::Failed => "The schema change failed afterwards; see the summary comment.",
        _ => "The cutover is under way; the progress comment above shows how it goes.",
    }
}

/// Renders the worker's answer to a cutover command, ending with the hidden `marker`.
pub fn render_cutover_reply(outcome: &CutoverReply, marker: &str) -> Result<String, RenderError> {
    let usage = CommandName::Cutover.usage();
    // Every reply but "not found" is about an apply: its target, id and its own details.
    let (template, target, mut view) = match outcome {
        CutoverReply::ApplyNotFound { apply_id } => {
            let view = json!({ "apply_id": apply_id.to_string() });
            return reply(Template::ApplyNotFound, Some(usage), view, marker);
        }
        CutoverReply::EnvironmentMismatch { target, requested } => (
            Template::EnvironmentMismatch,
            target,
            json!({ "requested": requested.to_string(), "command": target.command("cutover") }),
        ),
        CutoverReply::PermissionDenied { target, denied } => (
            Template::PermissionDenied,
            target,
            json!({ "login": denied.login, "required": denied.required, "actual": denied.actual }),
        ),
        CutoverReply::NotAvailable { target, state } => (
            Template::CutoverNotAvailable,
            target,
            json!({ "state": state.as_str(), "hint": not_available_hint(*state) }),
        ),
        CutoverReply::Recovering { target } => (Template::CutoverRecovering, target, json!({})),
        CutoverReply::AlreadyTriggered {
            target,
            state,
            by,
            at,
        } => (
            Template::CutoverAlreadyTriggered,
            target,
            json!({
                "by": by.as_ref().map(Actor::view), "at": at.map(format::timestamp),
                "state_note": already_triggered_note(*state),
            }),
        ),
        CutoverReply::NotAccepted { target, message } => (
            Template::CutoverNotAccepted,
            target,
            json!({ "message": escape::truncate_chars(message, MAX_MESSAGE_CHARS) }),
        ),
        CutoverReply::Failed {
            target,
            error,
            attempts,
        } => (
            Template::CutoverFailed,
            target,
            json!({
                "error": escape::truncate_chars(error, MAX_MESSAGE_CHARS), "attempts": attempts,
            }),
        ),
        CutoverReply::ReviewRequired {
            target,
            login,
            missing,
            head,
        } => {
            return crate::review::render_cutover_review_required(
                target,
                login,
                missing,
                head.as_deref(),
                usage,
                marker,
            )
        }
    };
    view["target"] = json!(target.view());
    view["apply_id"] = json!(target.apply_id.to_string());
    reply(template, Some(usage), view, marker)
}
