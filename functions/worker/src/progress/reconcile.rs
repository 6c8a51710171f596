//! Reconciling one apply: one `load_apply`, one Tern Progress, the pure decision per task
//! (`decide`), conditional writes, the derived apply state, the settling of a cutover claim whose
//! Tern outcome is unknown, and the apply's PR comments.
//!
//! Every write is conditional on what was read, so a sweep and a poll reconciling the same
//! apply at once cannot corrupt it: the loser's write is refused and the next round reads the
//! winner's result. `_spirit_sentinel` is checked at most once per apply per round.

use crate::errors;
use crate::progress::comments::{self, CommentReport};
use crate::progress::engine;
use crate::progress::error::ProgressError;
use crate::progress::locks;
use crate::progress::metrics;
use crate::Worker;
use chrono::{DateTime, TimeDelta, Utc};
use schemabot_aws::store::{ApplyChanges, ApplySnapshot, Change, TaskChanges};
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{Apply, AuditEvent, CommentRecord, CutoverClaim, Task};
use schemabot_domain::state::derive::derive_apply_state;
use schemabot_domain::state::reconcile::{
    decide, Decision, KeepReason, ReconcileContext, Sentinel, SentinelEvidence, Transition,
    TransitionReason, ABANDONED_MESSAGE,
};
use schemabot_domain::state::transition::is_allowed;
use schemabot_domain::{ApplyId, State};
use schemabot_tern::{ProgressReport, TernTarget};
use serde::Serialize;
use tracing::Instrument;

/// A claim older than this whose command has not moved the apply on has an unknown Tern
/// outcome (its job crashed or is still retrying): the sweep starts looking at the evidence.
pub const CLAIM_OUTCOME_UNKNOWN_AFTER: TimeDelta = TimeDelta::seconds(60);
/// With the sentinel still present after this long, the claimed cutover did not happen and its
/// command has given up (its retries end well before): release the claim so operators can retry.
pub const CLAIM_RELEASE_AFTER: TimeDelta = TimeDelta::minutes(5);

/// The actor of writes the reconciliation makes on its own.
const ACTOR: &str = "schemabot";

/// What one reconciliation did.
#[derive(Debug, Clone, Serialize)]
pub struct ReconcileReport {
    pub apply_id: ApplyId,
    /// The apply's state afterwards.
    pub state: State,
    pub task_transitions: usize,
    /// Progress numbers or silence clocks written without a state change.
    pub progress_writes: usize,
    pub downgrades_refused: usize,
    /// Conditional writes refused because another run changed the record first.
    pub write_conflicts: usize,
    pub apply_transition: Option<(State, State)>,
    pub sentinel_checked: bool,
    pub claim: Option<ClaimSettlement>,
    pub comments: CommentReport,
    /// Tern could not be asked; tasks were left as they were.
    pub tern_error: Option<String>,
    /// Keeping the progress comment current failed (it is retried next round).
    pub comment_error: Option<String>,
}

impl ReconcileReport {
    fn new(apply: &Apply) -> Self {
        ReconcileReport {
            apply_id: apply.id.clone(),
            state: apply.state,
            task_transitions: 0,
            progress_writes: 0,
            downgrades_refused: 0,
            write_conflicts: 0,
            apply_transition: None,
            sentinel_checked: false,
            claim: None,
            comments: CommentReport::default(),
            tern_error: None,
            comment_error: None,
        }
    }

    /// Whether the apply has ended (its poll chain stops).
    pub fn is_terminal(&self) -> bool {
        self.state.is_terminal()
    }
}

/// How a cutover claim with an unknown Tern outcome was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimSettlement {
    /// The sentinel is gone: the claimed cutover happened; the apply moved to `cutting_over`.
    CutoverHappened,
    /// The sentinel is still there long after the claim: the claim was released.
    Released,
    /// The sentinel is still there; the claim's command may still be retrying.
    Waiting,
}

/// The claim of `apply` if its outcome should now be judged from evidence (pure).
pub fn claim_to_settle(apply: &Apply, now: DateTime<Utc>) -> Option<&CutoverClaim> {
    let waiting = matches!(apply.state, State::WaitingForCutover | State::Recovering);
    apply
        .claim
        .as_ref()
        .filter(|claim| waiting && now - claim.claimed_at >= CLAIM_OUTCOME_UNKNOWN_AFTER)
}

