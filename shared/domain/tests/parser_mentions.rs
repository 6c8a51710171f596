//! The PR-comment command grammar's mentions and command words: how SchemaBot may be addressed,
//! what is not a mention, which mention counts when there are several, that arguments end with
//! the line, and the environment an error names (for routing).

mod common;

use common::commands::{command, cutover, error};
use schemabot_domain::command::{parse, Command, CommandName, ParseError, ParseOutcome};

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
        Command::Unlock {
            database: None,
            environment: None
        }
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
