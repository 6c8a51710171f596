//! Reactions on issue/PR comments (👀 acknowledges a command).

use super::request::{repo_path, ApiCall, Replay, Verb};
use super::InstallationClient;
use crate::error::GithubError;
use crate::stats::RequestKind;
use schemabot_domain::{CommentId, Repository};

/// A reaction on a comment (GitHub's fixed set). SchemaBot only uses [`Reaction::Eyes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reaction {
    PlusOne,
    MinusOne,
    Laugh,
    Confused,
    Heart,
    Hooray,
    Rocket,
    Eyes,
}

impl Reaction {
    /// The `content` value GitHub expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Reaction::PlusOne => "+1",
            Reaction::MinusOne => "-1",
            Reaction::Laugh => "laugh",
            Reaction::Confused => "confused",
            Reaction::Heart => "heart",
            Reaction::Hooray => "hooray",
            Reaction::Rocket => "rocket",
            Reaction::Eyes => "eyes",
        }
    }
}

impl InstallationClient {
    /// Adds a reaction to an issue/PR comment (👀 acknowledges a command). Adding one that is
    /// already there succeeds, so retrying is safe. One request.
    pub async fn add_reaction(
        &self,
        repo: &Repository,
        comment: CommentId,
        reaction: Reaction,
    ) -> Result<(), GithubError> {
        let call = ApiCall {
            kind: RequestKind::AddReaction,
            verb: Verb::Post,
            path: format!(
                "{}/issues/comments/{}/reactions",
                repo_path(repo),
                comment.0
            ),
            body: Some(serde_json::json!({ "content": reaction.as_str() })),
        };
        self.send(&call, Replay::Always).await.map(drop)
    }
}