/// What the sentinel says about a claim of age `age` (pure).
pub fn settle_claim(age: TimeDelta, evidence: SentinelEvidence) -> ClaimSettlement {
    match evidence {
        SentinelEvidence::Absent => ClaimSettlement::CutoverHappened,
        SentinelEvidence::Present if age >= CLAIM_RELEASE_AFTER => ClaimSettlement::Released,
        SentinelEvidence::Present => ClaimSettlement::Waiting,
    }
}

/// Reconciles the apply `apply_id` (loads it first).
pub async fn reconcile(
    worker: &Worker,
    apply_id: &ApplyId,
) -> Result<ReconcileReport, ProgressError> {
    let snapshot = worker
        .store
        .load_apply(apply_id)
        .await?
        .ok_or_else(|| ProgressError::ApplyNotFound(apply_id.clone()))?;
    reconcile_snapshot(worker, snapshot).await
}

/// Reconciles an apply from a snapshot just loaded.
pub async fn reconcile_snapshot(
    worker: &Worker,
    snapshot: ApplySnapshot,
) -> Result<ReconcileReport, ProgressError> {
    let span = tracing::info_span!("reconcile", apply_id = %snapshot.apply.id);
    let ApplySnapshot {
        apply,
        tasks,
        comments,
        ..
    } = snapshot;
    let round = Round {
        worker,
        now: Utc::now(),
        sentinel: SentinelMemo::for_apply(&apply),
        report: ReconcileReport::new(&apply),
    };
    // Boxed: the round's future is deep, and the sweep nests many of them.
    Box::pin(round.run(apply, tasks, comments).instrument(span)).await
}

/// What is known about the apply's sentinel in this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SentinelMemo {
    /// Not MySQL/Spirit: there is no sentinel to judge by.
    NoMechanism,
    NotChecked,
    Checked(SentinelEvidence),
    /// The check failed this round; states that depend on it are kept.
    Unavailable,
}

impl SentinelMemo {
    fn for_apply(apply: &Apply) -> Self {
        if apply.database_type.eq_ignore_ascii_case("mysql") {
            SentinelMemo::NotChecked
        } else {
            SentinelMemo::NoMechanism
        }
    }

    fn for_decision(self) -> Sentinel {
        match self {
            SentinelMemo::NoMechanism => Sentinel::NoMechanism,
            SentinelMemo::NotChecked | SentinelMemo::Unavailable => Sentinel::NotChecked,
            SentinelMemo::Checked(evidence) => Sentinel::Checked(evidence),
        }
    }
}

struct Round<'a> {
    worker: &'a Worker,
    now: DateTime<Utc>,
    sentinel: SentinelMemo,
    report: ReconcileReport,
}

