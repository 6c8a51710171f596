//! `schemabot rollback <apply-id> -e <env> [--defer-cutover]`: enqueue the rollback job a PR
//! comment produces, then wait for the worker's answer — the one `rollback_requested` audit
//! event it writes for this request ([`super::request`]). A planned rollback is locked for the
//! apply's pull request and confirmed there with `rollback-confirm`.

use super::control::{Answer, AnswerFields, Answered};
use super::Context;
use crate::args::RollbackArgs;
use crate::error::CliError;
use crate::exit::Exit;
use schemabot_domain::apply::Apply;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::{Job, RollbackJob};
use schemabot_render::escape::single_line;
use serde::Serialize;

/// The `--json` document of a rollback request.
#[derive(Debug, Serialize)]
pub struct RollbackReport {
    pub apply_id: String,
    pub environment: String,
    /// Its `outcome` is the worker's (`planned`, `nothing_to_rollback`, `plan_errors`,
    /// `plan_failed`, a refusal such as `not_terminal`, `not_completed`, `not_latest`,
    /// `not_captured`, `held_by_other`), or `timed_out`.
    #[serde(flatten)]
    pub answer: AnswerFields,
    /// Where the rollback plan is posted and confirmed.
    pub repository: String,
    pub pr: u64,
    /// The PR comment that applies the planned rollback.
    pub confirm: Option<String>,
    pub exit_code: u8,
}

/// 0 planned (or nothing to roll back: the schema already is the one before), 3 Tern could not
/// plan it, 2 every refusal (unknown outcomes included: nothing was locked).
pub fn exit_of(outcome: &Outcome) -> Exit {
    match outcome {
        Outcome::Planned | Outcome::NothingToRollback => Exit::Success,
        Outcome::PlanFailed | Outcome::PlanErrors => Exit::Failed,
        _ => Exit::Refused,
    }
}

pub async fn run(cx: &mut Context<'_, '_>, args: &RollbackArgs) -> Result<Exit, CliError> {
    let request = &args.request;
    let answered = Answered::request(
        cx,
        request,
        "Rollback",
        EventKind::RollbackRequested,
        |source| {
            Job::Rollback(RollbackJob {
                source,
                apply_id: request.apply_id.clone(),
                environment: request.environment.clone(),
                defer_cutover: args.defer_cutover,
            })
        },
    )
    .await?;
    let answer = answered.answer.as_ref();
    let exit = answer.map_or(Exit::Failed, |a| exit_of(&a.outcome));
    let planned = answer.is_some_and(|a| a.outcome == Outcome::Planned);
    let report = RollbackReport {
        apply_id: request.apply_id.to_string(),
        environment: request.environment.to_string(),
        answer: answered.fields(),
        repository: answered.apply.repository.to_string(),
        pr: answered.apply.pr.0,
        confirm: planned.then(|| confirm_command(&answered.apply)),
        exit_code: exit.code(),
    };
    cx.print_report(exit, &report, || answered.text(request.timeout, describe))
}

fn confirm_command(apply: &Apply) -> String {
    format!("schemabot rollback-confirm -e {}", apply.environment)
}

/// The text answer: what happened and what to do next.
fn describe(answer: &Answer, apply: &Apply) -> String {
    let (id, db, env) = (&apply.id, &apply.database, &apply.environment);
    let pr = format!("{}#{}", apply.repository, apply.pr.0);
    let state = answer.from_state.unwrap_or(apply.state);
    let message = answer.message.as_deref().map(single_line);
    match &answer.outcome {
        Outcome::Planned => format!(
            "Rollback of {id} planned and locked for {pr} (database {db}, environment {env}); \
             the plan is on the pull request.\n\
             Apply it there with: {}\n\
             Or release the lock with: schemabot unlock -d {db} -e {env}\n",
            confirm_command(apply)
        ),
        Outcome::NothingToRollback => format!(
            "Nothing to roll back: {db} in {env} already has the schema from before {id}.\n"
        ),
        Outcome::NotTerminal => format!(
            "Rollback refused: {id} has not finished ({state}). Wait for it to complete, or stop \
             or cancel it first.\n"
        ),
        Outcome::NotCompleted => {
            format!("Rollback refused: {id} ended {state} without changing the schema for good.\n")
        }
        Outcome::NotLatest => format!(
            "Rollback refused: {id} is not the latest apply on {db} in {env}, so rolling it back \
             would undo later changes too.\n"
        ),
        Outcome::NotCaptured => {
            format!("Rollback refused: the schema {db} had before {id} was not captured.\n")
        }
        Outcome::PlanFailed | Outcome::PlanErrors => format!(
            "Rollback of {id} could not be planned; nothing was locked.{}\n",
            message.map(|m| format!("\nTern: {m}")).unwrap_or_default()
        ),
        other => format!(
            "Rollback of {id} refused ({other}); see the reply on {pr}.{}\n",
            message.map(|m| format!("\n{m}")).unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_or_nothing_to_do_succeeds_a_failed_plan_fails_the_rest_is_refused() {
        assert_eq!(exit_of(&Outcome::Planned), Exit::Success);
        assert_eq!(exit_of(&Outcome::NothingToRollback), Exit::Success);
        assert_eq!(exit_of(&Outcome::PlanFailed), Exit::Failed);
        assert_eq!(exit_of(&Outcome::PlanErrors), Exit::Failed);
        for refused in [
            Outcome::NotTerminal,
            Outcome::NotCompleted,
            Outcome::NotLatest,
            Outcome::NotCaptured,
            Outcome::HeldByOther,
            Outcome::PermissionDenied,
            Outcome::parse("something_new"),
        ] {
            assert_eq!(exit_of(&refused), Exit::Refused, "{refused}");
        }
    }
}
