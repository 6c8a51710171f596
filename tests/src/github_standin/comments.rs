//! Issue/PR comments: create, edit, list with pagination; seeding and inspection.

use super::app::{BOT_LOGIN, BOT_SLUG};
use super::state::{lock, GithubStandin, StandinState, StoredComment};
use super::wire::{body_text, query_number, rfc3339, user_json, Answer};
use chrono::Utc;
use schemabot_domain::{CommentId, Login, PrNumber, Repository};
use serde_json::{json, Value};

const BODY_MISSING: &str = "Invalid request.\n\n\"body\" wasn't supplied.";

impl GithubStandin {
    /// Adds a comment by a person (not through the API), e.g. the command comment.
    pub fn seed_comment(
        &self,
        repo: &Repository,
        pr: PrNumber,
        author: &str,
        body: &str,
    ) -> CommentId {
        let mut state = lock(&self.state);
        state.insert_comment(repo, pr, body, Login(author.to_string()), false, None)
    }

    /// The PR's comments, oldest first.
    pub fn comments(&self, repo: &Repository, pr: PrNumber) -> Vec<StoredComment> {
        lock(&self.state)
            .comments
            .iter()
            .filter(|c| &c.repo == repo && c.pr == pr)
            .cloned()
            .collect()
    }

    pub fn comment(&self, id: CommentId) -> Option<StoredComment> {
        lock(&self.state)
            .comments
            .iter()
            .find(|c| c.id == id)
            .cloned()
    }
}

impl StandinState {
    /// `POST /repos/{o}/{r}/issues/{n}/comments`: authored by the App's bot user.
    pub(super) fn create_comment(
        &mut self,
        repo: &Repository,
        pr: PrNumber,
        app_id: u64,
        body: Option<&Value>,
    ) -> Answer {
        let Some(text) = body_text(body) else {
            return Answer::message(422, BODY_MISSING);
        };
        let id = self.insert_comment(
            repo,
            pr,
            &text,
            Login(BOT_LOGIN.to_string()),
            true,
            Some(app_id),
        );
        match self.comments.iter().find(|c| c.id == id) {
            Some(comment) => Answer::json(201, self.comment_json(comment)),
            None => Answer::message(500, "comment vanished"),
        }
    }

    /// `PATCH /repos/{o}/{r}/issues/comments/{id}`: replaces the body.
    pub(super) fn update_comment(
        &mut self,
        repo: &Repository,
        id: CommentId,
        body: Option<&Value>,
    ) -> Answer {
        let Some(text) = body_text(body) else {
            return Answer::message(422, BODY_MISSING);
        };
        let Some(comment) = self
            .comments
            .iter_mut()
            .find(|c| c.id == id && &c.repo == repo)
        else {
            return Answer::message(404, "Not Found");
        };
        comment.body = text;
        comment.updated_at = Utc::now();
        comment.edits += 1;
        let comment = comment.clone();
        Answer::json(200, self.comment_json(&comment))
    }

    /// `GET /repos/{o}/{r}/issues/{n}/comments`: `per_page`/`page` with a `Link` header.
    pub(super) fn list_comments(&self, repo: &Repository, pr: PrNumber, query: &str) -> Answer {
        let per_page = query_number(query, "per_page").unwrap_or(30).clamp(1, 100);
        let page = query_number(query, "page").unwrap_or(1).max(1);
        let all: Vec<&StoredComment> = self
            .comments
            .iter()
            .filter(|c| &c.repo == repo && c.pr == pr)
            .collect();
        let last_page = all.len().div_ceil(per_page).max(1);
        let items: Vec<Value> = all
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|c| self.comment_json(c))
            .collect();

        let mut answer = Answer::json(200, Value::Array(items));
        let page_url = |n: usize| {
            format!(
                "{}/repos/{}/issues/{}/comments?per_page={per_page}&page={n}",
                self.base_url, repo, pr.0
            )
        };
        let mut links = Vec::new();
        if page < last_page {
            links.push(format!("<{}>; rel=\"next\"", page_url(page + 1)));
            links.push(format!("<{}>; rel=\"last\"", page_url(last_page)));
        }
        if page > 1 {
            links.push(format!("<{}>; rel=\"first\"", page_url(1)));
            links.push(format!("<{}>; rel=\"prev\"", page_url(page - 1)));
        }
        if !links.is_empty() {
            answer.headers.push(("link", links.join(", ")));
        }
        answer
    }

    pub(super) fn insert_comment(
        &mut self,
        repo: &Repository,
        pr: PrNumber,
        body: &str,
        author: Login,
        author_is_bot: bool,
        app_id: Option<u64>,
    ) -> CommentId {
        let id = CommentId(self.next_comment_id);
        self.next_comment_id += 1;
        let now = Utc::now();
        self.comments.push(StoredComment {
            id,
            repo: repo.clone(),
            pr,
            body: body.to_string(),
            author,
            author_is_bot,
            app_id,
            created_at: now,
            updated_at: now,
            edits: 0,
        });
        id
    }

    fn comment_json(&self, comment: &StoredComment) -> Value {
        let base = &self.base_url;
        let repo = &comment.repo;
        json!({
            "id": comment.id.0,
            "node_id": format!("IC_standin{}", comment.id.0),
            "url": format!("{base}/repos/{repo}/issues/comments/{}", comment.id.0),
            "html_url": format!("https://github.com/{repo}/pull/{}#issuecomment-{}", comment.pr.0, comment.id.0),
            "issue_url": format!("{base}/repos/{repo}/issues/{}", comment.pr.0),
            "body": comment.body,
            "user": user_json(base, &comment.author.0, comment.author_is_bot),
            "created_at": rfc3339(comment.created_at),
            "updated_at": rfc3339(comment.updated_at),
            "author_association": if comment.author_is_bot { "NONE" } else { "MEMBER" },
            "performed_via_github_app": comment.app_id.map(|id| json!({
                "id": id,
                "slug": BOT_SLUG,
                "node_id": format!("A_standin{id}"),
                "name": "SchemaBot",
            })),
            "reactions": self.reaction_summary(comment),
        })
    }
}
