//! What each command accepts: its apply-id need, whether `-e` is required, its flags, and whether
//! other words may follow.

use super::super::CommandName;

/// Whether a command takes a positional apply id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    No,
    Optional,
    Required,
}

/// The flags the grammar knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flag {
    Environment,
    Database,
    DeferCutover,
    AllowUnsafe,
    SkipRevert,
    AutoConfirm,
    /// `--force` (only `unlock`: release another PR's lock).
    Force,
}

impl Flag {
    const SPELLINGS: [(&'static str, Flag); 12] = [
        ("-e", Flag::Environment),
        ("--env", Flag::Environment),
        ("--environment", Flag::Environment),
        ("-d", Flag::Database),
        ("--database", Flag::Database),
        ("--defer-cutover", Flag::DeferCutover),
        ("--allow-unsafe", Flag::AllowUnsafe),
        ("--skip-revert", Flag::SkipRevert),
        ("-y", Flag::AutoConfirm),
        ("--yes", Flag::AutoConfirm),
        ("--auto-confirm", Flag::AutoConfirm),
        ("--force", Flag::Force),
    ];

    pub(super) fn from_name(name: &str) -> Option<Flag> {
        Flag::SPELLINGS
            .iter()
            .find(|(spelling, _)| spelling.eq_ignore_ascii_case(name))
            .map(|&(_, flag)| flag)
    }

    pub(super) fn takes_value(self) -> bool {
        matches!(self, Flag::Environment | Flag::Database)
    }
}

/// What happens to a word that is neither a flag, a flag's value nor the apply id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OtherWords {
    /// Prose around a read-only command (`schemabot plan -e staging please`).
    Ignored,
    /// A command that changes something runs only exactly as written: a stray word may be a
    /// typo of a flag or a second target, so the whole command is refused.
    Refused,
}

/// What one command accepts (the usage lines in [`CommandName::usage`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Grammar {
    pub(super) apply_id: Need,
    pub(super) environment_required: bool,
    pub(super) other_words: OtherWords,
    flags: &'static [Flag],
}

impl Grammar {
    pub(super) fn of(command: CommandName) -> Grammar {
        use Flag::*;
        let (apply_id, environment_required, flags): (Need, bool, &'static [Flag]) = match command {
            CommandName::Help => (Need::No, false, &[]),
            CommandName::Cutover => (Need::Required, true, &[Environment]),
            CommandName::Plan => (Need::No, false, &[Environment, Database]),
            CommandName::Apply => (
                Need::No,
                true,
                &[
                    Environment,
                    Database,
                    DeferCutover,
                    AllowUnsafe,
                    SkipRevert,
                    AutoConfirm,
                ],
            ),
            CommandName::ApplyConfirm => (Need::No, true, &[Environment, Database, AllowUnsafe]),
            // `-e` narrows `unlock`; with `--force` both `-d` and `-e` are required.
            CommandName::Unlock => (Need::No, false, &[Database, Environment, Force]),
            CommandName::FixLint => (Need::No, false, &[Database]),
            CommandName::Stop
            | CommandName::Start
            | CommandName::Cancel
            | CommandName::Revert
            | CommandName::SkipRevert => (Need::Optional, true, &[Environment]),
            CommandName::Rollback => (Need::Required, true, &[Environment, DeferCutover]),
            CommandName::RollbackConfirm => (Need::No, true, &[Environment]),
        };
        // Help and plan change nothing; every other command acts on a database or an apply.
        let other_words = match command {
            CommandName::Help | CommandName::Plan => OtherWords::Ignored,
            _ => OtherWords::Refused,
        };
        Grammar {
            apply_id,
            environment_required,
            other_words,
            flags,
        }
    }

    pub(super) fn accepts(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_takes_environment_exactly_when_it_accepts_the_flag() {
        for command in CommandName::ALL {
            let grammar = Grammar::of(command);
            if grammar.environment_required {
                assert!(grammar.accepts(Flag::Environment), "{command}");
            }
            assert_eq!(
                grammar.accepts(Flag::AutoConfirm),
                command == CommandName::Apply,
                "{command}"
            );
            assert_eq!(
                grammar.accepts(Flag::Force),
                command == CommandName::Unlock,
                "{command}"
            );
        }
    }

    #[test]
    fn only_read_only_commands_ignore_other_words() {
        for command in CommandName::ALL {
            let read_only = matches!(command, CommandName::Help | CommandName::Plan);
            assert_eq!(
                Grammar::of(command).other_words == OtherWords::Ignored,
                read_only,
                "{command}"
            );
        }
    }
}
