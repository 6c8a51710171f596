//! Normalisation of engine state strings and proto numbers.

use proptest::prelude::*;
use schemabot_domain::state::normalize::{normalize, proto_state, Normalized};
use schemabot_domain::State;
use State::*;

fn state(raw: &str) -> Option<State> {
    normalize(raw).state()
}

#[test]
fn spirit_states_map_to_canonical_states() {
    for copying in [
        "initial",
        "copyRows",
        "applyChangeset",
        "restoreSecondaryIndexes",
        "analyzeTable",
        "checksum",
        "postChecksum",
        "errCleanup",
    ] {
        assert_eq!(state(copying), Some(Running), "{copying}");
    }
    assert_eq!(state("waitingOnSentinelTable"), Some(WaitingForCutover));
    assert_eq!(state("cutOver"), Some(CuttingOver));
    assert_eq!(state("close"), Some(Completed));
}

#[test]
fn vitess_states_map_to_canonical_states() {
    for scheduled in ["queued", "ready", "requested"] {
        assert_eq!(state(scheduled), Some(Pending), "{scheduled}");
    }
    assert_eq!(state("running"), Some(Running));
    assert_eq!(state("complete"), Some(Completed));
    assert_eq!(state("failed"), Some(Failed));
    assert_eq!(state("cancelled"), Some(Cancelled));
    assert_eq!(state("ready_to_complete"), Some(WaitingForCutover));
}

#[test]
fn every_storage_string_passes_through() {
    for canonical in State::ALL {
        assert_eq!(
            normalize(canonical.as_str()),
            Normalized::State(canonical),
            "{canonical}"
        );
    }
    // Named explicitly: added to SchemaBot later than the rest.
    assert_eq!(state("recovering"), Some(Recovering));
}

#[test]
fn every_proto_enum_name_maps_to_its_state() {
    for canonical in State::ALL {
        let proto_name = format!("STATE_{}", canonical.as_str().to_ascii_uppercase());
        assert_eq!(state(&proto_name), Some(canonical), "{proto_name}");
    }
    assert_eq!(state("STATE_WAITING_FOR_CUTOVER"), Some(WaitingForCutover));
    assert_eq!(state("STATE_VALIDATING_BRANCH"), Some(ValidatingBranch));
}

#[test]
fn no_active_change_in_every_spelling() {
    for raw in [
        "STATE_NO_ACTIVE_CHANGE",
        "no_active_change",
        "state_no_active_change",
        "No_Active_Change",
    ] {
        assert_eq!(normalize(raw), Normalized::NoActiveChange, "{raw}");
    }
}

#[test]
fn prefixes_are_stripped_in_any_case() {
    assert_eq!(state("STATE_running"), Some(Running));
    assert_eq!(state("state_complete"), Some(Completed));
    assert_eq!(state("State_Waiting_For_Cutover"), Some(WaitingForCutover));
    assert_eq!(state("STATE_cutOver"), Some(CuttingOver));
}

#[test]
fn matching_is_case_insensitive() {
    assert_eq!(state("COPYROWS"), Some(Running));
    assert_eq!(state("CopyRows"), Some(Running));
    assert_eq!(state("WAITINGONSENTINELTABLE"), Some(WaitingForCutover));
    assert_eq!(state("RUNNING"), Some(Running));
    assert_eq!(state("COMPLETED"), Some(Completed));
    assert_eq!(state("COMPLETE"), Some(Completed));
    assert_eq!(state("Cancelled"), Some(Cancelled));
    assert_eq!(state("RECOVERING"), Some(Recovering));
    assert_eq!(state("Ready_To_Complete"), Some(WaitingForCutover));
}

#[test]
fn surrounding_whitespace_is_ignored() {
    assert_eq!(state(" running\n"), Some(Running));
}

#[test]
fn unknown_values_stay_unknown_with_the_raw_value() {
    for raw in [
        "",
        " ",
        "unknown",
        "something_unknown",
        "STATE_",
        "copy rows",
        "runningx",
        "STATE_STATE_UNSPECIFIED",
        "42",
    ] {
        assert_eq!(
            normalize(raw),
            Normalized::Unknown(raw.to_string()),
            "{raw:?}"
        );
    }
}

#[test]
fn proto_numbers_map_to_the_tern_state_enum() {
    let expected = [
        (1, Pending),
        (2, Running),
        (3, WaitingForCutover),
        (4, CuttingOver),
        (5, RevertWindow),
        (6, Completed),
        (7, Failed),
        (8, Stopped),
        (9, Reverted),
        (10, Cancelled),
        (11, PreparingBranch),
        (12, ApplyingBranchChanges),
        (13, CreatingDeployRequest),
        (14, WaitingForDeploy),
        (15, ValidatingDeployRequest),
        (16, ValidatingBranch),
        (17, Recovering),
        (18, Reverting),
    ];
    assert_eq!(proto_state(0), Normalized::NoActiveChange);
    for (number, canonical) in expected {
        assert_eq!(
            proto_state(number),
            Normalized::State(canonical),
            "{number}"
        );
    }
    // Every state is reachable by number.
    for canonical in State::ALL {
        assert!(
            expected.iter().any(|(_, s)| *s == canonical),
            "{canonical} has no proto number"
        );
    }
    // Values newer servers add (or garbage) stay unknown.
    for number in [-1, 19, 20, i32::MAX, i32::MIN] {
        assert_eq!(proto_state(number), Normalized::Unknown(number.to_string()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normalisation_ignores_ascii_case(raw in "[a-zA-Z_ ]{0,30}") {
        prop_assert_eq!(
            normalize(&raw.to_ascii_uppercase()).state(),
            normalize(&raw.to_ascii_lowercase()).state()
        );
    }

    #[test]
    fn unknown_always_carries_the_raw_input(raw in "\\PC{0,40}") {
        if let Normalized::Unknown(kept) = normalize(&raw) {
            prop_assert_eq!(kept, raw);
        }
    }
}
