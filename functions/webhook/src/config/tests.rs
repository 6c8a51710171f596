//! Start-up configuration: what is required, what is refused, and that no message shows a secret.

use super::*;
use crate::autoplan::AuthorAssociation;
use crate::signature::{sign, SecretsError};
use std::collections::HashMap;

const SECRET: &str = "a-webhook-secret-of-some-length";

fn base() -> HashMap<&'static str, String> {
    HashMap::from([
        ("SCHEMABOT_ENVIRONMENTS", "staging,production".to_string()),
        (
            "SCHEMABOT_REPOSITORIES",
            "Acme/Schemas, acme/other".to_string(),
        ),
        ("SCHEMABOT_QUEUE_URL", "http://queue".to_string()),
        ("SCHEMABOT_TABLE", "table".to_string()),
    ])
}

fn load(vars: &HashMap<&'static str, String>) -> Result<WebhookConfig, ConfigError> {
    WebhookConfig::from_vars(&|var| vars.get(var).cloned())
}

fn with(var: &'static str, value: &str) -> HashMap<&'static str, String> {
    let mut vars = base();
    vars.insert(var, value.to_string());
    vars
}

#[test]
fn a_complete_configuration_loads_with_the_default_autoplan_policy() {
    let config = load(&base()).unwrap();
    let repositories: Vec<&str> = config
        .routing
        .repositories
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(repositories, ["acme/schemas", "acme/other"]);
    assert_eq!(config.routing.autoplan, AutoplanPolicy::default());
    assert!(config.routing.primary);
    assert_eq!(config.queue_url, "http://queue");
}

#[test]
fn the_repository_allowlist_is_required() {
    for value in [None, Some(""), Some(" , ")] {
        let mut vars = base();
        match value {
            Some(value) => vars.insert("SCHEMABOT_REPOSITORIES", value.to_string()),
            None => vars.remove("SCHEMABOT_REPOSITORIES"),
        };
        let error = load(&vars).unwrap_err();
        assert!(matches!(error, ConfigError::NoRepositories), "{value:?}");
        let message = error.to_string();
        assert!(
            message.contains("SCHEMABOT_REPOSITORIES is empty") && message.contains("fail closed"),
            "{message}"
        );
    }
    assert!(matches!(
        load(&with("SCHEMABOT_REPOSITORIES", "acme")),
        Err(ConfigError::Invalid {
            name: "SCHEMABOT_REPOSITORIES",
            ..
        })
    ));
}

#[test]
fn autoplan_associations_are_configurable_and_strict() {
    let config = load(&with("SCHEMABOT_AUTOPLAN_ASSOCIATIONS", "owner,member")).unwrap();
    assert_eq!(
        config.routing.autoplan.associations(),
        &[AuthorAssociation::Owner, AuthorAssociation::Member]
    );
    for value in ["", "OWNER,MEMBR", "OWNER,"] {
        let error = load(&with("SCHEMABOT_AUTOPLAN_ASSOCIATIONS", value)).unwrap_err();
        assert!(matches!(error, ConfigError::Autoplan(_)), "{value:?}");
        assert!(
            error
                .to_string()
                .contains("SCHEMABOT_AUTOPLAN_ASSOCIATIONS"),
            "{error}"
        );
    }
}

#[test]
fn other_variables_keep_their_rules() {
    let mut no_environments = base();
    no_environments.remove("SCHEMABOT_ENVIRONMENTS");
    assert!(matches!(
        load(&no_environments),
        Err(ConfigError::Missing("SCHEMABOT_ENVIRONMENTS"))
    ));
    assert!(matches!(
        load(&with("SCHEMABOT_OWNED_ENVIRONMENTS", "qa")),
        Err(ConfigError::OwnedNotConfigured(_))
    ));
    let mut no_table = base();
    no_table.remove("SCHEMABOT_TABLE");
    assert!(matches!(
        load(&no_table),
        Err(ConfigError::Missing("SCHEMABOT_TABLE"))
    ));
    assert!(
        !load(&with("SCHEMABOT_PRIMARY", "false"))
            .unwrap()
            .routing
            .primary
    );
}

#[test]
fn local_secrets_use_the_strict_shapes() {
    let verifies = |secrets: &WebhookSecrets| {
        secrets
            .verify(b"x", Some(&sign(SECRET.as_bytes(), b"x")))
            .is_ok()
    };
    assert!(verifies(&secrets_from_local_value(Some(SECRET)).unwrap()));
    let array = format!(r#"["{SECRET}"]"#);
    assert!(verifies(&secrets_from_local_value(Some(&array)).unwrap()));
    for unset in [None, Some(""), Some("  ")] {
        assert!(matches!(
            secrets_from_local_value(unset),
            Err(ConfigError::NoSecret)
        ));
    }
    let comma = format!("{SECRET},{SECRET}");
    let error = secrets_from_local_value(Some(&comma)).unwrap_err();
    assert!(matches!(
        error,
        ConfigError::BadSecret {
            error: SecretValueError::CommaList,
            ..
        }
    ));
    let message = error.to_string();
    assert!(
        message.starts_with("SCHEMABOT_WEBHOOK_SECRETS: the value holds a comma"),
        "{message}"
    );
    assert!(!message.contains(SECRET), "{message}");
}

#[test]
fn secrets_manager_values_use_the_same_shapes_and_name_the_arn() {
    let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook";
    let pair = format!(r#"{{"current":"{SECRET}","previous":"{SECRET}-old"}}"#);
    assert!(secrets_from_secret_string(arn, &pair).is_ok());
    for (value, expected) in [
        (
            "short",
            SecretValueError::Secrets(SecretsError::TooShort { position: 1 }),
        ),
        ("a,b", SecretValueError::CommaList),
    ] {
        let error = secrets_from_secret_string(arn, value).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, ConfigError::BadSecret { error: ref e, .. } if *e == expected),
            "{value}: {message}"
        );
        assert!(message.contains(arn), "{message}");
    }
    let unknown_key = format!(r#"{{"current":"{SECRET}","next":"{SECRET}"}}"#);
    let message = secrets_from_secret_string(arn, &unknown_key)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("is not a well-formed JSON object"),
        "{message}"
    );
    assert!(!message.contains(SECRET), "{message}");
}
