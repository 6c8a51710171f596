//! Collaborator permissions, configured per user (the same for every repository).

use super::state::{lock, GithubStandin, PermissionEntry, StandinState};
use super::wire::{user_json, Answer};
use serde_json::json;

impl GithubStandin {
    /// Sets a user's permission by level name: `admin`, `maintain`, `write`, `triage`, `read` or
    /// `none`. The response carries `role_name` = the level and the legacy `permission` field as
    /// GitHub fills it (maintain → write, triage → read).
    pub fn set_permission(&self, login: &str, level: &str) {
        let level = level.to_ascii_lowercase();
        let legacy = match level.as_str() {
            "admin" => "admin",
            "maintain" | "write" => "write",
            "triage" | "read" => "read",
            _ => "none",
        };
        self.set_permission_fields(login, legacy, Some(&level));
    }

    /// Sets the raw response fields, e.g. a custom role: `("write", Some("release-manager"))`.
    pub fn set_permission_fields(&self, login: &str, permission: &str, role_name: Option<&str>) {
        lock(&self.state).permissions.insert(
            login.to_ascii_lowercase(),
            PermissionEntry {
                permission: permission.to_string(),
                role_name: role_name.map(str::to_string),
            },
        );
    }

    /// Makes the user unknown again (the permission endpoint answers 404).
    pub fn remove_permission(&self, login: &str) {
        lock(&self.state)
            .permissions
            .remove(&login.to_ascii_lowercase());
    }
}

impl StandinState {
    /// `GET /repos/{o}/{r}/collaborators/{u}/permission`: the configured level; unknown users 404.
    pub(super) fn collaborator_permission(&self, login: &str) -> Answer {
        match self.permissions.get(&login.to_ascii_lowercase()) {
            Some(entry) => Answer::json(
                200,
                json!({
                    "permission": entry.permission,
                    "role_name": entry.role_name,
                    "user": user_json(&self.base_url, login, false),
                }),
            ),
            None => Answer::message(404, "Not Found"),
        }
    }
}
