//! The parts of GitHub's `issue_comment` and `pull_request` payloads SchemaBot reads, and nothing
//! else.
//!
//! serde_json reads each payload into structs of exactly the fields used; every other member is
//! skipped without being built. Strings are borrowed from the body unless they contain escapes.
//! `null` counts as absent. The body must be UTF-8 JSON, and a field that is read must appear at
//! most once in its object and have the expected JSON type; otherwise the payload is invalid.

use crate::association::AuthorAssociation;
use schemabot_domain::{CommentId, InstallationId, Login, PrNumber, Repository};
use serde::de::{value::MapAccessDeserializer, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::marker::PhantomData;

/// A string field: borrowed from the body unless it has escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// An object field. A derived struct alone would also accept a JSON array (its fields by
/// position); this accepts only an object.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }

        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// The object's fields, or all absent when the object is.
fn fields<T: Default>(object: Option<Object<T>>) -> T {
    object.map(|o| o.0).unwrap_or_default()
}

fn text(field: Option<Text<'_>>) -> Option<Cow<'_, str>> {
    field.map(|t| t.0)
}

/// `repository`, in every event kind.
#[derive(Default, Deserialize)]
struct RepositoryFields<'a> {
    #[serde(borrow)]
    full_name: Option<Text<'a>>,
}

/// `installation`, in every event kind.
#[derive(Default, Deserialize)]
struct InstallationFields {
    id: Option<u64>,
}

#[derive(Deserialize)]
struct CommentPayload<'a> {
    #[serde(borrow)]
    action: Option<Text<'a>>,
    #[serde(borrow)]
    issue: Option<Object<IssueFields<'a>>>,
    #[serde(borrow)]
    comment: Option<Object<CommentFields<'a>>>,
    #[serde(borrow)]
    repository: Option<Object<RepositoryFields<'a>>>,
    installation: Option<Object<InstallationFields>>,
}

#[derive(Default, Deserialize)]
struct IssueFields<'a> {
    number: Option<u64>,
    /// `open` or `closed`.
    #[serde(borrow)]
    state: Option<Text<'a>>,
    /// Present (and not null) only when the issue is a pull request.
    #[serde(borrow)]
    pull_request: Option<Object<PullRequestLinkFields<'a>>>,
}

/// `issue.pull_request` of a comment on a pull request.
#[derive(Default, Deserialize)]
struct PullRequestLinkFields<'a> {
    /// When the pull request was merged; `null` when it was not.
    #[serde(borrow)]
    merged_at: Option<Text<'a>>,
}

#[derive(Default, Deserialize)]
struct CommentFields<'a> {
    id: Option<u64>,
    #[serde(borrow)]
    body: Option<Text<'a>>,
    #[serde(borrow)]
    user: Option<Object<UserFields<'a>>>,
}

#[derive(Default, Deserialize)]
struct UserFields<'a> {
    #[serde(borrow)]
    login: Option<Text<'a>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct PullRequestPayload<'a> {
    #[serde(borrow)]
    action: Option<Text<'a>>,
    number: Option<u64>,
    #[serde(borrow)]
    pull_request: Option<Object<PullRequestFields<'a>>>,
    #[serde(borrow)]
    repository: Option<Object<RepositoryFields<'a>>>,
    installation: Option<Object<InstallationFields>>,
}

#[derive(Default, Deserialize)]
struct PullRequestFields<'a> {
    #[serde(borrow)]
    head: Option<Object<HeadFields<'a>>>,
    #[serde(borrow)]
    base: Option<Object<BaseFields<'a>>>,
    #[serde(borrow)]
    author_association: Option<Text<'a>>,
}

#[derive(Default, Deserialize)]
struct HeadFields<'a> {
    #[serde(borrow)]
    sha: Option<Text<'a>>,
    /// `null` when the fork the pull request comes from was deleted.
    #[serde(borrow)]
    repo: Option<Object<RepositoryFields<'a>>>,
}

#[derive(Default, Deserialize)]
struct BaseFields<'a> {
    #[serde(borrow)]
    repo: Option<Object<RepositoryFields<'a>>>,
}

/// Reads the payload's fields. The body is checked to be UTF-8 once, as a whole, so serde_json
/// need not check each key and string it reads.
fn read<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, PayloadError> {
    let text = std::str::from_utf8(body).map_err(|e| PayloadError::Json(e.to_string()))?;
    serde_json::from_str::<Object<T>>(text)
        .map(|o| o.0)
        .map_err(|e| PayloadError::Json(e.to_string()))
}

fn installation_id(
    installation: Option<Object<InstallationFields>>,
) -> Result<InstallationId, PayloadError> {
    fields(installation)
        .id
        .filter(|id| *id > 0)
        .map(InstallationId)
        .ok_or(PayloadError::MissingInstallation)
}

fn repository(full_name: &str) -> Result<Repository, PayloadError> {
    Repository::parse(full_name).map_err(|_| PayloadError::Field("repository.full_name"))
}

/// Whether the pull request a comment is on is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrState {
    Open,
    /// Closed without being merged: it can be reopened.
    Closed,
    Merged,
}

