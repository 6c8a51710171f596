//! Request routing: path → endpoint, faults and credentials first, then the endpoint, recorded.

use super::faults::Injected;
use super::state::{lock, CallKind, Credential, RecordedCall, Shared, StandinState};
use super::wire::{percent_decode, Answer};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use schemabot_domain::{CommentId, PrNumber, Repository};
use serde_json::Value;
use std::time::Instant;

/// The axum app: every request goes through [`handle`].
pub(super) fn router(shared: Shared) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

enum Route {
    AccessToken {
        installation: u64,
    },
    CreateComment {
        repo: Repository,
        pr: PrNumber,
    },
    ListComments {
        repo: Repository,
        pr: PrNumber,
    },
    UpdateComment {
        repo: Repository,
        id: CommentId,
    },
    AddReaction {
        repo: Repository,
        id: CommentId,
    },
    /// Permissions are configured per user, the same for every repository.
    CollaboratorPermission {
        login: String,
    },
    GetPullRequest {
        repo: Repository,
        pr: PrNumber,
    },
    ListPullRequestFiles {
        repo: Repository,
        pr: PrNumber,
    },
    GetFileContents {
        repo: Repository,
        path: String,
    },
    ListReviews {
        repo: Repository,
        pr: PrNumber,
    },
    Unknown,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let repo = |owner: &str, name: &str| Repository::parse(&format!("{owner}/{name}")).ok();
        let number = |raw: &str| raw.parse::<u64>().ok();
        let parsed =
            match (method.as_str(), segments.as_slice()) {
                ("POST", ["app", "installations", id, "access_tokens"]) => {
                    number(id).map(|installation| Route::AccessToken { installation })
                }
                ("POST", ["repos", o, r, "issues", "comments", id, "reactions"]) => repo(o, r)
                    .zip(number(id))
                    .map(|(repo, id)| Route::AddReaction {
                        repo,
                        id: CommentId(id),
                    }),
                ("PATCH", ["repos", o, r, "issues", "comments", id]) => repo(o, r)
                    .zip(number(id))
                    .map(|(repo, id)| Route::UpdateComment {
                        repo,
                        id: CommentId(id),
                    }),
                ("POST", ["repos", o, r, "issues", n, "comments"]) => repo(o, r)
                    .zip(number(n))
                    .map(|(repo, n)| Route::CreateComment {
                        repo,
                        pr: PrNumber(n),
                    }),
                ("GET", ["repos", o, r, "issues", n, "comments"]) => {
                    repo(o, r)
                        .zip(number(n))
                        .map(|(repo, n)| Route::ListComments {
                            repo,
                            pr: PrNumber(n),
                        })
                }
                ("GET", ["repos", o, r, "pulls", n]) => {
                    repo(o, r)
                        .zip(number(n))
                        .map(|(repo, n)| Route::GetPullRequest {
                            repo,
                            pr: PrNumber(n),
                        })
                }
                ("GET", ["repos", o, r, "pulls", n, "files"]) => {
                    repo(o, r)
                        .zip(number(n))
                        .map(|(repo, n)| Route::ListPullRequestFiles {
                            repo,
                            pr: PrNumber(n),
                        })
                }
                ("GET", ["repos", o, r, "pulls", n, "reviews"]) => {
                    repo(o, r)
                        .zip(number(n))
                        .map(|(repo, n)| Route::ListReviews {
                            repo,
                            pr: PrNumber(n),
                        })
                }
                ("GET", ["repos", o, r, "contents", rest @ ..]) if !rest.is_empty() => repo(o, r)
                    .map(|repo| Route::GetFileContents {
                        repo,
                        path: rest
                            .iter()
                            .map(|s| percent_decode(s))
                            .collect::<Vec<_>>()
                            .join("/"),
                    }),
                ("GET", ["repos", o, r, "collaborators", user, "permission"]) => {
                    repo(o, r).map(|_| Route::CollaboratorPermission {
                        login: percent_decode(user),
                    })
                }
                _ => None,
            };
        parsed.unwrap_or(Route::Unknown)
    }

    fn kind(&self) -> CallKind {
        match self {
            Route::AccessToken { .. } => CallKind::AccessToken,
            Route::CreateComment { .. } => CallKind::CreateComment,
            Route::ListComments { .. } => CallKind::ListComments,
            Route::UpdateComment { .. } => CallKind::UpdateComment,
            Route::AddReaction { .. } => CallKind::AddReaction,
            Route::CollaboratorPermission { .. } => CallKind::CollaboratorPermission,
            Route::GetPullRequest { .. } => CallKind::GetPullRequest,
            Route::ListPullRequestFiles { .. } => CallKind::ListPullRequestFiles,
            Route::GetFileContents { .. } => CallKind::GetFileContents,
            Route::ListReviews { .. } => CallKind::ListReviews,
            Route::Unknown => CallKind::Unknown,
        }
    }
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = lock(&shared).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let route = Route::parse(&method, uri.path());
    let query = uri.query().unwrap_or_default().to_string();
    let json_body = (!body.is_empty()).then(|| {
        serde_json::from_slice::<Value>(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    });
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();

    let mut state = lock(&shared);
    let credential = state.identify(&authorization);
    let answer = state.answer(&route, &credential, &query, json_body.as_ref());
    state.calls.push(RecordedCall {
        kind: route.kind(),
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| uri.path().to_string()),
        body: json_body,
        credential,
        status: answer.status,
        received_at: Instant::now(),
    });
    drop(state);
    into_response(answer)
}

