//! The messages stored on tasks that reconciliation completes or fails, and the runbook they cite.

/// The error message of a task failed because its engine forgot it.
pub const ABANDONED_MESSAGE: &str =
    "Task abandoned: engine has no active schema change (server may have crashed)";

/// Where operators find what to do when the live schema does not match after a recovery.
pub const RECONCILE_RUNBOOK: &str = "docs/operations.md#a-failed-reconciliation";

/// The stored message of a task completed because its desired schema was found live.
pub const VERIFIED_LIVE_MESSAGE: &str =
    "Verified against the live schema: the desired schema is in place";

/// The stored message of a task whose change was lost: what is missing and where to go next.
pub fn reconcile_failure_message(remaining: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut message = String::from(
        "Needs a person: the engine lost this change after a restart and its sentinel table is gone, \
         but the live schema does not match the desired one, so the cutover did not happen.",
    );
    if !remaining.is_empty() {
        message.push_str(" Still missing: ");
        let shown: Vec<&str> = remaining.iter().take(SHOWN).map(String::as_str).collect();
        message.push_str(&shown.join("; "));
        if remaining.len() > SHOWN {
            message.push_str(&format!(" (and {} more)", remaining.len() - SHOWN));
        }
        message.push('.');
    }
    message.push_str(&format!(" Runbook: {RECONCILE_RUNBOOK}"));
    message
}
