//! Who gets an automatic plan when a pull request is opened, pushed to or reopened.
//!
//! A plan posts the live DDL of the databases a change touches, and costs a Tern call per
//! environment. Anyone can open a pull request from a fork of a public repository, and an
//! organisation's outside contributors can open one in the repository itself, so automatic plans
//! are kept for pull requests from the repository itself by authors whose association with it is
//! configured (`SCHEMABOT_AUTOPLAN_ASSOCIATIONS`, default owner, member and collaborator). Anyone
//! else's pull request is planned when someone comments `schemabot plan`.

pub use crate::association::AuthorAssociation;
use crate::github_event::PullRequestEvent;
use std::fmt;

/// The variable holding the associations allowed an automatic plan.
pub const ASSOCIATIONS_VAR: &str = "SCHEMABOT_AUTOPLAN_ASSOCIATIONS";

impl fmt::Display for AuthorAssociation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutoplanConfigError {
    #[error(
        "{ASSOCIATIONS_VAR} is set but empty: list the author associations allowed an automatic \
         plan (e.g. OWNER,MEMBER,COLLABORATOR) or unset it for that default"
    )]
    Empty,
    #[error(
        "{ASSOCIATIONS_VAR} names `{0}`, which is not a GitHub author association (one of OWNER, \
         MEMBER, COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, FIRST_TIMER, MANNEQUIN, NONE)"
    )]
    Unknown(String),
}

/// Which pull requests are planned automatically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoplanPolicy {
    associations: Vec<AuthorAssociation>,
}

impl Default for AutoplanPolicy {
    /// Owners, members and collaborators: the people GitHub lets write to the repository.
    fn default() -> Self {
        AutoplanPolicy {
            associations: vec![
                AuthorAssociation::Owner,
                AuthorAssociation::Member,
                AuthorAssociation::Collaborator,
            ],
        }
    }
}

/// Why a pull request gets no automatic plan (answered to GitHub and logged).
pub const FROM_FORK: &str = "automatic plan skipped: the pull request comes from a fork";
pub const AUTHOR_NOT_ALLOWED: &str =
    "automatic plan skipped: the author's association with the repository is not in \
     SCHEMABOT_AUTOPLAN_ASSOCIATIONS";

impl AutoplanPolicy {
    pub fn new(associations: Vec<AuthorAssociation>) -> Self {
        AutoplanPolicy { associations }
    }

    /// Reads the comma-separated variable value. Strict: an empty entry or an unknown word is an
    /// error, so a typo never silently narrows (or widens) who is planned.
    pub fn parse(value: &str) -> Result<Self, AutoplanConfigError> {
        if value.trim().is_empty() {
            return Err(AutoplanConfigError::Empty);
        }
        let mut associations = Vec::new();
        for entry in value.split(',').map(str::trim) {
            let association = AuthorAssociation::parse(entry)
                .ok_or_else(|| AutoplanConfigError::Unknown(entry.chars().take(64).collect()))?;
            if !associations.contains(&association) {
                associations.push(association);
            }
        }
        Ok(AutoplanPolicy { associations })
    }

    pub fn associations(&self) -> &[AuthorAssociation] {
        &self.associations
    }

    /// Why `event` gets no automatic plan, or `None` when it does. A pull request whose head
    /// repository is unknown (deleted fork) counts as a fork; an unknown association as not
    /// allowed.
    pub fn refusal(&self, event: &PullRequestEvent<'_>) -> Option<&'static str> {
        let base = event.base_repository.as_ref().unwrap_or(&event.repository);
        if event.head_repository.as_ref() != Some(base) || base != &event.repository {
            return Some(FROM_FORK);
        }
        match event.author_association {
            Some(association) if self.associations.contains(&association) => None,
            _ => Some(AUTHOR_NOT_ALLOWED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemabot_domain::{InstallationId, PrNumber, Repository};
    use std::borrow::Cow;

    fn repo(name: &str) -> Repository {
        Repository::parse(name).unwrap()
    }

    fn event(
        head: Option<&str>,
        association: Option<AuthorAssociation>,
    ) -> PullRequestEvent<'static> {
        PullRequestEvent {
            action: Cow::Borrowed("opened"),
            installation_id: InstallationId(7),
            repository: repo("acme/schemas"),
            pr: PrNumber(42),
            head_sha: "abc123".into(),
            head_repository: head.map(repo),
            base_repository: Some(repo("acme/schemas")),
            author_association: association,
        }
    }

    #[test]
    fn the_default_plans_owners_members_and_collaborators_of_the_repository_itself() {
        let policy = AutoplanPolicy::default();
        for association in AuthorAssociation::ALL {
            let allowed = matches!(
                association,
                AuthorAssociation::Owner
                    | AuthorAssociation::Member
                    | AuthorAssociation::Collaborator
            );
            assert_eq!(
                policy.refusal(&event(Some("acme/schemas"), Some(association))),
                (!allowed).then_some(AUTHOR_NOT_ALLOWED),
                "{association}"
            );
        }
        assert_eq!(
            policy.refusal(&event(
                Some("ACME/Schemas"),
                Some(AuthorAssociation::Member)
            )),
            None,
            "names compare case-insensitively"
        );
        assert_eq!(
            policy.refusal(&event(Some("acme/schemas"), None)),
            Some(AUTHOR_NOT_ALLOWED)
        );
    }

    #[test]
    fn forks_and_unknown_head_repositories_are_never_planned_automatically() {
        let policy = AutoplanPolicy::default();
        for head in [Some("mallory/schemas"), Some("acme/schemas-fork"), None] {
            assert_eq!(
                policy.refusal(&event(head, Some(AuthorAssociation::Owner))),
                Some(FROM_FORK),
                "{head:?}"
            );
        }
        // A base that is not the repository the event came from is not trusted either.
        let mut odd = event(Some("other/base"), Some(AuthorAssociation::Owner));
        odd.base_repository = Some(repo("other/base"));
        assert_eq!(policy.refusal(&odd), Some(FROM_FORK));
        // Without a base repository, the event's repository is the base.
        let mut no_base = event(Some("acme/schemas"), Some(AuthorAssociation::Owner));
        no_base.base_repository = None;
        assert_eq!(policy.refusal(&no_base), None);
    }

    #[test]
    fn the_configured_list_is_strict() {
        assert_eq!(
            AutoplanPolicy::parse("owner, MEMBER,Owner")
                .unwrap()
                .associations(),
            &[AuthorAssociation::Owner, AuthorAssociation::Member]
        );
        let contributors = AutoplanPolicy::parse("OWNER,MEMBER,COLLABORATOR,CONTRIBUTOR").unwrap();
        assert_eq!(
            contributors.refusal(&event(
                Some("acme/schemas"),
                Some(AuthorAssociation::Contributor)
            )),
            None
        );
        for (value, error) in [
            ("", AutoplanConfigError::Empty),
            ("  ", AutoplanConfigError::Empty),
            ("OWNER,,MEMBER", AutoplanConfigError::Unknown(String::new())),
            (
                "OWNER,MEMBERS",
                AutoplanConfigError::Unknown("MEMBERS".into()),
            ),
            (
                "OWNER;MEMBER",
                AutoplanConfigError::Unknown("OWNER;MEMBER".into()),
            ),
        ] {
            assert_eq!(AutoplanPolicy::parse(value), Err(error), "{value:?}");
        }
        let message = AutoplanPolicy::parse("admin").unwrap_err().to_string();
        assert!(
            message.contains(ASSOCIATIONS_VAR) && message.contains("`admin`"),
            "{message}"
        );
    }
}
