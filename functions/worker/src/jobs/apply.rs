//! `schemabot apply -e <env> [-d <db>] [--defer-cutover] [--allow-unsafe] [-y]`.
//!
//! Order: 👀 → permission for the environment (fail closed) → the PR head commit → the schema
//! directories the PR changes → per database: promotion order → Tern Plan → a conditional write
//! takes the (database, environment) lock for this PR with that plan → the plan comment with
//! its confirmation footer. `-y` confirms at once.
//!
//! Re-running it (redelivery, or the user after a push) renews this PR's planned lock with the
//! new plan; another PR's lock is never touched.

use crate::errors;
use crate::jobs::confirm;
use crate::jobs::lock_common::{
    acquire, apply_text, confirm_text, display_time, planned_lock, refusal_reply, CommandContext,
};
use crate::jobs::plan_support::{
    has_deployment, original_files, plan_lint, plan_request, plan_tables, planned_changes,
    schema_dirs, Discovery, SchemaDir,
};
use crate::jobs::review_gate;
use crate::outcome::{Attempt, JobError};
use crate::ownership;
use crate::Worker;
use chrono::Utc;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::ApplyJob;
use schemabot_domain::lock::{
    acquire_refusal, schema_digest, AcquireRefusal, AppliedSchema, ConfirmKind, LockKey, LockStage,
    LockedPlan, PlannedChange,
};
use schemabot_domain::Database;
use schemabot_render::{
    render_plan, render_plan_too_large, LockCommand, LockReply, PlanComment, PlanLock,
    PlanTriggerText,
};
use std::collections::BTreeMap;

pub async fn run(
    worker: &Worker,
    job: &ApplyJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let ctx = CommandContext::new(worker, &job.origin, job_id, attempt);
    ctx.acknowledge().await;
    if review_gate::refused(
        &ctx,
        LockCommand::Apply,
        &job.environment,
        job.database.as_ref(),
        job.flags,
    )
    .await?
    {
        return Ok(());
    }
    let head_sha = ctx.head_sha().await?;
    let dirs = match schema_dirs(
        &ctx.github,
        &job.origin.repository,
        job.origin.pr,
        job.database.as_ref(),
        &head_sha,
        worker.config.plan_limits,
    )
    .await?
    {
        Discovery::Found(dirs) => dirs,
        Discovery::TooLarge(too_large) => {
            let marker = ctx.marker_id("");
            let body = render_plan_too_large(&too_large.view(), &marker).map_err(errors::render)?;
            return ctx.post(&marker, &body).await;
        }
    };
    if dirs.is_empty() {
        return ctx
            .reply(
                "",
                &LockReply::NoSchemaChanges {
                    database: job.database.as_ref().map(ToString::to_string),
                },
            )
            .await;
    }
    // Several databases: replies and confirm commands name each one.
    let several = dirs.len() > 1;
    for (path, dir) in &dirs {
        let Ok(database) = Database::parse(&dir.config.database) else {
            tracing::warn!(database = %dir.config.database, "schemabot.yaml names an invalid database; skipped");
            continue;
        };
        let named = (several || job.database.is_some()).then_some(&database);
        if let Err(refusal) = ownership::check(
            worker,
            // The deployment is keyed by the database name, as for plans.
            database.as_str(),
            &database,
            &job.environment,
            &job.origin.repository,
            Some(path),
        ) {
            ctx.refuse_not_owned(database.as_str(), &refusal).await?;
            continue;
        }
        apply_one(&ctx, job, dir, &database, named, &head_sha).await?;
    }
    Ok(())
}

