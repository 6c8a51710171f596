//! Request accounting: every HTTP attempt is counted by kind, so tests can prove the per-cutover
//! budget (≤ 4 GitHub requests including the token) and metrics can report it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Declares [`RequestKind`] and [`RequestCounts`] from one list, so that every kind has its name
/// and its counter: `Variant => name` (the name is also the counter's field).
macro_rules! request_kinds {
    ($($(#[$doc:meta])* $kind:ident => $name:ident,)*) => {
        /// The GitHub requests this client makes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RequestKind {
            $($(#[$doc])* $kind,)*
        }

        impl RequestKind {
            pub const ALL: [RequestKind; [$(RequestKind::$kind),*].len()] =
                [$(RequestKind::$kind),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(RequestKind::$kind => stringify!($name),)*
                }
            }
        }

        /// A point-in-time copy of [`RequestStats`]; subtract two to measure one piece of work.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct RequestCounts {
            $(pub $name: u64,)*
            pub retries: u64,
        }

        impl RequestStats {
            pub fn snapshot(&self) -> RequestCounts {
                RequestCounts {
                    $($name: self.count(RequestKind::$kind),)*
                    retries: self.retries(),
                }
            }
        }

        impl RequestCounts {
            pub fn total(&self) -> u64 {
                0 $(+ self.$name)*
            }

            /// What happened between `earlier` and `self`.
            pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
                RequestCounts {
                    $($name: self.$name.saturating_sub(earlier.$name),)*
                    retries: self.retries.saturating_sub(earlier.retries),
                }
            }
        }
    };
}

request_kinds! {
    /// `POST /app/installations/{id}/access_tokens`
    AccessToken => access_token,
    /// `POST /repos/{o}/{r}/issues/comments/{id}/reactions`
    AddReaction => add_reaction,
    /// `POST /repos/{o}/{r}/issues/{n}/comments`
    CreateComment => create_comment,
    /// `PATCH /repos/{o}/{r}/issues/comments/{id}`
    UpdateComment => update_comment,
    /// `GET /repos/{o}/{r}/issues/{n}/comments` (one per page)
    ListComments => list_comments,
    /// `GET /repos/{o}/{r}/collaborators/{u}/permission`
    CollaboratorPermission => collaborator_permission,
    /// `GET /repos/{o}/{r}/pulls/{n}`
    GetPullRequest => get_pull_request,
    /// `GET /repos/{o}/{r}/pulls/{n}/files` (one per page)
    ListPullRequestFiles => list_pull_request_files,
    /// `GET /repos/{o}/{r}/contents/{path}?ref={sha}`
    GetFileContents => get_file_contents,
    /// `GET /repos/{o}/{r}/contents/{dir}?ref={sha}` (a directory listing)
    ListDirectory => list_directory,
    /// `GET /repos/{o}/{r}/pulls/{n}/reviews` (one per page)
    ListReviews => list_reviews,
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
        self.attempts[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// HTTP requests sent of this kind (retries included).
    pub fn count(&self, kind: RequestKind) -> u64 {
        self.attempts[kind as usize].load(Ordering::Relaxed)
    }

    /// All HTTP requests sent, token requests included.
    pub fn total(&self) -> u64 {
        RequestKind::ALL.iter().map(|k| self.count(*k)).sum()
    }

    /// How many of those requests were retries of a failed attempt.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
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
