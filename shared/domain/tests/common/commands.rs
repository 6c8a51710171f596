//! Builders for the command-grammar tests: parse a comment expecting a command or an error, and
//! build the typed values and commands the tests compare against.

use schemabot_domain::command::{parse, ApplyFlags, Command, ParseError, ParseOutcome};
use schemabot_domain::{ApplyId, Database, Environment};

pub fn command(body: &str) -> Command {
    match parse(body) {
        ParseOutcome::Command(command) => command,
        other => panic!("{body:?} should be a command, got {other:?}"),
    }
}

pub fn error(body: &str) -> ParseError {
    match parse(body) {
        ParseOutcome::Error { error, .. } => error,
        other => panic!("{body:?} should be an error, got {other:?}"),
    }
}

pub fn id(raw: &str) -> ApplyId {
    ApplyId::parse(raw).unwrap()
}

pub fn env(raw: &str) -> Environment {
    Environment::parse(raw).unwrap()
}

pub fn db(raw: &str) -> Database {
    Database::parse(raw).unwrap()
}

pub fn cutover(apply_id: &str, environment: &str) -> Command {
    Command::Cutover {
        apply_id: id(apply_id),
        environment: env(environment),
    }
}

pub fn apply(environment: &str, database: Option<&str>, flags: ApplyFlags) -> Command {
    Command::Apply {
        environment: env(environment),
        database: database.map(db),
        flags,
    }
}
