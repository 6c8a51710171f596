//! The cutover command, exactly once.
//!
//! Order: 👀 → load the apply → same repository and PR → same environment → the repository owns
//! the database → commenter permission (fail closed) → review gate → state gate → conditional
//! claim → Tern Cutover → conditional move to `cutting_over` together with the tracked Cutover
//! Triggered comment and its audit event.
//!
//! Exactly-once rests on the claim: a conditional write grants the cutover of an apply to one
//! command id. A redelivered or re-run command that already holds the claim never calls Tern
//! blindly: if the sentinel is gone the earlier call took effect, and only the bookkeeping
//! (comment, state) is finished; if it is still there, Tern is asked again.

mod gate;
mod replies;
mod settlement;
mod tern_call;

use crate::jobs::command::Command;
use crate::outcome::{Attempt, JobError};
use crate::post::ReplyTo;
use crate::Worker;
use schemabot_domain::job::CutoverJob;

struct Run<'a> {
    cmd: Command<'a>,
    job: &'a CutoverJob,
    started: std::time::Instant,
    /// This command held the claim before this run (set by `resume`): an earlier run may have
    /// posted Cutover Triggered, so it is searched for before posting. The claim, written with a
    /// conditional write and keyed by the command, is the evidence, never the receive count.
    resumed: std::cell::Cell<bool>,
}

pub async fn run(
    worker: &Worker,
    job: &CutoverJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let run = Run {
        cmd: Command::new(worker, "cutover", &job.source, job_id, attempt),
        job,
        started: std::time::Instant::now(),
        resumed: std::cell::Cell::new(false),
    };
    run.execute().await
}
