//! `SCHEMABOT_REVIEW_GATES`: the review gate of each protected environment, e.g.
//! `{"production": {"approvals": 1, "count_stale_approvals": false, "codeowners": false}}`.
//!
//! Parsed strictly, because a typo must not silently leave production ungated: unknown fields
//! are refused, every environment must be in `SCHEMABOT_ENVIRONMENTS`, `approvals` is required
//! and at least 1. Empty or `{}` gates nothing.

use crate::config_error::ConfigError;
use schemabot_domain::review::GateSettings;
use schemabot_domain::Environment;
use serde::Deserialize;
use std::collections::BTreeMap;

const NAME: &str = "SCHEMABOT_REVIEW_GATES";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GateWire {
    approvals: u32,
    #[serde(default)]
    count_stale_approvals: bool,
    #[serde(default)]
    codeowners: bool,
}

/// The gated environments and their settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewGates(BTreeMap<Environment, GateSettings>);

impl ReviewGates {
    /// The gate of `environment`, if it is protected.
    pub fn get(&self, environment: &Environment) -> Option<&GateSettings> {
        self.0.get(environment)
    }

    /// Parses the variable's JSON against the configured environments.
    pub fn parse(json: &str, environments: &[Environment]) -> Result<ReviewGates, ConfigError> {
        if json.trim().is_empty() {
            return Ok(ReviewGates::default());
        }
        let invalid = |reason: String| ConfigError::Invalid { name: NAME, reason };
        let raw: BTreeMap<String, GateWire> =
            serde_json::from_str(json).map_err(|e| invalid(e.to_string()))?;
        let mut gates = BTreeMap::new();
        for (name, wire) in raw {
            let environment = Environment::parse(&name)
                .map_err(|source| ConfigError::Id { name: NAME, source })?;
            if !environments.contains(&environment) {
                return Err(invalid(format!(
                    "`{environment}` is not in SCHEMABOT_ENVIRONMENTS"
                )));
            }
            if wire.approvals == 0 {
                return Err(invalid(format!(
                    "`{environment}`: approvals must be at least 1"
                )));
            }
            gates.insert(
                environment,
                GateSettings {
                    approvals: wire.approvals,
                    count_stale_approvals: wire.count_stale_approvals,
                    codeowners: wire.codeowners,
                },
            );
        }
        Ok(ReviewGates(gates))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envs() -> Vec<Environment> {
        vec![
            Environment::parse("staging").unwrap(),
            Environment::parse("production").unwrap(),
        ]
    }

    fn error(json: &str) -> String {
        ReviewGates::parse(json, &envs()).unwrap_err().to_string()
    }

    #[test]
    fn parses_gates_with_defaults() {
        let gates = ReviewGates::parse(
            r#"{"production": {"approvals": 2, "codeowners": true}}"#,
            &envs(),
        )
        .unwrap();
        let production = Environment::parse("production").unwrap();
        assert_eq!(
            gates.get(&production),
            Some(&GateSettings {
                approvals: 2,
                count_stale_approvals: false,
                codeowners: true,
            })
        );
        assert_eq!(gates.get(&Environment::parse("staging").unwrap()), None);
    }

    #[test]
    fn empty_gates_nothing() {
        assert_eq!(
            ReviewGates::parse("", &envs()).unwrap(),
            ReviewGates::default()
        );
        assert_eq!(
            ReviewGates::parse(" {} ", &envs()).unwrap(),
            ReviewGates::default()
        );
    }

    #[test]
    fn misconfigurations_are_refused_with_the_reason() {
        assert!(
            error(r#"{"production": {"approvals": 1, "aprovals": 2}}"#).contains("unknown field")
        );
        assert!(
            error(r#"{"production": {"codeowners": true}}"#).contains("missing field `approvals`")
        );
        assert!(error(r#"{"production": {"approvals": 0}}"#).contains("at least 1"));
        assert!(error(r#"{"production": {"approvals": -1}}"#).contains(NAME));
        assert!(error(r#"{"prod": {"approvals": 1}}"#).contains("not in SCHEMABOT_ENVIRONMENTS"));
        assert!(error(r#"{"production": true}"#).contains(NAME));
        assert!(error("production").contains(NAME));
        assert!(error(r#"{"production": {"approvals": 1, "codeowners": "yes"}}"#).contains(NAME));
    }
}
