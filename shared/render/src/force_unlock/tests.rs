use super::*;
use schemabot_domain::Login;

const MARKER: &str = "unlock:acme/schemas:1001";

/// Below the admin minimum force unlocks need.
fn admin_denied(login: &str, actual: Option<&'static str>) -> Denial {
    Denial {
        login: Login(login.into()),
        required: "admin",
        actual,
    }
}

fn reply(reply: ForceUnlockReply) -> String {
    render_force_unlock_reply(&reply, MARKER).unwrap()
}

#[test]
fn released() {
    insta::assert_snapshot!(
        "force_unlock_released",
        reply(ForceUnlockReply::Released {
            database: "payments".into(),
            environment: "staging".into(),
            holder: "acme/schemas#41".into(),
            locked_by: "bob".into(),
        })
    );
}

#[test]
fn no_lock() {
    insta::assert_snapshot!(
        "force_unlock_no_lock",
        reply(ForceUnlockReply::NoLock {
            database: "payments".into(),
            environment: "staging".into(),
        })
    );
}

#[test]
fn kept_while_applying_or_confirming() {
    insta::assert_snapshot!(
        "force_unlock_kept_applying",
        reply(ForceUnlockReply::Kept {
            database: "payments".into(),
            environment: "staging".into(),
            holder: "acme/schemas#41".into(),
            apply_id: Some("apply-0123456789abcdef".into()),
        })
    );
    insta::assert_snapshot!(
        "force_unlock_kept_confirming",
        reply(ForceUnlockReply::Kept {
            database: "payments".into(),
            environment: "staging".into(),
            holder: "acme/schemas#41".into(),
            apply_id: None,
        })
    );
}

#[test]
fn permission_denied() {
    insta::assert_snapshot!(
        "force_unlock_permission_denied",
        reply(ForceUnlockReply::PermissionDenied(admin_denied(
            "mallory",
            Some("write")
        )))
    );
    insta::assert_snapshot!(
        "force_unlock_permission_unverified",
        reply(ForceUnlockReply::PermissionDenied(admin_denied(
            "mallory", None
        )))
    );
}

#[test]
fn the_owner_is_told_who_released_its_lock() {
    insta::assert_snapshot!(
        "lock_released_notice_admin",
        render_lock_released_notice(
            &LockReleasedNotice {
                database: "payments".into(),
                environment: "staging".into(),
                by: Actor::GitHub(Login("alice".into())),
                from: Some("acme/schemas#77".into()),
            },
            "unlock:acme/schemas:1001:owner",
        )
        .unwrap()
    );
    insta::assert_snapshot!(
        "lock_released_notice_cli",
        render_lock_released_notice(
            &LockReleasedNotice {
                database: "payments".into(),
                environment: "staging".into(),
                by: Actor::Cli {
                    identity: "arn:aws:iam::123456789012:user/ops".into(),
                },
                from: None,
            },
            "unlock:cli:r-1:owner",
        )
        .unwrap()
    );
}

#[test]
fn user_text_is_escaped() {
    let body = reply(ForceUnlockReply::Kept {
        database: "payments".into(),
        environment: "staging".into(),
        holder: "evil/<img src=x>#1 @team".into(),
        apply_id: None,
    });
    assert!(!body.contains("<img"), "{body}");
    assert!(!body.contains("@team"), "{body}");
    let denied = reply(ForceUnlockReply::PermissionDenied(admin_denied(
        "*bold*",
        Some("`write`"),
    )));
    assert!(!denied.contains("*bold*"), "{denied}");
}
