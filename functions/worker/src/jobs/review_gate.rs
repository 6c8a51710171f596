//! The review gate of protected environments, for `apply`, `apply-confirm` and PR-comment
//! `cutover` (CLI cutovers are authorised by IAM). The rules are the pure
//! [`schemabot_domain::review`] decision; this module reads what it needs from GitHub: the PR
//! (head, author, base branch), its reviews, the permission of each approver who passes the
//! author and commit rules, and in CODEOWNERS mode the CODEOWNERS file of the base branch and
//! the schema files the PR touches.
//!
//! Fails closed: when GitHub cannot answer, a transient failure is retried through the job
//! (like the permission check) and the command is refused on the final attempt; any other
//! failure refuses at once. `-y` is refused in a gated environment before anything is read.

mod lock_reply;

pub(crate) use lock_reply::refused;

use crate::errors;
use crate::jobs::plan_support::SCHEMA_CONFIG_FILE;
use crate::outcome::{Attempt, JobError};
use crate::Worker;
use schemabot_domain::apply::Apply;
use schemabot_domain::command::ApplyFlags;
use schemabot_domain::job::{CommandSource, CommentOrigin};
use schemabot_domain::review::{
    auto_confirm_refusal, decide, reviewers_to_check, CodeOwnerRequirement, CodeOwners, GateFacts,
    GateSettings, Review, ReviewDecision, ReviewState, ReviewerRole, Shortfall, CODEOWNERS_PATHS,
};
use schemabot_domain::{Environment, PrNumber, Repository};
use schemabot_github::{GithubError, InstallationClient, Permission};
use schemabot_render::{CutoverReply, CutoverTarget};

/// Why the gate is closed, and the head approvals must be on (when it was read).
#[derive(Debug)]
pub(crate) struct Refusal {
    pub missing: Vec<Shortfall>,
    pub head: Option<String>,
}

/// A GitHub read that failed, and what it was reading (for the reply).
struct ReadFailure {
    what: &'static str,
    error: GithubError,
    head: Option<String>,
}

/// Evaluates the gate of `environment` for the PR `origin` commented on. `Ok(None)`: the
/// environment is not gated or the gate is satisfied. `flags` are the `apply` command's.
pub(crate) async fn check(
    worker: &Worker,
    origin: &CommentOrigin,
    environment: &Environment,
    flags: Option<ApplyFlags>,
    attempt: Attempt,
) -> Result<Option<Refusal>, JobError> {
    let Some(settings) = worker.config.review_gates.get(environment) else {
        return Ok(None);
    };
    if let Some(refused) =
        flags.and_then(|f| auto_confirm_refusal(f.auto_confirm, f.auto_confirm && f.allow_unsafe))
    {
        return Ok(Some(Refusal {
            missing: vec![refused],
            head: None,
        }));
    }
    let github = worker.github.installation(origin.installation_id);
    match evaluate(&github, &origin.repository, origin.pr, settings).await {
        Ok((ReviewDecision::Satisfied { approvers }, _)) => {
            tracing::info!(%environment, ?approvers, "review gate satisfied");
            Ok(None)
        }
        Ok((ReviewDecision::Missing(missing), head)) => Ok(Some(Refusal {
            missing,
            head: Some(head),
        })),
        Err(failure) if failure.error.is_transient() && !attempt.is_final() => {
            Err(errors::github(failure.error))
        }
        Err(failure) => {
            tracing::warn!(
                error = %failure.error,
                what = failure.what,
                "the review gate could not be evaluated; refusing (fail closed)"
            );
            schemabot_aws::emf::count("DependencyErrors", &[("Dependency", "GitHub")]);
            Ok(Some(Refusal {
                missing: vec![Shortfall::Unverifiable {
                    what: failure.what.to_string(),
                }],
                head: failure.head,
            }))
        }
    }
}

/// Reads the facts and decides; also returns the head the decision was made for.
async fn evaluate(
    github: &InstallationClient,
    repository: &Repository,
    pr: PrNumber,
    settings: &GateSettings,
) -> Result<(ReviewDecision, String), ReadFailure> {
    let pull = github
        .get_pull_request(repository, pr)
        .await
        .map_err(failed("the pull request", None))?;
    let head = pull.head_sha.as_str();
    let Some(author) = pull.author else {
        // Without the author, their own approval could not be told apart: refuse.
        let what = "the pull request's author".to_string();
        let missing = vec![Shortfall::Unverifiable { what }];
        return Ok((ReviewDecision::Missing(missing), pull.head_sha));
    };
    let reviews: Vec<Review> = github
        .list_pull_request_reviews(repository, pr)
        .await
        .map_err(failed("the reviews of this pull request", Some(head)))?
        .into_iter()
        .filter_map(|r| {
            Some(Review {
                reviewer: r.reviewer?,
                state: ReviewState::parse(&r.state),
                commit_id: r.commit_id,
                order: r.id,
            })
        })
        .collect();
    let code_owners = if settings.codeowners {
        Some(
            code_owner_requirement(github, repository, pr, &pull.base_ref)
                .await
                .map_err(failed(
                    "CODEOWNERS and the touched schema files",
                    Some(head),
                ))?,
        )
    } else {
        None
    };
    let mut facts = GateFacts {
        settings,
        author: &author,
        head_sha: head,
        reviews: &reviews,
        roles: &[],
        code_owners: code_owners.as_ref(),
    };
    let mut roles = Vec::new();
    for reviewer in reviewers_to_check(&facts) {
        let permission = github
            .collaborator_permission(repository, &reviewer)
            .await
            .map_err(failed("the reviewers' permissions", Some(head)))?;
        roles.push((reviewer, role(permission)));
    }
    facts.roles = &roles;
    Ok((decide(&facts), pull.head_sha.clone()))
}

