//! The audit vocabulary: what an audit event (of an apply or of a lock) records as its event and
//! its outcome, and what the `Commands` metric counts. Each value has one stored text; the
//! worker writes these and readers (the CLI, tests) match the variants, never the text.
//!
//! History stays readable across versions: text this version does not name decodes as
//! `Unrecognised` and reads back (and is written back) unchanged. Only decoding makes one.

use crate::state::reconcile::TransitionReason;
use crate::State;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::hash::{Hash, Hasher};

/// Declares a vocabulary enum: its variants with their stored text, plus `Unrecognised`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
            /// Stored text this version does not name (see the module docs).
            Unrecognised(String),
        }

        impl $name {
            /// Every value this version names (all but `Unrecognised`).
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The stored text.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Unrecognised(text) => text,
                }
            }

            /// Reads stored text: the named value, or `Unrecognised` for text this version
            /// does not name.
            pub fn parse(text: &str) -> Self {
                match text {
                    $( $text => $name::$variant, )+
                    other => $name::Unrecognised(other.to_string()),
                }
            }
        }

        /// Values are equal when their stored text is.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl Eq for $name {}

        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.as_str().hash(state);
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok($name::parse(&text))
            }
        }
    };
}

vocabulary! {
    /// What an audit event records: a step of an apply (`cutover_claimed`, `state_transition`,
    /// `stop_requested`, …) or of a lock (`lock_acquired`, `apply_refused`, `unlock`, …).
    EventKind {
        // The cutover command.
        CutoverClaimed = "cutover_claimed",
        CutoverTriggered = "cutover_triggered",
        CutoverRefused = "cutover_refused",
        CutoverNotAccepted = "cutover_not_accepted",
        CutoverFailed = "cutover_failed",
        // Progress: claims settled by the sweep, state changes, registration.
        CutoverSettled = "cutover_settled",
        ClaimReleased = "claim_released",
        StateTransition = "state_transition",
        ApplyRegistered = "apply_registered",
        // Every answer to a lifecycle control (see `ControlOp::audit_event`).
        StopRequested = "stop_requested",
        StartRequested = "start_requested",
        CancelRequested = "cancel_requested",
        RevertRequested = "revert_requested",
        SkipRevertRequested = "skip_revert_requested",
        // Every answer to `rollback`.
        RollbackRequested = "rollback_requested",
        // The (database, environment) trail: plans, locks and their commands.
        PlanPosted = "plan_posted",
        LockAcquired = "lock_acquired",
        LockRefused = "lock_refused",
        LockReleased = "lock_released",
        LockSettled = "lock_settled",
        ApplyRefused = "apply_refused",
        ApplyConfirmed = "apply_confirmed",
        CommandRefused = "command_refused",
        Unlock = "unlock",
        PrClosed = "pr_closed",
        // `unlock --force` and the CLI's `unlock`.
        LockForceReleased = "lock_force_released",
        LockForceReleaseRefused = "lock_force_release_refused",
    }
}

