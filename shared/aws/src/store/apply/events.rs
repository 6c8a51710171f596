//! The apply's audit trail: appending an event and listing it.

use super::super::Store;
use crate::codec::{self, attr};
use crate::condition::Expression;
use crate::error::StoreError;
use crate::keys;
use schemabot_domain::apply::AuditEvent;
use schemabot_domain::ApplyId;

impl Store {
    /// Appends an audit event on its own (state changes append theirs in the same transaction).
    pub async fn append_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.put_plain(codec::encode_event(event)).await
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
}
