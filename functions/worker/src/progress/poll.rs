//! Per-apply poll chains: between sweeps, each active apply is reconciled every
//! `poll_interval` by a delayed message on the standard queue.
//!
//! The store keeps the chain's current link (`chain_seq`). A message `Poll { chain_seq: n }`
//! holds link `n`: it reconciles only while the stored link is `n`, then moves the link to
//! `n + 1` with a conditional write and sends the next message. Of duplicate or late messages
//! for one link at most one advances, so chains never multiply; a message for an older link is
//! dropped. A reconciliation failure does not break the chain (the next link retries), and a
//! terminal apply sends no next link. The sweep restarts a chain that stopped advancing (a
//! crash between the advance and the send), again through the same conditional advance.

use crate::outcome::JobError;
use crate::progress::error::ProgressError;
use crate::progress::reconcile::reconcile_snapshot;
use crate::Worker;
use chrono::{DateTime, TimeDelta, Utc};
use schemabot_aws::codec::{self, attr, s};
use schemabot_aws::keys;
use schemabot_aws::store::ApplySnapshot;
use schemabot_domain::job::{Job, JobEnvelope, PollJob};
use schemabot_domain::ApplyId;
use std::time::Duration;

/// The shortest time without an advance after which a chain counts as dead, whatever the poll
/// interval (SQS delays and Lambda throttling can hold a message back for a while).
const MIN_CHAIN_SILENCE: Duration = Duration::from_secs(60);
/// Links a live chain may miss before it counts as dead.
const MISSED_LINKS: u32 = 3;

/// Where an apply's chain is, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainStatus {
    pub seq: u64,
    /// When the chain last advanced.
    pub advanced_at: Option<DateTime<Utc>>,
}

/// Whether a chain is still advancing (pure): it advanced within the last
/// max(3 × `poll_interval`, 1 min).
pub fn chain_is_alive(
    status: Option<&ChainStatus>,
    now: DateTime<Utc>,
    poll_interval: Duration,
) -> bool {
    let silence = (poll_interval * MISSED_LINKS).max(MIN_CHAIN_SILENCE);
    let silence = TimeDelta::from_std(silence).unwrap_or(TimeDelta::MAX);
    status
        .and_then(|status| status.advanced_at)
        .is_some_and(|advanced_at| now - advanced_at < silence)
}

/// Runs one poll message.
pub async fn run(worker: &Worker, job: &PollJob) -> Result<(), JobError> {
    let snapshot = worker
        .store
        .load_snapshot(&job.apply_id)
        .await
        .map_err(ProgressError::from)?;
    let Some(snapshot) = snapshot else {
        tracing::info!(apply_id = %job.apply_id, "apply not stored; its poll chain ends");
        return Ok(());
    };
    if snapshot.poll_chain_seq != Some(job.chain_seq) {
        tracing::debug!(apply_id = %job.apply_id, link = job.chain_seq, current = ?snapshot.poll_chain_seq, "stale poll link; dropped");
        return Ok(());
    }
    let ended = match reconcile_snapshot(worker, snapshot).await {
        Ok(report) => report.is_terminal(),
        Err(error) => {
            tracing::warn!(apply_id = %job.apply_id, %error, "reconcile failed; the next poll retries");
            false
        }
    };
    if ended {
        tracing::info!(apply_id = %job.apply_id, "apply ended; its poll chain stops");
        return Ok(());
    }
    continue_chain(worker, &job.apply_id, job.chain_seq).await?;
    Ok(())
}

/// Moves the apply's chain from link `seq` to the next and schedules that link. `Ok(false)`
/// when the chain is not at `seq` (another message or run holds it): nothing is sent.
pub async fn continue_chain(
    worker: &Worker,
    apply_id: &ApplyId,
    seq: u64,
) -> Result<bool, ProgressError> {
    if !worker.store.advance_poll_chain(apply_id, seq).await? {
        return Ok(false);
    }
    let next = JobEnvelope::new(Job::Poll(PollJob {
        apply_id: apply_id.clone(),
        chain_seq: seq + 1,
    }));
    worker
        .queue
        .send_delayed(&next, worker.config.poll_interval)
        .await?;
    Ok(true)
}

