//! What Tern's Progress answer says about one task: the pure mapping from a [`ProgressReport`]
//! to the domain's [`EngineObservation`].

use schemabot_domain::apply::{Apply, Task};
use schemabot_domain::state::normalize::Normalized;
use schemabot_domain::state::reconcile::EngineObservation;
use schemabot_domain::{State, TaskId};
use schemabot_tern::{ProgressReport, TableReport};

/// The engine's view of `task`. "No active change" when Spirit lost its in-memory migration
/// (restart), when Tern knows nothing for the apply (`NOT_FOUND`), or when the report leaves
/// the table out. Tern's own `recovering` for the whole apply is what every table shows.
pub fn observe(report: &ProgressReport, apply: &Apply, task: &Task) -> EngineObservation {
    if report.engine_is_idle() || report.state == Normalized::NoActiveChange {
        return EngineObservation::no_active_change();
    }
    let Some(table) = find_table(report, apply, task) else {
        return EngineObservation::no_active_change();
    };
    let error = report.error_message.trim();
    let state = match report.state {
        Normalized::State(State::Recovering) => Normalized::State(State::Recovering),
        _ => table.normalized_status(),
    };
    EngineObservation {
        state,
        rows_copied: non_negative(table.rows_copied),
        rows_total: non_negative(table.rows_total),
        percent: u8::try_from(table.percent.clamp(0, 100)).unwrap_or(100),
        eta_seconds: (table.eta_seconds > 0).then(|| non_negative(table.eta_seconds)),
        checksum: table.checksum,
        error_message: (!error.is_empty()).then(|| error.to_string()),
    }
}

/// The report's line for `task`: by task id when Tern reports ours, else by namespace and table
/// name (Tern's own task ids differ from ours when the apply was registered from its answer).
pub fn find_table<'a>(
    report: &'a ProgressReport,
    apply: &Apply,
    task: &Task,
) -> Option<&'a TableReport> {
    let by_id = report
        .tables
        .iter()
        .find(|table| TaskId::parse(&table.task_id).is_ok_and(|id| id == task.task_id));
    by_id.or_else(|| {
        let namespace = namespace_or_database(&task.namespace, apply);
        report.tables.iter().find(|table| {
            table.table_name == task.table
                && namespace_or_database(&table.namespace, apply) == namespace
        })
    })
}

/// A namespace defaults to the apply's database (Spirit reports `""` for a single schema).
fn namespace_or_database<'a>(namespace: &'a str, apply: &'a Apply) -> &'a str {
    if namespace.is_empty() {
        apply.database.as_str()
    } else {
        namespace
    }
}

fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use schemabot_domain::apply::ApplyMode;
    use schemabot_domain::state::normalize::proto_state;
    use schemabot_domain::{
        ApplyId, Database, Environment, InstallationId, PrNumber, Repository, State,
    };
    use schemabot_tern::ENGINE_IDLE_SUMMARY;

    fn apply() -> Apply {
        Apply {
            id: ApplyId::parse("apply-01").unwrap(),
            tern_apply_id: "apply-01".into(),
            repository: Repository::parse("o/r").unwrap(),
            pr: PrNumber(1),
            installation_id: InstallationId(1),
            database: Database::parse("shop").unwrap(),
            database_type: "mysql".into(),
            deployment: "d".into(),
            environment: Environment::parse("staging").unwrap(),
            target_schema: "shop".into(),
            state: State::Running,
            version: 1,
            mode: ApplyMode::Atomic,
            defer_cutover: true,
            requested_by: None,
            created_at: Utc::now(),
            started_at: None,
            completed_at: None,
            error_message: None,
            claim: None,
            cutover_triggered_by: None,
            cutover_triggered_at: None,
            desired_schema: Default::default(),
            rollback_of: None,
        }
    }

    fn task(id: &str, namespace: &str, table: &str) -> Task {
        Task {
            apply_id: ApplyId::parse("apply-01").unwrap(),
            task_id: TaskId::parse(id).unwrap(),
            namespace: namespace.into(),
            table: table.into(),
            ddl: String::new(),
            state: State::Running,
            version: 1,
            ready_to_complete: false,
            rows_copied: 0,
            rows_total: 0,
            percent: 0,
            eta_seconds: None,
            error_message: None,
            started_at: None,
            completed_at: None,
            engine_silent_since: None,
            checksum: None,
        }
    }

    fn line(
        task_id: &str,
        namespace: &str,
        table: &str,
        status: &str,
        percent: i32,
    ) -> TableReport {
        TableReport {
            task_id: task_id.into(),
            namespace: namespace.into(),
            table_name: table.into(),
            ddl: String::new(),
            status: status.into(),
            rows_copied: 450,
            rows_total: 1000,
            percent,
            eta_seconds: -1,
            is_instant: false,
            progress_detail: String::new(),
            checksum: None,
        }
    }

    fn report(state: i32, summary: &str, tables: Vec<TableReport>) -> ProgressReport {
        ProgressReport {
            apply_id: "apply-01".into(),
            state: proto_state(state),
            raw_state: state,
            summary: summary.into(),
            error_message: "  ".into(),
            started_at: String::new(),
            completed_at: String::new(),
            tables,
        }
    }

    #[test]
    fn tables_are_matched_by_our_task_id_first_then_by_name() {
        let ours = task("task-0a", "shop", "orders");
        let by_id = report(
            2,
            "",
            vec![
                line("task-ff", "shop", "orders", "copyRows", 10),
                line("task-0a", "x", "y", "copyRows", 20),
            ],
        );
        assert_eq!(
            find_table(&by_id, &apply(), &ours).map(|t| t.percent),
            Some(20)
        );
        let by_name = report(2, "", vec![line("task-ff", "", "orders", "copyRows", 30)]);
        assert_eq!(
            find_table(&by_name, &apply(), &ours).map(|t| t.percent),
            Some(30)
        );
        let other_schema = report(
            2,
            "",
            vec![line("task-ff", "other", "orders", "copyRows", 30)],
        );
        assert!(find_table(&other_schema, &apply(), &ours).is_none());
    }

    #[test]
    fn tern_recovering_applies_to_every_table_and_checksums_are_carried() {
        let ours = task("task-0a", "", "orders");
        let seen = observe(
            &report(
                17,
                "",
                vec![line("", "shop", "orders", "waitingOnSentinelTable", 100)],
            ),
            &apply(),
            &ours,
        );
        assert_eq!(seen.state, Normalized::State(State::Recovering));

        let mut verifying = line("", "shop", "orders", "checksum", 100);
        verifying.checksum = schemabot_domain::apply::Checksum::from_counts(45, 100);
        let seen = observe(&report(2, "", vec![verifying]), &apply(), &ours);
        assert_eq!(seen.checksum.map(|c| c.percent()), Some(45));
    }

    #[test]
    fn observations_are_clamped_and_normalised() {
        let ours = task("task-0a", "", "orders");
        let seen = observe(
            &report(2, "", vec![line("", "shop", "orders", "copyRows", 140)]),
            &apply(),
            &ours,
        );
        assert_eq!(seen.state, Normalized::State(State::Running));
        assert_eq!(
            (seen.rows_copied, seen.rows_total, seen.percent),
            (450, 1000, 100)
        );
        assert_eq!(seen.eta_seconds, None);
        assert_eq!(seen.error_message, None, "a blank error is no error");
    }

    #[test]
    fn an_idle_engine_or_a_missing_table_is_no_active_change() {
        let ours = task("task-0a", "shop", "orders");
        let idle = report(
            1,
            ENGINE_IDLE_SUMMARY,
            vec![line("task-0a", "shop", "orders", "recovering", 100)],
        );
        assert_eq!(
            observe(&idle, &apply(), &ours),
            EngineObservation::no_active_change()
        );
        let unknown_apply = report(0, "", vec![]);
        assert_eq!(
            observe(&unknown_apply, &apply(), &ours),
            EngineObservation::no_active_change()
        );
        let missing = report(
            2,
            "",
            vec![line("task-ff", "shop", "customers", "copyRows", 5)],
        );
        assert_eq!(
            observe(&missing, &apply(), &ours),
            EngineObservation::no_active_change()
        );
    }
}
