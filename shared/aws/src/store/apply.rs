//! Applies, tasks, cutover claims, tracked comments, audit events, the active index and poll
//! chains.

use super::{decode_current, key, Store, WriteOutcome};
use crate::codec::{self, attr, item_type, Item};
use crate::condition::{Condition, Expression, UpdateSpec};
use crate::error::StoreError;
use crate::keys;
use crate::store::changes::{ApplyChanges, TaskChanges};
use crate::table::ACTIVE_INDEX;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::{Apply, AuditEvent, CommentKind, CommentRecord, CutoverClaim, Task};
use schemabot_domain::state::transition::predecessors;
use schemabot_domain::{ApplyId, Environment, PrNumber, Repository, State};

/// An apply with everything stored under its partition (one Query).
#[derive(Debug, Clone, PartialEq)]
pub struct ApplySnapshot {
    pub apply: Apply,
    pub tasks: Vec<Task>,
    pub comments: Vec<CommentRecord>,
    /// The current link of the apply's delayed poll chain, if one was started.
    pub poll_chain_seq: Option<u64>,
}

impl ApplySnapshot {
    pub fn comment(&self, kind: CommentKind) -> Option<&CommentRecord> {
        self.comments.iter().find(|c| c.kind == kind)
    }
}

/// A non-terminal apply as listed by the `active` index (eventually consistent: load the apply
/// before acting on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveApplyRef {
    pub apply_id: ApplyId,
    pub state: State,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub repository: Repository,
    pub pr: PrNumber,
    pub environment: Environment,
}

/// Where the next page of [`Store::list_active`] starts (opaque; safe to put in a message).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActiveCursor(String);

impl ActiveCursor {
    pub fn new(raw: impl Into<String>) -> Self {
        ActiveCursor(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePage {
    /// Oldest first.
    pub applies: Vec<ActiveApplyRef>,
    pub next: Option<ActiveCursor>,
}

/// A granted cutover claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimGranted {
    /// The apply as now stored (claim set, version bumped).
    pub apply: Apply,
    /// This command already held the claim: it is a redelivery of a command whose earlier run
    /// may have reached Tern. The worker must settle that from evidence, not call Tern blindly.
    pub already_held: bool,
}

fn apply_key(apply_id: &ApplyId) -> Item {
    key(keys::apply_pk(apply_id), keys::APPLY_SK)
}

fn check_same_apply(what: &str, expected: &ApplyId, got: &ApplyId) -> Result<(), StoreError> {
    if expected == got {
        Ok(())
    } else {
        Err(StoreError::InvalidRequest(format!(
            "{what} belongs to {got}, not to {expected}"
        )))
    }
}

/// `#claim.#command_id = :cmd`
fn claim_held_by(expr: &mut Expression, command_id: &str) -> String {
    let claim = expr.name(attr::CLAIM);
    let command = expr.name(attr::CLAIM_COMMAND_ID);
    let value = expr.value(codec::s(command_id));
    format!("{claim}.{command} = {value}")
}

impl Store {
    // -- applies and tasks ---------------------------------------------------------------------

    /// Creates an apply with its tasks and the creating audit event, in one transaction; nothing
    /// is written if the apply (or any task) already exists.
    pub async fn create_apply(
        &self,
        apply: &Apply,
        tasks: &[Task],
        event: &AuditEvent,
    ) -> Result<WriteOutcome<Apply>, StoreError> {
        check_same_apply("the event", &apply.id, &event.apply_id)?;
        let absent = Condition::absent();
        let mut actions = vec![self.put_action(codec::encode_apply(apply), Some(&absent))?];
        for task in tasks {
            check_same_apply("a task", &apply.id, &task.apply_id)?;
            actions.push(self.put_action(codec::encode_task(task), Some(&absent))?);
        }
        actions.push(self.put_action(codec::encode_event(event), None)?);
        match self.transact(actions).await? {
            Ok(()) => Ok(WriteOutcome::Written(apply.clone())),
            Err(cancelled) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(cancelled.item(0), codec::decode_apply)?,
            }),
        }
    }

    /// The apply record alone (strongly consistent).
    pub async fn get_apply(&self, apply_id: &ApplyId) -> Result<Option<Apply>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(apply_key(apply_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("GetItem", e))?;
        decode_current(got.item(), codec::decode_apply)
    }

