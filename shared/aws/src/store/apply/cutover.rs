//! The cutover claim: granting it to one command, releasing it, and marking the cutover begun.

use super::super::{decode_current, Store, WriteOutcome};
use super::support::{apply_key, check_same_apply, no_predecessor};
use crate::codec::{self, attr};
use crate::condition::{Condition, Expression, UpdateSpec};
use crate::error::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::{Apply, AuditEvent, CommentKind, CommentRecord, CutoverClaim};
use schemabot_domain::state::transition::predecessors;
use schemabot_domain::{ApplyId, State};

/// A granted cutover claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimGranted {
    /// The apply as now stored (claim set, version bumped).
    pub apply: Apply,
    /// This command already held the claim: it is a redelivery of a command whose earlier run
    /// may have reached Tern. The worker must settle that from evidence, not call Tern blindly.
    pub already_held: bool,
}

/// `#claim.#command_id = :cmd`
fn claim_held_by(expr: &mut Expression, command_id: &str) -> String {
    let claim = expr.name(attr::CLAIM);
    let command = expr.name(attr::CLAIM_COMMAND_ID);
    let value = expr.value(codec::s(command_id));
    format!("{claim}.{command} = {value}")
}

/// `SET #claim.#tern_call_open = :false`: the claim holder's Tern call is no longer in flight.
fn close_tern_call(spec: &mut UpdateSpec) {
    let claim = spec.expr.name(attr::CLAIM);
    let open = spec.expr.name(attr::CLAIM_TERN_CALL_OPEN);
    let closed = spec.expr.value(AttributeValue::Bool(false));
    spec.set_clause(format!("{claim}.{open} = {closed}"));
}

impl Store {
    /// Grants the right to trigger the cutover to one command: the apply must be at the version
    /// read, in `waiting_for_cutover`, and either unclaimed or claimed by this same command (a
    /// redelivery keeps the original claim). Of N concurrent commands exactly one is granted.
    pub async fn claim_cutover(
        &self,
        apply: &Apply,
        claim: &CutoverClaim,
        event: &AuditEvent,
    ) -> Result<WriteOutcome<ClaimGranted, Apply>, StoreError> {
        check_same_apply("the event", &apply.id, &event.apply_id)?;
        let mut spec = UpdateSpec::default();
        let version = spec.expr.equals(attr::VERSION, codec::n(apply.version));
        let waiting = spec
            .expr
            .equals(attr::STATE, codec::state(State::WaitingForCutover));
        let claim_name = spec.expr.name(attr::CLAIM);
        let ours = claim_held_by(&mut spec.expr, &claim.command_id);
        spec.require(version)
            .require(waiting)
            .require(format!("attribute_not_exists({claim_name}) OR {ours}"))
            .set_if_not_exists(attr::CLAIM, codec::encode_claim(claim))
            .increment_version();

        let actions = vec![
            self.update_action(apply_key(&apply.id), &spec)?,
            self.put_action(codec::encode_event(event), None)?,
        ];
        let held = apply
            .claim
            .as_ref()
            .filter(|held| held.command_id == claim.command_id)
            .cloned();
        let already_held = held.is_some();
        let mut written = apply.clone();
        written.claim = Some(held.unwrap_or_else(|| claim.clone()));
        written.version = apply.version + 1;
        let granted = ClaimGranted {
            apply: written,
            already_held,
        };
        self.transact_or_current(actions, granted, codec::decode_apply)
            .await
    }

    /// Gives up this command's claim (Tern did not accept the cutover, or the sweep settled it).
    pub async fn release_claim(
        &self,
        apply_id: &ApplyId,
        command_id: &str,
        event: &AuditEvent,
    ) -> Result<WriteOutcome<(), Apply>, StoreError> {
        check_same_apply("the event", apply_id, &event.apply_id)?;
        let mut spec = UpdateSpec::default();
        let ours = claim_held_by(&mut spec.expr, command_id);
        spec.require(ours).remove(attr::CLAIM).increment_version();
        let actions = vec![
            self.update_action(apply_key(apply_id), &spec)?,
            self.put_action(codec::encode_event(event), None)?,
        ];
        self.transact_or_current(actions, (), codec::decode_apply)
            .await
    }

