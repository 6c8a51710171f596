//! The review gate of a protected environment: whether a PR's reviews allow `apply`,
//! `apply-confirm` and `cutover` there. Pure: the worker reads the PR, its reviews, the
//! reviewers' permissions and CODEOWNERS from GitHub and hands them to [`decide`].
//!
//! Rules:
//! * a reviewer's state is their latest review that is not a plain comment (APPROVED,
//!   CHANGES_REQUESTED or DISMISSED); only APPROVED counts;
//! * the PR author's approval never counts;
//! * an approval given on another commit than the PR's current head does not count, unless the
//!   gate sets `count_stale_approvals`;
//! * the reviewer needs at least `write` permission on the repository;
//! * the gate needs `approvals` such reviewers;
//! * in CODEOWNERS mode, every schema file the PR touches needs at least one counted approver
//!   who is a **user** owner of it. Team owners (`@org/team`) and e-mail owners are not
//!   expanded, so a file owned only by teams cannot be satisfied (fail closed): name users
//!   too. A file that no rule owns, or a missing CODEOWNERS file, cannot be satisfied either.
//!
//! `-y` (and so `--allow-unsafe` in the same comment) is refused in a gated environment: the
//! plan must be posted and reviewed before it is applied ([`auto_confirm_refusal`]).

pub mod codeowners;
mod decide;
#[cfg(test)]
mod tests;

pub use codeowners::{CodeOwners, Owner, CODEOWNERS_PATHS};
pub use decide::{auto_confirm_refusal, decide, reviewers_to_check};

use crate::ids::Login;

/// The review gate of one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateSettings {
    /// Approvals needed (at least 1).
    pub approvals: u32,
    /// Whether an approval given on an earlier head still counts.
    pub count_stale_approvals: bool,
    /// Whether a code owner of every touched schema file must be among the approvers.
    pub codeowners: bool,
}

/// A review's state as GitHub reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    Dismissed,
    /// A review without a verdict; it does not change the reviewer's state.
    Commented,
    /// `PENDING` (an unsubmitted draft) or anything unknown; ignored like a comment.
    Other,
}

impl ReviewState {
    /// GitHub's names (`APPROVED`, `CHANGES_REQUESTED`, `DISMISSED`, `COMMENTED`, `PENDING`).
    pub fn parse(raw: &str) -> ReviewState {
        match raw.trim().to_ascii_uppercase().as_str() {
            "APPROVED" => ReviewState::Approved,
            "CHANGES_REQUESTED" => ReviewState::ChangesRequested,
            "DISMISSED" => ReviewState::Dismissed,
            "COMMENTED" => ReviewState::Commented,
            _ => ReviewState::Other,
        }
    }

    /// Whether the review sets the reviewer's state (a verdict or its dismissal).
    fn is_verdict(self) -> bool {
        matches!(
            self,
            ReviewState::Approved | ReviewState::ChangesRequested | ReviewState::Dismissed
        )
    }
}

/// One submitted review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub reviewer: Login,
    pub state: ReviewState,
    /// The commit the review was given on (`None` if GitHub no longer knows it).
    pub commit_id: Option<String>,
    /// Position in time: GitHub's review id, which grows with submission order.
    pub order: u64,
}

named_enum! {
    /// A reviewer's permission on the repository, weakest first (GitHub's role names).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum ReviewerRole {
        None = "none",
        Read = "read",
        Triage = "triage",
        Write = "write",
        Maintain = "maintain",
        Admin = "admin",
    }
}

impl ReviewerRole {
    /// The least role whose approval counts.
    pub const MINIMUM: ReviewerRole = ReviewerRole::Write;
}

/// The owners a touched file needs an approval from, as CODEOWNERS on the base branch says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOwners {
    pub file: String,
    /// Empty when no rule owns the file.
    pub owners: Vec<Owner>,
}

/// What CODEOWNERS requires of this PR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOwnerRequirement {
    /// None of the CODEOWNERS locations has a file on the base branch.
    NoFile {
        base_ref: String,
    },
    Files(Vec<FileOwners>),
}

impl CodeOwnerRequirement {
    /// The owners of each touched file (paths repository-relative).
    pub fn of(code_owners: &CodeOwners, files: &[String]) -> CodeOwnerRequirement {
        CodeOwnerRequirement::Files(
            files
                .iter()
                .map(|file| FileOwners {
                    file: file.clone(),
                    owners: code_owners.owners_of(file).unwrap_or_default().to_vec(),
                })
                .collect(),
        )
    }
}

/// What the gate decides from.
#[derive(Debug, Clone, Copy)]
pub struct GateFacts<'a> {
    pub settings: &'a GateSettings,
    pub author: &'a Login,
    pub head_sha: &'a str,
    pub reviews: &'a [Review],
    /// The role of each reviewer [`reviewers_to_check`] named; a missing entry counts as unknown.
    pub roles: &'a [(Login, ReviewerRole)],
    /// Required in CODEOWNERS mode (`None` there refuses).
    pub code_owners: Option<&'a CodeOwnerRequirement>,
}

/// One reason the gate is closed, or an approval that was not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shortfall {
    /// Fewer counted approvals than the gate needs.
    Approvals {
        required: u32,
        counted: u32,
        author: Login,
    },
    /// The PR author approved their own PR; it does not count.
    AuthorApproval { author: Login },
    /// The approval was given on another commit than the head.
    StaleApproval {
        reviewer: Login,
        commit: Option<String>,
    },
    /// The approver's permission is below `write`.
    InsufficientPermission { reviewer: Login, role: ReviewerRole },
    /// The approver's permission could not be read.
    PermissionUnknown { reviewer: Login },
    /// CODEOWNERS mode without a CODEOWNERS file on the base branch.
    NoCodeownersFile { base_ref: String },
    /// CODEOWNERS names no owner for a touched file.
    UnownedFile { file: String },
    /// No counted approver is a user owner of the file.
    CodeOwnerApproval { file: String, owners: Vec<Owner> },
    /// `-y` in a gated environment (`allow_unsafe`: `--allow-unsafe` was in the same comment).
    AutoConfirm { allow_unsafe: bool },
    /// GitHub could not tell what the gate needs; nothing was done.
    Unverifiable { what: String },
}

/// The gate's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewDecision {
    /// Enough approvals; `approvers` are the counted ones.
    Satisfied { approvers: Vec<Login> },
    /// Closed: what is missing first, then the approvals that were not counted and why.
    Missing(Vec<Shortfall>),
}

/// GitHub logins are case-insensitive.
fn same_login(a: &Login, b: &Login) -> bool {
    a.0.eq_ignore_ascii_case(&b.0)
}
