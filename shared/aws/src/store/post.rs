//! Comments posted once per job identity, across every delivery of the job's message.
//!
//! SQS's receive count cannot say whether an earlier attempt posted: a DLQ redrive starts it at 1
//! again. So the record lives here, keyed by the PR and the comment's hidden marker
//! (`POST#<repo>#<pr>#<marker>` / `POST`): `posting` is put (only if absent) before the comment
//! is created and turned `posted` with the comment id after. An attempt that finds `posting`
//! knows an earlier one may have posted and searches the PR first; one that finds `posted` has
//! nothing to do.

use super::{decode_current, key, Store};
use crate::codec::{self, attr, item_type, DecodeError, Item, ItemReader, ItemWriter};
use crate::condition::{Condition, UpdateSpec};
use crate::error::StoreError;
use crate::keys;
use chrono::Utc;
use schemabot_domain::{CommentId, PrNumber, Repository};
use std::time::Duration;

/// How long a record is kept (TTL): longer than a message can come back. The DLQ keeps a
/// message 14 days and a redriven one may wait in the job queue up to its 4-day retention
/// (`infra/template.yaml`); three days more is the margin.
pub const POST_RETENTION: Duration = Duration::from_secs(21 * 24 * 60 * 60);

const RECORD: &str = "comment_post";
const POSTING: &str = "posting";
const POSTED: &str = "posted";

/// What [`Store::begin_post`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostClaim {
    /// Nothing was posted under this marker before (the `posting` record is now written):
    /// post without searching.
    Fresh,
    /// An earlier attempt began posting and never recorded the comment: it may be on the PR.
    Unsettled,
    /// Posted already, as this comment.
    Posted(CommentId),
}

fn post_key(repository: &Repository, pr: PrNumber, marker: &str) -> Item {
    key(keys::post_pk(repository, pr, marker), keys::POST_SK)
}

fn expires_at() -> i64 {
    let retention = i64::try_from(POST_RETENTION.as_secs()).unwrap_or(i64::MAX);
    Utc::now().timestamp().saturating_add(retention)
}

/// The claim an existing record stands for.
fn decode_claim(item: &Item) -> Result<PostClaim, DecodeError> {
    let reader = ItemReader::new(item, RECORD);
    match reader.string(attr::STATUS)? {
        POSTED => Ok(PostClaim::Posted(CommentId(reader.u64(attr::COMMENT_ID)?))),
        POSTING => Ok(PostClaim::Unsettled),
        other => Err(reader.invalid(
            attr::STATUS,
            other,
            format!("expected {POSTING} or {POSTED}"),
        )),
    }
}

impl Store {
    /// Records that a comment with `marker` is about to be posted on the PR, unless a record
    /// exists; then says what an earlier attempt got to. One conditional request.
    pub async fn begin_post(
        &self,
        repository: &Repository,
        pr: PrNumber,
        marker: &str,
    ) -> Result<PostClaim, StoreError> {
        let item = ItemWriter::from(post_key(repository, pr, marker))
            .put(attr::ITEM_TYPE, codec::s(item_type::COMMENT_POST))
            .put(attr::REPOSITORY, codec::s(repository.as_str()))
            .put(attr::PR, codec::n(pr.0))
            .put(attr::MARKER, codec::s(marker))
            .put(attr::STATUS, codec::s(POSTING))
            .put(attr::CREATED_AT, codec::time(Utc::now()))
            .put(attr::EXPIRES_AT, codec::n(expires_at()))
            .finish();
        match self.put_item(item, &Condition::absent()).await? {
            Ok(()) => Ok(PostClaim::Fresh),
            // A refusal without the item cannot happen with `attribute_not_exists`; treat it
            // as the cautious case (search before posting).
            Err(current) => {
                Ok(decode_current(current.as_ref(), decode_claim)?.unwrap_or(PostClaim::Unsettled))
            }
        }
    }

    /// Records the comment posted under `marker`, unless another attempt recorded one first.
    /// Returns the comment now on record: `comment`, or the earlier one. One conditional request.
    pub async fn record_post(
        &self,
        repository: &Repository,
        pr: PrNumber,
        marker: &str,
        comment: CommentId,
    ) -> Result<CommentId, StoreError> {
        let mut spec = UpdateSpec::default();
        // Absent only if the record expired or was deleted by hand: write it whole again.
        let pk = spec.expr.name(attr::PK);
        let posting = spec.expr.equals(attr::STATUS, codec::s(POSTING));
        spec.require(format!("attribute_not_exists({pk}) OR {posting}"))
            .set(attr::STATUS, codec::s(POSTED))
            .set(attr::COMMENT_ID, codec::n(comment.0))
            .set(attr::POSTED_AT, codec::time(Utc::now()))
            .set(attr::ITEM_TYPE, codec::s(item_type::COMMENT_POST))
            .set(attr::REPOSITORY, codec::s(repository.as_str()))
            .set(attr::PR, codec::n(pr.0))
            .set(attr::MARKER, codec::s(marker))
            .set(attr::EXPIRES_AT, codec::n(expires_at()));
        match self
            .update_item(post_key(repository, pr, marker), &spec)
            .await?
        {
            Ok(()) => Ok(comment),
            Err(current) => match decode_current(current.as_ref(), decode_claim)? {
                Some(PostClaim::Posted(recorded)) => Ok(recorded),
                // The condition admits `posting` and absence, so only `posted` refuses it.
                _ => Err(StoreError::InvalidRequest(format!(
                    "the post record of {marker} refused `posted` without being posted"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, aws_sdk_dynamodb::types::AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn records_decode_to_what_an_attempt_must_do() {
        let posting = item(&[(attr::STATUS, codec::s(POSTING))]);
        assert_eq!(decode_claim(&posting), Ok(PostClaim::Unsettled));
        let posted = item(&[
            (attr::STATUS, codec::s(POSTED)),
            (attr::COMMENT_ID, codec::n(77)),
        ]);
        assert_eq!(decode_claim(&posted), Ok(PostClaim::Posted(CommentId(77))));
        let posted_without_id = item(&[(attr::STATUS, codec::s(POSTED))]);
        assert!(decode_claim(&posted_without_id).is_err());
        let unknown = item(&[(attr::STATUS, codec::s("lost"))]);
        assert!(decode_claim(&unknown).is_err());
    }

    #[test]
    fn the_key_names_the_pr_and_the_marker() {
        let repository = Repository::parse("octo/shop").unwrap();
        assert_eq!(
            keys::post_pk(&repository, PrNumber(42), "reply:octo/shop:9"),
            "POST#octo/shop#42#reply:octo/shop:9"
        );
        assert!(POST_RETENTION > Duration::from_secs(18 * 24 * 60 * 60));
    }
}
