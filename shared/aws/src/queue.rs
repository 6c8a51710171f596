//! The SQS job queue. Commands and replies go to a FIFO queue: one message group per apply (or
//! PR) keeps them ordered, and a deduplication id derived from the job id makes a re-sent job a
//! no-op for SQS's 5-minute window. Delayed poll messages go to a standard queue, because FIFO
//! queues do not support per-message delays.

use crate::error::SdkFailure;
use crate::SqsClient;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::operation::create_queue::builders::CreateQueueFluentBuilder;
use aws_sdk_sqs::operation::send_message::{builders::SendMessageFluentBuilder, SendMessageOutput};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use schemabot_domain::job::{Job, JobEnvelope};
use sha2::{Digest, Sha256};
use std::fmt::Debug;
use std::time::Duration;

/// SQS's longest per-message delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);
/// SQS's limit for deduplication and group ids.
const MAX_ID_LEN: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("SQS {0}")]
    Sdk(SdkFailure),
    #[error("cannot serialize the job: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("a delay of {0:?} exceeds SQS's maximum of 15 minutes")]
    DelayTooLong(Duration),
    #[error("no delay queue is configured for delayed messages")]
    NoDelayQueue,
    #[error("SQS answered {operation} without {what}")]
    MissingField {
        operation: &'static str,
        what: &'static str,
    },
}

impl QueueError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, QueueError::Sdk(failure) if failure.transient)
    }

    fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> QueueError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug,
    {
        QueueError::Sdk(SdkFailure::new(operation, &err))
    }
}

/// Whether SQS accepts `id` as a deduplication or message group id (≤ 128 characters,
/// alphanumeric or ASCII punctuation).
pub fn is_sqs_safe_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The FIFO deduplication id of a job: the SHA-256 (64 hex characters) of its stable id, so every
/// redelivery of one request maps to one id whatever characters the id contains.
pub fn deduplication_id(job: &Job) -> String {
    sha256_hex(&job.id())
}

/// The FIFO message group of a job: its `message_group()` when SQS accepts it as is (readable in
/// the console), else its SHA-256.
pub fn message_group_id(job: &Job) -> String {
    let group = job.message_group();
    if is_sqs_safe_id(&group) {
        group
    } else {
        sha256_hex(&group)
    }
}

/// What SQS returned for a sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub message_id: Option<String>,
    /// FIFO only.
    pub sequence_number: Option<String>,
}

/// A received message (tests and tools; the worker gets its messages from the Lambda event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: Option<String>,
    pub receipt_handle: Option<String>,
    pub body: String,
    pub message_group_id: Option<String>,
}

impl ReceivedMessage {
    pub fn envelope(&self) -> Result<JobEnvelope, serde_json::Error> {
        serde_json::from_str(&self.body)
    }
}

/// Sends jobs.
#[derive(Debug, Clone)]
pub struct JobQueue {
    client: SqsClient,
    queue_url: String,
    delay_queue_url: Option<String>,
}

impl JobQueue {
    /// `queue_url`: the FIFO queue of commands and replies.
    pub fn new(client: SqsClient, queue_url: impl Into<String>) -> Self {
        JobQueue {
            client,
            queue_url: queue_url.into(),
            delay_queue_url: None,
        }
    }

