//! The command's audit events and outcome metric.

use super::Run;
use chrono::Utc;
use schemabot_domain::apply::{Apply, AuditEvent};

impl Run<'_> {
    /// Counts the command's outcome (`Commands` metric, by outcome).
    pub(super) fn count_outcome(&self, outcome: &str) {
        schemabot_aws::emf::count("Commands", &[("Command", "cutover"), ("Outcome", outcome)]);
    }

    pub(super) fn event(
        &self,
        apply: &Apply,
        event: &str,
        outcome: &str,
        message: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            apply_id: apply.id.clone(),
            at: Utc::now(),
            event: event.to_string(),
            actor: self.requester.actor_id.clone(),
            delivery_id: self.requester.delivery_id.as_ref().map(ToString::to_string),
            from_state: Some(apply.state),
            to_state: None,
            outcome: outcome.to_string(),
            message,
        }
    }

    /// Appends an audit event outside a state change; a failure is logged, not fatal (the reply
    /// still goes out).
    pub(super) async fn audit(
        &self,
        apply: &Apply,
        event: &str,
        outcome: &str,
        message: Option<String>,
    ) {
        let event = self.event(apply, event, outcome, message);
        if let Err(error) = self.worker.store.append_event(&event).await {
            tracing::warn!(%error, "could not append the audit event");
        }
    }
}
