//! Every reply: the ones the webhook decides (`Reply`, including each parse error) and the
//! worker's cutover outcomes (`CutoverReply`), plus the Cutover Triggered comment.

mod common;

use chrono::Duration;
use common::{apply, now, APPLY_ID};
use schemabot_domain::apply::CutoverClaim;
use schemabot_domain::command::{CommandName, ParseError};
use schemabot_domain::job::Reply;
use schemabot_domain::{ApplyId, Environment, Login, State};
use schemabot_render::{
    render_cutover_reply, render_cutover_triggered, render_reply, Actor, CutoverReply,
    CutoverTarget, Denial,
};

const MARKER: &str = "reply:octo-org/shop:987654";

fn reply(r: Reply) -> String {
    render_reply(&r, MARKER).unwrap()
}

fn syntax(error: ParseError) -> String {
    reply(Reply::Syntax { error })
}

fn cutover(r: CutoverReply) -> String {
    render_cutover_reply(&r, MARKER).unwrap()
}

fn target() -> CutoverTarget {
    CutoverTarget::of(&apply(State::WaitingForCutover))
}

fn env(name: &str) -> Environment {
    Environment::parse(name).unwrap()
}

/// What every reply other than help must carry.
fn assert_reply_footer(body: &str, usage: Option<&str>) {
    assert!(
        body.contains("Comment `schemabot help` for the full command reference."),
        "{body}"
    );
    if let Some(usage) = usage {
        assert!(body.contains(&format!("**Usage**: `{usage}`")), "{body}");
    }
    assert!(
        body.ends_with("<!-- schemabot:reply:octo-org/shop:987654 -->\n"),
        "{body}"
    );
}

// ---- webhook replies ---------------------------------------------------------------------------

#[test]
fn help() {
    let body = reply(Reply::Help);
    assert!(body.starts_with("## 📚 SchemaBot Help\n\n| Command | Description |"));
    assert!(
        body.contains("| `schemabot cutover <apply-id> -e <env>` | Complete a deferred cutover |")
    );
    insta::assert_snapshot!("reply_help", body);
}

#[test]
fn invalid_command() {
    let body = syntax(ParseError::UnknownCommand {
        word: Some("deploy".into()),
    });
    assert!(body.starts_with("## ❌ Invalid Command\n\n`schemabot deploy` is not a command"));
    assert_reply_footer(&body, None);
    insta::assert_snapshot!("reply_invalid_command", body);
}

#[test]
fn invalid_command_without_a_word() {
    let body = syntax(ParseError::UnknownCommand { word: None });
    assert!(body.contains("That command wasn't recognized. Available commands:"));
    assert_reply_footer(&body, None);
}

#[test]
fn missing_apply_id() {
    let body = syntax(ParseError::MissingApplyId {
        command: CommandName::Cutover,
    });
    assert!(body.starts_with("## Missing Apply ID\n\n"));
    assert!(body.contains("progress comment above"));
    assert_reply_footer(&body, Some("schemabot cutover <apply-id> -e <environment>"));
    insta::assert_snapshot!("reply_missing_apply_id", body);
}

#[test]
fn missing_environment() {
    let body = syntax(ParseError::MissingEnvironment {
        command: CommandName::Cutover,
    });
    assert!(body.starts_with("## Missing Environment\n\n"));
    assert_reply_footer(&body, Some("schemabot cutover <apply-id> -e <environment>"));
    insta::assert_snapshot!("reply_missing_environment", body);
}

#[test]
fn invalid_apply_id() {
    let body = syntax(ParseError::InvalidApplyId {
        command: CommandName::Cutover,
        given: "apply-xyz".into(),
    });
    assert!(body.starts_with("## Invalid Apply ID\n\n`apply-xyz` is not an apply ID."));
    assert_reply_footer(&body, Some("schemabot cutover <apply-id> -e <environment>"));
    insta::assert_snapshot!("reply_invalid_apply_id", body);
}

#[test]
fn invalid_environment() {
    let body = syntax(ParseError::InvalidEnvironment {
        command: CommandName::Cutover,
        given: "prod`uction".into(),
    });
    assert!(body.contains("``prod`uction`` is not a valid environment name."));
    assert_reply_footer(&body, Some("schemabot cutover <apply-id> -e <environment>"));
    insta::assert_snapshot!("reply_invalid_environment", body);
}

#[test]
fn invalid_database() {
    let body = syntax(ParseError::InvalidDatabase {
        command: CommandName::Plan,
        given: "shop;drop".into(),
    });
    assert!(body.starts_with("## Invalid Database\n\n`shop;drop` is not a valid database name."));
    assert_reply_footer(&body, Some(CommandName::Plan.usage()));
    insta::assert_snapshot!("reply_invalid_database", body);
}

