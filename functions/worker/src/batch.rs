//! SQS batch handling with FIFO semantics and partial batch failures.
//!
//! Messages of one FIFO group must be processed in order: once one is handed back, the rest of
//! that group in the batch is reported failed without being processed, so SQS redelivers them
//! after it. Near the invocation's deadline no job starts; only the unstarted ones come back.

use crate::outcome::{Attempt, JobError};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

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
    /// SQS's `SenderId`: the principal that sent the message (not forgeable by the body).
    pub sender_id: Option<String>,
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
            sender_id: message.attributes.get("SenderId").cloned(),
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
    /// Failed for good: answered and audited by the job runner, removed from the queue.
    Dropped,
    /// Handed back to SQS to be retried.
    Failed {
        transient: bool,
    },
    /// Not attempted because an earlier message of its FIFO group failed.
    SkippedAfterGroupFailure,
    /// Not attempted because too little of the invocation's time was left.
    NotStartedNearDeadline,
}

/// When a handed-back message should be seen again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAt {
    /// Exponential backoff by the message's receive count.
    Backoff,
    /// After the delay a dependency asked for.
    After(Duration),
    /// At once: it never ran (deadline), so it has nothing to wait for.
    Now,
}

/// How much time the batch has: no job starts unless `per_job` is left before the deadline.
#[derive(Debug, Clone, Copy)]
pub struct TimeBudget {
    pub deadline: Option<Instant>,
    pub per_job: Duration,
}

impl TimeBudget {
    /// No deadline (tests, the demo).
    pub fn unlimited() -> Self {
        TimeBudget {
            deadline: None,
            per_job: Duration::ZERO,
        }
    }

    fn allows_another_job(&self) -> bool {
        self.deadline.is_none_or(|deadline| {
            deadline.saturating_duration_since(Instant::now()) >= self.per_job
        })
    }
}

