//! Who did something: a GitHub user commenting on the PR, or an operator using the CLI.

use schemabot_domain::Login;
use serde::Serialize;

/// Prefix under which the domain stores CLI actors (`cli:<aws identity>`).
const CLI_PREFIX: &str = "cli:";

/// The person (or identity) behind a cutover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A GitHub user, by login.
    GitHub(Login),
    /// The operator CLI; `identity` is the caller's AWS identity (ARN).
    Cli { identity: String },
}

impl Actor {
    /// Reads the stored form used by the domain records (`CutoverClaim::actor`,
    /// `Apply::cutover_triggered_by`): a login, or `cli:<aws identity>`.
    pub fn from_stored(stored: &str) -> Actor {
        match stored.strip_prefix(CLI_PREFIX) {
            Some(identity) => Actor::Cli {
                identity: identity.to_string(),
            },
            None => Actor::GitHub(Login(stored.to_string())),
        }
    }

    pub(crate) fn view(&self) -> ActorView {
        let (cli, name) = match self {
            Actor::GitHub(login) => (false, &login.0),
            Actor::Cli { identity } => (true, identity),
        };
        ActorView {
            cli,
            name: name.clone(),
        }
    }
}

/// How templates see an actor; the name is raw and escaped by the template (`mention`,
/// `quiet_mention` or `code`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ActorView {
    pub cli: bool,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_actors_are_told_apart_by_the_cli_prefix() {
        assert_eq!(
            Actor::from_stored("alice"),
            Actor::GitHub(Login("alice".into()))
        );
        assert_eq!(
            Actor::from_stored("cli:arn:aws:iam::123456789012:user/bob"),
            Actor::Cli {
                identity: "arn:aws:iam::123456789012:user/bob".into()
            }
        );
    }
}
