//! Commands are read from what a reader sees as the comment's own prose, and only from the start
//! of one of its lines: code, quotes and HTML comments never yield a command, so quoting or
//! pasting a command never re-runs it, and neither does mentioning one in a sentence.

use schemabot_domain::command::{parse, Command, CommandName, ParseError, ParseOutcome};
use schemabot_domain::{ApplyId, Environment};

const COMMAND: &str = "schemabot cutover apply-0123456789abcdef -e production";

fn cutover(apply_id: &str, environment: &str) -> ParseOutcome {
    ParseOutcome::Command(Command::Cutover {
        apply_id: ApplyId::parse(apply_id).unwrap(),
        environment: Environment::parse(environment).unwrap(),
    })
}

fn real() -> ParseOutcome {
    cutover("apply-0123456789abcdef", "production")
}

fn assert_ignored(body: &str) {
    assert_eq!(parse(body), ParseOutcome::NotAddressed, "{body:?}");
}

#[test]
fn the_bare_command_is_real() {
    // Guards every "ignored" case below: the command itself does parse.
    assert_eq!(parse(COMMAND), real());
}

#[test]
fn fenced_code_blocks_are_ignored() {
    assert_ignored(&format!("```\n{COMMAND}\n```"));
    assert_ignored(&format!("Run this:\n```bash\n{COMMAND}\n```\nlater."));
    assert_ignored(&format!("~~~\n{COMMAND}\n~~~"));
    assert_ignored(&format!("~~~~ text\n{COMMAND}\n~~~\n{COMMAND}\n~~~~"));
    // A shorter or different fence does not close the block.
    assert_ignored(&format!("````\n```\n{COMMAND}\n````"));
    assert_ignored(&format!("~~~\n```\n{COMMAND}\n~~~"));
    // Indented fences, e.g. inside a list item.
    assert_ignored(&format!("- step:\n  ```\n  {COMMAND}\n  ```"));
}

#[test]
fn an_unclosed_fence_runs_to_the_end() {
    assert_ignored(&format!("```\n{COMMAND}\n\nmore text"));
}

#[test]
fn a_command_after_a_closed_fence_is_real() {
    let body = format!("```\nschemabot cutover apply-aa -e staging\n```\n{COMMAND}");
    assert_eq!(parse(&body), real());
}

#[test]
fn inline_code_is_ignored() {
    assert_ignored(&format!("Run `{COMMAND}` when ready"));
    assert_ignored(&format!("``{COMMAND}``"));
    // A double-backtick span may contain single backticks.
    assert_ignored(&format!("`` `x` {COMMAND} ``"));
    // A span continues onto the next line of the same paragraph.
    assert_ignored("Run `schemabot cutover\napply-ab -e production` later");
}

#[test]
fn an_unmatched_backtick_is_literal() {
    // The command starts its line; the stray backticks before and after it hide nothing.
    assert_eq!(parse(&format!("oops `\n{COMMAND}")), real());
    // Different run lengths do not match each other.
    assert_eq!(parse(&format!("``\n{COMMAND}\n`")), real());
    // A span does not continue past a blank line.
    assert_eq!(parse(&format!("a `b\n\n{COMMAND}\n`")), real());
}

#[test]
fn block_quotes_are_ignored() {
    assert_ignored(&format!("> {COMMAND}"));
    assert_ignored(&format!(">{COMMAND}"));
    assert_ignored(&format!("   > {COMMAND}"));
    assert_ignored(&format!("> > {COMMAND}"));
    assert_ignored(&format!(">> {COMMAND}"));
    assert_ignored(&format!("- > {COMMAND}"));
    // GitHub's "Quote reply".
    assert_ignored(&format!(
        "> @alice wrote:\n>\n> {COMMAND}\n\nThanks, will do."
    ));
}

