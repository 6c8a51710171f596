//! Stop, Start, Cancel, Revert and SkipRevert (only while a forced report puts the apply in its
//! revert window: the simulated Spirit has none), and Health.

use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use schemabot_tern::proto;
use tonic::Status;

use super::model::Outcome;
use super::state::{Shared, Sim};

impl Shared {
    pub(super) async fn stop(
        &self,
        request: proto::StopRequest,
    ) -> Result<proto::StopResponse, Status> {
        let _serial = self.serial.lock().await;
        let mut sim = self.sim();
        sim.counts.other += 1;
        sim.counts.stop += 1;
        let apply = sim.target_mut(&request.apply_id)?;
        if apply.outcome != Outcome::Active {
            return Ok(proto::StopResponse {
                error_message: "no active schema change to stop".into(),
                skipped_count: 1,
                ..Default::default()
            });
        }
        // Spirit stops and keeps its checkpoint, resumable within binlog retention.
        apply.outcome = Outcome::Stopped;
        apply.engine = None;
        apply.engine_lost_at = None;
        let deadline = Utc::now() + chrono::TimeDelta::days(7);
        Ok(proto::StopResponse {
            accepted: true,
            error_message: String::new(),
            resume_deadline: deadline.to_rfc3339_opts(SecondsFormat::Secs, true),
            stopped_count: 1,
            skipped_count: 0,
        })
    }

    pub(super) async fn start(
        &self,
        request: proto::StartRequest,
    ) -> Result<proto::StartResponse, Status> {
        let _serial = self.serial.lock().await;
        let mut sim = self.sim();
        sim.counts.other += 1;
        sim.counts.start += 1;
        let apply = sim.target_mut(&request.apply_id)?;
        if apply.outcome != Outcome::Stopped {
            return Ok(proto::StartResponse {
                error_message: "no stopped schema change to start".into(),
                skipped_count: 1,
                ..Default::default()
            });
        }
        apply.outcome = Outcome::Active;
        apply.resume_engine(Instant::now());
        Ok(proto::StartResponse {
            accepted: true,
            error_message: String::new(),
            started_count: 1,
            skipped_count: 0,
        })
    }

    pub(super) async fn cancel(
        &self,
        request: proto::CancelRequest,
    ) -> Result<proto::CancelResponse, Status> {
        let _serial = self.serial.lock().await;
        let (database, defer_cutover) = {
            let mut sim = self.sim();
            sim.counts.cancel += 1;
            let apply = sim.target_mut(&request.apply_id)?;
            if apply.is_terminal() {
                return Ok(proto::CancelResponse {
                    error_message: format!("apply {} has already ended", apply.apply_id),
                    skipped_count: 1,
                    ..Default::default()
                });
            }
            apply.outcome = Outcome::Cancelled;
            apply.completed_at = Some(Utc::now());
            apply.engine = None;
            apply.engine_lost_at = None;
            (apply.database.clone(), apply.defer_cutover)
        };
        // Spirit cleans up after itself: nothing is left waiting on the sentinel.
        if defer_cutover {
            self.drop_sentinel(&database)
                .await
                .map_err(|e| Status::internal(format!("cancel cleanup failed: {e}")))?;
        }
        Ok(proto::CancelResponse {
            accepted: true,
            error_message: String::new(),
            cancelled_count: 1,
            skipped_count: 0,
        })
    }

    /// Revert: accepted only while a forced report shows the apply in its revert window; the
    /// forced report then moves on to `reverting`.
    pub(super) fn revert(
        &self,
        request: proto::RevertRequest,
    ) -> Result<proto::RevertResponse, Status> {
        let mut sim = self.sim();
        sim.counts.other += 1;
        sim.counts.revert += 1;
        let accepted = sim.leave_revert_window(&request.apply_id, proto::State::Reverting)?;
        Ok(proto::RevertResponse {
            accepted,
            error_message: refusal(accepted),
        })
    }

    /// SkipRevert: like [`Shared::revert`], the forced report then shows the change completed.
    pub(super) fn skip_revert(
        &self,
        request: proto::SkipRevertRequest,
    ) -> Result<proto::SkipRevertResponse, Status> {
        let mut sim = self.sim();
        sim.counts.other += 1;
        sim.counts.skip_revert += 1;
        let accepted = sim.leave_revert_window(&request.apply_id, proto::State::Completed)?;
        Ok(proto::SkipRevertResponse {
            accepted,
            error_message: refusal(accepted),
        })
    }

    pub(super) fn health(&self) -> Result<proto::HealthResponse, Status> {
        self.sim().counts.other += 1;
        Ok(proto::HealthResponse {
            status: "SERVING".into(),
        })
    }
}

fn refusal(accepted: bool) -> String {
    if accepted {
        String::new()
    } else {
        "no revert window is open for this apply".into()
    }
}

impl Sim {
    /// Whether `apply_id` is (by a forced report) in its revert window; if so the forced report
    /// moves to `next`, every table with it.
    fn leave_revert_window(&mut self, apply_id: &str, next: proto::State) -> Result<bool, Status> {
        self.target(apply_id)?;
        let Some(forced) = self.forced.get_mut(&apply_id.to_ascii_lowercase()) else {
            return Ok(false);
        };
        let state = forced.state_number.unwrap_or(forced.state as i32);
        if state != proto::State::RevertWindow as i32 {
            return Ok(false);
        }
        forced.state = next;
        forced.state_number = None;
        forced.table_status = match next {
            proto::State::Reverting => "reverting",
            _ => "completed",
        }
        .to_string();
        Ok(true)
    }
}
