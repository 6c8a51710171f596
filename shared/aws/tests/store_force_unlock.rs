//! Force unlocks against moto: the release is conditional on the lock as read (owner and
//! stage), written with the request's answer and its audit event in one transaction, and a
//! request is answered once.

mod common;

use chrono::{TimeDelta, Utc};
use common::fresh_store;
use schemabot_aws::store::ForceRelease;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::command::ApplyFlags;
use schemabot_domain::lock::{
    decide_force_unlock, ForceUnlock, ForceUnlockOutcome, Lock, LockEvent, LockKey, LockOwner,
    LockStage, LockedPlan,
};
use schemabot_domain::{Database, Environment, InstallationId, Login, PrNumber, Repository};

fn key() -> LockKey {
    LockKey {
        database: Database::parse("payments").unwrap(),
        environment: Environment::parse("staging").unwrap(),
    }
}

fn owner(pr: u64) -> LockOwner {
    LockOwner {
        repository: Repository::parse("acme/schemas").unwrap(),
        pr: PrNumber(pr),
    }
}

fn planned(pr: u64) -> Lock {
    let now = Utc::now();
    Lock {
        key: key(),
        owner: owner(pr),
        installation_id: InstallationId(9),
        locked_by: Login("bob".into()),
        stage: LockStage::Planned,
        plan: serde_json::from_value::<LockedPlan>(serde_json::json!({
            "head_sha": "abc", "deployment": "payments", "database_type": "mysql",
            "plan_id": "", "changes": [], "schema_files": {}, "schema_digest": "d",
            "flags": ApplyFlags::default(),
        }))
        .unwrap(),
        acquired_at: now,
        lease_expires_at: now + TimeDelta::hours(1),
    }
}

fn answer(job_id: &str, lock: Option<&Lock>) -> ForceUnlock {
    ForceUnlock {
        job_id: job_id.into(),
        key: key(),
        outcome: decide_force_unlock(lock),
        actor: "alice".into(),
        at: Utc::now(),
    }
}

fn event(of: &LockOwner) -> LockEvent {
    LockEvent {
        key: key(),
        at: Utc::now(),
        event: EventKind::LockForceReleased,
        actor: "alice".into(),
        owner: of.clone(),
        delivery_id: None,
        outcome: Outcome::Released,
        message: None,
    }
}

#[tokio::test]
async fn a_planned_lock_is_released_with_its_answer_and_event_once() {
    let (store, _) = fresh_store().await;
    let lock = planned(41);
    assert!(store
        .acquire_lock(&lock, Utc::now())
        .await
        .unwrap()
        .is_written());
    let released = answer("unlock:acme/schemas:1", Some(&lock));

    let outcome = store
        .force_release_lock(&lock, &released, &event(&lock.owner))
        .await
        .unwrap();
    assert_eq!(outcome, ForceRelease::Released);
    assert_eq!(store.get_lock(&key()).await.unwrap(), None);
    assert!(store.pr_lock_keys(&owner(41)).await.unwrap().is_empty());
    let recorded = store
        .force_unlock_answer("unlock:acme/schemas:1")
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(recorded.outcome, released.outcome);
    assert_eq!(recorded.actor, "alice");
    assert_eq!(store.list_lock_events(&key()).await.unwrap().len(), 1);

    // The same request again, with another PR's lock there by now: its earlier answer, and
    // the new lock untouched.
    let newer = planned(43);
    assert!(store
        .acquire_lock(&newer, Utc::now())
        .await
        .unwrap()
        .is_written());
    let again = store
        .force_release_lock(
            &newer,
            &answer("unlock:acme/schemas:1", Some(&newer)),
            &event(&newer.owner),
        )
        .await
        .unwrap();
    assert!(matches!(again, ForceRelease::Answered(ref a) if a.outcome == released.outcome));
    let held = store.get_lock(&key()).await.unwrap().expect("still held");
    assert_eq!(held.owner, owner(43));
    assert_eq!(store.list_lock_events(&key()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_lock_confirmed_since_it_was_read_is_not_released() {
    let (store, _) = fresh_store().await;
    let read = planned(41);
    assert!(store
        .acquire_lock(&read, Utc::now())
        .await
        .unwrap()
        .is_written());
    // The confirm wins the race.
    let lease = Utc::now() + TimeDelta::minutes(10);
    let confirm = store
        .begin_confirm(&key(), &owner(41), "abc", "confirm-1", false, lease)
        .await
        .unwrap();
    assert!(confirm.is_written());

    let outcome = store
        .force_release_lock(
            &read,
            &answer("unlock:acme/schemas:2", Some(&read)),
            &event(&read.owner),
        )
        .await
        .unwrap();
    let ForceRelease::Changed(Some(now)) = outcome else {
        panic!("the lock moved on: {outcome:?}");
    };
    assert!(matches!(now.stage, LockStage::Confirming { .. }));
    assert!(store.get_lock(&key()).await.unwrap().is_some());
    assert_eq!(
        store
            .force_unlock_answer("unlock:acme/schemas:2")
            .await
            .unwrap(),
        None
    );
    assert!(store.list_lock_events(&key()).await.unwrap().is_empty());

    // Decided again from the lock now: kept, recorded once.
    let kept = answer("unlock:acme/schemas:2", Some(&now));
    assert!(matches!(kept.outcome, ForceUnlockOutcome::Kept { .. }));
    assert_eq!(store.record_force_unlock(&kept, None).await.unwrap(), kept);
    let later = answer("unlock:acme/schemas:2", None);
    assert_eq!(
        store
            .record_force_unlock(&later, None)
            .await
            .unwrap()
            .outcome,
        kept.outcome
    );
}

#[tokio::test]
async fn a_lock_the_same_pr_took_again_since_it_was_read_is_not_released() {
    let (store, _) = fresh_store().await;
    let read = planned(43);
    assert!(store
        .acquire_lock(&read, Utc::now())
        .await
        .unwrap()
        .is_written());
    // The PR re-runs `apply`: the same owner, still planned, a new acquisition.
    let mut again = planned(43);
    again.acquired_at = read.acquired_at + TimeDelta::seconds(5);
    assert!(store
        .acquire_lock(&again, Utc::now())
        .await
        .unwrap()
        .is_written());

    let outcome = store
        .force_release_lock(
            &read,
            &answer("unlock:acme/schemas:3", Some(&read)),
            &event(&read.owner),
        )
        .await
        .unwrap();
    let ForceRelease::Changed(Some(now)) = outcome else {
        panic!("the lock was taken again: {outcome:?}");
    };
    assert_eq!(now.acquired_at, again.acquired_at);
    assert!(store.get_lock(&key()).await.unwrap().is_some());
}
