//! The item model: attribute encodings, the item writer and the typed item reader.

use crate::keys::format_time;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use schemabot_domain::State;
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
pub(super) struct ItemWriter(Item);

impl ItemWriter {
    pub(super) fn put(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        self.0.insert(name.to_string(), value);
        self
    }

    pub(super) fn put_opt(&mut self, name: &str, value: Option<AttributeValue>) -> &mut Self {
        if let Some(value) = value {
            self.0.insert(name.to_string(), value);
        }
        self
    }

    pub(super) fn finish(self) -> Item {
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

    pub(crate) fn opt_string(&self, name: &'static str) -> Result<Option<&'a str>, DecodeError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value.as_str())),
            Some(_) => Err(self.wrong_type(name, "S")),
        }
    }

    pub(crate) fn string(&self, name: &'static str) -> Result<&'a str, DecodeError> {
        self.opt_string(name)?.ok_or_else(|| self.missing(name))
    }

    pub(crate) fn opt_u64(&self, name: &'static str) -> Result<Option<u64>, DecodeError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(raw)) => raw
                .parse::<u64>()
                .map(Some)
                .map_err(|e| self.invalid(name, raw, e)),
            Some(_) => Err(self.wrong_type(name, "N")),
        }
    }

    pub(crate) fn u64(&self, name: &'static str) -> Result<u64, DecodeError> {
        self.opt_u64(name)?.ok_or_else(|| self.missing(name))
    }

    pub(crate) fn opt_bool(&self, name: &'static str) -> Result<Option<bool>, DecodeError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::Bool(value)) => Ok(Some(*value)),
            Some(_) => Err(self.wrong_type(name, "BOOL")),
        }
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

    pub(super) fn opt_map(&self, name: &'static str) -> Result<Option<&'a Item>, DecodeError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::M(map)) => Ok(Some(map)),
            Some(_) => Err(self.wrong_type(name, "M")),
        }
    }
}
