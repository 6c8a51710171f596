//! Per-apply poll jobs (delayed messages between sweeps).

use crate::outcome::JobError;
use crate::Worker;
use schemabot_domain::job::PollJob;

pub async fn run(worker: &Worker, job: &PollJob) -> Result<(), JobError> {
    crate::progress::poll(worker, job).await
}
