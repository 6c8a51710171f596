//! Which repositories (and which of their directories) may target a database in an environment.
//!
//! A database changes only from a source its configuration names: the `database:` line of a PR's
//! own `schemabot.yaml` chooses nothing by itself. No policy, or a policy listing no repository,
//! denies everyone.

use crate::audit::Outcome;
use crate::{Database, Environment, Repository};
use serde::{Deserialize, Serialize};

/// The sources allowed to target one database in one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcePolicy {
    /// Repositories allowed to target the database (`owner/name`).
    #[serde(default)]
    pub repositories: Vec<Repository>,
    /// Repository-relative directories the schema directory must lie in (itself or below);
    /// empty = anywhere in an allowed repository; `.` = the repository root.
    #[serde(default)]
    pub schema_dirs: Vec<SchemaDirPrefix>,
}

/// A checked directory prefix: relative, normalised, never escaping the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct SchemaDirPrefix(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a repository-relative directory (no leading `/`, no `..`, no `\\`)")]
pub struct InvalidDirPrefix(pub String);

impl SchemaDirPrefix {
    pub fn parse(raw: &str) -> Result<Self, InvalidDirPrefix> {
        let trimmed = raw.trim().trim_end_matches('/');
        let invalid = || InvalidDirPrefix(raw.to_string());
        if trimmed == "." {
            return Ok(SchemaDirPrefix(String::new()));
        }
        if trimmed.is_empty() || trimmed.starts_with('/') || trimmed.contains('\\') {
            return Err(invalid());
        }
        let parts: Vec<&str> = trimmed.split('/').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
        {
            return Err(invalid());
        }
        Ok(SchemaDirPrefix(parts.join("/")))
    }

    /// Whether `dir` (a repository-relative directory, `""` for the root) is this prefix or lies
    /// below it.
    pub fn covers(&self, dir: &str) -> bool {
        let dir = dir.trim_matches('/');
        self.0.is_empty()
            || dir == self.0
            || (dir.starts_with(&self.0) && dir.as_bytes().get(self.0.len()) == Some(&b'/'))
    }

    pub fn as_str(&self) -> &str {
        if self.0.is_empty() {
            "."
        } else {
            &self.0
        }
    }
}

impl From<SchemaDirPrefix> for String {
    fn from(prefix: SchemaDirPrefix) -> String {
        prefix.as_str().to_string()
    }
}

impl<'de> Deserialize<'de> for SchemaDirPrefix {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        SchemaDirPrefix::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Why a source may not target a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum OwnershipRefusal {
    /// The database has no deployment in this environment at all.
    NotConfigured {
        database: Database,
        environment: Environment,
    },
    /// The repository is not among those the database lists.
    RepositoryNotAllowed {
        database: Database,
        environment: Environment,
        repository: Repository,
    },
    /// The repository is allowed, but not from this directory.
    DirectoryNotAllowed {
        database: Database,
        environment: Environment,
        repository: Repository,
        directory: String,
        allowed: Vec<String>,
    },
}

impl OwnershipRefusal {
    /// The database and environment refused.
    pub fn target(&self) -> (&Database, &Environment) {
        match self {
            OwnershipRefusal::NotConfigured {
                database,
                environment,
            }
            | OwnershipRefusal::RepositoryNotAllowed {
                database,
                environment,
                ..
            }
            | OwnershipRefusal::DirectoryNotAllowed {
                database,
                environment,
                ..
            } => (database, environment),
        }
    }

    /// A short machine-readable outcome for audit events and metrics.
    pub fn code(&self) -> Outcome {
        match self {
            OwnershipRefusal::NotConfigured { .. } => Outcome::DatabaseNotConfigured,
            OwnershipRefusal::RepositoryNotAllowed { .. } => Outcome::RepositoryNotAllowed,
            OwnershipRefusal::DirectoryNotAllowed { .. } => Outcome::DirectoryNotAllowed,
        }
    }

