//! The SQS job queue against moto: FIFO de-duplication by job id, message groups, delayed polls.

mod common;

use aws_sdk_sqs::types::QueueAttributeName;
use common::{local_aws, unique};
use schemabot_aws::queue::{
    create_fifo_queue, create_standard_queue, receive, JobQueue, QueueError,
};
use schemabot_domain::job::{CommandSource, CommentOrigin, CutoverJob, Job, JobEnvelope, PollJob};
use schemabot_domain::{
    ApplyId, CommentId, DeliveryId, Environment, InstallationId, Login, PrNumber, Repository,
};
use std::time::Duration;

fn cutover_job(comment: u64) -> JobEnvelope {
    JobEnvelope::new(Job::Cutover(CutoverJob {
        source: CommandSource::PrComment(CommentOrigin {
            delivery_id: DeliveryId::parse(&uuid::Uuid::new_v4().to_string()).unwrap(),
            installation_id: InstallationId(1),
            repository: Repository::parse("octo/shop").unwrap(),
            pr: PrNumber(42),
            comment_id: CommentId(comment),
            commenter: Login("alice".into()),
        }),
        apply_id: ApplyId::parse("apply-0123456789abcdef").unwrap(),
        environment: Environment::parse("production").unwrap(),
    }))
}

#[tokio::test]
async fn the_same_job_sent_three_times_is_received_once() {
    let aws = local_aws().await;
    let url = create_fifo_queue(&aws.sqs, &format!("{}.fifo", unique("jobs")))
        .await
        .unwrap();
    let queue = JobQueue::new(aws.sqs.clone(), &url);
    let job = cutover_job(1001);

    let sends_before = aws.counter.get("SendMessage");
    for _ in 0..3 {
        queue.send(&job).await.unwrap();
    }
    assert_eq!(aws.counter.get("SendMessage"), sends_before + 3);
    // A different comment is a different job.
    queue.send(&cutover_job(1002)).await.unwrap();

    let attributes = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let waiting = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .cloned();
    assert_eq!(
        waiting.as_deref(),
        Some("2"),
        "three sends of one job store one message"
    );

    let mut received = Vec::new();
    for _ in 0..3 {
        received.extend(
            receive(&aws.sqs, &url, 10, Duration::from_secs(1))
                .await
                .unwrap(),
        );
    }
    let jobs: Vec<JobEnvelope> = received.iter().map(|m| m.envelope().unwrap()).collect();
    assert_eq!(jobs.len(), 2, "{jobs:#?}");
    assert_eq!(jobs[0], job);
    assert_eq!(
        received[0].message_group_id.as_deref(),
        Some("apply:apply-0123456789abcdef")
    );
}

#[tokio::test]
async fn poll_messages_are_delayed_on_the_standard_queue() {
    let aws = local_aws().await;
    let fifo = create_fifo_queue(&aws.sqs, &format!("{}.fifo", unique("jobs")))
        .await
        .unwrap();
    let polls = create_standard_queue(&aws.sqs, &unique("polls"))
        .await
        .unwrap();
    let poll = JobEnvelope::new(Job::Poll(PollJob {
        apply_id: ApplyId::parse("apply-00aa").unwrap(),
        chain_seq: 4,
    }));

    let without = JobQueue::new(aws.sqs.clone(), &fifo);
    assert!(matches!(
        without.send_delayed(&poll, Duration::from_secs(1)).await,
        Err(QueueError::NoDelayQueue)
    ));
    let queue = without.with_delay_queue(&polls);
    assert!(matches!(
        queue.send_delayed(&poll, Duration::from_secs(901)).await,
        Err(QueueError::DelayTooLong(_))
    ));

    queue
        .send_delayed(&poll, Duration::from_secs(2))
        .await
        .unwrap();
    let early = receive(&aws.sqs, &polls, 10, Duration::ZERO).await.unwrap();
    assert!(early.is_empty(), "delivered before its delay: {early:?}");
    let mut later = Vec::new();
    for _ in 0..5 {
        later.extend(
            receive(&aws.sqs, &polls, 10, Duration::from_secs(1))
                .await
                .unwrap(),
        );
        if !later.is_empty() {
            break;
        }
    }
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].envelope().unwrap(), poll);
}
