//! The PR-comment command grammar: which commands and arguments a comment yields.
//!
//! The first block mirrors SchemaBot's own parser table (translated to typed outcomes, and
//! following our spec where it differs); the rest pins down our argument rules and error order.

use schemabot_domain::command::{
    parse, ApplyFlags, Command, CommandName, ParseError, ParseOutcome,
};
use schemabot_domain::{ApplyId, Database, Environment};

fn command(body: &str) -> Command {
    match parse(body) {
        ParseOutcome::Command(command) => command,
        other => panic!("{body:?} should be a command, got {other:?}"),
    }
}

fn error(body: &str) -> ParseError {
    match parse(body) {
        ParseOutcome::Error { error, .. } => error,
        other => panic!("{body:?} should be an error, got {other:?}"),
    }
}

fn id(raw: &str) -> ApplyId {
    ApplyId::parse(raw).unwrap()
}

fn env(raw: &str) -> Environment {
    Environment::parse(raw).unwrap()
}

fn db(raw: &str) -> Database {
    Database::parse(raw).unwrap()
}

fn cutover(apply_id: &str, environment: &str) -> Command {
    Command::Cutover {
        apply_id: id(apply_id),
        environment: env(environment),
    }
}

fn apply(environment: &str, database: Option<&str>, flags: ApplyFlags) -> Command {
    Command::Apply {
        environment: env(environment),
        database: database.map(db),
        flags,
    }
}

// ---- SchemaBot's parser table ----

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
        Command::Unlock { database: None }
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
            database: Some(db("users"))
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
        ("schemabot unlock -e staging", CommandName::Unlock, "-e"),
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

// ---- Mentions and command words ----

#[test]
fn mention_spellings() {
    for body in [
        "@schemabot cutover apply-ab -e prod",
        "/schemabot cutover apply-ab -e prod",
        "@SchemaBot: cutover apply-ab -e prod",
        "schemabot, cutover apply-ab -e prod",
        "   schemabot cutover apply-ab -e prod",
        "Thanks!\n@schemabot cutover apply-ab -e prod",
    ] {
        assert_eq!(command(body), cutover("apply-ab", "prod"), "{body}");
    }
}

#[test]
fn sentence_punctuation_after_the_command_word_is_allowed() {
    assert_eq!(command("schemabot help."), Command::Help);
    assert_eq!(
        command("schemabot unlock!"),
        Command::Unlock { database: None }
    );
}

#[test]
fn help_ignores_whatever_follows() {
    assert_eq!(
        command("schemabot help me --please -y apply-xyz"),
        Command::Help
    );
}

#[test]
fn schemabot_inside_names_paths_and_urls_is_not_a_mention() {
    for body in [
        "see https://github.com/block/schemabot/pull/97",
        "I edited schemabot.yaml and schemabot-config",
        "the schemabots are coming",
        "mail ops@schemabot.example",
    ] {
        assert_eq!(parse(body), ParseOutcome::NotAddressed, "{body}");
    }
}

#[test]
fn first_mention_with_a_command_wins() {
    // An earlier mention without a command does not hide a later command.
    assert_eq!(
        command("hey schemabot, thanks!\nschemabot cutover apply-ab -e prod"),
        cutover("apply-ab", "prod")
    );
    assert_eq!(
        command("schemabot thanks!\nschemabot cutover apply-ab -e prod"),
        cutover("apply-ab", "prod")
    );
    // A mention later on the line is prose, not a second chance.
    assert_eq!(
        error("schemabot schemabot cutover apply-ab -e prod"),
        ParseError::UnknownCommand {
            word: Some("schemabot".to_string())
        }
    );
    // Of two commands the first counts, even when it is the malformed one.
    assert_eq!(
        command("schemabot cutover apply-aa -e staging\nschemabot cutover apply-bb -e production"),
        cutover("apply-aa", "staging")
    );
    assert_eq!(
        error("schemabot cutover apply-aa\nschemabot cutover apply-bb -e production"),
        ParseError::MissingEnvironment {
            command: CommandName::Cutover
        }
    );
}

#[test]
fn unknown_command_reports_the_word_after_the_first_mention() {
    assert_eq!(
        error("schemabot deploy now\nschemabot frobnicate"),
        ParseError::UnknownCommand {
            word: Some("deploy".to_string())
        }
    );
}

#[test]
fn arguments_stop_at_the_end_of_the_line() {
    assert_eq!(
        error("schemabot cutover apply-ab\n-e production"),
        ParseError::MissingEnvironment {
            command: CommandName::Cutover
        }
    );
    assert_eq!(
        error("schemabot cutover\napply-ab -e production"),
        ParseError::MissingApplyId {
            command: CommandName::Cutover
        }
    );
}

#[test]
fn errors_carry_the_environment_they_named_for_routing() {
    assert_eq!(
        parse("schemabot cutover -e Production")
            .environment()
            .map(|e| e.as_str()),
        Some("production")
    );
    assert_eq!(
        parse("schemabot cutover apply-xyz -e staging")
            .environment()
            .map(|e| e.as_str()),
        Some("staging")
    );
    assert_eq!(parse("schemabot cutover apply-ab").environment(), None);
    assert_eq!(parse("schemabot frobnicate -e staging").environment(), None);
}
