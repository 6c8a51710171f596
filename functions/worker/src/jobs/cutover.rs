//! The cutover command, exactly once.
//!
//! Order: 👀 → load the apply → same repository and PR → same environment → commenter
//! permission (fail closed) → state gate → conditional claim → Tern Cutover → conditional move to
//! `cutting_over` together with the tracked Cutover Triggered comment and its audit event.
//!
//! Exactly-once rests on the claim: a conditional write grants the cutover of an apply to one
//! command id. A redelivered or re-run command that already holds the claim never calls Tern
//! blindly: if the sentinel is gone the earlier call took effect, and only the bookkeeping
//! (comment, state) is finished; if it is still there, Tern is asked again.

mod audit;
mod gate;
mod replies;
mod settlement;
mod tern_call;

use crate::outcome::{Attempt, JobError};
use crate::Worker;
use schemabot_domain::job::{CommandSource, CutoverJob};
use schemabot_domain::DeliveryId;
use schemabot_render::Actor;

/// Who asked, and where answers go.
struct Requester {
    actor: Actor,
    /// Stored form of the actor (`login` or `cli:<arn>`).
    actor_id: String,
    delivery_id: Option<DeliveryId>,
}

/// Where replies for this command are posted.
use crate::post::ReplyTo;

struct Run<'a> {
    started: std::time::Instant,
    worker: &'a Worker,
    job: &'a CutoverJob,
    job_id: &'a str,
    attempt: Attempt,
    requester: Requester,
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
    let requester = match &job.source {
        CommandSource::PrComment(origin) => Requester {
            actor: Actor::GitHub(origin.commenter.clone()),
            actor_id: origin.commenter.0.clone(),
            delivery_id: Some(origin.delivery_id.clone()),
        },
        CommandSource::Cli { actor, request_id } => Requester {
            actor: Actor::Cli {
                identity: actor.clone(),
            },
            actor_id: format!("cli:{actor}"),
            // Tags this request's audit events, for the CLI waiting on them.
            delivery_id: DeliveryId::parse(&format!("cli:{request_id}")).ok(),
        },
    };
    let run = Run {
        started: std::time::Instant::now(),
        worker,
        job,
        job_id,
        attempt,
        requester,
        resumed: std::cell::Cell::new(false),
    };
    run.execute().await
}
