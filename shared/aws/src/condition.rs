//! Building DynamoDB expressions: placeholders for every attribute name (several of ours, like
//! `state`, are reserved words) and value, and the conditions that make state changes safe.

use crate::codec::{self, attr};
use aws_sdk_dynamodb::types::AttributeValue;
use schemabot_domain::state::transition::predecessors;
use schemabot_domain::State;
use std::collections::HashMap;

/// Names and values referenced by an expression (or by a condition and an update sharing them).
#[derive(Debug, Clone, Default)]
pub struct Expression {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expression {
    /// `#name` for an attribute. Our attribute names are `[a-z_]+`, valid placeholder text.
    pub fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names
            .insert(placeholder.clone(), attribute.to_string());
        placeholder
    }

    /// A fresh `:vN` placeholder for a value.
    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `#attr = :v`
    pub fn equals(&mut self, attribute: &str, value: AttributeValue) -> String {
        let name = self.name(attribute);
        let value = self.value(value);
        format!("{name} = {value}")
    }

    /// `#state IN (:a, :b, …)`, or `None` when `states` is empty (no state may precede).
    pub fn state_in(&mut self, states: &[State]) -> Option<String> {
        if states.is_empty() {
            return None;
        }
        let name = self.name(attr::STATE);
        let values: Vec<String> = states
            .iter()
            .map(|state| self.value(codec::state(*state)))
            .collect();
        Some(format!("{name} IN ({})", values.join(", ")))
    }

    /// The guard of every state change: the item is still at the version the caller read, and
    /// its stored state is one from which `to` may be entered (the domain's transition table).
    /// DynamoDB evaluates this against the stored item, so a downgrade is refused by DynamoDB
    /// itself whatever the caller believes the current state to be.
    pub fn transition_guard(&mut self, expected_version: u64, to: State) -> Option<String> {
        let allowed_from = predecessors(to);
        if allowed_from.is_empty() {
            return None;
        }
        let version = self.equals(attr::VERSION, codec::n(expected_version));
        let states = self.state_in(&allowed_from)?;
        Some(format!("{version} AND {states}"))
    }

    pub(crate) fn names_or_none(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub(crate) fn values_or_none(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// A self-contained condition expression with its placeholders.
#[derive(Debug, Clone)]
pub struct Condition {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Condition {
    pub fn new(expression: String, expr: Expression) -> Self {
        Condition {
            expression,
            names: expr.names,
            values: expr.values,
        }
    }

    /// The item does not exist yet.
    pub fn absent() -> Self {
        let mut expr = Expression::default();
        let pk = expr.name(attr::PK);
        Condition::new(format!("attribute_not_exists({pk})"), expr)
    }

    pub(crate) fn names_or_none(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub(crate) fn values_or_none(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// The condition the store attaches to a transition into `to` (see
/// [`Expression::transition_guard`]); `None` if no state may move to `to`.
pub fn transition_condition(expected_version: u64, to: State) -> Option<Condition> {
    let mut expr = Expression::default();
    let expression = expr.transition_guard(expected_version, to)?;
    Some(Condition::new(expression, expr))
}

/// An update expression (`SET …` / `REMOVE …`) plus its condition, sharing one placeholder set.
#[derive(Debug, Clone, Default)]
pub struct UpdateSpec {
    pub expr: Expression,
    set: Vec<String>,
    remove: Vec<String>,
    conditions: Vec<String>,
}

impl UpdateSpec {
    pub fn set(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let clause = self.expr.equals(attribute, value);
        self.set.push(clause);
        self
    }

    /// Keeps an existing value (e.g. a claim being re-claimed by the same command).
    pub fn set_if_not_exists(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let name = self.expr.name(attribute);
        let value = self.expr.value(value);
        self.set
            .push(format!("{name} = if_not_exists({name}, {value})"));
        self
    }

    /// A `SET` clause written with this spec's placeholders (e.g. a nested `#a.#b = :v`).
    pub fn set_clause(&mut self, clause: String) -> &mut Self {
        self.set.push(clause);
        self
    }

    /// `#version = #version + 1`: every conditional write bumps the version.
    pub fn increment_version(&mut self) -> &mut Self {
        let name = self.expr.name(attr::VERSION);
        let one = self.expr.value(codec::n(1));
        self.set.push(format!("{name} = {name} + {one}"));
        self
    }

    pub fn remove(&mut self, attribute: &str) -> &mut Self {
        let name = self.expr.name(attribute);
        self.remove.push(name);
        self
    }

    /// Adds a condition; all conditions must hold (`AND`).
    pub fn require(&mut self, condition: String) -> &mut Self {
        self.conditions.push(format!("({condition})"));
        self
    }

    pub fn update_expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.set.is_empty() {
            parts.push(format!("SET {}", self.set.join(", ")));
        }
        if !self.remove.is_empty() {
            parts.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        parts.join(" ")
    }

    pub fn condition_expression(&self) -> Option<String> {
        (!self.conditions.is_empty()).then(|| self.conditions.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_condition_lists_exactly_the_allowed_predecessors() {
        let condition = transition_condition(4, State::CuttingOver).unwrap();
        assert!(condition
            .expression
            .starts_with("#version = :v0 AND #state IN ("));
        assert_eq!(condition.names["#state"], "state");
        assert_eq!(condition.values[":v0"], AttributeValue::N("4".into()));
        let listed: Vec<&AttributeValue> = condition
            .values
            .iter()
            .filter(|(k, _)| k.as_str() != ":v0")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(listed.len(), predecessors(State::CuttingOver).len());
        assert!(listed.contains(&&AttributeValue::S("waiting_for_cutover".into())));
        assert!(!listed.contains(&&AttributeValue::S("completed".into())));
    }

    #[test]
    fn update_spec_renders_set_remove_and_conditions() {
        let mut spec = UpdateSpec::default();
        spec.set(attr::STATE, codec::s("running"))
            .increment_version()
            .remove(attr::ACTIVE_PK)
            .require("attribute_exists(#pk)".into());
        assert_eq!(
            spec.update_expression(),
            "SET #state = :v0, #version = #version + :v1 REMOVE #active_pk"
        );
        assert_eq!(
            spec.condition_expression().as_deref(),
            Some("(attribute_exists(#pk))")
        );
    }
}