impl Round<'_> {
    async fn run(
        mut self,
        apply: Apply,
        mut tasks: Vec<Task>,
        comments: Vec<CommentRecord>,
    ) -> Result<ReconcileReport, ProgressError> {
        let worker = self.worker;
        if apply.state.is_terminal() {
            // Ended by an earlier round (or another path): only its comments may be unfinished.
            self.report.comments =
                comments::finish_terminal(worker, &apply, &tasks, &comments, self.now).await?;
            locks::release_on_end(worker, &apply, apply.state, self.now).await?;
            return Ok(self.report);
        }
        match worker.tern.progress(&tern_target(&apply)).await {
            Ok(progress) => self.reconcile_tasks(&apply, &mut tasks, &progress).await?,
            Err(error) => {
                errors::tern_failed();
                tracing::warn!(%error, "Tern Progress failed; tasks kept as they are");
                self.report.tern_error = Some(error.to_string());
            }
        }

        let derived = derive_apply_state(tasks.iter().map(|t| t.state));
        let apply = if derived.is_terminal()
            && derived != apply.state
            && is_allowed(apply.state, derived)
        {
            let update = ApplyUpdate::new(&apply, derived, &tasks, self.now);
            // The summary first: the terminal state takes the apply out of the `active` index
            // (and stops its poll chain), so it is stored only once the comments are done.
            let ended = update.applied_to(&apply);
            self.report.comments =
                comments::finish_terminal(worker, &ended, &tasks, &comments, self.now).await?;
            // Then the lock, still before the state: a failure here is retried by the next
            // round, which only happens while the apply is active.
            locks::release_on_end(worker, &ended, derived, self.now).await?;
            self.transition_apply(apply, update).await?
        } else {
            let apply = self.advance_apply(apply, derived, &tasks).await?;
            let apply = self.settle_claim(apply).await?;
            match comments::refresh_progress(worker, &apply, &tasks, &comments, self.now).await {
                Ok(report) => self.report.comments = report,
                Err(error) => {
                    tracing::warn!(%error, "could not update the progress comment; next round retries");
                    self.report.comment_error = Some(error.to_string());
                }
            }
            apply
        };
        self.report.state = apply.state;
        Ok(self.report)
    }

    fn context(&self) -> ReconcileContext {
        ReconcileContext {
            now: self.now,
            silence_grace: TimeDelta::from_std(self.worker.config.abandon_grace)
                .unwrap_or(TimeDelta::MAX),
            sentinel: self.sentinel.for_decision(),
        }
    }

    /// The sentinel evidence for this apply, checked at most once per round.
    async fn sentinel_evidence(&mut self, apply: &Apply) -> Option<SentinelEvidence> {
        match self.sentinel {
            SentinelMemo::Checked(evidence) => return Some(evidence),
            SentinelMemo::NoMechanism | SentinelMemo::Unavailable => return None,
            SentinelMemo::NotChecked => {}
        }
        self.report.sentinel_checked = true;
        let checked = self
            .worker
            .sentinel
            .sentinel_present_for(
                &self.worker.dsns,
                &apply.deployment,
                apply.environment.as_str(),
                &apply.target_schema,
            )
            .await;
        self.sentinel = match checked {
            Ok(true) => SentinelMemo::Checked(SentinelEvidence::Present),
            Ok(false) => SentinelMemo::Checked(SentinelEvidence::Absent),
            Err(error) => {
                tracing::warn!(%error, schema = %apply.target_schema, "sentinel check failed; states that depend on it are kept");
                SentinelMemo::Unavailable
            }
        };
        match self.sentinel {
            SentinelMemo::Checked(evidence) => Some(evidence),
            _ => None,
        }
    }

    async fn reconcile_tasks(
        &mut self,
        apply: &Apply,
        tasks: &mut [Task],
        progress: &ProgressReport,
    ) -> Result<(), ProgressError> {
        for task in tasks.iter_mut() {
            let observation = engine::observe(progress, apply, task);
            let mut decision = decide(task, &observation, &self.context());
            if decision == Decision::NeedSentinel {
                let Some(evidence) = self.sentinel_evidence(apply).await else {
                    continue;
                };
                let context = ReconcileContext {
                    sentinel: Sentinel::Checked(evidence),
                    ..self.context()
                };
                decision = decide(task, &observation, &context);
            }
            self.write_decision(apply, task, decision).await?;
        }
        Ok(())
    }

    async fn write_decision(
        &mut self,
        apply: &Apply,
        task: &mut Task,
        decision: Decision,
    ) -> Result<(), ProgressError> {
        match decision {
            Decision::Keep {
                progress,
                engine_silent_since,
                reason,
            } => {
                if let KeepReason::UnknownEngineState(raw) = &reason {
                    tracing::warn!(task_id = %task.task_id, reported = %raw, "engine reported a state we do not know; task kept");
                }
                let silence_changed = engine_silent_since != task.engine_silent_since;
                if progress.is_none() && !silence_changed {
                    return Ok(());
                }
                let mut changes = match &progress {
                    Some(progress) => TaskChanges::default().with_progress(progress),
                    None => TaskChanges::default(),
                };
                if silence_changed {
                    changes.engine_silent_since = match engine_silent_since {
                        Some(since) => Change::Set(since),
                        None => Change::Clear,
                    };
                }
                match self
                    .worker
                    .store
                    .update_task_progress(task, &changes)
                    .await?
                {
                    WriteOutcome::Written(written) => {
                        *task = written;
                        self.report.progress_writes += 1;
                    }
                    WriteOutcome::ConditionFailed { current } => self.lost_race(task, current),
                }
            }
            Decision::Transition(transition) => {
                self.transition_task(apply, task, transition).await?
            }
            Decision::RefuseDowngrade { reported } => {
                metrics::record_refused_downgrade(&apply.id, &task.task_id, task.state, reported);
                self.report.downgrades_refused += 1;
            }
            // Only returned before the sentinel was checked; the check failed: keep.
            Decision::NeedSentinel => {}
        }
        Ok(())
    }

    async fn transition_task(
        &mut self,
        apply: &Apply,
        task: &mut Task,
        transition: Transition,
    ) -> Result<(), ProgressError> {
        let to = transition.to;
        let mut changes = match &transition.progress {
            Some(progress) => TaskChanges::default().with_progress(progress),
            None => TaskChanges::default(),
        };
        if let Some(message) = &transition.error_message {
            changes.error_message = Change::Set(message.clone());
        }
        if task.started_at.is_none() && to != State::Pending {
            changes.started_at = Change::Set(self.now);
        }
        if to.is_terminal() && task.completed_at.is_none() {
            changes.completed_at = Change::Set(self.now);
        }
        if task.engine_silent_since.is_some() {
            changes.engine_silent_since = Change::Clear;
        }
        let event = AuditEvent {
            apply_id: apply.id.clone(),
            at: self.now,
            event: "state_transition".into(),
            actor: ACTOR.into(),
            delivery_id: None,
            from_state: Some(transition.from),
            to_state: Some(to),
            outcome: reason_name(transition.reason).into(),
            message: Some(format!(
                "{} ({}): {}",
                task.table,
                task.task_id,
                reason_text(&transition)
            )),
        };
        tracing::info!(task_id = %task.task_id, from = %transition.from, %to, reason = reason_name(transition.reason), "task transition");
        match self
            .worker
            .store
            .transition_task(task, to, &changes, &event)
            .await?
        {
            WriteOutcome::Written(written) => {
                *task = written;
                self.report.task_transitions += 1;
            }
            WriteOutcome::ConditionFailed { current } => self.lost_race(task, current),
        }
        Ok(())
    }

    /// Someone else changed the task since we read it: go on with their version.
    fn lost_race(&mut self, task: &mut Task, current: Option<Task>) {
        tracing::info!(task_id = %task.task_id, "task changed concurrently; the next round re-reads it");
        self.report.write_conflicts += 1;
        if let Some(current) = current {
            *task = current;
        }
    }

    /// Moves the apply to the state its tasks now give, if that is a forward move. A cutover the
    /// engine (or the sentinel) shows as happening settles a held claim with its command id.
    async fn advance_apply(
        &mut self,
        apply: Apply,
        derived: State,
        tasks: &[Task],
    ) -> Result<Apply, ProgressError> {
        if derived == apply.state {
            return Ok(apply);
        }
        let waiting = matches!(apply.state, State::WaitingForCutover | State::Recovering);
        if derived == State::CuttingOver && waiting {
            if let Some(claim) = apply.claim.clone() {
                let message = format!(
                    "the engine shows the cutover claimed by {} happening",
                    claim.command_id
                );
                return self
                    .mark_cut_over(apply, &claim, "engine_reported", message)
                    .await;
            }
        }
        if !is_allowed(apply.state, derived) {
            // E.g. `cutting_over` (set by the cutover command) while the tasks still wait:
            // the apply is ahead of what Tern reported so far. Never moved back.
            tracing::debug!(stored = %apply.state, %derived, "apply state kept (not a forward move)");
            return Ok(apply);
        }
        let update = ApplyUpdate::new(&apply, derived, tasks, self.now);
        self.transition_apply(apply, update).await
    }

    async fn transition_apply(
        &mut self,
        apply: Apply,
        update: ApplyUpdate,
    ) -> Result<Apply, ProgressError> {
        let to = update.to;
        let event = AuditEvent {
            apply_id: apply.id.clone(),
            at: self.now,
            event: "state_transition".into(),
            actor: ACTOR.into(),
            delivery_id: None,
            from_state: Some(apply.state),
            to_state: Some(to),
            outcome: "derived_from_tasks".into(),
            message: update.error_message.clone(),
        };
        tracing::info!(from = %apply.state, %to, "apply transition");
        match self
            .worker
            .store
            .transition_apply(&apply, to, &update.changes(), &event)
            .await?
        {
            WriteOutcome::Written(written) => {
                self.report.apply_transition = Some((apply.state, to));
                Ok(written)
            }
            WriteOutcome::ConditionFailed { current } => {
                tracing::info!("apply changed concurrently; the next round re-reads it");
                self.report.write_conflicts += 1;
                Ok(current.unwrap_or(apply))
            }
        }
    }

    /// A claim older than [`CLAIM_OUTCOME_UNKNOWN_AFTER`] on a waiting/recovering apply: the
    /// sentinel tells whether its cutover happened.
    async fn settle_claim(&mut self, apply: Apply) -> Result<Apply, ProgressError> {
        let Some(claim) = claim_to_settle(&apply, self.now).cloned() else {
            return Ok(apply);
        };
        let Some(evidence) = self.sentinel_evidence(&apply).await else {
            return Ok(apply);
        };
        let age = self.now - claim.claimed_at;
        let settlement = settle_claim(age, evidence);
        self.report.claim = Some(settlement);
        match settlement {
            ClaimSettlement::Waiting => Ok(apply),
            ClaimSettlement::CutoverHappened => {
                let message = format!(
                    "claim of {} settled from evidence: the sentinel is gone, so its cutover took effect",
                    claim.command_id
                );
                self.mark_cut_over(apply, &claim, "sentinel_absent", message)
                    .await
            }
            ClaimSettlement::Released => {
                let event = AuditEvent {
                    apply_id: apply.id.clone(),
                    at: self.now,
                    event: "claim_released".into(),
                    actor: ACTOR.into(),
                    delivery_id: None,
                    from_state: Some(apply.state),
                    to_state: None,
                    outcome: "sentinel_present".into(),
                    message: Some(format!(
                        "claim of {} by {} released after {} min: the sentinel is still there, so its cutover never happened",
                        claim.command_id,
                        claim.actor,
                        age.num_minutes()
                    )),
                };
                tracing::warn!(command_id = %claim.command_id, "releasing a stale cutover claim");
                match self
                    .worker
                    .store
                    .release_claim(&apply.id, &claim.command_id, &event)
                    .await?
                {
                    WriteOutcome::Written(()) => Ok(Apply {
                        claim: None,
                        version: apply.version + 1,
                        ..apply
                    }),
                    WriteOutcome::ConditionFailed { current } => Ok(current.unwrap_or(apply)),
                }
            }
        }
    }

    /// Records the claimed cutover as happened (no comment: the command posts its own when it
    /// comes back; the audit event says how it was settled).
    async fn mark_cut_over(
        &mut self,
        apply: Apply,
        claim: &CutoverClaim,
        outcome: &str,
        message: String,
    ) -> Result<Apply, ProgressError> {
        let event = AuditEvent {
            apply_id: apply.id.clone(),
            at: self.now,
            event: "cutover_settled".into(),
            actor: ACTOR.into(),
            delivery_id: None,
            from_state: Some(apply.state),
            to_state: Some(State::CuttingOver),
            outcome: outcome.into(),
            message: Some(message),
        };
        tracing::info!(command_id = %claim.command_id, outcome, "claimed cutover settled as happened");
        match self
            .worker
            .store
            .mark_cutting_over(
                &apply.id,
                &claim.command_id,
                &claim.actor,
                self.now,
                None,
                &event,
            )
            .await?
        {
            WriteOutcome::Written(()) => {
                self.report.apply_transition = Some((apply.state, State::CuttingOver));
                self.report.claim = Some(ClaimSettlement::CutoverHappened);
                Ok(Apply {
                    state: State::CuttingOver,
                    version: apply.version + 1,
                    cutover_triggered_by: Some(claim.actor.clone()),
                    cutover_triggered_at: Some(self.now),
                    ..apply
                })
            }
            WriteOutcome::ConditionFailed { current } => {
                self.report.write_conflicts += 1;
                Ok(current.unwrap_or(apply))
            }
        }
    }
}

