//! The PR-comment command grammar: which command each comment yields, with its environment,
//! database, apply id and flags, as typed outcomes (environments are lower-cased).

mod common;

use common::commands::{apply, command, cutover, db, env, error, id};
use schemabot_domain::command::{
    parse, ApplyFlags, Command, CommandName, ParseError, ParseOutcome,
};

#[test]
fn cutover_with_apply_id_and_environment() {
    assert_eq!(
        command("schemabot cutover apply_abc123 -e staging"),
        cutover("apply_abc123", "staging")
    );
}

#[test]
fn cutover_without_environment_is_missing_environment() {
    assert_eq!(
        error("schemabot cutover apply_abc123"),
        ParseError::MissingEnvironment {
            command: CommandName::Cutover
        }
    );
}

#[test]
fn cutover_without_apply_id_is_missing_apply_id_even_with_environment() {
    for body in ["schemabot cutover -e staging", "schemabot cutover"] {
        assert_eq!(
            error(body),
            ParseError::MissingApplyId {
                command: CommandName::Cutover
            },
            "{body}"
        );
    }
}

#[test]
fn plan_with_environment_and_database() {
    for environment in ["staging", "production"] {
        assert_eq!(
            command(&format!("schemabot plan -e {environment}")),
            Command::Plan {
                environment: Some(env(environment)),
                database: None
            }
        );
    }
    let expected = Command::Plan {
        environment: Some(env("staging")),
        database: Some(db("my-database")),
    };
    assert_eq!(
        command("schemabot plan -e staging -d my-database"),
        expected
    );
    let expected = Command::Plan {
        environment: Some(env("staging")),
        database: Some(db("users_db")),
    };
    assert_eq!(command("schemabot plan -d users_db -e staging"), expected);
}

#[test]
fn plan_without_environment_plans_every_environment() {
    assert_eq!(
        command("schemabot plan"),
        Command::Plan {
            environment: None,
            database: None
        }
    );
}

#[test]
fn apply_flags() {
    let skip_revert = ApplyFlags {
        skip_revert: true,
        ..ApplyFlags::default()
    };
    assert_eq!(
        command("schemabot apply -e staging --skip-revert"),
        apply("staging", None, skip_revert)
    );
    let defer = ApplyFlags {
        defer_cutover: true,
        ..ApplyFlags::default()
    };
    assert_eq!(
        command("schemabot apply -e production --defer-cutover"),
        apply("production", None, defer)
    );
    let unsafe_ = ApplyFlags {
        allow_unsafe: true,
        ..ApplyFlags::default()
    };
    assert_eq!(
        command("schemabot apply -e staging --allow-unsafe"),
        apply("staging", None, unsafe_)
    );
    let all = ApplyFlags {
        defer_cutover: true,
        allow_unsafe: true,
        skip_revert: true,
        auto_confirm: false,
    };
    assert_eq!(
        command(
            "schemabot apply -e production -d payments_db --defer-cutover --skip-revert --allow-unsafe"
        ),
        apply("production", Some("payments_db"), all)
    );
}

#[test]
fn apply_auto_confirm() {
    let yes = ApplyFlags {
        auto_confirm: true,
        ..ApplyFlags::default()
    };
    assert_eq!(
        command("schemabot apply -e staging -y"),
        apply("staging", None, yes)
    );
    assert_eq!(
        command("schemabot apply -e staging --yes"),
        apply("staging", None, yes)
    );
    let unsafe_yes = ApplyFlags {
        allow_unsafe: true,
        auto_confirm: true,
        ..ApplyFlags::default()
    };
    assert_eq!(
        command("schemabot apply -e production --allow-unsafe -y"),
        apply("production", None, unsafe_yes)
    );
}

#[test]
fn auto_confirm_on_anything_but_apply_is_unsupported() {
    for (body, name, flag) in [
        (
            "schemabot apply-confirm -e staging -y",
            CommandName::ApplyConfirm,
            "-y",
        ),
        ("schemabot plan -e staging -y", CommandName::Plan, "-y"),
        ("schemabot plan --YES", CommandName::Plan, "--YES"),
        (
            "schemabot cutover apply-ab -e prod -y",
            CommandName::Cutover,
            "-y",
        ),
    ] {
        assert_eq!(
            error(body),
            ParseError::UnsupportedFlag {
                command: name,
                flag: flag.to_string()
            },
            "{body}"
        );
    }
}

#[test]
fn apply_without_environment_is_missing_environment() {
    assert_eq!(
        error("schemabot apply"),
        ParseError::MissingEnvironment {
            command: CommandName::Apply
        }
    );
}