#[test]
fn invalid_database_without_a_name() {
    let body = syntax(ParseError::InvalidDatabase {
        command: CommandName::Plan,
        given: String::new(),
    });
    assert!(body.contains("The `-d` flag needs a database name."));
}

#[test]
fn unsupported_flag() {
    let body = syntax(ParseError::UnsupportedFlag {
        command: CommandName::Stop,
        flag: "-y".into(),
    });
    assert!(body.contains("The `-y` flag is not supported for `schemabot stop`."));
    assert_reply_footer(&body, Some(CommandName::Stop.usage()));
    insta::assert_snapshot!("reply_unsupported_flag", body);
}

#[test]
fn unexpected_word() {
    let body = syntax(ParseError::UnexpectedWord {
        command: CommandName::Apply,
        word: "please".into(),
    });
    assert!(body.starts_with("## ❌ Unexpected Argument\n\n`schemabot apply` does not take `please`, so nothing was run."));
    assert_reply_footer(&body, Some(CommandName::Apply.usage()));
    insta::assert_snapshot!("reply_unexpected_word", body);
}

#[test]
fn apply_blocked_on_a_closed_pull_request() {
    let body = reply(Reply::ApplyBlockedPrNotOpen {
        command: CommandName::Apply,
        merged: false,
    });
    assert!(body.starts_with("## ⛔ Apply Blocked: PR Is Closed\n\n`schemabot apply` was not run"));
    assert!(body.contains("Reopen the pull request"));
    assert!(!body.contains("new pull request"));
    assert_reply_footer(&body, None);
    insta::assert_snapshot!("reply_apply_blocked_pr_closed", body);
}

#[test]
fn apply_blocked_on_a_merged_pull_request() {
    let body = reply(Reply::ApplyBlockedPrNotOpen {
        command: CommandName::ApplyConfirm,
        merged: true,
    });
    assert!(body
        .starts_with("## ⛔ Apply Blocked: PR Is Merged\n\n`schemabot apply-confirm` was not run"));
    assert!(body.contains("open a new pull request"));
    assert!(!body.contains("Reopen"));
    assert_reply_footer(&body, None);
    insta::assert_snapshot!("reply_apply_blocked_pr_merged", body);
}

#[test]
fn unknown_environment_lists_the_configured_ones() {
    let body = reply(Reply::UnknownEnvironment {
        command: CommandName::Cutover,
        given: env("qa"),
        configured: vec![env("staging"), env("production")],
    });
    assert!(body.starts_with("## Unknown Environment\n\n`qa` is not an environment configured"));
    assert!(body.contains("Configured environments: `production`, `staging`."));
    assert_reply_footer(&body, Some("schemabot cutover <apply-id> -e <environment>"));
    insta::assert_snapshot!("reply_unknown_environment", body);
}

#[test]
fn unknown_environment_with_none_configured() {
    let body = reply(Reply::UnknownEnvironment {
        command: CommandName::Cutover,
        given: env("qa"),
        configured: vec![],
    });
    assert!(body.contains("No environments are configured for this repository yet."));
}

#[test]
fn not_available_yet() {
    let body = reply(Reply::NotAvailableYet {
        command: CommandName::Stop,
    });
    assert!(body.starts_with("## Not Available Yet\n\n`schemabot stop` is recognized"));
    assert_reply_footer(&body, Some(CommandName::Stop.usage()));
    insta::assert_snapshot!("reply_not_available_yet", body);
}

#[test]
fn fix_lint_points_to_the_branch() {
    let body = reply(Reply::NotAvailableYet {
        command: CommandName::FixLint,
    });
    assert!(body.starts_with("## Not Run From Pull Requests\n\n`schemabot fix-lint` rewrites"));
    insta::assert_snapshot!("reply_fix_lint", body);
}

#[test]
fn repository_not_registered() {
    let body = reply(Reply::RepositoryNotRegistered);
    assert!(body.starts_with("**Repository not registered.** "));
    assert_reply_footer(&body, None);
    insta::assert_snapshot!("reply_repository_not_registered", body);
}

// ---- cutover outcomes --------------------------------------------------------------------------

const CUTOVER_USAGE: &str = "schemabot cutover <apply-id> -e <environment>";

