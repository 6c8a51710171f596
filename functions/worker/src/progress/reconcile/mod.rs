//! Reconciling one apply: one `load_snapshot`, one Tern Progress, the pure decision per task
//! (`decide`), conditional writes, the derived apply state, the settling of a cutover claim whose
//! Tern outcome is unknown, and the apply's PR comments.
//!
//! Every write is conditional on what was read, so a sweep and a poll reconciling the same
//! apply at once cannot corrupt it: the loser's write is refused and the next round reads the
//! winner's result. `_spirit_sentinel` and the live schema are each checked at most once per
//! apply per round, and only when a decision needs them.

mod claims;
mod evidence;
mod writes;

pub use claims::ClaimSettlement;
use evidence::SentinelMemo;

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
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::state::derive::derive_apply_state;
use schemabot_domain::state::reconcile::{
    decide, Decision, KeepReason, LiveSchema, LiveSchemaEvidence, ReconcileContext, Sentinel,
    SentinelEvidence, Transition, TransitionReason, ABANDONED_MESSAGE,
};
use schemabot_domain::state::transition::is_allowed;
use schemabot_domain::{ApplyId, State};
use schemabot_tern::{proto, schema_files_to_wire, ProgressReport, TernTarget};
use serde::Serialize;
use tracing::Instrument;

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
    /// Tern was asked whether the apply's desired schema is live.
    pub live_schema_checked: bool,
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
            live_schema_checked: false,
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

/// Reconciles the apply `apply_id` (loads it first).
pub async fn reconcile(
    worker: &Worker,
    apply_id: &ApplyId,
) -> Result<ReconcileReport, ProgressError> {
    let snapshot = worker
        .store
        .load_snapshot(apply_id)
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
        live_schema: None,
        cutover_accepted: apply.state == State::CuttingOver,
        report: ReconcileReport::new(&apply),
    };
    // Boxed: the round's future is deep, and the sweep nests many of them.
    Box::pin(round.run(apply, tasks, comments).instrument(span)).await
}

struct Round<'a> {
    worker: &'a Worker,
    now: DateTime<Utc>,
    sentinel: SentinelMemo,
    /// `None` until asked this round; `Some(None)` when Tern could not answer.
    live_schema: Option<Option<LiveSchemaEvidence>>,
    /// The apply records a cutover Tern accepted.
    cutover_accepted: bool,
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
        match worker.tern.progress(&TernTarget::for_apply(&apply)).await {
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

    /// An audit event of this round's own write to `apply` (from its stored state).
    fn event(&self, apply: &Apply, event: EventKind, outcome: Outcome) -> AuditEvent {
        AuditEvent {
            apply_id: apply.id.clone(),
            at: self.now,
            event,
            actor: ACTOR.into(),
            delivery_id: None,
            from_state: Some(apply.state),
            to_state: None,
            outcome,
            message: None,
        }
    }

    fn context(&self) -> ReconcileContext {
        ReconcileContext {
            now: self.now,
            silence_grace: TimeDelta::from_std(self.worker.config.abandon_grace)
                .unwrap_or(TimeDelta::MAX),
            sentinel: self.sentinel.for_decision(),
            live_schema: match &self.live_schema {
                Some(Some(evidence)) => LiveSchema::Checked(evidence.clone()),
                _ => LiveSchema::NotChecked,
            },
            cutover_accepted: self.cutover_accepted,
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
                if self.sentinel_evidence(apply).await.is_none() {
                    continue;
                }
                decision = decide(task, &observation, &self.context());
            }
            if decision == Decision::NeedLiveSchema {
                if self.live_schema_evidence(apply).await.is_none() {
                    continue;
                }
                decision = decide(task, &observation, &self.context());
            }
            self.write_decision(apply, task, decision).await?;
        }
        Ok(())
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
                    .mark_cut_over(apply, &claim, Outcome::EngineReported, message)
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
            to_state: Some(to),
            message: update.error_message.clone(),
            ..self.event(
                &apply,
                EventKind::StateTransition,
                Outcome::DerivedFromTasks,
            )
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
