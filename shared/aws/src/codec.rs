//! Records ↔ DynamoDB items. Attribute names are explicit constants (shared with the update
//! expressions in `store`), states are their snake_case strings, times RFC 3339 strings with
//! fixed-width nanoseconds (lossless and sortable), counters and versions numbers. Optional
//! fields are absent attributes, never NULLs.

use crate::keys;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::{
    Apply, ApplyMode, AuditEvent, Checksum, CommentKind, CommentRecord, CutoverClaim, SchemaFiles,
    Task,
};
use schemabot_domain::{
    ApplyId, CommentId, Database, Environment, InstallationId, Login, PrNumber, Repository, State,
    TaskId,
};
use std::collections::HashMap;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Attribute names.
pub mod attr {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const ACTIVE_PK: &str = "active_pk";
    pub const ACTIVE_SK: &str = "active_sk";
    /// TTL attribute (epoch seconds); DynamoDB deletes the item some time after it passes.
    pub const EXPIRES_AT: &str = "expires_at";
    /// What kind of record an item is (`apply`, `task`, …), for people reading the table.
    pub const ITEM_TYPE: &str = "item_type";

    pub const APPLY_ID: &str = "apply_id";
    pub const TERN_APPLY_ID: &str = "tern_apply_id";
    pub const REPOSITORY: &str = "repository";
    pub const PR: &str = "pr";
    pub const INSTALLATION_ID: &str = "installation_id";
    pub const DATABASE: &str = "database";
    pub const DATABASE_TYPE: &str = "database_type";
    pub const DEPLOYMENT: &str = "deployment";
    pub const ENVIRONMENT: &str = "environment";
    pub const TARGET_SCHEMA: &str = "target_schema";
    pub const STATE: &str = "state";
    pub const VERSION: &str = "version";
    pub const MODE: &str = "mode";
    pub const DEFER_CUTOVER: &str = "defer_cutover";
    pub const REQUESTED_BY: &str = "requested_by";
    pub const CREATED_AT: &str = "created_at";
    pub const STARTED_AT: &str = "started_at";
    pub const COMPLETED_AT: &str = "completed_at";
    pub const ERROR_MESSAGE: &str = "error_message";
    pub const CLAIM: &str = "claim";
    pub const CLAIM_COMMAND_ID: &str = "command_id";
    pub const CLAIM_ACTOR: &str = "actor";
    pub const CLAIM_CLAIMED_AT: &str = "claimed_at";
    pub const CUTOVER_TRIGGERED_BY: &str = "cutover_triggered_by";
    pub const CUTOVER_TRIGGERED_AT: &str = "cutover_triggered_at";
    pub const DESIRED_SCHEMA: &str = "desired_schema";

    pub const TASK_ID: &str = "task_id";
    pub const NAMESPACE: &str = "namespace";
    pub const TABLE_NAME: &str = "table_name";
    pub const DDL: &str = "ddl";
    pub const READY_TO_COMPLETE: &str = "ready_to_complete";
    pub const ROWS_COPIED: &str = "rows_copied";
    pub const ROWS_TOTAL: &str = "rows_total";
    pub const PERCENT: &str = "percent";
    pub const ETA_SECONDS: &str = "eta_seconds";
    pub const CHECKSUM_ROWS_CHECKED: &str = "checksum_rows_checked";
    pub const CHECKSUM_ROWS_TOTAL: &str = "checksum_rows_total";
    pub const ENGINE_SILENT_SINCE: &str = "engine_silent_since";

    pub const KIND: &str = "kind";
    pub const COMMENT_ID: &str = "comment_id";
    pub const BODY_HASH: &str = "body_hash";
    pub const EDIT_COUNT: &str = "edit_count";
    pub const LAST_EDITED_AT: &str = "last_edited_at";
    pub const FINALIZED: &str = "finalized";

    pub const AT: &str = "at";
    pub const EVENT: &str = "event";
    pub const ACTOR: &str = "actor";
    pub const DELIVERY_ID: &str = "delivery_id";
    pub const FROM_STATE: &str = "from_state";
    pub const TO_STATE: &str = "to_state";
    pub const OUTCOME: &str = "outcome";
    pub const MESSAGE: &str = "message";