    /// The standard queue for delayed (poll) messages.
    pub fn with_delay_queue(mut self, delay_queue_url: impl Into<String>) -> Self {
        self.delay_queue_url = Some(delay_queue_url.into());
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    pub fn delay_queue_url(&self) -> Option<&str> {
        self.delay_queue_url.as_deref()
    }

    pub fn client(&self) -> &SqsClient {
        &self.client
    }

    /// Sends a job to the FIFO queue (group = its apply or PR, deduplicated by its job id).
    pub async fn send(&self, envelope: &JobEnvelope) -> Result<SentMessage, QueueError> {
        let request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_group_id(message_group_id(&envelope.job))
            .message_deduplication_id(deduplication_id(&envelope.job));
        let sent = send_message(request, envelope).await?;
        Ok(SentMessage {
            message_id: sent.message_id().map(str::to_string),
            sequence_number: sent.sequence_number().map(str::to_string),
        })
    }

    /// Sends a job to the delay queue, to be delivered after `delay` (at most 15 minutes).
    pub async fn send_delayed(
        &self,
        envelope: &JobEnvelope,
        delay: Duration,
    ) -> Result<SentMessage, QueueError> {
        let queue_url = self
            .delay_queue_url
            .as_deref()
            .ok_or(QueueError::NoDelayQueue)?;
        if delay > MAX_DELAY {
            return Err(QueueError::DelayTooLong(delay));
        }
        let delay_seconds =
            i32::try_from(delay.as_secs()).map_err(|_| QueueError::DelayTooLong(delay))?;
        let request = self
            .client
            .send_message()
            .queue_url(queue_url)
            .delay_seconds(delay_seconds);
        let sent = send_message(request, envelope).await?;
        Ok(SentMessage {
            message_id: sent.message_id().map(str::to_string),
            sequence_number: None,
        })
    }
}

/// Sends `envelope` as the body of `request`.
async fn send_message(
    request: SendMessageFluentBuilder,
    envelope: &JobEnvelope,
) -> Result<SendMessageOutput, QueueError> {
    let body = serde_json::to_string(envelope).map_err(QueueError::Encode)?;
    request
        .message_body(body)
        .send()
        .await
        .map_err(|e| QueueError::from_sdk("SendMessage", e))
}

/// Creates (or finds) a FIFO queue; `name` must end in `.fifo`. Deduplication is by explicit
/// id, never by content. Returns the queue URL.
pub async fn create_fifo_queue(client: &SqsClient, name: &str) -> Result<String, QueueError> {
    let request = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false");
    create_queue(request).await
}

/// Creates (or finds) a standard queue. Returns the queue URL.
pub async fn create_standard_queue(client: &SqsClient, name: &str) -> Result<String, QueueError> {
    create_queue(client.create_queue().queue_name(name)).await
}

async fn create_queue(request: CreateQueueFluentBuilder) -> Result<String, QueueError> {
    let created = request
        .send()
        .await
        .map_err(|e| QueueError::from_sdk("CreateQueue", e))?;
    created
        .queue_url()
        .map(str::to_string)
        .ok_or(QueueError::MissingField {
            operation: "CreateQueue",
            what: "a queue URL",
        })
}

/// Receives up to `max_messages` (1–10), long-polling for `wait` (at most 20 s).
pub async fn receive(
    client: &SqsClient,
    queue_url: &str,
    max_messages: i32,
    wait: Duration,
) -> Result<Vec<ReceivedMessage>, QueueError> {
    let wait_seconds = i32::try_from(wait.as_secs().min(20)).unwrap_or(20);
    let received = client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(max_messages.clamp(1, 10))
        .wait_time_seconds(wait_seconds)
        .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
        .send()
        .await
        .map_err(|e| QueueError::from_sdk("ReceiveMessage", e))?;
    Ok(received
        .messages()
        .iter()
        .map(|message| ReceivedMessage {
            message_id: message.message_id().map(str::to_string),
            receipt_handle: message.receipt_handle().map(str::to_string),
            body: message.body().unwrap_or_default().to_string(),
            message_group_id: message
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                .cloned(),
        })
        .collect())
}

/// Deletes a received message.
pub async fn delete_message(
    client: &SqsClient,
    queue_url: &str,
    receipt_handle: &str,
) -> Result<(), QueueError> {
    client
        .delete_message()
        .queue_url(queue_url)
        .receipt_handle(receipt_handle)
        .send()
        .await
        .map_err(|e| QueueError::from_sdk("DeleteMessage", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemabot_domain::job::PollJob;
    use schemabot_domain::ApplyId;

    #[test]
    fn deduplication_ids_are_stable_sqs_safe_hashes() {
        let job = Job::Poll(PollJob {
            apply_id: ApplyId::parse("apply-0123").unwrap(),
            chain_seq: 3,
        });
        let id = deduplication_id(&job);
        assert_eq!(id, deduplication_id(&job.clone()));
        assert_eq!(id.len(), 64);
        assert!(is_sqs_safe_id(&id));
        // Known vector: SHA-256("poll:apply-0123:3").
        assert_eq!(id, sha256_hex("poll:apply-0123:3"));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn group_ids_are_readable_when_safe_and_hashed_otherwise() {
        assert!(is_sqs_safe_id("apply:apply-0123"));
        assert!(!is_sqs_safe_id("pr:a b"));
        assert!(!is_sqs_safe_id(&"x".repeat(129)));
        assert!(!is_sqs_safe_id(""));
    }
}
