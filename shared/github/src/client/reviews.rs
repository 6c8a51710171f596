//! Pull request reviews (`GET /pulls/{n}/reviews`), for the review gate.

use super::request::{repo_path, PER_PAGE};
use super::InstallationClient;
use crate::error::GithubError;
use crate::stats::RequestKind;
use schemabot_domain::{Login, PrNumber, Repository};
use serde::Deserialize;

/// A bound on pagination: 3 000 reviews. Past it the list is refused rather than cut, because a
/// later page may hold the review that withdraws an approval.
const MAX_REVIEW_PAGES: u32 = 30;

/// A submitted review as GitHub lists it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestReview {
    /// Grows with submission order.
    pub id: u64,
    /// `None` for a deleted account.
    pub reviewer: Option<Login>,
    /// `APPROVED`, `CHANGES_REQUESTED`, `DISMISSED`, `COMMENTED` or `PENDING`.
    pub state: String,
    /// The commit the review was given on.
    pub commit_id: Option<String>,
}

#[derive(Deserialize)]
struct ReviewWire {
    id: u64,
    #[serde(default)]
    user: Option<UserWire>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    commit_id: Option<String>,
}

#[derive(Deserialize)]
struct UserWire {
    login: String,
}

impl InstallationClient {
    /// Every review of the PR (100 per request). An error when there are more than the page
    /// bound allows, so a caller never decides on part of the list.
    pub async fn list_pull_request_reviews(
        &self,
        repo: &Repository,
        pr: PrNumber,
    ) -> Result<Vec<PullRequestReview>, GithubError> {
        let mut all = Vec::new();
        let path = format!("{}/pulls/{}/reviews", repo_path(repo), pr.0);
        let complete = self
            .scan_pages(RequestKind::ListReviews, &path, MAX_REVIEW_PAGES, |page| {
                all.extend(page.into_iter().map(|r: ReviewWire| PullRequestReview {
                    id: r.id,
                    reviewer: r.user.map(|u| Login(u.login)),
                    state: r.state.unwrap_or_default(),
                    commit_id: r.commit_id,
                }));
                false
            })
            .await?;
        if complete {
            return Ok(all);
        }
        Err(GithubError::Decode {
            operation: RequestKind::ListReviews,
            message: format!(
                "more than {} reviews; refusing to decide on part of them",
                MAX_REVIEW_PAGES as usize * PER_PAGE
            ),
        })
    }
}
