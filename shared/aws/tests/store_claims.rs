//! The cutover claim: of N concurrent commands exactly one may trigger the cutover; a redelivery
//! of the winning command is recognised; the cutting_over write needs the claim.

mod common;

use chrono::Utc;
use common::{event, fresh_store, seeded};
use futures::future::join_all;
use schemabot_aws::store::{ApplyChanges, ClaimGranted};
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{CommentKind, CommentRecord, CutoverClaim};
use schemabot_domain::{CommentId, State};

fn claim(command: &str, actor: &str) -> CutoverClaim {
    CutoverClaim {
        command_id: command.into(),
        actor: actor.into(),
        claimed_at: Utc::now(),
        tern_called_at: None,
        tern_call_open: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_concurrent_cutover_commands_yield_exactly_one_claim() {
    let (store, _) = fresh_store().await;
    let (apply, _) = seeded(&store, State::WaitingForCutover).await;

    let attempts = (0..20).map(|i| {
        let store = store.clone();
        let apply = apply.clone();
        tokio::spawn(async move {
            let claim = claim(&format!("cutover:octo/shop:{i}"), &format!("user{i}"));
            store
                .claim_cutover(
                    &apply,
                    &claim,
                    &event(&apply.id, "cutover_claimed", None, None),
                )
                .await
        })
    });
    let outcomes: Vec<WriteOutcome<ClaimGranted, _>> = join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.expect("task ran").expect("store request"))
        .collect();

    let granted: Vec<&ClaimGranted> = outcomes.iter().filter_map(|o| o.written()).collect();
    assert_eq!(granted.len(), 1, "{outcomes:#?}");
    let winner = granted[0].apply.claim.clone().expect("claim recorded");
    assert!(!granted[0].already_held);
    for refused in outcomes.iter().filter(|o| !o.is_written()) {
        let current = refused.current().expect("current apply returned");
        assert_eq!(
            current.claim.as_ref(),
            Some(&winner),
            "the loser learns who claimed"
        );
        assert_eq!(current.version, apply.version + 1);
    }
    let stored = store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored, granted[0].apply);
    assert_eq!(store.list_events(&apply.id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_redelivered_command_is_recognised_as_already_holding_the_claim() {
    let (store, _) = fresh_store().await;
    let (apply, _) = seeded(&store, State::WaitingForCutover).await;
    let first = claim("cutover:octo/shop:1", "alice");
    let granted = store
        .claim_cutover(
            &apply,
            &first,
            &event(&apply.id, "cutover_claimed", None, None),
        )
        .await
        .unwrap();
    let claimed = granted.written().expect("granted").apply.clone();

    // The same command, redelivered later, reloads the apply and claims again.
    let mut redelivered = first.clone();
    redelivered.claimed_at = Utc::now() + chrono::Duration::seconds(5);
    let again = store
        .claim_cutover(
            &claimed,
            &redelivered,
            &event(&apply.id, "cutover_claimed", None, None),
        )
        .await
        .unwrap();
    let again = again.written().expect("the holder may claim again");
    assert!(again.already_held);
    assert_eq!(
        again.apply.claim.as_ref(),
        Some(&first),
        "the original claim is kept"
    );
    assert_eq!(
        store.get_apply(&apply.id).await.unwrap().unwrap(),
        again.apply
    );

    // Another command is refused and told who holds it.
    let other = store
        .claim_cutover(
            &again.apply,
            &claim("cutover:octo/shop:2", "bob"),
            &event(&apply.id, "x", None, None),
        )
        .await
        .unwrap();
    assert_eq!(other.current().and_then(|a| a.claim.as_ref()), Some(&first));
}

#[tokio::test]
async fn only_a_waiting_apply_can_be_claimed() {
    let (store, _) = fresh_store().await;
    let (apply, _) = seeded(&store, State::Recovering).await;
    let outcome = store
        .claim_cutover(
            &apply,
            &claim("c1", "alice"),
            &event(&apply.id, "x", None, None),
        )
        .await
        .unwrap();
    assert_eq!(outcome.current(), Some(&apply));
}

#[tokio::test]
async fn cutting_over_needs_the_claim_and_tracks_the_cutover_comment_in_one_request() {
    let (store, counter) = fresh_store().await;
    let (apply, _) = seeded(&store, State::WaitingForCutover).await;
    let ours = claim("cutover:octo/shop:10", "alice");
    store
        .claim_cutover(
            &apply,
            &ours,
            &event(&apply.id, "cutover_claimed", None, None),
        )
        .await
        .unwrap();
    let comment = CommentRecord {
        apply_id: apply.id.clone(),
        kind: CommentKind::Cutover,
        comment_id: CommentId(555),
        body_hash: "h1".into(),
        edit_count: 0,
        last_edited_at: None,
        finalized: false,
    };
    let at = Utc::now();

    let stranger = store
        .mark_cutting_over(
            &apply.id,
            "cutover:octo/shop:11",
            "mallory",
            at,
            Some(&comment),
            &event(&apply.id, "x", None, None),
        )
        .await
        .unwrap();
    assert!(!stranger.is_written(), "no claim, no cutover");
    assert_eq!(
        stranger.current().map(|a| a.state),
        Some(State::WaitingForCutover)
    );

    let before = counter.total();
    let marked = store
        .mark_cutting_over(
            &apply.id,
            &ours.command_id,
            "alice",
            at,
            Some(&comment),
            &event(
                &apply.id,
                "cutover_triggered",
                Some(State::WaitingForCutover),
                Some(State::CuttingOver),
            ),
        )
        .await
        .unwrap();
    assert_eq!(marked, WriteOutcome::Written(()));
    assert_eq!(
        counter.total(),
        before + 1,
        "state, comment record and audit event: one request"
    );

    let snapshot = store.load_snapshot(&apply.id).await.unwrap().unwrap();
    assert_eq!(snapshot.apply.state, State::CuttingOver);
    assert_eq!(
        snapshot.apply.cutover_triggered_by.as_deref(),
        Some("alice")
    );
    assert_eq!(snapshot.apply.cutover_triggered_at, Some(at));
    assert_eq!(snapshot.comment(CommentKind::Cutover), Some(&comment));
    let events: Vec<String> = store
        .list_events(&apply.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.to_string())
        .collect();
    assert_eq!(
        events,
        ["apply_created", "cutover_claimed", "cutover_triggered"]
    );

    // A redelivery of the same command cannot cut over twice.
    let twice = store
        .mark_cutting_over(
            &apply.id,
            &ours.command_id,
            "alice",
            at,
            None,
            &event(&apply.id, "x", None, None),
        )
        .await
        .unwrap();
    assert_eq!(twice.current().map(|a| a.state), Some(State::CuttingOver));
}

#[tokio::test]
async fn a_released_claim_frees_the_apply_for_the_next_command() {
    let (store, _) = fresh_store().await;
    let (apply, _) = seeded(&store, State::WaitingForCutover).await;
    let first = claim("c1", "alice");
    store
        .claim_cutover(
            &apply,
            &first,
            &event(&apply.id, "cutover_claimed", None, None),
        )
        .await
        .unwrap();

    let wrong = store
        .release_claim(&apply.id, "c2", &event(&apply.id, "x", None, None))
        .await
        .unwrap();
    assert_eq!(wrong.current().and_then(|a| a.claim.as_ref()), Some(&first));

    let released = store
        .release_claim(
            &apply.id,
            "c1",
            &event(&apply.id, "cutover_not_accepted", None, None),
        )
        .await
        .unwrap();
    assert!(released.is_written());
    let reloaded = store.get_apply(&apply.id).await.unwrap().unwrap();
    assert_eq!(reloaded.claim, None);
    assert_eq!(reloaded.version, apply.version + 2);

    let second = store
        .claim_cutover(
            &reloaded,
            &claim("c2", "bob"),
            &event(&apply.id, "cutover_claimed", None, None),
        )
        .await
        .unwrap();
    assert!(second.is_written());

    // The claim survives state changes that do not touch it (e.g. the recovery detour).
    let claimed = second.written().unwrap().apply.clone();
    let recovering = store
        .transition_apply(
            &claimed,
            State::Recovering,
            &ApplyChanges::default(),
            &event(&apply.id, "x", None, None),
        )
        .await
        .unwrap();
    assert_eq!(
        recovering
            .written()
            .and_then(|a| a.claim.as_ref())
            .map(|c| c.command_id.as_str()),
        Some("c2")
    );
    assert_eq!(
        store.get_apply(&apply.id).await.unwrap().as_ref(),
        recovering.written()
    );
}
