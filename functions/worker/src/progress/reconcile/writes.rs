//! Writing one task's decision: conditional progress writes and transitions with their audit
//! events, and what a lost race leaves behind.

use super::*;

impl Round<'_> {
    pub(super) async fn write_decision(
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
                let mut changes = progress.as_ref().map_or_else(TaskChanges::default, |p| {
                    TaskChanges::default().with_progress(p)
                });
                if silence_changed {
                    changes.engine_silent_since =
                        engine_silent_since.map_or(Change::Clear, Change::Set);
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
            // Only returned before the evidence was gathered; gathering failed: keep.
            Decision::NeedSentinel | Decision::NeedLiveSchema => {}
        }
        Ok(())
    }

    pub(super) async fn transition_task(
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
            from_state: Some(transition.from),
            to_state: Some(to),
            message: Some(format!(
                "{} ({}): {}",
                task.table,
                task.task_id,
                reason_text(&transition)
            )),
            ..self.event(apply, EventKind::StateTransition, transition.reason.into())
        };
        tracing::info!(task_id = %task.task_id, from = %transition.from, %to, reason = %Outcome::from(transition.reason), "task transition");
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
    pub(super) fn lost_race(&mut self, task: &mut Task, current: Option<Task>) {
        tracing::info!(task_id = %task.task_id, "task changed concurrently; the next round re-reads it");
        self.report.write_conflicts += 1;
        if let Some(current) = current {
            *task = current;
        }
    }
}

/// The audit message of a task transition.
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
        TransitionReason::CutoverAccepted => {
            "engine lost the change after Tern accepted its cutover: cutting over when it resumes"
                .into()
        }
        TransitionReason::VerifiedLive => {
            "engine lost the change and the sentinel is gone; the desired schema is live: completed"
                .into()
        }
        TransitionReason::LiveSchemaDiffers => {
            "engine lost the change and the sentinel is gone, but the live schema differs: failed, needs a person"
                .into()
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
