//! The gate decision (rules in the module docs of [`super`]).

use super::{
    same_login, CodeOwnerRequirement, GateFacts, Review, ReviewDecision, ReviewState, ReviewerRole,
    Shortfall,
};
use crate::ids::Login;

/// Each reviewer's latest verdict (comments and drafts ignored), in first-review order. A
/// later entry with the same `order` wins, as GitHub lists reviews oldest first.
fn latest_verdicts(reviews: &[Review]) -> Vec<&Review> {
    let mut sorted: Vec<&Review> = reviews.iter().filter(|r| r.state.is_verdict()).collect();
    sorted.sort_by_key(|r| r.order);
    let mut latest: Vec<&Review> = Vec::new();
    for review in sorted {
        match latest
            .iter_mut()
            .find(|seen| same_login(&seen.reviewer, &review.reviewer))
        {
            Some(seen) => *seen = review,
            None => latest.push(review),
        }
    }
    latest
}

/// Splits the latest approvals into candidates (author and commit rules passed, permission not
/// yet known) and the notes on those that fail them.
fn screen<'a>(facts: &GateFacts<'a>) -> (Vec<&'a Login>, Vec<Shortfall>) {
    let mut candidates = Vec::new();
    let mut notes = Vec::new();
    for review in latest_verdicts(facts.reviews) {
        if review.state != ReviewState::Approved {
            continue;
        }
        if same_login(&review.reviewer, facts.author) {
            notes.push(Shortfall::AuthorApproval {
                author: review.reviewer.clone(),
            });
            continue;
        }
        let on_head = review.commit_id.as_deref() == Some(facts.head_sha);
        if !on_head && !facts.settings.count_stale_approvals {
            notes.push(Shortfall::StaleApproval {
                reviewer: review.reviewer.clone(),
                commit: review.commit_id.clone(),
            });
            continue;
        }
        candidates.push(&review.reviewer);
    }
    (candidates, notes)
}

/// The reviewers whose repository permission the gate needs: those whose latest verdict is an
/// approval that passes the author and commit rules. Nobody else's permission matters.
pub fn reviewers_to_check(facts: &GateFacts<'_>) -> Vec<Login> {
    screen(facts).0.into_iter().cloned().collect()
}

/// The refusal of `-y` in a gated environment; `None` without `-y`.
pub fn auto_confirm_refusal(auto_confirm: bool, allow_unsafe: bool) -> Option<Shortfall> {
    auto_confirm.then_some(Shortfall::AutoConfirm { allow_unsafe })
}

/// Whether the gate is satisfied, and if not, everything that is missing.
pub fn decide(facts: &GateFacts<'_>) -> ReviewDecision {
    let (candidates, mut notes) = screen(facts);
    let mut approvers: Vec<Login> = Vec::new();
    for reviewer in candidates {
        let role = facts
            .roles
            .iter()
            .find(|(login, _)| same_login(login, reviewer))
            .map(|(_, role)| *role);
        match role {
            Some(role) if role >= ReviewerRole::MINIMUM => approvers.push(reviewer.clone()),
            Some(role) => notes.push(Shortfall::InsufficientPermission {
                reviewer: reviewer.clone(),
                role,
            }),
            None => notes.push(Shortfall::PermissionUnknown {
                reviewer: reviewer.clone(),
            }),
        }
    }

    let mut missing = Vec::new();
    let counted = u32::try_from(approvers.len()).unwrap_or(u32::MAX);
    if counted < facts.settings.approvals {
        missing.push(Shortfall::Approvals {
            required: facts.settings.approvals,
            counted,
            author: facts.author.clone(),
        });
    }
    if facts.settings.codeowners {
        missing.extend(code_owner_shortfalls(facts.code_owners, &approvers));
    }
    if missing.is_empty() {
        return ReviewDecision::Satisfied { approvers };
    }
    missing.extend(notes);
    ReviewDecision::Missing(missing)
}

/// What CODEOWNERS still needs given the counted `approvers`. No requirement at all (the
/// caller could not read it) is treated as a missing file: fail closed.
fn code_owner_shortfalls(
    requirement: Option<&CodeOwnerRequirement>,
    approvers: &[Login],
) -> Vec<Shortfall> {
    let files = match requirement {
        Some(CodeOwnerRequirement::Files(files)) => files,
        Some(CodeOwnerRequirement::NoFile { base_ref }) => {
            return vec![Shortfall::NoCodeownersFile {
                base_ref: base_ref.clone(),
            }]
        }
        None => {
            return vec![Shortfall::Unverifiable {
                what: "the code owners of the touched schema files".into(),
            }]
        }
    };
    files
        .iter()
        .filter_map(|entry| {
            if entry.owners.is_empty() {
                return Some(Shortfall::UnownedFile {
                    file: entry.file.clone(),
                });
            }
            let approved = entry
                .owners
                .iter()
                .filter_map(|o| o.user())
                .any(|owner| approvers.iter().any(|approver| same_login(owner, approver)));
            (!approved).then(|| Shortfall::CodeOwnerApproval {
                file: entry.file.clone(),
                owners: entry.owners.clone(),
            })
        })
        .collect()
}