/// Wraps a failed read of `what` (after the head was read, when it was).
fn failed(what: &'static str, head: Option<&str>) -> impl FnOnce(GithubError) -> ReadFailure {
    let head = head.map(str::to_string);
    move |error| ReadFailure { what, error, head }
}

/// The owners of each schema file the PR touches (`.sql` files and `schemabot.yaml`, both
/// sides of a rename), from the first CODEOWNERS file on the base branch.
async fn code_owner_requirement(
    github: &InstallationClient,
    repository: &Repository,
    pr: PrNumber,
    base_ref: &str,
) -> Result<CodeOwnerRequirement, GithubError> {
    if base_ref.is_empty() {
        return Err(GithubError::InvalidArgument(
            "the pull request names no base branch".into(),
        ));
    }
    let mut text = None;
    for path in CODEOWNERS_PATHS {
        if let Some(found) = github.get_file_contents(repository, path, base_ref).await? {
            text = Some((path, found));
            break;
        }
    }
    let Some((path, text)) = text else {
        return Ok(CodeOwnerRequirement::NoFile {
            base_ref: base_ref.to_string(),
        });
    };
    let code_owners = CodeOwners::parse(&text);
    if !code_owners.skipped_lines.is_empty() {
        tracing::warn!(path, lines = ?code_owners.skipped_lines, "CODEOWNERS lines skipped as GitHub does");
    }
    let mut touched: Vec<String> = Vec::new();
    for file in github.list_pull_request_files(repository, pr).await? {
        for name in std::iter::once(file.filename).chain(file.previous_filename) {
            if is_schema_file(&name) && !touched.contains(&name) {
                touched.push(name);
            }
        }
    }
    Ok(CodeOwnerRequirement::of(&code_owners, &touched))
}

fn is_schema_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.ends_with(".sql") || name == SCHEMA_CONFIG_FILE
}

fn role(permission: Permission) -> ReviewerRole {
    match permission {
        Permission::None => ReviewerRole::None,
        Permission::Read => ReviewerRole::Read,
        Permission::Triage => ReviewerRole::Triage,
        Permission::Write => ReviewerRole::Write,
        Permission::Maintain => ReviewerRole::Maintain,
        Permission::Admin => ReviewerRole::Admin,
    }
}

/// The gate for a cutover: `Some(reply)` refuses. CLI cutovers are authorised by IAM.
pub(crate) async fn cutover_refusal(
    worker: &Worker,
    source: &CommandSource,
    apply: &Apply,
    attempt: Attempt,
) -> Result<Option<CutoverReply>, JobError> {
    let CommandSource::PrComment(origin) = source else {
        return Ok(None);
    };
    let refusal = check(worker, origin, &apply.environment, None, attempt).await?;
    Ok(refusal.map(|refusal| CutoverReply::ReviewRequired {
        target: CutoverTarget::of(apply),
        login: origin.commenter.clone(),
        missing: refusal.missing,
        head: refusal.head,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_files_are_sql_files_and_schema_configs() {
        assert!(is_schema_file("schema/payments/orders.sql"));
        assert!(is_schema_file("orders.sql"));
        assert!(is_schema_file("schema/payments/schemabot.yaml"));
        assert!(!is_schema_file("schema/payments/README.md"));
        assert!(!is_schema_file("schema/payments/schemabot.yaml.bak"));
    }

    #[test]
    fn every_permission_maps_to_its_role() {
        assert_eq!(role(Permission::None), ReviewerRole::None);
        assert_eq!(role(Permission::Read), ReviewerRole::Read);
        assert_eq!(role(Permission::Triage), ReviewerRole::Triage);
        assert_eq!(role(Permission::Write), ReviewerRole::Write);
        assert_eq!(role(Permission::Maintain), ReviewerRole::Maintain);
        assert_eq!(role(Permission::Admin), ReviewerRole::Admin);
    }
}
