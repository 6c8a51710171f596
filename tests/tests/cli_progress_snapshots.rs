//! What `schemabot progress` prints for a waiting, a recovering and a completed apply, with
//! colours on and off. Fixed records and a fixed clock, so no services are needed; ANSI escapes
//! are shown as `␛` to keep the snapshots readable.

use chrono::{DateTime, Duration, TimeZone, Utc};
use schemabot_cli::commands::progress::progress_text;
use schemabot_domain::apply::{Apply, ApplyMode, Task};
use schemabot_domain::{
    ApplyId, Database, Environment, InstallationId, Login, PrNumber, Repository, State, TaskId,
};
use schemabot_render::TerminalColors;

const APPLY_ID: &str = "apply-0123456789abcdef";

fn started() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 15, 12, 34, 56).unwrap()
}

/// 12m 5s after the start.
fn now() -> DateTime<Utc> {
    started() + Duration::seconds(725)
}

fn apply(state: State) -> Apply {
    Apply {
        id: ApplyId::parse(APPLY_ID).unwrap(),
        tern_apply_id: APPLY_ID.into(),
        repository: Repository::parse("acme-payments/schemas").unwrap(),
        pr: PrNumber(42),
        installation_id: InstallationId(7),
        database: Database::parse("payments").unwrap(),
        database_type: "mysql".into(),
        deployment: "payments".into(),
        environment: Environment::parse("production").unwrap(),
        target_schema: "payments".into(),
        state,
        version: 5,
        mode: ApplyMode::Atomic,
        defer_cutover: true,
        requested_by: Some(Login("alice-dba".into())),
        created_at: started(),
        started_at: Some(started()),
        completed_at: state.is_terminal().then(now),
        error_message: None,
        claim: None,
        cutover_triggered_by: None,
        cutover_triggered_at: None,
        desired_schema: Default::default(),
        rollback_of: None,
    }
}

fn task(index: u64, table: &str, state: State, percent: u8, ready: bool) -> Task {
    Task {
        apply_id: ApplyId::parse(APPLY_ID).unwrap(),
        task_id: TaskId::from_random(0xa0 + index),
        namespace: "payments".into(),
        table: table.into(),
        ddl: format!("ALTER TABLE `{table}` ADD INDEX `idx_status` (`status`)"),
        state,
        version: 3,
        ready_to_complete: ready,
        rows_copied: u64::from(percent) * 1_000,
        rows_total: 100_000,
        percent,
        eta_seconds: None,
        error_message: None,
        started_at: Some(started()),
        completed_at: None,
        engine_silent_since: None,
        checksum: None,
    }
}

fn waiting() -> (Apply, Vec<Task>) {
    (
        apply(State::WaitingForCutover),
        vec![
            task(1, "orders", State::WaitingForCutover, 100, true),
            task(2, "invoices", State::WaitingForCutover, 100, true),
        ],
    )
}

/// After a Tern restart: one table still known to wait (the sentinel is there), one whose
/// progress is the last known one.
fn recovering() -> (Apply, Vec<Task>) {
    (
        apply(State::Recovering),
        vec![
            task(1, "orders", State::Recovering, 100, true),
            task(2, "invoices", State::Running, 45, false),
        ],
    )
}

fn completed() -> (Apply, Vec<Task>) {
    let mut apply = apply(State::Completed);
    apply.cutover_triggered_by = Some("cli:arn:aws:sts::123456789012:assumed-role/ops/jane".into());
    apply.cutover_triggered_at = Some(now() - Duration::seconds(30));
    (
        apply,
        vec![
            task(1, "orders", State::Completed, 100, true),
            task(2, "invoices", State::Completed, 100, true),
        ],
    )
}

fn render((apply, tasks): (Apply, Vec<Task>), colors: TerminalColors) -> String {
    progress_text(&apply, &tasks, now(), colors)
        .expect("renders")
        .replace('\x1b', "␛")
}

#[test]
fn waiting_for_cutover() {
    let plain = render(waiting(), TerminalColors::Off);
    assert!(plain.contains("⏸️ Ready for cutover"));
    assert!(!plain.contains('␛'));
    insta::assert_snapshot!("progress_waiting_plain", plain);
    insta::assert_snapshot!(
        "progress_waiting_colored",
        render(waiting(), TerminalColors::On)
    );
}

#[test]
fn recovering_after_a_restart() {
    let plain = render(recovering(), TerminalColors::Off);
    assert!(plain.contains("🔄 Recovering..."));
    insta::assert_snapshot!("progress_recovering_plain", plain);
    let colored = render(recovering(), TerminalColors::On);
    assert!(colored.contains("␛[34m"), "the copying table is blue");
    insta::assert_snapshot!("progress_recovering_colored", colored);
}

#[test]
fn completed_after_the_cutover() {
    let plain = render(completed(), TerminalColors::Off);
    insta::assert_snapshot!("progress_completed_plain", plain);
    let colored = render(completed(), TerminalColors::On);
    assert!(
        colored.contains("␛[32m████████████████████␛[39m"),
        "green bars"
    );
    insta::assert_snapshot!("progress_completed_colored", colored);
}

/// While a table's copy is verified, the CLI shows the checksum's progress as the comment does.
#[test]
fn checksum_in_progress() {
    let mut verifying = task(1, "orders", State::Running, 100, false);
    verifying.checksum = Some(schemabot_domain::apply::Checksum {
        rows_checked: 45_000,
        rows_total: 100_000,
    });
    let running = (
        apply(State::Running),
        vec![verifying, task(2, "invoices", State::Running, 45, false)],
    );
    let plain = render(running.clone(), TerminalColors::Off);
    assert!(plain.contains("verifying checksum 45%"), "{plain}");
    assert!(plain.contains("Checksum: 45,000 / 100,000 rows"), "{plain}");
    insta::assert_snapshot!("progress_checksum_plain", plain);
    insta::assert_snapshot!(
        "progress_checksum_colored",
        render(running, TerminalColors::On)
    );
}