    /// The apply, its tasks, its tracked comments and its poll chain: one strongly consistent
    /// Query on the apply's partition (more only if it exceeds 1 MB).
    pub async fn load_apply(
        &self,
        apply_id: &ApplyId,
    ) -> Result<Option<ApplySnapshot>, StoreError> {
        let mut expr = Expression::default();
        let condition = expr.equals(attr::PK, codec::s(keys::apply_pk(apply_id)));
        let items = self.query_all(None, condition, expr, true).await?;

        let mut apply = None;
        let mut tasks = Vec::new();
        let mut comments = Vec::new();
        let mut poll_chain_seq = None;
        for item in &items {
            let Some(AttributeValue::S(sk)) = item.get(attr::SK) else {
                continue;
            };
            if sk == keys::APPLY_SK {
                apply = Some(codec::decode_apply(item)?);
            } else if sk.starts_with(keys::TASK_PREFIX) {
                tasks.push(codec::decode_task(item)?);
            } else if sk.starts_with(keys::COMMENT_PREFIX) {
                comments.push(codec::decode_comment(item)?);
            } else if sk == keys::POLL_SK {
                poll_chain_seq =
                    Some(codec::ItemReader::new(item, "poll chain").u64(attr::CHAIN_SEQ)?);
            }
            // Anything else is a record kind this build does not know yet: ignore it.
        }
        Ok(apply.map(|apply| ApplySnapshot {
            apply,
            tasks,
            comments,
            poll_chain_seq,
        }))
    }

