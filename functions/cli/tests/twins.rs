//! CLI twins: every PR command has a `schemabot` subcommand of the same name and shape, and
//! every subcommand that acts on an apply is a PR command. The PR side is the command grammar
//! (`CommandName::ALL`), the CLI side clap's own definition of the command line — no hand-kept
//! list of either, only of the reviewed exceptions below.

use clap::{CommandFactory, Parser};
use schemabot_cli::args::{Cli, Command};
use schemabot_domain::command::CommandName;
use std::collections::BTreeSet;

/// PR commands with no CLI subcommand, each with the reason. Reviewed when it changes: an entry
/// leaves with its subcommand, and a new PR command lands here only with a reason.
const PR_ONLY: &[(CommandName, &str)] = &[
    // Plans the schema files of the PR's head commit: the PR is its input.
    (CommandName::Plan, "needs a PR"),
    // Apply the PR's plan; the lock and the confirmation belong to the PR.
    (CommandName::Apply, "needs a PR"),
    (CommandName::ApplyConfirm, "needs a PR"),
    // Confirms the rollback plan `rollback` locked for the apply's PR: the confirmation
    // belongs to the PR, as `apply-confirm`'s does.
    (CommandName::RollbackConfirm, "needs a PR"),
    // Edits a checkout, so it is a local tool; the PR comment answers with a pointer.
    (CommandName::FixLint, "edits a local checkout"),
];

/// Subcommands that only read the store — no job, no change — so need no PR twin.
const READ_ONLY: &[&str] = &["list", "progress", "history"];

/// The CLI's subcommands as clap builds them (its built-in `help` included).
fn cli_subcommands() -> clap::Command {
    let mut command = Cli::command();
    command.build();
    command
}

fn subcommand_names() -> BTreeSet<String> {
    cli_subcommands()
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect()
}

#[test]
fn every_pr_command_has_a_cli_twin_or_a_reason() {
    let cli = subcommand_names();
    let exempt: BTreeSet<&str> = PR_ONLY.iter().map(|(c, _)| c.as_str()).collect();
    let mut missing = Vec::new();
    for command in CommandName::ALL {
        let name = command.as_str();
        match (cli.contains(name), exempt.contains(name)) {
            (true, true) => panic!("`{name}` is a CLI subcommand now: take it off PR_ONLY"),
            (false, false) => missing.push(name),
            _ => {}
        }
    }
    assert!(
        missing.is_empty(),
        "PR commands without a CLI twin: {missing:?} (add the subcommand, or add them to \
         PR_ONLY with the reason)"
    );
}

#[test]
fn every_cli_subcommand_is_a_pr_command_or_only_reads() {
    for name in subcommand_names() {
        let pr = CommandName::from_word(&name).is_some_and(|c| c.as_str() == name);
        let read_only = READ_ONLY.contains(&name.as_str());
        assert!(
            pr != read_only,
            "`schemabot {name}`: a subcommand is either a PR command's twin or read-only \
             (READ_ONLY), not {}",
            if pr { "both" } else { "neither" }
        );
    }
    // What acts on an apply sends a job and waits for its answer (`--timeout`): a read-only
    // subcommand must not.
    let cli = cli_subcommands();
    for name in READ_ONLY {
        let subcommand = cli
            .find_subcommand(name)
            .unwrap_or_else(|| panic!("READ_ONLY names `{name}`, which is no subcommand"));
        assert!(
            subcommand.get_arguments().all(|a| a.get_id() != "timeout"),
            "`schemabot {name}` waits for a job: it acts, so it needs a PR twin"
        );
    }
}

#[test]
fn twins_take_the_pr_commands_arguments_and_send_their_job() {
    let cli = cli_subcommands();
    for command in CommandName::ALL {
        let name = command.as_str();
        if command == CommandName::Help {
            // clap's own: `schemabot help` prints the help, as the PR command does.
            let help = Cli::try_parse_from(["schemabot", "help"]).expect_err("help is no command");
            assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
            continue;
        }
        let Some(subcommand) = cli.find_subcommand(name) else {
            continue;
        };
        let usage = command.usage();
        let positional_apply_id = subcommand
            .get_positionals()
            .any(|a| a.get_id() == "apply_id" && a.is_required_set());
        assert_eq!(
            positional_apply_id,
            usage.contains("<apply-id>"),
            "`schemabot {name}`: the apply id as in `{usage}`"
        );
        let environment = subcommand.get_arguments().any(|a| {
            a.get_short() == Some('e') && a.get_long() == Some("env") && a.is_required_set()
        });
        assert_eq!(
            environment,
            usage.contains(" -e <environment>"),
            "`schemabot {name}`: `-e` as in `{usage}`"
        );
        // `-d <database>` outside brackets: the form the CLI twins (`unlock --force`).
        let database = subcommand.get_arguments().any(|a| {
            a.get_short() == Some('d') && a.get_long() == Some("database") && a.is_required_set()
        });
        assert_eq!(
            database,
            usage.contains(" -d <database>"),
            "`schemabot {name}`: `-d` as in `{usage}`"
        );

        let mut argv = vec!["schemabot", name];
        if positional_apply_id {
            argv.push("apply-00ab");
        }
        if database {
            argv.extend(["-d", "payments"]);
        }
        argv.extend(["-e", "staging"]);
        let parsed =
            Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("`{}`: {e}", argv.join(" ")));
        let sends = match parsed.command {
            Command::Cutover(_) => CommandName::Cutover,
            Command::Control(control) => control.op().command(),
            // The twin of `unlock --force`: the force-unlock job.
            Command::Unlock(_) => CommandName::Unlock,
            Command::Rollback(_) => CommandName::Rollback,
            other => panic!("`schemabot {name}` parsed as {other:?}"),
        };
        assert_eq!(
            sends, command,
            "`schemabot {name}` sends another command's job"
        );
    }
}