vocabulary! {
    /// What an audit event or a command came to: a command's outcome (also the `Outcome`
    /// dimension of the `Commands` metric), a refusal's reason, or why a state changed.
    Outcome {
        // Commands on an apply (cutover and the controls).
        Claimed = "claimed",
        Accepted = "accepted",
        Triggered = "triggered",
        AlreadyTriggered = "already_triggered",
        AlreadyDone = "already_done",
        AlreadyRequested = "already_requested",
        NotAccepted = "not_accepted",
        Failed = "failed",
        /// Whether Tern's cutover took effect is not known yet (the sweep settles it).
        OutcomeUnknown = "outcome_unknown",
        PermissionDenied = "permission_denied",
        ReviewRequired = "review_required",
        EnvironmentMismatch = "environment_mismatch",
        ApplyNotFound = "apply_not_found",
        NoApply = "no_apply",
        Ambiguous = "ambiguous",
        Recovering = "recovering",
        NotAvailable = "not_available",
        // State refusals of the controls (`StateRefusal::code`).
        Ended = "ended",
        PastCutover = "past_cutover",
        NotStopped = "not_stopped",
        NoRevertWindow = "no_revert_window",
        // Rollback refusals (`RollbackRefusal::code`) and outcomes.
        NotTerminal = "not_terminal",
        NotCompleted = "not_completed",
        NotLatest = "not_latest",
        NotCaptured = "not_captured",
        NothingToRollback = "nothing_to_rollback",
        PlanErrors = "plan_errors",
        PlanFailed = "plan_failed",
        SeveralRollbackPlans = "several_rollback_plans",
        PrNotOpen = "pr_not_open",
        AlreadyRolledBack = "already_rolled_back",
        // Ownership refusals (`OwnershipRefusal::code`).
        DatabaseNotConfigured = "database_not_configured",
        RepositoryNotAllowed = "repository_not_allowed",
        DirectoryNotAllowed = "directory_not_allowed",
        // Plans, locks and their commands.
        Changes = "changes",
        NoChanges = "no_changes",
        Errors = "errors",
        Planned = "planned",
        Locked = "locked",
        Applying = "applying",
        Confirming = "confirming",
        Applied = "applied",
        HeldByOther = "held_by_other",
        OwnApplyInProgress = "own_apply_in_progress",
        ApplyInProgress = "apply_in_progress",
        NoSchemaChanges = "no_schema_changes",
        UpToDate = "up_to_date",
        NoLock = "no_lock",
        Stale = "stale",
        UnsafeNeedsFlag = "unsafe_needs_flag",
        PromotionRequired = "promotion_required",
        Refused = "refused",
        TernRefused = "tern_refused",
        Unlocked = "unlocked",
        Released = "released",
        KeptWhileApplying = "kept_while_applying",
        NotHeld = "not_held",
        Adopted = "adopted",
        ConfirmNeverStarted = "confirm_never_started",
        // The end an apply's lock was released at (with `Failed`; see `Outcome::ended_in`).
        Completed = "completed",
        Cancelled = "cancelled",
        Reverted = "reverted",
        // Progress: registration, claims settled, state changes and their reasons.
        Registered = "registered",
        SentinelPresent = "sentinel_present",
        SentinelAbsent = "sentinel_absent",
        EngineReported = "engine_reported",
        CutoverAccepted = "cutover_accepted",
        VerifiedLiveSchema = "verified_live_schema",
        LiveSchemaDiffers = "live_schema_differs",
        Abandoned = "abandoned",
        EngineTerminalNotAllowed = "engine_terminal_not_allowed",
        DerivedFromTasks = "derived_from_tasks",
        // A state change that follows an accepted control (`ControlOp::accepted_outcome`).
        StopAccepted = "stop_accepted",
        StartAccepted = "start_accepted",
        CancelAccepted = "cancel_accepted",
        RevertAccepted = "revert_accepted",
        SkipRevertAccepted = "skip_revert_accepted",
    }
}

impl Outcome {
    /// The outcome of a lock released because its apply ended in `state`: the state's name
    /// (`completed`, `failed`, `cancelled`, `reverted`).
    pub fn ended_in(state: State) -> Outcome {
        match state {
            State::Completed => Outcome::Completed,
            State::Failed => Outcome::Failed,
            State::Cancelled => Outcome::Cancelled,
            State::Reverted => Outcome::Reverted,
            // Not an end: recorded by its name all the same.
            other => Outcome::parse(other.as_str()),
        }
    }
}

