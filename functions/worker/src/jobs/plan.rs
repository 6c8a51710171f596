//! Plan jobs (`schemabot plan [-e] [-d]` and automatic plans on PR pushes): find the schema
//! directories the PR changes (a `schemabot.yaml` naming `database:` and `type:` next to `.sql`
//! files), read the `.sql` files at the PR head commit, ask Tern for a plan per environment and
//! post — or edit — one plan comment per (database, environment).

use crate::errors;
use crate::jobs::command::Command;
use crate::jobs::permission::PermissionCheck;
use crate::jobs::plan_support::{
    has_deployment, plan_lint, plan_request, plan_tables, schema_dirs, Discovery, SchemaDir,
};
use crate::outcome::{Attempt, JobError};
use crate::ownership;
use crate::post::{hidden_marker, post_once, ReplyTo};
use crate::Worker;
use chrono::Utc;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::{PlanJob, PlanTrigger};
use schemabot_domain::lock::{LockEvent, LockKey, LockOwner};
use schemabot_domain::{Database, Environment};
use schemabot_github::{InstallationClient, Permission};
use schemabot_render::{
    render_lock_reply, render_plan, render_plan_too_large, LockCommand, LockReply, PlanComment,
    PlanLint, PlanTable, PlanTriggerText,
};

pub use crate::jobs::plan_support::{parse_schema_config, SchemaConfig, SCHEMA_CONFIG_FILE};

/// The marker of a (database, environment) plan comment: stable across re-plans.
pub fn plan_marker(job: &PlanJob, database: &str, environment: &str) -> String {
    format!(
        "plan:{}:{}:{database}:{environment}",
        job.repository, job.pr.0
    )
}

pub async fn run(
    worker: &Worker,
    job: &PlanJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let github = worker.github.installation(job.installation_id);
    if let Some(origin) = job.comment_origin() {
        let command = Command::new(worker, "plan", &origin, job_id, attempt);
        command.acknowledge().await;
        // Plans show the live schema's DDL: asking for one needs the environments' read minimum.
        let (environment, required) = read_requirement(worker, job);
        if let PermissionCheck::Denied(denied) = command.authorize_at(required).await? {
            let reply = LockReply::PermissionDenied {
                command: LockCommand::Plan,
                environment,
                denied,
            };
            let body = render_lock_reply(&reply, job_id).map_err(errors::render)?;
            let to = ReplyTo::comment(worker, &origin);
            return command.post_once(&to, job_id, &body).await;
        }
    }
    let head_sha = match &job.head_sha {
        Some(sha) => sha.clone(),
        None => {
            github
                .get_pull_request(&job.repository, job.pr)
                .await
                .map_err(errors::github)?
                .head_sha
        }
    };
    let dirs = match schema_dirs(
        &github,
        &job.repository,
        job.pr,
        job.database.as_ref(),
        &head_sha,
        worker.config.plan_limits,
    )
    .await?
    {
        Discovery::Found(dirs) => dirs,
        Discovery::TooLarge(too_large) => {
            tracing::warn!(?too_large, "the PR is too large to plan");
            let body = render_plan_too_large(&too_large.view(), job_id).map_err(errors::render)?;
            ReplyTo::new(worker, job.installation_id, &job.repository, job.pr)
                .post_once(&worker.store, job_id, &body)
                .await?;
            return Ok(());
        }
    };
    if dirs.is_empty() {
        tracing::info!("the PR changes no schema directory; nothing to plan");
        return Ok(());
    }
    for (path, dir) in &dirs {
        let Ok(database) = Database::parse(&dir.config.database) else {
            tracing::warn!(
                database = dir.config.database,
                "schemabot.yaml names an invalid database; skipped"
            );
            continue;
        };
        // The deployment is keyed by the database name.
        let deployment = database.as_str();
        let environments: Vec<Environment> = match &job.environment {
            Some(environment) => vec![environment.clone()],
            None => worker
                .config
                .environments
                .iter()
                .filter(|e| has_deployment(worker, deployment, e))
                .cloned()
                .collect(),
        };
        if environments.is_empty() {
            tracing::warn!(
                %database,
                "no configured environment has a deployment for this database"
            );
        }
        for environment in &environments {
            let owned = ownership::check(
                worker,
                deployment,
                &database,
                environment,
                &job.repository,
                Some(path),
            );
            let comment = if let Err(refusal) = owned {
                // Named, but never planned: no DDL of a database this repository does not own.
                Planned::error(job, &database, environment, &head_sha, refusal.message())
            } else if has_deployment(worker, deployment, environment) {
                plan_one(worker, job, dir, &database, environment, &head_sha).await?
            } else {
                Planned::error(
                    job,
                    &database,
                    environment,
                    &head_sha,
                    format!(
                        "No deployment is configured for database `{database}` in environment `{environment}`."
                    ),
                )
            };
            publish(worker, &github, job, &comment).await?;
            audit_plan(worker, job, &comment, &head_sha).await;
        }
    }
    Ok(())
}

