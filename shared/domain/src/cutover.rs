//! Whether an earlier Cutover call whose answer was lost took effect, from evidence.
//!
//! A call that timed out (or a run that died after calling) leaves the outcome unknown. Tern may
//! refuse a second call precisely because the first one worked, so a refusal alone proves
//! nothing; the engine's report and Spirit's sentinel table do.

use crate::state::normalize::Normalized;
use crate::State;

/// What the evidence says about an earlier Cutover call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutoverEvidence {
    /// The cutover happened (the engine is past the wait, or the sentinel is gone).
    Happened,
    /// Nothing changed: the engine still waits and the sentinel is still there.
    NotHappened,
    /// The evidence cannot tell (an answer missing or in between).
    Unknown,
}

/// Judges from Tern's report of the apply (`None` when Tern could not answer) and the sentinel
/// (`None` when it could not be checked).
pub fn cutover_evidence(
    report: Option<&Normalized>,
    sentinel_present: Option<bool>,
) -> CutoverEvidence {
    let state = report.and_then(Normalized::state);
    let past_the_wait = matches!(
        state,
        Some(
            State::CuttingOver
                | State::Completed
                | State::RevertWindow
                | State::Reverting
                | State::Reverted
        )
    );
    // Spirit drops the sentinel only to cut over.
    if past_the_wait || sentinel_present == Some(false) {
        return CutoverEvidence::Happened;
    }
    match (state, sentinel_present) {
        (Some(State::WaitingForCutover | State::Recovering), Some(true)) => {
            CutoverEvidence::NotHappened
        }
        _ => CutoverEvidence::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(state: State) -> Normalized {
        Normalized::State(state)
    }

    #[test]
    fn the_engine_past_the_wait_or_a_missing_sentinel_means_it_happened() {
        for state in [State::CuttingOver, State::Completed, State::RevertWindow] {
            assert_eq!(
                cutover_evidence(Some(&report(state)), Some(true)),
                CutoverEvidence::Happened,
                "{state}"
            );
        }
        assert_eq!(
            cutover_evidence(None, Some(false)),
            CutoverEvidence::Happened
        );
        assert_eq!(
            cutover_evidence(Some(&report(State::WaitingForCutover)), Some(false)),
            CutoverEvidence::Happened
        );
    }

    #[test]
    fn only_a_waiting_engine_with_its_sentinel_proves_nothing_changed() {
        for state in [State::WaitingForCutover, State::Recovering] {
            assert_eq!(
                cutover_evidence(Some(&report(state)), Some(true)),
                CutoverEvidence::NotHappened
            );
        }
    }

    #[test]
    fn anything_less_stays_unknown() {
        let cases = [
            (None, Some(true)),
            (None, None),
            (Some(report(State::WaitingForCutover)), None),
            (Some(Normalized::NoActiveChange), Some(true)),
            (Some(Normalized::Unknown("STATE_42".into())), Some(true)),
            (Some(report(State::Failed)), Some(true)),
            (Some(report(State::Running)), Some(true)),
        ];
        for (report, sentinel) in cases {
            assert_eq!(
                cutover_evidence(report.as_ref(), sentinel),
                CutoverEvidence::Unknown,
                "{report:?} {sentinel:?}"
            );
        }
    }
}