    pub const STATUS: &str = "status";
    pub const LEASE_EXPIRES_AT_MS: &str = "lease_expires_at_ms";
    pub const COMMENT_KEY: &str = "comment_key";
    pub const FIRST_SEEN_AT: &str = "first_seen_at";

    pub const CHAIN_SEQ: &str = "chain_seq";
    pub const UPDATED_AT: &str = "updated_at";

    pub const LOCK_STAGE: &str = "lock_stage";
    pub const LOCK_COMMAND_ID: &str = "lock_command_id";
    pub const HEAD_SHA: &str = "head_sha";
    pub const PLAN: &str = "plan";
    pub const LOCKED_BY: &str = "locked_by";
    pub const ACQUIRED_AT: &str = "acquired_at";
    pub const SCHEMA_DIGEST: &str = "schema_digest";
}

/// `item_type` values.
pub mod item_type {
    pub const APPLY: &str = "apply";
    pub const TASK: &str = "task";
    pub const COMMENT: &str = "comment";
    pub const EVENT: &str = "event";
    pub const DELIVERY: &str = "delivery";
    pub const COMMENT_DELIVERY: &str = "comment_delivery";
    pub const POLL_CHAIN: &str = "poll_chain";
    pub const LOCK: &str = "lock";
    pub const PR_LOCK: &str = "pr_lock";
    pub const APPLIED_SCHEMA: &str = "applied_schema";
    pub const LOCK_EVENT: &str = "lock_event";
}

/// Why an item could not be read back as a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{record} item: attribute `{attribute}` is missing")]
    Missing {
        record: &'static str,
        attribute: &'static str,
    },
    #[error("{record} item: attribute `{attribute}` is not of type {expected}")]
    WrongType {
        record: &'static str,
        attribute: &'static str,
        expected: &'static str,
    },
    #[error("{record} item: attribute `{attribute}` has an invalid value `{value}`: {reason}")]
    Invalid {
        record: &'static str,
        attribute: &'static str,
        value: String,
        reason: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Scalar encodings

/// RFC 3339 in UTC with exactly nine fractional digits, so that string order is time order.
pub use crate::keys::format_time;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn time(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::S(format_time(at))
}

pub fn state(value: State) -> AttributeValue {
    AttributeValue::S(value.as_str().to_string())
}

fn mode_str(mode: ApplyMode) -> &'static str {
    match mode {
        ApplyMode::Atomic => "atomic",
        ApplyMode::Sequential => "sequential",
    }
}

fn comment_kind_from_str(raw: &str) -> Option<CommentKind> {
    [
        CommentKind::Progress,
        CommentKind::Cutover,
        CommentKind::Summary,
    ]
    .into_iter()
    .find(|kind| kind.as_str() == raw)
}

/// Builds an item attribute by attribute; `None` values are left out.
#[derive(Default)]
struct ItemWriter(Item);

impl ItemWriter {
    fn put(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        self.0.insert(name.to_string(), value);
        self
    }

    fn put_opt(&mut self, name: &str, value: Option<AttributeValue>) -> &mut Self {
        if let Some(value) = value {
            self.0.insert(name.to_string(), value);
        }
        self
    }

    fn finish(self) -> Item {
        self.0
    }
}

/// Reads attributes of one item, naming the record kind in every error.
pub(crate) struct ItemReader<'a> {
    item: &'a Item,
    record: &'static str,
}

impl<'a> ItemReader<'a> {
    pub(crate) fn new(item: &'a Item, record: &'static str) -> Self {
        ItemReader { item, record }
    }

    fn missing(&self, attribute: &'static str) -> DecodeError {
        DecodeError::Missing {
            record: self.record,
            attribute,
        }
    }

    fn wrong_type(&self, attribute: &'static str, expected: &'static str) -> DecodeError {
        DecodeError::WrongType {
            record: self.record,
            attribute,
            expected,
        }
    }

