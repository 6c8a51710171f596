//! Repository contents at a commit: a file's text, a directory's entries.

use super::request::{decode, encode_path_segment, repo_path, ApiCall, ApiReply, Replay};
use super::InstallationClient;
use crate::error::GithubError;
use crate::stats::RequestKind;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use schemabot_domain::Repository;
use serde::Deserialize;

/// An entry of a repository directory (`GET /contents/{dir}`), decoded straight from GitHub's
/// listing: a field added here must be one every entry has, or an `Option`, or no listing decodes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DirectoryEntry {
    pub name: String,
    /// The path from the repository root.
    pub path: String,
    /// `file`, `dir`, `symlink` or `submodule`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Deserialize)]
struct ContentsWire {
    content: Option<String>,
    encoding: Option<String>,
}

impl InstallationClient {
    /// A file's text at a commit (the contents API, base64). `Ok(None)` when the file does not
    /// exist at that commit. One request.
    pub async fn get_file_contents(
        &self,
        repo: &Repository,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<String>, GithubError> {
        if path.is_empty() || git_ref.is_empty() {
            return Err(GithubError::InvalidArgument("empty path or ref".into()));
        }
        let call = contents_call(RequestKind::GetFileContents, repo, path, git_ref);
        let Some(reply) = self.get_unless_missing(&call).await? else {
            return Ok(None);
        };
        let wire: ContentsWire = decode(call.kind, &reply.body)?;
        let undecodable = |message: &str| GithubError::Decode {
            operation: call.kind,
            message: message.into(),
        };
        if wire.encoding.as_deref().is_some_and(|e| e != "base64") {
            return Err(undecodable("file contents are not base64-encoded"));
        }
        let bytes = decode_base64(&wire.content.unwrap_or_default())
            .ok_or_else(|| undecodable("invalid base64 in file contents"))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| undecodable("file contents are not UTF-8"))
    }

    /// The entries of a directory at a commit. `Ok(None)` when there is no such directory (or
    /// the path is a file). One request (GitHub lists up to 1 000 entries).
    pub async fn list_directory(
        &self,
        repo: &Repository,
        dir: &str,
        git_ref: &str,
    ) -> Result<Option<Vec<DirectoryEntry>>, GithubError> {
        if git_ref.is_empty() {
            return Err(GithubError::InvalidArgument("empty ref".into()));
        }
        let call = contents_call(RequestKind::ListDirectory, repo, dir, git_ref);
        let Some(reply) = self.get_unless_missing(&call).await? else {
            return Ok(None);
        };
        // A file answers with an object, a directory with an array.
        Ok(serde_json::from_str(&reply.body).ok())
    }

    /// Sends `call`; `Ok(None)` when GitHub answers 404 (no such path at that commit).
    async fn get_unless_missing(&self, call: &ApiCall) -> Result<Option<ApiReply>, GithubError> {
        match self.send(call, Replay::Always).await {
            Ok(reply) => Ok(Some(reply)),
            Err(GithubError::Status { status: 404, .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// `GET /contents/{path}?ref={git_ref}`, every path segment encoded on its own.
fn contents_call(kind: RequestKind, repo: &Repository, path: &str, git_ref: &str) -> ApiCall {
    let encoded_path = path
        .trim_matches('/')
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(encode_path_segment)
        .collect::<Vec<_>>()
        .join("/");
    let path = format!(
        "{}/contents/{encoded_path}?ref={}",
        repo_path(repo),
        encode_path_segment(git_ref)
    );
    ApiCall::get(kind, path)
}

/// Standard base64 as the contents API sends it: wrapped in lines, so ASCII whitespace is
/// dropped first. `None` when the rest is not valid base64.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let packed: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    STANDARD.decode(packed).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_file_contents_decode_like_github_sends_them() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(
            decode_base64("aGVsbG8g\nd29ybGQ=\n").unwrap(),
            b"hello world"
        );
        assert_eq!(decode_base64(" \r\n").unwrap(), b"");
        assert!(decode_base64("a*b=").is_none());
    }
}
