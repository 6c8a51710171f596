//! Pull requests: head commit and state, and the files a PR changes.

use super::request::{decode, repo_path, ApiCall, Replay};
use super::InstallationClient;
use crate::error::GithubError;
use crate::stats::RequestKind;
use schemabot_domain::{Login, PrNumber, Repository};
use serde::Deserialize;

/// A bound on `pulls/{n}/files` pagination (GitHub itself stops at 3 000 files).
const MAX_FILE_PAGES: u32 = 30;

/// A file a PR changes (`GET /pulls/{n}/files`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestFile {
    pub filename: String,
    /// `added`, `modified`, `removed`, `renamed`, …
    pub status: String,
    /// The path before a rename.
    pub previous_filename: Option<String>,
}

/// A PR as far as planning cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestInfo {
    pub head_sha: String,
    pub state: String,
    /// Who opened the PR (`None` for a deleted account).
    pub author: Option<Login>,
    /// The branch the PR merges into.
    pub base_ref: String,
}

#[derive(Deserialize)]
struct PullWire {
    head: PullHeadWire,
    state: Option<String>,
    #[serde(default)]
    user: Option<PullUserWire>,
    #[serde(default)]
    base: Option<PullBaseWire>,
}

#[derive(Deserialize)]
struct PullUserWire {
    login: String,
}

#[derive(Deserialize)]
struct PullBaseWire {
    #[serde(rename = "ref")]
    git_ref: String,
}

#[derive(Deserialize)]
struct PullHeadWire {
    sha: String,
}

#[derive(Deserialize)]
struct PullFileWire {
    filename: String,
    status: Option<String>,
    #[serde(default)]
    previous_filename: Option<String>,
}

impl InstallationClient {
    /// The PR's head commit, state, author and base branch. One request.
    pub async fn get_pull_request(
        &self,
        repo: &Repository,
        pr: PrNumber,
    ) -> Result<PullRequestInfo, GithubError> {
        let call = ApiCall::get(
            RequestKind::GetPullRequest,
            format!("{}/pulls/{}", repo_path(repo), pr.0),
        );
        let reply = self.send(&call, Replay::Always).await?;
        let wire: PullWire = decode(call.kind, &reply.body)?;
        Ok(PullRequestInfo {
            head_sha: wire.head.sha,
            state: wire.state.unwrap_or_default(),
            author: wire.user.map(|u| Login(u.login)),
            base_ref: wire.base.map(|b| b.git_ref).unwrap_or_default(),
        })
    }

    /// Every file the PR changes (100 per request).
    pub async fn list_pull_request_files(
        &self,
        repo: &Repository,
        pr: PrNumber,
    ) -> Result<Vec<PullRequestFile>, GithubError> {
        let mut all = Vec::new();
        let path = format!("{}/pulls/{}/files", repo_path(repo), pr.0);
        let complete = self
            .scan_pages(
                RequestKind::ListPullRequestFiles,
                &path,
                MAX_FILE_PAGES,
                |page| {
                    all.extend(page.into_iter().map(|f: PullFileWire| PullRequestFile {
                        filename: f.filename,
                        status: f.status.unwrap_or_default(),
                        previous_filename: f.previous_filename,
                    }));
                    false
                },
            )
            .await?;
        if !complete {
            tracing::warn!(%repo, pr = pr.0, "stopped paging PR files at the page limit");
        }
        Ok(all)
    }
}
