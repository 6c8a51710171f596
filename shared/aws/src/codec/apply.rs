//! Apply items (with their cutover claim and desired schema) and task items.

use super::item::{n, s, state, time, DecodeError, Item, ItemReader, ItemWriter};
use super::{attr, item_type};
use crate::keys;
use aws_sdk_dynamodb::types::AttributeValue;
use schemabot_domain::apply::{Apply, ApplyMode, Checksum, CutoverClaim, SchemaFiles, Task};
use schemabot_domain::{
    ApplyId, Database, Environment, InstallationId, Login, PrNumber, Repository, TaskId,
};

fn mode_str(mode: ApplyMode) -> &'static str {
    match mode {
        ApplyMode::Atomic => "atomic",
        ApplyMode::Sequential => "sequential",
    }
}

/// The apply item. Non-terminal applies also get the `active` index keys.
pub fn encode_apply(apply: &Apply) -> Item {
    let live = !apply.state.is_terminal();
    ItemWriter::default()
        .put(attr::PK, s(keys::apply_pk(&apply.id)))
        .put(attr::SK, s(keys::APPLY_SK))
        .put(attr::ITEM_TYPE, s(item_type::APPLY))
        .put(attr::APPLY_ID, s(apply.id.as_str()))
        .put(attr::TERN_APPLY_ID, s(&apply.tern_apply_id))
        .put(attr::REPOSITORY, s(apply.repository.as_str()))
        .put(attr::PR, n(apply.pr.0))
        .put(attr::INSTALLATION_ID, n(apply.installation_id.0))
        .put(attr::DATABASE, s(apply.database.as_str()))
        .put(attr::DATABASE_TYPE, s(&apply.database_type))
        .put(attr::DEPLOYMENT, s(&apply.deployment))
        .put(attr::ENVIRONMENT, s(apply.environment.as_str()))
        .put(attr::TARGET_SCHEMA, s(&apply.target_schema))
        .put(attr::STATE, state(apply.state))
        .put(attr::VERSION, n(apply.version))
        .put(attr::MODE, s(mode_str(apply.mode)))
        .put(
            attr::DEFER_CUTOVER,
            AttributeValue::Bool(apply.defer_cutover),
        )
        .put_opt(
            attr::REQUESTED_BY,
            apply.requested_by.as_ref().map(|l| s(&l.0)),
        )
        .put(attr::CREATED_AT, time(apply.created_at))
        .put_opt(attr::STARTED_AT, apply.started_at.map(time))
        .put_opt(attr::COMPLETED_AT, apply.completed_at.map(time))
        .put_opt(attr::ERROR_MESSAGE, apply.error_message.as_deref().map(s))
        .put_opt(attr::CLAIM, apply.claim.as_ref().map(encode_claim))
        .put_opt(
            attr::CUTOVER_TRIGGERED_BY,
            apply.cutover_triggered_by.as_deref().map(s),
        )
        .put_opt(
            attr::CUTOVER_TRIGGERED_AT,
            apply.cutover_triggered_at.map(time),
        )
        .put_opt(
            attr::DESIRED_SCHEMA,
            (!apply.desired_schema.is_empty()).then(|| encode_schema(&apply.desired_schema)),
        )
        .put_opt(
            attr::ROLLBACK_OF,
            apply.rollback_of.as_ref().map(|id| s(id.as_str())),
        )
        .put_opt(attr::ACTIVE_PK, live.then(|| s(keys::ACTIVE_PARTITION)))
        .put_opt(
            attr::ACTIVE_SK,
            live.then(|| s(keys::active_sk(apply.created_at, &apply.id))),
        )
        .finish()
}

