use super::*;

fn target() -> RollbackTarget {
    RollbackTarget {
        apply_id: ApplyId::parse("apply-0123456789abcdef").unwrap(),
        database: Database::parse("payments").unwrap(),
        environment: Environment::parse("production").unwrap(),
    }
}

fn reply(reply: RollbackReply) -> String {
    render_rollback_reply(&reply, "rollback:acme/payments:42").unwrap()
}

fn plan(tables: Vec<PlanTable>, errors: Vec<String>) -> RollbackPlan {
    RollbackPlan {
        target: target(),
        requested_by: "alice".into(),
        tables,
        lint: vec![],
        errors,
        expires_at: Some("2026-12-07 08:00 UTC".into()),
    }
}

#[test]
fn the_rollback_plan_shows_the_drops_and_how_to_confirm_or_abandon() {
    let body = render_rollback_plan(
        &plan(
            vec![PlanTable {
                namespace: "payments".into(),
                table: "orders".into(),
                change: "alter".into(),
                ddl: "ALTER TABLE `orders` DROP COLUMN `note`".into(),
                unsafe_reason: Some("drops column `note`".into()),
            }],
            vec![],
        ),
        "rollback:acme/payments:42",
    )
    .unwrap();
    assert!(body.contains("## ⏪ Schema Rollback Plan — Production"));
    assert!(body.contains("schemabot rollback-confirm -e production"));
    assert!(body.contains("`schemabot unlock -d payments`"));
    insta::assert_snapshot!("rollback_plan", body);
}

#[test]
fn a_rollback_plan_with_errors_locks_nothing_and_says_so() {
    let body = render_rollback_plan(
        &plan(vec![], vec!["payments: cannot parse `orders.sql`".into()]),
        "m",
    )
    .unwrap();
    assert!(!body.contains("rollback-confirm"));
    insta::assert_snapshot!("rollback_plan_errors", body);
}

#[test]
fn every_refusal_names_the_apply_and_the_next_step() {
    let latest = ApplyId::parse("apply-00000000000000ff").unwrap();
    let cases = [
        (
            "rollback_not_terminal",
            RollbackRefusal::NotTerminal {
                state: State::Running,
            },
            State::Running,
        ),
        (
            "rollback_not_completed",
            RollbackRefusal::NotCompleted {
                state: State::Failed,
            },
            State::Failed,
        ),
        (
            "rollback_not_latest",
            RollbackRefusal::NotLatest {
                latest: Some(latest),
            },
            State::Completed,
        ),
        (
            "rollback_not_recorded",
            RollbackRefusal::NotLatest { latest: None },
            State::Completed,
        ),
        (
            "rollback_already_rolled_back",
            RollbackRefusal::AlreadyRolledBack {
                rollback: ApplyId::parse("apply-00000000000000bb").unwrap(),
                state: State::Running,
            },
            State::Completed,
        ),
        (
            "rollback_not_captured",
            RollbackRefusal::NotCaptured,
            State::Completed,
        ),
    ];
    for (name, refusal, state) in cases {
        let body = reply(RollbackReply::NotAllowed {
            target: target(),
            state,
            refusal,
        });
        assert!(body.contains("## Rollback Not Allowed"), "{name}");
        insta::assert_snapshot!(name, body);
    }
}

#[test]
fn other_replies() {
    insta::assert_snapshot!(
        "rollback_not_found",
        reply(RollbackReply::NotFound {
            apply_id: target().apply_id
        })
    );
    insta::assert_snapshot!(
        "rollback_environment_mismatch",
        reply(RollbackReply::EnvironmentMismatch {
            target: target(),
            requested: Environment::parse("staging").unwrap(),
        })
    );
    insta::assert_snapshot!(
        "rollback_nothing_to_roll_back",
        reply(RollbackReply::NothingToRollback { target: target() })
    );
    insta::assert_snapshot!(
        "rollback_pr_not_open",
        reply(RollbackReply::PrNotOpen {
            target: target(),
            repository: "acme/payments".into(),
            pr: 42,
        })
    );
    insta::assert_snapshot!(
        "rollback_plan_failed",
        reply(RollbackReply::PlanFailed {
            target: target(),
            error: "UNAVAILABLE: <b>tern</b> is down".into(),
        })
    );
    insta::assert_snapshot!(
        "rollback_confirm_no_plan",
        reply(RollbackReply::NoRollbackPlan {
            environment: target().environment
        })
    );
    insta::assert_snapshot!(
        "rollback_confirm_several_plans",
        reply(RollbackReply::SeveralRollbackPlans {
            environment: target().environment,
            databases: vec![
                Database::parse("ledger").unwrap(),
                Database::parse("payments").unwrap()
            ],
        })
    );
}
