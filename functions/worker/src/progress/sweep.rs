//! The scheduled sweep (EventBridge): every active apply is reconciled, at most
//! `sweep_concurrency` at once, and any apply whose poll chain stopped advancing gets a new one.
//! It is the backstop behind the poll chains: whatever a crashed poll left undone, the next
//! sweep does.

use crate::progress::comments::CommentReport;
use crate::progress::error::ProgressError;
use crate::progress::lock_settle::{self, LockSettleReport};
use crate::progress::poll;
use crate::progress::reconcile::{reconcile_snapshot, ClaimSettlement, ReconcileReport};
use crate::Worker;
use futures::stream::{self, StreamExt};
use schemabot_domain::ApplyId;
use serde::Serialize;
use std::time::Instant;
use tracing::Instrument;

/// What one sweep did (the scheduled invocation's result, and its log line).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepReport {
    /// Applies listed by the `active` index.
    pub active: usize,
    pub reconciled: usize,
    /// Applies whose reconciliation failed (including Tern unreachable).
    pub failed: usize,
    /// Applies that ended in this sweep.
    pub ended: usize,
    pub task_transitions: usize,
    pub apply_transitions: usize,
    pub downgrades_refused: usize,
    pub claims_settled: usize,
    pub comments: CommentReport,
    /// Poll chains (re)started because none was alive.
    pub chains_started: usize,
    pub chain_errors: usize,
    pub elapsed_ms: u64,
    /// Listing the active applies failed: nothing was swept.
    pub list_error: Option<String>,
    /// Locks whose confirm stopped, settled after their lease.
    pub locks: LockSettleReport,
}

/// One apply's part of a sweep.
struct ApplySweep {
    reconciled: Result<ReconcileReport, String>,
    chain_started: Result<bool, String>,
}

pub async fn run(worker: &Worker) -> SweepReport {
    let started = Instant::now();
    let mut report = SweepReport::default();
    let active = match worker.store.list_all_active().await {
        Ok(active) => active,
        Err(error) => {
            tracing::error!(%error, "sweep could not list the active applies");
            report.list_error = Some(error.to_string());
            report.elapsed_ms = elapsed_ms(started);
            return report;
        }
    };
    report.active = active.len();
    let concurrency = worker.config.sweep_concurrency.max(1);
    let applies = stream::iter(active)
        .map(|listed| sweep_one(worker, listed.apply_id))
        .buffer_unordered(concurrency)
        .collect::<Vec<ApplySweep>>();
    // Settling leased locks runs beside the applies: it never waits on them.
    let (locks, results) = futures::join!(lock_settle::run(worker), applies);
    report.locks = locks;
    for result in results {
        match result.reconciled {
            Ok(applied) => {
                report.reconciled += 1;
                report.failed += usize::from(applied.tern_error.is_some());
                report.ended += usize::from(applied.is_terminal());
                report.task_transitions += applied.task_transitions;
                report.apply_transitions += usize::from(applied.apply_transition.is_some());
                report.downgrades_refused += applied.downgrades_refused;
                report.claims_settled +=
                    usize::from(applied.claim.is_some_and(|c| c != ClaimSettlement::Waiting));
                report.comments.add(applied.comments);
            }
            Err(_) => report.failed += 1,
        }
        match result.chain_started {
            Ok(started) => report.chains_started += usize::from(started),
            Err(_) => report.chain_errors += 1,
        }
    }
    report.elapsed_ms = elapsed_ms(started);
    tracing::info!(
        active = report.active,
        failed = report.failed,
        ended = report.ended,
        edits = report.comments.edits,
        chains_started = report.chains_started,
        elapsed_ms = report.elapsed_ms,
        "sweep done"
    );
    report
}

async fn sweep_one(worker: &Worker, apply_id: ApplyId) -> ApplySweep {
    let span = tracing::info_span!("sweep_apply", apply_id = %apply_id);
    async {
        let loaded = poll::load_with_chain(worker, &apply_id)
            .await
            .inspect_err(|error| tracing::warn!(%error, "sweep could not load the apply"))
            // Listed by the (eventually consistent) index but gone: nothing to do.
            .and_then(|loaded| {
                loaded.ok_or_else(|| ProgressError::ApplyNotFound(apply_id.clone()))
            });
        let (snapshot, chain) = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                return ApplySweep {
                    reconciled: Err(error.to_string()),
                    chain_started: Ok(false),
                }
            }
        };
        let reconciled = reconcile_snapshot(worker, snapshot).await.map_err(|error| {
            tracing::warn!(%error, "sweep could not reconcile the apply");
            error.to_string()
        });
        // An apply that ended needs no chain; one that failed to reconcile still does.
        let chain_started = if reconciled.as_ref().is_ok_and(ReconcileReport::is_terminal) {
            Ok(false)
        } else {
            poll::ensure_chain(worker, &apply_id, chain)
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "sweep could not restart the poll chain");
                    error.to_string()
                })
        };
        ApplySweep {
            reconciled,
            chain_started,
        }
    }
    .instrument(span)
    .await
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
