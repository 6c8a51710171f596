//! The progress comment in every state, its tombstone, and examples (a)–(d) byte for byte.

mod common;

use common::{apply, now, started, task, with, MARKER};
use schemabot_domain::{ApplyId, Login, State};
use schemabot_render::{render_progress, render_progress_finalized, render_progress_with_deadline};

fn progress(
    apply: &schemabot_domain::apply::Apply,
    tasks: &[schemabot_domain::apply::Task],
) -> String {
    render_progress(apply, tasks, now(), MARKER).unwrap()
}

/// Example (a): waiting for cutover, one table ready — byte for byte, plus our marker.
#[test]
fn example_a_waiting_for_cutover_one_table_ready() {
    let body = progress(
        &apply(State::WaitingForCutover),
        &[task("orders", State::WaitingForCutover)],
    );
    let expected = "## Schema Change — Waiting for Cutover

**Database**: `testapp` | **Environment**: `staging` | **Apply ID**: `apply-0123456789abcdef` | **Elapsed**: 12m 5s

*Started at 2026-05-15 12:34:56 UTC*

**1/1** table(s) ready for cutover

### Table Progress

- **`orders`**: 🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨 ⏸️ Ready for cutover  

  ```sql
  ALTER TABLE `orders` ADD INDEX `idx_status`(`status`);
  ```


---

To proceed with the cutover:
```
schemabot cutover apply-0123456789abcdef -e staging
```

<!-- schemabot:progress:apply-0123456789abcdef -->
";
    assert_eq!(body, expected);
    insta::assert_snapshot!("progress_waiting_for_cutover_all_ready", body);
}

/// Example (b): recovering with last-known progress. The reference has no footer; ours adds a
/// line saying cutover is refused until recovery completes.
#[test]
fn example_b_recovering_with_last_known_progress() {
    let recovering = with(apply(State::Recovering), |a| {
        a.id = ApplyId::parse("apply-abc123").unwrap();
        a.started_at = None;
        a.created_at = started();
    });
    let body = progress(&recovering, &[task("orders", State::Recovering)]);
    let reference = "## Schema Change — Recovering

**Database**: `testapp` | **Environment**: `staging` | **Apply ID**: `apply-abc123`

*Started at 2026-05-15 12:34:56 UTC*

### Table Progress

- **`orders`**: 🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨🟨 🔄 Recovering...  

  ```sql
  ALTER TABLE `orders` ADD INDEX `idx_status`(`status`);
  ```

";
    assert!(body.starts_with(reference), "{body}");
    assert!(body[reference.len()..].starts_with("\n---\n\nSchemaBot is recovering"));
    insta::assert_snapshot!("progress_recovering_with_progress", body);
}

#[test]
fn recovering_without_progress_has_no_bar() {
    let body = progress(
        &apply(State::Recovering),
        &[with(task("orders", State::Recovering), |t| {
            t.percent = 0;
            t.rows_copied = 0;
        })],
    );
    assert!(body.contains("- **`orders`**: 🔄 Recovering...  \n"));
    assert!(!body.contains('🟨'));
    insta::assert_snapshot!("progress_recovering_without_progress", body);
}

/// Example (c): three tables, mixed — completed `a`, ready `b`, recovering `c` (no progress).
#[test]
fn example_c_three_tables_mixed() {
    let tasks = [
        with(task("a", State::Completed), |t| t.ready_to_complete = false),
        task("b", State::WaitingForCutover),
        with(task("c", State::Recovering), |t| {
            t.percent = 0;
            t.ready_to_complete = false;
        }),
    ];
    let body = progress(&apply(State::WaitingForCutover), &tasks);
    assert!(body.contains("\n📊 1/3 complete · 1 running · 1 waiting for cutover\n"));
    assert!(body.contains("**1/3** table(s) ready for cutover — waiting on 2"));
    let order: Vec<usize> = ["**`b`**", "**`c`**", "**`a`**"]
        .iter()
        .map(|t| body.find(t).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "b, c, a: {body}");
    insta::assert_snapshot!("progress_multi_table_mixed", body);
}

/// Example (d): three tables in progress.
#[test]
fn example_d_three_tables_running() {
    let tasks = [
        task("orders", State::Completed),
        with(task("users", State::Running), |t| {
            t.percent = 45;
            t.rows_copied = 45_000;
        }),
        task("items", State::Pending),
    ];
    let body = progress(&apply(State::Running), &tasks);
    assert!(body.contains("\n📊 1/3 complete · 1 running (45%) · 1 queued\n"));
    assert!(body.contains("- **`users`**: 🟦🟦🟦🟦🟦🟦🟦🟦🟦⬜⬜⬜⬜⬜⬜⬜⬜⬜⬜⬜ 45%  \n"));
    assert!(body.contains("  Rows: 45,000 / 100,000 · ETA: 3m 15s\n"));
    insta::assert_snapshot!("progress_running_three_tables", body);
}

