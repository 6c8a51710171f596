//! The Cutover RPC: accepted only while waiting on the sentinel, which it then drops.

use std::time::Instant;

use schemabot_tern::proto;
use tonic::Status;

use super::model::{Phase, StandinPhase};
use super::state::Shared;
use super::RECOVERY_REFUSAL;

impl Shared {
    pub(super) async fn cutover(
        &self,
        request: proto::CutoverRequest,
    ) -> Result<proto::CutoverResponse, Status> {
        let _serial = self.serial.lock().await;
        let apply_id = {
            let mut sim = self.sim();
            sim.counts.cutover += 1;
            if let Some(message) = sim.refuse_next_cutover.take() {
                return Ok(proto::CutoverResponse {
                    accepted: false,
                    error_message: message,
                });
            }
            sim.target(&request.apply_id)?
        };
        self.settle(&apply_id).await;

        let database = {
            let sim = self.sim();
            let Some(apply) = sim.find(&apply_id) else {
                return Err(Status::internal(format!("apply {apply_id} not found")));
            };
            let refusal = match apply.phase() {
                StandinPhase::WaitingOnSentinel => None,
                StandinPhase::EngineLost => Some(RECOVERY_REFUSAL.to_string()),
                _ if !apply.defer_cutover => {
                    Some("schema change was not started with defer_cutover".to_string())
                }
                StandinPhase::Copying => Some(format!(
                    "Apply {apply_id} is not waiting for cutover (still copying rows)"
                )),
                StandinPhase::CuttingOver => Some(format!(
                    "Cutover of apply {apply_id} is already in progress"
                )),
                StandinPhase::Completed => Some(format!("Apply {apply_id} has already completed")),
                StandinPhase::Failed(message) => {
                    Some(format!("Apply {apply_id} has failed: {message}"))
                }
                StandinPhase::Stopped => Some(format!("Apply {apply_id} is stopped")),
                StandinPhase::Cancelled => Some(format!("Apply {apply_id} was cancelled")),
            };
            if let Some(message) = refusal {
                return Ok(proto::CutoverResponse {
                    accepted: false,
                    error_message: message,
                });
            }
            apply.database.clone()
        };

        self.drop_sentinel(&database)
            .await
            .map_err(|e| Status::internal(format!("cutover failed: {e}")))?;
        let mut sim = self.sim();
        sim.counts.cutover_accepted += 1;
        if let Some(apply) = sim.find_mut(&apply_id) {
            // A restart() between the drop and here leaves the engine gone; resuming then finds
            // no sentinel and completes, as Spirit would.
            apply.cutover_accepted = true;
            if apply.current_phase() == Some(Phase::WaitingOnSentinel) {
                apply.enter_phase(Phase::CuttingOver {
                    since: Instant::now(),
                    finish_requested: false,
                });
            }
        }
        tracing::debug!(%apply_id, "tern stand-in: cutover accepted, sentinel dropped");
        Ok(proto::CutoverResponse {
            accepted: true,
            error_message: String::new(),
        })
    }
}
