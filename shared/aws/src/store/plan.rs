//! Plan comments: one PR comment per (database, environment), edited by every re-plan. The record
//! (`PLAN#<repo>#<pr>` / `COMMENT#<database>#<environment>`) is written with a conditional put, so
//! two concurrent plans of one PR agree on a single comment.

use super::{decode_current, key, Store};
use crate::codec::{self, attr, DecodeError, Item, ItemReader, ItemWriter};
use crate::condition::Condition;
use crate::error::StoreError;
use chrono::Utc;
use schemabot_domain::{CommentId, Database, Environment, PrNumber, Repository};

const PLAN_COMMENT: &str = "plan_comment";

fn plan_comment_key(
    repository: &Repository,
    pr: PrNumber,
    database: &Database,
    environment: &Environment,
) -> Item {
    key(
        format!("PLAN#{repository}#{}", pr.0),
        &format!("COMMENT#{database}#{environment}"),
    )
}

fn decode_comment_id(item: &Item) -> Result<CommentId, DecodeError> {
    ItemReader::new(item, PLAN_COMMENT)
        .u64(attr::COMMENT_ID)
        .map(CommentId)
}

impl Store {
    /// The plan comment already posted for (database, environment) on the PR, if any. One
    /// strongly consistent read.
    pub async fn plan_comment(
        &self,
        repository: &Repository,
        pr: PrNumber,
        database: &Database,
        environment: &Environment,
    ) -> Result<Option<CommentId>, StoreError> {
        let item_key = plan_comment_key(repository, pr, database, environment);
        self.get_record(item_key, decode_comment_id).await
    }

    /// Records the plan comment of (database, environment) unless one is recorded already.
    /// Returns the comment that is now on record: `comment` if it won, the earlier one otherwise.
    /// One conditional request.
    pub async fn record_plan_comment(
        &self,
        repository: &Repository,
        pr: PrNumber,
        database: &Database,
        environment: &Environment,
        comment: CommentId,
    ) -> Result<CommentId, StoreError> {
        let item = ItemWriter::from(plan_comment_key(repository, pr, database, environment))
            .put(attr::ITEM_TYPE, codec::s(PLAN_COMMENT))
            .put(attr::REPOSITORY, codec::s(repository.as_str()))
            .put(attr::PR, codec::n(pr.0))
            .put(attr::DATABASE, codec::s(database.as_str()))
            .put(attr::ENVIRONMENT, codec::s(environment.as_str()))
            .put(attr::COMMENT_ID, codec::n(comment.0))
            .put(attr::CREATED_AT, codec::time(Utc::now()))
            .finish();
        match self.put_item(item, &Condition::absent()).await? {
            Ok(()) => Ok(comment),
            Err(current) => {
                Ok(decode_current(current.as_ref(), decode_comment_id)?.unwrap_or(comment))
            }
        }
    }
}