pub fn encode_claim(claim: &CutoverClaim) -> AttributeValue {
    let called = claim.tern_called_at;
    let map = ItemWriter::default()
        .put(attr::CLAIM_COMMAND_ID, s(&claim.command_id))
        .put(attr::CLAIM_ACTOR, s(&claim.actor))
        .put(attr::CLAIM_CLAIMED_AT, time(claim.claimed_at))
        .put_opt(attr::CLAIM_TERN_CALLED_AT, called.map(time))
        .put_opt(
            attr::CLAIM_TERN_CALL_OPEN,
            called.map(|_| AttributeValue::Bool(claim.tern_call_open)),
        );
    AttributeValue::M(map.finish())
}

fn decode_claim(map: &Item) -> Result<CutoverClaim, DecodeError> {
    let r = ItemReader::new(map, "cutover claim");
    Ok(CutoverClaim {
        command_id: r.string(attr::CLAIM_COMMAND_ID)?.to_string(),
        actor: r.string(attr::CLAIM_ACTOR)?.to_string(),
        claimed_at: r.time(attr::CLAIM_CLAIMED_AT)?,
        tern_called_at: r.opt_time(attr::CLAIM_TERN_CALLED_AT)?,
        tern_call_open: r.opt_bool(attr::CLAIM_TERN_CALL_OPEN)?.unwrap_or(false),
    })
}

pub fn decode_apply(item: &Item) -> Result<Apply, DecodeError> {
    let r = ItemReader::new(item, "apply");
    let mode = match r.string(attr::MODE)? {
        "atomic" => ApplyMode::Atomic,
        "sequential" => ApplyMode::Sequential,
        other => return Err(r.invalid(attr::MODE, other, "unknown apply mode")),
    };
    Ok(Apply {
        id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
        tern_apply_id: r.string(attr::TERN_APPLY_ID)?.to_string(),
        repository: r.parsed(attr::REPOSITORY, Repository::parse)?,
        pr: PrNumber(r.u64(attr::PR)?),
        installation_id: InstallationId(r.u64(attr::INSTALLATION_ID)?),
        database: r.parsed(attr::DATABASE, Database::parse)?,
        database_type: r.string(attr::DATABASE_TYPE)?.to_string(),
        deployment: r.string(attr::DEPLOYMENT)?.to_string(),
        environment: r.parsed(attr::ENVIRONMENT, Environment::parse)?,
        target_schema: r.string(attr::TARGET_SCHEMA)?.to_string(),
        state: r.state(attr::STATE)?,
        version: r.u64(attr::VERSION)?,
        mode,
        defer_cutover: r.bool(attr::DEFER_CUTOVER)?,
        requested_by: r
            .opt_string(attr::REQUESTED_BY)?
            .map(|l| Login(l.to_string())),
        created_at: r.time(attr::CREATED_AT)?,
        started_at: r.opt_time(attr::STARTED_AT)?,
        completed_at: r.opt_time(attr::COMPLETED_AT)?,
        error_message: r.opt_string(attr::ERROR_MESSAGE)?.map(str::to_string),
        claim: r.opt_map(attr::CLAIM)?.map(decode_claim).transpose()?,
        cutover_triggered_by: r
            .opt_string(attr::CUTOVER_TRIGGERED_BY)?
            .map(str::to_string),
        cutover_triggered_at: r.opt_time(attr::CUTOVER_TRIGGERED_AT)?,
        desired_schema: r
            .opt_map(attr::DESIRED_SCHEMA)?
            .map(decode_schema)
            .transpose()?
            .unwrap_or_default(),
        rollback_of: r
            .opt_string(attr::ROLLBACK_OF)?
            .map(|id| ApplyId::parse(id).map_err(|e| r.invalid(attr::ROLLBACK_OF, id, e)))
            .transpose()?,
    })
}

/// Namespace → file → content, as a map of maps of strings.
fn encode_schema(schema: &SchemaFiles) -> AttributeValue {
    AttributeValue::M(
        schema
            .iter()
            .map(|(namespace, files)| {
                let files = files
                    .iter()
                    .map(|(name, content)| (name.clone(), s(content)))
                    .collect();
                (namespace.clone(), AttributeValue::M(files))
            })
            .collect(),
    )
}

