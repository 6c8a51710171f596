//! Pull requests: seeded head commits, changed files, author, base branch and state, served like
//! GitHub's pulls API.

use super::state::{lock, GithubStandin, SeededPull, StandinState};
use super::wire::{query_number, user_json, Answer};
use schemabot_domain::{PrNumber, Repository};
use serde_json::{json, Value};

/// Who opened a seeded PR unless [`GithubStandin::set_pull_author`] says otherwise.
pub const DEFAULT_PR_AUTHOR: &str = "pr-author";

impl GithubStandin {
    /// Seeds (or replaces) a pull request: its head commit and the files it changes, as
    /// `(filename, status)` with GitHub's statuses (`added`, `modified`, `removed`, …). An
    /// author, base branch or state set before are kept.
    pub fn seed_pull_request(
        &self,
        repo: &Repository,
        pr: PrNumber,
        head_sha: &str,
        files: &[(&str, &str)],
    ) {
        let mut state = lock(&self.state);
        let pull = state.pulls.entry((repo.to_string(), pr.0)).or_default();
        pull.head_sha = head_sha.to_string();
        pull.files = files
            .iter()
            .map(|(f, st)| ((*f).to_string(), (*st).to_string()))
            .collect();
    }

    /// Sets who opened the PR (seed the PR first).
    pub fn set_pull_author(&self, repo: &Repository, pr: PrNumber, login: &str) {
        self.edit_pull(repo, pr, |pull| pull.author = Some(login.to_string()));
    }

    /// Sets the branch the PR merges into (default `main`).
    pub fn set_pull_base(&self, repo: &Repository, pr: PrNumber, base_ref: &str) {
        self.edit_pull(repo, pr, |pull| pull.base_ref = Some(base_ref.to_string()));
    }

    /// Sets the PR's state (`open`, `closed`; default `open`).
    pub fn set_pull_state(&self, repo: &Repository, pr: PrNumber, state: &str) {
        self.edit_pull(repo, pr, |pull| pull.state = Some(state.to_string()));
    }

    fn edit_pull(&self, repo: &Repository, pr: PrNumber, edit: impl FnOnce(&mut SeededPull)) {
        let mut state = lock(&self.state);
        edit(state.pulls.entry((repo.to_string(), pr.0)).or_default());
    }
}

impl StandinState {
    /// `GET /repos/{o}/{r}/pulls/{n}`: the seeded head sha, author, base and state; unknown PRs
    /// 404.
    pub(super) fn get_pull(&self, repo: &Repository, pr: PrNumber) -> Answer {
        match self.pulls.get(&(repo.to_string(), pr.0)) {
            Some(pull) => Answer::json(
                200,
                json!({
                    "number": pr.0,
                    "state": pull.state.as_deref().unwrap_or("open"),
                    "user": user_json(
                        &self.base_url,
                        pull.author.as_deref().unwrap_or(DEFAULT_PR_AUTHOR),
                        false,
                    ),
                    "head": {"sha": pull.head_sha, "ref": "feature"},
                    "base": {"ref": pull.base_ref.as_deref().unwrap_or("main")},
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
