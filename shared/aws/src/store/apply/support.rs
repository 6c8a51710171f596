//! Helpers shared by the apply-partition writes: the apply's key and request sanity checks.

use super::super::key;
use crate::codec::Item;
use crate::error::StoreError;
use crate::keys;
use schemabot_domain::{ApplyId, State};

pub(super) fn apply_key(apply_id: &ApplyId) -> Item {
    key(keys::apply_pk(apply_id), keys::APPLY_SK)
}

pub(super) fn check_same_apply(
    what: &str,
    expected: &ApplyId,
    got: &ApplyId,
) -> Result<(), StoreError> {
    if expected == got {
        Ok(())
    } else {
        Err(StoreError::InvalidRequest(format!(
            "{what} belongs to {got}, not to {expected}"
        )))
    }
}

pub(super) fn no_predecessor(to: State) -> StoreError {
    StoreError::InvalidRequest(format!("no state may move to {to}"))
}
