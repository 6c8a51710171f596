//! Force unlocks: the one recorded answer per request (`FORCEUNLOCK#<job id>` / `FORCEUNLOCK`)
//! and the release of another PR's planned lock, written together in one transaction with the
//! audit event. A redelivered request finds its answer; a lock that moved on since it was read
//! (confirmed, released, taken by another PR) fails the release's condition.

use super::super::{decode_current, key, Store};
use super::history::encode_lock_event;
use super::items::{decode_lock, lock_item_key, owned_by, pr_lock_key};
use crate::codec::{self, attr, item_type, DecodeError, Item, ItemReader, ItemWriter};
use crate::condition::{Condition, Expression};
use crate::error::StoreError;
use crate::store::POST_RETENTION;
use schemabot_domain::audit::Outcome;
use schemabot_domain::lock::{
    ForceUnlock, ForceUnlockOutcome, HeldStage, Lock, LockEvent, LockHolder,
};
use schemabot_domain::{ApplyId, InstallationId, Login};

const SK: &str = "FORCEUNLOCK";

fn answer_key(job_id: &str) -> Item {
    key(format!("FORCEUNLOCK#{job_id}"), SK)
}

/// What [`Store::force_release_lock`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForceRelease {
    /// Released, with the answer and the audit event.
    Released,
    /// This request was answered before (a redelivery): its answer, unchanged.
    Answered(ForceUnlock),
    /// The lock is no longer as read: the lock now (`None`: gone).
    Changed(Option<Box<Lock>>),
}

fn encode_answer(answer: &ForceUnlock) -> Item {
    let retention = i64::try_from(POST_RETENTION.as_secs()).unwrap_or(i64::MAX);
    let apply_id = match &answer.outcome {
        ForceUnlockOutcome::Kept {
            stage: HeldStage::Applying { apply_id },
            ..
        } => Some(codec::s(apply_id.as_str())),
        _ => None,
    };
    let mut item = ItemWriter::from(answer_key(&answer.job_id))
        .put(attr::ITEM_TYPE, codec::s(item_type::FORCE_UNLOCK))
        .put(attr::LOCK_COMMAND_ID, codec::s(answer.job_id.as_str()))
        .put(attr::DATABASE, codec::s(answer.key.database.as_str()))
        .put(attr::ENVIRONMENT, codec::s(answer.key.environment.as_str()))
        .put(attr::OUTCOME, codec::s(answer.outcome.code().as_str()))
        .put(attr::ACTOR, codec::s(answer.actor.as_str()))
        .put(attr::AT, codec::time(answer.at))
        .put(
            attr::EXPIRES_AT,
            codec::n(answer.at.timestamp().saturating_add(retention)),
        )
        .put_opt(attr::APPLY_ID, apply_id);
    if let Some(holder) = answer.outcome.holder() {
        item = item
            .put(attr::REPOSITORY, codec::s(holder.owner.repository.as_str()))
            .put(attr::PR, codec::n(holder.owner.pr.0))
            .put(attr::INSTALLATION_ID, codec::n(holder.installation_id.0))
            .put(attr::LOCKED_BY, codec::s(holder.locked_by.0.as_str()));
    }
    item.finish()
}

fn decode_answer(item: &Item) -> Result<ForceUnlock, DecodeError> {
    let r = ItemReader::new(item, item_type::FORCE_UNLOCK);
    let holder = || -> Result<LockHolder, DecodeError> {
        Ok(LockHolder {
            owner: r.lock_owner()?,
            installation_id: InstallationId(r.u64(attr::INSTALLATION_ID)?),
            locked_by: Login(r.string(attr::LOCKED_BY)?.to_string()),
        })
    };
    let stored = r.string(attr::OUTCOME)?;
    let outcome = match Outcome::parse(stored) {
        Outcome::Released => ForceUnlockOutcome::Released { holder: holder()? },
        Outcome::NoLock => ForceUnlockOutcome::NoLock,
        Outcome::Confirming => ForceUnlockOutcome::Kept {
            holder: holder()?,
            stage: HeldStage::Confirming,
        },
        Outcome::Applying => ForceUnlockOutcome::Kept {
            holder: holder()?,
            stage: HeldStage::Applying {
                apply_id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
            },
        },
        _ => return Err(r.invalid(attr::OUTCOME, stored, "unknown force-unlock outcome")),
    };
    Ok(ForceUnlock {
        job_id: r.string(attr::LOCK_COMMAND_ID)?.to_string(),
        key: r.lock_key()?,
        outcome,
        actor: r.string(attr::ACTOR)?.to_string(),
        at: r.time(attr::AT)?,
    })
}

impl Store {
    /// The recorded answer to the force-unlock request `job_id`, if it was answered. One
    /// strongly consistent read.
    pub async fn force_unlock_answer(
        &self,
        job_id: &str,
    ) -> Result<Option<ForceUnlock>, StoreError> {
        self.get_record(answer_key(job_id), decode_answer).await
    }

    /// Releases `lock` — still planned, still its owner's and the same acquisition, as read —
    /// recording `answer` (a release) and `event`, all in one transaction: on any refusal
    /// nothing is written.
    pub async fn force_release_lock(
        &self,
        lock: &Lock,
        answer: &ForceUnlock,
        event: &LockEvent,
    ) -> Result<ForceRelease, StoreError> {
        let mut expr = Expression::default();
        let ours = owned_by(&mut expr, &lock.owner);
        let planned = expr.equals(attr::LOCK_STAGE, codec::s("planned"));
        // The very lock read: the same PR may have released it and taken a new one since.
        let taken = expr.equals(attr::ACQUIRED_AT, codec::time(lock.acquired_at));
        let as_read = Condition::new(format!("{ours} AND {planned} AND {taken}"), expr);
        let actions = vec![
            self.delete_action(lock_item_key(&lock.key), Some(&as_read))?,
            self.put_action(encode_answer(answer), Some(&Condition::absent()))?,
            self.delete_action(pr_lock_key(&lock.owner, &lock.key), None)?,
            self.put_action(encode_lock_event(event), None)?,
        ];
        let cancelled = match self.transact(actions).await? {
            Ok(()) => return Ok(ForceRelease::Released),
            Err(cancelled) => cancelled,
        };
        if cancelled.condition_failed(1) {
            if let Some(earlier) = decode_current(cancelled.item(1), decode_answer)? {
                return Ok(ForceRelease::Answered(earlier));
            }
        }
        let now = decode_current(cancelled.item(0), decode_lock)?;
        Ok(ForceRelease::Changed(now.map(Box::new)))
    }

    /// Records `answer` (a lock kept, or no lock) with its audit `event`, unless this request
    /// was answered before. Returns the answer on record: `answer`, or the earlier one.
    pub async fn record_force_unlock(
        &self,
        answer: &ForceUnlock,
        event: Option<&LockEvent>,
    ) -> Result<ForceUnlock, StoreError> {
        let mut actions = vec![self.put_action(encode_answer(answer), Some(&Condition::absent()))?];
        if let Some(event) = event {
            actions.push(self.put_action(encode_lock_event(event), None)?);
        }
        match self.transact(actions).await? {
            Ok(()) => Ok(answer.clone()),
            Err(cancelled) => {
                Ok(decode_current(cancelled.item(0), decode_answer)?
                    .unwrap_or_else(|| answer.clone()))
            }
        }
    }
}