    fn invalid(&self, attribute: &'static str, value: &str, reason: impl ToString) -> DecodeError {
        DecodeError::Invalid {
            record: self.record,
            attribute,
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn opt_string(&self, name: &'static str) -> Result<Option<&'a str>, DecodeError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value.as_str())),
            Some(_) => Err(self.wrong_type(name, "S")),
        }
    }

    pub(crate) fn string(&self, name: &'static str) -> Result<&'a str, DecodeError> {
        self.opt_string(name)?.ok_or_else(|| self.missing(name))
    }

    pub(crate) fn opt_u64(&self, name: &'static str) -> Result<Option<u64>, DecodeError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(raw)) => raw
                .parse::<u64>()
                .map(Some)
                .map_err(|e| self.invalid(name, raw, e)),
            Some(_) => Err(self.wrong_type(name, "N")),
        }
    }

    pub(crate) fn u64(&self, name: &'static str) -> Result<u64, DecodeError> {
        self.opt_u64(name)?.ok_or_else(|| self.missing(name))
    }

    fn bool(&self, name: &'static str) -> Result<bool, DecodeError> {
        match self.item.get(name) {
            None => Err(self.missing(name)),
            Some(AttributeValue::Bool(value)) => Ok(*value),
            Some(_) => Err(self.wrong_type(name, "BOOL")),
        }
    }

    fn opt_time(&self, name: &'static str) -> Result<Option<DateTime<Utc>>, DecodeError> {
        self.opt_string(name)?
            .map(|raw| {
                DateTime::parse_from_rfc3339(raw)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| self.invalid(name, raw, e))
            })
            .transpose()
    }

    pub(crate) fn time(&self, name: &'static str) -> Result<DateTime<Utc>, DecodeError> {
        self.opt_time(name)?.ok_or_else(|| self.missing(name))
    }

    fn opt_state(&self, name: &'static str) -> Result<Option<State>, DecodeError> {
        self.opt_string(name)?
            .map(|raw| {
                State::from_storage(raw).ok_or_else(|| self.invalid(name, raw, "unknown state"))
            })
            .transpose()
    }

    pub(crate) fn state(&self, name: &'static str) -> Result<State, DecodeError> {
        self.opt_state(name)?.ok_or_else(|| self.missing(name))
    }

    /// A string attribute parsed by one of the domain's validating constructors.
    pub(crate) fn parsed<T, E: ToString>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, DecodeError> {
        let raw = self.string(name)?;
        parse(raw).map_err(|e| self.invalid(name, raw, e))
    }

    fn opt_map(&self, name: &'static str) -> Result<Option<&'a Item>, DecodeError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::M(map)) => Ok(Some(map)),
            Some(_) => Err(self.wrong_type(name, "M")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Apply

/// The apply item. Non-terminal applies also get the `active` index keys.
pub fn encode_apply(apply: &Apply) -> Item {
    let mut w = ItemWriter::default();
    w.put(attr::PK, s(keys::apply_pk(&apply.id)))
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
        );
    if !apply.state.is_terminal() {
        w.put(attr::ACTIVE_PK, s(keys::ACTIVE_PARTITION)).put(
            attr::ACTIVE_SK,
            s(keys::active_sk(apply.created_at, &apply.id)),
        );
    }
    w.finish()
}

pub fn encode_claim(claim: &CutoverClaim) -> AttributeValue {
    let mut w = ItemWriter::default();
    w.put(attr::CLAIM_COMMAND_ID, s(&claim.command_id))
        .put(attr::CLAIM_ACTOR, s(&claim.actor))
        .put(attr::CLAIM_CLAIMED_AT, time(claim.claimed_at));
    AttributeValue::M(w.finish())
}

