//! Asking Tern, at most once at a time per apply and control: the request record first, then the
//! call, then the answer recorded; the apply's state and progress comment follow from Tern's
//! report (reconciled at once).

use super::ControlRun;
use crate::errors;
use crate::jobs::lock_common::display_time;
use crate::outcome::JobError;
use chrono::{TimeDelta, Utc};
use schemabot_aws::store::{
    ApplyChanges, ControlAnswer, ControlRequest, ControlStatus, TaskChanges,
};
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{Apply, AuditEvent};
use schemabot_domain::audit::EventKind;
use schemabot_domain::control::{decide_control, ControlDecision, ControlOp};
use schemabot_domain::state::transition::is_allowed;
use schemabot_domain::State;
use schemabot_render::{ControlReply, CutoverTarget};
use schemabot_tern::{Control, ControlOutcome, TernTarget};

/// How long a request's call counts as in flight: well past Tern's request timeout.
const CALL_IN_FLIGHT: TimeDelta = TimeDelta::seconds(30);

fn tern_control(op: ControlOp) -> Control {
    match op {
        ControlOp::Stop => Control::Stop,
        ControlOp::Start => Control::Start,
        ControlOp::Cancel => Control::Cancel,
        ControlOp::Revert => Control::Revert,
        ControlOp::SkipRevert => Control::SkipRevert,
    }
}

