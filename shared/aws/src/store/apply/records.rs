//! Applies and tasks: creation, reads of the apply partition, and guarded state transitions.

use super::super::{key, Store, WriteOutcome};
use super::support::{apply_key, check_same_apply, no_predecessor};
use crate::codec::{self, attr, Item};
use crate::condition::{Condition, Expression, UpdateSpec};
use crate::error::StoreError;
use crate::keys;
use crate::store::changes::{ApplyChanges, TaskChanges};
use aws_sdk_dynamodb::types::AttributeValue;
use schemabot_domain::apply::{Apply, AuditEvent, CommentKind, CommentRecord, Task};
use schemabot_domain::{ApplyId, State};

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

impl Store {
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
        self.transact_or_current(actions, apply.clone(), codec::decode_apply)
            .await
    }

    /// The apply record alone (strongly consistent).
    pub async fn get_apply(&self, apply_id: &ApplyId) -> Result<Option<Apply>, StoreError> {
        self.get_record(apply_key(apply_id), codec::decode_apply)
            .await
    }

    /// The apply, its tasks, its tracked comments and its poll chain: one strongly consistent
    /// Query on the apply's partition (more only if it exceeds 1 MB).
    pub async fn load_snapshot(
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
        let mut spec = transition_spec(task.version, to)?;
        if to == State::WaitingForCutover {
            spec.set(attr::READY_TO_COMPLETE, AttributeValue::Bool(true));
        }
        changes.write(&mut spec);
        let actions = vec![
            self.update_action(task_key(task), &spec)?,
            self.put_action(codec::encode_event(event), None)?,
        ];
        let mut written = task.clone();
        changes.apply_to(&mut written);
        written.state = to;
        written.version = task.version + 1;
        written.ready_to_complete |= to == State::WaitingForCutover;
        self.transact_or_current(actions, written, codec::decode_task)
            .await
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
        let mut written = task.clone();
        changes.apply_to(&mut written);
        written.version = task.version + 1;
        self.update_or_current(task_key(task), &spec, written, codec::decode_task)
            .await
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
        let mut spec = transition_spec(apply.version, to)?;
        if to.is_terminal() {
            spec.remove(attr::ACTIVE_PK).remove(attr::ACTIVE_SK);
        }
        changes.write(&mut spec);
        let actions = vec![
            self.update_action(apply_key(&apply.id), &spec)?,
            self.put_action(codec::encode_event(event), None)?,
        ];
        let mut written = apply.clone();
        changes.apply_to(&mut written);
        written.state = to;
        written.version = apply.version + 1;
        self.transact_or_current(actions, written, codec::decode_apply)
            .await
    }
}

/// `SET #state = to` with the version bump, guarded by [`Expression::transition_guard`].
fn transition_spec(version: u64, to: State) -> Result<UpdateSpec, StoreError> {
    let mut spec = UpdateSpec::default();
    let guard = spec
        .expr
        .transition_guard(version, to)
        .ok_or_else(|| no_predecessor(to))?;
    spec.require(guard)
        .set(attr::STATE, codec::state(to))
        .increment_version();
    Ok(spec)
}

fn task_key(task: &Task) -> Item {
    key(
        keys::apply_pk(&task.apply_id),
        &keys::task_sk(&task.task_id),
    )
}
