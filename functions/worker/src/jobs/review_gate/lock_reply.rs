//! The Review Required answer to `apply` and `apply-confirm`: the reply (with the command to
//! run next) and the audit of the refusal against every lock it can be tied to.

use super::{check, is_schema_file};
use crate::jobs::lock_common::{confirm_text, CommandContext};
use crate::jobs::plan_support::{parse_schema_config, SCHEMA_CONFIG_FILE};
use crate::outcome::JobError;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::command::ApplyFlags;
use schemabot_domain::job::CommentOrigin;
use schemabot_domain::lock::LockKey;
use schemabot_domain::review::Shortfall;
use schemabot_domain::{Database, Environment, Login};
use schemabot_github::{GithubError, InstallationClient};
use schemabot_render::{command_text, LockCommand, LockReply};

/// The commenter's permission (see [`CommandContext::permission_refused`]), then the gate, for
/// `apply` (`flags`) or `apply-confirm`: a gate refusal is audited against every lock it can be
/// tied to and answered with the Review Required reply. `true` when refused.
pub(crate) async fn refused(
    ctx: &CommandContext<'_>,
    command: LockCommand,
    environment: &Environment,
    database: Option<&Database>,
    flags: ApplyFlags,
) -> Result<bool, JobError> {
    if ctx.permission_refused(command, environment).await? {
        return Ok(true);
    }
    let apply_flags = (command == LockCommand::Apply).then_some(flags);
    let Some(refusal) = check(
        ctx.worker,
        ctx.origin,
        environment,
        apply_flags,
        ctx.attempt,
    )
    .await?
    else {
        return Ok(false);
    };
    let message = summary(&refusal.missing);
    for key in audit_keys(ctx, command, environment, database, refusal.head.as_deref()).await {
        ctx.audit(
            &key,
            EventKind::ApplyRefused,
            Outcome::ReviewRequired,
            Some(message.clone()),
        )
        .await;
    }
    let database_name = database.map(Database::as_str);
    let auto_confirm = refusal
        .missing
        .iter()
        .any(|m| matches!(m, Shortfall::AutoConfirm { .. }));
    let (retry, confirm) = match command {
        LockCommand::ApplyConfirm => (
            confirm_text(environment, database, flags.allow_unsafe),
            None,
        ),
        _ if auto_confirm => (
            apply_command(environment, database_name, flags.defer_cutover, false),
            Some(confirm_text(environment, database, flags.allow_unsafe)),
        ),
        _ => (
            apply_command(
                environment,
                database_name,
                flags.defer_cutover,
                flags.allow_unsafe,
            ),
            None,
        ),
    };
    let reply = LockReply::ReviewRequired {
        command,
        environment: environment.to_string(),
        login: ctx.origin.commenter.0.clone(),
        missing: refusal.missing,
        head: refusal.head,
        retry,
        confirm,
    };
    ctx.reply("", &reply).await?;
    Ok(true)
}

/// `schemabot apply -e <env> [-d <db>]` with the flags worth repeating (never `-y`).
fn apply_command(
    environment: &Environment,
    database: Option<&str>,
    defer_cutover: bool,
    allow_unsafe: bool,
) -> String {
    let mut text = command_text("apply", environment.as_str(), database);
    if defer_cutover {
        text.push_str(" --defer-cutover");
    }
    if allow_unsafe {
        text.push_str(" --allow-unsafe");
    }
    text
}

