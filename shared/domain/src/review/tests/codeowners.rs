//! The review gate in CODEOWNERS mode: an owner of every touched schema file must approve.

use super::*;

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