#[test]
fn apply_not_found() {
    let body = cutover(CutoverReply::ApplyNotFound {
        apply_id: ApplyId::parse("apply-feedface").unwrap(),
    });
    assert!(body.starts_with("## Apply Not Found\n\nNo apply with ID `apply-feedface`"));
    assert_reply_footer(&body, Some(CUTOVER_USAGE));
    insta::assert_snapshot!("cutover_apply_not_found", body);
}

#[test]
fn environment_mismatch() {
    let body = cutover(CutoverReply::EnvironmentMismatch {
        target: target(),
        requested: env("production"),
    });
    assert!(body.starts_with("## Environment Mismatch\n\n"));
    assert!(body.contains("```\nschemabot cutover apply-0123456789abcdef -e staging\n```"));
    assert_reply_footer(&body, Some(CUTOVER_USAGE));
    insta::assert_snapshot!("cutover_environment_mismatch", body);
}

#[test]
fn permission_denied() {
    let body = cutover(CutoverReply::PermissionDenied {
        target: target(),
        denied: Denial {
            login: Login("bob".into()),
            required: "maintain",
            actual: Some("write"),
        },
    });
    assert!(body.starts_with("## Permission Denied\n\n"));
    assert!(body.contains("@bob, cutting over apply `apply-0123456789abcdef` requires `maintain` permission on this repository; you have `write`."));
    assert_reply_footer(&body, Some(CUTOVER_USAGE));
    insta::assert_snapshot!("cutover_permission_denied", body);
}

#[test]
fn permission_unverifiable_fails_closed() {
    let body = cutover(CutoverReply::PermissionDenied {
        target: target(),
        denied: Denial {
            login: Login("bob".into()),
            required: "write",
            actual: None,
        },
    });
    assert!(body.contains("could not confirm your permission"));
    insta::assert_snapshot!("cutover_permission_unverified", body);
}

#[test]
fn cutover_not_available_shows_the_state() {
    let body = cutover(CutoverReply::NotAvailable {
        target: target(),
        state: State::Running,
    });
    assert!(body.starts_with("## Cutover Not Available\n\n**Database**: `testapp` | **Environment**: `staging`\n\nApply `apply-0123456789abcdef` is in state `running`, not waiting for cutover."));
    assert_reply_footer(&body, Some(CUTOVER_USAGE));
    insta::assert_snapshot!("cutover_not_available", body);
}

#[test]
fn cutover_not_available_in_every_state() {
    for state in State::ALL {
        let body = cutover(CutoverReply::NotAvailable {
            target: target(),
            state,
        });
        assert!(body.contains(&format!("is in state `{state}`")), "{state}");
    }
}

#[test]
fn cutover_recovering() {
    let body = cutover(CutoverReply::Recovering { target: target() });
    assert!(body.starts_with("## Cutover — Recovery In Progress\n\n**Database**: `testapp` | **Environment**: `staging`\n\n"));
    assert_reply_footer(&body, Some(CUTOVER_USAGE));
    insta::assert_snapshot!("cutover_recovering", body);
}

#[test]
fn cutover_already_triggered_names_who_and_when() {
    let cutting_over = {
        let mut a = apply(State::CuttingOver);
        a.cutover_triggered_by = Some("alice".into());
        a.cutover_triggered_at = Some(now());
        a
    };
    let body = cutover(CutoverReply::already_triggered(&cutting_over));
    assert!(body.starts_with("## Cutover Already Triggered\n\n"));
    // Named, but not pinged.
    assert!(body.contains("was already triggered by @\u{200B}alice at 2026-05-15 12:47:01 UTC, so SchemaBot did not trigger it again."));
    assert_reply_footer(&body, Some(CUTOVER_USAGE));
    insta::assert_snapshot!("cutover_already_triggered", body);
}

#[test]
fn cutover_already_claimed_from_the_cli() {
    let claimed = {
        let mut a = apply(State::WaitingForCutover);
        a.claim = Some(CutoverClaim {
            command_id: "cutover:cli:req-1".into(),
            actor: "cli:arn:aws:iam::123456789012:user/ops".into(),
            claimed_at: now() - Duration::seconds(3),
            tern_called_at: None,
            tern_call_open: false,
        });
        a
    };
    let body = cutover(CutoverReply::already_triggered(&claimed));
    assert!(body.contains(
        "by `arn:aws:iam::123456789012:user/ops` (SchemaBot CLI) at 2026-05-15 12:46:58 UTC"
    ));
    insta::assert_snapshot!("cutover_already_claimed_cli", body);
}