/// A PR comment that was just created by a person: the only event that can carry a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrComment<'a> {
    pub installation_id: InstallationId,
    pub repository: Repository,
    pub pr: PrNumber,
    pub pr_state: PrState,
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

/// The state of the pull request a comment is on. A merge time wins over `state` (a merged pull
/// request is also closed); a state that is neither `open` nor `closed` is an error, never
/// taken for open.
fn pr_state(state: Option<&str>, merged_at: Option<&str>) -> Result<PrState, PayloadError> {
    match (state, merged_at) {
        (_, Some(_)) => Ok(PrState::Merged),
        (Some("open"), None) => Ok(PrState::Open),
        (Some("closed"), None) => Ok(PrState::Closed),
        _ => Err(PayloadError::Field("issue.state")),
    }
}

/// Reads an `issue_comment` payload. Ignore rules follow the reference order: not a creation or
/// not on a PR, then bot authors.
pub fn parse_issue_comment(body: &[u8]) -> Result<CommentEvent<'_>, PayloadError> {
    let payload: CommentPayload<'_> = read(body)?;
    let ignored = |why| Ok(CommentEvent::Ignored(why));
    let issue = payload.issue.map(|o| o.0);
    let comment = fields(payload.comment);
    let user = fields(comment.user);
    let full_name = text(fields(payload.repository).full_name);
    let (Some(action), Some(issue), Some(comment_id), Some(login), Some(full_name)) = (
        text(payload.action),
        issue,
        comment.id,
        text(user.login),
        full_name,
    ) else {
        return ignored("event ignored (not a PR comment creation)");
    };
    if action != "created" {
        return ignored("event ignored (comment edited or deleted)");
    }
    let Some(issue_number) = issue.number else {
        return ignored("event ignored (not a PR comment creation)");
    };
    let Some(pull_request) = issue.pull_request.map(|o| o.0) else {
        return ignored("event ignored (comment on an issue, not a pull request)");
    };
    if text(user.kind).as_deref() == Some("Bot") {
        return ignored("event ignored (comment from bot)");
    }
    let repository = repository(&full_name)?;
    let installation_id = installation_id(payload.installation)?;
    let pr_state = pr_state(
        text(issue.state).as_deref(),
        text(pull_request.merged_at).as_deref(),
    )?;
    Ok(CommentEvent::Created(PrComment {
        installation_id,
        repository,
        pr: PrNumber(issue_number),
        pr_state,
        comment_id: CommentId(comment_id),
        commenter: Login(login.into_owned()),
        body: text(comment.body).unwrap_or(Cow::Borrowed("")),
    }))
}

/// The fields of a `pull_request` event SchemaBot reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestEvent<'a> {
    pub action: Cow<'a, str>,
    pub installation_id: InstallationId,
    pub repository: Repository,
    pub pr: PrNumber,
    pub head_sha: String,
    /// Where the pull request's commits live; `None` when GitHub does not say (a deleted fork)
    /// or names no valid repository.
    pub head_repository: Option<Repository>,
    /// The repository it is to be merged into, when the payload names a valid one.
    pub base_repository: Option<Repository>,
    /// The author's relation to the repository; `None` when absent or not one GitHub defines.
    pub author_association: Option<AuthorAssociation>,
}

/// `repo.full_name` of a pull request's head or base, when it names a valid repository.
fn branch_repository(repo: Option<Object<RepositoryFields<'_>>>) -> Option<Repository> {
    text(fields(repo).full_name).and_then(|name| Repository::parse(&name).ok())
}

/// Reads a `pull_request` payload: `action`, `number`, `pull_request.head.sha`,
/// `pull_request.head.repo.full_name`, `pull_request.base.repo.full_name`,
/// `pull_request.author_association`, `repository.full_name`, `installation.id`. Unknown fields
/// are skipped unread.
pub fn parse_pull_request(body: &[u8]) -> Result<PullRequestEvent<'_>, PayloadError> {
    let payload: PullRequestPayload<'_> = read(body)?;
    let action = text(payload.action).ok_or(PayloadError::Field("action"))?;
    let pr = payload.number.ok_or(PayloadError::Field("number"))?;
    let full_name = text(fields(payload.repository).full_name)
        .ok_or(PayloadError::Field("repository.full_name"))?;
    let repository = repository(&full_name)?;
    let installation_id = installation_id(payload.installation)?;
    let pull_request = fields(payload.pull_request);
    let head = fields(pull_request.head);
    let head_sha = text(head.sha)
        .filter(|sha| !sha.is_empty() && sha.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(PayloadError::Field("pull_request.head.sha"))?
        .into_owned();
    Ok(PullRequestEvent {
        action,
        installation_id,
        repository,
        pr: PrNumber(pr),
        head_sha,
        head_repository: branch_repository(head.repo),
        base_repository: branch_repository(fields(pull_request.base).repo),
        author_association: text(pull_request.author_association)
            .and_then(|raw| AuthorAssociation::parse(&raw)),
    })
}

#[cfg(test)]
mod tests;