/// The environment a comment-triggered plan is refused for and the permission it needs: the
/// most demanding read minimum among the environments it would plan.
fn read_requirement(worker: &Worker, job: &PlanJob) -> (String, Permission) {
    let environments: Vec<&Environment> = match &job.environment {
        Some(environment) => vec![environment],
        None => worker.config.environments.iter().collect(),
    };
    environments
        .into_iter()
        .map(|e| (e.to_string(), worker.config.read_minimum(e)))
        .max_by_key(|(_, permission)| *permission)
        .unwrap_or_else(|| ("every environment".to_string(), Permission::Triage))
}

fn trigger_text(job: &PlanJob) -> PlanTriggerText {
    match &job.trigger {
        PlanTrigger::Comment { commenter, .. } => PlanTriggerText::Command {
            login: commenter.0.clone(),
        },
        PlanTrigger::PullRequest { action } => PlanTriggerText::PullRequest {
            action: action.clone(),
        },
    }
}

/// A rendered-to-be plan for one (database, environment).
struct Planned {
    database: Database,
    environment: Environment,
    view: PlanComment,
}

impl Planned {
    fn new(
        job: &PlanJob,
        database: &Database,
        environment: &Environment,
        head_sha: &str,
        (tables, lint, errors): (Vec<PlanTable>, Vec<PlanLint>, Vec<String>),
    ) -> Self {
        Planned {
            database: database.clone(),
            environment: environment.clone(),
            view: PlanComment {
                database: database.to_string(),
                environment: environment.to_string(),
                commit: Some(head_sha.to_string()),
                trigger: trigger_text(job),
                tables,
                lint,
                errors,
                lock: None,
            },
        }
    }

    fn error(
        job: &PlanJob,
        database: &Database,
        environment: &Environment,
        head_sha: &str,
        error: String,
    ) -> Self {
        let found = (vec![], vec![], vec![error]);
        Planned::new(job, database, environment, head_sha, found)
    }
}

async fn plan_one(
    worker: &Worker,
    job: &PlanJob,
    dir: &SchemaDir,
    database: &Database,
    environment: &Environment,
    head_sha: &str,
) -> Result<Planned, JobError> {
    let request = plan_request(dir, &job.repository, job.pr, environment);
    // The deployment is keyed by the database name.
    let found = match worker
        .tern
        .plan(database.as_str(), environment.as_str(), request)
        .await
    {
        Ok(response) => (
            plan_tables(&response),
            plan_lint(&response),
            response.errors,
        ),
        Err(error) => {
            let error = errors::tern(error, "Tern Plan", true)?;
            (
                vec![],
                vec![],
                vec![format!("Tern could not plan: {error}")],
            )
        }
    };
    Ok(Planned::new(job, database, environment, head_sha, found))
}

/// Plans join the (database, environment) trail next to the lock events: what was planned, at
/// which commit, for whom. Like the lock events, a failed write is logged and not retried.
async fn audit_plan(worker: &Worker, job: &PlanJob, planned: &Planned, head_sha: &str) {
    let (outcome, message) = plan_outcome(&planned.view, head_sha);
    let actor = match &job.trigger {
        PlanTrigger::Comment { commenter, .. } => commenter.0.clone(),
        PlanTrigger::PullRequest { .. } => "schemabot".to_string(),
    };
    let event = LockEvent {
        key: LockKey {
            database: planned.database.clone(),
            environment: planned.environment.clone(),
        },
        at: Utc::now(),
        event: EventKind::PlanPosted,
        actor,
        owner: LockOwner {
            repository: job.repository.clone(),
            pr: job.pr,
        },
        delivery_id: Some(job.delivery_id.clone()),
        outcome,
        message: Some(message),
    };
    crate::lock_audit::record(worker, &event).await;
}

