//! Schema directories a PR changes: `schemabot.yaml` parsing and the `.sql` files at a commit.

use crate::config::PlanLimits;
use crate::errors;
use crate::outcome::JobError;
use schemabot_domain::{Database, PrNumber, Repository};
use schemabot_github::InstallationClient;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The config file that marks a schema directory.
pub const SCHEMA_CONFIG_FILE: &str = "schemabot.yaml";

/// `schemabot.yaml`: which database the directory's `.sql` files describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaConfig {
    pub database: String,
    /// `mysql` (default) or `vitess`.
    pub database_type: String,
}

/// Reads the two `key: value` lines SchemaBot needs; other keys, comments and blank lines are
/// ignored. `None` without a valid `database`.
pub fn parse_schema_config(text: &str) -> Option<SchemaConfig> {
    let mut database = None;
    let mut database_type = None;
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or("").trim_end();
        if line.trim_start().starts_with('#') || line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        match key.trim() {
            "database" if !value.is_empty() => database = Some(value.to_string()),
            "type" if !value.is_empty() => database_type = Some(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    Some(SchemaConfig {
        database: database?,
        database_type: database_type.unwrap_or_else(|| "mysql".to_string()),
    })
}

/// The directory of a repository path (`""` for the root).
fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// A schema directory the PR changes, with its `.sql` files at the head commit.
#[derive(Debug)]
pub(crate) struct SchemaDir {
    pub(crate) config: SchemaConfig,
    /// File name (within the directory) → content.
    pub(crate) files: HashMap<String, String>,
}

/// What a PR holds for a plan.
#[derive(Debug)]
pub(crate) enum Discovery {
    /// The schema directories touched by the PR, keyed by path.
    Found(BTreeMap<String, SchemaDir>),
    /// More than the limits allow: nothing is read further.
    TooLarge(TooLarge),
}

/// How far past the limits a PR is (counted up to where discovery stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub(crate) dirs: usize,
    pub(crate) files: usize,
    pub(crate) limits: PlanLimits,
}

impl TooLarge {
    /// The reply's view.
    pub(crate) fn view(self) -> schemabot_render::PlanTooLarge {
        schemabot_render::PlanTooLarge {
            dirs: self.dirs,
            files: self.files,
            max_dirs: self.limits.max_dirs,
            max_files: self.limits.max_files,
        }
    }
}

/// The schema directories touched by the PR (optionally only `database`'s), keyed by path,
/// within `limits`.
pub(crate) async fn schema_dirs(
    github: &InstallationClient,
    repository: &Repository,
    pr: PrNumber,
    database: Option<&Database>,
    head_sha: &str,
    limits: PlanLimits,
) -> Result<Discovery, JobError> {
    let files = github
        .list_pull_request_files(repository, pr)
        .await
        .map_err(errors::github)?;
    let mut changed_sql: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut candidates = BTreeSet::new();
    for file in &files {
        let dir = parent_dir(&file.filename);
        let name = &file.filename[dir.len()..].trim_start_matches('/');
        if name.ends_with(".sql") {
            candidates.insert(dir.to_string());
            if file.status != "removed" {
                changed_sql
                    .entry(dir.to_string())
                    .or_default()
                    .insert(name.to_string());
            }
        } else if *name == SCHEMA_CONFIG_FILE {
            candidates.insert(dir.to_string());
        }
    }
    // With a database named, only its directories count (known after reading each config).
    if database.is_none() && candidates.len() > limits.max_dirs {
        return Ok(Discovery::TooLarge(TooLarge {
            dirs: candidates.len(),
            files: 0,
            limits,
        }));
    }
    let mut dirs = BTreeMap::new();
    let mut files_read = 0;
    for dir in candidates {
        let Some(text) = github
            .get_file_contents(repository, &join(&dir, SCHEMA_CONFIG_FILE), head_sha)
            .await
            .map_err(errors::github)?
        else {
            continue;
        };
        let Some(config) = parse_schema_config(&text) else {
            tracing::warn!(dir, "schemabot.yaml names no database; skipped");
            continue;
        };
        if database.is_some_and(|wanted| !wanted.as_str().eq_ignore_ascii_case(&config.database)) {
            continue;
        }
        // Tern plans declaratively: every `.sql` file of the directory, changed or not. Without
        // a listing (it should not happen), the changed ones are the best we have.
        let names: BTreeSet<String> = match github
            .list_directory(repository, &dir, head_sha)
            .await
            .map_err(errors::github)?
        {
            Some(entries) => entries
                .into_iter()
                .filter(|e| e.kind == "file" && e.name.ends_with(".sql"))
                .map(|e| e.name)
                .collect(),
            None => changed_sql.get(&dir).cloned().unwrap_or_default(),
        };
        files_read += names.len();
        if files_read > limits.max_files || dirs.len() >= limits.max_dirs {
            return Ok(Discovery::TooLarge(TooLarge {
                dirs: dirs.len() + 1,
                files: files_read,
                limits,
            }));
        }
        let mut contents = HashMap::new();
        for name in &names {
            if let Some(text) = github
                .get_file_contents(repository, &join(&dir, name), head_sha)
                .await
                .map_err(errors::github)?
            {
                contents.insert(name.clone(), text);
            }
        }
        dirs.insert(
            dir,
            SchemaDir {
                config,
                files: contents,
            },
        );
    }
    Ok(Discovery::Found(dirs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_database_and_type_from_schemabot_yaml() {
        assert_eq!(
            parse_schema_config("# payments schema\ndatabase: payments\ntype: MySQL\n"),
            Some(SchemaConfig {
                database: "payments".into(),
                database_type: "mysql".into()
            })
        );
        assert_eq!(
            parse_schema_config("database: \"orders\"  # quoted\n"),
            Some(SchemaConfig {
                database: "orders".into(),
                database_type: "mysql".into()
            })
        );
        assert_eq!(parse_schema_config("type: vitess\n"), None);
        assert_eq!(
            parse_schema_config("nested:\n  database: nope\ndatabase: yes_db\n")
                .map(|c| c.database),
            Some("yes_db".into())
        );
    }

    #[test]
    fn paths_split_into_directory_and_name() {
        assert_eq!(
            parent_dir("schemas/payments/orders.sql"),
            "schemas/payments"
        );
        assert_eq!(parent_dir("orders.sql"), "");
        assert_eq!(join("", "schemabot.yaml"), "schemabot.yaml");
        assert_eq!(join("a/b", "schemabot.yaml"), "a/b/schemabot.yaml");
    }
}
