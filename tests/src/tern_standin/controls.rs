//! The handle's controls: restart and resume, pace and faults, forced reports, counts and phases.

use std::time::{Duration, Instant};

use super::config::{CopyPace, StandinError};
use super::handle::TernStandinHandle;
use super::model::{Outcome, SimApply, StandinPhase};
use super::report::ForcedReport;
use super::state::TernCallCounts;

impl TernStandinHandle {
    /// Simulates a Tern/Spirit restart: every in-flight migration forgets its in-memory state.
    /// Tern's storage (applies, checkpoints) and the tables in MariaDB — including
    /// `_spirit_sentinel` — stay.
    pub fn restart(&self) {
        let now = Instant::now();
        let mut sim = self.shared.sim();
        for apply in sim.applies.iter_mut() {
            if apply.outcome == Outcome::Active {
                apply.engine = None;
                apply.engine_lost_at = Some(now);
            }
        }
    }

    /// Tern resumes `apply_id` from Spirit's checkpoint: the copy continues where it was; once
    /// copied, the apply waits again if the sentinel still exists, otherwise it cuts over.
    pub fn resume(&self, apply_id: &str) -> Result<(), StandinError> {
        let mut sim = self.shared.sim();
        let apply = sim
            .find_mut(apply_id)
            .ok_or_else(|| StandinError::UnknownApply(apply_id.to_string()))?;
        if apply.outcome != Outcome::Active {
            return Err(StandinError::NotResumable {
                apply_id: apply_id.to_string(),
                reason: format!("it is {:?}", apply.phase()),
            });
        }
        if apply.engine.is_none() {
            apply.resume_engine(Instant::now());
        }
        Ok(())
    }

    /// [`TernStandinHandle::resume`] for every apply that lost its engine state.
    pub fn resume_all(&self) {
        let now = Instant::now();
        let mut sim = self.shared.sim();
        for apply in sim.applies.iter_mut() {
            if apply.outcome == Outcome::Active && apply.engine.is_none() {
                apply.resume_engine(now);
            }
        }
    }

    /// Copies `rows` more rows of every table of `apply_id`, or finishes its cut-over if one is
    /// running. The resulting state is reported by the next RPC.
    pub fn advance(&self, apply_id: &str, rows: i64) -> Result<(), StandinError> {
        let mut sim = self.shared.sim();
        let apply = sim
            .find_mut(apply_id)
            .ok_or_else(|| StandinError::UnknownApply(apply_id.to_string()))?;
        apply.step(rows);
        Ok(())
    }

    /// Copies every table of `apply_id` to the end.
    pub fn finish_copy(&self, apply_id: &str) -> Result<(), StandinError> {
        self.advance(apply_id, i64::MAX)
    }

    /// Latency added to every RPC before it is processed.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.sim().delay = delay;
    }

    pub fn set_pace(&self, pace: CopyPace) {
        self.shared.sim().pace = pace;
    }

    /// The next `n` RPCs fail with `Unavailable` without reaching the simulated Tern.
    pub fn fail_next(&self, n: u32) {
        self.shared.sim().fail_next = n;
    }

    /// The next `n` PlanDiff calls answer `Unavailable` (other RPCs are served).
    pub fn fail_plan_diff(&self, n: u32) {
        self.shared.sim().fail_plan_diff = n;
    }

    /// The next `n` Progress calls answer `Unavailable` (other RPCs are served).
    pub fn fail_next_progress(&self, n: u32) {
        self.shared.sim().fail_progress = n;
    }

    /// The next `n` RPCs are processed (their effects happen) but answer `Unavailable`, as if
    /// the response was lost on the way back.
    /// The next Cutover is answered `accepted = false` with `message`, changing nothing.
    pub fn force_refusal_of_next_cutover(&self, message: &str) {
        self.shared.sim().refuse_next_cutover = Some(message.to_string());
    }

    pub fn lose_next_responses(&self, n: u32) {
        self.shared.sim().lose_next = n;
    }

    /// Reports `report` for `apply_id` from now on, until [`TernStandinHandle::clear_forced_report`].
    pub fn force_report(&self, apply_id: &str, report: ForcedReport) {
        self.shared
            .sim()
            .forced
            .insert(apply_id.to_ascii_lowercase(), report);
    }

    /// Reports the simulation's own view of `apply_id` again.
    pub fn clear_forced_report(&self, apply_id: &str) {
        self.shared
            .sim()
            .forced
            .remove(&apply_id.to_ascii_lowercase());
    }

    /// Clears delay and pending injected failures.
    pub fn clear_faults(&self) {
        let mut sim = self.shared.sim();
        sim.delay = Duration::ZERO;
        sim.fail_next = 0;
        sim.lose_next = 0;
        sim.fail_progress = 0;
    }

    pub fn counts(&self) -> TernCallCounts {
        self.shared.sim().counts
    }

    /// Cutover calls that reached Tern.
    pub fn cutover_calls(&self) -> u64 {
        self.counts().cutover
    }

    /// Cutover calls answered `accepted = true`.
    pub fn cutovers_accepted(&self) -> u64 {
        self.counts().cutover_accepted
    }

    pub fn progress_calls(&self) -> u64 {
        self.counts().progress
    }

    pub fn apply_calls(&self) -> u64 {
        self.counts().apply
    }

    /// The simulation's view of an apply (not settled: the next RPC may move it on).
    pub fn phase(&self, apply_id: &str) -> Option<StandinPhase> {
        self.shared.sim().find(apply_id).map(SimApply::phase)
    }

    /// Ids of all applies, oldest first.
    pub fn apply_ids(&self) -> Vec<String> {
        self.shared
            .sim()
            .applies
            .iter()
            .map(|a| a.apply_id.clone())
            .collect()
    }
}