/// Processes `messages` in order and returns the batch response plus per-item results.
/// `on_retry` runs for each message handed back to SQS, to set when it is seen again.
///
/// FIFO order: once a message of a group is handed back, the rest of that group in the batch is
/// handed back unrun, with the same delay, so it comes back after it. A permanent failure does not
/// hold its group: it was answered and is removed.
pub async fn process<F, Fut, G, GFut>(
    messages: Vec<QueuedMessage>,
    budget: TimeBudget,
    mut handle: F,
    mut on_retry: G,
) -> (SqsBatchResponse, Vec<ItemResult>)
where
    F: FnMut(QueuedMessage) -> Fut,
    Fut: Future<Output = Result<(), JobError>>,
    G: FnMut(QueuedMessage, RetryAt) -> GFut,
    GFut: Future<Output = ()>,
{
    let mut held_groups: HashMap<String, RetryAt> = HashMap::new();
    let mut response = SqsBatchResponse::default();
    let mut results = Vec::with_capacity(messages.len());
    for message in messages {
        let id = message.message_id.clone();
        let held = message
            .group
            .as_ref()
            .and_then(|g| held_groups.get(g))
            .copied();
        let (result, retry) = if let Some(retry) = held {
            (ItemResult::SkippedAfterGroupFailure, Some(retry))
        } else if !budget.allows_another_job() {
            (ItemResult::NotStartedNearDeadline, Some(RetryAt::Now))
        } else {
            match handle(message.clone()).await {
                Ok(()) => (ItemResult::Done, None),
                Err(JobError::Permanent(error)) => {
                    tracing::error!(message_id = %id, %error, "job failed permanently; removed");
                    (ItemResult::Dropped, None)
                }
                Err(error) => {
                    tracing::warn!(message_id = %id, error = %error, "job failed; handed back");
                    let retry = error.retry_after().map_or(RetryAt::Backoff, RetryAt::After);
                    (ItemResult::Failed { transient: true }, Some(retry))
                }
            }
        };
        if let Some(retry) = retry {
            if let Some(group) = &message.group {
                held_groups.insert(group.clone(), retry);
            }
            on_retry(message, retry).await;
            response.batch_item_failures.push(failure(id));
        }
        results.push(result);
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
            sender_id: Some("AROAWEBHOOK:fn".into()),
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
            TimeBudget::unlimited(),
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

    #[tokio::test]
    async fn a_permanent_failure_is_removed_and_does_not_hold_its_group() {
        let batch = vec![
            message("poison", "a"),
            message("a2", "a"),
            message("a3", "a"),
            message("a4", "a"),
        ];
        let mut seen = Vec::new();
        let mut retried = Vec::new();
        let (response, results) = process(
            batch,
            TimeBudget::unlimited(),
            |d| {
                seen.push(d.message_id.clone());
                let poison = d.message_id == "poison";
                async move {
                    if poison {
                        Err(JobError::permanent(
                            "schemabot.yaml names no configured database",
                        ))
                    } else {
                        Ok(())
                    }
                }
            },
            |d, at| {
                retried.push((d.message_id, at));
                async {}
            },
        )
        .await;
        assert_eq!(
            seen,
            ["poison", "a2", "a3", "a4"],
            "order kept, nobody waits"
        );
        assert!(response.batch_item_failures.is_empty());
        assert!(retried.is_empty());
        assert_eq!(results[0], ItemResult::Dropped);
    }

    #[tokio::test]
    async fn a_requested_delay_holds_the_rest_of_the_group_for_as_long() {
        let batch = vec![message("a1", "a"), message("a2", "a"), message("b1", "b")];
        let mut retried = Vec::new();
        let (response, _) = process(
            batch,
            TimeBudget::unlimited(),
            |d| {
                let limited = d.message_id == "a1";
                async move {
                    if limited {
                        Err(JobError::RetryAfter {
                            wait: Duration::from_secs(30),
                            reason: "GitHub secondary rate limit".into(),
                        })
                    } else {
                        Ok(())
                    }
                }
            },
            |d, at| {
                retried.push((d.message_id, at));
                async {}
            },
        )
        .await;
        let after = RetryAt::After(Duration::from_secs(30));
        assert_eq!(
            retried,
            [("a1".to_string(), after), ("a2".to_string(), after)]
        );
        assert_eq!(response.batch_item_failures.len(), 2);
    }

    #[tokio::test]
    async fn near_the_deadline_only_unstarted_messages_come_back() {
        let batch = vec![
            message("a1", "a"),
            message("b1", "b"),
            message("c1", "c"),
            message("a2", "a"),
        ];
        let budget = TimeBudget {
            deadline: Some(Instant::now() + Duration::from_millis(150)),
            per_job: Duration::from_millis(100),
        };
        let mut seen = Vec::new();
        let mut retried = Vec::new();
        let (response, results) = process(
            batch,
            budget,
            |d| {
                seen.push(d.message_id.clone());
                // Each job takes 60 ms: after the first, less than a job's budget is left.
                async {
                    tokio::time::sleep(Duration::from_millis(60)).await;
                    Ok(())
                }
            },
            |d, at| {
                retried.push((d.message_id, at));
                async {}
            },
        )
        .await;
        assert_eq!(seen, ["a1"]);
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(
            failed,
            ["b1", "c1", "a2"],
            "a1 finished and is not redelivered"
        );
        assert!(retried.iter().all(|(_, at)| *at == RetryAt::Now));
        assert_eq!(results[1], ItemResult::NotStartedNearDeadline);
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
        m.attributes
            .insert("SenderId".into(), "AROAWEBHOOK:schemabot-webhook".into());
        let d = QueuedMessage::from_sqs(m, 5);
        assert_eq!(
            d.sender_id.as_deref(),
            Some("AROAWEBHOOK:schemabot-webhook")
        );
        assert_eq!(d.attempt.receive_count, 3);
        assert_eq!(d.group.as_deref(), Some("apply:x"));
    }
}
