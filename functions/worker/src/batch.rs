//! SQS batch handling with FIFO semantics and partial batch failures.
//!
//! Messages of one FIFO group must be processed in order: once one fails, the rest of that group
//! in the batch is reported failed without being processed, so SQS redelivers them after it.

use crate::outcome::{Attempt, JobError};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use std::collections::HashSet;
use std::future::Future;

/// One message with what the worker needs from its envelope.
#[derive(Debug, Clone)]
pub struct QueuedMessage {
    pub message_id: String,
    pub receipt_handle: Option<String>,
    pub group: Option<String>,
    pub body: String,
    pub attempt: Attempt,
    /// The source queue's name (from the event source ARN), to act on the right queue.
    pub source_queue: Option<String>,
}

impl QueuedMessage {
    pub fn from_sqs(message: SqsMessage, max_receive_count: u32) -> Self {
        let receive_count = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        QueuedMessage {
            message_id: message.message_id.unwrap_or_default(),
            receipt_handle: message.receipt_handle,
            group: message.attributes.get("MessageGroupId").cloned(),
            source_queue: message
                .event_source_arn
                .as_deref()
                .and_then(|arn| arn.rsplit(':').next())
                .map(str::to_string),
            body: message.body.unwrap_or_default(),
            attempt: Attempt {
                receive_count,
                max_receive_count,
            },
        }
    }
}

/// What happened to each message, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    Done,
    Failed {
        transient: bool,
    },
    /// Not attempted because an earlier message of its FIFO group failed.
    SkippedAfterGroupFailure,
}

/// Processes `messages` in order and returns the batch response plus per-item results.
/// `on_failure` runs for each failed message (e.g. to set its visibility timeout for backoff).
pub async fn process<F, Fut, G, GFut>(
    messages: Vec<QueuedMessage>,
    mut handle: F,
    mut on_failure: G,
) -> (SqsBatchResponse, Vec<ItemResult>)
where
    F: FnMut(QueuedMessage) -> Fut,
    Fut: Future<Output = Result<(), JobError>>,
    G: FnMut(QueuedMessage, bool) -> GFut,
    GFut: Future<Output = ()>,
{
    let mut failed_groups: HashSet<String> = HashSet::new();
    let mut response = SqsBatchResponse::default();
    let mut results = Vec::with_capacity(messages.len());
    for message in messages {
        let id = message.message_id.clone();
        if let Some(group) = &message.group {
            if failed_groups.contains(group) {
                response.batch_item_failures.push(failure(id));
                results.push(ItemResult::SkippedAfterGroupFailure);
                continue;
            }
        }
        let group = message.group.clone();
        let retry_copy = message.clone();
        match handle(message).await {
            Ok(()) => results.push(ItemResult::Done),
            Err(error) => {
                let transient = error.is_transient();
                tracing::warn!(message_id = %id, error = %error, "job failed");
                if let Some(group) = group {
                    failed_groups.insert(group);
                }
                on_failure(retry_copy, transient).await;
                response.batch_item_failures.push(failure(id));
                results.push(ItemResult::Failed { transient });
            }
        }
    }
    (response, results)
}

fn failure(id: String) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = id;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, group: &str) -> QueuedMessage {
        QueuedMessage {
            message_id: id.into(),
            receipt_handle: None,
            group: Some(group.into()),
            body: id.into(),
            attempt: Attempt::first(),
            source_queue: Some("jobs.fifo".into()),
        }
    }

    #[tokio::test]
    async fn a_failure_fails_the_rest_of_its_group_only() {
        let batch = vec![
            message("a1", "a"),
            message("b1", "b"),
            message("a2", "a"),
            message("b2", "b"),
            message("a3", "a"),
        ];
        let mut seen = Vec::new();
        let (response, results) = process(
            batch,
            |d| {
                seen.push(d.message_id.clone());
                let fail = d.message_id == "a2";
                async move {
                    if fail {
                        Err(JobError::transient("tern unavailable"))
                    } else {
                        Ok(())
                    }
                }
            },
            |_, _| async {},
        )
        .await;
        assert_eq!(seen, ["a1", "b1", "a2", "b2"], "a3 must not be attempted");
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["a2", "a3"]);
        assert_eq!(results[4], ItemResult::SkippedAfterGroupFailure);
        assert_eq!(results[2], ItemResult::Failed { transient: true });
    }

    #[test]
    fn receive_count_and_group_come_from_sqs_attributes() {
        let mut m = SqsMessage::default();
        m.message_id = Some("m".into());
        m.body = Some("{}".into());
        m.attributes
            .insert("ApproximateReceiveCount".into(), "3".into());
        m.attributes
            .insert("MessageGroupId".into(), "apply:x".into());
        let d = QueuedMessage::from_sqs(m, 5);
        assert_eq!(d.attempt.receive_count, 3);
        assert_eq!(d.group.as_deref(), Some("apply:x"));
    }
}
