//! Pull request reviews: set per PR (reviewer, state, commit), listed like GitHub's reviews API.

use super::state::{lock, GithubStandin, SeededReview, StandinState};
use super::wire::{query_number, user_json, Answer};
use schemabot_domain::{PrNumber, Repository};
use serde_json::{json, Value};

impl GithubStandin {
    /// Replaces the PR's reviews with `reviews`, oldest first, as `(login, state, commit_id)`
    /// with GitHub's states (`APPROVED`, `CHANGES_REQUESTED`, `DISMISSED`, `COMMENTED`).
    pub fn set_reviews(&self, repo: &Repository, pr: PrNumber, reviews: &[(&str, &str, &str)]) {
        let mut state = lock(&self.state);
        state.reviews.remove(&(repo.to_string(), pr.0));
        for (login, review_state, commit) in reviews {
            state.push_review(repo, pr, login, review_state, commit);
        }
    }

    /// Adds one review after the existing ones.
    pub fn add_review(
        &self,
        repo: &Repository,
        pr: PrNumber,
        login: &str,
        review_state: &str,
        commit: &str,
    ) {
        lock(&self.state).push_review(repo, pr, login, review_state, commit);
    }
}

impl StandinState {
    fn push_review(
        &mut self,
        repo: &Repository,
        pr: PrNumber,
        login: &str,
        review_state: &str,
        commit: &str,
    ) {
        let id = self.next_review_id;
        self.next_review_id += 1;
        self.reviews
            .entry((repo.to_string(), pr.0))
            .or_default()
            .push(SeededReview {
                id,
                login: login.to_string(),
                state: review_state.to_string(),
                commit_id: commit.to_string(),
            });
    }

    /// `GET /repos/{o}/{r}/pulls/{n}/reviews`: the PR's reviews, oldest first, paginated with
    /// `rel="next"`; unknown PRs 404.
    pub(super) fn list_reviews(&self, repo: &Repository, pr: PrNumber, query: &str) -> Answer {
        if !self.pulls.contains_key(&(repo.to_string(), pr.0)) {
            return Answer::message(404, "Not Found");
        }
        let reviews = self
            .reviews
            .get(&(repo.to_string(), pr.0))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let per_page = query_number(query, "per_page").unwrap_or(30).clamp(1, 100);
        let page = query_number(query, "page").unwrap_or(1).max(1);
        let last_page = reviews.len().div_ceil(per_page).max(1);
        let items: Vec<Value> = reviews
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|r| {
                json!({
                    "id": r.id,
                    "node_id": format!("PRR_standin{}", r.id),
                    "user": user_json(&self.base_url, &r.login, false),
                    "body": "",
                    "state": r.state,
                    "commit_id": r.commit_id,
                    "author_association": "COLLABORATOR",
                    "submitted_at": "2026-01-01T00:00:00Z",
                })
            })
            .collect();
        let mut answer = Answer::json(200, Value::Array(items));
        if page < last_page {
            answer.headers.push((
                "link",
                format!(
                    "<{}/repos/{}/pulls/{}/reviews?per_page={per_page}&page={}>; rel=\"next\"",
                    self.base_url,
                    repo,
                    pr.0,
                    page + 1
                ),
            ));
        }
        answer
    }
}
