use super::*;

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

fn files(entries: &[(&str, &[Owner])]) -> CodeOwnerRequirement {
    CodeOwnerRequirement::Files(
        entries
            .iter()
            .map(|(file, owners)| FileOwners {
                file: (*file).into(),
                owners: owners.to_vec(),
            })
            .collect(),
    )
}

fn user(name: &str) -> Owner {
    Owner::User(login(name))
}

fn codeowners_gate() -> GateSettings {
    GateSettings {
        codeowners: true,
        ..gate(1)
    }
}

#[test]
fn codeowners_mode_needs_an_owner_among_the_approvers_for_every_file() {
    let required = files(&[
        ("schema/payments/orders.sql", &[user("dana"), user("pat")]),
        ("schema/payments/refunds.sql", &[user("DANA")]),
    ]);
    let roles = writers(&["dana", "bob"]);
    assert!(matches!(
        run(
            codeowners_gate(),
            &[approved(1, "dana")],
            &roles,
            Some(&required)
        ),
        ReviewDecision::Satisfied { .. }
    ));
    assert_eq!(
        missing(run(
            codeowners_gate(),
            &[approved(1, "bob")],
            &roles,
            Some(&required)
        )),
        vec![
            Shortfall::CodeOwnerApproval {
                file: "schema/payments/orders.sql".into(),
                owners: vec![user("dana"), user("pat")]
            },
            Shortfall::CodeOwnerApproval {
                file: "schema/payments/refunds.sql".into(),
                owners: vec![user("DANA")]
            },
        ]
    );
}

#[test]
fn a_code_owner_must_pass_every_other_rule_too() {
    let required = files(&[("schema/orders.sql", &[user("dana"), user("author")])]);
    let stale = [review(1, "dana", ReviewState::Approved, Some(OLD))];
    let decision = missing(run(
        codeowners_gate(),
        &stale,
        &writers(&["dana"]),
        Some(&required),
    ));
    assert_eq!(decision[0], approvals(1, 0));
    assert!(matches!(decision[1], Shortfall::CodeOwnerApproval { .. }));
    assert!(matches!(decision[2], Shortfall::StaleApproval { .. }));
    let reader = [(login("dana"), ReviewerRole::Read)];
    assert!(matches!(
        run(
            codeowners_gate(),
            &[approved(1, "dana")],
            &reader,
            Some(&required)
        ),
        ReviewDecision::Missing(_)
    ));
    // The author owning the file does not let them approve it.
    assert!(matches!(
        run(
            codeowners_gate(),
            &[approved(1, "author")],
            &writers(&["author"]),
            Some(&required)
        ),
        ReviewDecision::Missing(_)
    ));
}

#[test]
fn team_and_email_owners_are_not_expanded() {
    let required = files(&[(
        "schema/orders.sql",
        &[
            Owner::Team("acme/dba-team".into()),
            Owner::Email("dba@example.com".into()),
        ],
    )]);
    assert_eq!(
        missing(run(
            codeowners_gate(),
            &[approved(1, "bob")],
            &writers(&["bob"]),
            Some(&required)
        )),
        vec![Shortfall::CodeOwnerApproval {
            file: "schema/orders.sql".into(),
            owners: vec![
                Owner::Team("acme/dba-team".into()),
                Owner::Email("dba@example.com".into())
            ]
        }]
    );
}

#[test]
fn codeowners_mode_fails_closed_without_owners() {
    let roles = writers(&["bob"]);
    let reviews = [approved(1, "bob")];
    let unowned = files(&[("schema/orders.sql", &[])]);
    assert_eq!(
        missing(run(codeowners_gate(), &reviews, &roles, Some(&unowned))),
        vec![Shortfall::UnownedFile {
            file: "schema/orders.sql".into()
        }]
    );
    let no_file = CodeOwnerRequirement::NoFile {
        base_ref: "main".into(),
    };
    assert_eq!(
        missing(run(codeowners_gate(), &reviews, &roles, Some(&no_file))),
        vec![Shortfall::NoCodeownersFile {
            base_ref: "main".into()
        }]
    );
    assert!(matches!(
        missing(run(codeowners_gate(), &reviews, &roles, None))[0],
        Shortfall::Unverifiable { .. }
    ));
    // No touched schema file: nothing to own.
    assert!(matches!(
        run(codeowners_gate(), &reviews, &roles, Some(&files(&[]))),
        ReviewDecision::Satisfied { .. }
    ));
}

#[test]
fn without_codeowners_mode_the_requirement_is_ignored() {
    let unowned = files(&[("schema/orders.sql", &[])]);
    assert!(matches!(
        run(
            gate(1),
            &[approved(1, "bob")],
            &writers(&["bob"]),
            Some(&unowned)
        ),
        ReviewDecision::Satisfied { .. }
    ));
}

#[test]
fn the_requirement_is_read_from_codeowners() {
    let code_owners =
        CodeOwners::parse("* @lead\n/schema/payments/ @dana @acme/dbas\n/schema/tmp/\n");
    let touched = [
        "schema/payments/orders.sql".to_string(),
        "schema/tmp/x.sql".to_string(),
        "schema/users/users.sql".to_string(),
    ];
    assert_eq!(
        CodeOwnerRequirement::of(&code_owners, &touched),
        files(&[
            (
                "schema/payments/orders.sql",
                &[user("dana"), Owner::Team("acme/dbas".into())]
            ),
            ("schema/tmp/x.sql", &[]),
            ("schema/users/users.sql", &[user("lead")]),
        ])
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
