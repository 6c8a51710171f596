//! Collaborator permissions: a user's effective permission on a repository.

use super::request::{decode, encode_path_segment, repo_path, ApiCall, Replay};
use super::InstallationClient;
use crate::error::GithubError;
use crate::permission::Permission;
use crate::stats::RequestKind;
use schemabot_domain::{Login, Repository};
use serde::Deserialize;

#[derive(Deserialize)]
struct PermissionWire {
    #[serde(default)]
    permission: Option<String>,
    #[serde(default)]
    role_name: Option<String>,
}

impl InstallationClient {
    /// The user's effective permission on the repository. A 404 (not a collaborator, or no such
    /// user) is [`Permission::None`]; any other failure is an error, so callers fail closed.
    /// One request.
    pub async fn collaborator_permission(
        &self,
        repo: &Repository,
        login: &Login,
    ) -> Result<Permission, GithubError> {
        if login.0.is_empty() {
            return Err(GithubError::InvalidArgument("empty login".into()));
        }
        let login = encode_path_segment(&login.0);
        let path = format!("{}/collaborators/{login}/permission", repo_path(repo));
        let call = ApiCall::get(RequestKind::CollaboratorPermission, path);
        match self.send(&call, Replay::Always).await {
            Ok(reply) => {
                let wire: PermissionWire = decode(call.kind, &reply.body)?;
                Ok(Permission::from_response(
                    wire.role_name.as_deref(),
                    wire.permission.as_deref(),
                ))
            }
            Err(GithubError::Status { status: 404, .. }) => Ok(Permission::None),
            Err(other) => Err(other),
        }
    }
}
