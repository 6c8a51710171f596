//! Request accounting: every HTTP attempt is counted by kind, so tests can prove the per-cutover
//! budget (≤ 4 GitHub requests including the token) and metrics can report it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The GitHub requests this client makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `POST /app/installations/{id}/access_tokens`
    AccessToken,
    /// `POST /repos/{o}/{r}/issues/comments/{id}/reactions`
    AddReaction,
    /// `POST /repos/{o}/{r}/issues/{n}/comments`
    CreateComment,
    /// `PATCH /repos/{o}/{r}/issues/comments/{id}`
    UpdateComment,
    /// `GET /repos/{o}/{r}/issues/{n}/comments` (one per page)
    ListComments,
    /// `GET /repos/{o}/{r}/collaborators/{u}/permission`
    CollaboratorPermission,
    /// `GET /repos/{o}/{r}/pulls/{n}`
    GetPullRequest,
    /// `GET /repos/{o}/{r}/pulls/{n}/files` (one per page)
    ListPullRequestFiles,
    /// `GET /repos/{o}/{r}/contents/{path}?ref={sha}`
    GetFileContents,
    /// `GET /repos/{o}/{r}/contents/{dir}?ref={sha}` (a directory listing)
    ListDirectory,
    /// `GET /repos/{o}/{r}/pulls/{n}/reviews` (one per page)
    ListReviews,
}

impl RequestKind {
    pub const ALL: [RequestKind; 11] = [
        RequestKind::AccessToken,
        RequestKind::AddReaction,
        RequestKind::CreateComment,
        RequestKind::UpdateComment,
        RequestKind::ListComments,
        RequestKind::CollaboratorPermission,
        RequestKind::GetPullRequest,
        RequestKind::ListPullRequestFiles,
        RequestKind::GetFileContents,
        RequestKind::ListDirectory,
        RequestKind::ListReviews,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::AccessToken => "access_token",
            RequestKind::AddReaction => "add_reaction",
            RequestKind::CreateComment => "create_comment",
            RequestKind::UpdateComment => "update_comment",
            RequestKind::ListComments => "list_comments",
            RequestKind::CollaboratorPermission => "collaborator_permission",
            RequestKind::GetPullRequest => "get_pull_request",
            RequestKind::ListPullRequestFiles => "list_pull_request_files",
            RequestKind::GetFileContents => "get_file_contents",
            RequestKind::ListDirectory => "list_directory",
            RequestKind::ListReviews => "list_reviews",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Live counters, shared by every clone of the client (and readable while requests run).
#[derive(Debug, Default)]
pub struct RequestStats {
    attempts: [AtomicU64; RequestKind::ALL.len()],
    retries: AtomicU64,
}

impl RequestStats {
    pub(crate) fn record_attempt(&self, kind: RequestKind) {
        self.attempts[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// HTTP requests sent of this kind (retries included).
    pub fn count(&self, kind: RequestKind) -> u64 {
        self.attempts[kind.index()].load(Ordering::Relaxed)
    }

    /// All HTTP requests sent, token requests included.
    pub fn total(&self) -> u64 {
        RequestKind::ALL.iter().map(|k| self.count(*k)).sum()
    }

    /// How many of those requests were retries of a failed attempt.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> RequestCounts {
        RequestCounts {
            access_token: self.count(RequestKind::AccessToken),
            add_reaction: self.count(RequestKind::AddReaction),
            create_comment: self.count(RequestKind::CreateComment),
            update_comment: self.count(RequestKind::UpdateComment),
            list_comments: self.count(RequestKind::ListComments),
            collaborator_permission: self.count(RequestKind::CollaboratorPermission),
            get_pull_request: self.count(RequestKind::GetPullRequest),
            list_pull_request_files: self.count(RequestKind::ListPullRequestFiles),
            get_file_contents: self.count(RequestKind::GetFileContents),
            list_directory: self.count(RequestKind::ListDirectory),
            list_reviews: self.count(RequestKind::ListReviews),
            retries: self.retries(),
        }
    }
}

/// A point-in-time copy of [`RequestStats`]; subtract two to measure one piece of work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub access_token: u64,
    pub add_reaction: u64,
    pub create_comment: u64,
    pub update_comment: u64,
    pub list_comments: u64,
    pub collaborator_permission: u64,
    pub get_pull_request: u64,
    pub list_pull_request_files: u64,
    pub get_file_contents: u64,
    pub list_directory: u64,
    pub list_reviews: u64,
    pub retries: u64,
}

impl RequestCounts {
    pub fn total(&self) -> u64 {
        self.access_token
            + self.add_reaction
            + self.create_comment
            + self.update_comment
            + self.list_comments
            + self.collaborator_permission
            + self.get_pull_request
            + self.list_pull_request_files
            + self.get_file_contents
            + self.list_directory
            + self.list_reviews
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        RequestCounts {
            access_token: self.access_token.saturating_sub(earlier.access_token),
            add_reaction: self.add_reaction.saturating_sub(earlier.add_reaction),
            create_comment: self.create_comment.saturating_sub(earlier.create_comment),
            update_comment: self.update_comment.saturating_sub(earlier.update_comment),
            list_comments: self.list_comments.saturating_sub(earlier.list_comments),
            collaborator_permission: self
                .collaborator_permission
                .saturating_sub(earlier.collaborator_permission),
            get_pull_request: self
                .get_pull_request
                .saturating_sub(earlier.get_pull_request),
            list_pull_request_files: self
                .list_pull_request_files
                .saturating_sub(earlier.list_pull_request_files),
            get_file_contents: self
                .get_file_contents
                .saturating_sub(earlier.get_file_contents),
            list_directory: self.list_directory.saturating_sub(earlier.list_directory),
            list_reviews: self.list_reviews.saturating_sub(earlier.list_reviews),
            retries: self.retries.saturating_sub(earlier.retries),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_differences() {
        let stats = RequestStats::default();
        stats.record_attempt(RequestKind::AccessToken);
        let before = stats.snapshot();
        stats.record_attempt(RequestKind::CreateComment);
        stats.record_attempt(RequestKind::CreateComment);
        stats.record_retry();
        let delta = stats.snapshot().since(&before);
        assert_eq!(delta.create_comment, 2);
        assert_eq!(delta.access_token, 0);
        assert_eq!(delta.retries, 1);
        assert_eq!(delta.total(), 2);
        assert_eq!(stats.total(), 3);
    }
}
