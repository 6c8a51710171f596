use super::*;
use schemabot_domain::Login;

const MARKER: &str = "apply:acme/schemas:1001";

fn render(reply: LockReply) -> String {
    render_lock_reply(&reply, MARKER).unwrap()
}

fn key(database: &str, environment: &str) -> LockKey {
    LockKey {
        database: schemabot_domain::Database::parse(database).unwrap(),
        environment: schemabot_domain::Environment::parse(environment).unwrap(),
    }
}

fn target(database: &str, environment: &str, apply_id: Option<&str>) -> LockedTarget {
    LockedTarget {
        database: database.into(),
        environment: environment.into(),
        apply_id: apply_id.map(str::to_string),
    }
}

#[test]
fn lock_held_by_another_pr() {
    let body = render(LockReply::HeldByOther {
        command: LockCommand::Apply,
        key: key("payments", "staging"),
        owner: "acme/schemas#41".into(),
        stage: "planned".into(),
        expires_at: Some("2026-11-25 10:00 UTC".into()),
        retry: "schemabot apply -e staging".into(),
    });
    insta::assert_snapshot!("lock_held_planned", body);
    let applying = render(LockReply::HeldByOther {
        command: LockCommand::ApplyConfirm,
        key: key("payments", "staging"),
        owner: "acme/schemas#41".into(),
        stage: "applying".into(),
        expires_at: None,
        retry: "schemabot apply -e staging".into(),
    });
    insta::assert_snapshot!("lock_held_applying", applying);
}

#[test]
fn apply_in_progress() {
    insta::assert_snapshot!(render(LockReply::ApplyInProgress {
        command: LockCommand::Apply,
        key: key("payments", "staging"),
        apply_id: Some("apply-0123456789abcdef".into()),
        retry: "schemabot apply -e staging".into(),
    }));
}

#[test]
fn nothing_to_apply() {
    insta::assert_snapshot!(
        "no_schema_changes",
        render(LockReply::NoSchemaChanges { database: None })
    );
    insta::assert_snapshot!(
        "no_schema_changes_for_database",
        render(LockReply::NoSchemaChanges {
            database: Some("orders".into())
        })
    );
    insta::assert_snapshot!(
        "up_to_date",
        render(LockReply::UpToDate {
            key: key("payments", "staging"),
            commit: Some("4c5d6e7f8091a2b3c9f1".into()),
        })
    );
}

#[test]
fn confirm_refusals() {
    insta::assert_snapshot!(
        "no_lock",
        render(LockReply::NoLock {
            environment: "production".into(),
            database: None,
            apply: "schemabot apply -e production".into(),
        })
    );
    insta::assert_snapshot!(
        "stale",
        render(LockReply::Stale {
            key: key("payments", "staging"),
            planned: "4c5d6e7f8091a2b3c9f1".into(),
            current: "5d6e7f8091a2b3c9f1c2".into(),
            apply: "schemabot apply -e staging".into(),
        })
    );
    insta::assert_snapshot!(
        "unsafe_needs_flag",
        render(LockReply::UnsafeNeedsFlag {
            key: key("payments", "staging"),
            tables: vec!["payments.refunds".into()],
            confirm: "schemabot apply-confirm -e staging --allow-unsafe".into(),
        })
    );
    insta::assert_snapshot!(
        "promotion_required",
        render(LockReply::PromotionRequired {
            key: key("payments", "production"),
            required: "staging".into(),
            order: vec!["staging".into(), "production".into()],
            apply: "schemabot apply -e staging".into(),
        })
    );
    insta::assert_snapshot!(
        "refused",
        render(LockReply::Refused {
            command: LockCommand::ApplyConfirm,
            key: key("payments", "staging"),
            reason: "Tern refused the apply.".into(),
            detail: Some("schema change already in progress for this database".into()),
            locked: true,
            retry: "schemabot apply-confirm -e staging".into(),
        })
    );
}