#[test]
fn a_quoted_command_followed_by_a_real_one_runs_the_real_one() {
    let quoted = "> schemabot cutover apply-aa -e staging";
    assert_eq!(parse(&format!("{quoted}\n\n{COMMAND}")), real());
    assert_eq!(parse(&format!("{quoted}\n{COMMAND}")), real());
}

#[test]
fn html_comments_are_ignored() {
    assert_ignored(&format!("<!-- {COMMAND} -->"));
    assert_ignored(&format!("<!--\n{COMMAND}\n-->\nthanks"));
    assert_ignored(&format!("Done.<!-- {COMMAND}"));
    assert_eq!(parse(&format!("<!-- note -->\n{COMMAND}")), real());
    assert_eq!(parse(&format!("<!--\nnote\n-->\n{COMMAND}")), real());
    // Text after a comment on the same line does not start that line.
    assert_ignored(&format!("<!-- note --> {COMMAND}"));
    assert_ignored(&format!("<!--\nnote\n-->{COMMAND}"));
}

#[test]
fn indented_code_blocks_are_ignored() {
    assert_ignored(&format!("    {COMMAND}"));
    assert_ignored(&format!("To cut over:\n\n    {COMMAND}\n"));
    assert_ignored(&format!("\t{COMMAND}"));
}

#[test]
fn up_to_three_leading_spaces_are_fine() {
    assert_eq!(parse(&format!("   {COMMAND}")), real());
    assert_eq!(parse(&format!("Ready now:\n {COMMAND}")), real());
    assert_eq!(
        parse(&format!("1. Check the dashboard.\n\n   {COMMAND}")),
        real()
    );
}

#[test]
fn a_command_must_start_its_line() {
    // Four or more spaces: an indented line continuing a paragraph only looks like a command.
    assert_ignored(&format!("Ready now:\n    {COMMAND}"));
    assert_ignored(&format!("Ready now:\n      {COMMAND}"));
    assert_ignored(&format!("Ready now:\n\t{COMMAND}"));
    // After a list marker or a heading marker the line has already started.
    assert_ignored(&format!("- {COMMAND}"));
    assert_ignored(&format!("# {COMMAND}"));
    // Mid-sentence, on the first line or a later one.
    assert_ignored(&format!("do not run {COMMAND} yet"));
    assert_ignored(&format!("LGTM.\nWe will {COMMAND} tomorrow."));
    assert_ignored(&format!("ping {COMMAND}"));
}

#[test]
fn crlf_line_endings() {
    assert_eq!(parse(&format!("{COMMAND}\r\n")), real());
    assert_eq!(parse(&format!("hi\r\n{COMMAND}\r\nthanks\r\n")), real());
    assert_ignored(&format!("```\r\n{COMMAND}\r\n```\r\n"));
    assert_ignored(&format!("> {COMMAND}\r\n"));
    let body = format!("```\r\nschemabot cutover apply-aa -e staging\r\n```\r\n{COMMAND}\r\n");
    assert_eq!(parse(&body), real());
}

#[test]
fn multi_byte_characters_next_to_markup_and_mentions() {
    assert_ignored("日本schemabot cutover apply-ab -e prod");
    assert_eq!(
        parse("日本\nschemabot cutover apply-ab -e prod"),
        cutover("apply-ab", "prod")
    );
    assert_eq!(
        parse("schemabot cutover apply-ab -e prod…"),
        ParseOutcome::error(ParseError::InvalidEnvironment {
            command: CommandName::Cutover,
            given: "prod…".to_string()
        })
    );
    assert_ignored(&format!("é`{COMMAND}`é"));
    assert_ignored(&format!("«>» x\n>é {COMMAND}"));
    // A no-break space separates words like a space, but does not indent a command.
    assert_eq!(parse(&format!("{COMMAND}\u{a0}")), real());
    assert_eq!(
        parse("schemabot\u{a0}cutover apply-0123456789abcdef -e production"),
        real()
    );
    assert_ignored(&format!("\u{a0}{COMMAND}"));
    assert_ignored(&format!("—\u{a0}{COMMAND}"));
}