impl From<TransitionReason> for Outcome {
    fn from(reason: TransitionReason) -> Outcome {
        match reason {
            TransitionReason::EngineReported => Outcome::EngineReported,
            TransitionReason::SentinelPresent => Outcome::SentinelPresent,
            TransitionReason::CutoverAccepted => Outcome::CutoverAccepted,
            TransitionReason::VerifiedLive => Outcome::VerifiedLiveSchema,
            TransitionReason::LiveSchemaDiffers => Outcome::LiveSchemaDiffers,
            TransitionReason::Abandoned => Outcome::Abandoned,
            TransitionReason::EngineTerminalNotAllowed { .. } => Outcome::EngineTerminalNotAllowed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{ControlOp, StateRefusal};

    #[test]
    fn every_event_kind_round_trips_through_its_stored_text() {
        for kind in EventKind::KNOWN {
            assert_eq!(&EventKind::parse(kind.as_str()), kind, "{kind}");
            assert!(!matches!(
                EventKind::parse(kind.as_str()),
                EventKind::Unrecognised(_)
            ));
        }
    }

    #[test]
    fn every_outcome_round_trips_through_its_stored_text() {
        for outcome in Outcome::KNOWN {
            assert_eq!(&Outcome::parse(outcome.as_str()), outcome, "{outcome}");
            assert!(!matches!(
                Outcome::parse(outcome.as_str()),
                Outcome::Unrecognised(_)
            ));
        }
    }

    #[test]
    fn stored_texts_are_distinct() {
        let mut events: Vec<&str> = EventKind::KNOWN.iter().map(EventKind::as_str).collect();
        let mut outcomes: Vec<&str> = Outcome::KNOWN.iter().map(Outcome::as_str).collect();
        let (event_count, outcome_count) = (events.len(), outcomes.len());
        events.sort_unstable();
        events.dedup();
        outcomes.sort_unstable();
        outcomes.dedup();
        assert_eq!(events.len(), event_count);
        assert_eq!(outcomes.len(), outcome_count);
    }

    #[test]
    fn unknown_text_reads_back_and_is_written_back_unchanged() {
        let outcome = Outcome::parse("a_future_outcome");
        assert_eq!(outcome, Outcome::Unrecognised("a_future_outcome".into()));
        assert_eq!(outcome.as_str(), "a_future_outcome");
        let kind = EventKind::parse("a_future_event");
        assert_eq!(kind.to_string(), "a_future_event");
        // Equality is by stored text, so a value can never be told apart from its own text.
        assert_eq!(Outcome::Unrecognised("accepted".into()), Outcome::Accepted);
    }

    #[test]
    fn serde_uses_the_stored_text() {
        let json = serde_json::to_string(&(EventKind::CutoverClaimed, Outcome::Claimed)).unwrap();
        assert_eq!(json, r#"["cutover_claimed","claimed"]"#);
        let back: (EventKind, Outcome) = serde_json::from_str(r#"["unlock","later"]"#).unwrap();
        assert_eq!(
            back,
            (EventKind::Unlock, Outcome::Unrecognised("later".into()))
        );
    }

    #[test]
    fn domain_codes_are_named_outcomes() {
        for op in ControlOp::ALL {
            assert!(!matches!(op.audit_event(), EventKind::Unrecognised(_)));
            assert!(!matches!(op.accepted_outcome(), Outcome::Unrecognised(_)));
        }
        for state in State::ALL.into_iter().filter(|s| s.is_terminal()) {
            let outcome = Outcome::ended_in(state);
            assert!(!matches!(outcome, Outcome::Unrecognised(_)), "{state}");
            assert_eq!(outcome.as_str(), state.as_str());
        }
        let refusals = [
            StateRefusal::Ended {
                state: State::Completed,
            },
            StateRefusal::PastCutover {
                state: State::CuttingOver,
            },
            StateRefusal::NotStopped {
                state: State::Running,
            },
            StateRefusal::NoRevertWindow {
                state: State::Running,
            },
            StateRefusal::Recovering,
        ];
        for refusal in refusals {
            assert!(!matches!(refusal.code(), Outcome::Unrecognised(_)));
        }
    }
}
