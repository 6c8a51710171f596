use super::*;
use crate::apply::ApplyMode;
use crate::ids::{Database, Environment, InstallationId, PrNumber, Repository};

fn key() -> LockKey {
    LockKey {
        database: Database::parse("payments").unwrap(),
        environment: Environment::parse("production").unwrap(),
    }
}

fn apply(id: &str, state: State) -> Apply {
    Apply {
        id: ApplyId::parse(id).unwrap(),
        tern_apply_id: id.into(),
        repository: Repository::parse("org/repo").unwrap(),
        pr: PrNumber(7),
        installation_id: InstallationId(1),
        database: key().database,
        database_type: "mysql".into(),
        deployment: "payments".into(),
        environment: key().environment,
        target_schema: "payments".into(),
        state,
        version: 3,
        mode: ApplyMode::Sequential,
        defer_cutover: false,
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

fn source(id: &str, files: Option<&[(&str, &str)]>) -> RollbackSource {
    RollbackSource {
        key: key(),
        apply_id: ApplyId::parse(id).unwrap(),
        owner: LockOwner {
            repository: Repository::parse("org/repo").unwrap(),
            pr: PrNumber(7),
        },
        deployment: "payments".into(),
        database_type: "mysql".into(),
        rollback_of: None,
        original_files: files.map(|f| {
            f.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }),
        registered_at: Utc::now(),
    }
}

const ORIGINAL: &[(&str, &str)] = &[("orders.sql", "CREATE TABLE orders (id int)")];

#[test]
fn the_latest_completed_apply_rolls_back_to_its_original_files() {
    let files = decide_rollback(
        &apply("apply-00aa", State::Completed),
        Some(&source("apply-00aa", Some(ORIGINAL))),
        None,
    )
    .unwrap();
    assert_eq!(files["orders.sql"], "CREATE TABLE orders (id int)");
}

#[test]
fn every_state_but_completed_is_refused_and_says_which_kind() {
    let latest = source("apply-00aa", Some(ORIGINAL));
    for state in State::ALL {
        let decision = decide_rollback(&apply("apply-00aa", state), Some(&latest), None);
        match decision {
            Ok(_) => assert_eq!(state, State::Completed),
            Err(RollbackRefusal::NotTerminal { state: s }) => {
                assert_eq!(s, state);
                assert!(!state.is_terminal());
            }
            Err(RollbackRefusal::NotCompleted { state: s }) => {
                assert_eq!(s, state);
                assert!(state.is_terminal() && state != State::Completed);
            }
            Err(other) => panic!("{state:?}: unexpected {other:?}"),
        }
    }
}

#[test]
fn an_older_apply_is_refused_naming_the_later_one() {
    let refusal = decide_rollback(
        &apply("apply-00aa", State::Completed),
        Some(&source("apply-00bb", Some(ORIGINAL))),
        None,
    )
    .unwrap_err();
    assert_eq!(
        refusal,
        RollbackRefusal::NotLatest {
            latest: Some(ApplyId::parse("apply-00bb").unwrap())
        }
    );
    assert_eq!(refusal.code(), Outcome::NotLatest);
}

#[test]
fn no_record_or_no_capture_is_refused() {
    let completed = apply("apply-00aa", State::Completed);
    assert_eq!(
        decide_rollback(&completed, None, None),
        Err(RollbackRefusal::NotLatest { latest: None })
    );
    assert_eq!(
        decide_rollback(&completed, Some(&source("apply-00aa", None)), None),
        Err(RollbackRefusal::NotCaptured)
    );
}

#[test]
fn rollback_confirm_picks_the_one_rollback_lock() {
    let other = LockKey {
        database: Database::parse("ledger").unwrap(),
        environment: key().environment,
    };
    let id = ApplyId::parse("apply-00aa").unwrap();
    assert_eq!(choose_rollback_lock(&[]), RollbackLockChoice::None);
    assert_eq!(
        choose_rollback_lock(&[(other.clone(), None)]),
        RollbackLockChoice::None
    );
    assert_eq!(
        choose_rollback_lock(&[(other.clone(), None), (key(), Some(id.clone()))]),
        RollbackLockChoice::One(key())
    );
    assert_eq!(
        choose_rollback_lock(&[(other.clone(), Some(id.clone())), (key(), Some(id))]),
        RollbackLockChoice::Several(vec![other, key()])
    );
}

#[test]
fn a_rollback_that_changed_nothing_leaves_the_apply_rollable_to_the_same_files() {
    let original = apply("apply-00aa", State::Completed);
    let mut latest = source(
        "apply-00bb",
        Some(&[("orders.sql", "CREATE TABLE orders (id int, note text)")]),
    );
    latest.rollback_of = Some(original.id.clone());
    let rollback = |state| {
        let mut r = apply("apply-00bb", state);
        r.desired_schema = std::collections::BTreeMap::from([(
            "payments".to_string(),
            ORIGINAL
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )]);
        r
    };
    for ended in [State::Failed, State::Cancelled, State::Reverted] {
        let files = decide_rollback(&original, Some(&latest), Some(&rollback(ended))).unwrap();
        assert_eq!(
            files["orders.sql"], "CREATE TABLE orders (id int)",
            "{ended:?}"
        );
    }
    for state in [State::Running, State::Completed, State::Stopped] {
        assert_eq!(
            decide_rollback(&original, Some(&latest), Some(&rollback(state))),
            Err(RollbackRefusal::AlreadyRolledBack {
                rollback: ApplyId::parse("apply-00bb").unwrap(),
                state
            })
        );
    }
    // Without the rollback's record, nothing is assumed.
    assert!(matches!(
        decide_rollback(&original, Some(&latest), None),
        Err(RollbackRefusal::NotLatest { .. })
    ));
}
