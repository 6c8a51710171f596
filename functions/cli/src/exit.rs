//! Exit codes scripts can rely on. Documented in `--help` (see [`EXIT_CODES_HELP`]), the README
//! and `docs/cli.md`; changing a number is a breaking change.

/// The process exit status of a `schemabot` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Exit {
    /// Done: the command's output is complete (for `cutover`: Tern accepted the cutover; for a
    /// control: Tern accepted it, or the apply already was where it leads; for
    /// `progress --watch`: the apply completed; for `unlock`: released, or no lock to release).
    Success = 0,
    /// A bug or an unexpected local failure (e.g. stdout closed).
    Internal = 1,
    /// The cutover or control was refused and not carried out by this request: already
    /// triggered or requested, recovering, not in a state that allows it, environment mismatch,
    /// not owned by the repository, or not accepted by Tern; for `unlock`: the lock's change is
    /// being confirmed or applied.
    Refused = 2,
    /// The cutover or control failed, or no outcome arrived within `--timeout` (for
    /// `progress --watch`: the apply ended failed, cancelled or reverted).
    Failed = 3,
    /// No such apply.
    NotFound = 4,
    /// Configuration, credentials, permissions or network: nothing was decided.
    Environment = 5,
    /// The command line is wrong (BSD `EX_USAGE`).
    Usage = 64,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The exit-code table shown at the end of `schemabot --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0   success (cutover: triggered; stop/start/cancel/revert/skip-revert: accepted or
      already done; unlock: released, or no lock to release; rollback: planned and locked,
      or nothing to roll back; progress --watch: the apply completed)
  1   internal error
  2   cutover or control refused or not accepted (already triggered or requested,
      recovering, not available in the apply's state, environment mismatch, Tern did not
      accept it); unlock: the lock's change is being confirmed or applied; rollback:
      refused (not completed, not the latest apply, schema before it not captured, locked)
  3   cutover or control failed, or no outcome within --timeout (rollback: Tern could not
      plan it; progress --watch: the apply failed, was cancelled or reverted)
  4   apply not found
  5   configuration, credentials, permission or network error
  64  usage error

Configuration: SCHEMABOT_TABLE and SCHEMABOT_QUEUE_URL (or --table / --queue-url), the usual AWS
credential chain (AWS_PROFILE, AWS_REGION, ...), AWS_ENDPOINT_URL for a local emulator.
With --json every command prints exactly one JSON document on stdout, errors included.";