    /// Moves a task to `to`, guarded by DynamoDB on the version in `task` and on the stored state
    /// being an allowed predecessor of `to` (never on what `task` claims the state is). Written
    /// together with `event`. Entering `waiting_for_cutover` latches `ready_to_complete`.
    pub async fn transition_task(
        &self,
        task: &Task,
        to: State,
        changes: &TaskChanges,
        event: &AuditEvent,
    ) -> Result<WriteOutcome<Task>, StoreError> {
        check_same_apply("the event", &task.apply_id, &event.apply_id)?;
        let mut spec = UpdateSpec::default();
        let guard = spec
            .expr
            .transition_guard(task.version, to)
            .ok_or_else(|| no_predecessor(to))?;
        spec.require(guard)
            .set(attr::STATE, codec::state(to))
            .increment_version();
        if to == State::WaitingForCutover {
            spec.set(attr::READY_TO_COMPLETE, AttributeValue::Bool(true));
        }
        changes.write(&mut spec);

        let task_key = key(
            keys::apply_pk(&task.apply_id),
            &keys::task_sk(&task.task_id),
        );
        let actions = vec![
            self.update_action(task_key, &spec)?,
            self.put_action(codec::encode_event(event), None)?,
        ];
        match self.transact(actions).await? {
            Ok(()) => {
                let mut written = task.clone();
                changes.apply_to(&mut written);
                written.state = to;
                written.version = task.version + 1;
                written.ready_to_complete |= to == State::WaitingForCutover;
                Ok(WriteOutcome::Written(written))
            }
            Err(cancelled) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(cancelled.item(0), codec::decode_task)?,
            }),
        }
    }

    /// Non-state changes to a task (progress numbers, silence tracking), guarded by its version.
    pub async fn update_task_progress(
        &self,
        task: &Task,
        changes: &TaskChanges,
    ) -> Result<WriteOutcome<Task>, StoreError> {
        let mut spec = UpdateSpec::default();
        let guard = spec.expr.equals(attr::VERSION, codec::n(task.version));
        spec.require(guard).increment_version();
        changes.write(&mut spec);
        let task_key = key(
            keys::apply_pk(&task.apply_id),
            &keys::task_sk(&task.task_id),
        );
        match self.update_item(task_key, &spec).await? {
            Ok(()) => {
                let mut written = task.clone();
                changes.apply_to(&mut written);
                written.version = task.version + 1;
                Ok(WriteOutcome::Written(written))
            }
            Err(current) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(current.as_ref(), codec::decode_task)?,
            }),
        }
    }

    /// Moves an apply to `to` (guarded like [`Store::transition_task`]), with its audit event.
    /// A terminal state removes the apply from the `active` index.
    pub async fn transition_apply(
        &self,
        apply: &Apply,
        to: State,
        changes: &ApplyChanges,
        event: &AuditEvent,
    ) -> Result<WriteOutcome<Apply>, StoreError> {
        check_same_apply("the event", &apply.id, &event.apply_id)?;
        let mut spec = UpdateSpec::default();
        let guard = spec
            .expr
            .transition_guard(apply.version, to)
            .ok_or_else(|| no_predecessor(to))?;
        spec.require(guard)
            .set(attr::STATE, codec::state(to))
            .increment_version();
        if to.is_terminal() {
            spec.remove(attr::ACTIVE_PK).remove(attr::ACTIVE_SK);
        }
        changes.write(&mut spec);

        let actions = vec![
            self.update_action(apply_key(&apply.id), &spec)?,
            self.put_action(codec::encode_event(event), None)?,
        ];
        match self.transact(actions).await? {
            Ok(()) => {
                let mut written = apply.clone();
                changes.apply_to(&mut written);
                written.state = to;
                written.version = apply.version + 1;
                Ok(WriteOutcome::Written(written))
            }
            Err(cancelled) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(cancelled.item(0), codec::decode_apply)?,
            }),
        }
    }

    // -- cutover claim -------------------------------------------------------------------------

    /// Grants the right to trigger the cutover to one command: the apply must be at the version
    /// read, in `waiting_for_cutover`, and either unclaimed or claimed by this same command (a
    /// redelivery keeps the original claim). Of N concurrent commands exactly one is granted.
    pub async fn claim_cutover(
        &self,
        apply: &Apply,
        claim: &CutoverClaim,
        event: &AuditEvent,
    ) -> Result<WriteOutcome<ClaimGranted, Apply>, StoreError> {
        check_same_apply("the event", &apply.id, &event.apply_id)?;
        let mut spec = UpdateSpec::default();
        let version = spec.expr.equals(attr::VERSION, codec::n(apply.version));
        let waiting = spec
            .expr
            .equals(attr::STATE, codec::state(State::WaitingForCutover));
        let claim_name = spec.expr.name(attr::CLAIM);
        let ours = claim_held_by(&mut spec.expr, &claim.command_id);
        spec.require(version)
            .require(waiting)
            .require(format!("attribute_not_exists({claim_name}) OR {ours}"))
            .set_if_not_exists(attr::CLAIM, codec::encode_claim(claim))
            .increment_version();

        let actions = vec![
            self.update_action(apply_key(&apply.id), &spec)?,
            self.put_action(codec::encode_event(event), None)?,
        ];
        match self.transact(actions).await? {
            Ok(()) => {
                let held = apply
                    .claim
                    .as_ref()
                    .filter(|held| held.command_id == claim.command_id)
                    .cloned();
                let already_held = held.is_some();
                let mut written = apply.clone();
                written.claim = Some(held.unwrap_or_else(|| claim.clone()));
                written.version = apply.version + 1;
                Ok(WriteOutcome::Written(ClaimGranted {
                    apply: written,
                    already_held,
                }))
            }
            Err(cancelled) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(cancelled.item(0), codec::decode_apply)?,
            }),
        }
    }

    /// Gives up this command's claim (Tern did not accept the cutover, or the sweep settled it).
    pub async fn release_claim(
        &self,
        apply_id: &ApplyId,
        command_id: &str,
        event: &AuditEvent,
    ) -> Result<WriteOutcome<(), Apply>, StoreError> {
        check_same_apply("the event", apply_id, &event.apply_id)?;
        let mut spec = UpdateSpec::default();
        let ours = claim_held_by(&mut spec.expr, command_id);
        spec.require(ours).remove(attr::CLAIM).increment_version();
        let actions = vec![
            self.update_action(apply_key(apply_id), &spec)?,
            self.put_action(codec::encode_event(event), None)?,
        ];
        match self.transact(actions).await? {
            Ok(()) => Ok(WriteOutcome::Written(())),
            Err(cancelled) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(cancelled.item(0), codec::decode_apply)?,
            }),
        }
    }

    /// Tern accepted the cutover: the apply moves from `waiting_for_cutover`/`recovering` to
    /// `cutting_over` (only while this command holds the claim), records who triggered it and
    /// when, starts tracking the Cutover Triggered comment and appends the audit event — one
    /// request.
    pub async fn mark_cutting_over(
        &self,
        apply_id: &ApplyId,
        command_id: &str,
        triggered_by: &str,
        at: DateTime<Utc>,
        comment: Option<&CommentRecord>,
        event: &AuditEvent,
    ) -> Result<WriteOutcome<(), Apply>, StoreError> {
        check_same_apply("the event", apply_id, &event.apply_id)?;
        if let Some(comment) = comment {
            check_same_apply("the comment record", apply_id, &comment.apply_id)?;
            if comment.kind != CommentKind::Cutover {
                return Err(StoreError::InvalidRequest(format!(
                    "mark_cutting_over tracks the cutover comment, not the {} one",
                    comment.kind.as_str()
                )));
            }
        }
        let from: Vec<State> = predecessors(State::CuttingOver)
            .into_iter()
            .filter(|s| matches!(s, State::WaitingForCutover | State::Recovering))
            .collect();
        let mut spec = UpdateSpec::default();
        let ours = claim_held_by(&mut spec.expr, command_id);
        let states = spec
            .expr
            .state_in(&from)
            .ok_or_else(|| no_predecessor(State::CuttingOver))?;
        spec.require(ours)
            .require(states)
            .set(attr::STATE, codec::state(State::CuttingOver))
            .set(attr::CUTOVER_TRIGGERED_BY, codec::s(triggered_by))
            .set(attr::CUTOVER_TRIGGERED_AT, codec::time(at))
            .increment_version();

        let mut actions = vec![self.update_action(apply_key(apply_id), &spec)?];
        if let Some(comment) = comment {
            actions
                .push(self.put_action(codec::encode_comment(comment), Some(&Condition::absent()))?);
        }
        actions.push(self.put_action(codec::encode_event(event), None)?);
        match self.transact(actions).await? {
            Ok(()) => Ok(WriteOutcome::Written(())),
            Err(cancelled) if cancelled.condition_failed(0) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(cancelled.item(0), codec::decode_apply)?,
            }),
            Err(_) => Err(StoreError::Inconsistent(format!(
                "{apply_id} already tracks a cutover comment while it awaits its cutover"
            ))),
        }
    }

    // -- tracked comments ----------------------------------------------------------------------

    /// Starts tracking a comment; refused if one of that kind is already tracked (a summary is
    /// created exactly once).
    pub async fn put_comment_record(
        &self,
        record: &CommentRecord,
    ) -> Result<WriteOutcome<CommentRecord>, StoreError> {
        let absent = Condition::absent();
        match self
            .put_item(codec::encode_comment(record), Some(&absent))
            .await?
        {
            Ok(()) => Ok(WriteOutcome::Written(record.clone())),
            Err(current) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(current.as_ref(), codec::decode_comment)?,
            }),
        }
    }

    /// Replaces a tracked comment's record, only if it is still `previous` (same comment, body
    /// hash and edit count), so two writers never both edit on one stale read.
    pub async fn update_comment_record(
        &self,
        previous: &CommentRecord,
        next: &CommentRecord,
    ) -> Result<WriteOutcome<CommentRecord>, StoreError> {
        check_same_apply("the new comment record", &previous.apply_id, &next.apply_id)?;
        if previous.kind != next.kind {
            return Err(StoreError::InvalidRequest(format!(
                "cannot turn a {} comment record into a {} one",
                previous.kind.as_str(),
                next.kind.as_str()
            )));
        }
        let mut spec = UpdateSpec::default();
        let same_comment = spec
            .expr
            .equals(attr::COMMENT_ID, codec::n(previous.comment_id.0));
        let same_body = spec
            .expr
            .equals(attr::BODY_HASH, codec::s(&previous.body_hash));
        let same_edits = spec
            .expr
            .equals(attr::EDIT_COUNT, codec::n(previous.edit_count));
        spec.require(same_comment)
            .require(same_body)
            .require(same_edits)
            .set(attr::COMMENT_ID, codec::n(next.comment_id.0))
            .set(attr::BODY_HASH, codec::s(&next.body_hash))
            .set(attr::EDIT_COUNT, codec::n(next.edit_count))
            .set(attr::FINALIZED, AttributeValue::Bool(next.finalized));
        match next.last_edited_at {
            Some(at) => spec.set(attr::LAST_EDITED_AT, codec::time(at)),
            None => spec.remove(attr::LAST_EDITED_AT),
        };
        let comment_key = key(keys::apply_pk(&next.apply_id), &keys::comment_sk(next.kind));
        match self.update_item(comment_key, &spec).await? {
            Ok(()) => Ok(WriteOutcome::Written(next.clone())),
            Err(current) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(current.as_ref(), codec::decode_comment)?,
            }),
        }
    }

    // -- audit events --------------------------------------------------------------------------

    /// Appends an audit event on its own (state changes append theirs in the same transaction).
    pub async fn append_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.put_item(codec::encode_event(event), None)
            .await?
            // An unconditional put cannot fail a condition.
            .map_err(|_| StoreError::Inconsistent("unconditional put refused".to_string()))
    }

    /// The apply's audit trail, oldest first.
    pub async fn list_events(&self, apply_id: &ApplyId) -> Result<Vec<AuditEvent>, StoreError> {
        let mut expr = Expression::default();
        let pk = expr.equals(attr::PK, codec::s(keys::events_pk(apply_id)));
        let sk = expr.name(attr::SK);
        let prefix = expr.value(codec::s(keys::EVENT_PREFIX));
        let condition = format!("{pk} AND begins_with({sk}, {prefix})");
        let items = self.query_all(None, condition, expr, true).await?;
        items
            .iter()
            .map(|item| codec::decode_event(item).map_err(StoreError::from))
            .collect()
    }

    // -- active index --------------------------------------------------------------------------

    /// One page of non-terminal applies from the sparse `active` index, oldest first.
    pub async fn list_active(
        &self,
        page_size: i32,
        cursor: Option<&ActiveCursor>,
    ) -> Result<ActivePage, StoreError> {
        let mut expr = Expression::default();
        let condition = expr.equals(attr::ACTIVE_PK, codec::s(keys::ACTIVE_PARTITION));
        let start = cursor.map(active_start_key).transpose()?;
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ACTIVE_INDEX)
            .key_condition_expression(condition)
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .set_exclusive_start_key(start)
            .limit(page_size.max(1))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("Query", e))?;
        let applies = page
            .items()
            .iter()
            .map(decode_active_ref)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match page.last_evaluated_key() {
            Some(last) => match last.get(attr::ACTIVE_SK) {
                Some(AttributeValue::S(sk)) => Some(ActiveCursor(sk.clone())),
                _ => None,
            },
            None => None,
        };
        Ok(ActivePage { applies, next })
    }

    /// Every active apply (all pages).
    pub async fn list_all_active(&self) -> Result<Vec<ActiveApplyRef>, StoreError> {
        const PAGE: i32 = 500;
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.list_active(PAGE, cursor.as_ref()).await?;
            all.extend(page.applies);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    // -- poll chains ---------------------------------------------------------------------------

    /// Moves the apply's poll chain from link `expected_seq` to the next one. Only the holder of
    /// the current link succeeds, so a duplicated or late poll message never forks the chain.
    /// `expected_seq` 0 also starts a chain that does not exist yet.
    pub async fn advance_poll_chain(
        &self,
        apply_id: &ApplyId,
        expected_seq: u64,
    ) -> Result<bool, StoreError> {
        let mut spec = UpdateSpec::default();
        let current = spec.expr.equals(attr::CHAIN_SEQ, codec::n(expected_seq));
        let guard = if expected_seq == 0 {
            let pk = spec.expr.name(attr::PK);
            format!("attribute_not_exists({pk}) OR {current}")
        } else {
            current
        };
        spec.require(guard)
            .set(attr::CHAIN_SEQ, codec::n(expected_seq + 1))
            .set(attr::ITEM_TYPE, codec::s(item_type::POLL_CHAIN))
            .set(attr::APPLY_ID, codec::s(apply_id.as_str()))
            .set(attr::UPDATED_AT, codec::time(Utc::now()));
        let poll_key = key(keys::apply_pk(apply_id), keys::POLL_SK);
        Ok(self.update_item(poll_key, &spec).await?.is_ok())
    }

    // -- helpers -------------------------------------------------------------------------------

    /// All items of a Query (following pages).
    pub(super) async fn query_all(
        &self,
        index: Option<&str>,
        key_condition: String,
        expr: Expression,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression(&key_condition)
                .set_expression_attribute_names(Some(expr.names.clone()))
                .set_expression_attribute_values(Some(expr.values.clone()))
                .consistent_read(consistent)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::from_sdk("Query", e))?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(last) if !last.is_empty() => start = Some(last.clone()),
                _ => return Ok(items),
            }
        }
    }
}

