//! The GitHub webhook Lambda: verifies GitHub's signature, parses PR-comment commands, routes them
//! to this stack, de-duplicates deliveries and enqueues typed jobs. It never calls GitHub or Tern.

pub mod association;
pub mod autoplan;
pub mod config;
pub mod front_door;
pub mod github_event;
pub mod handler;
pub mod intake;
pub mod logging;
pub mod routing;
pub mod secret_value;
pub mod signature;

use aws_lambda_events::event::apigw::ApiGatewayV2httpResponse;
use front_door::{json_response, HttpEvent};
use handler::{admit, Admission, Answer};

/// Everything a warm Lambda keeps between invocations.
pub struct Webhook {
    pub secrets: signature::WebhookSecrets,
    pub routing: routing::RoutingConfig,
    pub intake: intake::Intake,
}

impl Webhook {
    /// Handles one HTTP event from any of the three front ends.
    pub async fn handle_event(&self, event: HttpEvent) -> ApiGatewayV2httpResponse {
        let request = match event.into_request() {
            Ok(request) => request,
            Err(front_door::FrontDoorError::TooLarge) => {
                return to_response(&Answer::error(413, "request body too large"))
            }
            Err(front_door::FrontDoorError::BadBase64) => {
                return to_response(&Answer::error(400, "request body is not valid base64"))
            }
        };
        let span = tracing::info_span!(
            "webhook",
            delivery_id = request.header("x-github-delivery").unwrap_or(""),
            event = request.header("x-github-event").unwrap_or(""),
            repo = tracing::field::Empty,
            pr = tracing::field::Empty,
            job = tracing::field::Empty,
        );
        // Entered only around synchronous work; the I/O future is instrumented instead, so the
        // span is never held across an await.
        let admission = span.in_scope(|| admit(&self.secrets, &self.routing, &request));
        let answer = match admission {
            Admission::Answer(answer) => answer,
            Admission::Enqueue(ready) => {
                use tracing::Instrument;
                span.record("job", ready.job.id().as_str());
                handler::enqueue(&self.intake, ready)
                    .instrument(span.clone())
                    .await
            }
        };
        let _entered = span.enter();
        tracing::info!(status = answer.status, outcome = %answer.text, "webhook answered");
        schemabot_aws::emf::count("WebhookRequests", &[("Outcome", outcome_class(&answer))]);
        to_response(&answer)
    }
}

/// A low-cardinality outcome for the `WebhookRequests` metric.
fn outcome_class(answer: &Answer) -> &'static str {
    match (answer.status, answer.job_kind) {
        (202, Some("cutover")) => "cutover_enqueued",
        (202, Some("reply")) => "reply_enqueued",
        (202, _) => "job_enqueued",
        (200, _) if answer.text == "duplicate delivery" => "duplicate",
        (200, _) => "ignored",
        (401, _) => "invalid_signature",
        (400..=499, _) => "rejected",
        _ => "error",
    }
}

fn to_response(answer: &Answer) -> ApiGatewayV2httpResponse {
    let key = if answer.is_error { "error" } else { "message" };
    let job = answer.job_kind.map(|kind| ("job", kind));
    json_response(answer.status, key, &answer.text, job.as_slice())
}