impl ControlRun<'_> {
    /// The reply to a command Tern already answered (a redelivery, or the same message twice):
    /// the same reply as the first attempt's, whatever the apply's state is by now.
    pub(super) async fn answered_before(
        &self,
        apply: &Apply,
    ) -> Result<Option<ControlReply>, JobError> {
        let request = self
            .cmd
            .worker
            .store
            .get_control(&apply.id, self.job.op)
            .await
            .map_err(errors::store)?;
        Ok(request
            .filter(|request| request.command_id == self.cmd.job_id)
            .and_then(|request| request.answer)
            .map(|answer| self.answered(CutoverTarget::of(apply), answer)))
    }

    pub(super) async fn execute(&self, apply: &Apply) -> Result<ControlReply, JobError> {
        let op = self.job.op;
        let target = CutoverTarget::of(apply);
        let now = Utc::now();
        let request = ControlRequest {
            apply_id: apply.id.clone(),
            op,
            command_id: self.cmd.job_id.to_string(),
            requested_by: self.cmd.actor_id(),
            requested_at: now,
            status: ControlStatus::Pending,
            answer: None,
        };
        let stale = now - CALL_IN_FLIGHT;
        // Another command's request whose call is over, which Tern's report says to ask again.
        let mut replacing: Option<String> = None;
        loop {
            match self
                .cmd
                .worker
                .store
                .begin_control(&request, stale, replacing.as_deref())
                .await
                .map_err(errors::store)?
            {
                WriteOutcome::Written(_) => break,
                WriteOutcome::ConditionFailed { current: None } => {
                    return Err(JobError::transient("the control request changed meanwhile"));
                }
                WriteOutcome::ConditionFailed {
                    current: Some(current),
                } if current.command_id != self.cmd.job_id => {
                    if current.status == ControlStatus::Pending || replacing.is_some() {
                        // Someone else asked first and Tern has not answered yet (or someone
                        // else asked again just now).
                        return Ok(ControlReply::AlreadyRequested {
                            op,
                            target,
                            by: display_actor(&current.requested_by),
                        });
                    }
                    // Another command asked before and its call is over. The apply this
                    // command decided from may predate that answer: Tern's report decides.
                    if let Some(reply) = self.decided_by_tern(apply, &target).await {
                        return Ok(reply);
                    }
                    replacing = Some(current.command_id);
                }
                WriteOutcome::ConditionFailed {
                    current: Some(current),
                } => {
                    // This command asked before (a redelivery, or the same message twice).
                    match current.status {
                        ControlStatus::Pending if current.requested_at >= stale => {
                            return Err(JobError::transient(
                                "another attempt of this command is asking Tern",
                            ));
                        }
                        ControlStatus::Answered => {
                            // Tern answered; the reply the first attempt posted stands (posted
                            // once by its marker).
                            let answer = current.answer.unwrap_or(ControlAnswer::Accepted {
                                resume_deadline: None,
                            });
                            return Ok(self.answered(target, answer));
                        }
                        ControlStatus::Pending | ControlStatus::Unknown => {
                            if self.tern_already_there(apply).await {
                                let answer = ControlAnswer::Accepted {
                                    resume_deadline: None,
                                };
                                self.record_answer(apply, &answer).await?;
                                return Ok(self.answered(target, answer));
                            }
                            let retried = self
                                .cmd
                                .worker
                                .store
                                .retry_control(&apply.id, op, self.cmd.job_id, Utc::now(), stale)
                                .await
                                .map_err(errors::store)?;
                            if !retried {
                                return Err(JobError::transient(
                                    "another attempt of this command is asking Tern",
                                ));
                            }
                            break;
                        }
                    }
                }
            }
        }
        self.call_tern(apply, target).await
    }

    async fn call_tern(
        &self,
        apply: &Apply,
        target: CutoverTarget,
    ) -> Result<ControlReply, JobError> {
        let op = self.job.op;
        let answer = match self
            .cmd
            .worker
            .tern
            .control(tern_control(op), &TernTarget::for_apply(apply))
            .await
        {
            Ok(ControlOutcome::Accepted { resume_deadline }) => ControlAnswer::Accepted {
                resume_deadline: resume_deadline.map(|d| display_deadline(&d)),
            },
            Ok(ControlOutcome::NotAccepted { message }) => ControlAnswer::NotAccepted { message },
            Err(error) => {
                if let Err(store_error) = self
                    .cmd
                    .worker
                    .store
                    .unknown_control(&apply.id, op, self.cmd.job_id)
                    .await
                {
                    tracing::warn!(%store_error, "could not mark the control call ended");
                }
                let retry = !self.cmd.attempt.is_final();
                let error = errors::tern(error, &format!("Tern {op}"), retry)?;
                return Ok(ControlReply::Failed {
                    op,
                    target,
                    error: error.to_string(),
                });
            }
        };
        self.record_answer(apply, &answer).await?;
        Ok(self.answered(target, answer))
    }

    /// Records Tern's answer, then brings the apply and its progress comment in step with
    /// Tern's report (best effort: the poll chain and the sweep do it otherwise).
    async fn record_answer(&self, apply: &Apply, answer: &ControlAnswer) -> Result<(), JobError> {
        self.cmd
            .worker
            .store
            .answer_control(&apply.id, self.job.op, self.cmd.job_id, answer)
            .await
            .map_err(errors::store)?;
        if matches!(answer, ControlAnswer::Accepted { .. })
            && matches!(self.job.op, ControlOp::Stop | ControlOp::Start)
        {
            self.enter_state(apply, self.job.op.leads_to()).await;
        }
        if let Err(error) = self.cmd.worker.reconcile_apply(&apply.id).await {
            tracing::warn!(%error, "could not reconcile the apply after the control; the poll will");
        }
        Ok(())
    }

    /// Writes the state a stop or start Tern accepted on the apply and its tasks. Polling
    /// cannot: it never moves a task back (a stop while waiting for cutover), and a stopped
    /// change resumes only through `running`. Best effort, re-read on a concurrent write; the
    /// reconciliation that follows carries on from there.
    async fn enter_state(&self, apply: &Apply, to: State) {
        for _ in 0..3 {
            match self.try_enter_state(apply, to).await {
                Ok(true) => return,
                Ok(false) => continue,
                Err(error) => {
                    tracing::warn!(%error, %to, "could not record the control's state");
                    return;
                }
            }
        }
        tracing::warn!(%to, "the apply kept changing; the control's state is left to the poll");
    }

    /// `Ok(false)`: a concurrent write won; read again.
    async fn try_enter_state(
        &self,
        apply: &Apply,
        to: State,
    ) -> Result<bool, schemabot_aws::StoreError> {
        let Some(snapshot) = self.cmd.worker.store.load_snapshot(&apply.id).await? else {
            return Ok(true);
        };
        // The state follows from Tern's answer, as when the poll writes it; who asked is on
        // the command's own `<op>_requested` event (the one a CLI caller reads back).
        let event = |from: State| AuditEvent {
            apply_id: apply.id.clone(),
            at: Utc::now(),
            event: EventKind::StateTransition,
            actor: "schemabot".into(),
            delivery_id: None,
            from_state: Some(from),
            to_state: Some(to),
            outcome: self.job.op.accepted_outcome(),
            message: Some(format!("requested by {}", self.cmd.actor_id())),
        };
        for task in snapshot.tasks.iter().filter(|t| is_allowed(t.state, to)) {
            let written = self
                .cmd
                .worker
                .store
                .transition_task(task, to, &TaskChanges::default(), &event(task.state))
                .await?;
            if !written.is_written() {
                return Ok(false);
            }
        }
        let current = snapshot.apply;
        if !is_allowed(current.state, to) {
            return Ok(true);
        }
        let written = self
            .cmd
            .worker
            .store
            .transition_apply(
                &current,
                to,
                &ApplyChanges::default(),
                &event(current.state),
            )
            .await?;
        Ok(written.is_written())
    }

    /// The state Tern reports for `apply`; `None` when its report is unavailable (logged as
    /// `while`) or names no state.
    async fn tern_state(&self, apply: &Apply, while_: &str) -> Option<State> {
        let target = TernTarget::for_apply(apply);
        match self.cmd.worker.tern.progress(&target).await {
            Ok(report) => report.state.state(),
            Err(error) => {
                tracing::info!(%error, "Tern Progress unavailable {while_}");
                None
            }
        }
    }

    /// Whether Tern already reports the state the control leads to (an earlier call worked).
    async fn tern_already_there(&self, apply: &Apply) -> bool {
        let state = self.tern_state(apply, "while settling a control").await;
        state == Some(self.job.op.leads_to())
    }

    /// [`decide_control`] on the state Tern reports now: `None` to ask Tern (also when its
    /// report is unavailable: Tern refuses what its state does not allow), or the reply.
    async fn decided_by_tern(&self, apply: &Apply, target: &CutoverTarget) -> Option<ControlReply> {
        let state = self.tern_state(apply, "before asking again").await?;
        self.decided(target.clone(), state)
    }

    /// [`decide_control`] in `state`: `None` to go ahead, or the reply.
    pub(super) fn decided(&self, target: CutoverTarget, state: State) -> Option<ControlReply> {
        let op = self.job.op;
        match decide_control(op, state) {
            ControlDecision::Proceed => None,
            ControlDecision::AlreadyDone => Some(ControlReply::AlreadyDone { op, target, state }),
            ControlDecision::Refuse(refusal) => Some(ControlReply::Refused {
                op,
                target,
                refusal,
                state,
            }),
        }
    }

    /// The reply to Tern's answer.
    fn answered(&self, target: CutoverTarget, answer: ControlAnswer) -> ControlReply {
        match answer {
            ControlAnswer::Accepted { resume_deadline } => ControlReply::Accepted {
                op: self.job.op,
                target,
                requested_by: Some(display_actor(&self.cmd.actor_id())),
                resume_deadline,
            },
            ControlAnswer::NotAccepted { message } => ControlReply::NotAccepted {
                op: self.job.op,
                target,
                message,
            },
        }
    }
}

/// A stored actor as replies show it.
fn display_actor(actor: &str) -> String {
    match actor.strip_prefix("cli:") {
        Some(identity) => format!("{identity} (SchemaBot CLI)"),
        None => format!("@{actor}"),
    }
}

/// Tern's RFC 3339 deadline as replies show times; as given when it is not one.
fn display_deadline(raw: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(raw).map_or_else(
        |_| raw.to_string(),
        |at| display_time(at.with_timezone(&Utc)),
    )
}