#[test]
fn cutover_not_accepted_shows_terns_message() {
    let body = cutover(CutoverReply::NotAccepted {
        target: target(),
        message: "Schema change is being recovered after a restart. The recovery worker will resume it shortly — try again in a moment.".into(),
    });
    assert!(body.starts_with(
        "## Cutover Not Accepted\n\n**Database**: `testapp` | **Environment**: `staging`\n\n"
    ));
    assert!(body.contains("> Schema change is being recovered after a restart."));
    assert_reply_footer(&body, Some(CUTOVER_USAGE));
    insta::assert_snapshot!("cutover_not_accepted", body);
}

#[test]
fn cutover_failed_after_retries() {
    let body = cutover(CutoverReply::Failed {
        target: target(),
        error: "rpc error: code = Unavailable desc = connection refused".into(),
        attempts: 5,
    });
    assert!(body.starts_with("## Cutover Failed\n\n"));
    assert!(body.contains("after 5 attempt(s)"));
    assert_reply_footer(&body, Some(CUTOVER_USAGE));
    insta::assert_snapshot!("cutover_failed", body);
}

// ---- Cutover Triggered ---------------------------------------------------------------------

/// Example (e), plus who triggered it and when.
#[test]
fn cutover_triggered_from_a_pr_comment() {
    let body = render_cutover_triggered(
        &apply(State::CuttingOver),
        &Actor::GitHub(Login("alice".into())),
        now(),
        "cutover:octo-org/shop:987654",
    )
    .unwrap();
    assert!(body.starts_with(&format!(
        "## Cutover Triggered\n\n**Database**: `testapp` | **Environment**: `staging`\n\nCutover has been triggered for apply `{APPLY_ID}`. The table swap will complete shortly.\n"
    )));
    assert!(body.contains("*Triggered by @alice at 2026-05-15 12:47:01 UTC."));
    insta::assert_snapshot!("cutover_triggered", body);
}

#[test]
fn cutover_triggered_from_the_cli() {
    let body = render_cutover_triggered(
        &apply(State::CuttingOver),
        &Actor::from_stored("cli:arn:aws:sts::123456789012:assumed-role/ops/jane"),
        now(),
        "cutover:cli:req-1",
    )
    .unwrap();
    assert!(body.contains(
        "*Triggered by `arn:aws:sts::123456789012:assumed-role/ops/jane` (SchemaBot CLI) at"
    ));
    insta::assert_snapshot!("cutover_triggered_cli", body);
}

// ---- review gate -------------------------------------------------------------------------------

#[test]
fn cutover_review_required_lists_what_is_missing() {
    use schemabot_domain::review::{Owner, ReviewerRole, Shortfall};
    let body = cutover(CutoverReply::ReviewRequired {
        target: target(),
        login: Login("alice".into()),
        missing: vec![
            Shortfall::Approvals {
                required: 1,
                counted: 0,
                author: Login("carol".into()),
            },
            Shortfall::CodeOwnerApproval {
                file: "schema/testapp/orders.sql".into(),
                owners: vec![Owner::Team("octo-org/dba-team".into())],
            },
            Shortfall::AuthorApproval {
                author: Login("carol".into()),
            },
            Shortfall::StaleApproval {
                reviewer: Login("bob".into()),
                commit: Some("0a1b2c3d4e5f60718293a4b5c6d7e8f901234567".into()),
            },
            Shortfall::InsufficientPermission {
                reviewer: Login("rita".into()),
                role: ReviewerRole::Read,
            },
        ],
        head: Some("4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b".into()),
    });
    assert!(body.starts_with("## Review Required\n\n**Database**: `testapp` | **Environment**: `staging`\n\n@alice, cutting over apply `apply-0123456789abcdef`"));
    assert!(
        body.contains("needs 1 approval from someone other than @\u{200B}carol"),
        "{body}"
    );
    assert!(
        body.contains("Then comment `schemabot cutover apply-0123456789abcdef -e staging` again.")
    );
    assert_reply_footer(&body, Some(CUTOVER_USAGE));
    insta::assert_snapshot!("cutover_review_required", body);
}

#[test]
fn cutover_review_unverifiable_asks_to_try_again() {
    use schemabot_domain::review::Shortfall;
    let body = cutover(CutoverReply::ReviewRequired {
        target: target(),
        login: Login("alice".into()),
        missing: vec![Shortfall::Unverifiable {
            what: "the reviews of this pull request".into(),
        }],
        head: None,
    });
    assert!(body.contains("SchemaBot could not read the reviews of this pull request from GitHub"));
    assert!(body.contains("Nothing was done. Comment `schemabot cutover apply-0123456789abcdef -e staging` again in a moment."));
    insta::assert_snapshot!("cutover_review_unverifiable", body);
}
