//! The parts of GitHub's `issue_comment` payload SchemaBot reads, and nothing else.
//!
//! Fields are borrowed from the body where possible and unknown fields are skipped, so parsing a
//! typical 11 KB payload costs little beyond one pass over it.

use crate::json_scan::{Kind, ScanError, Scanner};
use schemabot_domain::{CommentId, InstallationId, Login, PrNumber, Repository};
use std::borrow::Cow;

/// The fields read from the payload; everything else is skipped unread.
#[derive(Default)]
struct Fields<'a> {
    action: Option<Cow<'a, str>>,
    issue_number: Option<u64>,
    /// `issue.pull_request` is present (and not null) only for pull requests.
    is_pull_request: bool,
    has_issue: bool,
    comment_id: Option<u64>,
    comment_body: Option<Cow<'a, str>>,
    login: Option<Cow<'a, str>>,
    user_type: Option<Cow<'a, str>>,
    full_name: Option<Cow<'a, str>>,
    installation_id: Option<u64>,
}

/// `repository.full_name`, shared by every event kind.
fn read_full_name<'a>(s: &mut Scanner<'a>) -> Result<Option<Cow<'a, str>>, ScanError> {
    let mut found = None;
    s.object(|key, s| {
        if key == b"full_name" && s.kind()? == Kind::String {
            found = Some(s.string()?);
            return Ok(true);
        }
        Ok(false)
    })?;
    Ok(found)
}

/// `installation.id`, shared by every event kind.
fn read_installation_id(s: &mut Scanner<'_>) -> Result<Option<u64>, ScanError> {
    let mut found = None;
    s.object(|key, s| {
        if key == b"id" && s.kind()? == Kind::Other {
            found = Some(s.unsigned()?);
            return Ok(true);
        }
        Ok(false)
    })?;
    Ok(found)
}

