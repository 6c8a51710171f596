//! Plan comments: one PR comment per (database, environment), edited by every re-plan. The record
//! (`PLAN#<repo>#<pr>` / `COMMENT#<database>#<environment>`) is written with a conditional put, so
//! two concurrent plans of one PR agree on a single comment.

use super::{decode_current, key, Store};
use crate::codec::{self, attr, DecodeError, Item, ItemReader};
use crate::condition::{Condition, Expression};
use crate::error::StoreError;
use chrono::Utc;
use schemabot_domain::{CommentId, Database, Environment, PrNumber, Repository};

const PLAN_COMMENT: &str = "plan_comment";

fn plan_pk(repository: &Repository, pr: PrNumber) -> String {
    format!("PLAN#{repository}#{}", pr.0)
}

fn plan_comment_sk(database: &Database, environment: &Environment) -> String {
    format!("COMMENT#{database}#{environment}")
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
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(
                plan_pk(repository, pr),
                &plan_comment_sk(database, environment),
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("GetItem", e))?;
        decode_current(got.item(), decode_comment_id)
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
        let mut item = key(
            plan_pk(repository, pr),
            &plan_comment_sk(database, environment),
        );
        for (name, value) in [
            (attr::ITEM_TYPE, codec::s(PLAN_COMMENT)),
            (attr::REPOSITORY, codec::s(repository.as_str())),
            (attr::PR, codec::n(pr.0)),
            (attr::DATABASE, codec::s(database.as_str())),
            (attr::ENVIRONMENT, codec::s(environment.as_str())),
            (attr::COMMENT_ID, codec::n(comment.0)),
            (attr::CREATED_AT, codec::time(Utc::now())),
        ] {
            item.insert(name.to_string(), value);
        }
        let mut expr = Expression::default();
        let pk = expr.name(attr::PK);
        let absent = Condition::new(format!("attribute_not_exists({pk})"), expr);
        match self.put_item(item, Some(&absent)).await? {
            Ok(()) => Ok(comment),
            Err(current) => {
                Ok(decode_current(current.as_ref(), decode_comment_id)?.unwrap_or(comment))
            }
        }
    }
}
