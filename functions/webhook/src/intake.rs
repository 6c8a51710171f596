//! The webhook's only side effects: a DynamoDB delivery record (so redeliveries, even days later,
//! are no-ops) and the SQS FIFO message.

use schemabot_aws::queue::JobQueue;
use schemabot_aws::store::{DeliveryOutcome, Store};
use schemabot_domain::job::JobEnvelope;
use schemabot_domain::DeliveryId;
use std::time::Duration;

/// How long a pending delivery record blocks a concurrent redelivery before it may take over
/// (covers a webhook that died between recording and enqueueing).
const DELIVERY_LEASE: Duration = Duration::from_secs(30);

pub struct Intake {
    pub store: Store,
    pub queue: JobQueue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    Fresh,
    Duplicate,
}

pub type IntakeError = Box<dyn std::error::Error + Send + Sync>;

impl Intake {
    /// Records the delivery (and the job's own key, so two deliveries of one comment count as one).
    pub async fn record_delivery(
        &self,
        delivery: &DeliveryId,
        job_key: &str,
    ) -> Result<Admitted, IntakeError> {
        let outcome = self
            .store
            .begin_delivery(delivery, Some(job_key), DELIVERY_LEASE)
            .await?;
        Ok(match outcome {
            DeliveryOutcome::Fresh => Admitted::Fresh,
            DeliveryOutcome::Duplicate | DeliveryOutcome::InFlight => Admitted::Duplicate,
        })
    }

    pub async fn enqueue(&self, envelope: &JobEnvelope) -> Result<(), IntakeError> {
        self.queue.send(envelope).await?;
        Ok(())
    }

    pub async fn mark_enqueued(
        &self,
        delivery: &DeliveryId,
        job_key: &str,
    ) -> Result<(), IntakeError> {
        self.store
            .complete_delivery(delivery, Some(job_key))
            .await?;
        Ok(())
    }

    pub async fn withdraw(&self, delivery: &DeliveryId, job_key: &str) -> Result<(), IntakeError> {
        self.store.abandon_delivery(delivery, Some(job_key)).await?;
        Ok(())
    }
}