fn decode_schema(map: &Item) -> Result<SchemaFiles, DecodeError> {
    let wrong = || DecodeError::WrongType {
        record: "apply",
        attribute: attr::DESIRED_SCHEMA,
        expected: "M of M of S",
    };
    map.iter()
        .map(|(namespace, files)| {
            let AttributeValue::M(files) = files else {
                return Err(wrong());
            };
            let files = files
                .iter()
                .map(|(name, content)| match content {
                    AttributeValue::S(content) => Ok((name.clone(), content.clone())),
                    _ => Err(wrong()),
                })
                .collect::<Result<_, _>>()?;
            Ok((namespace.clone(), files))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Task

pub fn encode_task(task: &Task) -> Item {
    ItemWriter::default()
        .put(attr::PK, s(keys::apply_pk(&task.apply_id)))
        .put(attr::SK, s(keys::task_sk(&task.task_id)))
        .put(attr::ITEM_TYPE, s(item_type::TASK))
        .put(attr::APPLY_ID, s(task.apply_id.as_str()))
        .put(attr::TASK_ID, s(task.task_id.as_str()))
        .put(attr::NAMESPACE, s(&task.namespace))
        .put(attr::TABLE_NAME, s(&task.table))
        .put(attr::DDL, s(&task.ddl))
        .put(attr::STATE, state(task.state))
        .put(attr::VERSION, n(task.version))
        .put(
            attr::READY_TO_COMPLETE,
            AttributeValue::Bool(task.ready_to_complete),
        )
        .put(attr::ROWS_COPIED, n(task.rows_copied))
        .put(attr::ROWS_TOTAL, n(task.rows_total))
        .put(attr::PERCENT, n(task.percent))
        .put_opt(attr::ETA_SECONDS, task.eta_seconds.map(n))
        .put_opt(
            attr::CHECKSUM_ROWS_CHECKED,
            task.checksum.map(|c| n(c.rows_checked)),
        )
        .put_opt(
            attr::CHECKSUM_ROWS_TOTAL,
            task.checksum.map(|c| n(c.rows_total)),
        )
        .put_opt(attr::ERROR_MESSAGE, task.error_message.as_deref().map(s))
        .put_opt(attr::STARTED_AT, task.started_at.map(time))
        .put_opt(attr::COMPLETED_AT, task.completed_at.map(time))
        .put_opt(
            attr::ENGINE_SILENT_SINCE,
            task.engine_silent_since.map(time),
        )
        .finish()
}

pub fn decode_task(item: &Item) -> Result<Task, DecodeError> {
    let r = ItemReader::new(item, "task");
    let percent_raw = r.u64(attr::PERCENT)?;
    let percent = u8::try_from(percent_raw)
        .map_err(|e| r.invalid(attr::PERCENT, &percent_raw.to_string(), e))?;
    Ok(Task {
        apply_id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
        task_id: r.parsed(attr::TASK_ID, TaskId::parse)?,
        namespace: r.string(attr::NAMESPACE)?.to_string(),
        table: r.string(attr::TABLE_NAME)?.to_string(),
        ddl: r.string(attr::DDL)?.to_string(),
        state: r.state(attr::STATE)?,
        version: r.u64(attr::VERSION)?,
        ready_to_complete: r.bool(attr::READY_TO_COMPLETE)?,
        rows_copied: r.u64(attr::ROWS_COPIED)?,
        rows_total: r.u64(attr::ROWS_TOTAL)?,
        percent,
        eta_seconds: r.opt_u64(attr::ETA_SECONDS)?,
        checksum: match (
            r.opt_u64(attr::CHECKSUM_ROWS_CHECKED)?,
            r.opt_u64(attr::CHECKSUM_ROWS_TOTAL)?,
        ) {
            (Some(rows_checked), Some(rows_total)) => Some(Checksum {
                rows_checked,
                rows_total,
            }),
            _ => None,
        },
        error_message: r.opt_string(attr::ERROR_MESSAGE)?.map(str::to_string),
        started_at: r.opt_time(attr::STARTED_AT)?,
        completed_at: r.opt_time(attr::COMPLETED_AT)?,
        engine_silent_since: r.opt_time(attr::ENGINE_SILENT_SINCE)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use schemabot_domain::State;

    fn at(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn sample_apply(state: State) -> Apply {
        Apply {
            id: ApplyId::parse("apply-0123456789abcdef").unwrap(),
            tern_apply_id: "tern-42".into(),
            repository: Repository::parse("octo/shop").unwrap(),
            pr: PrNumber(7),
            installation_id: InstallationId(99),
            database: Database::parse("orders").unwrap(),
            database_type: "mysql".into(),
            deployment: "main".into(),
            environment: Environment::parse("production").unwrap(),
            target_schema: "orders".into(),
            state,
            version: 3,
            mode: ApplyMode::Sequential,
            defer_cutover: true,
            requested_by: Some(Login("alice".into())),
            created_at: at("2024-05-01T10:00:00.123456789Z"),
            started_at: Some(at("2024-05-01T10:00:01Z")),
            completed_at: None,
            error_message: None,
            claim: Some(CutoverClaim {
                command_id: "cutover:octo/shop:1".into(),
                actor: "bob".into(),
                claimed_at: at("2024-05-01T11:00:00Z"),
                tern_called_at: None,
                tern_call_open: false,
            }),
            cutover_triggered_by: None,
            cutover_triggered_at: None,
            desired_schema: Default::default(),
            rollback_of: None,
        }
    }

    #[test]
    fn apply_round_trips_and_only_live_applies_are_indexed() {
        let live = sample_apply(State::WaitingForCutover);
        let item = encode_apply(&live);
        assert_eq!(decode_apply(&item).unwrap(), live);
        assert_eq!(item[attr::STATE], s("waiting_for_cutover"));
        assert_eq!(item[attr::VERSION], AttributeValue::N("3".into()));
        assert_eq!(
            item[attr::ACTIVE_SK],
            s("2024-05-01T10:00:00.123456789Z#apply-0123456789abcdef")
        );
        assert!(
            !item.contains_key(attr::COMPLETED_AT),
            "None is an absent attribute"
        );

        let done = encode_apply(&sample_apply(State::Completed));
        assert!(!done.contains_key(attr::ACTIVE_PK) && !done.contains_key(attr::ACTIVE_SK));
    }

    #[test]
    fn task_round_trips() {
        let task = Task {
            apply_id: ApplyId::parse("apply-01").unwrap(),
            task_id: TaskId::parse("task-02").unwrap(),
            namespace: "orders".into(),
            table: "line_items".into(),
            ddl: "ALTER TABLE line_items ADD COLUMN x INT".into(),
            state: State::Running,
            version: 1,
            ready_to_complete: false,
            rows_copied: 10,
            rows_total: 100,
            percent: 10,
            eta_seconds: Some(30),
            error_message: None,
            started_at: Some(at("2024-05-01T10:00:00Z")),
            completed_at: None,
            engine_silent_since: None,
            checksum: None,
        };
        assert_eq!(decode_task(&encode_task(&task)).unwrap(), task);
    }

    #[test]
    fn decoding_errors_are_typed() {
        let mut item = encode_apply(&sample_apply(State::Running));
        item.insert(attr::STATE.into(), s("sideways"));
        assert!(matches!(
            decode_apply(&item),
            Err(DecodeError::Invalid {
                attribute: "state",
                ..
            })
        ));
        item.remove(attr::STATE);
        assert_eq!(
            decode_apply(&item),
            Err(DecodeError::Missing {
                record: "apply",
                attribute: "state"
            })
        );
        item.insert(attr::STATE.into(), AttributeValue::N("1".into()));
        assert!(matches!(
            decode_apply(&item),
            Err(DecodeError::WrongType { expected: "S", .. })
        ));
    }
}
