//! The PR-comment command grammar's argument rules: apply ids, environment and database values,
//! flag spellings, flags a command does not take, the fixed order in which errors are reported,
//! and the cap on user text quoted in errors.

mod common;

use common::commands::{command, cutover, db, env, error};
use schemabot_domain::command::{Command, CommandName, ParseError};

// ---- Apply ids ----

#[test]
fn malformed_apply_id_is_invalid_not_missing() {
    for (body, given) in [
        ("schemabot cutover apply-xyz -e staging", "apply-xyz"),
        (
            "schemabot cutover apply-abc123xyz -e staging",
            "apply-abc123xyz",
        ),
        ("schemabot cutover apply- -e staging", "apply-"),
        ("schemabot cutover Apply_12,  -e staging", "Apply_12,"),
        // Checked before the environment.
        ("schemabot cutover apply-xyz", "apply-xyz"),
    ] {
        assert_eq!(
            error(body),
            ParseError::InvalidApplyId {
                command: CommandName::Cutover,
                given: given.to_string()
            },
            "{body}"
        );
    }
}

#[test]
fn apply_id_is_canonicalised_and_may_follow_the_environment() {
    assert_eq!(
        command("schemabot cutover -e production APPLY-0123456789ABCDEF"),
        cutover("apply-0123456789abcdef", "production")
    );
}

#[test]
fn apply_id_on_a_command_without_one_is_prose() {
    assert_eq!(
        command("schemabot plan -e staging for apply-xyz"),
        Command::Plan {
            environment: Some(env("staging")),
            database: None
        }
    );
}

#[test]
fn cutover_now_is_not_the_cutover_command() {
    assert_eq!(
        error("schemabot cutover-now apply-ab -e staging"),
        ParseError::UnknownCommand {
            word: Some("cutover-now".to_string())
        }
    );
}

// ---- Environment and database values ----

#[test]
fn environment_flag_spellings() {
    for body in [
        "schemabot cutover apply-ab -e=prod",
        "schemabot cutover apply-ab --env prod",
        "schemabot cutover apply-ab --env=PROD",
        "schemabot cutover apply-ab --environment prod",
        "schemabot cutover apply-ab --Environment=prod",
    ] {
        assert_eq!(command(body), cutover("apply-ab", "prod"), "{body}");
    }
}

#[test]
fn environment_flag_without_value_is_missing_environment() {
    for body in [
        "schemabot cutover apply-ab -e",
        "schemabot cutover apply-ab -e=",
        "schemabot cutover apply-ab -e --defer-cutover",
        "schemabot plan -e",
        "schemabot cutover apply-ab -e\nproduction",
    ] {
        let expected = ParseError::MissingEnvironment {
            command: CommandName::from_word(body.split(' ').nth(1).unwrap()).unwrap(),
        };
        assert_eq!(error(body), expected, "{body}");
    }
}

#[test]
fn bad_environment_value_is_invalid_environment() {
    assert_eq!(
        error("schemabot cutover apply-ab -e prod!"),
        ParseError::InvalidEnvironment {
            command: CommandName::Cutover,
            given: "prod!".to_string()
        }
    );
    assert_eq!(
        error("schemabot plan -e ≠staging"),
        ParseError::InvalidEnvironment {
            command: CommandName::Plan,
            given: "≠staging".to_string()
        }
    );
}

#[test]
fn first_environment_counts() {
    assert_eq!(
        command("schemabot cutover apply-ab -e staging -e production"),
        cutover("apply-ab", "staging")
    );
}

#[test]
fn bad_or_missing_database_is_invalid_database() {
    assert_eq!(
        error("schemabot plan -d users.db"),
        ParseError::InvalidDatabase {
            command: CommandName::Plan,
            given: "users.db".to_string()
        }
    );
    assert_eq!(
        error("schemabot fix-lint -d"),
        ParseError::InvalidDatabase {
            command: CommandName::FixLint,
            given: String::new()
        }
    );
    assert_eq!(
        command("schemabot unlock --database=users"),
        Command::Unlock {
            database: Some(db("users")),
            environment: None
        }
    );
}

// ---- Flags ----

#[test]
fn unknown_flags_are_unsupported() {
    for (body, flag) in [
        ("schemabot cutover apply-ab -e prod --force", "--force"),
        ("schemabot apply -e prod -x", "-x"),
        ("schemabot apply -e prod --yes=1", "--yes=1"),
        // A phone's smart punctuation turned `--` into an em dash.
        ("schemabot apply -e prod —defer-cutover", "—defer-cutover"),
    ] {
        let ParseError::UnsupportedFlag { flag: given, .. } = error(body) else {
            panic!("{body}");
        };
        assert_eq!(given, flag, "{body}");
    }
}

#[test]
fn known_flags_a_command_does_not_take_are_unsupported() {
    for (body, name, flag) in [
        ("schemabot fix-lint -e staging", CommandName::FixLint, "-e"),
        (
            "schemabot cutover apply-ab -e prod -d users",
            CommandName::Cutover,
            "-d",
        ),
        (
            "schemabot cutover apply-ab -e prod --defer-cutover",
            CommandName::Cutover,
            "--defer-cutover",
        ),
        (
            "schemabot plan --Skip-Revert",
            CommandName::Plan,
            "--Skip-Revert",
        ),
        (
            "schemabot rollback apply-ab -e prod --allow-unsafe",
            CommandName::Rollback,
            "--allow-unsafe",
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
fn errors_are_reported_in_a_fixed_order() {
    // apply id, then environment, then database, then flags.
    assert_eq!(
        error("schemabot cutover --force -e bad! apply-xyz"),
        ParseError::InvalidApplyId {
            command: CommandName::Cutover,
            given: "apply-xyz".to_string()
        }
    );
    assert_eq!(
        error("schemabot cutover --force -e bad! apply-ab"),
        ParseError::InvalidEnvironment {
            command: CommandName::Cutover,
            given: "bad!".to_string()
        }
    );
    assert_eq!(
        error("schemabot apply --force -e staging -d a.b"),
        ParseError::InvalidDatabase {
            command: CommandName::Apply,
            given: "a.b".to_string()
        }
    );
}

#[test]
fn user_text_in_errors_is_capped_at_64_characters() {
    let long_id = format!("apply-{}", "z".repeat(200));
    let ParseError::InvalidApplyId { given, .. } =
        error(&format!("schemabot cutover {long_id} -e prod"))
    else {
        panic!("not an invalid apply id");
    };
    assert_eq!(given, long_id[..64]);

    let long_word = "é".repeat(100);
    let ParseError::UnknownCommand { word: Some(word) } = error(&format!("schemabot {long_word}"))
    else {
        panic!("not an unknown command");
    };
    assert_eq!(word.chars().count(), 64);
    assert!(long_word.starts_with(&word));

    let long_flag = format!("--{}", "x".repeat(100));
    let ParseError::UnsupportedFlag { flag, .. } = error(&format!("schemabot plan {long_flag}"))
    else {
        panic!("not an unsupported flag");
    };
    assert_eq!(flag.len(), 64);
}