#[test]
fn pending() {
    let body = progress(&apply(State::Pending), &[task("orders", State::Pending)]);
    insta::assert_snapshot!("progress_pending", body);
}

#[test]
fn pending_without_tables_yet() {
    let body = progress(&with(apply(State::Pending), |a| a.started_at = None), &[]);
    assert!(!body.contains("Table Progress"));
    insta::assert_snapshot!("progress_pending_no_tables", body);
}

#[test]
fn running_one_table() {
    let requested = with(apply(State::Running), |a| {
        a.requested_by = Some(Login("alice".into()));
    });
    let body = progress(&requested, &[task("orders", State::Running)]);
    // The requester is named without a notification on every edit.
    assert!(body.contains("*Applied by @\u{200B}alice at 2026-05-15 12:34:56 UTC*"));
    insta::assert_snapshot!("progress_running_one_table", body);
}

#[test]
fn running_without_row_counts() {
    let body = progress(
        &apply(State::Running),
        &[with(task("orders", State::Running), |t| {
            t.rows_total = 0;
            t.rows_copied = 0;
            t.percent = 0;
        })],
    );
    assert!(body.contains("- **`orders`**: Running...  \n"));
}

#[test]
fn waiting_for_cutover_some_not_ready() {
    let tasks = [
        task("orders", State::WaitingForCutover),
        task("users", State::WaitingForCutover),
        with(task("items", State::WaitingForCutover), |t| {
            t.ready_to_complete = false
        }),
    ];
    let body = progress(&apply(State::WaitingForCutover), &tasks);
    assert!(body.contains("**2/3** table(s) ready for cutover — waiting on 1"));
    assert!(body.contains("⏸️ Ready for cutover"));
    assert!(body.contains(" Waiting for cutover  \n"));
    insta::assert_snapshot!("progress_waiting_for_cutover_some_not_ready", body);
}

#[test]
fn waiting_for_cutover_all_ready_has_no_waiting_on() {
    let tasks = [
        task("orders", State::WaitingForCutover),
        task("users", State::WaitingForCutover),
    ];
    let body = progress(&apply(State::WaitingForCutover), &tasks);
    assert!(body.contains("**2/2** table(s) ready for cutover\n"));
    assert!(!body.contains("waiting on"));
    insta::assert_snapshot!("progress_waiting_for_cutover_two_ready", body);
}

#[test]
fn cutting_over() {
    let body = progress(
        &apply(State::CuttingOver),
        &[task("orders", State::CuttingOver)],
    );
    insta::assert_snapshot!("progress_cutting_over", body);
}

#[test]
fn completed() {
    let tasks = [
        task("orders", State::Completed),
        task("users", State::Completed),
    ];
    let body = progress(&apply(State::Completed), &tasks);
    assert!(body.contains("📊 2/2 complete"));
    insta::assert_snapshot!("progress_completed", body);
}

#[test]
fn failed() {
    let failed = with(apply(State::Failed), |a| {
        a.error_message =
            Some("Spirit: copy rows: Error 1062: Duplicate entry '7' for key 'idx_status'".into());
    });
    let tasks = [
        task("orders", State::Failed),
        task("users", State::Cancelled),
    ];
    let body = progress(&failed, &tasks);
    assert!(body.contains("> ⚠️ **Error:** "));
    assert!(body.contains("📊 0/2 complete · 1 failed · 1 cancelled"));
    insta::assert_snapshot!("progress_failed", body);
}

#[test]
fn stopped() {
    let tasks = [
        task("orders", State::Stopped),
        with(task("users", State::Stopped), |t| {
            t.percent = 100;
            t.rows_copied = 100_000;
        }),
        with(task("items", State::Stopped), |t| {
            t.percent = 0;
            t.rows_copied = 0;
        }),
    ];
    let body = progress(&apply(State::Stopped), &tasks);
    assert!(body.contains("⏹️ Stopped at 72%  \n  Rows: 72,000 / 100,000\n"));
    insta::assert_snapshot!("progress_stopped", body);
    // Without a deadline from the Stop: just the start hint.
    assert!(body.contains("To resume:\n```\nschemabot start apply-0123456789abcdef -e staging"));
}

