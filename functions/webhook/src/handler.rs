//! The webhook's request handling: a pure admission step (verify, parse, validate, build the job)
//! followed by the only I/O the webhook does — record the delivery and enqueue the job.

use crate::front_door::WebhookRequest;
use crate::github_event::{
    parse_issue_comment, parse_pull_request, CommentEvent, PayloadError, PrComment,
};
use crate::intake::{Admitted, Intake};
use crate::routing::{route, route_pull_request, Routed, RoutingConfig};
use crate::signature::WebhookSecrets;
use schemabot_domain::command::{parse, ParseOutcome};
use schemabot_domain::job::{Job, JobEnvelope};
use schemabot_domain::DeliveryId;
use std::borrow::Cow;

/// An HTTP answer: status plus a one-key JSON body (`message` or `error`), optionally naming the
/// job kind that was enqueued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub is_error: bool,
    pub text: Cow<'static, str>,
    pub job_kind: Option<&'static str>,
}

impl Answer {
    fn message(status: u16, text: impl Into<Cow<'static, str>>) -> Self {
        Answer {
            status,
            is_error: false,
            text: text.into(),
            job_kind: None,
        }
    }

    pub(crate) fn error(status: u16, text: impl Into<Cow<'static, str>>) -> Self {
        Answer {
            is_error: true,
            ..Answer::message(status, text)
        }
    }
}

/// A job ready to be recorded and enqueued, with what the logs need to correlate it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    pub delivery_id: DeliveryId,
    pub job: Box<Job>,
}

/// The outcome of admission: answer at once, or enqueue.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    Answer(Answer),
    Enqueue(Ready),
}

/// Verify, parse, validate and build the job. Pure: no I/O, so it is benchmarked and unit-tested.
pub fn admit(
    secrets: &WebhookSecrets,
    routing: &RoutingConfig,
    request: &WebhookRequest,
) -> Admission {
    if secrets
        .verify(&request.body, request.header("x-hub-signature-256"))
        .is_err()
    {
        return Admission::Answer(Answer::error(401, "invalid webhook signature"));
    }
    let Some(event) = request.header("x-github-event") else {
        return Admission::Answer(Answer::error(400, "missing X-GitHub-Event header"));
    };
    let delivery_id = match request.header("x-github-delivery").map(DeliveryId::parse) {
        Some(Ok(id)) => id,
        Some(Err(_)) => {
            return Admission::Answer(Answer::error(400, "invalid X-GitHub-Delivery header"))
        }
        None => return Admission::Answer(Answer::error(400, "missing X-GitHub-Delivery header")),
    };
    match event {
        "ping" => Admission::Answer(Answer::message(200, "pong")),
        "issue_comment" => admit_comment(routing, delivery_id, &request.body),
        "pull_request" => admit_pull_request(routing, delivery_id, &request.body),
        other => Admission::Answer(Answer::message(
            200,
            format!("event type '{}' ignored", sanitize_event_name(other)),
        )),
    }
}

/// An `issue_comment` body read: ignored (with the reason), or a PR comment and what its body
/// says to SchemaBot.
#[derive(Debug, Clone, PartialEq)]
pub enum CommentIntake<'a> {
    Ignored(&'static str),
    Comment {
        comment: PrComment<'a>,
        command: ParseOutcome,
    },
}

/// Reads an `issue_comment` body and parses the command in the comment. Pure; the signature is
/// checked before this.
pub fn read_comment(body: &[u8]) -> Result<CommentIntake<'_>, PayloadError> {
    Ok(match parse_issue_comment(body)? {
        CommentEvent::Ignored(why) => CommentIntake::Ignored(why),
        CommentEvent::Created(comment) => {
            let command = parse(&comment.body);
            CommentIntake::Comment { comment, command }
        }
    })
}

fn admit_comment(routing: &RoutingConfig, delivery_id: DeliveryId, body: &[u8]) -> Admission {
    let (comment, command) = match read_comment(body) {
        Ok(CommentIntake::Comment { comment, command }) => (comment, command),
        Ok(CommentIntake::Ignored(why)) => return Admission::Answer(Answer::message(200, why)),
        Err(error) => return refuse_payload(&error),
    };
    let span = tracing::Span::current();
    span.record("repo", comment.repository.as_str());
    span.record("pr", comment.pr.0);
    match route(&delivery_id, &comment, command, routing) {
        Routed::Ignored(why) => Admission::Answer(Answer::message(200, why)),
        Routed::Enqueue(job) => Admission::Enqueue(Ready { delivery_id, job }),
    }
}

fn admit_pull_request(routing: &RoutingConfig, delivery_id: DeliveryId, body: &[u8]) -> Admission {
    let event = match parse_pull_request(body) {
        Ok(event) => event,
        Err(error) => return refuse_payload(&error),
    };
    let span = tracing::Span::current();
    span.record("repo", event.repository.as_str());
    span.record("pr", event.pr.0);
    match route_pull_request(&delivery_id, &event, routing) {
        Routed::Ignored(why) => {
            // What the autoplan policy looked at, so a skipped plan can be explained from the log.
            tracing::info!(
                action = %event.action,
                reason = why,
                head_repository = event.head_repository.as_ref().map_or("", |r| r.as_str()),
                author_association = event.author_association.map_or("", |a| a.as_str()),
                "pull_request event not planned"
            );
            Admission::Answer(Answer::message(200, why))
        }
        Routed::Enqueue(job) => Admission::Enqueue(Ready { delivery_id, job }),
    }
}

/// The 400 answer to a payload that cannot be read.
fn refuse_payload(error: &PayloadError) -> Admission {
    let text = match error {
        PayloadError::MissingInstallation => "missing installation ID in webhook payload",
        _ => "invalid webhook payload",
    };
    Admission::Answer(Answer::error(400, text))
}

/// Event names are echoed back; keep them to a short, printable form.
fn sanitize_event_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

/// Records the delivery and enqueues the job. A duplicate delivery is answered without enqueueing;
/// when enqueueing fails the delivery record is withdrawn and 503 returned, so GitHub's
/// redelivery can succeed later.
pub async fn enqueue(intake: &Intake, ready: Ready) -> Answer {
    let envelope = JobEnvelope::new(*ready.job);
    let kind = envelope.job.kind();
    let dedup_key = envelope.job.id();
    match intake.record_delivery(&ready.delivery_id, &dedup_key).await {
        Err(error) => {
            tracing::error!(error = %error, "could not record the delivery");
            Answer::error(503, "could not record the delivery; please redeliver")
        }
        Ok(Admitted::Duplicate) => Answer::message(200, "duplicate delivery"),
        Ok(Admitted::Fresh) => match intake.enqueue(&envelope).await {
            Ok(()) => {
                if let Err(error) = intake.mark_enqueued(&ready.delivery_id, &dedup_key).await {
                    // The job is queued; a stale pending record only means a late redelivery
                    // may enqueue again, which the worker's idempotency absorbs.
                    tracing::warn!(error = %error, "could not mark the delivery enqueued");
                }
                Answer {
                    job_kind: Some(kind),
                    ..Answer::message(202, format!("{kind} job enqueued"))
                }
            }
            Err(error) => {
                tracing::error!(error = %error, "could not enqueue the job");
                if let Err(error) = intake.withdraw(&ready.delivery_id, &dedup_key).await {
                    tracing::error!(error = %error, "could not withdraw the delivery record; its lease will expire");
                }
                Answer::error(503, "could not enqueue the job; please redeliver")
            }
        },
    }
}