    /// The sentence a reply shows.
    pub fn message(&self) -> String {
        match self {
            OwnershipRefusal::NotConfigured {
                database,
                environment,
            } => format!(
                "Database `{database}` is not configured for this repository: it has no deployment in `{environment}`."
            ),
            OwnershipRefusal::RepositoryNotAllowed {
                database,
                environment,
                repository,
            } => format!(
                "Database `{database}` is not configured for this repository: `{repository}` is not among the repositories allowed to change it in `{environment}`. An operator can add it to the deployment's `repositories`."
            ),
            OwnershipRefusal::DirectoryNotAllowed {
                database,
                environment,
                directory,
                allowed,
                ..
            } => format!(
                "Database `{database}` is not configured for this repository's directory `{}`: in `{environment}` it may be changed only from {}.",
                if directory.is_empty() { "." } else { directory },
                allowed
                    .iter()
                    .map(|d| format!("`{d}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Decides whether `repository` (from schema directory `directory`, when known) may target
/// `database` in `environment` under `policy` (`None` = no deployment there).
pub fn check_source(
    policy: Option<&SourcePolicy>,
    database: &Database,
    environment: &Environment,
    repository: &Repository,
    directory: Option<&str>,
) -> Result<(), OwnershipRefusal> {
    let Some(policy) = policy else {
        return Err(OwnershipRefusal::NotConfigured {
            database: database.clone(),
            environment: environment.clone(),
        });
    };
    if !policy.repositories.contains(repository) {
        return Err(OwnershipRefusal::RepositoryNotAllowed {
            database: database.clone(),
            environment: environment.clone(),
            repository: repository.clone(),
        });
    }
    match directory {
        Some(dir)
            if !policy.schema_dirs.is_empty()
                && !policy.schema_dirs.iter().any(|p| p.covers(dir)) =>
        {
            Err(OwnershipRefusal::DirectoryNotAllowed {
                database: database.clone(),
                environment: environment.clone(),
                repository: repository.clone(),
                directory: dir.to_string(),
                allowed: policy
                    .schema_dirs
                    .iter()
                    .map(|p| p.as_str().to_string())
                    .collect(),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Database {
        Database::parse("payments").unwrap()
    }
    fn env() -> Environment {
        Environment::parse("production").unwrap()
    }
    fn repo(r: &str) -> Repository {
        Repository::parse(r).unwrap()
    }
    fn policy(repos: &[&str], dirs: &[&str]) -> SourcePolicy {
        SourcePolicy {
            repositories: repos.iter().map(|r| repo(r)).collect(),
            schema_dirs: dirs
                .iter()
                .map(|d| SchemaDirPrefix::parse(d).unwrap())
                .collect(),
        }
    }

    #[test]
    fn nothing_listed_denies_everyone() {
        let owner = repo("acme/payments");
        let refusal = check_source(None, &db(), &env(), &owner, Some("schema")).unwrap_err();
        assert_eq!(refusal.code().as_str(), "database_not_configured");
        let empty = SourcePolicy::default();
        let refusal = check_source(Some(&empty), &db(), &env(), &owner, None).unwrap_err();
        assert_eq!(refusal.code().as_str(), "repository_not_allowed");
        assert!(refusal
            .message()
            .contains("`payments` is not configured for this repository"));
    }

    #[test]
    fn only_listed_repositories_and_directories_pass() {
        let p = policy(&["acme/payments"], &["schema/payments"]);
        let ok = |r: &str, d: Option<&str>| check_source(Some(&p), &db(), &env(), &repo(r), d);
        assert!(ok("acme/payments", Some("schema/payments")).is_ok());
        assert!(ok("acme/payments", Some("schema/payments/v2")).is_ok());
        assert!(ok("ACME/Payments", Some("schema/payments")).is_ok());
        assert!(
            ok("acme/payments", None).is_ok(),
            "no directory known: repository only"
        );
        assert_eq!(
            ok("acme/payments", Some("schema/payments-evil"))
                .unwrap_err()
                .code()
                .as_str(),
            "directory_not_allowed"
        );
        assert_eq!(
            ok("acme/payments", Some("other"))
                .unwrap_err()
                .code()
                .as_str(),
            "directory_not_allowed"
        );
        assert_eq!(
            ok("mallory/payments", Some("schema/payments"))
                .unwrap_err()
                .code()
                .as_str(),
            "repository_not_allowed"
        );
    }

    #[test]
    fn no_directories_listed_means_anywhere_in_the_repository() {
        let p = policy(&["acme/payments"], &[]);
        assert!(check_source(Some(&p), &db(), &env(), &repo("acme/payments"), Some("")).is_ok());
        let root = policy(&["acme/payments"], &["."]);
        assert!(check_source(
            Some(&root),
            &db(),
            &env(),
            &repo("acme/payments"),
            Some("a/b")
        )
        .is_ok());
    }

    #[test]
    fn directory_prefixes_are_checked() {
        for bad in ["", "/abs", "a/../b", "..", "a//b", "a\\b", "./a"] {
            assert!(SchemaDirPrefix::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            SchemaDirPrefix::parse("schema/").unwrap().as_str(),
            "schema"
        );
        assert_eq!(SchemaDirPrefix::parse(".").unwrap().as_str(), ".");
        let parsed: SourcePolicy =
            serde_json::from_str(r#"{"repositories":["Acme/X"],"schema_dirs":["db"]}"#).unwrap();
        assert_eq!(parsed.repositories, vec![repo("acme/x")]);
        assert!(serde_json::from_str::<SourcePolicy>(r#"{"repositories":["x"]}"#).is_err());
        assert!(serde_json::from_str::<SourcePolicy>(r#"{"repos":["a/b"]}"#).is_err());
        assert!(serde_json::from_str::<SourcePolicy>(r#"{"schema_dirs":["../x"]}"#).is_err());
    }
}
