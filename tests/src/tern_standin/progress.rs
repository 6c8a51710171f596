//! The Progress RPC: the settled apply's report (or a forced one), then the per-call pace step.

use schemabot_tern::proto;
use tonic::Status;

use super::config::CopyPace;
use super::state::Shared;

impl Shared {
    pub(super) async fn progress(
        &self,
        request: proto::ProgressRequest,
    ) -> Result<proto::ProgressResponse, Status> {
        let _serial = self.serial.lock().await;
        let apply_id = {
            let mut sim = self.sim();
            if sim.fail_progress > 0 {
                sim.fail_progress -= 1;
                sim.counts.injected_failures += 1;
                return Err(Status::unavailable(
                    "tern stand-in: Progress unavailable (injected)",
                ));
            }
            sim.counts.progress += 1;
            sim.target(&request.apply_id)?
        };
        self.settle(&apply_id).await;

        let mut sim = self.sim();
        let pace = sim.pace;
        let Some(apply) = sim.find_mut(&apply_id) else {
            return Err(Status::internal(format!("apply {apply_id} vanished")));
        };
        let mut response = apply.progress_response(pace);
        // Report first, then move on: every state is observed at least once.
        if let CopyPace::PerProgressCall { rows } = pace {
            apply.step(rows);
        }
        if let Some(forced) = sim.forced.get(&apply_id.to_ascii_lowercase()) {
            response.state = forced.state_number.unwrap_or(forced.state as i32);
            response.summary = forced.summary.clone();
            for table in &mut response.tables {
                table.status = forced.table_status.clone();
                if let Some((checked, total)) = forced.checksum {
                    table.checksum_rows_checked = checked;
                    table.checksum_rows_total = total;
                }
            }
        }
        Ok(response)
    }
}
