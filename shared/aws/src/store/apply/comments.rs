//! Tracked comments: start tracking one, and replace its record only from the state read.

use super::super::{key, Store, WriteOutcome};
use super::support::check_same_apply;
use crate::codec::{self, attr};
use crate::condition::{Condition, UpdateSpec};
use crate::error::StoreError;
use crate::keys;
use aws_sdk_dynamodb::types::AttributeValue;
use schemabot_domain::apply::CommentRecord;

impl Store {
    /// Starts tracking a comment; refused if one of that kind is already tracked (a summary is
    /// created exactly once).
    pub async fn put_comment_record(
        &self,
        record: &CommentRecord,
    ) -> Result<WriteOutcome<CommentRecord>, StoreError> {
        let item = codec::encode_comment(record);
        self.put_or_current(
            item,
            &Condition::absent(),
            record.clone(),
            codec::decode_comment,
        )
        .await
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
        self.update_or_current(comment_key, &spec, next.clone(), codec::decode_comment)
            .await
    }
}