fn read_fields(body: &[u8]) -> Result<Fields<'_>, ScanError> {
    let mut f = Fields::default();
    let mut s = Scanner::new(body);
    s.object(|key, s| {
        match key {
            b"action" if s.kind()? == Kind::String => f.action = Some(s.string()?),
            b"issue" if s.kind()? == Kind::Object => {
                f.has_issue = true;
                s.object(|key, s| {
                    match key {
                        b"number" if s.kind()? == Kind::Other => {
                            f.issue_number = Some(s.unsigned()?)
                        }
                        b"pull_request" => {
                            f.is_pull_request = s.kind()? != Kind::Null;
                            return Ok(false);
                        }
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
            }
            b"comment" if s.kind()? == Kind::Object => s.object(|key, s| {
                match key {
                    b"id" if s.kind()? == Kind::Other => f.comment_id = Some(s.unsigned()?),
                    b"body" if s.kind()? == Kind::String => f.comment_body = Some(s.string()?),
                    b"user" if s.kind()? == Kind::Object => s.object(|key, s| {
                        match key {
                            b"login" if s.kind()? == Kind::String => f.login = Some(s.string()?),
                            b"type" if s.kind()? == Kind::String => f.user_type = Some(s.string()?),
                            _ => return Ok(false),
                        }
                        Ok(true)
                    })?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?,
            b"repository" if s.kind()? == Kind::Object => f.full_name = read_full_name(s)?,
            b"installation" if s.kind()? == Kind::Object => {
                f.installation_id = read_installation_id(s)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    s.finish()?;
    Ok(f)
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
    let f = read_fields(body).map_err(|e| PayloadError::Json(e.to_string()))?;
    let (Some(action), true, Some(comment_id), Some(login), Some(full_name)) = (
        f.action.as_deref(),
        f.has_issue,
        f.comment_id,
        f.login,
        f.full_name,
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
    let Some(issue_number) = f.issue_number else {
        return Ok(CommentEvent::Ignored(
            "event ignored (not a PR comment creation)",
        ));
    };
    if !f.is_pull_request {
        return Ok(CommentEvent::Ignored(
            "event ignored (comment on an issue, not a pull request)",
        ));
    }
    if f.user_type.as_deref() == Some("Bot") {
        return Ok(CommentEvent::Ignored("event ignored (comment from bot)"));
    }
    let repository =
        Repository::parse(&full_name).map_err(|_| PayloadError::Field("repository.full_name"))?;
    let installation_id = match f.installation_id {
        Some(id) if id > 0 => InstallationId(id),
        _ => return Err(PayloadError::MissingInstallation),
    };
    Ok(CommentEvent::Created(PrComment {
        installation_id,
        repository,
        pr: PrNumber(issue_number),
        comment_id: CommentId(comment_id),
        commenter: Login(login.into_owned()),
        body: f.comment_body.unwrap_or(Cow::Borrowed("")),
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
    let mut action = None;
    let mut number = None;
    let mut head_sha: Option<Cow<'_, str>> = None;
    let mut full_name: Option<Cow<'_, str>> = None;
    let mut installation_id = None;
    let mut s = Scanner::new(body);
    let scanned: Result<(), ScanError> = (|| {
        s.object(|key, s| {
            match key {
                b"action" if s.kind()? == Kind::String => action = Some(s.string()?),
                b"number" if s.kind()? == Kind::Other => number = Some(s.unsigned()?),
                b"pull_request" if s.kind()? == Kind::Object => s.object(|key, s| {
                    match key {
                        b"head" if s.kind()? == Kind::Object => s.object(|key, s| {
                            if key == b"sha" && s.kind()? == Kind::String {
                                head_sha = Some(s.string()?);
                                return Ok(true);
                            }
                            Ok(false)
                        })?,
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?,
                b"repository" if s.kind()? == Kind::Object => full_name = read_full_name(s)?,
                b"installation" if s.kind()? == Kind::Object => {
                    installation_id = read_installation_id(s)?
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        s.finish()
    })();
    scanned.map_err(|e| PayloadError::Json(e.to_string()))?;
    let action = action.ok_or(PayloadError::Field("action"))?;
    let pr = number.ok_or(PayloadError::Field("number"))?;
    let full_name = full_name.ok_or(PayloadError::Field("repository.full_name"))?;
    let repository =
        Repository::parse(&full_name).map_err(|_| PayloadError::Field("repository.full_name"))?;
    let installation_id = match installation_id {
        Some(id) if id > 0 => InstallationId(id),
        _ => return Err(PayloadError::MissingInstallation),
    };
    let head_sha = head_sha
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
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/fixtures/issue_comment_cutover.json");

    #[test]
    fn reads_the_fields_of_a_real_payload() {
        let CommentEvent::Created(c) = parse_issue_comment(FIXTURE.as_bytes()).unwrap() else {
            panic!("not a created PR comment");
        };
        assert_eq!(c.repository.as_str(), "acme-payments/schemas");
        assert_eq!(
            (c.pr, c.comment_id, c.installation_id),
            (
                PrNumber(42),
                CommentId(2496111222),
                InstallationId(55667788)
            )
        );
        assert_eq!(c.commenter.0, "alice-dba");
        assert!(c
            .body
            .ends_with("schemabot cutover apply-0123456789abcdef -e staging"));
        assert!(c.body.contains("\r\n"), "the CRLF escapes are decoded");
    }

    #[test]
    fn agrees_with_a_full_json_parse_on_escaped_and_unicode_bodies() {
        let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        let body = "quote \"x\" é 🚀 \u{1}\nschemabot help\t`code` \\ end";
        v["comment"]["body"] = serde_json::json!(body);
        v["comment"]["user"]["login"] = serde_json::json!("zoë");
        let text = v.to_string();
        let CommentEvent::Created(c) = parse_issue_comment(text.as_bytes()).unwrap() else {
            panic!();
        };
        assert_eq!(c.body, body);
        assert_eq!(c.commenter.0, "zoë");
    }

    #[test]
    fn a_null_pull_request_field_means_a_plain_issue() {
        let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        v["issue"]["pull_request"] = serde_json::Value::Null;
        assert_eq!(
            parse_issue_comment(v.to_string().as_bytes()).unwrap(),
            CommentEvent::Ignored("event ignored (comment on an issue, not a pull request)")
        );
    }

    #[test]
    fn reads_the_fields_of_a_pull_request_event() {
        let payload = serde_json::json!({
            "action": "synchronize",
            "number": 42,
            "before": "0000",
            "pull_request": {
                "number": 42,
                "title": "Add \"status\" index",
                "head": {"ref": "feature", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "repo": {"id": 1}},
                "base": {"ref": "main", "sha": "1111111111111111111111111111111111111111"},
                "labels": [{"name": "db"}]
            },
            "repository": {"id": 1, "full_name": "acme-payments/schemas"},
            "installation": {"id": 55667788},
            "sender": {"login": "alice"}
        })
        .to_string();
        let event = parse_pull_request(payload.as_bytes()).unwrap();
        assert_eq!(event.action, "synchronize");
        assert_eq!(event.pr, PrNumber(42));
        assert_eq!(event.head_sha, "6dcb09b5b57875f334f61aebed695e2e4193db5e");
        assert_eq!(event.repository.as_str(), "acme-payments/schemas");
        assert_eq!(event.installation_id, InstallationId(55667788));
    }

    #[test]
    fn pull_request_events_without_their_fields_are_errors() {
        let base = serde_json::json!({
            "action": "opened",
            "number": 3,
            "pull_request": {"head": {"sha": "abc"}},
            "repository": {"full_name": "acme/schemas"},
            "installation": {"id": 5}
        });
        assert!(parse_pull_request(base.to_string().as_bytes()).is_ok());
        let mut no_installation = base.clone();
        no_installation
            .as_object_mut()
            .unwrap()
            .remove("installation");
        assert_eq!(
            parse_pull_request(no_installation.to_string().as_bytes()),
            Err(PayloadError::MissingInstallation)
        );
        let mut bad_sha = base.clone();
        bad_sha["pull_request"]["head"]["sha"] = serde_json::json!("not a sha");
        assert!(matches!(
            parse_pull_request(bad_sha.to_string().as_bytes()),
            Err(PayloadError::Field(_))
        ));
        assert!(matches!(
            parse_pull_request(b"{oops"),
            Err(PayloadError::Json(_))
        ));
    }

    #[test]
    fn malformed_json_is_an_error() {
        assert!(matches!(
            parse_issue_comment(b"{not json"),
            Err(PayloadError::Json(_))
        ));
        assert!(matches!(
            parse_issue_comment(b"[]"),
            Err(PayloadError::Json(_))
        ));
    }
}
