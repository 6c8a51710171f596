//! Normalisation of the state strings and numbers engines report into canonical [`State`]s.
//!
//! Tern passes through whatever its engine says: Spirit's camelCase `status.State` names, Vitess
//! `OnlineDDLStatus` values, SchemaBot's own snake_case storage strings, and the `STATE_*` names of
//! the Tern proto enum. Matching is case-insensitive. A value we do not know stays
//! [`Normalized::Unknown`] so the caller can log it; it is never guessed to be `running` (the
//! original's default, which could turn a garbled report into progress).

use super::State;

/// The result of normalising one engine-reported state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Normalized {
    /// A canonical state.
    State(State),
    /// The engine has no schema change in flight (`STATE_NO_ACTIVE_CHANGE`), e.g. after a restart.
    NoActiveChange,
    /// Not a value we recognise; holds the raw input for logging.
    Unknown(String),
}

impl Normalized {
    /// The canonical state, if there is one.
    pub fn state(&self) -> Option<State> {
        match self {
            Normalized::State(state) => Some(*state),
            Normalized::NoActiveChange | Normalized::Unknown(_) => None,
        }
    }
}

impl From<State> for Normalized {
    fn from(state: State) -> Self {
        Normalized::State(state)
    }
}

/// Normalises an engine-reported state string.
///
/// Leading/trailing whitespace is ignored and one `STATE_` prefix is stripped (any case); the rest
/// is matched case-insensitively against Spirit, Vitess, proto and storage names.
pub fn normalize(raw: &str) -> Normalized {
    let trimmed = raw.trim();
    let unprefixed = strip_prefix_ignore_case(trimmed, "state_").unwrap_or(trimmed);
    let key = unprefixed.to_ascii_lowercase();
    known_engine_value(&key).unwrap_or_else(|| Normalized::Unknown(raw.to_string()))
}

/// Maps a number of the Tern proto `State` enum. Numbers outside the enum are unknown.
pub fn proto_state(number: i32) -> Normalized {
    use State::*;
    let state = match number {
        0 => return Normalized::NoActiveChange,
        1 => Pending,
        2 => Running,
        3 => WaitingForCutover,
        4 => CuttingOver,
        5 => RevertWindow,
        6 => Completed,
        7 => Failed,
        8 => Stopped,
        9 => Reverted,
        10 => Cancelled,
        11 => PreparingBranch,
        12 => ApplyingBranchChanges,
        13 => CreatingDeployRequest,
        14 => WaitingForDeploy,
        15 => ValidatingDeployRequest,
        16 => ValidatingBranch,
        17 => Recovering,
        18 => Reverting,
        _ => return Normalized::Unknown(number.to_string()),
    };
    Normalized::State(state)
}

/// `key` is already lower-cased and unprefixed.
fn known_engine_value(key: &str) -> Option<Normalized> {
    use State::*;
    let state = match key {
        "no_active_change" => return Some(Normalized::NoActiveChange),
        // Spirit (`status.State.String()`): every phase before the sentinel wait is copying work.
        "initial"
        | "copyrows"
        | "applychangeset"
        | "restoresecondaryindexes"
        | "analyzetable"
        | "checksum"
        | "postchecksum"
        | "errcleanup" => Running,
        // Spirit parked at the sentinel; Vitess's derived "ready to complete" flag.
        "waitingonsentineltable" | "ready_to_complete" => WaitingForCutover,
        "cutover" => CuttingOver,
        "close" | "complete" => Completed,
        // Vitess: scheduled but not yet running.
        "queued" | "ready" | "requested" => Pending,
        // Storage / proto names (also Vitess `running`, `failed`, `cancelled`).
        other => return State::from_storage(other).map(Normalized::State),
    };
    Some(Normalized::State(state))
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    value
        .get(prefix.len()..)
        .filter(|_| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_stripped_in_any_case() {
        assert_eq!(strip_prefix_ignore_case("State_x", "state_"), Some("x"));
        assert_eq!(strip_prefix_ignore_case("stat", "state_"), None);
        // A multi-byte character straddling the prefix length must not panic.
        assert_eq!(strip_prefix_ignore_case("stat€_x", "state_"), None);
    }
}