fn into_response(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(answer.body)).into_response();
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

impl StandinState {
    fn answer(
        &mut self,
        route: &Route,
        credential: &Credential,
        query: &str,
        body: Option<&Value>,
    ) -> Answer {
        if let Route::Unknown = route {
            return Answer::message(404, "Not Found");
        }
        let lose_response = match self.take_fault(route.kind()) {
            Some(Injected::Answer(answer)) => return answer,
            Some(Injected::LoseResponse) => true,
            None => false,
        };
        let answer = match route {
            Route::AccessToken { installation } => self.issue_token(*installation, credential),
            _ => match self.installation_app(credential) {
                Some(app_id) => self.serve(route, app_id, query, body),
                None => Answer::message(401, "Bad credentials"),
            },
        };
        if lose_response {
            return Answer::message(502, "Bad Gateway (response lost after the write)");
        }
        answer
    }

    /// An authenticated request to one of the installation endpoints.
    fn serve(&mut self, route: &Route, app_id: u64, query: &str, body: Option<&Value>) -> Answer {
        match route {
            Route::CreateComment { repo, pr } => self.create_comment(repo, *pr, app_id, body),
            Route::UpdateComment { repo, id } => self.update_comment(repo, *id, body),
            Route::ListComments { repo, pr } => self.list_comments(repo, *pr, query),
            Route::AddReaction { repo, id } => self.add_reaction(repo, *id, body),
            Route::CollaboratorPermission { login } => self.collaborator_permission(login),
            Route::GetPullRequest { repo, pr } => self.get_pull(repo, *pr),
            Route::ListPullRequestFiles { repo, pr } => self.list_files(repo, *pr, query),
            Route::GetFileContents { repo, path } => self.get_contents(repo, path, query),
            Route::ListReviews { repo, pr } => self.list_reviews(repo, *pr, query),
            Route::AccessToken { .. } | Route::Unknown => Answer::message(404, "Not Found"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_recognised() {
        let post = Method::POST;
        assert!(matches!(
            Route::parse(&post, "/repos/o/r/issues/comments/5/reactions"),
            Route::AddReaction {
                id: CommentId(5),
                ..
            }
        ));
        assert!(matches!(
            Route::parse(&post, "/repos/o/r/issues/7/comments"),
            Route::CreateComment {
                pr: PrNumber(7),
                ..
            }
        ));
        assert!(matches!(
            Route::parse(&Method::GET, "/repos/o/r/collaborators/a%5Bbot%5D/permission"),
            Route::CollaboratorPermission { ref login, .. } if login == "a[bot]"
        ));
        assert!(matches!(
            Route::parse(&Method::DELETE, "/repos/o/r/issues/7/comments"),
            Route::Unknown
        ));
    }
}
