//! Control requests: one record per (apply, control) says which command asked and what the
//! engine answered. Of concurrent commands one wins (the others are told who asked); a
//! redelivered command finds its own record and its answer, and never asks the engine twice
//! without cause.
//!
//! `CONTROL#<apply id>` / `<op>`, in its own partition so the apply's snapshot stays as it is.

use super::super::{key, Store, WriteOutcome};
use crate::codec::{self, attr, item_type, DecodeError, Item, ItemReader, ItemWriter};
use crate::condition::{Condition, Expression, UpdateSpec};
use crate::error::StoreError;
use chrono::{DateTime, Utc};
use schemabot_domain::control::ControlOp;
use schemabot_domain::ApplyId;

/// The engine is being asked (an attempt is in the call).
const PENDING: &str = "pending";
/// The attempt that asked saw the call fail: the outcome is unknown, the call is over.
const UNKNOWN: &str = "unknown";
const ANSWERED: &str = "answered";
/// The engine's answer: `accepted` or `not_accepted`.
const ACCEPTED: &str = "accepted";
const NOT_ACCEPTED: &str = "not_accepted";

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlStatus {
    /// An attempt is calling the engine.
    Pending,
    /// The call ended without an answer.
    Unknown,
    /// The engine's answer is recorded.
    Answered,
}

/// What the engine said to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlAnswer {
    /// Accepted; a stop says until when the change can be resumed.
    Accepted {
        resume_deadline: Option<String>,
    },
    NotAccepted {
        message: String,
    },
}

/// A control request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRequest {
    pub apply_id: ApplyId,
    pub op: ControlOp,
    /// The job id of the command that asked.
    pub command_id: String,
    /// Who asked (a login, or `cli:<sender>`).
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub status: ControlStatus,
    /// The engine's answer, once [`ControlStatus::Answered`].
    pub answer: Option<ControlAnswer>,
}

fn request_key(apply_id: &ApplyId, op: ControlOp) -> Item {
    key(format!("CONTROL#{apply_id}"), op.as_str())
}

fn decode_request(item: &Item) -> Result<ControlRequest, DecodeError> {
    let r = ItemReader::new(item, item_type::CONTROL_REQUEST);
    let op_name = r.string(attr::CONTROL_OP)?;
    let op = ControlOp::ALL
        .into_iter()
        .find(|op| op.as_str() == op_name)
        .ok_or_else(|| r.invalid(attr::CONTROL_OP, op_name, "unknown control"))?;
    let status = match r.string(attr::STATUS)? {
        PENDING => ControlStatus::Pending,
        UNKNOWN => ControlStatus::Unknown,
        ANSWERED => ControlStatus::Answered,
        other => return Err(r.invalid(attr::STATUS, other, "unknown control status")),
    };
    let answer = match (status, r.opt_string(attr::OUTCOME)?) {
        (ControlStatus::Answered, Some(NOT_ACCEPTED)) => Some(ControlAnswer::NotAccepted {
            message: r.opt_string(attr::MESSAGE)?.unwrap_or_default().to_string(),
        }),
        (ControlStatus::Answered, _) => Some(ControlAnswer::Accepted {
            resume_deadline: r.opt_string(attr::RESUME_DEADLINE)?.map(str::to_string),
        }),
        _ => None,
    };
    Ok(ControlRequest {
        apply_id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
        op,
        command_id: r.string(attr::LOCK_COMMAND_ID)?.to_string(),
        requested_by: r.string(attr::REQUESTED_BY)?.to_string(),
        requested_at: r.time(attr::REQUESTED_AT)?,
        status,
        answer,
    })
}

impl Store {
    /// The request for `op` on the apply, if any command asked for it.
    pub async fn get_control(
        &self,
        apply_id: &ApplyId,
        op: ControlOp,
    ) -> Result<Option<ControlRequest>, StoreError> {
        self.get_record(request_key(apply_id, op), decode_request)
            .await
    }