#[test]
fn unlock_replies() {
    insta::assert_snapshot!(
        "unlocked",
        render(LockReply::Unlocked {
            released: vec![target("payments", "staging", None)],
            kept: vec![target(
                "payments",
                "production",
                Some("apply-0123456789abcdef")
            )],
            closed: false,
        })
    );
    insta::assert_snapshot!(
        "unlock_nothing",
        render(LockReply::Unlocked {
            released: vec![],
            kept: vec![],
            closed: false,
        })
    );
    insta::assert_snapshot!(
        "closed_pr_released",
        render(LockReply::Unlocked {
            released: vec![target("payments", "staging", None)],
            kept: vec![],
            closed: true,
        })
    );
}

#[test]
fn permission_denied() {
    insta::assert_snapshot!(render(LockReply::PermissionDenied {
        command: LockCommand::ApplyConfirm,
        environment: "production".into(),
        denied: Denial {
            login: Login("mallory".into()),
            required: "maintain",
            actual: Some("write"),
        },
    }));
}

#[test]
fn review_required() {
    use schemabot_domain::review::{Owner, ReviewerRole, Shortfall};
    let login = |name: &str| Login(name.to_string());
    insta::assert_snapshot!(
        "review_required",
        render(LockReply::ReviewRequired {
            command: LockCommand::Apply,
            environment: "production".into(),
            login: "alice".into(),
            missing: vec![
                Shortfall::Approvals {
                    required: 2,
                    counted: 1,
                    author: login("carol"),
                },
                Shortfall::CodeOwnerApproval {
                    file: "schema/payments/orders.sql".into(),
                    owners: vec![
                        Owner::User(login("dana")),
                        Owner::Team("acme/dba-team".into()),
                        Owner::Email("dba@example.com".into()),
                    ],
                },
                Shortfall::UnownedFile {
                    file: "schema/payments/scratch.sql".into(),
                },
                Shortfall::StaleApproval {
                    reviewer: login("bob"),
                    commit: None,
                },
                Shortfall::PermissionUnknown {
                    reviewer: login("erin"),
                },
                Shortfall::InsufficientPermission {
                    reviewer: login("tom"),
                    role: ReviewerRole::Triage,
                },
            ],
            head: Some("4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b".into()),
            retry: "schemabot apply -e production".into(),
            confirm: None,
        })
    );
    insta::assert_snapshot!(
        "review_required_no_codeowners_file",
        render(LockReply::ReviewRequired {
            command: LockCommand::ApplyConfirm,
            environment: "production".into(),
            login: "alice".into(),
            missing: vec![Shortfall::NoCodeownersFile {
                base_ref: "main".into(),
            }],
            head: Some("4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b".into()),
            retry: "schemabot apply-confirm -e production".into(),
            confirm: None,
        })
    );
    let auto_confirm = render(LockReply::ReviewRequired {
        command: LockCommand::Apply,
        environment: "production".into(),
        login: "alice".into(),
        missing: vec![Shortfall::AutoConfirm { allow_unsafe: true }],
        head: None,
        retry: "schemabot apply -e production".into(),
        confirm: Some("schemabot apply-confirm -e production".into()),
    });
    assert!(
        auto_confirm.contains("(with `--allow-unsafe`) is not accepted"),
        "{auto_confirm}"
    );
    insta::assert_snapshot!("review_required_auto_confirm", auto_confirm);
}

#[test]
fn user_text_is_escaped() {
    let body = render(LockReply::Refused {
        command: LockCommand::ApplyConfirm,
        key: key("payments", "staging"),
        reason: "Tern refused the apply.".into(),
        detail: Some("<img src=x> @everyone [link](http://evil)".into()),
        locked: false,
        retry: "schemabot apply-confirm -e staging".into(),
    });
    assert!(!body.contains("<img"), "{body}");
    assert!(!body.contains("@everyone"), "{body}");
}

#[test]
fn command_text_names_the_database_only_when_given() {
    assert_eq!(
        command_text("apply", "staging", None),
        "schemabot apply -e staging"
    );
    assert_eq!(
        command_text("apply-confirm", "production", Some("orders")),
        "schemabot apply-confirm -e production -d orders"
    );
}
