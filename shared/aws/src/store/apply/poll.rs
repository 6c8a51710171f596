//! Poll chains: advancing an apply's delayed poll chain one link at a time.

use super::super::{key, Store};
use crate::codec::{self, attr, item_type};
use crate::condition::UpdateSpec;
use crate::error::StoreError;
use crate::keys;
use chrono::Utc;
use schemabot_domain::ApplyId;

impl Store {
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
}
