use super::*;

mod codeowners;

const HEAD: &str = "4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b";
const OLD: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";

fn login(name: &str) -> Login {
    Login(name.to_string())
}

fn review(order: u64, who: &str, state: ReviewState, commit: Option<&str>) -> Review {
    Review {
        reviewer: login(who),
        state,
        commit_id: commit.map(str::to_string),
        order,
    }
}

fn approved(order: u64, who: &str) -> Review {
    review(order, who, ReviewState::Approved, Some(HEAD))
}

fn gate(approvals: u32) -> GateSettings {
    GateSettings {
        approvals,
        count_stale_approvals: false,
        codeowners: false,
    }
}

fn writers(names: &[&str]) -> Vec<(Login, ReviewerRole)> {
    names
        .iter()
        .map(|n| (login(n), ReviewerRole::Write))
        .collect()
}

/// Decides with the author `author`, the head [`HEAD`] and no CODEOWNERS requirement.
fn run(
    settings: GateSettings,
    reviews: &[Review],
    roles: &[(Login, ReviewerRole)],
    code_owners: Option<&CodeOwnerRequirement>,
) -> ReviewDecision {
    let author = login("author");
    decide(&GateFacts {
        settings: &settings,
        author: &author,
        head_sha: HEAD,
        reviews,
        roles,
        code_owners,
    })
}

fn missing(decision: ReviewDecision) -> Vec<Shortfall> {
    match decision {
        ReviewDecision::Missing(missing) => missing,
        ReviewDecision::Satisfied { approvers } => {
            panic!("unexpectedly satisfied by {approvers:?}")
        }
    }
}

fn approvals(required: u32, counted: u32) -> Shortfall {
    Shortfall::Approvals {
        required,
        counted,
        author: login("author"),
    }
}

#[test]
fn no_reviews_need_the_configured_approvals() {
    assert_eq!(missing(run(gate(1), &[], &[], None)), vec![approvals(1, 0)]);
    assert_eq!(missing(run(gate(2), &[], &[], None)), vec![approvals(2, 0)]);
}

#[test]
fn a_valid_approval_on_the_head_from_a_writer_satisfies() {
    assert_eq!(
        run(gate(1), &[approved(1, "bob")], &writers(&["bob"]), None),
        ReviewDecision::Satisfied {
            approvers: vec![login("bob")]
        }
    );
    for role in [ReviewerRole::Maintain, ReviewerRole::Admin] {
        let roles = [(login("bob"), role)];
        assert!(matches!(
            run(gate(1), &[approved(1, "bob")], &roles, None),
            ReviewDecision::Satisfied { .. }
        ));
    }
}

#[test]
fn the_authors_own_approval_never_counts() {
    let reviews = [approved(1, "author")];
    assert_eq!(
        missing(run(gate(1), &reviews, &writers(&["author"]), None)),
        vec![
            approvals(1, 0),
            Shortfall::AuthorApproval {
                author: login("author")
            }
        ]
    );
    // Logins are case-insensitive.
    let shouted = [approved(1, "AUTHOR")];
    assert_eq!(
        missing(run(gate(1), &shouted, &writers(&["AUTHOR"]), None))[0],
        approvals(1, 0)
    );
}

#[test]
fn approvals_on_another_commit_are_stale_unless_configured() {
    let reviews = [
        review(1, "bob", ReviewState::Approved, Some(OLD)),
        review(2, "carol", ReviewState::Approved, None),
    ];
    let roles = writers(&["bob", "carol"]);
    assert_eq!(
        missing(run(gate(1), &reviews, &roles, None)),
        vec![
            approvals(1, 0),
            Shortfall::StaleApproval {
                reviewer: login("bob"),
                commit: Some(OLD.into())
            },
            Shortfall::StaleApproval {
                reviewer: login("carol"),
                commit: None
            },
        ]
    );
    let lenient = GateSettings {
        count_stale_approvals: true,
        ..gate(2)
    };
    assert_eq!(
        run(lenient, &reviews, &roles, None),
        ReviewDecision::Satisfied {
            approvers: vec![login("bob"), login("carol")]
        }
    );
}

#[test]
fn approvers_need_write_permission() {
    let reviews = [
        approved(1, "rita"),
        approved(2, "tom"),
        approved(3, "nobody"),
    ];
    let roles = [
        (login("rita"), ReviewerRole::Read),
        (login("tom"), ReviewerRole::Triage),
        (login("nobody"), ReviewerRole::None),
    ];
    assert_eq!(
        missing(run(gate(1), &reviews, &roles, None)),
        vec![
            approvals(1, 0),
            Shortfall::InsufficientPermission {
                reviewer: login("rita"),
                role: ReviewerRole::Read
            },
            Shortfall::InsufficientPermission {
                reviewer: login("tom"),
                role: ReviewerRole::Triage
            },
            Shortfall::InsufficientPermission {
                reviewer: login("nobody"),
                role: ReviewerRole::None
            },
        ]
    );
}

