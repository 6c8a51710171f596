//! `schemabot stop|start|cancel|revert|skip-revert <apply-id> -e <env>`: enqueue the same
//! control job a PR comment produces, then wait for the worker's answer — the one
//! `<op>_requested` audit event it writes for this request ([`super::request`]).

mod answer;
mod report;

pub use answer::{Answer, AnswerFields, Answered};

use super::Context;
use crate::args::RequestArgs;
use crate::error::CliError;
use crate::exit::Exit;
use report::{describe, title, ControlReport};
use schemabot_domain::control::ControlOp;
use schemabot_domain::job::{ControlJob, Job};

pub async fn run(
    cx: &mut Context<'_, '_>,
    op: ControlOp,
    args: &RequestArgs,
) -> Result<Exit, CliError> {
    let answered = Answered::request(cx, args, &title(op), op.audit_event(), |source| {
        Job::Control(ControlJob {
            source,
            op,
            apply_id: Some(args.apply_id.clone()),
            environment: args.environment.clone(),
        })
    })
    .await?;
    let exit = answered.answer.as_ref().map_or(Exit::Failed, Answer::exit);
    let report = ControlReport {
        apply_id: args.apply_id.to_string(),
        environment: args.environment.to_string(),
        op: op.as_str(),
        answer: answered.fields(),
        state: answered.state,
        repository: answered.apply.repository.to_string(),
        pr: answered.apply.pr.0,
        exit_code: exit.code(),
    };
    cx.print_report(exit, &report, || {
        answered.text(args.timeout, |answer, apply| {
            describe(op, answer, apply, &args.environment)
        })
    })
}
