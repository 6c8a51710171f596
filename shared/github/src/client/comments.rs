//! Issue/PR comments: create (optionally exactly once via a hidden marker), update, list, find.

use super::request::{decode, repo_path, ApiCall, Replay, Verb};
use super::InstallationClient;
use crate::error::GithubError;
use crate::stats::RequestKind;
use chrono::{DateTime, Utc};
use schemabot_domain::{CommentId, Login, PrNumber, Repository};
use serde::Deserialize;

/// GitHub rejects longer comment bodies with 422; refusing early avoids a pointless request.
pub const MAX_COMMENT_CHARS: usize = 65_536;
/// A bound on pagination (10 000 comments), so a pathological PR cannot loop forever.
const MAX_COMMENT_PAGES: u32 = 100;

/// An issue/PR comment as far as SchemaBot cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueComment {
    pub id: CommentId,
    pub body: String,
    pub author: Login,
    /// `user.type == "Bot"`: GitHub Apps post as bot users; people cannot.
    pub author_is_bot: bool,
    /// `performed_via_github_app.id`, when GitHub reports which App wrote the comment.
    pub via_app_id: Option<u64>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl InstallationClient {
    /// Creates a comment on a PR and returns its id. One request on the happy path.
    ///
    /// **Not idempotent.** Transient failures are retried, and a 5xx or a dropped connection can
    /// hide a comment GitHub did create, so a retry may post a duplicate. Callers that must post
    /// exactly once put a hidden marker (`<!-- schemabot:… -->`, written by the render crate)
    /// in the body and either use
    /// [`InstallationClient::create_marked_comment`], or — when re-running a job whose earlier
    /// attempt may have posted — call [`InstallationClient::find_comment_with_marker`] before
    /// posting again.
    pub async fn create_comment(
        &self,
        repo: &Repository,
        pr: PrNumber,
        body: &str,
    ) -> Result<CommentId, GithubError> {
        self.create_comment_once(repo, pr, body, Replay::Always)
            .await
    }

    /// Creates a comment whose body contains `marker`, at most once. Failures where GitHub
    /// certainly did nothing (rate limits) are retried as usual; after a failure that may hide a
    /// created comment (5xx, lost connection) the PR is searched for `marker` before posting
    /// again. Costs one request on the happy path, extra list requests only after such failures.
    pub async fn create_marked_comment(
        &self,
        repo: &Repository,
        pr: PrNumber,
        marker: &str,
        body: &str,
    ) -> Result<CommentId, GithubError> {
        if marker.trim().is_empty() || !body.contains(marker) {
            return Err(GithubError::InvalidArgument(
                "the comment body must contain its (non-empty) marker".into(),
            ));
        }
        let policy = self.client.inner.core.retry.clone();
        let mut retries_done = 0u32;
        loop {
            let error = match self
                .create_comment_once(repo, pr, body, Replay::OnlyIfNotPerformed)
                .await
            {
                Ok(id) => return Ok(id),
                Err(error) if error.outcome_unknown() && retries_done < policy.max_retries => error,
                Err(error) => return Err(error),
            };
            let wait = policy.backoff(retries_done);
            tracing::warn!(
                %error,
                wait_ms = wait.as_millis() as u64,
                "comment creation outcome unknown; checking for it before posting again"
            );
            tokio::time::sleep(wait).await;
            retries_done += 1;
            self.client.inner.core.stats.record_retry();
            if let Some(existing) = self.find_comment_with_marker(repo, pr, marker).await? {
                return Ok(existing);
            }
        }
    }

    async fn create_comment_once(
        &self,
        repo: &Repository,
        pr: PrNumber,
        body: &str,
        replay: Replay,
    ) -> Result<CommentId, GithubError> {
        check_body(body)?;
        let call = ApiCall {
            kind: RequestKind::CreateComment,
            verb: Verb::Post,
            path: format!("{}/issues/{}/comments", repo_path(repo), pr.0),
            body: Some(serde_json::json!({ "body": body })),
        };
        let reply = self.send(&call, replay).await?;
        let created: CommentWire = decode(call.kind, &reply.body)?;
        Ok(CommentId(created.id))
    }

    /// Replaces a comment's body. Idempotent (same body, same result). One request.
    pub async fn update_comment(
        &self,
        repo: &Repository,
        comment: CommentId,
        body: &str,
    ) -> Result<(), GithubError> {
        check_body(body)?;
        let call = ApiCall {
            kind: RequestKind::UpdateComment,
            verb: Verb::Patch,
            path: format!("{}/issues/comments/{}", repo_path(repo), comment.0),
            body: Some(serde_json::json!({ "body": body })),
        };
        self.send(&call, Replay::Always).await.map(drop)
    }

    /// All comments on a PR, oldest first (100 per request).
    pub async fn list_comments(
        &self,
        repo: &Repository,
        pr: PrNumber,
    ) -> Result<Vec<IssueComment>, GithubError> {
        let mut all = Vec::new();
        self.scan_comments(repo, pr, |page| {
            all.extend(page);
            false
        })
        .await?;
        Ok(all)
    }

    /// The oldest comment on the PR whose body contains `marker` and that was written by a bot
    /// (by this App, when GitHub says which App). People cannot forge a bot comment, so quoting a
    /// marker in a human comment never redirects SchemaBot's edits. Stops paging at the first
    /// match.
    pub async fn find_comment_with_marker(
        &self,
        repo: &Repository,
        pr: PrNumber,
        marker: &str,
    ) -> Result<Option<CommentId>, GithubError> {
        if marker.trim().is_empty() {
            return Err(GithubError::InvalidArgument("empty comment marker".into()));
        }
        let app_id = self.client.app_id();
        let mut found = None;
        self.scan_comments(repo, pr, |page| {
            found = page
                .into_iter()
                .find(|c| {
                    c.author_is_bot
                        && c.via_app_id.is_none_or(|id| id == app_id)
                        && c.body.contains(marker)
                })
                .map(|c| c.id);
            found.is_some()
        })
        .await?;
        Ok(found)
    }

    /// Pages through the PR's comments, handing each page to `visit` until it returns `true`.
    async fn scan_comments(
        &self,
        repo: &Repository,
        pr: PrNumber,
        mut visit: impl FnMut(Vec<IssueComment>) -> bool,
    ) -> Result<(), GithubError> {
        let path = format!("{}/issues/{}/comments", repo_path(repo), pr.0);
        let complete = self
            .scan_pages(
                RequestKind::ListComments,
                &path,
                MAX_COMMENT_PAGES,
                |page: Vec<CommentWire>| visit(page.into_iter().map(IssueComment::from).collect()),
            )
            .await?;
        if !complete {
            tracing::warn!(%repo, pr = pr.0, "stopped paging PR comments at the page limit");
        }
        Ok(())
    }
}

