//! The 20-cell progress bar shown per table.
//!
//! The colour tells the phase at a glance: blue while rows are copied, yellow once the copy is
//! done and the table waits for (or goes through) its cutover, green only when complete, orange
//! when stopped and red when failed.

use schemabot_domain::State;

/// Number of cells in a bar; each stands for 5 %.
pub const CELLS: usize = 20;

const EMPTY_CELL: &str = "⬜";

/// The colour of the filled cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarColor {
    /// Row copy in progress.
    Blue,
    /// Copy done: waiting for cutover, cutting over, revert window, recovering.
    Yellow,
    /// Complete.
    Green,
    /// Stopped.
    Orange,
    /// Failed.
    Red,
}

impl BarColor {
    pub const ALL: [BarColor; 5] = [
        BarColor::Blue,
        BarColor::Yellow,
        BarColor::Green,
        BarColor::Orange,
        BarColor::Red,
    ];

    fn cell(self) -> &'static str {
        match self {
            BarColor::Blue => "🟦",
            BarColor::Yellow => "🟨",
            BarColor::Green => "🟩",
            BarColor::Orange => "🟧",
            BarColor::Red => "🟥",
        }
    }
}

/// How many of the 20 cells a percentage fills: `clamp(percent, 0..=100) / 5`, but at least
/// one as soon as anything happened.
pub fn filled_cells(percent: u8) -> usize {
    match usize::from(percent.min(100)) {
        0 => 0,
        percent => (percent / 5).max(1),
    }
}

/// A bar of `color` filled to `percent`.
pub fn bar(color: BarColor, percent: u8) -> String {
    let filled = filled_cells(percent);
    color.cell().repeat(filled) + &EMPTY_CELL.repeat(CELLS - filled)
}

/// The bar a table in `state` shows at `percent`, following the colour rules above. States that
/// have no bar of their own (pending, cancelled, reverted) get `None`; the caller decides about
/// recovering without known progress.
pub fn bar_for_state(state: State, percent: u8) -> Option<String> {
    match state {
        State::WaitingForCutover
        | State::CuttingOver
        | State::RevertWindow
        | State::Reverting
        | State::Recovering => Some(bar(BarColor::Yellow, 100)),
        State::Completed => Some(bar(BarColor::Green, 100)),
        State::Stopped => Some(bar(BarColor::Orange, percent)),
        State::Failed => Some(bar(BarColor::Red, percent)),
        State::Pending | State::Cancelled | State::Reverted => None,
        State::Running
        | State::WaitingForDeploy
        | State::PreparingBranch
        | State::ApplyingBranchChanges
        | State::ValidatingBranch
        | State::CreatingDeployRequest
        | State::ValidatingDeployRequest => Some(bar(BarColor::Blue, percent)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(haystack: &str, cell: &str) -> usize {
        haystack.matches(cell).count()
    }

    #[test]
    fn filling_follows_the_reference_examples() {
        for (percent, filled) in [
            (0, 0),
            (1, 1),
            (3, 1),
            (5, 1),
            (9, 1),
            (10, 2),
            (32, 6),
            (45, 9),
            (72, 14),
            (99, 19),
            (100, 20),
            (250, 20),
        ] {
            assert_eq!(filled_cells(percent), filled, "{percent}%");
        }
    }

    #[test]
    fn bars_always_have_twenty_cells() {
        for color in BarColor::ALL {
            for percent in [0, 3, 45, 100, 200] {
                let b = bar(color, percent);
                assert_eq!(count(&b, color.cell()) + count(&b, EMPTY_CELL), CELLS);
            }
        }
        assert_eq!(
            bar(BarColor::Blue, 45),
            format!("{}{}", "🟦".repeat(9), "⬜".repeat(11))
        );
    }

    #[test]
    fn colours_by_state() {
        let yellow_full = "🟨".repeat(20);
        for state in [
            State::WaitingForCutover,
            State::CuttingOver,
            State::RevertWindow,
            State::Recovering,
        ] {
            assert_eq!(
                bar_for_state(state, 40).as_deref(),
                Some(yellow_full.as_str()),
                "{state}"
            );
        }
        assert_eq!(bar_for_state(State::Completed, 0), Some("🟩".repeat(20)));
        assert_eq!(
            bar_for_state(State::Running, 32),
            Some(format!("{}{}", "🟦".repeat(6), "⬜".repeat(14)))
        );
        assert_eq!(
            bar_for_state(State::Stopped, 72),
            Some(format!("{}{}", "🟧".repeat(14), "⬜".repeat(6)))
        );
        assert_eq!(bar_for_state(State::Stopped, 100), Some("🟧".repeat(20)));
        assert_eq!(
            bar_for_state(State::Failed, 3),
            Some(format!("🟥{}", "⬜".repeat(19)))
        );
        assert_eq!(bar_for_state(State::Pending, 0), None);
        assert_eq!(bar_for_state(State::Cancelled, 0), None);
    }
}
