//! Commands are deliberate: only a `schemabot` that starts a line of the comment addresses the
//! bot (a mention inside a sentence is prose and answered by nobody), and a command that changes
//! something runs only as written — a word it does not take is refused, named in the reply.

mod common;

use common::commands::{command, env, error};

use schemabot_domain::command::{parse, Command, CommandName, ParseError, ParseOutcome};

// ---- The line rule ----

#[test]
fn a_mention_that_does_not_start_a_line_is_prose() {
    for body in [
        "do not run schemabot apply-confirm -e production yet",
        "please schemabot cutover apply-ab -e prod",
        "ping schemabot cutover apply-0123456789abcdef -e production",
        "(schemabot cutover apply-ab -e prod",
        "thanks! schemabot help.",
        "hey schemabot what's up",
        "Looks good.\nWe can run schemabot apply -e production tomorrow.",
        // Four spaces: code, or a paragraph line that only looks like a command.
        "Ready now:\n    schemabot cutover apply-ab -e prod",
        "- schemabot cutover apply-ab -e prod",
        "# schemabot cutover apply-ab -e prod",
        "1. schemabot cutover apply-ab -e prod",
        "`x` schemabot cutover apply-ab -e prod",
        "<!-- note --> schemabot cutover apply-ab -e prod",
        "\u{a0}schemabot cutover apply-ab -e prod",
    ] {
        assert_eq!(parse(body), ParseOutcome::NotAddressed, "{body:?}");
    }
}

#[test]
fn mention_alone_at_the_start_of_a_line_names_no_command() {
    for body in [
        "schemabot",
        "  @schemabot:",
        "schemabot\ncutover apply-ab -e prod",
        "hi\nschemabot `cutover apply-ab -e prod`",
    ] {
        assert_eq!(
            error(body),
            ParseError::UnknownCommand { word: None },
            "{body:?}"
        );
    }
}

#[test]
fn a_mention_glued_to_other_text_is_prose() {
    for body in [
        "schemabot's reply was odd",
        "schemabot! cutover apply-ab -e prod",
        "thanks @schemabot!",
    ] {
        assert_eq!(parse(body), ParseOutcome::NotAddressed, "{body:?}");
    }
}

// ---- Stray words ----

#[test]
fn stray_words_after_a_command_that_changes_something_are_refused() {
    for (body, name, word) in [
        (
            "schemabot apply -e production please",
            CommandName::Apply,
            "please",
        ),
        (
            "schemabot cutover apply-0123456789abcdef -e prod now",
            CommandName::Cutover,
            "now",
        ),
        (
            "schemabot cutover please apply-aa now -e prod (not apply-bb)",
            CommandName::Cutover,
            "please",
        ),
        // A second apply id: which one was meant is not for the bot to guess.
        (
            "schemabot cutover apply-aa apply-bb -e prod",
            CommandName::Cutover,
            "apply-bb",
        ),
        (
            "schemabot apply-confirm -e staging thanks!",
            CommandName::ApplyConfirm,
            "thanks!",
        ),
        // An apply id on a command that takes none is a stray word too.
        (
            "schemabot apply -e staging apply-0123456789abcdef",
            CommandName::Apply,
            "apply-0123456789abcdef",
        ),
        ("schemabot unlock now", CommandName::Unlock, "now"),
        (
            "schemabot rollback apply-aa -e prod asap",
            CommandName::Rollback,
            "asap",
        ),
        ("schemabot stop -e prod later", CommandName::Stop, "later"),
    ] {
        let expected = ParseError::UnexpectedWord {
            command: name,
            word: word.to_string(),
        };
        assert_eq!(error(body), expected, "{body}");
    }
    // Without `-e` at all, the missing environment is what the author needs to hear.
    assert_eq!(
        error("schemabot apply production"),
        ParseError::MissingEnvironment {
            command: CommandName::Apply
        }
    );
}

#[test]
fn stray_words_come_last_in_the_error_order_and_keep_the_environment() {
    assert_eq!(
        error("schemabot cutover now -e prod"),
        ParseError::MissingApplyId {
            command: CommandName::Cutover
        }
    );
    assert_eq!(
        error("schemabot apply please -e production --force"),
        ParseError::UnsupportedFlag {
            command: CommandName::Apply,
            flag: "--force".to_string()
        }
    );
    // The stack owning `production` is the one that answers.
    assert_eq!(
        parse("schemabot apply -e Production please")
            .environment()
            .map(|e| e.as_str()),
        Some("production")
    );
    let long = "x".repeat(100);
    let ParseError::UnexpectedWord { word, .. } = error(&format!("schemabot apply -e prod {long}"))
    else {
        panic!("not an unexpected word");
    };
    assert_eq!(word.len(), 64);
}

#[test]
fn read_only_commands_still_ignore_prose() {
    assert_eq!(
        command("schemabot plan -e staging please, thanks"),
        Command::Plan {
            environment: Some(env("staging")),
            database: None
        }
    );
    assert_eq!(command("schemabot help me please"), Command::Help);
}

#[test]
fn dashes_that_are_not_flags_are_prose_only_around_read_only_commands() {
    assert_eq!(
        command("schemabot plan -e prod -- now - thanks -5"),
        Command::Plan {
            environment: Some(env("prod")),
            database: None
        }
    );
    assert_eq!(
        error("schemabot cutover apply-ab -e prod -- now"),
        ParseError::UnexpectedWord {
            command: CommandName::Cutover,
            word: "--".to_string()
        }
    );
}
