//! The item model: attribute encodings, the item writer and the typed item reader.

use super::attr;
use crate::keys::format_time;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use schemabot_domain::lock::{LockKey, LockOwner};
use schemabot_domain::{Database, Environment, PrNumber, Repository, State};
use std::collections::HashMap;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Why an item could not be read back as a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{record} item: attribute `{attribute}` is missing")]
    Missing {
        record: &'static str,
        attribute: &'static str,
    },
    #[error("{record} item: attribute `{attribute}` is not of type {expected}")]
    WrongType {
        record: &'static str,
        attribute: &'static str,
        expected: &'static str,
    },
    #[error("{record} item: attribute `{attribute}` has an invalid value `{value}`: {reason}")]
    Invalid {
        record: &'static str,
        attribute: &'static str,
        value: String,
        reason: String,
    },
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn time(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::S(format_time(at))
}

pub fn state(value: State) -> AttributeValue {
    AttributeValue::S(value.as_str().to_string())
}

/// Builds an item attribute by attribute; `None` values are left out.
#[derive(Default)]
pub(crate) struct ItemWriter(Item);

impl From<Item> for ItemWriter {
    /// Starts from the attributes of `item` (e.g. its key).
    fn from(item: Item) -> Self {
        ItemWriter(item)
    }
}

impl ItemWriter {
    pub(crate) fn put(mut self, name: &str, value: AttributeValue) -> Self {
        self.0.insert(name.to_string(), value);
        self
    }

    pub(crate) fn put_opt(self, name: &str, value: Option<AttributeValue>) -> Self {
        match value {
            Some(value) => self.put(name, value),
            None => self,
        }
    }

    pub(crate) fn finish(self) -> Item {
        self.0
    }
}

/// Reads attributes of one item, naming the record kind in every error.
pub(crate) struct ItemReader<'a> {
    item: &'a Item,
    record: &'static str,
}

impl<'a> ItemReader<'a> {
    pub(crate) fn new(item: &'a Item, record: &'static str) -> Self {
        ItemReader { item, record }
    }

    fn missing(&self, attribute: &'static str) -> DecodeError {
        DecodeError::Missing {
            record: self.record,
            attribute,
        }
    }

    fn wrong_type(&self, attribute: &'static str, expected: &'static str) -> DecodeError {
        DecodeError::WrongType {
            record: self.record,
            attribute,
            expected,
        }
    }

    pub(crate) fn invalid(
        &self,
        attribute: &'static str,
        value: &str,
        reason: impl ToString,
    ) -> DecodeError {
        DecodeError::Invalid {
            record: self.record,
            attribute,
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    /// An attribute read by `read` as type `expected`; absent or NULL is `None`.
    fn typed<T>(
        &self,
        name: &'static str,
        expected: &'static str,
        read: impl FnOnce(&'a AttributeValue) -> Option<T>,
    ) -> Result<Option<T>, DecodeError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(value) => read(value)
                .map(Some)
                .ok_or_else(|| self.wrong_type(name, expected)),
        }
    }

    pub(crate) fn opt_string(&self, name: &'static str) -> Result<Option<&'a str>, DecodeError> {
        self.typed(name, "S", |v| v.as_s().ok().map(String::as_str))
    }

    pub(crate) fn string(&self, name: &'static str) -> Result<&'a str, DecodeError> {
        self.opt_string(name)?.ok_or_else(|| self.missing(name))
    }

    pub(crate) fn opt_u64(&self, name: &'static str) -> Result<Option<u64>, DecodeError> {
        self.typed(name, "N", |v| v.as_n().ok())?
            .map(|raw| raw.parse::<u64>().map_err(|e| self.invalid(name, raw, e)))
            .transpose()
    }

    pub(crate) fn u64(&self, name: &'static str) -> Result<u64, DecodeError> {
        self.opt_u64(name)?.ok_or_else(|| self.missing(name))
    }

    pub(crate) fn opt_bool(&self, name: &'static str) -> Result<Option<bool>, DecodeError> {
        self.typed(name, "BOOL", |v| v.as_bool().ok().copied())
    }

    pub(super) fn bool(&self, name: &'static str) -> Result<bool, DecodeError> {
        match self.item.get(name) {
            None => Err(self.missing(name)),
            Some(AttributeValue::Bool(value)) => Ok(*value),
            Some(_) => Err(self.wrong_type(name, "BOOL")),
        }
    }

    pub(crate) fn opt_time(
        &self,
        name: &'static str,
    ) -> Result<Option<DateTime<Utc>>, DecodeError> {
        self.opt_string(name)?
            .map(|raw| {
                DateTime::parse_from_rfc3339(raw)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| self.invalid(name, raw, e))
            })
            .transpose()
    }

    pub(crate) fn time(&self, name: &'static str) -> Result<DateTime<Utc>, DecodeError> {
        self.opt_time(name)?.ok_or_else(|| self.missing(name))
    }

    pub(super) fn opt_state(&self, name: &'static str) -> Result<Option<State>, DecodeError> {
        self.opt_string(name)?
            .map(|raw| {
                State::from_storage(raw).ok_or_else(|| self.invalid(name, raw, "unknown state"))
            })
            .transpose()
    }

    pub(crate) fn state(&self, name: &'static str) -> Result<State, DecodeError> {
        self.opt_state(name)?.ok_or_else(|| self.missing(name))
    }

    /// A string attribute parsed by one of the domain's validating constructors.
    pub(crate) fn parsed<T, E: ToString>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, DecodeError> {
        let raw = self.string(name)?;
        parse(raw).map_err(|e| self.invalid(name, raw, e))
    }

    /// The (database, environment) a lock-related item is about.
    pub(crate) fn lock_key(&self) -> Result<LockKey, DecodeError> {
        Ok(LockKey {
            database: self.parsed(attr::DATABASE, Database::parse)?,
            environment: self.parsed(attr::ENVIRONMENT, Environment::parse)?,
        })
    }

    /// The PR a lock-related item belongs to.
    pub(crate) fn lock_owner(&self) -> Result<LockOwner, DecodeError> {
        Ok(LockOwner {
            repository: self.parsed(attr::REPOSITORY, Repository::parse)?,
            pr: PrNumber(self.u64(attr::PR)?),
        })
    }

    pub(super) fn opt_map(&self, name: &'static str) -> Result<Option<&'a Item>, DecodeError> {
        self.typed(name, "M", |v| v.as_m().ok())
    }
}
