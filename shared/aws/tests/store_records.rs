//! Tracked comment records and poll chains.

mod common;

use common::{fresh_store, seeded};
use futures::future::join_all;
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{CommentKind, CommentRecord};
use schemabot_domain::{CommentId, State};

#[tokio::test]
async fn a_comment_is_tracked_once_and_edited_only_from_its_current_version() {
    let (store, _) = fresh_store().await;
    let (apply, _) = seeded(&store, State::Running).await;
    let progress = CommentRecord {
        apply_id: apply.id.clone(),
        kind: CommentKind::Progress,
        comment_id: CommentId(1),
        body_hash: "a".into(),
        edit_count: 0,
        last_edited_at: None,
        finalized: false,
    };
    assert_eq!(
        store.put_comment_record(&progress).await.unwrap(),
        WriteOutcome::Written(progress.clone())
    );
    let mut other = progress.clone();
    other.comment_id = CommentId(2);
    assert_eq!(
        store.put_comment_record(&other).await.unwrap(),
        WriteOutcome::ConditionFailed {
            current: Some(progress.clone())
        },
        "a second progress comment is never tracked"
    );

    let edited = CommentRecord {
        body_hash: "b".into(),
        edit_count: 1,
        last_edited_at: Some(chrono::Utc::now()),
        ..progress.clone()
    };
    assert!(store
        .update_comment_record(&progress, &edited)
        .await
        .unwrap()
        .is_written());
    // A writer still holding the first version loses and sees the edit.
    let stale = CommentRecord {
        body_hash: "c".into(),
        edit_count: 1,
        ..progress.clone()
    };
    assert_eq!(
        store
            .update_comment_record(&progress, &stale)
            .await
            .unwrap(),
        WriteOutcome::ConditionFailed {
            current: Some(edited.clone())
        }
    );
    let finalized = CommentRecord {
        finalized: true,
        edit_count: 2,
        ..edited.clone()
    };
    assert!(store
        .update_comment_record(&edited, &finalized)
        .await
        .unwrap()
        .is_written());
    let snapshot = store.load_snapshot(&apply.id).await.unwrap().unwrap();
    assert_eq!(snapshot.comment(CommentKind::Progress), Some(&finalized));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn poll_chains_advance_one_link_at_a_time() {
    let (store, _) = fresh_store().await;
    let (apply, _) = seeded(&store, State::Running).await;
    assert!(
        store.advance_poll_chain(&apply.id, 0).await.unwrap(),
        "starts the chain"
    );
    assert!(
        !store.advance_poll_chain(&apply.id, 0).await.unwrap(),
        "a duplicate start is refused"
    );
    assert!(
        !store.advance_poll_chain(&apply.id, 5).await.unwrap(),
        "a foreign link is refused"
    );
    assert!(store.advance_poll_chain(&apply.id, 1).await.unwrap());

    // Ten deliveries of link 2 (duplicated messages): only one continues the chain.
    let attempts = (0..10).map(|_| {
        let store = store.clone();
        let id = apply.id.clone();
        tokio::spawn(async move { store.advance_poll_chain(&id, 2).await })
    });
    let advanced = join_all(attempts)
        .await
        .into_iter()
        .filter(|r| {
            *r.as_ref()
                .expect("task ran")
                .as_ref()
                .expect("store request")
        })
        .count();
    assert_eq!(advanced, 1);
    let snapshot = store.load_snapshot(&apply.id).await.unwrap().unwrap();
    assert_eq!(snapshot.poll_chain_seq, Some(3));
}