/// The locks a refusal is audited against: the named database's; else this PR's locks in the
/// environment and, for `apply`, the databases of the schema directories it changes. Best
/// effort: a failed read only narrows the audit (the refusal is logged and counted anyway).
async fn audit_keys(
    ctx: &CommandContext<'_>,
    command: LockCommand,
    environment: &Environment,
    database: Option<&Database>,
    head: Option<&str>,
) -> Vec<LockKey> {
    let key = |database: Database| LockKey {
        database,
        environment: environment.clone(),
    };
    if let Some(database) = database {
        return vec![key(database.clone())];
    }
    let mut keys = match ctx.lock_keys_in(environment).await {
        Ok(keys) => keys,
        Err(error) => {
            tracing::warn!(%error, "could not list the PR's locks for the audit");
            Vec::new()
        }
    };
    if let (LockCommand::Apply, Some(head)) = (command, head) {
        match changed_databases(&ctx.github, ctx.origin, head).await {
            Ok(databases) => {
                for database in databases {
                    let candidate = key(database);
                    if !keys.contains(&candidate) {
                        keys.push(candidate);
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "could not find the databases for the audit"),
        }
    }
    if keys.is_empty() {
        tracing::warn!(
            outcome = "review_required",
            "review gate refusal tied to no lock"
        );
    }
    keys
}

/// The databases named by the `schemabot.yaml` of each directory the PR changes schema files in
/// (read at `head`).
async fn changed_databases(
    github: &InstallationClient,
    origin: &CommentOrigin,
    head: &str,
) -> Result<Vec<Database>, GithubError> {
    let mut dirs: Vec<String> = Vec::new();
    for file in github
        .list_pull_request_files(&origin.repository, origin.pr)
        .await?
    {
        if is_schema_file(&file.filename) {
            let dir = file.filename.rsplit_once('/').map_or("", |(dir, _)| dir);
            if !dirs.iter().any(|d| d == dir) {
                dirs.push(dir.to_string());
            }
        }
    }
    let mut databases = Vec::new();
    for dir in dirs {
        let path = if dir.is_empty() {
            SCHEMA_CONFIG_FILE.to_string()
        } else {
            format!("{dir}/{SCHEMA_CONFIG_FILE}")
        };
        let config = github
            .get_file_contents(&origin.repository, &path, head)
            .await?
            .and_then(|text| parse_schema_config(&text));
        if let Some(database) = config.and_then(|c| Database::parse(&c.database).ok()) {
            databases.push(database);
        }
    }
    Ok(databases)
}

/// A one-line account of what was missing, for the audit trail.
fn summary(missing: &[Shortfall]) -> String {
    let login = |l: &Login| l.0.clone();
    missing
        .iter()
        .map(|m| match m {
            Shortfall::Approvals {
                required, counted, ..
            } => format!("approvals {counted}/{required}"),
            Shortfall::AuthorApproval { author } => format!("author approval by {}", login(author)),
            Shortfall::StaleApproval { reviewer, .. } => {
                format!("stale approval by {}", login(reviewer))
            }
            Shortfall::InsufficientPermission { reviewer, role } => {
                format!("{} has {}", login(reviewer), role.as_str())
            }
            Shortfall::PermissionUnknown { reviewer } => {
                format!("permission of {} unknown", login(reviewer))
            }
            Shortfall::NoCodeownersFile { base_ref } => format!("no CODEOWNERS on {base_ref}"),
            Shortfall::UnownedFile { file } => format!("{file} has no code owner"),
            Shortfall::CodeOwnerApproval { file, .. } => {
                format!("no code owner approval of {file}")
            }
            Shortfall::AutoConfirm { .. } => "-y refused".to_string(),
            Shortfall::Unverifiable { what } => format!("GitHub did not answer ({what})"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retried_apply_keeps_its_flags_but_never_y() {
        let production = Environment::parse("production").unwrap();
        assert_eq!(
            apply_command(&production, Some("orders"), true, true),
            "schemabot apply -e production -d orders --defer-cutover --allow-unsafe"
        );
        assert_eq!(
            apply_command(&production, None, false, false),
            "schemabot apply -e production"
        );
    }

    #[test]
    fn the_audit_summary_names_each_shortfall() {
        let text = summary(&[
            Shortfall::Approvals {
                required: 1,
                counted: 0,
                author: Login("carol".into()),
            },
            Shortfall::StaleApproval {
                reviewer: Login("bob".into()),
                commit: None,
            },
            Shortfall::AutoConfirm { allow_unsafe: true },
        ]);
        assert_eq!(text, "approvals 0/1; stale approval by bob; -y refused");
    }
}