fn decode_claim(map: &Item) -> Result<CutoverClaim, DecodeError> {
    let r = ItemReader::new(map, "cutover claim");
    Ok(CutoverClaim {
        command_id: r.string(attr::CLAIM_COMMAND_ID)?.to_string(),
        actor: r.string(attr::CLAIM_ACTOR)?.to_string(),
        claimed_at: r.time(attr::CLAIM_CLAIMED_AT)?,
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
    let mut w = ItemWriter::default();
    w.put(attr::PK, s(keys::apply_pk(&task.apply_id)))
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
        );
    w.finish()
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

// ---------------------------------------------------------------------------------------------
// Comment record

pub fn encode_comment(record: &CommentRecord) -> Item {
    let mut w = ItemWriter::default();
    w.put(attr::PK, s(keys::apply_pk(&record.apply_id)))
        .put(attr::SK, s(keys::comment_sk(record.kind)))
        .put(attr::ITEM_TYPE, s(item_type::COMMENT))
        .put(attr::APPLY_ID, s(record.apply_id.as_str()))
        .put(attr::KIND, s(record.kind.as_str()))
        .put(attr::COMMENT_ID, n(record.comment_id.0))
        .put(attr::BODY_HASH, s(&record.body_hash))
        .put(attr::EDIT_COUNT, n(record.edit_count))
        .put_opt(attr::LAST_EDITED_AT, record.last_edited_at.map(time))
        .put(attr::FINALIZED, AttributeValue::Bool(record.finalized));
    w.finish()
}

pub fn decode_comment(item: &Item) -> Result<CommentRecord, DecodeError> {
    let r = ItemReader::new(item, "comment record");
    let kind_raw = r.string(attr::KIND)?;
    let kind = comment_kind_from_str(kind_raw)
        .ok_or_else(|| r.invalid(attr::KIND, kind_raw, "unknown comment kind"))?;
    Ok(CommentRecord {
        apply_id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
        kind,
        comment_id: CommentId(r.u64(attr::COMMENT_ID)?),
        body_hash: r.string(attr::BODY_HASH)?.to_string(),
        edit_count: r.u64(attr::EDIT_COUNT)?,
        last_edited_at: r.opt_time(attr::LAST_EDITED_AT)?,
        finalized: r.bool(attr::FINALIZED)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Audit event

/// The event item; its sort key is generated (see [`keys::event_sk`]).
pub fn encode_event(event: &AuditEvent) -> Item {
    let mut w = ItemWriter::default();
    w.put(attr::PK, s(keys::events_pk(&event.apply_id)))
        .put(attr::SK, s(keys::event_sk(event.at)))
        .put(attr::ITEM_TYPE, s(item_type::EVENT))
        .put(attr::APPLY_ID, s(event.apply_id.as_str()))
        .put(attr::AT, time(event.at))
        .put(attr::EVENT, s(&event.event))
        .put(attr::ACTOR, s(&event.actor))
        .put_opt(attr::DELIVERY_ID, event.delivery_id.as_deref().map(s))
        .put_opt(attr::FROM_STATE, event.from_state.map(state))
        .put_opt(attr::TO_STATE, event.to_state.map(state))
        .put(attr::OUTCOME, s(&event.outcome))
        .put_opt(attr::MESSAGE, event.message.as_deref().map(s));
    w.finish()
}

pub fn decode_event(item: &Item) -> Result<AuditEvent, DecodeError> {
    let r = ItemReader::new(item, "audit event");
    Ok(AuditEvent {
        apply_id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
        at: r.time(attr::AT)?,
        event: r.string(attr::EVENT)?.to_string(),
        actor: r.string(attr::ACTOR)?.to_string(),
        delivery_id: r.opt_string(attr::DELIVERY_ID)?.map(str::to_string),
        from_state: r.opt_state(attr::FROM_STATE)?,
        to_state: r.opt_state(attr::TO_STATE)?,
        outcome: r.string(attr::OUTCOME)?.to_string(),
        message: r.opt_string(attr::MESSAGE)?.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            }),
            cutover_triggered_by: None,
            cutover_triggered_at: None,
            desired_schema: Default::default(),
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
    fn task_comment_and_event_round_trip() {
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

        let comment = CommentRecord {
            apply_id: task.apply_id.clone(),
            kind: CommentKind::Progress,
            comment_id: CommentId(123),
            body_hash: "abc".into(),
            edit_count: 2,
            last_edited_at: Some(at("2024-05-01T10:00:00Z")),
            finalized: false,
        };
        let item = encode_comment(&comment);
        assert_eq!(item[attr::SK], s("COMMENT#progress"));
        assert_eq!(decode_comment(&item).unwrap(), comment);

        let event = AuditEvent {
            apply_id: task.apply_id.clone(),
            at: at("2024-05-01T10:00:00Z"),
            event: "state_transition".into(),
            actor: "worker".into(),
            delivery_id: Some("d-1".into()),
            from_state: Some(State::Running),
            to_state: Some(State::WaitingForCutover),
            outcome: "written".into(),
            message: None,
        };
        assert_eq!(decode_event(&encode_event(&event)).unwrap(), event);
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