#[test]
fn help_and_unlock_and_fix_lint() {
    assert_eq!(command("schemabot help"), Command::Help);
    assert_eq!(
        command("schemabot unlock"),
        Command::Unlock {
            database: None,
            environment: None
        }
    );
    assert_eq!(
        command("schemabot fix-lint"),
        Command::FixLint { database: None }
    );
    assert_eq!(
        command("schemabot fix-lint -d users_db"),
        Command::FixLint {
            database: Some(db("users_db"))
        }
    );
}

#[test]
fn mention_without_a_command_is_an_unknown_command() {
    assert_eq!(
        error("schemabot what's up"),
        ParseError::UnknownCommand {
            word: Some("what's".to_string())
        }
    );
}

#[test]
fn plain_comment_is_not_addressed() {
    assert_eq!(parse("LGTM, ship it"), ParseOutcome::NotAddressed);
    assert_eq!(parse(""), ParseOutcome::NotAddressed);
}

#[test]
fn command_words_are_case_insensitive_and_environment_is_lower_cased() {
    assert_eq!(
        command("SchemaBot Plan -e Staging"),
        Command::Plan {
            environment: Some(env("staging")),
            database: None
        }
    );
    assert_eq!(
        command("SCHEMABOT CUTOVER APPLY-ABC123 -E Staging"),
        cutover("apply-abc123", "staging")
    );
}

#[test]
fn cutover_environment_is_lower_cased_unlike_the_original() {
    let Command::Cutover { environment, .. } = command("schemabot cutover apply_abc123 -e Staging")
    else {
        panic!("not a cutover");
    };
    assert_eq!(environment.as_str(), "staging");
}

#[test]
fn any_environment_name_is_accepted_here_and_checked_later() {
    assert_eq!(
        command("schemabot cutover apply_abc123 -e dev"),
        cutover("apply_abc123", "dev")
    );
    assert_eq!(
        command("schemabot cutover apply-ab -e eu-west.prod_2"),
        cutover("apply-ab", "eu-west.prod_2")
    );
}

#[test]
fn environment_commands() {
    assert_eq!(
        command("schemabot apply-confirm -e staging"),
        Command::ApplyConfirm {
            environment: env("staging"),
            database: None,
            allow_unsafe: false
        }
    );
    assert_eq!(
        command("schemabot apply-confirm -e staging --allow-unsafe"),
        Command::ApplyConfirm {
            environment: env("staging"),
            database: None,
            allow_unsafe: true
        }
    );
    assert_eq!(
        command("schemabot stop -e production"),
        Command::Stop {
            apply_id: None,
            environment: env("production")
        }
    );
    assert_eq!(
        command("schemabot start apply-ab12 -e production"),
        Command::Start {
            apply_id: Some(id("apply-ab12")),
            environment: env("production")
        }
    );
    assert_eq!(
        command("schemabot revert -e staging"),
        Command::Revert {
            apply_id: None,
            environment: env("staging")
        }
    );
    assert_eq!(
        command("schemabot skip-revert -e staging"),
        Command::SkipRevert {
            apply_id: None,
            environment: env("staging")
        }
    );
    assert_eq!(
        command("schemabot rollback-confirm -e production"),
        Command::RollbackConfirm {
            environment: env("production")
        }
    );
    for name in ["stop", "start", "revert", "skip-revert", "rollback-confirm"] {
        let expected = ParseError::MissingEnvironment {
            command: CommandName::from_word(name).unwrap(),
        };
        assert_eq!(error(&format!("schemabot {name}")), expected, "{name}");
    }
}

#[test]
fn rollback_needs_apply_id_then_environment() {
    assert_eq!(
        command("schemabot rollback apply_abc123 -e Staging"),
        Command::Rollback {
            apply_id: id("apply_abc123"),
            environment: env("staging"),
            defer_cutover: false
        }
    );
    assert_eq!(
        command("schemabot rollback apply_abc123 -e staging --defer-cutover"),
        Command::Rollback {
            apply_id: id("apply_abc123"),
            environment: env("staging"),
            defer_cutover: true
        }
    );
    let rollback = CommandName::Rollback;
    assert_eq!(
        error("schemabot rollback apply_abc123"),
        ParseError::MissingEnvironment { command: rollback }
    );
    assert_eq!(
        error("schemabot rollback -e Staging"),
        ParseError::MissingApplyId { command: rollback }
    );
    assert_eq!(
        error("schemabot rollback"),
        ParseError::MissingApplyId { command: rollback }
    );
}