#[test]
fn an_unknown_permission_does_not_count() {
    assert_eq!(
        missing(run(gate(1), &[approved(1, "bob")], &[], None)),
        vec![
            approvals(1, 0),
            Shortfall::PermissionUnknown {
                reviewer: login("bob")
            }
        ]
    );
}

#[test]
fn the_latest_verdict_decides_and_comments_are_ignored() {
    let roles = writers(&["bob"]);
    let satisfied = |reviews: &[Review]| {
        matches!(
            run(gate(1), reviews, &roles, None),
            ReviewDecision::Satisfied { .. }
        )
    };
    let state = |order, s| review(order, "bob", s, Some(HEAD));
    use ReviewState::*;
    assert!(!satisfied(&[
        state(1, Approved),
        state(2, ChangesRequested)
    ]));
    assert!(satisfied(&[state(1, ChangesRequested), state(2, Approved)]));
    assert!(satisfied(&[state(1, Approved), state(2, Commented)]));
    assert!(satisfied(&[state(1, Approved), state(2, Other)]));
    assert!(!satisfied(&[state(1, Approved), state(2, Dismissed)]));
    assert!(!satisfied(&[state(1, Commented)]));
    // By order, not by position in the list.
    assert!(!satisfied(&[
        state(2, ChangesRequested),
        state(1, Approved)
    ]));
    assert!(satisfied(&[state(2, Approved), state(1, ChangesRequested)]));
    // Same order: the later entry wins.
    assert!(satisfied(&[state(1, Dismissed), state(1, Approved)]));
    // A fresh approval after a stale one makes it current; a stale one after a fresh one not.
    let old = review(1, "bob", Approved, Some(OLD));
    assert!(satisfied(&[old.clone(), state(2, Approved)]));
    assert!(!satisfied(&[
        state(1, Approved),
        review(2, "bob", Approved, Some(OLD))
    ]));
    // Reviewer names differing only in case are one reviewer.
    let mut upper = state(2, ChangesRequested);
    upper.reviewer = login("BOB");
    assert!(!satisfied(&[state(1, Approved), upper]));
}

#[test]
fn each_reviewer_counts_once_toward_n() {
    let roles = writers(&["bob", "carol"]);
    assert_eq!(
        missing(run(
            gate(2),
            &[approved(1, "bob"), approved(2, "bob")],
            &roles,
            None
        )),
        vec![approvals(2, 1)]
    );
    assert!(matches!(
        run(
            gate(2),
            &[approved(1, "bob"), approved(2, "carol")],
            &roles,
            None
        ),
        ReviewDecision::Satisfied { .. }
    ));
}

#[test]
fn uncounted_approvals_are_not_reported_once_the_gate_is_satisfied() {
    let reviews = [approved(1, "author"), approved(2, "bob")];
    assert_eq!(
        run(gate(1), &reviews, &writers(&["author", "bob"]), None),
        ReviewDecision::Satisfied {
            approvers: vec![login("bob")]
        }
    );
}

#[test]
fn only_screened_approvers_need_a_permission_lookup() {
    let reviews = [
        approved(1, "author"),
        review(2, "stale", ReviewState::Approved, Some(OLD)),
        approved(3, "dismissed"),
        review(4, "dismissed", ReviewState::Dismissed, Some(HEAD)),
        review(5, "commenter", ReviewState::Commented, Some(HEAD)),
        approved(6, "bob"),
        approved(7, "carol"),
    ];
    let settings = gate(1);
    let author = login("author");
    let facts = GateFacts {
        settings: &settings,
        author: &author,
        head_sha: HEAD,
        reviews: &reviews,
        roles: &[],
        code_owners: None,
    };
    assert_eq!(
        reviewers_to_check(&facts),
        vec![login("bob"), login("carol")]
    );
}

#[test]
fn auto_confirm_is_refused() {
    assert_eq!(auto_confirm_refusal(false, true), None);
    assert_eq!(
        auto_confirm_refusal(true, false),
        Some(Shortfall::AutoConfirm {
            allow_unsafe: false
        })
    );
    assert_eq!(
        auto_confirm_refusal(true, true),
        Some(Shortfall::AutoConfirm { allow_unsafe: true })
    );
}

#[test]
fn review_states_parse_github_names() {
    assert_eq!(ReviewState::parse("APPROVED"), ReviewState::Approved);
    assert_eq!(
        ReviewState::parse("changes_requested"),
        ReviewState::ChangesRequested
    );
    assert_eq!(ReviewState::parse("DISMISSED"), ReviewState::Dismissed);
    assert_eq!(ReviewState::parse("COMMENTED"), ReviewState::Commented);
    assert_eq!(ReviewState::parse("PENDING"), ReviewState::Other);
    assert_eq!(ReviewState::parse(""), ReviewState::Other);
}

#[test]
fn roles_are_ranked_like_github() {
    assert!(ReviewerRole::Triage < ReviewerRole::MINIMUM);
    assert!(ReviewerRole::Maintain > ReviewerRole::MINIMUM);
    assert_eq!(ReviewerRole::Read.as_str(), "read");
}
