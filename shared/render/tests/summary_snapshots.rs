//! The summary comment of a finished apply, in each of its variants.

mod common;

use common::{apply, now, task, with};
use schemabot_domain::{Login, State};
use schemabot_render::{render_summary, RenderError};

const MARKER: &str = "summary:apply-0123456789abcdef";

/// Example (f): completed, one table.
#[test]
fn completed_one_table() {
    let body = render_summary(
        &apply(State::Completed),
        &[task("orders", State::Completed)],
        now(),
        MARKER,
    )
    .unwrap();
    assert!(body.starts_with(
        "## ✅ Schema Change Applied\n\n**Database**: `testapp` | **Environment**: `staging`"
    ));
    assert!(body.contains(
        "\n> Schema change applied successfully — your changes are live!\n\n**`orders`**\n```sql\nALTER TABLE `orders` ADD INDEX `idx_status`(`status`);\n```\n\n_Apply ID: `apply-0123456789abcdef`_\n"
    ));
    insta::assert_snapshot!("summary_completed_one_table", body);
}

#[test]
fn completed_several_tables() {
    let tasks = [
        task("orders", State::Completed),
        task("users", State::Completed),
        task("items", State::Completed),
    ];
    let body = render_summary(&apply(State::Completed), &tasks, now(), MARKER).unwrap();
    assert!(body.contains("> All 3 tables applied successfully — your schema changes are live!"));
    insta::assert_snapshot!("summary_completed_three_tables", body);
}

#[test]
fn failed() {
    let failed = with(apply(State::Failed), |a| {
        a.requested_by = Some(Login("alice".into()));
        a.error_message = Some(
            "copy rows: Error 1062 (23000): Duplicate entry '7' for key 'orders.idx_status'".into(),
        );
    });
    let tasks = [
        task("users", State::Completed),
        task("orders", State::Failed),
        task("items", State::Cancelled),
    ];
    let body = render_summary(&failed, &tasks, now(), MARKER).unwrap();
    assert!(body.contains("\n1 of 3 table(s) completed before failure.\n"));
    assert!(body.contains("**`orders`** — Failed at 45%"));
    assert!(body.find("`orders`").unwrap() < body.find("`users`").unwrap());
    assert!(body.contains("To retry:\n```\nschemabot apply -e staging\n```"));
    insta::assert_snapshot!("summary_failed", body);
}

/// A change lost after a restart (the live schema did not match): the next step is the runbook,
/// not a blind retry.
#[test]
fn failed_needing_reconciliation() {
    let message = schemabot_domain::state::reconcile::reconcile_failure_message(&[
        "ALTER TABLE `orders` ADD COLUMN `note` varchar(64) NULL".to_string(),
    ]);
    let failed = with(apply(State::Failed), |a| {
        a.error_message = Some(message.clone())
    });
    let tasks = [with(task("orders", State::Failed), |t| {
        t.error_message = Some(message.clone())
    })];
    let body = render_summary(&failed, &tasks, now(), MARKER).unwrap();
    assert!(body.contains("Needs a person"), "{body}");
    assert!(
        body.contains("A person must reconcile this change first"),
        "{body}"
    );
    assert!(
        body.contains("Then, to see what is still missing:\n```\nschemabot plan -e staging\n```"),
        "{body}"
    );
    assert!(!body.contains("To retry:"), "{body}");
    insta::assert_snapshot!("summary_failed_needing_reconciliation", body);
}

#[test]
fn stopped() {
    let tasks = [
        task("users", State::Completed),
        task("orders", State::Stopped),
    ];
    let body = render_summary(&apply(State::Stopped), &tasks, now(), MARKER).unwrap();
    assert!(body.contains("\n1 of 2 table(s) completed before stop.\n"));
    assert!(
        body.contains("To resume:\n```\nschemabot start apply-0123456789abcdef -e staging\n```")
    );
    insta::assert_snapshot!("summary_stopped", body);
}

#[test]
fn cancelled() {
    let tasks = [
        task("users", State::Completed),
        task("orders", State::Cancelled),
    ];
    let body = render_summary(&apply(State::Cancelled), &tasks, now(), MARKER).unwrap();
    insta::assert_snapshot!("summary_cancelled", body);
    let by = schemabot_render::render_summary_ended_by(
        &apply(State::Cancelled),
        &tasks,
        now(),
        MARKER,
        Some("@alice"),
    )
    .unwrap();
    insta::assert_snapshot!("summary_cancelled_by", by);
}

#[test]
fn reverted() {
    let body = render_summary(
        &apply(State::Reverted),
        &[task("orders", State::Reverted)],
        now(),
        MARKER,
    )
    .unwrap();
    insta::assert_snapshot!("summary_reverted", body);
}

/// Several namespaces get headings; one with more than five tables is folded.
#[test]
fn grouped_by_namespace() {
    let mut tasks = vec![
        with(task("orders", State::Failed), |t| {
            t.namespace = "shop".into()
        }),
        with(task("users", State::Completed), |t| {
            t.namespace = "shop".into()
        }),
    ];
    for n in 1..=6 {
        tasks.push(with(task(&format!("events_{n}"), State::Cancelled), |t| {
            t.namespace = "analytics".into()
        }));
    }
    let body = render_summary(&apply(State::Failed), &tasks, now(), MARKER).unwrap();
    assert!(body.contains("### ❌ shop\n"));
    assert!(body.contains("<details>\n<summary>⊘ analytics (6 tables)</summary>\n"));
    insta::assert_snapshot!("summary_grouped_by_namespace", body);
}

#[test]
fn unfinished_applies_have_no_summary() {
    for state in [
        State::Running,
        State::WaitingForCutover,
        State::Recovering,
        State::CuttingOver,
    ] {
        let err = render_summary(&apply(state), &[], now(), MARKER).unwrap_err();
        assert!(matches!(err, RenderError::NotFinished { .. }), "{state}");
    }
}

#[test]
fn a_rollback_says_so_in_its_heading_outcome_and_retry() {
    let original = schemabot_domain::ApplyId::parse("apply-00000000000000aa").unwrap();
    let rollback = |state| {
        with(apply(state), |a| {
            a.rollback_of = Some(original.clone());
        })
    };
    let done = render_summary(
        &rollback(State::Completed),
        &[task("orders", State::Completed)],
        now(),
        MARKER,
    )
    .unwrap();
    assert!(
        done.starts_with("## ⏪ Schema Rollback Applied\n"),
        "{done}"
    );
    assert!(done
        .contains("> Rolled back: the schema from before `apply-00000000000000aa` is live again."));
    insta::assert_snapshot!("summary_rollback_completed", done);
    let failed = render_summary(
        &rollback(State::Failed),
        &[task("orders", State::Failed)],
        now(),
        MARKER,
    )
    .unwrap();
    assert!(
        failed.starts_with("## ❌ Schema Rollback Failed\n"),
        "{failed}"
    );
    assert!(failed.contains("schemabot rollback apply-00000000000000aa -e staging"));
}
