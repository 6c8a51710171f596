//! The parts of GitHub's `issue_comment` and `pull_request` payloads SchemaBot reads, and nothing
//! else.
//!
//! serde_json reads each payload into structs of exactly the fields used; every other member is
//! skipped without being built. Strings are borrowed from the body unless they contain escapes.
//! `null` counts as absent. The body must be UTF-8 JSON, and a field that is read must appear at
//! most once in its object and have the expected JSON type; otherwise the payload is invalid.

use schemabot_domain::{CommentId, InstallationId, Login, PrNumber, Repository};
use serde::de::{value::MapAccessDeserializer, Deserializer, IgnoredAny, MapAccess, Visitor};
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
    issue: Option<Object<IssueFields>>,
    #[serde(borrow)]
    comment: Option<Object<CommentFields<'a>>>,
    #[serde(borrow)]
    repository: Option<Object<RepositoryFields<'a>>>,
    installation: Option<Object<InstallationFields>>,
}

#[derive(Default, Deserialize)]
struct IssueFields {
    number: Option<u64>,
    /// Present (and not null) only when the issue is a pull request.
    pull_request: Option<IgnoredAny>,
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
}

#[derive(Default, Deserialize)]
struct HeadFields<'a> {
    #[serde(borrow)]
    sha: Option<Text<'a>>,
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
    match fields(installation).id {
        Some(id) if id > 0 => Ok(InstallationId(id)),
        _ => Err(PayloadError::MissingInstallation),
    }
}

fn repository(full_name: &str) -> Result<Repository, PayloadError> {
    Repository::parse(full_name).map_err(|_| PayloadError::Field("repository.full_name"))
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
    let payload: CommentPayload<'_> = read(body)?;
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
        return Ok(CommentEvent::Ignored(
            "event ignored (not a PR comment creation)",
        ));
    };
    if action != "created" {
        return Ok(CommentEvent::Ignored(
            "event ignored (comment edited or deleted)",
        ));
    }
    let Some(issue_number) = issue.number else {
        return Ok(CommentEvent::Ignored(
            "event ignored (not a PR comment creation)",
        ));
    };
    if issue.pull_request.is_none() {
        return Ok(CommentEvent::Ignored(
            "event ignored (comment on an issue, not a pull request)",
        ));
    }
    if text(user.kind).as_deref() == Some("Bot") {
        return Ok(CommentEvent::Ignored("event ignored (comment from bot)"));
    }
    let repository = repository(&full_name)?;
    let installation_id = installation_id(payload.installation)?;
    Ok(CommentEvent::Created(PrComment {
        installation_id,
        repository,
        pr: PrNumber(issue_number),
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
}

/// Reads a `pull_request` payload: `action`, `number`, `pull_request.head.sha`,
/// `repository.full_name`, `installation.id`. Unknown fields are skipped unread.
pub fn parse_pull_request(body: &[u8]) -> Result<PullRequestEvent<'_>, PayloadError> {
    let payload: PullRequestPayload<'_> = read(body)?;
    let action = text(payload.action).ok_or(PayloadError::Field("action"))?;
    let pr = payload.number.ok_or(PayloadError::Field("number"))?;
    let full_name = text(fields(payload.repository).full_name)
        .ok_or(PayloadError::Field("repository.full_name"))?;
    let repository = repository(&full_name)?;
    let installation_id = installation_id(payload.installation)?;
    let head_sha = text(fields(fields(payload.pull_request).head).sha)
        .filter(|sha| !sha.is_empty() && sha.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(PayloadError::Field("pull_request.head.sha"))?
        .into_owned();
    Ok(PullRequestEvent {
        action,
        installation_id,
        repository,
        pr: PrNumber(pr),
        head_sha,
    })
}

#[cfg(test)]
mod tests;