/// Starts a chain for the apply unless a live one exists (`status` as loaded with the apply).
/// Returns whether one was started.
pub async fn ensure_chain(
    worker: &Worker,
    apply_id: &ApplyId,
    status: Option<ChainStatus>,
) -> Result<bool, ProgressError> {
    if chain_is_alive(status.as_ref(), Utc::now(), worker.config.poll_interval) {
        return Ok(false);
    }
    let seq = status.map_or(0, |status| status.seq);
    let started = continue_chain(worker, apply_id, seq).await?;
    if started {
        tracing::info!(apply_id = %apply_id, from_link = seq, "poll chain (re)started");
    }
    Ok(started)
}

/// The apply with everything under its partition — like `Store::load_snapshot`, one strongly
/// consistent Query — plus when its poll chain last advanced, which `load_snapshot` leaves out.
/// (Once the store's snapshot carries the advance time, this becomes `load_snapshot`.)
pub async fn load_with_chain(
    worker: &Worker,
    apply_id: &ApplyId,
) -> Result<Option<(ApplySnapshot, Option<ChainStatus>)>, ProgressError> {
    let failed = |reason: String| ProgressError::PollChain {
        apply_id: apply_id.clone(),
        reason,
    };
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = worker
            .store
            .client()
            .query()
            .table_name(worker.store.table_name())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_values(":pk", s(keys::apply_pk(apply_id)))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| failed(aws_error_text(&e)))?;
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(last) if !last.is_empty() => start = Some(last.clone()),
            _ => break,
        }
    }

    let mut apply = None;
    let mut tasks = Vec::new();
    let mut comments = Vec::new();
    let mut chain = None;
    for item in &items {
        let Some(sk) = item.get(attr::SK).and_then(|v| v.as_s().ok()) else {
            continue;
        };
        let decoded = |e: schemabot_aws::codec::DecodeError| ProgressError::Store(e.into());
        if sk == keys::APPLY_SK {
            apply = Some(codec::decode_apply(item).map_err(decoded)?);
        } else if sk.starts_with(keys::TASK_PREFIX) {
            tasks.push(codec::decode_task(item).map_err(decoded)?);
        } else if sk.starts_with(keys::COMMENT_PREFIX) {
            comments.push(codec::decode_comment(item).map_err(decoded)?);
        } else if sk == keys::POLL_SK {
            let seq = item
                .get(attr::CHAIN_SEQ)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| failed("the chain record has no readable chain_seq".into()))?;
            let advanced_at = item
                .get(attr::UPDATED_AT)
                .and_then(|v| v.as_s().ok())
                .and_then(|raw| DateTime::parse_from_rfc3339(raw).ok())
                .map(|at| at.with_timezone(&Utc));
            chain = Some(ChainStatus { seq, advanced_at });
        }
    }
    Ok(apply.map(|apply| {
        let snapshot = ApplySnapshot {
            apply,
            tasks,
            comments,
            poll_chain_seq: chain.map(|c| c.seq),
        };
        (snapshot, chain)
    }))
}

fn aws_error_text(error: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(error), |error| error.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_is_dead_after_missing_three_links_or_a_minute() {
        let now = Utc::now();
        let at = |seconds_ago: i64| ChainStatus {
            seq: 4,
            advanced_at: Some(now - TimeDelta::seconds(seconds_ago)),
        };
        let twelve = Duration::from_secs(12);
        assert!(!chain_is_alive(None, now, twelve));
        assert!(chain_is_alive(Some(&at(30)), now, twelve));
        assert!(
            chain_is_alive(Some(&at(59)), now, twelve),
            "at least a minute of grace"
        );
        assert!(!chain_is_alive(Some(&at(61)), now, twelve));
        assert!(chain_is_alive(Some(&at(80)), now, Duration::from_secs(30)));
        assert!(!chain_is_alive(Some(&at(91)), now, Duration::from_secs(30)));
        let unknown_time = ChainStatus {
            seq: 4,
            advanced_at: None,
        };
        assert!(!chain_is_alive(Some(&unknown_time), now, twelve));
    }
}