/// The audit outcome and message of a plan comment.
fn plan_outcome(view: &PlanComment, head_sha: &str) -> (Outcome, String) {
    if !view.errors.is_empty() {
        (
            Outcome::Errors,
            format!("{} error(s) at {head_sha}", view.errors.len()),
        )
    } else if view.tables.is_empty() {
        (
            Outcome::NoChanges,
            format!("no table changes at {head_sha}"),
        )
    } else {
        let unsafe_count = view
            .tables
            .iter()
            .filter(|t| t.unsafe_reason.is_some())
            .count();
        let mut message = format!("{} table change(s) at {head_sha}", view.tables.len());
        if unsafe_count > 0 {
            message.push_str(&format!(", {unsafe_count} unsafe"));
        }
        (Outcome::Changes, message)
    }
}

/// Edits the recorded plan comment of (database, environment), or posts it and records it.
async fn publish(
    worker: &Worker,
    github: &InstallationClient,
    job: &PlanJob,
    planned: &Planned,
) -> Result<(), JobError> {
    let database = &planned.database;
    let marker_id = plan_marker(job, database.as_str(), planned.environment.as_str());
    let body = render_plan(&planned.view, &marker_id).map_err(errors::render)?;
    let recorded = worker
        .store
        .plan_comment(&job.repository, job.pr, database, &planned.environment)
        .await
        .map_err(errors::store)?;
    if let Some(comment) = recorded {
        return github
            .update_comment(&job.repository, comment, &body)
            .await
            .map_err(errors::github);
    }
    let marker = hidden_marker(&marker_id);
    // Not the first attempt, or an earlier plan job died between posting and recording: the
    // marker finds the comment instead of posting a second one.
    let existing = github
        .find_comment_with_marker(&job.repository, job.pr, &marker)
        .await
        .map_err(errors::github)?;
    let comment = match existing {
        Some(comment) => {
            github
                .update_comment(&job.repository, comment, &body)
                .await
                .map_err(errors::github)?;
            comment
        }
        None => {
            post_once(
                github,
                &job.repository,
                job.pr,
                &marker,
                &body,
                &worker.store,
            )
            .await?
        }
    };
    let kept = worker
        .store
        .record_plan_comment(
            &job.repository,
            job.pr,
            database,
            &planned.environment,
            comment,
        )
        .await
        .map_err(errors::store)?;
    if kept != comment {
        // Plans of one PR share a message group, so this only happens after manual meddling.
        github
            .update_comment(&job.repository, kept, &body)
            .await
            .map_err(errors::github)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(tables: Vec<PlanTable>, errors: Vec<String>) -> PlanComment {
        PlanComment {
            database: "payments".into(),
            environment: "staging".into(),
            commit: Some("abc123".into()),
            trigger: PlanTriggerText::PullRequest {
                action: "opened".into(),
            },
            tables,
            lint: vec![],
            errors,
            lock: None,
        }
    }

    fn table(name: &str, unsafe_reason: Option<&str>) -> PlanTable {
        PlanTable {
            namespace: "payments".into(),
            table: name.into(),
            change: "alter".into(),
            ddl: format!("ALTER TABLE `{name}` ADD COLUMN c INT"),
            unsafe_reason: unsafe_reason.map(str::to_string),
        }
    }

    #[test]
    fn plan_audit_outcome_counts_changes_unsafe_ones_and_errors() {
        assert_eq!(
            plan_outcome(&view(vec![], vec![]), "abc123"),
            (Outcome::NoChanges, "no table changes at abc123".to_string())
        );
        assert_eq!(
            plan_outcome(
                &view(vec![table("a", None), table("b", None)], vec![]),
                "abc123"
            ),
            (Outcome::Changes, "2 table change(s) at abc123".to_string())
        );
        assert_eq!(
            plan_outcome(
                &view(
                    vec![table("a", Some("drops column c")), table("b", None)],
                    vec![]
                ),
                "abc123"
            ),
            (
                Outcome::Changes,
                "2 table change(s) at abc123, 1 unsafe".to_string()
            )
        );
        // Errors win: a plan with errors is not something to apply.
        assert_eq!(
            plan_outcome(
                &view(vec![table("a", None)], vec!["syntax".into()]),
                "abc123"
            ),
            (Outcome::Errors, "1 error(s) at abc123".to_string())
        );
    }
}
