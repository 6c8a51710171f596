//! Repository contents: seeded files per ref (base64, as GitHub sends them) and directory listings.

use super::state::{lock, GithubStandin, StandinState};
use super::wire::{percent_decode, query_value, Answer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use schemabot_domain::Repository;
use serde_json::{json, Value};

impl GithubStandin {
    /// Seeds a file's text at a ref (commit sha or branch).
    pub fn seed_file(&self, repo: &Repository, git_ref: &str, path: &str, text: &str) {
        lock(&self.state).contents.insert(
            (repo.to_string(), git_ref.to_string(), path.to_string()),
            text.to_string(),
        );
    }
}

impl StandinState {
    /// `GET /repos/{o}/{r}/contents/{path}?ref={sha}`: a seeded file, else the directory of
    /// seeded files under `path`, else 404.
    pub(super) fn get_contents(&self, repo: &Repository, path: &str, query: &str) -> Answer {
        let git_ref = query_value(query, "ref")
            .map(percent_decode)
            .unwrap_or_else(|| "main".to_string());
        match self
            .contents
            .get(&(repo.to_string(), git_ref.clone(), path.to_string()))
        {
            Some(text) => {
                let encoded = base64_lines(text.as_bytes());
                Answer::json(
                    200,
                    json!({
                        "type": "file",
                        "path": path,
                        "encoding": "base64",
                        "size": text.len(),
                        "content": encoded,
                    }),
                )
            }
            None => self.list_seeded_directory(repo, &git_ref, path),
        }
    }

    /// A directory listing (GitHub's array form) of the files seeded under `dir` at `git_ref`;
    /// 404 when none are.
    fn list_seeded_directory(&self, repo: &Repository, git_ref: &str, dir: &str) -> Answer {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let mut children = std::collections::BTreeMap::new();
        for (seeded_repo, seeded_ref, path) in self.contents.keys() {
            if seeded_repo != repo.as_str() || seeded_ref != git_ref {
                continue;
            }
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let (name, kind) = match rest.split_once('/') {
                Some((sub, _)) => (sub.to_string(), "dir"),
                None => (rest.to_string(), "file"),
            };
            children.insert(name, kind);
        }
        if children.is_empty() {
            return Answer::message(404, "Not Found");
        }
        let entries: Vec<Value> = children
            .into_iter()
            .map(|(name, kind)| {
                json!({"name": name, "path": format!("{prefix}{name}"), "type": kind})
            })
            .collect();
        Answer::json(200, Value::Array(entries))
    }
}

/// Standard base64 in 60-character lines, as GitHub's contents API sends it.
fn base64_lines(bytes: &[u8]) -> String {
    let encoded = STANDARD.encode(bytes);
    let mut lines = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
    for (i, c) in encoded.chars().enumerate() {
        if i > 0 && i % 60 == 0 {
            lines.push('\n');
        }
        lines.push(c);
    }
    lines.push('\n');
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_are_base64_in_60_character_lines() {
        assert_eq!(base64_lines(b""), "\n");
        assert_eq!(base64_lines(b"hello"), "aGVsbG8=\n");
        let wrapped = base64_lines(&[0u8; 48]);
        let lines: Vec<&str> = wrapped.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 60);
        assert_eq!(lines[1], "AAAA");
    }
}
