//! Reactions on comments: idempotent add (201 new, 200 already there) and per-comment summaries.

use super::app::BOT_LOGIN;
use super::state::{lock, GithubStandin, StandinState, StoredComment, StoredReaction};
use super::wire::{rfc3339, user_json, Answer};
use chrono::Utc;
use schemabot_domain::{CommentId, Login, Repository};
use serde_json::{json, Value};

/// GitHub's fixed set of reaction contents.
const CONTENTS: [&str; 8] = [
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];

impl GithubStandin {
    /// Reactions on one comment.
    pub fn reactions(&self, comment_id: CommentId) -> Vec<StoredReaction> {
        lock(&self.state)
            .reactions
            .iter()
            .filter(|r| r.comment_id == comment_id)
            .cloned()
            .collect()
    }
}

impl StandinState {
    /// `POST /repos/{o}/{r}/issues/comments/{id}/reactions`, as the App's bot user.
    pub(super) fn add_reaction(
        &mut self,
        repo: &Repository,
        id: CommentId,
        body: Option<&Value>,
    ) -> Answer {
        let content = body
            .and_then(|b| b.get("content"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !CONTENTS.contains(&content.as_str()) {
            return Answer::message(422, "Validation Failed");
        }
        if !self.comments.iter().any(|c| c.id == id && &c.repo == repo) {
            return Answer::message(404, "Not Found");
        }
        let bot = Login(BOT_LOGIN.to_string());
        if let Some(existing) = self
            .reactions
            .iter()
            .find(|r| r.comment_id == id && r.content == content && r.by == bot)
        {
            return Answer::json(200, reaction_json(existing));
        }
        let reaction = StoredReaction {
            id: self.next_reaction_id,
            comment_id: id,
            content,
            by: bot,
        };
        self.next_reaction_id += 1;
        let answer = Answer::json(201, reaction_json(&reaction));
        self.reactions.push(reaction);
        answer
    }

    /// The `reactions` object embedded in a comment.
    pub(super) fn reaction_summary(&self, comment: &StoredComment) -> Value {
        let count = |content: &str| {
            self.reactions
                .iter()
                .filter(|r| r.comment_id == comment.id && r.content == content)
                .count()
        };
        let total = self
            .reactions
            .iter()
            .filter(|r| r.comment_id == comment.id)
            .count();
        json!({
            "url": format!("{}/repos/{}/issues/comments/{}/reactions", self.base_url, comment.repo, comment.id.0),
            "total_count": total,
            "+1": count("+1"), "-1": count("-1"), "laugh": count("laugh"), "confused": count("confused"),
            "heart": count("heart"), "hooray": count("hooray"), "rocket": count("rocket"), "eyes": count("eyes"),
        })
    }
}

fn reaction_json(reaction: &StoredReaction) -> Value {
    json!({
        "id": reaction.id,
        "node_id": format!("REA_standin{}", reaction.id),
        "content": reaction.content,
        "user": user_json("https://api.github.com", &reaction.by.0, true),
        "created_at": rfc3339(Utc::now()),
    })
}