    /// Records that `request.command_id` is about to ask the engine for `request.op` — unless
    /// another command's request for it exists (then that request is returned: it was first). A
    /// request of this same command is returned as it stands (a redelivery). Another command's
    /// request is replaced only when it was left pending since before `stale_before` (its worker
    /// died), or when it is the one named by `replacing` and its call is over (answered or
    /// unknown): the caller decided from the engine's report that the control is to be asked
    /// again (stop, start, stop). One conditional request.
    pub async fn begin_control(
        &self,
        request: &ControlRequest,
        stale_before: DateTime<Utc>,
        replacing: Option<&str>,
    ) -> Result<WriteOutcome<ControlRequest, ControlRequest>, StoreError> {
        let item = ItemWriter::from(request_key(&request.apply_id, request.op))
            .put(attr::ITEM_TYPE, codec::s(item_type::CONTROL_REQUEST))
            .put(attr::APPLY_ID, codec::s(request.apply_id.as_str()))
            .put(attr::CONTROL_OP, codec::s(request.op.as_str()))
            .put(attr::LOCK_COMMAND_ID, codec::s(&request.command_id))
            .put(attr::REQUESTED_BY, codec::s(&request.requested_by))
            .put(attr::REQUESTED_AT, codec::time(request.requested_at))
            .put(attr::STATUS, codec::s(PENDING))
            .finish();
        let mut expr = Expression::default();
        let pk = expr.name(attr::PK);
        let pending = expr.equals(attr::STATUS, codec::s(PENDING));
        let other = expr.name(attr::LOCK_COMMAND_ID);
        let me = expr.value(codec::s(&request.command_id));
        let at = expr.name(attr::REQUESTED_AT);
        let stale = expr.value(codec::time(stale_before));
        let mut text = format!(
            "attribute_not_exists({pk}) OR ({other} <> {me} AND {pending} AND {at} < {stale})"
        );
        if let Some(previous) = replacing {
            let previous = expr.value(codec::s(previous));
            text.push_str(&format!(" OR ({other} = {previous} AND NOT {pending})"));
        }
        let condition = Condition::new(text, expr);
        self.put_or_current(item, &condition, request.clone(), decode_request)
            .await
    }

    /// This command asks the engine again (its earlier call's outcome was unknown): pending once
    /// more, from `at`. Only from `unknown` or a `pending` left since before `stale_before`.
    pub async fn retry_control(
        &self,
        apply_id: &ApplyId,
        op: ControlOp,
        command_id: &str,
        at: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut spec = UpdateSpec::default();
        let ours = spec
            .expr
            .equals(attr::LOCK_COMMAND_ID, codec::s(command_id));
        let unknown = spec.expr.equals(attr::STATUS, codec::s(UNKNOWN));
        let pending = spec.expr.equals(attr::STATUS, codec::s(PENDING));
        let requested = spec.expr.name(attr::REQUESTED_AT);
        let stale = spec.expr.value(codec::time(stale_before));
        spec.require(format!(
            "{ours} AND ({unknown} OR ({pending} AND {requested} < {stale}))"
        ))
        .set(attr::STATUS, codec::s(PENDING))
        .set(attr::REQUESTED_AT, codec::time(at));
        Ok(self
            .update_item(request_key(apply_id, op), &spec)
            .await?
            .is_ok())
    }

    /// The call of `command_id` ended without an answer: no longer in flight.
    pub async fn unknown_control(
        &self,
        apply_id: &ApplyId,
        op: ControlOp,
        command_id: &str,
    ) -> Result<(), StoreError> {
        let spec = status_if_ours(command_id, UNKNOWN);
        self.update_own_request(apply_id, op, &spec).await
    }

    /// Records the engine's `answer` to `command_id`'s request. Idempotent.
    pub async fn answer_control(
        &self,
        apply_id: &ApplyId,
        op: ControlOp,
        command_id: &str,
        answer: &ControlAnswer,
    ) -> Result<(), StoreError> {
        let mut spec = status_if_ours(command_id, ANSWERED);
        match answer {
            ControlAnswer::Accepted { resume_deadline } => {
                spec.set(attr::OUTCOME, codec::s(ACCEPTED));
                if let Some(deadline) = resume_deadline {
                    spec.set(attr::RESUME_DEADLINE, codec::s(deadline));
                }
            }
            ControlAnswer::NotAccepted { message } => {
                spec.set(attr::OUTCOME, codec::s(NOT_ACCEPTED))
                    .set(attr::MESSAGE, codec::s(message));
            }
        }
        self.update_own_request(apply_id, op, &spec).await
    }

    async fn update_own_request(
        &self,
        apply_id: &ApplyId,
        op: ControlOp,
        spec: &UpdateSpec,
    ) -> Result<(), StoreError> {
        // Lost to a newer request: that one carries on.
        let _ = self.update_item(request_key(apply_id, op), spec).await?;
        Ok(())
    }
}

/// Sets `status` on the request, only while it is still `command_id`'s.
fn status_if_ours(command_id: &str, status: &str) -> UpdateSpec {
    let mut spec = UpdateSpec::default();
    let ours = spec
        .expr
        .equals(attr::LOCK_COMMAND_ID, codec::s(command_id));
    spec.require(ours).set(attr::STATUS, codec::s(status));
    spec
}