/// The fields an apply transition sets besides its state.
#[derive(Debug, Clone)]
struct ApplyUpdate {
    to: State,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    error_message: Option<String>,
}

impl ApplyUpdate {
    fn new(apply: &Apply, to: State, tasks: &[Task], now: DateTime<Utc>) -> Self {
        let failed_task_error = || {
            tasks
                .iter()
                .filter(|t| t.state == State::Failed)
                .find_map(|t| t.error_message.clone())
        };
        ApplyUpdate {
            to,
            started_at: (apply.started_at.is_none() && to != State::Pending).then_some(now),
            completed_at: (to.is_terminal() && apply.completed_at.is_none()).then_some(now),
            error_message: (to == State::Failed).then(failed_task_error).flatten(),
        }
    }

    fn changes(&self) -> ApplyChanges {
        let set = |value: &Option<DateTime<Utc>>| value.map_or(Change::Keep, Change::Set);
        ApplyChanges {
            started_at: set(&self.started_at),
            completed_at: set(&self.completed_at),
            error_message: self.error_message.clone().map_or(Change::Keep, Change::Set),
        }
    }

    /// The apply as it will be stored after this update (what the summary renders).
    fn applied_to(&self, apply: &Apply) -> Apply {
        Apply {
            state: self.to,
            started_at: self.started_at.or(apply.started_at),
            completed_at: self.completed_at.or(apply.completed_at),
            error_message: self
                .error_message
                .clone()
                .or_else(|| apply.error_message.clone()),
            ..apply.clone()
        }
    }
}

