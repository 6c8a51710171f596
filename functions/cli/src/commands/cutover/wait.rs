//! Polling the store until the worker's outcome is known or the timeout passes.

use super::outcome::{OutcomeWatch, Progress};
use crate::commands::Context;
use crate::error::CliError;
use schemabot_domain::apply::Apply;
use std::time::Duration;
use tokio::time::Instant;

/// How often the outcome is looked for (two small strongly consistent reads each time).
const POLL_INTERVAL: Duration = Duration::from_millis(500);

pub(super) struct Waited {
    pub(super) progress: Progress,
    /// The apply as last read (after the events).
    pub(super) apply: Option<Apply>,
    /// Why the last look failed, if it did (reported on a timeout).
    pub(super) last_error: Option<String>,
}

/// Polls until the outcome is known or `timeout` passes. Read failures do not end the wait: the
/// request is already queued, so the honest answer to a failed read is "not known yet".
pub(super) async fn wait_for_outcome(
    cx: &Context<'_, '_>,
    watch: &OutcomeWatch,
    timeout: Duration,
) -> Waited {
    // A timeout too large for the clock means "wait as long as it takes".
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600));
    let mut waited = Waited {
        progress: Progress {
            outcome: None,
            claimed: false,
        },
        apply: None,
        last_error: None,
    };
    loop {
        // Events first, then the apply: the apply is then at least as new as the events.
        let looked = async {
            let events = cx.store.list_events(&watch.apply_id).await?;
            let apply = cx.store.get_apply(&watch.apply_id).await?;
            Ok::<_, schemabot_aws::StoreError>((events, apply))
        };
        match looked.await {
            Ok((events, apply)) => {
                waited.progress = watch.progress(&events, apply.as_ref());
                waited.apply = apply;
                waited.last_error = None;
                if waited.progress.outcome.is_some() {
                    return waited;
                }
            }
            Err(error) => {
                waited.last_error = Some(CliError::from_store(error, cx.table()).to_string())
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return waited;
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}