    /// Marks that this command (holding the claim) is about to call Tern's Cutover, unless
    /// another attempt of it began a call after `stale_before` (still in flight). Written
    /// before the call, so a lost answer leaves a trace. One conditional request.
    pub async fn begin_cutover_call(
        &self,
        apply_id: &ApplyId,
        command_id: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<WriteOutcome<(), Apply>, StoreError> {
        let mut spec = UpdateSpec::default();
        let ours = claim_held_by(&mut spec.expr, command_id);
        let claim = spec.expr.name(attr::CLAIM);
        let called = spec.expr.name(attr::CLAIM_TERN_CALLED_AT);
        let open = spec.expr.name(attr::CLAIM_TERN_CALL_OPEN);
        let at = spec.expr.value(codec::time(now));
        let stale = spec.expr.value(codec::time(stale_before));
        let yes = spec.expr.value(AttributeValue::Bool(true));
        spec.require(ours)
            .require(format!(
                "attribute_not_exists({claim}.{open}) OR {claim}.{open} <> {yes} OR {claim}.{called} < {stale}"
            ))
            .set_clause(format!("{claim}.{called} = {at}"))
            .set_clause(format!("{claim}.{open} = {yes}"))
            .increment_version();
        self.update_or_current(apply_key(apply_id), &spec, (), codec::decode_apply)
            .await
    }

    /// The attempt that began a Cutover call saw it fail: the call is no longer in flight (its
    /// outcome stays unknown, and `tern_called_at` keeps saying a call was made). Best effort:
    /// without it the mark turns stale on its own.
    pub async fn end_cutover_call(
        &self,
        apply_id: &ApplyId,
        command_id: &str,
    ) -> Result<WriteOutcome<(), Apply>, StoreError> {
        let mut spec = UpdateSpec::default();
        let ours = claim_held_by(&mut spec.expr, command_id);
        close_tern_call(&mut spec);
        spec.require(ours).increment_version();
        self.update_or_current(apply_key(apply_id), &spec, (), codec::decode_apply)
            .await
    }

    /// Tern accepted the cutover: the apply moves from `waiting_for_cutover`/`recovering` to
    /// `cutting_over` (only while this command holds the claim), records who triggered it and
    /// when, starts tracking the Cutover Triggered comment and appends the audit event — one
    /// request.
    pub async fn mark_cutting_over(
        &self,
        apply_id: &ApplyId,
        command_id: &str,
        triggered_by: &str,
        at: DateTime<Utc>,
        comment: Option<&CommentRecord>,
        event: &AuditEvent,
    ) -> Result<WriteOutcome<(), Apply>, StoreError> {
        check_same_apply("the event", apply_id, &event.apply_id)?;
        if let Some(comment) = comment {
            check_same_apply("the comment record", apply_id, &comment.apply_id)?;
            if comment.kind != CommentKind::Cutover {
                return Err(StoreError::InvalidRequest(format!(
                    "mark_cutting_over tracks the cutover comment, not the {} one",
                    comment.kind.as_str()
                )));
            }
        }
        let from: Vec<State> = predecessors(State::CuttingOver)
            .into_iter()
            .filter(|s| matches!(s, State::WaitingForCutover | State::Recovering))
            .collect();
        let mut spec = UpdateSpec::default();
        let ours = claim_held_by(&mut spec.expr, command_id);
        let states = spec
            .expr
            .state_in(&from)
            .ok_or_else(|| no_predecessor(State::CuttingOver))?;
        // The call is over and answered: a concurrent attempt need not wait for it.
        close_tern_call(&mut spec);
        spec.require(ours)
            .require(states)
            .set(attr::STATE, codec::state(State::CuttingOver))
            .set(attr::CUTOVER_TRIGGERED_BY, codec::s(triggered_by))
            .set(attr::CUTOVER_TRIGGERED_AT, codec::time(at))
            .increment_version();

        let mut actions = vec![self.update_action(apply_key(apply_id), &spec)?];
        if let Some(comment) = comment {
            actions
                .push(self.put_action(codec::encode_comment(comment), Some(&Condition::absent()))?);
        }
        actions.push(self.put_action(codec::encode_event(event), None)?);
        match self.transact(actions).await? {
            Ok(()) => Ok(WriteOutcome::Written(())),
            Err(cancelled) if cancelled.condition_failed(0) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(cancelled.item(0), codec::decode_apply)?,
            }),
            Err(_) => Err(StoreError::Inconsistent(format!(
                "{apply_id} already tracks a cutover comment while it awaits its cutover"
            ))),
        }
    }
}
