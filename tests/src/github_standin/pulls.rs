//! Pull requests: seeded head commits and changed files, served like GitHub's pulls API.

use super::state::{lock, GithubStandin, SeededPull, StandinState};
use super::wire::{query_number, Answer};
use schemabot_domain::{PrNumber, Repository};
use serde_json::{json, Value};

impl GithubStandin {
    /// Seeds (or replaces) a pull request: its head commit and the files it changes, as
    /// `(filename, status)` with GitHub's statuses (`added`, `modified`, `removed`, …).
    pub fn seed_pull_request(
        &self,
        repo: &Repository,
        pr: PrNumber,
        head_sha: &str,
        files: &[(&str, &str)],
    ) {
        lock(&self.state).pulls.insert(
            (repo.to_string(), pr.0),
            SeededPull {
                head_sha: head_sha.to_string(),
                files: files
                    .iter()
                    .map(|(f, st)| ((*f).to_string(), (*st).to_string()))
                    .collect(),
            },
        );
    }
}

impl StandinState {
    /// `GET /repos/{o}/{r}/pulls/{n}`: the seeded head sha; unknown PRs 404.
    pub(super) fn get_pull(&self, repo: &Repository, pr: PrNumber) -> Answer {
        match self.pulls.get(&(repo.to_string(), pr.0)) {
            Some(pull) => Answer::json(
                200,
                json!({
                    "number": pr.0,
                    "state": "open",
                    "head": {"sha": pull.head_sha, "ref": "feature"},
                    "base": {"ref": "main"},
                }),
            ),
            None => Answer::message(404, "Not Found"),
        }
    }

    /// `GET /repos/{o}/{r}/pulls/{n}/files`: the seeded files, paginated with `rel="next"`.
    pub(super) fn list_files(&self, repo: &Repository, pr: PrNumber, query: &str) -> Answer {
        let Some(pull) = self.pulls.get(&(repo.to_string(), pr.0)) else {
            return Answer::message(404, "Not Found");
        };
        let per_page = query_number(query, "per_page").unwrap_or(30).clamp(1, 100);
        let page = query_number(query, "page").unwrap_or(1).max(1);
        let last_page = pull.files.len().div_ceil(per_page).max(1);
        let items: Vec<Value> = pull
            .files
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|(filename, status)| {
                json!({"filename": filename, "status": status, "additions": 1, "deletions": 0, "changes": 1})
            })
            .collect();
        let mut answer = Answer::json(200, Value::Array(items));
        if page < last_page {
            answer.headers.push((
                "link",
                format!(
                    "<{}/repos/{}/pulls/{}/files?per_page={per_page}&page={}>; rel=\"next\"",
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