#[test]
fn stopped_with_the_resume_deadline_of_its_stop() {
    let tasks = [task("orders", State::Stopped)];
    let body = render_progress_with_deadline(
        &apply(State::Stopped),
        &tasks,
        now(),
        Some("2026-05-22 12:34 UTC"),
        MARKER,
    )
    .unwrap();
    assert!(
        body.contains(
            "Resume before **2026-05-22 12:34 UTC** with:\n```\nschemabot start \
             apply-0123456789abcdef -e staging\n```"
        ),
        "{body}"
    );
    insta::assert_snapshot!("progress_stopped_with_deadline", body);
    // The deadline is Tern's text: escaped, and only a stopped apply shows it.
    let hostile = render_progress_with_deadline(
        &apply(State::Stopped),
        &tasks,
        now(),
        Some("soon* @team <b>"),
        MARKER,
    )
    .unwrap();
    assert!(
        !hostile.contains("@team") && !hostile.contains("<b>"),
        "{hostile}"
    );
    let running = render_progress_with_deadline(
        &apply(State::Running),
        &[task("orders", State::Running)],
        now(),
        Some("2026-05-22 12:34 UTC"),
        MARKER,
    )
    .unwrap();
    assert!(!running.contains("Resume before"), "{running}");
}

#[test]
fn cancelled() {
    let tasks = [
        task("orders", State::Completed),
        task("users", State::Cancelled),
    ];
    let body = progress(&apply(State::Cancelled), &tasks);
    insta::assert_snapshot!("progress_cancelled", body);
}

#[test]
fn revert_window() {
    let body = progress(
        &apply(State::RevertWindow),
        &[task("orders", State::RevertWindow)],
    );
    assert!(body.contains("schemabot skip-revert apply-0123456789abcdef -e staging"));
    insta::assert_snapshot!("progress_revert_window", body);
}

#[test]
fn tombstone_points_to_the_summary() {
    let tasks = [
        task("orders", State::Completed),
        task("users", State::Completed),
    ];
    let body = render_progress_finalized(&apply(State::Completed), &tasks, now(), MARKER).unwrap();
    assert!(body.contains("summary comment below"));
    assert!(!body.contains("Table Progress"));
    insta::assert_snapshot!("progress_finalized_completed", body);
}

#[test]
fn tombstone_of_a_failed_apply() {
    let tasks = [
        task("orders", State::Failed),
        task("users", State::Completed),
    ];
    let body = render_progress_finalized(&apply(State::Failed), &tasks, now(), MARKER).unwrap();
    insta::assert_snapshot!("progress_finalized_failed", body);
}

#[test]
fn every_state_renders_and_ends_with_the_marker() {
    for state in State::ALL {
        let body = progress(
            &apply(state),
            &[task("orders", state), task("users", state)],
        );
        assert!(
            body.ends_with("\n\n<!-- schemabot:progress:apply-0123456789abcdef -->\n"),
            "{state}"
        );
        assert_eq!(body.matches("<!--").count(), 1, "{state}");
    }
}

#[test]
fn tombstone_without_tables_has_no_counts() {
    let body = render_progress_finalized(&apply(State::Cancelled), &[], now(), MARKER).unwrap();
    assert!(!body.contains('📊'));
    assert!(body.contains(
        "*Started at 2026-05-15 12:34:56 UTC*\n\n---\n\n*This progress comment is final"
    ));
}

/// A table whose copy is done and whose checksum is running: a yellow bar at the checksum's
/// percent, next to a table still copying.
#[test]
fn checksum_in_progress_shows_the_verification() {
    let verifying = with(task("orders", State::Running), |t| {
        t.rows_copied = 100_000;
        t.percent = 100;
        t.eta_seconds = None;
        t.checksum = Some(schemabot_domain::apply::Checksum {
            rows_checked: 45_000,
            rows_total: 100_000,
        });
    });
    let body = progress(
        &apply(State::Running),
        &[verifying, task("payments", State::Running)],
    );
    assert!(
        body.contains(&format!(
            "{}{} verifying checksum 45%",
            "🟨".repeat(9),
            "⬜".repeat(11)
        )),
        "{body}"
    );
    assert!(body.contains("Checksum: 45,000 / 100,000 rows"), "{body}");
    insta::assert_snapshot!("progress_checksum_in_progress", body);
}

/// Tern reverting a change (engines with a revert window): shown as such, never as complete.
#[test]
fn reverting_is_shown_as_reverting() {
    let body = progress(
        &apply(State::Reverting),
        &[task("orders", State::Reverting)],
    );
    assert!(body.contains("## Reverting Schema Change"), "{body}");
    assert!(body.contains("↩️ Reverting..."), "{body}");
    insta::assert_snapshot!("progress_reverting", body);
}

#[test]
fn a_rollback_in_progress_is_titled_as_one() {
    let rollback = with(apply(State::Running), |a| {
        a.rollback_of = Some(schemabot_domain::ApplyId::parse("apply-00000000000000aa").unwrap());
    });
    let body = progress(&rollback, &[task("orders", State::Running)]);
    assert!(
        body.starts_with("## Schema Rollback In Progress\n"),
        "{body}"
    );
    insta::assert_snapshot!("progress_rollback_running", body);
}