fn no_predecessor(to: State) -> StoreError {
    StoreError::InvalidRequest(format!("no state may move to {to}"))
}

fn decode_active_ref(item: &Item) -> Result<ActiveApplyRef, StoreError> {
    // The index projects all attributes, so an indexed item is a whole apply item.
    let apply = codec::decode_apply(item)?;
    Ok(ActiveApplyRef {
        apply_id: apply.id,
        state: apply.state,
        version: apply.version,
        created_at: apply.created_at,
        repository: apply.repository,
        pr: apply.pr,
        environment: apply.environment,
    })
}

/// The `ExclusiveStartKey` of an index query: index keys plus the table keys of the item.
fn active_start_key(cursor: &ActiveCursor) -> Result<Item, StoreError> {
    let apply_id = keys::apply_id_from_active_sk(cursor.as_str()).ok_or_else(|| {
        StoreError::InvalidRequest(format!(
            "`{}` is not an active-index cursor",
            cursor.as_str()
        ))
    })?;
    let mut start = apply_key(&apply_id);
    start.insert(
        attr::ACTIVE_PK.to_string(),
        codec::s(keys::ACTIVE_PARTITION),
    );
    start.insert(attr::ACTIVE_SK.to_string(), codec::s(cursor.as_str()));
    Ok(start)
}
