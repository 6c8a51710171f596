use super::*;
use schemabot_domain::Login;

fn target() -> CutoverTarget {
    CutoverTarget {
        apply_id: ApplyId::parse("apply-0123456789abcdef").unwrap(),
        database: Database::parse("payments").unwrap(),
        environment: Environment::parse("production").unwrap(),
    }
}

fn env() -> Environment {
    Environment::parse("production").unwrap()
}

fn render(reply: ControlReply) -> String {
    render_control_reply(&reply, "stop:acme/payments:42").unwrap()
}

#[test]
fn accepted_replies_say_what_happens_next() {
    insta::assert_snapshot!(
        "control_stop_accepted",
        render(ControlReply::Accepted {
            op: ControlOp::Stop,
            target: target(),
            requested_by: Some("@alice".into()),
            resume_deadline: Some("2026-12-13 04:00 UTC".into()),
        })
    );
    for op in [
        ControlOp::Start,
        ControlOp::Cancel,
        ControlOp::Revert,
        ControlOp::SkipRevert,
    ] {
        insta::assert_snapshot!(
            format!("control_{}_accepted", op.as_str().replace('-', "_")),
            render(ControlReply::Accepted {
                op,
                target: target(),
                requested_by: None,
                resume_deadline: None,
            })
        );
    }
}

#[test]
fn refusals_name_the_state_and_the_way_forward() {
    let cases = [
        (
            "control_stop_past_cutover",
            ControlOp::Stop,
            StateRefusal::PastCutover {
                state: State::CuttingOver,
            },
            State::CuttingOver,
        ),
        (
            "control_start_not_stopped",
            ControlOp::Start,
            StateRefusal::NotStopped {
                state: State::WaitingForCutover,
            },
            State::WaitingForCutover,
        ),
        (
            "control_revert_no_window",
            ControlOp::Revert,
            StateRefusal::NoRevertWindow {
                state: State::Running,
            },
            State::Running,
        ),
        (
            "control_cancel_ended",
            ControlOp::Cancel,
            StateRefusal::Ended {
                state: State::Completed,
            },
            State::Completed,
        ),
        (
            "control_stop_recovering",
            ControlOp::Stop,
            StateRefusal::Recovering,
            State::Recovering,
        ),
    ];
    for (name, op, refusal, state) in cases {
        insta::assert_snapshot!(
            name,
            render(ControlReply::Refused {
                op,
                target: target(),
                refusal,
                state,
            })
        );
    }
}

#[test]
fn the_other_answers() {
    let apply_id = ApplyId::parse("apply-0123456789abcdef").unwrap();
    let replies = [
        (
            "control_already_done",
            ControlReply::AlreadyDone {
                op: ControlOp::Stop,
                target: target(),
                state: State::Stopped,
            },
        ),
        (
            "control_already_requested",
            ControlReply::AlreadyRequested {
                op: ControlOp::Cancel,
                target: target(),
                by: "@bob".into(),
            },
        ),
        (
            "control_not_accepted",
            ControlReply::NotAccepted {
                op: ControlOp::Start,
                target: target(),
                message: "checkpoint expired <script>".into(),
            },
        ),
        (
            "control_failed",
            ControlReply::Failed {
                op: ControlOp::Stop,
                target: target(),
                error: "Tern unavailable".into(),
            },
        ),
        (
            "control_no_apply",
            ControlReply::NoApply {
                op: ControlOp::Stop,
                environment: env(),
            },
        ),
        (
            "control_ambiguous",
            ControlReply::Ambiguous {
                op: ControlOp::Cancel,
                environment: env(),
                candidates: vec![
                    ControlCandidate {
                        apply_id: apply_id.clone(),
                        database: Database::parse("payments").unwrap(),
                        state: State::Running,
                    },
                    ControlCandidate {
                        apply_id: ApplyId::parse("apply-fedcba9876543210").unwrap(),
                        database: Database::parse("orders").unwrap(),
                        state: State::Stopped,
                    },
                ],
            },
        ),
        (
            "control_not_found",
            ControlReply::NotFound {
                op: ControlOp::Start,
                apply_id,
            },
        ),
        (
            "control_environment_mismatch",
            ControlReply::EnvironmentMismatch {
                op: ControlOp::Stop,
                target: target(),
                requested: Environment::parse("staging").unwrap(),
            },
        ),
        (
            "control_permission_denied",
            ControlReply::PermissionDenied {
                op: ControlOp::Cancel,
                environment: env(),
                denied: Denial {
                    login: Login("rita".into()),
                    required: "write",
                    actual: Some("read"),
                },
            },
        ),
    ];
    for (name, reply) in replies {
        let body = render(reply);
        assert!(!body.contains("<script>"), "{body}");
        insta::assert_snapshot!(name, body);
    }
}