fn tern_target(apply: &Apply) -> TernTarget {
    TernTarget {
        deployment: apply.deployment.clone(),
        environment: apply.environment.to_string(),
        tern_apply_id: apply.tern_apply_id.clone(),
        database: apply.database.to_string(),
        database_type: apply.database_type.clone(),
    }
}

fn reason_name(reason: TransitionReason) -> &'static str {
    match reason {
        TransitionReason::EngineReported => "engine_reported",
        TransitionReason::SentinelPresent => "sentinel_present",
        TransitionReason::SentinelAbsent => "sentinel_absent",
        TransitionReason::Abandoned => "abandoned",
        TransitionReason::EngineTerminalNotAllowed { .. } => "engine_terminal_not_allowed",
    }
}

/// The audit message of a task transition (the reference's wording where it has one).
fn reason_text(transition: &Transition) -> String {
    match transition.reason {
        TransitionReason::EngineReported
            if transition.from == State::Recovering
                && transition.to == State::WaitingForCutover =>
        {
            "Recovery complete: engine reached WaitingOnSentinelTable".into()
        }
        TransitionReason::EngineReported => format!("engine reported {}", transition.to),
        TransitionReason::SentinelPresent => {
            "Entering recovery: sentinel table exists but engine not ready".into()
        }
        TransitionReason::SentinelAbsent => {
            "engine lost the change and the sentinel is gone: the cutover already happened".into()
        }
        TransitionReason::Abandoned => ABANDONED_MESSAGE.into(),
        TransitionReason::EngineTerminalNotAllowed { reported } => {
            format!(
                "engine reported {reported}, which cannot follow {}",
                transition.from
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_judged_only_after_its_command_had_time() {
        let young = CLAIM_OUTCOME_UNKNOWN_AFTER - TimeDelta::seconds(1);
        assert_eq!(
            settle_claim(young * 10, SentinelEvidence::Absent),
            ClaimSettlement::CutoverHappened
        );
        assert_eq!(
            settle_claim(CLAIM_OUTCOME_UNKNOWN_AFTER, SentinelEvidence::Present),
            ClaimSettlement::Waiting
        );
        assert_eq!(
            settle_claim(CLAIM_RELEASE_AFTER, SentinelEvidence::Present),
            ClaimSettlement::Released
        );
    }
}
