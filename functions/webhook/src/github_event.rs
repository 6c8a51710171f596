//! The parts of GitHub's `issue_comment` payload SchemaBot reads, and nothing else.
//!
//! Fields are borrowed from the body where possible and unknown fields are skipped, so parsing a
//! typical 11 KB payload costs little beyond one pass over it.

use schemabot_domain::{CommentId, InstallationId, Login, PrNumber, Repository};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Deserialize)]
struct Payload<'a> {
    #[serde(borrow, default)]
    action: Option<Cow<'a, str>>,
    #[serde(default)]
    issue: Option<Issue>,
    #[serde(borrow, default)]
    comment: Option<Comment<'a>>,
    #[serde(borrow, default)]
    repository: Option<RepositoryPart<'a>>,
    #[serde(default)]
    installation: Option<Installation>,
}

#[derive(Debug, Deserialize)]
struct Issue {
    number: u64,
    /// Present (an object) only when the issue is a pull request.
    #[serde(default)]
    pull_request: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
struct Comment<'a> {
    id: u64,
    #[serde(borrow, default)]
    body: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: User<'a>,
}

#[derive(Debug, Deserialize)]
struct User<'a> {
    #[serde(borrow)]
    login: Cow<'a, str>,
    #[serde(borrow, rename = "type", default)]
    kind: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct RepositoryPart<'a> {
    #[serde(borrow)]
    full_name: Cow<'a, str>,
}

#[derive(Debug, Deserialize)]
struct Installation {
    id: u64,
}

/// A PR comment that was just created by a person: the only event that can carry a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrComment<'a> {
    pub installation_id: InstallationId,
    pub repository: Repository,
    pub pr: PrNumber,
    pub comment_id: CommentId,
    pub commenter: Login,
    pub body: Cow<'a, str>,
}

/// What an `issue_comment` delivery is, as far as SchemaBot cares.
#[derive(Debug, PartialEq, Eq)]
pub enum CommentEvent<'a> {
    Created(PrComment<'a>),
    Ignored(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("invalid webhook payload: {0}")]
    Json(String),
    #[error("invalid webhook payload: {0}")]
    Field(&'static str),
    #[error("missing installation ID in webhook payload")]
    MissingInstallation,
}

/// Reads an `issue_comment` payload. Ignore rules follow the reference order: not a creation or
/// not on a PR, then bot authors.
pub fn parse_issue_comment(body: &[u8]) -> Result<CommentEvent<'_>, PayloadError> {
    let payload: Payload<'_> =
        serde_json::from_slice(body).map_err(|e| PayloadError::Json(e.to_string()))?;
    let (Some(action), Some(issue), Some(comment), Some(repository)) = (
        payload.action.as_deref(),
        payload.issue,
        payload.comment,
        payload.repository,
    ) else {
        return Ok(CommentEvent::Ignored(
            "event ignored (not a PR comment creation)",
        ));
    };
    if action != "created" {
        return Ok(CommentEvent::Ignored(
            "event ignored (comment edited or deleted)",
        ));
    }
    if issue.pull_request.is_none() {
        return Ok(CommentEvent::Ignored(
            "event ignored (comment on an issue, not a pull request)",
        ));
    }
    if comment.user.kind.as_deref() == Some("Bot") {
        return Ok(CommentEvent::Ignored("event ignored (comment from bot)"));
    }
    let repository = Repository::parse(&repository.full_name)
        .map_err(|_| PayloadError::Field("repository.full_name"))?;
    let installation_id = match payload.installation {
        Some(Installation { id }) if id > 0 => InstallationId(id),
        _ => return Err(PayloadError::MissingInstallation),
    };
    Ok(CommentEvent::Created(PrComment {
        installation_id,
        repository,
        pr: PrNumber(issue.number),
        comment_id: CommentId(comment.id),
        commenter: Login(comment.user.login.into_owned()),
        body: comment.body.unwrap_or(Cow::Borrowed("")),
    }))
}
