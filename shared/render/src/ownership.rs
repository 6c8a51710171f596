//! The reply to a command whose repository may not change the database it names.

use crate::engine::{render, Template};
use crate::error::RenderError;
use schemabot_domain::ownership::OwnershipRefusal;
use serde_json::json;

/// Renders the refusal of `command` (its name, e.g. `apply`), ending with the hidden `marker`.
pub fn render_not_owned(
    command: &str,
    refusal: &OwnershipRefusal,
    marker: &str,
) -> Result<String, RenderError> {
    let (database, environment) = refusal.target();
    let mut view = serde_json::to_value(refusal).map_err(|e| RenderError::Render {
        template: "not_owned.md.tera",
        message: e.to_string(),
    })?;
    // An internally tagged enum of struct variants: always an object.
    view["command"] = json!(format!("schemabot {command}"));
    view["database"] = json!(database.as_str());
    view["environment"] = json!(environment.as_str());
    if view["directory"] == "" {
        view["directory"] = json!(".");
    }
    render(Template::NotOwned, &view, marker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemabot_domain::{Database, Environment, Repository};

    #[test]
    fn names_the_database_and_the_repository() {
        let refusal = OwnershipRefusal::RepositoryNotAllowed {
            database: Database::parse("payments").unwrap(),
            environment: Environment::parse("production").unwrap(),
            repository: Repository::parse("mallory/side-project").unwrap(),
        };
        insta::assert_snapshot!(
            "not_owned_repository",
            render_not_owned("apply", &refusal, "apply:delivery-1").unwrap()
        );
        let directory = OwnershipRefusal::DirectoryNotAllowed {
            database: Database::parse("payments").unwrap(),
            environment: Environment::parse("production").unwrap(),
            repository: Repository::parse("acme/monorepo").unwrap(),
            directory: "services/other/schema".into(),
            allowed: vec!["services/payments/schema".into()],
        };
        insta::assert_snapshot!(
            "not_owned_directory",
            render_not_owned("cutover", &directory, "cutover:delivery-2").unwrap()
        );
    }
}