fn check_body(body: &str) -> Result<(), GithubError> {
    let chars = body.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err(GithubError::InvalidArgument(format!(
            "comment body has {chars} characters; GitHub accepts at most {MAX_COMMENT_CHARS}"
        )));
    }
    Ok(())
}

// Wire shapes: only the fields we read.

#[derive(Deserialize)]
struct CommentWire {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<UserWire>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    performed_via_github_app: Option<AppWire>,
}

#[derive(Deserialize)]
struct UserWire {
    login: String,
    #[serde(rename = "type", default)]
    account_type: Option<String>,
}

#[derive(Deserialize)]
struct AppWire {
    id: u64,
}

impl From<CommentWire> for IssueComment {
    fn from(wire: CommentWire) -> Self {
        let (author, author_is_bot) = match wire.user {
            Some(user) => {
                let is_bot = user.account_type.as_deref() == Some("Bot");
                (Login(user.login), is_bot)
            }
            None => (Login(String::new()), false),
        };
        IssueComment {
            id: CommentId(wire.id),
            body: wire.body.unwrap_or_default(),
            author,
            author_is_bot,
            via_app_id: wire.performed_via_github_app.map(|app| app.id),
            created_at: wire.created_at,
            updated_at: wire.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_wire_maps_bot_and_app() {
        let wire: CommentWire = serde_json::from_str(
            r#"{"id":7,"body":"hi","user":{"login":"schemabot[bot]","type":"Bot"},
                "created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T03:04:06Z",
                "performed_via_github_app":{"id":99,"slug":"schemabot"}}"#,
        )
        .unwrap();
        let comment = IssueComment::from(wire);
        assert_eq!(comment.id, CommentId(7));
        assert!(comment.author_is_bot);
        assert_eq!(comment.via_app_id, Some(99));
        assert_eq!(comment.author.0, "schemabot[bot]");
    }

    #[test]
    fn oversized_bodies_are_refused_before_sending() {
        assert!(check_body(&"x".repeat(MAX_COMMENT_CHARS)).is_ok());
        assert!(check_body(&"x".repeat(MAX_COMMENT_CHARS + 1)).is_err());
    }
}
