//! The shared simulation: applies, pace, call counts, fault injection and RPC serialisation.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mysql_async::Pool;
use tonic::{Response, Status};

use super::config::{CopyPace, TernStandinConfig};
use super::model::SimApply;
use super::report::ForcedReport;

/// Calls that reached the simulated Tern (injected failures are counted separately: they
/// never got that far).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TernCallCounts {
    pub plan: u64,
    pub apply: u64,
    pub progress: u64,
    pub cutover: u64,
    /// Cutover calls answered `accepted = true`.
    pub cutover_accepted: u64,
    /// Schema changes Apply started (a repeated idempotency key starts none).
    pub applies_started: u64,
    pub plan_diff: u64,
    pub cancel: u64,
    pub stop: u64,
    pub start: u64,
    pub revert: u64,
    pub skip_revert: u64,
    /// Revert, SkipRevert, Stop, Start, Health (each of the first four also counted above).
    pub other: u64,
    /// Calls refused by [`TernStandinHandle::fail_next`](super::TernStandinHandle::fail_next).
    pub injected_failures: u64,
    /// Calls processed whose answer was replaced by `Unavailable`
    /// ([`TernStandinHandle::lose_next_responses`](super::TernStandinHandle::lose_next_responses)).
    pub lost_responses: u64,
}

pub(super) struct Sim {
    /// Oldest first.
    pub(super) applies: Vec<SimApply>,
    pub(super) pace: CopyPace,
    pub(super) delay: Duration,
    pub(super) fail_next: u32,
    pub(super) lose_next: u32,
    /// The next Cutover is refused with this message, whatever the phase (a policy refusal).
    pub(super) refuse_next_cutover: Option<String>,
    /// PlanDiff calls to answer `Unavailable` (Tern unable to diff).
    pub(super) fail_plan_diff: u32,
    /// Progress calls to answer `Unavailable` without reaching the simulation.
    pub(super) fail_progress: u32,
    pub(super) counts: TernCallCounts,
    /// Forced Progress answers by lower-cased apply id.
    pub(super) forced: HashMap<String, ForcedReport>,
    /// Apply ids by the idempotency key of the request that started them.
    pub(super) by_idempotency_key: HashMap<String, String>,
}

impl Sim {
    pub(super) fn find(&self, apply_id: &str) -> Option<&SimApply> {
        self.applies
            .iter()
            .find(|a| a.apply_id.eq_ignore_ascii_case(apply_id))
    }

    pub(super) fn find_mut(&mut self, apply_id: &str) -> Option<&mut SimApply> {
        self.applies
            .iter_mut()
            .find(|a| a.apply_id.eq_ignore_ascii_case(apply_id))
    }

    /// The apply a request names, or `NOT_FOUND` as Tern answers.
    pub(super) fn target(&self, apply_id: &str) -> Result<String, Status> {
        self.find(apply_id)
            .map(|a| a.apply_id.clone())
            .ok_or_else(|| Status::not_found(format!("apply {apply_id:?} not found")))
    }

    /// The apply a control request names, to change it, or `NOT_FOUND`.
    pub(super) fn target_mut(&mut self, apply_id: &str) -> Result<&mut SimApply, Status> {
        self.find_mut(apply_id)
            .ok_or_else(|| Status::not_found(format!("apply {apply_id:?} not found")))
    }
}

pub(super) struct Shared {
    pub(super) config: TernStandinConfig,
    pub(super) pool: Pool,
    pub(super) sim: Mutex<Sim>,
    /// Serialises RPC processing (like Tern's per-database locking), so concurrent Cutovers
    /// are decided one after the other.
    pub(super) serial: tokio::sync::Mutex<()>,
}

impl Shared {
    pub(super) fn sim(&self) -> MutexGuard<'_, Sim> {
        // A test that panicked while holding the lock leaves consistent data behind.
        self.sim.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fault injection and latency, before an RPC reaches the simulation.
    pub(super) async fn enter(&self) -> Result<(), Status> {
        let delay = {
            let mut sim = self.sim();
            if sim.fail_next > 0 {
                sim.fail_next -= 1;
                sim.counts.injected_failures += 1;
                return Err(Status::unavailable(
                    "tern stand-in: injected unavailability",
                ));
            }
            sim.delay
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(())
    }

    /// Replaces a processed answer by `Unavailable` when a lost response was requested.
    pub(super) fn leave<T>(&self, result: Result<T, Status>) -> Result<Response<T>, Status> {
        let mut sim = self.sim();
        if sim.lose_next > 0 {
            sim.lose_next -= 1;
            sim.counts.lost_responses += 1;
            return Err(Status::unavailable(
                "tern stand-in: response lost after processing (injected)",
            ));
        }
        result.map(Response::new)
    }
}
