//! Properties of `parse` over generated comments: it never panics, echoes at most 64 characters
//! of user text, reads valid command lines faithfully, ignores them once quoted, fenced or moved
//! into the middle of a sentence, and refuses them when a stray word follows.

use proptest::prelude::*;
use schemabot_domain::command::{parse, Command, ParseError, ParseOutcome};

/// Pieces that exercise every branch of the lexer and parser when concatenated at random.
const FRAGMENTS: &[&str] = &[
    "schemabot",
    "SchemaBot",
    "@schemabot",
    "/schemabot",
    "schemabot:",
    "cutover",
    "plan",
    "apply",
    "apply-confirm",
    "rollback",
    "help",
    "cutover-now",
    "apply-",
    "apply_",
    "0123456789abcdef",
    "xyz",
    "-e",
    "-e=",
    "--env",
    "-d",
    "-y",
    "--yes",
    "--defer-cutover",
    "--",
    "-",
    "staging",
    "Production",
    " ",
    "  ",
    "    ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "`",
    "``",
    "```",
    "````",
    "~~~",
    "> ",
    ">",
    "- ",
    "1. ",
    "# ",
    "<!--",
    "-->",
    "<!-->",
    "<",
    "!",
    "é",
    "日本",
    "\u{a0}",
    "—",
    "🦀",
    "\u{200b}",
    "\0",
];

fn markdownish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..80).prop_map(|parts| parts.concat())
}

/// A well-formed command line, with the outcome it must parse to.
fn valid_command_line() -> impl Strategy<Value = (String, Command)> {
    let hex = "[0-9a-f]{1,16}";
    let environment = "[a-z][a-z0-9_-]{0,12}";
    let keyword_case = prop::bool::ANY;
    (hex, environment, keyword_case, 0..3usize).prop_map(|(hex, environment, shout, shape)| {
        let apply_id = schemabot_domain::ApplyId::parse(&format!("apply-{hex}")).unwrap();
        let env = schemabot_domain::Environment::parse(&environment).unwrap();
        let (line, command) = match shape {
            0 => (
                format!(
                    "schemabot cutover apply-{hex} -e {}",
                    environment.to_uppercase()
                ),
                Command::Cutover {
                    apply_id,
                    environment: env,
                },
            ),
            1 => (
                format!("@schemabot rollback apply_{hex} --env={environment}"),
                Command::Rollback {
                    apply_id: schemabot_domain::ApplyId::parse(&format!("apply_{hex}")).unwrap(),
                    environment: env,
                    defer_cutover: false,
                },
            ),
            _ => (
                format!("   @schemabot stop -e {environment} apply-{hex}"),
                Command::Stop {
                    apply_id: Some(apply_id),
                    environment: env,
                },
            ),
        };
        let line = if shout {
            line.replacen("schemabot", "SCHEMABOT", 1)
        } else {
            line
        };
        (line, command)
    })
}

/// Ways of showing a command line without issuing it.
fn hide(line: &str, wrapper: usize) -> String {
    match wrapper {
        0 => format!("```\n{line}\n```"),
        1 => format!("~~~sh\n{line}\n~~~\n"),
        2 => format!("```\n{line}"),
        3 => format!("> {line}"),
        4 => format!("> > {line}\n"),
        5 => format!("Look: `{line}`"),
        6 => format!("``{line}``"),
        7 => format!("<!-- {line} -->"),
        _ => format!("    {line}"),
    }
}

const WRAPPERS: usize = 9;

fn echoed_text(error: &ParseError) -> Option<&str> {
    match error {
        ParseError::UnknownCommand { word } => word.as_deref(),
        ParseError::InvalidApplyId { given, .. }
        | ParseError::InvalidEnvironment { given, .. }
        | ParseError::InvalidDatabase { given, .. } => Some(given),
        ParseError::UnsupportedFlag { flag, .. } => Some(flag),
        ParseError::UnexpectedWord { word, .. } => Some(word),
        ParseError::MissingApplyId { .. } | ParseError::MissingEnvironment { .. } => None,
    }
}

fn assert_well_formed(outcome: &ParseOutcome) {
    if let ParseOutcome::Error { error, .. } = outcome {
        if let Some(text) = echoed_text(error) {
            assert!(text.chars().count() <= 64, "{error:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn never_panics_on_arbitrary_text(body in any::<String>()) {
        assert_well_formed(&parse(&body));
    }

    #[test]
    fn never_panics_on_markdownish_text(body in markdownish()) {
        assert_well_formed(&parse(&body));
    }

    #[test]
    fn never_panics_with_a_command_inside_markdownish_text(
        before in markdownish(),
        (line, _) in valid_command_line(),
        after in markdownish(),
    ) {
        assert_well_formed(&parse(&format!("{before}{line}{after}")));
    }

    #[test]
    fn valid_command_lines_parse_to_their_command(
        (line, expected) in valid_command_line(),
        crlf in prop::bool::ANY,
    ) {
        let body = if crlf { format!("Thanks!\r\n{line}\r\n") } else { format!("Thanks!\n{line}\n") };
        prop_assert_eq!(parse(&body), ParseOutcome::Command(expected));
    }

    #[test]
    fn hidden_command_lines_are_not_addressed(
        (line, expected) in valid_command_line(),
        wrapper in 0..WRAPPERS,
    ) {
        // The line on its own is a command, so the property below is not vacuous.
        prop_assert_eq!(parse(&line), ParseOutcome::Command(expected));
        prop_assert_eq!(parse(&hide(&line, wrapper)), ParseOutcome::NotAddressed);
    }

    #[test]
    fn a_command_inside_a_sentence_is_prose(
        (line, expected) in valid_command_line(),
        lead in "[A-Za-z,.!(—-]{1,12}",
    ) {
        prop_assert_eq!(parse(&line), ParseOutcome::Command(expected));
        prop_assert_eq!(parse(&format!("{lead} {line}")), ParseOutcome::NotAddressed);
        prop_assert_eq!(parse(&format!("Thanks!\n{lead} {line}\n")), ParseOutcome::NotAddressed);
    }

    #[test]
    fn a_stray_word_after_a_command_line_is_refused(
        (line, expected) in valid_command_line(),
        word in "[a-z]{1,10}",
    ) {
        match parse(&format!("{line} {word}")) {
            ParseOutcome::Error { error: ParseError::UnexpectedWord { command, word: given }, .. } => {
                prop_assert_eq!(command, expected.name());
                prop_assert_eq!(given, word);
            }
            other => return Err(TestCaseError::fail(format!("{line} {word} → {other:?}"))),
        }
    }

    #[test]
    fn a_hidden_command_does_not_shadow_a_real_one(
        (quoted, _) in valid_command_line(),
        (line, expected) in valid_command_line(),
        wrapper in 0..WRAPPERS,
    ) {
        // An unclosed fence (wrapper 2) hides everything after it, so it cannot precede.
        prop_assume!(wrapper != 2);
        let body = format!("{}\n\n{line}", hide(&quoted, wrapper));
        prop_assert_eq!(parse(&body), ParseOutcome::Command(expected));
    }
}
