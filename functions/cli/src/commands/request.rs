//! What `cutover`, the controls, `rollback` and `unlock` share: one job sent on the queue under a
//! fresh request id, then the wait for the worker's answer in the store.
//!
//! The worker answers a CLI request in the store, not on a channel: it appends audit events
//! tagged `cli:<request id>` (their `delivery_id`), attributed to the principal SQS names as the
//! sender (`cli:<sender id>`), which the CLI cannot predict and which cannot tell two requests of
//! one identity apart. The request id is new for every run, so the events carrying its tag are
//! this request's and no other's, whatever the clocks of this machine and Lambda say.

use super::Context;
use crate::args::display_duration;
use crate::error::CliError;
use schemabot_aws::StoreError;
use schemabot_domain::apply::{Apply, AuditEvent};
use schemabot_domain::job::{CommandSource, Job, JobEnvelope};
use schemabot_domain::ApplyId;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How often the answer is looked for (a few small strongly consistent reads each time).
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A request about to be sent, or sent.
pub struct Request {
    pub queue_url: String,
    /// Who this CLI runs as (STS `GetCallerIdentity`).
    pub caller_arn: String,
    pub request_id: String,
}

impl Request {
    /// Checks what a request needs before anything is sent: a queue and credentials that name
    /// someone.
    pub async fn new(cx: &Context<'_, '_>) -> Result<Request, CliError> {
        let queue_url = cx.queue_url.clone().ok_or_else(|| {
            CliError::Config(
                "no job queue configured: set SCHEMABOT_QUEUE_URL or pass --queue-url".to_string(),
            )
        })?;
        let caller_arn = cx.aws.caller_arn().await?;
        Ok(Request {
            queue_url,
            caller_arn,
            request_id: uuid::Uuid::new_v4().to_string(),
        })
    }

    /// Where the job says it comes from (the worker replaces the actor by the SQS sender).
    pub fn source(&self) -> CommandSource {
        CommandSource::Cli {
            request_id: self.request_id.clone(),
            actor: self.caller_arn.clone(),
        }
    }

    /// `cli:<request id>`: the `delivery_id` of this request's audit events.
    pub fn tag(&self) -> String {
        format!("cli:{}", self.request_id)
    }

    /// The identity as stored until the worker says otherwise: `cli:<caller ARN>`.
    pub fn caller_actor(&self) -> String {
        format!("cli:{}", self.caller_arn)
    }

    /// Sends `job` and tells a person what is being waited for (`what` of `subject`, e.g.
    /// `Cutover` of an apply id). Returns the job id.
    pub async fn send(
        &self,
        cx: &mut Context<'_, '_>,
        job: Job,
        what: &str,
        subject: impl Display,
        timeout: Duration,
    ) -> Result<String, CliError> {
        let job_id = job.id();
        cx.aws
            .queue(&self.queue_url)
            .send(&JobEnvelope::new(job))
            .await
            .map_err(|e| CliError::from_queue(e, &self.queue_url))?;
        if !cx.json {
            cx.console.note(&format!(
                "{what} of {subject} requested as {} (request {}); waiting up to {} for the worker...",
                self.caller_arn,
                self.request_id,
                display_duration(timeout)
            ));
        }
        Ok(job_id)
    }

    /// Polls the apply `apply_id` and its trail until `look` finds the answer or `timeout`
    /// passes (see [`poll`]).
    pub async fn wait<F: Found>(
        &self,
        cx: &Context<'_, '_>,
        apply_id: &ApplyId,
        timeout: Duration,
        look: impl Fn(&[AuditEvent], Option<&Apply>) -> F,
    ) -> Waited<F> {
        let look = &look;
        let ((found, apply), last_error) = poll(cx, timeout, || async move {
            // Events first, then the apply: the apply is then at least as new as the events.
            let events = cx.store.list_events(apply_id).await?;
            let apply = cx.store.get_apply(apply_id).await?;
            Ok((look(&events, apply.as_ref()), apply))
        })
        .await;
        Waited {
            found,
            apply,
            last_error,
        }
    }

    /// The text of a wait for an answer about `id` that ended without one; `why` guesses the
    /// reason.
    pub fn no_answer_text(
        &self,
        id: &ApplyId,
        timeout: Duration,
        why: &str,
        last_error: Option<&str>,
    ) -> String {
        let last_error = last_error
            .map(|e| format!("\nLast read error: {e}"))
            .unwrap_or_default();
        format!(
            "No outcome within {} for request {} on {id}.\n{why}\n\
             The request stays queued; check `schemabot history {id}` or `schemabot progress {id}`.{last_error}\n",
            display_duration(timeout),
            self.request_id
        )
    }
}

/// Reads with `look` until it finds a [`decided`](Found::decided) answer or `timeout` passes.
/// Returns the last successful look and why the reads after it failed, if they did. Read failures
/// do not end the wait: the request is already queued, so the honest answer to a failed read is
/// "not known yet".
pub async fn poll<T, Fut>(
    cx: &Context<'_, '_>,
    timeout: Duration,
    mut look: impl FnMut() -> Fut,
) -> (T, Option<String>)
where
    T: Found,
    Fut: Future<Output = Result<T, StoreError>>,
{
    // A timeout too large for the clock means "wait as long as it takes".
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600));
    let mut last = (T::default(), None);
    loop {
        match look().await {
            Ok(found) if found.decided() => return (found, None),
            Ok(found) => last = (found, None),
            Err(error) => last.1 = Some(CliError::from_store(error, cx.table()).to_string()),
        }
        let now = Instant::now();
        if now >= deadline {
            return last;
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}

/// The events tagged `tag` in `events`, oldest first.
pub fn own_events(events: &[AuditEvent], tag: String) -> impl Iterator<Item = &AuditEvent> {
    events
        .iter()
        .filter(move |event| event.delivery_id.as_deref() == Some(tag.as_str()))
}

/// What a look at the store found; the wait ends once it is [`decided`](Found::decided).
pub trait Found: Default {
    fn decided(&self) -> bool;
}

impl<T> Found for Option<T> {
    fn decided(&self) -> bool {
        self.is_some()
    }
}

/// A look and the apply it was made from: decided when the look is.
impl<F: Found> Found for (F, Option<Apply>) {
    fn decided(&self) -> bool {
        self.0.decided()
    }
}

/// How a wait ended.
pub struct Waited<F> {
    pub found: F,
    /// The apply as last read (after the events).
    pub apply: Option<Apply>,
    /// Why the last look failed, if it did (reported on a timeout).
    pub last_error: Option<String>,
}
