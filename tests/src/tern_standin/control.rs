//! Stop, Start, Cancel, and the calls the stand-in only acknowledges (Revert, SkipRevert, Health).

use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use schemabot_tern::proto;
use tonic::Status;

use super::model::Outcome;
use super::state::Shared;

impl Shared {
    pub(super) async fn stop(
        &self,
        request: proto::StopRequest,
    ) -> Result<proto::StopResponse, Status> {
        let _serial = self.serial.lock().await;
        let mut sim = self.sim();
        sim.counts.other += 1;
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

    /// Revert: the stand-in has no revert window.
    pub(super) fn revert(&self) -> Result<proto::RevertResponse, Status> {
        self.sim().counts.other += 1;
        Ok(proto::RevertResponse {
            accepted: false,
            error_message: "the Tern stand-in has no revert window".into(),
        })
    }

    /// SkipRevert: the stand-in has no revert window.
    pub(super) fn skip_revert(&self) -> Result<proto::SkipRevertResponse, Status> {
        self.sim().counts.other += 1;
        Ok(proto::SkipRevertResponse {
            accepted: false,
            error_message: "the Tern stand-in has no revert window".into(),
        })
    }

    pub(super) fn health(&self) -> Result<proto::HealthResponse, Status> {
        self.sim().counts.other += 1;
        Ok(proto::HealthResponse {
            status: "SERVING".into(),
        })
    }
}
