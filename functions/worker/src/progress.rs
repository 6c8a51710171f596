//! Progress reconciliation (being written): per-apply polls and the scheduled sweep.

use crate::outcome::JobError;
use crate::Worker;
use schemabot_domain::job::PollJob;

pub async fn poll(_worker: &Worker, _job: &PollJob) -> Result<(), JobError> {
    Err(JobError::permanent("progress polling is not wired yet"))
}