async fn apply_one(
    ctx: &CommandContext<'_>,
    job: &ApplyJob,
    dir: &SchemaDir,
    database: &Database,
    named: Option<&Database>,
    head_sha: &str,
) -> Result<(), JobError> {
    let worker = ctx.worker;
    let environment = &job.environment;
    let allow_unsafe = job.flags.allow_unsafe;
    let key = LockKey {
        database: database.clone(),
        environment: environment.clone(),
    };
    let part = database.as_str();
    // With `-y`, an earlier attempt of this job (a retry, or a redrive) may have handed the plan
    // to Tern already: finish that confirm (resume or register) instead of planning again, which
    // the lock it holds would refuse.
    if job.flags.auto_confirm && confirmed_by(ctx, &key).await? {
        return confirm::confirm_lock(ConfirmKind::Plan, ctx, &key, head_sha, allow_unsafe, named)
            .await;
    }
    let files: BTreeMap<String, String> = dir.files.clone().into_iter().collect();
    let digest = schema_digest(&files);

    if ctx.refused_by_promotion(part, &key, &digest).await? {
        return Ok(());
    }
    // The deployment is keyed by the database name, as for plans.
    let deployment = database.as_str();
    if !has_deployment(worker, deployment, environment) {
        let reason = format!(
            "No deployment is configured for database `{database}` in environment `{environment}`."
        );
        return ctx.reply(part, &refused(&key, named, reason, None)).await;
    }

    let request = plan_request(dir, &job.origin.repository, job.origin.pr, environment);
    let response = match worker
        .tern
        .plan(deployment, environment.as_str(), request)
        .await
    {
        Ok(response) => response,
        Err(error) => {
            let error = errors::tern(error, "Tern Plan", !ctx.attempt.is_final())?;
            let reason = "Tern could not plan the change, so nothing was locked.";
            let reply = refused(&key, named, reason.into(), Some(error.to_string()));
            return ctx.reply(part, &reply).await;
        }
    };
    let tables = plan_tables(&response);
    let lint = plan_lint(&response);
    let view = |lock: Option<PlanLock>| PlanComment {
        database: database.to_string(),
        environment: environment.to_string(),
        commit: Some(head_sha.to_string()),
        trigger: PlanTriggerText::Command {
            login: job.origin.commenter.0.clone(),
        },
        tables: tables.clone(),
        lint: lint.clone(),
        errors: response.errors.clone(),
        lock,
    };
    if !response.errors.is_empty() {
        // A plan with errors is shown, not locked.
        let marker = plan_marker(ctx, part);
        let body = render_plan(&view(None), &marker).map_err(errors::render)?;
        return ctx.post(&marker, &body).await;
    }
    if tables.is_empty() {
        // Already live here: later environments of the promotion order may go ahead.
        let applied = AppliedSchema {
            key: key.clone(),
            owner: ctx.owner.clone(),
            schema_digest: digest,
            apply_id: None,
            at: Utc::now(),
        };
        worker
            .store
            .record_applied_schema(&applied)
            .await
            .map_err(errors::store)?;
        return ctx
            .reply(
                part,
                &LockReply::UpToDate {
                    key: key.clone(),
                    commit: Some(head_sha.to_string()),
                },
            )
            .await;
    }

    let changes: Vec<PlannedChange> = planned_changes(&response);
    let needs_unsafe = changes.iter().any(|c| c.unsafe_reason.is_some()) && !allow_unsafe;
    let plan = LockedPlan {
        head_sha: head_sha.to_string(),
        deployment: deployment.to_string(),
        database_type: dir.config.database_type.clone(),
        plan_id: response.plan_id.clone(),
        changes,
        schema_files: files,
        schema_digest: digest,
        flags: job.flags,
        original_files: original_files(&response),
        rollback_of: None,
    };
    let origin = &job.origin;
    let lock = planned_lock(
        worker,
        &key,
        &ctx.owner,
        origin.installation_id,
        origin.commenter.clone(),
        plan,
    );
    if let Err(current) = acquire(worker, &lock).await? {
        let refusal = acquire_refusal(&current, &ctx.owner);
        let outcome = match refusal {
            AcquireRefusal::HeldByOther { .. } => Outcome::HeldByOther,
            AcquireRefusal::OwnApplyInProgress { .. } => Outcome::OwnApplyInProgress,
        };
        let held_by = Some(format!("held by {}", current.owner));
        ctx.audit(&key, EventKind::LockRefused, outcome, held_by)
            .await;
        let retry = apply_text(environment, named);
        let reply = refusal_reply(LockCommand::Apply, &key, refusal, retry);
        return ctx.reply(part, &reply).await;
    }
    ctx.audit(
        &key,
        EventKind::LockAcquired,
        Outcome::Planned,
        Some(format!(
            "{} table change(s) at {}",
            lock.plan.changes.len(),
            head_sha
        )),
    )
    .await;

    let marker = plan_marker(ctx, part);
    let footer = PlanLock {
        confirm: confirm_text(environment, named, needs_unsafe),
        expires_at: Some(display_time(lock.lease_expires_at)),
        needs_unsafe,
        confirmed: job.flags.auto_confirm,
    };
    let body = render_plan(&view(Some(footer)), &marker).map_err(errors::render)?;
    ctx.post(&marker, &body).await?;
    ctx.count(&Outcome::Locked);

    if job.flags.auto_confirm {
        confirm::confirm_lock(ConfirmKind::Plan, ctx, &key, head_sha, allow_unsafe, named).await?;
    }
    Ok(())
}

/// The plan comment's marker, apart from the job's replies (`part`) and its confirm replies
/// (`confirm:<database>`): each comment of the job is posted once under its own marker, so a
/// reply a retry posts is never taken for the plan comment posted before.
fn plan_marker(ctx: &CommandContext<'_>, part: &str) -> String {
    ctx.marker_id(&format!("plan:{part}"))
}

/// Whether this PR's lock on `key` is `confirming` or `applying` for this very job.
async fn confirmed_by(ctx: &CommandContext<'_>, key: &LockKey) -> Result<bool, JobError> {
    let lock = ctx
        .worker
        .store
        .get_lock(key)
        .await
        .map_err(errors::store)?;
    Ok(lock.is_some_and(|lock| {
        lock.is_owned_by(&ctx.owner)
            && matches!(&lock.stage, LockStage::Confirming { command_id }
                | LockStage::Applying { command_id, .. } if command_id == ctx.job_id)
    }))
}

/// `apply`'s refusal on `key`, which locked nothing.
fn refused(
    key: &LockKey,
    named: Option<&Database>,
    reason: String,
    detail: Option<String>,
) -> LockReply {
    LockReply::Refused {
        command: LockCommand::Apply,
        key: key.clone(),
        reason,
        detail,
        locked: false,
        retry: apply_text(&key.environment, named),
    }
}
